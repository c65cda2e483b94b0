# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the two HTTP clients of the collection share: the Kubernetes API client (cluster.py) and
the Palette API client (palette.py).

Bounded retries (urllib3's ``Retry``, honouring ``Retry-After`` for at most RETRY_AFTER_MAX
seconds, backing off for at most BACKOFF_MAX seconds) for the statuses worth retrying, and the scrubbing of every text that leaves a client
(user information in URLs, and the credentials it was given).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    from urllib3.util.retry import Retry
except ImportError:  # pragma: no cover - reported by the callers
    Retry = None

RETRY_STATUSES = (429, 500, 502, 503, 504)
# The longest Retry-After honoured, in seconds: a longer one (a misbehaving proxy or server asking
# for an hour) is cut to this, so that every retry stays bounded. urllib3 itself would sleep up to
# 6 hours per attempt (1.26: without any limit).
RETRY_AFTER_MAX = 10.0
# The longest exponential backoff between two attempts, in seconds (urllib3's own cap is 120 s).
BACKOFF_MAX = 4.0

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def scrub(text, secrets=()):
    """``text`` without user information in URLs and without any of ``secrets`` (4 characters or more)."""
    text = _URL_USERINFO.sub(r"\g<scheme>***@", str(text))
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


if Retry is not None:
    class BoundedRetry(Retry):
        """urllib3's Retry, honouring Retry-After for at most RETRY_AFTER_MAX seconds and backing off
        for at most BACKOFF_MAX seconds, in every urllib3 version (1.26 has no backoff_max argument)."""

        def parse_retry_after(self, retry_after):
            return min(super(BoundedRetry, self).parse_retry_after(retry_after), RETRY_AFTER_MAX)

        def get_backoff_time(self):
            return min(super(BoundedRetry, self).get_backoff_time(), BACKOFF_MAX)
else:  # pragma: no cover - reported by the callers
    BoundedRetry = None
