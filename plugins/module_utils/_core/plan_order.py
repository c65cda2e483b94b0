# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired x observed -> the plan that makes the cluster match the declaration, in a safe order.

Pure: ``plan`` compares the resolved bindings (plan_scopes) with what the cluster holds and returns
the actions, each with its ``cause`` (plan_model.CAUSES). An empty plan means "no drift";
``vmo_rbac_validate`` reports the same plan as drift without executing it (observe.py computes it
for both). Ordering guarantees no access gap: every create comes before every delete, and an
in-place roleRef change (roleRef is immutable) goes through a short-lived transition binding that
holds the new role before the old binding is removed; ``waves`` cuts the ordered plan into groups
whose actions may run at the same time. Time-limited grants that have expired end whatever
``purge`` says (plan_expiry).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmo.rbac.plugins.module_utils._core import expiry as expiries
from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    EXPIRES_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL, PERSONA_LABEL, TRANSITION_LABEL,
    derived_name, transition_name,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_codec import (
    matches, update_cause, why_update,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_expiry import (
    is_time_limited, recorded_time, refuse_expired, stamp,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import (
    CAUSE_ABSENT, CAUSE_EXPIRED, CAUSE_LEFTOVER, CAUSE_MISSING, CAUSE_MOVED, CAUSE_PURGE, CAUSE_ROLE_REF, CAUSE_SUCCESSOR,
    CAUSE_TRANSITION, PHASE_CLEANUP, PHASE_CREATE, PHASE_DELETE, PHASE_RECREATE, PHASE_UPDATE, Action, Plan,
    describe_key, key_of,
)


def revoke_names(decl):
    """The binding names that state=absent deletes wherever this owner holds them: every grant with a ``name``
    of its own is that name (one grant, whatever the scope a request gives), with the bindings that go with
    it (console, legacy list roles: ``<name>-<suffix>``) and their transition bindings."""
    names = set()
    for g in decl.grants:
        if g.name:
            names.add(g.name)
            for suffix in ("-console",) + tuple("-" + role for role in personas.LEGACY_DASHBOARD_ROLES):
                names.add(derived_name(g.name, suffix))
    return frozenset(names | set(transition_name(n) for n in names))


def plan(desired, state, owner, mode="present", purge=False, now=None, by_name=frozenset()):
    """Compare desired bindings with the cluster; return the Plan that converges it.

    mode ``present``: create missing, update differing, replace role changes; with
    ``purge`` also delete this owner's bindings that are no longer declared.
    mode ``absent``: delete the declared bindings that this owner owns, and its bindings named ``by_name``
    (revoke_names: a named grant in any scope).
    Objects this owner does not own are never in an action: a same-name foreign object
    is a conflict (the caller fails before any write).

    ``now`` (an aware datetime, the time of the run) decides time-limited grants: what has
    expired ends (``counts_as`` ``expired``), whatever ``purge`` says. Without it (None), a
    declaration with time-limited grants is an error, and undeclared ones are left alone.
    """
    actions, conflicts, warnings = [], [], []
    unchanged = []
    restaged = set()  # transition names whose stale bridge is deleted and created anew
    owned, taken = state.owned, state.taken

    if mode == "absent":
        named = set(k for k in owned if k[2] in by_name)
        for key in sorted(set(desired) | named):
            if key in owned:
                why = "state=absent" if key in desired else "state=absent (%s, by its name, in any scope)" % key[2]
                actions.append(Action("delete", key[0], key[1], key[2], why, PHASE_DELETE, "deleted", None,
                                      owned[key], CAUSE_ABSENT))
            elif key in taken:
                warnings.append("%s exists but is not owned by %r; left alone" % (describe_key(key), owner))
        return Plan(actions, conflicts, unchanged, warnings)

    declared = desired
    desired, ends = stamp(declared, owned, now)
    warnings.extend(refuse_expired(declared, ends, owned, now))

    for key in sorted(desired):
        b = desired[key]
        if key in taken:
            conflicts.append(_conflict(key, taken[key], owner))
            continue
        o = owned.get(key)
        expired = key in ends and ends[key] <= now
        if o is None and expired:
            continue  # never create what has ended (refuse_expired refused an entry that never held it)
        if o is None:
            actions.append(Action("create", b.kind, b.namespace, b.name, "missing", PHASE_CREATE,
                                  "created", b, None, CAUSE_MISSING))
        elif expired and (o.role_kind, o.role_name) != (b.role_kind, b.role_name):
            # an ended grant whose role changed: no access to bridge; the record is made anew with the new role
            why, cause = "roleRef %s %s -> %s %s" % (o.role_kind, o.role_name, b.role_kind, b.role_name), CAUSE_ROLE_REF
            if o.subjects:
                why, cause = "expired at %s; %s" % (expiries.format_time(ends[key]), why), CAUSE_EXPIRED
            actions.append(Action("delete", b.kind, b.namespace, b.name, why, PHASE_DELETE,
                                  "expired" if o.subjects else "replaced", None, o, cause))
            actions.append(Action("create", b.kind, b.namespace, b.name, why, PHASE_RECREATE, None, b, None, cause))
        elif (o.role_kind, o.role_name) != (b.role_kind, b.role_name):
            # roleRef is immutable: bridge through a transition binding so access never lapses.
            tkey = (b.kind, b.namespace, transition_name(b.name))
            if tkey in taken:
                conflicts.append(_conflict(tkey, taken[tkey], owner))
                continue
            bridge = b._replace(name=tkey[2], labels=dict(b.labels, **{TRANSITION_LABEL: "true"}))
            why = "roleRef %s %s -> %s %s" % (o.role_kind, o.role_name, b.role_kind, b.role_name)
            left = owned.get(tkey)  # a bridge an interrupted run left behind
            if left is not None and (left.role_kind, left.role_name) != (b.role_kind, b.role_name):
                # made for another role: replace it (its roleRef is immutable) while the old
                # binding still holds the old access
                actions.append(Action("delete", b.kind, b.namespace, tkey[2], "transition: stale bridge for %s %s"
                                      % (left.role_kind, left.role_name), PHASE_CREATE, None, None, left,
                                      CAUSE_TRANSITION))
                restaged.add(tkey)
                left = None
            if left is None:
                actions.append(Action("create", b.kind, b.namespace, tkey[2], "transition: " + why,
                                      PHASE_CREATE, None, bridge, None, CAUSE_TRANSITION))
            elif set(left.subjects) != set(bridge.subjects):
                actions.append(Action("update", b.kind, b.namespace, tkey[2], "transition: " + why,
                                      PHASE_UPDATE, None, bridge, left, CAUSE_TRANSITION))
            actions.append(Action("delete", b.kind, b.namespace, b.name, why, PHASE_DELETE, "replaced", None, o,
                                  CAUSE_ROLE_REF))
            actions.append(Action("create", b.kind, b.namespace, b.name, why, PHASE_RECREATE, "created", b, None,
                                  CAUSE_ROLE_REF))
            actions.append(Action("delete", b.kind, b.namespace, tkey[2], "transition done", PHASE_CLEANUP,
                                  None, None, left or bridge, CAUSE_TRANSITION))
        elif not matches(b, o):
            if expired and o.subjects:
                why, counts, cause = "expired at %s" % expiries.format_time(ends[key]), "expired", CAUSE_EXPIRED
                rest = why_update(b._replace(subjects=o.subjects), o)
                if rest:
                    why += "; " + rest
            else:
                why, counts, cause = why_update(b, o), "updated", update_cause(b, o)
            actions.append(Action("update", b.kind, b.namespace, b.name, why, PHASE_UPDATE, counts, b, o, cause))
        else:
            unchanged.append(key)

    transitions = set()
    for a in actions:
        if a.cause == CAUSE_TRANSITION:
            transitions.add((a.kind, a.namespace, a.name))
    by_slot = {}
    for b in desired.values():
        by_slot.setdefault((b.kind, b.namespace, b.persona), b)
    by_role = {}
    for b in declared.values():
        by_role.setdefault((b.kind, b.namespace, b.role_kind, b.role_name), []).append(b)
    for key in sorted(owned):
        if key in desired or key in transitions:
            continue
        o = owned[key]
        if o.labels.get(TRANSITION_LABEL):
            actions.append(Action("delete", o.kind, o.namespace, o.name, "leftover transition binding",
                                  PHASE_DELETE, "deleted", None, o, CAUSE_LEFTOVER))
            continue
        if now is not None and is_time_limited(o):
            end = recorded_time(o.annotations, EXPIRES_ANNOTATION)
            if end is None or end <= now:
                # Nobody declares it and its time is over (or its end cannot be read): it goes, purge or not.
                why = ("expired at %s" % expiries.format_time(end) if end is not None else
                       "time-limited, and its end (%s=%r) cannot be read" % (EXPIRES_ANNOTATION,
                                                                             o.annotations.get(EXPIRES_ANNOTATION)))
                actions.append(Action("delete", o.kind, o.namespace, o.name, why + "; no longer declared",
                                      PHASE_DELETE, "expired", None, o, CAUSE_EXPIRED))
                continue
        moved = _moved(o, by_role.get((o.kind, o.namespace, o.role_kind, o.role_name), ()))
        if moved is not None:
            actions.append(Action("delete", o.kind, o.namespace, o.name, moved, PHASE_DELETE, "replaced", None, o,
                                  CAUSE_MOVED))
            continue
        persona = o.labels.get(PERSONA_LABEL)
        successor = by_slot.get((o.kind, o.namespace, persona)) if persona in personas.PERSONAS else None
        if successor is not None and key_of(successor) in taken:
            continue  # its successor is blocked by a conflict: keep the old grant, never leave a gap
        if successor is not None and (successor.role_kind, successor.role_name) != (o.role_kind, o.role_name):
            actions.append(Action("delete", o.kind, o.namespace, o.name,
                                  "replaced by %s (%s %s)" % (successor.name, successor.role_kind,
                                                              successor.role_name),
                                  PHASE_DELETE, "replaced", None, o, CAUSE_SUCCESSOR))
        elif purge:
            actions.append(Action("delete", o.kind, o.namespace, o.name, "no longer declared (purge)",
                                  PHASE_DELETE, "deleted", None, o, CAUSE_PURGE))
    stale_roles = set((a.kind, a.namespace, a.observed.role_kind, a.observed.role_name) for a in actions
                      if a.action == "delete" and a.phase == PHASE_CREATE and (a.kind, a.namespace, a.name) in restaged)
    actions.sort(key=lambda a: _order(a, restaged, stale_roles))
    return Plan(actions, conflicts, unchanged, warnings, desired)


def _moved(o, same_role):
    """Why undeclared binding ``o`` goes because its grant moved to, or from, a time-limited binding of the
    same role in the same scope (an entry that gained or lost ``expires`` gets another generated name);
    None when it did not. Only when every subject of ``o`` is declared there: adding ``expires`` to an
    entry must not leave its permanent binding behind, while a binding that also holds subjects no
    longer declared stays, as it would without ``expires`` (``purge`` removes it)."""
    limited = is_time_limited(o)
    for_them = [b for b in same_role if (b.expiry is not None) != limited]
    if not for_them:
        return None
    declared = set()
    for b in for_them:
        declared.update(b.subjects)
    if not o.subjects or not set(o.subjects) <= declared:
        return None
    names = ", ".join(sorted(b.name for b in for_them))
    return "replaced by %s (%s)" % (names, "no longer time-limited" if limited else "time-limited now")


def _order(a, restaged, stale_roles=frozenset()):
    """Creates, then updates that only add subjects, then updates that take subjects away (so that a
    subject moved between bindings of one role keeps its access), with the replacement of stale bridges
    (delete, then create the same name) among them: after the updates of the role the stale bridge held
    (the old bridge may be the only thing that still grants a role that a create or an update grants
    anew), before every other update that takes subjects away (the new bridge may be what still grants a
    subject such an update takes off another binding of the new role: a subject moved onto a binding whose
    roleRef changes). Then deletes, re-creates and the cleanup of bridges."""
    if a.phase == PHASE_CREATE and (a.kind, a.namespace, a.name) in restaged:  # not the final cleanup
        return (PHASE_UPDATE, 2)
    if _removes_subjects(a):
        role = (a.kind, a.namespace, a.desired.role_kind, a.desired.role_name)
        return (PHASE_UPDATE, 1 if role in stale_roles else 3)
    return (a.phase, 0)


def waves(actions):
    """The plan's actions (in plan order) cut into consecutive groups whose actions may run at the
    same time: a new group starts where the phase, the kind of action (create, update, delete) or
    an update's direction (one that takes subjects away after the ones that only add) changes,
    and where an object already has an action in the group. Running the groups one after the
    other, each group's actions together, keeps every ordering the plan promises: every create
    before any delete, a stale bridge replaced after the plain creates, and each object's actions
    in their order."""
    out, keys, last = [], set(), None
    for a in actions:
        key = (a.kind, a.namespace, a.name)
        kind = (a.phase, a.action, _removes_subjects(a))
        if not out or kind != last or key in keys:
            out.append([])
            keys = set()
        out[-1].append(a)
        keys.add(key)
        last = kind
    return out


def _removes_subjects(a):
    return a.action == "update" and bool(set(a.observed.subjects) - set(a.desired.subjects))


def _conflict(key, obj, owner):
    labels = (obj.labels if obj is not None else {}) or {}
    holder = labels.get(OWNER_LABEL)
    if holder and labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        who = "belongs to vmo.rbac owner %r, not to %r" % (holder, owner)
    else:
        who = "was not made by vmo.rbac"
    return {
        "kind": key[0], "namespace": key[1], "name": key[2],
        "message": "%s already exists and %s; it is never modified or deleted. Remove or rename it, or give "
                   "the grant another name with the entry's name option" % (describe_key(key), who),
    }
