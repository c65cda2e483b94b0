# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow both modules share: spec -> observe -> resolve -> plan (-> apply).

``enforce`` is what vmo_role_binding runs; ``observe_plan`` is the read-only part that
vmo_rbac_validate reuses, so drift is exactly the list of actions the enforcer would take.
The modules only turn params into calls here and results into exit_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils import personas
from ansible_collections.vmo.rbac.plugins.module_utils.cluster import ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils import plan as planning
from ansible_collections.vmo.rbac.plugins.module_utils.spec import SpecError, parse_declaration, transition_name

# The declaration options, shared by both modules (their documentation lives in the
# vmo.rbac.bindings doc fragment; the role's meta/argument_specs.yml mirrors them and a
# unit test keeps the three in step).
SUBJECT_OPTIONS = dict(
    kind=dict(type="str", required=True, choices=["User", "Group", "ServiceAccount"]),
    name=dict(type="str", required=True),
    namespace=dict(type="str"),
    api_group=dict(type="str"),
)
BINDING_OPTIONS = dict(
    persona=dict(type="str", choices=list(personas.PERSONAS)),
    cluster_role=dict(type="str"),
    role=dict(type="str"),
    name=dict(type="str"),
    users=dict(type="list", elements="str"),
    groups=dict(type="list", elements="str"),
    service_accounts=dict(type="list", elements="str"),
    subjects=dict(type="list", elements="dict", options=SUBJECT_OPTIONS),
    namespaces=dict(type="list", elements="str"),
    namespace_regex=dict(type="raw"),
    namespace_selector=dict(type="raw"),
)
DECLARATION_ARG_SPEC = dict(
    bindings=dict(type="list", elements="dict", default=[], options=BINDING_OPTIONS),
    role_set=dict(type="str", default="vmo", choices=sorted(personas.ROLE_SETS)),
    oidc_user_prefix=dict(type="str", default=""),
    oidc_group_prefix=dict(type="str", default=""),
    owner=dict(type="str", default="vmo-rbac"),
    legacy_dashboard_bindings=dict(type="bool", default=False),
    allow_privileged=dict(type="bool", default=False),
    purge=dict(type="bool", default=False),
    wait_for_roles=dict(type="int", default=0),
)

Observation = namedtuple("Observation", "declaration desired state plan missing_roles")


class PreflightError(Exception):
    """The cluster is not ready for the declaration (missing roles); nothing was written."""


class PartialApplyError(Exception):
    """A write failed part-way; ``done`` lists the actions that were made."""

    def __init__(self, message, done, status=None):
        super(PartialApplyError, self).__init__(message)
        self.done = done
        self.status = status  # the HTTP status of the failed write, if the API server answered


def _clean_entry(entry):
    """Drop the keys Ansible filled with None for options the user did not give."""
    out = {}
    for k, v in (entry or {}).items():
        if v is None:
            continue
        if k == "subjects" and isinstance(v, list):
            v = [{sk: sv for sk, sv in s.items() if sv is not None} if isinstance(s, dict) else s for s in v]
        out[k] = v
    return out


def declaration_from_params(params):
    bindings = params.get("bindings")
    if isinstance(bindings, list):
        bindings = [_clean_entry(e) if isinstance(e, dict) else e for e in bindings]
    wait = params.get("wait_for_roles")
    if wait is not None and wait < 0:
        raise SpecError("wait_for_roles", "must be 0 or more seconds")
    # An empty owner (an unset variable rendered as '') is an error, never the default owner: with
    # purge it would delete the default owner's bindings.
    owner = params.get("owner")
    return parse_declaration(
        bindings,
        role_set=params.get("role_set") or "vmo",
        owner="vmo-rbac" if owner is None else owner,
        oidc_user_prefix=params.get("oidc_user_prefix") or "",
        oidc_group_prefix=params.get("oidc_group_prefix") or "",
        legacy_dashboard_bindings=params.get("legacy_dashboard_bindings"),
        allow_privileged=params.get("allow_privileged"),
    )


def raw_declaration_error(raw):
    """The SpecError of the declaration as the user wrote it (module args before Ansible's type
    conversion), or None. Only what a conversion could hide is decided here: the types of the
    strings, lists and mappings of ``bindings`` and of ``owner``, ``oidc_*_prefix`` and
    ``role_set``. The boolean options are left to Ansible (``"yes"`` is a fine boolean), so the
    privileged check runs later, on the converted params."""
    def value(name, default):
        v = raw.get(name)
        return default if v is None else v

    bindings = raw.get("bindings")
    if isinstance(bindings, list):
        bindings = [_clean_entry(e) if isinstance(e, dict) else e for e in bindings]
    try:
        parse_declaration(bindings, role_set=value("role_set", "vmo"), owner=value("owner", "vmo-rbac"),
                          oidc_user_prefix=value("oidc_user_prefix", ""),
                          oidc_group_prefix=value("oidc_group_prefix", ""), allow_privileged=True)
    except SpecError as exc:
        return exc
    return None


def referenced_roles(decl, desired):
    """ClusterRole names and (namespace, Role name) pairs the desired bindings point at."""
    cluster_roles, roles = set(), set()
    for b in desired.values():
        if b.role_kind == "ClusterRole":
            cluster_roles.add(b.role_name)
        else:
            roles.add((b.namespace, b.role_name))
    for g in decl.grants:  # also roles of grants whose scope matched no namespace yet
        if g.role_kind == "ClusterRole":
            cluster_roles.add(g.role_name)
    return cluster_roles, roles


