#!/usr/bin/env python3
"""Benchmark: the exclusive audit (vmo_rbac_validate audit_exclusive) of a large cluster, this tree against
another (today's: a baseline worktree) in the same run, on the same cluster.

The cluster (a dedicated one, kept across runs with --keep and reused when it holds the layout) holds
``--namespaces`` namespaces, ``--roles`` roles (a fifth ClusterRoles, the rest Roles spread over the
namespaces; most grant no VM capability, some do: viewers, operators, wildcards, resourceNames, ``*/console``)
and ``--bindings`` bindings (a fortieth ClusterRoleBindings, the rest RoleBindings): in each namespace a
team group bound to spectro-vm-user and a viewers group bound to spectro-vm-viewer (both declared), and
bindings of random users, groups and ServiceAccounts to the other roles. One binding in 200 binds a role that
grants VM capabilities and that nobody declares (a violation), with odd subject forms among them (a
ServiceAccount without a namespace, a User named like a ServiceAccount, a namespace's ServiceAccount group) and
an aggregated ClusterRole.

Per tree and repetition, the module runs as its own process (``python vmo_rbac_validate.py args.json``, the
tree's collection on the path), so that its wall time and max RSS (getrusage of the child) are the module's;
its requests are counted in the API server's audit log (by a user of its own per tree).

    .venv/bin/python tests/bench/bench_whocan_scale.py --bindings 20000 --roles 5000 --namespaces 500 \
        [--baseline /work/wt/<name>-base] [--reps 2] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_whocan import RULE_KINDS  # noqa: E402
from tests.bench.common import (  # noqa: E402
    RBAC, ROOT, bench_clusters, create_rbac, holds_layout, median, random_subjects, run_module_process, save, stop,
    timed)

# Rules that reach no VM in the capability model (personas.py: pods, jobs and deployments do, so the
# benchmark's plain roles leave them out), then bench_whocan's VM rules: viewers, operators, wildcards,
# resourceNames, */console.
PLAIN_RULES = [
    [{"apiGroups": [""], "resources": ["configmaps", "services", "endpoints"], "verbs": ["get", "list", "watch"]}],
    [{"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": ["*"]}],
    [{"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
     {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}],
]
RULES = PLAIN_RULES + [RULE_KINDS[k] for k in (2, 3, 4, 5, 7)]
NON_VM = [0, 1, 2]
VM_KINDS = [3, 4, 5, 6, 7]
ROGUE_EVERY = 200       # one binding in this many grants VM capabilities undeclared
OWNER = "bench-scale"
PREFIX = "bench-scale"


def layout(bindings, roles, namespaces, seed=22):
    """(namespaces, ClusterRoles, Roles, ClusterRoleBindings, RoleBindings, declaration grants, rogue count)."""
    rnd = random.Random(seed)
    ns = ["bs-%03d" % i for i in range(namespaces)]
    n_cr = max(10, roles // 5)
    per_ns = max(1, (roles - n_cr) // namespaces)
    kinds_cr = [rnd.choice(VM_KINDS) if rnd.random() < 0.15 else rnd.choice(NON_VM) for _ in range(n_cr)]
    cluster_roles = [{"metadata": {"name": "bs-cr-%04d" % i}, "rules": RULES[k]} for i, k in enumerate(kinds_cr)]
    # an aggregated role: its rules are what the controller manager merges in from the role its label selects
    cluster_roles.append({"metadata": {"name": "bs-agg"},
                          "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"bench/agg": "true"}}]},
                          "rules": []})
    cluster_roles.append({"metadata": {"name": "bs-agg-source", "labels": {"bench/agg": "true"}}, "rules": RULES[4]})
    roles_out, ns_kinds = [], {}
    for n in ns:
        for j in range(per_ns):
            k = rnd.choice(VM_KINDS) if rnd.random() < 0.15 else rnd.choice(NON_VM)
            ns_kinds[(n, j)] = k
            roles_out.append({"metadata": {"name": "bs-r-%d" % j, "namespace": n}, "rules": RULES[k]})
    vm_cr = [r["metadata"]["name"] for r, k in zip(cluster_roles, kinds_cr) if k in VM_KINDS] + ["bs-agg"]
    plain_cr = [r["metadata"]["name"] for r, k in zip(cluster_roles, kinds_cr) if k in NON_VM]
    users = ["bs-user-%05d" % i for i in range(max(10, bindings // 2))]
    groups = ["bs-group-%04d" % i for i in range(max(5, bindings // 10))]
    sas = [(ns[i % namespaces], "bs-sa-%04d" % i) for i in range(max(5, bindings * 3 // 20))]

    def subjects(_n):
        return random_subjects(rnd, users, groups, sas)

    odd = []  # odd subject forms for the rogue bindings, in turn

    def rogue_subjects(n):
        odd.append(1)
        form = len(odd) % 4
        if form == 1:
            return [{"kind": "ServiceAccount", "name": "bs-rogue-sa"}]  # without a namespace: the binding's
        if form == 2:
            return [{"kind": "User", "name": "system:serviceaccount:%s:bs-rogue" % n, "apiGroup": RBAC}]
        if form == 3:
            return [{"kind": "Group", "name": "system:serviceaccounts:%s" % n, "apiGroup": RBAC}]
        return subjects(n)

    n_crb = max(1, bindings // 40)
    rogue = 0
    crbs = []
    for i in range(n_crb):
        if i % ROGUE_EVERY == ROGUE_EVERY - 1:
            rogue += 1
            ref, subs = rnd.choice(vm_cr), subjects("")
        else:
            ref, subs = rnd.choice(plain_cr), subjects("")
        crbs.append({"metadata": {"name": "bs-crb-%04d" % i}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole",
                                                                          "name": ref}, "subjects": subs})
    rbs, grants = [], []
    per_rb = max(2, (bindings - n_crb) // namespaces)
    count = 0
    for n in ns:
        for persona, name in (("user", "bs-team"), ("viewer", "bs-view")):  # a team and its viewers, declared
            group = "%s-%s" % (name, n)
            grants.append({"persona": persona, "groups": [group], "namespaces": [n]})
            rbs.append({"metadata": {"name": name, "namespace": n},
                        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "spectro-vm-" + persona},
                        "subjects": [{"kind": "Group", "name": group, "apiGroup": RBAC}]})
        for j in range(per_rb - 2):
            count += 1
            if count % ROGUE_EVERY == 0:
                rogue += 1
                vm_roles = [x for x in range(per_ns) if ns_kinds[(n, x)] in VM_KINDS]
                if vm_roles and rnd.random() < 0.3:
                    ref = {"apiGroup": RBAC, "kind": "Role", "name": "bs-r-%d" % rnd.choice(vm_roles)}
                else:
                    ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": rnd.choice(vm_cr)}
                subs = rogue_subjects(n)
            else:
                plain = [x for x in range(per_ns) if ns_kinds[(n, x)] in NON_VM]
                if plain and rnd.random() < 0.3:
                    ref = {"apiGroup": RBAC, "kind": "Role", "name": "bs-r-%d" % rnd.choice(plain)}
                else:
                    ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": rnd.choice(plain_cr)}
                subs = subjects(n)
            rbs.append({"metadata": {"name": "bs-rb-%02d" % j, "namespace": n}, "roleRef": ref, "subjects": subs})
    return ns, cluster_roles, roles_out, crbs, rbs, grants, rogue


def create(cluster, ns, cluster_roles, roles, crbs, rbs, workers=16):
    """Every object, concurrently (namespaces first); nothing when a kept cluster holds the layout already."""
    if not holds_layout(cluster, rbs):
        create_rbac(cluster, ns, cluster_roles, roles, crbs, rbs, workers)


def run_module(tree: Path, args: dict):
    """(wall seconds, max RSS MiB and CPU seconds of the process, result) of vmo_rbac_validate of ``tree`` run as its
    own process, started by common.LAUNCH so that the max RSS is the module's own (a child of this benchmark, which
    holds the layout and the audit log's events, would report this process's size: Linux keeps it across exec)."""
    return run_module_process(tree, "vmo_rbac_validate", args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bindings", type=int, default=2000)
    ap.add_argument("--roles", type=int, default=500)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--baseline", type=Path, help="another tree (a worktree of today's main), run side by side")
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running (reused next time)")
    args = ap.parse_args(argv)

    (cluster,), started = bench_clusters(1, prefix="bench-scale")
    try:
        cluster.wait_for_aggregation()
        ns, crs, roles, crbs, rbs, grants, rogue = layout(args.bindings, args.roles, args.namespaces)
        t_create, _ = timed(create, cluster, ns, crs, roles, crbs, rbs)
        time.sleep(3)  # the controller manager merges the aggregated role's rules
        trees = [("this tree", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
        runs = dict((name, []) for name, _t in trees)
        for rep in range(args.reps):
            for name, tree in (trees if rep % 2 == 0 else list(reversed(trees))):
                ident = cluster.identity("bench-scale-%s-%d" % (name.replace(" ", "-"), rep))
                mod_args = dict(ident.params, owner=OWNER, bindings=grants, audit_exclusive=True,
                                check_access=False, check_bindings=False, fail_on_drift=False)
                load = os.getloadavg()[0]
                window = cluster.audit()
                wall, rss, cpu, result = run_module(tree, mod_args)
                events = window.events(user=ident.user, settle=1.0)
                s = result.get("who_else_summary") or {}
                runs[name].append({
                    "wall_seconds": round(wall, 2), "max_rss_mib": round(rss, 1), "cpu_seconds": round(cpu, 2),
                    "module_seconds": result.get("summary", {}).get("seconds"),
                    "evaluation_seconds": s.get("evaluation_seconds"),
                    "reviews_audit_log": sum(1 for e in events
                                             if e["objectRef"].get("resource") == "subjectaccessreviews"),
                    "lists_audit_log": sum(1 for e in events if e["verb"] == "list"),
                    "requests_audit_log": len(events),
                    "violations": len(result.get("who_else") or []),
                    "violations_confirmed": sum(1 for f in result.get("who_else") or [] if f.get("confirmed") is True),
                    "holders": s.get("holders"), "unconfirmed": s.get("unconfirmed"), "sampled": s.get("sampled"),
                    "load_1min_before": round(load, 1), "failed": bool(result.get("failed") and
                                                                        not result.get("who_else")),
                    "msg": (result.get("msg") or "")[:300] if not result.get("who_else") else "",
                })
                print(name, json.dumps(runs[name][-1]), flush=True)
        data = {"cluster": {"namespaces": len(ns), "cluster_roles": len(crs), "roles": len(roles),
                            "cluster_role_bindings": len(crbs), "role_bindings": len(rbs),
                            "bindings": len(crbs) + len(rbs), "roles_all": len(crs) + len(roles),
                            "declared_grants": len(grants), "rogue_bindings": rogue,
                            "seconds_to_create": round(t_create, 1)},
                "runs": runs,
                "median": dict((name, {"wall_seconds": median([r["wall_seconds"] for r in rs]),
                                       "max_rss_mib": max(r["max_rss_mib"] for r in rs),
                                       "cpu_seconds": median([r["cpu_seconds"] for r in rs]),
                                       "reviews_audit_log": median([r["reviews_audit_log"] for r in rs])})
                               for name, rs in runs.items())}
        path = save("whocan_scale", data)
        print("| exclusive audit, %d bindings, %d roles, %d namespaces | wall (median) | CPU | max RSS | reviews | "
              "violations (confirmed) |" % (data["cluster"]["bindings"], data["cluster"]["roles_all"], len(ns)))
        print("|---|---|---|---|---|---|")
        for name, rs in runs.items():
            m = data["median"][name]
            print("| %s | %.1f s | %.1f s | %.0f MiB | %d | %d (%d) |" % (
                name, m["wall_seconds"], m["cpu_seconds"], m["max_rss_mib"], m["reviews_audit_log"],
                rs[-1]["violations"], rs[-1]["violations_confirmed"]))
        print("results in %s" % path)
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
