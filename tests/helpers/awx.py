"""AWX's way of running an inventory update and a job, reproduced for the tests.

AWX itself needs PostgreSQL, Receptor and a container runtime, none of which run here; ansible-runner,
the engine it hands every job to, does. What AWX does around ansible-runner is read from its source
(github.com/ansible/awx at e21dd0a, 2024-10; the awx_plugins package for the in-container path) and
reproduced here step by step, each function naming what it copies:

- the private data directory (``awx/main/tasks/jobs.py``: ``build_private_data_dir``, mode 0700, with
  ``inventory/`` and ``env/``; the project copied into ``project/``);
- custom credential types (``awx/main/models/credential.py``: ``CredentialType.inject_credential``, and
  the checks of ``awx/main/fields.py`` and ``awx/api/serializers.py`` that a type must pass to be
  created): the injectors rendered with Jinja's ImmutableSandboxedEnvironment from the inputs that have a
  value, files written into ``env/`` (mode 0600) and named by ``tower.filename``, environment variables,
  and extra variables written to a file (``!unsafe``, mode 0400) given as ``-e @file``, except in an
  inventory update (``INVENTORY_UPDATE_ID`` set), which gets no extra variables;
- the inventory update (``RunInventoryUpdate``): ``ansible-inventory --list --export -i <source in the
  project> --output artifacts/<id>/output.json --playbook-dir <its directory>`` with
  ``STANDARD_INVENTORY_UPDATE_ENV``, then the import (``awx/main/utils/mem_inventory.py``:
  ``dict_to_mem_data``): hosts, groups and variables kept as they are in the JSON, nothing else;
- the job (``RunJob``): the imported inventory written back as an executable script that prints it
  (``write_inventory_file``, ``Inventory.get_script_data`` with host and tower variables), extra
  variables with AWX's meta variables (``awx_meta_vars``; launch-time ones ``!unsafe``), the command line
  (``build_args``) in ``env/cmdline``, the environment (``build_env``) passed as ``envvars`` with
  ``suppress_env_files``, runner settings (``suppress_ansible_output``, ``suppress_output_file``), the
  fact cache in ``artifacts/<id>/fact_cache`` when the template uses it.

AWX runs ansible-runner inside the execution environment's container, where the private data
directory is mounted at ``/runner``, and throws the container away afterwards. Here ansible-runner runs
on this machine (process_isolation False): a file's in-container path is its path here, and each run
gets a throw-away filesystem of its own, ``container_fs`` (its HOME, ANSIBLE_HOME, Ansible's local
temporary directory and TMPDIR, what an execution environment keeps in its container): removed after
an inventory update, as the container is; kept after a job for the test to look into. The execution
environment itself is this virtualenv with the collection (ANSIBLE_COLLECTIONS_PATH; ``ee_env()``).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, sandbox
from jinja2.exceptions import SecurityError

from tests.helpers.ansible import ansible_env

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]

# awx/main/constants.py
ENV_BLOCKLIST = frozenset((
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE",
    "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION",
    "SUPERVISOR_CONFIG_PATH"))
STANDARD_INVENTORY_UPDATE_ENV = {
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_EXPORT": "True",
    "ANSIBLE_VERBOSE_TO_STDERR": "True",
    "ANSIBLE_HOST_PATTERN_MISMATCH": "error",
}
HIDDEN_PASSWORD = "**********"


# ------------------------------------------------------------------------- awx/main/utils/safe_yaml.py


class _SafeStringDumper(yaml.SafeDumper):
    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def safe_dump(x, safe_dict=None) -> str:
    """Extra variables as AWX writes them: every string ``!unsafe`` (never templated), except the top-level
    entries equal to those of ``safe_dict`` (a job template's own extra variables)."""
    if isinstance(x, dict):
        out = []
        safe_dict = safe_dict or {}
        for k, v in x.items():
            dumper = yaml.SafeDumper
            if k not in safe_dict or safe_dict.get(k) != v:
                dumper = _SafeStringDumper
            out.append(yaml.dump_all([{k: v}], None, Dumper=dumper, default_flow_style=False))
        return "".join(out)
    return yaml.dump_all([x], None, Dumper=_SafeStringDumper, default_flow_style=False)


# ---------------------------------------------------------------------------- credential types

# awx/main/fields.py: CredentialTypeInputField.schema
INPUTS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "type": {"enum": ["string", "boolean"]},
                "format": {"enum": ["ssh_private_key", "url"]},
                "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"},
                "label": {"type": "string"}, "help_text": {"type": "string"}, "multiline": {"type": "boolean"},
                "secret": {"type": "boolean"}, "ask_at_runtime": {"type": "boolean"}, "default": {},
            },
            "additionalProperties": False, "required": ["id", "label"]}},
    },
}
# awx/main/fields.py: CredentialTypeInjectorField.schema
INJECTORS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "file": {"type": "object", "additionalProperties": False,
                 "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}}},
        "env": {"type": "object", "additionalProperties": False,
                "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7F]*$"}}},
        "extra_vars": {"type": "object", "additionalProperties": False,
                       "patternProperties": {r"^[a-zA-Z_\{\}]+[a-zA-Z0-9_\{\}]*$": {
                           "anyOf": [{"type": "string"}, {"type": "array"}, {"$ref": "#/properties/extra_vars"}]}}},
    },
}


