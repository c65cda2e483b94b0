# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What vmo_rbac_validate runs: roles present, binding drift, effective access.

Binding drift is the enforcer's own plan, computed read-only (engine.observe_plan), so it
is exactly the list of actions vmo_role_binding would take. Effective access is asked of
the API server with SubjectAccessReviews (access.py builds the questions). Never writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmo.rbac.plugins.module_utils import access, engine, personas, whocan
from ansible_collections.vmo.rbac.plugins.module_utils.spec import SpecError, subject_from_api, subject_label

VALIDATE_ARG_SPEC = dict(
    check_bindings=dict(type="bool", default=True),
    check_access=dict(type="bool", default=True),
    capabilities=dict(type="dict", default={}),
    fail_on_drift=dict(type="bool", default=True),
    concurrency=dict(type="int", default=16),
    audit_privileged=dict(type="bool", default=False),
)
VALIDATE_ARG_SPEC.update(whocan.AUDIT_ARG_SPEC)  # audit_exclusive, platform_subjects (who else can)

RBAC_PATH = "/apis/rbac.authorization.k8s.io/v1"

FIX = {
    "create": "vmo_role_binding would create it",
    "update": "vmo_role_binding would update it",
    "delete": "vmo_role_binding would delete it",
    "conflict": "remove or rename the object in the way, or give the grant another name",
}


def drift_items(the_plan):
    """Each planned action (and each conflict) as an actionable drift item."""
    items = []
    for a in the_plan.actions:
        if a.name.endswith("-transition") and a.reason.startswith("transition"):
            continue  # the bridge of an in-place role change is part of the delete/create pair below
        problem = {"create": "missing", "update": a.reason}.get(a.action)
        if a.action == "delete":
            problem = "roleRef differs: " + a.reason if a.reason.startswith("roleRef") else a.reason
        if a.action == "create" and a.reason.startswith("roleRef"):
            continue  # reported once, by the delete of the old object
        item = {"kind": a.kind, "name": a.name, "problem": problem, "fix": FIX[a.action], "action": a.action}
        if a.namespace:
            item["namespace"] = a.namespace
        if a.action == "delete" and a.reason.startswith("roleRef"):
            item["fix"] = "vmo_role_binding would recreate it with the new role (without an access gap)"
            item["action"] = "replace"
        items.append(item)
    for c in the_plan.conflicts:
        item = {"kind": c["kind"], "name": c["name"], "problem": "foreign object in the way: " + c["message"],
                "fix": FIX["conflict"], "action": "conflict"}
        if c["namespace"]:
            item["namespace"] = c["namespace"]
        items.append(item)
    return items


def role_checks(decl, desired, cluster, wait_for_roles=0):
    """Presence of every referenced role, and (VMO role set) comparison with the reference rules."""
    cluster_roles, roles = engine.referenced_roles(decl, desired)
    reference = dict((r["metadata"]["name"], r) for r in personas.reference_cluster_roles())
    deadline = time.monotonic() + max(0, wait_for_roles or 0)
    while True:
        live = dict((r["metadata"]["name"], r) for r in cluster.list_cluster_roles(metadata_only=False)) \
            if cluster_roles else {}
        present_roles = set()
        if roles:
            present_roles = set((r["metadata"].get("namespace"), r["metadata"]["name"]) for r in cluster.list_roles())
        missing = [n for n in cluster_roles if n not in live] + [r for r in roles if r not in present_roles]
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(2)

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
        out.append({"kind": "Role", "namespace": ns, "name": name, "present": (ns, name) in present_roles,
                    "persona": None, "reference": None, "detail": "" if (ns, name) in present_roles else "missing"})
    missing_keys = [("ClusterRole", "", r["name"]) if r["kind"] == "ClusterRole" else ("Role", r["namespace"], r["name"])
                    for r in out if not r["present"]]
    return out, missing_keys


def privileged_subjects(cluster):
    """Every subject bound to cluster-admin or to a role with wildcard rules (information)."""
    roles = dict((r["metadata"]["name"], r) for r in cluster.list_cluster_roles(metadata_only=False))

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
    for kind, res in (("ClusterRoleBinding", "clusterrolebindings"), ("RoleBinding", "rolebindings")):
        for b in cluster.list_items(RBAC_PATH + "/" + res, what=("list", res, "", "")):
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


