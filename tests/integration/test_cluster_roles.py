"""vmo.rbac.vmo_cluster_roles on the real control plane (issue 9, item 4), on vmo-bare (plain KubeVirt).

Create the shipped roles, update the rules of the ones the collection owns, leave a foreign role of
the same name alone (as the VMO pack's spectro-vm-* are), check mode writes nothing (audit log),
state absent deletes only owned ones; the least-privilege identity of
files/automation-roles-clusterrole.yaml is enough. Then the console story end to end: a VMO cluster
whose spectro-vm-user lacks console rights (Palette's caution) validates without a false failure
and says how to get console access; with console_access the console works and delete stays denied.
"""

from __future__ import annotations

import json

from pathlib import Path

import pytest
import yaml
from kubernetes.client.rest import ApiException

from tests.helpers.ansible import failed, ok, run_module, run_playbook

pytestmark = pytest.mark.xdist_group("bare")

ROOT = Path(__file__).resolve().parents[2]
MODULE = "vmo.rbac.vmo_cluster_roles"
ALL = ["personas", "legacy", "console", "golden-image"]
SHIPPED = ["spectro-vm-admin", "spectro-vm-power-user", "spectro-vm-user", "spectro-vm-viewer",
           "spectro-list-namespaces", "spectro-list-vmtemplates", "vmo-rbac-vm-console", "vmo-rbac-golden-image"]
LABELS = {"app.kubernetes.io/managed-by": "vmo.rbac", "app.kubernetes.io/part-of": "vmo-rbac-reference"}


def roles_now(cluster):
    out = {}
    for name in SHIPPED:
        try:
            out[name] = cluster.admin.sanitize_for_serialization(cluster.rbac().read_cluster_role(name))
        except ApiException as exc:
            if exc.status != 404:
                raise
    return out


def remove_all(cluster):
    for name in SHIPPED:
        try:
            cluster.rbac().delete_cluster_role(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture
def bare(bare_cluster):
    remove_all(bare_cluster)
    yield bare_cluster
    remove_all(bare_cluster)


def rbac_writes(audit, user):
    return [(e["verb"], e["objectRef"].get("name")) for e in audit.writes(user=user)
            if e.get("objectRef", {}).get("resource") == "clusterroles"]


def test_reconcile_creates_updates_owned_and_leaves_foreign(bare, uid):
    me = bare.identity("roles-" + uid)
    # a VMO pack's role of the same name: no vmo.rbac labels
    foreign = {"metadata": {"name": "spectro-vm-user", "labels": {"app.kubernetes.io/managed-by": "palette"}},
               "rules": [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["get"]}]}
    bare.rbac().create_cluster_role(foreign)

    audit = bare.audit()
    check = ok(run_module(MODULE, dict(me.params, roles=ALL), check=True, diff=True))
    assert check["changed"] is True and rbac_writes(audit, me.user) == []
    assert set(roles_now(bare)) == {"spectro-vm-user"}
    assert {r["name"]: r["action"] for r in check["roles"]}["spectro-vm-user"] == "foreign"
    assert len(check["diff"]) == len(SHIPPED) - 1  # one per role to create (the golden-image role too)

    first = ok(run_module(MODULE, dict(me.params, roles=ALL)))
    actions = {r["name"]: r["action"] for r in first["roles"]}
    assert actions == {**{n: "create" for n in SHIPPED if n != "spectro-vm-user"}, "spectro-vm-user": "foreign"}
    assert any("spectro-vm-user" in w for w in first.get("warnings", []))
    held = roles_now(bare)
    assert held["spectro-vm-user"]["rules"] == foreign["rules"]  # untouched
    assert all(held[n]["metadata"]["labels"] == LABELS for n in SHIPPED if n != "spectro-vm-user")
    assert sorted(n for v, n in rbac_writes(audit, me.user) if v == "create") == sorted(set(SHIPPED) - {"spectro-vm-user"})

    # someone edits an owned role by hand: the next run restores the shipped rules (and keeps their label)
    console = held["vmo-rbac-vm-console"]
    console["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    console["metadata"]["labels"]["team"] = "platform"
    bare.rbac().replace_cluster_role("vmo-rbac-vm-console", console)
    audit = bare.audit()
    second = ok(run_module(MODULE, dict(me.params, roles=ALL), diff=True))
    assert [(r["name"], r["action"]) for r in second["roles"] if r["action"] == "update"] == \
        [("vmo-rbac-vm-console", "update")]
    assert "0 permission(s) to add, 1 to remove" in [r["reason"] for r in second["roles"]
                                                     if r["action"] == "update"][0]
    restored = roles_now(bare)["vmo-rbac-vm-console"]
    assert not any("secrets" in r["resources"] for r in restored["rules"])
    assert restored["metadata"]["labels"]["team"] == "platform"
    assert rbac_writes(audit, me.user) == [("update", "vmo-rbac-vm-console")]

    audit = bare.audit()
    third = ok(run_module(MODULE, dict(me.params, roles=ALL)))
    assert third["changed"] is False and rbac_writes(audit, me.user) == []

    gone = ok(run_module(MODULE, dict(me.params, roles=ALL, state="absent")))
    assert {r["name"]: r["action"] for r in gone["roles"]}["spectro-vm-user"] == "foreign"
    assert set(roles_now(bare)) == {"spectro-vm-user"}


def test_the_least_privilege_identity_may_create_the_collection_roles_only(bare, uid):
    ns = bare.namespace("roles-sa-" + uid)
    bare.apply_manifest(ROOT / "files" / "automation-clusterrole.yaml")
    bare.apply_manifest(ROOT / "files" / "automation-roles-clusterrole.yaml")
    sa = bare.service_account(ns, "vmo-rbac")
    made = []
    try:
        for role in ("vmo-rbac-automation", "vmo-rbac-automation-roles"):
            name = "%s-%s" % (role, uid)
            bare.rbac().create_cluster_role_binding({
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": "vmo-rbac", "namespace": ns}]})
            made.append(name)
        res = ok(run_module(MODULE, dict(sa.params, roles=ALL)))
        assert res["changed"] is True and set(roles_now(bare)) == set(SHIPPED)
        # update and escalate only by name: no other ClusterRole can be widened by this identity
        for verb in ("update", "escalate", "delete"):
            bare.wait_until_can(sa.user, verb, "clusterroles", "rbac.authorization.k8s.io", groups=list(sa.groups), allowed=False)
    finally:
        for name in made:
            bare.rbac().delete_cluster_role_binding(name)
        bare.delete_namespace(ns)


def test_an_identity_without_escalate_is_refused_with_a_reason(bare, uid):
    ns = bare.namespace("roles-weak-" + uid)
    bare.apply_manifest(ROOT / "files" / "automation-clusterrole.yaml")
    sa = bare.service_account(ns, "weak")
    name = "weak-%s" % uid
    bare.rbac().create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "vmo-rbac-automation"},
        "subjects": [{"kind": "ServiceAccount", "name": "weak", "namespace": ns}]})
    try:
        res = run_module(MODULE, dict(sa.params, roles=["console"]))
        msg = failed(res)
        assert res["status"] == 403 and "escalate" in msg and "automation-roles-clusterrole.yaml" in msg
        assert "0 of 1 planned writes" in msg and sa.params["api_key"] not in res["_stdout"]
    finally:
        bare.rbac().delete_cluster_role_binding(name)
        bare.delete_namespace(ns)


