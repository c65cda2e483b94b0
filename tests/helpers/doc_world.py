"""The world the docs' examples run in (tests/integration/test_doc_examples.py, test_from_zero.py):
three clusters of the tests' own, whose kubeconfig contexts carry the names the docs use, with the
namespaces the examples name. See test_doc_examples.py for why clusters of their own."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.helpers.ansible import BIN, ansible_env
from tests.helpers.private_clusters import private_cluster

# kubeconfig context names the docs use -> which of this test's clusters
CONTEXTS = {"prod-east": 0, "vmo-1": 0, "prod-west": 1, "vmo-2": 1, "dev-lab": 2, "vmo-3": 2}
NAMESPACES = {
    "team-a": {}, "team-b": {}, "monitoring": {}, "migration": {}, "web-app-frontend": {}, "web-app-backend": {},
    "shop-payments": {}, "lab-sandbox": {"env": "lab"}, "lab-perf": {"env": "lab"},
}

@pytest.fixture(scope="module")
def world(request, workdir, tmp_path_factory):
    """Three clusters, their namespaces, and a kubeconfig with the docs' context names."""
    handles = [private_cluster(request, workdir, tag) for tag in ("docex-east", "docex-west", "docex-lab")]
    for c in handles:
        for name, labels in NAMESPACES.items():
            c.namespace(name, labels=labels or None)
    d = tmp_path_factory.mktemp("doc-examples")
    kubeconfig = d / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod-east",
        "clusters": [{"name": c.name, "cluster": {"server": c.server, "certificate-authority": str(c.ca)}}
                     for c in handles],
        "users": [{"name": "admin-" + c.name, "user": {"client-certificate": str(c.pki / "admin.crt"),
                                                       "client-key": str(c.pki / "admin.key")}} for c in handles],
        "contexts": [{"name": ctx, "context": {"cluster": handles[i].name, "user": "admin-" + handles[i].name}}
                     for ctx, i in CONTEXTS.items()],
    }))
    kubeconfig.chmod(0o600)
    return {"clusters": handles, "kubeconfig": kubeconfig}


def reset(world):
    """Every binding vmo.rbac manages goes, on every cluster: each example starts from the world."""
    for c in world["clusters"]:
        rbac = c.rbac()
        sel = "app.kubernetes.io/managed-by=vmo.rbac"
        for item in rbac.list_cluster_role_binding(label_selector=sel).items:
            c.delete_binding("ClusterRoleBinding", "", item.metadata.name)
        for item in rbac.list_role_binding_for_all_namespaces(label_selector=sel).items:
            c.delete_binding("RoleBinding", item.metadata.namespace, item.metadata.name)


def env_for(world, extra=None):
    return ansible_env({"KUBECONFIG": str(world["kubeconfig"]), **(extra or {})})


def playbook(path, cwd, world, *args, env=None, timeout=900):
    cmd = [str(BIN / "ansible-playbook"), str(path), *args]
    # PWD too: the role resolves a relative vmo_rbac_report_dir against $PWD, as a shell sets it
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          env=env_for(world, dict(env or {}, PWD=str(cwd))), timeout=timeout, check=False)
    return proc


