"""The golden corpus of the report renderers: inputs, and the digests of what they render to.

The corpus is every input that tests/unit/plugins/plugin_utils/report/test_report.py renders plus a few hundred results made
by a seeded generator (below) that imitates ``vmo_rbac_validate``: clusters that pass, fail or
could not be reached, skipped hosts, custom roles without expectations, partial and scope-leak
violations, drift of every action, missing and differing roles, privileged subjects, hostile
and control characters, empty and missing keys, the four input containers, and bad input.

Each case is rendered in every format twice: without a title and timestamp, and with both.
``report_golden.sha256`` keeps, per case, a digest of its input (so that a change of the
generator is told apart from a change of the renderer) and of each rendering. The unit test
``test_report_golden.py`` renders the corpus again and compares every digest.

When a rendering changes on purpose, regenerate the digests and commit them with the change:

    .venv/bin/python tests/unit/plugins/plugin_utils/report/report_golden.py --update

(``--check`` compares without writing and names every case that differs.)

The generator does not import the collection's data (capabilities, personas) on purpose: the
corpus must stay the same when that data changes, so that only a renderer change moves a digest.
It uses ``random.Random(seed)``, whose sequence Python keeps stable across versions.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import hashlib
import json
import random
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[4]
MANIFEST = HERE / "report_golden.sha256"
SEED = 20261127
GENERATED = 300
# The parts issue 9 added to a result (namespace rules and warnings, optional checks with notes,
# pending items), on inputs of their own generator (seeded apart, so the 300 above stay the same).
NEWER_SEED = 20261209
NEWER_GENERATED = 40
FORMATS = ("json", "markdown", "junit", "html")
DIGEST_CHARS = 24  # 96 bits: plenty to notice a change, short enough for a readable manifest

# ------------------------------------------------------------------ what a cluster looks like

# (capability, scope, [(verb, group, resource, subresource)]) as the collection shipped them when
# the corpus was made; plus custom capabilities a user may add, which have no description.
CAPABILITIES = [
    ("vm.view", "namespaced", [("get", "kubevirt.io", "virtualmachines", ""),
                               ("list", "kubevirt.io", "virtualmachines", ""),
                               ("get", "kubevirt.io", "virtualmachineinstances", "")]),
    ("vm.console", "namespaced", [("get", "subresources.kubevirt.io", "virtualmachineinstances", "console"),
                                  ("get", "subresources.kubevirt.io", "virtualmachineinstances", "vnc")]),
    ("vm.power", "namespaced", [("update", "subresources.kubevirt.io", "virtualmachines", "start"),
                                ("update", "subresources.kubevirt.io", "virtualmachines", "stop"),
                                ("update", "subresources.kubevirt.io", "virtualmachines", "restart")]),
    ("vm.create", "namespaced", [("create", "kubevirt.io", "virtualmachines", "")]),
    ("vm.clone", "namespaced", [("create", "clone.kubevirt.io", "virtualmachineclones", "")]),
    ("vm.delete", "namespaced", [("delete", "kubevirt.io", "virtualmachines", "")]),
    ("vm.migrate", "namespaced", [("create", "kubevirt.io", "virtualmachineinstancemigrations", ""),
                                  ("update", "subresources.kubevirt.io", "virtualmachines", "migrate")]),
    ("vm.snapshot", "namespaced", [("create", "snapshot.kubevirt.io", "virtualmachinesnapshots", "")]),
    ("template.manage", "namespaced", [("create", "spectrocloud.com", "vmtemplates", ""),
                                       ("update", "spectrocloud.com", "vmtemplates", ""),
                                       ("delete", "spectrocloud.com", "vmtemplates", "")]),
    ("cluster.manage", "cluster", [("create", "", "namespaces", ""), ("update", "", "nodes", ""),
                                   ("create", "rbac.authorization.k8s.io", "clusterroles", "")]),
]
CUSTOM_CAPABILITIES = [
    ("vm.export", "namespaced", [("get", "export.kubevirt.io", "virtualmachineexports", "")]),
    ("storage.manage", "cluster", [("create", "storage.k8s.io", "storageclasses", "")]),
]
EXPECTED = {  # persona -> the capabilities it may use (everything else: expected denied)
    "admin": {c[0] for c in CAPABILITIES},
    "power-user": {"vm.view", "vm.console", "vm.power", "vm.create", "vm.clone", "vm.delete", "vm.migrate",
                   "vm.snapshot"},
    "user": {"vm.view", "vm.console", "vm.power"},
    "viewer": {"vm.view"},
}
ROLE_SETS = {
    "vmo": {"admin": "spectro-vm-admin", "power-user": "spectro-vm-power-user", "user": "spectro-vm-user",
            "viewer": "spectro-vm-viewer"},
    "kubernetes": {"admin": "cluster-admin", "power-user": "admin", "user": "edit", "viewer": "view"},
}
CUSTOM_ROLES = ["vm-starter", "vm-exporter", "ops-reader"]

HOSTILE = [
    'evil<script>alert("x")</script>', "pipe|pipe", "amp&amp;", "'q' \"qq\"", "`tick`", "*star*", "_u_",
    "[l](http://x)", "\u00e9\u6f22\u5b57\U0001f642", "bell\x07", "nul\x00byte", "tab\tnew\nline", "c1\x85\x9b",
    "\ufffe\uffff", "]]>", "</testsuite>", "--> <!--", "#hash", "~tilde~", "back\\slash", "  spaced  ",
    "\u202eRTL", "snake_case_name", "a_b", "_lead", "trail_", "<img src=x onerror=alert(1)>", "&lt;",
]
PLAIN_NAMES = ["alice", "bob@example.com", "carol", "dave.ops", "erin", "frank"]
GROUP_NAMES = ["vmo-admins", "auditors", "vm-operators", "web-devs", "contractors", "sre"]
NAMESPACES = ["team-a", "team-b", "web-app-1", "web-app-2", "prod", "dev", "kube-system", "default"]
CLUSTER_NAMES = ["vmo-1", "vmo-2", "prod-east", "prod-west", "edge-7", "lab", "dr-site"]
REASONS_ALLOWED = ['RBAC: allowed by RoleBinding "side-edit/%s" of ClusterRole "edit" to %s',
                   'RBAC: allowed by ClusterRoleBinding "vmo-rbac-%s" of ClusterRole "spectro-vm-admin" to %s']
REASONS_DENIED = ["no RBAC rule allows it", "", "webhook: denied by policy %s for %s"]
DRIFT_ACTIONS = [
    ("create", "missing", "vmo_role_binding would create it"),
    ("update", "subjects: add User %s; remove Group contractors", "vmo_role_binding would update it"),
    ("delete", "not declared any more (purge)", "vmo_role_binding would delete it"),
    ("replace", "roleRef differs: spectro-vm-user -> spectro-vm-viewer",
     "vmo_role_binding would recreate it with the new role (without an access gap)"),
    ("conflict", "foreign object in the way: a RoleBinding of that name exists without our labels",
     "remove or rename the object in the way, or give the grant another name"),
]


def _name(rng, pool, hostile_rate):
    if rng.random() < hostile_rate:
        parts = rng.sample(HOSTILE, rng.randint(1, 2))
        return rng.choice(pool) + " " + "".join(parts) if rng.random() < 0.5 else "".join(parts)
    return rng.choice(pool)


def _identity(kind, name, sa_ns):
    if kind == "User":
        return name, ["system:authenticated"]
    if kind == "Group":
        return "", sorted([name, "system:authenticated"])
    return ("system:serviceaccount:%s:%s" % (sa_ns, name),
            ["system:authenticated", "system:serviceaccounts", "system:serviceaccounts:%s" % sa_ns])


def _label(scope, ns):
    return {"cluster": "(cluster)", "all-namespaces": "(all namespaces)",
            "outside": "%s (outside scope)" % ns}.get(scope, ns)


def _grants(rng, hostile_rate, prefix):
    grants = []
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3]) if rng.random() < 0.95 else 6):
        kind = rng.choice(["User", "User", "Group", "Group", "ServiceAccount"])
        pool = {"User": PLAIN_NAMES, "Group": GROUP_NAMES, "ServiceAccount": ["deployer", "ci", "backup"]}[kind]
        name = _name(rng, pool, hostile_rate)
        if kind != "ServiceAccount":
            name = prefix + name
        sa_ns = _name(rng, NAMESPACES, hostile_rate / 2) if kind == "ServiceAccount" else ""
        persona = rng.choice(["admin", "power-user", "user", "viewer", "viewer", "user"])
        custom = rng.random() < 0.12
        namespaces = None if rng.random() < 0.3 else \
            sorted(set(_name(rng, NAMESPACES, hostile_rate) for _ in range(rng.choice([1, 1, 2, 3]))))
        grants.append((kind, name, sa_ns, persona, custom, namespaces))
    return grants


def _access(rng, grants, caps, hostile_rate, drop_fields):
    """Access rows and the compact matrix, the way access.evaluate builds them."""
    rows, matrix = [], []
    flip_rate = rng.choice([0.0, 0.0, 0.02, 0.08, 0.3])
    for kind, name, sa_ns, persona, custom, namespaces in grants:
        subject = "%s %s" % (kind, "%s/%s" % (sa_ns, name) if kind == "ServiceAccount" else name)
        user, groups = _identity(kind, name, sa_ns)
        personas_ = [rng.choice(CUSTOM_ROLES)] if custom else [persona]
        if not custom and rng.random() < 0.1:
            personas_.append(rng.choice(["viewer", "user"]))
        if namespaces is None:
            scopes = [("", "all-namespaces"), ("", "cluster")]
        else:
            outside = rng.choice(["default", "vmo-rbac-outside-scope", _name(rng, NAMESPACES, hostile_rate)])
            scopes = [(ns, "namespace") for ns in namespaces] + [(outside, "outside")]
        for ns, scope in scopes:
            entry = {"subject": subject, "personas": list(personas_), "scope": _label(scope, ns), "scope_kind": scope,
                     "cells": {}, "allowed": {}, "expected": {}}
            for cap, cap_scope, checks in caps:
                if (cap_scope == "cluster") != (scope == "cluster"):
                    continue
                if scope == "outside":
                    expected = False
                elif custom:
                    expected = None
                else:
                    expected = cap in EXPECTED[persona]
                flip_first_only = rng.random() < 0.5
                flipped = rng.random() < flip_rate
                for i, (verb, group, resource, sub) in enumerate(checks):
                    row = {"subject": subject, "subject_kind": kind, "subject_name": name, "as_user": user,
                           "as_groups": list(groups), "personas": list(personas_), "capability": cap, "verb": verb,
                           "group": group, "resource": resource, "subresource": sub, "namespace": ns,
                           "scope": scope, "expected": expected}
                    if kind == "ServiceAccount":
                        row["subject_namespace"] = sa_ns
                    if expected is None:
                        row.update(allowed=None, ok=None, reason="unchecked: no expectation for this role; add "
                                                                 "one with the capabilities option")
                    else:
                        allowed = (not expected) if flipped and (i == 0 or not flip_first_only) else expected
                        reason = rng.choice(REASONS_ALLOWED if allowed else REASONS_DENIED)
                        if "%s" in reason:
                            reason = reason % (ns or "x", subject)
                        row.update(allowed=allowed, ok=allowed == expected, reason=reason)
                    for field in drop_fields:
                        row.pop(field, None)
                    rows.append(row)
                    state = "unchecked" if row.get("ok") is None else ("ok" if row["ok"] else "violation")
                    prev = entry["cells"].get(cap)
                    if prev is None or (prev == "ok" and state == "violation") or \
                            (prev == "unchecked" and state != "unchecked"):
                        entry["cells"][cap] = state
                    if row.get("allowed") is not None:
                        entry["allowed"][cap] = entry["allowed"].get(cap, True) and row["allowed"]
                    entry["expected"][cap] = expected
            matrix.append(entry)
    return rows, matrix


def _roles(rng, role_set, grants, hostile_rate):
    roles = []
    for persona in sorted({g[3] for g in grants if not g[4]}):
        name = ROLE_SETS[role_set][persona]
        present = rng.random() > 0.08
        item = {"kind": "ClusterRole", "name": name, "present": present, "persona": persona, "reference": None,
                "detail": "" if present else "missing"}
        if present and role_set == "vmo":
            if rng.random() < 0.2:
                item["reference"] = "differs"
                item["detail"] = ("differs from the shipped reference role: %d permission(s) only in the cluster's "
                                  "role, %d only in the reference (information; the access checks are what count)"
                                  % (rng.randint(0, 4), rng.randint(0, 3)))
            else:
                item["reference"] = "match"
                item["detail"] = "same rules as the shipped reference role"
        roles.append(item)
    for g in grants:
        if g[4] and rng.random() < 0.7:
            present = rng.random() > 0.15
            roles.append({"kind": "Role", "namespace": (g[5] or ["default"])[0], "name": rng.choice(CUSTOM_ROLES),
                          "present": present, "persona": None, "reference": None,
                          "detail": "" if present else "missing"})
    if rng.random() < 0.1:
        roles.append({"kind": "ClusterRole", "name": _name(rng, ["spectro-list-namespaces"], hostile_rate),
                      "present": rng.random() < 0.5, "persona": None, "reference": None, "detail": ""})
    return roles


def _drift(rng, hostile_rate):
    out = []
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 5])):
        action, problem, fix = rng.choice(DRIFT_ACTIONS)
        kind = rng.choice(["RoleBinding", "ClusterRoleBinding"])
        item = {"kind": kind, "name": "vmo-rbac-" + _name(rng, ["spectro-vm-user", "admin", "view"], hostile_rate),
                "problem": problem % _name(rng, PLAIN_NAMES, hostile_rate) if "%s" in problem else problem,
                "fix": fix, "action": action}
        if kind == "RoleBinding":
            item["namespace"] = _name(rng, NAMESPACES, hostile_rate)
        for field in ("fix", "action", "problem", "kind"):
            if rng.random() < 0.05:
                del item[field]
        out.append(item)
    return out


def _privileged(rng, hostile_rate):
    out = []
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        item = {"subject": "%s %s" % (rng.choice(["Group", "User", "ServiceAccount"]),
                                      _name(rng, ["system:masters", "ops", "kube-system/ops"], hostile_rate)),
                "binding": _name(rng, ["cluster-admin", "ops-all", "break-glass"], hostile_rate),
                "binding_kind": rng.choice(["ClusterRoleBinding", "RoleBinding"]),
                "role": rng.choice(["cluster-admin", "everything"]),
                "why": rng.choice(["cluster-admin", "wildcard rules"])}
        if item["binding_kind"] == "RoleBinding":
            item["namespace"] = _name(rng, NAMESPACES, hostile_rate)
        out.append(item)
    return out


def _failed_result(rng, name, hostile_rate):
    kind = rng.choice(["failed", "unreachable", "skipped", "passed-false", "failed-msg-only", "none"])
    msg = rng.choice(["%s: the API server at https://127.0.0.1:16443 did not answer: connection refused" % name,
                      "missing ClusterRole spectro-vm-admin; install the VMO pack or set create_reference_roles",
                      "no route to \"host\" <&> \x07bell", "", "Unauthorized: " + _name(rng, PLAIN_NAMES, 1.0)])
    r = {"cluster": name} if rng.random() < 0.8 else {}
    if kind == "failed":
        r.update(failed=True, msg=msg)
    elif kind == "unreachable":
        r.update(unreachable=True, msg=msg, changed=False)
    elif kind == "skipped":
        r.update(skipped=True, changed=False, skip_reason="Conditional result was False")
        if rng.random() < 0.5:
            r["msg"] = msg
    elif kind == "passed-false":
        r.update(passed=False, msg=msg)
    elif kind == "failed-msg-only":
        r.update(msg=msg)
    if rng.random() < 0.2:
        r["host"] = _name(rng, CLUSTER_NAMES, hostile_rate)
    return r


def cluster(rng, index):
    """One vmo_rbac_validate result (or a host result of a run that did not validate)."""
    hostile_rate = rng.choice([0.0, 0.0, 0.0, 0.15, 0.6])
    name = _name(rng, CLUSTER_NAMES, hostile_rate) + ("" if rng.random() < 0.7 else "-%d" % index)
    if rng.random() < 0.15:
        return _failed_result(rng, name, hostile_rate)
    role_set = rng.choice(["vmo", "vmo", "kubernetes"])
    prefix = rng.choice(["", "", "oidc:"])
    caps = list(CAPABILITIES)
    if rng.random() < 0.35:
        caps = [c for c in caps if rng.random() < 0.5]
    if rng.random() < 0.15:
        caps += rng.sample(CUSTOM_CAPABILITIES, rng.randint(1, 2))
    grants = _grants(rng, hostile_rate, prefix)
    drop = [f for f in ("reason", "as_groups", "personas", "subresource") if rng.random() < 0.03]
    rows, matrix = _access(rng, grants, caps, hostile_rate, drop)
    roles = _roles(rng, role_set, grants, hostile_rate)
    drift = _drift(rng, hostile_rate)
    privileged = _privileged(rng, hostile_rate)
    violations = sum(1 for r in rows if r.get("ok") is False)
    unchecked = sum(1 for r in rows if r.get("ok") is None)
    failed = sum(1 for r in roles if not r["present"]) + len(drift) + violations
    checks = len(roles) + len(grants) + len(rows) - unchecked
    result = {
        "changed": False, "cluster": name, "passed": failed == 0,
        "summary": {"checks": checks, "passed": checks - failed, "failed": failed, "drift": len(drift),
                    "unchecked": unchecked, "subjects": len(grants), "requests": rng.randint(3, 900),
                    "seconds": round(rng.random() * 20, 3)},
        "roles": roles, "drift": drift, "access": rows, "matrix": matrix,
        "capabilities": [c[0] for c in caps], "privileged": privileged,
        "msg": "RBAC validation on %s" % name if failed == 0 else
               "RBAC validation failed on %s: %d of %d checks failed" % (name, failed, checks),
    }
    # What playbooks and older or hand-made results do to that shape
    if rng.random() < 0.08:
        del result["matrix"]          # the renderer derives the matrix from the access rows
    if rng.random() < 0.05:
        del result["capabilities"]
    if rng.random() < 0.05:
        del result["summary"]
    elif rng.random() < 0.05:
        result["summary"] = {"checks": str(checks), "failed": None, "drift": "n/a"}
    if rng.random() < 0.05:
        del result["passed"]
    if rng.random() < 0.05:
        result["failed"] = True       # a task that failed (fail_on_drift) but carries its data
    if rng.random() < 0.04:
        del result["cluster"]
        result["host"] = _name(rng, CLUSTER_NAMES, hostile_rate)
    if rng.random() < 0.04:
        for m in result.get("matrix") or []:
            if m["scope_kind"] == "outside":
                m["scope"] = "somewhere (outside scope)"  # a label that names no namespace of the rows
    if rng.random() < 0.03:
        for key in ("roles", "drift", "access", "privileged"):
            result[key] = []
    if rng.random() < 0.03:
        result["access"] = result.get("access", []) + [None, "junk", 3]  # ignored: not mappings
    return result


def generated_case(rng, index):
    """Results in one of the containers the filter accepts."""
    n = rng.choice([0, 1, 1, 1, 2, 2, 3, 4])
    results = [cluster(rng, index * 10 + i) for i in range(n)]
    shape = rng.random()
    if shape < 0.08 and n == 1:
        return results[0]                                              # one result
    if shape < 0.16:
        return {"results": results, "changed": False, "msg": "All items completed"}  # a registered loop
    if shape < 0.26 and n:
        return dict(("host-%d-%s" % (i, r.get("cluster", "x")), r) for i, r in enumerate(results))
    return results


def odd_values():
    """Values no module writes but a hand-made or templated result may hold."""
    row = {"subject": True, "personas": [False, None], "capability": "vm.view", "verb": "get", "group": "",
           "resource": "pods", "subresource": None, "namespace": "ns", "scope": "namespace",
           "expected": None, "allowed": None, "ok": False, "reason": 7}
    return {"cluster": True, "passed": None,
            "summary": {"checks": True, "failed": False, "drift": 2.9, "unchecked": "x", "subjects": None},
            "access": [row, dict(row, scope="weird", namespace="", expected=None, allowed=True),
                       dict(row, capability="vm.delete", expected=True, allowed=None)],
            "matrix": [{"subject": "true", "personas": [], "scope": "ns", "scope_kind": "namespace",
                        "cells": {"vm.view": "bogus", "vm.delete": None}, "allowed": [], "expected": "no"}],
            "meta": types.MappingProxyType({"b": 1, "a": datetime.date(2026, 11, 27)}),
            "amount": decimal.Decimal("1.50"), "empty": frozenset()}


def newer_parts(rng, result):
    """``result`` with what vmo_rbac_validate returns since issue 9: ``scopes`` and ``warnings``,
    vm.console ``optional`` (with a ``note`` where denied), and in check mode ``pending`` drift and
    failed checks; the summary counts as the module gives them."""
    if not isinstance(result.get("access"), list):
        return result  # a host that did not validate
    hostile_rate = rng.choice([0.0, 0.0, 0.2, 0.6])
    scopes = []
    for i in range(rng.choice([0, 0, 1, 1, 2, 3])):
        matched = rng.random() < 0.7
        pool = NAMESPACES + ["web-%d" % k for k in range(30)]
        namespaces = sorted(set(_name(rng, pool, hostile_rate) for _ in range(rng.choice([1, 2, 5, 14, 30])))) \
            if matched else []
        scopes.append({"entry": "bindings[%d].%s" % (i, rng.choice(["namespace_regex", "namespace_selector"])),
                       "rules": [_name(rng, ["^web-", "~/^kube-/", "env=prod", "team in (a,b)", "/.*/"], hostile_rate)
                                 for _ in range(rng.randint(1, 2))],
                       "namespaces": namespaces,
                       "skipped_protected": sorted(rng.sample(["kube-system", "kube-public", "kube-node-lease"],
                                                              rng.randint(0, 3))),
                       "matched_nothing": not namespaces})
    result["scopes"] = scopes
    result["warnings"] = ["%s: %s matched no namespace, so this grant gives nothing today (it applies to matching "
                          "namespaces created later; strict_scopes: true makes this an error)"
                          % (m["entry"], ", ".join(m["rules"])) for m in scopes if m["matched_nothing"]]
    if rng.random() < 0.1:
        result["warnings"].append(_name(rng, ["a warning no scope explains"], hostile_rate))
    note = _name(rng, ["console access through the persona role alone is optional; set console_access: true"],
                 hostile_rate / 2)
    optional = set()
    for m in result.get("matrix") or []:
        if m["expected"].get("vm.console") is True and rng.random() < 0.8:
            optional.add((m["subject"], m["scope"]))
            m["expected"]["vm.console"] = "optional"
            m["cells"]["vm.console"] = "ok"
    fixed = 0
    for row in result["access"]:
        if not isinstance(row, dict) or row.get("capability") != "vm.console" or row.get("expected") is not True:
            continue
        if (row["subject"], _label(row["scope"], row["namespace"])) in optional or \
                (not result.get("matrix") and rng.random() < 0.8):
            fixed += row.get("ok") is False
            allowed = rng.random() < 0.5
            row.update(expected="optional", allowed=allowed, ok=True)
            if not allowed:
                row["note"] = note
    pending = 0
    if rng.random() < 0.4:  # a run under --check whose enforce step planned changes
        for d in result.get("drift") or []:
            d["pending"] = True
            pending += 1
        for row in result["access"]:
            if isinstance(row, dict) and row.get("ok") is False and rng.random() < 0.7:
                row["pending"] = True
                pending += 1
    summary = result.get("summary")
    if isinstance(summary, dict) and isinstance(summary.get("failed"), int):
        summary["failed"] = max(0, summary["failed"] - fixed - pending)
        summary.update(unchecked_entries=sum(1 for m in scopes if m["matched_nothing"]), pending=pending)
        if "passed" in result:
            result["passed"] = summary["failed"] == 0
    return result


def _results_in(case):
    """The results in a case made by generated_case, whatever its container."""
    if isinstance(case, list):
        return case
    if isinstance(case.get("results"), list):
        return case["results"]
    if case and all(isinstance(v, dict) for v in case.values()):
        return list(case.values())
    return [case]


def newer_odd_values():
    """The newer keys with values no module writes."""
    row = {"subject": "User u", "capability": "vm.console", "verb": "get", "resource": "virtualmachineinstances",
           "namespace": "ns", "scope": "namespace", "expected": "optional", "allowed": None, "ok": None,
           "note": 7, "pending": "yes"}
    return {"cluster": "odd-newer", "passed": True,
            "summary": {"checks": 1, "unchecked_entries": "two", "pending": None},
            "scopes": [{"entry": None, "rules": "^x", "namespaces": None}, "junk",
                       {"entry": "e", "rules": [None, 3], "namespaces": ["a"], "matched_nothing": "no"}],
            "warnings": "one warning, not a list",
            "access": [row, dict(row, ok=False, allowed=False, pending=True, note=""),
                       dict(row, ok=True, allowed=True, pending=True, expected=True)],
            "drift": [{"kind": "RoleBinding", "name": "x", "pending": 1}, {"name": "y", "pending": True}]}


TITLES = [("Production fleet", "2026-11-27T10:00:00Z"),
          ('a "title" <&> | `x` *y* _z_ \x01\x9b', "2026-11-27 10:00 UTC <&>"),
          ("\u00e9\u6f22\u5b57\U0001f642 report", "job 4242"),
          ("", "")]


def cases():
    """[(case id, results, title, generated_at)], the same list on every run."""
    from tests.unit.plugins.plugin_utils.report import test_report as t  # the inputs of the unit tests

    fixed = [
        ("unit-sample", t.sample_results()),
        ("unit-hostile", t.hostile_results()),
        ("unit-sample-and-hostile", t.sample_results() + t.hostile_results()),
        ("unit-sample-single", t.sample_results()[0]),
        ("unit-sample-green", [t.sample_results()[1]]),
        ("unit-sample-keyed", {"b-host": {"failed": True, "msg": "down"}, "a-host": t.sample_results()[1]}),
        ("unit-sample-loop", {"results": t.sample_results(), "changed": False, "msg": "All items completed"}),
        ("unit-empty", []),
        ("unit-bare", [{"cluster": "bare", "passed": True}]),
        ("unit-missing-role", [t.cluster_result("c", [("Group", "g", "viewer", ["a"])],
                                                roles=[{"kind": "ClusterRole", "name": "spectro-vm-viewer",
                                                        "present": False, "persona": "viewer", "reference": None,
                                                        "detail": "missing"}]),
                               {"cluster": "odd", "passed": False, "msg": "it said no"}]),
        ("unit-odd2", [{"cluster": "odd2", "passed": False, "summary": {"checks": 1, "failed": 1},
                        "msg": "failed somehow"}]),
        ("unit-unreachable", [{"unreachable": True, "msg": "ssh: no"}]),
        ("unit-skipped", [{"cluster": "s", "skipped": True, "skip_reason": "Conditional result was False"}]),
        ("unit-drift-only", [{"cluster": "d", "drift": [{"kind": "RoleBinding", "name": "x"}]}]),
        ("unit-non-json", [{"cluster": "c", "passed": True, "summary": {"checks": 1}, "extra": {"b", "a"},
                            "t": ("x", 1)}]),
        ("unit-playbook", [t.cluster_result("vmo-1", [("Group", "auditors", "viewer", ["team-a"])],
                                            flips={("Group auditors", "team-a", "vm.delete")}),
                           {"cluster": "vmo-3", "failed": True, "msg": "unreachable"}]),
        ("unit-any-names", [t.cluster_result(t.HOSTILE, [("User", t.HOSTILE, "viewer", ["\x00\x1f|<>"])],
                                             flips={("User " + t.HOSTILE, "\x00\x1f|<>", "vm.delete")},
                                             drift=[{"kind": "RoleBinding", "namespace": "\x00\x1f|<>",
                                                     "name": t.HOSTILE, "problem": t.HOSTILE, "fix": t.HOSTILE,
                                                     "action": "update"}])]),
        ("odd-values", [odd_values()]),
        # bad input: the error message is part of the corpus too
        ("bad-none", None),
        ("bad-str", "text"),
        ("bad-int", 42),
        ("bad-item", [{"cluster": "a"}, 3]),
        ("bad-item-none", [None]),
        ("bad-mapping", {"x": 1}),
    ]
    out = [(cid, results, TITLES[i % len(TITLES)]) for i, (cid, results) in enumerate(fixed)]
    rng = random.Random(SEED)
    for i in range(GENERATED):
        out.append(("gen-%03d" % i, generated_case(rng, i), rng.choice(TITLES)))

    # Added with the sections of issue 9 (namespace rules, optional checks and notes, pending items)
    newer = [
        ("newer-sample", t.newer_results()),
        ("newer-ordinary-run", t.newer_results()[1:2]),
        ("newer-check-mode-single", t.newer_results()[0]),
        ("newer-with-older", t.newer_results()[:1] + t.sample_results()),
        ("newer-hostile", [t.newer_hostile_result()]),
        ("newer-warnings-only", [dict(t.cluster_result("w", [("Group", "g", "viewer", ["a"])]),
                                      warnings=["bindings[0].namespace_selector: env=x matched no namespace"])]),
        ("newer-odd-values", [newer_odd_values()]),
    ]
    out += [(cid, results, TITLES[i % len(TITLES)]) for i, (cid, results) in enumerate(newer)]
    rng = random.Random(NEWER_SEED)
    for i in range(NEWER_GENERATED):
        results = generated_case(rng, i)
        for r in _results_in(results):
            newer_parts(rng, r)
        out.append(("newer-gen-%03d" % i, results, rng.choice(TITLES)))
    # issue 15: results with time-limited grants (their own generator, so the cases above stay as they were)
    out.append(("unit-time-limited", t.time_limited_results(), TITLES[0]))
    out.append(("unit-time-limited-hostile", [t.cluster_result(t.HOSTILE, [("User", "a", "viewer", None)],
                                                               time_limited=[time_limited_item(
                                                                   random.Random(1), t.HOSTILE)])], TITLES[1]))
    trng = random.Random(SEED + 15)
    for i in range(TIME_LIMITED_GENERATED):
        out.append(("gen-tl-%03d" % i, with_time_limited(trng, generated_case(trng, GENERATED + i)),
                    trng.choice(TITLES)))
    # issue 12: results of validations with the exclusive audit (who else can), their own generator again
    out.append(("unit-who-else", t.who_else_results(), TITLES[0]))
    out.append(("unit-who-else-hostile", [t.with_who_else(
        t.cluster_result(t.HOSTILE, [("User", "a", "viewer", None)]),
        [who_else_item(random.Random(2), t.HOSTILE), who_else_item(random.Random(3), t.HOSTILE)])], TITLES[1]))
    wrng = random.Random(SEED + 12)
    for i in range(WHO_ELSE_GENERATED):
        out.append(("gen-we-%03d" % i, with_who_else(wrng, generated_case(wrng, GENERATED + 100 + i)),
                    wrng.choice(TITLES)))
    # issue 19: partial holders with what they hold (holds, lacks), checks about one object (access[].name),
    # what custom roles declared and holders beyond RBAC (who_else_summary): a generator of their own
    prng = random.Random(SEED + 19)
    out.append(("unit-proof", [with_proof(prng, t.with_who_else(
        t.cluster_result("proof", [("User", "bob", "viewer", ["team-a"])]),
        [who_else_item(random.Random(4)), who_else_item(random.Random(5))]), force=True)], TITLES[0]))
    out.append(("unit-proof-hostile", [with_proof(random.Random(6), t.with_who_else(
        t.cluster_result(t.HOSTILE, [("User", "a", "viewer", ["team-a"])]),
        [who_else_item(random.Random(7), t.HOSTILE)]), name=t.HOSTILE, force=True)], TITLES[1]))
    for i in range(PROOF_GENERATED):
        results = with_who_else(prng, generated_case(prng, GENERATED + 200 + i))
        for r in _results_in(results):
            with_proof(prng, r)
        out.append(("gen-proof-%03d" % i, results, prng.choice(TITLES)))
    # places of the exclusive audit not proven (who_else_unproven: undeclared holders by the RBAC objects the API
    # server did not confirm), a failed question: their own generator again
    out.append(("unit-who-else-unproven", t.unproven_results(), TITLES[0]))
    out.append(("unit-who-else-unproven-hostile", [t.with_unproven(
        t.cluster_result(t.HOSTILE, [("User", "a", "viewer", None)]), [who_else_item(random.Random(8), t.HOSTILE)],
        [unproven_item(random.Random(9), t.HOSTILE), unproven_item(random.Random(10), t.HOSTILE)])], TITLES[1]))
    urng = random.Random(SEED + 21)
    for i in range(UNPROVEN_GENERATED):
        results = with_who_else(urng, generated_case(urng, GENERATED + 300 + i))
        for r in _results_in(results):
            with_unproven(urng, r)
        out.append(("gen-unproven-%03d" % i, results, urng.choice(TITLES)))
    return out


UNPROVEN_GENERATED = 12


def unproven_item(rng, name=None):
    """One entry of a result's ``who_else_unproven`` as the exclusive audit writes it (sometimes a key missing)."""
    f = who_else_item(rng, name)
    item = dict((k, f[k]) for k in ("capability", "namespace", "scope", "subject", "everyone", "through", "via")
                if k in f)
    if rng.random() < 0.1:
        item.pop("via", None)
    return item


