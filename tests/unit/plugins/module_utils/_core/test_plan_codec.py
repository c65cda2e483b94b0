"""plan_codec: bindings to and from the API, and what differs between a desired and an observed binding."""

from __future__ import annotations

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_codec, plan_model
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    EXPIRES_ANNOTATION, MANAGED_BY_LABEL, OWNER_LABEL, REASON_ANNOTATION,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from tests.unit.plugins.module_utils._core.test_planning import NS, ALICE, BOB, OWNER, declare


def resolve(d):
    return plan_scopes.resolve(d, NS)


def _one(**entry):
    (b,) = resolve(declare(dict({"persona": "viewer", "users": ["alice"]}, **entry))).values()
    return b


def test_api_round_trip_keeps_what_planning_compares():
    b = _one()
    o = plan_codec.observed_from_api(plan_codec.binding_to_api(b), b.kind)
    assert plan_codec.matches(b, o) and plan_codec.differences(b, o) == [] and plan_codec.why_update(b, o) == ""
    assert plan_codec.is_owned(o.labels, OWNER) and not plan_codec.is_owned(o.labels, "someone-else")
    assert plan_codec.owner_selector(OWNER) == "%s=vmo.rbac,%s=%s" % (MANAGED_BY_LABEL, OWNER_LABEL, OWNER)


def test_differences_in_a_fixed_order_each_with_its_cause():
    b = _one()
    o = plan_codec.observed_from_api(plan_codec.binding_to_api(b), b.kind)
    o = o._replace(subjects=(BOB,), labels=dict(o.labels, **{OWNER_LABEL: "x"}),
                   annotations=dict(o.annotations, **{EXPIRES_ANNOTATION: "2026-12-05T17:00:00Z",
                                                      REASON_ANNOTATION: "old"}))
    found = plan_codec.differences(b, o)
    assert [c for c, _w in found] == [plan_model.CAUSE_SUBJECTS, plan_model.CAUSE_LABELS, plan_model.CAUSE_EXPIRES,
                                      plan_model.CAUSE_ANNOTATIONS]
    assert plan_codec.why_update(b, o) == ("subjects: add User alice; remove User bob; labels; "
                                           "expires 2026-12-05T17:00:00Z -> never; annotations")
    assert plan_codec.update_cause(b, o) == plan_model.CAUSE_SUBJECTS
    assert plan_codec.update_cause(b, o._replace(subjects=(ALICE,))) == plan_model.CAUSE_LABELS


def test_object_sizes_are_measured_on_what_is_sent():
    b = _one()
    body = plan_codec.binding_to_api(b)
    assert plan_codec.object_bytes(b) == len(__import__("json").dumps(body, separators=(",", ":")))
    assert plan_codec.annotation_bytes({"metadata": {"annotations": {"a": "\u00e9"}}}) == 3
