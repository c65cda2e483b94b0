"""Time-limited grants: parsing expires, the limits, and what the pure core plans as time passes.

The time of a run is an input of the core (``Options.now``, ``plan_order.plan(now=)``), so these tests
move time by giving another ``now``: a grant made at 12:00 for 8h is in force at 19:59 and ends at
the first run at or after 20:00. tests/integration/test_expiry.py runs the same on the real control
plane (the modules take the time from ``VMO_RBAC_TEST_NOW`` there).
"""

import datetime
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._core import (
    declaration,
    expiry,
    options,
    plan_codec,
    plan_expiry,
    plan_model,
    plan_order,
    plan_result,
    plan_scopes,
)
from ansible_collections.vmo.rbac.plugins.module_utils._flows import enforce, validate
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    EXPIRES_ANNOTATION, GRANTED_AT_ANNOTATION, REASON_ANNOTATION, TIME_LIMITED_LABEL, SpecError, Subject,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import CRB, RB, ClusterState
from tests.unit.plugins.module_utils._flows.test_flows import MemoryCluster, plan_for

OWNER = "vmo-rbac"
NOON = expiry.parse_time("2026-12-04T12:00:00Z")
ALICE = Subject("User", "alice", "")
BOB = Subject("User", "bob", "")
NS = {"team-a": {"team": "vm"}, "team-b": {"team": "vm"}, "default": {}}
VIEWER = declaration.binding_name(OWNER, "ClusterRole", "spectro-vm-viewer")
VIEWER_LIMITED = VIEWER + "-expiring"


def at(hours=0, minutes=0, seconds=0):
    return NOON + datetime.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def decl(*entries, **kw):
    kw.setdefault("owner", OWNER)
    return declaration.parse_declaration(list(entries), **kw)


def observed(b):
    return plan_model.Observed(b.kind, b.namespace, b.name, b.role_kind, b.role_name, b.subjects, dict(b.labels),
                             dict(b.annotations), "1", "uid-" + b.name)


class Cluster:
    """The owner's bindings as a dict of Observed; ``run`` plans at a time and applies the plan."""

    def __init__(self, namespaces=None):
        self.owned = {}
        self.namespaces = dict(NS if namespaces is None else namespaces)

    def plan(self, d, now, purge=False):
        desired = plan_scopes.resolve(d, self.namespaces)
        return plan_order.plan(desired, ClusterState(dict(self.owned), {}, self.namespaces, set()), OWNER,
                             purge=purge, now=now)

    def run(self, d, now, purge=False):
        p = self.plan(d, now, purge)
        for a in p.actions:
            key = (a.kind, a.namespace, a.name)
            if a.action == "delete":
                self.owned.pop(key)
            else:
                self.owned[key] = observed(a.desired)
        return p

    def subjects(self, name, ns=""):
        o = self.owned.get((RB if ns else CRB, ns, name))
        return None if o is None else set(o.subjects)


def steps(p):
    return [(a.action, a.kind, a.namespace, a.name, a.counts_as) for a in p.actions]


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("text, expected", [
    ("2026-12-05T18:00:00Z", "2026-12-05T18:00:00Z"),
    ("2026-12-05T18:00:00+01:00", "2026-12-05T17:00:00Z"),
    ("2026-12-05t18:00:00-05:30", "2026-12-05T23:30:00Z"),
    ("2026-12-05 18:00:00.75z", "2026-12-05T18:00:00Z"),       # RFC 3339 allows a space; fractions dropped
    ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z"),
])
def test_rfc3339_times_with_an_offset_become_utc(text, expected):
    e = expiry.parse(text)
    assert e.seconds is None and expiry.format_time(e.at) == expected and e.text == text


@pytest.mark.parametrize("text, seconds", [
    ("8h", 8 * 3600), ("90m", 5400), ("1d12h", 36 * 3600), ("2w", 14 * 86400), ("45s", 45), ("1h30m", 5400),
])
def test_durations(text, seconds):
    e = expiry.parse(text)
    assert e.at is None and e.seconds == seconds
    assert expiry.parse_duration(expiry.format_duration(seconds)) == seconds


@pytest.mark.parametrize("value, words", [
    ("2026-12-05T18:00:00", "no time zone offset"),
    ("2026-12-05", "a date without a time"),
    ("2026-02-30T10:00:00Z", "not a valid time"),
    ("2026-12-05T25:00:00Z", "not a valid time"),
    ("2026-12-05T18:00:00+25:00", "invalid time zone offset"),
    ("2026-12-05T18:00Z", "not an RFC 3339 time"),
    ("next friday", "neither an RFC 3339 time"),
    ("30m1h", "neither an RFC 3339 time"),
    ("8H", "neither an RFC 3339 time"),
    ("0h", "no time at all"),
    ("", "empty string"),
    ("8" * 80 + "h", "at most 64"),
])
def test_unreadable_expiry_is_refused_with_what_is_expected(value, words):
    with pytest.raises(expiry.ExpiryError, match=words):
        expiry.parse(value)


@pytest.mark.parametrize("value, words", [
    (3600, "got a number"), (True, "a boolean"), (["8h"], "a list"), ({"hours": 8}, "a mapping"),
])
def test_expires_of_another_type_is_refused_naming_the_field(value, words):
    with pytest.raises(SpecError, match=words) as err:
        decl({"persona": "viewer", "users": ["alice"]}, {"persona": "viewer", "users": ["bob"], "expires": value})
    assert err.value.path == "bindings[1].expires"


@pytest.mark.parametrize("reason, words", [
    ("", "empty"), ("  ", "empty"), (42, "expected a text"), ("x" * 1025, "at most 1024"),
    ("INC-1\nrm -rf", "control or invisible"),
])
def test_a_reason_is_one_line_of_text(reason, words):
    with pytest.raises(SpecError, match=words) as err:
        decl({"persona": "viewer", "users": ["alice"], "reason": reason})
    assert err.value.path == "bindings[0].reason"


def test_max_duration_is_a_duration():
    assert decl(max_duration="8h").max_duration == 8 * 3600
    assert decl().max_duration is None
    for bad in ("forever", "", 8, "2026-12-05T18:00:00Z"):
        with pytest.raises(SpecError) as err:
            decl(max_duration=bad)
        assert err.value.path == "max_duration"


