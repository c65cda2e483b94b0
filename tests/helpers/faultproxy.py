"""A loopback HTTPS proxy in front of one local API server that injects faults on a schedule.

The proxy terminates TLS with a certificate for 127.0.0.1 signed by the cluster's own CA (so a
module pointed at it with that cluster's ``ca_cert`` verifies it like the real API server), and
forwards every request, headers included, to the real API server over a verified TLS connection.
It forwards the client's ``Authorization`` header as it is, so the module must authenticate with
a bearer token (a ServiceAccount token): a client certificate ends at the proxy and cannot be
forwarded.

Faults are chosen per request by rules, first armed matching rule wins::

    proxy.schedule(
        Rule(Fault.status(503), methods=("GET",), times=1),          # the first GET answers 503
        Rule(Fault.status(429, retry_after=1), methods=("POST",), skip=2),  # the third POST: 429
        Rule(Fault.reset(after=True), methods=("POST",), skip=5),   # forwarded, then the TCP
                                                                    # connection is reset
        Rule(Fault.slow(5), methods=("PUT",), times=None),          # every PUT answers 5 s late
    )

Fault kinds:

- ``status(code, retry_after=None, after=False)``: answer ``code`` (a Kubernetes Status body)
  without forwarding; with ``after=True`` the request is forwarded first (the write happens) and
  its real answer is replaced by ``code``.
- ``reset(after=False)``: close the connection with a TCP RST (SO_LINGER 0) without answering;
  with ``after=True`` after forwarding the request (the write happens, the answer is lost).
- ``slow(delay, after=True)``: hold the answer ``delay`` seconds (beyond the client's
  request_timeout, it is lost); with ``after=True`` (default) the request is forwarded at once,
  so the write happens; with ``after=False`` it is forwarded only after the delay.
- ``answer(code, body, content_type)``: answer ``code`` with ``body`` (bytes) without forwarding: a
  middlebox (or a broken server) saying something of its own, for example a watch stream that holds
  one ERROR event with code 410, or an event whose object is of the wrong shape.
- ``interim(count)``: forward, then send ``count`` interim responses (103 Early Hints, as HTTP/1.1
  allows any number before the final answer), then the real answer.
- ``hold()``: forward, but send the real answer only after the answer to the next request on the
  same connection (answers out of order: a pipelining client reads them for the wrong requests).
- ``foreign()``: forward, then answer with the real answer's body changed into the answer to
  another question (a SubjectAccessReview's ``spec.user`` and its ``status.allowed`` flipped).
- ``gate(parties)``: a rendezvous of ``parties`` clients (told apart by their ``Authorization``
  header): each matching request is forwarded at once, but its answer is held until requests
  of ``parties`` distinct clients have reached the API server; then the gate stays open. Two
  clients gated this way provably run at the same time: each one's next request is sent after
  the other's first was received (bounded by ``timeout``, logged as ``gate timed out``).

Every attempt the proxy sees is logged (``proxy.log``): time, method, path, a hash of the body,
user agent, the fault applied and the status sent. Retries are attempts repeating the previous
attempt exactly (same method, path and body): ``proxy.retries()``.

Latency: ``FaultProxy(..., latency=0.15)`` puts the API server 150 ms of round-trip time away,
as a far away cluster of a fleet is. Every new connection waits two round trips before its TLS
handshake completes (the TCP handshake and the TLS 1.3 handshake, one round trip each), and
every request's answer arrives one round trip after it was sent (half on the way there, half on
the way back), whatever else the client has in flight: the link has latency, not a bandwidth
limit. ``proxy.connections`` counts the connections; ``proxy.sequential_round_trips()`` says how
many requests (and connection set-ups) the client waited for one after the other.

Pipelined requests (HTTP/1.1: a client sends several requests on one connection before reading
the answers) are modelled as a link carries them: each request reaches the API server half a round
trip after its bytes reached the proxy (not after the previous answer went back) and is forwarded
then, each on a thread of its own: the proxy's own work per request (milliseconds of Python) is
not the link's, and would otherwise be counted once per pipelined request; the API server behind
answers a SubjectAccessReview in well under a millisecond. Each answer travels back half a round
trip after the API server gave it, in the connection's order, by a writer thread of the
connection (the "delay line"), while the handler reads the next request.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import queue
import re
import socket
import ssl
import struct
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.controlplane import controlplane as cp

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "host", "content-length", "accept-encoding"}


@dataclass(frozen=True)
class Fault:
    kind: str  # status | reset | slow | gate | answer | interim | hold | foreign
    code: int = 0
    retry_after: int | None = None
    after: bool = False
    delay: float = 0.0
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def status(cls, code, retry_after=None, after=False):
        return cls("status", code=code, retry_after=retry_after, after=after)

    @classmethod
    def reset(cls, after=False):
        return cls("reset", after=after)

    @classmethod
    def slow(cls, delay, after=True):
        return cls("slow", delay=delay, after=after)

    @classmethod
    def answer(cls, code, body, content_type="application/json"):
        return cls("answer", code=code, body=body, content_type=content_type)

    @classmethod
    def interim(cls, count=1):
        return cls("interim", code=count, after=True)

    @classmethod
    def hold(cls):
        return cls("hold", after=True)

    @classmethod
    def foreign(cls):
        return cls("foreign", after=True)

    @classmethod
    def gate(cls, parties, timeout=60.0):
        return cls("gate", code=parties, delay=timeout, after=True)

    def label(self):
        if self.kind == "answer":
            return "answer %d (%d bytes)" % (self.code, len(self.body))
        if self.kind == "gate":
            return "gate of %d" % self.code
        if self.kind == "status":
            return "%d%s%s" % (self.code, " retry-after=%s" % self.retry_after if self.retry_after is not None else "",
                               " after-forward" if self.after else "")
        if self.kind == "reset":
            return "reset" + (" after-forward" if self.after else "")
        if self.kind == "interim":
            return "%d x 103" % self.code
        if self.kind in ("hold", "foreign"):
            return self.kind
        return "slow %.1fs%s" % (self.delay, " after-forward" if self.after else "")


@dataclass
class Rule:
    fault: Fault
    methods: tuple = ()       # empty: every method
    path: str | None = None   # a regular expression searched in the path (query string included)
    skip: int = 0             # let the first `skip` matching requests through untouched
    times: int | None = 1     # inject this many times, then pass; None: forever
    seen: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)

    def matches(self, method, path):
        return (not self.methods or method in self.methods) and (self.path is None or re.search(self.path, path))


def issue_serving_cert(pki: Path, out_dir: Path):
    """A serving certificate for 127.0.0.1/localhost signed by the cluster CA; returns (cert, key) paths."""
    ca_cert, ca_key = cp._load_ca(pki)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vmo-fault-proxy")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / "proxy.crt", out_dir / "proxy.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


class _TimedReader:
    """A connection's read side that knows when each byte arrived (for the latency model): a
    pipelining client sends several requests in one write, and each of them left the client then,
    not when the proxy got round to reading it. What http.server reads a request with:
    ``readline``, ``read``; ``line_time`` is when the first byte of the last line read arrived."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.chunks: list[tuple[int, float]] = []  # (offset in buf where a received chunk starts, time)
        self.line_time = None

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.chunks.append((len(self.buf), time.monotonic()))
        self.buf += data
        return True

    def _consume(self, n):
        out = bytes(self.buf[:n])
        total = len(self.buf)
        del self.buf[:n]
        kept = []
        for k, (off, t) in enumerate(self.chunks):
            end = self.chunks[k + 1][0] if k + 1 < len(self.chunks) else total
            if end > n:
                kept.append((max(0, off - n), t))
        self.chunks = kept
        return out

    def readline(self, limit=-1):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                n = i + 1
                break
            if 0 < limit <= len(self.buf) or not self._fill():
                n = len(self.buf)
                break
        if limit is not None and limit > 0:
            n = min(n, limit)
        self.line_time = self.chunks[0][1] if self.chunks else time.monotonic()
        return self._consume(n)

    def read(self, n=-1):
        while (n is None or n < 0 or len(self.buf) < n) and self._fill():
            pass
        return self._consume(len(self.buf) if n is None or n < 0 else min(n, len(self.buf)))

    def close(self):
        pass


