"""Issue 9: the defects found when the collection was tried adversarially, and Palette's own semantics.

Each test runs the modules through ansible-playbook against the real local control plane and checks
the outcome through the API, SubjectAccessReviews and the audit log. The first half are regression
tests of safety defects (each failed on the code before the fix); the second half are namespace
rules as Palette means them (RE2, ~/re/ negation, protected namespaces, rules that match nothing).
"""

from __future__ import annotations

import pytest
import yaml

from tests.helpers.ansible import failed, ok, run_module, run_playbook

ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
CRB, RB = "ClusterRoleBinding", "RoleBinding"


def enforce(ident, owner, bindings, **options):
    return run_module(ENFORCE, dict(ident.params, owner=owner, bindings=bindings, **options))


def validate(ident, owner, bindings, **options):
    return run_module(VALIDATE, dict(ident.params, owner=owner, bindings=bindings, fail_on_drift=False, **options))


def writes(audit, user):
    return [(e["verb"], (e.get("objectRef") or {}).get("resource"), (e.get("objectRef") or {}).get("name"))
            for e in audit.writes(user=user)
            if (e.get("objectRef") or {}).get("resource") not in ("subjectaccessreviews", "selfsubjectreviews")]


# ------------------------------------------------------------------------ safety defects


def test_purge_with_nothing_declared_is_refused_unless_asked_for(cluster, owner, uid, admin_identity, namespaces):
    """purge: true with bindings [] (the role's default, when group_vars failed to load) deleted every
    binding of the owner."""
    ns = namespaces("purge")
    ok(enforce(admin_identity, owner, [{"persona": "viewer", "users": ["p-" + uid], "namespaces": [ns]},
                                       {"persona": "user", "groups": ["g-" + uid]}]))
    before = cluster.bindings(owner)
    assert len(before) == 2
    audit = cluster.audit()
    empty = failed(enforce(admin_identity, owner, [], purge=True))
    missing = failed(run_module(ENFORCE, dict(admin_identity.params, owner=owner, purge=True)))  # no bindings
    for msg in (empty, missing):
        assert msg.startswith("bindings: ") and "allow_empty_purge" in msg and owner in msg, msg
    assert writes(audit, admin_identity.user) == []
    assert cluster.bindings(owner).keys() == before.keys()
    # the role: a host whose variables did not load, vmo_rbac_purge true
    res = ok(enforce(admin_identity, owner, [], purge=True, allow_empty_purge=True))
    assert res["summary"]["deleted"] == 2 and cluster.bindings(owner) == {}


def test_role_purge_with_no_bindings_fails_before_any_write(cluster, owner, uid, admin_identity, tmp_path):
    ok(enforce(admin_identity, owner, [{"persona": "viewer", "users": ["r-" + uid]}]))
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {"c1": {
        "ansible_connection": "local", **{"vmo_rbac_" + k: v for k, v in admin_identity.params.items()}}}}}}}))
    # a typo in the variable name: vmo_rbac_binding instead of vmo_rbac_bindings
    (inv / "group_vars" / "vmo_clusters.yml").write_text(yaml.safe_dump({
        "vmo_rbac_owner": owner, "vmo_rbac_purge": True, "vmo_rbac_report_dir": str(tmp_path / "r"),
        "vmo_rbac_binding": [{"persona": "viewer", "users": ["r-" + uid]}]}))
    audit = cluster.audit()
    run = run_playbook("vmo.rbac.enforce", inventory=inv)
    assert run.rc != 0
    enforced = [r for r in run.results if "Enforce |" in r["task"]][0]["result"]
    assert enforced.get("failed") and "allow_empty_purge" in enforced["msg"] and not enforced.get("actions")
    assert writes(audit, admin_identity.user) == []
    assert len(cluster.bindings(owner)) == 1


def test_a_kubeconfig_path_is_shown_not_masked(cluster, owner, admin_identity, tmp_path):
    """The kubeconfig option is no_log (a mapping carries credentials); its path was masked too,
    garbling messages ("file ******** does not exist")."""
    missing = tmp_path / "nowhere" / "config"
    msg = failed(run_module(ENFORCE, {"kubeconfig": str(missing), "owner": owner, "bindings": []}))
    assert str(missing) in msg and "********" not in msg
    bad = tmp_path / "config"
    bad.write_text("apiVersion: v1\nclusters: [\n  - name: x\n    token: s3cr3t-in-the-file\n  users: {\n")
    res = run_module(ENFORCE, {"kubeconfig": str(bad), "owner": owner, "bindings": []})
    msg = failed(res)
    assert msg.startswith("kubeconfig: ") and str(bad) in msg and "is not valid YAML (line 3, column 3" in msg, msg
    assert "s3cr3t-in-the-file" not in res["_stdout"] and "********" not in msg
    ctx = run_module(ENFORCE, {"kubeconfig": str(admin_identity.kubeconfig), "context": "no-such", "owner": owner,
                               "bindings": []})
    msg = failed(ctx)
    assert str(admin_identity.kubeconfig) in msg and "no-such" in msg and "********" not in msg


