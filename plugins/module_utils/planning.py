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

Time-limited grants (docs/expiry.md): ``plan`` takes the time of the run (``now``) as an input,
fills in the times a time-limited binding records (``stamp``), and ends what has expired: a
binding whose entry is still declared keeps no subjects (the record that its time is over), one
that nobody declares any more is deleted, whatever ``purge`` says.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils import expiry as expiries
from ansible_collections.vmo.rbac.plugins.module_utils import namespace_regex, personas
from ansible_collections.vmo.rbac.plugins.module_utils import selector as selectors
from ansible_collections.vmo.rbac.plugins.module_utils.declaration import (
    EXPIRES_ANNOTATION, GRANTED_AT_ANNOTATION, GRANTED_BY_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE,
    MAX_OBJECT_BYTES, OUR_ANNOTATIONS, OUR_LABELS, OWNER_LABEL, PERSONA_LABEL, REASON_ANNOTATION, SCOPE_LABEL, TIME_LIMITED_LABEL,
    TRANSITION_LABEL, SpecError, Subject, binding_name, derived_name, subject_from_api, subject_label,
    subject_to_api, transition_name,
)

CRB = "ClusterRoleBinding"
RB = "RoleBinding"

# A concrete binding the declaration asks for. subjects is a sorted tuple of Subject; expiry: the
# expiry.Expiry of a time-limited binding (its times are filled in by stamp()), else None.
Binding = namedtuple(
    "Binding", "kind namespace name role_kind role_name subjects labels annotations persona sources expiry",
    defaults=(None,))

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
# bindings: the desired bindings as planned (time-limited ones with their times, and without subjects
# once expired: stamp()); None when planning added nothing to them.
Plan = namedtuple("Plan", "actions conflicts unchanged warnings bindings", defaults=(None,))

PHASE_CREATE, PHASE_UPDATE, PHASE_DELETE, PHASE_RECREATE, PHASE_CLEANUP = range(5)
PERSONA_CUSTOM = "custom"
PERSONA_LEGACY = "legacy-dashboard"
PERSONA_CONSOLE = "console"
PERSONA_GOLDEN_IMAGE = "golden-image"

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


SUMMARY_ANNOTATIONS = ((GRANTED_AT_ANNOTATION, "granted_at"), (EXPIRES_ANNOTATION, "expires"),
                       (REASON_ANNOTATION, "reason"))


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
    for annotation, key in SUMMARY_ANNOTATIONS:  # only time-limited grants and grants with a reason have them
        if b.annotations.get(annotation):
            out[key] = b.annotations[annotation]
    return out


# ------------------------------------------------------------------------ resolving


def needs_namespaces(decl):
    return any(not g.scope.cluster for g in decl.grants)


def resolve(decl, namespaces=None, terminating=(), missing_ok=False):
    """Concrete desired bindings ``{key: Binding}`` for the namespaces that exist now (see resolve_scopes)."""
    return resolve_scopes(decl, namespaces, terminating, missing_ok)[0]


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


