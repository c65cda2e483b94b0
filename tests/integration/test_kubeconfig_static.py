"""Kubeconfigs against the real control plane: static credentials are read without the kubernetes
package (plugins/module_utils/_k8s/kubeconfig.py) and work end to end; an exec credential plugin still
goes through the official client and works too.

Who made the requests is read from the API server's audit log (user name and user agent), never
from what the module says about itself.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.ansible import COLLECTIONS, ok, run_playbook

ROOT = Path(__file__).resolve().parents[2]
RB_MODULE = "vmo.rbac.vmo_role_binding"
VALIDATE_MODULE = "vmo.rbac.vmo_rbac_validate"
RBAC_GROUP = "rbac.authorization.k8s.io"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_kubeconfig(path: Path, cluster, contexts: dict, current: str = "decoy"):
    """A kubeconfig with the given contexts ({name: user body}) on ``cluster`` plus a decoy context
    (an unreachable server) as current-context, so only an explicit context reaches the cluster."""
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": current,
           "clusters": [{"name": cluster.name, "cluster": {"server": cluster.server,
                                                           "certificate-authority-data": _b64(cluster.ca.read_bytes())}},
                        {"name": "decoy", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
           "users": [{"name": "u-" + name, "user": user} for name, user in contexts.items()] +
                    [{"name": "decoy", "user": {"token": "decoy"}}],
           "contexts": [{"name": name, "context": {"cluster": cluster.name, "user": "u-" + name, "namespace": "default"}}
                        for name in contexts] +
                       [{"name": "decoy", "context": {"cluster": "decoy", "user": "decoy"}}]}
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def module_process(module: str, args: dict, env: dict | None = None):
    """One module process started as Ansible starts it (its arguments as JSON), with -X importtime:
    (result, names of the modules it imported)."""
    args_file = Path(os.environ.get("TMPDIR", "/tmp")) / ("vmo-kc-args-%d.json" % os.getpid())
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    full = {k: v for k, v in os.environ.items() if not k.startswith("K8S_AUTH_") and k != "KUBECONFIG"}
    full.update(PYTHONPATH=str(COLLECTIONS), **(env or {}))
    try:
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m",
                               "ansible_collections.vmo.rbac.plugins.modules." + module, str(args_file)],
                              capture_output=True, text=True, env=full, check=False, timeout=300)
    finally:
        args_file.unlink()
    imported = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    return json.loads(proc.stdout), imported


def audit_users(audit, mark):
    """{(user, user agent prefix)} of the requests in an audit window made by vmo.rbac as identities whose
    name carries ``mark`` (this test's uid: tests on other workers share the audit log)."""
    return {(e["user"]["username"], (e.get("userAgent") or "").split(" ")[0]) for e in audit.events()
            if (e.get("userAgent") or "").startswith("vmo.rbac/") and mark in e["user"]["username"]}


@pytest.fixture
def static_kubeconfig(cluster, tmp_path, uid):
    """A kubeconfig with two static identities of their own (client certificate as inline data, and
    as files next to the kubeconfig, referenced by relative paths), neither the current context."""
    data_ident = cluster.identity("it-kc-data-" + uid)
    file_ident = cluster.identity("it-kc-file-" + uid)
    (tmp_path / "pki").mkdir()
    for name in ("client_cert", "client_key"):
        (tmp_path / "pki" / (name + ".pem")).write_bytes(Path(file_ident.params[name]).read_bytes())
    path = write_kubeconfig(tmp_path / "config", cluster, {
        "by-data": {"client-certificate-data": _b64(Path(data_ident.params["client_cert"]).read_bytes()),
                    "client-key-data": _b64(Path(data_ident.params["client_key"]).read_bytes())},
        "by-files": {"client-certificate": "pki/client_cert.pem", "client-key": "pki/client_key.pem"},
    })
    return path, data_ident, file_ident


def test_a_kubeconfig_context_never_imports_kubernetes(cluster, static_kubeconfig, owner):
    """The module process with `kubeconfig` + `context` (and with KUBECONFIG + `context` only)
    never imports the kubernetes package, and its requests reach the cluster as that context's
    identity."""
    path, data_ident, file_ident = static_kubeconfig
    bindings = [{"persona": "viewer", "groups": ["it-kc-" + owner]}]
    audit = cluster.audit()
    res, imported = module_process("vmo_role_binding", {"kubeconfig": str(path), "context": "by-data",
                                                        "owner": owner, "bindings": bindings})
    assert not res.get("failed"), res.get("msg")
    assert res["changed"] is True
    assert "kubernetes" not in {m.split(".")[0] for m in imported}
    assert "ansible_collections.vmo.rbac.plugins.module_utils._k8s.kubeconfig" in imported
    res, imported = module_process("vmo_role_binding", {"context": "by-files", "owner": owner, "bindings": bindings},
                                   env={"KUBECONFIG": "/nonexistent/kubeconfig:" + str(path)})
    assert not res.get("failed"), res.get("msg")
    assert res["changed"] is False and res["api_requests"] <= 5
    assert "kubernetes" not in {m.split(".")[0] for m in imported}
    assert {u for u, _agent in audit_users(audit, data_ident.user.rsplit("-", 1)[1])} == {data_ident.user, file_ident.user}
    cluster.delete_bindings(owner)


def test_enforce_and_validate_by_context_with_ansible_playbook(cluster, static_kubeconfig, owner, namespaces):
    """The README's way: `context:` in the tasks, the kubeconfig from KUBECONFIG; enforce, then
    validate proves the access, then enforce again changes nothing."""
    path, data_ident, _file_ident = static_kubeconfig
    ns = namespaces("kc")
    bindings = [{"persona": "viewer", "groups": ["it-kc-viewers-" + owner], "namespaces": [ns]},
                {"persona": "user", "users": ["it-kc-user-" + owner]}]
    common = {"context": "by-data", "owner": owner, "bindings": bindings}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "enforce", RB_MODULE: common},
        {"name": "validate", VALIDATE_MODULE: dict(common, fail_on_drift=True)},
        {"name": "enforce again", RB_MODULE: common},
    ]}]
    audit = cluster.audit()
    run = run_playbook(play, env={"KUBECONFIG": str(path)})
    assert run.rc == 0, (run.stdout[-3000:], run.stderr[-3000:])
    assert ok(run.task("enforce"))["changed"] is True
    validate = ok(run.task("validate"))
    assert validate["passed"] is True, validate["msg"]
    assert ok(run.task("enforce again"))["changed"] is False
    cluster.wait_until_can("it-kc-user-" + owner, "get", "virtualmachines", "kubevirt.io", namespace="default")
    cluster.wait_until_can("x", "get", "virtualmachines", "kubevirt.io", namespace=ns, groups=["it-kc-viewers-" + owner])
    cluster.wait_until_can("x", "get", "virtualmachines", "kubevirt.io", namespace="default",
                           groups=["it-kc-viewers-" + owner], allowed=False)
    assert {u for u, _agent in audit_users(audit, data_ident.user.rsplit("-", 1)[1])} == {data_ident.user}
    cluster.delete_bindings(owner)


