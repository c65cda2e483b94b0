# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired bindings x a cluster's Palette RBAC settings -> the list to write back (pure).

A cluster's RBAC settings in Palette (``GET/PUT /v1/spectroclusters/{uid}/config/rbacs``) are a
list of items (``v1ClusterRbac``), each holding bindings (``v1ClusterRbacBinding``: type, namespace,
role, subjects). Bindings have no names and no metadata of their own; items do.

Ownership. The items this collection writes are at most two per owner, one for the
ClusterRoleBindings and one for the RoleBindings (the layout the Spectro Cloud Terraform provider
uses), named ``vmo-rbac.<owner>.clusterrolebindings`` and ``vmo-rbac.<owner>.rolebindings`` and
labelled ``app.kubernetes.io/managed-by: vmo.rbac`` and ``vmo.rbac/owner: <owner>``. An item is
this owner's when its labels say so, or, when it has no labels at all (a server that drops them),
when its name is one of this owner's two names. Items Palette made itself (``isSystem``) and
every other item are written back exactly as read.

Merge by content. What this owner grants is the union of the bindings in its items, keyed by
(type, namespace, role kind, role name); the plan compares that with the declaration key by key
and subject by subject, never by item uid. The uid of an item of this owner is sent back when
known (a server that merges by uid updates it in place), but nothing depends on it.

Pure: plain data in, plain data out; palette_backend.py does the requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL, Subject, subject_label,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import CRB, RB

TYPES = (CRB, RB)
ITEM_SUFFIX = {CRB: "clusterrolebindings", RB: "rolebindings"}
# The metadata keys a PUT may carry (v1ObjectMetaUpdateEntity).
INPUT_METADATA_KEYS = ("annotations", "labels", "name", "uid")

# (type, namespace, role kind, role name): one binding in Palette terms.
Key = namedtuple("Key", "type namespace role_kind role_name")
Item = namedtuple("Item", "index uid name labels is_system bindings raw")
Change = namedtuple("Change", "action key before after reason")
PalettePlan = namedtuple("PalettePlan", "changes conflicts warnings ours others target write body unchanged")


def item_name(owner, binding_type):
    return "vmo-rbac.%s.%s" % (owner, ITEM_SUFFIX[binding_type])


def item_labels(owner):
    return {MANAGED_BY_LABEL: MANAGED_BY_VALUE, OWNER_LABEL: owner}


def describe_key(key):
    where = "in namespace %s" % key.namespace if key.namespace else "cluster-wide"
    return "%s %s %s %s" % (key.type, key.role_kind, key.role_name, where)


# ------------------------------------------------------------------ converting


def subject_from_palette(s):
    kind = (s or {}).get("type") or ""
    return Subject(kind, (s or {}).get("name") or "", ((s or {}).get("namespace") or "")
                   if kind == "ServiceAccount" else "")


def subject_to_palette(s):
    out = {"type": s.kind, "name": s.name}
    if s.kind == "ServiceAccount":
        out["namespace"] = s.namespace
    return out


def key_of_binding(b):
    role = (b or {}).get("role") or {}
    btype = (b or {}).get("type") or ""
    return Key(btype, ((b or {}).get("namespace") or "") if btype == RB else "", role.get("kind") or "",
               role.get("name") or "")


def binding_to_palette(key, subjects):
    out = {"type": key.type, "role": {"kind": key.role_kind, "name": key.role_name},
           "subjects": [subject_to_palette(s) for s in sorted(subjects)]}
    if key.type == RB:
        out["namespace"] = key.namespace
    return out


def desired_from_bindings(desired):
    """{Key: frozenset(Subject)} from plan.resolve()'s {key: Binding}. Bindings of one role in one
    namespace merge (Palette bindings have no names, so entries' ``name`` options do not apply)."""
    out = {}
    for b in desired.values():
        key = Key(b.kind, b.namespace if b.kind == RB else "", b.role_kind, b.role_name)
        out[key] = out.get(key, frozenset()) | frozenset(b.subjects)
    return out


def parse_items(items):
    """The items of a GET as Item tuples, in the order Palette returned them. The client has checked
    their shape (palette.RBAC_ITEM_SHAPE); an item that is not an object is refused here too, never
    replaced by an empty one that would be written back."""
    out = []
    for i, raw in enumerate(items or []):
        if not isinstance(raw, dict):
            raise ValueError("RBAC item %d is %s, not an object" % (i, "null" if raw is None else type(raw).__name__))
        meta = raw.get("metadata") or {}
        spec = raw.get("spec") or {}
        out.append(Item(i, meta.get("uid") or "", meta.get("name") or "", dict(meta.get("labels") or {}),
                        bool(spec.get("isSystem")), list(spec.get("bindings") or []), raw))
    return out