def resolve_scopes(decl, namespaces=None, terminating=(), missing_ok=False):
    """(desired bindings ``{key: Binding}``, [ScopeMatch]) for the namespaces that exist now.

    Regular expressions and label selectors never match a protected namespace
    (``decl.protected_namespaces``); a namespace named in ``namespaces`` still can be.

    Raises SpecError for an explicitly named namespace that does not exist (or is being
    deleted; ``missing_ok``: skipped, what state=absent wants: nothing to delete there), for two
    entries that would produce the same binding name with different roles, and
    (``decl.strict_scopes``) for rules that match no namespace.
    """
    terminating = set(terminating or ())
    merged = {}  # key -> dict(role, subjects, personas, sources, paths)
    names = {}  # a grant's binding name is the same in all its namespaces: computed once
    scopes = []

    def add(kind, ns, grant_path, role_kind, role_name, persona, subjects, source, name_override, expiry=None,
            reason=None):
        name_key = (role_kind, role_name, name_override, expiry is not None)
        name = names.get(name_key)
        if name is None:
            name = names[name_key] = binding_name(decl.owner, role_kind, role_name, name_override,
                                                  time_limited=expiry is not None)
        key = (kind, ns, name)
        slot = merged.get(key)
        if slot is None:
            merged[key] = slot = {
                "role": (role_kind, role_name), "subjects": set(), "personas": set(),
                "sources": set(), "paths": [], "expiry": expiry, "reasons": set(),
            }
        elif slot["role"] != (role_kind, role_name):
            raise SpecError(
                grant_path,
                "conflicts with %s: both produce %s, one with %s %s and one with %s %s; give one of them "
                "another name" % (slot["paths"][0], describe_key(key), slot["role"][0], slot["role"][1],
                                  role_kind, role_name))
        elif _expiry_key(slot["expiry"]) != _expiry_key(expiry):
            # One binding has one end: an expiring and a permanent grant (or two that end at different
            # times) merged into one binding would make one of them end at the other's time.
            raise SpecError(
                grant_path + (".expires" if expiry is not None else ""),
                "would share %s with %s, which %s while this grant %s; one binding has one end: give one of them "
                "its own name" % (describe_key(key), slot["paths"][0], _lasts(slot["expiry"]), _lasts(expiry)))
        slot["subjects"].update(subjects)
        slot["personas"].add(persona)
        slot["sources"].add(source)
        if reason:
            slot["reasons"].add(reason)
        if grant_path not in slot["paths"]:
            slot["paths"].append(grant_path)
        return name

    def grant(g, kind, ns, source):
        name = add(kind, ns, g.path, g.role_kind, g.role_name, g.persona, g.subjects, source, g.name, g.expiry,
                   g.reason)
        if g.console:
            # A time-limited grant's console binding ends with it, so it is its own: <name>-console.
            console = derived_name(name, "-console") if g.expiry is not None else console_binding_name(decl.owner)
            add(kind, ns, g.path, "ClusterRole", personas.CONSOLE_ROLE, PERSONA_CONSOLE, g.subjects, source,
                console, g.expiry, g.reason)

    def golden_images(g):
        """A namespace-restricted grant of a persona that may deploy VMs from templates needs the clone
        source in each golden-image namespace (template.deploy): the golden-image role there."""
        if not decl.golden_image_namespaces or not deploys_from_templates(decl.role_set, g.persona):
            return
        for i, ns in enumerate(decl.golden_image_namespaces):
            if namespaces is not None and (ns not in namespaces or ns in terminating):
                missing.append(("golden_image_namespaces[%d]" % i, ns, ns in terminating))
                continue
            name = (derived_name(binding_name(decl.owner, g.role_kind, g.role_name, g.name, time_limited=True),
                                 "-golden-image") if g.expiry is not None else golden_image_binding_name(decl.owner))
            add(RB, ns, g.path, "ClusterRole", personas.GOLDEN_IMAGE_ROLE, PERSONA_GOLDEN_IMAGE, g.subjects,
                "golden_image_namespaces", name, g.expiry, g.reason)

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
                if missing_ok:
                    continue
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
        if sources:
            golden_images(g)
    if missing and not missing_ok:
        path, ns, term = missing[0]
        more = ""
        if len(missing) > 1:
            more = " (also %s)" % ", ".join("%s=%s" % (p, n) for p, n, _t in missing[1:6])
        hint = ("create it first, or use namespace_regex/namespace_selector to match namespaces as they appear"
                if not path.startswith("golden_image_namespaces") else
                "the golden-image role is bound there for the namespace-restricted grants of personas that deploy "
                "VMs from templates; create it first, or leave it out")
        raise SpecError(path, "namespace %r %s%s; %s"
                        % (ns, "is being deleted" if term else "does not exist", more, hint))

    empty = [m for m in scopes if m.empty]
    if empty and decl.strict_scopes:
        m = empty[0]
        raise SpecError(m.entry, "%s matched no namespace%s; with strict_scopes every rule must match at least "
                                 "one (create the namespace first, or fix the rule)"
                        % (", ".join(m.rules), skipped_note(m)))

    if decl.legacy_dashboard_bindings and decl.grants:
        everyone = set()
        for g in decl.grants:
            if g.expiry is None:
                everyone.update(g.subjects)
        for role in personas.LEGACY_DASHBOARD_ROLES:
            if everyone:
                add(CRB, "", "legacy_dashboard_bindings", "ClusterRole", role, PERSONA_LEGACY, everyone,
                    "legacy-dashboard", None)
            # The list roles of a time-limited grant end with it: one binding per grant, <name>-<role>.
            for g in decl.grants:
                if g.expiry is not None:
                    name = binding_name(decl.owner, g.role_kind, g.role_name, g.name, time_limited=True)
                    add(CRB, "", g.path, "ClusterRole", role, PERSONA_LEGACY, g.subjects, "legacy-dashboard",
                        derived_name(name, "-" + role), g.expiry, g.reason)

    desired = {}
    for key, slot in merged.items():
        kind, ns, name = key
        named = [p for p in slot["personas"] if p and p not in (PERSONA_LEGACY, PERSONA_CONSOLE, PERSONA_GOLDEN_IMAGE)]
        special = [p for p in (PERSONA_CONSOLE, PERSONA_GOLDEN_IMAGE, PERSONA_LEGACY) if p in slot["personas"]]
        persona = sorted(named)[0] if named else (special[0] if special else PERSONA_CUSTOM)
        labels = {
            MANAGED_BY_LABEL: MANAGED_BY_VALUE,
            OWNER_LABEL: decl.owner,
            PERSONA_LABEL: persona,
            SCOPE_LABEL: "cluster" if kind == CRB else "namespace",
        }
        annotations = {GRANTED_BY_ANNOTATION: ", ".join(sorted(slot["sources"]))}
        if slot["reasons"]:
            annotations[REASON_ANNOTATION] = "; ".join(sorted(slot["reasons"]))
        desired[key] = Binding(kind, ns, name, slot["role"][0], slot["role"][1],
                               tuple(sorted(slot["subjects"])), labels, annotations, persona,
                               tuple(slot["paths"]), slot["expiry"])
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