def with_unproven(rng, r):
    """One result of an audited run (``who_else`` given) with places not proven, most often with the counts the
    module gives (``summary.who_else_not_proven``, ``who_else_summary.not_proven``), sometimes without."""
    if not isinstance(r, dict) or "who_else" not in r or rng.random() >= 0.7:
        return r
    unproven = [unproven_item(rng) for _ in range(rng.choice([1, 1, 2, 3]))]
    r["who_else_unproven"] = unproven
    places = set((f.get("capability"), f.get("namespace")) for f in r.get("who_else") or [] if isinstance(f, dict))
    not_proven = len(set((f.get("capability"), f.get("namespace")) for f in unproven) - places)
    if isinstance(r.get("who_else_summary"), dict) and rng.random() < 0.8:
        r["who_else_summary"]["not_proven"] = not_proven
    if isinstance(r.get("summary"), dict) and rng.random() < 0.8 and not_proven:
        s = r["summary"] = dict(r["summary"], who_else_not_proven=not_proven)
        for key, add in (("checks", 0), ("failed", not_proven), ("passed", -not_proven)):
            if isinstance(s.get(key), int) and not isinstance(s.get(key), bool):
                s[key] += add
        r["passed"] = False
    return r


PROOF_GENERATED = 16
PROOF_CHECKS = ("get subresources.kubevirt.io/virtualmachineinstances/console",
                "get subresources.kubevirt.io/virtualmachineinstances/vnc",
                "update subresources.kubevirt.io/virtualmachines/stop", "delete kubevirt.io/virtualmachines",
                "list kubevirt.io/virtualmachines")


