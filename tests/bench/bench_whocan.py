#!/usr/bin/env python3
"""Benchmark: who can, on a cluster with 2,000 bindings and 500 roles: vmo_rbac_access_info vs a
kubectl-who-can loop over the same questions.

The cluster (a dedicated one) holds 100 namespaces, 300 ClusterRoles and 200 Roles (a mix: no VM
rules, VM viewers, VM operators, wildcards, resourceNames) and 2,000 bindings (100 cluster-wide,
19 RoleBindings per namespace) to 1,000 users, 200 groups and 300 ServiceAccounts. Questions:
every capability of the matrix in every namespace and in all namespaces together.

Measured side by side in one run:
- the module of each tree (this one; with ``--confirm-all`` this one again with ``confirm: all``; with
  ``--baseline DIR`` another tree, a worktree of today's main), each as its own process (the tree's collection on
  the path), the trees in turn: wall time, CPU time and max RSS of the process (``wait4``), its own summary (the
  in-process local work, ``evaluation_seconds``, separately), its requests from the audit log (a user of its own
  per tree and repetition: the LISTs and the SubjectAccessReviews, nothing else), and its holders, confirmed
  or not asked;
- the local evaluation in this process (parse + index + evaluate, no network), repeated;
- kubectl-who-can (tests/peers) asked every check of every capability at every place, one
  process per question as a shell loop would, with a warm discovery cache; its requests likewise
  (``--peer-reps 0``: not run).

    .venv/bin/python tests/bench/bench_whocan.py [--reps 3] [--peer-reps 1] [--peer-namespaces N] \
        [--baseline /work/wt/<name>-base] [--confirm-all] [--timeout S] [--stall S] [--keep]

``--peer-namespaces`` limits the peer loop to the first N namespaces (plus all namespaces
together) and scales its time to all of them (reported as such); 0 means every namespace.

A module run is stopped as hung when the API server logs no request of its user for ``--stall`` seconds (300:
the local evaluation sends none for a few seconds, 8 s at load 12 here), or after ``--timeout`` seconds in all
(0, the default: 600 s times the 1-minute load per core when above 1, taken before each run, so 3,000 s at load
10 on 2 cores). The fixed 600 s of before was overrun at load 10 to 30 by a run that was progressing; a stall
is a hang at any load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    RBAC, ROOT, RUN_LIMIT, STALL, bench_clusters, create_rbac, median, random_subjects, requests_of,
    run_limit, run_module_process, save, stop, timed)

from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access, holders

PEERS_BIN = Path(os.environ.get("VMO_PEERS_BIN") or ROOT / ".tools-peers" / "bin")
WHO_CAN = PEERS_BIN / "kubectl-who-can"
NAMESPACES = 100

VM = ["virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations"]
RULE_KINDS = [
    [{"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": ["get", "list", "watch"]}],
    [{"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["*"]}],
    [{"apiGroups": ["kubevirt.io"], "resources": VM, "verbs": ["get", "list", "watch"]}],
    [{"apiGroups": ["kubevirt.io"], "resources": VM, "verbs": ["get", "list", "watch"]},
     {"apiGroups": ["subresources.kubevirt.io"],
      "resources": ["virtualmachineinstances/console", "virtualmachineinstances/vnc", "virtualmachines/start",
                    "virtualmachines/stop", "virtualmachines/restart"], "verbs": ["get", "update"]}],
    [{"apiGroups": ["kubevirt.io", "subresources.kubevirt.io", "clone.kubevirt.io", "snapshot.kubevirt.io"],
      "resources": ["*"], "verbs": ["*"]}],
    [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["delete", "get"],
      "resourceNames": ["vm-1", "vm-2"]}],
    [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "delete"]}],
    [{"apiGroups": ["*"], "resources": ["*/console", "*/vnc"], "verbs": ["get"]}],
]


def layout(seed=12):
    rnd = random.Random(seed)
    ns = ["bw-%03d" % i for i in range(NAMESPACES)]
    cluster_roles = [{"metadata": {"name": "bw-cr-%03d" % i}, "rules": rnd.choice(RULE_KINDS)} for i in range(300)]
    roles = [{"metadata": {"name": "bw-r-%d" % j, "namespace": n}, "rules": rnd.choice(RULE_KINDS)}
             for n in ns for j in range(2)]
    users = ["bw-user-%04d" % i for i in range(1000)]
    groups = ["bw-group-%03d" % i for i in range(200)]
    sas = [("bw-%03d" % (i % NAMESPACES), "bw-sa-%03d" % i) for i in range(300)]

    def subjects():
        return random_subjects(rnd, users, groups, sas)

    crbs = [{"metadata": {"name": "bw-crb-%03d" % i},
             "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole",
                         "name": rnd.choice(["bw-cr-%03d" % rnd.randrange(300), "view", "spectro-vm-viewer"])},
             "subjects": subjects()} for i in range(100)]
    rbs = []
    for n in ns:
        for j in range(19):
            if rnd.random() < 0.2:
                ref = {"apiGroup": RBAC, "kind": "Role", "name": "bw-r-%d" % rnd.randrange(2)}
            else:
                ref = {"apiGroup": RBAC, "kind": "ClusterRole",
                       "name": rnd.choice(["bw-cr-%03d" % rnd.randrange(300), "spectro-vm-user", "edit", "view"])}
            rbs.append({"metadata": {"name": "bw-rb-%02d" % j, "namespace": n}, "roleRef": ref,
                        "subjects": subjects()})
    return ns, cluster_roles, roles, crbs, rbs


def create(cluster, ns, cluster_roles, roles, crbs, rbs):
    create_rbac(cluster, ns, cluster_roles, roles, crbs, rbs, workers=8)


def who_can(kubeconfig, cache, check, namespace):
    resource = check.resource + ("." + check.group if check.group else "")
    cmd = [str(WHO_CAN), check.verb, resource, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache),
           "-o", "json"]
    if check.subresource:
        cmd += ["--subresource", check.subresource]
    cmd += ["-n", namespace] if namespace else ["-A"]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).returncode


def local_evaluation(ident_params, cluster, matrix):
    """The module's in-process work on the same lists: index and evaluate (no network)."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster  # pylint: disable=import-outside-toplevel
    c = Cluster(dict(ident_params))
    lists = (c.list_cluster_roles(metadata_only=False), c.list_roles(metadata_only=False),
             c.list_cluster_role_bindings(), c.list_role_bindings())
    caps = holders.matrix_checks(matrix)
    checks = [x for _n, _s, cs in caps for x in cs]
    t0 = time.process_time()
    w0 = time.perf_counter()
    index = holders.RbacIndex(*lists, checks=checks)
    ev = holders.Evaluation(index, caps)
    return time.perf_counter() - w0, time.process_time() - t0, len(ev.findings), ev.questions


