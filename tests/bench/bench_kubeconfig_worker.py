#!/usr/bin/env python3
"""Benchmark: a kubeconfig per task in Ansible's worker, the static reader vs the official client's
loader with the client imported once in the controller before Ansible forks its workers.

With connection local the collection's action plugins run the module in the worker that Ansible
forks for each task (plugins/plugin_utils/in_worker.py), and the action plugin imports the module's
code in the controller, so whatever that code imports at the top is paid once per run and inherited
by every worker. The question of issue 21 item 6: if ``kubernetes`` were imported there, would the
client's loader cost a task no more than the hand-written reader (module_utils/_k8s/kubeconfig.py)?

Three variants of this checkout, each a copy made by this script:

- ``reader``: as it is (a static kubeconfig is read by module_utils/_k8s/kubeconfig.py, no ``kubernetes``);
- ``client-preimport``: every kubeconfig handed to the client (kubeconfig.PROVEN_CLIENT_SERIES
  matches no version), and cluster.py importing ``kubernetes.client`` and ``kubernetes.config`` at
  its top: imported in the controller when the action plugin loads, before any fork;
- ``client``: handed to the client, imported in each worker (what a hand-off costs today).

Per variant, plays of ``--tasks`` and of 1 ``vmo_role_binding`` task (check mode, steady state,
24 bindings, the identity's kubeconfig selected with ``context:``) on one host with connection
local, alternating; per task = (CPU or wall of the long play - the short one) / (tasks - 1); the
controller's CPU is every process of the run (getrusage of the children). Also the run's fixed
cost (the 1-task play), where a pre-import shows.

    .venv/bin/python tests/bench/bench_kubeconfig_worker.py [--tasks 21] [--reps 3] [--cluster bench-f200-1]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import peers  # noqa: E402
from tests.bench.common import ROOT, bench_clusters, median, save, stop  # noqa: E402
from tests.helpers.ansible import run_playbook  # noqa: E402

PYTHON = os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))
VARIANTS = ("reader", "client-preimport", "client")
IGNORE = shutil.ignore_patterns(".git", ".venv", ".tools", ".tools-peers", ".build", ".controlplane", "reports",
                                "__pycache__", "tests")


def make_variant(name, dest: Path) -> Path:
    """A copy of this checkout as the variant ``name``; returns its collections path."""
    tree = dest / name / "ansible_collections" / "vmo" / "rbac"
    shutil.copytree(ROOT, tree, ignore=IGNORE, symlinks=True)
    mu = tree / "plugins" / "module_utils"
    if name != "reader":
        kc = mu / "kubeconfig.py"
        text, n = re.subn(r'^PROVEN_CLIENT_SERIES = .*$', 'PROVEN_CLIENT_SERIES = ("never.",)', kc.read_text(),
                          flags=re.M)
        assert n == 1
        kc.write_text(text)
    if name == "client-preimport":
        cl = mu / "cluster.py"
        text = cl.read_text()
        anchor = "from ansible_collections.vmo.rbac.plugins.module_utils._http.version import __version__\n"
        assert anchor in text
        cl.write_text(text.replace(anchor, anchor + "import kubernetes.client  # noqa: E402  (the pre-import measured)\n"
                                   "import kubernetes.config  # noqa: E402\n", 1))
    return dest / name


def play(ident, context, namespaces, owner, tasks):
    args = {"kubeconfig": str(ident.kubeconfig), "context": context, "owner": owner,
            "bindings": peers.declaration(namespaces)}
    return [{"hosts": "localhost", "gather_facts": False,
             "vars": {"ansible_python_interpreter": PYTHON},
             "tasks": [{"name": "task %d" % i, "vmo.rbac.vmo_role_binding": args, "check_mode": True}
                       for i in range(tasks)]}]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=21)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cluster", default="bench-kcw", help="prefix of the bench cluster (started if not running)")
    ap.add_argument("--output", default="kubeconfig-worker")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    clusters, started = bench_clusters(1, prefix=args.cluster)
    c = clusters[0]
    try:
        namespaces = ["kcw-%d" % i for i in range(5)]
        for ns in namespaces:
            c.namespace(ns)
        ident = c.identity("bench-kcw")
        owner = "bench-kcw"
        # a kubeconfig of the identity, selected by context (the reader's static case)
        context = [line.split(":", 1)[1].strip() for line in ident.kubeconfig.read_text().splitlines()
                   if line.startswith("current-context:")][0]
        out = {"tasks": args.tasks, "reps": args.reps, "variants": {}, "load": []}
        with tempfile.TemporaryDirectory(prefix="vmo-bench-kcw-") as tmp:
            paths = {v: make_variant(v, Path(tmp)) for v in VARIANTS}
            # converge once, so that every measured task is a steady-state check-mode run
            first = play(ident, context, namespaces, owner, 1)
            first[0]["tasks"][0]["check_mode"] = False
            run_playbook(first, env={"ANSIBLE_COLLECTIONS_PATH": str(paths["reader"])})
            raw = {v: {"long": [], "short": []} for v in VARIANTS}
            for rep in range(args.reps):
                order = VARIANTS if rep % 2 == 0 else tuple(reversed(VARIANTS))
                for v in order:
                    for kind, n in (("long", args.tasks), ("short", 1)):
                        env = {"ANSIBLE_COLLECTIONS_PATH": str(paths[v]), "ANSIBLE_STDOUT_CALLBACK": "default"}
                        seconds, (cpu, res) = peers.timed(run_playbook, play(ident, context, namespaces, owner, n), env=env)
                        if res.rc != 0:
                            raise RuntimeError("%s failed: %s" % (v, (res.stdout + res.stderr)[-2000:]))
                        raw[v][kind].append((seconds, cpu))
                out["load"].append(peers.load_average())
                print("rep %d done, load %s" % (rep + 1, peers.load_average()), flush=True)
        for v in VARIANTS:
            long_w, long_c = median([x[0] for x in raw[v]["long"]]), median([x[1] for x in raw[v]["long"]])
            short_w, short_c = median([x[0] for x in raw[v]["short"]]), median([x[1] for x in raw[v]["short"]])
            out["variants"][v] = {"raw": raw[v], "per_task_cpu": round((long_c - short_c) / (args.tasks - 1), 3),
                                  "per_task_wall": round((long_w - short_w) / (args.tasks - 1), 3),
                                  "one_task_run_cpu": round(short_c, 2), "one_task_run_wall": round(short_w, 2)}
        path = save(args.output, out)
        print("| variant | per task: CPU | wall | a 1-task run: CPU | wall |")
        print("|---|---|---|---|---|")
        for v, r in out["variants"].items():
            print("| %s | %.3f s | %.3f s | %.2f s | %.2f s |" % (v, r["per_task_cpu"], r["per_task_wall"],
                                                             r["one_task_run_cpu"], r["one_task_run_wall"]))
        print("load %s; results in %s" % (out["load"], path))
    finally:
        if not args.keep:
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
