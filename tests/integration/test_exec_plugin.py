"""A kubeconfig whose user is an exec credential plugin (``users[].user.exec``), on the real local API server,
through ansible-playbook (attack pass, session 4).

The kubernetes client logged a failing plugin's stderr at ERROR on the root logger; in Ansible's worker
Python's last-resort handler printed it at the default verbosity ("errantly sent data directly to stderr"),
with whatever the plugin wrote there (a token, a client secret), and the run went on as system:anonymous
(403). Now: nothing the plugin writes on stderr reaches any output at any verbosity, whether it works or
fails; a failure fails the task before any request, saying how the plugin ended."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.helpers import ansible as ansible_helpers
from tests.helpers import leaks
from tests.helpers.ansible import run_playbook

AUTOMATION_ROLE = Path(__file__).resolve().parents[2] / "files" / "automation-clusterrole.yaml"


def exec_kubeconfig(cluster, tmp_path, script):
    plugin = tmp_path / "get-token"
    plugin.write_text("#!/bin/sh\n" + script + "\n")
    plugin.chmod(0o700)
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "exec",
        "clusters": [{"name": "c", "cluster": {"server": cluster.server, "certificate-authority": str(cluster.ca)}}],
        "contexts": [{"name": "exec", "context": {"cluster": "c", "user": "plugin"}}],
        "users": [{"name": "plugin", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin), "interactiveMode": "Never"}}}],
    }))
    return path


def play(kubeconfig, namespace):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "who", "vmo.rbac.vmo_rbac_access_info": {
            "kubeconfig": str(kubeconfig), "only_capabilities": ["vm.view"], "namespaces": [namespace]}}]}]


def runs(kubeconfig, namespace, tmp_path, monkeypatch, module):
    """The play at the default verbosity and at -vvvv, each with Ansible's log: [(run, everything shown)]."""
    out = []
    for level in (0, 4):
        monkeypatch.setattr(ansible_helpers, "VERBOSITY", level)
        log = tmp_path / ("ansible-%d-%s.log" % (level, module))
        run = run_playbook(play(kubeconfig, namespace), extra_vars={"vmo_rbac_execution": module},
                           env={"ANSIBLE_LOG_PATH": str(log)})
        out.append((run, run.stdout + run.stderr + (log.read_text() if log.exists() else "")))
    return out


@pytest.mark.parametrize("module", ["worker", "module"])
def test_what_a_working_plugin_writes_on_stderr_is_shown_nowhere(cluster, namespaces, uid, tmp_path, monkeypatch,
                                                                 module):
    """A careless plugin that logs the token it got on stderr (a wrapper's ``set -x``), and answers it: the run
    works with that token, and the token is in no output at -v0 or -vvvv (in Ansible's worker and in a module
    process)."""
    ns = namespaces("exec-ok")
    sa = cluster.service_account(ns, "exec-plugin")
    token = sa.params["api_key"]
    cluster.apply_manifest(AUTOMATION_ROLE)
    crb = "exec-plugin-" + uid
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": crb},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "vmo-rbac-automation"},
        "subjects": [{"kind": "ServiceAccount", "name": "exec-plugin", "namespace": ns}]})
    answer = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                         "status": {"token": token}})
    kubeconfig = exec_kubeconfig(cluster, tmp_path, "echo \"+ login: got token %s\" >&2\ncat <<'EOF'\n%s\nEOF"
                                 % (token, answer))
    try:
        for run, shown in runs(kubeconfig, ns, tmp_path, monkeypatch, module):
            leaks.record("test_what_a_working_plugin_writes_on_stderr_is_shown_nowhere", shown)
            assert run.rc == 0, shown[-3000:]
            assert run.task("who")["holders"] is not None
            assert token not in shown and token[-40:] not in shown and "got token" not in shown
    finally:
        cluster.rbac().delete_cluster_role_binding(crb)


@pytest.mark.parametrize("module", ["worker", "module"])
def test_a_failing_plugin_fails_the_task_by_its_exit_status_and_shows_nothing_it_wrote(cluster, namespaces, tmp_path,
                                                                                      monkeypatch, module):
    """A plugin that fails and says why with a token (or a client secret) in its words: the task fails before
    any request with the plugin's exit status; at -v0 the client's log record used to print the words with
    the token."""
    ns = namespaces("exec-fail")
    token = "exec-plugin-stderr-token-" + uuid.uuid4().hex
    leaks.register("a token an exec plugin wrote on its stderr before failing", token)
    kubeconfig = exec_kubeconfig(cluster, tmp_path, "echo \"login refused: token=%s\" >&2\nexit 3" % token)
    audit = cluster.audit()
    for run, shown in runs(kubeconfig, ns, tmp_path, monkeypatch, module):
        leaks.record("test_a_failing_plugin_fails_the_task_by_its_exit_status_and_shows_nothing_it_wrote", shown)
        assert token not in shown and "login refused" not in shown, shown[-3000:]
        assert run.rc != 0
        msg = run.task("who")["msg"]
        assert msg.startswith("kubeconfig: cannot use the file %s: exec: the credential plugin 'get-token' exited "
                              "with status 3; what it wrote on stderr (1 line) is not shown" % kubeconfig), msg
    # failed before any request: no request as system:anonymous (what the run made before)
    assert not [e for e in audit.events() if (e.get("user") or {}).get("username") == "system:anonymous"
                and "vmo.rbac" in (e.get("userAgent") or "")]


def test_direct_credentials_go_through_a_proxy_of_the_environment(admin_identity, namespaces):
    """Attack pass (session 4), beside the exec plugin: host and credentials given directly (AWX's bearer-token
    credential, a client certificate) with HTTPS_PROXY in the environment (an execution environment behind a
    proxy) connected straight to the API server, past the proxy the kubernetes client and kubernetes.core use.
    Now the proxy is used (here one that is not there: the run cannot connect), and NO_PROXY still exempts."""
    ns = namespaces("exec-proxy")
    task = {"name": "who", "vmo.rbac.vmo_rbac_access_info": dict(
        admin_identity.params, only_capabilities=["vm.view"], namespaces=[ns], api_retries=0, request_timeout=5)}
    through = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}],
                           env={"HTTPS_PROXY": "http://127.0.0.1:9"})
    assert through.rc != 0 and "127.0.0.1:9" not in admin_identity.params["host"]
    msg = through.task("who")["msg"]
    assert "proxy" in msg.lower() or "refused" in msg.lower() or "cannot reach" in msg.lower(), msg
    exempt = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}],
                          env={"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"})
    assert exempt.rc == 0, exempt.stdout[-3000:]
