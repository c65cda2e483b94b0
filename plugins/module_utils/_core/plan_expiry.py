# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lifecycle of time-limited grants (docs/expiry.md), with the time of the run as an input.

Pure: ``stamp`` fills in the times a time-limited binding records (counted from the run that first
granted it), ``refuse_expired`` refuses a grant declared already expired, ``end_expired`` is the plan of
a run whose plan is refused (ending what has expired never depends on the rest), ``active_change(s)``
decide what ``if_active`` lets a run do to a grant in force, and ``time_limited`` lists every
time-limited grant with its time left.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmo.rbac.plugins.module_utils._core import expiry as expiries
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    EXPIRES_ANNOTATION, GRANTED_AT_ANNOTATION, OUR_ANNOTATIONS, OUR_LABELS, PERSONA_LABEL, REASON_ANNOTATION,
    TIME_LIMITED_LABEL, TRANSITION_LABEL, SpecError, subject_label,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_codec import (
    matches, why_update,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import (
    CAUSE_EXPIRED, PERSONA_CUSTOM, PHASE_DELETE, PHASE_RECREATE, PHASE_UPDATE, Action, Binding, Plan, describe_key, key_of,
)


def recorded_time(annotations, key):
    """A time a binding records (``vmo.rbac/granted-at``, ``vmo.rbac/expires``), or None if absent or unreadable."""
    value = (annotations or {}).get(key)
    if not value:
        return None
    try:
        return expiries.parse_time(value)
    except expiries.ExpiryError:
        return None


def is_time_limited(o):
    """Does an observed binding say it is time-limited (its label, or an end it records)?"""
    return TIME_LIMITED_LABEL in o.labels or EXPIRES_ANNOTATION in o.annotations


def stamp(desired, owned, now):
    """(desired with the times of every time-limited binding filled in, {key: when it ends}).

    A grant counts from the run that first made it time-limited: the earliest ``granted-at`` any of
    its entry's bindings records (so a namespace matched later does not start a new period), else
    ``now``. A binding whose time has passed keeps no subjects. Pure: ``now`` is the time of the
    run, an input."""
    if not any(b.expiry is not None for b in desired.values()):
        return dict(desired), {}
    if now is None:
        raise ValueError("planning time-limited grants needs the time of the run (now)")
    first = {}  # entry path -> the earliest granted-at its bindings record
    for key, b in desired.items():
        o = owned.get(key)
        at = recorded_time(o.annotations, GRANTED_AT_ANNOTATION) if o is not None and b.expiry is not None else None
        if at is not None and at <= now:
            for path in b.sources:
                first[path] = min(first.get(path, at), at)
    out, ends = {}, {}
    for key, b in desired.items():
        if b.expiry is None:
            out[key] = b
            continue
        granted = min([first.get(path, now) for path in b.sources] or [now])
        end = expiries.ends(b.expiry, granted)
        ends[key] = end
        annotations = dict(b.annotations)
        annotations[GRANTED_AT_ANNOTATION] = expiries.format_time(granted)
        annotations[EXPIRES_ANNOTATION] = expiries.format_time(end)
        labels = dict(b.labels)
        labels[TIME_LIMITED_LABEL] = "true"
        out[key] = b._replace(labels=labels, annotations=annotations,
                              subjects=() if end <= now else b.subjects)
    return out, ends


def _expired_entries(desired, ends, owned, now):
    """({entry path: end} of the time-limited entries whose time has passed, [those among them that this
    cluster never held: none of their bindings exists])."""
    expired, held, running = {}, set(), set()
    for key, b in desired.items():
        if key not in ends:
            continue
        for path in b.sources:
            if ends[key] <= now:
                expired[path] = ends[key]
            else:
                running.add(path)
            if key in owned:
                held.add(path)
    expired = dict((p, t) for p, t in expired.items() if p not in running)
    return expired, [p for p in sorted(expired) if p not in held]


def refuse_expired(desired, ends, owned, now):
    """Raise SpecError (naming ``bindings[i].expires``) for a time-limited entry whose time has passed and
    that this cluster never held: declared already expired, a mistake. An entry whose bindings are still
    there (without subjects: the record) is one whose time is over: a warning each, returned."""
    expired, never = _expired_entries(desired, ends, owned, now)
    if never:
        path = never[0]
        raise SpecError(path + ".expires", "the grant would end at %s, which has passed (the time of this run is %s), "
                                           "and this cluster never held it: a grant declared already expired is "
                                           "refused; give a later time or a duration, or remove the entry"
                        % (expiries.format_time(expired[path]), expiries.format_time(now)))
    return ["%s: expired at %s; its bindings keep no subjects (the record that its time is over); remove the entry, "
            "or give it a later time to grant it again" % (path, expiries.format_time(expired[path]))
            for path in sorted(expired)]


# What end_expired adds to the reason of each of its actions (the rest of the plan is not made).
REST_REFUSED = "; the rest of the plan is refused"


def ended_why(a):
    """Why an action of end_expired ends its grant, without what it adds (REST_REFUSED): ``expired at ...``."""
    return a.reason[:-len(REST_REFUSED)] if a.reason.endswith(REST_REFUSED) else a.reason


def end_expired(owned, now, full=None):
    """The plan of a run whose plan is refused (a foreign object in the way, a missing role, a namespace being
    deleted, ...): ending a grant whose time has passed never depends on the rest of the plan. Each owned
    time-limited binding that still grants and whose time has passed keeps no subjects; nothing else about it
    changes and nothing else is planned (the record stays: the next full run deletes it if nobody declares it).

    Whose time has passed: the recorded end (an unreadable one counts as passed); with ``full``, the refused
    plan, also what it ends (an end the declaration moved earlier) and not what it extends (a later end the
    declaration gives). Pure."""
    if now is None:
        return Plan([], [], [], [])
    ended = set(key_of(a) for a in (full.actions if full is not None else ()) if a.counts_as == "expired")
    stamped = (full.bindings or {}) if full is not None else {}
    actions = []
    for key in sorted(owned):
        o = owned[key]
        if not o.subjects or not is_time_limited(o):
            continue
        end = recorded_time(o.annotations, EXPIRES_ANNOTATION)
        passed = end is None or end <= now
        declared = stamped.get(key)
        if passed and declared is not None and declared.expiry is not None:
            later = recorded_time(declared.annotations, EXPIRES_ANNOTATION)
            passed = later is None or later <= now  # the declaration extends it (a refused run ends it then)
        if not (passed or key in ended):
            continue
        labels = dict((k, v) for k, v in o.labels.items() if k in OUR_LABELS)
        annotations = dict((k, v) for k, v in o.annotations.items() if k in OUR_ANNOTATIONS)
        record = Binding(o.kind, o.namespace, o.name, o.role_kind, o.role_name, (), labels, annotations,
                         o.labels.get(PERSONA_LABEL) or PERSONA_CUSTOM, (), None)
        why = ("expired at %s" % expiries.format_time(end) if end is not None and end <= now
               else "time-limited, and its end (%s=%r) cannot be read" % (EXPIRES_ANNOTATION,
                                                                          o.annotations.get(EXPIRES_ANNOTATION))
               if end is None else "ends at %s as declared now" % (declared.annotations.get(EXPIRES_ANNOTATION)
                                                                   if declared is not None else "?"))
        actions.append(Action("update", o.kind, o.namespace, o.name, why + REST_REFUSED,
                              PHASE_UPDATE, "expired", record, o, CAUSE_EXPIRED))
    return Plan(actions, [], [], [])


IF_ACTIVE = ("replace", "refuse", "extend")


def is_active(o, now):
    """Is observed binding ``o`` a time-limited grant in force: it holds subjects and its end is later than now?"""
    if o is None or now is None or not o.subjects or not is_time_limited(o):
        return False
    end = recorded_time(o.annotations, EXPIRES_ANNOTATION)
    return end is not None and end > now


def active_change(o, desired, now, if_active):
    """Why changing observed binding ``o`` (a time-limited grant in force) into ``desired`` (None: deleting it)
    is refused under ``if_active``, or None when it may be changed: ``replace`` changes it as declared;
    ``refuse`` never changes a grant in force; ``extend`` only moves its end later. Pure."""
    if if_active == "replace" or not is_active(o, now):
        return None
    if desired is not None and matches(desired, o):
        return None
    end = o.annotations.get(EXPIRES_ANNOTATION)
    held = "%s is a grant in force until %s (reason: %s; granted at %s)" % (
        describe_key(key_of(o)), end, o.annotations.get(REASON_ANNOTATION) or "none given",
        o.annotations.get(GRANTED_AT_ANNOTATION) or "?")
    if if_active == "refuse":
        change = "delete it" if desired is None else why_update(desired, o) or "change it"
        return "%s; this request would %s: refused (if_active=refuse). To move its end later ask with " \
               "if_active=extend; to replace its end and reason, if_active=replace" % (held, change)
    new_end = recorded_time(desired.annotations, EXPIRES_ANNOTATION) if desired is not None else None
    if new_end is None or new_end <= recorded_time(o.annotations, EXPIRES_ANNOTATION) or not desired.subjects:
        what = ("end it at %s" % expiries.format_time(new_end) if new_end is not None and desired.subjects
                else "end it now" if desired is not None else "delete it")
        return "%s; this request would %s, not later: refused (if_active=extend extends only; to shorten it, " \
               "if_active=replace)" % (held, what)
    return None


def active_changes(the_plan, owned, now, if_active):
    """([why refused] of the planned actions that would change a time-limited grant in force against
    ``if_active``, [{the grant before, the change}] of those that change one and are allowed). Pure."""
    refused, changed = [], []
    for a in the_plan.actions:
        o = owned.get((a.kind, a.namespace, a.name))
        if not is_active(o, now) or a.phase == PHASE_RECREATE or o.labels.get(TRANSITION_LABEL):
            continue
        desired = a.desired
        if a.action == "delete" and a.phase == PHASE_DELETE:
            # a role change deletes and re-creates: the re-created binding is what the grant becomes
            desired = next((b.desired for b in the_plan.actions if b.phase == PHASE_RECREATE
                            and key_of(b) == key_of(a)), None)
        why = active_change(o, desired, now, if_active)
        if why:
            refused.append(why)
        elif desired is None or not matches(desired, o):
            item = {"kind": o.kind, "name": o.name, "expires": o.annotations.get(EXPIRES_ANNOTATION, ""),
                    "reason": o.annotations.get(REASON_ANNOTATION, ""), "change": a.reason}
            if o.namespace:
                item["namespace"] = o.namespace
            changed.append(item)
    return refused, changed


TIME_LIMITED_STATES = ("active", "pending", "overdue", "ended")


def time_limited(decl, bindings, owned, now):
    """Every time-limited grant of this owner, declared (``bindings``: the plan's, with their times) or
    held (``owned``), with its time left; soonest end first. Pure: ``now`` is the time of the run.

    ``state``: ``active`` (in force), ``pending`` (declared, not granted yet: the enforcer would),
    ``overdue`` (its time has passed and it still grants: a violation until the enforcer runs),
    ``ended`` (its time has passed and it grants nothing any more)."""
    if now is None:
        return []
    declared_subjects = {}
    for g in decl.grants:
        declared_subjects[g.path] = g.subjects
    out = []
    keys = set(k for k, b in bindings.items() if b.expiry is not None)
    keys |= set(k for k, o in owned.items() if k not in bindings and is_time_limited(o))
    for key in keys:
        b, o = bindings.get(key), owned.get(key)
        source = b if b is not None else o
        end = recorded_time(source.annotations, EXPIRES_ANNOTATION)
        granting = o is not None and bool(o.subjects)
        if end is None or end <= now:
            if b is not None and o is None:
                continue  # never granted, and never will be (its time has passed)
            state = "overdue" if granting else "ended"
        else:
            state = "active" if granting else "pending"
        if b is not None:
            subjects = set()
            for path in b.sources:
                subjects.update(declared_subjects.get(path, ()))
            subjects = sorted(subjects) or list(o.subjects if o is not None else ())
        else:
            subjects = list(o.subjects)
        left = expiries.seconds_between(now, end) if end is not None else 0
        item = {
            "kind": key[0], "name": key[2], "role": source.role_name,
            "persona": b.persona if b is not None else source.labels.get(PERSONA_LABEL, PERSONA_CUSTOM),
            "subjects": [subject_label(s) for s in subjects],
            "granted_at": source.annotations.get(GRANTED_AT_ANNOTATION, ""),
            "expires": expiries.format_time(end) if end is not None else source.annotations.get(EXPIRES_ANNOTATION, ""),
            "seconds_left": left, "time_left": expiries.time_left(left),
            "state": state, "violation": state == "overdue",
            "declared": b is not None, "entries": list(b.sources) if b is not None else [],
        }
        if key[1]:
            item["namespace"] = key[1]
        if source.annotations.get(REASON_ANNOTATION):
            item["reason"] = source.annotations[REASON_ANNOTATION]
        out.append(item)
    out.sort(key=lambda i: (i["seconds_left"], i["kind"], i.get("namespace", ""), i["name"]))
    return out
