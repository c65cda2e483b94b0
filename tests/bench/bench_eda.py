#!/usr/bin/env python3
"""Benchmark: event-driven reconcile with ansible-rulebook (docs/eda.md, issue 14).

The collection's rulebook vmo.rbac.reconcile, run by ansible-rulebook against two dedicated
clusters (east, west of one inventory), exactly as tests/integration/test_eda.py runs it but with
more trials (tests/helpers/eda.py holds the one measurement code path):

- `kubectl create namespace web-app-N` matching a declared regex -> seconds until a
  SubjectAccessReview says the declared viewer may list VMs there (median and max), with the
  median time of each stage (watch and coalescing, rulebook and playbook start-up, module, authorizer);
- the same reconcile run by hand with ansible-playbook, and a no-op playbook: what start-up costs;
- an owned RoleBinding deleted by hand -> seconds until it is back and access is allowed again;
- 50 namespaces created by one `kubectl create -f` -> enforce runs, and time until all have access;
- the CPU of the idle ansible-rulebook process, and west's API server stopped for 8 s: CPU
  during the outage, when the watches resume, access for a namespace created after the restart.

    .venv/bin/python tests/bench/bench_eda.py [--trials 20] [--output eda]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import RESULTS, save  # noqa: E402
from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers import eda  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--output", default="eda")
    args = ap.parse_args(argv)
    problem = eda.java_problem()
    if problem:
        print("bench_eda: %s" % problem, file=sys.stderr)
        return 1
    names = ["bench-eda-a", "bench-eda-b"]
    workdir = RESULTS / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    results = {"trials": args.trials, "cpus": os.cpu_count(), "load_average_before": os.getloadavg(),
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    rb = None
    try:
        fleet = eda.start_fleet(names, workdir, owned=True)
        rb = eda.start_reconciler(fleet, workdir)
        for name, measure in (("new_namespace", lambda: eda.measure_new_namespaces(fleet, rb, args.trials)),
                              ("binding_restore", lambda: eda.measure_restores(fleet, rb, args.trials)),
                              ("direct_playbook", lambda: eda.measure_direct_playbook(fleet, 5)),
                              ("burst", lambda: eda.measure_burst(fleet, rb, 50)),
                              ("restart", lambda: eda.measure_restart(fleet, rb, idle_seconds=20))):
            print("=== %s" % name, flush=True)
            results[name] = measure()
            results[name].pop("recaps", None)
            print(json.dumps(results[name], indent=1), flush=True)
    finally:
        if rb is not None:
            rb.stop()
            (RESULTS / (args.output + "-rulebook.log")).write_text(rb.output())
        cp.down(names)
    results["load_average_after"] = os.getloadavg()
    print("figures in %s" % save(args.output, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
