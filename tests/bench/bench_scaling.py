#!/usr/bin/env python3
"""Benchmark: steady-state enforce at 84, 400 and 2,000 bindings, three tools, and a plot.

On a dedicated cluster (bench-scaling-1), 4 personas: 4 ClusterRoleBindings + 4 RoleBindings
in each of 20, 99 and 499 namespaces. At each size the bindings are first created by
vmo_role_binding, then every tool runs in steady state (nothing to change), side by side:

- vmo_role_binding, one task (ansible-playbook), ``--reps`` times;
- ``kubectl apply --server-side -f`` of the same objects (one file), ``--reps`` times, after
  one unmeasured apply that makes kubectl a field manager of objects the module created;
- the ``kubernetes.core.k8s`` loop, once per size in ``--kcore-sizes`` (one module process
  per object: on a loaded 2-core machine about 4 s per object, so 2,000 objects would take
  over two hours). Sizes not measured are extrapolated linearly from the last two measured
  sizes, and marked as such in the JSON, the table and the plot.

Also per size: the module's own work in-process (declaration, observe, plan; no Ansible and no
imports), to show how CPU grows with the bindings, and a cProfile of it at the largest size.
Requests (reads / writes) come from the audit log by identity, objects changed from
resourceVersions before and after.

    .venv/bin/python tests/bench/bench_scaling.py [--sizes 84,400,2000] [--kcore-sizes 84,400] [--reps 3]
    .venv/bin/python tests/bench/bench_scaling.py --plot-only     # redraw docs/img from reports/bench
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import peers  # noqa: E402
from tests.bench.common import RESULTS, ROOT, bench_clusters, median, save, stop  # noqa: E402

VMO, KUBECTL, KCORE = "vmo_role_binding", "kubectl apply --server-side", "kubernetes.core.k8s loop"
PLOT = ROOT / "docs" / "img" / "enforce-scaling.png"


def measure(tool, cluster, ident, namespaces, manifests, manifest_file):
    before = peers.versions(cluster)
    window = cluster.audit()
    if tool == VMO:
        seconds, out = peers.run_vmo(ident, namespaces)
        if out["changed"]:
            raise RuntimeError("vmo_role_binding changed something in steady state: %s" % out["summary"])
    elif tool == KCORE:
        seconds, out = peers.run_kcore_loop(ident, manifests, timeout=4 * 3600)
    else:
        seconds, out = peers.run_kubectl_apply(ident, manifest_file)
    reqs = peers.requests_of(window, peers.TOOL_USERS[tool])
    return {"seconds": seconds, "cpu_seconds": out["_cpu"], "reads": reqs["reads"], "writes": reqs["writes"],
            "objects_changed": peers.changed_objects(before, peers.versions(cluster))}


def summarize(runs):
    return {"wall_seconds_median": median([r["seconds"] for r in runs]),
            "cpu_seconds_median": median([r["cpu_seconds"] for r in runs]),
            "wall_seconds": [round(r["seconds"], 3) for r in runs],
            "reads": runs[-1]["reads"], "writes": runs[-1]["writes"],
            "objects_changed": runs[-1]["objects_changed"], "reps": len(runs), "measured": True}


def extrapolate(points, size):
    """Linear in the bindings through the last two measured sizes."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    slope = (y1 - y0) / (x1 - x0)
    return y1 + slope * (size - x1)


def profile_inprocess(ident, namespaces, path):
    prof = cProfile.Profile()
    prof.enable()
    seconds, _res = peers.inprocess_enforce(ident, namespaces)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
    path.write_text("# vmo_role_binding work in-process (steady state, %d namespaces): %.3f s\n%s"
                    % (len(namespaces), seconds, out.getvalue()))
    return seconds


