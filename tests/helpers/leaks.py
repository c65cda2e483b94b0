"""No test credential in any output of the whole test suite (issue 18).

Every credential the tests make or invent is registered here (tests/helpers/kube.py: each identity's
private key and each ServiceAccount token; the Palette stand-in's API key; the tokens tests invent on
purpose, wrong or malformed; the local control plane's admin keys). Every output is recorded or
found: what ansible-playbook, ansible-inventory, ansible-runner's artifacts, ansible-rulebook and the
event source said, the Ansible log files and the report files. At the end of the session the
controller (tests/conftest.py) looks for every credential in all of it, in every form it can take in
an output, and fails the run naming the credential's kind and the output, never the value.

How it looks, in linear time over hundreds of megabytes: a credential is cut into its *atoms*, the runs
of 16 or more characters of ``[A-Za-z0-9+/_-]`` (a ServiceAccount token's three parts, each base64 line
of a private key, a test token like ``bad-input-token-1a2b3c-7c1e9a3f5b``), taken from the credential
as it is and from its base64 encoding (``client-key-data``). An output is cut the same way, and a run
that is an atom, or that is one after dropping the first one or two characters (``\\n`` + a key line
in JSON joins its ``n`` to the line), is a leak. Atoms shared by several credentials (a JWT's header,
the ASN.1 prefix every P-256 key starts with) are not secret and are left out.

Where things are kept: ``$VMO_LEAK_DIR`` (set by the session's controller, inherited by xdist workers
and by every process the tests start): ``credentials/<pid>.jsonl`` and ``outputs/<pid>-<n>-<label>``.

Command line, for outputs made outside pytest (the molecule scenario)::

    python -m tests.helpers.leaks check --kubeconfig .controlplane/kubeconfig OUTPUT_FILE_OR_DIR...
    python -m tests.helpers.leaks register --dir D --kubeconfig K; ...; python -m tests.helpers.leaks check --dir D OUT
"""

from __future__ import annotations

import base64
import fnmatch
import itertools
import json
import os
import re
import sys
import threading
from pathlib import Path

DIR_ENV = "VMO_LEAK_DIR"
MIN_ATOM = 16
_ATOM = re.compile(r"[A-Za-z0-9+/_-]{%d,}" % MIN_ATOM)
# Files under the session's temporary directory that are output, not input (inventories, kubeconfigs,
# key files and ansible-runner's env/ are inputs that hold credentials by design).
OUTPUT_PATTERNS = ("vmo-rbac-report.*", "*.log", "*/artifacts/*/stdout", "*/artifacts/*/job_events/*.json",
                   "*/outputs/*")
_counter = itertools.count()
_lock = threading.Lock()


def directory() -> Path | None:
    value = os.environ.get(DIR_ENV)
    return Path(value) if value else None


# ----------------------------------------------------------------------------- credentials


def register(what: str, *values) -> None:
    """Remember credentials (texts or bytes) under a description of what they are."""
    d = directory()
    if d is None:
        return
    lines = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str) and len(v.strip()) >= 8:
            lines.append(json.dumps({"what": what, "value": v}))
    if not lines:
        return
    (d / "credentials").mkdir(parents=True, exist_ok=True)
    with _lock, open(d / "credentials" / ("%d.jsonl" % os.getpid()), "a") as fh:
        fh.write("\n".join(lines) + "\n")


def register_kubeconfig(what: str, path: Path) -> None:
    """Every credential of a kubeconfig file: tokens, passwords, key data, key files it names."""
    import yaml

    doc = yaml.safe_load(Path(path).read_text()) or {}
    for user in doc.get("users") or []:
        body = (user or {}).get("user") or {}
        for key in ("token", "password", "client-key-data"):
            if body.get(key):
                register("%s: %s" % (what, key), body[key])
                if key == "client-key-data":
                    register("%s: client key" % what, base64.b64decode(body[key]))
        if body.get("client-key") and Path(body["client-key"]).is_file():
            register("%s: client key" % what, Path(body["client-key"]).read_text())


def atoms(value: str):
    """The runs of a credential an output would show, as it is and base64-encoded."""
    out = set(_ATOM.findall(value))
    out.update(_ATOM.findall(base64.b64encode(value.encode("utf-8")).decode("ascii")))
    return out


