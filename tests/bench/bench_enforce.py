#!/usr/bin/env python3
"""Benchmark: enforce 84 bindings, vmo_role_binding vs a kubernetes.core.k8s loop vs kubectl apply.

4 personas: 4 ClusterRoleBindings + 80 RoleBindings across 20 namespaces, on a dedicated
cluster (bench-enforce-1). Side by side in one run, each tool in turn within every
repetition, each tool as an identity of its own (its requests are told apart in the audit
log by user name):

- ``vmo_role_binding`` in one task (one ansible-playbook run);
- ``kubernetes.core.k8s`` looped over the rendered manifests (one ansible-playbook run, one
  module invocation per object); the manifests come from the collection's own planning code,
  so the objects are the ones the module creates (checked: after each peer's first run the
  module, in check mode, finds nothing to change);
- ``kubectl apply --server-side -f`` of the same manifests as one multi-document file;
- for reference (not a target of the issue): one ``kubernetes.core.k8s`` task given all
  the manifests as a ``definition`` list.

"First run" starts from no bench bindings (deleted before each first run, so every first
run creates all of them); "steady state" is the next run, with nothing to change. Wall time
is the whole invocation: the ansible-playbook process for the Ansible tools, the kubectl
process for kubectl. Figures are medians over the repetitions; requests (reads / writes, as
the audit log records them) and objects changed (resourceVersion before/after) are those of
the last repetition (they do not vary).

    .venv/bin/python tests/bench/bench_enforce.py [--reps 5] [--kcore-reps 2] [--keep]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import peers  # noqa: E402
from tests.bench.common import RESULTS, baseline_playbook_seconds, bench_clusters, median, save, stop  # noqa: E402

KCORE_LOOP, KCORE_LIST = "kubernetes.core.k8s loop", "kubernetes.core.k8s list"
VMO, KUBECTL = "vmo_role_binding", "kubectl apply --server-side"
ORDER = (VMO, KUBECTL, KCORE_LIST, KCORE_LOOP)


def measure(tool, cluster, ident, namespaces, manifests, manifest_file):
    before = peers.versions(cluster)
    window = cluster.audit()
    if tool == VMO:
        seconds, out = peers.run_vmo(ident, namespaces)
        out = {"summary": out["summary"], "api_requests": out.get("api_requests"), "_cpu": out["_cpu"]}
    elif tool == KCORE_LOOP:
        seconds, out = peers.run_kcore_loop(ident, manifests)
    elif tool == KCORE_LIST:
        seconds, out = peers.run_kcore_list(ident, manifests)
    else:
        seconds, out = peers.run_kubectl_apply(ident, manifest_file)
    cpu = out.pop("_cpu")
    reqs = peers.requests_of(window, peers.TOOL_USERS[tool])
    after = peers.versions(cluster)
    if len(after) != len(manifests):
        raise RuntimeError("%s: %d bench bindings on the cluster, expected %d" % (tool, len(after), len(manifests)))
    return {"seconds": seconds, "cpu_seconds": cpu, "requests": reqs, "objects_changed": peers.changed_objects(before, after),
            "tool_output": out}


def identical_to_module(vmo_ident, namespaces):
    """After a peer's first run: does vmo_role_binding (check mode) find nothing to change?"""
    _s, res = peers.run_vmo(vmo_ident, namespaces, check=True)
    return not res["changed"] and res["summary"]["unchanged"] == 4 + 4 * len(namespaces)


def summarize(runs):
    last = runs[-1]
    return {"wall_seconds_median": median([r["seconds"] for r in runs]),
            "wall_seconds": [round(r["seconds"], 3) for r in runs],
            "cpu_seconds_median": median([r["cpu_seconds"] for r in runs]),
            "cpu_seconds": [round(r["cpu_seconds"], 3) for r in runs],
            "reads": last["requests"]["reads"], "writes": last["requests"]["writes"],
            "objects_changed": last["objects_changed"], "user_agents": last["requests"]["user_agents"],
            "verbs": last["requests"]["verbs"], "reps": len(runs)}


