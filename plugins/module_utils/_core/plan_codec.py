# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bindings to and from the Kubernetes API, and how a desired binding compares with an observed one.

Pure: ``observed_from_api`` normalises a listed ClusterRoleBinding or RoleBinding, ``binding_to_api``
makes the object a create or an update sends (keeping what others put on it), ``matches`` and
``why_update`` compare, and ``oversized`` measures every object a plan would send against what the
API server and etcd accept, before any write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    EXPIRES_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, MAX_OBJECT_BYTES, OUR_ANNOTATIONS, OUR_LABELS,
    OWNER_LABEL, TRANSITION_LABEL, SpecError, subject_from_api, subject_label, subject_to_api,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import (
    CAUSE_ANNOTATIONS, CAUSE_EXPIRES, CAUSE_LABELS, CAUSE_SUBJECTS, RB, Observed, describe_key, key_of,
)


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


def differences(b, o):
    """[(cause, words)] of what differs between desired ``b`` and observed ``o``, in a fixed order: the
    subjects (``add ...; remove ...``), this collection's labels, the end of a time-limited grant, the other
    annotations. Empty when ``o`` already says what ``b`` says."""
    out = []
    have, want = set(o.subjects), set(b.subjects)
    if have != want:
        parts = []
        if want - have:
            parts.append("add " + ", ".join(subject_label(s) for s in sorted(want - have)))
        if have - want:
            parts.append("remove " + ", ".join(subject_label(s) for s in sorted(have - want)))
        out.append((CAUSE_SUBJECTS, "subjects: " + "; ".join(parts)))
    if any(o.labels.get(k) != v for k, v in b.labels.items()) or TRANSITION_LABEL in o.labels \
            or _stray(OUR_LABELS, o.labels, b.labels):
        out.append((CAUSE_LABELS, "labels"))
    before, after = o.annotations.get(EXPIRES_ANNOTATION), b.annotations.get(EXPIRES_ANNOTATION)
    if before != after:
        out.append((CAUSE_EXPIRES, "expires %s -> %s" % (before or "never", after or "never")))
    if any(o.annotations.get(k) != v for k, v in b.annotations.items() if k != EXPIRES_ANNOTATION) \
            or _stray([k for k in OUR_ANNOTATIONS if k != EXPIRES_ANNOTATION], o.annotations, b.annotations):
        out.append((CAUSE_ANNOTATIONS, "annotations"))
    return out


def why_update(b, o):
    """What differs between desired ``b`` and observed ``o``, in words (``subjects: add User bob; labels``)."""
    return "; ".join(words for _cause, words in differences(b, o))


def update_cause(b, o):
    """The first cause of ``differences(b, o)``; ``labels`` when nothing differs but ``matches`` says no."""
    found = differences(b, o)
    return found[0][0] if found else CAUSE_LABELS


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
