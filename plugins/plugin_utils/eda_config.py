# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The arguments of the event source ``vmo.rbac.cluster_changes`` -> settings and clusters.

Which clusters to watch comes from one of two places:

- ``clusters``: a list of kubeconfig context names, or of mappings with ``name`` (the inventory
  host the enforce run is limited to), ``owner`` and the modules' connection options;
- the Ansible inventory the enforce playbook runs with (``inventory``, or ``ANSIBLE_INVENTORY``,
  which ansible-rulebook also reads as its ``-i``): the hosts of ``group`` (``vmo_clusters``),
  each with its ``vmo_rbac_*`` connection variables and ``vmo_rbac_owner``, as the role reads
  them. The declaration and the cluster list then stay in the inventory alone.

A cluster's connection options are validated by ``module_utils/_core/specs.py``'s
CLUSTER_CONNECTION_ARG_SPEC (the modules' connection options, and the cluster's kubeconfig from Palette:
palette_kubeconfig with the Palette credential, as the vmo.rbac.palette inventory sets it up), with its
``K8S_AUTH_*`` fallbacks, through Ansible's own ArgumentSpecValidator: the same names, types and
environment variables as the modules. Error messages name the option, never a credential's value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import math
import os
import re
from collections import namedtuple

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import connection
from ansible_collections.vmo.rbac.plugins.module_utils._core.specs import CLUSTER_CONNECTION_ARG_SPEC, EDA_CLUSTER_ARG_SPEC
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError, is_dns_label
from ansible_collections.vmo.rbac.plugins.module_utils._core import options as run_options
from ansible_collections.vmo.rbac.plugins.module_utils._core import values
from ansible_collections.vmo.rbac.plugins.module_utils._http.transport import BadValue, Secrets

Target = namedtuple("Target", "name owner params")
Settings = namedtuple(
    "Settings",
    "debounce max_delay min_interval watch_timeout backoff_initial backoff_max max_namespaces "
    "max_bindings startup_event page_size")

DEFAULT_OWNER = "vmo-rbac"
DEFAULT_GROUP = "vmo_clusters"
# The role's connection variables (roles/vmo_rbac/vars/main.yml, vmo_rbac__connection).
ROLE_CONNECTION_KEYS = ("kubeconfig", "context", "host", "api_key", "ca_cert", "client_cert", "client_key",
                        "validate_certs", "request_timeout", "api_retries", "palette_kubeconfig", "palette_host",
                        "palette_api_key", "palette_validate_certs", "palette_ca_cert", "palette_cluster_uid",
                        "palette_project_uid", "palette_rate_limit")
# Set by the vmo.rbac.palette inventory plugin, and the role's defaults of vmo_rbac_palette_cluster_uid and
# vmo_rbac_palette_project_uid (roles/vmo_rbac/defaults/main.yml): the role's variable wins.
INVENTORY_DEFAULTS = {"palette_cluster_uid": "palette_cluster_uid", "palette_project_uid": "palette_project_uid"}

# Settings: (type, default, lowest allowed, lowest is exclusive, highest allowed). Numbers are finite
# (.nan and .inf are refused: a debounce of .nan made the source spin a core with no event).
SETTINGS_SPEC = {
    "debounce": (float, 0.2, 0, False, 3600),
    "max_delay": (float, 1.0, 0, False, 3600),
    "min_interval": (float, 3.0, 0, False, 86400),
    "watch_timeout": (int, 300, 1, False, 86400),
    "backoff_initial": (float, 0.5, 0, True, 3600),
    "backoff_max": (float, 10.0, 0, True, 3600),
    "max_namespaces": (int, 50000, 1, False, 10000000),
    "max_bindings": (int, 100000, 1, False, 10000000),
    "startup_event": (bool, True, None, False, None),
    "page_size": (int, 500, 1, False, 100000),
}
# Characters of an Ansible host pattern: a cluster's name becomes the event's meta.hosts, which
# ansible-rulebook's run_playbook passes as --limit ("a,b", "!a", "a*", "all" would widen the run).
_PATTERN_CHARS = re.compile(r"[,:!&*?~\[\]\s\\]|[\x00-\x1f\x7f]")
_PATTERN_WORDS = ("all", "*")
SELECTION_KEYS = ("clusters", "inventory", "group", "owner")


