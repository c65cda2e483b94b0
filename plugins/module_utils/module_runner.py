# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How every vmo.rbac module runs: parse once, connect, run a flow, exit or fail.

``start_module`` does every check that needs no cluster, in this order:

1. The declaration, parsed once, from the arguments as the user wrote them
   (``_load_params``, before Ansible converts anything): Ansible turns a list or a number
   given to a ``type: str`` option into its text without a word (``users: [[alice]]`` would
   bind the User ``"['alice']"``, ``groups: [0123]`` the Group ``"83"``), and its message for
   a string where ``bindings`` (a list of mappings) is expected names no option. Both become
   an error that names the field. Its two booleans are converted by Ansible's own rules.
2. ``AnsibleModule`` with the real argument spec (types, choices, no_log, env fallbacks).
3. The kubernetes library, then the other options, typed, with their limits (options.py).

``run_module`` then connects, calls the flow with the Declaration and the Options, and maps
every failure to ``fail_json`` in one place: the field of a bad input, the HTTP status of an
API answer, the writes made before a failure part-way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.vmo.rbac.plugins.module_utils import connection, declaration, options
from ansible_collections.vmo.rbac.plugins.module_utils.cluster import KUBERNETES_IMPORT_ERROR, Cluster, ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils.declaration import SpecError
from ansible_collections.vmo.rbac.plugins.module_utils.enforce import PartialApplyError
from ansible_collections.vmo.rbac.plugins.module_utils.observe import PreflightError


def permissive_spec(argument_spec):
    """The same options (names, aliases, no_log) accepting any value: a module to fail with."""
    out = {}
    for name, option in argument_spec.items():
        loose = dict(type="raw")
        for key in ("aliases", "no_log"):
            if key in option:
                loose[key] = option[key]
        out[name] = loose
    return out


def _flags(raw):
    """The declaration's booleans by Ansible's rules, or None if one is not a boolean (then
    AnsibleModule refuses it, naming the option)."""
    out = {}
    for name in declaration.FLAG_OPTIONS:
        value = raw.get(name)
        try:
            out[name] = False if value is None else boolean(value, strict=True)
        except TypeError:
            return None
    return out


def start_module(argument_spec, failure):
    """(module, Declaration, Options) of a vmo.rbac module whose input passed every check that
    needs no cluster; otherwise fail_json (with ``failure``'s extra keys) naming the field."""
    raw = _load_params()
    raw = raw if isinstance(raw, dict) else {}
    flags = _flags(raw)
    decl = None
    if flags is not None:
        try:
            decl = declaration.from_module_args(raw, **flags)
        except SpecError as exc:
            loose = AnsibleModule(argument_spec=permissive_spec(argument_spec), supports_check_mode=True)
            loose.fail_json(msg=str(exc), field=exc.path, **failure)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if decl is None:  # pragma: no cover - AnsibleModule has refused the boolean already
        module.fail_json(msg="a boolean option could not be read", **failure)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    module.no_log_values = connection.unmask_kubeconfig_names(module.no_log_values, module.params)
    try:
        opts = options.parse(module.params, decl.role_set)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    return module, decl, opts


def run_module(argument_spec, flow, component, failure, pool_size=4):
    """Start the module, connect, run ``flow(decl, opts, cluster, check_mode, diff)`` and exit.

    The flow returns the module result; its ``warnings`` are shown as Ansible warnings and a
    true ``failed`` fails the task with the whole result."""
    module, decl, opts = start_module(argument_spec, failure)
    try:
        cluster = Cluster(connection.connection_params(module.params), component=component,
                          pool_size=max(pool_size, opts.concurrency))
        result = flow(decl, opts, cluster, check_mode=module.check_mode, diff=module._diff)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    except PreflightError as exc:
        module.fail_json(msg=str(exc), **failure)
    except PartialApplyError as exc:
        module.fail_json(msg=exc.message, **dict(failure, changed=bool(exc.done), actions=exc.done,
                                                 status=exc.status))
    except ClusterError as exc:
        module.fail_json(msg=exc.message, status=exc.status, **failure)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


def run_info_module(argument_spec, parse, flow, component, failure):
    """Run a read-only module that has no declaration (vmo_rbac_access_info): AnsibleModule, the
    kubernetes library, ``parse(params)`` (its typed options; a SpecError names the field, before
    any request), then ``flow(opts, cluster)``, mapping failures as ``run_module`` does."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    module.no_log_values = connection.unmask_kubeconfig_names(module.no_log_values, module.params)
    try:
        opts = parse(module.params)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    try:
        cluster = Cluster(connection.connection_params(module.params), component=component,
                          pool_size=max(4, opts.concurrency))
        result = flow(opts, cluster)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    except ClusterError as exc:
        module.fail_json(msg=exc.message, status=exc.status, **failure)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