def module_runs(cluster, trees, reps, timeout, stall):
    """Each tree's vmo_rbac_access_info as its own process (run_module_process), ``reps`` times, the trees in turn
    (alternating which goes first), on the same cluster: wall, CPU, max RSS, and its requests from the audit log
    (a user of its own per tree and repetition)."""
    runs = dict((name, []) for name, _t, _a in trees)
    for rep in range(reps):
        for name, tree, extra in (trees if rep % 2 == 0 else list(reversed(trees))):
            ident = cluster.identity("bench-whocan-%s-%d" % ("".join(c if c.isalnum() else "-" for c in name), rep))
            load = os.getloadavg()[0]
            limit = timeout or run_limit(load=load)
            window = cluster.audit()
            wall, rss, cpu, result = run_module_process(
                tree, "vmo_rbac_access_info", dict(ident.params, **extra), timeout=limit, stall=stall,
                progressed=requests_of(window.path, ident.user))
            if result.get("failed"):
                raise RuntimeError("%s failed: %s" % (name, result.get("msg")))
            events = window.events(user=ident.user, settle=1.0)
            s = result["summary"]
            found = result["holders"]
            runs[name].append({
                "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "max_rss_mib": round(rss, 1),
                "module_seconds": s.get("seconds"), "evaluation_seconds": s.get("evaluation_seconds"),
                "review_seconds": s.get("review_seconds"),
                "reviews_audit_log": sum(1 for e in events if e["objectRef"].get("resource") == "subjectaccessreviews"),
                "lists_audit_log": sum(1 for e in events if e["verb"] == "list"),
                "requests_audit_log": len(events),
                "holders": len(found), "holders_confirmed": sum(1 for h in found if h.get("confirmed") is True),
                "holders_not_asked": sum(1 for h in found if h.get("confirmed") is None),
                "unconfirmed": len(result["unconfirmed"]), "escalated": s.get("escalated"),
                "load_1min_before": round(load, 1), "limit_seconds": round(limit),
            })
            print(name, json.dumps(runs[name][-1]), flush=True)
    return runs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--peer-reps", type=int, default=1, help="0: no kubectl-who-can loop")
    ap.add_argument("--peer-namespaces", type=int, default=0)
    ap.add_argument("--baseline", type=Path, help="another tree (a worktree of today's main), run side by side")
    ap.add_argument("--confirm-all", action="store_true",
                    help="also run this tree with confirm: all (every holder asked, as the baseline does)")
    ap.add_argument("--timeout", type=float, default=0,
                    help="seconds a module run may take in all; 0 (default): %d s times the load per core when "
                         "above 1, taken before each run" % RUN_LIMIT)
    ap.add_argument("--stall", type=float, default=STALL,
                    help="a module run that sends the API server no request for this many seconds is hung and "
                         "stopped (default %(default)s)")
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = ap.parse_args(argv)
    if args.peer_reps and not WHO_CAN.exists():
        print("kubectl-who-can is missing at %s: run `make peers`" % WHO_CAN, file=sys.stderr)
        return 2

    (cluster,), started = bench_clusters(1, prefix="bench-whocan")
    try:
        cluster.wait_for_aggregation()
        ns, crs, roles, crbs, rbs = layout()
        t_create, _ = timed(create, cluster, ns, crs, roles, crbs, rbs)
        ident = cluster.identity("bench-whocan")
        peer_ident = cluster.identity("bench-whocan-peer")
        matrix = access.build_matrix("vmo")

        trees = [("this tree", ROOT, {})]
        if args.confirm_all:
            trees.append(("this tree, confirm: all", ROOT, {"confirm": "all"}))
        if args.baseline:
            trees.append(("baseline", args.baseline.resolve(), {}))
        runs = module_runs(cluster, trees, args.reps, args.timeout, args.stall)
        local = [local_evaluation(ident.params, cluster, matrix) for _ in range(args.reps)]

        caps = holders.matrix_checks(matrix)
        places = [""] + (ns[:args.peer_namespaces] if args.peer_namespaces else ns)
        asks = sorted({(c, p) for _cap, scope, checks in caps for c in checks
                       for p in ([""] if scope == "cluster" else places)})
        full_asks = sum(1 for _cap, scope, checks in caps for _c in checks
                        for _p in ([""] if scope == "cluster" else [""] + ns))
        peer_walls, peer_counts, failures = [], None, 0
        if args.peer_reps:
            cache = ROOT / "reports" / "bench" / "work" / "who-can-cache"
            who_can(peer_ident.kubeconfig, cache, asks[0][0], asks[0][1])  # warm the discovery cache
        for _ in range(args.peer_reps):
            window = cluster.audit()
            t0 = time.perf_counter()
            failures = sum(1 for a in asks if who_can(peer_ident.kubeconfig, cache, a[0], a[1]) != 0)
            peer_walls.append(time.perf_counter() - t0)
            events = window.events(user=peer_ident.user)
            peer_counts = {"total": len(events), "lists": sum(1 for e in events if e["verb"] == "list"),
                           "access_reviews": sum(1 for e in events if "accessreviews" in
                                                 (e.get("objectRef") or {}).get("resource", ""))}
        scale = float(full_asks) / len(asks)
        mine = runs["this tree"]
        data = {
            "cluster": {"namespaces": len(ns), "cluster_roles_made": len(crs), "roles_made": len(roles),
                        "bindings_made": len(crbs) + len(rbs), "seconds_to_create": round(t_create, 1)},
            "runs": runs,
            "median": dict((name, dict((k, median([r[k] for r in rs])) for k in (
                "wall_seconds", "cpu_seconds", "max_rss_mib", "reviews_audit_log", "lists_audit_log",
                "requests_audit_log", "evaluation_seconds", "review_seconds"))) for name, rs in runs.items()),
            "local_evaluation": {"wall_seconds_median": median([x[0] for x in local]),
                                 "cpu_seconds_median": median([x[1] for x in local]), "findings": local[0][2],
                                 "questions": local[0][3]},
        }
        if args.peer_reps:
            data["peer_loop"] = {"processes": len(asks), "processes_for_all_questions": full_asks,
                                 "failed_processes": failures, "wall_seconds_median": median(peer_walls),
                                 "wall_seconds_all_questions": median(peer_walls) * scale, "scaled": scale != 1.0,
                                 "requests_audit_log": peer_counts, "reps": args.peer_reps}
            data["ratio_wall"] = data["peer_loop"]["wall_seconds_all_questions"] / \
                data["median"]["this tree"]["wall_seconds"]
        path = save("whocan", data)
        print("| who can, %d findings, %d questions | wall (median) | CPU | max RSS | SubjectAccessReviews | LISTs | "
              "holders (confirmed, not asked) | unconfirmed |" % (local[0][2], local[0][3]))
        print("|---|---|---|---|---|---|---|---|")
        for name, rs in runs.items():
            m = data["median"][name]
            print("| %s | %.1f s | %.1f s | %.0f MiB | %d | %d | %d (%d, %d) | %d |" % (
                name, m["wall_seconds"], m["cpu_seconds"], m["max_rss_mib"], m["reviews_audit_log"],
                m["lists_audit_log"], rs[-1]["holders"], rs[-1]["holders_confirmed"], rs[-1]["holders_not_asked"],
                rs[-1]["unconfirmed"]))
        print("| local evaluation alone, in this process | %.2f s wall, %.2f s CPU | 0 |" % (
            data["local_evaluation"]["wall_seconds_median"], data["local_evaluation"]["cpu_seconds_median"]))
        if args.peer_reps:
            print("| kubectl-who-can loop (%d processes%s) | %.1f s%s | %d (%d LISTs, %d access reviews) |" % (
                len(asks), ", scaled to %d" % full_asks if scale != 1.0 else "", median(peer_walls),
                " -> %.1f s for all questions" % data["peer_loop"]["wall_seconds_all_questions"]
                if scale != 1.0 else "", peer_counts["total"], peer_counts["lists"], peer_counts["access_reviews"]))
            print("ratio: %.0fx; " % data["ratio_wall"], end="")
        print("results in %s (this tree: %d holders)" % (path, mine[-1]["holders"]))
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
