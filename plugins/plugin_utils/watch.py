# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes watch protocol and what a change means for access, as plain decisions.

No network, no threads, no clock: the event source
(``extensions/eda/plugins/event_source/cluster_changes.py``) does the I/O through
``module_utils/_k8s/cluster.py`` and asks this module what to do next. Unit-tested in
``tests/unit/plugins/plugin_utils/test_watch.py``.

- ``ListWatch``: one LIST (paged) then WATCH from the list's resourceVersion with
  ``allowWatchBookmarks``. Every event and every bookmark advances the resourceVersion the next
  watch resumes from. 410 Gone, as the HTTP status of the watch request or as an ERROR event with
  code 410, means that resourceVersion is too old: relist. Any other failure: reconnect from the
  same resourceVersion after a backoff.
- ``Backoff``: exponential, with jitter, capped; reset by progress: a good event (an event or a
  bookmark that was read and applied), never by a watch that merely opened (an API server or a
  middlebox that accepts every watch and then sends an error would otherwise be asked again and
  again at the initial delay).
- ``LineSplitter``: a chunked watch body into JSON lines, refusing a line above a bound.
- ``NamespaceTracker`` / ``BindingTracker``: which events matter for access (a namespace added,
  its labels changed; an owned binding deleted or changed by someone else), with bounded memory:
  a namespace costs its name and a fingerprint of its labels, a binding its key and
  resourceVersion, never the object.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
from collections import namedtuple

# What changed, for the event: a kind (one of the constants below) and what it concerns.
Change = namedtuple("Change", "kind subject")

STARTED = "started"                          # the first LIST: reconcile what happened before it
NAMESPACE_ADDED = "namespace_added"
NAMESPACE_LABELS = "namespace_labels_changed"
NAMESPACE_UNTRACKED = "namespace_changed"    # beyond max_namespaces: cannot tell, assume it matters
BINDING_DELETED = "binding_deleted"
BINDING_CHANGED = "binding_changed"
RELISTED = "relisted"                        # a relist whose differences cannot be told apart
# How each kind reads in an event's reason, in this order.
PHRASES = (
    (STARTED, "watch started", "watches started"),
    (NAMESPACE_ADDED, "namespace added", "namespaces added"),
    (NAMESPACE_LABELS, "namespace's labels changed", "namespaces' labels changed"),
    (NAMESPACE_UNTRACKED, "namespace changed", "namespaces changed"),
    (BINDING_DELETED, "owned binding deleted", "owned bindings deleted"),
    (BINDING_CHANGED, "owned binding changed", "owned bindings changed"),
    (RELISTED, "relist", "relists"),
)

EVENT_TYPES = ("ADDED", "MODIFIED", "DELETED")
# The field manager the API server derives from the modules' User-Agent ("vmo.rbac/<version> ...").
OWN_MANAGER = "vmo.rbac"
TRANSITION_LABEL = "vmo.rbac/transition"  # module_utils/_core/declaration.py; a run's own short-lived binding


class Expired(Exception):
    """The resourceVersion is too old (410 Gone): the next step is a LIST."""


class StreamError(Exception):
    """The watch reported an error other than 410: reconnect from the same resourceVersion."""


class LineTooLong(Exception):
    """A watch event larger than the bound: the stream is dropped and resumed."""


class Backoff(object):
    """Exponential backoff with jitter, capped at ``maximum`` seconds.

    The n-th consecutive failure waits ``min(maximum, initial * factor**n)`` reduced by up to
    ``jitter`` (a fraction) at random, so that many sources losing one API server do not come
    back in step, and never more than ``maximum``. ``reset()`` after progress.
    """

    def __init__(self, initial=0.5, maximum=30.0, factor=2.0, jitter=0.5, rand=random.random):
        if initial <= 0 or maximum < initial or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("backoff: need 0 < initial <= maximum, factor >= 1, 0 <= jitter < 1")
        self.initial, self.maximum, self.factor, self.jitter = initial, maximum, factor, jitter
        self._rand = rand
        self.failures = 0

    def next_delay(self):
        base = min(self.maximum, self.initial * self.factor ** min(self.failures, 64))
        self.failures += 1
        return base * (1.0 - self.jitter * self._rand())

    def reset(self):
        self.failures = 0