def test_time_left_reads_well():
    assert expiry.time_left(8 * 3600) == "8h left"
    assert expiry.time_left(2 * 3600 + 13 * 60 + 59) == "2h13m left"
    assert expiry.time_left(59) == "59s left"
    assert expiry.time_left(-300) == "expired 5m ago"
    assert expiry.time_left(0) == "expires now"


# ---------------------------------------------------------------------------- the clock


def test_the_clock_is_read_at_the_edge_and_the_test_clock_only_moves_forward():
    real = NOON.timestamp()
    assert expiry.run_time({}, clock=lambda: real + 0.9) == (NOON, None)
    later, note = expiry.run_time({expiry.TEST_CLOCK_ENV: "2026-12-04T20:00:00Z"}, clock=lambda: real)
    assert later == at(8) and "VMO_RBAC_TEST_NOW" in note and "2026-12-04T12:00:00Z" in note
    with pytest.raises(expiry.ExpiryError, match="only moves time forward"):
        expiry.run_time({expiry.TEST_CLOCK_ENV: "2026-12-04T11:59:59Z"}, clock=lambda: real)
    with pytest.raises(expiry.ExpiryError, match="VMO_RBAC_TEST_NOW: 'soon' is not an RFC 3339 time"):
        expiry.run_time({expiry.TEST_CLOCK_ENV: "soon"}, clock=lambda: real)


# ------------------------------------------------------------------------------ limits


def test_a_duration_over_the_maximum_is_refused_naming_the_field():
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "12h"}, max_duration="8h")
    with pytest.raises(SpecError, match="12h is longer than max_duration 8h") as err:
        options.check_expiry(d, NOON)
    assert err.value.path == "bindings[0].expires"
    options.check_expiry(decl({"persona": "viewer", "users": ["alice"], "expires": "8h"}, max_duration="8h"), NOON)


def test_a_time_further_than_the_maximum_is_refused():
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "2026-12-05T12:00:01Z"}, max_duration="1d")
    with pytest.raises(SpecError, match=r"1d1s from now \(2026-12-04T12:00:00Z\), longer than max_duration 1d"):
        options.check_expiry(d, NOON)
    options.check_expiry(d, at(1))  # an hour later it is within a day


def test_the_ceiling_holds_without_max_duration():
    with pytest.raises(SpecError, match="longer than the longest a time-limited grant may last, 366d") as err:
        options.check_expiry(decl({"persona": "viewer", "users": ["a"], "expires": "53w"}), NOON)
    assert err.value.path == "bindings[0].expires"
    with pytest.raises(SpecError, match="max_duration") as err:
        options.check_expiry(decl(max_duration="400d"), NOON)
    assert err.value.path == "max_duration"
    with pytest.raises(SpecError):
        options.check_expiry(decl({"persona": "viewer", "users": ["a"], "expires": "2030-01-01T00:00:00Z"}), NOON)


def test_options_carry_the_time_of_the_run():
    assert options.parse({}, decl(), NOON).now == NOON
    assert options.parse({}, decl()).now is None


# --------------------------------------------------------------------- names and merging


def test_a_time_limited_grant_never_shares_a_binding_with_a_permanent_one():
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "8h"}, {"persona": "viewer", "users": ["bob"]})
    desired = plan_scopes.resolve(d)
    assert desired[(CRB, "", VIEWER)].subjects == (BOB,) and desired[(CRB, "", VIEWER)].expiry is None
    assert desired[(CRB, "", VIEWER_LIMITED)].subjects == (ALICE,)
    assert desired[(CRB, "", VIEWER_LIMITED)].expiry.seconds == 8 * 3600


def test_grants_that_end_together_merge_others_are_refused():
    same = decl({"persona": "viewer", "users": ["alice"], "expires": "8h", "reason": "INC-1"},
                {"persona": "viewer", "users": ["bob"], "expires": "480m", "reason": "INC-2"})
    b = plan_scopes.resolve(same)[(CRB, "", VIEWER_LIMITED)]
    assert b.subjects == (ALICE, BOB) and b.annotations[REASON_ANNOTATION] == "INC-1; INC-2"
    with pytest.raises(SpecError, match="which lasts 8h while this grant ends at 2026-12-05T18:00:00Z") as err:
        plan_scopes.resolve(decl({"persona": "viewer", "users": ["alice"], "expires": "8h"},
                              {"persona": "viewer", "users": ["bob"], "expires": "2026-12-05T18:00:00Z"}))
    assert err.value.path == "bindings[1].expires"
    with pytest.raises(SpecError, match="one binding has one end") as err:
        plan_scopes.resolve(decl({"name": "shared", "persona": "viewer", "users": ["alice"]},
                              {"name": "shared", "persona": "viewer", "users": ["bob"], "expires": "8h"}))
    assert err.value.path == "bindings[1].expires"
    # different names keep them apart
    named = plan_scopes.resolve(decl({"persona": "viewer", "users": ["alice"], "expires": "8h", "name": "alice-8h"},
                                  {"persona": "viewer", "users": ["bob"], "expires": "1d", "name": "bob-1d"}))
    assert set(k[2] for k in named) == {"alice-8h", "bob-1d"}


def test_console_and_legacy_bindings_of_a_time_limited_grant_end_with_it():
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "8h", "console_access": True,
              "namespaces": ["team-a"]},
             {"persona": "user", "users": ["bob"]}, legacy_dashboard_bindings=True)
    desired = plan_scopes.resolve(d, NS)
    limited = {k[2]: b for k, b in desired.items() if b.expiry is not None}
    assert set(limited) == {VIEWER_LIMITED, VIEWER_LIMITED + "-console",
                            VIEWER_LIMITED + "-spectro-list-namespaces", VIEWER_LIMITED + "-spectro-list-vmtemplates"}
    assert all(b.subjects == (ALICE,) for b in limited.values())
    assert desired[(CRB, "", "vmo-rbac-spectro-list-namespaces")].subjects == (BOB,)


# ------------------------------------------------------------------------ as time passes


