# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired x observed -> the actions that make the cluster match the declaration.

Pure: no Ansible, no network. ``resolve`` turns a Declaration into concrete bindings
(one RoleBinding per matched namespace), ``plan`` compares them with what the cluster
holds. An empty plan means "no drift"; ``vmo_rbac_validate`` reports the same plan as
drift without executing it (observe.py computes it for both).

Ordering guarantees no access gap: every create comes before every delete, and an
in-place roleRef change (roleRef is immutable) goes through a short-lived transition
binding that holds the new role before the old binding is removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils import namespace_regex, personas
from ansible_collections.vmo.rbac.plugins.module_utils import selector as selectors
from ansible_collections.vmo.rbac.plugins.module_utils.declaration import (
    GRANTED_BY_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OUR_ANNOTATIONS, OUR_LABELS, OWNER_LABEL,
    PERSONA_LABEL, SCOPE_LABEL, TRANSITION_LABEL, SpecError, Subject, binding_name, subject_from_api,
    subject_label, subject_to_api, transition_name,
)

CRB = "ClusterRoleBinding"
RB = "RoleBinding"

# A concrete binding the declaration asks for. subjects is a sorted tuple of Subject.
Binding = namedtuple(
    "Binding", "kind namespace name role_kind role_name subjects labels annotations persona sources")

# A binding as the cluster holds it (from a LIST), normalised for comparison.
Observed = namedtuple(
    "Observed", "kind namespace name role_kind role_name subjects labels annotations resource_version uid")

# What the cluster looks like, as far as planning needs it.
ClusterState = namedtuple("ClusterState", "owned taken namespaces terminating")
# owned: {key: Observed} objects carrying this owner's labels
# taken: {key: Observed-or-None} same-name objects that this owner does not own
# namespaces: {name: labels} of active namespaces, or None when not listed
# terminating: set of namespace names being deleted

Action = namedtuple("Action", "action kind namespace name reason phase counts_as desired observed")
Plan = namedtuple("Plan", "actions conflicts unchanged warnings")

PHASE_CREATE, PHASE_UPDATE, PHASE_DELETE, PHASE_RECREATE, PHASE_CLEANUP = range(5)
PERSONA_CUSTOM = "custom"
PERSONA_LEGACY = "legacy-dashboard"
PERSONA_CONSOLE = "console"

# What the rules of one grant's scope matched (only grants with namespace_regex or namespace_selector):
# entry: the grant's path; rules: the rules as written; namespaces: those matched; skipped: protected
# namespaces the rules would have matched; empty: nothing matched (a warning, an error with strict_scopes).
ScopeMatch = namedtuple("ScopeMatch", "entry rules namespaces skipped empty")


def key_of(obj):
    return (obj.kind, obj.namespace, obj.name)


def describe_key(key):
    kind, ns, name = key
    return "%s %s/%s" % (kind, ns, name) if ns else "%s %s" % (kind, name)


# --------------------------------------------------------------------- normalising


def owner_selector(owner):
    """The label selector that lists exactly this owner's bindings."""
    return "%s=%s,%s=%s" % (MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL, owner)


def is_owned(labels, owner):
    labels = labels or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE and labels.get(OWNER_LABEL) == owner


def observed_from_api(obj, kind):
    """Normalise a ClusterRoleBinding/RoleBinding dict (as the API returns it)."""
    meta = obj.get("metadata") or {}
    ref = obj.get("roleRef") or {}
    subjects = tuple(sorted(set(subject_from_api(s) for s in obj.get("subjects") or [])))
    return Observed(
        kind, meta.get("namespace") or "" if kind == RB else "", meta.get("name") or "",
        ref.get("kind") or "", ref.get("name") or "", subjects,
        dict(meta.get("labels") or {}), dict(meta.get("annotations") or {}),
        meta.get("resourceVersion") or "", meta.get("uid") or "",
    )


