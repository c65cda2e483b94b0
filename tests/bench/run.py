#!/usr/bin/env python3
"""`make bench`: every benchmark, one after the other, figures into reports/bench/*.json.

    .venv/bin/python tests/bench/run.py [--only enforce,validate,scaling,fleet] [--quick]

Runs, in this order (each on clusters of its own, started and stopped by the benchmark):

- bench_enforce.py   84 bindings: vmo_role_binding vs kubernetes.core.k8s loop vs kubectl apply
- bench_validate.py  ~1,000 access checks: vmo_rbac_validate vs kubectl auth can-i loop
- bench_scaling.py   steady state at 84, 400, 2,000 bindings; draws docs/img/enforce-scaling.png
- bench_fleet.py     the role over 25 clusters with forks=25 vs one cluster (worker and module
                     execution; needs about 14 GiB and the machine to itself)
- bench_fleet200.py  the role over 200 inventory hosts on 8 local API servers (each host its own
                     owner, namespaces, subjects and identity), 0 and 150 ms away through the latency
                     model (tests/helpers/latencylink.py); ``--before TREE`` adds another checkout
- bench_latency.py   84 bindings through the fault proxy at 0, 50, 150 ms RTT vs kubectl apply
                     and the kubernetes.core loop
- bench_startup.py   one module process: direct credentials and a static kubeconfig context (no
                     `kubernetes` import) vs a kubeconfig the client loads
- bench_eda.py       event-driven reconcile with ansible-rulebook: new namespace / deleted binding to
                     access (20 trials), a burst of 50 namespaces, an API server restart, idle CPU
- bench_kubeconfig_worker.py  a kubeconfig per task in Ansible's worker: the static reader vs the
                     client's loader with the client imported before the fork
- bench_whocan.py    who can at 2,000 bindings and 500 roles: vmo_rbac_access_info vs a kubectl-who-can loop
- bench_whocan_scale.py  the exclusive audit at 20,000 bindings, 5,000 roles, 500 namespaces (--baseline: another
                     tree side by side)
- bench_palette_rate.py  a 1,000-cluster Palette inventory against the stand-in with Palette's rate limit on
                     (10/s per IP): requests, 429s, wall time vs requests/limit (--before TREE: today's tree too)

Each writes reports/bench/<name>.json; this script adds reports/bench/run.json (what ran, how
long, the load average before and after each). ``--quick`` runs fewer repetitions and measures
the kubernetes.core.k8s loop only at 84 bindings (minutes instead of about two hours on a
loaded 2-core machine), for trying the harness; docs/performance.md quotes full runs only.
The benchmarks are sequential on purpose: they measure a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "reports" / "bench"

FULL = {
    "enforce": ["bench_enforce.py", "--reps", "5", "--kcore-reps", "2"],
    "validate": ["bench_validate.py", "--reps", "3", "--kubectl-reps", "1"],
    "scaling": ["bench_scaling.py", "--sizes", "84,400,2000", "--kcore-sizes", "84,400", "--reps", "3"],
    "fleet": ["bench_fleet.py", "--clusters", "25", "--reps", "1"],
    "fleet200": ["bench_fleet200.py", "--hosts", "200", "--servers", "8", "--forks", "50",
                 "--phases", "150:first,150:steady,0:steady"],
    "latency": ["bench_latency.py", "--latencies", "0,50,150", "--reps", "3", "--kcore-reps", "1"],
    "kubeconfig-worker": ["bench_kubeconfig_worker.py", "--tasks", "21", "--reps", "3"],
    "startup": ["bench_startup.py", "--reps", "7"],
    "eda": ["bench_eda.py", "--trials", "20"],
    "whocan": ["bench_whocan.py", "--reps", "3", "--peer-reps", "1"],
    "whocan-scale": ["bench_whocan_scale.py", "--bindings", "20000", "--roles", "5000", "--namespaces", "500",
                     "--reps", "2"],
    "palette_rate": ["bench_palette_rate.py", "--clusters", "1000"],
}
QUICK = {
    "enforce": ["bench_enforce.py", "--reps", "2", "--kcore-reps", "1"],
    "validate": ["bench_validate.py", "--reps", "1", "--kubectl-reps", "1"],
    "scaling": ["bench_scaling.py", "--sizes", "84,400,2000", "--kcore-sizes", "84", "--reps", "1"],
    "fleet": ["bench_fleet.py", "--clusters", "5", "--reps", "1"],
    "fleet200": ["bench_fleet200.py", "--hosts", "16", "--forks", "16", "--phases", "150:first"],
    "latency": ["bench_latency.py", "--latencies", "50", "--reps", "1", "--kcore-reps", "0"],
    "kubeconfig-worker": ["bench_kubeconfig_worker.py", "--tasks", "6", "--reps", "1"],
    "startup": ["bench_startup.py", "--reps", "2"],
    "eda": ["bench_eda.py", "--trials", "3"],
    "whocan": ["bench_whocan.py", "--reps", "1", "--peer-namespaces", "10"],
    "whocan-scale": ["bench_whocan_scale.py", "--reps", "1"],
    "palette_rate": ["bench_palette_rate.py", "--clusters", "100"],
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(FULL), help="comma-separated subset of %s" % ",".join(FULL))
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (harness check, not for the docs)")
    args = ap.parse_args(argv)
    plan = QUICK if args.quick else FULL
    chosen = [n for n in args.only.split(",") if n]
    unknown = set(chosen) - set(plan)
    if unknown:
        ap.error("unknown benchmark(s): %s" % ", ".join(sorted(unknown)))

    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {"quick": args.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": {}}
    failed = []
    for name in chosen:
        cmd = [sys.executable, str(HERE / plan[name][0])] + plan[name][1:]
        print("\n=== %s: %s" % (name, " ".join(cmd[1:])), flush=True)
        load0 = os.getloadavg()
        t0 = time.monotonic()
        rc = subprocess.call(cmd, cwd=str(ROOT))
        summary["runs"][name] = {"command": " ".join(["python"] + cmd[1:]).replace(str(ROOT) + "/", ""),
                                 "rc": rc, "seconds": round(time.monotonic() - t0, 1),
                                 "load_average_before": [round(x, 2) for x in load0],
                                 "load_average_after": [round(x, 2) for x in os.getloadavg()]}
        if rc != 0:
            failed.append(name)
    (RESULTS / "run.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    print("\nbench: %s; figures in %s" % ("FAILED: " + ", ".join(failed) if failed else "all ran", RESULTS))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