class ConfigError(Exception):
    """A wrong argument of the event source; the message names it and holds no credential."""


def _top_level_connection_spec():
    """The connection options as given at the top level: no fallbacks or defaults here, so
    that a cluster's own value, then the top level, then K8S_AUTH_* decide, in that order."""
    spec = copy.deepcopy(CLUSTER_CONNECTION_ARG_SPEC)
    for option in spec.values():
        option.pop("fallback", None)
        option.pop("default", None)
    return spec


def _validate(spec, params, where, prefix=""):
    # Ansible's validator turns a boolean into 1 or 1.0 without a word (api_retries: true retried once), as
    # it does for the modules, which refuse it (values.not_a_number): so does the source, naming the option.
    problem = values.not_a_number(params, spec, prefix)
    if problem:
        raise ConfigError("%s: %s" % (where, problem[1]))
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        secrets = Secrets(str(v) for v in result._no_log_values)
        raise ConfigError("%s: %s" % (where, "; ".join(secrets.scrub(m) for m in result.error_messages)))
    return result.validated_parameters


def _setting(args, name):
    kind, default, low, exclusive, high = SETTINGS_SPEC[name]
    value = args.get(name)
    if value is None:
        return default
    if kind is bool:
        from ansible.module_utils.parsing.convert_bool import boolean  # pylint: disable=import-outside-toplevel

        try:
            return boolean(value, strict=True)
        except TypeError:
            raise ConfigError("%s: expected true or false, got %r" % (name, value))
    expected = "a whole number" if kind is int else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError("%s: expected %s, got %s" % (name, expected, _kind_of(value)))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError("%s: expected %s, got %r" % (name, expected, value))
    if not math.isfinite(number):
        raise ConfigError("%s: expected a finite number, got %s" % (name, value))
    if kind is int:
        if number != int(number):
            raise ConfigError("%s: expected a whole number, got %s" % (name, value))
        number = int(number)
    if low is not None and (number <= low if exclusive else number < low):
        raise ConfigError("%s: must be %s %s" % (name, "greater than" if exclusive else "at least", low))
    if high is not None and number > high:
        raise ConfigError("%s: must be at most %s" % (name, high))
    return number


