"""verdict: one function decides whether a cluster passed, from the parts of its validation as data."""

from __future__ import annotations

from ansible_collections.vmo.rbac.plugins.module_utils._core import verdict

ROLES = [{"present": True}, {"present": False}]
ACCESS = [{"ok": True}, {"ok": False}, {"ok": None}, {"ok": False, "pending": True}]
DRIFT = [{"action": "update"}, {"action": "create", "pending": True}]


def test_every_part_counts_once():
    passed, s = verdict.tally(ROLES, DRIFT, ACCESS, binding_checks=3, not_proven=1, subjects=2)
    # checks: 2 roles + 3 bindings + 3 asked rows; failed: 1 role + 1 drift (1 pending) + 1 row (1 pending)
    assert passed is False
    assert s == {"checks": 8, "passed": 5, "failed": 3, "drift": 2, "unchecked": 1, "unchecked_entries": 1,
                 "pending": 2, "subjects": 2, "requests": 0, "seconds": 0.0}
    assert list(s) == ["checks", "passed", "failed", "drift", "unchecked", "unchecked_entries", "pending",
                       "subjects", "requests", "seconds"]


def test_pending_only_passes_and_not_proven_never_passes_a_check():
    passed, s = verdict.tally([{"present": True}], [{"action": "create", "pending": True}],
                              [{"ok": False, "pending": True}], not_proven=2)
    assert passed is True and s["failed"] == 0 and s["pending"] == 2 and s["checks"] == 2
    assert s["unchecked_entries"] == 2 and s["passed"] == 2


def test_the_audit_the_named_objects_and_time_limited_grants_add_their_part():
    passed, s = verdict.tally([{"present": True}], audit=verdict.AuditPart(12, 0, 0))
    assert passed is True and s["checks"] == 13 and s["who_else"] == 0
    passed, s = verdict.tally([{"present": True}], audit=verdict.AuditPart(12, 2, 3),
                              time_limited=[{"state": "overdue"}, {"state": "active"}], named_unproven=40)
    assert passed is False
    assert (s["checks"], s["failed"], s["passed"], s["unchecked_entries"]) == (14, 3, 11, 1)
    assert (s["time_limited"], s["overdue"], s["named_objects_unproven"], s["who_else"]) == (2, 1, 40, 3)
    assert list(s)[-4:] == ["time_limited", "overdue", "named_objects_unproven", "who_else"]


def test_places_the_api_server_did_not_confirm_are_not_proven_and_fail():
    """Attack pass (session 4): an undeclared holder by the RBAC objects that the API server did not confirm
    makes its place not proven, a failed question (whocan.exclusive_audit counts it in ``failed``)."""
    passed, s = verdict.tally([{"present": True}], audit=verdict.AuditPart(12, 1, 0, 1))
    assert passed is False and s["failed"] == 1 and s["who_else"] == 0 and s["who_else_not_proven"] == 1
    passed, s = verdict.tally([{"present": True}], audit=verdict.AuditPart(12, 0, 0))
    assert passed is True and "who_else_not_proven" not in s  # the key only when there is one


def test_binding_checks_count_declared_bindings_and_what_should_not_be_there():
    desired = {("ClusterRoleBinding", "", "a"): None, ("RoleBinding", "n", "b"): None}
    drift = [{"action": "delete", "kind": "RoleBinding", "name": "x"}, {"action": "conflict"},
             {"action": "expire", "kind": "RoleBinding", "namespace": "n", "name": "b"},
             {"action": "expire", "kind": "ClusterRoleBinding", "name": "gone"}, {"action": "update"}]
    assert verdict.binding_checks(desired, drift) == 2 + 2 + 1