class CredentialTypeError(ValueError):
    """What AWX's API answers (400) when a credential type is created with this definition."""


@dataclass
class CredentialType:
    name: str
    kind: str
    inputs: dict
    injectors: dict
    description: str = ""

    @classmethod
    def load(cls, path: Path) -> "CredentialType":
        """A definition as POSTed to /api/v2/credential_types/ (JSON or YAML), checked as AWX checks it."""
        doc = yaml.safe_load(Path(path).read_text())
        unknown = set(doc) - {"name", "description", "kind", "inputs", "injectors"}
        if unknown:
            raise CredentialTypeError("fields the credential type API does not take: %s" % sorted(unknown))
        ct = cls(doc["name"], doc["kind"], doc.get("inputs") or {}, doc.get("injectors") or {},
                 doc.get("description") or "")
        ct.validate()
        return ct

    @property
    def fields(self) -> list[dict]:
        return self.inputs.get("fields", [])

    @property
    def secret_fields(self) -> list[str]:
        return [f["id"] for f in self.fields if f.get("secret", False) is True]

    def validate(self):
        """awx/api/serializers.py (CredentialTypeSerializer.validate) and awx/main/fields.py."""
        if self.kind not in ("cloud", "net"):
            raise CredentialTypeError("kind: Must be 'cloud' or 'net', not %s" % self.kind)
        if any(f.get("ask_at_runtime", False) for f in self.fields):
            raise CredentialTypeError("inputs: 'ask_at_runtime' is not supported for custom credentials.")
        if "dependencies" in self.inputs:
            raise CredentialTypeError("'dependencies' is not supported for custom credentials.")
        try:
            jsonschema.validate(self.inputs, INPUTS_SCHEMA)
        except jsonschema.ValidationError as exc:
            raise CredentialTypeError("inputs: %s" % exc.message)
        ids = set()
        for f in self.fields:
            if f["id"] == "tower":
                raise CredentialTypeError('"tower" is a reserved field name')
            if f["id"] in ids:
                raise CredentialTypeError("field IDs must be unique (%s)" % f["id"])
            ids.add(f["id"])
            f.setdefault("type", "string")
            if "default" in f and type(f["default"]) is not {"string": str, "boolean": bool}[f["type"]]:
                raise CredentialTypeError("{} is not a {}".format(f["default"], f["type"]))
            for key in ("choices", "multiline", "format", "secret"):
                if key in f and f["type"] != "string":
                    raise CredentialTypeError("%s not allowed for %s type (%s)" % (key, f["type"], f["id"]))
        try:
            jsonschema.validate(self.injectors, INJECTORS_SCHEMA)
        except jsonschema.ValidationError as exc:
            raise CredentialTypeError("injectors: %s" % exc.message)
        valid_namespace = dict((f["id"], "EXAMPLE") for f in self.fields)

        class ExplodingNamespace:
            def __str__(self):
                raise UndefinedError("Must define unnamed file injector in order to reference `tower.filename`.")

        class TowerNamespace:
            def __init__(self):
                self.filename = ExplodingNamespace()

            def __str__(self):
                raise UndefinedError("Cannot directly reference reserved `tower` namespace container.")

        valid_namespace["tower"] = TowerNamespace()
        templates = [x for x in self.injectors.get("file", {}) if x.startswith("template")]
        if "template" in templates:
            valid_namespace["tower"].filename = "EXAMPLE_FILENAME"
            if len(templates) > 1:
                raise CredentialTypeError("Must use multi-file syntax when injecting multiple files")
        elif templates:
            for t in templates:
                setattr(valid_namespace["tower"].filename, t.split(".")[1], "EXAMPLE_FILENAME")

        def check(type_, key, tmpl):
            try:
                sandbox.ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(tmpl).render(valid_namespace)
            except UndefinedError as exc:
                raise CredentialTypeError("%s uses an undefined field (%s)" % (key, exc))
            except SecurityError as exc:
                raise CredentialTypeError("Encountered unsafe code execution: %s" % exc)
            except TemplateSyntaxError as exc:
                raise CredentialTypeError("Syntax error rendering template for %s inside of %s (%s)" % (key, type_, exc))

        def check_extra_vars(key, node):
            if isinstance(node, dict):
                for k, v in node.items():
                    check("extra_vars", "a key" if key is None else key, k)
                    check_extra_vars(k if key is None else "%s.%s" % (key, k), v)
            elif isinstance(node, list):
                for i, x in enumerate(node):
                    check_extra_vars("%s[%d]" % (key, i), x)
            else:
                check("extra_vars", key, node)

        for type_, injector in self.injectors.items():
            if type_ == "env":
                for key in injector:
                    env_var_allowed(key)
            if type_ == "extra_vars":
                check_extra_vars(None, injector)
            else:
                for key, tmpl in injector.items():
                    check(type_, key, tmpl)

    def check_inputs(self, inputs: dict):
        """What the credential API checks of a credential's inputs (CredentialInputField): known fields,
        types, choices, the required ones present and not empty."""
        known = {f["id"]: f for f in self.fields}
        for k, v in inputs.items():
            if k not in known:
                raise CredentialTypeError("inputs: %s is not a field of %s" % (k, self.name))
            want = {"string": str, "boolean": bool}[known[k].get("type", "string")]
            if not isinstance(v, want):
                raise CredentialTypeError("inputs: %s must be a %s" % (k, known[k].get("type", "string")))
            if known[k].get("choices") and v not in known[k]["choices"]:
                raise CredentialTypeError("inputs: %s must be one of %s" % (k, known[k]["choices"]))
        for k in self.inputs.get("required", []):
            if inputs.get(k) in (None, ""):
                raise CredentialTypeError("inputs: %s is required" % k)