EXEC_PLUGIN = """#!{python}
import json, sys
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {{"token": open({token_file!r}).read().strip()}}}}))
"""


def test_an_exec_plugin_goes_through_the_client_and_works(cluster, tmp_path, uid, owner, namespaces):
    """A kubeconfig whose user is an exec credential plugin (printing a ServiceAccount's token) is
    handed to the kubernetes client; enforce and validate run as that ServiceAccount."""
    ns = namespaces("kcexec")
    sa = cluster.service_account(ns, "vmo-exec")
    crb = "it-kc-exec-" + uid
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": crb},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "vmo-exec", "namespace": ns}]})
    try:
        token_file = tmp_path / "token"
        token_file.write_text(sa.params["api_key"])
        plugin = tmp_path / "get-token"
        plugin.write_text(EXEC_PLUGIN.format(python=sys.executable, token_file=str(token_file)))
        plugin.chmod(0o700)
        path = write_kubeconfig(tmp_path / "config", cluster, {"by-exec": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}})
        bindings = [{"persona": "viewer", "groups": ["it-kc-exec-" + owner], "namespaces": [ns]}]
        res, imported = module_process("vmo_role_binding", {"kubeconfig": str(path), "context": "by-exec",
                                                            "owner": owner, "bindings": bindings})
        assert not res.get("failed"), res.get("msg")
        assert "kubernetes" in {m.split(".")[0] for m in imported}  # the client ran the plugin
        audit = cluster.audit()
        common = {"kubeconfig": str(path), "context": "by-exec", "owner": owner, "bindings": bindings}
        run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "enforce", RB_MODULE: common},
            {"name": "validate", VALIDATE_MODULE: dict(common, fail_on_drift=True)}]}])
        assert run.rc == 0, (run.stdout[-3000:], run.stderr[-3000:])
        assert ok(run.task("enforce"))["changed"] is False  # the module process above made them
        assert ok(run.task("validate"))["passed"] is True
        assert {u for u, _agent in audit_users(audit, sa.user.split(":")[2])} == {sa.user}
        assert sa.params["api_key"] not in run.stdout + run.stderr
    finally:
        cluster.rbac().delete_cluster_role_binding(crb)
        cluster.delete_bindings(owner)


