"""Event-Driven Ansible for real: the collection's rulebook run by ansible-rulebook against local
clusters, and the measurements of docs/eda.md.

Used by tests/integration/test_eda.py (few trials, with assertions) and tests/bench/bench_eda.py
(20 trials, figures into reports/bench/eda.json): one code path for both. The rulebook runs as a
user runs it (``ANSIBLE_INVENTORY=<inventory> ansible-rulebook --rulebook vmo.rbac.reconcile``),
with the collection found through ANSIBLE_COLLECTIONS_PATH; its enforce runs are ansible-playbook
runs that ansible-rulebook starts through ansible-runner. Nothing here fakes the API: outcomes
come from SubjectAccessReviews, the bindings, the audit log and the rulebook's output.
"""

from __future__ import annotations

import functools
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from tests.controlplane import controlplane as cp
from tests.helpers import kube
from tests.helpers.ansible import BIN, VERBOSITY, ansible_env

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
AUTOMATION_ROLE = ROOT / "files" / "automation-clusterrole.yaml"
WATCHER_ROLE = ROOT / "files" / "eda-watcher-clusterrole.yaml"
RBAC_GROUP = "rbac.authorization.k8s.io"
MIN_INTERVAL = 3.0  # the source's default min_interval (plugins/plugin_utils/eda_config.py)
# Seconds, bounds that hold at a load of 20 to 30 on 2 cores and still catch a hang. START_TIMEOUT: from
# starting ansible-rulebook (a JVM) to its source watching; `ansible-rulebook --version` alone took more
# than 120 s at load 27 (java_problem allows 600 s). IDLE_TIMEOUT: until the reconcile runs of the events
# so far have finished (each an ansible-playbook run, about 3 s quiet, 20 s at load 17).
START_TIMEOUT = 600.0
IDLE_TIMEOUT = 300.0
EVENT_LINE = re.compile(r"^(\S+ \S+) - vmo\.rbac\.cluster_changes - INFO - cluster (\S+): reconcile #(\d+): (.*)$",
                        re.M)
RECAP = re.compile(r"^PLAY RECAP \*+\n((?:\S+\s+: ok=.*\n)+)", re.M)
CLK_TCK = os.sysconf("SC_CLK_TCK")


