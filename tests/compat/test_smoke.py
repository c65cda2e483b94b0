"""The short end-to-end check of `make compat`: the collection, run by ansible-playbook from the
virtualenv of one combination of ansible-core and Python packages (tests/compat/<name>.txt),
against the local control plane.

Both ways a module connects are covered, because they use the libraries differently: a
kubeconfig context goes through the kubernetes client (its kubeconfig loader, its
Configuration, its urllib3 pool manager); direct host + token credentials build the urllib3 pool
without importing the client. For each: vmo_role_binding in check mode (nothing written), for
real, again (no change), vmo_rbac_validate (no drift, every access check as declared). Then, once,
the role vmo_rbac through the playbook vmo.rbac.enforce over a one-host inventory (the report
filter renders every format). Outcomes are checked through the API, not through what the modules say.

Everything here runs through tests/helpers.ansible, so ansible-playbook and the module
interpreter are those of the virtualenv pytest runs in. The everyday suite (tests/integration)
covers each path in depth; this file is what every other combination must pass.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.ansible import run_playbook

ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
RBAC_GROUP = "rbac.authorization.k8s.io"
ROLE_ENFORCE = "vmo.rbac.vmo_rbac : Enforce | Make the cluster hold exactly the declared bindings"
ROLE_VALIDATE = "vmo.rbac.vmo_rbac : Validate | Prove the bindings and the effective access"


def declaration(uid, ns_a):
    """Three grants, one of each scope: cluster-wide, namespaces by name, namespaces by RE2 regex."""
    return [
        {"persona": "admin", "groups": ["compat-admins-" + uid]},
        {"persona": "viewer", "users": ["compat-bob-%s@example.com" % uid], "namespaces": [ns_a]},
        {"persona": "user", "groups": ["compat-devs-" + uid], "namespace_regex": "/^cx[ab]-%s$/" % uid},
    ]


def expected(uid, ns_a, ns_b):
    """{(kind, namespace, role): subject names} the declaration means on the cluster."""
    return {
        ("ClusterRoleBinding", "", "spectro-vm-admin"): ["compat-admins-" + uid],
        ("RoleBinding", ns_a, "spectro-vm-viewer"): ["compat-bob-%s@example.com" % uid],
        ("RoleBinding", ns_a, "spectro-vm-user"): ["compat-devs-" + uid],
        ("RoleBinding", ns_b, "spectro-vm-user"): ["compat-devs-" + uid],
    }


def bound(cluster, owner) -> dict:
    out = {}
    for (kind, ns, _name), obj in cluster.bindings(owner).items():
        out[(kind, ns, obj["roleRef"]["name"])] = sorted(s["name"] for s in obj.get("subjects") or [])
    return out


def play(tasks):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def explain(run):
    return "rc=%s\n%s\n%s" % (run.rc, run.stdout[-4000:], run.stderr[-3000:])


def kubeconfig_context(cluster, uid):
    """A kubeconfig file of a cluster-admin identity of its own, and its context (the client's path)."""
    ident = cluster.identity("compat-kc-" + uid)
    return {"kubeconfig": str(ident.kubeconfig), "context": cluster.name}


@pytest.fixture
def connect(request, cluster, namespaces, uid):
    """Connection options of one credential path, with cluster-admin rights; removed afterwards."""
    if request.param == "kubeconfig":
        yield kubeconfig_context(cluster, uid)
        return
    ns = namespaces("cxsa")
    sa = cluster.service_account(ns, "compat-bot")
    name = "compat-sa-" + uid
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "compat-bot", "namespace": ns}]})
    assert set(sa.params) == {"host", "ca_cert", "api_key"}
    yield dict(sa.params)
    cluster.rbac().delete_cluster_role_binding(name)


@pytest.fixture
def cleanup(cluster, owner):
    yield
    cluster.delete_bindings(owner)


@pytest.mark.parametrize("connect", ["kubeconfig", "token"], indirect=True)
def test_modules_check_mode_enforce_idempotent_validate(cluster, namespaces, owner, uid, connect, cleanup):
    ns_a, ns_b = namespaces("cxa", "cxb")
    args = dict(connect, owner=owner, bindings=declaration(uid, ns_a))

    # check mode (and diff): the whole plan, nothing written
    run = run_playbook(play([{"name": "plan", ENFORCE: args}]), check=True, diff=True)
    assert run.rc == 0, explain(run)
    planned = run.task("plan")
    assert planned["changed"] is True and len(planned["actions"]) == 4, planned
    assert bound(cluster, owner) == {}

    # for real, then again (idempotent), then prove it
    run = run_playbook(play([
        {"name": "enforce", ENFORCE: args},
        {"name": "again", ENFORCE: args},
        {"name": "validate", VALIDATE: args},
    ]))
    assert run.rc == 0, explain(run)
    assert run.task("enforce")["changed"] is True
    assert [a["action"] for a in run.task("enforce")["actions"]] == ["create"] * 4
    assert run.task("again")["changed"] is False and run.task("again")["actions"] == []
    proof = run.task("validate")
    assert proof["passed"] is True and proof["changed"] is False, proof.get("msg")
    assert proof["summary"]["drift"] == 0 and proof["summary"]["failed"] == 0 and proof["summary"]["checks"] > 0
    assert bound(cluster, owner) == expected(uid, ns_a, ns_b)


def test_the_role_through_the_enforce_playbook(cluster, namespaces, owner, uid, cleanup, tmp_path):
    """vmo.rbac.enforce over a one-host inventory (connection by kubeconfig context, as in
    examples/inventory): preflight, enforce, validate, and the fleet report in every format."""
    ns_a, ns_b = namespaces("cxa", "cxb")
    inventory = tmp_path / "inventory.yml"
    reports = tmp_path / "reports"
    host = {"ansible_connection": "local",
            **{"vmo_rbac_" + k: v for k, v in kubeconfig_context(cluster, uid).items()}}
    inventory.write_text(json.dumps({"all": {"children": {"vmo_clusters": {"hosts": {"compat": host}}}}}))
    run = run_playbook("vmo.rbac.enforce", inventory=inventory, extra_vars={
        "vmo_rbac_owner": owner, "vmo_rbac_bindings": declaration(uid, ns_a),
        "vmo_rbac_report_dir": str(reports), "vmo_rbac_report_formats": ["markdown", "html", "junit", "json"]})
    assert run.rc == 0, explain(run)
    assert run.task(ROLE_ENFORCE)["changed"] is True
    assert run.task(ROLE_VALIDATE)["passed"] is True
    assert bound(cluster, owner) == expected(uid, ns_a, ns_b)
    assert "**PASSED**: 1 of 1 clusters passed" in (reports / "vmo-rbac-report.md").read_text()
    assert json.loads((reports / "vmo-rbac-report.json").read_text())["fleet"]["passed"] is True
    assert (reports / "vmo-rbac-report.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert "<testsuite" in (reports / "vmo-rbac-report.xml").read_text()
