# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a run that are not the declaration: their schema, their limits, typed.

Pure: no Ansible, no network. ``parse`` turns the module's converted params into one
``Options`` value, with every range check of the collection in one table (``LIMITS``); a
value out of range is a SpecError naming the option, raised before any request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils import access, palette_backend
from ansible_collections.vmo.rbac.plugins.module_utils.declaration import SpecError
from ansible_collections.vmo.rbac.plugins.module_utils.holders import parse_platform_subjects

ENFORCE_ARG_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    require_roles=dict(type="bool", default=True),
)

VALIDATE_ARG_SPEC = dict(
    check_bindings=dict(type="bool", default=True),
    check_access=dict(type="bool", default=True),
    capabilities=dict(type="dict", default={}),
    fail_on_drift=dict(type="bool", default=True),
    concurrency=dict(type="int", default=16),
    audit_privileged=dict(type="bool", default=False),
    pending_enforce=dict(type="bool", default=False),
    # who else can (whocan.py): every undeclared holder of a VM capability is a violation
    audit_exclusive=dict(type="bool", default=False),
    platform_subjects=dict(type="list", elements="str", default=[]),
)

# option: (lowest, highest, lowest is exclusive, unit); None is no bound.
LIMITS = {
    "wait_for_roles": (0, None, False, "seconds"),
    "wait_for_api_server": (0, None, False, "seconds"),
    "concurrency": (1, 256, False, ""),
    "request_timeout": (0, None, True, "seconds"),
    "api_retries": (0, 20, False, ""),
    "wait": (0, palette_backend.WAIT_MAX, False, "seconds"),
}

Options = namedtuple(
    "Options",
    "state purge require_roles wait_for_roles wait_for_api_server check_bindings check_access matrix fail_on_drift "
    "concurrency audit_privileged pending_enforce backend wait palette audit_exclusive platform_subjects",
)


def check_limits(params):
    """Raise SpecError for the first option of ``params`` outside its limits."""
    for name, (low, high, exclusive, unit) in LIMITS.items():
        value = params.get(name)
        if value is None:
            continue
        unit = " " + unit if unit else ""
        if exclusive and value <= low:
            raise SpecError(name, "must be greater than %s%s" % (low, unit))
        if high is not None and not low <= value <= high:
            raise SpecError(name, "must be between %s and %s%s" % (low, high, unit))
        if value < low:
            raise SpecError(name, "must be %s or more%s" % (low, unit))


def check_connection(params):
    """What the connection options' argument spec cannot express."""
    if bool(params.get("client_cert")) != bool(params.get("client_key")):
        missing = "client_key" if params.get("client_cert") else "client_cert"
        raise SpecError(missing, "client_cert and client_key must be given together")
    kubeconfig = params.get("kubeconfig")
    if kubeconfig is not None and not isinstance(kubeconfig, (str, dict)):
        raise SpecError("kubeconfig", "expected a path or a kubeconfig mapping")


def _get(params, name, spec):
    value = params.get(name)
    return spec[name]["default"] if value is None else value


def check_purge(params, decl):
    """purge with nothing declared deletes every binding of the owner: a host whose group_vars did not
    load, or a misspelled variable, would wipe that cluster's grants. Only with allow_empty_purge."""
    if params.get("purge") and not decl.grants and not params.get("allow_empty_purge") \
            and _get(params, "state", ENFORCE_ARG_SPEC) == "present":
        raise SpecError("bindings", "purge is true and nothing is declared, which would delete every binding of "
                                    "owner %r; if that is what you want, also set allow_empty_purge: true"
                        % decl.owner)


def parse(params, decl):
    """The typed options of a run (both modules: a module's absent options take their defaults)."""
    check_limits(params)
    check_connection(params)
    check_purge(params, decl)
    problem = palette_backend.check_params(params)
    if problem:
        raise SpecError(*problem)
    backend = params.get("backend") or "kubernetes"
    palette = None
    if backend == "palette":
        palette = dict((k, params.get(k)) for k in palette_backend.PALETTE_KEYS)
        palette.update(request_timeout=params.get("request_timeout"), api_retries=params.get("api_retries"))
    capabilities = params.get("capabilities")
    return Options(
        state=_get(params, "state", ENFORCE_ARG_SPEC),
        purge=bool(params.get("purge")),
        require_roles=_get(params, "require_roles", ENFORCE_ARG_SPEC),
        wait_for_roles=params.get("wait_for_roles") or 0,
        wait_for_api_server=params.get("wait_for_api_server") or 0,
        check_bindings=_get(params, "check_bindings", VALIDATE_ARG_SPEC),
        check_access=_get(params, "check_access", VALIDATE_ARG_SPEC),
        matrix=access.build_matrix(decl.role_set, capabilities or None),
        fail_on_drift=_get(params, "fail_on_drift", VALIDATE_ARG_SPEC),
        concurrency=_get(params, "concurrency", VALIDATE_ARG_SPEC),
        audit_privileged=bool(params.get("audit_privileged")),
        pending_enforce=bool(params.get("pending_enforce")),
        backend=backend,
        wait=params.get("wait") or 0,
        palette=palette,
        audit_exclusive=bool(params.get("audit_exclusive")),
        platform_subjects=parse_platform_subjects(params.get("platform_subjects")),
    )
