#!/usr/bin/env python3
"""Benchmark: the vmo_rbac role over 10 local clusters with forks=10 vs one cluster alone.

10 dedicated clusters (bench-fleet-1..10), one inventory host each, every host with the same
declaration (4 personas: 4 cluster-wide bindings + 4 RoleBindings in each of 5 namespaces,
24 bindings) and its own client-certificate identity. ``playbooks/enforce.yml`` (the
``vmo.rbac.enforce`` playbook: preflight, enforce, validate, report) runs over the 10 clusters
with ``-f 10``, and over bench-fleet-1 alone (``--limit``), side by side in every repetition:

    reset all -> fleet first run -> fleet steady run -> reset bench-fleet-1 -> one first -> one steady

Wall time is the whole ansible-playbook process. Module invocations per cluster are counted
from the play's results (the role's module tasks that ran on that host) and requests per
cluster from each cluster's audit log, by user agent (``vmo.rbac/<version> (<module>)``).
Memory: the resident set of every cluster's processes (etcd, kube-apiserver,
kube-controller-manager) and the machine's available memory, with 10 clusters running.

    .venv/bin/python tests/bench/bench_fleet.py [--clusters 10] [--reps 3] [--keep]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import peers  # noqa: E402
from tests.bench.common import ROOT, bench_clusters, median, save, stop  # noqa: E402
from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers.ansible import run_playbook  # noqa: E402

NAMESPACES = 5
MODULE_TASKS = ("Preflight |", "Enforce |", "Validate |")


def inventory(clusters, idents, namespaces, path: Path, report_dir: Path) -> Path:
    hosts = {}
    for c in clusters:
        p = idents[c.name].params
        hosts[c.name] = {"vmo_rbac_host": p["host"], "vmo_rbac_ca_cert": p["ca_cert"],
                         "vmo_rbac_client_cert": p["client_cert"], "vmo_rbac_client_key": p["client_key"]}
    inv = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {"vmo_clusters": {
            "hosts": hosts,
            "vars": {"vmo_rbac_owner": peers.OWNER, "vmo_rbac_bindings": peers.declaration(namespaces),
                     "vmo_rbac_report_dir": str(report_dir), "vmo_rbac_report_formats": ["json"]}}}}}
    path.write_text(yaml.safe_dump(inv, sort_keys=False))
    return path


def rss_mib(pid: int) -> float:
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory(names):
    per = {}
    for name in names:
        c = cp.Cluster(name)
        c.load()
        per[name] = {proc: round(rss_mib(pid), 1) for proc, pid in c.state.get("pids", {}).items()}
    avail = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            avail = int(line.split()[1]) / 1024 / 1024
    apiservers = [v.get("kube-apiserver", 0) for v in per.values()]
    return {"per_cluster_mib": per, "apiserver_rss_mib_median": median(apiservers),
            "apiserver_rss_mib_max": max(apiservers),
            "all_cluster_processes_rss_gib": round(sum(sum(v.values()) for v in per.values()) / 1024, 2),
            "machine_mem_available_gib": round(avail, 1)}


def cpu_ticks(names):
    """CPU seconds (user + system) the clusters' processes have used so far."""
    import os

    total = 0
    for name in names:
        c = cp.Cluster(name)
        c.load()
        for pid in c.state.get("pids", {}).values():
            try:
                fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
    return total / os.sysconf("SC_CLK_TCK")