def binding_to_api(b, base=None):
    """The API object for a desired binding. ``base`` (an observed API dict) keeps the
    labels and annotations that others put on the object, and its resourceVersion."""
    meta = {"name": b.name}
    if b.kind == RB:
        meta["namespace"] = b.namespace
    labels = {}
    annotations = {}
    if base is not None:
        bmeta = base.get("metadata") or {}
        labels = {k: v for k, v in (bmeta.get("labels") or {}).items() if k not in OUR_LABELS}
        annotations = {k: v for k, v in (bmeta.get("annotations") or {}).items() if k not in OUR_ANNOTATIONS}
        if bmeta.get("resourceVersion"):
            meta["resourceVersion"] = bmeta["resourceVersion"]
    labels.update(b.labels)
    annotations.update(b.annotations)
    meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": b.kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": b.role_kind, "name": b.role_name},
        "subjects": [subject_to_api(s) for s in b.subjects],
    }


def binding_summary(b):
    """A compact, JSON-friendly view of a binding (desired or observed) for results and diffs."""
    if b is None:
        return {}
    out = {
        "kind": b.kind,
        "name": b.name,
        "role_ref": {"kind": b.role_kind, "name": b.role_name},
        "subjects": [subject_to_api(s) for s in b.subjects],
        "labels": {k: v for k, v in sorted(b.labels.items()) if k in OUR_LABELS},
    }
    if b.namespace:
        out["namespace"] = b.namespace
    if isinstance(b, Binding):
        out["persona"] = b.persona
    return out


# ------------------------------------------------------------------------ resolving


def needs_namespaces(decl):
    return any(not g.scope.cluster for g in decl.grants)


def resolve(decl, namespaces=None, terminating=()):
    """Concrete desired bindings ``{key: Binding}`` for the namespaces that exist now (see resolve_scopes)."""
    return resolve_scopes(decl, namespaces, terminating)[0]


def _rule_matches(g, namespaces, protected):
    """{namespace: source} the regex and selector rules of grant ``g`` match, and the protected
    namespaces they would have matched."""
    found, skipped = {}, set()
    for rule in g.scope.regexes:
        for ns in namespaces:
            if namespace_regex.matches(rule, ns):
                if ns in protected:
                    skipped.add(ns)
                else:
                    found.setdefault(ns, "regex:" + rule.source)
    for source, reqs in g.scope.selectors:
        for ns, labels in namespaces.items():
            if selectors.matches(reqs, labels):
                if ns in protected:
                    skipped.add(ns)
                else:
                    found.setdefault(ns, "selector:" + source)
    return found, skipped