def with_proof(rng, r, name=None, force=False):
    """One result with the parts issue 19 added: some who_else entries partial with ``holds``/``lacks``,
    some access rows asked about one object (``name``, a few of them allowed where denied was expected),
    and ``custom_roles`` / ``beyond_rbac`` in ``who_else_summary``."""
    if not isinstance(r, dict):
        return r
    for f in r.get("who_else") or []:
        if isinstance(f, dict) and (force or rng.random() < 0.6):
            held = rng.sample(PROOF_CHECKS, rng.randint(1, 2))
            f["partial"] = True
            f["holds"] = [{"check": c, "resource_names": rng.choice([[], [], ["vm-a"], [name or "vm-1", "vm-2"]])}
                          for c in held]
            f["lacks"] = [c for c in PROOF_CHECKS[:2] if c not in held]
            f["resource_names"] = sorted(set(n for h in f["holds"] for n in h["resource_names"]))
    rows = [x for x in r.get("access") or [] if isinstance(x, dict)]
    for x in rows:
        if force or rng.random() < 0.15:
            x["name"] = name or rng.choice(["vm-1", "vm-a", "db-0"])
            if x.get("expected") is False and rng.random() < 0.5:
                x["allowed"], x["ok"] = True, False
                x["reason"] = 'RBAC: allowed by RoleBinding "by-hand/team-a" of ClusterRole "one-vm" to User "bob"'
    summary = r.get("who_else_summary")
    if isinstance(summary, dict):
        summary["custom_roles"] = [{"role_kind": "ClusterRole", "role_name": name or "vm-reader", "found": True,
                                    "capabilities": ["vm.view"], "partial": [{"capability": "vm.console", "holds": [
                                        {"check": PROOF_CHECKS[0], "resource_names": []}]}]}]
        if rng.random() < 0.5:
            summary["beyond_rbac"] = 1
    return r


