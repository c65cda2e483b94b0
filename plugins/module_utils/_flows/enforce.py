# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enforce flow (what vmo_role_binding runs): observe -> plan -> apply.

``run`` takes the parsed Declaration and Options, refuses a plan that cannot be carried out
(missing roles, a foreign object in the way) before any write, then applies the plan's
actions in order: every create before any delete, so a grant is never without its
replacement. ``apply`` also decides what a 409 means: a create that meets an object made
meanwhile adopts it only if it is this owner's; an update that meets a newer
resourceVersion re-reads and re-applies; a delete of an object replaced meanwhile deletes
the new one only if it is still ours.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vmo.rbac.plugins.module_utils._core import (
    declaration,
    plan_codec,
    plan_expiry,
    plan_model,
    plan_order,
    plan_result,
)
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils._flows.observe import (
    PreflightError, missing_roles_message, observe_options, observe_plan,
)

UPDATE_ATTEMPTS = 5


class PartialApplyError(ClusterError):
    """A write failed part-way; ``done`` lists the actions that were made."""

    def __init__(self, message, done, status=None):
        super(PartialApplyError, self).__init__(message, status)
        self.done = done

    def failure(self):
        return {"changed": bool(self.done), "actions": self.done, "status": self.status}


def diff_entries(actions):
    """Ansible diff entries (before/after per binding) for the planned actions."""
    import yaml  # PyYAML is a requirement of ansible-core itself

    out = []
    for a in actions:
        before = plan_result.binding_summary(a.observed) if a.action != "create" else {}
        after = plan_result.binding_summary(a.desired) if a.action != "delete" else {}
        label = plan_model.describe_key((a.kind, a.namespace, a.name))
        out.append({
            "before_header": label + (" (%s)" % a.reason if a.action != "create" else " (absent)"),
            "after_header": label + (" (%s: %s)" % (a.action, a.reason)),
            "before": yaml.safe_dump(before, default_flow_style=False, sort_keys=True) if before else "",
            "after": yaml.safe_dump(after, default_flow_style=False, sort_keys=True) if after else "",
        })
    return out


def run(decl, opts, cluster, check_mode=False, diff=False):
    """Make the cluster hold exactly the declared bindings. Returns the module result. With
    ``backend: palette`` the bindings are written into the cluster's Palette RBAC settings
    instead (_palette/backend.py)."""
    if opts.backend == "palette":
        from ansible_collections.vmo.rbac.plugins.module_utils._palette import backend as palette_backend

        return palette_backend.enforce(decl, opts, cluster, check_mode=check_mode, diff=diff)
    obs = observe_plan(decl, cluster, observe_options(opts))
    refusal, changed_active = _refusal(decl, opts, obs)
    if refusal is not None:
        return refuse(refusal, decl, opts, obs, cluster, check_mode, diff)
    result = {
        "changed": bool(obs.plan.actions),
        "actions": [plan_result.action_to_dict(a) for a in obs.plan.actions],
        "summary": plan_result.summarize(obs.plan),
        "bindings": [plan_result.binding_summary(b) for _k, b in sorted(obs.desired.items())]
        if opts.state == "present" else [],
        "scopes": [plan_result.scope_to_dict(m) for m in obs.scopes],
        "warnings": list(obs.plan.warnings) + plan_result.scope_warnings(obs.scopes),
    }
    if changed_active:
        # time-limited grants in force that this run changes (if_active=replace or extend): what they were
        result["active_changed"] = changed_active
    if diff:
        result["diff"] = diff_entries(obs.plan.actions)
    if obs.plan.actions and not check_mode:
        _apply_or_explain(obs.plan, cluster, decl.owner, opts, result)
    result["api_requests"] = cluster.requests
    return result


