"""The watch protocol of the event source (plugins/plugin_utils/watch.py), edge by edge: resume
from the last resourceVersion (bookmarks included), 410 Gone as a status and as an ERROR event,
backoff with jitter and a cap, bounded lines and bounded memory, and which changes matter."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.vmo.rbac.plugins.plugin_utils import watch as w


def ns(name, labels=None, rv="1", terminating=False):
    meta = {"name": name, "resourceVersion": rv, "labels": labels or {}}
    if terminating:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    return {"metadata": meta}


def rb(name, namespace="team-a", rv="1", managers=(("kubectl-edit", "2026-12-01T10:00:00Z"),), labels=None):
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, "labels": labels or {},
                         "managedFields": [{"manager": m, "operation": "Update", "time": t} for m, t in managers]}}


# ------------------------------------------------------------------------ ListWatch


def test_list_then_watch_from_the_lists_resource_version_with_bookmarks():
    lw = w.ListWatch("rolebindings", label_selector="a=b", timeout_seconds=120, page_size=250)
    assert lw.needs_list and lw.relist_reason == "start"
    assert lw.list_query() == {"limit": "250", "labelSelector": "a=b"}
    assert lw.list_query("tok")["continue"] == "tok"
    with pytest.raises(RuntimeError):
        lw.watch_query()
    lw.listed("100")
    assert not lw.needs_list
    assert lw.watch_query() == {"watch": "1", "resourceVersion": "100", "allowWatchBookmarks": "true",
                                "timeoutSeconds": "120", "labelSelector": "a=b"}


def test_every_event_and_bookmark_advances_the_resume_point():
    lw = w.ListWatch("namespaces")
    lw.listed("100")
    assert lw.on_event({"type": "ADDED", "object": ns("a", rv="101")}) == ("ADDED", ns("a", rv="101"))
    assert lw.resource_version == "101"
    assert lw.on_event({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "150"}}}) is None
    assert lw.resource_version == "150" and lw.bookmarks == 1
    lw.on_event({"type": "DELETED", "object": ns("a", rv="151")})
    assert lw.watch_query()["resourceVersion"] == "151"
    assert lw.events == 2


def test_a_stream_that_ends_keeps_its_resume_point():
    lw = w.ListWatch("namespaces")
    lw.listed("7")
    # nothing to call: the next watch_query resumes where the last one stopped, no relist
    assert not lw.needs_list and lw.watch_query()["resourceVersion"] == "7"


def test_410_as_an_error_event_means_relist():
    lw = w.ListWatch("namespaces")
    lw.listed("100")
    with pytest.raises(w.Expired):
        lw.on_event({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                  "message": "too old resource version: 100 (200)"}})
    assert lw.needs_list and "410" in lw.relist_reason and "too old" in lw.relist_reason
    assert lw.list_query() == {"limit": "500"}  # from scratch: no stale continue token


def test_410_as_the_http_status_means_relist_and_other_statuses_keep_the_resume_point():
    lw = w.ListWatch("namespaces")
    lw.listed("100")
    with pytest.raises(w.StreamError):
        lw.on_status(500, "boom")
    assert lw.resource_version == "100"
    with pytest.raises(w.Expired):
        lw.on_status(410, "gone")
    assert lw.needs_list


def test_other_error_events_reconnect_from_the_same_resource_version():
    lw = w.ListWatch("namespaces")
    lw.listed("100")
    with pytest.raises(w.StreamError, match="500"):
        lw.on_event({"type": "ERROR", "object": {"code": 500, "message": "internal"}})
    assert lw.resource_version == "100"


@pytest.mark.parametrize("event", [{"type": "ADDED"}, {"type": "WHAT", "object": {}}, "not a dict", {}])
def test_malformed_events_are_stream_errors(event):
    lw = w.ListWatch("namespaces")
    lw.listed("1")
    with pytest.raises(w.StreamError):
        lw.on_event(event)


def test_a_list_without_resource_version_is_refused():
    with pytest.raises(w.StreamError):
        w.ListWatch("namespaces").listed("")


# -------------------------------------------------------------------------- Backoff


def test_backoff_grows_exponentially_to_its_cap_and_resets():
    b = w.Backoff(initial=0.5, maximum=8, factor=2, jitter=0.0)
    assert [b.next_delay() for _ in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]
    b.reset()
    assert b.next_delay() == 0.5


def test_backoff_jitter_only_shortens_and_never_exceeds_the_cap():
    for r in (0.0, 0.5, 0.999):
        b = w.Backoff(initial=1, maximum=10, jitter=0.5, rand=lambda r=r: r)
        delays = [b.next_delay() for _ in range(100)]  # many failures: no overflow either
        assert all(0 < d <= 10 for d in delays)
        assert delays[-1] == pytest.approx(10 * (1 - 0.5 * r))


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=0.999))
def test_backoff_is_always_within_bounds(failures, r):
    b = w.Backoff(initial=0.5, maximum=30, jitter=0.5, rand=lambda: r)
    b.failures = failures
    assert 0.25 * min(1, 2 ** failures) <= b.next_delay() <= 30


@pytest.mark.parametrize("kwargs", [{"initial": 0}, {"initial": 5, "maximum": 1}, {"jitter": 1}, {"factor": 0.5}])
def test_backoff_refuses_nonsense(kwargs):
    with pytest.raises(ValueError):
        w.Backoff(**kwargs)


# ----------------------------------------------------------------------- LineSplitter


def test_lines_across_chunks_and_several_in_one_chunk():
    s = w.LineSplitter()
    assert s.feed(b'{"a":') == []
    assert s.feed(b'1}\n{"b":2}\n\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert s.feed(b":3}\n") == [b'{"c":3}']
    assert s.pending == 0


def test_a_line_above_the_bound_is_refused_and_memory_is_released():
    s = w.LineSplitter(max_line=10)
    with pytest.raises(w.LineTooLong):
        s.feed(b"x" * 11)
    assert s.pending == 0
    assert s.feed(b"ok\n") == [b"ok"]


# ------------------------------------------------------------------- NamespaceTracker


def test_namespace_added_and_labels_changed_matter_the_rest_does_not():
    t = w.NamespaceTracker()
    assert t.replace([w.namespace_digest(ns("default"))], initial=True) == []
    assert t.apply("ADDED", ns("web-app-9")) == w.Change(w.NAMESPACE_ADDED, "web-app-9")
    assert t.apply("MODIFIED", ns("web-app-9", rv="2")) is None  # same labels (status, annotations)
    assert t.apply("MODIFIED", ns("web-app-9", {"team": "vm"})) == w.Change(w.NAMESPACE_LABELS, "web-app-9")
    assert t.apply("MODIFIED", ns("web-app-9", {"team": "vm"}, terminating=True)) is None
    assert t.going_away("web-app-9")
    assert t.apply("DELETED", ns("web-app-9")) is None
    assert "web-app-9" not in t and t.going_away("web-app-9")  # gone
    assert not t.going_away("default")
    assert t.apply("ADDED", ns("doomed", terminating=True)) is None


def test_namespace_relist_reports_what_the_watch_missed():
    t = w.NamespaceTracker()
    t.replace([w.namespace_digest(n) for n in (ns("a"), ns("b", {"x": "1"}), ns("c"))], initial=True)
    changes = t.replace([w.namespace_digest(n) for n in (ns("a"), ns("b", {"x": "2"}), ns("d"),
                                                         ns("e", terminating=True))])
    assert sorted(changes) == sorted([w.Change(w.NAMESPACE_LABELS, "b"), w.Change(w.NAMESPACE_ADDED, "d")])
    assert "c" not in t and len(t) == 4


def test_namespace_memory_is_bounded_and_beyond_it_every_change_counts():
    t = w.NamespaceTracker(limit=2)
    t.replace([w.namespace_digest(ns(n)) for n in ("a", "b", "c")], initial=True)
    assert len(t) == 2 and t.untracked
    assert t.apply("MODIFIED", ns("c")) == w.Change(w.NAMESPACE_UNTRACKED, "c")  # cannot tell: assume it matters
    assert t.apply("ADDED", ns("z")) == w.Change(w.NAMESPACE_ADDED, "z")
    assert len(t) == 2
    assert not t.going_away("c")  # unknown beyond the bound: not assumed gone
    # a relist after the bound was hit reports unknown ones as changed, not silently
    assert w.Change(w.NAMESPACE_UNTRACKED, "c") in t.replace([w.namespace_digest(ns(n)) for n in ("a", "b", "c")])


def test_label_fingerprint_ignores_order():
    assert w.labels_fingerprint({"a": "1", "b": "2"}) == w.labels_fingerprint({"b": "2", "a": "1"})
    assert w.labels_fingerprint({}) == w.labels_fingerprint(None)
    assert w.labels_fingerprint({"a": "1"}) != w.labels_fingerprint({"a": "2"})


# --------------------------------------------------------------------- BindingTracker


def test_a_binding_deleted_by_hand_matters():
    t = w.BindingTracker("RoleBinding", w.NamespaceTracker())
    t.namespaces.replace([w.namespace_digest(ns("team-a"))], initial=True)
    t.replace([w.binding_digest(rb("vmo-rbac-view"))], initial=True)
    assert t.apply("DELETED", rb("vmo-rbac-view")) == w.Change(w.BINDING_DELETED, "RoleBinding team-a/vmo-rbac-view")
    assert len(t) == 0


def test_a_deletion_that_comes_with_its_namespace_or_a_transition_does_not():
    namespaces = w.NamespaceTracker()
    namespaces.replace([w.namespace_digest(ns("team-a", terminating=True))], initial=True)
    t = w.BindingTracker("RoleBinding", namespaces)
    assert t.apply("DELETED", rb("vmo-rbac-view")) is None  # namespace being deleted
    assert t.apply("DELETED", rb("x", namespace="gone-already")) is None  # namespace gone
    crbs = w.BindingTracker("ClusterRoleBinding")
    assert crbs.apply("DELETED", rb("vmo-rbac-admin-transition", namespace="",
                                    labels={w.TRANSITION_LABEL: "true"})) is None
    assert crbs.apply("DELETED", rb("vmo-rbac-admin", namespace="")) == \
        w.Change(w.BINDING_DELETED, "ClusterRoleBinding vmo-rbac-admin")


def test_changes_by_vmo_rbac_itself_are_a_run_converging_not_drift():
    t = w.BindingTracker("ClusterRoleBinding")
    assert t.apply("ADDED", rb("b", namespace="", managers=[("vmo.rbac", "2026-12-01T10:00:00Z")])) is None
    ours = rb("b", namespace="", rv="2", managers=[("kubectl-edit", "2026-12-01T10:00:00Z"),
                                                   ("vmo.rbac", "2026-12-01T10:00:05Z")])
    assert t.apply("MODIFIED", ours) is None
    theirs = rb("b", namespace="", rv="3", managers=[("vmo.rbac", "2026-12-01T10:00:05Z"),
                                                     ("kubectl-edit", "2026-12-01T10:00:09Z")])
    assert t.apply("MODIFIED", theirs) == w.Change(w.BINDING_CHANGED, "ClusterRoleBinding b")
    same_second = rb("b", namespace="", rv="4", managers=[("vmo.rbac", "2026-12-01T10:00:09Z"),
                                                          ("kubectl-edit", "2026-12-01T10:00:09Z")])
    assert t.apply("MODIFIED", same_second) is not None  # cannot tell who was last: it matters
    assert t.apply("MODIFIED", {"metadata": {"name": "b", "resourceVersion": "5"}}) is not None  # no managedFields


def test_binding_relist_reports_deletions_and_foreign_changes_the_watch_missed():
    namespaces = w.NamespaceTracker()
    namespaces.replace([w.namespace_digest(ns(n)) for n in ("team-a", "team-b")], initial=True)
    t = w.BindingTracker("RoleBinding", namespaces)
    t.replace([w.binding_digest(b) for b in (rb("one"), rb("two"), rb("three", namespace="team-b"))], initial=True)
    changes = t.replace([w.binding_digest(b) for b in (
        rb("one", rv="9"),                                                     # edited by someone
        rb("three", namespace="team-b", rv="9", managers=[("vmo.rbac", "2026-12-01T11:00:00Z")]),  # by us
        rb("new"))])                                                           # appeared: never matters
    assert sorted(changes) == sorted([w.Change(w.BINDING_CHANGED, "RoleBinding team-a/one"),
                                      w.Change(w.BINDING_DELETED, "RoleBinding team-a/two")])


def test_binding_memory_is_bounded_and_a_relist_beyond_it_says_so():
    t = w.BindingTracker("ClusterRoleBinding", limit=1)
    t.replace([w.binding_digest(rb(n, namespace="")) for n in ("a", "b")], initial=True)
    assert len(t) == 1 and t.untracked
    assert [c.kind for c in t.replace([w.binding_digest(rb("a", namespace=""))])] == [w.RELISTED]


def test_last_writer():
    assert w.last_writer_is(rb("x", managers=[("vmo.rbac", "2026-12-01T10:00:01Z")]))
    assert not w.last_writer_is(rb("x", managers=[]))
    assert not w.last_writer_is(rb("x", managers=[("vmo.rbac", "2026-12-01T10:00:01Z"),
                                                  ("kubectl", "2026-12-01T10:00:02Z")]))