WHO_ELSE_GENERATED = 24
WHO_ELSE_SUBJECTS = (("Group system:authenticated", "every authenticated user"), ("Group system:serviceaccounts",
                     "every ServiceAccount"), ("Group ci-helpers", ""), ("User bob@example.com", ""),
                     ("ServiceAccount ci/deployer", ""), ("Group system:serviceaccounts:team-a",
                                                          "every ServiceAccount in namespace team-a"))


def who_else_item(rng, name=None):
    """One entry of a result's ``who_else`` as the exclusive audit writes it (sometimes a key missing)."""
    subject, everyone = rng.choice(WHO_ELSE_SUBJECTS)
    if name and rng.random() < 0.5:
        subject, everyone = "User " + name, name
    place = rng.choice(["", "team-a", "leaky", name or "web-app-1"])
    cap = rng.choice([c[0] for c in CAPABILITIES + CUSTOM_CAPABILITIES])
    scope = "cluster" if cap in ("cluster.manage", "storage.manage") else ("namespace" if place else "all-namespaces")
    kind = "RoleBinding" if place and rng.random() < 0.7 else "ClusterRoleBinding"
    binding = name or rng.choice(["oops", "hand-made-edit", "ci-vm-deleter", "readers"])
    role = rng.choice(["spectro-vm-admin", "edit", "view", "vm-deleter", name or "admin"])
    remove = {"kind": kind, "name": binding, "subject": subject, "role_kind": "ClusterRole", "role_name": role}
    if kind == "RoleBinding":
        remove["namespace"] = place
    where = "%s %s/%s" % (kind, place, binding) if kind == "RoleBinding" else "%s %s" % (kind, binding)
    item = {"capability": cap, "namespace": "" if scope != "namespace" else place, "scope": scope,
            "subject": subject, "subject_kind": subject.split(" ")[0], "subject_name": subject.split(" ", 1)[1],
            "everyone": everyone, "through": rng.choice(["own", "own", "membership"]),
            "partial": rng.random() < 0.2, "resource_names": [], "via": [dict(remove, own=True, subjects=1)],
            "confirmed": True, "platform": False, "remove": [remove],
            "fix": "delete %s (ClusterRole %s)" % (where, role)}
    if item["partial"]:
        item["resource_names"] = rng.sample(["vm-a", "vm-b", name or "vm-c"], rng.randint(1, 2))
    for key in ("everyone", "remove", "fix", "scope"):
        if rng.random() < 0.05:
            item.pop(key, None)
    return item


