#!/usr/bin/env python3
"""The vmo.rbac local Kubernetes control plane: N independent clusters on loopback.

Each cluster ``vmo-<i>`` is a real etcd, kube-apiserver and kube-controller-manager,
built from their Go modules by ``tests/controlplane/build.sh`` and started here as
plain processes bound to 127.0.0.1 on free ports. Nothing is faked: RBAC is the
API server's own authorizer, ServiceAccount tokens are signed by the API server,
ClusterRole aggregation is done by the controller manager.

State lives under ``.controlplane/`` (ignored by git)::

    .controlplane/kubeconfig             one context per cluster, admin identity
    .controlplane/<cluster>/pki/         CA, serving cert, client certs, SA key
    .controlplane/<cluster>/audit.log    Metadata-level audit log (JSON lines)
    .controlplane/<cluster>/state.json   pids and ports of the running processes
    .controlplane/<cluster>/*.log        process logs

Usage::

    controlplane.py up [--clusters N] [--names a,b]   start (or reuse) clusters
    controlplane.py down [--names a,b]                stop them and remove state
    controlplane.py status                            print what runs
    controlplane.py restart-apiserver NAME            stop and start one API server

The module is also imported by the pytest fixtures (``tests/conftest.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import fcntl
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("VMO_CONTROLPLANE_DIR", ROOT / ".controlplane"))
BIN_DIR = Path(os.environ.get("VMO_CONTROLPLANE_BIN", ROOT / ".tools" / "bin"))
KUBECONFIG = STATE_DIR / "kubeconfig"
ADMIN_USER = "vmo-admin"
# Bounds that hold at a load of 20 to 30 on 2 cores and still catch a hang: a process that dies is
# seen at once, so these are only reached when a live API server does not answer.
READY_TIMEOUT = float(os.environ.get("VMO_CONTROLPLANE_READY_TIMEOUT", "300"))  # up(): all its clusters ready
ANSWER_TIMEOUT = 60.0  # running(): a live cluster's /readyz answers within this

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
"""


class ControlPlaneError(RuntimeError):
    """A cluster could not be built, started or reached; the message says what to do."""


# --------------------------------------------------------------------------- PKI


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_ca(pki: Path):
    cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    return cert, key


def issue_client_cert(pki: Path, user: str, groups=(), days: int = 30):
    """Return (cert_pem, key_pem) for ``user`` in ``groups``, signed by the cluster CA.

    The API server maps the certificate's CN to the user name and each O to a group,
    so tests can act as any user with any groups without impersonation.
    """
    ca_cert, ca_key = _load_ca(pki)
    key = _key()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, user)]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_encipherment=False, content_commitment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _make_pki(pki: Path, name: str) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_encipherment=False, content_commitment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(pki / "ca.key", ca_key)
    _write_cert(pki / "ca.crt", ca)

    serving_key = _key()
    serving = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName("kubernetes"),
                    x509.DNSName("kubernetes.default"),
                    x509.DNSName("kubernetes.default.svc"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(pki / "apiserver.key", serving_key)
    _write_cert(pki / "apiserver.crt", serving)

    sa_key = _key()
    _write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for base, user, groups in (
        ("admin", ADMIN_USER, ["system:masters"]),
        ("controller-manager", "system:kube-controller-manager", []),
    ):
        cert_pem, key_pem = issue_client_cert(pki, user, groups, days=365)
        (pki / f"{base}.crt").write_bytes(cert_pem)
        (pki / f"{base}.key").write_bytes(key_pem)
        (pki / f"{base}.key").chmod(0o600)


# ---------------------------------------------------------------------- clusters


PORTS_FROM = 10000  # the clusters' ports: from here to the kernel's ephemeral range


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999  # Linux's default
    return lo, hi


def _free_ports(count: int, taken=()) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now, none of ``taken`` (the ports of the clusters
    .controlplane knows, which may not listen yet); the caller holds ``locked()`` until it saved them.

    The ports are below the kernel's ephemeral range. A port bound to 0 and closed (the way they were
    chosen before) is in that range: the kernel could give it to the next bind to 0 or to an outgoing
    connection (the tests open thousands) before etcd or the API server listened on it, and one
    cluster's ports could even be the same port twice (5 clusters in 20,000)."""
    lo, _hi = _ephemeral_range()
    socks: list[socket.socket] = []
    out: list[int] = []
    try:
        if lo - PORTS_FROM < 1000:  # an unusual range: ask the kernel, holding each port until all are chosen
            while len(out) < count:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", 0))
                if s.getsockname()[1] not in taken:
                    out.append(s.getsockname()[1])
            return out
        pick = random.SystemRandom()
        for _ in range(10000):
            if len(out) == count:
                return out
            port = pick.randrange(PORTS_FROM, lo)
            if port in taken or port in out:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            out.append(port)
        raise ControlPlaneError("no %d free ports on 127.0.0.1 from %d to %d" % (count, PORTS_FROM, lo - 1))
    finally:
        for s in socks:
            s.close()