def test_malformed_kubeconfigs_fail_naming_the_option_without_secrets(cluster, tmp_path, owner):
    """Through ansible-playbook: bad YAML with a token on the bad line, a missing context, a
    missing cluster, an unreadable file: a framed message naming the option, no token, no traceback."""
    token = "it-kc-secret-" + owner
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("current-context: x\nusers:\n- name: u\n  user:\n    token: %s: oops\n" % token)
    good = write_kubeconfig(tmp_path / "config", cluster, {"c": {"token": token}})
    doc = yaml.safe_load(good.read_text())
    doc["contexts"].append({"name": "lost", "context": {"cluster": "nowhere", "user": "u-c"}})
    lost = tmp_path / "lost.yaml"
    lost.write_text(yaml.safe_dump(doc))
    (tmp_path / "a-directory").mkdir()
    cases = {
        "bad yaml": ({"kubeconfig": str(bad_yaml)}, "kubeconfig: ", "is not valid YAML (line 5, column"),
        "missing context": ({"kubeconfig": str(good), "context": "nope"}, "context: ",
                            "no context 'nope' in "),
        "missing cluster": ({"kubeconfig": str(lost), "context": "lost"}, "context: ",
                            "context 'lost' names cluster 'nowhere', which is not in "),
        "unreadable": ({"kubeconfig": str(tmp_path / "a-directory")}, "kubeconfig: ", ": Is a directory"),
    }
    tasks = [{"name": name, RB_MODULE: dict(args, owner=owner, bindings=[{"persona": "viewer", "groups": ["g"]}]),
              "ignore_errors": True} for name, (args, _o, _m) in cases.items()]
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    for name, (_args, option, words) in cases.items():
        res = run.task(name)
        assert res.get("failed"), (name, res)
        assert res["msg"].startswith(option) and words in res["msg"], (name, res["msg"])
        assert "Traceback" not in json.dumps(res) and "module_stderr" not in res, (name, res)
    assert token not in run.stdout + run.stderr


@pytest.mark.parametrize("user", ["client-certificate-data", "exec plugin"])
@pytest.mark.parametrize("execution", ["worker", "module"])
def test_an_inline_kubeconfig_leaves_no_file_behind(cluster, tmp_path, uid, user, execution):
    """An inline kubeconfig (a mapping, what a kubeconfig downloaded from Palette becomes) carries its
    CA, certificate and key as -data fields, which urllib3 can only load from files. Nothing may stay on
    disk after the task: the collection's reader keeps them in memory-only files; the kubernetes client
    (an exec plugin) writes temporary files of its own, removed at exit in a module process and by the
    worker when the module's run ends (Ansible's worker processes skip atexit). Before issue 20, every
    task in the worker left the CA, certificate and key in TMPDIR."""
    ident = cluster.identity("it-inline-" + uid)
    ca = {"server": cluster.server, "certificate-authority-data": _b64(cluster.ca.read_bytes())}
    if user == "exec plugin":
        token_file = tmp_path / "token"
        sa = cluster.service_account("default", "vmo-inline-" + uid[:8])
        cluster.rbac().create_cluster_role_binding({
            "metadata": {"name": "it-inline-" + uid},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "vmo-inline-" + uid[:8], "namespace": "default"}]})
        token_file.write_text(sa.params["api_key"])
        plugin = tmp_path / "get-token"
        plugin.write_text(EXEC_PLUGIN.format(python=sys.executable, token_file=str(token_file)))
        plugin.chmod(0o700)
        body = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                         "interactiveMode": "Never"}}
    else:
        body = {"client-certificate-data": _b64(Path(ident.params["client_cert"]).read_bytes()),
                "client-key-data": _b64(Path(ident.params["client_key"]).read_bytes())}
    inline = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "c", "cluster": ca}], "users": [{"name": "u", "user": body}],
              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    tmpdir = tmp_path / "TMPDIR"
    tmpdir.mkdir()
    try:
        run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "roles", "vmo.rbac.vmo_cluster_roles": {"kubeconfig": inline, "roles": ["console"]}}]}],
            check=True, env={"TMPDIR": str(tmpdir)}, extra_vars={"vmo_rbac_execution": execution})
    finally:
        if user == "exec plugin":
            cluster.rbac().delete_cluster_role_binding("it-inline-" + uid)
    assert run.rc == 0, (run.stdout[-3000:], run.stderr[-3000:])
    res = ok(run.task("roles"))
    assert res["api_requests"] >= 1
    assert sorted(p.name for p in tmpdir.rglob("*")) == []
