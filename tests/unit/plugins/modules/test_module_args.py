"""The arguments as written, before Ansible converts them: what a conversion would hide is refused
with the field's name (module_utils/_flows/module_runner.py parses the declaration once, from them,
before AnsibleModule)."""

import json

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration, specs
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError
from ansible_collections.vmo.rbac.plugins.module_utils._flows.module_runner import _flags, permissive_spec

VALID = {"persona": "viewer", "groups": ["auditors"]}


@pytest.mark.parametrize("raw, field, words", [
    ({"bindings": "persona: admin"}, "bindings", "got a string"),
    ({"bindings": [VALID, "viewer"]}, "bindings[1]", "got a string"),
    ({"bindings": [{"persona": "viewer", "users": [["alice"]]}]}, "bindings[0].users[0]", "got a list"),
    ({"bindings": [{"persona": "viewer", "groups": [123]}]}, "bindings[0].groups[0]", "got a number"),
    ({"bindings": [{"persona": "viewer", "groups": "auditors"}]}, "bindings[0].groups", "got a string"),
    ({"bindings": [{"persona": ["viewer"], "groups": ["g"]}]}, "bindings[0].persona", "got a list"),
    ({"bindings": [{"persona": "viewer", "groups": ["g"], "namespaces": [2024]}]}, "bindings[0].namespaces[0]",
     "got a number"),
    ({"bindings": [{"persona": "viewer", "groups": ["g"], "name": 7}]}, "bindings[0].name", "got a number"),
    ({"bindings": [VALID], "oidc_user_prefix": ["oidc:"]}, "oidc_user_prefix", "got a list"),
    ({"bindings": [VALID], "oidc_group_prefix": 1}, "oidc_group_prefix", "got a number"),
    ({"bindings": [VALID], "owner": ["team"]}, "owner", "got a list"),
    ({"bindings": [VALID], "role_set": ["vmo"]}, "role_set", "got a list"),
])
def test_conversions_ansible_would_hide_are_refused(raw, field, words):
    with pytest.raises(SpecError) as err:
        declaration.from_module_args(raw, **_flags(raw))
    assert err.value.path == field, err.value
    assert words in str(err.value) and field in str(err.value)


def test_what_ansible_may_convert_is_left_to_it():
    """The other options are Ansible's to convert; the declaration's two booleans are converted by
    Ansible's own rules (``allow_privileged: "no"`` is false, so the privileged guard still holds)."""
    raw = {"bindings": [VALID], "purge": "yes", "wait_for_roles": "30", "allow_privileged": "no", "api_key": 5}
    assert _flags(raw) == {"allow_privileged": False, "legacy_dashboard_bindings": False, "console_access": False,
                           "strict_scopes": False}
    assert declaration.from_module_args(raw, **_flags(raw)).grants
    admin = {"bindings": [{"persona": "admin", "groups": ["ops"]}], "role_set": "kubernetes"}
    with pytest.raises(SpecError, match="allow_privileged"):
        declaration.from_module_args(dict(admin, allow_privileged="no"), **_flags(dict(admin, allow_privileged="no")))
    assert declaration.from_module_args(dict(admin, allow_privileged="yes"),
                                        **_flags(dict(admin, allow_privileged="yes"))).allow_privileged
    assert declaration.from_module_args({}).grants == ()
    decl = declaration.from_module_args({"bindings": None, "owner": None, "role_set": None})
    assert (decl.owner, decl.role_set) == ("vmo-rbac", "vmo")
    # a boolean Ansible cannot read is left to AnsibleModule, which names the option
    assert _flags({"allow_privileged": "perhaps"}) is None


def test_permissive_spec_keeps_names_aliases_and_no_log():
    spec = dict(specs.DECLARATION_ARG_SPEC)
    spec.update(specs.CONNECTION_ARG_SPEC)
    loose = permissive_spec(spec)
    assert set(loose) == set(spec)
    assert all(o["type"] == "raw" for o in loose.values())
    for name, option in spec.items():
        assert loose[name].get("no_log") == option.get("no_log"), name
        assert loose[name].get("aliases") == option.get("aliases"), name
    secret = "s3cr3t-token-value"
    result = ArgumentSpecValidator(loose).validate({"bindings": "persona: admin", "api_key": secret,
                                                    "key_file": "/tmp/k"})
    assert result.error_messages == []
    assert result.validated_parameters["bindings"] == "persona: admin"  # not converted
    assert secret in result._no_log_values  # still masked in the failure's invocation
    assert json.dumps(result.validated_parameters)  # nothing Ansible-specific left in it