@functools.cache
def java_problem() -> str | None:
    """Why ansible-rulebook cannot run here, or None (it needs a Java 17+ runtime). Asked once per test
    process: `ansible-rulebook --version` starts a JVM, which took over 120 s on this 2-core machine at a
    load average of 27."""
    rulebook = BIN / "ansible-rulebook"
    if not rulebook.exists():
        return "%s is missing: run `make venv` (tests/requirements.txt lists ansible-rulebook)" % rulebook
    out = subprocess.run([str(rulebook), "--version"], capture_output=True, text=True, check=False, timeout=600,
                         env=ansible_env())
    m = re.search(r"Java version = (\d+)", out.stdout)
    if not m or int(m.group(1)) < 17:
        return ("ansible-rulebook finds no Java 17+ runtime (%s): run `make java`, which installs Debian's "
                "openjdk-17-jre-headless, or set JAVA_HOME" % (m.group(0) if m else "no Java found"))
    return None


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, all its threads (the JVM's included), not its children."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def time_until(predicate, timeout: float, interval: float = 0.05):
    """Seconds until predicate() is true (polled), or None after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(interval)
    return None


def summary(values):
    """{n, median, max, min} of latencies in seconds, rounded."""
    return {"n": len(values), "median": round(statistics.median(values), 2), "max": round(max(values), 2),
            "min": round(min(values), 2), "all": [round(v, 2) for v in values]}


# ---------------------------------------------------------------------------- the rulebook


class Rulebook:
    """ansible-rulebook running a rulebook until stop(); its output in ``workdir/rulebook.log``."""

    def __init__(self, workdir: Path, inventory: Path, rulebook: str = "vmo.rbac.reconcile",
                 variables: dict | None = None, env: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir / "rulebook.log"
        self.inventory = inventory
        self.rulebook = rulebook
        self.variables = variables
        self.env = env or {}
        self.proc = None

    def start(self):
        # -v: the source's INFO lines; -vv (VMO_TEST_VERBOSITY 2 or more): DEBUG, every event and retry
        cmd = [str(BIN / "ansible-rulebook"), "--rulebook", self.rulebook, "-vv" if VERBOSITY >= 2 else "-v"]
        if self.variables:
            path = self.workdir / "vars.yml"
            path.write_text(yaml.safe_dump(self.variables))
            cmd += ["--vars", str(path)]
        # Unbuffered, so that each line's arrival time (kept for the breakdown of a run) is when it was said.
        env = ansible_env({"ANSIBLE_INVENTORY": str(self.inventory), "PYTHONUNBUFFERED": "1", **self.env})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=str(self.workdir), start_new_session=True)
        self._lines = []  # (wall time of arrival, line)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        with open(self.log, "wb") as out:
            for raw in self.proc.stdout:
                self._lines.append((time.time(), raw.decode("utf-8", "replace")))
                out.write(raw)
                out.flush()

    def output(self) -> str:
        """Everything ansible-rulebook said so far (the playbook output comes through a pty: no CRs)."""
        return "".join(line for _t, line in list(getattr(self, "_lines", []))).replace("\r", "")

    def line_times(self, prefix: str):
        """Wall times at which lines starting with ``prefix`` arrived."""
        return [t for t, line in list(self._lines) if line.lstrip("\r").startswith(prefix)]

    def events(self, with_time=False):
        """[(cluster, seq, reason)] the source emitted so far (with_time: (wall time, cluster, seq, reason))."""
        out = []
        for m in EVENT_LINE.finditer(self.output()):
            event = (m.group(2), int(m.group(3)), m.group(4))
            if with_time:  # logging's local time, milliseconds after a comma
                event = (datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp(),) + event
            out.append(event)
        return out

    def recaps(self):
        """[[host, ...] of each finished playbook run], in order."""
        return [[line.split()[0] for line in m.group(1).splitlines()] for m in RECAP.finditer(self.output())]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_for(self, predicate, timeout: float, what: str, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if not self.alive():
                raise AssertionError("ansible-rulebook exited (rc=%s) while waiting for %s:\n%s"
                                     % (self.proc.returncode, what, self.output()[-6000:]))
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %.0fs waiting for %s; ansible-rulebook said:\n%s"
                                     % (timeout, what, self.output()[-6000:]))
            time.sleep(interval)

    def wait_idle(self, timeout: float = IDLE_TIMEOUT):
        """Until the playbook run of every event emitted so far has finished."""
        self.wait_for(lambda: len(self.recaps()) >= len(self.events()), timeout, "the reconcile runs to finish")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid)

    def stop(self):
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._reader.join(timeout=10)


# ------------------------------------------------------------------------------- the fleet


def kubectl(identity, *args, stdin=None):
    proc = subprocess.run([str(KUBECTL), "--kubeconfig", str(identity.kubeconfig), *args], input=stdin,
                          capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("kubectl %s: %s" % (" ".join(args), proc.stderr))
    return proc.stdout


def bind(cluster, name, role, group):
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": name}, "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}]})


@dataclass
class Fleet:
    """Two clusters, ``east`` and ``west`` in one inventory, and who does what on them."""

    uid: str
    owner: str
    viewer: str
    inventory: Path
    clusters: dict  # inventory name -> TestCluster
    names: dict     # inventory name -> control-plane cluster name
    bots: dict      # inventory name -> Identity bound to vmo-rbac-automation (enforce runs and the source)
    admins: dict    # inventory name -> cluster-admin Identity (kubectl, as a person would)

    def can_view(self, where, namespace):
        return self.clusters[where].can(self.viewer, "list", "virtualmachines", "kubevirt.io", namespace=namespace)

    def enforce_runs(self, window, where):
        """Enforce runs on a cluster since the window opened: each lists this owner's RoleBindings once."""
        return [e for e in window.events(user=self.bots[where].user)
                if is_module(e) and e["verb"] == "list"
                and (e.get("objectRef") or {}).get("resource") == "rolebindings" and "labelSelector" in e["requestURI"]]

    def watching(self, window, where, user=None):
        """The resources a user (the bot) started watches on since the window opened."""
        return {(e.get("objectRef") or {}).get("resource")
                for e in window.events(user=user or self.bots[where].user, settle=0, stage="ResponseStarted")
                if e["verb"] == "watch" and e["responseStatus"]["code"] == 200}


def start_fleet(names, workdir: Path, owned: bool = True) -> Fleet:
    """Start (or reuse) two clusters and write the inventory: a viewer grant on /^web-app-/ and a
    cluster-wide user grant, enforced by an identity bound to the shipped automation ClusterRole."""
    running, _started = cp.up(list(names), owned=owned)
    uid = uuid.uuid4().hex[:6]
    owner, viewer = "eda-" + uid, "viewer-" + uid
    clusters, bots, admins, cnames, hosts = {}, {}, {}, {}, {}
    for where, c in zip(("east", "west"), running):
        h = kube.TestCluster.from_controlplane(c, workdir)
        for manifest in (kube.KUBEVIRT_CRDS, kube.REFERENCE_ROLES, AUTOMATION_ROLE, WATCHER_ROLE):
            h.apply_manifest(manifest)
        h.install_kubevirt()
        bots[where] = h.identity("eda-bot-" + uid, groups=["automation-" + uid])
        bind(h, "automation-" + uid, "vmo-rbac-automation", "automation-" + uid)
        admins[where] = h.identity("eda-admin-" + uid)
        clusters[where], cnames[where] = h, c.name
        hosts[where] = {"vmo_rbac_" + k: v for k, v in bots[where].params.items()}
    inventory = Path(workdir) / ("eda-inventory-" + uid)
    inventory.mkdir(parents=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "vmo_rbac_owner": owner,
                 "vmo_rbac_bindings": [
                     {"persona": "viewer", "users": [viewer], "namespace_regex": "/^web-app-/"},
                     {"persona": "user", "groups": ["eda-users-" + uid]}]},
        "hosts": hosts}}}}))
    return Fleet(uid, owner, viewer, inventory, clusters, cnames, bots, admins)