def test_a_grant_is_made_stays_unchanged_and_ends_on_time_without_a_new_start():
    c = Cluster()
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "8h", "reason": "INC-7"})
    first = c.run(d, NOON)
    assert steps(first) == [("create", CRB, "", VIEWER_LIMITED, "created")]
    b = first.actions[0].desired
    assert b.labels[TIME_LIMITED_LABEL] == "true"
    assert b.annotations[GRANTED_AT_ANNOTATION] == "2026-12-04T12:00:00Z"
    assert b.annotations[EXPIRES_ANNOTATION] == "2026-12-04T20:00:00Z"
    assert b.annotations[REASON_ANNOTATION] == "INC-7"
    for later in (at(0, 1), at(4), at(7, 59, 59)):  # steady state: 0 writes, granted-at kept
        p = c.plan(d, later)
        assert p.actions == [] and plan_result.summarize(p)["unchanged"] == 1
    ended = c.run(d, at(8))
    assert steps(ended) == [("update", CRB, "", VIEWER_LIMITED, "expired")]
    assert ended.actions[0].reason == "expired at 2026-12-04T20:00:00Z"
    assert c.subjects(VIEWER_LIMITED) == set()  # access gone; the binding stays as the record
    assert plan_result.summarize(ended)["expired"] == 1
    for later in (at(8, 1), at(30), at(24 * 300)):  # the duration does not start again
        p = c.plan(d, later)
        assert p.actions == [] and c.subjects(VIEWER_LIMITED) == set()
        assert p.warnings == ["bindings[0]: expired at 2026-12-04T20:00:00Z; its bindings keep no subjects (the "
                              "record that its time is over); remove the entry, or give it a later time to grant "
                              "it again"]


def test_a_grant_declared_already_expired_is_refused_before_any_write():
    c = Cluster()
    d = decl({"persona": "viewer", "users": ["bob"]},
             {"persona": "viewer", "users": ["alice"], "expires": "2026-12-04T11:00:00Z"})
    with pytest.raises(SpecError, match="ended at|would end at 2026-12-04T11:00:00Z, which has passed") as err:
        c.plan(d, NOON)
    assert err.value.path == "bindings[1].expires"


def test_an_absolute_end_stays_in_the_inventory_after_it_passed():
    c = Cluster()
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "2026-12-04T18:00:00+01:00"})
    c.run(d, NOON)
    assert c.subjects(VIEWER_LIMITED) == {ALICE}
    assert steps(c.run(d, at(5))) == [("update", CRB, "", VIEWER_LIMITED, "expired")]
    assert c.plan(d, at(50)).actions == []  # the record tells "its time is over" from "declared already expired"


def test_extend_and_shorten_move_the_end_in_place():
    c = Cluster()
    c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "8h"}), NOON)
    longer = c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "10h"}), at(2))
    assert steps(longer) == [("update", CRB, "", VIEWER_LIMITED, "updated")]
    assert longer.actions[0].reason == "expires 2026-12-04T20:00:00Z -> 2026-12-04T22:00:00Z"
    assert c.owned[(CRB, "", VIEWER_LIMITED)].annotations[GRANTED_AT_ANNOTATION] == "2026-12-04T12:00:00Z"
    shorter = c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "2026-12-04T13:00:00Z"}), at(2))
    assert steps(shorter) == [("update", CRB, "", VIEWER_LIMITED, "expired")]
    assert c.subjects(VIEWER_LIMITED) == set()
    again = c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "2026-12-05T12:00:00Z"}), at(3))
    assert steps(again) == [("update", CRB, "", VIEWER_LIMITED, "updated")]
    assert again.actions[0].reason.startswith("subjects: add User alice; expires 2026-12-04T13:00:00Z -> ")
    assert c.subjects(VIEWER_LIMITED) == {ALICE}


def test_a_namespace_matched_later_counts_from_the_entrys_first_run():
    c = Cluster({"team-a": {"team": "vm"}})
    d = decl({"persona": "viewer", "users": ["alice"], "namespace_selector": "team=vm", "expires": "8h"})
    c.run(d, NOON)
    c.namespaces["team-b"] = {"team": "vm"}
    p = c.run(d, at(6))
    assert steps(p) == [("create", RB, "team-b", VIEWER_LIMITED, "created")]
    assert p.actions[0].desired.annotations[EXPIRES_ANNOTATION] == "2026-12-04T20:00:00Z"
    c.namespaces["team-c"] = {"team": "vm"}
    late = c.run(d, at(9))  # after the end: the new namespace gets nothing, the others end
    assert sorted(steps(late)) == [("update", RB, "team-a", VIEWER_LIMITED, "expired"),
                                   ("update", RB, "team-b", VIEWER_LIMITED, "expired")]


def test_undeclared_grants_end_on_time_whatever_purge_says():
    c = Cluster()
    c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "1h", "name": "bg-alice"},
               {"persona": "viewer", "users": ["bob"], "expires": "8h", "name": "bg-bob"}), NOON)
    nothing = decl()
    assert c.plan(nothing, at(0, 30)).actions == []  # still in force, not purged
    p = c.run(nothing, at(2))
    assert steps(p) == [("delete", CRB, "", "bg-alice", "expired")]
    assert p.actions[0].reason == "expired at 2026-12-04T13:00:00Z; no longer declared"
    assert c.subjects("bg-bob") == {BOB}
    assert steps(c.plan(nothing, at(2), purge=True)) == [("delete", CRB, "", "bg-bob", "deleted")]
    # an end that cannot be read counts as passed
    o = c.owned[(CRB, "", "bg-bob")]
    c.owned[(CRB, "", "bg-bob")] = o._replace(annotations=dict(o.annotations, **{EXPIRES_ANNOTATION: "never"}))
    p = c.plan(nothing, at(2))
    assert steps(p) == [("delete", CRB, "", "bg-bob", "expired")] and "cannot be read" in p.actions[0].reason


def test_a_removed_entrys_record_is_deleted():
    c = Cluster()
    c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "1h"}), NOON)
    c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "1h"}), at(2))
    assert c.subjects(VIEWER_LIMITED) == set()
    assert steps(c.run(decl(), at(3))) == [("delete", CRB, "", VIEWER_LIMITED, "expired")]


