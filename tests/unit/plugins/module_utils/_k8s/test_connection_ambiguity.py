"""Every host to one cluster (issue 18, item 9): a host's own cluster (context, kubeconfig) is never
silently overridden by K8S_AUTH_HOST / K8S_AUTH_API_KEY from the environment (what AWX's bearer-token
credential injects), and the fleet report flags hosts that reached one API server (URL and CA), from
the ``api_server`` record the modules return (never a credential)."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.vmo.rbac.plugins.action import vmo_rbac_fleet_report as fleet_report
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster as cluster_mod
from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import connection
from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model

TOKEN = "env-token-0c5b7e9d1f3a"
ENV = {"K8S_AUTH_HOST": "https://awx-cluster.example:6443", "K8S_AUTH_API_KEY": TOKEN,
       "K8S_AUTH_SSL_CA_CERT": "/runner/env/ca.crt", "K8S_AUTH_VERIFY_SSL": "True"}


def check(raw, environ):
    """What the modules do with the arguments as written (raw) and the environment: AnsibleModule's
    fallbacks, then the check."""
    params = dict(raw)
    for name, spec in specs.CONNECTION_ARG_SPEC.items():
        if name in params or any(a in params for a in spec.get("aliases") or []) or not spec.get("fallback"):
            continue
        for var in spec["fallback"][1]:
            if var in environ:
                params[name] = environ[var]
                break
    origins = connection.environment_origins(raw, environ)
    connection.check_unambiguous(params, origins, environ)


@pytest.mark.parametrize("raw, field, words", [
    ({"context": "prod-east"}, "context", ("context is set for this host", "host and api_key come from the "
                                           "environment (K8S_AUTH_HOST, K8S_AUTH_API_KEY)",
                                           "would reach https://awx-cluster.example:6443", "docs/awx.md")),
    ({"kubeconfig": "/inventory/prod-east.kubeconfig"}, "kubeconfig", ("kubeconfig is set",)),
    ({"kubeconfig": "/k", "context": "c"}, "context", ("context and kubeconfig are set",)),
    ({"kubeconfig": {"apiVersion": "v1"}}, "kubeconfig", ("kubeconfig is set",)),
])
def test_a_hosts_own_cluster_with_host_and_token_from_the_environment_is_refused(raw, field, words):
    with pytest.raises(transport.BadValue) as exc:
        check(raw, ENV)
    assert exc.value.path == field
    for w in words:
        assert w in exc.value.message, exc.value.message
    assert TOKEN not in str(exc.value)


def test_a_token_from_the_environment_sent_to_another_host_is_refused():
    with pytest.raises(transport.BadValue) as exc:
        check({"host": "https://prod-west.example:6443"}, ENV)
    assert exc.value.path == "host" and "api_key comes from the environment (K8S_AUTH_API_KEY)" in exc.value.message
    assert "K8S_AUTH_HOST https://awx-cluster.example:6443" in exc.value.message and TOKEN not in str(exc.value)


@pytest.mark.parametrize("raw, environ", [
    ({}, ENV),                                                        # AWX: the environment's cluster, nothing else
    ({"host": "https://awx-cluster.example:6443/"}, ENV),             # the same host, written out
    ({"context": "c"}, {"K8S_AUTH_KUBECONFIG": "/runner/kubeconfig"}),  # a kubeconfig credential + a context per host
    ({"host": "https://a:6443", "api_key": "mine"}, ENV),             # the host's own connection wins
    ({"context": "c", "host": "https://a:6443", "api_key": "mine"}, ENV),  # given by the task: not ambiguous
    ({"context": "c"}, {"K8S_AUTH_VERIFY_SSL": "no", "K8S_AUTH_SSL_CA_CERT": "/ca"}),  # TLS settings only
    ({"host": "https://a:6443"}, {"K8S_AUTH_API_KEY": TOKEN}),        # a token without a host of its own
    ({"context": "c"}, {"K8S_AUTH_API_KEY": TOKEN}),  # ... replaces the context's credential (kubernetes.core)
])
def test_what_is_not_ambiguous(raw, environ):
    check(raw, environ)


# ------------------------------------------------------------------------------ api_server


def test_the_same_ca_as_a_file_or_as_kubeconfig_data_is_one_fingerprint(tmp_path):
    body = base64.b64encode(b"\x30\x82" + b"certificate-der-bytes" * 5).decode()
    pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % "\n".join(
        body[i:i + 64] for i in range(0, len(body), 64))
    (tmp_path / "a.crt").write_text(pem)
    (tmp_path / "b.crt").write_text("# the same CA, one line\n" + pem.replace("\n", "\r\n"))
    (tmp_path / "c.crt").write_text(pem.replace(body[:8], "AAAAAAAA"))
    a, b, c = (cluster_mod.ca_fingerprint(str(tmp_path / n)) for n in ("a.crt", "b.crt", "c.crt"))
    assert a == b and a != c and a.startswith("sha256:")
    assert cluster_mod.ca_fingerprint(None) == "system trust store"
    assert cluster_mod.ca_fingerprint(str(tmp_path / "a.crt"), verify=False) == "not verified"
    f = cluster_mod.api_server_fingerprint("HTTPS://API.Example:443/", str(tmp_path / "a.crt"), True)
    assert f["url"] == "https://api.example" and f["ca"] == a and len(f["id"]) == 16
    assert f == cluster_mod.api_server_fingerprint("https://api.example", str(tmp_path / "b.crt"), True)
    assert f["id"] != cluster_mod.api_server_fingerprint("https://api.example", str(tmp_path / "c.crt"), True)["id"]
    # a path is part of the server: a proxy (Rancher) serves many clusters under one host
    assert cluster_mod.normalize_server("https://r.example/k8s/clusters/c-1/") == "https://r.example/k8s/clusters/c-1"


def result(owner, record, passed=True):
    return {"vmo_rbac_validation": {"passed": passed, "summary": {"checks": 1, "failed": 0}, "cluster": "x",
                                    "owner": owner, "api_server": record, "roles": [{"name": "r", "present": True}]},
            "vmo_rbac_run": {"mode": "validate"}}


def test_the_fleet_report_refuses_hosts_of_one_owner_on_one_api_server_and_warns_about_other_owners():
    one = {"url": "https://awx-cluster.example:6443", "ca": "sha256:aa", "id": "1111"}
    other = {"url": "https://west.example:6443", "ca": "sha256:bb", "id": "2222"}
    hosts = {"east": result("vmo-rbac", one), "west": result("vmo-rbac", one), "north": result("team-n", one),
             "south": result("vmo-rbac", other)}
    shared = fleet_report.shared_api_servers(list(hosts), lambda h: hosts[h])
    assert shared == [{"url": one["url"], "ca": "sha256:aa", "hosts": ["east", "west", "north"],
                       "owners": {"east": "vmo-rbac", "west": "vmo-rbac", "north": "team-n"}}]
    refused, warned = fleet_report.shared_problems(shared)
    assert sorted(refused) == ["east", "west"] and sorted(warned) == ["north"]
    assert refused["east"].startswith("reaches the same API server as west, https://awx-cluster.example:6443 "
                                      "(CA sha256:aa), with the same owner 'vmo-rbac'")
    assert "east: vmo-rbac, west: vmo-rbac" in warned["north"]
    results = fleet_report.fleet_results(list(hosts), list(hosts), lambda h: hosts[h], refused, warned)
    norm = {c["name"]: c for c in model.clusters(results)}
    assert norm["east"]["status"] == norm["west"]["status"] == model.STATUS_ERROR
    assert norm["north"]["status"] == norm["south"]["status"] == model.STATUS_PASSED
    assert any("reaches the same API server" in w for w in norm["north"]["other_warnings"])
    assert model.fleet(list(norm.values()))["passed"] is False


def test_a_fleet_of_distinct_api_servers_reads_as_before():
    hosts = {"a": result("o", {"url": "https://a", "ca": "x", "id": "1"}),
             "b": result("o", {"url": "https://b", "ca": "x", "id": "2"}), "c": {"vmo_rbac_validation": {}}}
    assert fleet_report.shared_api_servers(list(hosts), lambda h: hosts[h]) == []
    assert fleet_report.fleet_results(list(hosts), list(hosts), lambda h: hosts[h]) == \
        fleet_report.fleet_results(list(hosts), list(hosts), lambda h: hosts[h], {}, {})


def test_the_event_source_refuses_the_same_ambiguity_at_start(monkeypatch):
    from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(eda_config.ConfigError) as exc:
        eda_config.resolve({"clusters": ["prod-east", "prod-west"]})  # each a context
    assert str(exc.value).startswith("clusters[0] (prod-east): context: context is set for this host, but host "
                                     "and api_key come from the environment (K8S_AUTH_HOST, K8S_AUTH_API_KEY)")
    assert TOKEN not in str(exc.value)
    # the environment's cluster alone, or each cluster with its own host and token: fine
    eda_config.resolve({"clusters": [{"name": "awx"}]})
    eda_config.resolve({"clusters": [{"name": "a", "context": "a", "host": "https://a:6443", "api_key": "own"}]})


def test_a_kubeconfig_with_only_the_host_from_the_environment_is_refused_too():
    """K8S_AUTH_HOST alone overrides the kubeconfig's server: the kubeconfig's credential would go there."""
    with pytest.raises(transport.BadValue) as exc:
        check({"kubeconfig": "/k"}, {"K8S_AUTH_HOST": "https://elsewhere:6443"})
    assert exc.value.path == "kubeconfig" and "host comes from the environment (K8S_AUTH_HOST)" in exc.value.message
