"""A kubeconfig's exec credential plugin, run by the kubernetes client (attack pass, session 4): nothing the
plugin wrote (stderr, or its answer on stdout) reaches a message or a log record, the plugin never gets the
terminal, and a failure says how the plugin ended. Real plugin scripts, the installed client's loader."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster, exec_plugin

TOKEN = "exec-plugin-token-4f1c9a2e7b6d3c8e0a5f"


def plugin(tmp_path, body, name="get-token"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o700)
    return str(path)


def kubeconfig(command, args=()):
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": command, "args": list(args)}}}],
    }


def answer(token=TOKEN, **status):
    doc = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
           "status": dict({"token": token}, **status)}
    return "cat <<'EOF'\n%s\nEOF" % json.dumps(doc)


def load(doc):
    return cluster.build_configuration({"kubeconfig": doc})


@pytest.fixture
def records():
    """Every record of the root logger (where the client logs an exec plugin's failure)."""
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Keep()
    logging.getLogger().addHandler(handler)
    yield seen
    logging.getLogger().removeHandler(handler)


def test_a_failing_plugin_is_named_with_its_exit_status_never_its_stderr(tmp_path, records, capfd):
    """The client raised "exec: process returned 3. login failed: token=<token>" and logged it at ERROR on the
    root logger (printed by Python's last-resort handler in Ansible's worker at every verbosity), then went
    on without a credential (the API server's 403 for system:anonymous). Now the task fails before any
    request, saying how the plugin ended; what it wrote is in no message and no record."""
    cmd = plugin(tmp_path, "echo 'login failed: token=%s' >&2\necho 'second line' >&2\nexit 3" % TOKEN)
    with pytest.raises(cluster.ClusterError) as exc:
        load(kubeconfig(cmd, ["--secret=%s" % TOKEN]))
    message = str(exc.value)
    assert "exec: the credential plugin 'get-token' exited with status 3" in message, message
    assert "(2 lines) is not shown" in message, message
    out, err = capfd.readouterr()
    for shown in [message, out, err] + records:
        assert TOKEN not in shown and "login failed" not in shown, shown
    assert records and all("exited with status 3" in r for r in records), records


def test_a_plugin_killed_by_a_signal_and_one_that_cannot_run(tmp_path, records):
    cmd = plugin(tmp_path, "echo %s >&2\nkill -9 $$" % TOKEN)
    with pytest.raises(cluster.ClusterError) as exc:
        load(kubeconfig(cmd))
    assert "was killed by signal 9 (SIGKILL)" in str(exc.value), str(exc.value)
    with pytest.raises(cluster.ClusterError) as exc:
        load(kubeconfig(str(tmp_path / "no-such-plugin")))
    assert "the credential plugin 'no-such-plugin' cannot be run (No such file or directory)" in str(exc.value)
    assert TOKEN not in " ".join(records)


@pytest.mark.parametrize("stdout, words", [
    ("echo 'not json: %s'" % TOKEN, "answered something that is not JSON (Expecting value: line 1 column 1"),
    ("echo '{\"apiVersion\": \"%s\", \"kind\": \"ExecCredential\", \"status\": {\"token\": \"x\"}}'" % TOKEN,
     "answered with another apiVersion than the kubeconfig's exec.apiVersion"),
    (answer(expirationTimestamp=TOKEN), "a status.expirationTimestamp that is not an RFC 3339 time"),
    (answer(token={"nested": TOKEN}), "a status.token that is not a non-empty string"),
    ("printf '%s \\377\\n' >&2\n%s" % (TOKEN, answer()), "wrote something that is not text in this system's"),
])
def test_an_answer_the_client_would_quote_is_named_not_quoted(tmp_path, records, stdout, words):
    """The client quoted the plugin's apiVersion and its expirationTimestamp (parse_rfc3339's ValueError)."""
    with pytest.raises(cluster.ClusterError) as exc:
        load(kubeconfig(plugin(tmp_path, stdout)))
    assert words in str(exc.value), str(exc.value)
    assert TOKEN not in str(exc.value) and TOKEN not in " ".join(records), (str(exc.value), records)


def test_a_plugin_that_works_gives_its_token_and_its_stderr_goes_nowhere(tmp_path, records, capfd, monkeypatch):
    """With a terminal on stdout (ansible-playbook run by hand; the worker keeps it), kubernetes 26+ gave the
    plugin the terminal: its stderr reached the screen unfiltered. Now it never does, and the plugin is told it
    is not interactive."""
    info = tmp_path / "exec-info.json"
    cmd = plugin(tmp_path, "echo \"$KUBERNETES_EXEC_INFO\" > %s\necho 'got token %s' >&2\n%s" % (info, TOKEN, answer()))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    cfg = load(kubeconfig(cmd))
    assert any(str(v).endswith(TOKEN) for v in cfg.api_key.values()), "the plugin's token is the credential"
    assert json.loads(info.read_text())["spec"]["interactive"] is False
    out, err = capfd.readouterr()
    assert TOKEN not in out + err and "got token" not in out + err and not records


@pytest.mark.parametrize("text, lines, words", [
    ("exec: process returned 1. %s" % TOKEN, None, "exited with status 1; what it wrote on stderr (1 line) is not"),
    ("exec: process returned 2", None, "exited with status 2; it wrote nothing on stderr"),
    ("exec: process returned -15. a.b.c", None, "was killed by signal 15 (SIGTERM)"),
    ("exec: malformed response. missing key 'status'", None, "answered missing key 'status'"),
    ("exec: something new in a later client: %s" % TOKEN, None, "failed (exec)"),
])
def test_failure_messages(text, lines, words):
    message = exec_plugin.failure_message(text, ["/usr/local/bin/kubectl-oidc_login", "--secret=" + TOKEN], lines)
    assert words in message and TOKEN not in message and "'kubectl-oidc_login'" in message, message


def test_install_is_once_and_keeps_the_rest_of_sys():
    kubernetes = cluster._kubernetes()
    from kubernetes.config import exec_provider, kube_config

    first = kube_config.ExecProvider
    exec_plugin.install(kubernetes)
    assert kube_config.ExecProvider is first and first.vmo_rbac_guarded
    assert exec_provider.sys.stdout.isatty() is False
    assert exec_provider.sys.platform == sys.platform and exec_provider.sys.stderr is sys.stderr
    assert os.path  # the client's own module still has what it imports
    assert exec_provider.subprocess.PIPE == subprocess.PIPE and exec_provider.subprocess.Popen is not subprocess.Popen


def _running(pid):
    """Whether process ``pid`` still runs (a zombie, killed and not yet reaped by its new parent, does not)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except OSError:
        return False


def test_a_plugin_that_never_ends_is_stopped_with_its_process_group(tmp_path, records, capfd, monkeypatch):
    """Session 5: the client waits for the plugin without a bound, so a plugin that never ends (a login waiting for
    a browser) held the task forever (seen: this test's load still running after its whole wait). Now it has
    exec_plugin.TIMEOUT seconds; then its process group is killed, the helper it started (which holds its stdout
    open) too, and the task fails naming the command's file name, nothing it wrote, nothing of its environment."""
    monkeypatch.setattr(exec_plugin, "TIMEOUT", 2.0)
    pids = tmp_path / "pids"
    cmd = plugin(tmp_path, "echo 'waiting for the browser: token=%s' >&2\n"
                           "sleep 1000000 &\necho $! >> %s\necho $$ >> %s\n"
                           "while :; do sleep 1; done" % (TOKEN, pids, pids), name="kubectl-oidc_login")
    doc = kubeconfig(cmd, ["--client-secret=%s" % TOKEN])
    doc["users"][0]["user"]["exec"]["env"] = [{"name": "OIDC_SECRET", "value": TOKEN}]
    done = {}

    def go():
        try:
            load(doc)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            done["error"] = exc
        done["finished"] = True

    worker = threading.Thread(target=go, daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        worker.join(45)
        assert done.get("finished"), "the load still waits for the plugin after 45 s (the bound is 2 s)"
        assert time.monotonic() - started < 30
        err = done.get("error")
        assert isinstance(err, cluster.ClusterError), repr(err)
        message = str(err)
        assert "exec: the credential plugin 'kubectl-oidc_login' did not answer within 2 seconds" in message, message
        assert "process group killed" in message, message
        out, errs = capfd.readouterr()
        for shown in [message, out, errs] + records:
            assert TOKEN not in shown and "browser" not in shown and "OIDC_SECRET" not in shown, shown
        listed = [int(p) for p in pids.read_text().split()]
        assert len(listed) == 2
        deadline = time.monotonic() + 10
        while any(_running(p) for p in listed) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in listed if _running(p)], "the plugin or the helper it started still runs"
    finally:
        for p in ([int(x) for x in pids.read_text().split()] if pids.exists() else []):
            for kill in (os.killpg, os.kill):
                try:
                    kill(p, signal.SIGKILL)
                except OSError:
                    pass


def test_a_plugin_that_answers_in_time_is_not_killed(tmp_path, monkeypatch):
    """The bound changes nothing for a plugin that answers (after a moment): its token is used."""
    monkeypatch.setattr(exec_plugin, "TIMEOUT", 5.0)
    cmd = plugin(tmp_path, "sleep 0.5\n" + answer())
    cfg = load(kubeconfig(cmd))
    assert TOKEN in json.dumps(cfg.api_key)


INTERRUPTED = r"""
import sys
sys.path.insert(0, %r)
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster
doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
       "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
       "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
       "users": [{"name": "u", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                  "command": sys.argv[1]}}}]}
cluster.build_configuration({"kubeconfig": doc})
""" % str(Path(__file__).resolve().parents[5] / ".build" / "collections")


def test_an_interrupted_wait_stops_the_plugin_too(tmp_path):
    """The plugin runs in a process group of its own, so Ctrl-C (SIGINT to ansible-playbook's foreground group)
    no longer reaches it: the interrupted wait kills its group, or it would outlive the run."""
    pids = tmp_path / "pids"
    cmd = plugin(tmp_path, "sleep 1000000 &\necho $! >> %s\necho $$ >> %s\nwhile :; do sleep 1; done" % (pids, pids))
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listed = []
    try:
        deadline = time.monotonic() + 180  # a fresh interpreter imports the client first: slow on a loaded machine
        while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        assert pids.exists(), "the plugin did not start"
        listed = [int(p) for p in pids.read_text().split()]
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while any(_running(p) for p in listed) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in listed if _running(p)], "the plugin outlived the interrupted run"
    finally:
        proc.kill()
        for p in listed:
            for kill in (os.killpg, os.kill):
                try:
                    kill(p, signal.SIGKILL)
                except OSError:
                    pass
