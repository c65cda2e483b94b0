"""plan_order: every planned action carries its cause as data, and the cause says what the reason's words say.

The semantics of the plan itself (convergence, ownership, order without an access gap) are pinned down in
test_planning.py; here, on the same generated scenarios, each action's ``cause`` is held to the rules the
validate flow and the enforcer used to read out of ``reason`` (so that reading the field changes nothing),
and a few readable cases name each cause.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_codec, plan_model, plan_order
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import TRANSITION_LABEL
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import CAUSES, CRB
from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from tests.unit.plugins.module_utils._core.test_planning import NS, ALICE, BOB, OWNER, _state, declare, observe, scenarios


def resolve(d):
    return plan_scopes.resolve(d, NS)


def _prose_cause(a):
    """What the words of ``reason`` said (the rules the flows read them with)."""
    if a.reason.startswith("transition"):
        return "transition"
    if a.reason.startswith("roleRef"):
        return "roleRef"
    return None


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenarios())
def test_property_every_action_has_a_cause_that_agrees_with_its_words(scenario):
    decl, desired, namespaces, objects, mode, purge = scenario
    p = plan_order.plan(desired, _state(objects, namespaces), OWNER, mode=mode, purge=purge)
    for a in p.actions:
        assert a.cause in CAUSES, a
        said = _prose_cause(a)
        if said == "transition":
            assert a.cause == plan_model.CAUSE_TRANSITION and a.name.endswith("-transition"), a
        elif said == "roleRef":
            assert a.cause == plan_model.CAUSE_ROLE_REF, a
        else:
            assert a.cause not in (plan_model.CAUSE_TRANSITION, plan_model.CAUSE_ROLE_REF), a
        if a.cause == plan_model.CAUSE_MISSING:
            assert a.action == "create" and a.reason == "missing"
        if a.action == "update" and a.counts_as == "updated":
            assert a.cause == plan_codec.update_cause(a.desired, a.observed)
            assert a.reason.startswith({"subjects": "subjects: ", "labels": "labels", "expires": "expires ",
                                        "annotations": "annotations"}[a.cause])


def _causes(p):
    return [(a.action, a.name, a.cause) for a in p.actions]


def test_each_cause_by_name():
    viewer = declare({"persona": "viewer", "users": ["alice"]})
    desired = resolve(viewer)
    (key,) = desired
    assert _causes(plan_order.plan(desired, observe([]), OWNER)) == [("create", key[2], "missing")]

    held = observe([plan_codec.binding_to_api(desired[key]._replace(subjects=(ALICE, BOB)))])
    (a,) = plan_order.plan(desired, held, OWNER).actions
    assert (a.action, a.cause, a.reason) == ("update", "subjects", "subjects: remove User bob")

    admin = declare({"cluster_role": "spectro-vm-admin", "users": ["alice"], "name": key[2]})
    moved = resolve(admin)
    p = plan_order.plan(moved, held, OWNER)
    assert [c for _a, _n, c in _causes(p)] == ["transition", "roleRef", "roleRef", "transition"]
    assert all(n.endswith("-transition") for _a, n, c in _causes(p) if c == "transition")

    assert _causes(plan_order.plan({}, held, OWNER, purge=True)) == [("delete", key[2], "purge")]
    assert _causes(plan_order.plan(desired, held, OWNER, mode="absent")) == [("delete", key[2], "absent")]
    left = plan_codec.binding_to_api(desired[key]._replace(name=key[2] + "-transition",
                                                           labels=dict(desired[key].labels, **{TRANSITION_LABEL: "true"})))
    p = plan_order.plan(desired, observe([plan_codec.binding_to_api(desired[key]), left]), OWNER)
    assert _causes(p) == [("delete", key[2] + "-transition", "leftover")]
    assert CRB == key[0]
