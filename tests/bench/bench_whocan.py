#!/usr/bin/env python3
"""Benchmark: who can, on a cluster with 2,000 bindings and 500 roles: vmo_rbac_access_info vs a
kubectl-who-can loop over the same questions.

The cluster (a dedicated one) holds 100 namespaces, 300 ClusterRoles and 200 Roles (a mix: no VM
rules, VM viewers, VM operators, wildcards, resourceNames) and 2,000 bindings (100 cluster-wide,
19 RoleBindings per namespace) to 1,000 users, 200 groups and 300 ServiceAccounts. Questions:
every capability of the matrix in every namespace and in all namespaces together.

Measured side by side in one run:
- the module (one ansible-playbook task): wall time, its own summary (the in-process local work,
  ``evaluation_seconds``, separately), and its requests from the audit log (by user name): the 4
  LISTs and the confirming SubjectAccessReviews, nothing else;
- the local evaluation in this process (parse + index + evaluate, no network), repeated;
- kubectl-who-can (tests/peers) asked every check of every capability at every place, one
  process per question as a shell loop would, with a warm discovery cache; its requests likewise.

    .venv/bin/python tests/bench/bench_whocan.py [--reps 3] [--peer-reps 1] [--peer-namespaces N]

``--peer-namespaces`` limits the peer loop to the first N namespaces (plus all namespaces
together) and scales its time to all of them (reported as such); 0 means every namespace.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.common import (  # noqa: E402
    RBAC, ROOT, bench_clusters, create_rbac, median, random_subjects, run_module_timed, save, stop, timed)

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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--peer-reps", type=int, default=1)
    ap.add_argument("--peer-namespaces", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = ap.parse_args(argv)
    if not WHO_CAN.exists():
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

        walls, summaries, counts = [], [], None
        for _ in range(args.reps):
            window = cluster.audit()
            wall, result = run_module_timed("vmo.rbac.vmo_rbac_access_info", dict(ident.params))
            walls.append(wall)
            summaries.append(result["summary"])
            events = window.events(user=ident.user)
            counts = {"lists": sum(1 for e in events if e["verb"] == "list"),
                      "reviews": sum(1 for e in events if e["objectRef"].get("resource") == "subjectaccessreviews"),
                      "total": len(events)}
        local = [local_evaluation(ident.params, cluster, matrix) for _ in range(args.reps)]

        caps = holders.matrix_checks(matrix)
        places = [""] + (ns[:args.peer_namespaces] if args.peer_namespaces else ns)
        asks = sorted({(c, p) for _cap, scope, checks in caps for c in checks
                       for p in ([""] if scope == "cluster" else places)})
        full_asks = sum(1 for _cap, scope, checks in caps for _c in checks
                        for _p in ([""] if scope == "cluster" else [""] + ns))
        cache = ROOT / "reports" / "bench" / "work" / "who-can-cache"
        who_can(peer_ident.kubeconfig, cache, asks[0][0], asks[0][1])  # warm the discovery cache
        peer_walls, peer_counts, failures = [], None, 0
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
        s = summaries[-1]
        data = {
            "cluster": {"namespaces": len(ns), "cluster_roles_made": len(crs), "roles_made": len(roles),
                        "bindings_made": len(crbs) + len(rbs), "bindings_read": s["bindings"],
                        "roles_read": s["roles"], "seconds_to_create": round(t_create, 1)},
            "questions": s["questions"],
            "module": {"wall_seconds_median": median(walls), "module_seconds_median": median([x["seconds"] for x in summaries]),
                       "evaluation_seconds_median": median([x["evaluation_seconds"] for x in summaries]),
                       "review_seconds_median": median([x["review_seconds"] for x in summaries]),
                       "list_seconds_median": median([x["list_seconds"] for x in summaries]),
                       "holders": s["holders"], "reviews": s["reviews"], "requests_audit_log": counts,
                       "reps": args.reps},
            "local_evaluation": {"wall_seconds_median": median([x[0] for x in local]),
                                 "cpu_seconds_median": median([x[1] for x in local]), "findings": local[0][2]},
            "peer_loop": {"processes": len(asks), "processes_for_all_questions": full_asks,
                          "failed_processes": failures, "wall_seconds_median": median(peer_walls),
                          "wall_seconds_all_questions": median(peer_walls) * scale, "scaled": scale != 1.0,
                          "requests_audit_log": peer_counts, "reps": args.peer_reps},
        }
        data["ratio_wall"] = data["peer_loop"]["wall_seconds_all_questions"] / data["module"]["wall_seconds_median"]
        path = save("whocan", data)
        print("| who can, %d bindings, %d roles, %d questions | wall time (median) | API requests |" % (
            s["bindings"], s["roles"], s["questions"]))
        print("|---|---|---|")
        print("| vmo_rbac_access_info (one task, whole ansible-playbook run) | %.2f s (module %.2f s: LISTs %.2f s, "
              "local evaluation %.2f s, reviews %.2f s) | %d LISTs + %d SubjectAccessReviews = %d |" % (
                  data["module"]["wall_seconds_median"], data["module"]["module_seconds_median"],
                  data["module"]["list_seconds_median"], data["module"]["evaluation_seconds_median"],
                  data["module"]["review_seconds_median"], counts["lists"], counts["reviews"], counts["total"]))
        print("| local evaluation alone, in this process | %.2f s wall, %.2f s CPU | 0 |" % (
            data["local_evaluation"]["wall_seconds_median"], data["local_evaluation"]["cpu_seconds_median"]))
        print("| kubectl-who-can loop (%d processes%s) | %.1f s%s | %d (%d LISTs, %d access reviews) |" % (
            len(asks), ", scaled to %d" % full_asks if scale != 1.0 else "", median(peer_walls),
            " -> %.1f s for all questions" % data["peer_loop"]["wall_seconds_all_questions"] if scale != 1.0 else "",
            peer_counts["total"], peer_counts["lists"], peer_counts["access_reviews"]))
        print("ratio: %.0fx (whole runs); results in %s" % (data["ratio_wall"], path))
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
