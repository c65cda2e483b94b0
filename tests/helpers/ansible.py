"""Run the collection the way users do: ansible-playbook (and ansible-runner), never by
importing a module's main(). Results come back through the json stdout callback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
BIN = Path(sys.executable).parent
# VMO_TEST_VERBOSITY=4: every ansible-playbook run of the tests at -vvvv (unless a test chooses its own
# verbosity), so that the leak check at the end of the session (tests/helpers/leaks.py) looks at what a
# user sees at the highest verbosity.
VERBOSITY = int(os.environ.get("VMO_TEST_VERBOSITY") or 0)


def verbosity(args=()) -> list:
    """``-vvvv`` (VMO_TEST_VERBOSITY) unless ``args`` set a verbosity already."""
    if VERBOSITY <= 0 or any(str(a).startswith("-v") or str(a) == "--verbose" for a in args):
        return []
    return ["-" + "v" * min(VERBOSITY, 6)]


def ansible_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_HOME": str(ROOT / ".build" / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(ROOT / ".build" / "ansible-tmp"),
        "PATH": str(ROOT / ".tools" / "bin") + os.pathsep + str(BIN) + os.pathsep + env.get("PATH", ""),
    })
    # Never let a developer's own K8S_AUTH_* or kubeconfig leak into a test.
    for k in list(env):
        if k.startswith("K8S_AUTH_") or k == "KUBECONFIG":
            del env[k]
    env.update(extra or {})
    return env


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    results: list  # one result dict per task, in order (json callback)

    def task(self, name: str) -> dict:
        for r in self.results:
            if r["task"] == name:
                return r["result"]
        raise KeyError(name)

    @property
    def last(self) -> dict:
        return self.results[-1]["result"]


def run_playbook(playbook: str | Path | list, *, check=False, diff=False, extra_vars=None, env=None,
                 inventory=None, limit=None, args=(), timeout=600) -> PlaybookRun:
    """Run a playbook (path or list of plays) with the json callback and return the results."""
    with tempfile.TemporaryDirectory(prefix="vmo-play-") as tmp:
        if isinstance(playbook, (list, dict)):
            path = Path(tmp) / "play.yml"
            path.write_text(yaml.safe_dump(playbook if isinstance(playbook, list) else [playbook], sort_keys=False))
        else:
            path = Path(playbook)
        cmd = [str(BIN / "ansible-playbook"), str(path), "-i", str(inventory or "localhost,")]
        if inventory is None:
            cmd += ["-c", "local"]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if limit:
            cmd += ["--limit", limit]
        if extra_vars:
            evf = Path(tmp) / "extra.json"
            evf.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@" + str(evf)]
        cmd += verbosity(args) + list(args)
        # ansible-core has no JSON stdout callback of its own: use the tests' one (shape of ansible.posix.json).
        e = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "vmo_json",
                         "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "callback_plugins"),
                         **(env or {})})
        proc = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=timeout, check=False)
    results = []
    try:
        # the callback's document starts at the last line that is "{" (verbose output may come first)
        start = proc.stdout.rfind("\n{\n")
        out = json.loads(proc.stdout[start + 1 if start >= 0 else proc.stdout.index("{"):])
        for play in out.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task.get("hosts", {}).items():
                    results.append({"task": task["task"]["name"], "host": host, "result": res})
    except ValueError:
        pass
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, results)


def run_module(module: str, args: dict, *, check=False, diff=False, env=None, register_name="module") -> dict:
    """Run one module task on localhost through ansible-playbook; return its result dict
    (with ``rc`` of the playbook added). Failures come back as results, not exceptions."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": register_name, module: args, "ignore_errors": True}]}]
    run = run_playbook(play, check=check, diff=diff, env=env)
    if not run.results:
        raise AssertionError("ansible-playbook produced no result (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (run.rc, run.stdout[-3000:], run.stderr[-3000:]))
    res = dict(run.results[-1]["result"])
    res["_rc"] = run.rc
    res["_stdout"] = run.stdout
    res["_stderr"] = run.stderr
    return res


def ok(res: dict) -> dict:
    """A module result that must have succeeded."""
    assert not res.get("failed"), "module failed: %s" % res.get("msg")
    return res


def failed(res: dict) -> str:
    """A module result that must have failed; its message."""
    assert res.get("failed"), "module did not fail: %s" % {k: v for k, v in res.items() if not k.startswith("_")}
    return res["msg"]