class _DelayLine(threading.Thread):
    """Sends a connection's answers in order, each when it is due (half a round trip after the API
    server answered), while the handler goes on with the next pipelined request."""

    def __init__(self):
        super().__init__(daemon=True)
        self.items: queue.Queue = queue.Queue()
        self.start()

    def put(self, deliver):
        self.items.put(deliver)

    def run(self):
        while True:
            deliver = self.items.get()
            try:
                if deliver is None:
                    return
                deliver()
            finally:
                self.items.task_done()

    def drain(self):
        self.items.join()

    def close(self):
        self.items.put(None)
        self.join(120)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vmo-fault-proxy"

    def setup(self):
        # TLS handshake in the connection's own thread, so a slow client never blocks accept().
        proxy = self.server.proxy
        started = time.monotonic()
        if proxy.latency:
            proxy._stop.wait(2 * proxy.latency)  # TCP and TLS handshakes: a round trip each
        self.request.settimeout(30)
        self.request = proxy.tls.wrap_socket(self.request, server_side=True)
        with proxy._lock:
            proxy.connection_log.append({"t": started, "t_end": time.monotonic()})
        super().setup()
        self.arrival = None
        self.line = None
        if proxy.latency:
            self.rfile = _TimedReader(self.request)
            self.line = _DelayLine()

    def parse_request(self):
        # Called right after the request line was read: when its bytes reached the proxy.
        self.arrival = getattr(self.rfile, "line_time", None) or time.monotonic()
        return super().parse_request()

    def log_message(self, *args):  # quiet: the proxy keeps its own log
        pass

    def finish(self):
        if self.line is not None:  # the answers still on their way go out before the connection ends
            self.line.close()
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._proxy()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # ------------------------------------------------------------------ helpers

    def _reset(self):
        """Close the TCP connection with RST, without a TLS close_notify or an HTTP answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _send(self, status, headers, body):
        try:
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
            return True
        except OSError:  # the client gave up (timed out) meanwhile
            self.close_connection = True
            return False

    def _status_body(self, code):
        reasons = {429: "TooManyRequests", 500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable",
                   504: "Timeout"}
        return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                           "reason": reasons.get(code, "InternalError"),
                           "message": "injected by the fault proxy (%d)" % code}).encode()

    def _inject(self, fault, entry):
        """Apply ``fault`` at this point of the exchange; True when it answered (or cut) the
        request itself, False when the exchange goes on (after a delay or a gate)."""
        proxy = self.server.proxy
        if fault.kind == "reset":
            self._reset()
            proxy._log_end(entry, None)
            return True
        if fault.kind == "status":
            headers = [("Content-Type", "application/json")]
            if fault.retry_after is not None:
                headers.append(("Retry-After", str(fault.retry_after)))
            self._send(fault.code, headers, self._status_body(fault.code))
            proxy._log_end(entry, fault.code)
            return True
        if fault.kind == "answer":
            self._send(fault.code, [("Content-Type", fault.content_type)], fault.body)
            self.close_connection = True  # as a watch stream ends: the connection is not reused
            proxy._log_end(entry, fault.code)
            return True
        if fault.kind in ("interim", "hold", "foreign"):
            return False  # applied to the answer (_send)
        if fault.kind == "slow":
            proxy._stop.wait(fault.delay)
        if fault.kind == "gate" and not proxy._pass_gate(fault, self.headers.get("Authorization", "")):
            entry["fault"] += " (gate timed out)"
        return False

    def _proxy(self):
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy._pick(self.command, self.path)
        entry = proxy._log_start(self.command, self.path, body, self.headers.get("User-Agent", ""), fault)
        entry["client"] = hashlib.sha1(self.headers.get("Authorization", "").encode()).hexdigest()[:12]

        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if proxy.latency:
            entry["t"] = self.arrival  # when it left the client (a pipelined one: with the others)
            if fault is None:
                self._exchange_on_the_link(entry, body, headers)
                return
            # faults with latency: the earlier answers first, then as without latency
            self.line.drain()
            proxy._stop.wait(max(0.0, self.arrival + proxy.latency / 2 - time.monotonic()))
        if fault is not None and not fault.after and self._inject(fault, entry):
            return

        status, out_headers, data = proxy._forward(self.command, self.path, body, headers)
        entry["upstream_status"] = status

        if fault is not None and fault.after and self._inject(fault, entry):
            return
        if proxy.latency:
            proxy._stop.wait(proxy.latency / 2)  # the answer travels back
        if fault is not None and fault.kind in ("interim", "hold", "foreign"):
            sent = self._send_misordered(fault, status, out_headers, data)
        else:
            sent = self._send(status, out_headers, data)
            sent = sent and self._release_held()
        proxy._log_end(entry, status if sent else None)

    def _send_misordered(self, fault, status, headers, body):
        """The answer as ``interim``, ``hold`` or ``foreign`` sends it (see Fault)."""
        if fault.kind == "foreign":
            try:
                doc = json.loads(body)
                doc["spec"]["user"] = "someone-else:" + str(doc["spec"].get("user"))
                doc["status"]["allowed"] = not doc["status"].get("allowed")
                body = json.dumps(doc).encode()
            except (ValueError, KeyError, TypeError):
                pass
        raw = self._response_bytes(status, headers, body, self.command)
        if fault.kind == "hold":
            self.held = getattr(self, "held", b"") + raw
            return True
        if fault.kind == "interim":
            raw = b"HTTP/1.1 103 Early Hints\r\nLink: </hint>; rel=preload\r\n\r\n" * fault.code + raw
        try:
            self.wfile.write(raw)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return False
        return self._release_held()

    def _release_held(self):
        """A held answer goes out after the one just sent."""
        held, self.held = getattr(self, "held", b""), b""
        if not held:
            return True
        try:
            self.wfile.write(held)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    def _exchange_on_the_link(self, entry, body, headers):
        """With latency and no fault: the request reaches the API server half a round trip after its
        bytes reached the proxy and is forwarded then, on a thread of its own (so that requests a
        client pipelined are not held up by the proxy's own milliseconds of work per request, which
        is not the link's); its answer goes back half a round trip after the API server gave it, in
        the connection's order, by the delay line, while this thread reads the next request."""
        proxy = self.server.proxy
        arrival, command, path = self.arrival, self.command, self.path

        def exchange():
            proxy._stop.wait(max(0.0, arrival + proxy.latency / 2 - time.monotonic()))
            status, out_headers, data = proxy._forward(command, path, body, headers)
            entry["upstream_status"] = status
            return status, self._response_bytes(status, out_headers, data, command), time.monotonic()

        answer = proxy.forwarders.submit(exchange)

        def deliver():
            status, raw, answered = answer.result()
            proxy._stop.wait(max(0.0, answered + proxy.latency / 2 - time.monotonic()))  # the way back
            sent_at = time.monotonic()  # before the client can have it, so its next request starts after
            try:
                self.connection.sendall(raw)
                proxy._log_end(entry, status, sent_at)
            except OSError:  # the client gave up meanwhile
                self.close_connection = True
                proxy._log_end(entry, None, sent_at)

        self.line.put(deliver)

    def _response_bytes(self, status, headers, body, command):
        reason = self.responses.get(status, ("",))[0]
        lines = ["HTTP/1.1 %d %s" % (status, reason), "Server: " + self.server_version]
        lines += ["%s: %s" % (k, v) for k, v in headers]
        lines.append("Content-Length: %d" % len(body))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
        return head + (b"" if command == "HEAD" else body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # TLS handshakes cut short, clients gone: expected
        pass


class FaultProxy:
    """Start with ``with FaultProxy(cluster) as proxy:``; ``proxy.url`` is the address to use."""

    def __init__(self, upstream_url: str, ca_file: Path, pki: Path, workdir: Path | None = None,
                 latency: float = 0.0):
        self.upstream_url = upstream_url.rstrip("/")
        self.latency = latency
        self.connection_log: list[dict] = []
        self.ca_file = Path(ca_file)
        self._tmp = tempfile.TemporaryDirectory(prefix="vmo-fault-proxy-", dir=workdir)
        cert, key = issue_serving_cert(Path(pki), Path(self._tmp.name))
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(str(cert), str(key))
        self.upstream = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(self.ca_file), maxsize=64,
                                            timeout=urllib3.Timeout(connect=5, read=60))
        self.rules: list[Rule] = []
        self.log: list[dict] = []
        self._lock = threading.Lock()
        self._gates: dict = {}  # Fault -> (clients seen, opened event)
        self._stop = threading.Event()
        # With latency: the requests in flight, each waiting for its half round trip, then forwarded.
        self.forwarders = ThreadPoolExecutor(max_workers=64, thread_name_prefix="fault-proxy-link")
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self._server.server_address[1]

    # ------------------------------------------------------------- lifecycle

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
        self.forwarders.shutdown(wait=False, cancel_futures=True)
        self.upstream.clear()
        self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -------------------------------------------------------------- schedule

    def schedule(self, *rules: Rule):
        """Replace the rules and clear the logs."""
        with self._lock:
            self.rules = list(rules)
            self.log = []
            self.connection_log = []
            self._gates = {}

    @property
    def connections(self):
        return len(self.connection_log)

    def sequential_round_trips(self, user_agent=""):
        """The longest chain of exchanges one after the other, each starting after the previous one
        ended: requests (of clients whose User-Agent starts with ``user_agent``) and connection
        set-ups (whoever made them; count them only with one client at a time). Exchanges that
        overlap were in flight together and cost one round trip; a client that waits for each answer
        before the next request makes a chain as long as its requests. Connection set-ups count two
        round trips each (TCP and TLS handshakes)."""
        with self._lock:
            spans = [(e["t"], e["t_end"], 1) for e in self.log
                     if e["t_end"] is not None and e["user_agent"].startswith(user_agent)]
            spans += [(c["t"], c["t_end"], 2) for c in self.connection_log]
        # the longest weighted chain of non-overlapping intervals (weighted interval scheduling)
        spans.sort(key=lambda x: x[1])
        ends = [e for _s, e, _w in spans]
        best = [0] * (len(spans) + 1)
        import bisect

        for i, (start, _end, weight) in enumerate(spans):
            j = bisect.bisect_right(ends, start, 0, i)
            best[i + 1] = max(best[i], best[j] + weight)
        return best[-1]

    def _pick(self, method, path):
        with self._lock:
            chosen = None
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                rule.seen += 1
                armed = rule.seen > rule.skip and (rule.times is None or rule.injected < rule.times)
                if armed and chosen is None:
                    rule.injected += 1
                    chosen = rule.fault
            return chosen

    def _pass_gate(self, fault: Fault, client: str) -> bool:
        """Wait until ``fault.code`` distinct clients reached the gate (or it opened before)."""
        with self._lock:
            seen, opened = self._gates.setdefault(fault, (set(), threading.Event()))
            seen.add(hashlib.sha1(client.encode()).hexdigest())
            if len(seen) >= fault.code:
                opened.set()
        return opened.wait(fault.delay)

    def _forward(self, command, path, body, headers):
        """The request to the real API server: (status, headers to pass on, body)."""
        try:
            resp = self.upstream.request(command, self.upstream_url + path, body=body or None, headers=headers,
                                         retries=False, preload_content=True, decode_content=False, redirect=False)
            return resp.status, [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP], resp.data
        except urllib3.exceptions.HTTPError as exc:
            return 502, [("Content-Type", "application/json")], json.dumps(
                {"kind": "Status", "code": 502, "message": "upstream: %s" % exc}).encode()

    # ------------------------------------------------------------------- log

    def _log_start(self, method, path, body, user_agent, fault):
        entry = {"t": time.monotonic(), "method": method, "path": path,
                 "body": hashlib.sha1(body).hexdigest()[:12] if body else "",
                 "user_agent": user_agent, "fault": fault.label() if fault else None,
                 "upstream_status": None, "status": None, "t_end": None}
        with self._lock:
            self.log.append(entry)
        return entry

    def _log_end(self, entry, status, t_end=None):
        entry["status"] = status
        entry["t_end"] = time.monotonic() if t_end is None else t_end

    def attempts(self, user_agent="vmo.rbac/"):
        """The logged attempts of one client (by User-Agent prefix), in arrival order."""
        with self._lock:
            return [e for e in self.log if e["user_agent"].startswith(user_agent)]

    def faulted(self, user_agent="vmo.rbac/"):
        return [e for e in self.attempts(user_agent) if e["fault"]]

    def retries(self, user_agent="vmo.rbac/"):
        """Attempts that repeat the previous attempt exactly (a sequential client's retries)."""
        seq = self.attempts(user_agent)
        key = lambda e: (e["method"], e["path"], e["body"])  # noqa: E731
        return sum(1 for a, b in zip(seq, seq[1:]) if key(a) == key(b))

    def summary(self, user_agent="vmo.rbac/"):
        seq = self.attempts(user_agent)
        return "%d attempts, %d faulted (%s), %d retries" % (
            len(seq), sum(1 for e in seq if e["fault"]),
            ", ".join(sorted(set(e["fault"] for e in seq if e["fault"]))) or "-", self.retries(user_agent))