def _kind_of(value):
    kinds = {bool: "a boolean", list: "a list", dict: "a mapping", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def parse_settings(args):
    """The watch and coalescing settings, checked."""
    s = Settings(**{name: _setting(args, name) for name in SETTINGS_SPEC})
    if s.max_delay < s.debounce:
        raise ConfigError("max_delay: must be at least debounce (%g s)" % s.debounce)
    if s.backoff_max < s.backoff_initial:
        raise ConfigError("backoff_max: must be at least backoff_initial (%g s)" % s.backoff_initial)
    return s


def check_arguments(args):
    """Unknown top-level arguments are refused, naming them."""
    if not isinstance(args, dict):
        raise ConfigError("the arguments of vmo.rbac.cluster_changes must be a mapping")
    known = set(SETTINGS_SPEC) | set(SELECTION_KEYS) | set(CLUSTER_CONNECTION_ARG_SPEC)
    for option in CLUSTER_CONNECTION_ARG_SPEC.values():
        known.update(option.get("aliases") or [])
    known.add("eda_feedback_queue")  # passed by ansible-rulebook when feedback is enabled
    unknown = sorted(k for k in args if k not in known)
    if unknown:
        raise ConfigError("unknown argument%s %s; known: %s" % (
            "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(sorted(known - {"eda_feedback_queue"}))))


def _connection(given, defaults, where, prefix=""):
    """A cluster's connection params: its own options, then the top level's, then K8S_AUTH_*. Checked
    as the modules check them before their first request (connection.check_values). ``prefix``: how the
    options are named where they were given (``vmo_rbac_`` for an inventory host's variables)."""
    problem = values.not_a_number(given, CLUSTER_CONNECTION_ARG_SPEC, prefix)
    if problem:
        raise ConfigError("%s: %s" % (where, problem[1]))
    params = dict(defaults)
    params.update({k: v for k, v in given.items() if v is not None})
    origins = connection.environment_origins(params)
    params = _validate(CLUSTER_CONNECTION_ARG_SPEC, params, where)
    try:
        run_options.check_limits(params)
        run_options.check_connection(params)
        connection.check_values(params, origins)
        connection.check_unambiguous(params, origins)
    except (SpecError, BadValue) as exc:
        raise ConfigError("%s: %s" % (where, exc))
    return params


def _given(value, default):
    """An empty owner (an unset variable rendered as '') is an error, never the default owner."""
    return default if value is None else value


def _owner(value, where, variable="owner"):
    """The owner label value, checked as the modules check it (it goes into the watches' label selector:
    ``vmo-rbac,app=x`` would widen it, ``Vmo Rbac`` make every LIST fail with 400)."""
    what = variable if where == variable else "%s: %s" % (where, variable)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("%s must be a non-empty string" % what)
    if not is_dns_label(value):
        raise ConfigError("%s: %r is not a valid owner (RFC 1123 label: at most 63 lowercase alphanumerics or '-', "
                          "starting and ending with an alphanumeric, as vmo_role_binding requires)" % (what, value))
    return value


def _name(value, where):
    """A cluster's name: the inventory host the event's run is limited to (--limit), so never a pattern."""
    if _PATTERN_CHARS.search(value) or value.strip().lower() in _PATTERN_WORDS or value.startswith(("@", "-")):
        raise ConfigError("%s: name: %r is not a plain host name (it becomes the --limit of the reconcile run, "
                          "where ',', ':', '!', '&', '*', '?', '~', '[', ']', spaces, a leading '@' or '-' and "
                          "'all' select other hosts)" % (where, value))
    return value


def targets_from_clusters(clusters, defaults, owner):
    """``clusters`` as written -> [Target]. A string is a kubeconfig context (and the name)."""
    if not isinstance(clusters, list) or not clusters:
        raise ConfigError("clusters: expected a non-empty list of kubeconfig context names or mappings")
    spec = EDA_CLUSTER_ARG_SPEC
    out = []
    for i, item in enumerate(clusters):
        where = "clusters[%d]" % i
        if isinstance(item, str):
            item = {"name": item, "context": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError("%s: expected a context name or a mapping with a name (the inventory host)" % where)
        checked = _validate(spec, {k: v for k, v in item.items() if k in ("name", "owner")}, where)
        _name(checked["name"], where)
        unknown = sorted(k for k in item if k not in spec and k not in CLUSTER_CONNECTION_ARG_SPEC and not _is_alias(k))
        if unknown:
            raise ConfigError("%s: unknown option%s %s" % (where, "s" if len(unknown) > 1 else "", ", ".join(unknown)))
        given = {k: v for k, v in item.items() if k not in ("name", "owner")}
        out.append(Target(checked["name"], _owner(_given(checked.get("owner"), owner), where),
                          _connection(given, defaults, where + " (%s)" % checked["name"])))
    return out


def _is_alias(key):
    return any(key in (o.get("aliases") or []) for o in CLUSTER_CONNECTION_ARG_SPEC.values())


def targets_from_inventory_vars(hosts, defaults, owner):
    """[(host name, {variable: value})] of the inventory -> [Target], reading the role's variables."""
    out = []
    for name, hostvars in hosts:
        where = "inventory host %s" % name
        given = {k: hostvars.get("vmo_rbac_" + k) for k in ROLE_CONNECTION_KEYS}
        for key, variable in INVENTORY_DEFAULTS.items():
            if not given.get(key) and hostvars.get("vmo_rbac_palette_kubeconfig"):
                given[key] = hostvars.get(variable)
        out.append(Target(name, _owner(_given(hostvars.get("vmo_rbac_owner"), owner), where, "vmo_rbac_owner"),
                          _connection(given, defaults, where, "vmo_rbac_")))
    return out


def load_inventory(sources, pattern):
    """[(host name, {vmo_rbac_* variable: templated value})] of the hosts matching ``pattern``.

    Ansible's own inventory, variable and template machinery, as ansible-playbook reads it (group
    and host variables, templates; vaulted values with the vault password configured for Ansible,
    for example ANSIBLE_VAULT_PASSWORD_FILE)."""
    # pylint: disable=import-outside-toplevel
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.vars.manager import VariableManager

    for source in sources:
        if not os.path.exists(source):
            raise ConfigError("inventory: %s does not exist" % source)
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()  # inventory plugins (also a collection's) are found through it, as in ansible-playbook
    loader = DataLoader()
    if C.DEFAULT_VAULT_PASSWORD_FILE or C.DEFAULT_VAULT_IDENTITY_LIST:
        from ansible.cli import CLI

        files = [C.DEFAULT_VAULT_PASSWORD_FILE] if C.DEFAULT_VAULT_PASSWORD_FILE else []
        loader.set_vault_secrets(CLI.setup_vault_secrets(
            loader, vault_ids=C.DEFAULT_VAULT_IDENTITY_LIST, vault_password_files=files, ask_vault_pass=False))
    try:
        inventory = InventoryManager(loader=loader, sources=list(sources))
        variables = VariableManager(loader=loader, inventory=inventory)
        hosts = inventory.get_hosts(pattern)
        out = []
        wanted = ["vmo_rbac_" + k for k in ROLE_CONNECTION_KEYS] + ["vmo_rbac_owner"] + list(INVENTORY_DEFAULTS.values())
        for host in hosts:
            hostvars = variables.get_vars(host=host)
            templar = Templar(loader=loader, variables=hostvars)
            values = {}
            for var in wanted:
                if var in hostvars:
                    try:
                        values[var] = templar.template(hostvars[var])
                    except AnsibleError as exc:
                        # Name the variable only: the error text may quote its (secret) value.
                        raise ConfigError("inventory host %s: cannot evaluate %s (%s)"
                                          % (host.name, var, type(exc).__name__))
            out.append((host.name, values))
    except AnsibleError as exc:
        raise ConfigError("inventory %s: %s" % (", ".join(sources), exc))
    if not out:
        raise ConfigError("inventory %s: no host matches %r (the enforce playbook's vmo_rbac_target)"
                          % (", ".join(sources), pattern))
    return out


def resolve(args, inventory_loader=load_inventory):
    """The source's arguments -> (Settings, [Target]). Raises ConfigError."""
    check_arguments(args)
    settings = parse_settings(args)
    owner = _owner(_given(args.get("owner"), DEFAULT_OWNER), "owner")
    top = {k: v for k, v in args.items() if k in CLUSTER_CONNECTION_ARG_SPEC or _is_alias(k)}
    defaults = {k: v for k, v in _validate(_top_level_connection_spec(), top, "connection options").items()
                if v is not None}
    if args.get("clusters"):
        targets = targets_from_clusters(args["clusters"], defaults, owner)
    else:
        inventory = args.get("inventory") or os.environ.get("ANSIBLE_INVENTORY")
        if not inventory:
            raise ConfigError("no clusters to watch: give clusters, or inventory (or set ANSIBLE_INVENTORY, which "
                              "ansible-rulebook also reads as -i)")
        sources = [s.strip() for s in inventory.split(",") if s.strip()] if isinstance(inventory, str) else inventory
        targets = targets_from_inventory_vars(inventory_loader(sources, args.get("group") or DEFAULT_GROUP),
                                              defaults, owner)
    names = [t.name for t in targets]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise ConfigError("clusters: the name%s %s appear%s twice" % (
            "s" if len(duplicates) > 1 else "", ", ".join(duplicates), "" if len(duplicates) > 1 else "s"))
    return settings, targets