def _apply_or_explain(the_plan, cluster, owner, opts, result=None):
    """Apply the plan; a failure part-way says what was made. ``result``: its actions and summary lose the
    endings another run superseded meanwhile (a grant given again), which it gets a warning for."""
    done, superseded = [], []
    try:
        apply(the_plan, cluster, owner, done, concurrency=opts.concurrency, guard=active_guard(opts.now, opts.if_active),
              now=opts.now, superseded=superseded)
    except ClusterError as exc:
        then = ("fix the permissions, then the next run converges" if exc.status in (401, 403)
                else "the next run converges")
        raise PartialApplyError(
            "%s (%d of %d planned writes were made before this failure; the cluster keeps every "
            "existing grant until its replacement exists; %s)" % (exc.message, len(done), len(the_plan.actions), then),
            [plan_result.action_to_dict(a) for a in done], exc.status)
    if superseded and result is not None:
        skipped = set(id(a) for a, _why in superseded)
        kept = plan_model.Plan([a for a in the_plan.actions if id(a) not in skipped], [], the_plan.unchanged, [])
        result["actions"] = [plan_result.action_to_dict(a) for a in kept.actions]
        result["summary"] = dict(result["summary"], **plan_result.summarize(kept))
        if not kept.actions:
            result["summary"].pop("expired", None)
        result["changed"] = bool(kept.actions)
        result.setdefault("warnings", []).extend(why for _a, why in superseded)


# Why a plan is refused: ``error`` the exception a run raises when refusing changed nothing (the messages as
# they always were), ``reason`` the same reason without "nothing was changed", ``field`` the option at fault.
Refusal = namedtuple("Refusal", "error reason field")


def _refusal(decl, opts, obs):
    """(the first reason the plan cannot be carried out as a whole, or None; the grants in force it changes)."""
    if obs.refusal is not None:
        return Refusal(obs.refusal, str(obs.refusal), obs.refusal.path), []
    if obs.roles.missing:
        reason = missing_roles_message(decl, obs.roles.missing, opts.wait_for_roles)
        return Refusal(PreflightError(reason + " Nothing was changed."), reason, None), []
    conflicts = obs.plan.conflicts
    if conflicts:
        head = "%d binding name%s in the way" % (len(conflicts), "s are" if len(conflicts) > 1 else " is")
        detail = " | ".join(c["message"] for c in conflicts)
        return Refusal(PreflightError("%s; nothing was changed: %s" % (head, detail)), "%s: %s" % (head, detail),
                       None), []
    refused, changed_active = plan_expiry.active_changes(obs.plan, obs.state.owned, opts.now, opts.if_active)
    if refused:
        reason = " | ".join(refused)
        return Refusal(PreflightError("%s. Nothing was changed." % reason), reason, None), []
    return None, changed_active


def refuse(refusal, decl, opts, obs, cluster, check_mode, diff):
    """Refuse the plan, but end the grants whose time has passed first: that never depends on the rest of the
    plan (a foreign object in the way of another entry, a namespace being deleted, ...). With nothing to end,
    the refusal is raised as it always was; otherwise the result fails and says both: what ended, and why the
    rest was refused."""
    if opts.state != "present":
        ends = plan_model.Plan([], [], [], [])
    elif obs.refusal is not None:
        ends = obs.plan  # observe_plan's plan_expiry.end_expired, with the refused plan where it could be made
    else:
        ends = plan_expiry.end_expired(obs.state.owned, opts.now, obs.plan)
    if not ends.actions:
        raise refusal.error
    applied = {"actions": [], "summary": plan_result.summarize(ends)}
    if not check_mode:
        try:
            _apply_or_explain(ends, cluster, decl.owner, opts, applied)
        except PartialApplyError as exc:  # say both: why the plan was refused, and why ending failed
            raise PartialApplyError("%s. Ending the grants whose time has passed failed too: %s"
                                    % (refusal.reason.rstrip("."), exc.message), exc.done, exc.status)
        if "warnings" in applied:  # another run gave a grant again meanwhile: not ended after all
            ends = plan_model.Plan([a for a in ends.actions if plan_result.action_to_dict(a) in applied["actions"]],
                                   [], [], [])
            if not ends.actions:
                raise refusal.error
    ended = "; ".join("%s (%s)" % (plan_model.describe_key(plan_model.key_of(a)), plan_expiry.ended_why(a))
                      for a in ends.actions)
    result = {
        "failed": True, "changed": True,
        "msg": "%s. Nothing else was changed, but the grant%s whose time has passed %s: ending them never depends "
               "on the rest of the plan: %s." % (refusal.reason.rstrip("."), "s" if len(ends.actions) > 1 else "",
                                                 "would end (check mode)" if check_mode else "ended", ended),
        "refused": refusal.reason,
        "actions": [plan_result.action_to_dict(a) for a in ends.actions],
        "summary": plan_result.summarize(ends),
        "bindings": [], "scopes": [],
        "warnings": applied.get("warnings", []),
        "api_requests": cluster.requests,
    }
    if refusal.field:
        result["field"] = refusal.field
    if diff:
        result["diff"] = diff_entries(ends.actions)
    return result