def paired_ratios(data):
    """peer / ours within each repetition (the same minutes of the same machine), and their median.

    The kubernetes.core.k8s loop runs in fewer repetitions than the others: comparing its median
    with ours over all repetitions would mix different machine loads; these pairs do not."""
    ours = data["tools"][VMO]
    out = {}
    for tool, d in data["tools"].items():
        if tool == VMO:
            continue
        out[tool] = {}
        for phase in ("first", "steady"):
            pairs = [p / o for p, o in zip(d[phase]["wall_seconds"], ours[phase]["wall_seconds"])]
            out[tool][phase] = {"per_rep": [round(x, 2) for x in pairs], "median": median(pairs)}
    return out


def table(data):
    lines = ["| tool | first run: wall (median) | CPU | reads / writes | objects changed "
             "| steady state: wall (median) | CPU | reads / writes | objects changed | reps |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for tool in ORDER:
        d = data["tools"].get(tool)
        if not d:
            continue
        f, s = d["first"], d["steady"]
        lines.append("| %s | %.2f s | %.2f s | %d / %d | %d | %.2f s | %.2f s | %d / %d | %d | %d |" % (
            d["label"], f["wall_seconds_median"], f["cpu_seconds_median"], f["reads"], f["writes"],
            f["objects_changed"], s["wall_seconds_median"], s["cpu_seconds_median"], s["reads"], s["writes"],
            s["objects_changed"], s["reps"]))
    return "\n".join(lines)


LABELS = {
    VMO: "vmo_role_binding, one task (ansible-playbook)",
    KCORE_LOOP: "kubernetes.core.k8s loop over the objects (ansible-playbook)",
    KUBECTL: "kubectl apply --server-side -f (one file)",
    KCORE_LIST: "kubernetes.core.k8s, one task with a definition list (reference)",
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bindings", type=int, default=84)
    ap.add_argument("--reps", type=int, default=5, help="repetitions of vmo_role_binding, kubectl and the k8s list")
    ap.add_argument("--kcore-reps", type=int, default=2,
                    help="repetitions of the kubernetes.core.k8s loop (minutes each on a loaded 2-core machine)")
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    ap.add_argument("--output", default="enforce", help="name of the JSON file in reports/bench (default: enforce)")
    args = ap.parse_args(argv)

    info = peers.machine()
    (cluster,), started = bench_clusters(1, prefix="bench-enforce")
    try:
        namespaces = peers.namespace_names(peers.namespaces_for(args.bindings))
        for ns in namespaces:
            cluster.namespace(ns)
        idents = {t: cluster.identity(u) for t, u in peers.TOOL_USERS.items()}
        manifests = peers.render_manifests(namespaces)
        manifest_file = peers.write_manifest(manifests, RESULTS / "work" / "enforce-manifest.yaml")
        baseline = baseline_playbook_seconds()

        runs = {t: {"first": [], "steady": []} for t in ORDER}
        identical = {}
        loads = []
        for rep in range(max(args.reps, args.kcore_reps)):
            for tool in ORDER:
                if rep >= (args.kcore_reps if tool == KCORE_LOOP else args.reps):
                    continue
                peers.reset(cluster, namespaces)
                first = measure(tool, cluster, idents[tool], namespaces, manifests, manifest_file)
                if tool != VMO and tool not in identical:
                    identical[tool] = identical_to_module(idents[VMO], namespaces)
                steady = measure(tool, cluster, idents[tool], namespaces, manifests, manifest_file)
                runs[tool]["first"].append(first)
                runs[tool]["steady"].append(steady)
                print("rep %d %-32s first %7.2f s (%d/%d)  steady %7.2f s (%d/%d)" % (
                    rep + 1, tool, first["seconds"], first["requests"]["reads"], first["requests"]["writes"],
                    steady["seconds"], steady["requests"]["reads"], steady["requests"]["writes"]), flush=True)
            loads.append(peers.load_average())

        inner = []
        for _ in range(args.reps):  # the module's own work, without ansible-playbook around it
            window = cluster.audit()
            seconds, res = peers.inprocess_enforce(idents[VMO], namespaces)
            assert not res["changed"]
            inner.append(seconds)
        inner_reqs = peers.requests_of(window, "bench-vmo")
        proc = peers.module_process(idents[VMO], namespaces, reps=args.reps, workdir=str(RESULTS / "work"))

        data = {"bindings": len(manifests), "namespaces": len(namespaces), "machine": info,
                "load_average_per_rep": loads, "load_average_end": peers.load_average(),
                "ansible_playbook_baseline_seconds": baseline,
                "objects_identical_to_module": identical,
                "module_inprocess_steady": {"seconds_median": median(inner), "seconds": inner,
                                            "reads": inner_reqs["reads"], "writes": inner_reqs["writes"]},
                "module_process_steady": {"wall_seconds_median": median(proc["wall"]),
                                          "cpu_seconds_median": median(proc["cpu"]), **proc},
                "tools": {}}
        for tool in ORDER:
            if runs[tool]["first"]:
                data["tools"][tool] = {"label": LABELS[tool], "first": summarize(runs[tool]["first"]),
                                       "steady": summarize(runs[tool]["steady"])}
        ours = data["tools"][VMO]
        ratios = {}
        for tool in (KCORE_LOOP, KUBECTL, KCORE_LIST):
            if tool in data["tools"]:
                ratios[tool] = {phase: data["tools"][tool][phase]["wall_seconds_median"]
                                / ours[phase]["wall_seconds_median"] for phase in ("first", "steady")}
                ratios[tool].update({"cpu_" + phase: data["tools"][tool][phase]["cpu_seconds_median"]
                                     / ours[phase]["cpu_seconds_median"] for phase in ("first", "steady")})
        data["ratios_peer_over_ours"] = ratios
        data["paired_ratios_peer_over_ours"] = paired_ratios(data)
        s = ours["steady"]
        data["targets"] = {
            "steady_20x_faster_than_kcore_loop": min(
                ratios.get(KCORE_LOOP, {}).get("steady", 0),
                data["paired_ratios_peer_over_ours"].get(KCORE_LOOP, {}).get("steady", {}).get("median", 0)) >= 20,
            "steady_not_slower_than_kubectl": ratios.get(KUBECTL, {}).get("steady", 0) >= 1,
            "steady_at_most_5_requests": s["reads"] + s["writes"] <= 5,
            "steady_0_writes": s["writes"] == 0,
        }
        path = save(args.output, data)
        print(table(data))
        print("ansible-playbook start-up (one no-op task): %.2f s; module process alone (steady): %.2f s wall, "
              "%.2f s CPU; module work in-process (steady): %.3f s, %d reads"
              % (baseline, data["module_process_steady"]["wall_seconds_median"],
                 data["module_process_steady"]["cpu_seconds_median"],
                 data["module_inprocess_steady"]["seconds_median"], inner_reqs["reads"]))
        for tool, r in ratios.items():
            print("%s / vmo_role_binding: wall first %.1fx, steady %.1fx; CPU first %.1fx, steady %.1fx" % (
                tool, r["first"], r["steady"], r["cpu_first"], r["cpu_steady"]))
        for tool, r in data["paired_ratios_peer_over_ours"].items():
            print("%s / vmo_role_binding, paired within each repetition: first %s, steady %s" % (
                tool, r["first"]["per_rep"], r["steady"]["per_rep"]))
        print("targets: %s" % data["targets"])
        print("objects identical to the module's (check mode finds nothing to change): %s" % identical)
        print("results in %s" % path)
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
