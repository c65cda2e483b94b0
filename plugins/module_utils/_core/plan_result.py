# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan as module results show it: counts per kind of change, actions, bindings and scopes as plain dicts.

Pure; the shapes documented in the modules' RETURN sections.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    EXPIRES_ANNOTATION, GRANTED_AT_ANNOTATION, OUR_LABELS, REASON_ANNOTATION, subject_to_api,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import (
    Binding,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_scopes import (
    skipped_note,
)


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


def scope_warning(m):
    """The warning of a rule set that matched no namespace (it proves nothing), or "" when it matched some."""
    if not m.empty:
        return ""
    return ("%s: %s matched no namespace%s, so this grant gives nothing today (it applies to matching namespaces "
            "created later; strict_scopes: true makes this an error)" % (m.entry, ", ".join(m.rules), skipped_note(m)))


def scope_warnings(scopes):
    """One readable warning per rule set that matched no namespace."""
    return [scope_warning(m) for m in scopes if m.empty]


def scope_to_dict(m):
    """A ScopeMatch as validate returns it; ``matched_nothing`` is the "not proven" flag, ``warning`` its words."""
    return {"entry": m.entry, "rules": list(m.rules), "namespaces": list(m.namespaces),
            "skipped_protected": list(m.skipped), "matched_nothing": m.empty, "warning": scope_warning(m)}


def summarize(p):
    """Counts per kind of change; ``expired`` (grants that ended by themselves) only when there are some."""
    counts = {"created": 0, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": len(p.unchanged)}
    for a in p.actions:
        if a.counts_as:
            counts[a.counts_as] = counts.get(a.counts_as, 0) + 1
    return counts


def action_to_dict(a):
    out = {"action": a.action, "kind": a.kind, "name": a.name, "reason": a.reason, "cause": a.cause}
    if a.namespace:
        out["namespace"] = a.namespace
    return out
