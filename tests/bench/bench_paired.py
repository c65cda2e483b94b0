#!/usr/bin/env python3
"""Benchmark: this checkout against another one (``--before TREE``), paired, on one cluster.

The module processes of both collection trees run alternately (the order flips every
repetition) against the same dedicated cluster and the same declarations:

- enforce, steady state: 84 bindings already in place (4 cluster-wide, 4 personas x 20 namespaces);
- enforce, first run: the owner's bindings deleted by hand before each run (84 creates);
- validate: bench_validate's declaration (1,032 access checks).

Each figure is the module process alone (CPU and wall, as bench_startup measures it: the
ansible-playbook around it is the same for both trees), median of the repetitions, with the
paired ratio (before / now) per repetition and the API requests each made (audit log, by user
agent). This is how a refactoring shows that it did not make the benchmarks of
docs/performance.md slower.

    git archive <commit> | tar -x -C /tmp/vmo-before
    .venv/bin/python tests/bench/bench_paired.py --before /tmp/vmo-before [--reps 7] [--output paired]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import peers  # noqa: E402
from tests.bench.bench_startup import collections_of, run_module  # noqa: E402
from tests.bench.bench_validate import NAMESPACES as VALIDATE_NAMESPACES  # noqa: E402
from tests.bench.bench_validate import declaration as validate_declaration  # noqa: E402
from tests.bench.common import ROOT, bench_clusters, count_requests, median, save, stop  # noqa: E402

ENFORCE = "ansible_collections.vmo.rbac.plugins.modules.vmo_role_binding"
VALIDATE = "ansible_collections.vmo.rbac.plugins.modules.vmo_rbac_validate"


def run(module_path, args, collections, cluster):
    window = cluster.audit()
    cpu, wall, result = run_module(args, collections, module=module_path)
    reads, writes = count_requests(window, "vmo.rbac/")
    return {"cpu": cpu, "wall": wall, "reads": reads, "writes": writes, "result": result}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="the other checkout of the collection")
    ap.add_argument("--now", type=Path, help="the checkout measured as 'now' (default: this one's built collection)")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--output", default="paired")
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = ap.parse_args(argv)

    (cluster,), started = bench_clusters(1, prefix="bench-paired")
    try:
        ident = cluster.identity("bench-paired")
        enforce_ns = ["bp-%02d" % i for i in range(1, 21)]
        validate_ns = ["bv-%02d" % i for i in range(1, VALIDATE_NAMESPACES + 1)]
        for n in enforce_ns + validate_ns:
            cluster.namespace(n)
        enforce_args = dict(peers.module_params(ident, enforce_ns), request_timeout=30.0, api_retries=5)
        validate_args = dict(ident.params, owner="bench-v", bindings=validate_declaration(validate_ns),
                             fail_on_drift=False, request_timeout=30.0, api_retries=5, concurrency=16)
        with tempfile.TemporaryDirectory() as tmp:
            now = collections_of(args.now, Path(tmp) / "n") if args.now else ROOT / ".build" / "collections"
            trees = {"now": now, "before": collections_of(args.before, Path(tmp) / "b")}
            # the validation's bindings and enforce's steady state, once, by this checkout (set-up only)
            seed = {k: v for k, v in validate_args.items() if k != "fail_on_drift"}  # validate's option only
            run(ENFORCE, seed, ROOT / ".build" / "collections", cluster)
            run(ENFORCE, enforce_args, ROOT / ".build" / "collections", cluster)
            runs = {case: {t: [] for t in trees} for case in ("enforce-steady", "enforce-first", "validate")}
            load_before = os.getloadavg()
            for rep in range(args.reps):
                order = list(trees) if rep % 2 == 0 else list(reversed(list(trees)))
                for tree in order:
                    runs["enforce-steady"][tree].append(run(ENFORCE, enforce_args, trees[tree], cluster))
                for tree in order:
                    runs["validate"][tree].append(run(VALIDATE, validate_args, trees[tree], cluster))
                for tree in order:
                    cluster.delete_bindings(peers.OWNER)
                    runs["enforce-first"][tree].append(run(ENFORCE, enforce_args, trees[tree], cluster))
            load_after = os.getloadavg()
        out = {"reps": args.reps, "loadavg_before": load_before, "loadavg_after": load_after,
               "before_tree": str(args.before), "now_tree": str(args.now or "this checkout"), "cases": {}}
        print("| case | tree | CPU (median) | wall (median) | reads / writes | paired CPU ratio before/now |")
        print("|---|---|---|---|---|---|")
        for case, by_tree in runs.items():
            ratios = [b["cpu"] / n["cpu"] for b, n in zip(by_tree["before"], by_tree["now"])]
            out["cases"][case] = {}
            for tree in ("before", "now"):
                rs = by_tree[tree]
                row = {"cpu_median": median([r["cpu"] for r in rs]), "wall_median": median([r["wall"] for r in rs]),
                       "reads": rs[-1]["reads"], "writes": rs[-1]["writes"]}
                out["cases"][case][tree] = row
                print("| %s | %s | %.2f s | %.2f s | %d / %d | %s |" % (
                    case, tree, row["cpu_median"], row["wall_median"], row["reads"], row["writes"],
                    "%.2fx" % statistics.median(ratios) if tree == "now" else ""))
            out["cases"][case]["paired_cpu_ratio_median"] = statistics.median(ratios)
        path = save(args.output, out)
        print("load %.1f -> %.1f; results in %s" % (load_before[0], load_after[0], path))
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
