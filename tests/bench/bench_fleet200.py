#!/usr/bin/env python3
"""Benchmark: the vmo_rbac role over a fleet of 200 hosts on 8 local API servers, 0 and 150 ms away.

This machine holds about 25 real control planes; a fleet's cost that grows with the fleet is the
controller's, per host. So ``--hosts`` inventory hosts (200) share ``--servers`` local clusters
(8, ``bench-f200-*``), each host with everything a cluster of its own would need: its own owner
(``vmo_rbac_owner``: the host name), its own 5 namespaces, its own subjects (4 personas: 4
cluster-wide bindings to groups of its own and 4 RoleBindings in each namespace to a group and a
user of its own: 24 bindings, as bench_fleet.py), and its own client-certificate identity, which
the audit log counts. Every host reaches its API server through the fault proxy's latency model
(``tests/helpers/latencylink.py``: the same model below TLS, in a process of its own, so that
910,000 requests (4,547 per host) cost the link a recv and a send per chunk instead of the proxy's HTTP work).

``playbooks/enforce.yml`` (enforce, validate, report) runs over the 200 hosts with ``-f FORKS``
for each tree (``now``: this checkout; ``before``: ``--before TREE``, e.g. main at 7da07ec), the
trees alternating in each repetition so that both see the same minutes of the machine:

    per repetition, per tree: reset every host -> 150 ms first run -> 150 ms steady -> 0 ms steady

Per run: wall time of the whole ansible-playbook process; the controller's CPU (ansible-playbook,
its workers and any module processes: getrusage of the children), split by the CPU probe
(tests/bench/cpu_probe) into the main process and the workers per task; the API servers' CPU
(etcd, kube-apiserver, kube-controller-manager, from /proc); the link process's CPU; the load
average before and after; module calls per host (the ``vmo_bench_count`` callback); requests per
host from each API server's audit log (by the host's user name).

    .venv/bin/python tests/bench/bench_fleet200.py [--hosts 200] [--servers 8] [--forks 50]
        [--phases 150:first,150:steady,0:steady] [--before TREE] [--reps 1] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import bench_fleet, peers  # noqa: E402
from tests.bench.common import bench_clusters, median, save, stop  # noqa: E402
from tests.helpers.kube import AuditWindow  # noqa: E402
from tests.helpers.latencylink import LatencyLinks  # noqa: E402

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_codec

NAMESPACES = 5
PERSONAS = peers.PERSONAS
GIB_PER_SERVER = 0.5
GIB_PER_FORK = 0.08
# The Python that runs ansible-playbook, as ansible-playbook sees itself: a worktree's .venv may be a
# symlink to another checkout's, and an older collection (7da07ec and before) compares the interpreter's path as written
# (a symlinked directory then sends every module call to a module process).
PYTHON = os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))


def host_names(n):
    return ["f200-h%03d" % i for i in range(1, n + 1)]


def namespaces_of(host):
    return ["%s-ns%d" % (host, k) for k in range(1, NAMESPACES + 1)]


def declaration(host):
    """bench_fleet's declaration with subjects of the host's own (each host is its own cluster)."""
    out = [{"persona": p, "groups": ["%s-%s-everywhere" % (host, p)]} for p in PERSONAS]
    out += [{"persona": p, "groups": ["%s-%s" % (host, p)], "users": ["%s@%s.example" % (p, host)],
             "namespaces": namespaces_of(host)} for p in PERSONAS]
    return out


def inventory(hosts, placement, idents, links, path: Path, report_dir: Path) -> Path:
    """One inventory host per fleet host, its API server reached through ``links``."""
    out = {}
    for h in hosts:
        c = placement[h]
        p = idents[h].params
        out[h] = {"vmo_rbac_host": links.url(c.server) if links else c.server, "vmo_rbac_ca_cert": p["ca_cert"],
                  "vmo_rbac_client_cert": p["client_cert"], "vmo_rbac_client_key": p["client_key"],
                  "vmo_rbac_owner": h, "vmo_rbac_bindings": declaration(h)}
    inv = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": PYTHON},
        "children": {"vmo_clusters": {
            "hosts": out,
            "vars": {"vmo_rbac_report_dir": str(report_dir), "vmo_rbac_report_formats": ["json"]}}}}}
    path.write_text(yaml.safe_dump(inv, sort_keys=False))
    return path


def reset(hosts, placement, timeout=300.0):
    """Delete every host's bindings (so that the next run really creates them)."""
    for h in hosts:
        rbac = placement[h].rbac()
        sel = plan_codec.owner_selector(h)
        rbac.delete_collection_cluster_role_binding(label_selector=sel)
        for ns in namespaces_of(h):
            rbac.delete_collection_namespaced_role_binding(ns, label_selector=sel)
    deadline = time.monotonic() + timeout
    for h in hosts:
        while placement[h].bindings(owner=h):
            if time.monotonic() > deadline:
                raise RuntimeError("bindings of %s still there after %ss" % (h, timeout))
            time.sleep(0.2)


def requests_per_host(windows, hosts):
    """{host: {reads, writes, total}} from the audit logs of every server, by the host's user name."""
    per = defaultdict(lambda: {"reads": 0, "writes": 0, "total": 0})
    wanted = set(hosts)
    for w in windows:
        for ev in w.events():
            user = (ev.get("user") or {}).get("username")
            if user not in wanted:
                continue
            r = per[user]
            r["total"] += 1
            r["writes" if AuditWindow.is_write(ev) else "reads"] += 1
    return {h: dict(per[h]) for h in hosts}


def machine():
    """The CPU, cores, memory and software of this run (peers.machine() also asks for kubernetes.core)."""
    import ansible
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "")
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_total_gib": round(os.sysconf("SC_PAGE_SIZE")
            * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1), "python": platform.python_version(),
            "ansible_core": ansible.__version__}


def summary(values):
    values = sorted(values)
    return {"min": values[0], "median": median(values), "max": values[-1]} if values else {}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--servers", type=int, default=8)
    ap.add_argument("--forks", type=int, default=50)
    ap.add_argument("--phases", default="150:first,150:steady,0:steady",
                    help="comma-separated LATENCY_MS:first|steady; a 'first' resets every host before it")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--trees", default="now", help="now and, with --before, before (alternating per repetition)")
    ap.add_argument("--before", type=Path, help="another checkout of the collection (e.g. main at 7da07ec)")
    ap.add_argument("--output", default="fleet200")
    ap.add_argument("--keep", action="store_true", help="leave the bench clusters running")
    args = ap.parse_args(argv)
    trees = [t for t in args.trees.split(",") if t]
    if ("before" in trees) != bool(args.before):
        ap.error("the tree 'before' needs --before TREE, and --before needs it in --trees")
    phases = []
    for item in args.phases.split(","):
        ms, kind = item.split(":")
        if kind not in ("first", "steady"):
            ap.error("a phase is LATENCY_MS:first or LATENCY_MS:steady, got %r" % item)
        phases.append((int(ms), kind))

    need = args.servers * GIB_PER_SERVER + args.forks * GIB_PER_FORK + 1
    if peers.mem_available_gib() < need:
        raise SystemExit("bench_fleet200: about %.0f GiB of memory needed, %.1f GiB available"
                         % (need, peers.mem_available_gib()))
    clusters, started = bench_clusters(args.servers, prefix="bench-f200")
    links = {}
    try:
        for c in clusters:
            c.wait_for_aggregation()
        hosts = host_names(args.hosts)
        placement = {h: clusters[i % len(clusters)] for i, h in enumerate(hosts)}
        t0 = time.monotonic()
        for h in hosts:
            for ns in namespaces_of(h):
                placement[h].namespace(ns)
        idents = {h: placement[h].identity(h) for h in hosts}
        print("%d hosts on %d API servers prepared in %.1f s" % (len(hosts), len(clusters), time.monotonic() - t0),
              flush=True)
        names = [c.name for c in clusters]
        for ms in sorted({ms for ms, _ in phases}):
            links[ms] = LatencyLinks([c.server for c in clusters], ms / 1000.0)
        data = {"hosts": len(hosts), "servers": len(clusters), "forks": args.forks, "bindings_per_host": 24,
                "machine": machine(), "memory": bench_fleet.memory(names), "reps": args.reps,
                "phases": ["%d ms %s" % p for p in phases], "trees": {}}
        with tempfile.TemporaryDirectory(prefix="vmo-bench-f200-") as tmp:
            tmp = Path(tmp)
            invs = {ms: inventory(hosts, placement, idents, links[ms], tmp / ("hosts-%d.yml" % ms), tmp / "reports")
                    for ms in links}
            before = None
            if args.before:
                link = tmp / "before" / "ansible_collections" / "vmo" / "rbac"
                link.parent.mkdir(parents=True)
                link.symlink_to(args.before.resolve())
                before = (args.before.resolve(), tmp / "before")
                data["before_tree"] = str(args.before)
            for tree in trees:
                data["trees"][tree] = {"%d ms %s" % p: [] for p in phases}
            for rep in range(args.reps):
                order = trees if rep % 2 == 0 else list(reversed(trees))
                for tree in order:
                    for ms, kind in phases:
                        if kind == "first":
                            reset(hosts, placement)
                        windows = [c.audit() for c in clusters]
                        load0 = peers.load_average()
                        link0 = links[ms].cpu_seconds()
                        seconds, stats = bench_fleet.run(invs[ms], names, "before" if tree == "before" else "worker",
                                                         forks=args.forks,
                                                         before=before if tree == "before" else None)
                        link_cpu = links[ms].cpu_seconds() - link0
                        load1 = peers.load_average()
                        reqs = requests_per_host(windows, hosts)
                        p = stats["probe"]
                        n = len(hosts)
                        row = {"wall_seconds": round(seconds, 1),
                               "controller_cpu_seconds": round(stats["controller_cpu_seconds"], 1),
                               "controller_cpu_per_host": round(stats["controller_cpu_seconds"] / n, 3),
                               "main_process_cpu_per_host": round(p["main_process"] / n, 3),
                               "workers_cpu_per_host": round(p["workers"] / n, 3),
                               "module_processes_cpu_per_host": round(p["module_processes"] / n, 3),
                               "per_task_cpu_per_host": {k: round(v["cpu"] / n, 3) for k, v in
                                                         sorted(p["per_task"].items(), key=lambda kv: -kv[1]["cpu"])},
                               "workers_per_host": round(sum(v["workers"] for v in p["per_task"].values()) / n, 1),
                               "api_servers_cpu_seconds": round(stats["clusters_cpu_seconds"], 1),
                               "link_cpu_seconds": round(link_cpu, 1),
                               "load_average_before": load0, "load_average_after": load1,
                               "module_calls_per_host": dict(Counter(stats["invocations"].values())),
                               "requests_per_host": {k: summary([r[k] for r in reqs.values()])
                                                     for k in ("reads", "writes", "total")},
                               "hosts_without_requests": sorted(h for h, r in reqs.items() if not r["total"])[:5]}
                        data["trees"][tree]["%d ms %s" % (ms, kind)].append(row)
                        print("rep %d %s %3d ms %-6s: %6.1f s wall, controller %6.1f CPU-s (%.2f per host: main %.2f, "
                              "workers %.2f), API servers %.0f, link %.0f CPU-s, requests/host %s, load %s -> %s"
                              % (rep + 1, tree, ms, kind, seconds, stats["controller_cpu_seconds"],
                                 row["controller_cpu_per_host"], row["main_process_cpu_per_host"],
                                 row["workers_cpu_per_host"], stats["clusters_cpu_seconds"], link_cpu,
                                 row["requests_per_host"]["total"], load0, load1), flush=True)
                        save(args.output, data)
        for tree, per in data["trees"].items():
            data.setdefault("median", {})[tree] = {
                phase: {k: median([r[k] for r in rows]) for k in ("wall_seconds", "controller_cpu_per_host",
                                                                  "main_process_cpu_per_host", "workers_cpu_per_host")}
                for phase, rows in per.items()}
        if "before" in data["trees"] and "now" in data["trees"]:
            data["ratio_now_over_before"] = {
                phase: {k: round(v / data["median"]["before"][phase][k], 3) if data["median"]["before"][phase][k] else None
                        for k, v in m.items()} for phase, m in data["median"]["now"].items()}
        path = save(args.output, data)
        print("| tree | run | %d hosts on %d API servers, forks %d: wall | controller CPU per host | main | workers |"
              % (len(hosts), len(clusters), args.forks))
        print("|---|---|---|---|---|---|")
        for tree, per in data["median"].items():
            for phase, m in per.items():
                print("| %s | %s | %.1f s | %.2f s | %.2f s | %.2f s |" % (
                    tree, phase, m["wall_seconds"], m["controller_cpu_per_host"], m["main_process_cpu_per_host"],
                    m["workers_cpu_per_host"]))
        print(json.dumps(data.get("ratio_now_over_before", {}), indent=1))
        print("results in %s" % path)
    finally:
        for lk in links.values():
            lk.stop()
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
