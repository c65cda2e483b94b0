#!/usr/bin/env python3
"""Prove the static kubeconfig reader (plugins/module_utils/_k8s/kubeconfig.py) against every series of the
official kubernetes client that requirements.txt allows: the sweep of `make kubeconfig-series`.

For each series (the newest release of every major version from requirements.txt's lower bound to the
newest major that tests/compat/newest.txt pins), tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py runs in a
virtualenv with that client: the corpus, its variations and the generated kubeconfigs then compare the
reader's connection with that client's, the series named as proven for the run
(VMO_TEST_PROVE_KUBERNETES_SERIES) whether or not kubeconfig.PROVEN_CLIENT_SERIES lists it yet. A series
whose run passes may join PROVEN_CLIENT_SERIES; one that fails must not.

The virtualenvs: a compatibility matrix virtualenv (.build/compat/<name>, `make compat-venvs`) whose
kubernetes is exactly the version asked for is reused (kubernetes 24.2.0: the "oldest" combination, with
its urllib3 1.26 and PyYAML 5.4); any other version gets a virtualenv of its own under
.build/kubeconfig-series/<version>, built the way `make compat-venvs` builds the matrix's (requirements.txt
and tests/compat/requirements.txt) with tests/constraints.txt's pins except kubernetes, which is that
version (its own dependencies, google-auth before 35, come with it), and except a pin the client's own
requirements exclude, which pip then chooses within the client's range (kubernetes 28 requires
urllib3 < 2 and 34 urllib3 < 2.4; tests/constraints.txt pins 2.8). When another series' virtualenv is
built already, the new one starts as a copy of the nearest and pip moves it to its series (ten minutes
less per series on a loaded machine; packages the copy had that this series does not need stay). A
virtualenv is rebuilt only when those inputs change (a digest in its .installed file).

The matrix's own combinations (oldest, newest) run this differential in every `make test` (compat-unit):
test_kubeconfig.py is part of the unit tests, and with their series proven it compares the reader with
their client instead of checking the hand-off. This sweep adds the series between them.

    .venv/bin/python tests/unit/plugins/module_utils/_k8s/kubeconfig_series.py [--series 24.2.0,37.0.3] [--jobs N] [-- PYTEST_ARGS]

A table (series, version, virtualenv, urllib3 and PyYAML in it, passed, failed, seconds) is printed and written to
.build/kubeconfig-series/results.md; the exit status is 1 when a series failed.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
VENVS = ROOT / ".build" / "kubeconfig-series"
COMPAT_VENVS = ROOT / ".build" / "compat"
TEST = "tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py"
PROVE_SERIES_ENV = "VMO_TEST_PROVE_KUBERNETES_SERIES"
# The newest release of each major version (PyPI, 2026-12-07), from requirements.txt's lower bound up.
NEWEST_OF_SERIES = ("24.2.0", "25.3.0", "26.1.0", "27.2.0", "28.1.0", "29.0.0", "30.1.0", "31.0.0", "32.0.1",
                    "33.1.0", "34.1.0", "35.0.0", "36.0.3", "37.0.3")
VERSION = "import importlib.metadata as m; print(m.version('kubernetes'))"
DEPENDENCIES = "import importlib.metadata as m; print('urllib3 %s, PyYAML %s' % (m.version('urllib3'), m.version('PyYAML')))"
REQUIRES = "import importlib.metadata as m, json; print(json.dumps(m.requires('kubernetes') or []))"


def _key(version):
    return tuple(int(x) for x in re.findall(r"\d+", version))


def series_of(version):
    """'24.2.0' -> '24.' (what kubeconfig.PROVEN_CLIENT_SERIES holds)."""
    return version.split(".")[0] + "."


def allowed_series():
    """NEWEST_OF_SERIES within requirements.txt's lower bound and tests/compat/newest.txt's major."""
    low = re.search(r"^kubernetes>=([\d.]+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    high = re.search(r"^kubernetes==([\d.]+)", (ROOT / "tests" / "compat" / "newest.txt").read_text(), re.M).group(1)
    return [v for v in NEWEST_OF_SERIES if _key(low)[0] <= _key(v)[0] <= _key(high)[0]]


def _installed(python):
    out = subprocess.run([str(python), "-c", VERSION], capture_output=True, text=True, check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def compat_venv(version):
    """The python of a compatibility matrix virtualenv whose kubernetes is ``version``, or None."""
    for marker in sorted(COMPAT_VENVS.glob("*/.installed")):
        python = marker.parent / "bin" / "python"
        if python.exists() and _installed(python) == version:
            return python
    return None


def constraints(version, requires=()):
    """tests/constraints.txt with kubernetes at ``version`` (the text of a constraints file), and the pins
    that the client's own requirements ``requires`` (its Requires-Dist) exclude: a list of (pin, requirement)
    left out, for pip to choose within the client's range (kubernetes 28 wants urllib3 < 2, 34 urllib3 < 2.4,
    where tests/constraints.txt pins 2.8)."""
    from packaging.requirements import Requirement  # pylint: disable=import-outside-toplevel
    from packaging.utils import canonicalize_name  # pylint: disable=import-outside-toplevel

    needs = {}
    for text in requires:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            needs.setdefault(canonicalize_name(req.name), []).append(req)
    lines, dropped = [], []
    for ln in (ROOT / "tests" / "constraints.txt").read_text().splitlines():
        name, sep, pin = ln.partition("==")
        if ln.lower().startswith("kubernetes=="):
            continue
        refused = [r for r in needs.get(canonicalize_name(name), []) if sep and not r.specifier.contains(pin.strip(), prereleases=True)]
        if refused:
            dropped.append((ln.strip(), str(refused[0])))
            continue
        lines.append(ln)
    return "\n".join(lines + ["kubernetes==" + version]) + "\n", dropped


def _inputs_digest(version):
    h = hashlib.sha256(constraints(version)[0].encode())
    for rel in ("requirements.txt", "tests/compat/requirements.txt"):
        h.update((ROOT / rel).read_bytes())
    h.update(sys.version.encode())
    return h.hexdigest()


_BUILD_LOCK = threading.Semaphore(2)  # two pips at a time at most (they share pip's cache), the machine is small


def series_venv(version, python_for_venv=sys.executable, log=print):
    """The python of .build/kubeconfig-series/<version>, built (or rebuilt) when its inputs changed."""
    target = VENVS / version
    marker = target / ".installed"
    digest = _inputs_digest(version)
    if marker.exists() and marker.read_text().strip() == digest:
        return target / "bin" / "python"
    with _BUILD_LOCK:
        log("    building %s (kubernetes %s)" % (target.relative_to(ROOT), version))
        shutil.rmtree(target, ignore_errors=True)
        seed = _seed(version)
        if seed is not None:
            # A copy of another series' virtualenv, then pip moves it to this series (kubernetes and what its
            # requirements change): minutes less per series than a new one, under load. Packages the seed
            # had and this series does not need stay (the reader's outcome does not depend on them).
            log("    %s: from a copy of %s" % (target.relative_to(ROOT), seed.relative_to(ROOT)))
            shutil.copytree(seed, target, symlinks=True)
            for name in (".installed", "dropped-pins.json"):
                (target / name).unlink(missing_ok=True)
        else:
            base = getattr(sys, "_base_executable", None) or python_for_venv
            subprocess.run([base, "-m", "venv", str(target)], check=True)
        python = str(target / "bin" / "python")
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env.pop("PIP_CONSTRAINT", None)
        # The client alone first, to read its own requirements: a pin of tests/constraints.txt they exclude is
        # left to pip (within the client's range), as it would be for a user of that series.
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                        "kubernetes==" + version], check=True, env=env)
        requires = json.loads(subprocess.run([python, "-c", REQUIRES], capture_output=True, text=True, check=True).stdout)
        text, dropped = constraints(version, requires)
        for pin, requirement in dropped:
            log("    %s: %s left to pip (kubernetes %s requires %s)" % (target.relative_to(ROOT), pin, version, requirement))
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write(text)
        try:
            subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            "-r", str(ROOT / "requirements.txt"), "-r", str(ROOT / "tests" / "compat" / "requirements.txt")],
                           check=True, env=dict(env, PIP_CONSTRAINT=fh.name))
        finally:
            os.unlink(fh.name)
        check = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "check", "--disable-pip-version-check"],
                               capture_output=True, text=True, check=False)
        if check.returncode:
            raise SystemExit("kubeconfig-series: %s: pip check: %s" % (target, check.stdout.strip()))
        got = _installed(target / "bin" / "python")
        if got != version:
            raise SystemExit("kubeconfig-series: %s has kubernetes %s, not %s" % (target, got, version))
        marker.write_text(digest + "\n")
        (target / "dropped-pins.json").write_text(json.dumps(dropped) + "\n")
    return target / "bin" / "python"


def _seed(version):
    """The built series virtualenv nearest to ``version`` (by major) to copy, or None."""
    built = [m.parent for m in VENVS.glob("*/.installed") if m.parent.name != version]
    if not built:
        return None
    return min(built, key=lambda d: (abs(_key(d.name)[0] - _key(version)[0]), d.name))


def python_for(version, log=print):
    """(python, where) for ``version``: a matrix virtualenv with exactly that version, else its own."""
    python = compat_venv(version)
    if python is not None:
        return python, str(python.parents[1].relative_to(ROOT))
    python = series_venv(version, log=log)
    return python, str(python.parents[1].relative_to(ROOT))


def _counts(text):
    """{'passed': n, 'failed': n, ...} from pytest's last summary line."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|errors|skipped|deselected)", last)}, last