def start_reconciler(fleet: Fleet, workdir: Path) -> Rulebook:
    """The shipped rulebook, started as docs/eda.md says; returns once each cluster's start-up
    reconcile ran (its cluster-wide grant exists)."""
    rb = Rulebook(Path(workdir) / ("rulebook-" + fleet.uid), fleet.inventory).start()
    try:
        rb.wait_for(lambda: {c for c, _s, r in rb.events() if "watch started" in r} == {"east", "west"},
                    START_TIMEOUT, "the source to watch both clusters")
        rb.wait_idle()
        for where, c in fleet.clusters.items():
            if not [k for k in c.bindings(fleet.owner) if k[0] == "ClusterRoleBinding"]:
                raise AssertionError("the start-up run granted nothing on %s:\n%s" % (where, rb.output()[-5000:]))
    except BaseException:
        rb.stop()
        raise
    return rb


# --------------------------------------------------------------------------- measurements


def measure_new_namespaces(fleet: Fleet, rb: Rulebook, trials: int, timeout: float = 60.0) -> dict:
    """`kubectl create namespace web-app-N` on east -> seconds until a SubjectAccessReview says the
    declared viewer may list VMs there (from just before kubectl starts). One trial at a time."""
    west_audit = fleet.clusters["west"].audit()
    east_audit = fleet.clusters["east"].audit()
    recaps_before = len(rb.recaps())
    latencies, trials_at = [], []
    for i in range(trials):
        ns = "web-app-%d-%s" % (i, fleet.uid)
        t0, wall0 = time.monotonic(), time.time()
        kubectl(fleet.admins["east"], "create", "namespace", ns)
        if time_until(lambda ns=ns: fleet.can_view("east", ns), timeout) is None:
            raise AssertionError("no access in %s after %ss:\n%s" % (ns, timeout, rb.output()[-5000:]))
        latencies.append(time.monotonic() - t0)
        trials_at.append((ns, wall0, wall0 + latencies[-1]))
        rb.wait_idle()
    return {"latency": summary(latencies), "load_average": os.getloadavg(),
            "where_the_time_goes": breakdown(fleet, rb, east_audit, trials_at),
            "recaps": rb.recaps()[recaps_before:], "runs_on_west": len(fleet.enforce_runs(west_audit, "west"))}


