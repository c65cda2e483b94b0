#!/usr/bin/env python3
"""Benchmark: the cost of one module process, direct credentials vs a kubeconfig.

With direct credentials (host plus a token or a client certificate, what AWX's Kubernetes
credential injects) the modules never import the `kubernetes` package; with a kubeconfig they
must (its loaders). Same cluster, same identity, same steady-state declaration, runs
alternating, each a fresh module process started as Ansible does (`python -m` on the module
with its arguments as JSON): CPU (user + system, of the process) and wall, medians.

    .venv/bin/python tests/bench/bench_startup.py [--reps 7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import ROOT, bench_clusters, median, save, stop  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
MODULE = "ansible_collections.vmo.rbac.plugins.modules.vmo_role_binding"


def run_module(args: dict):
    """(cpu seconds, wall seconds, result) of one module process."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".build" / "collections"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([str(PYTHON), "-m", MODULE, f.name], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(f.name)
    result = json.loads(proc.stdout)
    if result.get("failed"):
        raise RuntimeError("module failed: %s" % result.get("msg"))
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, wall, result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args(argv)

    (cluster,), started = bench_clusters(1, prefix="bench-startup")
    try:
        ident = cluster.identity("bench-startup")
        bindings = [{"persona": p, "groups": ["bench-" + p]} for p in ("power-user", "user", "viewer")]
        direct = dict(ident.params, owner="bench-startup", bindings=bindings)
        kubeconfig = {"kubeconfig": str(ident.kubeconfig), "owner": "bench-startup", "bindings": bindings}
        run_module(direct)  # converge once, then measure the steady state
        samples = {"direct": [], "kubeconfig": []}
        for _ in range(args.reps):
            for name, params in (("direct", direct), ("kubeconfig", kubeconfig)):
                cpu, wall, result = run_module(params)
                assert not result["changed"] and result["api_requests"] <= 5, result
                samples[name].append((cpu, wall))
        out = {name: {"cpu_s": median([c for c, _w in s]), "wall_s": median([w for _c, w in s]), "reps": len(s)}
               for name, s in samples.items()}
        out["cpu_ratio"] = out["kubeconfig"]["cpu_s"] / out["direct"]["cpu_s"]
        out["loadavg"] = os.getloadavg()
        path = save("startup", out)
        print("module process, steady state (median of %d): direct credentials %.2f s CPU / %.2f s wall; "
              "kubeconfig %.2f s CPU / %.2f s wall; kubeconfig costs %.2fx the CPU (%s)"
              % (args.reps, out["direct"]["cpu_s"], out["direct"]["wall_s"], out["kubeconfig"]["cpu_s"],
                 out["kubeconfig"]["wall_s"], out["cpu_ratio"], path))
    finally:
        stop(started)


if __name__ == "__main__":
    main()