def env_var_allowed(name: str):
    """awx/main/fields.py: CredentialTypeInjectorField.validate_env_var_allowed."""
    if name.startswith("ANSIBLE_"):
        raise CredentialTypeError("Environment variable %s may affect Ansible configuration so its use is not allowed "
                                  "in credentials." % name)
    if name in ENV_BLOCKLIST:
        raise CredentialTypeError("Environment variable %s is not allowed to be used in credentials." % name)


def container_path(path: str, private_data_dir: str) -> str:
    """awx_plugins get_incontainer_path: the path the job sees. Here the job runs without a container,
    so that is the path itself (it must still be inside the private data directory)."""
    rel = os.path.relpath(path, private_data_dir)
    if rel.startswith(".."):
        raise RuntimeError("%s is not inside %s" % (path, private_data_dir))
    return os.path.join(private_data_dir, rel)


def inject_credential(ctype: CredentialType, inputs: dict, env: dict, safe_env: dict, args: list,
                      private_data_dir: str):
    """awx/main/models/credential.py: CredentialType.inject_credential, for a custom type."""
    ctype.check_inputs(inputs)

    class TowerNamespace:
        pass

    tower_namespace = TowerNamespace()
    namespace = {"tower": tower_namespace}
    safe_namespace = {"tower": tower_namespace}
    for field_name in set(inputs):
        value = inputs[field_name]
        if type(value) is bool:
            safe_namespace[field_name] = namespace[field_name] = value
            continue
        if field_name in ctype.secret_fields:
            safe_namespace[field_name] = HIDDEN_PASSWORD
        elif len(value):
            safe_namespace[field_name] = value
        if len(value):
            namespace[field_name] = value
    for f in ctype.fields:
        if f["type"] == "boolean" and f["id"] not in inputs:
            namespace[f["id"]] = safe_namespace[f["id"]] = False
        if f.get("format") == "ssh_private_key" and f["id"] in namespace and not namespace[f["id"]].endswith("\n"):
            namespace[f["id"]] += "\n"

    sandbox_env = sandbox.ImmutableSandboxedEnvironment()
    for file_label, file_tmpl in ctype.injectors.get("file", {}).items():
        data = sandbox_env.from_string(file_tmpl).render(**namespace)
        _, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
        with open(path, "w") as f:
            f.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        in_container = container_path(path, private_data_dir)
        if file_label.find(".") == -1:
            tower_namespace.filename = in_container
        else:
            if not hasattr(tower_namespace, "filename"):
                tower_namespace.filename = TowerNamespace()
            setattr(tower_namespace.filename, file_label.split(".")[1], in_container)

    for env_var, tmpl in ctype.injectors.get("env", {}).items():
        try:
            env_var_allowed(env_var)
        except CredentialTypeError as exc:
            log.error("Ignoring prohibited env var %s, reason: %s", env_var, exc)
            continue
        env[env_var] = sandbox_env.from_string(tmpl).render(**namespace)
        safe_env[env_var] = sandbox_env.from_string(tmpl).render(**safe_namespace)

    if "INVENTORY_UPDATE_ID" not in env:
        def build(node):
            if isinstance(node, dict):
                return {build(k): build(v) for k, v in node.items()}
            if isinstance(node, list):
                return [build(x) for x in node]
            return sandbox_env.from_string(node).render(**namespace)

        extra_vars = build(ctype.injectors.get("extra_vars", {}))
        if extra_vars:
            handle, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
            with os.fdopen(handle, "w") as f:
                f.write(safe_dump(extra_vars))
            os.chmod(path, stat.S_IRUSR)
            args.extend(["-e", "@%s" % container_path(path, private_data_dir)])


