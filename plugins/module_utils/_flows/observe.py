# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observe, then plan: the read-only half that both flows share.

A few LIST requests (namespaces, the referenced roles, this owner's bindings, and the
metadata of same-name bindings only when something new is to be created) -> the desired
bindings, the cluster state and the plan. ``vmo_role_binding`` executes the plan
(enforce.py); ``vmo_rbac_validate`` reports it as drift (validate.py), so drift is exactly
the list of actions the enforcer would take. Never writes.

The LISTs that do not depend on one another's answers are sent together (``gather``, up to
the run's ``concurrency``): against a far away API server a run waits for one round trip where
it waited for four, with the same requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vmo.rbac.plugins.module_utils._core import (
    personas,
    plan_codec,
    plan_expiry,
    plan_model,
    plan_order,
    plan_scopes,
)
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError, transition_name
from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import VmoError

# prefetched: {name: result} of the caller's own independent reads, sent with the first LISTs.
# refusal: the SpecError that refused the plan once the cluster was read (a named namespace missing or being
# deleted, a grant declared already expired, ...); the plan is then plan_expiry.end_expired's (ending what has
# expired never depends on the rest of the plan) and desired is empty. None when the plan is whole.
Observation = namedtuple("Observation", "declaration desired state plan roles scopes prefetched refusal",
                         defaults=(None,))

# What the cluster holds of the roles a declaration references.
# cluster_roles: {name: ClusterRole dict} of the referenced ones that exist (rules included only
# when asked for); roles: {(namespace, name)} of the referenced Roles that exist;
# missing: [(kind, namespace, name)] of the referenced ones that do not.
RolesSeen = namedtuple("RolesSeen", "cluster_roles roles missing")

WAIT_INTERVAL = 2.0


class PreflightError(VmoError):
    """The cluster is not ready for the declaration (missing roles, a foreign object in the way);
    nothing was written."""


def gather(calls, concurrency=1):
    """{name: result} of independent calls (each a read, ``(name, function)`` pairs), run together, at most
    ``concurrency`` at a time; with 1, one after the other in the given order. When calls fail, the
    first failing one in the given order raises, after every call has ended (whatever the concurrency)."""
    calls = list(calls)
    if concurrency <= 1 or len(calls) <= 1:
        return dict((name, call()) for name, call in calls)
    with ThreadPoolExecutor(max_workers=min(concurrency, len(calls))) as pool:
        futures = [(name, pool.submit(call)) for name, call in calls]
        return dict((name, future.result()) for name, future in futures)


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


def observe_roles(cluster, cluster_roles, roles, wait=0, with_rules=False, clock=time.monotonic, sleep=time.sleep,
                  listed=None):
    """The referenced roles as the cluster holds them, waiting up to ``wait`` seconds for missing
    ones (day-0: the VMO pack may still be installing them). One LIST per kind per attempt;
    ``listed``: the ClusterRoles of the first attempt, already listed by the caller."""
    deadline = clock() + max(0, wait or 0)
    while True:
        live = {}
        if cluster_roles:
            items = listed if listed is not None else cluster.list_cluster_roles(metadata_only=not with_rules)
            listed = None
            live = dict((r["metadata"]["name"], r) for r in items)
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


# What observe_plan reads and how, one value each flow makes from its Options (observe_options):
# mode: state (present | absent); purge: plan deletes of undeclared bindings; now: the time of the run
# (Options.now), which decides time-limited grants (plan_order.plan);
# wait_for_api_server: first wait that long for the API server to be ready (day 0);
# check_roles: also observe the referenced roles (waiting wait_for_roles seconds for missing ones), with
# their rules when role_rules;
# observe_bindings: False when the bindings live elsewhere (the palette backend): the cluster's bindings
# are not read, the state holds the namespaces only, and the plan is None;
# concurrency: how many of the independent LISTs are sent at once (see gather);
# list_namespaces: list the namespaces even if the declaration does not need them;
# prefetch: the caller's own independent reads, (name, function) pairs, sent together with the first
# LISTs; their results are in the Observation's prefetched. A read named cluster_roles (every
# ClusterRole with its rules) is also the one the referenced roles are looked up in (not listed twice).
ObserveOptions = namedtuple(
    "ObserveOptions", "mode purge check_roles role_rules wait_for_roles wait_for_api_server observe_bindings "
                      "concurrency list_namespaces prefetch now",
    defaults=("present", False, True, False, 0, 0, True, 1, False, (), None))


def observe_options(opts, **changes):
    """The ObserveOptions of a run's Options (state, purge, require_roles, the waits, concurrency, now),
    with ``changes``."""
    return ObserveOptions(mode=opts.state or "present", purge=opts.purge, check_roles=opts.require_roles,
                          wait_for_roles=opts.wait_for_roles, wait_for_api_server=opts.wait_for_api_server,
                          concurrency=opts.concurrency, now=opts.now)._replace(**changes)