def _expiry_key(e):
    """What decides whether two grants end together: the time, or the duration (``8h`` is ``480m``)."""
    return None if e is None else (e.at, e.seconds)


def _lasts(e):
    if e is None:
        return "is permanent"
    if e.at is not None:
        return "ends at %s" % expiries.format_time(e.at)
    return "lasts %s" % expiries.format_duration(e.seconds)


def deploys_from_templates(role_set, persona):
    """Whether a persona of ``role_set`` may deploy VMs from templates: it may launch VMs (vm.create) and
    clone golden images (template.deploy), as the shipped matrix says."""
    expected = personas.EXPECTED[role_set].get(persona, {}) if persona else {}
    return bool(expected.get("vm.create")) and bool(expected.get("template.deploy"))


def golden_image_binding_name(owner):
    """The binding of the golden-image role in each golden-image namespace."""
    return owner + "-golden-image"


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


def _stray(ours, have, want):
    """Keys of ours that ``have`` carries and ``want`` does not (the time-limited label and annotations of a
    grant that is permanent now)."""
    return [k for k in ours if k in have and k not in want]


def matches(b, o):
    """Does observed ``o`` already say what desired ``b`` says? (order-insensitive)"""
    if b.subjects != o.subjects:
        return False
    if any(o.labels.get(k) != v for k, v in b.labels.items()) or TRANSITION_LABEL in o.labels:
        return False
    if _stray(OUR_LABELS, o.labels, b.labels) or _stray(OUR_ANNOTATIONS, o.annotations, b.annotations):
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
    if any(o.labels.get(k) != v for k, v in b.labels.items()) or TRANSITION_LABEL in o.labels \
            or _stray(OUR_LABELS, o.labels, b.labels):
        reasons.append("labels")
    before, after = o.annotations.get(EXPIRES_ANNOTATION), b.annotations.get(EXPIRES_ANNOTATION)
    if before != after:
        reasons.append("expires %s -> %s" % (before or "never", after or "never"))
    if any(o.annotations.get(k) != v for k, v in b.annotations.items() if k != EXPIRES_ANNOTATION) \
            or _stray([k for k in OUR_ANNOTATIONS if k != EXPIRES_ANNOTATION], o.annotations, b.annotations):
        reasons.append("annotations")
    return "; ".join(reasons)


# ------------------------------------------------------------------- time-limited grants


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
                                      owned[key]))
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
                                  "created", b, None))
        elif expired and (o.role_kind, o.role_name) != (b.role_kind, b.role_name):
            # an ended grant whose role changed: no access to bridge; the record is made anew with the new role
            why = "roleRef %s %s -> %s %s" % (o.role_kind, o.role_name, b.role_kind, b.role_name)
            if o.subjects:
                why = "expired at %s; %s" % (expiries.format_time(ends[key]), why)
            actions.append(Action("delete", b.kind, b.namespace, b.name, why, PHASE_DELETE,
                                  "expired" if o.subjects else "replaced", None, o))
            actions.append(Action("create", b.kind, b.namespace, b.name, why, PHASE_RECREATE, None, b, None))
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
        elif not matches(b, o):
            if expired and o.subjects:
                why, counts = "expired at %s" % expiries.format_time(ends[key]), "expired"
                rest = _why_update(b._replace(subjects=o.subjects), o)
                if rest:
                    why += "; " + rest
            else:
                why, counts = _why_update(b, o), "updated"
            actions.append(Action("update", b.kind, b.namespace, b.name, why, PHASE_UPDATE, counts, b, o))
        else:
            unchanged.append(key)

    transitions = set()
    for a in actions:
        if a.reason.startswith("transition"):
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
                                  PHASE_DELETE, "deleted", None, o))
            continue
        if now is not None and is_time_limited(o):
            end = recorded_time(o.annotations, EXPIRES_ANNOTATION)
            if end is None or end <= now:
                # Nobody declares it and its time is over (or its end cannot be read): it goes, purge or not.
                why = ("expired at %s" % expiries.format_time(end) if end is not None else
                       "time-limited, and its end (%s=%r) cannot be read" % (EXPIRES_ANNOTATION,
                                                                             o.annotations.get(EXPIRES_ANNOTATION)))
                actions.append(Action("delete", o.kind, o.namespace, o.name, why + "; no longer declared",
                                      PHASE_DELETE, "expired", None, o))
                continue
        moved = _moved(o, by_role.get((o.kind, o.namespace, o.role_kind, o.role_name), ()))
        if moved is not None:
            actions.append(Action("delete", o.kind, o.namespace, o.name, moved, PHASE_DELETE, "replaced", None, o))
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
    actions.sort(key=lambda a: _order(a, restaged))
    return Plan(actions, conflicts, unchanged, warnings, desired)