def with_who_else(rng, results):
    """``results`` with the exclusive audit's ``who_else`` (and most often its ``who_else_summary``) added to
    some of its clusters; a clean audit (no undeclared holder) now and then."""
    items = results.get("results") if isinstance(results, dict) and "results" in results else results
    if isinstance(items, dict) and not any(k in items for k in ("cluster", "access", "passed")):
        items = list(items.values())
    if isinstance(items, dict):
        items = [items]
    for r in items if isinstance(items, list) else []:
        if not isinstance(r, dict) or rng.random() >= 0.8:
            continue
        found = [who_else_item(rng) for _ in range(rng.choice([0, 0, 1, 2, 5]))]
        r["who_else"] = found
        if rng.random() < 0.9:
            questions = rng.randint(len(found), 60)
            r["who_else_summary"] = {"questions": questions, "holders": len(found) + 4, "undeclared": len(found),
                                     "platform": 3, "declared": 1, "unconfirmed": rng.choice([0, 0, 1]),
                                     "reviews": 9, "namespaces": ["team-a"], "evaluation_seconds": 0.01,
                                     "platform_subjects": ["Group system:masters"]}
            if isinstance(r.get("summary"), dict):
                places = len(set((f.get("capability"), f.get("namespace")) for f in found))
                r["summary"] = dict(r["summary"], who_else=len(found))
                for key, add in (("checks", questions), ("failed", places), ("passed", questions - places)):
                    if isinstance(r["summary"].get(key), int) and not isinstance(r["summary"].get(key), bool):
                        r["summary"][key] += add
        if found and "passed" in r:
            r["passed"] = False
    return results