@dataclass
class Credential:
    """A credential of a custom type: its inputs as an AWX user enters them."""
    ctype: CredentialType
    inputs: dict


# ---------------------------------------------------------------------------- the inventory


@dataclass
class Inventory:
    """What AWX keeps of an inventory update (awx/main/utils/mem_inventory.py, dict_to_mem_data, saved as
    the inventory's hosts, groups and variables): names, memberships and variables, as they are."""
    variables: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)    # name -> {"hosts": [...], "children": [...], "vars": {...}}
    hosts: dict = field(default_factory=dict)     # name -> {"id": n, "enabled": True, "variables": {...}}
    id: int = 7
    name: str = "fleet from Palette"

    @classmethod
    def imported(cls, data: dict) -> "Inventory":
        """dict_to_mem_data, then the import's save: ``all`` and ``ungrouped`` are the inventory itself
        (their variables the inventory's), every other key a group; empty groups are dropped
        (MemInventory.delete_empty_groups)."""
        data = copy.deepcopy(data)
        inv = cls()
        meta = data.pop("_meta", {})

        def host(name):
            return inv.hosts.setdefault(name, {"id": len(inv.hosts) + 101, "enabled": True, "variables": {}})

        def group(name):
            if name in ("all", "ungrouped"):
                return None
            return inv.groups.setdefault(name, {"hosts": [], "children": [], "vars": {}})

        for k, v in data.items():
            g = group(k)
            if isinstance(v, dict):
                hosts = v.get("hosts", {})
                names = list(hosts) if isinstance(hosts, (dict, list, tuple)) else []
                for hk in names:
                    h = host(hk)
                    if isinstance(hosts, dict) and isinstance(hosts[hk], dict):
                        h["variables"].update(hosts[hk])
                    if g is not None and hk not in g["hosts"]:
                        g["hosts"].append(hk)
                (g["vars"] if g is not None else inv.variables).update(v.get("vars") or {})
                for c in v.get("children", []) or []:
                    child = group(c)
                    if g is not None and child is not None and c not in g["children"]:
                        g["children"].append(c)
            elif isinstance(v, (list, tuple)):
                for hk in v:
                    host(hk)
                    if g is not None and hk not in g["hosts"]:
                        g["hosts"].append(hk)
        for name, h in inv.hosts.items():
            h["variables"].update((meta.get("hostvars") or {}).get(name, {}))
        for name in [n for n, g in inv.groups.items() if not (g["hosts"] or g["children"] or g["vars"])]:
            del inv.groups[name]
            for g in inv.groups.values():
                if name in g["children"]:
                    g["children"].remove(name)
        return inv

    def script_data(self, slice_number=1, slice_count=1) -> dict:
        """awx/main/models/inventory.py: Inventory.get_script_data(hostvars=True, towervars=True)."""
        hosts = sorted(n for n, h in self.hosts.items() if h["enabled"])
        hosts = hosts[slice_number - 1::slice_count]  # get_sliced_hosts
        data = {"all": {}}
        if self.variables:
            data["all"]["vars"] = copy.deepcopy(self.variables)
        grouped = set()
        for g in self.groups.values():
            grouped.update(h for h in g["hosts"] if h in hosts)
        data["all"]["hosts"] = [h for h in hosts if h not in grouped]
        for name, g in self.groups.items():
            info = {}
            if any(h in hosts for h in g["hosts"]):
                info["hosts"] = [h for h in g["hosts"] if h in hosts]
            if g["children"]:
                info["children"] = list(g["children"])
            if g["vars"]:
                info["vars"] = copy.deepcopy(g["vars"])
            if info:
                data[name] = info
        if self.groups:
            data["all"]["children"] = list(self.groups)
        data["_meta"] = {"hostvars": {}}
        for name in hosts:
            hv = copy.deepcopy(self.hosts[name]["variables"])
            for prefix in ("host", "tower"):
                hv.update({"remote_%s_enabled" % prefix: str(self.hosts[name]["enabled"]).lower(),
                           "remote_%s_id" % prefix: self.hosts[name]["id"]})
            data["_meta"]["hostvars"][name] = hv
        return data