# The API server refuses an object whose annotations (keys and values, in bytes) add up to more than this
# (apimachinery's TotalAnnotationSizeLimitB); the reasons of entries merged into one binding are joined in one.
MAX_ANNOTATION_BYTES = 256 * 1024


def _api_body(b, observed=None):
    """The object a create (or, with the ``observed`` binding, an update) of desired binding ``b`` sends."""
    base = None
    if observed is not None:
        base = {"metadata": {"labels": observed.labels, "annotations": observed.annotations,
                             "resourceVersion": observed.resource_version}}
    return binding_to_api(b, base)


def object_bytes(b, observed=None):
    """The size of the JSON a create (or, with the ``observed`` binding, an update) of desired binding ``b`` sends:
    an upper bound of what etcd stores (protobuf, with the same subjects, labels and annotations)."""
    return len(json.dumps(_api_body(b, observed), separators=(",", ":")))


def annotation_bytes(body):
    """What the API server counts of an object's annotations: the bytes of every key and value."""
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8"))
               for k, v in ((body.get("metadata") or {}).get("annotations") or {}).items())


def oversized(the_plan, limit=MAX_OBJECT_BYTES, annotations_limit=MAX_ANNOTATION_BYTES):
    """SpecError for the first planned object the API server or etcd would refuse for its size: more than
    ``limit`` bytes of JSON, or annotations over ``annotations_limit`` bytes (the reasons of merged entries). Every
    create and update is measured before any write; the error names the entries that merge into the object. None
    when every object fits. Pure."""
    for a in the_plan.actions:
        if a.desired is None or a.action not in ("create", "update"):
            continue
        body = _api_body(a.desired, a.observed if a.action == "update" else None)
        size = len(json.dumps(body, separators=(",", ":")))
        notes = annotation_bytes(body)
        if size <= limit and notes <= annotations_limit:
            continue
        b = a.desired
        sources = list(b.sources) or ["bindings"]
        merged = (" with %s" % ", ".join(sources[:-1])) if len(sources) > 1 else ""
        if size > limit:
            why = ("%d subjects, %d bytes of JSON, more than the %d a binding may have (etcd refuses larger "
                   "requests; 1.5 MiB by default); give some of these entries a name of their own, or grant to a "
                   "group" % (len(b.subjects), size, limit))
        else:
            why = ("its annotations would be %d bytes (the reasons of the entries, joined), more than the %d the API "
                   "server accepts; give some of these entries a name of their own, or shorter reasons"
                   % (notes, annotations_limit))
        return SpecError(sources[-1], "merges into %s%s: %s" % (describe_key(key_of(a)), merged, why))
    return None


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
        actions.append(Action("update", o.kind, o.namespace, o.name, why + "; the rest of the plan is refused",
                              PHASE_UPDATE, "expired", record, o))
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
        change = "delete it" if desired is None else _why_update(desired, o) or "change it"
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


def _order(a, restaged):
    """Creates, then updates that only add subjects, then updates that take subjects away (so that a
    subject moved between bindings of one role keeps its access), then the replacement of stale
    bridges (delete, then create the same name: the old bridge may be the only thing that still
    grants a role that a create or an update above grants anew), then deletes, re-creates and
    the cleanup of bridges."""
    if a.phase == PHASE_CREATE and (a.kind, a.namespace, a.name) in restaged:  # not the final cleanup
        return (PHASE_UPDATE, 2)
    return (a.phase, 1 if _removes_subjects(a) else 0)


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


def summarize(p):
    """Counts per kind of change; ``expired`` (grants that ended by themselves) only when there are some."""
    counts = {"created": 0, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": len(p.unchanged)}
    for a in p.actions:
        if a.counts_as:
            counts[a.counts_as] = counts.get(a.counts_as, 0) + 1
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
