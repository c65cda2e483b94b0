# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One RBAC snapshot per run: the RBAC objects and the namespaces, read together once, shared by every reader.

vmo_rbac_validate's readers need the same lists: the plan (this owner's bindings, same-name bindings in the
way, the referenced roles, the namespaces), the access checks (every RoleBinding, every role with its rules),
the privileged audit (ClusterRoles, ClusterRoleBindings, RoleBindings) and the exclusive audit (all four RBAC
lists). Each LIST is sent once, all of them at the same time (up to the run's ``concurrency``), and every
reader reads the same answer: one state of the cluster, not several taken one after another.

``SnapshotView`` is the cluster client as the plan's reader (observe.observe_plan) sees it: its LISTs of
these kinds answer from the snapshot (a label selector of ``key=value`` terms is applied here, as the API
server would; any other selector is sent); every other request goes to the cluster. A second LIST of the
roles within one snapshot (the day-0 wait for missing roles, observe.observe_roles) reads the whole snapshot
anew, so that what is read after the wait is the cluster after the wait.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.vmo.rbac.plugins.module_utils._flows.observe import gather

CLUSTER_ROLES = "cluster_roles"
ROLES = "roles"
CLUSTER_ROLE_BINDINGS = "cluster_role_bindings"
ROLE_BINDINGS = "role_bindings"
NAMESPACES = "namespaces"
RBAC_KINDS = (CLUSTER_ROLES, ROLES, CLUSTER_ROLE_BINDINGS, ROLE_BINDINGS)
KINDS = RBAC_KINDS + (NAMESPACES,)


def without_managed_fields(items):
    """The items without metadata.managedFields, which no reader of the snapshot reads (about a third of the
    memory the lists take: at 20,000 bindings 23 of 70 MiB), dropped as each list arrives."""
    for item in items:
        meta = item.get("metadata") if isinstance(item, dict) else None
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
    return items


def _reader(cluster, kind):
    """The one LIST of a kind: whole objects (rules, subjects); the namespaces as list_namespaces gives them."""
    if kind == CLUSTER_ROLES:
        return lambda: without_managed_fields(cluster.list_cluster_roles(metadata_only=False))
    if kind == ROLES:
        return lambda: without_managed_fields(cluster.list_roles(metadata_only=False))
    if kind == CLUSTER_ROLE_BINDINGS:
        return lambda: without_managed_fields(cluster.list_cluster_role_bindings())
    if kind == ROLE_BINDINGS:
        return lambda: without_managed_fields(cluster.list_role_bindings())
    if kind == NAMESPACES:
        return cluster.list_namespaces
    raise ValueError("unknown snapshot kind %r" % (kind,))


class RbacSnapshot(object):
    """The lists of ``kinds`` (a subset of KINDS), read together: ``get(kind)``; ``lists()`` the four RBAC
    lists as holders.RbacIndex and whocan.find_holders take them. ``extra``: the caller's own independent
    reads, ``(name, function)`` pairs, sent in the same round (results in ``extras``)."""

    def __init__(self, cluster, kinds=KINDS, concurrency=1, extra=()):
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError("unknown snapshot kinds %r" % (unknown,))
        self.cluster = cluster
        self.kinds = tuple(k for k in KINDS if k in kinds)
        self.concurrency = concurrency
        self.generation = 0
        self.reads = 0  # LISTs sent for the snapshot, refreshes included
        self._lock = threading.Lock()
        self._data = {}
        self.extras = {}
        self._read(extra)

    def _read(self, extra=()):
        got = gather([(k, _reader(self.cluster, k)) for k in self.kinds] + list(extra), self.concurrency)
        self._data = dict((k, got[k]) for k in self.kinds)
        self.extras.update((name, got[name]) for name, _call in extra)
        self.reads += len(self.kinds)

    def refresh(self):
        """Read every list anew (one LIST per kind, together)."""
        with self._lock:
            self._read()
            self.generation += 1

    def has(self, kind):
        return kind in self._data

    def get(self, kind):
        return self._data[kind]

    def lists(self):
        """{cluster_roles, roles, cluster_role_bindings, role_bindings}: the four RBAC lists."""
        return dict((k, self._data[k]) for k in RBAC_KINDS)


def parse_equality_selector(selector):
    """{key: value} of a label selector made of ``key=value`` (or ``key==value``) terms only, else None
    (a selector this module does not apply itself: it is sent to the API server)."""
    if not selector:
        return {}
    out = {}
    for term in selector.split(","):
        if "!=" in term:
            return None
        key, sep, value = term.partition("==" if "==" in term else "=")
        key, value = key.strip(), value.strip()
        if not sep or not key or any(ch in key + value for ch in " ()!=") or key in out:
            return None
        out[key] = value
    return out


def select(items, selector):
    """The items whose labels hold every term of an equality selector (parse_equality_selector)."""
    if not selector:
        return list(items)
    out = []
    for item in items:
        labels = ((item or {}).get("metadata") or {}).get("labels") or {}
        if all(labels.get(k) == v for k, v in selector.items()):
            out.append(item)
    return out


class SnapshotView(object):
    """The cluster client, whose LISTs of the snapshot's kinds answer from the snapshot (see the module's
    docstring); every other attribute is the cluster's."""

    def __init__(self, cluster, snapshot):
        self._cluster = cluster
        self._snapshot = snapshot
        self._served = {}  # role kind -> the snapshot generation it was last served from

    def __getattr__(self, name):
        return getattr(self._cluster, name)

    def _roles(self, kind):
        snap = self._snapshot
        if self._served.get(kind) == snap.generation:
            snap.refresh()  # asked again: the caller waits for roles to appear; read the cluster as it is now
        self._served[kind] = snap.generation
        return snap.get(kind)

    def _bindings(self, kind, label_selector, metadata_only, direct):
        if not self._snapshot.has(kind):
            return direct(label_selector, metadata_only=metadata_only)
        terms = parse_equality_selector(label_selector)
        if terms is None:
            return direct(label_selector, metadata_only=metadata_only)
        return select(self._snapshot.get(kind), terms)

    def list_cluster_roles(self, metadata_only=True, label_selector=None):
        if not self._snapshot.has(CLUSTER_ROLES) or label_selector:
            return self._cluster.list_cluster_roles(metadata_only=metadata_only, label_selector=label_selector)
        return self._roles(CLUSTER_ROLES)

    def list_roles(self, metadata_only=True):
        if not self._snapshot.has(ROLES):
            return self._cluster.list_roles(metadata_only=metadata_only)
        return self._roles(ROLES)

    def list_cluster_role_bindings(self, label_selector=None, metadata_only=False):
        return self._bindings(CLUSTER_ROLE_BINDINGS, label_selector, metadata_only,
                              self._cluster.list_cluster_role_bindings)

    def list_role_bindings(self, label_selector=None, metadata_only=False):
        return self._bindings(ROLE_BINDINGS, label_selector, metadata_only, self._cluster.list_role_bindings)

    def list_bindings(self, kind, label_selector=None, metadata_only=False):
        if kind == "ClusterRoleBinding":
            return self.list_cluster_role_bindings(label_selector, metadata_only)
        return self.list_role_bindings(label_selector, metadata_only)

    def list_namespaces(self):
        if not self._snapshot.has(NAMESPACES):
            return self._cluster.list_namespaces()
        return self._snapshot.get(NAMESPACES)
