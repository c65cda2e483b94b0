"""plan_result: plans, scopes and bindings as module results show them."""

from __future__ import annotations

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_model, plan_result
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_scopes import ScopeMatch


def test_a_scope_that_matched_nothing_carries_its_flag_and_its_words():
    empty = ScopeMatch("bindings[0].namespace_regex", ["/^vm-/"], [], ["kube-system"], True)
    some = ScopeMatch("bindings[1].namespace_selector", ["env=x"], ["a"], [], False)
    d = plan_result.scope_to_dict(empty)
    assert d["matched_nothing"] is True and d["warning"] == plan_result.scope_warning(empty)
    assert d["warning"].startswith("bindings[0].namespace_regex: /^vm-/ matched no namespace (protected namespaces "
                                   "skipped: kube-system), so this grant gives nothing today")
    assert plan_result.scope_to_dict(some)["warning"] == "" and plan_result.scope_warnings([empty, some]) == [d["warning"]]


def test_actions_and_counts():
    a = plan_model.Action("delete", plan_model.CRB, "", "x", "no longer declared (purge)", plan_model.PHASE_DELETE,
                          "deleted", None, None, plan_model.CAUSE_PURGE)
    assert plan_result.action_to_dict(a) == {"action": "delete", "kind": "ClusterRoleBinding", "name": "x",
                                             "reason": "no longer declared (purge)", "cause": "purge"}
    p = plan_model.Plan([a, a._replace(counts_as=None)], [], [("k",)], [])
    assert plan_result.summarize(p) == {"created": 0, "updated": 0, "replaced": 0, "deleted": 1, "unchanged": 1}
