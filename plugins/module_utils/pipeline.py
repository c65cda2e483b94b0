# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP/1.1 pipelining of requests that change nothing (SubjectAccessReviews), over connections
urllib3 opened.

Why: validation asks the API server about a thousand SubjectAccessReviews per cluster. One at a
time per connection, each costs the module a request's worth of urllib3 work (pool, retry and
timeout objects, two writes, a response object) and a round trip; the API server, a wake-up per
request. Pipelined, a connection carries a window of requests sent in one write, and the answers
are read back in order from one buffered stream (parsed by ``http.client``): fewer system calls
and less Python per review on both sides, and against a far away API server one round trip per
window instead of one per review (docs/performance.md).

Only for requests without side effects, because of how it fails: the caller gets the answers that
came back with a 2xx status and the indices of every other request (not sent, not answered, or
answered otherwise), which it sends again the ordinary way (urllib3, with its retries and error
mapping). So a failure here never surfaces as a different error, only as requests asked twice.

An answer is only ever attached to its own question. HTTP/1.1 allows interim responses (1xx, such
as 103 Early Hints) before the final one: they are skipped (at most transport.MAX_INTERIM per request; 101
Switching Protocols ends the connection), never read as the answer (transport.FinalResponse, which
the ordinary path's connections use too). And the caller's ``accept``
checks each decoded answer against its request (a SubjectAccessReview echoes the question it
answers): an answer that is not the one asked means the stream is out of step, so that request and
every later one on the connection go the ordinary way.

TLS, certificates, ``tls_server_name`` and timeouts are urllib3's: the connection is the pool's
own kind (``HTTPSConnectionPool._new_conn``), connected by urllib3. Not used through an HTTP proxy
(the caller's ordinary path serves it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import socket
import ssl

try:
    import http.client as http_client
except ImportError:  # pragma: no cover - Python 2 is not supported
    http_client = None

from ansible_collections.vmo.rbac.plugins.module_utils.transport import FinalResponse

try:
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:  # pragma: no cover - the modules report the missing requirement
    Urllib3Error = OSError

# What ends a pipelined connection early (its unanswered requests then go the ordinary way).
CONNECTION_ERRORS = (OSError, ssl.SSLError, ValueError, Urllib3Error) + (
    (http_client.HTTPException,) if http_client is not None else ())

# Requests sent ahead on one connection before its first answer is read; refilled by half a
# window at a time. Small enough that the answers in flight (about 700 bytes each) never fill the
# socket buffers on either side, which would stall both ends.
WINDOW = 16


class OutOfStep(Exception):
    """An answer to another question: the connection's answers no longer follow its requests, and
    nothing more is read from it."""


class _Stream(io.BufferedReader):
    """The connection's read side: ``http.client`` closes the file of a response once its body is
    read, but the next pipelined answer follows on the same stream."""

    def close(self):
        pass

    def release(self):
        io.BufferedReader.close(self)


class _Source(object):
    """What ``http.client.HTTPResponse`` reads an answer from: the shared stream."""

    def __init__(self, stream):
        self.stream = stream

    def makefile(self, *args, **kwargs):
        return self.stream


def request_bytes(method, target, host_header, headers, body):
    """One HTTP/1.1 request as bytes; None when a header would not be a single line (the caller's
    ordinary path then sends it, and http.client refuses it with its own error)."""
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + host_header]
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            return None
        lines.append("%s: %s" % (name, value))
    lines.append("Content-Length: %d" % len(body))
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        return None
    return head + body


def run(new_connection, requests, read_timeout, window=WINDOW, sent=None, accept=None):
    """Send ``requests`` (bytes, see request_bytes) pipelined on one new connection.

    Returns ``(answers, rest)``: ``answers`` {index: decoded JSON body} for the 2xx answers,
    ``rest`` the indices of every other request, in order. ``sent(n)`` is called with the number
    of requests written, for the caller's request count. ``accept(index, answer)``: whether a
    decoded 2xx answer is the answer to request ``index``; when it is not, the connection is out of
    step: that request and every later one are left in ``rest``. Never raises for a network, TLS or
    HTTP problem: those end the connection and leave the unanswered requests in ``rest``.
    """
    answers, rest = {}, []
    todo = list(range(len(requests)))
    if not todo:
        return answers, rest
    window = max(1, window)
    conn = stream = None
    inflight = []
    nxt = 0
    try:
        conn = new_connection()
        conn.connect()
        sock = conn.sock
        sock.settimeout(read_timeout)
        stream = _Stream(socket.SocketIO(sock, "rb"), 65536)
        source = _Source(stream)
        while nxt < len(todo) or inflight:
            if nxt < len(todo) and len(inflight) <= window // 2:
                batch = todo[nxt:nxt + window - len(inflight)]
                sock.sendall(b"".join(requests[i] for i in batch))
                if sent is not None:
                    sent(len(batch))
                inflight.extend(batch)
                nxt += len(batch)
            i = inflight.pop(0)
            try:
                resp = FinalResponse(source, method="POST")  # interim (1xx) responses read past
                resp.begin()
                body = resp.read()
            except BaseException:
                inflight.insert(0, i)
                raise
            if 200 <= resp.status < 300:
                try:
                    answer = json.loads(body.decode("utf-8")) if body else {}
                except ValueError:
                    answer = None
                if answer is None:
                    rest.append(i)
                elif accept is not None and not accept(i, answer):
                    # not the answer to this question: every later answer on this connection is suspect
                    inflight.insert(0, i)
                    raise OutOfStep("an answer to another question")
                else:
                    answers[i] = answer
            else:
                rest.append(i)
            if resp.will_close:  # the server ends the connection here: the rest go the ordinary way
                break
    except CONNECTION_ERRORS + (OutOfStep,):
        pass
    finally:
        rest.extend(inflight)
        rest.extend(todo[nxt:])
        if stream is not None:
            try:
                stream.release()
            except (OSError, ValueError):
                pass
        if conn is not None:
            try:
                conn.close()
            except (OSError, ValueError):
                pass
    return answers, sorted(rest)
