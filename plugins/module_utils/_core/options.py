# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a run that are not the declaration: their limits, typed.

Pure: no Ansible, no network; their argument specs are in specs.py. ``parse`` turns the module's
converted params into one ``Options`` value, with every range check of the collection in one table
(``LIMITS``); a value out of range is a SpecError naming the option, raised before any request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from ansible_collections.vmo.rbac.plugins.module_utils._core import expiry as expiries
from ansible_collections.vmo.rbac.plugins.module_utils._core import palette_checks
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError
from ansible_collections.vmo.rbac.plugins.module_utils._core.specs import (
    ACCESS_ARG_SPEC, ENFORCE_ARG_SPEC, VALIDATE_ARG_SPEC,
)
from ansible_collections.vmo.rbac.plugins.module_utils._rbac.holders import parse_platform_subjects

# option: (lowest, highest, lowest is exclusive, unit); None is no bound.
LIMITS = {
    "wait_for_roles": (0, None, False, "seconds"),
    "wait_for_api_server": (0, None, False, "seconds"),
    "concurrency": (1, 256, False, ""),
    "request_timeout": (0, None, True, "seconds"),
    "api_retries": (0, 20, False, ""),
    # The longest a time-limited grant may last, whatever max_duration says: a duration given in an
    # entry's expires, the time from now to an RFC 3339 expires, and max_duration itself. A grant for
    # more than a year is not time-limited (check_expiry).
    "max_duration": (0, 366 * 86400, True, "seconds"),
    "wait": (0, palette_checks.WAIT_MAX, False, "seconds"),
}

Options = namedtuple(
    "Options",
    "state purge require_roles wait_for_roles wait_for_api_server check_bindings check_access matrix fail_on_drift "
    "concurrency audit_privileged pending_enforce backend wait palette audit_exclusive platform_subjects now "
    "if_active kubevirt_release",
    defaults=(None, "replace", None),
)
# kubevirt_release: the release line kubevirt_version names ((lowest, highest) version tuples), or None: read
# the cluster's (validate.read_kubevirt_release).


def check_limits(params):
    """Raise SpecError for the first option of ``params`` outside its limits."""
    for name, (low, high, exclusive, unit) in LIMITS.items():
        value = params.get(name)
        if value is None or name in DURATIONS:
            continue
        if isinstance(value, float) and not math.isfinite(value):  # .nan passes every comparison; .inf waits forever
            raise SpecError(name, "must be a finite number, not %s" % value)
        unit = " " + unit if unit else ""
        if exclusive and value <= low:
            raise SpecError(name, "must be greater than %s%s" % (low, unit))
        if high is not None and not low <= value <= high:
            raise SpecError(name, "must be between %s and %s%s" % (low, high, unit))
        if value < low:
            raise SpecError(name, "must be %s or more%s" % (low, unit))


DURATIONS = ("max_duration",)  # limits in seconds of options written as durations (8h): check_expiry


def check_expiry(decl, now, backend="kubernetes"):
    """Raise SpecError for a time-limited grant longer than allowed: a duration longer than
    ``max_duration`` (or than options.LIMITS allows), an RFC 3339 time further from ``now`` than that;
    and for any time-limited grant with ``backend: palette``, whose RBAC settings cannot record an end.

    ``now`` is the time of the run (an input; module_runner reads the clock). A time in the past is not
    decided here: whether the cluster held the grant decides (plan_expiry.refuse_expired)."""
    _low, ceiling, _exclusive, _unit = LIMITS["max_duration"]
    if decl.max_duration is not None and decl.max_duration > ceiling:
        raise SpecError("max_duration", "%s is longer than a time-limited grant may last (%s)"
                        % (expiries.format_duration(decl.max_duration), expiries.format_duration(ceiling)))
    longest = min(ceiling, decl.max_duration or ceiling)
    limit = ("max_duration %s" % expiries.format_duration(decl.max_duration) if decl.max_duration is not None
             and decl.max_duration <= ceiling else "the longest a time-limited grant may last, %s"
             % expiries.format_duration(ceiling))
    for g in decl.grants:
        if g.expiry is None:
            continue
        path = g.path + ".expires"
        if backend == "palette":
            raise SpecError(path, "time-limited grants need backend=kubernetes: the cluster's RBAC settings in Palette "
                                  "have no place to record when a grant ends (docs/expiry.md)")
        if g.expiry.seconds is not None and g.expiry.seconds > longest:
            raise SpecError(path, "%s is longer than %s" % (g.expiry.text, limit))
        if g.expiry.at is not None:
            if now is None:
                raise ValueError("checking an RFC 3339 expires needs the time of the run (now)")
            left = expiries.seconds_between(now, g.expiry.at)
            if left > longest:
                raise SpecError(path, "%s is %s from now (%s), longer than %s"
                                % (g.expiry.text, expiries.format_duration(left), expiries.format_time(now), limit))


def check_connection(params):
    """What the connection options' argument spec cannot express."""
    if bool(params.get("client_cert")) != bool(params.get("client_key")):
        missing = "client_key" if params.get("client_cert") else "client_cert"
        raise SpecError(missing, "client_cert and client_key must be given together")
    kubeconfig = params.get("kubeconfig")
    if kubeconfig is not None and not isinstance(kubeconfig, (str, dict)):
        raise SpecError("kubeconfig", "expected a path or a kubeconfig mapping")
    problem = palette_checks.check_kubeconfig(params)  # the cluster's kubeconfig from Palette
    if problem:
        raise SpecError(*problem)


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


def parse(params, decl, now=None):
    """The typed options of a run (both modules: a module's absent options take their defaults).
    ``now``: the time of the run (an aware datetime, read by module_runner), for time-limited grants."""
    check_limits(params)
    check_connection(params)
    check_purge(params, decl)
    problem = palette_checks.check_backend(params)
    if problem:
        raise SpecError(*problem)
    backend = params.get("backend") or "kubernetes"
    palette = None
    if backend == "palette":
        palette = dict((k, params.get(k)) for k in palette_checks.PALETTE_KEYS)
        palette.update(request_timeout=params.get("request_timeout"), api_retries=params.get("api_retries"))
    check_expiry(decl, now, params.get("backend") or "kubernetes")
    capabilities = params.get("capabilities")
    release = None
    if params.get("kubevirt_version") is not None:
        release = access.parse_kubevirt_version(params.get("kubevirt_version"), "kubevirt_version")
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
        concurrency=_get(params, "concurrency", ACCESS_ARG_SPEC),
        audit_privileged=bool(params.get("audit_privileged")),
        pending_enforce=bool(params.get("pending_enforce")),
        backend=backend,
        wait=params.get("wait") or 0,
        palette=palette,
        audit_exclusive=bool(params.get("audit_exclusive")),
        platform_subjects=parse_platform_subjects(params.get("platform_subjects")),
        now=now,
        if_active=_get(params, "if_active", ENFORCE_ARG_SPEC),
        kubevirt_release=release,
    )