def run_series(version, pytest_args=(), log=print):
    """Run the differential against kubernetes ``version``; a result row."""
    python, where = python_for(version, log=log)
    VENVS.mkdir(parents=True, exist_ok=True)
    logfile = VENVS / ("%s.log" % version)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env[PROVE_SERIES_ENV] = series_of(version)
    env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    t0 = time.monotonic()
    with open(logfile, "w") as fh:
        rc = subprocess.call([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST, *pytest_args],
                             cwd=str(ROOT), env=env, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - t0
    counts, last = _counts(logfile.read_text(errors="replace"))
    deps = subprocess.run([str(python), "-c", DEPENDENCIES], capture_output=True, text=True, check=False).stdout.strip()
    row = {"series": series_of(version) + "x", "version": version, "venv": where, "rc": rc, "dependencies": deps or "?",
           "passed": counts.get("passed", 0), "failed": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
           "skipped": counts.get("skipped", 0), "seconds": seconds, "summary": last.strip("= "),
           "log": str(logfile.relative_to(ROOT))}
    log("kubernetes %s: %s, %d passed, %d failed, %d skipped in %.0f s (%s)%s" % (
        version, "proven" if rc == 0 else "FAILED", row["passed"], row["failed"], row["skipped"], seconds, where,
        "" if rc == 0 else " (log: %s)" % row["log"]))
    return row


def table(rows):
    load = os.getloadavg()
    out = ["kubeconfig reader against each kubernetes client series, %s (load average %.1f on %d CPUs)"
           % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), load[0], os.cpu_count() or 0), "",
           "| series | version | virtualenv | with | passed | failed | skipped | seconds | result |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append("| %s | %s | %s | %s | %d | %d | %d | %.0f | %s |" % (
            r["series"], r["version"], r["venv"], r["dependencies"], r["passed"], r["failed"], r["skipped"], r["seconds"],
            "proven" if r["rc"] == 0 else "FAILED (%s)" % r["log"]))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", help="comma-separated versions (default: the newest release of every allowed series)")
    ap.add_argument("--jobs", type=int, default=2, help="series run at the same time (default 2; the builds run one at a time)")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args(argv)
    versions = args.series.split(",") if args.series else allowed_series()
    lock = threading.Lock()

    def log(msg):
        with lock:
            print(msg, flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda v: run_series(v, args.pytest_args, log), versions))
    text = table(rows)
    print("\n" + text)
    VENVS.mkdir(parents=True, exist_ok=True)
    (VENVS / "results.md").write_text(text + "\n")
    return 1 if any(r["rc"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
