"""One source of truth for the options: the argument specs in module_utils/_core/specs.py.

Every argument spec of the collection lives there (the declaration's DECLARATION_ARG_SPEC, the other
options, the connections, the modules without a declaration, the fleet report's), and nowhere else. The
doc fragments, each module's DOCUMENTATION, the role's meta/argument_specs.yml and its defaults are held
to them here: a value the role accepts is a value the modules accept and the reverse, and ansible-doc
documents what the modules take.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.doc_fragments import access as access_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import bindings as bindings_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import connection as connection_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import palette as palette_fragment
from ansible_collections.vmo.rbac.plugins.doc_fragments import palette_connection as palette_connection_fragment
from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration, specs

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "vmo_rbac"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())

# role variable -> module option, for every variable that is handed to a module
DECLARATION = {"vmo_rbac_" + k: k for k in specs.DECLARATION_ARG_SPEC if k != "bindings"}
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
# The backend options (specs.PALETTE_ARG_SPEC); the cluster and project uids default to the
# inventory plugin's host variables, the others are left undefined like the connection ones.
BACKEND = {"vmo_rbac_backend": "backend", "vmo_rbac_palette_cluster_uid": "palette_cluster_uid",
           "vmo_rbac_palette_project_uid": "palette_project_uid", "vmo_rbac_palette_wait": "wait"}
PALETTE_CONNECTION = {"vmo_rbac_palette_" + k: "palette_" + k for k in ("host", "api_key", "validate_certs", "ca_cert",
                                                                      "kubeconfig", "rate_limit")}
# Role defaults that differ from the module's on purpose: the role validates right after enforcing,
# so with the palette backend it waits for Palette's agent by default; the uids come from the inventory.
# The role registers the access rows as one JSON text (a fleet's controller copies every registered result).
# vmo_rbac_concurrency unset: each module's default for the enforce step, 64 for the validation (pipelined reviews:
# test_the_validation_asks_64_at_a_time_unless_told_otherwise).
DEFAULT_DIFFERS = {"vmo_rbac_palette_wait", "vmo_rbac_palette_cluster_uid", "vmo_rbac_palette_project_uid",
                   "vmo_rbac_access_format", "vmo_rbac_concurrency"}


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
    assert _comparable(SPEC["vmo_rbac_cluster_roles"]) == _comparable(specs.CLUSTER_ROLES_ARG_SPEC["roles"])


def _module_spec(option: str) -> dict:
    for spec in (specs.DECLARATION_ARG_SPEC, specs.ACCESS_ARG_SPEC, specs.VALIDATE_ARG_SPEC,
                 specs.ENFORCE_ARG_SPEC, specs.CONNECTION_ARG_SPEC,
                 specs.PALETTE_ARG_SPEC, specs.WAIT_ARG_SPEC):
        if option in spec:
            return spec[option]
    raise KeyError(option)


def test_the_parser_reads_the_schema():
    assert declaration.ENTRY_KEYS == tuple(specs.BINDING_OPTIONS)
    assert declaration.SUBJECT_KEYS == tuple(specs.SUBJECT_OPTIONS)
    assert specs.BINDING_OPTIONS["persona"]["choices"] == list(declaration.personas.PERSONAS)


@pytest.mark.parametrize("fragment, spec", [
    (bindings_fragment, specs.DECLARATION_ARG_SPEC),
    (access_fragment, specs.ACCESS_ARG_SPEC),
    (connection_fragment, specs.CONNECTION_ARG_SPEC),
    (palette_fragment, specs.BACKEND_ARG_SPEC),
    (palette_connection_fragment, specs.PALETTE_CONNECTION_ARG_SPEC),
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
        for name, option in specs.ACCESS_ARG_SPEC.items():
            assert spec[name] == option, (module.__name__, name)


def test_the_role_hands_every_shared_option_to_both_module_calls():
    """vars/main.yml's shared options (module_defaults of the enforce, validate and reconcile calls)
    name every declaration, access, connection and Palette option, and each is an option of both
    modules: a new option (max_duration, strict_scopes, ...) reaches the enforce step, whose checks
    before the first write replaced the preflight call, and the action plugins, which run the
    modules' own argument specs."""
    from ansible_collections.vmo.rbac.plugins.modules import vmo_rbac_validate, vmo_role_binding

    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    shared, merged = set(), {}
    for part in ("vmo_rbac__declaration", "vmo_rbac__connection", "vmo_rbac__backend", "vmo_rbac__palette_connection",
                 "vmo_rbac__access"):
        assert not shared & set(role_vars[part]), part  # no part overrides another (YAML merge keys)
        shared |= set(role_vars[part])
        merged.update(role_vars[part])
    # the module options are the five parts, merged when the file is read (no combine filter per module call)
    assert role_vars["vmo_rbac__module_options"] == merged
    # the connection options the role offers (CONNECTION; not persist_config, proxy_headers)
    expected = (set(specs.DECLARATION_ARG_SPEC) | set(specs.ACCESS_ARG_SPEC) | set(CONNECTION.values())
                | set(specs.PALETTE_ARG_SPEC))
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
        for name, option in specs.PALETTE_CONNECTION_ARG_SPEC.items():
            assert spec[name] == option, (module.__name__, name)
        doc = yaml.safe_load(module.DOCUMENTATION)
        assert "vmo.rbac.palette_connection" in doc["extends_documentation_fragment"], module.__name__
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert set(role_vars["vmo_rbac__palette_connection"]) == set(specs.PALETTE_CONNECTION_ARG_SPEC)
    assert role_vars["vmo_rbac__cluster_roles_options"] == dict(role_vars["vmo_rbac__connection"],
                                                                **role_vars["vmo_rbac__palette_connection"])
    main = (ROLE / "tasks" / "main.yml").read_text()
    assert 'vmo.rbac.vmo_cluster_roles: "{{ vmo_rbac__cluster_roles_options }}"' in main


