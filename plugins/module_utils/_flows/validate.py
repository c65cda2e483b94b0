# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validate flow (what vmo_rbac_validate runs): roles present, binding drift, effective access.

Binding drift is the enforcer's own plan, computed read-only (observe.observe_plan), so it
is exactly the list of actions vmo_role_binding would take. Effective access is asked of
the API server with SubjectAccessReviews (access.py builds the questions). Never writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmo.rbac.plugins.module_utils._core import (
    personas,
    plan_expiry,
    plan_model,
    plan_result,
    verdict,
)
from ansible_collections.vmo.rbac.plugins.module_utils._flows import snapshot, whocan
from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from ansible_collections.vmo.rbac.plugins.module_utils._core import expiry as expiries
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, no_cyclic_gc
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError, subject_from_api, subject_label
from ansible_collections.vmo.rbac.plugins.module_utils._flows.observe import (
    missing_roles_message, observe_options, observe_plan, referenced_roles, wait_for_api_server_ready,
)

FIX = {
    "create": "vmo_role_binding would create it",
    "update": "vmo_role_binding would update it",
    "delete": "vmo_role_binding would delete it",
    "conflict": "remove or rename the object in the way, or give the grant another name",
    "expire": "vmo_role_binding ends it at its next run, also when it refuses the rest of its plan (removes its "
              "subjects; the binding stays as the record while its entry is declared)",
    "expire-delete": "vmo_role_binding deletes it at its next run (expired, and nobody declares it); when it "
                     "refuses the rest of its plan, it removes its subjects",
}


def drift_items(the_plan):
    """Each planned action (and each conflict) as an actionable drift item, decided by the action's ``cause``."""
    items = []
    for a in the_plan.actions:
        if a.cause == plan_model.CAUSE_TRANSITION:
            continue  # the bridge of an in-place role change is part of the delete/create pair below
        if a.action == "create" and a.cause == plan_model.CAUSE_ROLE_REF:
            continue  # reported once, by the delete of the old object
        role_change = a.action == "delete" and a.cause == plan_model.CAUSE_ROLE_REF
        problem = "missing" if a.action == "create" else ("roleRef differs: " + a.reason) if role_change else a.reason
        item = {"kind": a.kind, "name": a.name, "problem": problem, "fix": FIX[a.action], "action": a.action,
                "cause": a.cause}
        if a.counts_as == "expired":
            # a time-limited grant whose time has passed still grants: a violation until the enforcer runs
            still = ", ".join(subject_label(s) for s in a.observed.subjects) or "nobody"
            item.update(problem="%s, still grants %s" % (a.reason, still), action="expire",
                        fix=FIX["expire-delete" if a.action == "delete" else "expire"])
        if a.namespace:
            item["namespace"] = a.namespace
        if role_change:
            item["fix"] = "vmo_role_binding would recreate it with the new role (without an access gap)"
            item["action"] = "replace"
        items.append(item)
    for c in the_plan.conflicts:
        item = {"kind": c["kind"], "name": c["name"], "problem": "foreign object in the way: " + c["message"],
                "fix": FIX["conflict"], "action": "conflict", "cause": "conflict"}
        if c["namespace"]:
            item["namespace"] = c["namespace"]
        items.append(item)
    return items