def _ports_in_use() -> set:
    """The ports of every cluster .controlplane knows (started, or being started by another process)."""
    return {v for c in known_clusters() for k, v in c.state.items() if k.endswith("_port") and isinstance(v, int)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Cluster:
    """One local cluster: its files, ports and processes."""

    name: str
    state: dict = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return STATE_DIR / self.name

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    @property
    def audit_log(self) -> Path:
        return self.dir / "audit.log"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.state['apiserver_port']}"

    @property
    def ca_file(self) -> Path:
        return self.pki / "ca.crt"

    # ------------------------------------------------------------ state file

    def load(self) -> bool:
        """Read state.json; False when there is none. Another process may remove the cluster's
        directory at any moment (``down``), so "gone while reading" is "none", never an error."""
        try:
            text = (self.dir / "state.json").read_text()
        except (FileNotFoundError, NotADirectoryError):
            return False
        self.state = json.loads(text)
        return True

    def save(self) -> None:
        write_atomically(self.dir / "state.json", json.dumps(self.state, indent=2, sort_keys=True), 0o644)

    def running(self, timeout: float | None = None) -> bool:
        """Its processes live and its API server answers /readyz. On a loaded machine (a load of 20 to 30
        on 2 cores) an answer can take many seconds: while the processes live and the API server is
        there but slow (no answer yet, or not ready), it is asked again until ``timeout`` (ANSWER_TIMEOUT).
        A dead process or nothing listening is "not running" at once. Asked once with 2 s, a slow answer
        made a running cluster "not running": the test workers stopped ("cluster vmo-1 is not running")
        and up() stopped and re-made a cluster other processes were using."""
        pids = self.state.get("pids", {})
        if not pids:
            return False
        deadline = time.monotonic() + (ANSWER_TIMEOUT if timeout is None else timeout)
        while all(_alive(p) for p in pids.values()):
            answer = self._readyz(max(2.0, min(30.0, deadline - time.monotonic())))
            if answer in ("ready", "absent") or time.monotonic() >= deadline:
                return answer == "ready"
            time.sleep(0.5)
        return False

    # ------------------------------------------------------------ readiness

    def ssl_context(self, user: str = "admin") -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(str(self.pki / f"{user}.crt"), str(self.pki / f"{user}.key"))
        return ctx

    def ready(self, timeout: float = 2.0) -> bool:
        return self._readyz(timeout) == "ready"

    def _readyz(self, timeout: float) -> str:
        """"ready"; "absent": nothing listens on its port (or its files are gone); "slow": no answer
        within ``timeout``, or an answer other than ready."""
        try:
            context, url = self.ssl_context(), f"{self.server}/readyz"
        except (OSError, ValueError, KeyError):
            return "absent"
        try:
            with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
                return "ready" if resp.status == 200 else "slow"
        except ConnectionRefusedError:
            return "absent"
        except urllib.error.URLError as exc:
            return "absent" if isinstance(exc.reason, ConnectionRefusedError) else "slow"
        except (OSError, ValueError):
            return "slow"

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.ready():
                return
            for proc, pid in self.state.get("pids", {}).items():
                if not _alive(pid):
                    raise ControlPlaneError(
                        f"{self.name}: {proc} exited during start-up; see {self.dir / (proc + '.log')}:\n"
                        + _tail(self.dir / f"{proc}.log")
                    )
            time.sleep(0.1)
        raise ControlPlaneError(
            f"{self.name}: kube-apiserver did not answer /readyz within {READY_TIMEOUT:.0f}s; "
            f"see {self.dir / 'kube-apiserver.log'}:\n" + _tail(self.dir / "kube-apiserver.log")
        )

    # ------------------------------------------------------------ processes

    def _spawn(self, proc: str, args: list[str], owned: bool) -> int:
        binary = BIN_DIR / args[0]
        if not binary.exists():
            raise ControlPlaneError(
                f"{binary} is missing. Build the control plane first: `make controlplane` "
                "(needs the Go toolchain; see README 'Local control plane')."
            )
        log = open(self.dir / f"{proc}.log", "ab")  # noqa: SIM115 - handed to the child
        p = subprocess.Popen(  # noqa: S603 - fixed binaries from BIN_DIR
            [str(binary), *args[1:]],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.dir,
            start_new_session=True,
            preexec_fn=_die_with_parent if owned else None,
        )
        log.close()
        self.state.setdefault("pids", {})[proc] = p.pid
        self.save()
        return p.pid

    def prepare(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        (self.dir / "etcd").mkdir(parents=True)
        _make_pki(self.pki, self.name)
        (self.dir / "audit-policy.yaml").write_text(AUDIT_POLICY)
        with locked():  # another process choosing ports at the same time sees these once saved
            etcd_client, etcd_peer, apiserver, kcm = _free_ports(4, _ports_in_use())
            self.state = {
                "name": self.name,
                "etcd_client_port": etcd_client,
                "etcd_peer_port": etcd_peer,
                "apiserver_port": apiserver,
                "controller_manager_port": kcm,
                "pids": {},
            }
            self._write_component_kubeconfig("controller-manager")
            self.save()

    def _write_component_kubeconfig(self, user: str) -> None:
        (self.dir / f"{user}.kubeconfig").write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": self.name, "cluster": {
                        "server": self.server, "certificate-authority": str(self.ca_file)}}],
                    "users": [{"name": user, "user": {
                        "client-certificate": str(self.pki / f"{user}.crt"),
                        "client-key": str(self.pki / f"{user}.key")}}],
                    "contexts": [{"name": self.name, "context": {"cluster": self.name, "user": user}}],
                    "current-context": self.name,
                },
                indent=2,
            )
        )

    def start_etcd(self, owned: bool) -> None:
        client = f"http://127.0.0.1:{self.state['etcd_client_port']}"
        peer = f"http://127.0.0.1:{self.state['etcd_peer_port']}"
        self._spawn(
            "etcd",
            [
                "etcd",
                f"--name={self.name}",
                f"--data-dir={self.dir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster={self.name}={peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            owned,
        )

    def start_apiserver(self, owned: bool) -> None:
        pki = self.pki
        self._spawn(
            "kube-apiserver",
            [
                "kube-apiserver",
                f"--etcd-servers=http://127.0.0.1:{self.state['etcd_client_port']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",  # loopback is not a valid endpoint IP
                f"--secure-port={self.state['apiserver_port']}",
                f"--cert-dir={self.dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=Node,RBAC",
                f"--service-account-issuer=https://{self.name}.vmo-rbac.invalid",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                f"--audit-policy-file={self.dir / 'audit-policy.yaml'}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
                "--audit-log-maxsize=0",
                "--profiling=false",
                "--v=1",
            ],
            owned,
        )

    def start_controller_manager(self, owned: bool) -> None:
        kubeconfig = self.dir / "controller-manager.kubeconfig"
        self._spawn(
            "kube-controller-manager",
            [
                "kube-controller-manager",
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.state['controller_manager_port']}",
                f"--cert-dir={self.dir / 'kcm-certs'}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",  # per-controller identities, as in real clusters
                "--controllers=clusterrole-aggregation-controller,namespace-controller,"
                "serviceaccount-controller,garbage-collector-controller",
                f"--root-ca-file={self.ca_file}",
                f"--service-account-private-key-file={self.pki / 'sa.key'}",
                "--concurrent-namespace-syncs=5",
                "--v=1",
            ],
            owned,
        )

    def stop(self, proc_names=None) -> None:
        pids = self.state.get("pids", {})
        names = [n for n in ("kube-controller-manager", "kube-apiserver", "etcd") if n in pids]
        if proc_names is not None:
            names = [n for n in names if n in proc_names]
        for n in names:
            _terminate(pids[n])
            del pids[n]
        if self.dir.exists():
            self.save()