def breakdown(fleet: Fleet, rb: Rulebook, audit, trials_at) -> dict:
    """Median seconds of each stage from `kubectl create namespace` to access, from the API server's
    audit timestamps, the source's log line and the arrival of the play's first output line:
    kubectl until the API server has the namespace; watch and coalescing until the event;
    ansible-rulebook (rule, ansible-runner) and ansible-playbook's start-up until the play starts;
    the role (argument validation) and the module's start-up until its first request; the module
    until the RoleBinding is created; then until a SubjectAccessReview allows (the authorizer's
    cache, and the 50 ms polling)."""
    events = audit.events()
    emitted = rb.events(with_time=True)
    bot = fleet.bots["east"].user
    plays = rb.line_times("PLAY [")
    stages = {"kubectl": [], "watch_and_coalescing": [], "rulebook_runner_to_play_start": [],
              "play_start_to_module_request": [], "module_to_binding_written": [], "binding_to_access_allowed": []}
    for ns, started, allowed in trials_at:
        created = [audit_time(e) for e in events if e["verb"] == "create"
                   and (e.get("objectRef") or {}).get("resource") == "namespaces"
                   and (e.get("objectRef") or {}).get("name") == ns]
        event_at = [t for t, _c, _s, reason in emitted if ns in reason]
        written = [audit_time(e) for e in events if e["verb"] == "create" and (e.get("user") or {}).get("username") == bot
                   and (e.get("objectRef") or {}).get("namespace") == ns]
        if not (created and event_at and written):
            continue
        first = [audit_time(e) for e in events if (e.get("user") or {}).get("username") == bot
                 and is_module(e) and event_at[0] <= audit_time(e) <= written[0]]
        play = [t for t in plays if t >= event_at[0]]
        if not first or not play:
            continue
        stages["kubectl"].append(created[0] - started)
        stages["watch_and_coalescing"].append(event_at[0] - created[0])
        stages["rulebook_runner_to_play_start"].append(play[0] - event_at[0])
        stages["play_start_to_module_request"].append(min(first) - play[0])
        stages["module_to_binding_written"].append(written[0] - min(first))
        stages["binding_to_access_allowed"].append(allowed - written[0])
    return {k: round(statistics.median(v), 3) if v else None for k, v in stages.items()}


def is_module(event) -> bool:
    """A request of a vmo.rbac module (User-Agent ``vmo.rbac/<version> (<module>)``), not of the source."""
    agent = event.get("userAgent") or ""
    return agent.startswith("vmo.rbac/") and "(eda)" not in agent


def audit_time(event) -> float:
    return kube.audit_ts(event["stageTimestamp"])


def measure_direct_playbook(fleet: Fleet, reps: int) -> dict:
    """The same reconcile run without ansible-rulebook: `ansible-playbook vmo.rbac.enforce --limit
    east -e vmo_rbac_mode=reconcile` (nothing to change), and a playbook with one no-op task, in
    turn: wall and CPU seconds (the playbook process and its children), medians."""
    def timed(args):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        proc = subprocess.run([str(BIN / "ansible-playbook"), *args], capture_output=True, text=True, check=False,
                              env=ansible_env(), timeout=600)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise AssertionError("ansible-playbook %s: %s" % (" ".join(args), proc.stdout[-3000:]))
        return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    noop = Path(fleet.inventory).parent / "noop.yml"
    noop.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False,
                                     "tasks": [{"ansible.builtin.meta": "noop"}]}]))
    runs = {"reconcile_playbook": [], "noop_playbook": []}
    for _ in range(reps):
        runs["reconcile_playbook"].append(timed(["-i", str(fleet.inventory), "vmo.rbac.enforce", "--limit", "east",
                                                 "-e", "vmo_rbac_mode=reconcile"]))
        runs["noop_playbook"].append(timed(["-i", "localhost,", "-c", "local", str(noop)]))
    return {name: {"wall": round(statistics.median(w for w, _c in v), 2),
                   "cpu": round(statistics.median(c for _w, c in v), 2)} for name, v in runs.items()} | {
        "reps": reps, "load_average": os.getloadavg()}


def measure_restores(fleet: Fleet, rb: Rulebook, trials: int, timeout: float = 60.0) -> dict:
    """`kubectl delete rolebinding` of an owned binding -> seconds until it exists again (a new
    object) and the viewer may list VMs again."""
    ns = "web-app-restore-" + fleet.uid
    kubectl(fleet.admins["east"], "create", "namespace", ns)
    if time_until(lambda: fleet.can_view("east", ns), timeout) is None:
        raise AssertionError("no access in %s:\n%s" % (ns, rb.output()[-5000:]))
    rb.wait_idle()
    rbac = fleet.clusters["east"].rbac()

    def current():
        items = rbac.list_namespaced_role_binding(ns, label_selector="vmo.rbac/owner=" + fleet.owner).items
        return items[0] if items else None

    events_before = len(rb.events())
    latencies = []
    for _ in range(trials):
        old = current()
        t0 = time.monotonic()
        kubectl(fleet.admins["east"], "delete", "rolebinding", old.metadata.name, "--namespace", ns)

        def restored(old=old):
            now = current()
            return now is not None and now.metadata.uid != old.metadata.uid and fleet.can_view("east", ns)

        if time_until(restored, timeout) is None:
            raise AssertionError("not restored after %ss:\n%s" % (timeout, rb.output()[-5000:]))
        latencies.append(time.monotonic() - t0)
        rb.wait_idle()
    return {"namespace": ns, "latency": summary(latencies), "load_average": os.getloadavg(),
            "reasons": [r for _c, _s, r in rb.events()[events_before:]]}