TIME_LIMITED_GENERATED = 24
STATES = ("active", "pending", "overdue", "ended")


def time_limited_item(rng, name=None):
    """One entry of a result's ``time_limited`` as vmo_rbac_validate writes it (sometimes a key missing)."""
    left = rng.choice([-86400, -3600, -61, 0, 59, 3600, 7260, 86400 * 3])
    state = rng.choice(STATES)
    item = {"kind": rng.choice(["ClusterRoleBinding", "RoleBinding"]),
            "name": name or "vmo-rbac-spectro-vm-%s-expiring" % rng.choice(["admin", "user", "viewer"]),
            "role": "spectro-vm-user", "persona": rng.choice(["admin", "user", "viewer", "console"]),
            "subjects": rng.sample(["User alice", "Group ops", "ServiceAccount ns/ci", "User " + (name or "b")],
                                   rng.randint(0, 3)),
            "granted_at": "2026-12-04T12:00:00Z", "expires": "2026-12-04T20:00:00Z", "seconds_left": left,
            "time_left": "2h1m left" if left > 0 else "expired 1h ago", "state": state,
            "violation": state == "overdue", "declared": rng.random() < 0.7, "entries": ["bindings[0]"]}
    if item["kind"] == "RoleBinding":
        item["namespace"] = rng.choice(["team-a", "web-app-1", name or "x"])
    if rng.random() < 0.5:
        item["reason"] = rng.choice(["INC-4711", "ticket <b>&amp;</b> | *x*", name or "r"])
    for key in ("reason", "time_left", "state", "subjects"):
        if rng.random() < 0.05:
            item.pop(key, None)
    return item