def test_adding_expires_to_a_permanent_grant_does_not_leave_the_permanent_binding_behind():
    c = Cluster()
    c.run(decl({"persona": "viewer", "users": ["alice"]}), NOON)
    p = c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "8h"}), NOON)
    assert steps(p) == [("create", CRB, "", VIEWER_LIMITED, "created"), ("delete", CRB, "", VIEWER, "replaced")]
    assert p.actions[1].reason == "replaced by %s (time-limited now)" % VIEWER_LIMITED
    c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "8h"}), at(8))
    assert c.subjects(VIEWER) is None and c.subjects(VIEWER_LIMITED) == set()
    # and back: permanent again
    p = c.run(decl({"persona": "viewer", "users": ["alice"]}), at(9))
    assert steps(p) == [("create", CRB, "", VIEWER, "created"), ("delete", CRB, "", VIEWER_LIMITED, "expired")]


def test_a_permanent_binding_holding_other_undeclared_subjects_stays_without_purge():
    c = Cluster()
    c.run(decl({"persona": "viewer", "users": ["alice", "bob"]}), NOON)
    p = c.run(decl({"persona": "viewer", "users": ["alice"], "expires": "8h"}), NOON)
    assert steps(p) == [("create", CRB, "", VIEWER_LIMITED, "created")]  # bob stays, as without expires


def test_a_named_binding_that_becomes_permanent_loses_its_time_limit():
    c = Cluster()
    c.run(decl({"name": "team", "persona": "viewer", "users": ["alice"], "expires": "8h", "reason": "INC-1"}), NOON)
    p = c.run(decl({"name": "team", "persona": "viewer", "users": ["alice"]}), at(1))
    assert steps(p) == [("update", CRB, "", "team", "updated")]
    assert p.actions[0].reason == "labels; expires 2026-12-04T20:00:00Z -> never; annotations"
    o = c.owned[(CRB, "", "team")]
    assert TIME_LIMITED_LABEL not in o.labels and not set(o.annotations) & {
        EXPIRES_ANNOTATION, GRANTED_AT_ANNOTATION, REASON_ANNOTATION}
    assert c.plan(decl({"name": "team", "persona": "viewer", "users": ["alice"]}), at(30)).actions == []


def test_planning_time_limited_grants_needs_the_time():
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "8h"})
    with pytest.raises(ValueError, match="needs the time of the run"):
        Cluster().plan(d, None)


def test_the_listing_says_what_is_in_force_pending_overdue_and_ended():
    c = Cluster()
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "8h", "reason": "INC-7"},
             {"persona": "user", "users": ["bob"], "expires": "1h", "name": "bob-1h"})
    c.run(d, NOON)
    later = decl({"persona": "viewer", "users": ["alice"], "expires": "8h", "reason": "INC-7"},
                 {"persona": "user", "users": ["bob"], "expires": "1h", "name": "bob-1h"},
                 {"persona": "admin", "users": ["carol"], "expires": "30m", "name": "carol"})
    p = c.plan(later, at(2))
    listing = plan_expiry.time_limited(later, p.bindings, c.owned, at(2))
    assert [(t["name"], t["state"], t["time_left"], t["violation"]) for t in listing] == [
        ("bob-1h", "overdue", "expired 1h ago", True),
        ("carol", "pending", "30m left", False),
        (VIEWER_LIMITED, "active", "6h left", False)]
    viewer = listing[2]
    assert viewer["subjects"] == ["User alice"] and viewer["reason"] == "INC-7" and viewer["entries"] == ["bindings[0]"]
    assert viewer["granted_at"] == "2026-12-04T12:00:00Z" and viewer["expires"] == "2026-12-04T20:00:00Z"
    c.run(later, at(2))
    listing = plan_expiry.time_limited(later, c.plan(later, at(2)).bindings, c.owned, at(2))
    assert [(t["name"], t["state"]) for t in listing] == [("bob-1h", "ended"), ("carol", "active"),
                                                          (VIEWER_LIMITED, "active")]
    assert listing[0]["subjects"] == ["User bob"]  # what it granted, from the declaration


# ------------------------------------------------------------------ the flows, in memory


def test_enforce_and_validate_flows_take_the_time_from_the_options():
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "8h"})
    made = enforce.run(d, options.parse({}, d, NOON), c)
    assert made["summary"]["created"] == 1 and made["bindings"][0]["expires"] == "2026-12-04T20:00:00Z"
    assert made["bindings"][0]["granted_at"] == "2026-12-04T12:00:00Z"
    assert enforce.run(d, options.parse({}, d, at(7)), c)["changed"] is False
    late = options.parse({"check_access": False}, d, at(9))
    seen = validate.run(d, late, c)
    assert seen["passed"] is False and seen["summary"]["overdue"] == 1
    assert seen["drift"] == [{
        "kind": CRB, "name": VIEWER_LIMITED, "action": "expire",
        "problem": "expired at 2026-12-04T20:00:00Z, still grants User alice",
        "fix": validate.FIX["expire"], "cause": "expired"}]
    assert seen["time_limited"][0]["state"] == "overdue"
    ended = enforce.run(d, late, c, check_mode=True, diff=True)
    assert ended["summary"]["expired"] == 1 and ended["actions"][0]["reason"] == "expired at 2026-12-04T20:00:00Z"
    assert "- apiGroup" in ended["diff"][0]["before"] and "subjects: []" in ended["diff"][0]["after"]
    assert c.objects[(CRB, "", VIEWER_LIMITED)]["subjects"]  # check mode wrote nothing
    enforce.run(d, late, c)
    assert not c.objects[(CRB, "", VIEWER_LIMITED)].get("subjects")
    seen = validate.run(d, late, c)
    assert seen["passed"] is True and seen["time_limited"][0]["state"] == "ended"
    assert "expired at 2026-12-04T20:00:00Z" in seen["warnings"][0]


def test_the_validation_message_says_when_the_next_grant_ends():
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "8h"})
    enforce.run(d, options.parse({}, d, NOON), c)
    seen = validate.run(d, options.parse({"check_access": False}, d, at(6)), c)
    assert seen["msg"].endswith("1 time-limited grant in force, the next ends in 2h (ClusterRoleBinding %s)."
                                % VIEWER_LIMITED)


# ------------------------------------------------------------------------ a property