def to_input_entity(raw):
    """A GET item (v1ClusterRbac) as PUT input (v1ClusterRbacInputEntity): metadata limited to what
    the input accepts, status dropped, spec unchanged."""
    meta = raw.get("metadata") or {}
    out = {"metadata": dict((k, meta[k]) for k in INPUT_METADATA_KEYS if meta.get(k) not in (None, "", {})),
           "spec": raw.get("spec") or {}}
    return out


# ------------------------------------------------------------------ ownership


def classify(items, owner):
    """(ours, others, conflicts): this owner's items, every other item, and items in the way."""
    ours, others, conflicts = [], [], []
    names = set(item_name(owner, t) for t in TYPES)
    for it in items:
        manager = it.labels.get(MANAGED_BY_LABEL)
        holder = it.labels.get(OWNER_LABEL)
        labelled_ours = manager == MANAGED_BY_VALUE and holder == owner
        if labelled_ours and it.is_system:
            conflicts.append(_conflict(it, "is marked isSystem (made by Palette) but carries the labels of vmo.rbac "
                                           "owner %r; it is left alone" % owner))
            others.append(it)
        elif labelled_ours or (it.name in names and not it.labels and not it.is_system):
            ours.append(it)
        elif it.name in names:
            who = ("vmo.rbac owner %r" % holder) if manager == MANAGED_BY_VALUE and holder else "another tool"
            conflicts.append(_conflict(it, "has the name of owner %r's item but belongs to %s; it is never "
                                           "modified. Rename it in Palette, or use another owner" % (owner, who)))
            others.append(it)
        else:
            others.append(it)
    return ours, others, conflicts


def _conflict(it, why):
    uid = " (uid %s)" % it.uid if it.uid else ""
    return {"item": it.name or "(unnamed)", "uid": it.uid,
            "message": "Palette RBAC item %r%s %s" % (it.name or "(unnamed)", uid, why)}


def owned_bindings(ours):
    """{Key: frozenset(Subject)}: the union of the bindings in this owner's items."""
    out = {}
    for it in ours:
        for b in it.bindings:
            key = key_of_binding(b)
            subjects = frozenset(subject_from_palette(s) for s in (b or {}).get("subjects") or [])
            out[key] = out.get(key, frozenset()) | subjects
    return out


def _persona_of(role_name):
    for role_set in sorted(personas.ROLE_SETS):
        p = personas.persona_for_role(role_set, role_name)
        if p:
            return p
    return None


# ------------------------------------------------------------------ planning


def target_bindings(desired, owned, mode="present", purge=False):
    """What this owner's items should hold, and the reason each undeclared key goes."""
    gone = {}
    if mode == "absent":
        target = dict((k, v) for k, v in owned.items() if k not in desired)
        for k in owned:
            if k in desired:
                gone[k] = "state=absent"
        return target, gone
    target = dict(desired)
    slots = {}
    for k in desired:
        if k.role_kind == "ClusterRole":
            slots.setdefault((k.type, k.namespace, _persona_of(k.role_name)), k)
    for k, subjects in owned.items():
        if k in desired:
            continue
        persona = _persona_of(k.role_name) if k.role_kind == "ClusterRole" else None
        successor = slots.get((k.type, k.namespace, persona)) if persona else None
        if successor is not None:
            gone[k] = "replaced by %s %s" % (successor.role_kind, successor.role_name)
        elif purge:
            gone[k] = "no longer declared (purge)"
        else:
            target[k] = subjects
    return target, gone


def canonical_items(target, owner, ours):
    """This owner's items for ``target``: one per binding type that has bindings, sorted."""
    uids = {}
    for it in ours:
        if it.name and it.uid:
            uids.setdefault(it.name, it.uid)
    out = []
    for btype in TYPES:
        keys = sorted(k for k in target if k.type == btype)
        if not keys:
            continue
        name = item_name(owner, btype)
        meta = {"name": name, "labels": item_labels(owner)}
        if name in uids:
            meta["uid"] = uids[name]
        out.append({"metadata": meta,
                    "spec": {"bindings": [binding_to_palette(k, target[k]) for k in keys], "isSystem": False}})
    return out


def _layout(items):
    """Order-insensitive content of items: what 'no change' compares (uids aside)."""
    out = []
    for raw in items:
        meta = raw.get("metadata") or {}
        labels = dict((k, v) for k, v in (meta.get("labels") or {}).items() if k in (MANAGED_BY_LABEL, OWNER_LABEL))
        bindings = []
        for b in (raw.get("spec") or {}).get("bindings") or []:
            subjects = tuple(sorted(set(subject_from_palette(s) for s in (b or {}).get("subjects") or [])))
            bindings.append((key_of_binding(b), subjects))
        out.append((meta.get("name") or "", tuple(sorted(labels.items())), tuple(sorted(bindings))))
    return sorted(out)


