"""One RBAC snapshot per vmo_rbac_validate run (module_utils/_flows/snapshot.py): with the access checks, the
privileged audit and the exclusive audit on, the API server's audit log shows each list read once
(ClusterRoles, Roles, ClusterRoleBindings, RoleBindings, Namespaces, and the APIServices of the exclusive
audit), and vmo_rbac_access_info reads its lists once as well. On main 7da07ec the same validate run listed
ClusterRoles twice and RoleBindings four times (docs/performance.md)."""

from collections import Counter

from tests.helpers.ansible import run_module

ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
ACCESS_INFO = "vmo.rbac.vmo_rbac_access_info"
RBAC = "rbac.authorization.k8s.io"
LISTED = ("clusterroles", "roles", "clusterrolebindings", "rolebindings", "namespaces")


def lists(audit, user):
    """Counter of the LISTs of each resource the user sent, and every request it sent that is neither a LIST
    nor a SubjectAccessReview."""
    events = audit.events(user=user)
    listed = Counter(e["objectRef"]["resource"] for e in events if e["verb"] == "list")
    other = [(e["verb"], e["objectRef"].get("resource")) for e in events
             if e["verb"] != "list" and e["objectRef"].get("resource") not in ("subjectaccessreviews",
                                                                                "selfsubjectreviews")]
    return listed, other


def test_validate_with_both_audits_reads_each_list_once(cluster, namespaces, owner, uid, admin_identity):
    ns_a, ns_b = namespaces("sa", "sb")
    bindings = [
        {"persona": "admin", "groups": ["admins-" + uid]},
        {"persona": "user", "service_accounts": ["%s/robot" % ns_a], "namespaces": [ns_a, ns_b]},
        # a Role grant: the referenced Roles are looked up too
        {"role": "vm-reader-" + uid, "users": ["r-%s@example.com" % uid], "namespaces": [ns_a]},
    ]
    rbac = cluster.rbac()
    rbac.create_namespaced_role(ns_a, {"metadata": {"name": "vm-reader-" + uid, "namespace": ns_a},
                                       "rules": [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"],
                                                  "verbs": ["get"]}]})
    res = run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings[:2]))
    assert res["changed"] and not res.get("failed"), res.get("msg")
    # an undeclared holder (the exclusive audit finds it) and a declared grant not made yet (drift: the plan
    # looks for same-name objects in the way, which read every binding's metadata before)
    rbac.create_namespaced_role_binding(ns_b, {
        "metadata": {"name": "side-" + uid, "namespace": ns_b},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "spectro-vm-admin"},
        "subjects": [{"kind": "User", "name": "side-%s@example.com" % uid, "apiGroup": RBAC}]})
    try:
        audit = cluster.audit()
        res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings, audit_privileged=True,
                                        audit_exclusive=True, fail_on_drift=False))
        assert not res.get("failed"), res.get("msg")
        listed, other = lists(audit, admin_identity.user)
        # what the run found is what it found before: the drift, the privileged, the undeclared holder
        assert [d["action"] for d in res["drift"]] == ["create"], res["drift"]
        assert any(p["subject"] == "Group system:masters" for p in res["privileged"])
        assert any(w["subject"] == "User side-%s@example.com" % uid and w["namespace"] == ns_b
                   for w in res["who_else"]), res["who_else"]
        assert [r for r in res["roles"] if r["kind"] == "Role"][0]["present"] is True
        # each list once, and nothing else but the APIServices (where KubeVirt runs) and the KubeVirt release
        assert dict((k, listed[k]) for k in LISTED) == dict((k, 1) for k in LISTED), listed
        assert set(listed) - set(LISTED) <= {"apiservices"} and listed["apiservices"] == 1, listed
        assert other == [], other
        assert audit.writes(user=admin_identity.user) == []
    finally:
        run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings[:2], state="absent"))
        rbac.delete_namespaced_role_binding("side-" + uid, ns_b)


def test_access_info_reads_each_list_once(cluster, admin_identity):
    audit = cluster.audit()
    res = run_module(ACCESS_INFO, dict(admin_identity.params, only_capabilities=["vm.console"]))
    assert not res.get("failed"), res.get("msg")
    listed, other = lists(audit, admin_identity.user)
    assert listed == Counter({"clusterroles": 1, "roles": 1, "clusterrolebindings": 1, "rolebindings": 1,
                              "apiservices": 1}), listed
    assert other == [] and res["summary"]["lists"] == 5
