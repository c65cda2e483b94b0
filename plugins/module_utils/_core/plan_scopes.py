# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolving a declaration's grants into concrete bindings for the namespaces that exist now.

Pure: ``resolve_scopes`` turns a Declaration into one binding per grant and matched namespace (with
the console, golden-image and legacy list bindings that go with it) and says what each grant's
namespace rules matched (``ScopeMatch``). Regular expressions and selectors never match a protected
namespace; an explicitly named namespace that does not exist, two grants producing one name with
different roles or ends, and (``strict_scopes``) rules that match nothing are refused with the field path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core import expiry as expiries
from ansible_collections.vmo.rbac.plugins.module_utils._core import namespace_regex, personas
from ansible_collections.vmo.rbac.plugins.module_utils._core import selector as selectors
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    GRANTED_BY_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL, PERSONA_LABEL, REASON_ANNOTATION,
    SCOPE_LABEL, SpecError, binding_name, derived_name, transition_name,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import (
    CRB, PERSONA_CONSOLE, PERSONA_CUSTOM, PERSONA_GOLDEN_IMAGE, PERSONA_LEGACY, RB, Binding, describe_key,
)


# What the rules of one grant's scope matched (only grants with namespace_regex or namespace_selector):
# entry: the grant's path; rules: the rules as written; namespaces: those matched; skipped: protected
# namespaces the rules would have matched; empty: nothing matched (a warning, an error with strict_scopes).
ScopeMatch = namedtuple("ScopeMatch", "entry rules namespaces skipped empty")


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
    merger = _Merger(decl.owner)
    scopes, missing = [], []  # missing: (field path, namespace, being deleted) of each named namespace not there
    for g in decl.grants:
        if g.scope.cluster:
            _add_grant(merger, decl, g, CRB, "", "cluster")
            continue
        if namespaces is None:
            raise ValueError("resolve() needs the cluster's namespaces for %s" % g.path)
        sources, match = _grant_namespaces(g, namespaces, terminating, missing_ok, decl.protected_namespaces, missing)
        if match is not None:
            scopes.append(match)
        for ns in sorted(sources):
            _add_grant(merger, decl, g, RB, ns, sources[ns])
        if sources:
            _add_golden_images(merger, decl, g, namespaces, terminating, missing)
    if missing and not missing_ok:
        raise _missing_namespace(missing)
    empty = [m for m in scopes if m.empty]
    if empty and decl.strict_scopes:
        m = empty[0]
        raise SpecError(m.entry, "%s matched no namespace%s; with strict_scopes every rule must match at least "
                                 "one (create the namespace first, or fix the rule)"
                        % (", ".join(m.rules), skipped_note(m)))
    if decl.legacy_dashboard_bindings and decl.grants:
        _add_legacy_lists(merger, decl)
    desired = merger.bindings()
    _refuse_reserved_names(desired)
    return desired, scopes