def run(inv, names, limit=None, forks=10):
    """One ansible-playbook run of playbooks/enforce.yml. Returns (seconds, stats)."""
    server0 = cpu_ticks(names)
    seconds, (cpu, run_) = peers.timed(run_playbook, ROOT / "playbooks" / "enforce.yml", inventory=inv,
                                       limit=limit, args=["-f", str(forks)], timeout=3600)
    server = cpu_ticks(names) - server0
    if run_.rc != 0:
        raise RuntimeError("enforce.yml failed (rc=%s): %s" % (run_.rc, (run_.stdout + run_.stderr)[-3000:]))
    invocations = Counter()
    for r in run_.results:
        if r["task"].split(" : ")[-1].startswith(MODULE_TASKS) and not r["result"].get("skipped"):
            invocations[r["host"]] += 1
    enforced = {r["host"]: r["result"].get("summary") for r in run_.results
                if r["task"].split(" : ")[-1].startswith("Enforce |") and not r["result"].get("skipped")}
    return seconds, {"controller_cpu_seconds": cpu, "clusters_cpu_seconds": server,
                     "invocations": dict(invocations), "enforced": enforced}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="leave the bench clusters running")
    args = ap.parse_args(argv)

    info = peers.machine()
    clusters, started = bench_clusters(args.clusters, prefix="bench-fleet")
    try:
        for c in clusters:
            c.wait_for_aggregation()
        namespaces = peers.namespace_names(NAMESPACES)
        for c in clusters:
            for ns in namespaces:
                c.namespace(ns)
        idents = {c.name: c.identity("bench-fleet-automation") for c in clusters}
        one = clusters[0].name
        mem = memory([c.name for c in clusters])
        with tempfile.TemporaryDirectory(prefix="vmo-bench-fleet-") as tmp:
            inv = inventory(clusters, idents, namespaces, Path(tmp) / "hosts.yml", Path(tmp) / "reports")
            names = [c.name for c in clusters]
            runs = {"fleet": {"first": [], "steady": []}, "one": {"first": [], "steady": []}}
            cpu = {"fleet": {"first": [], "steady": []}, "one": {"first": [], "steady": []}}
            invocations, requests, enforced, loads, breakdown = {}, {}, {}, [], {}
            for rep in range(args.reps):
                for c in clusters:
                    peers.reset(c, namespaces)
                windows = {c.name: c.audit() for c in clusters}
                for phase in ("first", "steady"):
                    if phase == "steady":
                        windows = {c.name: c.audit() for c in clusters}
                    seconds, stats = run(inv, names, forks=args.clusters)
                    runs["fleet"][phase].append(seconds)
                    cpu["fleet"][phase].append(stats["controller_cpu_seconds"] + stats["clusters_cpu_seconds"])
                    invocations[phase] = stats["invocations"]
                    breakdown["fleet " + phase] = {k: stats[k] for k in ("controller_cpu_seconds",
                                                                        "clusters_cpu_seconds")}
                    enforced[phase] = stats["enforced"]
                    requests[phase] = {name: peers.requests_of(w, "bench-fleet-automation")
                                       for name, w in windows.items()}
                peers.reset(clusters[0], namespaces)
                for phase in ("first", "steady"):
                    seconds, stats = run(inv, names, limit=one, forks=args.clusters)
                    runs["one"][phase].append(seconds)
                    breakdown["one " + phase] = {k: stats[k] for k in ("controller_cpu_seconds",
                                                                      "clusters_cpu_seconds")}
                    cpu["one"][phase].append(stats["controller_cpu_seconds"] + stats["clusters_cpu_seconds"])
                loads.append(peers.load_average())
                print("rep %d: fleet first %.1f s steady %.1f s | one cluster first %.1f s steady %.1f s" % (
                    rep + 1, runs["fleet"]["first"][-1], runs["fleet"]["steady"][-1], runs["one"]["first"][-1],
                    runs["one"]["steady"][-1]), flush=True)
        data = {"clusters": args.clusters, "forks": args.clusters, "bindings_per_cluster": 4 + 4 * NAMESPACES,
                "machine": info, "load_average_per_rep": loads, "memory": mem, "reps": args.reps,
                "wall_seconds": runs,
                "median": {k: {p: median(v[p]) for p in v} for k, v in runs.items()},
                "cpu_seconds": cpu, "cpu_breakdown_last_rep": breakdown,
                "cpu_seconds_median": {k: {p: median(v[p]) for p in v} for k, v in cpu.items()},
                "module_invocations_per_cluster": invocations,
                "enforce_summary_last_rep": enforced,
                "requests_per_cluster_last_rep": {
                    phase: {name: {"reads": r["reads"], "writes": r["writes"], "user_agents": r["user_agents"]}
                            for name, r in per.items()} for phase, per in requests.items()}}
        data["ratio_fleet_over_one"] = {p: data["median"]["fleet"][p] / data["median"]["one"][p]
                                        for p in ("first", "steady")}
        data["target_under_2x"] = {p: r < 2 for p, r in data["ratio_fleet_over_one"].items()}
        path = save("fleet", data)
        print("| run | %d clusters, forks=%d: wall (median) | CPU | 1 cluster: wall (median) | CPU | wall ratio |"
              % (args.clusters, args.clusters))
        print("|---|---|---|---|---|---|")
        for p in ("first", "steady"):
            print("| %s | %.1f s | %.0f s | %.1f s | %.0f s | %.2fx |" % (
                p, data["median"]["fleet"][p], data["cpu_seconds_median"]["fleet"][p], data["median"]["one"][p],
                data["cpu_seconds_median"]["one"][p], data["ratio_fleet_over_one"][p]))
        print("module invocations per cluster: %s" % invocations)
        print("memory: %s" % {k: v for k, v in mem.items() if k != "per_cluster_mib"})
        print("results in %s" % path)
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