def measure_burst(fleet: Fleet, rb: Rulebook, count: int = 50, timeout: float = 120.0) -> dict:
    """``count`` namespaces created by one `kubectl create -f`: enforce runs and time to access for all."""
    rb.wait_idle()
    audit = fleet.clusters["east"].audit()
    events_before = len(rb.events())
    names = ["web-app-burst-%02d-%s" % (i, fleet.uid) for i in range(count)]
    manifest = {"apiVersion": "v1", "kind": "List",
                "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]}
    t0 = time.monotonic()
    kubectl(fleet.admins["east"], "create", "-f", "-", stdin=json.dumps(manifest))
    created = time.monotonic() - t0
    pending = set(names)
    while pending and time.monotonic() - t0 < timeout:
        pending = {n for n in pending if not fleet.can_view("east", n)}
        time.sleep(0.1)
    all_access = time.monotonic() - t0
    if pending:
        raise AssertionError("no access after %ss in %d namespaces:\n%s" % (timeout, len(pending), rb.output()[-5000:]))
    rb.wait_idle()
    time.sleep(MIN_INTERVAL + 1)  # a late follow-up event would show up by now
    rb.wait_idle()
    events = rb.events()[events_before:]
    return {"namespaces": count, "created_seconds": round(created, 2), "all_access_seconds": round(all_access, 2),
            "enforce_runs": len(fleet.enforce_runs(audit, "east")), "events": [r for _c, _s, r in events],
            "load_average": os.getloadavg()}


def measure_restart(fleet: Fleet, rb: Rulebook, idle_seconds: float = 10.0, outage_seconds: float = 8.0,
                    timeout: float = 60.0) -> dict:
    """Idle CPU of the ansible-rulebook process, then west's API server stopped for
    ``outage_seconds`` and started again: CPU during the outage, when the watches resumed, how many
    LISTs the source made, and the time to access for a namespace created after the restart."""
    rb.wait_idle()
    time.sleep(1)
    cpu0, t0 = rb.cpu_seconds(), time.monotonic()
    time.sleep(idle_seconds)
    idle = (rb.cpu_seconds() - cpu0) / (time.monotonic() - t0)

    c = cp.Cluster(fleet.names["west"])
    if not c.load():
        raise AssertionError("no cluster %s" % fleet.names["west"])
    audit = fleet.clusters["west"].audit()
    cpu0, t0 = rb.cpu_seconds(), time.monotonic()
    c.stop(["kube-apiserver"])
    time.sleep(outage_seconds)
    c.start_apiserver(owned=True)
    c.wait_ready(time.monotonic() + cp.READY_TIMEOUT)
    outage = (rb.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    resumed = time_until(lambda: fleet.watching(audit, "west") >= {"namespaces", "clusterrolebindings",
                                                                    "rolebindings"}, timeout, interval=0.2)
    if resumed is None:
        raise AssertionError("the source did not watch west again:\n%s" % rb.output()[-5000:])
    ns = "web-app-after-restart-" + fleet.uid
    t0 = time.monotonic()
    kubectl(fleet.admins["west"], "create", "namespace", ns)
    if time_until(lambda: fleet.can_view("west", ns), timeout) is None:
        raise AssertionError("no access after the restart:\n%s" % rb.output()[-5000:])
    after_restart = time.monotonic() - t0
    rb.wait_idle()
    lists = [e for e in audit.events(user=fleet.bots["west"].user)
             if "(eda)" in (e.get("userAgent") or "") and e["verb"] == "list" and e["responseStatus"]["code"] == 200]
    return {"idle_cpu_fraction": round(idle, 4), "outage_cpu_fraction": round(outage, 4),
            "outage_seconds": outage_seconds, "watches_resumed_after_ready_seconds": round(resumed, 2),
            "source_lists_after_restart": len(lists), "access_after_restart_seconds": round(after_restart, 2),
            "load_average": os.getloadavg()}
