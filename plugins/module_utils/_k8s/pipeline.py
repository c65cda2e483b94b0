# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP/1.1 pipelining of requests that change nothing (SubjectAccessReviews), over connections
urllib3 opened.

Why: validation asks the API server about a thousand SubjectAccessReviews per cluster. One at a
time per connection, each costs the module a request's worth of urllib3 work (pool, retry and
timeout objects, two writes, a response object) and a round trip; the API server, a wake-up per
request. Pipelined, a connection carries a window of requests sent in one write, and the answers
are read back in order from one buffered stream (read_answer): fewer system calls
and less Python per review on both sides, and against a far away API server one round trip per
window instead of one per review (docs/performance.md).

Only for requests without side effects, because of how it fails: the caller gets the answers that
came back with a 2xx status and the indices of every other request (not sent, not answered, or
answered otherwise), which it sends again the ordinary way (urllib3, with its retries and error
mapping). So a failure here never surfaces as a different error, only as requests asked twice.

An answer is only ever attached to its own question. HTTP/1.1 allows interim responses (1xx, such
as 103 Early Hints) before the final one: they are skipped (at most transport.MAX_INTERIM per request; 101
Switching Protocols ends the connection), never read as the answer (read_answer, as
transport.FinalResponse, which the ordinary path's connections use, does). And the caller's ``accept``
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

from ansible_collections.vmo.rbac.plugins.module_utils._http.transport import MAX_INTERIM

try:
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:  # pragma: no cover - the modules report the missing requirement
    Urllib3Error = OSError

# What ends a pipelined connection early (its unanswered requests then go the ordinary way).
CONNECTION_ERRORS = (OSError, ssl.SSLError, ValueError, Urllib3Error) + (
    (http_client.HTTPException,) if http_client is not None else ())

# Requests sent ahead on one connection before its first answer is read; refilled whenever a quarter
# of the window (at least one request) is free (_refill_at): about seven eighths of the window are in
# flight on average, where refilling by half a window kept three quarters. Against a far away API
# server that is fewer round trips (they are the validation's wall time, and Ansible's main process
# polls its workers while it waits), for one write per two answers instead of one per four (window 8).
# Small enough that the answers in flight (about 700 bytes each) never fill the socket buffers on
# either side, which would stall both ends.
WINDOW = 16


# Limits of one answer's head (http.client's own: a line of 65,536 bytes, 100 header fields).
MAX_LINE = 65536
MAX_HEADERS = 100


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


class Answer(object):
    """One final answer read from a pipelined connection: status, body, and whether the server ends
    the connection after it."""

    __slots__ = ("status", "body", "will_close")

    def __init__(self, status, body, will_close):
        self.status, self.body, self.will_close = status, body, will_close


def _line(stream):
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ValueError("a line of the answer is longer than %d bytes" % MAX_LINE)
    if not line.endswith(b"\n"):
        raise OSError("the connection ended inside an answer's head")
    return line


def _head_lines(stream):
    """The lines of the next answer's head (the status line and its header lines, without line ends
    and without the blank line that ends it).

    Where the whole head is in the stream's buffer already (an API server's answer, about 400 bytes,
    arrives in one piece), it is taken from there in one read and split in one call: a review's answer
    costs one Python call here, not one per header line. Otherwise (a head cut across two reads, a line
    ended by a bare LF, a buffer that holds less than a head) it is read line by line. Both give the same
    lines, under the same limits (MAX_LINE, MAX_HEADERS)."""
    buffered = stream.peek(1)
    end = buffered.find(b"\r\n\r\n")
    if end >= 0:
        head = buffered[:end]
        if head.count(b"\n") == head.count(b"\r\n") and len(head) < MAX_LINE:
            stream.read(end + 4)
            lines = head.split(b"\r\n")
            if len(lines) > MAX_HEADERS + 1:
                raise ValueError("more than %d header fields" % MAX_HEADERS)
            return lines
    lines = [_line(stream).rstrip(b"\r\n")]
    for _n in range(MAX_HEADERS + 1):
        line = _line(stream)
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line[:-2] if line.endswith(b"\r\n") else line[:-1])
    raise ValueError("more than %d header fields" % MAX_HEADERS)


# The header fields whose repetition with another value ends the connection.
_FRAMING = (b"content-length", b"transfer-encoding", b"connection")


