"""The role's variables: meta/argument_specs.yml agrees with the modules, and a typo fails at the start.

The first tests are pure (no cluster): the role's argument spec, its defaults and the modules'
argument specs must say the same thing, so that a value the role accepts is a value the modules
accept and the reverse. The last one runs the role through ansible-playbook against a real
cluster with typos in the inventory and checks that nothing reached the cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.module_utils import auth, engine, validation
from tests.helpers.ansible import run_playbook

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "vmo_rbac"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())

# role variable -> module option, for every variable that is handed to a module
DECLARATION = {"vmo_rbac_" + k: k for k in engine.DECLARATION_ARG_SPEC if k != "bindings"}
DECLARATION["vmo_rbac_bindings"] = "bindings"
DECLARATION["vmo_rbac_extra_bindings"] = "bindings"
VALIDATE = {"vmo_rbac_capabilities": "capabilities", "vmo_rbac_concurrency": "concurrency",
            "vmo_rbac_fail_on_drift": "fail_on_drift", "vmo_rbac_audit_exclusive": "audit_exclusive",
            "vmo_rbac_platform_subjects": "platform_subjects"}
CONNECTION = {"vmo_rbac_" + k: k for k in ("kubeconfig", "context", "host", "api_key", "ca_cert", "client_cert",
                                           "client_key", "validate_certs", "request_timeout", "api_retries")}
ROLE_ONLY = {"vmo_rbac_mode", "vmo_rbac_report_dir", "vmo_rbac_report_formats", "vmo_rbac_report_title"}


def _comparable(spec: dict) -> dict:
    """The parts of an option that decide what is accepted: type, elements, choices, required, options."""
    out = {"type": spec.get("type", "str")}
    for key in ("elements", "required"):
        if spec.get(key):
            out[key] = spec[key]
    if spec.get("choices"):
        out["choices"] = sorted(spec["choices"])
    if spec.get("options"):
        out["options"] = {k: _comparable(v) for k, v in spec["options"].items()}
    return out


def _module_spec(option: str) -> dict:
    for spec in (engine.DECLARATION_ARG_SPEC, validation.VALIDATE_ARG_SPEC, auth.CONNECTION_ARG_SPEC):
        if option in spec:
            return spec[option]
    raise KeyError(option)


def test_every_role_variable_is_specified_and_every_spec_is_a_variable():
    assert set(SPEC) == set(DECLARATION) | set(VALIDATE) | set(CONNECTION) | ROLE_ONLY
    # every variable with a default is documented in defaults/main.yml, connection ones are left undefined
    assert set(DEFAULTS) == set(SPEC) - set(CONNECTION)


@pytest.mark.parametrize("variable", sorted(set(DECLARATION) | set(VALIDATE) | set(CONNECTION)))
def test_role_variable_accepts_what_the_module_option_accepts(variable):
    option = {**DECLARATION, **VALIDATE, **CONNECTION}[variable]
    module = _module_spec(option)
    role = SPEC[variable]
    assert _comparable(role) == _comparable(module), variable
    if variable in DEFAULTS and "default" in module:
        assert DEFAULTS[variable] == module["default"], "%s defaults differ from the module's %s" % (variable, option)
        assert role.get("default") == module["default"]
    if module.get("no_log"):
        assert role.get("no_log") is True, "%s carries a secret: no_log" % variable


def test_role_only_variables_match_their_defaults():
    for variable in ROLE_ONLY:
        assert SPEC[variable]["default"] == DEFAULTS[variable]
    assert sorted(SPEC["vmo_rbac_report_formats"]["choices"]) == ["html", "json", "junit", "markdown"]
    assert SPEC["vmo_rbac_mode"]["choices"] == ["enforce", "validate"]


def test_typos_fail_at_the_start_naming_the_variable(cluster, owner, uid, tmp_path):
    """Each host has one typo; each fails at argument validation, before any module call.

    (vmo_rbac_mode is set by the playbooks themselves; its choices are checked above.)"""
    user = "role-argspec-" + uid  # this test's own identity, to tell its requests apart in the audit log
    inv = tmp_path / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    good = [{"persona": "viewer", "groups": ["auditors"]}]
    typos = {
        "persona-typo": ({"vmo_rbac_extra_bindings": [{"persona": "admn", "groups": ["vmo-admins"]}]},
                         ["vmo_rbac_extra_bindings", "admn"]),
        "key-typo": ({"vmo_rbac_bindings": [{"persona": "viewer", "grups": ["auditors"]}]},
                     ["vmo_rbac_bindings", "grups"]),
        "role-set-typo": ({"vmo_rbac_role_set": "vm0"}, ["vmo_rbac_role_set", "vm0"]),
        "format-typo": ({"vmo_rbac_report_formats": ["markdown", "htm"]}, ["vmo_rbac_report_formats", "htm"]),
        "type-typo": ({"vmo_rbac_purge": "sometimes"}, ["vmo_rbac_purge"]),
    }
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
        "hosts": {h: {} for h in typos},
        "vars": {"ansible_connection": "local", "vmo_rbac_owner": owner, "vmo_rbac_bindings": good,
                 "vmo_rbac_report_dir": str(tmp_path / "reports"),
                 **{"vmo_rbac_" + k: v for k, v in cluster.identity(user).params.items()}}}}}}))
    for host, (host_vars, _words) in typos.items():
        (inv / "host_vars" / (host + ".yml")).write_text(yaml.safe_dump(host_vars))

    audit = cluster.audit()
    run = run_playbook("vmo.rbac.enforce", inventory=inv)

    assert run.rc != 0
    for host, (_host_vars, words) in typos.items():
        mine = [r for r in run.results if r["host"] == host]
        assert len(mine) == 1, "%s ran more than the argument validation: %s" % (host, [r["task"] for r in mine])
        assert mine[0]["result"]["action"].endswith("validate_argument_spec"), mine[0]["task"]
        assert mine[0]["result"].get("failed")
        for word in words:
            assert word in mine[0]["result"]["msg"], (host, mine[0]["result"]["msg"])
    assert not any(r["result"].get("action", "").startswith("vmo.rbac.") for r in run.results)
    assert audit.events(user=user) == []