def plot(data, path=PLOT):
    """Two panels: steady-state wall time, and the CPU time of the tool's own processes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = data["sizes"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), dpi=100)
    styles = {VMO: ("tab:green", "o", "vmo_role_binding (one task)"),
              KUBECTL: ("tab:blue", "s", "kubectl apply --server-side -f"),
              KCORE: ("tab:red", "^", "kubernetes.core.k8s loop")}
    panels = (("wall_seconds_median", "wall time, whole invocation (s, log)", "Steady-state wall time (median)"),
              ("cpu_seconds_median", "CPU time of the tool's processes (s, log)", "Steady-state CPU time (median)"))
    for ax, (metric, ylabel, title) in zip(axes, panels):
        for tool, (color, marker, label) in styles.items():
            pts = [(n, data["results"][str(n)][tool]) for n in sizes if tool in data["results"][str(n)]]
            measured = [(n, r[metric]) for n, r in pts if r.get("measured")]
            guessed = [(n, r[metric]) for n, r in pts if not r.get("measured")]
            ax.plot([m[0] for m in measured], [m[1] for m in measured], color=color, marker=marker, label=label)
            if guessed and measured:
                ax.plot([measured[-1][0]] + [g[0] for g in guessed], [measured[-1][1]] + [g[1] for g in guessed],
                        color=color, linestyle="--", marker=marker, markerfacecolor="white",
                        label=label.split(" (")[0] + ", extrapolated")
            for n, y in measured + guessed:
                text = ("~" if (n, y) in guessed else "") + ("%.0f s" % y if y >= 10 else "%.1f s" % y)
                other = data["results"][str(n)].get(KUBECTL if tool == VMO else VMO, {}).get(metric)
                below = tool != KCORE and other is not None and y < other
                ax.annotate(text, (n, y), textcoords="offset points", xytext=(5, -12 if below else 5),
                            fontsize=8, color=color)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(s) for s in sizes])
        ax.minorticks_off()
        low, high = ax.get_ylim()
        ax.set_ylim(low / 1.6, high * 3)
        ax.set_xlim(sizes[0] * 0.8, sizes[-1] * 1.6)
        ax.set_xlabel("bindings (4 cluster-wide + 4 per namespace)")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=11)
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 0.06))
    loads = [x for n in sizes for x in (data["results"][str(n)]["load_average"][0],
                                        data["results"][str(n)]["load_average_end"][0])]
    fig.text(0.5, 0.01, "Enforce with nothing to change. Shared %d-core machine, load average %.0f to %.0f during the "
             "runs: wall times are noisy, CPU times are not.\nCPU: the tool's own processes only; the API server's "
             "work (e.g. kubectl's %d no-op patches at 2,000) shows in the wall time." % (
                 data["machine"]["cores"], min(loads), max(loads), sizes[-1]),
             fontsize=7.5, color="dimgray", ha="center")
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def table(data):
    lines = ["| bindings | tool | steady wall (median) | CPU (median) | reads / writes | objects changed | reps |",
             "|---|---|---|---|---|---|---|"]
    for n in data["sizes"]:
        for tool in (VMO, KUBECTL, KCORE):
            r = data["results"][str(n)].get(tool)
            if not r:
                continue
            if r.get("measured"):
                lines.append("| %d | %s | %.2f s | %.2f s | %d / %d | %d | %d |" % (
                    n, tool, r["wall_seconds_median"], r["cpu_seconds_median"], r["reads"], r["writes"],
                    r["objects_changed"], r["reps"]))
            else:
                lines.append("| %d | %s | ~%.0f s (extrapolated) | ~%.0f s | ~%d / ~%d | - | 0 |" % (
                    n, tool, r["wall_seconds_median"], r["cpu_seconds_median"], r["reads"], r["writes"]))
        ip = data["results"][str(n)]["module_inprocess"]
        lines.append("| %d | (module work in-process: observe + plan) | %.3f s | | %d / %d | | %d |" % (
            n, ip["seconds_median"], ip["reads"], ip["writes"], ip["reps"]))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="84,400,2000")
    ap.add_argument("--kcore-sizes", default="84,400",
                    help="sizes at which the kubernetes.core.k8s loop is measured (once each); others extrapolated")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    ap.add_argument("--plot-only", action="store_true", help="redraw the plot from reports/bench/scaling.json")
    args = ap.parse_args(argv)
    if args.plot_only:
        print(plot(json.loads((RESULTS / "scaling.json").read_text())))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    kcore_sizes = set(int(s) for s in args.kcore_sizes.split(",") if s)

    info = peers.machine()
    (cluster,), started = bench_clusters(1, prefix="bench-scaling")
    try:
        idents = {t: cluster.identity(peers.TOOL_USERS[t]) for t in (VMO, KUBECTL, KCORE)}
        data = {"sizes": sizes, "machine": info, "results": {}, "kcore_sizes_measured": sorted(kcore_sizes)}
        for n in sizes:
            namespaces = peers.namespace_names(peers.namespaces_for(n))
            for ns in namespaces:
                cluster.namespace(ns)
            manifests = peers.render_manifests(namespaces)
            manifest_file = peers.write_manifest(manifests, RESULTS / "work" / ("scaling-%d.yaml" % n))
            _s, first = peers.run_vmo(idents[VMO], namespaces)  # create them (unmeasured here)
            peers.run_kubectl_apply(idents[KUBECTL], manifest_file)  # kubectl becomes a field manager
            res = {"load_average": peers.load_average()}
            runs = {VMO: [], KUBECTL: []}
            for _rep in range(args.reps):
                for tool in (VMO, KUBECTL):
                    runs[tool].append(measure(tool, cluster, idents[tool], namespaces, manifests, manifest_file))
            for tool in runs:
                res[tool] = summarize(runs[tool])
            if n in kcore_sizes:
                res[KCORE] = summarize([measure(KCORE, cluster, idents[KCORE], namespaces, manifests,
                                                manifest_file)])
            inner, window = [], cluster.audit()
            for _rep in range(args.reps):
                seconds, out = peers.inprocess_enforce(idents[VMO], namespaces)
                assert not out["changed"]
                inner.append(seconds)
            reqs = peers.requests_of(window, "bench-vmo")
            res["module_inprocess"] = {"seconds_median": median(inner), "seconds": inner, "reps": args.reps,
                                       "reads": reqs["reads"] // args.reps, "writes": reqs["writes"]}
            res["load_average_end"] = peers.load_average()
            data["results"][str(n)] = res
            print("%5d bindings: %s" % (n, ", ".join("%s %.2f s (%d/%d)" % (
                t, res[t]["wall_seconds_median"], res[t]["reads"], res[t]["writes"])
                for t in (VMO, KUBECTL, KCORE) if t in res)), flush=True)
        largest = peers.namespace_names(peers.namespaces_for(sizes[-1]))
        profile_inprocess(idents[VMO], largest, RESULTS / ("profile-inprocess-%d.txt" % sizes[-1]))

        measured = [(n, data["results"][str(n)][KCORE]) for n in sizes if KCORE in data["results"][str(n)]]
        if len(measured) >= 2:
            for n in sizes:
                if KCORE not in data["results"][str(n)]:
                    data["results"][str(n)][KCORE] = {
                        "measured": False, "reps": 0,
                        "wall_seconds_median": extrapolate([(m, r["wall_seconds_median"]) for m, r in measured], n),
                        "cpu_seconds_median": extrapolate([(m, r["cpu_seconds_median"]) for m, r in measured], n),
                        "reads": round(extrapolate([(m, r["reads"]) for m, r in measured], n)),
                        "writes": round(extrapolate([(m, r["writes"]) for m, r in measured], n)),
                        "how": "linear through the measured sizes %s" % [m for m, _r in measured[-2:]]}
        data["load_average_end"] = peers.load_average()
        path = save("scaling", data)
        print(table(data))
        print("plot: %s; results in %s" % (plot(data), path))
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
