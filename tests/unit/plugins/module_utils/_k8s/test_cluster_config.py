"""Connection configuration: direct credentials and static kubeconfigs never load the kubernetes
package (0.6 s of CPU per module run, tests/bench/bench_startup.py); an exec plugin or a proxy goes
through it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import kubeconfig

ROOT = Path(__file__).resolve().parents[5]

PROBE = r"""
import json, sys
sys.path.insert(0, %r)
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster
c = cluster.Cluster(json.loads(sys.argv[1]), component="probe")
print(json.dumps({"kubernetes_loaded": "kubernetes" in sys.modules, "type": type(c.cfg).__name__,
                  "host": c.cfg.host, "auth": c._headers("application/json", False).get("Authorization"),
                  "pool": type(c.pool).__name__}))
""" % str(ROOT / ".build" / "collections")


def probe(params, env=None):
    """A Cluster built in a fresh interpreter: what it loaded, its configuration, the header it sends."""
    environ = dict((k, v) for k, v in os.environ.items() if not k.lower().endswith("_proxy"))
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(params)], capture_output=True, text=True,
                          check=False, env=dict(environ, **(env or {})))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_host_and_token_need_no_kubernetes_package():
    out = probe({"host": "https://127.0.0.1:6443/", "api_key": "t0ken", "validate_certs": False})
    assert out == {"kubernetes_loaded": False, "type": "ConnectionSettings", "host": "https://127.0.0.1:6443",
                   "auth": "Bearer t0ken", "pool": "PoolManager"}


def test_a_proxy_goes_through_the_kubernetes_client(tmp_path):
    out = probe({"host": "https://127.0.0.1:6443", "api_key": "t0ken", "validate_certs": False,
                 "proxy": "http://127.0.0.1:3128"})
    assert out["kubernetes_loaded"] is True and out["type"] == "Configuration"
    assert out["pool"] == "ProxyManager" and out["auth"] == "Bearer t0ken"


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"])
def test_a_proxy_in_the_environment_takes_direct_credentials_to_the_client_too(name):
    """Attack pass (session 4): host and a token (AWX's bearer-token credential) with a proxy in the environment
    (an execution environment behind a corporate proxy): the fast path connected directly, where the kubernetes
    client (its Configuration reads HTTPS_PROXY and HTTP_PROXY from 34; 37 takes every *_proxy variable) and
    kubernetes.core go through the proxy. The kubeconfig reader hands such a run to the client since the last
    attack pass; direct credentials now do too, and get the client's own answer."""
    out = probe({"host": "https://127.0.0.1:6443", "api_key": "t0ken", "validate_certs": False},
                env={name: "http://127.0.0.1:3128"})
    assert out["kubernetes_loaded"] is True and out["type"] == "Configuration" and out["auth"] == "Bearer t0ken"
    major = int(kubeconfig.client_version().split(".")[0])
    # the client's own answer: 34 to 36 read HTTPS_PROXY and HTTP_PROXY for any host; 37 the variable of the
    # host's scheme (https) or ALL_PROXY
    if (major >= 37 and name.lower() in ("https_proxy", "all_proxy")) or (
            34 <= major < 37 and name.lower() != "all_proxy"):
        assert out["pool"] == "ProxyManager", out
    out = probe({"host": "https://127.0.0.1:6443", "api_key": "t0ken", "validate_certs": False}, env={name: ""})
    assert out["kubernetes_loaded"] is False  # an empty variable is no proxy, to the client either


def test_the_direct_path_and_the_kubeconfig_reader_know_the_same_proxy_variables():
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster

    assert cluster._PROXY_ENV == kubeconfig.PROXY_ENV


def _kubeconfig(path, user):
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:7443", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return str(path)


@pytest.mark.skipif(not kubeconfig.client_version().startswith(kubeconfig.PROVEN_CLIENT_SERIES),
                    reason="the static reader is used only with a proven kubernetes series (test_kubeconfig.py)")
def test_a_static_kubeconfig_needs_no_kubernetes_package(tmp_path):
    """Static credentials in a kubeconfig are read by module_utils/_k8s/kubeconfig.py (proven equal to the
    client in test_kubeconfig.py)."""
    out = probe({"kubeconfig": _kubeconfig(tmp_path / "config", {"token": "from-kubeconfig"})})
    assert out == {"kubernetes_loaded": False, "type": "ConnectionSettings", "host": "https://127.0.0.1:7443",
                   "auth": "Bearer from-kubeconfig", "pool": "PoolManager"}


def test_an_exec_plugin_kubeconfig_goes_through_the_kubernetes_client(tmp_path):
    plugin = tmp_path / "plugin.py"
    plugin.write_text("import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
                      "'kind': 'ExecCredential', 'status': {'token': 'from-exec'}}))\n")
    out = probe({"kubeconfig": _kubeconfig(tmp_path / "config", {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(plugin)]}})})
    assert out["kubernetes_loaded"] is True and out["type"] == "Configuration"
    assert out["host"] == "https://127.0.0.1:7443" and out["auth"] == "Bearer from-exec"
    assert out["pool"] == "PoolManager"


