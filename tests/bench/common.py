"""Shared pieces of the benchmarks (`make bench`): dedicated clusters, timing, audit counts.

Benchmarks run on clusters of their own (``bench-*``), so that nothing else sends requests
while they measure, and count requests from the API server's audit log by user agent.
Every comparison is made side by side in one run; figures are medians of repetitions.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build" / "collections"))
sys.path.insert(0, str(ROOT))

from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers.ansible import run_playbook  # noqa: E402
from tests.helpers.kube import KUBEVIRT_CRDS, REFERENCE_ROLES, AuditWindow, TestCluster  # noqa: E402

RESULTS = ROOT / "reports" / "bench"
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
RBAC = "rbac.authorization.k8s.io"


def bench_clusters(count: int, prefix: str = "bench"):
    """Start (or reuse) ``count`` dedicated clusters with the KubeVirt-like types and VMO roles."""
    names = ["%s-%d" % (prefix, i) for i in range(1, count + 1)]
    running, started = cp.up(names)
    workdir = RESULTS / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    handles = [TestCluster.from_controlplane(c, workdir) for c in running]
    for h in handles:
        for manifest in (KUBEVIRT_CRDS, REFERENCE_ROLES):
            h.apply_manifest(manifest)
        h.install_kubevirt()
    return handles, started


def random_subjects(rnd, users, groups, sas):
    """One to three binding subjects drawn with ``rnd``: a User (60 %), a Group (25 %) or a ServiceAccount
    (15 %; ``sas``: (namespace, name) pairs). The draws are part of each layout's seed: change them and every
    layout changes (and a kept cluster no longer holds it)."""
    out = []
    for _ in range(rnd.randint(1, 3)):
        x = rnd.random()
        if x < 0.6:
            out.append({"kind": "User", "name": rnd.choice(users), "apiGroup": RBAC})
        elif x < 0.85:
            out.append({"kind": "Group", "name": rnd.choice(groups), "apiGroup": RBAC})
        else:
            sns, name = rnd.choice(sas)
            out.append({"kind": "ServiceAccount", "name": name, "namespace": sns})
    return out


def create_rbac(cluster, namespaces, cluster_roles, roles, crbs, rbs, workers=16):
    """The namespaces, then every ClusterRole, Role, ClusterRoleBinding and RoleBinding, ``workers`` at a
    time; what exists already (409) is kept. The last RoleBinding is made last: when it exists, the whole
    layout does (a kept cluster, see ``holds_layout``)."""
    from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel
    rbac, core = cluster.rbac(), cluster.core()

    def make(item):
        kind, obj = item
        try:
            if kind == "ns":
                core.create_namespace({"metadata": {"name": obj}})
            elif kind == "cr":
                rbac.create_cluster_role(obj)
            elif kind == "r":
                rbac.create_namespaced_role(obj["metadata"]["namespace"], obj)
            elif kind == "crb":
                rbac.create_cluster_role_binding(obj)
            else:
                rbac.create_namespaced_role_binding(obj["metadata"]["namespace"], obj)
        except ApiException as exc:
            if exc.status != 409:
                raise

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(make, [("ns", n) for n in namespaces]))
        items = [("cr", o) for o in cluster_roles] + [("r", o) for o in roles] + [("crb", o) for o in crbs] + \
            [("rb", o) for o in rbs[:-1]]
        list(pool.map(make, items))
    if rbs:
        make(("rb", rbs[-1]))


def holds_layout(cluster, rbs):
    """True when the cluster holds the last RoleBinding of ``rbs`` (create_rbac makes it last)."""
    from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel
    last = rbs[-1]["metadata"]
    try:
        cluster.rbac().read_namespaced_role_binding(last["name"], last["namespace"])
        return True
    except ApiException as exc:
        if exc.status != 404:
            raise
        return False


def stop(started):
    if started:
        cp.down([c.name for c in started])


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def median(values):
    return statistics.median(values) if values else float("nan")


def count_requests(window: AuditWindow, user_agent: str):
    """(reads, writes) the API server logged for a user agent prefix since the window opened."""
    events = window.events(user_agent=user_agent)
    writes = sum(1 for e in events if AuditWindow.is_write(e))
    return len(events) - writes, writes


def module_play(module: str, args: dict):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "bench", module: args}]}]


def run_module_timed(module: str, args: dict):
    """Wall time of one ansible-playbook run of one module task, and its result."""
    seconds, run = timed(run_playbook, module_play(module, args))
    if run.rc != 0 or not run.results:
        raise RuntimeError("benchmark task failed (rc=%s): %s" % (run.rc, (run.stdout + run.stderr)[-2000:]))
    return seconds, run.results[-1]["result"]


def baseline_playbook_seconds(reps: int = 3):
    """ansible-playbook start-up cost: a play with one no-op task."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "noop", "ansible.builtin.meta": "noop"}]}]
    return median([timed(run_playbook, play)[0] for _ in range(reps)])


def kubectl(cluster: TestCluster, *args, check=True):
    kubeconfig = ROOT / ".controlplane" / "kubeconfig"
    proc = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), "--context", cluster.name, *args],
                          capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("kubectl %s failed: %s" % (" ".join(args), proc.stderr))
    return proc


