# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``palette`` backend: the same declaration, written into the cluster's Palette RBAC settings.

enforce: observe (cluster: namespaces, roles; never its bindings) -> resolve -> GET the RBAC items ->
plan (palette_rbac, pure) -> PUT the whole list when it changes -> read it back (``write``) ->
optionally wait until the access is in force on the cluster (SubjectAccessReviews through the
cluster's own kubeconfig). enforce.run and validate.run hand over to this module when ``backend:
palette``.

Concurrent writers. The specification offers no version, ETag or precondition on
the RBAC settings (GET and PUT of /v1/spectroclusters/{uid}/config/rbacs, and of one item, declare
none), so two writers that read the list at the same time and both PUT it back lose the first one's
changes. After its PUT the backend waits about as long as a GET and a PUT took it (SETTLE_FACTOR,
at most SETTLE_MAX), so that a writer whose GET began before this PUT has written by then, and reads
the list back: when this owner's grants are not as written, it plans again on the list as it is now
plus the items it had read and sent back that are gone (another owner's, the UI's, Palette's own),
and writes again, at most WRITES_MAX times; then it fails naming what was lost. A PUT that fails
(429, 5xx, a connection cut after sending) is never sent again as it was: the list is read again and
planned anew.

validate: the same read-only plan is the drift (Palette items vs the declaration); access is proved
on the cluster with SubjectAccessReviews exactly as for the kubernetes backend, because the
bindings Palette's agent creates carry names Palette chooses.

Palette requests go through palette.PaletteClient, Kubernetes requests through cluster.Cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_result
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access, holders
from ansible_collections.vmo.rbac.plugins.module_utils._palette import (
    connection as palette_connection,
    rbac as palette_rbac,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import subject_label
from ansible_collections.vmo.rbac.plugins.module_utils._palette import client as palette_api
from ansible_collections.vmo.rbac.plugins.module_utils._flows.observe import (
    PreflightError, missing_roles_message, observe_options, observe_plan,
)
from ansible_collections.vmo.rbac.plugins.module_utils._http.transport import RETRY_STATUSES
from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import VmoError

# Writing the RBAC settings (``write``): at most WRITES_MAX PUTs when a concurrent writer keeps
# overwriting this owner's grants; after each, a pause of SETTLE_FACTOR x (the GET's and the PUT's
# time) + SETTLE_MIN seconds, at most SETTLE_MAX, before the list is read back.
WRITES_MAX = 4
SETTLE_FACTOR = 1.5
SETTLE_MIN = 0.25
SETTLE_MAX = 10.0
BACKOFF_MAX = 4.0


class PaletteResultError(VmoError):
    """A failure after something was written: ``result`` is the module result so far."""

    def __init__(self, message, result):
        super(PaletteResultError, self).__init__(message)
        self.message = message
        self.result = result

    def failure(self):
        return dict(self.result)


class WaitError(PaletteResultError):
    """Palette accepted the settings, but the access was not in force on the cluster in time."""


class LostUpdateError(PaletteResultError):
    """Another writer kept overwriting the RBAC settings, or a write could not be read back."""


def client_from_options(palette, component):
    """The Palette client of a run (``palette``: the palette_* options with request_timeout and
    api_retries, as options.Options holds them)."""
    return palette_connection.client(palette, component)


def _client(opts, cluster, component):
    """The module run's Palette client: the one that downloaded the cluster's kubeconfig, if it did
    (module_runner puts it on the cluster: one client, one request count), else a new one."""
    return getattr(cluster, "palette", None) or client_from_options(opts.palette, component)


# --------------------------------------------------------------------- enforce


def enforce(decl, opts, cluster, check_mode=False, diff=False, palette=None):
    """Make owner's items in the cluster's Palette RBAC settings say exactly what is declared. The
    cluster is read (namespaces, roles, access) only when the declaration needs it."""
    palette = palette or _client(opts, cluster, "vmo_role_binding")
    uid = opts.palette["palette_cluster_uid"]
    obs = observe_plan(decl, cluster, observe_options(opts, purge=False, now=None, observe_bindings=False))
    if obs.roles.missing:
        raise PreflightError(missing_roles_message(decl, obs.roles.missing, opts.wait_for_roles)
                             + " Nothing was changed.")
    desired = obs.desired
    started = time.monotonic()
    items = palette.get_rbacs(uid)
    get_seconds = time.monotonic() - started
    the_plan = palette_rbac.plan(items, desired, decl.owner, mode=opts.state, purge=opts.purge)
    if the_plan.conflicts:
        raise PreflightError("%d Palette RBAC item%s in the way on cluster %s; nothing was changed: %s" % (
            len(the_plan.conflicts), "s are" if len(the_plan.conflicts) > 1 else " is", uid,
            " | ".join(c["message"] for c in the_plan.conflicts)))
    warnings = list(the_plan.warnings) + plan_result.scope_warnings(obs.scopes)
    if any(g.name for g in decl.grants):
        warnings.append("the entries' name option does not apply with backend=palette: Palette names the bindings "
                        "it creates in the cluster")
    result = {
        "changed": the_plan.write,
        "actions": [palette_rbac.change_to_dict(c) for c in the_plan.changes],
        "summary": palette_rbac.summarize(the_plan),
        "bindings": palette_rbac.bindings_summary(the_plan.target) if opts.state == "present" else [],
        "scopes": [plan_result.scope_to_dict(m) for m in obs.scopes],
        "warnings": warnings,
        "palette_cluster_uid": uid,
    }
    if diff:
        result["diff"] = [palette_rbac.diff_entry(the_plan, uid, decl.owner)]
    if the_plan.write and not check_mode:
        def replan(now):
            return palette_rbac.plan(now, desired, decl.owner, mode=opts.state, purge=opts.purge)

        result.update(write(palette, uid, the_plan, replan, get_seconds, decl.owner, result,
                            retries=opts.palette.get("api_retries")))
    if opts.wait and opts.state == "present" and not check_mode:
        result["waited"] = wait_for_access(cluster, desired, opts.wait, result)
    result["palette_requests"] = palette.requests
    result["api_requests"] = cluster.requests
    return result


# --------------------------------------------------------------------- writing


def write(palette, uid, the_plan, replan, get_seconds, owner, result, retries=None, sleep=time.sleep,
          clock=time.monotonic):
    """PUT ``the_plan``'s body, read the list back, and write again while a concurrent writer has
    overwritten this owner's grants (see the module's doc). ``replan(items)``: the plan on a list
    read now. Returns {"palette_writes", "warnings"}; raises LostUpdateError (naming what was lost)
    after WRITES_MAX writes, and for any failure after the first write (``result`` then says what
    was written)."""
    retries = 5 if retries is None else retries
    writes, failures, warnings = 0, 0, list(result.get("warnings") or [])
    p = the_plan
    while True:
        started = clock()
        try:
            palette.put_rbacs(uid, p.body)
        except palette_api.PaletteError as exc:
            if exc.status not in (None,) + RETRY_STATUSES or failures >= retries:
                if writes:
                    raise _after_write(exc.message, writes, result, warnings)
                raise
            failures += 1
            # Retry-After as Palette asked (bounded by the client, transport.RETRY_AFTER_MAX), else a backoff
            sleep(exc.retry_after if exc.retry_after is not None else min(BACKOFF_MAX, 0.25 * 2 ** failures))
            p = _read_and_plan(palette, uid, replan, writes, result, warnings)
            if not p.write:  # the PUT went through after all, or someone else wrote the same
                return {"palette_writes": writes, "warnings": warnings}
            continue
        writes += 1
        put_seconds = clock() - started
        sleep(min(SETTLE_MAX, SETTLE_FACTOR * (get_seconds + put_seconds) + SETTLE_MIN))
        started = clock()
        try:
            after = palette.get_rbacs(uid)
        except palette_api.PaletteError as exc:
            raise _after_write("%s; the RBAC settings were written but could not be read back to check them"
                               % exc.message, writes, result, warnings)
        get_seconds = max(get_seconds, clock() - started)
        lost = palette_rbac.lost_after_write(p, after, owner)
        if lost.conflicts:
            raise _after_write("Palette RBAC items of cluster %s came in the way while this run wrote them: %s"
                               % (uid, palette_rbac.describe_lost(lost)), writes, result, warnings)
        if not lost.ours:
            if lost.others or lost.owners:  # removed after this write by a writer that saw it: their change
                warnings.append("Palette RBAC items of cluster %s were removed by another writer after this run "
                                "wrote its own: %s" % (uid, palette_rbac.describe_lost(lost)))
            return {"palette_writes": writes, "warnings": warnings}
        what = palette_rbac.describe_lost(lost)
        if writes >= WRITES_MAX:
            raise _after_write("the RBAC settings of cluster %s in Palette do not keep what this run writes: after %d "
                               "writes, still lost: %s. Another writer keeps overwriting them (run again when it is "
                               "done), or Palette (or something between it and this controller) does not keep what "
                               "it is sent" % (uid, writes, what), writes, result, warnings)
        warnings.append("another writer overwrote the RBAC settings of cluster %s in Palette while this run wrote "
                        "them (lost: %s); merged and written again" % (uid, what))
        try:
            p = replan(after + lost.others)
        except ValueError as exc:  # pragma: no cover - the client checked the shape
            raise _after_write(str(exc), writes, result, warnings)
        if p.conflicts:
            raise _after_write("; ".join(c["message"] for c in p.conflicts), writes, result, warnings)
        if not p.write:  # pragma: no cover - lost.ours means this owner's grants differ
            return {"palette_writes": writes, "warnings": warnings}


def _read_and_plan(palette, uid, replan, writes, result, warnings):
    try:
        p = replan(palette.get_rbacs(uid))
    except palette_api.PaletteError as exc:
        if writes:
            raise _after_write(exc.message, writes, result, warnings)
        raise
    if p.conflicts:
        message = "; ".join(c["message"] for c in p.conflicts)
        if writes:
            raise _after_write(message, writes, result, warnings)
        raise PreflightError(message + "; nothing was changed")
    return p


def _after_write(message, writes, result, warnings):
    return LostUpdateError(message, dict(result, changed=bool(writes), palette_writes=writes, warnings=warnings))


# --------------------------------------------------------------------- validate


def drift(decl, opts, desired, cluster, palette=None):
    """(drift items, Palette requests) for vmo_rbac_validate: the enforcer's Palette plan, computed
    read-only. Without ``check_bindings`` Palette is not asked at all."""
    if not opts.check_bindings:
        return [], 0
    palette = palette or _client(opts, cluster, "vmo_rbac_validate")
    items = palette.get_rbacs(opts.palette["palette_cluster_uid"])
    the_plan = palette_rbac.plan(items, desired, decl.owner, mode="present", purge=opts.purge)
    return palette_rbac.drift_items(the_plan), palette.requests


# --------------------------------------------------------------------- waiting


def _first_rule(rules, namespaced_binding):
    """The access check that proves a binding of a role with these rules is in force: the first
    resource rule as written (it always matches itself), else a non-resource rule (cluster-wide only)."""
    for rule in rules or []:
        verbs, resources = rule.get("verbs") or [], rule.get("resources") or []
        if verbs and resources:
            resource, _sep, sub = resources[0].partition("/")
            attrs = {"verb": verbs[0], "group": (rule.get("apiGroups") or [""])[0], "resource": resource}
            if sub:
                attrs["subresource"] = sub
            if rule.get("resourceNames"):
                attrs["name"] = rule["resourceNames"][0]
            return "resourceAttributes", attrs
    if not namespaced_binding:
        for rule in rules or []:
            if rule.get("verbs") and rule.get("nonResourceURLs"):
                return "nonResourceAttributes", {"verb": rule["verbs"][0], "path": rule["nonResourceURLs"][0]}
    return None, None


def access_probes(desired, cluster_roles, roles):
    """[(label, SubjectAccessReview spec)] proving each declared subject holds each binding, and the
    labels of bindings no check can prove (missing role, or a role without usable rules)."""
    probes, unprovable = [], []
    for key in sorted(desired):
        b = desired[key]
        if b.role_kind == "ClusterRole":
            role = cluster_roles.get(b.role_name)
        else:
            role = roles.get((b.namespace, b.role_name))
        where = ("in namespace %s" % b.namespace) if b.namespace else "cluster-wide"
        label = "%s %s %s" % (b.role_kind, b.role_name, where)
        if role is None:
            unprovable.append("%s (the role does not exist on the cluster)" % label)
            continue
        kind, attrs = _first_rule(role.get("rules"), bool(b.namespace))
        if kind is None:
            unprovable.append("%s (no rule a check can ask)" % label)
            continue
        if kind == "resourceAttributes" and b.namespace:
            attrs = dict(attrs, namespace=b.namespace)
        for s in b.subjects:
            user, groups = access.identity(s)
            probes.append(("%s: %s" % (subject_label(s), label), holders.with_identity(user, groups, attrs, kind)))
    return probes, unprovable


def wait_for_access(cluster, desired, timeout, result=None, interval=1.0):
    """Poll SubjectAccessReviews until every declared subject holds every declared binding.

    Returns {"seconds", "checks", "rounds"}; raises WaitError naming what is not in force yet.
    Only grants are waited for: a removed grant may still be allowed by another one.
    """
    started = time.monotonic()
    deadline = started + timeout
    cluster_roles, roles = {}, {}
    if any(b.role_kind == "ClusterRole" for b in desired.values()):
        cluster_roles = dict((r["metadata"]["name"], r) for r in cluster.list_cluster_roles(metadata_only=False))
    if any(b.role_kind == "Role" for b in desired.values()):
        for r in cluster.list_roles(metadata_only=False):
            roles[(r["metadata"].get("namespace"), r["metadata"]["name"])] = r
    probes, unprovable = access_probes(desired, cluster_roles, roles)
    if unprovable:
        raise WaitError("wait: cannot prove these grants with an access check: %s" % "; ".join(unprovable[:5]),
                        dict(result or {}, changed=bool((result or {}).get("changed"))))
    pending = probes
    rounds = 0
    while True:
        rounds += 1
        statuses = cluster.subject_access_reviews([spec for _label, spec in pending])
        pending = [p for p, st in zip(pending, statuses) if not st.get("allowed")]
        if not pending:
            return {"seconds": round(time.monotonic() - started, 2), "checks": len(probes), "rounds": rounds}
        now = time.monotonic()
        if now >= deadline:
            names = sorted(set(label for label, _spec in pending))
            shown = "; ".join(names[:5]) + (" ..." if len(names) > 5 else "")
            raise WaitError(
                "Palette accepted the RBAC settings, but after %ds %d of %d access checks are not in force on the "
                "cluster yet: %s. Palette's agent applies them asynchronously: check the cluster's health in "
                "Palette, or raise wait" % (timeout, len(pending), len(probes), shown),
                dict(result or {}, changed=bool((result or {}).get("changed"))))
        time.sleep(min(interval, max(0.05, deadline - now)))
        interval = min(interval * 1.5, 5.0)
