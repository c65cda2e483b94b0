# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How both modules start: every check that needs no cluster, in one place.

Order matters:

1. The declaration as the user wrote it (``_load_params``, before Ansible converts anything) is
   type-checked by spec.py. Ansible turns a list or a number given to a ``type: str`` option into
   its text without a word (``users: [[alice]]`` would bind the User ``"['alice']"``, ``groups:
   [0123]`` the Group ``"83"``), and its message for a string where ``bindings`` (a list of
   mappings) is expected names no option. Both become an error that names the field.
2. ``AnsibleModule`` with the real argument spec.
3. The kubernetes library, the connection options, then the whole declaration again (after
   Ansible's conversions of the other options): bad input fails before any request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib

from ansible_collections.vmo.rbac.plugins.module_utils import auth, engine
from ansible_collections.vmo.rbac.plugins.module_utils.cluster import KUBERNETES_IMPORT_ERROR
from ansible_collections.vmo.rbac.plugins.module_utils.spec import SpecError


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


def start_module(argument_spec, failure):
    """The AnsibleModule of a vmo.rbac module whose input passed every check that needs no
    cluster; otherwise fail_json (with ``failure``'s extra keys) naming the field."""
    raw = _load_params()
    error = engine.raw_declaration_error(raw) if isinstance(raw, dict) else None
    if error is not None:
        loose = AnsibleModule(argument_spec=permissive_spec(argument_spec), supports_check_mode=True)
        loose.fail_json(msg=str(error), field=error.path, **failure)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    module.no_log_values = auth.unmask_kubeconfig_names(module.no_log_values, module.params)
    problem = auth.check_connection_params(module.params)
    if problem:
        module.fail_json(msg="%s: %s" % problem, **failure)
    try:
        engine.declaration_from_params(module.params)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    return module


def start_info_module(argument_spec, failure, parse):
    """The AnsibleModule of a read-only module without a declaration (vmo_rbac_access_info): the
    kubernetes library and the connection options checked, then ``parse(params)`` (which raises a
    SpecError naming the field): bad input fails before any request."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    module.no_log_values = auth.unmask_kubeconfig_names(module.no_log_values, module.params)
    problem = auth.check_connection_params(module.params)
    if problem:
        module.fail_json(msg="%s: %s" % problem, **failure)
    try:
        parse(module.params)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    return module