def role_checks(decl, roles_seen, referenced):
    """Presence of every referenced role, and (VMO role set) comparison with the reference rules.

    ``roles_seen``: observe.RolesSeen with rules; ``referenced``: (ClusterRole names, (namespace,
    Role name) pairs) from observe.referenced_roles."""
    cluster_roles, roles = referenced
    live = roles_seen.cluster_roles
    reference = dict((r["metadata"]["name"], r) for r in personas.reference_cluster_roles())
    out = []
    compare = set(personas.ROLE_SETS["vmo"].values()) | set(personas.LEGACY_DASHBOARD_ROLES)
    for name in sorted(cluster_roles):
        item = {"kind": "ClusterRole", "name": name, "present": name in live,
                "persona": personas.persona_for_role(decl.role_set, name), "reference": None, "detail": ""}
        if name in live and name in compare and name in reference:
            want = set(personas.normalize_rules(reference[name]["rules"]))
            have = set(personas.normalize_rules(live[name].get("rules")))
            if want == have:
                item["reference"] = "match"
                item["detail"] = "same rules as the shipped reference role"
            else:
                item["reference"] = "differs"
                item["detail"] = ("differs from the shipped reference role: %d permission(s) only in the cluster's "
                                  "role, %d only in the reference (information; the access checks are what count)"
                                  % (len(have - want), len(want - have)))
        elif name not in live:
            item["detail"] = "missing"
        out.append(item)
    for ns, name in sorted(roles):
        present = (ns, name) in roles_seen.roles
        out.append({"kind": "Role", "namespace": ns, "name": name, "present": present,
                    "persona": None, "reference": None, "detail": "" if present else "missing"})
    return out


def privileged_subjects(snap):
    """Every subject bound to cluster-admin or to a role with wildcard rules (information), from the run's
    snapshot (snapshot.RbacSnapshot)."""
    roles = dict((r["metadata"]["name"], r) for r in snap.get(snapshot.CLUSTER_ROLES))
    listings = (("ClusterRoleBinding", snap.get(snapshot.CLUSTER_ROLE_BINDINGS)),
                ("RoleBinding", snap.get(snapshot.ROLE_BINDINGS)))

    def why(ref):
        if ref.get("kind") != "ClusterRole":
            return None
        if ref.get("name") == "cluster-admin":
            return "cluster-admin"
        for rule in (roles.get(ref.get("name")) or {}).get("rules") or []:
            if "*" in (rule.get("verbs") or []) and "*" in (rule.get("resources") or []):
                return "wildcard rules"
        return None

    out = []
    for kind, bindings in listings:
        for b in bindings:
            reason = why(b.get("roleRef") or {})
            if not reason:
                continue
            meta = b.get("metadata") or {}
            for s in b.get("subjects") or []:
                subj = subject_label(subject_from_api(s))
                item = {"subject": subj, "binding": meta.get("name"), "binding_kind": kind,
                        "role": b["roleRef"]["name"], "why": reason}
                if meta.get("namespace"):
                    item["namespace"] = meta["namespace"]
                out.append(item)
    out.sort(key=lambda i: (i["subject"], i.get("namespace", ""), i["binding"]))
    return out


