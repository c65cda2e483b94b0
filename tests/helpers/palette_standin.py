"""A local stand-in for the Palette API, checked against the published specification.

No public Palette simulator exists, so the tests run the collection against this one. It serves the
paths of ``tests/fixtures/palette/palette-api-subset.json`` (a copy of ../shared/palette/) (Swagger 2.0, "Palette APIs - 4.8", taken
unchanged from spectrocloud/palette-sdk-go) over HTTPS on 127.0.0.1, and:

- validates every request it receives and every response it sends against that specification with
  Yelp's bravado-core (parameters, body schemas, enums, required properties, content types), plus a
  strict pass of its own that also refuses properties the specification does not declare (Palette's
  Go server would drop them without a word). A request that does not fit is answered 400 and
  recorded in ``violations``; a response that does not fit is answered 500 and recorded too. The
  ``palette_standin`` fixture fails the test when any violation is left at its end.
- needs the ``ApiKey`` header (401 without it or with a wrong one) and honours ``ProjectUid``;
- limits each client IP's request rate when a test asks (``rate_limit``: a token bucket, 429 TooManyRequests
  beyond it, as Palette documents its limit; see RateLimit);
- keeps state (projects, clusters, profiles, kubeconfigs, RBAC items), paginates the cluster search
  with ``continue`` tokens, and answers 401/403/404/429/500 when a test asks (``fault``,
  ``deny_project``);
- plays a middlebox when a test asks (``tamper``): Palette's answer, checked and valid, is replaced
  on its way out by one of another shape (the request log marks it; it is not a violation);
- makes concurrent writers race when a test asks (``slow_rbac_gets``): RBAC GETs that take seconds,
  reading the list at the start or the end of that time, the first ones held until all have arrived
  and their answers until all have read;
  PUTs are applied at once, the later one wins (nothing in the specification refuses a PUT made from
  an old list), and the agent applies the list as it is when it runs, one run per cluster at a time;
- closes the loop like Palette's agent: after a PUT of a cluster's RBAC settings, the bindings of
  its items are applied (after ``agent_delay`` seconds, in the background) to the cluster's real
  local control plane, when the cluster has one.

Where the specification is silent the stand-in makes the assumptions written in docs/palette.md
(section "Assumptions"), each marked ASSUMPTION below.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import hmac
import ipaddress
import json
import re
import ssl
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# jsonschema checks the "iri" formats with rfc3987-syntax when it is installed, which builds a
# grammar at import time (3 s). The specification uses no iri format; not loading it keeps the
# stand-in quick to start, and changes no verdict.
sys.modules.setdefault("rfc3987_syntax", None)

from bravado_core.exception import SwaggerMappingError  # noqa: E402
from bravado_core.request import IncomingRequest, unmarshal_request  # noqa: E402
from bravado_core.response import OutgoingResponse, get_response_spec, validate_response  # noqa: E402
from bravado_core.spec import Spec  # noqa: E402
from jsonschema.exceptions import ValidationError  # noqa: E402

from tests.helpers import leaks  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "tests" / "fixtures" / "palette" / "palette-api-subset.json"
AGENT_LABEL = "palette-standin/agent"
CLUSTER_LABEL = "palette-standin/cluster"
ITEM_ANNOTATION = "palette-standin/rbac-item"
RBAC_GROUP = "rbac.authorization.k8s.io"


def spec_path() -> Path:
    """The pinned specification: tests/fixtures/palette/palette-api-subset.json (VMO_PALETTE_SPEC overrides)."""
    import os

    return Path(os.environ.get("VMO_PALETTE_SPEC") or SPEC_PATH)


def load_spec_dict(path: Path | None = None) -> dict:
    """The specification as published, with the three top-level fields that Swagger 2.0 does not
    allow in the form the published file has them removed: ``basePath: ""`` (must start with "/"),
    ``host: null`` and ``security: null`` (must be a string and a list). Nothing below the top level
    is changed."""
    d = json.loads((path or spec_path()).read_text())
    for key in ("basePath", "host", "security"):
        if d.get(key) in ("", None):
            d.pop(key, None)
    return d


def load_spec(path: Path | None = None, validate_spec: bool = False) -> Spec:
    return Spec.from_dict(load_spec_dict(path), config={
        "validate_requests": True, "validate_responses": True, "use_models": False,
        "validate_swagger_spec": validate_spec, "include_missing_properties": False,
    })


def new_uid() -> str:
    """A Palette-like uid: 24 hexadecimal digits."""
    return uuid.uuid4().hex[:24]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- strict schema check


def undeclared(spec: Spec, schema: dict, value, where: str = "") -> list[str]:
    """Paths of properties in ``value`` that ``schema`` does not declare (bravado-core accepts them,
    as JSON Schema does; a Go server generated from the same specification drops them)."""
    schema = spec.deref(schema) or {}
    out = []
    if isinstance(value, dict) and schema.get("type", "object") == "object":
        props = spec.deref(schema.get("properties")) or {}
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                out += undeclared(spec, props[k], v, "%s.%s" % (where, k) if where else k)
            elif isinstance(extra, dict):
                out += undeclared(spec, extra, v, "%s.%s" % (where, k) if where else k)
            elif extra is not True and props:
                out.append("%s.%s" % (where, k) if where else k)
    elif isinstance(value, list) and schema.get("type") == "array":
        for i, v in enumerate(value):
            out += undeclared(spec, schema.get("items") or {}, v, "%s[%d]" % (where, i))
    return out


class _Request(IncomingRequest):
    def __init__(self, path_params, query, headers, body):
        self.path = path_params
        self.query = query
        self.form = {}
        self.files = {}
        self.headers = headers
        self._body = body

    def json(self, **_kw):
        if self._body is None or self._body == b"":
            raise ValueError("no body")
        return json.loads(self._body)


class _Response(OutgoingResponse):
    def __init__(self, content_type, raw, headers):
        self.content_type = content_type
        self.raw_bytes = raw
        self.text = raw.decode("utf-8", "replace")
        self.headers = headers

    def json(self, **_kw):
        return json.loads(self.raw_bytes)


# --------------------------------------------------------------------------- TLS


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost: (ca.crt, server.crt, server.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    end = start + datetime.timedelta(days=2)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "palette stand-in CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


# --------------------------------------------------------------------------- state


@dataclass
class Fault:
    status: int
    method: str | None
    path: re.Pattern
    times: int
    retry_after: str | None = None
    project: str | None = None
    hits: int = 0
    message: str = "asked for by the test"


@dataclass
class Tamper:
    """A middlebox between Palette and the client: the answer Palette gave (valid, and checked) is
    replaced on its way out. ``body``: the new body (JSON-encoded unless bytes), or a callable that
    takes Palette's answer and returns it."""
    path: re.Pattern
    method: str | None
    body: object
    times: int
    hits: int = 0