def plan(items, desired, owner, mode="present", purge=False):
    """The PalettePlan that makes this owner's items say what ``desired`` ({key: Binding} from
    plan.resolve) declares. ``body`` is the whole list to PUT when ``write`` is true."""
    parsed = parse_items(items)
    ours, others, conflicts = classify(parsed, owner)
    owned = owned_bindings(ours)
    want = desired_from_bindings(desired)
    target, gone = target_bindings(want, owned, mode, purge)
    warnings = []

    changes, unchanged = [], []
    for k in sorted(set(target) | set(owned)):
        before, after = owned.get(k), target.get(k)
        if before is None:
            changes.append(Change("create", k, None, after, "missing"))
        elif after is None:
            changes.append(Change("delete", k, before, None, gone.get(k, "no longer declared")))
        elif before != after:
            changes.append(Change("update", k, before, after, _why(before, after)))
        else:
            unchanged.append(k)
    if mode == "absent":
        for k in sorted(want):
            if k not in owned:
                warnings.append("%s is not in owner %r's Palette RBAC items; nothing to remove" % (describe_key(k), owner))

    mine = canonical_items(target, owner, ours)
    layout_differs = _layout(mine) != _layout([it.raw for it in ours])
    if layout_differs and not changes:
        changes.append(Change("rewrite", None, None, None,
                              "owner %r's items are laid out differently (labels, names, duplicates or split "
                              "items); written back in the collection's layout" % owner))
    write = bool(changes) and not conflicts
    body = [to_input_entity(it.raw) for it in others] + mine
    return PalettePlan(changes, conflicts, warnings, ours, others, target, write, body, unchanged)


# ------------------------------------------------------------------ after a write (lost updates)
#
# The specification offers no version, ETag or precondition on the RBAC settings, so two writers that
# read the list at the same time and both PUT it back lose the first one's changes. The backend reads the
# list back after its PUT: this owner's grants must be as written, and every item it sent back as read
# (other owners', the UI's, Palette's own isSystem ones) must still be there.

Lost = namedtuple("Lost", "ours others owners conflicts")


def lost_after_write(p, after, owner):
    """What the read-back ``after`` (the items of a GET after the PUT of plan ``p``) shows lost:
    ``ours``: descriptions of this owner's grants that are not as written (missing, or subjects
    missing or added: a writer that read the list before this write wrote it back after);
    ``others``: the raw items ``p`` sent back as read that are gone and that no vmo.rbac owner
    checks (the UI's, another tool's, Palette's own isSystem ones): the ones to restore;
    ``owners``: the items of other vmo.rbac owners that are gone, left to their owner (it checks its
    own write, and may just have removed them: restoring them would undo its revoke);
    ``conflicts``: items now in the way. An empty Lost (``not any(lost)``) means the write holds."""
    parsed = parse_items(after)
    ours, _others, conflicts = classify(parsed, owner)
    owned = owned_bindings(ours)
    mine = []
    for k in sorted(set(p.target) | set(owned)):
        want, have = p.target.get(k), owned.get(k)
        if have is None:
            mine.append("%s (missing)" % describe_key(k))
        elif want is None:
            mine.append("%s (back again)" % describe_key(k))
        elif want != have:
            what = []
            if want - have:
                what.append("subjects lost: " + ", ".join(subject_label(x) for x in sorted(want - have)))
            if have - want:
                what.append("subjects back again: " + ", ".join(subject_label(x) for x in sorted(have - want)))
            mine.append("%s (%s)" % (describe_key(k), "; ".join(what)))
    uids = set(it.uid for it in parsed if it.uid)
    contents = set(_content(it.raw) for it in parsed)
    gone = [it for it in p.others if not ((it.uid and it.uid in uids) or (not it.uid and _content(it.raw) in contents))]
    owned_elsewhere = [it.raw for it in gone if _other_owner(it, owner)]
    return Lost(mine, [it.raw for it in gone if not _other_owner(it, owner)], owned_elsewhere, conflicts)


def _other_owner(it, owner):
    """An item another vmo.rbac owner wrote (by its labels; never an isSystem one)."""
    holder = it.labels.get(OWNER_LABEL)
    return (not it.is_system and it.labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE and bool(holder)
            and holder != owner)


def _content(raw):
    import json

    return json.dumps([(raw.get("metadata") or {}).get("name"), raw.get("spec")], sort_keys=True)


