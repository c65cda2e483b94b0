#!/usr/bin/env python3
"""Benchmark: ~1,000 access checks, vmo_rbac_validate vs a `kubectl auth can-i` loop.

Both answer the same questions (the module's own access rows are replayed through kubectl,
one process per check, as a shell loop would), side by side in one run, on a dedicated
cluster. Reports wall times (median of repetitions), the ratio, and request counts from
the API server's audit log by user agent.

    .venv/bin/python tests/bench/bench_validate.py [--reps 3] [--kubectl-reps 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    KUBECTL, ROOT, baseline_playbook_seconds, bench_clusters, count_requests, median, run_module_timed, save,
    stop, timed,
)

NAMESPACES = 14  # 4 personas x (14 scoped + 1 outside) x 17 namespaced checks + 4 x 3 cluster checks = 1,032


def declaration(ns):
    return [{"persona": p, "groups": ["bench-" + p], "namespaces": ns}
            for p in ("admin", "power-user", "user", "viewer")]


def kubectl_loop(cluster, rows):
    kubeconfig = ROOT / ".controlplane" / "kubeconfig"
    for r in rows:
        resource = r["resource"] + ("." + r["group"] if r["group"] else "")
        cmd = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--context", cluster.name, "auth", "can-i",
               r["verb"], resource, "--as", r["as_user"]]
        for g in r["as_groups"]:
            cmd += ["--as-group", g]
        if r["subresource"]:
            cmd += ["--subresource", r["subresource"]]
        cmd += ["-n", r["namespace"]] if r["namespace"] else ["-A"]
        subprocess.run(cmd, capture_output=True, check=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--kubectl-reps", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = ap.parse_args(argv)

    (cluster,), started = bench_clusters(1, prefix="bench-validate")
    try:
        ident = cluster.identity("bench-admin")
        ns = ["bv-%02d" % i for i in range(1, NAMESPACES + 1)]
        for n in ns:
            cluster.namespace(n)
        common = dict(ident.params, owner="bench", bindings=declaration(ns))
        run_module_timed("vmo.rbac.vmo_role_binding", common)

        baseline = baseline_playbook_seconds()
        module_wall, module_inner, reqs = [], [], None
        result = None
        for _ in range(args.reps):
            window = cluster.audit()
            wall, result = run_module_timed("vmo.rbac.vmo_rbac_validate", common)
            module_wall.append(wall)
            module_inner.append(result["summary"]["seconds"])
            reqs = count_requests(window, "vmo.rbac/")
        rows = [r for r in result["access"] if r["allowed"] is not None]

        kubectl_wall, kreqs = [], None
        for _ in range(args.kubectl_reps):
            window = cluster.audit()
            wall, _ = timed(kubectl_loop, cluster, rows)
            kubectl_wall.append(wall)
            kreqs = count_requests(window, "kubectl")

        data = {
            "checks": len(rows),
            "module": {"inner_seconds_median": median(module_inner), "wall_seconds_median": median(module_wall),
                       "ansible_playbook_baseline_seconds": baseline, "reads": reqs[0], "writes": reqs[1],
                       "reps": args.reps},
            "kubectl_loop": {"wall_seconds_median": median(kubectl_wall), "reads": kreqs[0], "writes": kreqs[1],
                             "reps": args.kubectl_reps},
        }
        data["ratio_wall"] = data["kubectl_loop"]["wall_seconds_median"] / data["module"]["wall_seconds_median"]
        data["ratio_inner"] = data["kubectl_loop"]["wall_seconds_median"] / data["module"]["inner_seconds_median"]
        path = save("validate", data)
        print("| tool | checks | wall time (median) | API requests (reads/writes) |")
        print("|---|---|---|---|")
        print("| vmo_rbac_validate (one task, whole ansible-playbook run) | %d | %.2f s (module itself %.2f s; "
              "ansible-playbook start-up %.2f s) | %d / %d |" % (
                  len(rows), data["module"]["wall_seconds_median"], data["module"]["inner_seconds_median"],
                  baseline, reqs[0], reqs[1]))
        print("| kubectl auth can-i loop | %d | %.1f s | %d / %d |" % (
            len(rows), data["kubectl_loop"]["wall_seconds_median"], kreqs[0], kreqs[1]))
        print("ratio: %.0fx (whole run), %.0fx (module itself); results in %s" % (
            data["ratio_wall"], data["ratio_inner"], path))
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