def resolve_scopes(decl, namespaces=None, terminating=()):
    """(desired bindings ``{key: Binding}``, [ScopeMatch]) for the namespaces that exist now.

    Regular expressions and label selectors never match a protected namespace
    (``decl.protected_namespaces``); a namespace named in ``namespaces`` still can be.

    Raises SpecError for an explicitly named namespace that does not exist (or is being
    deleted), for two entries that would produce the same binding name with different
    roles, and (``decl.strict_scopes``) for rules that match no namespace.
    """
    terminating = set(terminating or ())
    merged = {}  # key -> dict(role, subjects, personas, sources, paths)
    names = {}  # a grant's binding name is the same in all its namespaces: computed once
    scopes = []

    def add(kind, ns, grant_path, role_kind, role_name, persona, subjects, source, name_override):
        name_key = (role_kind, role_name, name_override)
        name = names.get(name_key)
        if name is None:
            name = names[name_key] = binding_name(decl.owner, role_kind, role_name, name_override)
        key = (kind, ns, name)
        slot = merged.get(key)
        if slot is None:
            merged[key] = slot = {
                "role": (role_kind, role_name), "subjects": set(), "personas": set(),
                "sources": set(), "paths": [],
            }
        elif slot["role"] != (role_kind, role_name):
            raise SpecError(
                grant_path,
                "conflicts with %s: both produce %s, one with %s %s and one with %s %s; give one of them "
                "another name" % (slot["paths"][0], describe_key(key), slot["role"][0], slot["role"][1],
                                  role_kind, role_name))
        slot["subjects"].update(subjects)
        slot["personas"].add(persona)
        slot["sources"].add(source)
        if grant_path not in slot["paths"]:
            slot["paths"].append(grant_path)

    def grant(g, kind, ns, source):
        add(kind, ns, g.path, g.role_kind, g.role_name, g.persona, g.subjects, source, g.name)
        if g.console:
            add(kind, ns, g.path, "ClusterRole", personas.CONSOLE_ROLE, PERSONA_CONSOLE, g.subjects, source,
                console_binding_name(decl.owner))

    missing = []
    for g in decl.grants:
        if g.scope.cluster:
            grant(g, CRB, "", "cluster")
            continue
        if namespaces is None:
            raise ValueError("resolve() needs the cluster's namespaces for %s" % g.path)
        sources = {}
        for i, ns in enumerate(g.scope.namespaces):
            if ns not in namespaces or ns in terminating:
                missing.append(("%s.namespaces[%d]" % (g.path, i), ns, ns in terminating))
            sources.setdefault(ns, "namespaces")
        if g.scope.regexes or g.scope.selectors:
            found, skipped = _rule_matches(g, namespaces, decl.protected_namespaces)
            for ns, source in found.items():
                sources.setdefault(ns, source)
            rules = [r.source for r in g.scope.regexes] + [src for src, _reqs in g.scope.selectors]
            field = g.path + (".namespace_regex" if g.scope.regexes else ".namespace_selector")
            scopes.append(ScopeMatch(field, rules, sorted(found), sorted(skipped), not found))
        for ns in sorted(sources):
            grant(g, RB, ns, sources[ns])
    if missing:
        path, ns, term = missing[0]
        more = ""
        if len(missing) > 1:
            more = " (also %s)" % ", ".join("%s=%s" % (p, n) for p, n, _t in missing[1:6])
        raise SpecError(path, "namespace %r %s%s; create it first, or use namespace_regex/namespace_selector "
                              "to match namespaces as they appear"
                        % (ns, "is being deleted" if term else "does not exist", more))

    empty = [m for m in scopes if m.empty]
    if empty and decl.strict_scopes:
        m = empty[0]
        raise SpecError(m.entry, "%s matched no namespace%s; with strict_scopes every rule must match at least "
                                 "one (create the namespace first, or fix the rule)"
                        % (", ".join(m.rules), skipped_note(m)))

    if decl.legacy_dashboard_bindings and decl.grants:
        everyone = set()
        for g in decl.grants:
            everyone.update(g.subjects)
        for role in personas.LEGACY_DASHBOARD_ROLES:
            add(CRB, "", "legacy_dashboard_bindings", "ClusterRole", role, PERSONA_LEGACY, everyone,
                "legacy-dashboard", None)

    desired = {}
    for key, slot in merged.items():
        kind, ns, name = key
        named = [p for p in slot["personas"] if p and p not in (PERSONA_LEGACY, PERSONA_CONSOLE)]
        special = [p for p in (PERSONA_CONSOLE, PERSONA_LEGACY) if p in slot["personas"]]
        persona = sorted(named)[0] if named else (special[0] if special else PERSONA_CUSTOM)
        labels = {
            MANAGED_BY_LABEL: MANAGED_BY_VALUE,
            OWNER_LABEL: decl.owner,
            PERSONA_LABEL: persona,
            SCOPE_LABEL: "cluster" if kind == CRB else "namespace",
        }
        annotations = {GRANTED_BY_ANNOTATION: ", ".join(sorted(slot["sources"]))}
        desired[key] = Binding(kind, ns, name, slot["role"][0], slot["role"][1],
                               tuple(sorted(slot["subjects"])), labels, annotations, persona,
                               tuple(slot["paths"]))
    # A roleRef change of binding N goes through a short-lived binding named
    # transition_name(N); a declared binding of that name would be created and deleted by
    # the same plan (and never converge), so the name is reserved.
    for key in sorted(desired):
        tkey = (key[0], key[1], transition_name(key[2]))
        if tkey in desired and tkey != key:
            raise SpecError(
                desired[tkey].sources[0],
                "the binding name %r is reserved for the transition binding of %s (%s), used when its role "
                "changes; give one of them another name" % (tkey[2], describe_key(key), desired[key].sources[0]))
    return desired, scopes


