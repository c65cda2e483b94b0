"""The exclusive audit asks the API server to confirm every violation it reports, and only those and a
sample of the other holders (whocan.exclusive_audit; docs/validate.md, "Which findings are confirmed").

The local evaluation and the API server disagree when the RBAC objects change between the snapshot and the
reviews: a binding deleted meanwhile is a holder to the snapshot and not to the API server. Such a finding is
never reported as a violation; it is counted as unconfirmed, with a warning."""

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._flows import whocan
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access, holders
from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration as decls
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster

RBAC = "rbac.authorization.k8s.io"


def rb(name, ns, role, subject):
    return {"metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role}, "subjects": [subject]}


def user(name):
    return {"kind": "User", "name": name, "apiGroup": RBAC}


def audit(client, decl, known, lists, components, sample_size=whocan.SAMPLE):
    desired = plan_scopes.resolve(decl, dict((ns, {}) for ns in known), set())
    result = {"summary": {"checks": 0, "passed": 0, "failed": 0}, "passed": True}
    matrix = access.build_matrix("vmo")
    whocan.exclusive_audit(result, holders.parse_platform_subjects([]), client, desired, matrix, 8, lists=lists,
                           components=components, sample_size=sample_size)
    return result


def test_every_reported_violation_is_confirmed_and_a_binding_gone_since_the_snapshot_is_not_reported(
        cluster, namespaces, uid, owner, admin_identity):
    ns = namespaces("wc")
    gone, stays, declared = "gone-%s@example.com" % uid, "stays-%s@example.com" % uid, "ok-%s@example.com" % uid
    rbac = cluster.rbac()
    for name, who, role in (("gone", gone, "spectro-vm-admin"), ("stays", stays, "spectro-vm-power-user"),
                            ("ok", declared, "spectro-vm-admin")):
        rbac.create_namespaced_role_binding(ns, rb(name + "-" + uid, ns, role, user(who)))
    decl = decls.from_module_args({"owner": owner, "bindings": [{"persona": "admin", "users": [declared],
                                                                 "namespaces": [ns]}]})
    client = Cluster(dict(admin_identity.params), component="whocan-confirm")
    lists, components = whocan.read_rbac(client, 4)
    # the race: after the snapshot, before the reviews
    rbac.delete_namespaced_role_binding("gone-" + uid, ns)

    result = audit(client, decl, [ns], lists, components)
    mine = [w for w in result["who_else"] if w["namespace"] == ns]
    assert {w["subject"] for w in mine} == {"User " + stays}, mine
    assert all(w["confirmed"] is True for w in result["who_else"])
    s = result["who_else_summary"]
    assert s["unconfirmed"] >= 1 and any("not confirmed by the API server" in w for w in result["warnings"])
    # only the violations and a sample were asked: the declared user's findings at most through the sample
    assert s["asked"] <= len(result["who_else"]) + s["unconfirmed"] + s["sampled"]
    assert s["sampled"] <= whocan.SAMPLE

    # without a sample, the declared holder is not asked at all, and is still not a violation
    result = audit(client, decl, [ns], lists, components, sample_size=0)
    assert {w["subject"] for w in result["who_else"] if w["namespace"] == ns} == {"User " + stays}
    s = result["who_else_summary"]
    assert s["sampled"] == 0 and s["asked"] == len(result["who_else"]) + s["unconfirmed"]
    assert s["confirmed"] == len(result["who_else"])
    assert s["holders"] > s["confirmed"]  # the declared and platform holders, as the local evaluation found them


def test_odd_subject_forms_are_judged_as_the_api_server_judges_them(cluster, namespaces, uid, owner, admin_identity):
    """Attack pass (session 3), every form a subject can take, each bound to spectro-vm-admin in one namespace:
    a declared ServiceAccount bound by kind, as a User named ``system:serviceaccount:<ns>:robot``, and as a
    ServiceAccount subject without a namespace (in a RoleBinding: the binding's own) is declared; the group of
    every ServiceAccount of the namespace, a user name with one colon too many (never a ServiceAccount's) and
    a name outside ASCII are violations, each confirmed by the API server and named as bound."""
    ns = namespaces("odd")
    sa_user = "system:serviceaccount:%s:robot" % ns
    extra = "system:serviceaccount:%s:robot:extra" % ns
    wide = "Ünïcødé-名前-%s" % uid
    rbac = cluster.rbac()
    subjects = [
        ("by-kind", {"kind": "ServiceAccount", "name": "robot", "namespace": ns}),
        ("as-user", user(sa_user)),
        ("no-ns", {"kind": "ServiceAccount", "name": "robot"}),
        ("sa-group", {"kind": "Group", "name": "system:serviceaccounts:" + ns, "apiGroup": RBAC}),
        ("extra-colon", user(extra)),
        ("wide", user(wide)),
    ]
    for name, subject in subjects:
        rbac.create_namespaced_role_binding(ns, rb(name + "-" + uid, ns, "spectro-vm-admin", subject))
    decl = decls.from_module_args({"owner": owner, "bindings": [{"persona": "admin",
                                                                 "service_accounts": ["%s/robot" % ns],
                                                                 "namespaces": [ns]}]})
    client = Cluster(dict(admin_identity.params), component="whocan-odd")
    lists, components = whocan.read_rbac(client, 4)
    result = audit(client, decl, [ns], lists, components)
    mine = [w for w in result["who_else"] if w["namespace"] == ns]
    reported = {w["subject"] for w in mine}
    assert reported == {"Group system:serviceaccounts:" + ns, "User " + extra, "User " + wide}, reported
    assert all(w["confirmed"] is True for w in mine)
    # (not who_else_summary's unconfirmed count: it is the whole cluster's, which other tests change meanwhile)
    everyone = [w for w in mine if w["subject"].startswith("Group ")]
    assert everyone and all(w["everyone"] == "every ServiceAccount in namespace %s" % ns for w in everyone)
    # each fix names the binding as it was written
    fixes = " ".join(w["fix"] for w in mine)
    assert "sa-group-%s" % uid in fixes and "extra-colon-%s" % uid in fixes and "wide-%s" % uid in fixes
    assert "by-kind-" not in fixes and "no-ns-" not in fixes and "as-user-" not in fixes


def test_an_undeclared_holder_the_api_server_did_not_confirm_is_not_proven_never_passed(
        cluster, namespaces, uid, owner, admin_identity):
    """Attack pass (session 4): the RBAC objects granted an undeclared user in a namespace, and the API server
    did not confirm it (the binding was deleted between the snapshot and the reviews; another authorizer that
    denies looks the same). The place passed, with a warning. One of the two answers is not the cluster as it
    is, and the audit cannot tell which: an auditor reading "passed" takes the place as proven exclusive. The
    place is now not proven: a failed question of the audit, named in a warning and in who_else_unproven."""
    from ansible_collections.vmo.rbac.plugins.module_utils._core import verdict

    ns = namespaces("wc-unproven")
    gone, declared = "gone-%s@example.com" % uid, "ok-%s@example.com" % uid
    rbac = cluster.rbac()
    for name, who in (("gone", gone), ("ok", declared)):
        rbac.create_namespaced_role_binding(ns, rb(name + "-" + uid, ns, "spectro-vm-admin", user(who)))
    decl = decls.from_module_args({"owner": owner, "bindings": [{"persona": "admin", "users": [declared],
                                                                 "namespaces": [ns]}]})
    client = Cluster(dict(admin_identity.params), component="whocan-confirm")
    lists, components = whocan.read_rbac(client, 4)
    rbac.delete_namespaced_role_binding("gone-" + uid, ns)  # after the snapshot, before the reviews

    desired = plan_scopes.resolve(decl, {ns: {}}, set())
    result = {"summary": {"checks": 0, "passed": 0, "failed": 0}, "passed": True}
    part = whocan.exclusive_audit(result, holders.parse_platform_subjects([]), client, desired,
                                  access.build_matrix("vmo"), 8, lists=lists, components=components)
    unproven = [f for f in result.get("who_else_unproven", []) if f["namespace"] == ns]
    assert unproven and {f["subject"] for f in unproven} == {"User " + gone}, result.get("who_else_unproven")
    assert not [w for w in result["who_else"] if w["namespace"] == ns]  # never reported as a confirmed holder
    places = set((f["capability"], ns) for f in unproven)
    assert part.not_proven >= len(places) and part.failed >= len(places)
    assert result["who_else_summary"]["not_proven"] == part.not_proven
    assert any(w.startswith("exclusive audit: not proven for ") and "in namespace %s" % ns in w
               for w in result["warnings"]), result["warnings"]
    passed, summary = verdict.tally([{"present": True}], audit=part)
    assert passed is False and summary["who_else_not_proven"] == part.not_proven