def with_time_limited(rng, results):
    """``results`` with a ``time_limited`` list added to some of its clusters."""
    items = results.get("results") if isinstance(results, dict) and "results" in results else results
    if isinstance(items, dict) and not any(k in items for k in ("cluster", "access", "passed")):
        items = list(items.values())
    if isinstance(items, dict):
        items = [items]
    for r in items if isinstance(items, list) else []:
        if isinstance(r, dict) and rng.random() < 0.8:
            r["time_limited"] = [time_limited_item(rng) for _ in range(rng.randint(1, 4))]
    return results


# ------------------------------------------------------------------------------ digests


def _canonical(value):
    """A stable text of an input (sets sorted, tuples marked), for its digest."""
    def default(v):
        if isinstance(v, (set, frozenset)):
            return {"__set__": sorted(v, key=repr)}
        if isinstance(v, tuple):
            return {"__tuple__": list(v)}
        return repr(v)
    return json.dumps(value, sort_keys=True, ensure_ascii=True, default=default)


def _digest(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]


def variants(title, generated_at):
    return (("plain", None, None), ("stamped", title, generated_at))


def render_case(render, error_type, results, title, generated_at):
    """{format/variant: text}; bad input renders as its error message."""
    out = {}
    for vname, vtitle, vstamp in variants(title, generated_at):
        for fmt in FORMATS:
            try:
                text = render(results, fmt, title=vtitle, generated_at=vstamp)
            except error_type as exc:
                text = "ReportError(%r, %r)" % (exc.argument, exc.message)
            out["%s/%s" % (fmt, vname)] = text
    return out


