"""Coalescing of the event source (plugins/plugin_utils/coalesce.py): a burst becomes one event
per cluster, a steady stream still gets out, changes during a run become one follow-up event, and
an event says which cluster and why, with bounded memory."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.vmo.rbac.plugins.plugin_utils.coalesce import Coalescer, describe, event_of
from ansible_collections.vmo.rbac.plugins.plugin_utils.watch import (
    BINDING_DELETED, NAMESPACE_ADDED, STARTED, Change,
)


def added(*names):
    return [Change(NAMESPACE_ADDED, n) for n in names]


def test_a_burst_becomes_one_event_once_the_cluster_is_quiet():
    c = Coalescer(debounce=0.2, max_delay=1.0, min_interval=3.0)
    for i in range(100):  # 100 namespaces within 0.1 s
        c.add("prod", added("web-app-%d" % i), now=10.0 + i * 0.001)
    assert c.due(10.2) == []
    assert c.next_due() == pytest.approx(10.099 + 0.2)
    (batch,) = c.due(10.3)
    assert batch.cluster == "prod" and batch.counts == {NAMESPACE_ADDED: 100} and batch.seq == 1
    assert len(batch.samples[NAMESPACE_ADDED]) == 5  # bounded
    assert c.due(100) == [] and c.next_due() is None


def test_a_steady_stream_still_gets_out_after_max_delay():
    c = Coalescer(debounce=0.2, max_delay=1.0)
    out = []
    for step in range(300):  # 3 s in steps of 10 ms, a change every 100 ms: never quiet for 0.2 s
        t = step / 100.0
        if step % 10 == 0:
            c.add("prod", added("n%d" % step), t)
        out += c.due(t)
    assert len(out) == 2 and all(b.emitted - b.first <= 1.0 + 1e-9 for b in out)
    assert c.pending("prod")


def test_changes_during_a_run_collapse_into_one_follow_up():
    c = Coalescer(debounce=0.2, max_delay=1.0, min_interval=3.0)
    c.add("prod", added("a"), 0.0)
    assert [b.seq for b in c.due(0.2)] == [1]  # the run starts about now and takes ~3 s
    for i in range(50):  # 50 changes while it runs
        c.add("prod", added("b%d" % i), 0.3 + i * 0.05)
    assert c.due(2.9) == []
    (follow_up,) = c.due(3.2)
    assert follow_up.seq == 2 and follow_up.counts[NAMESPACE_ADDED] == 50
    assert c.due(10) == []


def test_clusters_are_independent():
    c = Coalescer(debounce=0.2, max_delay=1.0, min_interval=3.0)
    c.add("a", added("x"), 0.0)
    c.add("b", added("y"), 0.1)
    assert [b.cluster for b in c.due(0.35)] == ["a", "b"]
    c.add("a", added("x2"), 0.5)
    c.add("b", added("y2"), 0.5)
    assert c.due(1.0) == []
    assert sorted(b.cluster for b in c.due(3.4)) == ["a", "b"]


def test_no_changes_no_event():
    c = Coalescer()
    assert c.add("a", [], 0.0) is False
    assert c.next_due() is None and c.due(5) == []


@pytest.mark.parametrize("kwargs", [{"debounce": -1}, {"debounce": 2, "max_delay": 1}, {"min_interval": -1}])
def test_refuses_nonsense(kwargs):
    with pytest.raises(ValueError):
        Coalescer(**kwargs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.floats(min_value=0, max_value=0.5)), max_size=60),
       st.floats(min_value=0, max_value=5))
def test_no_change_is_ever_lost_and_events_respect_the_interval(gaps, min_interval):
    c = Coalescer(debounce=0.2, max_delay=1.0, min_interval=min_interval)
    now, total, events = 0.0, 0, []
    for cluster, gap in gaps:
        now += gap
        events += c.due(now)
        c.add(cluster, added("n%d" % total), now)
        total += 1
    while c.next_due() is not None:
        now = c.next_due()
        events += c.due(now)
    assert sum(sum(b.counts.values()) for b in events) == total  # every change is in an event
    for cluster in ("a", "b"):
        times = [b.emitted for b in events if b.cluster == cluster]
        assert all(t2 - t1 >= min_interval - 1e-9 for t1, t2 in zip(times, times[1:]))
        assert [b.seq for b in events if b.cluster == cluster] == list(range(1, len(times) + 1))


def test_the_event_says_which_cluster_and_why():
    c = Coalescer(max_samples=2)
    c.add("prod-east", added("web-app-1", "web-app-2", "web-app-3"), 0.0)
    c.add("prod-east", [Change(BINDING_DELETED, "RoleBinding web-app-1/vmo-rbac-spectro-vm-viewer")], 0.1)
    (batch,) = c.due(1.0)
    event = event_of(batch)
    assert event["meta"] == {"hosts": "prod-east"}
    assert event["vmo_rbac"]["cluster"] == "prod-east"
    assert event["vmo_rbac"]["changes"] == {NAMESPACE_ADDED: 3, BINDING_DELETED: 1}
    assert event["vmo_rbac"]["reason"] == ("3 namespaces added (web-app-1, web-app-2, ...); "
                                           "1 owned binding deleted (RoleBinding web-app-1/vmo-rbac-spectro-vm-viewer)")
    assert event["vmo_rbac"]["coalesced_seconds"] == 1.0


def test_describe_singular_and_unknown_kinds():
    assert describe({STARTED: 1}, {STARTED: ["prod"]}) == "1 watch started (prod)"
    assert describe({"something_new": 2}, {}) == "2 something_new"