def describe_lost(lost, owners=True):
    """The lost parts, for a message (with ``owners``, also other vmo.rbac owners' items gone)."""
    parts = ["this owner's %s" % g for g in lost.ours]
    parts += ["item %s" % _describe_item(raw) for raw in lost.others]
    if owners and lost.owners:
        parts.append("items of other vmo.rbac owners, left to their owner: %s"
                     % ", ".join(_describe_item(raw) for raw in lost.owners))
    parts += [c["message"] for c in lost.conflicts]
    return "; ".join(parts)


def _describe_item(raw):
    meta = raw.get("metadata") or {}
    system = " (Palette's own, isSystem)" if (raw.get("spec") or {}).get("isSystem") else ""
    return "%r%s%s" % (meta.get("name") or "(unnamed)", " uid %s" % meta["uid"] if meta.get("uid") else "", system)


def _why(before, after):
    parts = []
    if after - before:
        parts.append("add " + ", ".join(subject_label(s) for s in sorted(after - before)))
    if before - after:
        parts.append("remove " + ", ".join(subject_label(s) for s in sorted(before - after)))
    return "subjects: " + "; ".join(parts)


# ------------------------------------------------------------------ reporting


def change_to_dict(c):
    if c.key is None:
        return {"action": c.action, "reason": c.reason}
    out = {"action": c.action, "kind": c.key.type, "role_ref": {"kind": c.key.role_kind, "name": c.key.role_name},
           "name": c.key.role_name, "reason": c.reason}
    if c.key.namespace:
        out["namespace"] = c.key.namespace
    return out


def summarize(p):
    counts = {"created": 0, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": len(p.unchanged)}
    for c in p.changes:
        if c.action == "create":
            counts["created"] += 1
        elif c.action == "update":
            counts["updated"] += 1
        elif c.action == "delete":
            counts["replaced" if c.reason.startswith("replaced") else "deleted"] += 1
    return counts


def bindings_summary(target):
    """The grants this owner holds in Palette after the run, one dict per binding."""
    out = []
    for k in sorted(target):
        entry = {"kind": k.type, "role_ref": {"kind": k.role_kind, "name": k.role_name},
                 "subjects": [subject_to_palette(s) for s in sorted(target[k])],
                 "persona": (_persona_of(k.role_name) if k.role_kind == "ClusterRole" else None) or "custom"}
        if k.namespace:
            entry["namespace"] = k.namespace
        out.append(entry)
    return out


def diff_entry(p, cluster_uid, owner):
    """One Ansible diff entry: this owner's items before and after."""
    import yaml  # PyYAML is a requirement of ansible-core itself

    def dump(items):
        view = [{"name": (raw.get("metadata") or {}).get("name"),
                 "bindings": (raw.get("spec") or {}).get("bindings") or []} for raw in items]
        return yaml.safe_dump(view, default_flow_style=False, sort_keys=True) if view else ""

    return {
        "before_header": "Palette cluster %s: RBAC items of owner %s (before)" % (cluster_uid, owner),
        "after_header": "Palette cluster %s: RBAC items of owner %s (after)" % (cluster_uid, owner),
        "before": dump([it.raw for it in p.ours]),
        "after": dump([raw for raw in p.body if (raw.get("metadata") or {}).get("labels", {}).get(OWNER_LABEL) == owner
                       and (raw.get("metadata") or {}).get("name") in (item_name(owner, t) for t in TYPES)]),
    }


FIX = {
    "create": "vmo_role_binding (backend palette) would add it to the cluster's Palette RBAC settings",
    "update": "vmo_role_binding (backend palette) would update its subjects in Palette",
    "delete": "vmo_role_binding (backend palette) would remove it from Palette",
    "rewrite": "vmo_role_binding (backend palette) would write the owner's items back in its layout",
    "conflict": "rename or remove the Palette RBAC item in the way, or use another owner",
}


def drift_items(p):
    """Each change (and conflict) of a read-only plan as a validation drift item."""
    out = []
    for c in p.changes:
        problem = {"create": "missing in the cluster's Palette RBAC settings", "update": c.reason,
                   "delete": c.reason, "rewrite": c.reason}[c.action]
        item = {"kind": c.key.type if c.key else "PaletteRbacItem",
                "name": c.key.role_name if c.key else "",
                "problem": problem, "fix": FIX[c.action],
                "action": "replace" if c.action == "delete" and c.reason.startswith("replaced") else c.action,
                "source": "palette"}
        if c.key is not None and c.key.namespace:
            item["namespace"] = c.key.namespace
        out.append(item)
    for c in p.conflicts:
        out.append({"kind": "PaletteRbacItem", "name": c["item"], "problem": "in the way: " + c["message"],
                    "fix": FIX["conflict"], "action": "conflict", "source": "palette"})
    return out