# ------------------------------------------------------------------------- applying


def active_guard(now, if_active):
    """What ``apply`` checks of a binding that another run made or changed between this run's LIST and its
    write (a 409): with if_active refuse or extend, a time-limited grant in force that a concurrent request made
    is never overwritten against it (plan_expiry.active_change). None: nothing to check."""
    if if_active == "replace":
        return None

    def guard(current, desired):
        why = plan_expiry.active_change(current, desired, now, if_active)
        if why:
            raise ClusterError("another run made or changed it between this run's read and its write: " + why)
    return guard


class Superseded(Exception):
    """A binding this run was ending (its time had passed) was given again by another run between this run's read
    and its write: it is left as it is."""


def _still_due(current, planned, now):
    """Is re-read binding ``current`` still to be ended, as ``planned`` (the one read before) was? Not when another
    run made it permanent or moved its end past now (``now`` None: when its end moved at all)."""
    if not plan_expiry.is_time_limited(current):
        return False
    end = plan_expiry.recorded_time(current.annotations, declaration.EXPIRES_ANNOTATION)
    if end is None:
        return True
    if now is not None:
        return end <= now
    return current.annotations.get(declaration.EXPIRES_ANNOTATION) == planned.annotations.get(declaration.EXPIRES_ANNOTATION)


def apply(the_plan, cluster, owner, done=None, concurrency=1, guard=None, now=None, superseded=None):
    """Run a plan's actions in order; ``done`` collects the actions made. ``guard(observed, desired)``: checked
    against a binding another run made or changed meanwhile, before it is overwritten (raises to refuse).

    An action that ends a grant (``counts_as`` expired) writes only the version it read (its resourceVersion);
    when another run changed the binding meanwhile, it is read again and ended only if it is still due (``now``,
    the time of the run): a grant given again meanwhile is left as it is, and ``superseded`` collects
    (action, why).

    With ``concurrency`` above 1 the actions of one wave (plan_order.waves: same phase and kind,
    distinct objects) are sent together, at most that many at a time, and the next wave starts
    when the last one has ended; with 1, one after the other. On a failure no new action starts;
    the ones under way end, and every action made is in ``done``."""
    done = [] if done is None else done
    created_uids = {}

    superseded = [] if superseded is None else superseded

    def one(a):
        key = (a.kind, a.namespace, a.name)
        due = None
        if a.counts_as == "expired" and isinstance(a.observed, plan_model.Observed):
            def due(current, planned=a.observed):
                return _still_due(current, planned, now)
        try:
            if a.action == "create":
                obj = _create(cluster, a.desired, owner, guard)
                created_uids[key] = (obj.get("metadata") or {}).get("uid")
            elif a.action == "update":
                _update(cluster, a.desired, a.observed, owner, guard=guard, due=due)
            else:
                uid = created_uids.get(key) or (a.observed.uid if isinstance(a.observed, plan_model.Observed) else None)
                _delete(cluster, a.kind, a.namespace, a.name, uid, owner, due=due,
                        resource_version=a.observed.resource_version if due is not None else None)
        except Superseded as exc:
            superseded.append((a, str(exc)))
            return
        done.append(a)

    if concurrency <= 1:
        for a in the_plan.actions:
            one(a)
        return done
    stop = threading.Event()

    def guarded(a):
        if stop.is_set():
            return
        try:
            one(a)
        except Exception:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for wave in plan_order.waves(the_plan.actions):
            futures = [pool.submit(guarded, a) for a in wave]
            failure = None
            for future in futures:
                try:
                    future.result()
                except Exception as exc:  # pylint: disable=broad-except  # re-raised below, after the wave
                    failure = failure or exc
            if failure is not None:
                raise failure
    return done