@pytest.mark.parametrize("handed_off_by", [{"proxy": "http://127.0.0.1:3128"}, {"context": "c"}])
def test_the_client_reads_kubeconfig_as_it_is_when_the_run_starts_not_at_its_import(tmp_path, monkeypatch, handed_off_by):
    """The kubernetes client takes its default kubeconfig, KUBECONFIG, when the package is imported
    (KUBE_CONFIG_DEFAULT_LOCATION). In Ansible's worker the task's ``environment`` is set when the module runs;
    when anything had imported the package in the process that forks the workers before (another collection's
    inventory plugin), a kubeconfig handed to the client (a proxy here) was read from the KUBECONFIG of that
    import: another cluster, with its credentials, than the task named and the static reader reads."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster  # pylint: disable=import-outside-toplevel

    kubernetes = cluster._kubernetes()  # imported, as by another plugin, with KUBECONFIG naming the other file
    other = Path(_kubeconfig(tmp_path / "other", {"token": "other"}))
    other.write_text(other.read_text().replace("127.0.0.1:7443", "127.0.0.2:7443"))  # another cluster
    monkeypatch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(other))
    monkeypatch.setenv("KUBECONFIG", _kubeconfig(tmp_path / "config", {"token": "mine"}))  # the task's
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    params = dict(handed_off_by)
    static, _why = kubeconfig.read(params)
    cfg = cluster.build_configuration(params)
    assert cfg.host == "https://127.0.0.1:7443", cfg.host
    assert list(cfg.api_key.values()) == ["Bearer mine"]  # "authorization" to kubernetes 2x, "BearerToken" after
    if static is not None:  # the static reader (a context alone): the same file
        assert static.host == cfg.host


@pytest.mark.parametrize("user", [
    {"tokenFile": "eyJhbGciOiJSUzI1NiJ9.cGFzdGVk.c2VjcmV0"},  # the token pasted where its file belongs
    {"client-certificate": "/etc/hostname",
     "client-key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"},
])
def test_a_credential_pasted_where_a_path_belongs_is_not_in_the_clients_message(tmp_path, user):
    """A kubeconfig the client loads (a proxy here): its "File does not exist: <path>" and an OSError's file
    name quoted the credential a careless operator pasted in place of its path."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster  # pylint: disable=import-outside-toplevel

    path = _kubeconfig(tmp_path / "config", user)
    with pytest.raises(cluster.ClusterError) as caught:
        cluster.build_configuration({"kubeconfig": path, "proxy": "http://127.0.0.1:3128"})
    message = str(caught.value)
    assert message.startswith("kubeconfig: cannot ") and "not shown" in message, message
    for value in user.values():
        if value != "/etc/hostname":
            assert value.strip() not in message and "cGFzdGVk" not in message and "MIIEvQ" not in message, message


def test_a_key_pasted_into_client_key_is_not_in_the_message(tmp_path):
    """client_key is a path (not no_log): a key pasted there was quoted as "client_key: file <the key> does not
    exist"."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster  # pylint: disable=import-outside-toplevel

    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    with pytest.raises(cluster.ClusterError) as caught:
        cluster.build_configuration({"host": "https://127.0.0.1:6443", "client_cert": "/etc/hostname",
                                     "client_key": key})
    assert str(caught.value).startswith("client_key: no such file") and "MIIEvQ" not in str(caught.value)
    with pytest.raises(cluster.ClusterError, match="client_cert: file /nonexistent/c.crt does not exist"):
        cluster.build_configuration({"host": "https://127.0.0.1:6443", "client_cert": "/nonexistent/c.crt",
                                     "client_key": key})  # a certificate's path is no secret: shown
