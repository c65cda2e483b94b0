"""The RBAC snapshot's pure parts: the label selectors it applies itself, the view's answers, the day-0 re-read,
and the exclusive audit's sample (the API server side: tests/integration/test_snapshot.py)."""

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_codec
from ansible_collections.vmo.rbac.plugins.module_utils._flows import snapshot, whocan


class Lists(object):
    """Stands in for the cluster client's LIST methods only (counts what it is asked)."""

    def __init__(self):
        self.calls = []
        self.cluster_roles = [{"metadata": {"name": "a"}}]
        self.other = "the cluster's"

    def list_cluster_roles(self, metadata_only=True, label_selector=None):
        self.calls.append(("clusterroles", metadata_only, label_selector))
        return list(self.cluster_roles)

    def list_roles(self, metadata_only=True):
        self.calls.append(("roles", metadata_only))
        return []

    def list_cluster_role_bindings(self, label_selector=None, metadata_only=False):
        self.calls.append(("clusterrolebindings", label_selector))
        return [{"metadata": {"name": "mine", "labels": {"app.kubernetes.io/managed-by": "vmo.rbac",
                                                         "vmo.rbac/owner": "o"}}},
                {"metadata": {"name": "other", "labels": {"vmo.rbac/owner": "o"}}},
                {"metadata": {"name": "bare"}}]

    def list_role_bindings(self, label_selector=None, metadata_only=False):
        self.calls.append(("rolebindings", label_selector))
        return []

    def list_namespaces(self):
        self.calls.append(("namespaces",))
        return {"default": {}}, set()


@pytest.mark.parametrize("selector, terms", [
    ("", {}), (None, {}), ("a=b", {"a": "b"}), ("a==b,c=d", {"a": "b", "c": "d"}), ("a=", {"a": ""}),
    ("a!=b", None), ("a in (b)", None), ("a", None), ("!a", None), ("a=b,a=c", None), ("=b", None),
])
def test_only_equality_selectors_are_applied_here(selector, terms):
    assert snapshot.parse_equality_selector(selector) == terms


def test_the_owner_selector_selects_exactly_the_owners_bindings():
    cluster = Lists()
    view = snapshot.SnapshotView(cluster, snapshot.RbacSnapshot(cluster, concurrency=4))
    got = view.list_cluster_role_bindings(plan_codec.owner_selector("o"), metadata_only=True)
    assert [b["metadata"]["name"] for b in got] == ["mine"]
    assert len(view.list_bindings("ClusterRoleBinding", metadata_only=True)) == 3
    # read once each, all five; the view asked nothing more
    assert sorted(c[0] for c in cluster.calls) == sorted(["clusterroles", "roles", "clusterrolebindings",
                                                          "rolebindings", "namespaces"])


def test_a_selector_it_does_not_apply_and_other_requests_go_to_the_cluster():
    cluster = Lists()
    view = snapshot.SnapshotView(cluster, snapshot.RbacSnapshot(cluster))
    view.list_cluster_role_bindings("a!=b")
    assert cluster.calls[-1] == ("clusterrolebindings", "a!=b")
    assert view.other == "the cluster's"


def test_roles_asked_again_are_read_anew_with_everything_else():
    """observe.observe_roles asks again while it waits for missing roles: the second answer is the cluster's
    now (a whole new snapshot, so that the bindings read after the wait are also read after it)."""
    cluster = Lists()
    snap = snapshot.RbacSnapshot(cluster)
    view = snapshot.SnapshotView(cluster, snap)
    assert [r["metadata"]["name"] for r in view.list_cluster_roles(metadata_only=False)] == ["a"]
    assert view.list_roles() == []  # the first of each kind: from the same snapshot
    assert snap.reads == 5
    cluster.cluster_roles.append({"metadata": {"name": "b"}})
    assert [r["metadata"]["name"] for r in view.list_cluster_roles()] == ["a", "b"]
    assert snap.reads == 10 and snap.generation == 1
    view.list_roles()  # of the new snapshot: not read again
    assert snap.reads == 10


def test_a_snapshot_without_a_kind_leaves_it_to_the_cluster():
    cluster = Lists()
    snap = snapshot.RbacSnapshot(cluster, kinds=(snapshot.ROLE_BINDINGS,))
    view = snapshot.SnapshotView(cluster, snap)
    view.list_namespaces()
    view.list_cluster_role_bindings()
    assert [c[0] for c in cluster.calls] == ["rolebindings", "namespaces", "clusterrolebindings"]
    with pytest.raises(ValueError):
        snapshot.RbacSnapshot(cluster, kinds=("secrets",))


@pytest.mark.parametrize("n, size", [(0, 5), (3, 5), (10, 5), (1000, 200), (201, 200), (5, 0)])
def test_the_sample_is_spread_unique_and_the_same_each_time(n, size):
    got = whocan.sample(list(range(n)), size)
    assert got == whocan.sample(list(range(n)), size)
    assert len(got) == min(n, size) and len(set(got)) == len(got) and got == sorted(got)
    if n > size > 1:
        assert got[0] == 0 and got[-1] >= n - n // size - 1


def test_managed_fields_are_dropped_and_odd_items_left_alone():
    items = [{"metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}]}}, {"metadata": None}, "odd"]
    assert snapshot.without_managed_fields(items) == [{"metadata": {"name": "a"}}, {"metadata": None}, "odd"]