def _create(cluster, desired, owner, guard=None):
    try:
        return cluster.create_binding(plan_codec.binding_to_api(desired))
    except ApiError as exc:
        if exc.status != 409:
            raise
    # Someone (or our own retried POST) created it meanwhile: adopt only our own object.
    current = cluster.get_binding(desired.kind, desired.namespace, desired.name)
    o = plan_codec.observed_from_api(current, desired.kind)
    if not plan_codec.is_owned(o.labels, owner):
        raise ClusterError("%s appeared during the run and is not owned by %r; it was left alone"
                           % (plan_model.describe_key(plan_model.key_of(o)), owner))
    if (o.role_kind, o.role_name) != (desired.role_kind, desired.role_name):
        raise ClusterError("%s appeared during the run with role %s %s; run again to converge"
                           % (plan_model.describe_key(plan_model.key_of(o)), o.role_kind, o.role_name))
    if guard is not None:
        guard(o, desired)
    # not only the subjects: an end and a reason made meanwhile are not this run's (the result would claim them)
    if not plan_codec.matches(desired, o):
        return _update(cluster, desired, o, owner, current, guard)
    return current


def _update(cluster, desired, observed, owner, current=None, guard=None, due=None):
    for _attempt in range(UPDATE_ATTEMPTS):
        if current is None:
            base = {"metadata": {"labels": observed.labels, "annotations": observed.annotations,
                                 "resourceVersion": observed.resource_version}}
        else:
            base = current
        try:
            return cluster.replace_binding(plan_codec.binding_to_api(desired, base=base))
        except ApiError as exc:
            if exc.status != 409:
                raise
        current = cluster.get_binding(desired.kind, desired.namespace, desired.name)
        o = plan_codec.observed_from_api(current, desired.kind)
        if not plan_codec.is_owned(o.labels, owner):
            raise ClusterError("%s was taken over by someone else during the run; it was left alone"
                               % plan_model.describe_key(plan_model.key_of(o)))
        if due is not None and not due(o):
            raise Superseded(_superseded(o))
        if guard is not None:
            guard(o, desired)
    raise ClusterError("%s kept changing under us (%d conflicts); run again"
                       % (plan_model.describe_key(plan_model.key_of(desired)), UPDATE_ATTEMPTS))


def _superseded(o):
    return ("%s was given again by another run while this one ended it (it now ends at %s): left as it is"
            % (plan_model.describe_key(plan_model.key_of(o)), o.annotations.get(declaration.EXPIRES_ANNOTATION) or "never"))


def _delete(cluster, kind, namespace, name, uid, owner, due=None, resource_version=None, attempts=UPDATE_ATTEMPTS):
    try:
        cluster.delete_binding(kind, namespace, name, uid, resource_version)
    except ApiError as exc:
        if exc.status == 404:
            return
        if exc.status != 409 or attempts <= 1:
            raise
        # The object was replaced (or, for a grant that ended, changed) since we listed it: delete it only if it is
        # still ours (and still due).
        current = cluster.get_binding(kind, namespace, name)
        o = plan_codec.observed_from_api(current, kind)
        if not plan_codec.is_owned(o.labels, owner):
            return
        if due is not None and not due(o):
            raise Superseded(_superseded(o))
        _delete(cluster, kind, namespace, name, o.uid, owner, due, o.resource_version if due is not None else None,
                attempts - 1)
