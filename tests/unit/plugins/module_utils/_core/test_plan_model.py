"""plan_model: the values of planning, and the causes an action may have."""

from __future__ import annotations

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_model


def test_causes_are_distinct_words_and_every_action_has_one():
    assert len(set(plan_model.CAUSES)) == len(plan_model.CAUSES)
    assert all(c and c == c.strip() and " " not in c for c in plan_model.CAUSES)
    assert "cause" in plan_model.Action._fields and plan_model.Action._fields[-1] == "cause"


def test_keys_and_their_words():
    a = plan_model.Action("create", plan_model.RB, "team-a", "x", "missing", plan_model.PHASE_CREATE, "created",
                          None, None, plan_model.CAUSE_MISSING)
    assert plan_model.key_of(a) == ("RoleBinding", "team-a", "x")
    assert plan_model.describe_key(plan_model.key_of(a)) == "RoleBinding team-a/x"
    assert plan_model.describe_key((plan_model.CRB, "", "y")) == "ClusterRoleBinding y"
