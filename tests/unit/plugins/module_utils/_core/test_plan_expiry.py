"""plan_expiry: the lifecycle of time-limited grants; what a refused run still ends, and why, as data.

The lifecycle itself (stamp, refuse_expired, if_active, time_limited) is pinned down in test_expiry.py.
"""

from __future__ import annotations

from ansible_collections.vmo.rbac.plugins.module_utils._core import (
    expiry,
    plan_codec,
    plan_expiry,
    plan_model,
    plan_scopes,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import EXPIRES_ANNOTATION
from tests.unit.plugins.module_utils._core.test_planning import declare, observe

NOON = expiry.parse_time("2026-12-04T12:00:00Z")


def _held(end):
    d = declare({"persona": "viewer", "users": ["alice"], "expires": "1h", "name": "tl"})
    desired, _ends = plan_expiry.stamp(plan_scopes.resolve(d), {}, NOON)
    (b,) = desired.values()
    body = plan_codec.binding_to_api(b)
    body["metadata"]["annotations"][EXPIRES_ANNOTATION] = end
    return observe([body]).owned


def test_a_refused_run_ends_what_has_expired_with_its_cause_and_its_why():
    later = expiry.parse_time("2026-12-04T14:00:00Z")
    (a,) = plan_expiry.end_expired(_held("2026-12-04T13:00:00Z"), later).actions
    assert (a.action, a.counts_as, a.cause) == ("update", "expired", plan_model.CAUSE_EXPIRED)
    assert a.reason == "expired at 2026-12-04T13:00:00Z" + plan_expiry.REST_REFUSED
    assert plan_expiry.ended_why(a) == "expired at 2026-12-04T13:00:00Z"
    assert a.desired.subjects == () and a.observed.subjects


def test_the_why_of_an_end_that_cannot_be_read_is_whole_whatever_it_holds():
    (a,) = plan_expiry.end_expired(_held("soon; or later"), NOON).actions
    assert plan_expiry.ended_why(a) == "time-limited, and its end (vmo.rbac/expires='soon; or later') cannot be read"
    assert plan_expiry.ended_why(a._replace(reason="no suffix")) == "no suffix"