def test_long_names_never_share_a_transition_binding(cluster, owner, uid, admin_identity, namespaces):
    """Two declared names longer than the transition-name limit shared one <name>-transition: the
    module collided with itself ("appeared during the run"), and a later run could delete one bridge
    as stale before its replacement existed."""
    ns = namespaces("long")
    stem = ("vm-" + uid + "-" + "x" * 240)[:240]
    names = [stem + "-alpha", stem + "-bravo"]
    first = [{"name": n, "persona": "viewer", "users": ["%s-%s" % (n[-5:], uid)], "namespaces": [ns]} for n in names]
    ok(enforce(admin_identity, owner, first))
    switched = [dict(e, persona="user") for e in first]
    res = ok(enforce(admin_identity, owner, switched))
    bridges = sorted(set(a["name"] for a in res["actions"] if a["reason"].startswith("transition")))
    assert len(bridges) == 2 and all(len(b) <= 253 for b in bridges), bridges
    held = cluster.bindings(owner)
    assert sorted(k[2] for k in held) == sorted(names)
    assert all(v["roleRef"]["name"] == "spectro-vm-user" for v in held.values())
    for n in names:
        cluster.wait_until_can("%s-%s" % (n[-5:], uid), "get", "virtualmachineinstances", "subresources.kubevirt.io",
                               ns, "console")
    assert ok(enforce(admin_identity, owner, switched))["changed"] is False


