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

# What scrub() removes from URLs, as a regular expression (tests/unit/test_transport_scrub.py holds
# _scrub_userinfo to it): ``scheme://userinfo@`` -> ``scheme://***@``. Not applied as such: Python's
# backtracking engine tries every start in a run of scheme characters, quadratic in the text's length
# (a 200,000-character error body took 139 s); _scrub_userinfo finds the same matches in one pass.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _scrub_userinfo(text):
    """``_URL_USERINFO.sub(r"\g<scheme>***@", text)`` in time linear in the text: for each ``://``, the
    user information runs to the first ``/``, ``@`` or white space and must end with ``@``; the scheme is
    the run of scheme characters before it, from its first letter."""
    out, pos, n = [], 0, len(text)
    i = text.find("://")
    while i != -1:
        k = i + 3
        while k < n and text[k] not in "/@" and not text[k].isspace():
            k += 1
        if k < n and text[k] == "@" and k > i + 3:
            start = i
            while start > pos and text[start - 1] in _SCHEME_CHARS:
                start -= 1
            while start < i and text[start] not in _LETTERS:
                start += 1
            if start < i:
                out.append(text[pos:i])
                out.append("://***@")
                pos = k + 1
                i = text.find("://", pos)
                continue
        i = text.find("://", i + 1)
    out.append(text[pos:])
    return "".join(out)


def scrub(text, secrets=()):
    """``text`` without user information in URLs and without any of ``secrets`` (4 characters or more)."""
    text = _scrub_userinfo(str(text))
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