def validate(params, cluster):
    """Run every requested check against one cluster; returns the module result."""
    started = time.monotonic()
    decl = engine.declaration_from_params(params)
    concurrency = params.get("concurrency")
    concurrency = 16 if concurrency is None else concurrency  # 0 is an error below, not the default
    if not 1 <= concurrency <= 256:
        raise SpecError("concurrency", "must be between 1 and 256")
    matrix = access.build_matrix(decl.role_set, params.get("capabilities") or None)
    audit = whocan.audit_options(params)  # bad input fails here, before the first request

    obs = engine.observe_plan(decl, cluster, mode="present", purge=bool(params.get("purge")), require_roles=False)
    roles, missing = role_checks(decl, obs.desired, cluster, params.get("wait_for_roles") or 0)

    drift = drift_items(obs.plan) if params.get("check_bindings", True) else []
    rows, matrix_rows = [], []
    if params.get("check_access", True):
        existing = sorted(obs.state.namespaces) if obs.state.namespaces is not None else \
            sorted(cluster.list_namespaces()[0])
        role_bindings = cluster.list_items(RBAC_PATH + "/rolebindings", what=("list", "rolebindings", "", ""))
        checks = access.build_checks(obs.desired, matrix, existing,
                                     access.bound_elsewhere(role_bindings, obs.desired))
        specs, index, _keys = access.unique_reviews(checks)
        statuses = cluster.subject_access_reviews(specs, concurrency=concurrency)
        by_key = dict((access.review_key(s), st) for s, st in zip(specs, statuses))
        rows, matrix_rows = access.evaluate(checks, by_key)
    privileged = privileged_subjects(cluster) if params.get("audit_privileged") else []

    access_failed = [r for r in rows if r["ok"] is False]
    unchecked = sum(1 for r in rows if r["ok"] is None)
    binding_checks = len(obs.desired) + sum(1 for d in drift if d["action"] in ("delete", "conflict"))
    role_failed = [r for r in roles if not r["present"]]
    total = len(roles) + (binding_checks if params.get("check_bindings", True) else 0) + len(rows) - unchecked
    failed = len(role_failed) + len(drift) + len(access_failed)
    passed = failed == 0
    result = {
        "changed": False,
        "cluster": params.get("context") or cluster.host,
        "passed": passed,
        "summary": {"checks": total, "passed": total - failed, "failed": failed, "drift": len(drift),
                    "unchecked": unchecked, "subjects": len(access.grants_by_subject(obs.desired)),
                    "requests": 0, "seconds": 0.0},
        "roles": roles,
        "drift": drift,
        "access": rows,
        "matrix": matrix_rows,
        "capabilities": list(matrix["capabilities"]),
        "privileged": privileged,
        "who_else": [],
    }
    # ---- who else can (issue 12): undeclared holders of VM capabilities, see whocan.py
    if audit.enabled:
        whocan.exclusive_audit(result, audit, cluster, obs.desired, matrix, concurrency)
    # ---- end of who else can
    result["summary"]["requests"] = cluster.requests
    result["summary"]["seconds"] = round(time.monotonic() - started, 3)
    result["msg"] = summary_message(result, decl, missing, params.get("wait_for_roles") or 0)
    if result["who_else"]:
        result["msg"] = " ".join([result["msg"]] + whocan.message_lines(result))
    return result


def summary_message(result, decl, missing, waited):
    s = result["summary"]
    if result["passed"]:
        return "RBAC validated on %s: %d checks passed (%d subjects, no drift)%s" % (
            result["cluster"], s["checks"], s["subjects"],
            ", %d unchecked" % s["unchecked"] if s["unchecked"] else "")
    parts = ["RBAC validation failed on %s: %d of %d checks failed, %d drift item(s)." % (
        result["cluster"], s["failed"], s["checks"], s["drift"])]
    if missing:
        parts.append(engine.missing_roles_message(decl, missing, waited).replace(" Nothing was changed.", ""))
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
    return " ".join(parts)