# ---------------------------------------------------------------------------- running


def ee_env(container_fs: Path) -> dict:
    """What the execution environment provides: a Python with the collection's requirements and the
    collection itself (in AWX: the EE image built from execution-environment.yml), and the container's own
    filesystem for everything else (``container_fs``, thrown away with the container)."""
    env = ansible_env()
    for d in ("home", "tmp"):
        (container_fs / d).mkdir(parents=True, exist_ok=True)
    return {k: env[k] for k in ("ANSIBLE_COLLECTIONS_PATH", "PATH")} | {
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "HOME": str(container_fs / "home"),
        "ANSIBLE_HOME": str(container_fs / "home" / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(container_fs / "home" / ".ansible" / "tmp"), "TMPDIR": str(container_fs / "tmp")}


def build_private_data_dir(base: Path, unified_job_id: int) -> Path:
    """awx/main/tasks/jobs.py: BaseTask.build_private_data_dir (mkdtemp, 0700, inventory/ and env/)."""
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="awx_%d_" % unified_job_id, dir=str(base)))
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IXUSR)
    for sub in ("inventory", "env"):
        (path / sub).mkdir()
    return path


def write_private_data_file(pdd: Path, name: str | None, content: str, sub_dir: str = "env",
                            permissions: int = 0o600) -> str:
    """awx/main/tasks/jobs.py: BaseTask.write_private_data_file."""
    directory = pdd / sub_dir
    directory.mkdir(parents=True, exist_ok=True)
    if name:
        path = directory / name
    else:
        path = Path(tempfile.mkstemp(dir=str(directory))[1])
    path.write_text(content)
    os.chmod(path, permissions)
    return str(path)