def console_binding_name(owner):
    """The binding of the console role that console_access adds, in the scope of its grant."""
    return owner + "-vm-console"


def skipped_note(m):
    return " (protected namespaces skipped: %s)" % ", ".join(m.skipped) if m.skipped else ""


def scope_warnings(scopes):
    """One readable warning per rule set that matched no namespace."""
    return ["%s: %s matched no namespace%s, so this grant gives nothing today (it applies to matching namespaces "
            "created later; strict_scopes: true makes this an error)" % (m.entry, ", ".join(m.rules), skipped_note(m))
            for m in scopes if m.empty]


def scope_to_dict(m):
    return {"entry": m.entry, "rules": list(m.rules), "namespaces": list(m.namespaces),
            "skipped_protected": list(m.skipped), "matched_nothing": m.empty}


# ------------------------------------------------------------------------- planning


def _matches(b, o):
    """Does observed ``o`` already say what desired ``b`` says? (order-insensitive)"""
    if b.subjects != o.subjects:
        return False
    if any(o.labels.get(k) != v for k, v in b.labels.items()) or TRANSITION_LABEL in o.labels:
        return False
    return all(o.annotations.get(k) == v for k, v in b.annotations.items())


def _why_update(b, o):
    reasons = []
    have, want = set(o.subjects), set(b.subjects)
    if have != want:
        parts = []
        if want - have:
            parts.append("add " + ", ".join(subject_label(s) for s in sorted(want - have)))
        if have - want:
            parts.append("remove " + ", ".join(subject_label(s) for s in sorted(have - want)))
        reasons.append("subjects: " + "; ".join(parts))
    if any(o.labels.get(k) != v for k, v in b.labels.items()) or TRANSITION_LABEL in o.labels:
        reasons.append("labels")
    if any(o.annotations.get(k) != v for k, v in b.annotations.items()):
        reasons.append("annotations")
    return "; ".join(reasons)


