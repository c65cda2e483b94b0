"""A Group subject is asked by its groups alone: a SubjectAccessReview with ``groups`` and no ``user``
(docs/validate.md, "How each subject is asked"). Earlier releases asked it as the synthetic user
``system:vmo-rbac:group-probe`` in that group; attack pass (session 3): a namespace tenant who may bind roles
bound one to that user name, every group's answer there carried that user's grant, and validate showed a group
with no binding at all as proven to view VMs (later: unchecked, with a warning). Session 5: no user, so no
binding can answer for a group; a tenant's binding of that old name is a user's like any other and changes no
group's verdict."""

from tests.helpers.ansible import run_module

VALIDATE = "vmo.rbac.vmo_rbac_validate"
RBAC = "rbac.authorization.k8s.io"
OLD_PROBE = "system:vmo-rbac:group-probe"


def _bind(cluster, ns, name, role, kind, subject):
    cluster.rbac().create_namespaced_role_binding(ns, {
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": kind, "name": subject, "apiGroup": RBAC}]})


def _verdicts(res, subject):
    return sorted((r["capability"], r["verb"], r["resource"], r["subresource"], r["namespace"], r["scope"],
                   r["allowed"], r["ok"]) for r in res["access"] if r["subject"] == subject)


def test_a_binding_of_the_old_probe_users_name_changes_no_groups_verdict(cluster, namespaces, owner, uid,
                                                                        admin_identity):
    ns, other = namespaces("probe", "probe-other")
    nobody = "nobody-" + uid  # a group no binding names
    bindings = [{"persona": "viewer", "groups": [nobody], "namespaces": [ns, other]}]
    args = dict(admin_identity.params, owner=owner, bindings=bindings, fail_on_drift=False)
    res = run_module(VALIDATE, args)
    mine = [r for r in res["access"] if r["subject"] == "Group " + nobody]
    assert [r for r in mine if r["expected"] is True] and not any(r["ok"] for r in mine if r["expected"] is True)
    # asked by its groups alone: no user at all
    assert all(r["as_user"] == "" and r["as_groups"] == sorted([nobody, "system:authenticated"]) for r in mine)
    before = _verdicts(res, "Group " + nobody)

    # a tenant binds VM admin to the old probe user's name, and to a user named like the group
    _bind(cluster, ns, "probe-" + uid, "spectro-vm-admin", "User", OLD_PROBE)
    _bind(cluster, ns, "namesake-" + uid, "spectro-vm-admin", "User", nobody)
    cluster.wait_until_can(OLD_PROBE, "delete", "virtualmachines", "kubevirt.io", namespace=ns)
    cluster.wait_until_can(nobody, "delete", "virtualmachines", "kubevirt.io", namespace=ns)
    res = run_module(VALIDATE, args)
    assert _verdicts(res, "Group " + nobody) == before  # the same answers and verdicts: the tenant's grant is not the group's
    there = [r for r in res["access"] if r["subject"] == "Group " + nobody and r["namespace"] == ns]
    assert there and not any(r["allowed"] for r in there)
    assert not any(r["ok"] is None for r in res["access"] if r["subject"] == "Group " + nobody)
    assert not any(OLD_PROBE in w for w in res.get("warnings", [])), res.get("warnings")
    assert res["passed"] is False  # a viewer group that holds nothing


def test_a_group_persona_passes_by_its_own_binding(cluster, namespaces, owner, uid, admin_identity):
    """The positive side: a group bound as a viewer is proven a viewer by groups-only questions, and the old
    probe name bound as admin next to it neither adds to nor hides anything."""
    ns = namespaces("probe-ok")
    viewers = "viewers-" + uid
    _bind(cluster, ns, "grp-" + uid, "spectro-vm-viewer", "Group", viewers)
    _bind(cluster, ns, "probe-" + uid, "spectro-vm-admin", "User", OLD_PROBE)
    cluster.wait_until_can("", "get", "virtualmachines", "kubevirt.io", namespace=ns,
                           groups=[viewers, "system:authenticated"])
    cluster.wait_until_can(OLD_PROBE, "delete", "virtualmachines", "kubevirt.io", namespace=ns)
    bindings = [{"persona": "viewer", "groups": [viewers], "namespaces": [ns]}]
    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings, fail_on_drift=False))
    rows = [r for r in res["access"] if r["subject"] == "Group " + viewers and r["expected"] is not None]
    assert rows and all(r["as_user"] == "" for r in rows)
    inside = [r for r in rows if r["namespace"] == ns and r["scope"] == "namespace"]
    assert inside and all(r["ok"] is True for r in inside), [r for r in inside if r["ok"] is not True]
    # vm.delete is denied to the group, though the old probe user may delete there
    assert [r for r in inside if r["capability"] == "vm.delete"] and \
        all(r["allowed"] is False for r in inside if r["capability"] == "vm.delete")
