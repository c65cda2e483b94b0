#!/usr/bin/env python3
"""The compatibility matrix: run the unit tests and a short end-to-end check (tests/compat/test_smoke.py)
in the virtualenv of each combination, against local clusters started once for all of them.

    run.py [NAME ...]      run the combinations (default: every tests/compat/<name>.txt); `make compat`
                           builds their virtualenvs (.build/compat/<name>) first, then calls this;
                           PYTEST_ARGS (environment) are added to each pytest command line
    run.py --step unit     only the unit tests (no cluster): `make compat-unit`, in make test's fast lane
    run.py --step e2e      only the end-to-end tests (clusters): `make compat-e2e`, in the cluster lane
    run.py --pin NAME      re-resolve tests/compat/NAME.txt: install its '# pin:' lines (and the
                           constraints above the '# resolved' line) with requirements.txt and
                           tests/compat/requirements.txt into a scratch virtualenv, then write the
                           resolved versions below that line

Run by the everyday .venv (tests/controlplane needs cryptography); the tests themselves run by the
combination's own interpreter, so ansible-playbook and the modules' Python are that virtualenv's.
The combinations of the unit step run at the same time (--jobs, default: all of them): each is one
pytest process that waits on subprocesses for much of its time, so two of them on this 2-core machine
take little longer than one (docs/development.md, "How long"). The end-to-end step runs them one after
the other (default --jobs 1 there): they share the clusters, and their set-up (the KubeVirt stand-in
objects, the test identities) is not made to race another run's (two at once failed with
"kubevirts.kubevirt.io kubevirt already exists"). The unit step runs
before the end-to-end step, as before. The clusters (end-to-end step only) are started once, stopped
at the end (and die with this process); running ones are reused.
A summary table is printed and written to .build/compat/results.md (results-unit.md or results-e2e.md
for one step); the exit status is 1 when any combination failed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "tests" / "compat"
VENVS = ROOT / ".build" / "compat"
MARKER = "# resolved"
# tests/conftest.py asks for vmo-1..VMO_TEST_CLUSTERS and vmo-bare; started here once, they are
# reused by each combination's pytest instead of being started and stopped per combination.
CLUSTERS = ["vmo-1", "vmo-bare"]
VERSIONS = """
import importlib.metadata as m, sys
names = ["ansible-core", "kubernetes", "urllib3", "PyYAML", "google-re2"]
print("Python %d.%d.%d, " % sys.version_info[:3] + ", ".join("%s %s" % (n, m.version(n)) for n in names))
"""

sys.path.insert(0, str(ROOT))


# Unit tests that need a tool outside the matrix: the rulebooks' test parses them with ansible-rulebook,
# whose supported versions are not the collection's (docs/eda.md), and the environments' test builds
# them with ansible-builder (a build tool, not a requirement of the collection); both run in the
# everyday .venv.
UNIT_IGNORED = ["--ignore=tests/unit/extensions/eda/test_rulebooks.py", "--ignore=tests/unit/test_environments.py"]
# The end-to-end step: the smoke test, and what depends on the ansible-core series itself (2.16 templates
# inventory values that are not marked unsafe; 2.19 trusts none).
E2E = ["tests/compat/test_smoke.py", "tests/integration/test_palette_unsafe.py"]
STEPS = {"unit": ["tests/unit"] + UNIT_IGNORED, "e2e": E2E}

def combinations():
    return sorted(p.stem for p in HERE.glob("*.txt") if p.name != "requirements.txt")


def venv_python(name):
    return VENVS / name / "bin" / "python"


def run_pytest(name, what, log):
    """pytest ``what`` in the combination's virtualenv: (passed, wall seconds, CPU seconds, last line of
    its output). The CPU time (pytest, ansible-playbook, the modules; not the clusters) is about what
    the step takes on a quiet machine, whatever the load here; it is this pytest's own (wait4), so it
    holds while other combinations run at the same time."""
    py = venv_python(name)
    env = dict(os.environ, VMO_TEST_CLUSTERS="1", PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = os.pathsep.join([str(py.parent), str(ROOT / ".tools" / "bin"), env.get("PATH", "")])
    env.pop("VIRTUAL_ENV", None)
    t0 = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.Popen([str(py), "-m", "pytest", *what, "-q", "-p", "no:cacheprovider",
                                 *shlex.split(os.environ.get("PYTEST_ARGS", ""))],
                                cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds, cpu = time.monotonic() - t0, usage.ru_utime + usage.ru_stime
    lines = [ln for ln in Path(log).read_text(errors="replace").splitlines() if ln.strip()]
    summary = re.sub(r" in [0-9.]+s.*$", "", lines[-1].strip("= ")) if lines else "no output"
    return proc.returncode == 0, seconds, cpu, summary


def run(names, steps=("unit", "e2e"), jobs=None):
    from tests.controlplane import controlplane as cp

    missing = [n for n in names if not venv_python(n).exists()]
    if missing:
        sys.exit("compat: no virtualenv for %s; `make compat` builds them" % ", ".join(missing))
    started = []
    if "e2e" in steps:
        try:
            _, started = cp.up(CLUSTERS, owned=True)
        except cp.ControlPlaneError as exc:
            sys.exit("compat: the local control plane could not start: %s" % exc)
    rows = {}
    lock = threading.Lock()

    def one(name, key):
        log = VENVS / name / ("%s.log" % key)
        ok, seconds, cpu, last = run_pytest(name, STEPS[key], log)
        with lock:
            rows[name][key] = (ok, seconds, cpu, last)
            print("    %-6s %-4s %s in %.0f s (CPU %.0f s): %s%s" % (
                name, key, "passed" if ok else "FAILED", seconds, cpu, last,
                "" if ok else " (log: %s)" % log.relative_to(ROOT)), flush=True)

    try:
        for name in names:
            versions = subprocess.run([str(venv_python(name)), "-c", VERSIONS], capture_output=True, text=True,
                                      check=False).stdout.strip() or "(versions unknown)"
            print("==> compat %s: %s" % (name, versions), flush=True)
            rows[name] = {"name": name, "versions": versions}
        for key in steps:
            t0 = time.monotonic()
            at_once = jobs or (len(names) if key == "unit" else 1)  # end-to-end: one after the other (shared clusters)
            with ThreadPoolExecutor(max_workers=at_once) as pool:
                for f in [pool.submit(one, name, key) for name in names]:
                    f.result()
            print("<== compat %s: %.0f s for %d combination(s), %d at once" % (
                key, time.monotonic() - t0, len(names), min(at_once, len(names))), flush=True)
    finally:
        if started:
            cp.down([c.name for c in started])
    table = report([rows[n] for n in names], steps)
    print("\n" + table)
    (VENVS / ("results.md" if len(steps) == len(STEPS) else "results-%s.md" % "-".join(steps))).write_text(table + "\n")
    return 0 if all(rows[n][k][0] for n in names for k in steps) else 1


def report(rows, steps=tuple(STEPS)):
    load = os.getloadavg()
    out = ["Compatibility matrix, %s (load average %.1f on %d CPUs; CPU time: pytest, ansible-playbook and "
           "the modules, not the clusters; the unit step ran its combinations at the same time, the end-to-end "
           "step one after the other unless --jobs said otherwise)"
           % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), load[0], os.cpu_count() or 0), "",
           "| combination | versions | unit tests | end-to-end | CPU time |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = ["%s: %s (%.0f s, CPU %.0f s)" % ("passed" if r[k][0] else "FAILED", r[k][3], r[k][1], r[k][2])
                 if k in steps else "not run (--step)" for k in STEPS]
        out.append("| %s | %s | %s | %s | %.0f s |"
                   % (r["name"], r["versions"], cells[0], cells[1], sum(r[k][2] for k in steps)))
    return "\n".join(out)


def pin(name, python):
    path = HERE / (name + ".txt")
    lines = path.read_text().splitlines()
    keys = [ln.split(" on ")[0] for ln in lines]
    if MARKER not in keys:
        sys.exit("compat: %s has no '%s' line" % (path, MARKER))
    head = lines[:keys.index(MARKER)]
    pins = [ln.split(":", 1)[1].strip() for ln in head if ln.startswith("# pin:")]
    constraints = [ln for ln in head if ln.strip() and not ln.startswith("#")]
    scratch = VENVS / ("pin-" + name)
    shutil.rmtree(scratch, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(scratch)], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(constraints) + "\n")
    try:
        subprocess.run([str(scratch / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(ROOT / "requirements.txt"), "-r", str(HERE / "requirements.txt"), *pins],
                       check=True, env=dict(os.environ, PIP_CONSTRAINT=fh.name))
    finally:
        os.unlink(fh.name)
    frozen = subprocess.run([str(scratch / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    shutil.rmtree(scratch, ignore_errors=True)
    body = sorted((ln for ln in frozen if ln.strip()), key=str.lower)
    path.write_text("\n".join(head + ["%s on %s:" % (MARKER, datetime.date.today().isoformat())] + body) + "\n")
    print("compat: %s re-pinned (%d packages)" % (path.relative_to(ROOT), len(body)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="combinations (default: all)")
    ap.add_argument("--pin", metavar="NAME", help="re-resolve tests/compat/NAME.txt")
    ap.add_argument("--python", default="python3.11", help="interpreter for --pin's scratch virtualenv")
    ap.add_argument("--step", choices=["unit", "e2e", "all"], default="all",
                    help="unit: the unit tests only (no cluster); e2e: the end-to-end tests only; all (default): both")
    ap.add_argument("--jobs", type=int, default=None,
                    help="combinations run at the same time within a step (default: every one in the unit step, "
                         "one in the end-to-end step)")
    args = ap.parse_args(argv)
    if args.pin:
        pin(args.pin, args.python)
        return 0
    names = args.names or combinations()
    unknown = [n for n in names if n not in combinations()]
    if unknown:
        sys.exit("compat: no tests/compat/%s.txt" % ".txt, tests/compat/".join(unknown))
    return run(names, tuple(STEPS) if args.step == "all" else (args.step,), args.jobs)


if __name__ == "__main__":
    sys.exit(main())