class ListWatch(object):
    """Protocol state of the LIST + WATCH of one resource on one cluster."""

    def __init__(self, resource, label_selector=None, timeout_seconds=300, page_size=500):
        self.resource = resource
        self.label_selector = label_selector
        self.timeout_seconds = int(timeout_seconds)
        self.page_size = int(page_size)
        self.resource_version = None
        self.relist_reason = "start"
        self.lists = 0      # complete LISTs so far (the first one is the start)
        self.events = 0     # ADDED/MODIFIED/DELETED events so far
        self.bookmarks = 0

    @property
    def needs_list(self):
        return self.resource_version is None

    def list_query(self, continue_token=None):
        q = {"limit": str(self.page_size)}
        if self.label_selector:
            q["labelSelector"] = self.label_selector
        if continue_token:
            q["continue"] = continue_token
        return q

    def listed(self, resource_version):
        """A complete LIST (every page) was read; the watch resumes from its resourceVersion."""
        if not resource_version:
            raise StreamError("the LIST of %s carried no resourceVersion" % self.resource)
        self.resource_version = resource_version
        self.relist_reason = None
        self.lists += 1

    def watch_query(self):
        if self.resource_version is None:
            raise RuntimeError("watch before list")  # a bug in the caller, not a cluster state
        q = {"watch": "1", "resourceVersion": self.resource_version, "allowWatchBookmarks": "true",
             "timeoutSeconds": str(self.timeout_seconds)}
        if self.label_selector:
            q["labelSelector"] = self.label_selector
        return q

    def expire(self, why):
        """Forget the resourceVersion: the next step is a LIST."""
        self.resource_version = None
        self.relist_reason = why

    def on_event(self, event):
        """One decoded watch event -> (type, object) to act on, or None (a bookmark).

        Raises Expired (410: relist) or StreamError (another ERROR: reconnect and resume).
        """
        etype = event.get("type") if isinstance(event, dict) else None
        obj = event.get("object") if isinstance(event, dict) else None
        if not isinstance(obj, dict):
            raise StreamError("a watch event of %s without an object: %s" % (self.resource, _shown(etype)))
        if etype == "ERROR":
            code = obj.get("code")
            message = obj.get("message") or obj.get("reason") or "no message"
            if code == 410:
                self.expire("410 Gone: %s" % _shown(message))
                raise Expired(_shown(message))
            raise StreamError("the watch of %s reported an error (%s): %s"
                              % (self.resource, _shown(code), _shown(message)))
        if etype not in EVENT_TYPES + ("BOOKMARK",):
            raise StreamError("unknown watch event type %s for %s" % (_shown(etype), self.resource))
        problem = object_problem(obj, need_name=etype != "BOOKMARK")
        if problem:
            raise StreamError("a %s watch event of %s %s" % (etype, self.resource, problem))
        rv = obj["metadata"].get("resourceVersion")
        if etype == "BOOKMARK":
            if rv:
                self.resource_version = rv
            self.bookmarks += 1
            return None
        if rv:
            self.resource_version = rv
        self.events += 1
        return etype, obj

    def read_page(self, page):
        """One LIST page -> (items, resourceVersion, continue token), each item an object whose shape the
        trackers can read; StreamError for an answer of another shape (then back off and list again)."""
        if not isinstance(page, dict):
            raise StreamError("the LIST of %s answered %s, not a list object" % (self.resource, _kind(page)))
        items = page.get("items")
        meta = page.get("metadata")
        if items is None:
            items = []
        if not isinstance(items, list) or (meta is not None and not isinstance(meta, dict)):
            raise StreamError("the LIST of %s answered a list whose %s" % (
                self.resource, "items are not a list" if not isinstance(items, list) else "metadata is not a mapping"))
        for i, item in enumerate(items):
            problem = object_problem(item)
            if problem:
                raise StreamError("the LIST of %s answered an item (%d) %s" % (self.resource, i, problem))
        meta = meta or {}
        rv, token = meta.get("resourceVersion"), meta.get("continue")
        if (rv is not None and not isinstance(rv, str)) or (token is not None and not isinstance(token, str)):
            raise StreamError("the LIST of %s answered a resourceVersion or continue token that is not text"
                              % self.resource)
        return items, rv, token

    def on_status(self, status, message=""):
        """The watch request itself was answered with a non-200 status."""
        if status == 410:
            self.expire("410 Gone: %s" % message)
            raise Expired(message)
        raise StreamError(message or "HTTP %s" % status)