def _terminate(pid: int, grace: float = 5.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ------------------------------------------------------------------ kubeconfig


def write_kubeconfig(clusters: list[Cluster]) -> Path:
    """Write one kubeconfig with one context per cluster (admin identity, CA verified)."""
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
        "current-context": clusters[0].name if clusters else "",
    }
    for c in sorted(clusters, key=lambda c: _sort_key(c.name)):
        cfg["clusters"].append({"name": c.name, "cluster": {
            "server": c.server, "certificate-authority": str(c.ca_file)}})
        cfg["users"].append({"name": f"{c.name}-admin", "user": {
            "client-certificate": str(c.pki / "admin.crt"), "client-key": str(c.pki / "admin.key")}})
        cfg["contexts"].append({"name": c.name, "context": {"cluster": c.name, "user": f"{c.name}-admin"}})
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    write_atomically(KUBECONFIG, json.dumps(cfg, indent=2))
    return KUBECONFIG


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so a concurrent reader sees the old file or the new one,
    never a truncated one (tests start and stop private clusters while others run kubectl with
    this kubeconfig: a plain rewrite once made kubectl say 'context "vmo-1" does not exist')."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sort_key(name: str):
    head, _, tail = name.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (name, 0)


def known_clusters() -> list[Cluster]:
    out = []
    if STATE_DIR.exists():
        for d in sorted(STATE_DIR.iterdir(), key=lambda p: _sort_key(p.name)):
            c = Cluster(d.name)
            if d.is_dir() and c.load():  # a directory another process removes meanwhile is skipped
                out.append(c)
    return out