def manifest_lines(render, error_type):
    """The manifest: one line per case, ``id input=<digest> json/plain=<digest> ...``."""
    lines = []
    for cid, results, (title, stamp) in cases():
        rendered = render_case(render, error_type, results, title, stamp)
        fields = ["input=" + _digest(_canonical(results))] + \
            ["%s=%s" % (k, _digest(v)) for k, v in sorted(rendered.items())]
        lines.append("%s %s" % (cid, " ".join(fields)))
    return lines


def read_manifest_lines(lines):
    """{case id: {"input" or format/variant: digest}} from manifest lines."""
    out = {}
    for line in lines:
        if not line or line.startswith("#"):
            continue
        cid, *fields = line.split(" ")
        out[cid] = dict(f.split("=", 1) for f in fields)
    return out


def read_manifest(path=MANIFEST):
    return read_manifest_lines(path.read_text(encoding="utf-8").splitlines())


HEADER = ("# Golden digests of the report renderers (tests/unit/plugins/plugin_utils/report/report_golden.py writes this file;\n"
          "# see its docstring). One line per case: the input's digest, then one per format/variant.\n")


def renderer():
    from ansible_collections.vmo.rbac.plugins.plugin_utils import report
    return report.render, report.ReportError


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--update", action="store_true", help="rewrite report_golden.sha256")
    ap.add_argument("--check", action="store_true", help="compare with report_golden.sha256")
    args = ap.parse_args(argv)
    render, error_type = renderer()
    lines = manifest_lines(render, error_type)
    if args.update:
        MANIFEST.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
        print("wrote %d cases (%d renderings) to %s" % (len(lines), len(lines) * 2 * len(FORMATS), MANIFEST))
        return 0
    want = read_manifest()
    have = read_manifest_lines(lines)
    bad = 0
    for cid in sorted(set(have) | set(want)):
        a, b = have.get(cid, {}), want.get(cid, {})
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if diff:
            bad += 1
            print("%s: %s" % (cid, ", ".join(diff)))
    print("%d of %d cases differ" % (bad, len(set(have) | set(want))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / ".build" / "collections"), str(ROOT)]
    sys.exit(main())
