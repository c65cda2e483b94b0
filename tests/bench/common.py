"""Shared pieces of the benchmarks (`make bench`): dedicated clusters, timing, audit counts.

Benchmarks run on clusters of their own (``bench-*``), so that nothing else sends requests
while they measure, and count requests from the API server's audit log by user agent.
Every comparison is made side by side in one run; figures are medians of repetitions.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
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