def copy_project(project: Path, pdd: Path):
    """The project's checkout copied into the private data directory (SourceControlMixin.sync_and_copy)."""
    shutil.copytree(project, pdd / "project", symlinks=True)


@dataclass
class Run:
    pdd: Path
    result: object          # ansible_runner.Runner
    env: dict               # the job's environment, as AWX built it (secrets included)
    safe_env: dict          # as AWX stores it in its database (job_env)
    args: list
    container_fs: Path      # the execution environment's own filesystem (HOME, TMPDIR)

    @property
    def artifact_dir(self) -> Path:
        return Path(self.result.config.artifact_dir)

    @property
    def stdout(self) -> str:
        """The job's output as AWX shows it: the stdout of its events (runner writes no stdout file with
        suppress_output_file, as AWX runs it)."""
        return "\n".join(e.get("stdout", "") for e in self.result.events if e.get("stdout"))

    @property
    def events(self) -> list:
        return list(self.result.events)


def run_inventory_update(base: Path, project: Path, source_path: str, credentials: list[Credential],
                         update_id: int = 21, verbosity: int = 0, extra_env: dict | None = None) -> tuple[Run, dict]:
    """RunInventoryUpdate for an inventory source sourced from a project (source 'scm'): the project's
    inventory file run by ansible-inventory in a private data directory of its own; returns (the run,
    output.json as AWX reads it)."""
    pdd = build_private_data_dir(base, update_id)
    copy_project(project, pdd)
    container_fs = Path(tempfile.mkdtemp(prefix="ee_%d_" % update_id, dir=str(base)))
    env = dict(ee_env(container_fs), AWX_PRIVATE_DATA_DIR=str(pdd), INVENTORY_SOURCE_ID="5", INVENTORY_UPDATE_ID=str(update_id),
               **STANDARD_INVENTORY_UPDATE_ENV, **(extra_env or {}))
    safe_env = {}
    args = ["ansible-inventory", "--list", "--export"]
    source = pdd / "project" / source_path
    args += ["-i", str(source), "--output", str(pdd / "artifacts" / str(update_id) / "output.json")]
    args += ["--playbook-dir", str(source.parent)]
    if verbosity:
        args.append("-" + "v" * min(5, verbosity * 2 + 1))
    for cred in credentials:
        inject_credential(cred.ctype, cred.inputs, env, safe_env, args, str(pdd))
    (pdd / "args").write_text(" ".join(args))  # RunInventoryUpdate.write_args_file
    settings = {"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": True}
    write_private_data_file(pdd, "settings", json.dumps(settings))
    import ansible_runner  # the integration tests' (make compat's unit tests run without it)

    r = ansible_runner.run(private_data_dir=str(pdd), ident=str(update_id), envvars=env, suppress_env_files=True,
                           quiet=True, process_isolation=False)
    output = pdd / "artifacts" / str(update_id) / "output.json"
    data = json.loads(output.read_text()) if output.exists() else None
    shutil.rmtree(container_fs)  # the inventory update's execution environment is gone
    return Run(pdd, r, env, safe_env, args, container_fs), data


