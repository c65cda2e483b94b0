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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build" / "collections"))
sys.path.insert(0, str(ROOT))

from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers.ansible import run_playbook  # noqa: E402
from tests.helpers.kube import KUBEVIRT_CRDS, REFERENCE_ROLES, AuditWindow, TestCluster  # noqa: E402

RESULTS = ROOT / "reports" / "bench"
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"


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
