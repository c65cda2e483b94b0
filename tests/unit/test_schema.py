"""One source of truth for the options: the argument specs in module_utils.

The declaration's schema lives in declaration.DECLARATION_ARG_SPEC (the other options in
options.py and connection.py). The ``vmo.rbac.bindings`` doc fragment, the role's
meta/argument_specs.yml and its defaults are held to it here: a value the role accepts is a
value the modules accept and the reverse, and ansible-doc documents what the modules take.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.doc_fragments import access as access_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import bindings as bindings_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import connection as connection_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import palette as palette_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import palette_connection as palette_connection_fragment
from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration, options
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import connection
from ansible_collections.vmo.rbac.plugins.module_utils._palette import backend as palette_backend
from ansible_collections.vmo.rbac.plugins.module_utils._palette import connection as palette_connection

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "vmo_rbac"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())

# role variable -> module option, for every variable that is handed to a module
DECLARATION = {"vmo_rbac_" + k: k for k in declaration.DECLARATION_ARG_SPEC if k != "bindings"}
DECLARATION["vmo_rbac_bindings"] = "bindings"
DECLARATION["vmo_rbac_extra_bindings"] = "bindings"
VALIDATE = {"vmo_rbac_capabilities": "capabilities", "vmo_rbac_concurrency": "concurrency",
            "vmo_rbac_fail_on_drift": "fail_on_drift", "vmo_rbac_audit_privileged": "audit_privileged",
            "vmo_rbac_audit_exclusive": "audit_exclusive", "vmo_rbac_platform_subjects": "platform_subjects",
            "vmo_rbac_kubevirt_version": "kubevirt_version", "vmo_rbac_access_format": "access_format"}
ENFORCE = {"vmo_rbac_if_active": "if_active"}  # vmo_role_binding only (tasks/enforce.yml, tasks/main.yml)
CONNECTION = {"vmo_rbac_" + k: k for k in ("kubeconfig", "context", "host", "api_key", "ca_cert", "client_cert",
                                           "client_key", "validate_certs", "request_timeout", "api_retries",
                                           "proxy", "no_proxy", "impersonate_user", "impersonate_groups")}
ROLE_ONLY = {"vmo_rbac_mode", "vmo_rbac_report_dir", "vmo_rbac_report_formats", "vmo_rbac_report_title",
             "vmo_rbac_cluster_roles", "vmo_rbac_inventory_error", "vmo_rbac_slice", "vmo_rbac_execution"}
# The backend options (palette_backend.PALETTE_ARG_SPEC); the cluster and project uids default to the
# inventory plugin's host variables, the others are left undefined like the connection ones.
BACKEND = {"vmo_rbac_backend": "backend", "vmo_rbac_palette_cluster_uid": "palette_cluster_uid",
           "vmo_rbac_palette_project_uid": "palette_project_uid", "vmo_rbac_palette_wait": "wait"}
PALETTE_CONNECTION = {"vmo_rbac_palette_" + k: "palette_" + k for k in ("host", "api_key", "validate_certs", "ca_cert",
                                                                      "kubeconfig", "rate_limit")}
# Role defaults that differ from the module's on purpose: the role validates right after enforcing,
# so with the palette backend it waits for Palette's agent by default; the uids come from the inventory.
# The role registers the access rows as one JSON text (a fleet's controller copies every registered result).
DEFAULT_DIFFERS = {"vmo_rbac_palette_wait", "vmo_rbac_palette_cluster_uid", "vmo_rbac_palette_project_uid",
                   "vmo_rbac_access_format"}


def _comparable(spec: dict) -> dict:
    """The parts of an option that decide what is accepted: type, elements, choices, required, options."""
    out = {"type": spec.get("type", "str")}
    for key in ("elements", "required"):
        if spec.get(key):
            out[key] = spec[key]
    if spec.get("choices"):
        out["choices"] = sorted(spec["choices"])
    sub = spec.get("options") or spec.get("suboptions")
    if sub:
        out["options"] = {k: _comparable(v) for k, v in sub.items()}
    return out


def test_the_cluster_roles_variable_takes_what_the_module_takes():
    from ansible_collections.vmo.rbac.plugins.module_utils._flows import cluster_roles

    assert _comparable(SPEC["vmo_rbac_cluster_roles"]) == _comparable(cluster_roles.CLUSTER_ROLES_ARG_SPEC["roles"])


def _module_spec(option: str) -> dict:
    for spec in (declaration.DECLARATION_ARG_SPEC, options.ACCESS_ARG_SPEC, options.VALIDATE_ARG_SPEC,
                 options.ENFORCE_ARG_SPEC, connection.CONNECTION_ARG_SPEC,
                 palette_backend.PALETTE_ARG_SPEC, palette_backend.WAIT_ARG_SPEC):
        if option in spec:
            return spec[option]
    raise KeyError(option)


def test_the_parser_reads_the_schema():
    assert declaration.ENTRY_KEYS == tuple(declaration.BINDING_OPTIONS)
    assert declaration.SUBJECT_KEYS == tuple(declaration.SUBJECT_OPTIONS)
    assert declaration.BINDING_OPTIONS["persona"]["choices"] == list(declaration.personas.PERSONAS)


@pytest.mark.parametrize("fragment, spec", [
    (bindings_fragment, declaration.DECLARATION_ARG_SPEC),
    (access_fragment, options.ACCESS_ARG_SPEC),
    (connection_fragment, connection.CONNECTION_ARG_SPEC),
    (palette_fragment, palette_backend.BACKEND_ARG_SPEC),
    (palette_connection_fragment, palette_connection.PALETTE_CONNECTION_ARG_SPEC),
])
def test_the_doc_fragment_documents_the_schema(fragment, spec):
    documented = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert _comparable(documented[name]) == _comparable(option), name
        if "default" in option and option["default"] is not None:
            assert documented[name].get("default") == option["default"], name
        assert sorted(documented[name].get("aliases", [])) == sorted(option.get("aliases", [])), name


def test_every_role_variable_is_specified_and_every_spec_is_a_variable():
    assert set(SPEC) == (set(DECLARATION) | set(VALIDATE) | set(ENFORCE) | set(CONNECTION) | ROLE_ONLY
                         | set(BACKEND) | set(PALETTE_CONNECTION))
    # every variable with a default is documented in defaults/main.yml, connection ones are left undefined
    assert set(DEFAULTS) == set(SPEC) - set(CONNECTION) - set(PALETTE_CONNECTION)


@pytest.mark.parametrize("variable", sorted(set(DECLARATION) | set(VALIDATE) | set(ENFORCE) | set(CONNECTION)
                                            | set(BACKEND) | set(PALETTE_CONNECTION)))
def test_role_variable_accepts_what_the_module_option_accepts(variable):
    option = {**DECLARATION, **VALIDATE, **ENFORCE, **CONNECTION, **BACKEND, **PALETTE_CONNECTION}[variable]
    module = _module_spec(option)
    role = SPEC[variable]
    assert _comparable(role) == _comparable(module), variable
    if variable in DEFAULTS and "default" in module and variable not in DEFAULT_DIFFERS:
        assert DEFAULTS[variable] == module["default"], "%s defaults differ from the module's %s" % (variable, option)
        assert role.get("default") == module["default"]
    if module.get("no_log"):
        assert role.get("no_log") is True, "%s carries a secret: no_log" % variable


def test_role_only_variables_match_their_defaults():
    for variable in ROLE_ONLY:
        assert SPEC[variable]["default"] == DEFAULTS[variable]
    assert sorted(SPEC["vmo_rbac_report_formats"]["choices"]) == ["html", "json", "junit", "markdown"]
    assert SPEC["vmo_rbac_mode"]["choices"] == ["enforce", "reconcile", "validate"]


def test_the_execution_variable_takes_what_the_action_plugins_take():
    from ansible_collections.vmo.rbac.plugins.plugin_utils import in_worker

    assert SPEC["vmo_rbac_execution"]["choices"] == list(in_worker.EXECUTIONS)
    assert in_worker.EXECUTION_VAR == "vmo_rbac_execution"


def test_both_modules_take_the_access_options():
    from ansible_collections.vmo.rbac.plugins.modules import vmo_rbac_validate, vmo_role_binding

    for module in (vmo_role_binding, vmo_rbac_validate):
        spec = module.argument_spec()
        for name, option in options.ACCESS_ARG_SPEC.items():
            assert spec[name] == option, (module.__name__, name)


def test_the_role_hands_every_shared_option_to_both_module_calls():
    """vars/main.yml's shared options (module_defaults of the enforce, validate and reconcile calls)
    name every declaration, access, connection and Palette option, and each is an option of both
    modules: a new option (max_duration, strict_scopes, ...) reaches the enforce step, whose checks
    before the first write replaced the preflight call, and the action plugins, which run the
    modules' own argument specs."""
    from ansible_collections.vmo.rbac.plugins.modules import vmo_rbac_validate, vmo_role_binding

    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    shared = set()
    for part in ("vmo_rbac__declaration", "vmo_rbac__connection", "vmo_rbac__backend", "vmo_rbac__palette_connection",
                 "vmo_rbac__access"):
        shared |= set(role_vars[part])
        assert part in role_vars["vmo_rbac__module_options"], part
    # the connection options the role offers (CONNECTION; not persist_config, proxy_headers)
    expected = (set(declaration.DECLARATION_ARG_SPEC) | set(options.ACCESS_ARG_SPEC) | set(CONNECTION.values())
                | set(palette_backend.PALETTE_ARG_SPEC))
    assert shared == expected
    for module in (vmo_role_binding, vmo_rbac_validate):
        assert shared <= set(module.argument_spec()), module.__name__


