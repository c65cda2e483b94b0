"""A Group subject is asked as the synthetic user ``system:vmo-rbac:group-probe`` in that group
(docs/validate.md, "How each subject is asked"). Attack pass (session 3): a namespace tenant who may bind
roles in its namespace binds one to that user name; every group's answer there then carries the probe's own
grant, and validate showed a group with no binding at all as proven to view VMs (``ok: true``). What a group
is expected to be allowed and the probe's own binding may explain is now unchecked, not passed, and the run
says why; a denial stays a proof, and what a group is expected to be denied and is allowed still fails."""

from tests.helpers.ansible import run_module

VALIDATE = "vmo.rbac.vmo_rbac_validate"
RBAC = "rbac.authorization.k8s.io"
PROBE = "system:vmo-rbac:group-probe"


def test_a_binding_to_the_probe_user_proves_nothing_for_groups(cluster, namespaces, owner, uid, admin_identity):
    ns, other = namespaces("probe", "probe-other")
    nobody = "nobody-" + uid  # a group no binding names
    bindings = [{"persona": "viewer", "groups": [nobody], "namespaces": [ns, other]}]
    args = dict(admin_identity.params, owner=owner, bindings=bindings, fail_on_drift=False)
    res = run_module(VALIDATE, args)
    mine = [r for r in res["access"] if r["subject"] == "Group " + nobody and r["expected"] is True]
    assert mine and not any(r["ok"] for r in mine)  # no binding: nothing it should have is allowed

    cluster.rbac().create_namespaced_role_binding(ns, {
        "metadata": {"name": "probe-" + uid, "namespace": ns},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "spectro-vm-admin"},
        "subjects": [{"kind": "User", "name": PROBE, "apiGroup": RBAC}]})
    res = run_module(VALIDATE, args)
    every = [r for r in res["access"] if r["subject"] == "Group " + nobody]
    rows = [r for r in every if r["expected"] is True]
    there = [r for r in rows if r["namespace"] == ns]
    assert there and all(r["allowed"] for r in there)  # the API server's answer: the probe's own grant
    assert not any(r["ok"] for r in rows), [r for r in rows if r["ok"]]
    assert all(r["ok"] is None and "probe-" + uid in r["reason"] for r in there)
    assert all(r["ok"] is False for r in rows if r["namespace"] == other)  # elsewhere still a denial
    assert any(PROBE in w and "probe-" + uid in w for w in res.get("warnings", [])), res.get("warnings")
    # what a viewer must not do and the answer allows (the probe's admin grant) still fails: a binding of the
    # probe user must never turn a violation into "unchecked"
    denied = [r for r in every if r["expected"] is False and r["namespace"] == ns]
    assert denied and all(r["allowed"] and r["ok"] is False for r in denied)
    assert res["passed"] is False