def run_job(base: Path, project: Path, playbook: str, inventory: Inventory, credentials: list[Credential],
            job_id: int = 31, template_vars: dict | None = None, launch_vars: dict | None = None,
            verbosity: int = 0, forks: int = 5, limit: str = "", check: bool = False, diff: bool = False,
            use_fact_cache: bool = False, slice_number: int = 1, slice_count: int = 1,
            extra_env: dict | None = None, wait: bool = True):
    """RunJob: a job of a job template on ``inventory`` with ``credentials``. ``template_vars``: the
    template's extra variables (templated by Ansible: AWX trusts them); ``launch_vars``: prompted or survey
    ones (``!unsafe``). With ``wait=False``, (thread, Run) of ansible_runner.run_async."""
    import ansible_runner  # the integration tests' (make compat's unit tests run without it)

    pdd = build_private_data_dir(base, job_id)
    copy_project(project, pdd)
    container_fs = Path(tempfile.mkdtemp(prefix="ee_%d_" % job_id, dir=str(base)))
    meta = {"job_id": job_id, "job_launch_type": "scheduled", "job_template_id": 3,
            "job_template_name": "VMO RBAC: enforce", "inventory_id": inventory.id, "inventory_name": inventory.name,
            "project_revision": "0" * 40, "project_scm_branch": "main", "execution_node": "localhost"}
    extra_vars = dict(template_vars or {}, **(launch_vars or {}))
    extra_vars.update({"%s_%s" % (prefix, k): v for prefix in ("awx", "tower") for k, v in meta.items()})
    write_private_data_file(pdd, "extravars", safe_dump(extra_vars, template_vars or {}))  # build_extra_vars_file
    args = []
    if check:
        args.append("--check")
    args += ["-u", "root"]
    if diff:
        args.append("--diff")
    args.append("--forks=%d" % forks)
    if limit:
        args += ["-l", limit]
    if verbosity:
        args.append("-%s" % ("v" * min(5, verbosity)))
    env = dict(ee_env(container_fs), AWX_PRIVATE_DATA_DIR=str(pdd), JOB_ID=str(job_id), INVENTORY_ID=str(inventory.id),
               PROJECT_REVISION="0" * 40, ANSIBLE_RETRY_FILES_ENABLED="False", MAX_EVENT_RES="700000",
               AWX_HOST="https://awx.example.com", ANSIBLE_SSH_CONTROL_PATH_DIR=str(pdd / "cp"), **(extra_env or {}))
    (pdd / "cp").mkdir(mode=0o700)
    safe_env = {}
    for cred in credentials:
        inject_credential(cred.ctype, cred.inputs, env, safe_env, args, str(pdd))
    write_private_data_file(pdd, "cmdline", " ".join(_quote(a) for a in args))  # write_args_file (args2cmdline)
    script = "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(
        inventory.script_data(slice_number, slice_count))
    inventory_path = write_private_data_file(pdd, "hosts", script, sub_dir="inventory", permissions=0o700)
    settings = {"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": True}
    write_private_data_file(pdd, "settings", json.dumps(settings))
    kw = dict(private_data_dir=str(pdd), ident=str(job_id), playbook=playbook, inventory=inventory_path,
              envvars=env, suppress_env_files=True, fact_cache_type="jsonfile" if use_fact_cache else "",
              quiet=True, process_isolation=False)
    if not wait:
        thread, r = ansible_runner.run_async(**kw)
        return thread, Run(pdd, r, env, safe_env, args, container_fs)
    r = ansible_runner.run(**kw)
    return Run(pdd, r, env, safe_env, args, container_fs)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)  # ansible_runner.utils.args2cmdline quotes each argument this way


def files_under(*roots: Path) -> list[Path]:
    """Every regular file under ``roots``; directories that vanish while being walked (other runs' temporary
    directories in a shared /tmp) are skipped."""
    out = []
    for root in roots:
        for directory, _dirs, names in os.walk(root, onerror=lambda _exc: None):
            for name in names:
                p = Path(directory) / name
                try:
                    if p.is_file() and not p.is_symlink():
                        out.append(p)
                except OSError:
                    continue
    return out


def leaks(paths: list[Path], secrets: list[str], skip=lambda p: False) -> list[str]:
    """'<path> holds <first characters>...' for every file that holds any of ``secrets``."""
    found = []
    for p in paths:
        if skip(p):
            continue
        try:
            text = p.read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        found += ["%s holds %s..." % (p, s[:6]) for s in secrets if s and s in text]
    return found


def kubeconfig_like(paths: list[Path]) -> list[Path]:
    """Files that look like a kubeconfig or hold one's key material."""
    markers = re.compile(r"client-key-data|client-certificate-data|BEGIN (EC |RSA )?PRIVATE KEY|kind:\s*Config")
    out = []
    for p in paths:
        try:
            head = p.read_bytes()[:200000].decode("utf-8", "replace")
        except OSError:
            continue
        if markers.search(head):
            out.append(p)
    return out