class _Merger(object):
    """The bindings being resolved: every grant, console, golden-image and legacy list binding added to the
    binding of its name in its scope (the subjects, personas, sources, entries and reasons merged), refusing
    two entries that would make one binding with different roles or ends."""

    def __init__(self, owner):
        self.owner = owner
        self.merged = {}  # key -> dict(role, subjects, personas, sources, paths, expiry, reasons)
        self.names = {}  # a grant's binding name is the same in all its namespaces: computed once

    def add(self, kind, ns, grant_path, role_kind, role_name, persona, subjects, source, name_override, expiry=None,
            reason=None):
        """Add one grant's binding in one scope; returns the binding's name."""
        name_key = (role_kind, role_name, name_override, expiry is not None)
        name = self.names.get(name_key)
        if name is None:
            name = self.names[name_key] = binding_name(self.owner, role_kind, role_name, name_override,
                                                       time_limited=expiry is not None)
        key = (kind, ns, name)
        slot = self.merged.get(key)
        if slot is None:
            self.merged[key] = slot = {
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

    def bindings(self):
        """{key: Binding} of everything added: the persona label is the first named persona of the entries
        merged into it, else the console, golden-image or legacy persona, else custom."""
        desired = {}
        for key, slot in self.merged.items():
            kind, ns, name = key
            named = [p for p in slot["personas"]
                     if p and p not in (PERSONA_LEGACY, PERSONA_CONSOLE, PERSONA_GOLDEN_IMAGE)]
            special = [p for p in (PERSONA_CONSOLE, PERSONA_GOLDEN_IMAGE, PERSONA_LEGACY) if p in slot["personas"]]
            persona = sorted(named)[0] if named else (special[0] if special else PERSONA_CUSTOM)
            labels = {
                MANAGED_BY_LABEL: MANAGED_BY_VALUE,
                OWNER_LABEL: self.owner,
                PERSONA_LABEL: persona,
                SCOPE_LABEL: "cluster" if kind == CRB else "namespace",
            }
            annotations = {GRANTED_BY_ANNOTATION: ", ".join(sorted(slot["sources"]))}
            if slot["reasons"]:
                annotations[REASON_ANNOTATION] = "; ".join(sorted(slot["reasons"]))
            desired[key] = Binding(kind, ns, name, slot["role"][0], slot["role"][1],
                                   tuple(sorted(slot["subjects"])), labels, annotations, persona,
                                   tuple(slot["paths"]), slot["expiry"])
        return desired


def _add_grant(merger, decl, g, kind, ns, source):
    """Grant ``g``'s binding in one scope, and its console binding when it asks for console access."""
    name = merger.add(kind, ns, g.path, g.role_kind, g.role_name, g.persona, g.subjects, source, g.name, g.expiry,
                      g.reason)
    if g.console:
        # A time-limited grant's console binding ends with it, so it is its own: <name>-console.
        console = derived_name(name, "-console") if g.expiry is not None else console_binding_name(decl.owner)
        merger.add(kind, ns, g.path, "ClusterRole", personas.CONSOLE_ROLE, PERSONA_CONSOLE, g.subjects, source,
                   console, g.expiry, g.reason)


def _grant_namespaces(g, namespaces, terminating, missing_ok, protected, missing):
    """({namespace: source} namespaced grant ``g`` binds in, its ScopeMatch or None when it has no rules). A named
    namespace that is not there (or is being deleted) is added to ``missing`` (and, with ``missing_ok``, left out)."""
    sources = {}
    for i, ns in enumerate(g.scope.namespaces):
        if ns not in namespaces or ns in terminating:
            missing.append(("%s.namespaces[%d]" % (g.path, i), ns, ns in terminating))
            if missing_ok:
                continue
        sources.setdefault(ns, "namespaces")
    if not (g.scope.regexes or g.scope.selectors):
        return sources, None
    found, skipped = _rule_matches(g, namespaces, protected)
    for ns, source in found.items():
        sources.setdefault(ns, source)
    rules = [r.source for r in g.scope.regexes] + [src for src, _reqs in g.scope.selectors]
    field = g.path + (".namespace_regex" if g.scope.regexes else ".namespace_selector")
    return sources, ScopeMatch(field, rules, sorted(found), sorted(skipped), not found)


def _add_golden_images(merger, decl, g, namespaces, terminating, missing):
    """A namespace-restricted grant of a persona that may deploy VMs from templates needs the clone
    source in each golden-image namespace (template.deploy): the golden-image role there. A golden-image
    namespace that is not there is added to ``missing``."""
    if not decl.golden_image_namespaces or not deploys_from_templates(decl.role_set, g.persona):
        return
    for i, ns in enumerate(decl.golden_image_namespaces):
        if namespaces is not None and (ns not in namespaces or ns in terminating):
            missing.append(("golden_image_namespaces[%d]" % i, ns, ns in terminating))
            continue
        name = (derived_name(binding_name(decl.owner, g.role_kind, g.role_name, g.name, time_limited=True),
                             "-golden-image") if g.expiry is not None else golden_image_binding_name(decl.owner))
        merger.add(RB, ns, g.path, "ClusterRole", personas.GOLDEN_IMAGE_ROLE, PERSONA_GOLDEN_IMAGE, g.subjects,
                   "golden_image_namespaces", name, g.expiry, g.reason)


def _missing_namespace(missing):
    """The SpecError for the first named namespace that is not there (naming up to five more)."""
    path, ns, term = missing[0]
    more = ""
    if len(missing) > 1:
        more = " (also %s)" % ", ".join("%s=%s" % (p, n) for p, n, _t in missing[1:6])
    hint = ("create it first, or use namespace_regex/namespace_selector to match namespaces as they appear"
            if not path.startswith("golden_image_namespaces") else
            "the golden-image role is bound there for the namespace-restricted grants of personas that deploy "
            "VMs from templates; create it first, or leave it out")
    return SpecError(path, "namespace %r %s%s; %s" % (ns, "is being deleted" if term else "does not exist", more, hint))


def _add_legacy_lists(merger, decl):
    """legacy_dashboard_bindings: the list roles of the legacy dashboard, bound cluster-wide to every subject of a
    permanent grant; the list roles of a time-limited grant end with it: one binding per grant, <name>-<role>."""
    everyone = set()
    for g in decl.grants:
        if g.expiry is None:
            everyone.update(g.subjects)
    for role in personas.LEGACY_DASHBOARD_ROLES:
        if everyone:
            merger.add(CRB, "", "legacy_dashboard_bindings", "ClusterRole", role, PERSONA_LEGACY, everyone,
                       "legacy-dashboard", None)
        for g in decl.grants:
            if g.expiry is not None:
                name = binding_name(decl.owner, g.role_kind, g.role_name, g.name, time_limited=True)
                merger.add(CRB, "", g.path, "ClusterRole", role, PERSONA_LEGACY, g.subjects, "legacy-dashboard",
                           derived_name(name, "-" + role), g.expiry, g.reason)


def _refuse_reserved_names(desired):
    """A roleRef change of binding N goes through a short-lived binding named transition_name(N); a declared
    binding of that name would be created and deleted by the same plan (and never converge), so the name is
    reserved."""
    for key in sorted(desired):
        tkey = (key[0], key[1], transition_name(key[2]))
        if tkey in desired and tkey != key:
            raise SpecError(
                desired[tkey].sources[0],
                "the binding name %r is reserved for the transition binding of %s (%s), used when its role "
                "changes; give one of them another name" % (tkey[2], describe_key(key), desired[key].sources[0]))


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
