# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many changes on one cluster -> one event for that cluster, saying which cluster and why.

Pure (the caller passes the time): unit-tested in ``tests/unit/plugins/plugin_utils/test_coalesce.py``.

A cluster's first change opens a batch. The batch becomes an event once the cluster has been
quiet for ``debounce`` seconds, or ``max_delay`` seconds after its first change at the latest (a
steady stream of changes still gets out), and never sooner than ``min_interval`` seconds after
that cluster's previous event: whatever changes meanwhile joins one follow-up event. With
``min_interval`` about the duration of one reconcile run, a run in flight is followed by at most
one more run for its cluster, however many changes arrive meanwhile (docs/eda.md).

Memory is bounded per cluster: counts per kind of change and at most ``max_samples`` names of
each kind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.plugin_utils.watch import PHRASES

Batch = namedtuple("Batch", "cluster seq counts samples first last emitted")


class _Pending(object):
    __slots__ = ("first", "last", "counts", "samples")

    def __init__(self, now):
        self.first = self.last = now
        self.counts = {}
        self.samples = {}


class Coalescer(object):
    """Per-cluster debounce (quiet period, bounded by max_delay) and minimum interval."""

    def __init__(self, debounce=0.2, max_delay=1.0, min_interval=0.0, max_samples=5):
        if debounce < 0 or max_delay < debounce or min_interval < 0 or max_samples < 0:
            raise ValueError("coalescing: need 0 <= debounce <= max_delay, min_interval >= 0, max_samples >= 0")
        self.debounce = debounce
        self.max_delay = max_delay
        self.min_interval = min_interval
        self.max_samples = int(max_samples)
        self._pending = {}
        self._last_event = {}
        self._seq = {}

    def add(self, cluster, changes, now):
        """Record changes (``watch.Change``) of a cluster; True when there was any."""
        changes = list(changes)
        if not changes:
            return False
        p = self._pending.get(cluster)
        if p is None:
            p = self._pending[cluster] = _Pending(now)
        p.last = now
        for change in changes:
            p.counts[change.kind] = p.counts.get(change.kind, 0) + 1
            names = p.samples.setdefault(change.kind, [])
            if len(names) < self.max_samples and change.subject not in names:
                names.append(change.subject)
        return True

    def pending(self, cluster):
        return cluster in self._pending

    def ready_at(self, cluster):
        p = self._pending[cluster]
        at = min(p.last + self.debounce, p.first + self.max_delay)
        previous = self._last_event.get(cluster)
        if previous is not None:
            at = max(at, previous + self.min_interval)
        return at

    def next_due(self):
        """The earliest time a batch becomes due, or None when nothing is pending."""
        return min((self.ready_at(c) for c in self._pending), default=None)

    def due(self, now):
        """The batches due at ``now`` (removed from the pending set), oldest first."""
        out = []
        for cluster in sorted(self._pending, key=lambda c: self._pending[c].first):
            if self.ready_at(cluster) <= now:
                p = self._pending.pop(cluster)
                self._last_event[cluster] = now
                self._seq[cluster] = self._seq.get(cluster, 0) + 1
                out.append(Batch(cluster, self._seq[cluster], dict(p.counts),
                                 {k: list(v) for k, v in p.samples.items()}, p.first, p.last, now))
        return out


def describe(counts, samples):
    """'3 namespaces added (web-app-1, web-app-2, ...); 1 owned binding deleted (RoleBinding a/b)'."""
    parts = []
    for kind, one, many in PHRASES:
        n = counts.get(kind, 0)
        if not n:
            continue
        names = samples.get(kind) or []
        text = "%d %s" % (n, one if n == 1 else many)
        if names:
            text += " (%s%s)" % (", ".join(names), ", ..." if n > len(names) else "")
        parts.append(text)
    for kind in sorted(set(counts) - set(k for k, _o, _m in PHRASES)):
        parts.append("%d %s" % (counts[kind], kind))
    return "; ".join(parts)


def event_of(batch, source="vmo.rbac.cluster_changes"):
    """The event a batch becomes. ``meta.hosts`` is the cluster's inventory name, which
    ansible-rulebook's run_playbook turns into ``--limit``."""
    return {
        "vmo_rbac": {
            "cluster": batch.cluster,
            "reason": describe(batch.counts, batch.samples),
            "changes": dict(batch.counts),
            "samples": {k: list(v) for k, v in batch.samples.items()},
            "seq": batch.seq,
            "coalesced_seconds": round(max(0.0, batch.emitted - batch.first), 3),
            "source": source,
        },
        "meta": {"hosts": batch.cluster},
    }