def observe_plan(decl, cluster, how=ObserveOptions()):
    """Read what planning needs, as ``how`` (ObserveOptions) says, and plan. Never writes."""
    if how.wait_for_api_server:
        wait_for_api_server_ready(cluster, how.wait_for_api_server)
    check_roles = how.check_roles and how.mode == "present"
    selector = plan_codec.owner_selector(decl.owner)
    # What can be refused without the cluster is refused before the first request: the
    # cluster-wide grants resolve without the namespaces (two of them producing one name with
    # different roles, for example). Namespaced grants are resolved once the namespaces are read.
    needs_namespaces = plan_scopes.needs_namespaces(decl)
    if needs_namespaces:
        plan_scopes.resolve_scopes(decl._replace(grants=[g for g in decl.grants if g.scope.cluster]))
    # The first round: every read that needs no other answer. The ClusterRoles are listed now
    # only when the declaration surely references one (a grant of a ClusterRole), so a run makes
    # the same requests as one that lists them after resolving the scopes.
    first = []
    if how.list_namespaces or needs_namespaces:
        first.append(("namespaces", cluster.list_namespaces))
    if check_roles and any(g.role_kind == "ClusterRole" for g in decl.grants) and \
            "cluster_roles" not in dict(how.prefetch):  # the caller's own LIST of them (with their rules) serves
        first.append(("cluster_roles", lambda: cluster.list_cluster_roles(metadata_only=not how.role_rules)))
    owned_lists = [("owned_crbs", lambda: cluster.list_cluster_role_bindings(selector)),
                   ("owned_rbs", lambda: cluster.list_role_bindings(selector))] if how.observe_bindings else []
    # At day-0 (wait_for_roles) the bindings are read after the roles are there, not before the wait.
    later = owned_lists + list(how.prefetch) if check_roles and how.wait_for_roles else []
    if not needs_namespaces:
        desired, scopes = plan_scopes.resolve_scopes(decl)
    got = gather(first + ([] if later else owned_lists + list(how.prefetch)), how.concurrency)
    namespaces, terminating = got.get("namespaces", (None, set()))
    refusal = None
    if needs_namespaces:
        # state=absent deletes what exists: a named namespace that is gone has nothing to delete
        try:
            desired, scopes = plan_scopes.resolve_scopes(decl, namespaces, terminating, missing_ok=how.mode == "absent")
        except SpecError as exc:
            if not how.observe_bindings or how.mode != "present":
                raise
            # refused now that the cluster was read: what has expired still ends (see refusal above)
            refusal, desired, scopes = exc, {}, []

    roles = RolesSeen({}, set(), [])
    if check_roles:
        cluster_roles, ns_roles = referenced_roles(decl, desired)
        roles = observe_roles(cluster, cluster_roles, ns_roles, how.wait_for_roles, with_rules=how.role_rules,
                              listed=got.get("cluster_roles"))

    if later:
        got.update(gather(later, how.concurrency))
    prefetched = dict((name, got[name]) for name, _call in how.prefetch)
    if not how.observe_bindings:
        return Observation(decl, desired, plan_model.ClusterState({}, {}, namespaces, terminating), None, roles, scopes,
                           prefetched)

    owned = plan_codec.split_observed(got["owned_crbs"], plan_model.CRB, decl.owner, wanted_keys=set())[0]
    owned.update(plan_codec.split_observed(got["owned_rbs"], plan_model.RB, decl.owner, wanted_keys=set())[0])
    if refusal is not None:
        return Observation(decl, desired, plan_model.ClusterState(owned, {}, namespaces, terminating),
                           plan_expiry.end_expired(owned, how.now), roles, scopes, prefetched, refusal)

    taken = {}
    unowned = [k for k in desired if k not in owned]
    for k, b in desired.items():
        # An in-place roleRef change goes through <name>-transition (see plan_order.plan): a same-name
        # object there that this owner does not own is in the way too, and must be found now.
        o = owned.get(k)
        if o is not None and (o.role_kind, o.role_name) != (b.role_kind, b.role_name):
            tkey = (k[0], k[1], transition_name(k[2]))
            if tkey not in owned:
                unowned.append(tkey)
    second = []
    for kind in (plan_model.CRB, plan_model.RB):
        wanted = set(k for k in unowned if k[0] == kind)
        if wanted:
            second.append((kind, wanted, (lambda kind=kind: cluster.list_bindings(kind, metadata_only=True))))
    listed = gather([(kind, call) for kind, _wanted, call in second], how.concurrency)
    for kind, wanted, _call in second:
        taken.update(plan_codec.split_observed(listed[kind], kind, decl.owner, wanted)[1])
    state = plan_model.ClusterState(owned, taken, namespaces, terminating)
    try:
        the_plan = plan_order.plan(desired, state, decl.owner, mode=how.mode, purge=how.purge, now=how.now,
                                   by_name=plan_order.revoke_names(decl) if how.mode == "absent" else frozenset())
    except SpecError as exc:  # a grant declared already expired (plan_expiry.refuse_expired)
        return Observation(decl, {}, state, plan_expiry.end_expired(owned, how.now), roles, [], prefetched, exc)
    too_big = plan_codec.oversized(the_plan)  # every object is measured before any write
    if too_big is not None:
        return Observation(decl, {}, state, plan_expiry.end_expired(owned, how.now, the_plan), roles, [], prefetched,
                           too_big)
    if the_plan.bindings is not None:
        desired = the_plan.bindings  # time-limited bindings with their times (plan_expiry.stamp)
    return Observation(decl, desired, state, the_plan, roles, scopes, prefetched)
