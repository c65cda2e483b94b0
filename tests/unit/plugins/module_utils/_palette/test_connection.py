"""A cluster's connection from Palette (plugins/module_utils/_palette/connection.py): what is masked, and the download against the Palette stand-in (which validates every request
and response against the pinned specification; no cluster needed)."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.module_utils._palette import connection as pc
from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import PaletteError

KEY = "pk-secret-0123456789abcdef"
UID = "0123456789abcdef01234567"
GOOD = {"palette_kubeconfig": "admin", "palette_cluster_uid": UID, "palette_api_key": KEY}


def test_every_credential_of_a_kubeconfig_is_masked_and_names_are_not():
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "prod",
           "clusters": [{"name": "prod", "cluster": {"server": "https://10.0.0.1:6443",
                                                     "certificate-authority-data": "Q0E=", "proxy-url": "http://u:p@px"}}],
           "users": [{"name": "admin", "user": {"token": "tok-123456", "client-key-data": "S0VZ",
                                                "client-certificate-data": "Q0VSVA=="}},
                     {"name": "oidc", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                        "command": "kubelogin",
                                                        "args": ["get-token", "--oidc-client-secret=shh-9876"],
                                                        "env": [{"name": "TOKEN", "value": "env-secret-55"}],
                                                        "interactiveMode": "Never"}}},
                     {"name": "legacy", "user": {"auth-provider": {"name": "oidc", "config": {
                         "id-token": "idt-777", "refresh-token": "rft-888"}}}}],
           "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "admin"}}]}
    masked = pc.secret_values(doc)
    # the value of --flag=value alone too: a failing plugin may quote it (attack pass on the merged branches)
    for secret in ("tok-123456", "S0VZ", "Q0VSVA==", "--oidc-client-secret=shh-9876", "shh-9876", "env-secret-55",
                   "idt-777",
                   "rft-888", "http://u:p@px"):
        assert secret in masked, secret
    for public in ("prod", "admin", "https://10.0.0.1:6443", "Q0E=", "kubelogin", "client.authentication.k8s.io/v1",
                   "Never", "oidc", "v1", "Config"):
        assert public not in masked, public


def client(standin, **kw):
    return pc.client({"palette_host": standin.url, "palette_api_key": standin.api_key,
                      "palette_ca_cert": standin.ca_cert, "api_retries": 1, **kw}, "test")


@pytest.mark.parametrize("encoded", [False, True])
def test_the_kubeconfig_is_downloaded_once_as_a_mapping(palette_standin, encoded):
    s = palette_standin
    project = s.add_project("p")
    c = s.add_cluster(project, "east", base64_kubeconfig=encoded)
    palette = client(s)
    doc = pc.kubeconfig(palette, c.uid, "admin", project=project)
    assert doc == yaml.safe_load(c.kubeconfigs["admin"]) and palette.requests == 1
    assert [r["op"] for r in s.calls()] == ["v1SpectroClustersUidAdminKubeConfig"]
    assert s.calls()[0]["project"] == project
    frp = pc.kubeconfig(palette, c.uid, "frp", project=project)
    assert frp == yaml.safe_load(c.kubeconfigs["frp"]) and s.calls()[-1]["query"] == {"frp": "true"}
    params = pc.with_kubeconfig({"kubeconfig": None, "context": "x", "request_timeout": 5}, doc)
    assert params == {"kubeconfig": doc, "context": None, "request_timeout": 5}


def test_a_cluster_deleted_after_the_inventory_is_told_from_a_missing_kubeconfig(palette_standin):
    s = palette_standin
    project = s.add_project("p")
    gone = s.add_cluster(project, "gone")
    bare = s.add_cluster(project, "bare")
    bare.kubeconfigs["admin"] = None
    del s.clusters[gone.uid]
    palette = client(s)
    with pytest.raises(PaletteError) as exc:
        pc.kubeconfig(palette, gone.uid, "admin", project=project)
    assert exc.value.status == 404
    assert exc.value.message.startswith("palette_cluster_uid: Palette at %s has no cluster %s in project %s: it was "
                                        "deleted" % (s.url, gone.uid, project))
    with pytest.raises(PaletteError) as exc:
        pc.kubeconfig(palette, bare.uid, "admin", project=project)
    assert exc.value.message == "palette_kubeconfig: cluster %s has no admin kubeconfig in Palette (404 Not Found)" % bare.uid
    bare.kubeconfigs["frp"] = None
    with pytest.raises(PaletteError, match="the reverse-proxy kubeconfig exists only where"):
        pc.kubeconfig(palette, bare.uid, "frp", project=project)
    assert [r["op"] for r in s.calls()] == ["v1SpectroClustersUidAdminKubeConfig", "v1SpectroClustersGet"] * 2 + [
        "v1SpectroClustersUidKubeConfig", "v1SpectroClustersGet"]


def test_refusals_and_outages_are_named_without_the_key(palette_standin):
    s = palette_standin
    project = s.add_project("p")
    c = s.add_cluster(project, "east")
    s.fault(403, path="adminKubeconfig")
    with pytest.raises(PaletteError) as exc:
        pc.kubeconfig(client(s), c.uid, "admin", project=project)
    assert exc.value.status == 403 and exc.value.message.startswith("cannot download the admin kubeconfig of cluster")
    s.fault(503, path="adminKubeconfig", times=2)
    with pytest.raises(PaletteError) as exc:
        pc.kubeconfig(client(s), c.uid, "admin", project=project)  # one retry: two 503s
    assert "kept failing (503)" in exc.value.message and s.api_key not in exc.value.message
    with pytest.raises(PaletteError) as exc:
        pc.kubeconfig(pc.client({"palette_host": s.url, "palette_api_key": "wrong-key-" + "x" * 20,
                                 "palette_ca_cert": s.ca_cert, "api_retries": 0}, "test"), c.uid, "admin")
    assert exc.value.status == 401 and "wrong-key-" not in exc.value.message


def test_a_kubeconfig_from_palette_may_not_name_files_of_this_machine(palette_standin):
    """A document from a remote API must not make the execution node read its files: a tokenFile pointing at
    one of its secrets would go as a bearer token to whatever server the document names. Refused, naming the
    entries, before any request to that server."""
    s = palette_standin
    project = s.add_project("p")
    c = s.add_cluster(project, "east")
    doc = yaml.safe_load(c.kubeconfigs["admin"])
    doc["users"][0]["user"] = {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
                               "client-key": "/etc/ssl/private/node.key"}
    doc["clusters"][0]["cluster"]["certificate-authority"] = "/etc/ca.pem"
    c.kubeconfigs["admin"] = yaml.safe_dump(doc)
    with pytest.raises(PaletteError) as exc:
        pc.kubeconfig(client(s), c.uid, "admin", project=project)
    assert exc.value.message == (
        "palette_kubeconfig: the admin kubeconfig of cluster %s from Palette names files of this machine "
        "(clusters[0].cluster.certificate-authority, users[0].user.client-key, users[0].user.tokenFile); a kubeconfig "
        "from Palette must carry its certificates, keys and tokens inline, and is refused" % c.uid)
    assert "/etc/" not in exc.value.message and "/var/run" not in exc.value.message