def missing_roles_message(decl, missing, waited):
    parts = []
    for kind, ns, name in missing:
        users = [g.path + (" (persona %s)" % g.persona if g.persona else "") for g in decl.grants
                 if g.role_name == name and g.role_kind == kind]
        if kind == "ClusterRole" and name in personas.LEGACY_DASHBOARD_ROLES:
            users.append("legacy_dashboard_bindings")
        where = " in namespace %r" % ns if ns else ""
        parts.append("%s %s%s (used by %s)" % (kind, name, where, ", ".join(users) or "?"))
    vmo = [name for kind, _ns, name in missing if name in personas.ROLE_SETS["vmo"].values()]
    hint = ""
    if vmo:
        hint = (" The spectro-vm-* roles come with the Virtual Machine Orchestrator pack: is it installed on this "
                "cluster? On plain KubeVirt, apply the reference roles (files/reference-roles.yaml) or use "
                "role_set: kubernetes.")
    wait = (" Waited %ds for them." % waited) if waited else (
        " At day-0, when the pack may still be installing, set wait_for_roles (seconds).")
    return "missing role%s: %s.%s%s Nothing was changed." % (
        "s" if len(missing) > 1 else "", "; ".join(parts), hint, wait)


def observe_plan(decl, cluster, mode="present", purge=False, require_roles=True, wait_for_roles=0):
    """Read what planning needs (a few LIST requests) and plan. Never writes."""
    namespaces, terminating = (None, set())
    if planning.needs_namespaces(decl):
        namespaces, terminating = cluster.list_namespaces()
    desired = planning.resolve(decl, namespaces, terminating)

    missing = []
    if require_roles and mode == "present":
        cluster_roles, roles = referenced_roles(decl, desired)
        missing = cluster.wait_for_roles(cluster_roles, roles, wait_for_roles)

    crbs, rbs = cluster.list_owned(decl.owner)
    owned = planning.split_observed(crbs, planning.CRB, decl.owner, wanted_keys=set())[0]
    owned.update(planning.split_observed(rbs, planning.RB, decl.owner, wanted_keys=set())[0])

    taken = {}
    unowned = [k for k in desired if k not in owned]
    for k, b in desired.items():
        # An in-place roleRef change goes through <name>-transition (see plan.plan): a same-name
        # object there that this owner does not own is in the way too, and must be found now.
        o = owned.get(k)
        if o is not None and (o.role_kind, o.role_name) != (b.role_kind, b.role_name):
            tkey = (k[0], k[1], transition_name(k[2]))
            if tkey not in owned:
                unowned.append(tkey)
    for kind in (planning.CRB, planning.RB):
        wanted = set(k for k in unowned if k[0] == kind)
        if wanted:
            taken.update(planning.split_observed(cluster.list_binding_metadata(kind), kind, decl.owner, wanted)[1])
    state = planning.ClusterState(owned, taken, namespaces, terminating)
    the_plan = planning.plan(desired, state, decl.owner, mode=mode, purge=purge)
    return Observation(decl, desired, state, the_plan, missing)


def diff_entries(actions):
    """Ansible diff entries (before/after per binding) for the planned actions."""
    import yaml  # PyYAML is a requirement of ansible-core itself

    out = []
    for a in actions:
        before = planning.binding_summary(a.observed) if a.action != "create" else {}
        after = planning.binding_summary(a.desired) if a.action != "delete" else {}
        label = planning.describe_key((a.kind, a.namespace, a.name))
        out.append({
            "before_header": label + (" (%s)" % a.reason if a.action != "create" else " (absent)"),
            "after_header": label + (" (%s: %s)" % (a.action, a.reason)),
            "before": yaml.safe_dump(before, default_flow_style=False, sort_keys=True) if before else "",
            "after": yaml.safe_dump(after, default_flow_style=False, sort_keys=True) if after else "",
        })
    return out


def enforce(params, cluster, check_mode=False, diff=False):
    """Make the cluster hold exactly the declared bindings. Returns the module result."""
    decl = declaration_from_params(params)
    mode = params.get("state") or "present"
    obs = observe_plan(decl, cluster, mode=mode, purge=bool(params.get("purge")),
                       require_roles=params.get("require_roles", True),
                       wait_for_roles=params.get("wait_for_roles") or 0)
    if obs.missing_roles:
        raise PreflightError(missing_roles_message(decl, obs.missing_roles, params.get("wait_for_roles") or 0))
    if obs.plan.conflicts:
        raise PreflightError(
            "%d binding name%s in the way; nothing was changed: %s" % (
                len(obs.plan.conflicts), "s are" if len(obs.plan.conflicts) > 1 else " is",
                " | ".join(c["message"] for c in obs.plan.conflicts)))
    result = {
        "changed": bool(obs.plan.actions),
        "actions": [planning.action_to_dict(a) for a in obs.plan.actions],
        "summary": planning.summarize(obs.plan),
        "bindings": [planning.binding_summary(b) for _k, b in sorted(obs.desired.items())]
        if mode == "present" else [],
        "warnings": list(obs.plan.warnings),
    }
    if diff:
        result["diff"] = diff_entries(obs.plan.actions)
    if obs.plan.actions and not check_mode:
        done = []
        try:
            cluster.execute(obs.plan, decl.owner, done)
        except ClusterError as exc:
            total = len(obs.plan.actions)
            then = ("fix the permissions, then the next run converges" if exc.status in (401, 403)
                    else "the next run converges")
            raise PartialApplyError(
                "%s (%d of %d planned writes were made before this failure; the cluster keeps every "
                "existing grant until its replacement exists; %s)" % (exc.message, len(done), total, then),
                [planning.action_to_dict(a) for a in done], exc.status)
    result["api_requests"] = cluster.requests
    return result
