# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observe, then plan: the read-only half that both flows share.

A few LIST requests (namespaces, the referenced roles, this owner's bindings, and the
metadata of same-name bindings only when something new is to be created) -> the desired
bindings, the cluster state and the plan. ``vmo_role_binding`` executes the plan
(enforce.py); ``vmo_rbac_validate`` reports it as drift (validate.py), so drift is exactly
the list of actions the enforcer would take. Never writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils import personas, planning
from ansible_collections.vmo.rbac.plugins.module_utils.cluster import ApiError, ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils.declaration import transition_name

Observation = namedtuple("Observation", "declaration desired state plan roles scopes")

# What the cluster holds of the roles a declaration references.
# cluster_roles: {name: ClusterRole dict} of the referenced ones that exist (rules included only
# when asked for); roles: {(namespace, name)} of the referenced Roles that exist;
# missing: [(kind, namespace, name)] of the referenced ones that do not.
RolesSeen = namedtuple("RolesSeen", "cluster_roles roles missing")

WAIT_INTERVAL = 2.0


class PreflightError(Exception):
    """The cluster is not ready for the declaration (missing roles, a foreign object in the way);
    nothing was written."""


def wait_for_api_server_ready(cluster, wait, clock=time.monotonic, sleep=time.sleep):
    """Day 0: a cluster being born refuses connections (or answers 5xx) for a while. Ask /readyz
    until it answers or ``wait`` seconds have passed; then the last error is the task's. Rejected
    credentials (401, 403) fail at once: waiting does not mend them."""
    deadline = clock() + max(0, wait or 0)
    while True:
        try:
            cluster.readyz()
            return
        except ApiError as exc:
            if exc.status in (401, 403) or clock() >= deadline:
                raise
        except ClusterError:
            if clock() >= deadline:
                raise
        sleep(min(WAIT_INTERVAL, max(0.1, deadline - clock())))


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


def observe_roles(cluster, cluster_roles, roles, wait=0, with_rules=False, clock=time.monotonic, sleep=time.sleep):
    """The referenced roles as the cluster holds them, waiting up to ``wait`` seconds for missing
    ones (day-0: the VMO pack may still be installing them). One LIST per kind per attempt."""
    deadline = clock() + max(0, wait or 0)
    while True:
        live = {}
        if cluster_roles:
            live = dict((r["metadata"]["name"], r) for r in cluster.list_cluster_roles(metadata_only=not with_rules))
        present = set()
        if roles:
            present = set((r["metadata"].get("namespace"), r["metadata"]["name"]) for r in cluster.list_roles())
        missing = [("ClusterRole", "", n) for n in sorted(cluster_roles) if n not in live]
        missing += [("Role", ns, n) for (ns, n) in sorted(roles) if (ns, n) not in present]
        if not missing or clock() >= deadline:
            return RolesSeen(dict((n, live[n]) for n in cluster_roles if n in live), present & set(roles), missing)
        sleep(min(WAIT_INTERVAL, max(0.1, deadline - clock())))


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
    return "missing role%s: %s.%s%s" % ("s" if len(missing) > 1 else "", "; ".join(parts), hint, wait)


def observe_plan(decl, cluster, mode="present", purge=False, check_roles=True, role_rules=False, wait_for_roles=0,
                 wait_for_api_server=0, observe_bindings=True, now=None):
    """Read what planning needs and plan. Never writes.

    ``now``: the time of the run (Options.now), which decides time-limited grants (planning.plan).

    ``wait_for_api_server``: first wait that long for the API server to be ready (day 0).
    ``check_roles``: also observe the referenced roles (waiting ``wait_for_roles`` seconds for
    missing ones), with their rules when ``role_rules``.
    ``observe_bindings``: False when the bindings live elsewhere (the palette backend): the
    cluster's bindings are not read: the state holds the namespaces only, and the plan is None.
    """
    if wait_for_api_server:
        wait_for_api_server_ready(cluster, wait_for_api_server)
    namespaces, terminating = (None, set())
    if planning.needs_namespaces(decl):
        namespaces, terminating = cluster.list_namespaces()
    desired, scopes = planning.resolve_scopes(decl, namespaces, terminating)

    roles = RolesSeen({}, set(), [])
    if check_roles and mode == "present":
        cluster_roles, ns_roles = referenced_roles(decl, desired)
        roles = observe_roles(cluster, cluster_roles, ns_roles, wait_for_roles, with_rules=role_rules)

    if not observe_bindings:
        return Observation(decl, desired, planning.ClusterState({}, {}, namespaces, terminating), None, roles, scopes)

    selector = planning.owner_selector(decl.owner)
    owned = planning.split_observed(cluster.list_cluster_role_bindings(selector), planning.CRB, decl.owner,
                                    wanted_keys=set())[0]
    owned.update(planning.split_observed(cluster.list_role_bindings(selector), planning.RB, decl.owner,
                                         wanted_keys=set())[0])

    taken = {}
    unowned = [k for k in desired if k not in owned]
    for k, b in desired.items():
        # An in-place roleRef change goes through <name>-transition (see planning.plan): a same-name
        # object there that this owner does not own is in the way too, and must be found now.
        o = owned.get(k)
        if o is not None and (o.role_kind, o.role_name) != (b.role_kind, b.role_name):
            tkey = (k[0], k[1], transition_name(k[2]))
            if tkey not in owned:
                unowned.append(tkey)
    for kind in (planning.CRB, planning.RB):
        wanted = set(k for k in unowned if k[0] == kind)
        if wanted:
            listed = cluster.list_bindings(kind, metadata_only=True)
            taken.update(planning.split_observed(listed, kind, decl.owner, wanted)[1])
    state = planning.ClusterState(owned, taken, namespaces, terminating)
    the_plan = planning.plan(desired, state, decl.owner, mode=mode, purge=purge, now=now)
    if the_plan.bindings is not None:
        desired = the_plan.bindings  # time-limited bindings with their times (planning.stamp)
    return Observation(decl, desired, state, the_plan, roles, scopes)