@st.composite
def timelines(draw):
    """A few entries (some time-limited) and a rising sequence of run times, with declarations that change."""
    names = ["alice", "bob", "carol"]
    runs = []
    now = NOON
    for _ in range(draw(st.integers(1, 6))):
        now = now + datetime.timedelta(minutes=draw(st.integers(0, 600)))
        entries = []
        for i, user in enumerate(draw(st.lists(st.sampled_from(names), min_size=0, max_size=3, unique=True))):
            entry = {"persona": draw(st.sampled_from(["viewer", "user"])), "users": [user]}
            how = draw(st.sampled_from(["permanent", "duration", "time", "named"]))
            if how in ("duration", "named"):
                entry["expires"] = draw(st.sampled_from(["30m", "2h", "8h"]))
            if how == "named":
                entry["name"] = "grant-" + user
            if how == "time":
                entry["expires"] = expiry.format_time(NOON + datetime.timedelta(minutes=draw(st.integers(0, 2000))))
            if draw(st.booleans()):
                entry["namespaces"] = ["team-a"]
            entries.append(entry)
        runs.append((now, entries, draw(st.booleans())))
    return runs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_property_nothing_outlives_its_time_and_every_run_converges(runs):
    """Whatever the declarations and the times: after each run no binding grants past its recorded end, no
    grant is created already ended (only a record without subjects), and planning again at the same time
    finds nothing to do."""
    c = Cluster()
    for now, entries, purge in runs:
        try:
            d = decl(*entries)
            options.check_expiry(d, now)
            p = c.run(d, now, purge)
        except SpecError:
            continue  # refused before any write (two grants of one binding that end apart, an end already passed)
        for a in p.actions:
            if a.action == "create" and a.desired.subjects:
                end = plan_expiry.recorded_time(a.desired.annotations, EXPIRES_ANNOTATION)
                assert end is None or end > now
        for o in c.owned.values():
            end = plan_expiry.recorded_time(o.annotations, EXPIRES_ANNOTATION)
            if plan_expiry.is_time_limited(o):
                assert end is not None and (end > now or not o.subjects), o
        assert c.plan(d, now, purge).actions == []


# -------------------------------------------------------------------------- the filter


def test_the_expires_at_filter_counts_from_now_within_the_maximum(monkeypatch):
    from ansible.errors import AnsibleFilterError

    from ansible_collections.vmo.rbac.plugins.filter.vmo_rbac_expires_at import FilterModule

    f = FilterModule().filters()["vmo_rbac_expires_at"]
    monkeypatch.setenv(expiry.TEST_CLOCK_ENV, "2999-12-04T12:00:00Z")  # later than any clock: deterministic
    assert f("2h") == "2999-12-04T14:00:00Z"
    assert f("8h", "8h") == "2999-12-04T20:00:00Z"
    assert f("now") == "2999-12-04T12:00:00Z"
    assert f("2999-12-04T14:30:00+01:00") == "2999-12-04T13:30:00Z"
    for value, kw, words in [
        ("9h", {"max_duration": "8h"}, "argument '_input': 9h is longer than max_duration 8h"),
        ("2999-12-05T12:00:01Z", {"max_duration": "1d"}, "(1d1s from now) is longer than max_duration 1d"),
        ("2999-12-04T11:00:00Z", {}, "has passed"),
        ("soon", {"name": "vmo_rbac_break_glass_duration"}, "argument 'vmo_rbac_break_glass_duration': 'soon'"),
        ("2h", {"max_duration": "often"}, "argument 'max_duration'"),
        ("2h", {"max_duration": "500d"}, "longer than a time-limited grant may last (366d)"),
        ("400d", {}, "longer than a year"),
    ]:
        with pytest.raises(AnsibleFilterError, match=re.escape(words)):
            f(value, **kw)


@pytest.mark.parametrize("value", ["99999999999d", "99999999999w", "3000000d", "9" * 63 + "s", "999999999999999h"])
def test_the_expires_at_filter_refuses_a_duration_beyond_the_calendar_by_name(monkeypatch, value):
    """Issue 18 item 11: a duration too long for a date (Python's datetime ends in 9999, its timedelta
    at 999999999 days, a C int before that) is refused as longer than the limit, never with
    OverflowError's "Python int too large to convert to C int" or "date value out of range"."""
    from ansible.errors import AnsibleFilterError

    from ansible_collections.vmo.rbac.plugins.filter.vmo_rbac_expires_at import FilterModule

    f = FilterModule().filters()["vmo_rbac_expires_at"]
    monkeypatch.setenv(expiry.TEST_CLOCK_ENV, "2999-12-04T12:00:00Z")
    with pytest.raises(AnsibleFilterError, match=re.escape("argument 'duration': %s is longer than a year" % value)):
        f(value, name="duration")
    with pytest.raises(AnsibleFilterError, match=re.escape("%s is longer than max_duration 8h" % value)):
        f(value, "8h")


def test_an_undeclared_overdue_grant_counts_as_a_failed_check():
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    d = decl({"persona": "viewer", "users": ["alice"], "expires": "1h", "name": "bg-alice"})
    enforce.run(d, options.parse({}, d, NOON), c)
    nothing = decl()
    seen = validate.run(nothing, options.parse({"check_access": False}, nothing, at(2)), c)
    assert seen["drift"][0]["action"] == "expire" and seen["drift"][0]["fix"] == validate.FIX["expire-delete"]
    assert (seen["summary"]["checks"], seen["summary"]["failed"], seen["summary"]["passed"]) == (1, 1, 0)
    assert seen["time_limited"][0]["declared"] is False and seen["time_limited"][0]["state"] == "overdue"


def test_time_limited_grants_need_the_kubernetes_backend():
    d = decl({"persona": "viewer", "users": ["alice"]}, {"persona": "viewer", "users": ["bob"], "expires": "8h"})
    with pytest.raises(SpecError, match="need backend=kubernetes") as err:
        options.check_expiry(d, NOON, "palette")
    assert err.value.path == "bindings[1].expires"
    options.check_expiry(decl({"persona": "viewer", "users": ["alice"]}), NOON, "palette")