def test_console_on_a_vmo_cluster_whose_user_role_lacks_it(bare, uid, tmp_path):
    """Palette cautions that spectro-vm-user may not carry console rights: validation must not fail for
    that, must say how to get console access, and console_access must then give exactly the console."""
    me = bare.identity("console-" + uid)
    ns = bare.namespace("vms-" + uid)
    # a VMO pack whose spectro-vm-user has no console rights
    user_role = {"metadata": {"name": "spectro-vm-user"},
                 "rules": [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "virtualmachineinstances"],
                            "verbs": ["get", "list", "watch"]},
                           {"apiGroups": ["subresources.kubevirt.io"],
                            "resources": ["virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart"],
                            "verbs": ["update"]}]}
    bare.rbac().create_cluster_role(user_role)
    owner = "con-" + uid
    plain = [{"persona": "user", "users": ["u-" + uid], "namespaces": [ns]}]
    ok(run_module("vmo.rbac.vmo_role_binding", dict(me.params, owner=owner, bindings=plain)))
    v = ok(run_module("vmo.rbac.vmo_rbac_validate", dict(me.params, owner=owner, bindings=plain)))
    assert v["passed"] is True
    console = [r for r in v["access"] if r["capability"] == "vm.console" and r["scope"] == "namespace"]
    assert console and all(r["allowed"] is False and r["ok"] is True for r in console)
    assert all("console_access: true" in r["note"] for r in console)

    # the role at day 0: create the console role, then enforce and validate with console_access
    inv = tmp_path / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {"bare": {
        "ansible_connection": "local", **{"vmo_rbac_" + k: v for k, v in me.params.items()}}}}}}}))
    (inv / "host_vars" / "bare.yml").write_text(yaml.safe_dump({
        "vmo_rbac_owner": owner, "vmo_rbac_cluster_roles": ["console"], "vmo_rbac_console_access": True,
        "vmo_rbac_bindings": plain, "vmo_rbac_report_dir": str(tmp_path / "reports")}))
    run = run_playbook("vmo.rbac.enforce", inventory=inv)
    assert run.rc == 0, run.stdout[-4000:]
    assert [r for r in run.results if "Cluster roles |" in r["task"]][0]["result"]["changed"] is True
    user = "u-" + uid
    bare.wait_until_can(user, "get", "virtualmachineinstances", "subresources.kubevirt.io", ns, "console")
    bare.wait_until_can(user, "delete", "virtualmachines", "kubevirt.io", ns, allowed=False)
    bare.wait_until_can(user, "create", "virtualmachines", "kubevirt.io", ns, allowed=False)
    validation = [r for r in run.results if "Validate |" in r["task"]][0]["result"]
    assert validation["passed"] is True
    # the role registers every row as one JSON text, and in access the rows that did not pass
    assert not [r for r in validation["access"] if r["ok"] is True]
    required = [r for r in json.loads(validation["access_json"])
                if r["capability"] == "vm.console" and r["scope"] == "namespace"]
    assert required and all(r["expected"] is True and r["allowed"] is True for r in required)
    bare.delete_bindings(owner)
    bare.delete_namespace(ns)