def test_every_module_that_talks_to_a_cluster_can_take_its_kubeconfig_from_palette():
    """AWX runs the inventory update and the job apart: every module connects with palette_kubeconfig
    (issue 20), and the role hands the cluster-roles call the Palette options too."""
    from ansible_collections.vmo.rbac.plugins.modules import (vmo_cluster_roles, vmo_rbac_access_info,
                                                              vmo_rbac_validate, vmo_role_binding)

    for module in (vmo_role_binding, vmo_rbac_validate, vmo_cluster_roles, vmo_rbac_access_info):
        spec = module.argument_spec()
        for name, option in palette_connection.PALETTE_CONNECTION_ARG_SPEC.items():
            assert spec[name] == option, (module.__name__, name)
        doc = yaml.safe_load(module.DOCUMENTATION)
        assert "vmo.rbac.palette_connection" in doc["extends_documentation_fragment"], module.__name__
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert set(role_vars["vmo_rbac__palette_connection"]) == set(palette_connection.PALETTE_CONNECTION_ARG_SPEC)
    assert "vmo_rbac__palette_connection" in role_vars["vmo_rbac__cluster_roles_options"]
    main = (ROLE / "tasks" / "main.yml").read_text()
    assert 'vmo.rbac.vmo_cluster_roles: "{{ vmo_rbac__cluster_roles_options }}"' in main