# On the bare cluster, in its xdist group: a binding to system:authenticated reaches every subject, so
# on a shared cluster it would fail every validation that runs at the same time (it did, in CI).
@pytest.mark.xdist_group("bare")
def test_everyone_group_leak_is_caught_outside_the_scope(bare_cluster, owner, uid):
    """The false proof: a viewer restricted to team1 could delete VMs in 'leaky' through a RoleBinding of
    an admin role to system:authenticated, and validation passed (it probed one namespace outside the
    scope plus the namespaces whose bindings named the subject itself)."""
    cluster = bare_cluster
    admin = cluster.identity("it-admin-" + uid)
    team1, leaky = cluster.namespace("team1-" + uid), cluster.namespace("leaky-" + uid)
    bindings = [{"persona": "viewer", "users": ["v-" + uid], "namespaces": [team1]}]
    try:
        ok(enforce(admin, owner, bindings, role_set="kubernetes"))
        cluster.rbac().create_namespaced_role_binding(leaky, {
            "metadata": {"name": "everyone-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]})
        cluster.wait_until_can("v-" + uid, "delete", "virtualmachines", "kubevirt.io", leaky)
        res = validate(admin, owner, bindings, role_set="kubernetes")
        assert res["passed"] is False
        leaked = [r for r in res["access"] if r["namespace"] == leaky and r["ok"] is False]
        assert leaked and all(r["scope"] == "outside" and r["allowed"] for r in leaked)
        assert {"vm.delete", "vm.create"} <= {r["capability"] for r in leaked}
        assert "in namespace %s (outside its scope)" % leaky in res["msg"]
    finally:
        cluster.rbac().delete_namespaced_role_binding("everyone-admin", leaky)
        ok(enforce(admin, owner, [], purge=True, allow_empty_purge=True))
        assert cluster.bindings(owner) == {}
        for ns in (team1, leaky):
            cluster.delete_namespace(ns)


# ------------------------------------------------------------- namespace rules, as in Palette


def test_negated_rule_protected_namespaces_and_rules_that_match_nothing(
        cluster, owner, uid, admin_identity, namespaces):
    web, db = namespaces("web-app", "db")
    # ~/re/ matches every namespace that does not match; protected namespaces never
    bindings = [{"persona": "viewer", "users": ["n-" + uid], "namespace_regex": "~/^(kube|cluster|web-app)[-]/"},
                {"persona": "user", "users": ["a-" + uid], "namespace_regex": "/.*/"},
                {"persona": "user", "users": ["k-" + uid], "namespaces": ["kube-public"]},
                {"persona": "viewer", "users": ["z-" + uid], "namespace_regex": "^[[:alpha:]]+-nothing-" + uid}]
    res = ok(enforce(admin_identity, owner, bindings))
    held = cluster.bindings(owner)
    viewer_ns = {k[1] for k, v in held.items() if any(s["name"] == "n-" + uid for s in v["subjects"])}
    assert db in viewer_ns and "default" in viewer_ns
    assert web not in viewer_ns and not {n for n in viewer_ns if n.startswith("kube-")}
    user_ns = {k[1] for k, v in held.items() if any(s["name"] == "a-" + uid for s in v["subjects"])}
    assert {web, db, "default"} <= user_ns
    assert not {"kube-system", "kube-public", "kube-node-lease"} & user_ns  # /.*/ never reaches them
    assert (RB, "kube-public", owner + "-spectro-vm-user") in held  # named: still granted
    scopes = {s["entry"]: s for s in res["scopes"]}
    assert set(scopes["bindings[1].namespace_regex"]["skipped_protected"]) == {"kube-system", "kube-public",
                                                                               "kube-node-lease"}
    assert scopes["bindings[3].namespace_regex"]["matched_nothing"] is True
    assert any("bindings[3].namespace_regex" in w and "matched no namespace" in w
               for w in res.get("warnings", [])), res.get("warnings")
    cluster.wait_until_can("a-" + uid, "delete", "virtualmachines", "kubevirt.io", "kube-system", allowed=False)

    # validation: the rule that matches nothing is unchecked, never proof
    only_empty = [bindings[3]]
    v = validate(admin_identity, owner + "-e", only_empty)
    assert v["summary"]["unchecked_entries"] == 1 and v["access"] == [] and v["summary"]["subjects"] == 0
    assert v["summary"]["checks"] == 1  # only the role's presence was proven
    assert "Not proven" in v["msg"] and "bindings[0].namespace_regex" in v["msg"]
    # strict_scopes: an error naming the field, before any write
    audit = cluster.audit()
    msg = failed(enforce(admin_identity, owner + "-s", only_empty, strict_scopes=True))
    assert msg.startswith("bindings[0].namespace_regex:") and "matched no namespace" in msg
    assert writes(audit, admin_identity.user) == []


def test_posix_class_means_letters_as_in_go(cluster, owner, uid, admin_identity, namespaces):
    """Python's re read ^[[:alpha:]]+-app as a class of '[:alph' then ']': it did not match web-app."""
    target = namespaces("webapp")  # webapp-<uid>: letters, then -<uid>
    res = ok(enforce(admin_identity, owner, [{"persona": "viewer", "users": ["x-" + uid],
                                              "namespace_regex": "^[[:alpha:]]+-%s$" % uid}]))
    assert [s["namespaces"] for s in res["scopes"]] == [[target]]
    assert (RB, target, owner + "-spectro-vm-viewer") in cluster.bindings(owner)


def test_console_access_binds_the_console_role_in_the_same_scope(cluster, owner, uid, admin_identity, namespaces):
    """A user persona with console_access: console yes, create and delete no, in its namespace only."""
    ns, other = namespaces("con", "con-other")
    bindings = [{"persona": "viewer", "users": ["c-" + uid], "namespaces": [ns], "console_access": True}]
    res = ok(enforce(admin_identity, owner, bindings))
    assert (RB, ns, owner + "-vm-console") in cluster.bindings(owner)
    assert {b["persona"] for b in res["bindings"]} == {"viewer", "console"}
    user = "c-" + uid
    cluster.wait_until_can(user, "get", "virtualmachineinstances", "subresources.kubevirt.io", ns, "console")
    cluster.wait_until_can(user, "get", "virtualmachineinstances", "subresources.kubevirt.io", ns, "vnc")
    cluster.wait_until_can(user, "delete", "virtualmachines", "kubevirt.io", ns, allowed=False)
    cluster.wait_until_can(user, "create", "virtualmachines", "kubevirt.io", ns, allowed=False)
    cluster.wait_until_can(user, "get", "virtualmachineinstances", "subresources.kubevirt.io", other, "console", allowed=False)
    v = ok(validate(admin_identity, owner, bindings))
    assert v["passed"] is True, v["msg"]
    cells = {(m["scope"], c): state for m in v["matrix"] for c, state in m["cells"].items()}
    assert cells[(ns, "vm.console")] == "ok" and v["matrix"][0]["expected"]["vm.console"] is True
    assert cells[(ns, "vm.delete")] == "ok" and v["matrix"][0]["allowed"]["vm.delete"] is False
