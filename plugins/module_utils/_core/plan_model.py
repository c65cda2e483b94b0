# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The values planning works with: desired and observed bindings, the cluster state, actions and plans.

Pure data, no behaviour beyond naming an object: ``Binding`` (what the declaration asks for),
``Observed`` (what the cluster holds, normalised), ``ClusterState``, ``Action`` (one step of a plan,
with its ``cause`` as data) and ``Plan``; the phases that order a plan and the personas of the
bindings the collection adds on its own (console, legacy lists, golden images).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration

CRB, RB = declaration.CRB, declaration.RB  # the binding kinds (named once, in declaration.py)


# A concrete binding the declaration asks for. subjects is a sorted tuple of Subject; expiry: the
# expiry.Expiry of a time-limited binding (its times are filled in by plan_expiry.stamp), else None.
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

# Why an action is planned, as data (``reason`` is the same in words, for people):
CAUSE_MISSING = "missing"          # create: the declared binding does not exist
CAUSE_ROLE_REF = "roleRef"         # delete and re-create: the binding's role changed (roleRef is immutable)
CAUSE_TRANSITION = "transition"    # the short-lived bridge of a roleRef change (create, update, replace, cleanup)
CAUSE_LEFTOVER = "leftover"        # delete: a transition binding an interrupted run left behind
CAUSE_SUBJECTS = "subjects"        # update: subjects to add or remove
CAUSE_LABELS = "labels"            # update: this collection's labels differ
CAUSE_EXPIRES = "expires"          # update: the end of a time-limited grant moved
CAUSE_ANNOTATIONS = "annotations"  # update: this collection's other annotations differ
CAUSE_EXPIRED = "expired"          # a time-limited grant whose time has passed: its subjects go, or it goes
CAUSE_MOVED = "moved"              # delete: the grant moved to a binding that gained or lost its end
CAUSE_SUCCESSOR = "successor"      # delete: another binding grants the persona with another role
CAUSE_PURGE = "purge"              # delete: no longer declared (purge)
CAUSE_ABSENT = "absent"            # delete: state=absent
CAUSES = (CAUSE_MISSING, CAUSE_ROLE_REF, CAUSE_TRANSITION, CAUSE_LEFTOVER, CAUSE_SUBJECTS, CAUSE_LABELS, CAUSE_EXPIRES,
          CAUSE_ANNOTATIONS, CAUSE_EXPIRED, CAUSE_MOVED, CAUSE_SUCCESSOR, CAUSE_PURGE, CAUSE_ABSENT)

# One step of a plan. action: create | update | delete; reason: why, in words; cause: why, as data (CAUSES);
# phase: where it runs (PHASE_*); counts_as: the summary count it adds to (created, updated, replaced,
# deleted, expired) or None (the steps of a role change that are not a change of their own).
Action = namedtuple("Action", "action kind namespace name reason phase counts_as desired observed cause")

# bindings: the desired bindings as planned (time-limited ones with their times, and without subjects
# once expired: plan_expiry.stamp); None when planning added nothing to them.
Plan = namedtuple("Plan", "actions conflicts unchanged warnings bindings", defaults=(None,))

PHASE_CREATE, PHASE_UPDATE, PHASE_DELETE, PHASE_RECREATE, PHASE_CLEANUP = range(5)

# The persona label of the bindings the collection adds on its own.
PERSONA_CUSTOM = "custom"
PERSONA_LEGACY = "legacy-dashboard"
PERSONA_CONSOLE = "console"
PERSONA_GOLDEN_IMAGE = "golden-image"


def key_of(obj):
    """(kind, namespace, name) of a binding or an action."""
    return (obj.kind, obj.namespace, obj.name)


def describe_key(key):
    """``RoleBinding ns/name`` or ``ClusterRoleBinding name``."""
    kind, ns, name = key
    return "%s %s/%s" % (kind, ns, name) if ns else "%s %s" % (kind, name)