def read_answer(stream):
    """The next final answer on ``stream`` (a buffered binary reader), framed as http.client frames
    an answer with a length, reading past interim (1xx) responses as transport.FinalResponse does.

    Why not ``http.client.HTTPResponse``: it parses every answer's header fields with the ``email``
    package, about 40 % of a validation's CPU on the controller (a fleet runs thousands of reviews
    per cluster: docs/performance.md). An answer is only taken when its framing is the plain one the
    API server gives a review (a status line of HTTP/1.0 or 1.1, header fields one per line, one
    Content-Length); anything else (Transfer-Encoding, no or conflicting lengths, folded header
    lines, 101 Switching Protocols, more than transport.MAX_INTERIM interim responses, a head over
    http.client's limits) raises ValueError: the connection ends and its unanswered requests go the
    ordinary way (urllib3 and http.client), so an odd answer costs a resend, never a wrong reading."""
    for _interim in range(MAX_INTERIM + 1):
        lines = _head_lines(stream)
        parts = lines[0].split(None, 2)
        if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0") or len(parts[1]) != 3 \
                or not parts[1].isdigit():
            raise ValueError("not an HTTP/1.1 status line")
        version, status = parts[0], int(parts[1])
        fields = {}
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t"):
                raise ValueError("a folded header line")
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise ValueError("a header line without a name")
            name, value = name.lower(), value.strip()
            if name in fields and fields[name] != value and name in _FRAMING:
                raise ValueError("the header %s twice" % name.decode("latin-1"))
            fields[name] = value
        if status == 101:
            raise ValueError("101 Switching Protocols in answer to a request that asked for no upgrade")
        if not 100 <= status < 200:
            break
    else:
        raise ValueError("more than %d interim (1xx) responses before one answer" % MAX_INTERIM)
    if b"transfer-encoding" in fields:
        raise ValueError("an answer with a Transfer-Encoding")
    length = fields.get(b"content-length")
    if length is None:
        if status not in (204, 304):
            raise ValueError("an answer without a Content-Length")
        length = b"0"
    if not length.isdigit() or len(length) > 12:
        raise ValueError("a Content-Length that is not a number")
    body = stream.read(int(length))
    if len(body) != int(length):
        raise OSError("the connection ended inside an answer")
    connection = fields.get(b"connection")
    if connection is None:
        return Answer(status, body, version == b"HTTP/1.0")
    tokens = [t.strip() for t in connection.lower().split(b",")]
    will_close = b"close" in tokens or (version == b"HTTP/1.0" and b"keep-alive" not in tokens)
    return Answer(status, body, will_close)


def request_head(method, target, host_header, headers):
    """The head of an HTTP/1.1 request up to its Content-Length line, as bytes (the same for every review
    of a run: request_bytes adds the length and the body); None when a header would not be a single line
    of latin-1 (the caller's ordinary path then sends it, and http.client refuses it with its own error)."""
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + host_header]
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            return None
        lines.append("%s: %s" % (name, value))
    try:
        return ("\r\n".join(lines) + "\r\n").encode("latin-1")
    except UnicodeEncodeError:
        return None


def request_bytes(method, target, host_header, headers, body):
    """One HTTP/1.1 request as bytes; None when a header would not be a single line (request_head)."""
    head = request_head(method, target, host_header, headers)
    if head is None:
        return None
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _refill_at(window):
    """How few requests in flight on a connection (of ``window`` at most) make run() send more: a quarter of the
    window free, at least one request."""
    return window - max(1, window // 4)


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
    refill_at = _refill_at(window)
    conn = stream = None
    inflight = []
    nxt = 0
    try:
        conn = new_connection()
        conn.connect()
        sock = conn.sock
        sock.settimeout(read_timeout)
        stream = _Stream(socket.SocketIO(sock, "rb"), 65536)
        writable = True
        while (writable and nxt < len(todo)) or inflight:
            if writable and nxt < len(todo) and len(inflight) <= refill_at:
                batch = todo[nxt:nxt + window - len(inflight)]
                try:
                    sock.sendall(b"".join(requests[i] for i in batch))
                except CONNECTION_ERRORS:
                    # the server closed the connection (or it broke) after answers that may be on their way
                    # already: those are read, nothing more is sent; this batch goes the ordinary way
                    writable = False
                    if not inflight:
                        break
                else:
                    if sent is not None:
                        sent(len(batch))
                    inflight.extend(batch)
                    nxt += len(batch)
            i = inflight.pop(0)
            try:
                resp = read_answer(stream)  # interim (1xx) responses read past
                body = resp.body
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
