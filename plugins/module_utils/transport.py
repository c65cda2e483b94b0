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


# ------------------------------------------------------------------ interim responses

try:
    import http.client as http_client
except ImportError:  # pragma: no cover - Python 2 is not supported
    http_client = None

# Interim (1xx) responses read past before one request's final answer; more is a protocol error.
MAX_INTERIM = 8


if http_client is not None:
    class InterimResponseError(http_client.HTTPException):
        """101 Switching Protocols, or more interim responses than MAX_INTERIM, before a final answer:
        the connection is out of step with its requests and is not read any further."""

    class FinalResponse(http_client.HTTPResponse):
        """``http.client``'s response, reading past every interim (1xx) response to the final one.

        HTTP/1.1 lets a server (or a proxy) send any number of interim responses before the final
        answer (103 Early Hints, 102 Processing); ``http.client`` skips only 100 Continue and returns
        any other 1xx as if it were the answer, leaving the real answer on the connection for the
        next request to read: every later answer on that connection would belong to the request
        before it. Here each interim response's status line and headers are read and dropped (they
        have no body); 101 Switching Protocols (the connection would no longer speak HTTP/1.1) and
        more than MAX_INTERIM of them raise InterimResponseError, which urllib3 treats as a broken
        connection (closed, never reused; retried as its Retry allows)."""

        def _read_status(self):
            for _interim in range(MAX_INTERIM + 1):
                version, status, reason = http_client.HTTPResponse._read_status(self)
                if not 100 <= status < 200:
                    return version, status, reason
                if status == 101:
                    raise InterimResponseError("101 Switching Protocols in answer to a request that asked for no "
                                               "upgrade")
                http_client.parse_headers(self.fp)  # an interim response: its headers, no body
            raise InterimResponseError("more than %d interim (1xx) responses before one answer" % MAX_INTERIM)
else:  # pragma: no cover
    InterimResponseError = FinalResponse = None


def read_final_responses(pool):
    """Make the connections ``pool`` (a urllib3 connection pool) opens from now on read responses with
    FinalResponse. Returns the pool."""
    base = pool.ConnectionCls
    if FinalResponse is None or getattr(base, "response_class", None) is FinalResponse:
        return pool
    pool.ConnectionCls = type(base.__name__, (base,), {"response_class": FinalResponse})
    return pool