def load_credentials(d: Path):
    """{atom: what} of every registered credential, atoms shared by several credentials left out."""
    owners: dict[str, set] = {}
    what_of: dict[str, str] = {}
    for f in sorted((d / "credentials").glob("*.jsonl")) if (d / "credentials").is_dir() else []:
        for line in f.read_text().splitlines():
            item = json.loads(line)
            for a in atoms(item["value"]):
                owners.setdefault(a, set()).add(item["value"])
                what_of.setdefault(a, item["what"])
    return {a: what_of[a] for a, values in owners.items() if len(values) == 1}


# ------------------------------------------------------------------------------- outputs


def record(label: str, *texts) -> None:
    """Keep an output (texts or bytes) for the check at the end of the session."""
    d = directory()
    if d is None:
        return
    body = "\n".join(t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in texts if t)
    if not body:
        return
    (d / "outputs").mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:80]
    (d / "outputs" / ("%d-%d-%s.txt" % (os.getpid(), next(_counter), safe))).write_text(body)


_ORIGINAL_RUN = None


def record_subprocesses() -> None:
    """From now on, subprocess.run records what every ansible* or molecule command it runs said."""
    import subprocess

    global _ORIGINAL_RUN
    if _ORIGINAL_RUN is not None:
        return
    _ORIGINAL_RUN = subprocess.run

    def run(*args, **kwargs):
        proc = _ORIGINAL_RUN(*args, **kwargs)
        cmd = args[0] if args else kwargs.get("args")
        program = os.path.basename(str(cmd[0] if isinstance(cmd, (list, tuple)) and cmd else cmd).split()[0]) \
            if cmd else ""
        if program.startswith(("ansible", "molecule")):
            record(program + "-" + " ".join(str(c) for c in cmd[1:3]) if isinstance(cmd, (list, tuple)) else program,
                   getattr(proc, "stdout", None), getattr(proc, "stderr", None))
        return proc

    subprocess.run = run


def output_files(roots):
    """The output files under ``roots`` (OUTPUT_PATTERNS)."""
    for root in roots:
        root = Path(root)
        if root.is_file():
            yield root
            continue
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            rel = "/" + str(path.relative_to(root))
            if any(fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(rel, p) for p in OUTPUT_PATTERNS):
                yield path


# --------------------------------------------------------------------------------- check


def leaks_in(text: str, known: dict):
    """The descriptions of the credentials whose atoms appear in ``text``."""
    found = set()
    for run in _ATOM.findall(text):
        for cut in (run, run[1:], run[2:]):
            if cut in known:
                found.add(known[cut])
    return found


def check(roots, d: Path | None = None):
    """[(credential, output)] of every leak, and (files, bytes) scanned."""
    d = d or directory()
    known = load_credentials(d)
    leaks, files, size = [], 0, 0
    for path in output_files(roots):
        try:
            text = path.read_text("utf-8", "replace")
        except OSError:
            continue
        files += 1
        size += len(text)
        for what in sorted(leaks_in(text, known)):
            leaks.append((what, str(path)))
    return leaks, files, size, len(known)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("register", help="remember the credentials of kubeconfig files")
    c = sub.add_parser("check", help="look for the credentials in outputs")
    for p in (r, c):
        p.add_argument("--kubeconfig", action="append", default=[], help="register the credentials of this kubeconfig")
        p.add_argument("--dir", default=os.environ.get(DIR_ENV), help="the registry (default $%s)" % DIR_ENV)
    c.add_argument("outputs", nargs="+", help="output files or directories (files matching %s)" % (OUTPUT_PATTERNS,))
    args = parser.parse_args(argv)
    import tempfile

    d = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="vmo-leaks-"))
    os.environ[DIR_ENV] = str(d)
    for k in args.kubeconfig:
        register_kubeconfig("kubeconfig %s" % k, Path(k))
    if args.command == "register":
        print("leak check: %d credential atoms registered in %s" % (len(load_credentials(d)), d))
        return 0
    leaks, files, size, atoms_n = check([Path(o) for o in args.outputs], d)
    for what, where in leaks:
        print("LEAK: %s in %s" % (what, where))
    print("leak check: %d output files, %.1f MB, %d credential atoms: %s"
          % (files, size / 1e6, atoms_n, "%d leaks" % len(leaks) if leaks else "no credential found"))
    return 1 if leaks or not files or not atoms_n else 0


if __name__ == "__main__":
    sys.exit(main())