# ------------------------------------------------------------------------------ every spec in one place

FRAGMENTS = {"vmo.rbac.bindings": bindings_fragment, "vmo.rbac.access": access_fragment,
             "vmo.rbac.connection": connection_fragment, "vmo.rbac.palette": palette_fragment,
             "vmo.rbac.palette_connection": palette_connection_fragment}


def _documented_options(module_name: str) -> dict:
    """The options ansible-doc shows for a module: its DOCUMENTATION's and its doc fragments'."""
    doc = yaml.safe_load(importlib.import_module("ansible_collections.vmo.rbac.plugins.modules." + module_name)
                         .DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        for name, option in yaml.safe_load(FRAGMENTS[fragment].ModuleDocFragment.DOCUMENTATION)["options"].items():
            assert name not in options, (module_name, name, fragment)
            options[name] = option
    return options


@pytest.mark.parametrize("module_name", sorted(specs.MODULES))
def test_every_module_takes_its_argument_spec_from_specs(module_name):
    module = importlib.import_module("ansible_collections.vmo.rbac.plugins.modules." + module_name)
    spec = module.argument_spec()
    assert spec == specs.module_arg_spec(module_name)
    assert spec is not module.argument_spec(), "a new dict each call: AnsibleModule may change what it is given"
    seen = set()
    for part in specs.MODULES[module_name]:
        overlap = seen & set(part) - (set(specs.PALETTE_CONNECTION_ARG_SPEC) if part is specs.PALETTE_ARG_SPEC else set())
        assert not overlap, (module_name, overlap)  # no option of one spec silently replaced by another's
        seen |= set(part)


@pytest.mark.parametrize("module_name", sorted(specs.MODULES))
def test_every_module_documents_its_argument_spec(module_name):
    """What a module takes is what ansible-doc shows, for the options of its DOCUMENTATION too (ENFORCE_,
    VALIDATE_, WAIT_, ACCESS_INFO_ and CLUSTER_ROLES_ARG_SPEC are documented there, not in a fragment)."""
    documented = _documented_options(module_name)
    spec = specs.module_arg_spec(module_name)
    assert set(documented) == set(spec), module_name
    for name, option in spec.items():
        assert _comparable(documented[name]) == _comparable(option), (module_name, name)
        if "default" in option and option["default"] is not None:
            assert documented[name].get("default") == option["default"], (module_name, name)
        assert sorted(documented[name].get("aliases", [])) == sorted(option.get("aliases", [])), (module_name, name)
        assert bool(documented[name].get("no_log")) <= bool(option.get("no_log")), (module_name, name)


def test_the_fleet_report_takes_what_it_documents():
    from ansible_collections.vmo.rbac.plugins.action import vmo_rbac_fleet_report as action

    documented = _documented_options("vmo_rbac_fleet_report")
    assert set(documented) == set(specs.FLEET_REPORT_ARG_SPEC)
    for name, option in specs.FLEET_REPORT_ARG_SPEC.items():
        assert _comparable(documented[name]) == _comparable(option), name
        assert documented[name].get("default") == option["default"], name
    assert set(action.FILES) == set(specs.REPORT_FORMATS)


def test_every_spec_of_specs_is_taken_by_a_module_or_composed_of_those():
    from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config

    composed = {"PALETTE_ARG_SPEC": ("BACKEND_ARG_SPEC", "PALETTE_CONNECTION_ARG_SPEC"),
                "CLUSTER_CONNECTION_ARG_SPEC": ("CONNECTION_ARG_SPEC", "PALETTE_CONNECTION_ARG_SPEC")}
    taken = [part for parts in specs.MODULES.values() for part in parts]
    taken += [getattr(specs, p) for parts in composed.values() for p in parts]
    taken += [specs.FLEET_REPORT_ARG_SPEC, eda_config.EDA_CLUSTER_ARG_SPEC]  # the action's, the event source's
    names = sorted(n for n in vars(specs) if n.endswith("_ARG_SPEC"))
    assert len(names) >= 14, names
    for name in names:
        spec = getattr(specs, name)
        if name in composed:
            first, second = (getattr(specs, p) for p in composed[name])
            assert spec == dict(first, **second) and not set(first) & set(second), name
            continue
        assert any(spec is part for part in taken), name


def _module_level_specs(path: Path):
    """Names of argument-spec-shaped values a file defines at its top level: ``*_SPEC``/``*_OPTIONS`` names
    bound to a dict whose values are dicts with a ``type`` (a spec), and ``argument_spec=dict(...)`` calls."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and _looks_like_spec(node.value):
                    found.append(target.id)
        if isinstance(node, ast.keyword) and node.arg == "argument_spec" and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", None) == "dict":
            found.append("argument_spec=dict(...)")
    return found


def _looks_like_spec(value) -> bool:
    if not (isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict"):
        return False
    named = [k for k in value.keywords if k.arg]
    return bool(named) and all(isinstance(k.value, ast.Call) and getattr(k.value.func, "id", None) == "dict"
                               and any(kk.arg == "type" for kk in k.value.keywords) for k in named)


def test_no_argument_spec_lives_outside_specs():
    """Every argument spec in one place: no other file of plugins/ or extensions/ defines one (a module's
    ``argument_spec()`` composes specs.MODULES; the event source validates with specs')."""
    root = Path(__file__).resolve().parents[2]
    here = root / "plugins" / "module_utils" / "_core" / "specs.py"
    assert _module_level_specs(here), "the detector finds the specs in specs.py"
    outside = {}
    for path in sorted((root / "plugins").rglob("*.py")) + sorted((root / "extensions").rglob("*.py")):
        if path == here:
            continue
        found = _module_level_specs(path)
        if found:
            outside[str(path.relative_to(root))] = found
    # (eda_config's SETTINGS_SPEC is the event source's own table of settings, type, default and bounds, read by
    # its own code: not an argument spec)
    assert outside == {}, outside


def test_the_validation_asks_64_at_a_time_unless_told_otherwise():
    """vmo_rbac_concurrency unset (the role's default): the enforce step gets no concurrency (the module's own
    default, 16: its writes each use a connection) and the validation 64 (its reviews pipelined over the same 2
    connections); set, both get that number, and the enforce step checks it before its first write."""

    from ansible.template import Templar
    from ansible.parsing.dataloader import DataLoader
    try:
        from ansible.template import trust_as_template
    except ImportError:  # ansible-core before 2.19 (the compatibility matrix's oldest) templates every string
        def trust_as_template(value):
            return value

    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    validate = yaml.safe_load((ROLE / "tasks" / "validate.yml").read_text())[0]
    assert validate["vmo.rbac.vmo_rbac_validate"]["concurrency"] == "{{ vmo_rbac__validate_concurrency }}"
    assert DEFAULTS["vmo_rbac_concurrency"] is None and "default" not in SPEC["vmo_rbac_concurrency"]
    for value, enforce, validation in ((None, "omit", 64), (16, 16, 16), (1, 1, 1), (200, 200, 200)):
        templar = Templar(loader=DataLoader(), variables={"vmo_rbac_concurrency": value, "omit": "omit"})
        # (before 2.19 a template renders text: '64', which the module's argument spec makes an int)
        got = [templar.template(trust_as_template(t)) for t in (role_vars["vmo_rbac__access"]["concurrency"],
                                                                 role_vars["vmo_rbac__validate_concurrency"])]
        assert [g if g == "omit" else int(g) for g in got] == [enforce, validation], (value, got)