def test_a_duration_of_more_digits_than_python_converts_is_refused_by_its_length():
    """Attack pass of issue 18: max_duration (the module's option and the filter's argument) with 5,000
    digits failed with Python's own "Exceeds the limit (4300 digits) for integer string conversion"."""
    for value in ("9" * 5000 + "d", "1" * 65 + "s"):
        with pytest.raises(expiry.ExpiryError, match="characters long; a duration is at most 64"):
            expiry.parse_duration(value)
    assert expiry.parse_duration("0" * 62 + "1s") == 1


# ---------------------------------------------------- revoke by name; grants in force (issue 18 item 2)


def test_state_absent_finds_a_named_grant_in_any_scope():
    """The break-glass binding name is one grant: a revoke whose scope differs from the grant's deleted
    nothing and reported success. A named grant is deleted by its name wherever the owner holds it."""
    c = Cluster()
    made = decl({"persona": "viewer", "users": ["alice"], "name": "bg-1", "expires": "8h", "namespaces": ["team-a"],
                 "console_access": True},
                {"persona": "viewer", "users": ["bob"], "name": "bg-2", "expires": "8h"})
    c.run(made, NOON)
    assert sorted(c.owned) == [(CRB, "", "bg-2"), (RB, "team-a", "bg-1"), (RB, "team-a", "bg-1-console")]
    asked = decl({"persona": "viewer", "users": ["alice"], "name": "bg-1", "namespaces": ["team-b"]})
    desired = plan_scopes.resolve(asked, c.namespaces)
    p = plan_order.plan(desired, ClusterState(dict(c.owned), {}, c.namespaces, set()), OWNER, mode="absent",
                      by_name=plan_order.revoke_names(asked))
    assert steps(p) == [("delete", RB, "team-a", "bg-1", "deleted"), ("delete", RB, "team-a", "bg-1-console", "deleted")]
    assert p.actions[0].reason == "state=absent (bg-1, by its name, in any scope)"
    # an unnamed grant is still deleted by its scope only
    unnamed = decl({"persona": "viewer", "users": ["bob"], "expires": "8h", "namespaces": ["team-b"]})
    assert plan_order.revoke_names(unnamed) == frozenset()
    # a named namespace that is gone has nothing to delete: state=absent does not fail on it
    gone = decl({"persona": "viewer", "users": ["alice"], "name": "bg-1", "namespaces": ["gone"]})
    assert plan_scopes.resolve(gone, c.namespaces, missing_ok=True) == {}
    with pytest.raises(SpecError, match="does not exist"):
        plan_scopes.resolve(gone, c.namespaces)


def test_revoke_names_cover_the_bindings_that_go_with_a_named_grant():
    names = plan_order.revoke_names(decl({"persona": "viewer", "users": ["a"], "name": "bg-x"}))
    assert names == {"bg-x", "bg-x-console", "bg-x-spectro-list-namespaces", "bg-x-spectro-list-vmtemplates",
                     "bg-x-transition", "bg-x-console-transition", "bg-x-spectro-list-namespaces-transition",
                     "bg-x-spectro-list-vmtemplates-transition"}


def _bg(expires, reason, **kw):
    return decl(dict({"persona": "viewer", "users": ["alice"], "name": "bg-a", "expires": expires,
                      "reason": reason}, **kw))


def test_a_grant_in_force_is_never_changed_silently():
    """Two requests for the same persona, subject and scope: the later replaced the earlier's end and reason while
    both jobs reported their own. if_active=refuse names the grant in force, its end and its reason."""
    c = Cluster()
    c.run(_bg("2026-12-04T20:00:00Z", "INC-1"), NOON)
    key = (CRB, "", "bg-a")
    p = c.plan(_bg("2026-12-04T14:00:00Z", "INC-2"), at(1))
    refused, changed = plan_expiry.active_changes(p, c.owned, at(1), "refuse")
    assert changed == [] and len(refused) == 1
    assert refused[0].startswith("ClusterRoleBinding bg-a is a grant in force until 2026-12-04T20:00:00Z "
                                 "(reason: INC-1; granted at 2026-12-04T12:00:00Z); this request would "
                                 "expires 2026-12-04T20:00:00Z -> 2026-12-04T14:00:00Z; annotations: refused")
    # extend: only later
    refused, _ = plan_expiry.active_changes(p, c.owned, at(1), "extend")
    assert "would end it at 2026-12-04T14:00:00Z, not later" in refused[0]
    later = c.plan(_bg("2026-12-04T22:00:00Z", "INC-3"), at(1))
    refused, changed = plan_expiry.active_changes(later, c.owned, at(1), "extend")
    assert refused == [] and changed == [{"kind": CRB, "name": "bg-a", "expires": "2026-12-04T20:00:00Z",
                                          "reason": "INC-1", "change": later.actions[0].reason}]
    # ending it now is no extension either
    ended = c.plan(_bg("2026-12-04T12:30:00Z", "INC-1"), at(1))
    assert "end it now, not later" in plan_expiry.active_changes(ended, c.owned, at(1), "extend")[0][0]
    # replace: as declared, reported
    refused, changed = plan_expiry.active_changes(p, c.owned, at(1), "replace")
    assert refused == [] and changed[0]["expires"] == "2026-12-04T20:00:00Z"
    # the same request again changes nothing, whatever if_active says
    same = c.plan(_bg("2026-12-04T20:00:00Z", "INC-1"), at(1))
    assert same.actions == [] and plan_expiry.active_changes(same, c.owned, at(1), "refuse") == ([], [])
    # a grant whose time has passed is not in force: granted again
    over = c.plan(_bg("2026-12-05T12:00:00Z", "INC-4"), at(9))
    assert plan_expiry.active_changes(over, c.owned, at(9), "refuse") == ([], [])
    assert plan_expiry.is_active(c.owned[key], at(7)) and not plan_expiry.is_active(c.owned[key], at(8))


