"""vmo_rbac_access_info and validate's exclusive audit confirm a Group's finding by its groups alone (no user),
as validate asks. Attack pass (session 4): a Group was asked as the user ``system:vmo-rbac:group-probe``, and a
namespace tenant who bound a role to that user name made every group's question in its namespace answered by
that user's grant: a group whose binding was gone by the time of the reviews was reported ``confirmed: true``
(later: ``confirmed: null`` with a ``probe`` field and a warning). Session 5: no user is asked for a group, so such
a binding answers for nobody but that user: the group's finding is confirmed or not by its own grants, the user is
a holder like any other, and nothing is hidden or left unproven."""

from ansible_collections.vmo.rbac.plugins.module_utils._flows import whocan
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from tests.helpers.ansible import ok, run_module

INFO = "vmo.rbac.vmo_rbac_access_info"
RBAC = "rbac.authorization.k8s.io"
OLD_PROBE = "system:vmo-rbac:group-probe"


def _binding(ns, name, role, kind, subject):
    return {"metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": kind, "name": subject, "apiGroup": RBAC}]}


def _bind_group_and_old_probe_user(cluster, ns, uid, group):
    """The group and a tenant's binding of the old probe user's name, both viewers in ``ns``, in force."""
    rbac = cluster.rbac()
    rbac.create_namespaced_role_binding(ns, _binding(ns, "grp-" + uid, "spectro-vm-viewer", "Group", group))
    rbac.create_namespaced_role_binding(ns, _binding(ns, "tenant-" + uid, "spectro-vm-viewer", "User", OLD_PROBE))
    cluster.wait_until_can("", "get", "virtualmachines", "kubevirt.io", namespace=ns,
                           groups=[group, "system:authenticated"])
    cluster.wait_until_can(OLD_PROBE, "get", "virtualmachines", "kubevirt.io", namespace=ns)
    return rbac


def test_a_group_whose_binding_is_gone_is_not_confirmed_by_a_users_binding(cluster, namespaces, uid, admin_identity):
    ns = namespaces("ai-probe")
    group = "probe-grp-" + uid
    rbac = _bind_group_and_old_probe_user(cluster, ns, uid, group)
    client = Cluster(dict(admin_identity.params), component="access-info-probe")
    matrix = access.build_matrix("vmo")
    lists, components = whocan.read_rbac(client, 4)

    # the group's binding removed after the snapshot, before the reviews (a concurrent change)
    rbac.delete_namespaced_role_binding("grp-" + uid, ns)
    cluster.wait_until_can("", "get", "virtualmachines", "kubevirt.io", namespace=ns,
                           groups=[group, "system:authenticated"], allowed=False)
    found, unconfirmed, stats, _i = whocan.find_holders(client, matrix, {"vm.view"}, [ns], lists=lists,
                                                        components=components)
    mine = [h for h in found + unconfirmed if h["subject"] == "Group " + group and h["namespace"] == ns]
    assert len(mine) == 1, mine
    held = mine[0]
    assert held["confirmed"] is False and held in unconfirmed, held  # the API server denies the group now
    assert held["as_user"] == "" and "probe" not in held
    assert "probe" not in stats
    # the tenant's user is a holder as any user is, confirmed, and no everyone group is listed for its grant
    assert any(h["subject"] == "User " + OLD_PROBE and h["confirmed"] is True for h in found if h["namespace"] == ns)
    assert not [h for h in found + unconfirmed if h["subject"] == "Group system:authenticated" and h["namespace"] == ns]

    # through the module, the group bound again: confirmed by its own answers, no warning about the user
    rbac.create_namespaced_role_binding(ns, _binding(ns, "grp-" + uid, "spectro-vm-viewer", "Group", group))
    cluster.wait_until_can("", "get", "virtualmachines", "kubevirt.io", namespace=ns,
                           groups=[group, "system:authenticated"])
    res = ok(run_module(INFO, dict(admin_identity.params, only_capabilities=["vm.view"], namespaces=[ns], confirm="all")))
    assert not any(OLD_PROBE in w for w in res.get("warnings", [])), res.get("warnings")
    (again,) = [h for h in res["holders"] if h["subject"] == "Group " + group and h["namespace"] == ns]
    assert again["confirmed"] is True and "probe" not in again and again["as_user"] == ""
    assert "probe" not in res["summary"]
    assert [h for h in res["holders"] if h["subject"] == "User " + OLD_PROBE and h["namespace"] == ns]


def test_validates_exclusive_audit_reports_an_undeclared_group_and_the_user_beside_it(
        cluster, namespaces, uid, admin_identity, owner):
    """The exclusive audit asks every undeclared holder: the group's finding is confirmed by its own answers (no
    user is asked), and the tenant's user is reported too (it was hidden behind the groups before session 4)."""
    ns = namespaces("audit-probe")
    group = "audit-grp-" + uid
    _bind_group_and_old_probe_user(cluster, ns, uid, group)
    client = Cluster(dict(admin_identity.params), component="audit-probe")
    matrix = access.build_matrix("vmo")
    result = {}
    part = whocan.exclusive_audit(result, [], client, {}, matrix, 8)
    mine = [w for w in result["who_else"] if w["subject"] == "Group " + group and w["namespace"] == ns]
    assert mine and all(w["confirmed"] is True and "probe" not in w for w in mine), mine
    user = [w for w in result["who_else"] if w["subject"] == "User " + OLD_PROBE and w["namespace"] == ns]
    assert user and all(w["confirmed"] is True for w in user), user
    assert part.failed >= 1