def plan(desired, state, owner, mode="present", purge=False):
    """Compare desired bindings with the cluster; return the Plan that converges it.

    mode ``present``: create missing, update differing, replace role changes; with
    ``purge`` also delete this owner's bindings that are no longer declared.
    mode ``absent``: delete the declared bindings that this owner owns.
    Objects this owner does not own are never in an action: a same-name foreign object
    is a conflict (the caller fails before any write).
    """
    actions, conflicts, warnings = [], [], []
    unchanged = []
    restaged = set()  # transition names whose stale bridge is deleted and created anew
    owned, taken = state.owned, state.taken

    if mode == "absent":
        for key in sorted(desired):
            if key in owned:
                actions.append(Action("delete", key[0], key[1], key[2], "state=absent", PHASE_DELETE,
                                      "deleted", None, owned[key]))
            elif key in taken:
                warnings.append("%s exists but is not owned by %r; left alone" % (describe_key(key), owner))
        return Plan(actions, conflicts, unchanged, warnings)

    for key in sorted(desired):
        b = desired[key]
        if key in taken:
            conflicts.append(_conflict(key, taken[key], owner))
            continue
        o = owned.get(key)
        if o is None:
            actions.append(Action("create", b.kind, b.namespace, b.name, "missing", PHASE_CREATE,
                                  "created", b, None))
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
                                      % (left.role_kind, left.role_name), PHASE_CREATE, None, None, left))
                restaged.add(tkey)
                left = None
            if left is None:
                actions.append(Action("create", b.kind, b.namespace, tkey[2], "transition: " + why,
                                      PHASE_CREATE, None, bridge, None))
            elif set(left.subjects) != set(bridge.subjects):
                actions.append(Action("update", b.kind, b.namespace, tkey[2], "transition: " + why,
                                      PHASE_UPDATE, None, bridge, left))
            actions.append(Action("delete", b.kind, b.namespace, b.name, why, PHASE_DELETE, "replaced", None, o))
            actions.append(Action("create", b.kind, b.namespace, b.name, why, PHASE_RECREATE, "created", b, None))
            actions.append(Action("delete", b.kind, b.namespace, tkey[2], "transition done", PHASE_CLEANUP,
                                  None, None, left or bridge))
        elif not _matches(b, o):
            actions.append(Action("update", b.kind, b.namespace, b.name, _why_update(b, o), PHASE_UPDATE,
                                  "updated", b, o))
        else:
            unchanged.append(key)

    transitions = set()
    for a in actions:
        if a.reason.startswith("transition"):
            transitions.add((a.kind, a.namespace, a.name))
    by_slot = {}
    for b in desired.values():
        by_slot.setdefault((b.kind, b.namespace, b.persona), b)
    for key in sorted(owned):
        if key in desired or key in transitions:
            continue
        o = owned[key]
        if o.labels.get(TRANSITION_LABEL):
            actions.append(Action("delete", o.kind, o.namespace, o.name, "leftover transition binding",
                                  PHASE_DELETE, "deleted", None, o))
            continue
        persona = o.labels.get(PERSONA_LABEL)
        successor = by_slot.get((o.kind, o.namespace, persona)) if persona in personas.PERSONAS else None
        if successor is not None and key_of(successor) in taken:
            continue  # its successor is blocked by a conflict: keep the old grant, never leave a gap
        if successor is not None and (successor.role_kind, successor.role_name) != (o.role_kind, o.role_name):
            actions.append(Action("delete", o.kind, o.namespace, o.name,
                                  "replaced by %s (%s %s)" % (successor.name, successor.role_kind,
                                                              successor.role_name),
                                  PHASE_DELETE, "replaced", None, o))
        elif purge:
            actions.append(Action("delete", o.kind, o.namespace, o.name, "no longer declared (purge)",
                                  PHASE_DELETE, "deleted", None, o))
    # Within a phase: the replacement of a stale bridge (delete, then create the same name)
    # after every plain create; an update that takes subjects away after the updates that
    # only add, so that a subject moved between bindings of one role keeps its access.
    actions.sort(key=lambda a: (a.phase, (a.kind, a.namespace, a.name) in restaged or _removes_subjects(a)))
    return Plan(actions, conflicts, unchanged, warnings)


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


def summarize(p):
    counts = {"created": 0, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": len(p.unchanged)}
    for a in p.actions:
        if a.counts_as:
            counts[a.counts_as] += 1
    return counts


def action_to_dict(a):
    out = {"action": a.action, "kind": a.kind, "name": a.name, "reason": a.reason}
    if a.namespace:
        out["namespace"] = a.namespace
    return out


def split_observed(objects, kind, owner, wanted_keys=None):
    """Sort listed bindings into this owner's and other (same-name) ones.

    ``objects`` are API dicts. Returns (owned, taken); ``taken`` keeps only the keys in
    ``wanted_keys`` (the names this run wants), since other foreign objects do not matter.
    """
    owned, taken = {}, {}
    for obj in objects:
        o = observed_from_api(obj, kind)
        key = key_of(o)
        if is_owned(o.labels, owner):
            owned[key] = o
        elif wanted_keys is None or key in wanted_keys:
            taken[key] = o
    return owned, taken


__all__ = [
    "Binding", "Observed", "ClusterState", "Action", "Plan", "resolve", "plan", "summarize", "action_to_dict",
    "binding_to_api", "binding_summary", "observed_from_api", "owner_selector", "is_owned", "split_observed",
    "needs_namespaces", "Subject",
]
