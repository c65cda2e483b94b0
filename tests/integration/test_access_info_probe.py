"""vmo_rbac_access_info asks a Group's finding as the user ``system:vmo-rbac:group-probe`` in that group (as
validate does). Attack pass (session 4): a namespace tenant who binds a role to that user name makes every
group's question in its namespace answered by the probe's own grant. A group whose binding was gone by the time
of the reviews (a concurrent change, the case the confirming reviews are there for) was still reported
``confirmed: true``, and the disagreement that should have had every holder asked (confirm: sample) was hidden.
Such an answer proves nothing for the group: the holder is reported as the local evaluation found it
(``confirmed`` null) with the binding named in ``probe``, and the run warns; a denial is still proof."""

from ansible_collections.vmo.rbac.plugins.module_utils._flows import whocan
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from tests.helpers.ansible import ok, run_module

INFO = "vmo.rbac.vmo_rbac_access_info"
RBAC = "rbac.authorization.k8s.io"
PROBE = "system:vmo-rbac:group-probe"


def _binding(ns, name, role, kind, subject):
    return {"metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": kind, "name": subject, "apiGroup": RBAC}]}


def _bind_group_and_probe_user(cluster, ns, uid, group):
    """The group and a tenant's binding of the probe user, both viewers in ``ns``, in force; the RBAC API."""
    rbac = cluster.rbac()
    rbac.create_namespaced_role_binding(ns, _binding(ns, "grp-" + uid, "spectro-vm-viewer", "Group", group))
    rbac.create_namespaced_role_binding(ns, _binding(ns, "tenant-" + uid, "spectro-vm-viewer", "User", PROBE))
    cluster.wait_until_can("someone", "get", "virtualmachines", "kubevirt.io", namespace=ns,
                           groups=[group, "system:authenticated"])
    return rbac


def test_a_group_answered_by_the_probe_users_own_binding_is_not_confirmed(cluster, namespaces, uid, admin_identity):
    ns = namespaces("ai-probe")
    group = "probe-grp-" + uid
    rbac = _bind_group_and_probe_user(cluster, ns, uid, group)
    client = Cluster(dict(admin_identity.params), component="access-info-probe")
    matrix = access.build_matrix("vmo")
    lists, components = whocan.read_rbac(client, 4)

    # the group's binding removed after the snapshot, before the reviews (a concurrent change)
    rbac.delete_namespaced_role_binding("grp-" + uid, ns)
    cluster.wait_until_can("someone", "get", "virtualmachines", "kubevirt.io", namespace=ns,
                           groups=[group, "system:authenticated"], allowed=False)
    found, unconfirmed, stats, _i = whocan.find_holders(client, matrix, {"vm.view"}, [ns], lists=lists,
                                                        components=components)
    mine = [h for h in found + unconfirmed if h["subject"] == "Group " + group and h["namespace"] == ns]
    assert len(mine) == 1, mine
    held = mine[0]
    assert held["confirmed"] is not True, held  # the probe user's grant answered, not the group's
    assert held["confirmed"] is None and held["probe"] == ["RoleBinding %s/tenant-%s" % (ns, uid)], held
    assert stats["confirmed"] < stats["holders"]
    # the probe user's own finding is a holder as any user's is
    assert any(h["subject"] == "User " + PROBE and h["confirmed"] is True for h in found if h["namespace"] == ns)

    # through the module, the group bound again: its answers are still the probe's as much as its own; the warning
    # names the binding, and the message does not say every holder is confirmed
    rbac.create_namespaced_role_binding(ns, _binding(ns, "grp-" + uid, "spectro-vm-viewer", "Group", group))
    res = ok(run_module(INFO, dict(admin_identity.params, only_capabilities=["vm.view"], namespaces=[ns], confirm="all")))
    assert any(PROBE in w and "tenant-" + uid in w for w in res.get("warnings", [])), res.get("warnings")
    assert "every one confirmed" not in res["msg"]
    (again,) = [h for h in res["holders"] if h["subject"] == "Group " + group and h["namespace"] == ns]
    assert again["confirmed"] is None and again["probe"] == ["RoleBinding %s/tenant-%s" % (ns, uid)]
    assert res["summary"]["probe"] == 1 and res["summary"]["confirmed"] == res["summary"]["holders"] - 1


def test_validates_exclusive_audit_reports_an_undeclared_group_where_the_probe_user_is_bound(
        cluster, namespaces, uid, admin_identity, owner):
    """The exclusive audit asks every undeclared holder; a group's where the probe user is bound is not
    confirmed by its answer (confirmed: null, probe), and it must still be reported as a violation (it was one
    before; the audit refused a holder not confirmed with an AssertionError)."""
    ns = namespaces("audit-probe")
    group = "audit-grp-" + uid
    _bind_group_and_probe_user(cluster, ns, uid, group)
    client = Cluster(dict(admin_identity.params), component="audit-probe")
    matrix = access.build_matrix("vmo")
    result = {}
    part = whocan.exclusive_audit(result, [], client, {}, matrix, 8)
    mine = [w for w in result["who_else"] if w["subject"] == "Group " + group and w["namespace"] == ns]
    assert mine and all(w["confirmed"] is None and w["probe"] == ["RoleBinding %s/tenant-%s" % (ns, uid)]
                        for w in mine), mine
    assert part.failed >= 1
