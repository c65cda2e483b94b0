#!/usr/bin/env python3
"""Benchmark: the cost of one module process, direct credentials vs kubeconfig contexts.

With direct credentials (host plus a token or a client certificate, what AWX's Kubernetes
credential injects) the modules never import the `kubernetes` package, nor with a kubeconfig of
static credentials (module_utils/_k8s/kubeconfig.py); a kubeconfig the static reader hands to the
client (an exec plugin, an auth provider, a key it does not know) imports it. Same cluster, same
identity, same steady-state declaration, runs alternating, each a fresh module process started as
Ansible does (`python -m` on the module with its arguments as JSON): CPU (user + system, of the
process) and wall, medians. The kubeconfig is a fleet-like file (the cluster among 20 others,
`--others`, each with its CA and client certificate inline, as Palette and kind write them),
selected with `context:`.

Cases: `direct`; `kubeconfig` (context, static reader); `kubeconfig-client` (the same file and
context, with one key the reader does not know in the user, so the client loads it: the cost of
the client path in today's code); with `--before TREE`, also `kubeconfig-before`: the same
arguments run by the module of another checkout of the collection (e.g. the commit before the
static reader: `git archive <commit> | tar -x -C TREE`).

    .venv/bin/python tests/bench/bench_startup.py [--reps 7] [--others 20] [--before TREE] [--output startup]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml  # noqa: E402

from tests.bench.common import ROOT, bench_clusters, median, save, stop  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
MODULE = "ansible_collections.vmo.rbac.plugins.modules.vmo_role_binding"


def run_module(args: dict, collections: Path = ROOT / ".build" / "collections", module: str = MODULE):
    """(cpu seconds, wall seconds, result) of one module process (vmo_role_binding by default)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    env = {k: v for k, v in os.environ.items() if not k.startswith("K8S_AUTH_") and k != "KUBECONFIG"}
    env["PYTHONPATH"] = str(collections)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([str(PYTHON), "-m", module, f.name], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(f.name)
    result = json.loads(proc.stdout)
    if result.get("failed"):
        raise RuntimeError("module failed: %s" % result.get("msg"))
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, wall, result


def fleet_kubeconfig(cluster, ident, path: Path, others: int = 20, unknown_key: bool = False) -> Path:
    """A kubeconfig with ``cluster`` among ``others`` unreachable ones, each with a CA and a client
    certificate as inline data; ``unknown_key`` adds a key the static reader does not know to the
    cluster's user (the connection stays the same: the client ignores it)."""
    ca, cert, key = (base64.b64encode(Path(p).read_bytes()).decode()
                     for p in (cluster.ca, ident.params["client_cert"], ident.params["client_key"]))
    user = {"client-certificate-data": cert, "client-key-data": key}
    if unknown_key:
        user["x-bench-unknown"] = "hand this kubeconfig to the client"
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "other-0", "clusters": [], "users": [],
           "contexts": []}
    for name, server, body in [(cluster.name, cluster.server, user)] + [
            ("other-%d" % i, "https://127.0.0.1:%d" % (1 + i), {"client-certificate-data": cert,
                                                                "client-key-data": key}) for i in range(others)]:
        doc["clusters"].append({"name": name, "cluster": {"server": server, "certificate-authority-data": ca}})
        doc["users"].append({"name": name + "-admin", "user": body})
        doc["contexts"].append({"name": name, "context": {"cluster": name, "user": name + "-admin"}})
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def collections_of(tree: Path, workdir: Path) -> Path:
    """A collections path whose ansible_collections/vmo/rbac is ``tree``."""
    link = workdir / "ansible_collections" / "vmo" / "rbac"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(tree.resolve())
    return workdir


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--before", type=Path, help="another checkout of the collection, measured as kubeconfig-before")
    ap.add_argument("--others", type=int, default=20, help="other clusters in the kubeconfig (default 20)")
    ap.add_argument("--output", default="startup")
    args = ap.parse_args(argv)

    (cluster,), started = bench_clusters(1, prefix="bench-startup")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            ident = cluster.identity("bench-startup")
            bindings = [{"persona": p, "groups": ["bench-" + p]} for p in ("power-user", "user", "viewer")]
            common = {"owner": "bench-startup", "bindings": bindings}
            static = fleet_kubeconfig(cluster, ident, Path(tmp) / "config", args.others)
            client = fleet_kubeconfig(cluster, ident, Path(tmp) / "config-client", args.others, unknown_key=True)
            cases = {
                "direct": (dict(ident.params, **common), ROOT / ".build" / "collections"),
                "kubeconfig": (dict(common, kubeconfig=str(static), context=cluster.name),
                               ROOT / ".build" / "collections"),
                "kubeconfig-client": (dict(common, kubeconfig=str(client), context=cluster.name),
                                      ROOT / ".build" / "collections"),
            }
            if args.before:
                cases["kubeconfig-before"] = (dict(common, kubeconfig=str(static), context=cluster.name),
                                              collections_of(args.before, Path(tmp) / "before"))
            run_module(*cases["direct"])  # converge once, then measure the steady state
            for params, collections in cases.values():  # and warm each path's byte-code caches
                run_module(params, collections)
            load_before = os.getloadavg()
            samples = {name: [] for name in cases}
            for _rep in range(args.reps):
                for name, (params, collections) in cases.items():
                    cpu, wall, result = run_module(params, collections)
                    assert not result["changed"] and result["api_requests"] <= 5, result
                    samples[name].append((cpu, wall))
            out = {name: {"cpu_s": median([c for c, _w in s]), "wall_s": median([w for _c, w in s]),
                          "cpu_all": [round(c, 3) for c, _w in s], "wall_all": [round(w, 3) for _c, w in s],
                          "reps": len(s)} for name, s in samples.items()}
            out["loadavg_before"] = load_before
            out["loadavg_after"] = os.getloadavg()
            out["before_tree"] = str(args.before) if args.before else None
            out["kubeconfig_contexts"] = args.others + 1
            out["kubeconfig_bytes"] = static.stat().st_size
        path = save(args.output, out)
        print("module process, steady state (median of %d, load average %.1f -> %.1f):"
              % (args.reps, out["loadavg_before"][0], out["loadavg_after"][0]))
        for name in cases:
            print("  %-18s %.2f s CPU / %.2f s wall" % (name, out[name]["cpu_s"], out[name]["wall_s"]))
        print(path)
    finally:
        stop(started)


if __name__ == "__main__":
    main()
