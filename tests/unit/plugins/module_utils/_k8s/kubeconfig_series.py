#!/usr/bin/env python3
"""Prove the static kubeconfig reader (plugins/module_utils/_k8s/kubeconfig.py) against every series of the
official kubernetes client that requirements.txt allows, one series after the other.

For each series (the newest release of every major version from requirements.txt's lower bound to the
newest that tests/compat/newest.txt pins), the client is installed alone (``pip install --no-deps
--target .build/kubeconfig-series/<version>``; its dependencies are the test environment's) and
tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py runs with it first on PYTHONPATH and the series named as proven
(VMO_TEST_PROVE_KUBERNETES_SERIES): the corpus, its variations and the generated kubeconfigs then
compare the reader's connection with that client's. A series whose run passes may join
kubeconfig.PROVEN_CLIENT_SERIES; one that fails must not.

    .venv/bin/python tests/unit/plugins/module_utils/_k8s/kubeconfig_series.py [--series 24.2.0,37.0.3] [-- PYTEST_ARGS]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
TARGET = ROOT / ".build" / "kubeconfig-series"
# The newest release of each major version (PyPI, 2026-12-07), from requirements.txt's lower bound up.
NEWEST_OF_SERIES = ("24.2.0", "25.3.0", "26.1.0", "27.2.0", "28.1.0", "29.0.0", "30.1.0", "31.0.0", "32.0.1",
                    "33.1.0", "34.1.0", "35.0.0", "36.0.3", "37.0.3")


def allowed_series():
    """NEWEST_OF_SERIES within requirements.txt's lower bound and tests/compat/newest.txt's major."""
    low = re.search(r"^kubernetes>=([\d.]+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    high = re.search(r"^kubernetes==([\d.]+)", (ROOT / "tests" / "compat" / "newest.txt").read_text(), re.M).group(1)
    key = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    return [v for v in NEWEST_OF_SERIES if key(v)[0] >= key(low)[0] and key(v)[0] <= key(high)[0]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", help="comma-separated versions (default: every allowed series)")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args(argv)
    versions = args.series.split(",") if args.series else allowed_series()
    results = {}
    for v in versions:
        target = TARGET / v
        if not (target / "kubernetes" / "__init__.py").exists():
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                            "--target", str(target), "kubernetes==" + v], check=True)
        if not (target / "google" / "auth").exists():  # series before 30 import google.auth unconditionally
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target),
                            "-c", str(ROOT / "tests" / "constraints.txt"), "google-auth"], check=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
                   VMO_TEST_PROVE_KUBERNETES_SERIES=".".join(v.split(".")[:1]) + ".")
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py",
                              "--deselect", "tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py::test_pinned_client_is_a_proven_series",
                              "--deselect", "tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py::test_other_client_series_hands_everything_to_the_client"]
                             + args.pytest_args, cwd=str(ROOT), env=env)
        results[v] = {"rc": rc, "seconds": round(time.monotonic() - t0, 1)}
        print("kubernetes %s: %s (%.0f s)" % (v, "proven" if rc == 0 else "FAILED", results[v]["seconds"]), flush=True)
    print(json.dumps(results, indent=1))
    return 1 if any(r["rc"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
