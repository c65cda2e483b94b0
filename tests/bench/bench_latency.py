#!/usr/bin/env python3
"""Benchmark: a far away cluster. Enforce 84 bindings and validate them through the test fault
proxy adding 0, 50 and 150 ms of round-trip time, vmo.rbac vs kubectl apply vs the
kubernetes.core loop.

One dedicated cluster (bench-latency-1) behind ``tests/helpers/faultproxy.FaultProxy(latency=...)``:
every connection costs two round trips (TCP and TLS handshakes), every request one. Every tool
talks to the proxy with a ServiceAccount token of its own (the proxy forwards the Authorization
header; a client certificate would end at the proxy), with the cluster's CA. Per latency, side by
side in each repetition:

- ``vmo_role_binding``: one task (one ansible-playbook run, the module's work in the worker), with
  the default concurrency (16): its independent LISTs go together and its writes go in waves; and
  the same with ``concurrency: 1`` (one request after the other, as the module did before);
- ``kubectl apply --server-side -f`` of the same 84 objects (one file); its discovery cache is
  warmed once per latency, as it would be for a cluster one works with;
- the ``kubernetes.core.k8s`` loop over the 84 objects (one module process, one connection, a GET
  and a PATCH per object);
- ``vmo_rbac_validate`` of the same declaration: concurrency 16 (default) and 64.

"First run" starts without the bench bindings (deleted before); "steady state" is the next run.
Reported per run: wall time (median), requests (from the proxy's log, by User-Agent: every request
of a tool passes the proxy), writes, connections opened, and sequential round trips: the longest
chain of exchanges the tool waited for one after the other (``FaultProxy.sequential_round_trips``:
a connection set-up counts two).

    .venv/bin/python tests/bench/bench_latency.py [--latencies 0,50,150] [--reps 3] [--kcore-reps 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import peers  # noqa: E402
from tests.bench.common import KUBECTL, bench_clusters, median, save, stop  # noqa: E402
from tests.helpers.faultproxy import FaultProxy  # noqa: E402

NAMESPACES = 20  # 84 bindings, as bench_enforce.py
SA_NAMESPACE = "bench-latency"
ENFORCE_TOOLS = ("vmo_role_binding", "vmo_role_binding, concurrency 1", "kubectl apply --server-side",
                 "kubernetes.core.k8s loop")
VALIDATE_TOOLS = ("vmo_rbac_validate", "vmo_rbac_validate, concurrency 64")
AGENTS = {"vmo": "vmo.rbac/", "kubectl": "kubectl/", "kcore": "OpenAPI-Generator/"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class Token:
    """What a tool needs to reach the cluster through the proxy: URL, CA, bearer token."""

    def __init__(self, url, ca, token, kubeconfig):
        self.params = {"host": url, "ca_cert": str(ca), "api_key": token}
        self.kubeconfig = kubeconfig


def tool_token(cluster, name, url, workdir: Path):
    """A ServiceAccount with cluster-admin, its token, and a kubeconfig that points at ``url``."""
    ident = cluster.service_account(SA_NAMESPACE, name, expiration=24 * 3600)
    rbac = cluster.rbac()
    crb = {"metadata": {"name": "bench-latency-" + name},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
           "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": SA_NAMESPACE}]}
    try:
        rbac.create_cluster_role_binding(crb)
    except Exception:  # pylint: disable=broad-except  # exists from an earlier run (--keep)
        pass
    token = ident.params["api_key"]
    kubeconfig = workdir / ("kubeconfig-" + name)
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": url, "certificate-authority": str(cluster.ca)}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": name}}]}))
    kubeconfig.chmod(0o600)
    return Token(url, cluster.ca, token, kubeconfig)


def run_vmo(module, tok, namespaces, extra=None, timeout=3600):
    args = dict(tok.params, owner=peers.OWNER, bindings=peers.declaration(namespaces), **(extra or {}))
    if module == "vmo.rbac.vmo_rbac_validate":
        args["fail_on_drift"] = False
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "bench", module: args}]}]
    seconds, (_cpu, run) = peers.timed(peers.run_playbook, play, timeout=timeout)
    if run.rc != 0 or not run.results:
        raise RuntimeError("%s failed (rc=%s): %s" % (module, run.rc, (run.stdout + run.stderr)[-3000:]))
    return seconds, run.results[-1]["result"]


def run_kubectl(tok, manifest, cache_dir):
    cmd = [str(KUBECTL), "--kubeconfig", str(tok.kubeconfig), "--cache-dir", str(cache_dir), "apply",
           "--server-side", "--field-manager", "bench-kubectl", "-f", str(manifest)]
    seconds, (_cpu, proc) = peers.timed(subprocess.run, cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("kubectl apply failed: %s" % proc.stderr[-3000:])
    return seconds, {}


def run_kcore(tok, manifests):
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "bench", "kubernetes.core.k8s": dict(tok.params, state="present", definition="{{ item }}"),
                        "loop": "{{ bench_manifests }}", "loop_control": {"label": "{{ item.metadata.name }}"}}]}]
    seconds, (_cpu, run) = peers.timed(peers.run_playbook, play, extra_vars={"bench_manifests": manifests},
                                       env=peers.kcore_env(), timeout=7200)
    if run.rc != 0:
        raise RuntimeError("kubernetes.core.k8s loop failed (rc=%s): %s" % (run.rc, (run.stdout + run.stderr)[-3000:]))
    return seconds, {}


def observed(proxy, agent):
    attempts = proxy.attempts(agent)
    return {"requests": len(attempts),
            "writes": sum(1 for e in attempts if e["method"] in WRITES and "subjectaccessreviews" not in e["path"]),
            "connections": proxy.connections,
            "sequential_round_trips": proxy.sequential_round_trips(agent)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latencies", default="0,50,150", help="round-trip times in ms")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--kcore-reps", type=int, default=1)
    ap.add_argument("--output", default="latency")
    ap.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = ap.parse_args(argv)
    latencies = [int(x) for x in args.latencies.split(",")]

    info = peers.machine()
    (cluster,), started = bench_clusters(1, prefix="bench-latency")
    try:
        cluster.wait_for_aggregation()
        namespaces = peers.namespace_names(NAMESPACES)
        for ns in namespaces + [SA_NAMESPACE]:
            cluster.namespace(ns)
        manifests = peers.render_manifests(namespaces)
        data = {"machine": info, "bindings": len(manifests), "latencies_ms": latencies, "reps": args.reps,
                "kcore_reps": args.kcore_reps, "runs": {}}
        with tempfile.TemporaryDirectory(prefix="vmo-bench-latency-") as tmp:
            tmp = Path(tmp)
            manifest = peers.write_manifest(manifests, tmp / "manifest.yaml")
            for ms in latencies:
                with FaultProxy(cluster.server, cluster.ca, cluster.pki, tmp, latency=ms / 1000.0) as proxy:
                    toks = {t: tool_token(cluster, t, proxy.url, tmp) for t in ("vmo", "kubectl", "kcore")}
                    cache = tmp / ("kubectl-cache-%d" % ms)
                    run_kubectl(toks["kubectl"], manifest, cache)  # discovery cached, as for a cluster in use
                    runs = {t: {"first": [], "steady": []} for t in ENFORCE_TOOLS + VALIDATE_TOOLS}
                    load = []
                    for rep in range(args.reps):
                        plan = [
                            ("vmo_role_binding", "vmo", lambda: run_vmo("vmo.rbac.vmo_role_binding", toks["vmo"],
                                                                        namespaces)),
                            ("vmo_role_binding, concurrency 1", "vmo", lambda: run_vmo(
                                "vmo.rbac.vmo_role_binding", toks["vmo"], namespaces, {"concurrency": 1})),
                            ("kubectl apply --server-side", "kubectl", lambda: run_kubectl(toks["kubectl"], manifest,
                                                                                           cache)),
                        ]
                        if rep < args.kcore_reps:
                            plan.append(("kubernetes.core.k8s loop", "kcore", lambda: run_kcore(toks["kcore"],
                                                                                             manifests)))
                        for tool, who, call in plan:
                            peers.reset(cluster, namespaces)
                            for phase in ("first", "steady"):
                                proxy.schedule()
                                seconds, _out = call()
                                runs[tool][phase].append(dict(observed(proxy, AGENTS[who]), seconds=seconds))
                        for tool, extra in (("vmo_rbac_validate", None),
                                            ("vmo_rbac_validate, concurrency 64", {"concurrency": 64})):
                            proxy.schedule()
                            seconds, res = run_vmo("vmo.rbac.vmo_rbac_validate", toks["vmo"], namespaces, extra)
                            if not res.get("passed"):
                                raise RuntimeError("validation did not pass: %s" % res.get("msg"))
                            runs[tool]["steady"].append(dict(observed(proxy, AGENTS["vmo"]), seconds=seconds,
                                                             checks=res["summary"]["checks"]))
                        load.append(peers.load_average())
                        print("%d ms, rep %d: %s" % (ms, rep + 1, ", ".join(
                            "%s %s %.1f s" % (t, p, v[p][-1]["seconds"]) for t, v in runs.items() for p in v
                            if v[p])), flush=True)
                    data["runs"][str(ms)] = {
                        "load_average_per_rep": load,
                        "tools": {t: {p: {"wall_seconds_median": median([r["seconds"] for r in v]),
                                          "wall_seconds": [round(r["seconds"], 2) for r in v],
                                          **{k: v[-1][k] for k in v[-1] if k != "seconds"}}
                                      for p, v in phases.items() if v}
                                  for t, phases in runs.items()}}
        path = save(args.output, data)
        print("| RTT | tool | first run: wall | requests (writes) | sequential round trips | steady: wall "
              "| requests (writes) | sequential round trips |")
        print("|---|---|---|---|---|---|---|---|")
        for ms in latencies:
            tools = data["runs"][str(ms)]["tools"]
            for t in ENFORCE_TOOLS + VALIDATE_TOOLS:
                d = tools.get(t) or {}
                cells = []
                for p in ("first", "steady"):
                    x = d.get(p)
                    cells += (["%.2f s" % x["wall_seconds_median"], "%d (%d)" % (x["requests"], x["writes"]),
                               str(x["sequential_round_trips"])] if x else ["", "", ""])
                print("| %d ms | %s | %s |" % (ms, t, " | ".join(cells)))
        print(path)
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