@dataclass
class SlowGet:
    """GETs of a cluster's RBAC settings that take ``seconds``. ``read``: when the list is read,
    ``"start"`` (the answer is as old as the request when it arrives: the hard case for a writer) or
    ``"end"``. ``gate``: the first ``gate`` such GETs are held until all of them have arrived, and their
    answers until all of them have read the list (each wait at most ``gate_timeout`` seconds), so that
    as many clients provably read the same list, whatever the machine's load does to the threads."""
    seconds: float
    read: str = "start"
    gate: int = 0
    gate_timeout: float = 60.0
    arrived: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    read_by: int = 0
    all_read: threading.Event = field(default_factory=threading.Event)


@dataclass
class RateLimit:
    """Palette's rate limit, per client IP: a token bucket of ``burst`` tokens refilled at ``rate`` per
    second; a request that finds it empty is answered 429 TooManyRequests (ASSUMPTION, docs/palette.md:
    Palette's documentation gives 10 per second per source IP with a burst queue of 5, a 429
    "TooManyRequests", and no response headers; ``retry_after`` sends one anyway when a test asks)."""
    rate: float = 10.0
    burst: float = 5.0
    retry_after: str | None = None
    buckets: dict = field(default_factory=dict)   # client IP -> [tokens, monotonic time of the last refill]
    refused: int = 0

    def admit(self, client: str) -> bool:
        now = time.monotonic()
        tokens, last = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self.buckets[client] = (tokens - 1.0, now)
            return True
        self.buckets[client] = (tokens, now)
        self.refused += 1
        return False


@dataclass
class StandInCluster:
    uid: str
    name: str
    project_uid: str
    labels: dict
    cloud_type: str
    state: str
    packs: list
    kubeconfigs: dict                 # {"frp": text or None, "admin": text or None}
    base64_kubeconfig: bool = False   # send the downloads base64-encoded (Palette sometimes does)
    rbacs: list | None = None         # None: no RBAC settings yet (GET answers 404: ASSUMPTION)
    backing: object = None            # tests.helpers.kube.TestCluster, or None for a synthetic record
    agent_applied: int = 0
    created: str = field(default_factory=now)