class LineSplitter(object):
    """Bytes of a chunked watch response -> complete lines, each at most ``max_line`` bytes."""

    def __init__(self, max_line=8 * 1024 * 1024):
        self.max_line = max_line
        self._buf = bytearray()

    def feed(self, chunk):
        self._buf.extend(chunk)
        lines = []
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end < 0:
                break
            line = bytes(self._buf[start:end]).strip()
            if line:
                lines.append(line)
            start = end + 1
        del self._buf[:start]
        if len(self._buf) > self.max_line:
            self._buf = bytearray()
            raise LineTooLong("a watch event larger than %d bytes" % self.max_line)
        return lines

    @property
    def pending(self):
        return len(self._buf)


def _kind(value):
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _shown(value, limit=200):
    """A value from the API server as a message shows it: text, bounded, without control characters."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c >= " " and c != "\x7f" else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def object_problem(obj, need_name=True):
    """Why a watched object cannot be read (its metadata is not a mapping, its name not text, its labels
    not a mapping of texts, ...), in words; None when it can. The trackers read only these fields."""
    if not isinstance(obj, dict):
        return "is %s, not an object" % _kind(obj)
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return "has metadata that is %s, not a mapping" % _kind(meta)
    for key in ("name", "namespace", "resourceVersion", "deletionTimestamp"):
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            return "has a metadata.%s that is %s, not text" % (key, _kind(value))
    if need_name and not meta.get("name"):
        return "has no metadata.name"
    labels = meta.get("labels")
    if labels is not None and (not isinstance(labels, dict) or
                               not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
        return "has labels that are not a mapping of texts"
    managed = meta.get("managedFields")
    if managed is not None and not isinstance(managed, list):
        return "has managedFields that are not a list"
    return None


# ------------------------------------------------------------------------ namespaces


def _meta(obj):
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta if isinstance(meta, dict) else {}


def labels_fingerprint(labels):
    """A small stand-in for a label set: equal sets, equal fingerprints (within one process)."""
    return hash(frozenset((labels or {}).items()))


def namespace_digest(obj):
    """(name, labels fingerprint, terminating) of a namespace object: all the tracker keeps."""
    meta = _meta(obj)
    return meta.get("name"), labels_fingerprint(meta.get("labels")), bool(meta.get("deletionTimestamp"))


class NamespaceTracker(object):
    """Namespaces as far as access depends on them: name -> (labels fingerprint, terminating).

    Remembers at most ``limit`` namespaces. Beyond it (``untracked``) a change to a namespace it
    does not remember is reported as NAMESPACE_UNTRACKED: one run too many, never one too few.
    """

    def __init__(self, limit=50000):
        self.limit = int(limit)
        self._known = {}
        self.untracked = False

    def __len__(self):
        return len(self._known)

    def __contains__(self, name):
        return name in self._known

    def going_away(self, name):
        """True when the namespace is being deleted or gone (its RoleBindings go with it);
        False when it is active or when this tracker cannot tell."""
        entry = self._known.get(name)
        if entry is None:
            return not self.untracked
        return entry[1]

    def _remember(self, name, fingerprint, terminating):
        if name in self._known or len(self._known) < self.limit:
            self._known[name] = (fingerprint, terminating)
        else:
            self.untracked = True

    def apply(self, etype, obj):
        """One watch event -> a Change, or None when it does not matter for access."""
        name, fingerprint, terminating = namespace_digest(obj)
        if not name:
            return None
        if etype == "DELETED":
            self._known.pop(name, None)
            return None
        before = self._known.get(name)
        self._remember(name, fingerprint, terminating)
        if terminating:
            return None  # being deleted: nothing to grant there
        if before is None:
            if etype == "ADDED" or not self.untracked:
                return Change(NAMESPACE_ADDED, name)
            return Change(NAMESPACE_UNTRACKED, name)
        if before[0] != fingerprint:
            return Change(NAMESPACE_LABELS, name)
        return None

    def replace(self, digests, initial=False):
        """A complete LIST, as namespace_digest() tuples -> the changes the watch missed.

        ``initial``: the first LIST, whose differences are nobody's business (the start itself is
        one change, STARTED, reported by the caller)."""
        was_untracked = self.untracked
        before = self._known
        self._known = {}
        self.untracked = False
        changes = []
        for name, fingerprint, terminating in digests:
            self._remember(name, fingerprint, terminating)
            if initial or terminating:
                continue
            old = before.get(name)
            if old is None:
                changes.append(Change(NAMESPACE_UNTRACKED if was_untracked else NAMESPACE_ADDED, name))
            elif old[0] != fingerprint:
                changes.append(Change(NAMESPACE_LABELS, name))
        return changes


# -------------------------------------------------------------------------- bindings


def last_writer_is(obj, manager=OWN_MANAGER):
    """True when ``manager`` made the object's latest change (by managedFields time) and nobody
    else did at the same second. False when it cannot tell (no managedFields)."""
    entries = [e for e in _meta(obj).get("managedFields") or [] if isinstance(e, dict) and e.get("time")
               and isinstance(e["time"], str)]
    if not entries:
        return False
    latest = max(e["time"] for e in entries)
    return all(e.get("manager") == manager for e in entries if e["time"] == latest)


def binding_digest(obj, manager=OWN_MANAGER):
    """(namespace, name, resourceVersion, last written by us, transition) of a binding."""
    meta = _meta(obj)
    return (meta.get("namespace") or "", meta.get("name"), meta.get("resourceVersion"),
            last_writer_is(obj, manager), TRANSITION_LABEL in (meta.get("labels") or {}))


class BindingTracker(object):
    """One owner's ClusterRoleBindings or RoleBindings: (namespace, name) -> resourceVersion.

    A deletion matters unless the binding was a run's own transition binding or its namespace is
    going away; a change matters unless the modules made it (a run converging, not drift).
    An owned binding appearing never matters: a run made it, or someone copied our labels.
    """

    def __init__(self, kind, namespaces=None, limit=100000, manager=OWN_MANAGER):
        self.kind = kind
        self.namespaces = namespaces  # a NamespaceTracker, for RoleBindings
        self.limit = int(limit)
        self.manager = manager
        self._known = {}
        self.untracked = False

    def __len__(self):
        return len(self._known)

    def _label(self, namespace, name):
        return "%s %s%s" % (self.kind, namespace + "/" if namespace else "", name)

    def _deletion_matters(self, namespace, transition):
        if transition:
            return False
        return not (namespace and self.namespaces is not None and self.namespaces.going_away(namespace))

    def _remember(self, key, rv):
        if key in self._known or len(self._known) < self.limit:
            self._known[key] = rv
        else:
            self.untracked = True

    def apply(self, etype, obj):
        namespace, name, rv, ours, transition = binding_digest(obj, self.manager)
        if not name:
            return None
        key = (namespace, name)
        if etype == "DELETED":
            self._known.pop(key, None)
            return Change(BINDING_DELETED, self._label(namespace, name)) \
                if self._deletion_matters(namespace, transition) else None
        self._remember(key, rv)
        if etype == "MODIFIED" and not ours and not transition:
            return Change(BINDING_CHANGED, self._label(namespace, name))
        return None

    def replace(self, digests, initial=False):
        """A complete LIST, as binding_digest() tuples -> the changes the watch missed."""
        was_untracked = self.untracked
        before = self._known
        self._known = {}
        self.untracked = False
        changes = []
        seen = set()
        for namespace, name, rv, ours, transition in digests:
            key = (namespace, name)
            seen.add(key)
            self._remember(key, rv)
            if initial:
                continue
            old = before.get(key)
            if old is not None and old != rv and not ours and not transition:
                changes.append(Change(BINDING_CHANGED, self._label(namespace, name)))
        if not initial:
            for (namespace, name) in before:
                if (namespace, name) not in seen and self._deletion_matters(namespace, False):
                    changes.append(Change(BINDING_DELETED, self._label(namespace, name)))
            if was_untracked:
                changes.append(Change(RELISTED, "%ss (more than %d, not all remembered)" % (self.kind, self.limit)))
        return changes