@contextlib.contextmanager
def locked():
    """The control plane's lock, held across processes (xdist workers, molecule, compat-e2e and
    ``make cluster-up`` all start and stop clusters under one .controlplane): around every
    read-modify-write of what the clusters share (the kubeconfig, the choice of ports)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / ".lock", "a", encoding="ascii") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def refresh_kubeconfig() -> None:
    """Rewrite the shared kubeconfig from the clusters there are now. Under the lock: two processes
    that each read the clusters and then wrote (one starting a private cluster, one stopping
    another) could write last what they read first, and a running cluster's context went missing."""
    with locked():
        rest = known_clusters()
        if rest:
            write_kubeconfig(rest)
        else:
            with contextlib.suppress(FileNotFoundError):
                KUBECONFIG.unlink()


# -------------------------------------------------------------------- commands


def up(names: list[str], owned: bool = False) -> tuple[list[Cluster], list[Cluster]]:
    """Start the named clusters, reusing those already running.

    Returns (all clusters, the ones this call started). With ``owned`` the
    processes die with the calling process (pytest uses this so that a crashed
    test run leaves no orphans).
    """
    clusters, started = [], []
    for name in names:
        c = Cluster(name)
        if c.load() and c.running():
            clusters.append(c)
            continue
        if c.state:
            c.stop()
        c.prepare()
        c.start_etcd(owned)
        clusters.append(c)
        started.append(c)
    # etcd is ready almost at once; the API servers start in parallel.
    for c in started:
        _wait_port(c, c.state["etcd_client_port"], "etcd")
        c.start_apiserver(owned)
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        for c in started:
            c.wait_ready(deadline)
            c.start_controller_manager(owned)
    except ControlPlaneError:
        for c in started:
            c.stop()
        raise
    refresh_kubeconfig()
    return clusters, started


def _wait_port(c: Cluster, port: int, proc: str, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(socket.socket()) as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if not _alive(c.state["pids"][proc]):
            break
        time.sleep(0.05)
    raise ControlPlaneError(f"{c.name}: {proc} did not listen on {port}:\n" + _tail(c.dir / f"{proc}.log"))


def down(names: list[str] | None = None) -> list[str]:
    stopped = []
    for c in known_clusters():
        if names and c.name not in names:
            continue
        c.stop()
        shutil.rmtree(c.dir, ignore_errors=True)
        stopped.append(c.name)
    refresh_kubeconfig()
    return stopped


def restart_apiserver(name: str, owned: bool = False) -> Cluster:
    """Stop and start one cluster's kube-apiserver; ``owned``: the new process dies with the
    caller (as ``up(owned=True)`` does for a test's private cluster)."""
    c = Cluster(name)
    if not c.load():
        raise ControlPlaneError(f"no cluster named {name}")
    c.stop(["kube-apiserver"])
    c.start_apiserver(owned=owned)
    c.wait_ready(time.monotonic() + READY_TIMEOUT)
    return c


def cluster_names(count: int, prefix: str = "vmo") -> list[str]:
    return [f"{prefix}-{i}" for i in range(1, count + 1)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="start (or reuse) clusters")
    p_up.add_argument("--clusters", type=int, default=int(os.environ.get("CLUSTERS", "3")))
    p_up.add_argument("--names", help="comma-separated cluster names (overrides --clusters)")
    p_down = sub.add_parser("down", help="stop clusters and remove their state")
    p_down.add_argument("--names", help="comma-separated cluster names (default: all)")
    sub.add_parser("status", help="list clusters")
    p_rs = sub.add_parser("restart-apiserver", help="stop and start one cluster's API server")
    p_rs.add_argument("name")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "up":
            names = args.names.split(",") if args.names else cluster_names(args.clusters)
            t0 = time.monotonic()
            clusters, started = up(names)
            for c in clusters:
                how = "started" if c in started else "reused"
                print(f"{c.name}: {how}, {c.server} (audit log {c.audit_log})")
            print(f"kubeconfig: {KUBECONFIG} ({len(clusters)} ready in {time.monotonic() - t0:.1f}s)")
        elif args.cmd == "down":
            stopped = down(args.names.split(",") if args.names else None)
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        elif args.cmd == "status":
            for c in known_clusters():
                print(f"{c.name}: {'running' if c.running() else 'stopped'} {c.server}")
        elif args.cmd == "restart-apiserver":
            c = restart_apiserver(args.name)
            print(f"{c.name}: kube-apiserver restarted at {c.server}")
    except ControlPlaneError as exc:
        print(f"controlplane: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