def save(name: str, data: dict):
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / (name + ".json")
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    return path


# ------------------------------------------------------------- a module as its own process, watched

# How long a module process may run (seconds) before it is taken for hung, on an idle machine: scaled by the load
# (see run_limit), and a stall watchdog besides (no request of its own in the audit log for ``stall`` seconds).
RUN_LIMIT = 600.0
STALL = 300.0


def run_limit(base=RUN_LIMIT, load=None, cores=None):
    """The longest a run may take at the machine's load: ``base`` seconds times the load per core when above 1
    (a process gets about cores/load of a core; 600 s at load 20 on 2 cores is 6,000 s), never less than
    ``base``. The stall watchdog (run_watched) catches a hang long before that."""
    load = os.getloadavg()[0] if load is None else load
    cores = (os.cpu_count() or 1) if cores is None else cores
    return base * max(1.0, float(load) / cores)


class Hung(RuntimeError):
    """A watched process was stopped: no progress for ``stall`` seconds, or longer than its limit."""


def requests_of(audit_log: Path, user: str):
    """A callable that says whether the API server logged a request of ``user`` since it was last called (it reads
    only what the log gained since, so it costs little however long the log is)."""
    needle = ('"username":"%s"' % user).encode()
    state = {"offset": audit_log.stat().st_size if audit_log.exists() else 0, "tail": b""}

    def progressed():
        with open(audit_log, "rb") as fh:
            fh.seek(state["offset"])
            data = fh.read()
        if not data:
            return False
        state["offset"] += len(data)
        seen = state["tail"] + data
        state["tail"] = seen[-(len(needle) - 1):]  # a needle split between two reads, never a whole one
        return needle in seen
    return progressed


def run_watched(cmd, env=None, timeout=None, stall=None, progressed=None, poll=5.0, stdout=None, stderr=None):
    """(returncode, wall seconds, rusage) of ``cmd`` run to its end, unless it hangs: stopped (and Hung raised)
    when ``progressed()`` has said no for ``stall`` seconds, or after ``timeout`` seconds in all (run_limit() when
    None). Progress, not the clock, tells a slow run from a hung one: at a load of 10 to 30 a run takes several
    times longer, but a module that asks the API server nothing for minutes is stuck."""
    timeout = run_limit() if timeout is None else timeout
    stall = STALL if stall is None else stall
    t0 = time.perf_counter()
    last = t0
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, start_new_session=True)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        now = time.perf_counter()
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, now - t0, usage
        if progressed is not None and progressed():
            last = now
        why = None
        if progressed is not None and stall and now - last > stall:
            why = "no request of its own in the audit log for %.0f s (a hang, not load)" % (now - last)
        elif timeout and now - t0 > timeout:
            why = "still running after %.0f s (the limit at this load; --timeout)" % (now - t0)
        if why:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the launcher and the module it started
            proc.wait()
            raise Hung("%s: %s" % (" ".join(str(c) for c in cmd[:2]), why))
        time.sleep(poll)


# Runs the command given after it and writes its rusage (max RSS KiB, user and system CPU seconds) to the file named
# first. The module is started by this small process, not by the benchmark's: Linux keeps a process's max RSS
# across exec from the memory it had before (a child forked or vforked from a benchmark process that has parsed
# 94,000 audit events starts at 1.3 GB), so wait4 of a child of the benchmark reports the benchmark's size.
LAUNCH = ("import resource, subprocess, sys\n"
          "rc = subprocess.call(sys.argv[2:])\n"
          "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
          "open(sys.argv[1], 'w').write('%d %.3f %.3f' % (u.ru_maxrss, u.ru_utime, u.ru_stime))\n"
          "sys.exit(rc)\n")


def run_module_process(tree: Path, module: str, args: dict, timeout=None, stall=None, progressed=None):
    """(wall seconds, max RSS MiB, CPU seconds of the process, result) of ``module`` (a file name under
    plugins/modules, without .py) of ``tree`` run as its own process (the tree's collection on the path), started by
    a small launcher (LAUNCH) so that its max RSS is its own, and watched as run_watched says."""
    path = tree / "plugins" / "modules" / (module + ".py")
    env = dict(os.environ, PYTHONPATH=str(tree / ".build" / "collections"))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    with tempfile.NamedTemporaryFile("w", suffix=".rusage", delete=False) as ru:
        pass
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            rc, wall, _usage = run_watched([sys.executable, "-S", "-c", LAUNCH, ru.name, sys.executable, str(path),
                                            fh.name], env=env, timeout=timeout, stall=stall, progressed=progressed,
                                           stdout=out, stderr=err)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        maxrss, utime, stime = Path(ru.name).read_text().split()
    finally:
        os.unlink(fh.name)
        os.unlink(ru.name)
    try:
        result = json.loads(stdout[stdout.find("{"):])
    except ValueError as exc:
        raise RuntimeError("%s of %s failed (rc=%s): %s %s" % (module, tree, rc, stdout[-2000:], stderr[-2000:])) \
            from exc
    return wall, int(maxrss) / 1024.0, float(utime) + float(stime), result