class PaletteStandIn:
    """State and HTTP server. ``start()`` binds 127.0.0.1 on a free port; ``url`` and ``ca_cert``
    are what a client needs, with ``api_key``."""

    def __init__(self, workdir: Path, spec: Spec | None = None, api_key: str | None = None,
                 agent_delay: float = 0.3):
        self.workdir = Path(workdir)
        self.spec = spec or load_spec()
        self.api_key = api_key or "pk-" + uuid.uuid4().hex + uuid.uuid4().hex
        leaks.register("the Palette stand-in's API key", self.api_key)
        self.agent_delay = agent_delay
        self.lock = threading.RLock()
        # bravado-core's validators share one jsonschema RefResolver, whose scope stack is not
        # thread-safe (concurrent validations corrupt it): validation is serialised.
        self._validating = threading.Lock()
        self.projects: dict[str, dict] = {}
        self.clusters: dict[str, StandInCluster] = {}
        self.requests: list[dict] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.denied_projects: set[str] = set()
        self.break_responses = False   # test of the test: send responses that leave the spec
        self.tampers: list[Tamper] = []
        self.slow_rbac_get: SlowGet | None = None
        self.limit: RateLimit | None = None
        self._agent_locks: dict[str, threading.Lock] = {}
        self.agent_errors: list[str] = []
        self._ops = []
        for res in self.spec.resources.values():
            for op in res.operations.values():
                pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", op.path_name) + "$"
                self._ops.append((op.http_method.upper(), re.compile(pattern), op))
        self._server = None
        self._thread = None
        self._agent_threads: list[threading.Thread] = []
        self.ca_cert = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "PaletteStandIn":
        ca, cert, key = make_tls(self.workdir / "tls")
        self.ca_cert = str(ca)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="palette-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.wait_for_agent(timeout=10)

    @property
    def url(self) -> str:
        return "https://127.0.0.1:%d" % self._server.server_address[1]

    # ----------------------------------------------------------------- state set-up

    def add_project(self, name: str, uid: str | None = None) -> str:
        uid = uid or new_uid()
        with self.lock:
            self.projects[uid] = {"name": name, "uid": uid}
        return uid

    def add_cluster(self, project_uid: str, name: str, *, tags: dict | None = None, cloud_type: str = "edge-native",
                    state: str = "Running", packs=("virtual-machine-orchestrator",), backing=None,
                    base64_kubeconfig: bool = False, uid: str | None = None) -> StandInCluster:
        """A cluster record. ``backing`` (a TestCluster) makes it real: its kubeconfigs reach that
        control plane and the agent applies its RBAC items there."""
        uid = uid or new_uid()
        kubeconfigs = {"frp": None, "admin": None}
        if backing is not None:
            kubeconfigs = {"frp": self._kubeconfig_for(backing, "palette-frp-" + name),
                           "admin": self._kubeconfig_for(backing, "palette-admin-" + name)}
        else:
            for kind in kubeconfigs:
                token = "synthetic-" + uuid.uuid4().hex
                leaks.register("the token of a kubeconfig the Palette stand-in serves", token)
                kubeconfigs[kind] = yaml.safe_dump({
                    "apiVersion": "v1", "kind": "Config", "current-context": name,
                    "clusters": [{"name": name, "cluster": {"server": "https://127.0.0.1:9"}}],
                    "users": [{"name": name, "user": {"token": token}}],
                    "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]})
        c = StandInCluster(uid, name, project_uid, dict(tags or {}), cloud_type, state, list(packs), kubeconfigs,
                           base64_kubeconfig, None, backing)
        with self.lock:
            self.clusters[uid] = c
        return c

    @staticmethod
    def _kubeconfig_for(backing, user: str) -> str:
        from tests.controlplane import controlplane as cp

        cert, key = cp.issue_client_cert(backing.pki, user, ("system:masters",))
        leaks.register("the key of a kubeconfig the Palette stand-in serves (%s)" % user, key)
        enc = lambda b: base64.b64encode(b).decode()  # noqa: E731
        return yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": backing.name,
            "clusters": [{"name": backing.name, "cluster": {
                "server": backing.server, "certificate-authority-data": enc(Path(backing.ca).read_bytes())}}],
            "users": [{"name": user, "user": {"client-certificate-data": enc(cert), "client-key-data": enc(key)}}],
            "contexts": [{"name": backing.name, "context": {"cluster": backing.name, "user": user}}]})

    def fault(self, status: int, path: str = ".*", method: str | None = None, times: int = 1,
              retry_after: str | None = None, project: str | None = None,
              message: str = "asked for by the test") -> Fault:
        """Answer ``status`` to the next ``times`` requests whose path matches the regex ``path``, with
        ``message`` in the error body (Palette's text, which the collection may show)."""
        f = Fault(status, method, re.compile(path), times, retry_after, project, message=message)
        with self.lock:
            self.faults.append(f)
        return f

    def tamper(self, path: str, body, method: str | None = None, times: int = 1) -> Tamper:
        """Replace the next ``times`` successful answers to requests whose path matches the regex
        ``path`` with ``body`` (see Tamper), after the stand-in has checked Palette's own answer: a
        middlebox's odd answer, not a violation of the specification by Palette. The request log
        marks them (``tampered``)."""
        t = Tamper(re.compile(path), method, body, times)
        with self.lock:
            self.tampers.append(t)
        return t

    def slow_rbac_gets(self, seconds: float, read: str = "start", gate: int = 0,
                       gate_timeout: float = 60.0) -> SlowGet:
        """Every GET of a cluster's RBAC settings takes ``seconds`` from now on (see SlowGet); two
        owners that GET at about the same time then both read the list as it was before either
        writes, and both PUT: the lost update of issue 18 item 6."""
        if read not in ("start", "end"):
            raise ValueError("read: start or end")
        self.slow_rbac_get = SlowGet(seconds, read, gate, gate_timeout)
        return self.slow_rbac_get

    def rate_limit(self, rate: float = 10.0, burst: float = 5.0, retry_after: str | None = None) -> RateLimit:
        """Switch on Palette's per-client-IP rate limit (``rate=0``: switch it off again)."""
        with self.lock:
            self.limit = RateLimit(rate, burst, retry_after) if rate else None
        return self.limit

    def deny_project(self, project_uid: str):
        """Every request in this project's scope answers 403 (the key's user has no role there)."""
        with self.lock:
            self.denied_projects.add(project_uid)

    def system_item(self, cluster_uid: str, bindings: list, name: str = "spectro-system") -> dict:
        """An isSystem item, as Palette itself makes them."""
        item = {"metadata": {"name": name, "uid": new_uid(), "creationTimestamp": now()},
                "spec": {"bindings": bindings, "isSystem": True}, "status": {}}
        with self.lock:
            c = self.clusters[cluster_uid]
            c.rbacs = (c.rbacs or []) + [item]
        return item

    # ----------------------------------------------------------------- observations

    def calls(self, method: str | None = None, op: str | None = None, cluster: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if (method is None or r["method"] == method)
                    and (op is None or r["op"] == op) and (cluster is None or cluster in r["path"])]

    def writes(self, **kw) -> list[dict]:
        return [r for r in self.calls(**kw) if r["method"] in ("PUT", "DELETE") or
                (r["method"] == "POST" and r["op"] != "v1SpectroClustersSearchFilterSummary")]

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list[dict]:
        with self.lock:
            return list(self.requests[mark:])

    def take_violations(self) -> list[str]:
        with self.lock:
            out, self.violations = self.violations, []
        return out

    def rbac_items(self, cluster_uid: str) -> list:
        with self.lock:
            return copy.deepcopy(self.clusters[cluster_uid].rbacs or [])

    def wait_for_agent(self, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        for t in list(self._agent_threads):
            t.join(max(0.0, deadline - time.monotonic()))
        self._agent_threads = [t for t in self._agent_threads if t.is_alive()]

    # ----------------------------------------------------------------- the API

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes,
               client: str = "127.0.0.1") -> tuple[int, str, bytes, dict]:
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict((k, v[-1]) for k, v in parse_qs(parts.query, keep_blank_values=True).items())
        project = headers.get("projectuid") or ""
        record = {"method": method, "path": path, "query": query, "project": project, "op": None, "status": None,
                  "at": time.time(), "client": client}
        with self.lock:
            self.requests.append(record)
            limited = self.limit is not None and not self.limit.admit(client)
            retry_after = self.limit.retry_after if limited else None
        if limited:  # before anything else, as a gateway in front of the API would
            return self._finish(record, None, 429, {"code": "TooManyRequests", "message": "rate limit exceeded"},
                                {"Retry-After": retry_after} if retry_after else None)
        op, path_params = self._match(method, path)
        if op is None:
            self._violation("%s %s: no such operation in the specification" % (method, path))
            return self._finish(record, None, 404, {"code": "NotFound", "message": "no such path"})
        record["op"] = op.operation_id
        # The request, against the specification (bravado-core), then strictly (undeclared fields).
        req = _Request(path_params, query, {"Content-Type": headers.get("content-type", "")}, body)
        try:
            with self._validating:
                params = unmarshal_request(req, op)
        except (SwaggerMappingError, ValidationError, ValueError) as exc:
            self._violation("%s %s: request does not fit the specification: %s" % (method, path, _short(exc)))
            return self._finish(record, op, 400, {"code": "BadRequest", "message": _short(exc)})
        for name in query:
            if name not in op.params or op.params[name].location != "query":
                self._violation("%s %s: query parameter %r is not in the specification" % (method, path, name))
                return self._finish(record, op, 400, {"code": "BadRequest", "message": "unknown parameter " + name})
        body_param = next((p for p in op.params.values() if p.location == "body"), None)
        if body_param is not None and params.get(body_param.name) is not None:
            with self._validating:
                extra = undeclared(self.spec, body_param.param_spec["schema"], json.loads(body))
        else:
            extra = []
        if body_param is None and body:
            self._violation("%s %s: a body, but the operation takes none" % (method, path))
            return self._finish(record, op, 400, {"code": "BadRequest", "message": "unexpected body"})
        if body_param is not None and params.get(body_param.name) is not None:
            # The operations see the body as sent (bravado-core fills in defaults when unmarshalling).
            params[body_param.name] = json.loads(body)
            if extra:
                self._violation("%s %s: request body has properties the specification does not declare: %s"
                                % (method, path, ", ".join(extra[:5])))
                return self._finish(record, op, 400, {"code": "BadRequest", "message": "undeclared " + extra[0]})
        # Authentication, then the faults a test asked for, then the operation.
        key = headers.get("apikey") or ""
        if not key or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return self._finish(record, op, 401, {"code": "Unauthorized", "message": "invalid or missing ApiKey"})
        fault = self._take_fault(method, path, project)
        if fault is not None:
            extra_headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._finish(record, op, fault.status, {"code": "Fault", "message": fault.message},
                                extra_headers)
        if project and project in self.denied_projects:
            return self._finish(record, op, 403, {"code": "Forbidden", "message": "no permission in project"})
        if project and project not in self.projects:
            return self._finish(record, op, 403, {"code": "Forbidden", "message": "unknown project"})
        try:
            status, answer = getattr(self, "_op_" + op.operation_id)(params, project)
        except _Answer as a:
            status, answer = a.status, a.body
        return self._finish(record, op, status, answer)

    def _match(self, method, path):
        for m, pattern, op in self._ops:
            if m == method:
                found = pattern.match(path)
                if found:
                    return op, found.groupdict()
        return None, {}

    def _take_fault(self, method, path, project):
        with self.lock:
            for f in self.faults:
                if f.hits < f.times and (f.method is None or f.method == method) and f.path.search(path) \
                        and (f.project is None or f.project == project):
                    f.hits += 1
                    return f
        return None

    def _violation(self, text):
        with self.lock:
            self.violations.append(text)

    def _finish(self, record, op, status, answer, headers=None):
        headers = dict(headers or {})
        if isinstance(answer, bytes):
            content_type, raw = "application/octet-stream", answer
            headers.setdefault("Content-Disposition", 'attachment; filename="kubeconfig.yaml"')
        elif answer is None:
            content_type, raw = "application/json", b""
        else:
            if self.break_responses and status == 200 and isinstance(answer, dict):
                answer = _broken(answer)
            content_type, raw = "application/json", json.dumps(answer).encode()
        if op is not None and 200 <= status < 300:
            problem = self._check_response(op, status, content_type, raw, headers)
            if problem:
                self._violation("%s %s: response does not fit the specification: %s"
                                % (record["method"], record["path"], problem))
                status, content_type = 500, "application/json"
                raw = json.dumps({"code": "StandInBug", "message": problem}).encode()
        if op is not None and 200 <= status < 300:
            tamper = self._take_tamper(record["method"], record["path"])
            if tamper is not None:
                body = tamper.body(json.loads(raw) if raw and content_type == "application/json" else raw) \
                    if callable(tamper.body) else tamper.body
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                content_type, status = "application/json", 200 if status == 204 else status
                record["tampered"] = True
        record["status"] = status
        return status, content_type, raw, headers

    def _take_tamper(self, method, path):
        with self.lock:
            for t in self.tampers:
                if t.hits < t.times and (t.method is None or t.method == method) and t.path.search(path):
                    t.hits += 1
                    return t
        return None

    def _check_response(self, op, status, content_type, raw, headers):
        try:
            rspec = get_response_spec(status, op)
        except Exception as exc:  # noqa: BLE001 - MatchingResponseNotFound
            return _short(exc)
        schema = self.spec.deref(rspec.get("schema"))
        if schema is None:
            return "" if not raw else "status %d has no body in the specification" % status
        if content_type not in op.produces:
            return "content type %s, the specification says %s" % (content_type, op.produces)
        if content_type != "application/json":
            # application/octet-stream (format: binary): bravado-core validates JSON only; the
            # type and Content-Disposition header are checked here.
            if "headers" in rspec and "Content-Disposition" not in headers:
                return "no Content-Disposition header"
            return ""
        try:
            with self._validating:
                validate_response(rspec, op, _Response(content_type, raw, headers))
        except (SwaggerMappingError, ValidationError, ValueError) as exc:
            return _short(exc)
        with self._validating:
            extra = undeclared(self.spec, schema, json.loads(raw))
        if extra:
            return "properties the specification does not declare: %s" % ", ".join(extra[:5])
        return ""

    # ----------------------------------------------------------------- operations

    def _cluster(self, uid, project) -> StandInCluster:
        c = self.clusters.get(uid)
        # A cluster of another project is not visible in this project's scope.
        if c is None or (project and c.project_uid != project):
            raise _Answer(404, {"code": "NotFound", "message": "cluster %s not found" % uid})
        if not project and c.project_uid in self.denied_projects:
            raise _Answer(403, {"code": "Forbidden", "message": "no permission"})
        return c

    def _summary(self, c: StandInCluster) -> dict:
        project = self.projects.get(c.project_uid) or {"name": "", "uid": c.project_uid}
        return {
            "metadata": {"name": c.name, "uid": c.uid, "labels": dict(c.labels), "creationTimestamp": c.created},
            "specSummary": {"cloudConfig": {"cloudType": c.cloud_type},
                            "projectMeta": {"name": project["name"], "uid": project["uid"]}},
            "status": {"state": c.state, "health": {"state": "Healthy" if c.state == "Running" else "Unknown"}},
        }

    def _op_v1SpectroClustersSearchFilterSummary(self, params, project):
        limit = params.get("limit") or 50
        token = params.get("continue") or ""
        offset = params.get("offset") or 0
        if token:
            try:
                offset = int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
            except (ValueError, IndexError):
                raise _Answer(400, {"code": "BadRequest", "message": "invalid continue token"})
        with self.lock:
            # ASSUMPTION: no ProjectUid header (tenant scope) lists the clusters of every project.
            visible = [c for c in self.clusters.values()
                       if (c.project_uid == project if project else c.project_uid not in self.denied_projects)]
        visible.sort(key=lambda c: (c.name, c.uid))
        page = visible[offset:offset + limit]
        nxt = offset + len(page)
        more = nxt < len(visible)
        return 200, {"items": [self._summary(c) for c in page],
                     "listmeta": {"continue": base64.urlsafe_b64encode(("o:%d" % nxt).encode()).decode() if more
                                  else "", "count": len(visible), "limit": limit, "offset": nxt if more else 0}}

    def _op_v1ProjectsUidGet(self, params, _project):
        p = self.projects.get(params["uid"])
        if p is None:
            raise _Answer(404, {"code": "NotFound", "message": "project not found"})
        if p["uid"] in self.denied_projects:
            raise _Answer(403, {"code": "Forbidden", "message": "no permission"})
        return 200, {"metadata": {"name": p["name"], "uid": p["uid"]}, "spec": {}, "status": {"isDisabled": False}}

    def _op_v1SpectroClustersGet(self, params, project):
        c = self._cluster(params["uid"], project)
        return 200, {"apiVersion": "v1", "kind": "SpectroCluster",
                     "metadata": {"name": c.name, "uid": c.uid, "labels": dict(c.labels)},
                     "spec": {"cloudType": c.cloud_type}, "status": {"state": c.state}}

    def _op_v1SpectroClustersGetProfiles(self, params, project):
        c = self._cluster(params["uid"], project)
        packs = [{"metadata": {"name": p, "uid": new_uid()},
                  "spec": {"name": p, "layer": "addon", "type": "spectro", "version": "4.8.0"}}
                 for p in c.packs]
        return 200, {"profiles": [{"metadata": {"name": c.name + "-addons", "uid": new_uid()},
                                   "spec": {"cloudType": c.cloud_type, "type": "add-on", "version": 1,
                                            "packs": packs}}]}

    def _kubeconfig(self, c, kind):
        text = c.kubeconfigs.get(kind)
        if text is None:
            raise _Answer(404, {"code": "NotFound", "message": "kubeconfig not found"})
        raw = text.encode()
        return 200, base64.b64encode(raw) if c.base64_kubeconfig else raw

    def _op_v1SpectroClustersUidKubeConfig(self, params, project):
        c = self._cluster(params["uid"], project)
        return self._kubeconfig(c, "frp" if params.get("frp", True) else "admin")

    def _op_v1SpectroClustersUidAdminKubeConfig(self, params, project):
        return self._kubeconfig(self._cluster(params["uid"], project), "admin")

    def _op_v1SpectroClustersUidConfigNamespacesGet(self, params, project):
        self._cluster(params["uid"], project)
        return 200, {"items": []}

    def _op_v1SpectroClustersUidConfigRbacsGet(self, params, project):
        c = self._cluster(params["uid"], project)
        slow = self.slow_rbac_get
        held = False
        if slow is not None:
            with self.lock:
                slow.arrived += 1
                held = slow.arrived <= slow.gate
                if slow.arrived >= slow.gate:
                    slow.released.set()
            if held:
                slow.released.wait(slow.gate_timeout)
            if slow.read == "end":
                time.sleep(slow.seconds)
        # ASSUMPTION: a GET answers the list as it was at one moment (a snapshot, never half of a PUT).
        with self.lock:
            if c.rbacs is None:  # ASSUMPTION: a cluster with no RBAC settings yet answers 404
                answer = _Answer(404, {"code": "NotFound", "message": "rbac config not found"})
            else:
                answer = {"items": copy.deepcopy(c.rbacs)}
            if held:
                slow.read_by += 1
                if slow.read_by >= slow.gate:
                    slow.all_read.set()
        if held:  # no held GET answers before every held GET has read: none can PUT before another reads
            slow.all_read.wait(slow.gate_timeout)
        if slow is not None and slow.read == "start":
            time.sleep(slow.seconds)
        if isinstance(answer, _Answer):
            raise answer
        return 200, answer

    def _op_v1SpectroClustersUidConfigRbacsUidGet(self, params, project):
        c = self._cluster(params["uid"], project)
        with self.lock:
            for item in c.rbacs or []:
                if item["metadata"].get("uid") == params["rbacUid"]:
                    return 200, copy.deepcopy(item)
        raise _Answer(404, {"code": "NotFound", "message": "rbac item not found"})

    def _stored(self, entity, old_uids):
        meta = dict(entity.get("metadata") or {})
        uid = meta.get("uid") if meta.get("uid") in old_uids else new_uid()
        out = {"metadata": {"uid": uid, "creationTimestamp": old_uids.get(uid) or now()},
               "spec": copy.deepcopy(entity.get("spec") or {}), "status": {}}
        for k in ("name", "labels", "annotations"):
            if meta.get(k):
                out["metadata"][k] = copy.deepcopy(meta[k])
        out["spec"].setdefault("isSystem", False)
        return out

    def _op_v1SpectroClustersUidConfigRbacsUpdate(self, params, project):
        c = self._cluster(params["uid"], project)
        body = params.get("body") or {}
        with self.lock:
            old = dict((i["metadata"]["uid"], i["metadata"].get("creationTimestamp")) for i in c.rbacs or [])
            # ASSUMPTION: the PUT replaces the whole list (items missing from it are removed), at once;
            # PUTs of two writers are applied in the order they arrive, the last one wins: the
            # specification offers no version, ETag or precondition to refuse a PUT made from an old list.
            c.rbacs = [self._stored(e, old) for e in body.get("rbacs") or []]
        self._agent(c)
        return 204, None

    def _op_v1SpectroClustersUidConfigRbacsUidUpdate(self, params, project):
        c = self._cluster(params["uid"], project)
        entity = params.get("body") or {}
        with self.lock:
            for i, item in enumerate(c.rbacs or []):
                if item["metadata"].get("uid") == params["rbacUid"]:
                    entity = dict(entity, metadata=dict(entity.get("metadata") or {}, uid=params["rbacUid"]))
                    c.rbacs[i] = self._stored(entity, {params["rbacUid"]: item["metadata"].get("creationTimestamp")})
                    break
            else:
                raise _Answer(404, {"code": "NotFound", "message": "rbac item not found"})
        self._agent(c)
        return 204, None

    # ----------------------------------------------------------------- the agent

    def _agent(self, c: StandInCluster):
        if c.backing is None:
            return
        t = threading.Thread(target=self._apply, args=(c,), name="palette-agent-" + c.name, daemon=True)
        self._agent_threads.append(t)
        t.start()

    def _apply(self, c: StandInCluster):
        """What Palette's agent does with a cluster's RBAC settings, as far as the tests assume: every
        binding of every item becomes a (Cluster)RoleBinding in the cluster, named by the agent
        (ASSUMPTION: palette-<hash of cluster uid, item uid, type, namespace, role>), and the agent's bindings that
        are no longer in the settings are removed. Bindings made by others are never touched.
        ASSUMPTION: the agent converges on the settings as they are when it runs (level-triggered),
        one run at a time per cluster, so that after concurrent PUTs the cluster holds the last list."""
        time.sleep(self.agent_delay)
        with self.lock:
            lock = self._agent_locks.setdefault(c.uid, threading.Lock())
        with lock:
            with self.lock:
                items = copy.deepcopy(c.rbacs or [])
            self._apply_items(c, items)

    def _apply_items(self, c: StandInCluster, items: list):
        try:
            from kubernetes.client.rest import ApiException

            rbac = c.backing.rbac()
            want = {}
            for item in items:
                iuid = item["metadata"]["uid"]
                for b in item["spec"].get("bindings") or []:
                    kind = b["type"]
                    ns = b.get("namespace") or "" if kind == "RoleBinding" else ""
                    # the cluster's uid too: clusters of other stand-ins (other tests) may be backed by the same
                    # control plane, with items of the same uid; Palette's agent runs in one cluster
                    digest = hashlib.sha1(json.dumps([c.uid, iuid, kind, ns, b["role"]["kind"], b["role"]["name"]])
                                          .encode()).hexdigest()[:12]
                    name = "palette-" + digest
                    subjects = []
                    for s in b.get("subjects") or []:
                        subj = {"kind": s["type"], "name": s["name"]}
                        if s["type"] == "ServiceAccount":
                            subj["namespace"] = s.get("namespace") or ""
                        else:
                            subj["apiGroup"] = RBAC_GROUP
                        subjects.append(subj)
                    want[(kind, ns, name)] = {
                        "apiVersion": RBAC_GROUP + "/v1", "kind": kind,
                        "metadata": dict({"name": name, "labels": {AGENT_LABEL: "true", CLUSTER_LABEL: c.uid},
                                          "annotations": {ITEM_ANNOTATION: iuid}},
                                         **({"namespace": ns} if ns else {})),
                        "roleRef": {"apiGroup": RBAC_GROUP, "kind": b["role"]["kind"], "name": b["role"]["name"]},
                        "subjects": subjects}
            sel = "%s=true,%s=%s" % (AGENT_LABEL, CLUSTER_LABEL, c.uid)
            have = {}
            for o in rbac.list_cluster_role_binding(label_selector=sel).items:
                have[("ClusterRoleBinding", "", o.metadata.name)] = o
            for o in rbac.list_role_binding_for_all_namespaces(label_selector=sel).items:
                have[("RoleBinding", o.metadata.namespace, o.metadata.name)] = o
            for key, body in sorted(want.items()):
                kind, ns, name = key
                try:
                    if key in have:
                        if kind == "ClusterRoleBinding":
                            rbac.replace_cluster_role_binding(name, body)
                        else:
                            rbac.replace_namespaced_role_binding(name, ns, body)
                    elif kind == "ClusterRoleBinding":
                        rbac.create_cluster_role_binding(body)
                    else:
                        rbac.create_namespaced_role_binding(ns, body)
                except ApiException as exc:
                    self.agent_errors.append("%s %s/%s: %s" % (kind, ns, name, exc.reason))
            for key in sorted(set(have) - set(want)):
                kind, ns, name = key
                try:
                    if kind == "ClusterRoleBinding":
                        rbac.delete_cluster_role_binding(name)
                    else:
                        rbac.delete_namespaced_role_binding(name, ns)
                except ApiException as exc:
                    if exc.status != 404:
                        self.agent_errors.append("delete %s %s/%s: %s" % (kind, ns, name, exc.reason))
            c.agent_applied += 1
        except Exception as exc:  # noqa: BLE001 - reported to the test through agent_errors
            self.agent_errors.append("agent for %s: %r" % (c.name, exc))


class _Answer(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def _short(exc) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0][:400] if text else type(exc).__name__


def _broken(answer: dict) -> dict:
    """A response that leaves the specification (for the test of the test): a string where an
    integer or an array is declared."""
    out = copy.deepcopy(answer)
    if "listmeta" in out:
        out["listmeta"]["count"] = "many"
    elif "items" in out:
        out["items"] = "not-a-list"
    elif "profiles" in out:
        out["profiles"] = {"not": "a list"}
    else:
        out["metadata"] = "not-an-object"
    return out


class _Handler(BaseHTTPRequestHandler):
    standin: PaletteStandIn = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):  # quiet: the stand-in keeps its own request log
        return

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict((k.lower(), v) for k, v in self.headers.items())
        try:
            status, content_type, raw, extra = self.standin.handle(self.command, self.path, headers, body,
                                                                   client=self.client_address[0])
        except Exception as exc:  # noqa: BLE001 - a bug of the stand-in fails the test, never hangs it
            self.standin._violation("%s %s: the stand-in failed: %r" % (self.command, self.path, exc))
            status, content_type, raw, extra = 500, "application/json", b'{"code":"StandInBug"}', {}
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if raw:
            self.wfile.write(raw)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve
