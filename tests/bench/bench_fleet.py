#!/usr/bin/env python3
"""Benchmark: the vmo_rbac role over a fleet of local clusters (25 by default, forks = clusters)
vs one cluster alone, the modules' work in Ansible's worker process vs in module processes.

``--clusters`` dedicated clusters (bench-fleet-1..N), one inventory host each, every host with
the same declaration (4 personas: 4 cluster-wide bindings + 4 RoleBindings in each of 5
namespaces, 24 bindings) and its own client-certificate identity. ``playbooks/enforce.yml`` (the
``vmo.rbac.enforce`` playbook: enforce, validate, report) runs over the N clusters with
``-f N``, and over bench-fleet-1 alone (``--limit``), side by side in every repetition, for each
execution (``vmo_rbac_execution``: ``worker``, the default with connection local; ``module``,
module processes as before):

    per execution: reset all -> fleet first run -> fleet steady run -> reset bench-fleet-1 -> one first -> one steady

Wall time is the whole ansible-playbook process. CPU is that of every process of the run
(ansible-playbook, its workers, module processes: getrusage of the children) plus the clusters'
own processes (etcd, kube-apiserver, kube-controller-manager, from /proc) during the run, so
"CPU per cluster" is what a cluster of the fleet costs this machine. A probe
(tests/bench/cpu_probe, on PYTHONPATH for the run only) splits the controller's CPU into the
ansible-playbook main process, each task's worker processes and the module processes. Runs use
Ansible's default screen output (``vmo_bench_count``, an aggregate callback, counts the module
calls per host). ``--before TREE`` adds the execution ``before``: the role of another checkout
(``git archive <commit> | tar -x -C TREE``), measured the same way. The
modules' own work (the LIST requests, the plan, the SubjectAccessReviews) is measured apart, in
this process on bench-fleet-1 (``enforce.run`` and ``validate.run``), so the breakdown per cluster
separates Ansible's own work, module start-up, and requests and planning.

Module invocations per cluster are counted from the play's results (the role's module tasks that
ran on that host), module processes from the probe, requests per cluster from each cluster's audit
log. Memory: the resident set of every cluster's processes and the machine's available memory.

    .venv/bin/python tests/bench/bench_fleet.py [--clusters 25] [--reps 1] [--executions worker,module] [--keep]
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

from tests.bench import peers  # noqa: E402
from tests.bench.common import ROOT, bench_clusters, median, save, stop  # noqa: E402
from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers.ansible import run_playbook  # noqa: E402

NAMESPACES = 5
MODULE_TASKS = ("Enforce |", "Validate |", "Cluster roles |", "Preflight | The API server")  # the last: before
MODULES = ("vmo.rbac.vmo_role_binding", "vmo.rbac.vmo_rbac_validate", "vmo.rbac.vmo_cluster_roles")
PROBE = ROOT / "tests" / "bench" / "cpu_probe"
CALLBACKS = ROOT / "tests" / "bench" / "callback_plugins"
IDLE_SECONDS = 15
GIB_PER_CLUSTER = 0.5  # etcd, kube-apiserver, kube-controller-manager of one local cluster (measured: ~0.45)


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


def probe_split(lines):
    """The controller's CPU of one run, from the probe's lines: main process, workers per task, modules."""
    main = [x for x in lines if x["kind"] == "playbook"]
    modules = [x for x in lines if x["kind"] and x["kind"].startswith("module:")]
    workers = [x for x in lines if x["kind"] == "worker"]
    per_task = defaultdict(lambda: {"workers": 0, "cpu": 0.0})
    for w in workers:
        t = per_task[(w["task"] or "?").split(" : ")[-1]]
        t["workers"] += 1
        t["cpu"] += w["self"]
    return {"main_process": sum(x["self"] for x in main),
            "workers": sum(x["children"] for x in main) - sum(x["self"] for x in modules),
            "module_processes": sum(x["self"] for x in modules),
            "module_process_count": Counter(x["kind"][len("module:"):] for x in modules),
            "per_task": {k: {"workers": v["workers"], "cpu": round(v["cpu"], 3)} for k, v in per_task.items()}}


def run(inv, names, execution, limit=None, forks=10, before=None):
    """One ansible-playbook run of playbooks/enforce.yml, with Ansible's default screen output (a
    JSON stdout callback would serialize every result: more CPU than a user's run costs). Returns
    (seconds, stats). ``before``: (tree, collections path) of another checkout, for ``before``."""
    with tempfile.NamedTemporaryFile(prefix="vmo-probe-", suffix=".jsonl", delete=False) as f:
        probe = Path(f.name)
    count = probe.with_suffix(".count.json")
    env = {"VMO_CPU_PROBE": str(probe), "VMO_CPU_PROBE_WORKERS": "1", "PYTHONPATH": str(PROBE),
           "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
           "ANSIBLE_CALLBACKS_ENABLED": "vmo_bench_count", "VMO_BENCH_COUNT": str(count)}
    playbook = ROOT / "playbooks" / "enforce.yml"
    if before is not None:
        playbook = before[0] / "playbooks" / "enforce.yml"
        env["ANSIBLE_COLLECTIONS_PATH"] = str(before[1])
    server0 = cpu_ticks(names)
    # "before" runs the other checkout's role as it runs by default (in the worker, where it has the choice)
    extra = {"vmo_rbac_execution": "worker" if execution == "before" else execution}
    seconds, (cpu, run_) = peers.timed(run_playbook, playbook, inventory=inv, limit=limit, args=["-f", str(forks)],
                                       timeout=3600, env=env, extra_vars=extra)
    server = cpu_ticks(names) - server0
    lines = [json.loads(x) for x in probe.read_text().splitlines() if x.strip()]
    probe.unlink()
    if run_.rc != 0:
        raise RuntimeError("enforce.yml failed (rc=%s): %s" % (run_.rc, (run_.stdout + run_.stderr)[-3000:]))
    counted = json.loads(count.read_text())
    count.unlink()
    invocations = dict((host, sum(1 for a in actions if a in MODULES)) for host, actions in counted["ran"].items())
    return seconds, {"controller_cpu_seconds": cpu, "clusters_cpu_seconds": server, "probe": probe_split(lines),
                     "invocations": invocations}


def flows_cpu(cluster, ident, namespaces, reps=3):
    """CPU seconds of the modules' own work on one cluster, in this process: enforce.run (steady: 4
    LISTs and the plan) and validate.run (LISTs, plan, every SubjectAccessReview), medians."""
    from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration as decls
    from ansible_collections.vmo.rbac.plugins.module_utils._core import options
    from ansible_collections.vmo.rbac.plugins.module_utils._flows import enforce, validate
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster

    params = dict(ident.params, owner=peers.OWNER, bindings=peers.declaration(namespaces), request_timeout=30.0,
                  api_retries=5, fail_on_drift=False)
    out = {"enforce": [], "validate": []}
    for _ in range(reps):
        for name, flow in (("enforce", enforce.run), ("validate", validate.run)):
            decl = decls.from_module_args(params)
            opts = options.parse(params, decl)
            t0 = time.process_time()
            cl = Cluster(dict(ident.params, request_timeout=30.0, api_retries=5), component="bench-inprocess",
                         pool_size=opts.concurrency)
            res = flow(decl, opts, cl, check_mode=True)
            out[name].append(time.process_time() - t0)
            if name == "enforce" and res["changed"]:
                raise RuntimeError("flows_cpu expects a converged cluster")
    return {k: round(median(v), 3) for k, v in out.items()}


def breakdown(data, n):
    """Per cluster, steady state: where the CPU goes (seconds), for each execution."""
    out = {}
    flows = data["flows_cpu_seconds"]
    idle = data["idle_cpu_per_cluster_per_second"]
    for execution, runs in data["executions"].items():
        stats = runs["stats"]["fleet steady"]
        wall = runs["wall_seconds"]["fleet"]["steady"][-1]
        p = stats["probe"]
        module_tasks = sum(v["cpu"] for k, v in p["per_task"].items() if k.startswith(MODULE_TASKS))
        flow = flows["enforce"] + flows["validate"]
        row = {
            "ansible_main_process": p["main_process"] / n,
            "ansible_workers_other_tasks": (p["workers"] - module_tasks) / n,
            "module_tasks_in_workers": module_tasks / n,
            "module_processes": p["module_processes"] / n,
            "requests_and_planning (in-process, measured apart)": flow,
            "api_servers (etcd, kube-apiserver, controller-manager)": stats["clusters_cpu_seconds"] / n,
            "api_servers_idle_during_the_run": idle * wall,
            "controller (everything but the API servers)": stats["controller_cpu_seconds"] / n,
            "total": (stats["controller_cpu_seconds"] + stats["clusters_cpu_seconds"]) / n,
        }
        # what the module invocations cost beyond the work itself: module start-up (module processes)
        # or Ansible's per-task work around an in-worker call
        row["module_start_and_task_overhead"] = row["module_tasks_in_workers"] + row["module_processes"] - flow
        row["ansible_own_work"] = row["ansible_main_process"] + row["ansible_workers_other_tasks"]
        out[execution] = {k: round(v, 3) for k, v in row.items()}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, default=25)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--executions", default="worker,module",
                    help="worker, module, and with --before: before (that checkout's role, as it runs)")
    ap.add_argument("--before", type=Path, help="another checkout of the collection (e.g. main before this change)")
    ap.add_argument("--output", default="fleet")
    ap.add_argument("--keep", action="store_true", help="leave the bench clusters running")
    args = ap.parse_args(argv)
    executions = [e for e in args.executions.split(",") if e]
    if ("before" in executions) != bool(args.before):
        ap.error("the execution 'before' needs --before TREE, and --before needs it in --executions")

    info = peers.machine()
    need = args.clusters * GIB_PER_CLUSTER + 2
    have = peers.mem_available_gib()
    running = [c for c in cp.known_clusters() if c.name.startswith("bench-fleet-") and c.load() and c.running()]
    if have + len(running) * GIB_PER_CLUSTER < need:
        raise SystemExit("bench_fleet: %d clusters need about %.0f GiB of memory, %.1f GiB are available; "
                         "try again when the machine has room (or with fewer --clusters)" % (args.clusters, need, have))
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
        names = [c.name for c in clusters]
        # What the clusters burn doing nothing (controllers, leases, etcd): CPU seconds per cluster
        # per second, so that the breakdown can tell the API servers' work for the run from idling.
        t0, idle0 = time.monotonic(), cpu_ticks(names)
        time.sleep(IDLE_SECONDS)
        idle_rate = (cpu_ticks(names) - idle0) / (time.monotonic() - t0) / len(names)
        n = len(clusters)
        data = {"clusters": n, "forks": n, "bindings_per_cluster": 4 + 4 * NAMESPACES, "machine": info,
                "memory": mem, "reps": args.reps, "executions": {}, "load_average_per_rep": [],
                "idle_cpu_per_cluster_per_second": round(idle_rate, 4)}
        with tempfile.TemporaryDirectory(prefix="vmo-bench-fleet-") as tmp:
            inv = inventory(clusters, idents, namespaces, Path(tmp) / "hosts.yml", Path(tmp) / "reports")
            before = None
            if args.before:
                link = Path(tmp) / "before" / "ansible_collections" / "vmo" / "rbac"
                link.parent.mkdir(parents=True)
                link.symlink_to(args.before.resolve())
                before = (args.before.resolve(), Path(tmp) / "before")
                data["before_tree"] = str(args.before)
            for execution in executions:
                data["executions"][execution] = {
                    "wall_seconds": {"fleet": {"first": [], "steady": []}, "one": {"first": [], "steady": []}},
                    "cpu_seconds": {"fleet": {"first": [], "steady": []}, "one": {"first": [], "steady": []}},
                    "stats": {}}
            requests = {}
            for rep in range(args.reps):
                for execution in executions:  # alternating, so that both see the same minutes of the machine
                    e = data["executions"][execution]
                    for c in clusters:
                        peers.reset(c, namespaces)
                    windows = {c.name: c.audit() for c in clusters}
                    for phase in ("first", "steady"):
                        if phase == "steady":
                            windows = {c.name: c.audit() for c in clusters}
                        seconds, stats = run(inv, names, execution, forks=n,
                                             before=before if execution == "before" else None)
                        e["wall_seconds"]["fleet"][phase].append(seconds)
                        e["cpu_seconds"]["fleet"][phase].append(stats["controller_cpu_seconds"]
                                                                + stats["clusters_cpu_seconds"])
                        e["stats"]["fleet " + phase] = stats
                        requests[(execution, phase)] = {name: peers.requests_of(w, "bench-fleet-automation")
                                                        for name, w in windows.items()}
                    peers.reset(clusters[0], namespaces)
                    for phase in ("first", "steady"):
                        seconds, stats = run(inv, names, execution, limit=one, forks=n,
                                             before=before if execution == "before" else None)
                        e["wall_seconds"]["one"][phase].append(seconds)
                        e["cpu_seconds"]["one"][phase].append(stats["controller_cpu_seconds"]
                                                              + stats["clusters_cpu_seconds"])
                        e["stats"]["one " + phase] = stats
                    print("rep %d, %s: fleet first %.1f s steady %.1f s | one cluster first %.1f s steady %.1f s "
                          "(load %s)" % (rep + 1, execution, e["wall_seconds"]["fleet"]["first"][-1],
                                         e["wall_seconds"]["fleet"]["steady"][-1],
                                         e["wall_seconds"]["one"]["first"][-1],
                                         e["wall_seconds"]["one"]["steady"][-1], peers.load_average()), flush=True)
                data["load_average_per_rep"].append(peers.load_average())
        data["flows_cpu_seconds"] = flows_cpu(clusters[0], idents[one], namespaces)
        for execution, e in data["executions"].items():
            e["median"] = {k: {p: median(v[p]) for p in v} for k, v in e["wall_seconds"].items()}
            e["cpu_median"] = {k: {p: median(v[p]) for p in v} for k, v in e["cpu_seconds"].items()}
            e["cpu_per_cluster"] = {p: e["cpu_median"]["fleet"][p] / n for p in ("first", "steady")}
            e["ratio_fleet_over_one"] = {p: e["median"]["fleet"][p] / e["median"]["one"][p] for p in ("first", "steady")}
            e["module_invocations_per_cluster"] = {p: sorted(set(e["stats"]["fleet " + p]["invocations"].values()))
                                                   for p in ("first", "steady")}
            e["module_processes"] = {p: dict(e["stats"]["fleet " + p]["probe"]["module_process_count"])
                                     for p in ("first", "steady")}
            e["target_under_60s"] = {p: e["median"]["fleet"][p] < 60 for p in ("first", "steady")}
        data["breakdown_per_cluster_steady"] = breakdown(data, n)
        data["requests_per_cluster_last_rep"] = {
            "%s %s" % k: {name: {"reads": r["reads"], "writes": r["writes"], "user_agents": r["user_agents"]}
                          for name, r in per.items()} for k, per in requests.items()}
        path = save(args.output, data)

        print("| execution | run | %d clusters, forks=%d: wall | CPU (all) | CPU per cluster | 1 cluster: wall | CPU |"
              % (n, n))
        print("|---|---|---|---|---|---|---|")
        for execution, e in data["executions"].items():
            for p in ("first", "steady"):
                print("| %s | %s | %.1f s | %.0f s | %.2f s | %.1f s | %.1f s |" % (
                    execution, p, e["median"]["fleet"][p], e["cpu_median"]["fleet"][p], e["cpu_per_cluster"][p],
                    e["median"]["one"][p], e["cpu_median"]["one"][p]))
        print("module invocations per cluster: %s" % {x: e["module_invocations_per_cluster"]
                                                      for x, e in data["executions"].items()})
        print("module processes per run: %s" % {x: e["module_processes"] for x, e in data["executions"].items()})
        print("breakdown per cluster, steady state (CPU s): %s" % json.dumps(data["breakdown_per_cluster_steady"],
                                                                           indent=1))
        print("memory: %s" % {k: v for k, v in mem.items() if k != "per_cluster_mib"})
        print("results in %s" % path)
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