def run(decl, opts, cluster, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Run every requested check against one cluster; returns the module result (never writes,
    so check and diff mode change nothing)."""
    started = time.monotonic()
    palette = opts.backend == "palette"
    # The access checks need every namespace, every RoleBinding and every role with its rules (bound_elsewhere,
    # access.named_checks); the privileged audit the ClusterRoles and every binding; the exclusive audit all four
    # RBAC lists: one snapshot (snapshot.py), read together once with the run's other independent reads, serves
    # them and the plan.
    # role_set kubernetes: what admin, edit and view grant follows the cluster's KubeVirt release
    read_release = opts.check_access and decl.role_set == "kubernetes" and opts.kubevirt_release is None
    extra = [("kubevirt_release", lambda: read_kubevirt_release(cluster))] if read_release else []
    if opts.audit_exclusive:
        extra.append(("components", lambda: whocan.running_components(cluster)))
    snap, view, prefetch, wait_for_api_server = None, cluster, list(extra), opts.wait_for_api_server
    if opts.check_access or opts.audit_exclusive or opts.audit_privileged:
        # every kind, read once: the plan, the access checks (bound_elsewhere) and both audits share it
        kinds = snapshot.KINDS
        if wait_for_api_server:  # day 0: the snapshot is read once the API server is ready
            wait_for_api_server_ready(cluster, wait_for_api_server)
            wait_for_api_server = 0
        snap = snapshot.RbacSnapshot(cluster, kinds, opts.concurrency, extra)
        view, prefetch = snapshot.SnapshotView(cluster, snap), []
    obs = observe_plan(decl, view, observe_options(opts, mode="present", check_roles=True, role_rules=True,
                                                   wait_for_api_server=wait_for_api_server,
                                                   observe_bindings=not palette, list_namespaces=opts.check_access,
                                                   prefetch=prefetch))
    extras = dict(obs.prefetched, **(snap.extras if snap is not None else {}))
    if obs.refusal is not None:
        raise _refused(obs)
    roles = role_checks(decl, obs.roles, referenced_roles(decl, obs.desired))

    palette_requests = None
    if palette:  # the drift of the cluster's Palette RBAC settings (_palette/backend.py)
        from ansible_collections.vmo.rbac.plugins.module_utils._palette import backend as palette_backend

        drift, palette_requests = palette_backend.drift(decl, opts, obs.desired, cluster)
    else:
        drift = drift_items(obs.plan) if opts.check_bindings else []
    rows, matrix_rows, undecided = [], [], []
    unproven_named = None
    settled = access.Settled(0, 0, 0)
    matrix, kubevirt = opts.matrix, None
    if decl.role_set == "kubernetes":
        if opts.kubevirt_release is not None:
            release, source = opts.kubevirt_release, "the kubevirt_version option"
        elif read_release:
            release, source = extras["kubevirt_release"]
        else:
            release, source = None, "not read (check_access is false)"
        matrix = access.with_release(opts.matrix, release)
        matrix["release_source"] = source
        kubevirt = {"release": access.release_label(release), "source": source}
    if opts.check_access:
        with no_cyclic_gc():  # the checks, the reviews and the rows: thousands of containers, none in a cycle
            rows, matrix_rows, undecided, unproven_named, settled = _access(decl, opts, cluster, obs, snap, matrix)
    privileged = privileged_subjects(snap) if opts.audit_privileged else []

    if opts.pending_enforce and obs.plan is not None:
        mark_pending(obs.plan, drift, rows)
    elif opts.pending_enforce and palette:
        mark_pending_palette(obs.desired, drift, rows)
    limited = plan_expiry.time_limited(decl, obs.desired, obs.state.owned, opts.now)
    result = {
        "changed": False,
        # the server URL without user information (https://user:password@host in a kubeconfig: never sent, never shown)
        "cluster": cluster.params.get("context") or transport.scrub(cluster.host),
        "passed": None, "summary": None,  # the verdict, once every part is known (below)
        "access": rows, "matrix": matrix_rows, "capabilities": list(opts.matrix["capabilities"]),
        "privileged": privileged, "roles": roles, "drift": drift,
        "scopes": [plan_result.scope_to_dict(m) for m in obs.scopes],
        "warnings": plan_result.scope_warnings(obs.scopes) + (list(obs.plan.warnings) if obs.plan is not None else []),
        "time_limited": limited,
    }
    if kubevirt is not None:
        result["kubevirt"] = kubevirt
        if undecided:
            result["warnings"].append(
                "what %s need changed between KubeVirt releases, and what is known of this cluster's release "
                "(%s: %s) does not decide it: those checks are unchecked, not passed; set kubevirt_version"
                % (", ".join(undecided), kubevirt["release"], kubevirt["source"]))
    if unproven_named is not None:
        result["warnings"].append(str(unproven_named))
    if settled.changed:
        result["warnings"].append(settle_warning(settled))
    result["who_else"] = []
    audit = None
    # ---- who else can: undeclared holders of VM capabilities, see whocan.py
    if opts.audit_exclusive:
        audit = whocan.exclusive_audit(result, opts.platform_subjects, cluster, obs.desired, matrix, opts.concurrency,
                                       lists=snap.lists(), components=extras["components"])
    # ---- end of who else can
    result["passed"], result["summary"] = verdict.tally(
        roles, drift, rows, binding_checks=verdict.binding_checks(obs.desired, drift) if opts.check_bindings else 0,
        not_proven=sum(1 for m in obs.scopes if m.empty), subjects=len(access.grants_by_subject(obs.desired)),
        audit=audit, time_limited=limited,
        named_unproven=unproven_named.count if unproven_named is not None else None)
    result["summary"]["requests"] = cluster.requests
    if palette_requests is not None:
        result["palette_requests"] = palette_requests
    result["summary"]["seconds"] = round(time.monotonic() - started, 3)
    result["msg"] = summary_message(result, decl, obs.roles.missing, opts.wait_for_roles)
    if result["who_else"]:
        result["msg"] = " ".join([result["msg"]] + whocan.message_lines(result))
    result["failed"] = not result["passed"] and opts.fail_on_drift
    return result


def _access(decl, opts, cluster, obs, snap, matrix):
    """The access checks of a run: (rows, matrix rows, undecided capabilities, TooManyNamedObjects or None,
    access.Settled)."""
    unproven_named = None
    checks = access.build_checks(obs.desired, matrix, sorted(obs.state.namespaces),
                                 access.bound_elsewhere(snap.get(snapshot.ROLE_BINDINGS), obs.desired),
                                 decl.golden_image_namespaces)
    undecided = sorted(set(c.capability for c in checks if c.note))
    try:
        checks = access.named_checks(checks, snap.get(snapshot.CLUSTER_ROLES), snap.get(snapshot.ROLES))
    except access.TooManyNamedObjects as exc:
        unproven_named = exc  # the checks about single objects are not asked: not proven (below)
    specs, index, keys = access.unique_reviews(checks)
    statuses = cluster.subject_access_reviews(specs, concurrency=opts.concurrency)
    by_key = dict((k, statuses[i]) for k, i in index.items())  # the keys unique_reviews made
    # a grant enforce made a moment ago may not be in the authorizer yet: disagreeing answers are asked again
    settled = access.settle(
        checks, keys, by_key, specs, index,
        lambda again: cluster.subject_access_reviews(again, concurrency=opts.concurrency), time.sleep)
    rows, matrix_rows = access.evaluate(checks, by_key, keys)
    return rows, matrix_rows, undecided, unproven_named, settled


def settle_warning(settled):
    """What the run says when answers changed when asked again (access.settle)."""
    changed, flapped = settled.changed, settled.flapped
    text = "%d access answer%s changed when asked again (%d review%s asked again within %g s)" % (
        changed, "" if changed == 1 else "s", settled.asked, "" if settled.asked == 1 else "s",
        sum(access.SETTLE_PAUSES) + access.SETTLE_PAUSES[-1])
    held = changed - flapped
    if held:
        text += ": %d changed and held (a change made a moment ago, not yet in the API server's authorizer, or made " \
                "during the run); the later answers are the ones reported" % held
    if flapped:
        text += "%s %d changed and changed back (the RBAC objects are changing while the run asks, or the API " \
                "servers disagree): reported as the answer that disagrees with the declaration; run again" % (
                    ";" if held else ":", flapped)
    return text


def _refused(obs):
    """The declaration cannot be planned on this cluster (obs.refusal); what has expired and still grants is said
    too, with what is true of it: vmo_role_binding ends it even though it refuses the rest."""
    exc = obs.refusal
    if not obs.plan.actions:
        return exc
    still = "; ".join("%s (%s, still grants %s)" % (plan_model.describe_key(plan_model.key_of(a)),
                                                    plan_expiry.ended_why(a),
                                                    ", ".join(subject_label(x) for x in a.observed.subjects))
                      for a in obs.plan.actions)
    return SpecError(exc.path, "%s. Meanwhile %d grant%s whose time has passed still grant%s access: %s; "
                               "vmo_role_binding ends them at its next run, even though it refuses the rest"
                     % (exc.message.rstrip("."), len(obs.plan.actions), "s" if len(obs.plan.actions) > 1 else "",
                        "" if len(obs.plan.actions) > 1 else "s", still))


def read_kubevirt_release(cluster):
    """The cluster's KubeVirt release line and where it was read: the KubeVirt custom resources' status
    (observed and target version), else KubeVirt's own ClusterRoles (kubevirt.io:migrate exists since
    v1.5.0). ((lowest, highest) or None, text). One request when the custom resource answers, up to three
    when it does not; never raises for what the identity may not read (the release is then unknown)."""
    try:
        release, source = access.release_from_kubevirts(cluster.list_kubevirts())
        if release is not None:
            return release, source
        why = source
    except ApiError as exc:
        why = "listing kubevirts.kubevirt.io: %s" % (
            "not installed (404)" if exc.status == 404 else "HTTP %s" % exc.status)

    def exists(name):
        try:
            cluster.get_cluster_role(name)
            return True
        except ApiError as exc:
            return False if exc.status == 404 else None

    migrate = exists(access.MIGRATE_ROLE)
    edit = exists(access.EDIT_ROLE) if migrate is False else None
    release, source = access.release_from_roles(migrate, edit)
    return release, "%s (the KubeVirt custom resource: %s)" % (source, why)


def mark_pending(the_plan, drift, rows):
    """The enforce step of this run was a dry run: the drift it planned, and the failed access checks
    of the subjects whose bindings it would change, are pending (not failures). Anything else still
    fails: a missing role, a subject the plan does not touch, excess access from elsewhere."""
    touched = set()
    for a in the_plan.actions:
        for b in (a.desired, a.observed):
            if b is not None:
                touched.update(subject_label(s) for s in b.subjects)
    for d in drift:
        d["pending"] = True
    for r in rows:
        if r["ok"] is False and r["subject"] in touched:
            r["pending"] = True


def mark_pending_palette(desired, drift, rows):
    """The same for the palette backend, whose enforce step plans the owner's items in the cluster's
    Palette RBAC settings (the drift here) rather than bindings: every such drift item is pending, and
    so are the failed access checks of the subjects the declaration grants (Palette's agent would
    bind them). Access of anyone else, and a missing role, still fail."""
    touched = set(subject_label(s) for b in desired.values() for s in b.subjects)
    for d in drift:
        d["pending"] = True
    for r in rows:
        if r["ok"] is False and r["subject"] in touched:
            r["pending"] = True


def time_limited_note(result):
    """`` 2 time-limited grants, the next ends in 1h59m (RoleBinding team-a/x).`` or nothing."""
    running = [t for t in result.get("time_limited") or [] if t["state"] in ("active", "pending")]
    if not running:
        return ""
    t = running[0]
    where = "%s/%s" % (t["namespace"], t["name"]) if t.get("namespace") else t["name"]
    return " %d time-limited grant%s in force, the next ends in %s (%s %s)." % (
        len(running), "s" if len(running) > 1 else "", expiries.format_duration(t["seconds_left"]), t["kind"], where)


def summary_message(result, decl, missing, waited):
    s = result["summary"]
    unproven = ""
    if s.get("unchecked_entries"):
        unproven = " Not proven: %s." % " ".join(result["warnings"])
    if result["passed"] and s.get("pending"):
        return ("RBAC on %s will validate once the planned changes are made: %d checks passed, %d pending on the "
                "enforce step's plan (check mode).%s" % (result["cluster"], s["checks"] - s["pending"], s["pending"],
                                                         unproven))
    if result["passed"]:
        return "RBAC validated on %s: %d checks passed (%d subjects, no drift)%s.%s%s" % (
            result["cluster"], s["checks"], s["subjects"],
            ", %d unchecked" % s["unchecked"] if s["unchecked"] else "", time_limited_note(result), unproven)
    parts = ["RBAC validation failed on %s: %d of %d checks failed, %d drift item(s)." % (
        result["cluster"], s["failed"], s["checks"], s["drift"])]
    if missing:
        parts.append(missing_roles_message(decl, missing, waited))
    for d in result["drift"][:5]:
        where = "%s/%s" % (d["namespace"], d["name"]) if d.get("namespace") else d["name"]
        parts.append("Drift: %s %s: %s (%s)." % (d["kind"], where, d["problem"], d["fix"]))
    if len(result["drift"]) > 5:
        parts.append("... and %d more drift items." % (len(result["drift"]) - 5))
    lines = access.summarize_violations(result["access"])
    for line in lines[:8]:
        parts.append("Access: %s." % line)
    if len(lines) > 8:
        parts.append("... and %d more." % (len(lines) - 8))
    return " ".join(parts) + unproven