def test_a_concurrent_request_between_read_and_write_is_not_overwritten():
    """Two requests at once: both read nothing and plan a create; the second meets the first's binding (409). With
    if_active=refuse it is never overwritten (the 409 adoption compared the subjects only, so the second job
    reported its own end and reason while the cluster held the first's)."""
    first = _bg("2026-12-04T20:00:00Z", "INC-1")
    second = _bg("2026-12-04T18:00:00Z", "INC-2")
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    p = plan_for(c, second, now=NOON)
    enforce.run(first, options.parse({}, first, NOON), c)  # the other request lands in between
    held = c.objects[(CRB, "", "bg-a")]
    c.forced = [("create", 409)]
    with pytest.raises(enforce.ClusterError, match="another run made or changed it between this run's read and its "
                                                   "write: ClusterRoleBinding bg-a is a grant in force until "
                                                   "2026-12-04T20:00:00Z \\(reason: INC-1"):
        enforce.apply(p, c, OWNER, guard=enforce.active_guard(NOON, "refuse"))
    assert c.objects[(CRB, "", "bg-a")] is held
    # replace (the declarative default) adopts it and writes this run's end and reason, not only its subjects
    c.forced = [("create", 409)]
    enforce.apply(p, c, OWNER, guard=enforce.active_guard(NOON, "replace"))
    assert c.objects[(CRB, "", "bg-a")]["metadata"]["annotations"][EXPIRES_ANNOTATION] == "2026-12-04T18:00:00Z"
    # an update that meets a newer version re-reads it and checks it again: extend never shortens what another
    # request extended meanwhile
    c2 = MemoryCluster(roles=("spectro-vm-viewer",))
    enforce.run(first, options.parse({}, first, NOON), c2)
    extend = _bg("2026-12-04T21:00:00Z", "INC-5")
    p = plan_for(c2, extend, now=at(1))
    other = _bg("2026-12-04T23:00:00Z", "INC-6")
    enforce.run(other, options.parse({"if_active": "extend"}, other, at(1)), c2)
    c2.forced = [("replace", 409)]
    with pytest.raises(enforce.ClusterError, match="until 2026-12-04T23:00:00Z \\(reason: INC-6.*not later"):
        enforce.apply(p, c2, OWNER, guard=enforce.active_guard(at(1), "extend"))
    assert c2.objects[(CRB, "", "bg-a")]["metadata"]["annotations"][REASON_ANNOTATION] == "INC-6"


def test_the_enforce_flow_refuses_before_any_write_and_reports_what_it_changed():
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    first = _bg("2026-12-04T20:00:00Z", "INC-1")
    enforce.run(first, options.parse({}, first, NOON), c)
    second = _bg("2026-12-04T22:00:00Z", "INC-2")
    before = dict(c.objects)
    with pytest.raises(enforce.PreflightError, match="grant in force until 2026-12-04T20:00:00Z \\(reason: INC-1"):
        enforce.run(second, options.parse({"if_active": "refuse"}, second, at(1)), c)
    assert c.objects == before
    done = enforce.run(second, options.parse({"if_active": "extend"}, second, at(1)), c)
    assert done["active_changed"] == [{"kind": CRB, "name": "bg-a", "expires": "2026-12-04T20:00:00Z",
                                       "reason": "INC-1", "change": done["actions"][0]["reason"]}]


# ------------------------------------------- what has expired ends whatever else refuses the plan (item 5)


def _limited_then(c, *more):
    """A one-hour grant made at noon, then a declaration that also holds ``more`` entries."""
    limited = {"persona": "viewer", "users": ["alice"], "name": "tl-a", "expires": "1h", "reason": "INC-9"}
    first = decl(limited)
    enforce.run(first, options.parse({}, first, NOON), c)
    return decl(limited, *more)


def test_an_expired_grant_ends_when_a_foreign_binding_blocks_another_entry():
    c = MemoryCluster(roles=("spectro-vm-viewer", "spectro-vm-user"))
    both = _limited_then(c, {"persona": "user", "users": ["bob"], "name": "taken"})
    c.objects[(CRB, "", "taken")] = plan_codec.binding_to_api(plan_scopes.resolve(decl(
        {"persona": "user", "users": ["eve"], "name": "taken"}))[(CRB, "", "taken")]._replace(labels={"team": "x"}))
    opts = options.parse({}, both, at(2))
    # check mode says what it would do and writes nothing
    preview = enforce.run(both, opts, c, check_mode=True, diff=True)
    assert preview["failed"] and preview["changed"] and "would end (check mode)" in preview["msg"]
    assert c.objects[(CRB, "", "tl-a")]["subjects"]
    res = enforce.run(both, opts, c)
    assert res["failed"] is True and res["changed"] is True
    assert res["refused"].startswith("1 binding name is in the way: ClusterRoleBinding taken already exists")
    assert res["msg"].startswith("1 binding name is in the way: ") and "Nothing else was changed, but the grant " \
        "whose time has passed ended: ending them never depends on the rest of the plan: ClusterRoleBinding tl-a " \
        "(expired at 2026-12-04T13:00:00Z)." in res["msg"]
    assert res["actions"] == [{"action": "update", "kind": CRB, "name": "tl-a",
                               "reason": "expired at 2026-12-04T13:00:00Z; the rest of the plan is refused",
                               "cause": "expired"}]
    assert res["summary"]["expired"] == 1
    held = c.objects[(CRB, "", "tl-a")]
    assert not held.get("subjects") and held["metadata"]["annotations"][REASON_ANNOTATION] == "INC-9"
    assert c.objects[(CRB, "", "taken")]["subjects"][0]["name"] == "eve"  # the foreign object untouched
    # nothing left to end: the refusal as it always was
    with pytest.raises(enforce.PreflightError, match="in the way; nothing was changed"):
        enforce.run(both, opts, c)


@pytest.mark.parametrize("more, words", [
    ({"persona": "viewer", "users": ["bob"], "namespaces": ["gone"]}, "bindings[1].namespaces[0]: namespace 'gone' "
                                                                      "does not exist"),
    ({"persona": "viewer", "users": ["bob"], "expires": "2026-12-04T13:00:00Z"}, "bindings[1].expires: the grant "
                                                                                  "would end at"),
    ({"role": "missing-role", "users": ["bob"], "namespaces": ["team-a"]}, "missing role: Role missing-role"),
])
def test_an_expired_grant_ends_whatever_else_refuses_the_plan(more, words):
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    both = _limited_then(c, more)
    res = enforce.run(both, options.parse({}, both, at(2)), c)
    assert res["failed"] and res["refused"].startswith(words) and not c.objects[(CRB, "", "tl-a")].get("subjects")
    if "namespace" in more or "expires" in more:
        assert res["field"] == words.split(":")[0]


