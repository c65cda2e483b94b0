#!/usr/bin/env python3
"""Benchmark: a large Palette inventory under Palette's rate limit (issue 22 item 3).

The Palette stand-in (tests/helpers/palette_standin.py) with its per-client-IP limiter switched on
(10 requests per second, a burst of 5, 429 TooManyRequests beyond, as Palette documents its limit)
serves ``--clusters`` VMO clusters in one project. ``ansible-inventory --list`` of the vmo.rbac.palette
inventory (concurrency 8, the default) reads them: one search per 50 clusters and one profiles request
per cluster. Each tree's collection runs in turn in the same invocation (``--before TREE``: the
collection built in another checkout, TREE/.build/collections, e.g. a worktree of 7da07ec), each
against a fresh limiter: requests and 429s from the stand-in's log, wall time (of ansible-inventory, and
from its first request to its last), the hosts the inventory made and the hosts it marked with an
error, against requests / limit.

    .venv/bin/python tests/bench/bench_palette_rate.py [--clusters 1000] [--before TREE] [--output palette_rate]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml  # noqa: E402

from tests.bench.common import ROOT, save  # noqa: E402
from tests.helpers.ansible import BIN, ansible_env  # noqa: E402
from tests.helpers.palette_standin import PaletteStandIn, load_spec  # noqa: E402

LIMIT, BURST = 10.0, 5.0


def run_tree(label, collections, standin, directory, project, clusters):
    standin.rate_limit(LIMIT, BURST)
    mark = standin.mark()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fleet.palette.yml"
    path.write_text(yaml.safe_dump({"plugin": "vmo.rbac.palette", "ca_cert": standin.ca_cert, "projects": [project],
                                    "kubeconfig": "admin", "concurrency": 8}))
    env = ansible_env({"ANSIBLE_INVENTORY_ENABLED": "vmo.rbac.palette", "ANSIBLE_COLLECTIONS_PATH": str(collections),
                       "SPECTROCLOUD_HOST": standin.url, "SPECTROCLOUD_APIKEY": standin.api_key})
    load = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list"], capture_output=True, text=True,
                          env=env, timeout=3600, check=False)
    seconds = time.monotonic() - started
    calls = standin.since(mark)
    standin.rate_limit(0)
    hosts = errors = None
    if proc.returncode == 0:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
        hostvars = doc.get("_meta", {}).get("hostvars", {})
        hosts = len(hostvars)
        errors = sum(1 for v in hostvars.values() if "vmo_rbac_inventory_error" in v)
    requests = len(calls)
    span = (max(c["at"] for c in calls) - min(c["at"] for c in calls)) if calls else 0.0
    answered = sum(1 for c in calls if c["status"] != 429)
    out = {"tree": label, "rc": proc.returncode, "seconds": round(seconds, 1), "first_to_last_request_s": round(span, 1),
           "requests": requests,
           "answered": answered, "429s": requests - answered, "hosts": hosts, "hosts_with_error": errors,
           "requests_over_limit_s": round(requests / LIMIT, 1), "answered_over_limit_s": round(answered / LIMIT, 1),
           "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}
    statuses = {}
    for c in calls:
        statuses[str(c["status"])] = statuses.get(str(c["status"]), 0) + 1
    out["statuses"] = statuses  # None: the client went away before the answer (its read timeout, under load)
    if proc.returncode != 0:
        out["stderr_tail"] = proc.stderr[-600:]
    print(json.dumps(out), flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--before", help="another checkout whose .build/collections is today's tree")
    ap.add_argument("--output", default="palette_rate")
    args = ap.parse_args(argv)
    trees = []
    if args.before:
        trees.append(("before", Path(args.before).resolve() / ".build" / "collections"))
    trees.append(("after", ROOT / ".build" / "collections"))
    with tempfile.TemporaryDirectory(prefix="bench-palette-rate-") as tmp:
        standin = PaletteStandIn(Path(tmp) / "standin", spec=load_spec()).start()
        try:
            project = standin.add_project("fleet")
            for i in range(args.clusters):
                standin.add_cluster(project, "c%04d" % i)
            runs = [run_tree(label, coll, standin, Path(tmp) / label, project, args.clusters) for label, coll in trees]
        finally:
            standin.stop()
    save(args.output, {"clusters": args.clusters, "limit": LIMIT, "burst": BURST, "runs": runs,
                       "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()})


if __name__ == "__main__":
    main()
