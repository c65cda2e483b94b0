"""One error base class (module_utils/_core/errors.py): every failure a flow is expected to raise is a
VmoError, and what each adds to the module's failed result is the error's own ``failure()``, the
keys module_runner.run_module maps in one place."""

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError
from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import FieldError, VmoError
from ansible_collections.vmo.rbac.plugins.module_utils._flows.enforce import PartialApplyError
from ansible_collections.vmo.rbac.plugins.module_utils._flows.observe import PreflightError
from ansible_collections.vmo.rbac.plugins.module_utils._http.transport import BadValue
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils._palette.backend import LostUpdateError, PaletteResultError, WaitError
from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import PaletteError

CASES = [
    (SpecError("bindings[0].persona", "unknown persona"), "bindings[0].persona: unknown persona",
     {"field": "bindings[0].persona"}),
    (BadValue("api_key", "has a control character"), "api_key: has a control character", {"field": "api_key"}),
    (ClusterError("cannot reach the API server"), "cannot reach the API server", {"status": None}),
    (ApiError("forbidden", 403, reason="Forbidden"), "forbidden", {"status": 403}),
    (PartialApplyError("1 of 2 writes failed", [{"action": "create"}], status=500), "1 of 2 writes failed",
     {"changed": True, "actions": [{"action": "create"}], "status": 500}),
    (PartialApplyError("nothing written", [], status=409), "nothing written", {"changed": False, "actions": [], "status": 409}),
    (PreflightError("missing roles"), "missing roles", {}),
    (PaletteError("Palette answered 401", status=401), "Palette answered 401", {"status": 401}),
    (PaletteResultError("lost", {"changed": True, "writes": 4}), "lost", {"changed": True, "writes": 4}),
    (WaitError("not in force", {"changed": True}), "not in force", {"changed": True}),
    (LostUpdateError("overwritten", {"changed": True}), "overwritten", {"changed": True}),
]


@pytest.mark.parametrize("error,msg,failure", CASES, ids=[type(c[0]).__name__ + str(i) for i, c in enumerate(CASES)])
def test_every_expected_failure_is_a_vmo_error_with_its_message_and_failure_keys(error, msg, failure):
    assert isinstance(error, VmoError)
    assert str(error) == msg
    assert error.failure() == failure


def test_field_errors_stay_value_errors_and_name_their_field():
    """Callers that catch ValueError (argument parsing) still catch a bad field."""
    for cls in (SpecError, BadValue):
        err = cls("", "no field")
        assert isinstance(err, FieldError) and isinstance(err, ValueError)
        assert str(err) == "no field" and err.failure() == {"field": ""}


def test_a_failure_result_is_a_copy():
    """A caller that adds keys to the failure does not change the error's own result."""
    err = PaletteResultError("lost", {"changed": True})
    err.failure()["msg"] = "x"
    assert err.result == {"changed": True}