def test_a_refused_run_does_not_end_what_the_declaration_extends():
    """The recorded end has passed but the declaration now gives a later one. When the refused plan was made
    (a foreign binding in the way), it says the grant is extended: left as it is for the next full run. When no
    plan could be made (a named namespace is gone), the recorded end decides: it ends, and the next full run
    grants it again until the later end."""
    extended = {"persona": "viewer", "users": ["alice"], "name": "tl-a", "expires": "4h", "reason": "INC-9"}
    c = MemoryCluster(roles=("spectro-vm-viewer", "spectro-vm-user"))
    _limited_then(c)
    blocked = decl(extended, {"persona": "user", "users": ["bob"], "name": "taken"})
    foreign = plan_codec.binding_to_api(plan_scopes.resolve(blocked)[(CRB, "", "taken")])
    foreign["metadata"]["labels"] = {}
    c.objects[(CRB, "", "taken")] = foreign
    with pytest.raises(enforce.PreflightError, match="in the way; nothing was changed"):
        enforce.run(blocked, options.parse({}, blocked, at(2)), c)
    assert c.objects[(CRB, "", "tl-a")]["subjects"]

    c = MemoryCluster(roles=("spectro-vm-viewer",))
    _limited_then(c)
    unplanned = decl(extended, {"persona": "viewer", "users": ["bob"], "namespaces": ["gone"]})
    res = enforce.run(unplanned, options.parse({}, unplanned, at(2)), c)
    assert res["failed"] and not c.objects[(CRB, "", "tl-a")].get("subjects")
    full = decl(extended)
    again = enforce.run(full, options.parse({}, full, at(2)), c)
    assert again["changed"] and c.objects[(CRB, "", "tl-a")]["subjects"]
    assert c.objects[(CRB, "", "tl-a")]["metadata"]["annotations"][EXPIRES_ANNOTATION] == "2026-12-04T16:00:00Z"


def test_validate_says_what_is_true_of_an_expired_grant_when_the_plan_is_refused():
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    both = _limited_then(c, {"persona": "viewer", "users": ["bob"], "namespaces": ["gone"]})
    with pytest.raises(SpecError) as err:
        validate.run(both, options.parse({"check_access": False}, both, at(2)), c)
    assert err.value.path == "bindings[1].namespaces[0]"
    assert "Meanwhile 1 grant whose time has passed still grants access: ClusterRoleBinding tl-a (expired at " \
           "2026-12-04T13:00:00Z, still grants User alice); vmo_role_binding ends them at its next run, even though " \
           "it refuses the rest" in err.value.message
    assert "also when it refuses the rest of its plan" in validate.FIX["expire"]


def test_validate_says_the_whole_reason_of_a_grant_whose_end_cannot_be_read():
    """An end that cannot be read and holds a ';' (anyone with write access to the binding may put one there):
    the refusal says the whole reason (it was cut at the first ';': the reason was read back out of the words)."""
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    both = _limited_then(c, {"persona": "viewer", "users": ["bob"], "namespaces": ["gone"]})
    c.objects[(CRB, "", "tl-a")]["metadata"]["annotations"][EXPIRES_ANNOTATION] = "soon; or later"
    with pytest.raises(SpecError) as err:
        validate.run(both, options.parse({"check_access": False}, both, at(2)), c)
    assert "ClusterRoleBinding tl-a (time-limited, and its end (vmo.rbac/expires='soon; or later') cannot be read, " \
           "still grants User alice)" in err.value.message, err.value.message
    res = enforce.run(both, options.parse({}, both, at(2)), c)
    assert res["failed"] and "ClusterRoleBinding tl-a (time-limited, and its end (vmo.rbac/expires='soon; or later') " \
        "cannot be read)." in res["msg"], res["msg"]
    assert not c.objects[(CRB, "", "tl-a")].get("subjects")


def test_ending_a_grant_never_ends_one_another_run_gave_again_meanwhile():
    """The sweep's delete (or the removal of an expired grant's subjects) met a binding another run had granted
    again (409): it is read again and left as it is, reported; the result does not claim it ended."""
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    first = _bg("2026-12-04T13:00:00Z", "INC-1")
    enforce.run(first, options.parse({}, first, NOON), c)
    nothing = decl()
    opts = options.parse({}, nothing, at(2))
    p = plan_for(c, nothing, now=at(2))
    assert [(a.action, a.counts_as) for a in p.actions] == [("delete", "expired")]
    again = _bg("2026-12-04T18:00:00Z", "INC-2")
    enforce.run(again, options.parse({}, again, at(2)), c)  # the other run, between read and write
    c.forced = [("delete", 409)]
    result = {"actions": [plan_result.action_to_dict(a) for a in p.actions], "summary": plan_result.summarize(p),
              "changed": True}
    enforce._apply_or_explain(p, c, OWNER, opts, result)
    assert c.objects[(CRB, "", "bg-a")]["metadata"]["annotations"][REASON_ANNOTATION] == "INC-2"
    assert result["actions"] == [] and result["changed"] is False and "expired" not in result["summary"]
    assert result["warnings"] == ["ClusterRoleBinding bg-a was given again by another run while this one ended it "
                                  "(it now ends at 2026-12-04T18:00:00Z): left as it is"]
    # still due after the conflict (someone only added a label): ended all the same, with the version read again
    p = plan_for(c, nothing, now=at(7))
    c.objects[(CRB, "", "bg-a")]["metadata"]["labels"]["team"] = "x"
    c.forced = [("delete", 409)]
    assert enforce.apply(p, c, OWNER, now=at(7)) == p.actions and (CRB, "", "bg-a") not in c.objects



def test_a_refused_run_whose_ending_fails_says_both():
    c = MemoryCluster(roles=("spectro-vm-viewer",))
    both = _limited_then(c, {"persona": "viewer", "users": ["bob"], "namespaces": ["gone"]})
    c.forced = [("replace", 403)]
    with pytest.raises(enforce.PartialApplyError) as err:
        enforce.run(both, options.parse({}, both, at(2)), c)
    assert err.value.message.startswith("bindings[1].namespaces[0]: namespace 'gone' does not exist")
    assert "Ending the grants whose time has passed failed too: forced 403" in err.value.message
