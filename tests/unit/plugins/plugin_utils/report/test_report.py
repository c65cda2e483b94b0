"""Report renderers (plugins/plugin_utils/report/) and the vmo_rbac_report filter.

The sample fleet below is built the way vmo_rbac_validate builds its result (one access row per
subject x scope x capability check, a compact matrix, drift items, role checks) from the shipped
capability matrix, with real-world faults mixed in: a viewer who can delete (excess), a user whose
console access is gone in one namespace (missing), a namespace grant leaking outside its scope, a
custom role without expectations (unchecked), binding drift, a role that differs from the
reference, and a cluster that could not be reached at all.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import html.parser
import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas, plan_result, plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from tests.unit.plugins.plugin_utils.report import report_golden

# The capabilities these results are made of: the ten the collection shipped when these tests were
# written (report_golden.CAPABILITIES), frozen, so that the renderers' tests, and the golden corpus
# made of their inputs, do not move when the capability model grows. The renderers read only the
# descriptions from personas.
CAPS = dict((name, {"scope": scope, "checks": checks}) for name, scope, checks in report_golden.CAPABILITIES)
CAP_ORDER = tuple(CAPS)
CAP_EXPECTED = dict((p, dict((c, c in allowed) for c in CAP_ORDER)) for p, allowed in report_golden.EXPECTED.items())
from ansible_collections.vmo.rbac.plugins.plugin_utils import report
from ansible_collections.vmo.rbac.plugins.plugin_utils.report import (
    html_format,
    html_style,
    json_format,
    junit_format,
    markdown_format,
    model,
)

ROOT = Path(__file__).resolve().parents[5]
REPORT_PACKAGE = ROOT / "plugins" / "plugin_utils" / "report"

HOSTILE = 'evil<script>alert("x")</script>|pipe&amp; \'q\' `tick` *star* _u_ [l](http://x) é漢字🙂'


# ------------------------------------------------------------------ sample data


def _label(kind, ns):
    return {"cluster": "(cluster)", "all-namespaces": "(all namespaces)",
            "outside": "%s (outside scope)" % ns}.get(kind, ns)


def _identity(kind, name):
    if kind == "User":
        return name, ["system:authenticated"]
    if kind == "Group":
        return "", sorted([name, "system:authenticated"])
    ns, sa = name.split("/")
    return ("system:serviceaccount:%s:%s" % (ns, sa),
            ["system:authenticated", "system:serviceaccounts", "system:serviceaccounts:%s" % ns])


def cluster_result(name, grants, flips=(), drift=(), roles=None, privileged=(), unchecked_roles=(),
                   time_limited=None):
    """A vmo_rbac_validate result for ``grants``: [(subject kind, name, persona or role, namespaces or None)].

    ``flips``: {(subject label, namespace or scope, capability)} whose API answer is the opposite of
    the expectation (a violation). ``unchecked_roles``: personas without expectations (custom roles).
    """
    flips = set(flips)
    rows, matrix = [], []
    for kind, sname, persona, namespaces in grants:
        subject = "%s %s" % (kind, sname)
        user, groups = _identity(kind, sname)
        scopes = []
        if namespaces is None:
            scopes = [("", "all-namespaces"), ("", "cluster")]
        else:
            scopes = [(ns, "namespace") for ns in namespaces] + [("default", "outside")]
        for ns, scope in scopes:
            entry = {"subject": subject, "personas": [persona], "scope": _label(scope, ns), "scope_kind": scope,
                     "cells": {}, "allowed": {}, "expected": {}}
            for cap in CAP_ORDER:
                spec = CAPS[cap]
                if (spec["scope"] == "cluster") != (scope == "cluster"):
                    continue
                if scope == "outside":
                    expected = False  # only cluster-wide grants count outside the scope; there are none here
                elif persona in unchecked_roles:
                    expected = None
                else:
                    expected = CAP_EXPECTED[persona][cap]
                for verb, group, resource, sub in spec["checks"]:
                    row = {"subject": subject, "subject_kind": kind, "subject_name": sname,
                           "as_user": user, "as_groups": groups, "personas": [persona], "capability": cap,
                           "verb": verb, "group": group, "resource": resource, "subresource": sub,
                           "namespace": ns, "scope": scope, "expected": expected}
                    if kind == "ServiceAccount":
                        row["subject_namespace"] = sname.split("/")[0]
                    if expected is None:
                        row.update(allowed=None, ok=None, reason="unchecked: no expectation for this role; "
                                                                 "add one with the capabilities option")
                    else:
                        allowed = expected
                        if (subject, ns or scope, cap) in flips and (verb, group, resource, sub) == spec["checks"][0]:
                            allowed = not expected
                        row.update(allowed=allowed, ok=allowed == expected,
                                   reason=('RBAC: allowed by RoleBinding "side-edit/%s" of ClusterRole "edit" to %s'
                                           % (ns, subject)) if allowed else "no RBAC rule allows it")
                    rows.append(row)
                    state = "unchecked" if row["ok"] is None else ("ok" if row["ok"] else "violation")
                    prev = entry["cells"].get(cap)
                    if prev is None or (prev == "ok" and state == "violation"):
                        entry["cells"][cap] = state
                    if row["allowed"] is not None:
                        entry["allowed"][cap] = entry["allowed"].get(cap, True) and row["allowed"]
                    entry["expected"][cap] = expected
            matrix.append(entry)
    roles = roles if roles is not None else [
        {"kind": "ClusterRole", "name": r, "present": True, "persona": p, "reference": "match",
         "detail": "same rules as the shipped reference role"}
        for p, r in sorted(personas.ROLE_SETS["vmo"].items(), key=lambda i: i[1])]
    drift = list(drift)
    overdue = [t for t in time_limited or () if t.get("state") == "overdue"]
    drift += [{"kind": t["kind"], "namespace": t.get("namespace", ""), "name": t["name"], "action": "expire",
               "problem": "expired at %s, still grants %s" % (t["expires"], ", ".join(t["subjects"])),
               "fix": "vmo_role_binding would end it"} for t in overdue]
    violations = sum(1 for r in rows if r["ok"] is False)
    unchecked = sum(1 for r in rows if r["ok"] is None)
    missing_roles = sum(1 for r in roles if not r["present"])
    checks = len(roles) + len(grants) + len(rows) - unchecked
    failed = missing_roles + len(drift) + violations
    out = {
        "changed": False, "cluster": name, "passed": failed == 0,
        "summary": {"checks": checks, "passed": checks - failed, "failed": failed, "drift": len(drift),
                    "unchecked": unchecked, "subjects": len(grants), "requests": 7},
        "roles": roles, "drift": drift, "access": rows, "matrix": matrix,
        "capabilities": list(CAP_ORDER), "privileged": list(privileged),
        "msg": "RBAC validation on %s" % name,
    }
    if time_limited is not None:
        out["time_limited"] = list(time_limited)
        out["summary"].update(time_limited=len(time_limited), overdue=len(overdue))
    return out


def time_limited_item(name, state, seconds_left, subjects=("User alice",), namespace=None, reason=None,
                      persona="user"):
    """One entry of ``time_limited`` as vmo_rbac_validate returns it."""
    item = {"kind": "RoleBinding" if namespace else "ClusterRoleBinding", "name": name,
            "role": "spectro-vm-" + persona, "persona": persona, "subjects": list(subjects),
            "granted_at": "2026-12-04T12:00:00Z", "expires": "2026-12-04T20:00:00Z",
            "seconds_left": seconds_left,
            "time_left": "%s left" % seconds_left if seconds_left > 0 else "expired %ss ago" % -seconds_left,
            "state": state, "violation": state == "overdue", "declared": True, "entries": ["bindings[0]"]}
    if namespace:
        item["namespace"] = namespace
    if reason:
        item["reason"] = reason
    return item


def time_limited_results():
    """Two clusters with time-limited grants (one overdue), one without."""
    return [
        cluster_result("tl-east", [("User", "alice", "user", ["team-a"])], time_limited=[
            time_limited_item("vmo-rbac-spectro-vm-user-expiring", "overdue", -600, namespace="team-a",
                              reason="INC-4711"),
            time_limited_item("bg-admin-bob", "active", 5400, subjects=("User bob",), persona="admin",
                              reason="INC-4712 payments down"),
            time_limited_item("bg-viewer-old", "ended", -86400, subjects=("Group auditors",), persona="viewer")]),
        cluster_result("tl-west", [("Group", "ops", "viewer", None)], time_limited=[
            time_limited_item("vmo-rbac-spectro-vm-viewer-expiring", "pending", 28800, subjects=("Group ops",),
                              persona="viewer")]),
        cluster_result("tl-none", [("User", "carol", "viewer", None)]),
    ]


def who_else_finding(subject, capability, namespace, binding, role="spectro-vm-admin", everyone="", kind=None,
                     scope=None, others=0, partial=(), membership=False, aggregated=()):
    """One entry of a result's ``who_else`` as vmo_rbac_validate returns it (the exclusive audit), with
    ``remove`` and ``fix`` as whocan.remedy writes them (test_who_else_fix_is_the_flows checks that)."""
    skind, sname = subject.split(" ", 1)
    via = {"kind": kind or ("RoleBinding" if namespace else "ClusterRoleBinding"), "name": binding,
           "role_kind": "ClusterRole", "role_name": role, "subject": subject, "own": True, "subjects": 1 + others}
    if namespace and via["kind"] == "RoleBinding":
        via["namespace"] = namespace
    if aggregated:
        via["aggregated_from"] = list(aggregated)
    where = "%s %s/%s" % (via["kind"], namespace, binding) if "namespace" in via else "%s %s" % (via["kind"], binding)
    fix = ("remove %s from %s" % (subject, where) if others else "delete %s" % where) + " (ClusterRole %s)" % role
    if aggregated:
        fix += ", whose rule comes from ClusterRole %s by aggregation (or remove that role's aggregation " \
               "label)" % ", ".join(aggregated)
    remove = dict((k, via[k]) for k in ("kind", "name", "subject", "role_kind", "role_name", "namespace") if k in via)
    return {"capability": capability, "namespace": namespace,
            "scope": scope or ("namespace" if namespace else "all-namespaces"),
            "subject": subject, "subject_kind": skind, "subject_name": sname, "everyone": everyone,
            "through": "membership" if membership else "own", "partial": bool(partial),
            "resource_names": list(partial), "as_user": "u", "as_groups": [], "via": [via], "confirmed": True,
            "platform": False, "remove": [remove], "fix": fix}


def with_who_else(result, who_else, questions=40, holders=None, platform=3):
    """``result`` (of cluster_result) after the exclusive audit: its questions are checks, a capability x place
    with an undeclared holder a failed one (as whocan.exclusive_audit adds them)."""
    places = len(set((f["capability"], f["namespace"]) for f in who_else))
    holders = len(who_else) + platform + 2 if holders is None else holders
    s = result["summary"]
    s.update(checks=s["checks"] + questions, passed=s["passed"] + questions - places, failed=s["failed"] + places,
             who_else=len(who_else))
    result["who_else"] = list(who_else)
    result["who_else_summary"] = {
        "questions": questions, "holders": holders, "undeclared": len(who_else), "platform": platform,
        "declared": holders - platform - len(who_else), "unconfirmed": 0, "reviews": 2 * holders,
        "namespaces": ["leaky", "team1"], "evaluation_seconds": 0.004,
        "platform_subjects": ["Group system:masters", "ServiceAccount kube-system/*"]}
    if who_else:
        result["passed"] = False
    return result


def who_else_results():
    """The exclusive audit over a fleet: the leaky layout and the other hidden holders of issue 12 on one
    cluster, a clean audited cluster, a cluster validated without the audit."""
    leaky = [who_else_finding("Group system:authenticated", cap, "leaky", "oops", everyone="every authenticated user")
             for cap in ("vm.view", "vm.console", "vm.delete")]
    hidden = leaky + [
        who_else_finding("Group ci-helpers", "vm.delete", "team1", "hand-made-edit", role="edit", others=2),
        who_else_finding("ServiceAccount ci/deployer", "vm.delete", "", "ci-vm-deleter", role="vm-deleter"),
        who_else_finding("User bob@example.com", "vm.delete", "team1", "readers", role="view",
                         aggregated=("sneaky-widener",)),
        who_else_finding("User carol", "vm.view", "team1", "one-vm", role="one-vm-reader", partial=("vm-a", "vm-b")),
    ]
    return [
        with_who_else(cluster_result("audit-east", [("Group", "viewers", "viewer", ["team1"])]), hidden,
                      questions=27),
        with_who_else(cluster_result("audit-clean", [("Group", "viewers", "viewer", None)]), [], questions=18),
        cluster_result("not-audited", [("User", "dave", "viewer", None)]),
    ]


def sample_results():
    """Three clusters: one with violations, drift and unchecked cells, one clean, one unreachable."""
    differs = {"kind": "ClusterRole", "name": "spectro-vm-user", "present": True, "persona": "user",
               "reference": "differs", "detail": "differs from the shipped reference role: 2 permission(s) only "
                                                 "in the cluster's role, 0 only in the reference (information)"}
    roles = [r for r in cluster_result("x", [])["roles"] if r["name"] != "spectro-vm-user"] + [differs]
    roles.sort(key=lambda r: r["name"])
    vmo1 = cluster_result(
        "vmo-1",
        [("Group", "vmo-admins", "admin", None),
         ("Group", "auditors", "viewer", ["team-a"]),
         ("User", "bob@example.com", "user", ["team-a", "team-b"]),
         ("ServiceAccount", "ci/deployer", "vm-starter", ["team-a"])],
        flips={("Group auditors", "team-a", "vm.delete"),        # a viewer who can delete: excess
               ("User bob@example.com", "team-b", "vm.console"),  # console gone in team-b: missing
               ("User bob@example.com", "default", "vm.view")},   # scope leak outside team-a/b: excess
        drift=[{"kind": "RoleBinding", "namespace": "team-b", "name": "vmo-rbac-spectro-vm-user",
                "problem": "subjects: add User bob@example.com; remove Group contractors",
                "fix": "vmo_role_binding would update it", "action": "update"},
               {"kind": "ClusterRoleBinding", "name": "vmo-rbac-spectro-vm-admin",
                "problem": "foreign object in the way: a ClusterRoleBinding of that name exists without our labels",
                "fix": "remove or rename the object in the way, or give the grant another name",
                "action": "conflict"}],
        roles=roles + [{"kind": "Role", "namespace": "team-a", "name": "vm-starter", "present": True,
                        "persona": None, "reference": None, "detail": ""}],
        privileged=[{"subject": "Group system:masters", "binding": "cluster-admin",
                     "binding_kind": "ClusterRoleBinding", "role": "cluster-admin", "why": "cluster-admin"},
                    {"subject": "ServiceAccount kube-system/ops", "binding": "ops-all", "namespace": "kube-system",
                     "binding_kind": "RoleBinding", "role": "everything", "why": "wildcard rules"}],
        unchecked_roles={"vm-starter"})
    vmo2 = cluster_result(
        "vmo-2",
        [("Group", "vmo-admins", "admin", None),
         ("Group", "oidc:web-devs", "power-user", ["web-app-1", "web-app-2"]),
         ("User", "oidc:alice", "viewer", ["web-app-1"])])
    vmo3 = {"cluster": "vmo-3", "failed": True,
            "msg": "vmo-3: the API server at https://127.0.0.1:16443 did not answer: connection refused"}
    return [vmo1, vmo2, vmo3]


def hostile_results():
    """Names that break naive renderers: markup, pipes, entities, quotes, backticks, unicode."""
    grants = [("Group", HOSTILE, "viewer", ["ns|<b>"]), ("User", "o'brien \"the\" & co", "user", ["team-a"])]
    r = cluster_result(HOSTILE, grants,
                       flips={("Group " + HOSTILE, "ns|<b>", "vm.delete")},
                       drift=[{"kind": "RoleBinding", "namespace": "ns|<b>", "name": HOSTILE,
                               "problem": "subjects: add User <img src=x onerror=alert(1)>", "fix": "a & b",
                               "action": "update"}],
                       privileged=[{"subject": "User " + HOSTILE, "binding": "x|y", "role": "cluster-admin",
                                    "binding_kind": "ClusterRoleBinding", "why": "cluster-admin"}])
    down = {"cluster": "down</testsuite>]]>", "failed": True, "msg": 'no route to "host" <&> \x07bell'}
    return [r, down]


def _optional_console(result, denied=()):
    """vm.console as the shipped matrix expects it of the VMO personas without console_access:
    optional, ok either way, with access.CONSOLE_HINT on a denied check. ``denied``: {(subject,
    namespace)} whose console checks the API server denies."""
    for row in result["access"]:
        if row["capability"] == "vm.console" and row["scope"] in ("namespace", "all-namespaces") and \
                row["personas"][0] in personas.CONSOLE_OPTIONAL["vmo"]:
            allowed = (row["subject"], row["namespace"]) not in denied
            row.update(expected=access.OPTIONAL, allowed=allowed, ok=True,
                       reason="RBAC: allowed by a RoleBinding" if allowed else "no RBAC rule allows it")
            if not allowed:
                row["note"] = access.CONSOLE_HINT
    for entry in result["matrix"]:
        if "vm.console" in entry["expected"] and entry["personas"][0] in personas.CONSOLE_OPTIONAL["vmo"] and \
                entry["scope_kind"] != "outside":
            entry["expected"]["vm.console"] = access.OPTIONAL
            entry["cells"]["vm.console"] = "ok"
            entry["allowed"]["vm.console"] = (entry["subject"], entry["scope"]) not in denied
    return result


def newer_results():
    """What vmo_rbac_validate returns since issue 9, under --check with changes planned (vmo-1), in an
    ordinary run (vmo-2), and a cluster that could not be reached.

    vmo-1: web-devs' namespace rules matched two namespaces and skipped the protected ones; the
    contractors' rule matched nothing (not proven); a selector matched twelve namespaces (more than a
    report lists); bob's console is denied (optional, with the note); the enforce step planned to
    create web-devs' binding in web-app-2, so that drift item and web-devs' denied checks there are
    pending."""
    scopes = [
        plan_scopes.ScopeMatch("bindings[1].namespace_regex", ["^web-app-", "/^kube-/"], ["web-app-1", "web-app-2"],
                            ["kube-node-lease", "kube-public", "kube-system"], False),
        plan_scopes.ScopeMatch("bindings[2].namespace_regex", ["^contract-"], [], [], True),
        plan_scopes.ScopeMatch("bindings[3].namespace_selector", ["env=prod"], ["prod-%02d" % i for i in range(1, 13)],
                            [], False),
    ]
    vmo1 = cluster_result(
        "vmo-1",
        [("User", "bob@example.com", "user", ["team-a"]),
         ("Group", "web-devs", "power-user", ["web-app-1", "web-app-2"]),
         ("Group", "auditors", "viewer", ["prod-%02d" % i for i in range(1, 13)])],
        drift=[{"kind": "RoleBinding", "namespace": "web-app-2", "name": "vmo-rbac-spectro-vm-power-user",
                "problem": "missing", "fix": "vmo_role_binding would create it", "action": "create",
                "pending": True}])
    _optional_console(vmo1, denied={("User bob@example.com", "team-a")})
    for row in vmo1["access"]:  # web-devs have no binding in web-app-2 yet
        if row["subject"] == "Group web-devs" and row["namespace"] == "web-app-2" and row["expected"] is True:
            row.update(allowed=False, ok=False, reason="no RBAC rule allows it", pending=True)
    for entry in vmo1["matrix"]:
        if entry["subject"] == "Group web-devs" and entry["scope"] == "web-app-2":
            for cap, want in entry["expected"].items():
                if want is True:
                    entry["cells"][cap], entry["allowed"][cap] = "violation", False
    pending = 1 + sum(1 for r in vmo1["access"] if r.get("pending"))
    vmo1["summary"].update(failed=0, passed=vmo1["summary"]["checks"] - pending, unchecked_entries=1,
                           pending=pending)
    vmo1.update(passed=True, scopes=[plan_result.scope_to_dict(m) for m in scopes],
                warnings=plan_result.scope_warnings(scopes),
                msg="RBAC on vmo-1 will validate once the planned changes are made")

    vmo2 = _optional_console(cluster_result("vmo-2", [("Group", "vmo-admins", "admin", None),
                                                      ("User", "carol", "user", ["team-b"])],
                                            flips={("User carol", "default", "vm.view")}))
    vmo2["summary"].update(unchecked_entries=0, pending=0)
    vmo2.update(scopes=[], warnings=[])
    vmo2["passed"] = False
    vmo3 = {"cluster": "vmo-3", "failed": True, "msg": "vmo-3: the API server did not answer: connection refused"}
    return [vmo1, vmo2, vmo3]


def newer_hostile_result():
    """Namespace rules, notes and pending drift with names that break naive renderers."""
    scopes = [plan_scopes.ScopeMatch(HOSTILE, [HOSTILE, "<b>|x"], [HOSTILE + str(i) for i in range(12)], ["kube|<i>"],
                                  False),
              plan_scopes.ScopeMatch("bindings[0].namespace_regex", ["<script>"], [], [HOSTILE], True)]
    r = _optional_console(cluster_result("h", [("User", HOSTILE, "user", ["team-a"])]),
                          denied={("User " + HOSTILE, "team-a")})
    for row in r["access"]:
        if row.get("note"):
            row["note"] = HOSTILE
    r.update(scopes=[plan_result.scope_to_dict(m) for m in scopes], warnings=plan_result.scope_warnings(scopes) + [HOSTILE])
    r["drift"] = [{"kind": "RoleBinding", "namespace": HOSTILE, "name": "<x>", "problem": HOSTILE, "pending": True}]
    return r


@pytest.fixture
def results():
    return sample_results()


@pytest.fixture
def newer():
    return newer_results()


# ----------------------------------------------------------------- helpers


def md_cells(line):
    """Cells of a GFM table row, honouring backslash-escaped pipes."""
    assert line.startswith("| ") and line.endswith(" |"), line
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def md_tables(text):
    tables, cur = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            tables.append(cur)
            cur = []
    if cur:
        tables.append(cur)
    return tables


class _HTMLCollector(html.parser.HTMLParser):
    VOID = {"meta", "input", "br", "img", "link", "hr", "col", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.cells, self.errors = [], [], [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "td" and "data-state" in a:
            self._cell = [a, ""]

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
        else:
            self.stack.pop()
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell[0], " ".join(self._cell[1].split())))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def parse_html(text):
    p = _HTMLCollector()
    p.feed(text)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, "unclosed: %s" % p.stack
    return p


# -------------------------------------------------------------------- fleet


def test_fleet_counts(results):
    f = model.fleet(model.clusters(results))
    v1 = results[0]["summary"]
    v2 = results[1]["summary"]
    assert f["passed"] is False
    assert (f["clusters"], f["clusters_passed"], f["clusters_failed"], f["clusters_error"]) == (3, 1, 1, 1)
    assert f["checks"] == v1["checks"] + v2["checks"]
    assert f["failed"] == v1["failed"] == 3 + 2  # three violations, two drift items
    assert (f["excess"], f["missing"], f["drift"]) == (2, 1, 2)
    assert f["unchecked"] == v1["unchecked"] > 0


def test_clusters_normalize_cells(results):
    norm = model.clusters(results)
    cells = dict(((m["subject"], m["scope"]), m["cells"]) for m in norm[0]["matrix"])
    assert cells[("Group auditors", "team-a")]["vm.delete"].kind == "excess"
    assert cells[("Group auditors", "team-a")]["vm.delete"].allowed is True
    console = cells[("User bob@example.com", "team-b")]["vm.console"]
    assert (console.state, console.kind, console.granted, console.asked) == ("violation", "missing", 1, 2)
    assert console.partial and console.allowed_words() == "partly allowed (1 of 2 checks)"
    leak = cells[("User bob@example.com", "default (outside scope)")]["vm.view"]
    assert (leak.kind, leak.granted, leak.asked) == ("excess", 1, 3)
    assert cells[("ServiceAccount ci/deployer", "team-a")]["vm.view"].state == "unchecked"
    assert "cluster.manage" not in cells[("Group auditors", "team-a")]  # not applicable there
    assert cells[("Group vmo-admins", "(cluster)")]["cluster.manage"].state == "ok"
    assert norm[2]["status"] == "error" and "connection refused" in norm[2]["msg"]


def test_matrix_is_derived_when_absent(results):
    without = copy.deepcopy(results[0])
    del without["matrix"], without["capabilities"]
    a = model.clusters([results[0]])[0]
    b = model.clusters([without])[0]
    assert [(m["subject"], m["scope"], m["scope_kind"]) for m in a["matrix"]] == \
        [(m["subject"], m["scope"], m["scope_kind"]) for m in b["matrix"]]
    for ma, mb in zip(a["matrix"], b["matrix"]):
        assert dict((k, (c.state, c.kind, c.allowed)) for k, c in ma["cells"].items()) == \
            dict((k, (c.state, c.kind, c.allowed)) for k, c in mb["cells"].items())
    assert b["capabilities"] == list(CAP_ORDER)


# ------------------------------------------------------------------ Markdown


def test_markdown_fleet_and_sections(results):
    text = markdown_format.render(results)
    assert text.startswith("# VMO RBAC validation report\n")
    assert "**FAILED**: 1 of 3 clusters passed; 1 not validated;" in text
    fleet = md_tables(text)[0]
    assert md_cells(fleet[0]) == ["Cluster", "Result", "Checks", "Failed", "Drift", "Unchecked", "Message"]
    body = [md_cells(r) for r in fleet[2:]]
    assert [r[0] for r in body] == ["vmo-1", "vmo-2", "vmo-3"]
    assert body[0][1].endswith("failed") and body[1][1].endswith("passed") and body[2][1].endswith("not validated")
    assert body[0][3] == "5" and body[0][4] == "2"
    assert "connection refused" in body[2][6]
    # vmo-1: drift, failed checks, matrix; vmo-3: its message
    assert "### Drift (2)" in text and "RoleBinding team-b/vmo-rbac-spectro-vm-user: subjects: add User " in text
    assert "Fix: vmo_role_binding would update it (update)" in text
    assert "### Failed checks (3)" in text
    assert ("| Group auditors | vm.delete | delete kubevirt.io/virtualmachines | team-a | denied | "
            "**allowed** (excess) | RBAC: allowed by RoleBinding") in text
    assert "| User bob@example.com | vm.console | get subresources.kubevirt.io/virtualmachineinstances/console" \
           " | team-b | allowed | **denied** (missing) |" in text
    assert "differs from the reference (information): ClusterRole spectro-vm-user" in text
    assert "### Privileged subjects (information, 2)" in text
    assert "> vmo-3: the API server at https://127.0.0.1:16443 did not answer: connection refused" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_markdown_matrix_marks(results):
    text = markdown_format.render(results)
    tables = md_tables(text)
    matrix = [t for t in tables if md_cells(t[0])[:3] == ["Subject", "Personas", "Scope"]]
    assert len(matrix) == 2  # vmo-1 and vmo-2; none for the unreachable cluster
    head = md_cells(matrix[0][0])
    assert head[3:] == list(CAP_ORDER)
    rows = dict(((r[0], r[2]), dict(zip(head, r))) for r in (md_cells(x) for x in matrix[0][2:]))
    for t in matrix:  # every row as wide as its header
        assert all(len(md_cells(r)) == len(md_cells(t[0])) for r in t)
    assert rows[("Group auditors", "team-a")]["vm.delete"] == "**\u2717 EXCESS**"
    assert rows[("Group auditors", "team-a")]["vm.view"] == "\u2713 yes"
    assert rows[("Group auditors", "team-a")]["vm.console"] == "\u2713 no"
    assert rows[("Group auditors", "team-a")]["cluster.manage"] == "\u2013"
    assert rows[("User bob@example.com", "team-b")]["vm.console"] == "**\u2717 MISSING**"
    assert rows[("User bob@example.com", "default (outside scope)")]["vm.view"] == "**\u2717 EXCESS**"
    assert rows[("ServiceAccount ci/deployer", "team-a")]["vm.view"] == "?"
    assert rows[("Group vmo-admins", "(cluster)")]["cluster.manage"] == "\u2713 yes"
    assert "Legend: \u2713 yes / \u2713 no = allowed / denied, as expected" in text


def test_markdown_escapes_hostile_names():
    text = markdown_format.render(hostile_results(), title="T|<i>x</i>")
    assert not re.search(r"(?<!\\)<", text), "every < is backslash-escaped"
    assert "\x07" not in text
    assert "# T\\|\\<i\\>x\\</i\\>" in text
    for t in md_tables(text):
        width = len(md_cells(t[0]))
        assert all(len(md_cells(r)) == width for r in t), t
    # A CommonMark renderer with GFM tables shows the names as text, never as markup.
    import markdown_it  # pylint: disable=import-outside-toplevel
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    assert "<script" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "evil&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;|pipe&amp;amp; 'q' `tick` *star* _u_ " \
           "[l](http://x) é漢字🙂" in rendered
    assert "ns|&lt;b&gt;" in rendered
    assert "<a href" not in rendered and "<em>" not in rendered and "<strong>star" not in rendered


def test_markdown_empty_and_minimal():
    assert "no cluster results" in markdown_format.render([])
    text = markdown_format.render([{"cluster": "bare", "passed": True}])
    assert "| bare | \u2705 passed | 0 | 0 | 0 | 0 |" in text
    assert "No access checks in this result." in text


# --------------------------------------------------------------------- JUnit


def _junit(results, **kw):
    text = junit_format.render(results, **kw)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return text, ET.fromstring(text.encode("utf-8"))


def test_junit_structure_and_counts(results):
    _text, root = _junit(results)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["vmo-1", "vmo-2", "vmo-3"]
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites:
        cases = s.findall("testcase")
        counted = {"tests": len(cases),
                   "failures": sum(1 for c in cases if c.find("failure") is not None),
                   "errors": sum(1 for c in cases if c.find("error") is not None),
                   "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
        assert dict((k, int(s.get(k))) for k in counted) == counted, s.get("name")
        for k in total:
            total[k] += counted[k]
    assert dict((k, int(root.get(k))) for k in total) == total

    vmo1, vmo2, vmo3 = suites
    r1 = results[0]
    assert int(vmo1.get("tests")) == len(r1["access"]) + len(r1["drift"]) + len(r1["roles"])
    assert int(vmo1.get("failures")) == 3 + 2
    assert int(vmo1.get("skipped")) == r1["summary"]["unchecked"]
    assert int(vmo2.get("failures")) == 0 and int(vmo2.get("tests")) == len(results[1]["access"]) + 4
    assert (vmo3.get("tests"), vmo3.get("errors"), vmo3.get("failures")) == ("1", "1", "0")
    err = vmo3.find("testcase/error")
    assert "connection refused" in err.get("message") and err.get("type") == "cluster.unreachable"


def test_junit_testcase_names_and_failures(results):
    _text, root = _junit(results)
    vmo1 = root.find("testsuite[@name='vmo-1']")
    cases = dict(((c.get("classname"), c.get("name")), c) for c in vmo1.findall("testcase"))
    assert len(cases) == len(vmo1.findall("testcase")), "testcase identities must be unique"
    c = cases[("vmo-1.Group auditors.team-a", "vm.delete: delete kubevirt.io/virtualmachines (expected denied)")]
    f = c.find("failure")
    assert f.get("message") == "allowed but expected denied (excess)" and f.get("type") == "access.excess"
    # a Group is asked by its groups alone: kubectl auth can-i cannot (--as-group needs --as), the review itself can
    assert "asked as: no user (the groups alone), groups auditors, system:authenticated" in f.text, f.text
    assert "reproduce: echo '{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\"," \
           "\"spec\":{\"groups\":[\"auditors\",\"system:authenticated\"],\"resourceAttributes\":{\"group\":" \
           "\"kubevirt.io\",\"namespace\":\"team-a\",\"resource\":\"virtualmachines\",\"verb\":\"delete\"}}}' " \
           "| kubectl create -f - -o 'jsonpath={.status.allowed}'" in f.text, f.text
    c = cases[("vmo-1.User bob@example.com.team-b",
               "vm.console: get subresources.kubevirt.io/virtualmachineinstances/console (expected allowed)")]
    assert c.find("failure").get("message") == "denied but expected allowed (missing)"
    c = cases[("vmo-1.User bob@example.com.default (outside scope)",
               "vm.view: get kubevirt.io/virtualmachines (expected denied)")]
    assert c.find("failure").get("type") == "access.excess"
    c = cases[("vmo-1.Group vmo-admins.cluster", "cluster.manage: create namespaces (expected allowed)")]
    assert list(c) == []  # passed
    c = cases[("vmo-1.ServiceAccount ci/deployer.team-a", "vm.view: get kubevirt.io/virtualmachines (no expectation)")]
    assert c.find("skipped") is not None
    d = cases[("vmo-1.bindings", "RoleBinding team-b/vmo-rbac-spectro-vm-user")].find("failure")
    assert d.get("type") == "drift.update" and d.get("message").startswith("subjects: add User bob@example.com")
    d = cases[("vmo-1.bindings", "ClusterRoleBinding vmo-rbac-spectro-vm-admin")].find("failure")
    assert d.get("type") == "drift.conflict"
    r = cases[("vmo-1.roles", "ClusterRole spectro-vm-user exists")]
    assert r.find("failure") is None and "differs" in r.find("system-out").text
    assert "Group system:masters" in vmo1.find("system-out").text
    assert vmo1.find("properties/property[@name='summary.failed']").get("value") == "5"


def test_junit_missing_role_and_unexplained_failure():
    r = cluster_result("c", [("Group", "g", "viewer", ["a"])],
                       roles=[{"kind": "ClusterRole", "name": "spectro-vm-viewer", "present": False,
                               "persona": "viewer", "reference": None, "detail": "missing"}])
    _t, root = _junit([r, {"cluster": "odd", "passed": False, "msg": "it said no"}])
    suite = root.find("testsuite[@name='c']")
    f = suite.find("testcase[@name='ClusterRole spectro-vm-viewer exists']/failure")
    assert f.get("type") == "role.missing"
    odd = root.find("testsuite[@name='odd']")
    # passed: false without any data is a cluster that was not validated
    assert odd.get("errors") == "1"
    _t, root = _junit([{"cluster": "odd2", "passed": False, "summary": {"checks": 1, "failed": 1},
                        "msg": "failed somehow"}])
    suite = root.find("testsuite")
    assert suite.get("failures") == "1" and suite.find("testcase/failure").get("message") == "failed somehow"


def test_junit_escapes_hostile_names_and_roundtrips():
    text, root = _junit(hostile_results(), title='a "title" <&>', generated_at="2026-11-27T10:00:00Z")
    assert "<script>" not in text and "\x07" not in text
    assert root.get("name") == 'a "title" <&>'
    suite = root.findall("testsuite")[0]
    assert suite.get("name") == model.clean(HOSTILE) and suite.get("timestamp") == "2026-11-27T10:00:00Z"
    names = [c.get("classname") for c in suite.findall("testcase")]
    assert "%s.Group %s.ns|<b>" % (HOSTILE, HOSTILE) in names
    assert "%s.User o'brien \"the\" & co.team-a" % HOSTILE in names
    down = root.findall("testsuite")[1]
    assert down.get("name") == "down</testsuite>]]>"
    assert down.find("testcase/error").get("message") == 'no route to "host" <&> \ufffdbell'


def test_junit_empty_fleet_is_an_error():
    _t, root = _junit([])
    assert root.get("errors") == "1" and root.find("testsuite/testcase/error") is not None


# ---------------------------------------------------------------------- HTML


def test_html_structure(results):
    text = html_format.render(results)
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    p = parse_html(text)
    tags = [t for t, _a in p.tags]
    # standalone: no scripts, no external resources
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "url(" not in text and "@import" not in text
    sections = [a for t, a in p.tags if t == "section" and "data-cluster" in a]
    assert [(a["data-cluster"], a["data-status"]) for a in sections] == \
        [("vmo-1", "failed"), ("vmo-2", "passed"), ("vmo-3", "error")]
    assert "connection refused" in text
    # one cell per matrix row and capability
    n_cells = sum(len(r["matrix"]) for r in results[:2]) * len(CAP_ORDER)
    assert len(p.cells) == n_cells
    violations = [(a["data-capability"], a.get("data-kind"), txt) for a, txt in p.cells
                  if a["data-state"] == "violation"]
    assert sorted(violations) == [("vm.console", "missing", "\u2717 MISSING 1/2 allowed"),
                                  ("vm.delete", "excess", "\u2717 EXCESS allowed"),
                                  ("vm.view", "excess", "\u2717 EXCESS 1/3 allowed")]
    states = set(a["data-state"] for a, _t in p.cells)
    assert states == {"ok", "violation", "unchecked", "na"}
    assert all(txt in ("\u2713 allowed", "\u2713 denied") for a, txt in p.cells if a["data-state"] == "ok")
    assert all(txt == "? unchecked" for a, txt in p.cells if a["data-state"] == "unchecked")
    # accessibility: every data table has column headers; matrix rows have row headers
    for t, a in p.tags:
        if t == "th":
            assert a.get("scope") in ("col", "row"), a
    assert text.count('<th scope="row">') >= sum(len(r["matrix"]) for r in results[:2])
    assert "FLEET FAILED" in text and "<title>VMO RBAC validation report: FAILED</title>" in text
    assert text.count("<details") == 3  # roles and privileged subjects of vmo-1, roles of vmo-2
    assert 'id="only-violations"' in text and "body:has(#only-violations:checked) tr.row-clean" in text


def test_html_escapes_hostile_names():
    text = html_format.render(hostile_results(), title='<script>alert(1)</script> "&"')
    p = parse_html(text)
    tags = [t for t, _a in p.tags]
    assert "script" not in tags and "img" not in tags and "b" not in tags and "a" in tags  # fleet anchors only
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&quot;" in text
    assert h_unescaped_in(p, HOSTILE)
    assert "\x07" not in text
    anchors = [a["href"] for t, a in p.tags if t == "a"]
    assert all(re.fullmatch(r"#cluster-\d+-[a-z0-9-]+", x) for x in anchors), anchors


def h_unescaped_in(p, value):
    return any(a.get("data-subject") == "Group " + value or a.get("data-cluster") == value for _t, a in p.tags)


def test_html_passed_fleet_and_empty():
    ok = sample_results()[1]
    text = html_format.render([ok], title="Green")
    assert "FLEET PASSED" in text and 'data-state="violation"' not in text
    assert "No cluster results to report." in html_format.render([])


# ---------------------------------------------------------------------- JSON


def test_json(results):
    text = json_format.render(results, title="Fleet", generated_at="2026-11-27")
    doc = json.loads(text)
    assert doc["clusters"] == results
    assert doc["title"] == "Fleet" and doc["generated_at"] == "2026-11-27"
    assert doc["fleet"] == model.fleet(model.clusters(results))
    assert text == json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert "generated_at" not in json.loads(json_format.render(results))


def test_json_tolerates_non_json_values():
    r = {"cluster": "c", "passed": True, "summary": {"checks": 1}, "extra": {"b", "a"}, "t": ("x", 1)}
    doc = json.loads(json_format.render([r]))
    assert doc["clusters"][0]["extra"] == ["a", "b"] and doc["clusters"][0]["t"] == ["x", 1]


# ------------------------------------------- namespace rules, optional checks, pending (issue 9)


def test_newer_parts_normalized(newer):
    vmo1, vmo2, _vmo3 = model.clusters(newer)
    assert vmo1["status"] == "passed" and vmo2["status"] == "failed"
    assert [(m["entry"], m["matched_nothing"]) for m in vmo1["scopes"]] == [
        ("bindings[1].namespace_regex", False), ("bindings[2].namespace_regex", True),
        ("bindings[3].namespace_selector", False)]
    assert vmo1["scopes"][1]["warning"] == newer[0]["warnings"][0] and vmo1["other_warnings"] == []
    assert model.warning_lines(vmo1) == [(True, w) for w in newer[0]["warnings"]]
    # pending items are not failures: not in drift, not violations
    assert vmo1["drift"] == [] and [d["name"] for d in vmo1["pending_drift"]] == ["vmo-rbac-spectro-vm-power-user"]
    assert vmo1["violations"] == [] and len(vmo1["pending_access"]) == 12 and vmo1["excess"] == vmo1["missing"] == 0
    assert (vmo1["summary"]["unchecked_entries"], vmo1["summary"]["pending"], vmo1["summary"]["failed"]) == (1, 13, 0)
    assert [n["note"] for n in vmo1["notes"]] == [access.CONSOLE_HINT]
    assert model.note_places(vmo1["notes"][0]) == ["User bob@example.com: vm.console in team-a"]
    assert model.pending_groups(vmo1["pending_access"]) == [(
        "Group web-devs", "vm.view, vm.power, vm.create, vm.clone, vm.delete, vm.migrate, vm.snapshot in web-app-2 "
        "denied, expected allowed (missing; 12 checks)")]
    assert (vmo2["summary"]["unchecked_entries"], vmo2["summary"]["pending"]) == (0, 0)
    f = model.fleet(model.clusters(newer))
    assert (f["unchecked_entries"], f["pending"], f["failed"], f["clusters_passed"]) == (1, 13, 1, 1)


def test_newer_parts_absent_from_older_results(results):
    """A result without the newer keys gets no newer counts, sections or style: it renders as before."""
    norm = model.clusters(results)
    assert all("unchecked_entries" not in c["summary"] and "pending" not in c["summary"] for c in norm)
    assert all(not (c["scopes"] or c["warnings"] or c["pending_drift"] or c["pending_access"] or c["notes"])
               for c in norm)
    f = model.fleet(norm)
    assert "unchecked_entries" not in f and "pending" not in f
    page = html_format.render(results)
    assert html_style.CSS_NEWER_PARTS not in page and html_style.CSS in page
    text = markdown_format.render(results)
    assert "Not proven" not in text and "Pending" not in text and "Namespace rules" not in text


def test_newer_cells_optional_and_pending(newer):
    derived = copy.deepcopy(newer[0])
    del derived["matrix"], derived["capabilities"]
    for given in (newer[0], derived):  # from the compact matrix, and derived from the access rows
        c = model.clusters([given])[0]
        cells = dict(((m["subject"], m["scope"]), m["cells"]) for m in c["matrix"])
        console = cells[("User bob@example.com", "team-a")]["vm.console"]
        assert (console.state, console.kind, console.allowed, console.expected) == ("ok", None, False, access.OPTIONAL)
        assert console.optional and console.notes() == [access.CONSOLE_HINT]
        assert console.describe() == "ok: denied; optional, either answer is ok"
        allowed = cells[("Group web-devs", "web-app-1")]["vm.console"]
        assert (allowed.state, allowed.allowed, allowed.notes()) == ("ok", True, [])
        pending = cells[("Group web-devs", "web-app-2")]["vm.view"]
        assert (pending.state, pending.kind, pending.allowed) == ("pending", "missing", False)
        assert pending.describe() == ("pending (planned by the enforce step under --check): denied, "
                                      "expected allowed")
        assert cells[("Group web-devs", "web-app-2")]["template.manage"].state == "ok"
    # a cell with a pending and a real failure is a violation
    mixed = copy.deepcopy(newer[0])
    next(r for r in mixed["access"] if r.get("pending"))["pending"] = False
    cells = dict(((m["subject"], m["scope"]), m["cells"]) for m in model.clusters([mixed])[0]["matrix"])
    assert cells[("Group web-devs", "web-app-2")]["vm.view"].state == "violation"
    assert model.expected_text(access.OPTIONAL) == "optional (either answer is ok)"


def test_markdown_newer_parts(newer):
    text = markdown_format.render(newer)
    assert ("1 grant(s) not proven (namespace rules that matched nothing); "
            "13 pending (planned by the enforce step under --check)") in text.splitlines()[2]
    fleet = md_tables(text)[0]
    assert md_cells(fleet[0]) == ["Cluster", "Result", "Checks", "Failed", "Drift", "Unchecked", "Not proven",
                                  "Pending", "Message"]
    body = dict((r[0], r) for r in (md_cells(x) for x in fleet[2:]))
    assert body["vmo-1"][1].endswith("passed") and body["vmo-1"][6:8] == ["1", "13"]
    assert body["vmo-2"][6:8] == ["0", "0"] and body["vmo-3"][6:8] == ["\u2013", "\u2013"]
    vmo1 = text[text.index("## vmo-1"):text.index("## vmo-2")]
    assert "\u26a0\ufe0f 1 grant(s) not proven \u00b7 13 pending (planned by the enforce step under --check)" in vmo1
    assert "### Namespace rules (3, 1 not proven)" in vmo1
    assert ("- \u26a0\ufe0f **NOT PROVEN**: bindings\\[2\\].namespace_regex: ^contract- matched no namespace, so "
            "this grant gives nothing today") in vmo1
    rules = [t for t in md_tables(vmo1) if md_cells(t[0])[0] == "Grant"][0]
    rows = dict((r[0], r) for r in (md_cells(x) for x in rules[2:]))
    assert rows["bindings\\[1\\].namespace_regex"][1:] == [
        "^web-app-, /^kube-/", "2: web-app-1, web-app-2", "kube-node-lease, kube-public, kube-system"]
    assert rows["bindings\\[2\\].namespace_regex"][2] == "**nothing: not proven**"
    assert rows["bindings\\[3\\].namespace_selector"][2] == \
        "12: prod-01, prod-02, prod-03, prod-04, prod-05, prod-06, prod-07, prod-08, prod-09, prod-10 and 2 more"
    # pending: its own section, not drift, not failed checks
    assert "### Drift" not in vmo1 and "### Failed checks" not in vmo1
    assert "### Pending (13): planned by the enforce step under --check" in vmo1
    assert "- pending: RoleBinding web-app-2/vmo-rbac-spectro-vm-power-user: missing. Fix: vmo_role_binding " \
           "would create it (create)" in vmo1
    assert "- pending: Group web-devs: vm.view, vm.power, vm.create, vm.clone, vm.delete, vm.migrate, " \
           "vm.snapshot in web-app-2 denied, expected allowed (missing; 12 checks)" in vmo1
    # the matrix: optional shown as ok with its note's number, pending cells; no MISSING anywhere in vmo-1
    matrix = [t for t in md_tables(vmo1) if md_cells(t[0])[:3] == ["Subject", "Personas", "Scope"]][0]
    head = md_cells(matrix[0])
    cells = dict(((r[0], r[2]), dict(zip(head, r))) for r in (md_cells(x) for x in matrix[2:]))
    assert cells[("User bob@example.com", "team-a")]["vm.console"] == "\u2713 no\u00b9"
    assert cells[("Group web-devs", "web-app-1")]["vm.console"] == "\u2713 yes"
    assert cells[("Group web-devs", "web-app-2")]["vm.view"] == "\u25f7 pending"
    assert "MISSING**" not in vmo1.replace("**\u2717 MISSING** = denied", "")
    assert "\u25f7 pending = planned by the enforce step under --check (not a failure)" in vmo1
    assert "\n- \u00b9 console access through the persona role alone is optional" in vmo1
    assert "(User bob@example.com: vm.console in team-a)" in vmo1
    # an ordinary run of a newer module: no pending column, no namespace rules section without rules
    plain = markdown_format.render(newer[1:2])
    assert md_cells(md_tables(plain)[0][0])[6:] == ["Not proven", "Message"]
    assert "Namespace rules" not in plain and "Pending" not in plain and "Notes:" not in plain


def test_markdown_warnings_without_scopes():
    """A hand-made result with warnings only; a registered result's ``warnings`` also holds the other
    Ansible warnings of its task, which are not about proof."""
    r = cluster_result("c", [("Group", "g", "viewer", ["a"])])
    r["warnings"] = ["bindings[0].namespace_selector: env=x matched no namespace", "some other warning"]
    text = markdown_format.render([r])
    assert "### Warnings\n" in text and "| Grant |" not in text
    assert "- \u26a0\ufe0f **NOT PROVEN**: bindings\\[0\\].namespace_selector: env=x matched no namespace\n" in text
    assert "- \u26a0\ufe0f **Warning**: some other warning\n" in text
    assert model.clusters([r])[0]["summary"]["unchecked_entries"] == 1  # no scopes: counted from the warnings
    page = html_format.render([r])
    assert '<strong>\u26a0 Warning:</strong> some other warning' in page
    assert '<strong>\u26a0 NOT PROVEN:</strong> bindings[0].namespace_selector' in page
    _t, root = _junit([r])
    case = root.find("testsuite/testcase[@classname='c.scopes']")
    assert case.get("name") == "bindings[0].namespace_selector matches a namespace"
    assert case.find("skipped").get("message") == "not proven: bindings[0].namespace_selector: env=x matched no namespace"
    assert "warning: some other warning" in root.find("testsuite/system-out").text


def test_junit_newer_parts(newer):
    _text, root = _junit(newer)
    vmo1 = root.find("testsuite[@name='vmo-1']")
    assert vmo1.get("failures") == "0" and vmo1.get("errors") == "0"
    cases = dict(((c.get("classname"), c.get("name")), c) for c in vmo1.findall("testcase"))
    assert len(cases) == len(vmo1.findall("testcase")), "testcase identities must be unique"
    skipped = [c for c in vmo1.findall("testcase") if c.find("skipped") is not None]
    assert int(vmo1.get("skipped")) == len(skipped) == 1 + 13
    scope = cases[("vmo-1.scopes", "bindings[2].namespace_regex matches a namespace")].find("skipped")
    assert scope.get("message").startswith("not proven: bindings[2].namespace_regex: ^contract- matched no")
    drift = cases[("vmo-1.bindings", "RoleBinding web-app-2/vmo-rbac-spectro-vm-power-user")].find("skipped")
    assert drift.get("message") == "pending (planned by the enforce step under --check): missing"
    check = cases[("vmo-1.Group web-devs.web-app-2",
                   "vm.delete: delete kubevirt.io/virtualmachines (expected allowed)")]
    assert check.find("failure") is None
    assert check.find("skipped").get("message") == \
        "pending (planned by the enforce step under --check): denied but expected allowed (missing)"
    assert "reproduce: echo '{" in check.find("skipped").text and \
        '"namespace":"web-app-2","resource":"virtualmachines","verb":"delete"' in check.find("skipped").text
    optional = cases[("vmo-1.User bob@example.com.team-a",
                      "vm.console: get subresources.kubevirt.io/virtualmachineinstances/console (optional)")]
    assert optional.find("failure") is None and optional.find("skipped") is None
    assert optional.find("system-out").text == access.CONSOLE_HINT
    props = dict((p.get("name"), p.get("value")) for p in vmo1.findall("properties/property"))
    assert (props["summary.unchecked_entries"], props["summary.pending"]) == ("1", "13")
    out = vmo1.find("system-out").text
    assert "namespace rules:\nbindings[1].namespace_regex: ^web-app-, /^kube-/ -> 2 namespace(s): web-app-1, " \
           "web-app-2; protected namespaces skipped: kube-node-lease, kube-public, kube-system" in out
    assert "bindings[2].namespace_regex: ^contract- -> nothing (not proven)" in out
    assert "notes:\n" + access.CONSOLE_HINT + " (User bob@example.com: vm.console in team-a)" in out
    vmo2 = root.find("testsuite[@name='vmo-2']")
    assert vmo2.get("failures") == "1" and vmo2.get("skipped") == "0"


def test_html_newer_parts(newer):
    text = html_format.render(newer)
    p = parse_html(text)
    assert html_style.CSS_NEWER_PARTS in text
    cards = dict((a["data-cluster"], a) for t, a in p.tags if t == "section" and "data-cluster" in a)
    assert cards["vmo-1"]["data-status"] == "passed"
    vmo1 = text[text.index('id="cluster-1-vmo-1"'):text.index('id="cluster-2-vmo-2"')]
    assert '<span class="badge warn">1 NOT PROVEN</span>' in vmo1
    assert '<div class="warning" role="note"><strong>\u26a0 NOT PROVEN:</strong> bindings[2].namespace_regex: ' \
           '^contract- matched no namespace' in vmo1
    assert '<details class="scopes" id="cluster-1-vmo-1-scopes" open><summary>Namespace rules: 3, 1 not proven' in vmo1
    entries = [(a["data-entry"], a["class"]) for t, a in p.tags if t == "tr" and "data-entry" in a]
    assert entries == [("bindings[1].namespace_regex", "matched"), ("bindings[2].namespace_regex", "nothing"),
                       ("bindings[3].namespace_selector", "matched")]
    assert '<summary>and 2 more</summary><span class="rest">prod-11, prod-12</span></details>' in vmo1
    # cells: the optional one ok, with a link to its note; pending ones amber, not violations
    cells = [(a, txt) for a, txt in p.cells if a["data-state"] != "na"]
    optional = [(a, txt) for a, txt in cells if a.get("data-expected") == "optional"]
    assert sorted(txt for _a, txt in optional) == ["\u2713 allowed (optional)"] * 4 + ["\u2713 denied (optional)1"]
    denied = [a for a, txt in optional if "denied" in txt][0]
    assert denied["class"] == "cell ok deny optional" and "Note: " + access.CONSOLE_HINT in denied["title"]
    assert '<a href="#cluster-1-vmo-1-note-1" aria-label="note 1">1</a>' in vmo1
    assert '<li id="cluster-1-vmo-1-note-1"><span class="note">%s</span>' % html.escape(access.CONSOLE_HINT) in vmo1
    pending = [(a, txt) for a, txt in cells if a["data-state"] == "pending"]
    assert len(pending) == 7 and all(txt == "\u25f7 pending denied" and a["data-kind"] == "missing"
                                     for a, txt in pending)
    assert 'data-state="violation"' not in vmo1 and 'data-state="violation"' in text  # vmo-2's excess
    assert "<h3>Pending (13): planned by the enforce step under --check</h3>" in vmo1
    assert [a["data-pending"] for t, a in p.tags if t == "tr" and "data-pending" in a] == ["drift", "access"]
    assert "Failed checks" not in vmo1 and "<h3>Drift" not in vmo1
    assert "MISSING</span>" not in vmo1
    # the fleet: tiles and columns of the newer counts
    assert '<div class="tile warn"><div class="n">1</div><div class="l">not proven</div></div>' in text
    assert '<div class="tile warn"><div class="n">13</div><div class="l">pending (--check)</div></div>' in text
    assert '<th scope="col" class="num">Not proven</th><th scope="col" class="num">Pending</th>' in text
    assert 'class="sw pending"' in text and "optional (either answer is ok)" in text
    # a page without newer data in it carries no newer style
    assert html_style.CSS_NEWER_PARTS not in html_format.render([{"cluster": "bare", "passed": True}])


def test_json_newer_parts(newer):
    doc = json.loads(json_format.render(newer))
    assert doc["clusters"] == newer  # scopes, warnings, note, pending pass through
    assert (doc["fleet"]["unchecked_entries"], doc["fleet"]["pending"]) == (1, 13)
    assert doc["fleet"] == model.fleet(model.clusters(newer))


def test_newer_parts_hostile_names():
    r = newer_hostile_result()
    text = markdown_format.render([r])
    assert not re.search(r"(?<!\\)<", text)
    for t in md_tables(text):
        assert all(len(md_cells(x)) == len(md_cells(t[0])) for x in t), t
    page = html_format.render([r])
    p = parse_html(page)
    assert "script" not in [t for t, _a in p.tags] and "<b>" not in page and "<i>" not in page
    assert [a["data-entry"] for t, a in p.tags if t == "tr" and "data-entry" in a] == \
        [model.clean(HOSTILE), "bindings[0].namespace_regex"]
    _t, root = _junit([r])
    assert root.find("testsuite").get("failures") == "0" and root.find("testsuite").get("skipped") == "2"
    assert "warning: " + HOSTILE in root.find("testsuite/system-out").text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=st.text(min_size=1, max_size=30), rule=st.text(max_size=20),
       namespaces=st.lists(st.text(min_size=1, max_size=15), max_size=14), note=st.text(min_size=1, max_size=40))
def test_newer_parts_any_text_stays_well_formed(entry, rule, namespaces, note):
    r = _optional_console(cluster_result("c", [("User", "u", "user", ["ns"])]), denied={("User u", "ns")})
    for row in r["access"]:
        if row.get("note"):
            row["note"] = note
    r.update(scopes=[{"entry": entry, "rules": [rule], "namespaces": namespaces, "skipped_protected": namespaces[:2],
                      "matched_nothing": not namespaces}], warnings=[entry + ": " + rule])
    root = ET.fromstring(junit_format.render([r]).encode("utf-8"))
    assert root.find("testsuite").get("failures") == "0"
    parse_html(html_format.render([r]))
    for t in md_tables(markdown_format.render([r])):
        assert all(len(md_cells(x)) == len(md_cells(t[0])) for x in t)


# ------------------------------------------------------------ determinism


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_deterministic(results, fmt):
    a = report.render(results, fmt)
    b = report.render(copy.deepcopy(results), fmt)
    assert a == b
    assert report.render(sample_results(), fmt) == a
    assert results == sample_results(), "rendering must not change its input"


def test_deterministic_across_processes():
    """Byte-identical output in fresh interpreters with different hash seeds (no set/dict-order leaks)."""
    code = ("import hashlib, sys; sys.path[:0] = [%r, %r]; from tests.unit.plugins.plugin_utils.report import test_report as t; "
            "from ansible_collections.vmo.rbac.plugins.plugin_utils import report; "
            "r = t.sample_results() + t.hostile_results(); "
            "print(hashlib.sha256(''.join(report.render(r, f) for f in report.FORMATS).encode()).hexdigest())"
            % (str(ROOT / ".build" / "collections"), str(ROOT)))
    digests = set()
    for seed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(ROOT), capture_output=True, text=True,
                             check=True, timeout=120)
        digests.add(out.stdout.strip())
    local = hashlib.sha256("".join(report.render(sample_results() + hostile_results(), f)
                                   for f in report.FORMATS).encode()).hexdigest()
    assert digests == {local}


# ------------------------------------------------------------ input shapes


def test_input_shapes(results):
    single = markdown_format.render(results[0])
    assert "| vmo-1 |" in single and "vmo-2" not in single
    keyed = model.clusters({"b-host": {"failed": True, "msg": "down"}, "a-host": results[1]})
    assert [(c["name"], c["status"]) for c in keyed] == [("vmo-2", "passed"), ("b-host", "error")]
    loop = model.clusters({"results": results, "changed": False, "msg": "All items completed"})
    assert [c["name"] for c in loop] == ["vmo-1", "vmo-2", "vmo-3"]
    unreachable = model.clusters([{"unreachable": True, "msg": "ssh: no"}])
    assert unreachable[0]["status"] == "error" and unreachable[0]["name"] == "cluster 1"
    skipped = model.clusters([{"cluster": "s", "skipped": True, "skip_reason": "Conditional result was False"}])
    assert skipped[0]["status"] == "skipped"
    assert model.fleet(model.clusters([{"cluster": "s", "skipped": True}]))["passed"] is False
    drift_only = model.clusters([{"cluster": "d", "drift": [{"kind": "RoleBinding", "name": "x"}]}])
    assert drift_only[0]["status"] == "failed" and drift_only[0]["summary"]["failed"] == 1


@pytest.mark.parametrize("bad, word", [(None, "None"), ("text", "str"), (42, "int"), ([{"cluster": "a"}, 3], "item 1"),
                                       ({"x": 1}, "neither")])
def test_bad_results(bad, word):
    with pytest.raises(report.ReportError) as e:
        report.render(bad, "markdown")
    assert e.value.argument == "results" and word in str(e.value)


def test_bad_format_and_title(results):
    with pytest.raises(report.ReportError) as e:
        report.render(results, "pdf")
    assert e.value.argument == "format" and "json, markdown, junit, html" in str(e.value)
    with pytest.raises(report.ReportError) as e:
        report.render(results, "html", title=["x"])
    assert e.value.argument == "title"
    assert report.render(results, "MD") == report.render(results, "markdown")
    assert report.render(results, "xml") == report.render(results, "junit")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(min_size=1, max_size=40), ns=st.text(min_size=1, max_size=20))
def test_any_names_stay_well_formed(name, ns):
    r = cluster_result(name, [("User", name, "viewer", [ns])], flips={("User " + name, ns, "vm.delete")},
                       drift=[{"kind": "RoleBinding", "namespace": ns, "name": name, "problem": name,
                               "fix": name, "action": "update"}])
    root = ET.fromstring(junit_format.render([r]).encode("utf-8"))
    suite = root.find("testsuite")
    assert suite.get("name") == model.clean(name)
    assert int(suite.get("failures")) == 2
    page = parse_html(html_format.render([r]))
    assert sum(1 for a, _t in page.cells if a["data-state"] == "violation") == 1
    for t in md_tables(markdown_format.render([r])):
        assert all(len(md_cells(x)) == len(md_cells(t[0])) for x in t)
    assert json.loads(json_format.render([r]))["clusters"][0]["cluster"] == name


# ------------------------------------------------------------ the package's shape


def test_report_package_is_pure():
    """Standard library and the collection's own pure code only: no Ansible, no clock, no randomness."""
    stdlib = {"__future__", "html", "json", "json.encoder", "re", "xml.etree.ElementTree", "shlex", "collections",
              "collections.abc"}
    own = ("ansible_collections.vmo.rbac.plugins.module_utils", "ansible_collections.vmo.rbac.plugins.plugin_utils.report")
    files = sorted(REPORT_PACKAGE.glob("*.py"))
    assert [f.name for f in files] == ["__init__.py", "html_format.py", "html_style.py", "json_format.py",
                                       "junit_format.py", "markdown_format.py", "model.py"]
    for path in files:
        src = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Import):
                assert all(a.name in stdlib for a in node.names), (path.name, ast.dump(node))
            elif isinstance(node, ast.ImportFrom):
                assert node.module in stdlib or node.module.startswith(own), (path.name, node.module)
        assert "from __future__ import absolute_import, division, print_function" in src, path.name
        assert "__metaclass__ = type" in src, path.name
        assert not re.search(r"\b(datetime|time\.time|random|uuid|os\.environ)\b", src), path.name


@pytest.mark.parametrize("fmt", [markdown_format, junit_format, html_format], ids=lambda m: m.__name__.split(".")[-1])
def test_every_format_shows_every_section(fmt):
    """A part of a cluster added to model.SECTIONS fails here until every format shows it."""
    names = [name for name, _function in fmt.SECTIONS]
    assert set(names) == set(model.SECTIONS), "sections missing: %s, unknown: %s" % (
        sorted(set(model.SECTIONS) - set(names)), sorted(set(names) - set(model.SECTIONS)))
    assert all(callable(function) for _name, function in fmt.SECTIONS)


def test_shared_vocabulary_comes_from_module_utils(results):
    """Scope labels, capability descriptions and personas are read from access and personas, not copied."""
    for scope, ns in (("cluster", ""), ("all-namespaces", ""), ("outside", "default"), ("namespace", "team-a")):
        assert model.scope_label(scope, ns) == access.scope_label(scope, ns)
    assert (model.scope_label("outside", ""), model.scope_label("namespace", "")) == ("? (outside scope)", "(cluster)")
    assert model.PERSONAS is personas.PERSONAS
    page = html_format.render(results)
    for name in CAP_ORDER:
        assert '<th scope="col" class="cap" title="%s">%s</th>' % (personas.CAPABILITIES[name]["description"],
                                                                   name) in page
    assert model.capability_description("custom.thing") == ""


# ------------------------------------------------------------------- filter plugin


def test_filter_plugin(results):
    from ansible.errors import AnsibleFilterError

    from ansible_collections.vmo.rbac.plugins.filter.vmo_rbac_report import FilterModule

    f = FilterModule().filters()["vmo_rbac_report"]
    assert f(results) == markdown_format.render(results)
    assert f(results, "html", "T") == html_format.render(results, title="T")
    assert f(results, format="junit", generated_at="2026-01-01T00:00:00Z") == \
        junit_format.render(results, generated_at="2026-01-01T00:00:00Z")
    with pytest.raises(AnsibleFilterError, match=r"argument 'format': unknown format 'yaml'"):
        f(results, "yaml")
    with pytest.raises(AnsibleFilterError, match=r"argument '_input \(the results\)'.*got str"):
        f("not a list")


def test_filter_docs_render():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(ROOT / ".build" / "ansible-home"))
    exe = Path(sys.executable).with_name("ansible-doc")
    out = subprocess.run([str(exe), "-t", "filter", "--json", "vmo.rbac.vmo_rbac_report"], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)["vmo.rbac.vmo_rbac_report"]
    assert doc["doc"]["name"] == "vmo_rbac_report"
    assert set(doc["doc"]["options"]) == {"_input", "format", "title", "generated_at"}
    assert doc["doc"]["options"]["format"]["choices"] == list(report.FORMATS)
    assert "vmo.rbac.vmo_rbac_report" in doc["examples"] and "_value" in doc["return"]


def test_filter_in_a_playbook(tmp_path):
    """Through ansible-playbook (templating, data tagging, copy): the same bytes as a direct render."""
    results = [cluster_result("vmo-1", [("Group", "auditors", "viewer", ["team-a"])],
                              flips={("Group auditors", "team-a", "vm.delete")}),
               {"cluster": "vmo-3", "failed": True, "msg": "unreachable"}]
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (tmp_path / "play.yml").write_text("""
- hosts: localhost
  gather_facts: false
  vars:
    results: "{{ lookup('file', '%(d)s/results.json') | from_json }}"
  tasks:
    - ansible.builtin.copy:
        content: >-
          {{ {'json': results | vmo.rbac.vmo_rbac_report('json', title='Fleet'),
              'markdown': results | vmo.rbac.vmo_rbac_report('markdown', title='Fleet'),
              'junit': results | vmo.rbac.vmo_rbac_report(format='junit', title='Fleet'),
              'html': results | vmo.rbac.vmo_rbac_report('html', 'Fleet')} | to_json }}
        dest: "%(d)s/out.json"
        mode: "0644"
    - ansible.builtin.debug:
        msg: "{{ results | vmo.rbac.vmo_rbac_report('pdf') }}"
      register: bad
      ignore_errors: true
    - ansible.builtin.assert:
        that: bad is failed and "argument 'format'" in bad.msg
""" % {"d": tmp_path}, encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_HOME=str(ROOT / ".build" / "ansible-home"))
    exe = Path(sys.executable).with_name("ansible-playbook")
    out = subprocess.run([str(exe), str(tmp_path / "play.yml")], env=env, cwd=str(tmp_path), capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rendered = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    for fmt in report.FORMATS:
        assert rendered[fmt] == report.render(results, fmt, title="Fleet"), fmt


# ------------------------------------------------------------------- time-limited grants (issue 15)


def test_time_limited_grants_in_every_format():
    res = time_limited_results()
    f = model.fleet(model.clusters(res))
    assert (f["time_limited"], f["overdue"], f["passed"]) == (4, 1, False)
    assert "time_limited" not in model.fleet(model.clusters(sample_results()))  # a fleet without them reads as before

    md_text = markdown_format.render(res)
    assert "4 time-limited grants, 1 overdue" in md_text.splitlines()[2]
    assert "### Time-limited grants (3, **1 overdue**)" in md_text and "### Time-limited grants (1)" in md_text
    rows = [md_cells(line) for line in md_text.splitlines() if line.startswith("| RoleBinding team-a/")
            or line.startswith("| ClusterRoleBinding bg-")]
    assert ["RoleBinding team-a/vmo-rbac-spectro-vm-user-expiring", "User alice", "user", "2026-12-04T20:00:00Z",
            "expired 600s ago", "**overdue**", "INC-4711"] in rows
    assert ["ClusterRoleBinding bg-admin-bob", "User bob", "admin", "2026-12-04T20:00:00Z", "5400 left", "active",
            "INC-4712 payments down"] in rows
    assert md_text.count("Time-limited grants") == 2  # tl-none has none

    page = html_format.render(res)
    parse_html(page)  # well formed
    assert page.count('<table class="list time-limited">') == 2
    assert '<tr data-state="overdue"><td>RoleBinding <strong>team-a/vmo-rbac-spectro-vm-user-expiring</strong>' in page
    assert '<strong class="absent" title="its time has passed and it still grants">overdue</strong>' in page
    assert '<div class="n">4</div><div class="l">time-limited grants</div>' in page

    _text, root = _junit(res)
    east = root.find("testsuite[@name='tl-east']")
    out = east.find("system-out").text
    assert "time-limited grants (information" in out
    assert ("RoleBinding team-a/vmo-rbac-spectro-vm-user-expiring: User alice, persona user, ends "
            "2026-12-04T20:00:00Z (expired 600s ago), OVERDUE; reason: INC-4711") in out
    failures = [tc.get("name") for tc in east.iter("testcase") if tc.find("failure") is not None]
    assert "RoleBinding team-a/vmo-rbac-spectro-vm-user-expiring" in failures  # the drift case fails it

    doc = json.loads(json_format.render(res))
    assert doc["fleet"]["time_limited"] == 4 and doc["clusters"][0]["time_limited"][0]["state"] == "overdue"


def test_time_limited_values_are_escaped():
    item = time_limited_item(HOSTILE, "active", 60, subjects=(HOSTILE,), namespace="ns", reason=HOSTILE)
    res = [cluster_result("c", [("User", "a", "viewer", None)], time_limited=[item])]
    assert "<script>" not in html_format.render(res)
    assert "<script>" not in markdown_format.render(res)
    _junit(res)


# ------------------------------------------------------------------- who else can (issue 12)


def test_who_else_fix_is_the_flows():
    """The findings above carry the remove and fix the exclusive audit writes."""
    from ansible_collections.vmo.rbac.plugins.module_utils._flows import whocan

    for f in who_else_results()[0]["who_else"]:
        assert whocan.remedy(f) == (f["remove"], f["fix"]), f["subject"]


def test_who_else_only_when_the_audit_ran():
    east, clean, plain = model.clusters(who_else_results())
    assert plain["who_else_audit"] is None and plain["who_else"] == [] and "who_else" not in plain["summary"]
    assert clean["who_else_audit"]["questions"] == 18 and clean["who_else"] == [] and clean["status"] == "passed"
    assert east["status"] == "failed" and east["summary"]["who_else"] == 7
    # a result of a run without the audit, even with an empty who_else list (what validate returns), reads as before
    base = cluster_result("x", [("Group", "g", "viewer", None)])
    for fmt in (markdown_format, html_format, junit_format):
        assert fmt.render([dict(base, who_else=[])]) == fmt.render([base])
    f = model.fleet(model.clusters([base]))
    assert "who_else" not in f and ("who_else", "Who else") not in model.newer_columns(f)
    # computed counts when a result gives findings but no summary
    c = model.clusters([{"cluster": "c", "who_else": who_else_results()[0]["who_else"][:2], "access": []}])[0]
    assert (c["summary"]["failed"], c["summary"]["who_else"], c["status"]) == (2, 2, "failed")


def test_who_else_in_every_format():
    res = who_else_results()
    f = model.fleet(model.clusters(res))
    assert (f["who_else"], f["who_else_audited"], f["passed"]) == (7, 2, False)

    md_text = markdown_format.render(res)
    assert "7 undeclared holders (who else can, 2 of 3 clusters audited)" in md_text.splitlines()[2]
    assert "| Cluster | Result | Checks | Failed | Drift | Unchecked | Who else | Message |" in md_text
    assert "### Who else can: 7 undeclared (6 capability \u00d7 place)" in md_text
    assert "### Who else can: nobody undeclared" in md_text
    assert md_text.count("Who else can") == 2  # not-audited shows no section
    rows = [md_cells(line) for line in md_text.splitlines() if line.startswith("| vm.")]
    assert ["vm.delete", "namespace leaky", "Group system:authenticated (every authenticated user)",
            "RoleBinding leaky/oops (ClusterRole spectro-vm-admin)",
            "delete RoleBinding leaky/oops (ClusterRole spectro-vm-admin)"] in rows
    assert ["vm.delete", "namespace team1", "Group ci-helpers", "RoleBinding team1/hand-made-edit (ClusterRole edit)",
            "remove Group ci-helpers from RoleBinding team1/hand-made-edit (ClusterRole edit)"] in rows
    assert ["vm.delete", "every namespace", "ServiceAccount ci/deployer",
            "ClusterRoleBinding ci-vm-deleter (ClusterRole vm-deleter)",
            "delete ClusterRoleBinding ci-vm-deleter (ClusterRole vm-deleter)"] in rows
    assert any(r[2] == "User carol (only vm-a, vm-b)" for r in rows)
    assert any("sneaky-widener by aggregation" in r[4] for r in rows)
    not_audited = [md_cells(line) for line in md_text.splitlines() if line.startswith("| not-audited |")][0]
    assert not_audited[6] == "\u2013"

    page = html_format.render(res)
    parse_html(page)
    assert page.count('<table class="list who-else">') == 1 and page.count('<section class="who-else"') == 2
    assert 'data-undeclared="7"' in page and 'data-undeclared="0"' in page
    assert ('<tr class="holder" data-capability="vm.delete" data-where="namespace leaky"><td>vm.delete</td>'
            '<td>namespace leaky</td><td><strong class="absent">Group system:authenticated (every authenticated '
            'user)</strong></td><td><code>RoleBinding leaky/oops (ClusterRole spectro-vm-admin)</code></td>') in page
    assert '<div class="n">7</div><div class="l">undeclared holders (who else can)</div>' in page

    _text, root = _junit(res)
    east = root.find("testsuite[@name='audit-east']")
    cases = dict((tc.get("name"), tc) for tc in east.iter("testcase") if tc.get("classname") == "audit-east.who_else")
    leaky = cases["vm.delete in namespace leaky: nobody undeclared"].find("failure")
    assert leaky.get("type") == "who_else.undeclared"
    assert "Group system:authenticated (every authenticated user): remove RoleBinding leaky/oops" in leaky.text
    assert cases["the other 21 capability x place questions: nobody undeclared"].find("failure") is None
    assert len(cases) == 7
    props = dict((p.get("name"), p.get("value")) for p in east.iter("property"))
    assert props["summary.who_else"] == "7"
    clean = root.find("testsuite[@name='audit-clean']")
    assert [tc.get("name") for tc in clean.iter("testcase") if tc.get("classname") == "audit-clean.who_else"] == [
        "18 capability x place questions: nobody undeclared"]
    assert "who else can (exclusive audit)" in clean.find("system-out").text
    assert root.find("testsuite[@name='not-audited']").find("system-out") is None or \
        "who else" not in root.find("testsuite[@name='not-audited']").find("system-out").text

    doc = json.loads(json_format.render(res))
    assert doc["fleet"]["who_else"] == 7 and doc["fleet"]["who_else_audited"] == 2
    assert doc["clusters"][0]["who_else"][0]["remove"][0]["name"] == "oops"


def test_who_else_values_are_escaped():
    f = who_else_finding("User " + HOSTILE, "vm.delete", "ns", HOSTILE, role=HOSTILE, everyone=HOSTILE)
    res = [with_who_else(cluster_result("c", [("User", "a", "viewer", None)]), [f])]
    assert "<script>" not in html_format.render(res)
    assert "<script>" not in markdown_format.render(res)
    _junit(res)


def unproven_finding(subject, capability, namespace, binding, role="spectro-vm-admin"):
    """One entry of a result's ``who_else_unproven`` as whocan.exclusive_audit writes it: an undeclared holder by the
    RBAC objects that the API server did not confirm."""
    f = who_else_finding(subject, capability, namespace, binding, role=role)
    return dict((k, f[k]) for k in ("capability", "namespace", "scope", "subject", "everyone", "through", "via"))


def with_unproven(result, who_else, unproven, questions=40):
    """``result`` after an exclusive audit with places not proven, its verdict and counts as verdict.tally gives
    them (a place not proven is a failed question; one that also has a confirmed holder is counted once)."""
    with_who_else(result, who_else, questions=questions)
    places = set((f["capability"], f["namespace"]) for f in who_else)
    not_proven = len(set((f["capability"], f["namespace"]) for f in unproven) - places)
    s = result["summary"]
    s.update(passed=s["passed"] - not_proven, failed=s["failed"] + not_proven, who_else_not_proven=not_proven)
    result["who_else_unproven"] = list(unproven)
    result["who_else_summary"]["not_proven"] = not_proven
    result["passed"] = False
    return result


def unproven_results():
    """One cluster whose only finding is not proven, one with a confirmed holder and places not proven (one of
    them where the confirmed holder is), one clean audited cluster."""
    alone = unproven_finding("User gone", "vm.delete", "team1", "by-hand")
    return [
        with_unproven(cluster_result("audit-unproven", [("Group", "viewers", "viewer", None)]), [], [alone],
                      questions=18),
        with_unproven(cluster_result("audit-mixed", [("Group", "viewers", "viewer", ["team1"])]),
                      [who_else_finding("Group ci", "vm.view", "leaky", "oops")],
                      [unproven_finding("User x", "vm.view", "leaky", "x"),
                       unproven_finding("User y", "vm.console", "", "y-everywhere")], questions=27),
        with_who_else(cluster_result("audit-clean", [("Group", "viewers", "viewer", None)]), [], questions=18),
    ]


def test_places_not_proven_read_as_failed_in_every_format():
    """who_else_unproven (undeclared holders by the RBAC objects that the API server did not confirm) is a failed
    question of the audit (verdict.tally): every format says not proven, and none says "nobody undeclared" of it.
    Before, it was a warning at most: the JUnit report passed "18 capability x place questions: nobody undeclared"
    and the Markdown and HTML reports said "Who else can: nobody undeclared"."""
    res = unproven_results()
    md_text = markdown_format.render(res)
    assert md_text.count("### Who else can: nobody undeclared") == 1  # audit-clean's only
    assert "### Who else can: 1 capability \u00d7 place NOT PROVEN" in md_text
    assert "2 capability \u00d7 place not proven (who else can)" in md_text.splitlines()[2]
    rows = [md_cells(line) for line in md_text.splitlines() if "NOT PROVEN**" in line]
    assert [r[:3] for r in rows] == [["vm.delete", "namespace team1", "\u26a0\ufe0f **NOT PROVEN**"],
                                     ["vm.console", "every namespace", "\u26a0\ufe0f **NOT PROVEN**"]]
    assert "User gone (through RoleBinding team1/by-hand (ClusterRole spectro-vm-admin))" in rows[0][3]

    page = html_format.render(res)
    parse_html(page)
    assert page.count("Who else can: nobody undeclared") == 1
    assert page.count('<tr class="not-proven"') == 2 and "1 NOT PROVEN</span>" in page
    assert '<div class="n">2</div><div class="l">capability \u00d7 place not proven (who else can)</div>' in page

    _text, root = _junit(res)
    for name, failures, rest in (("audit-unproven", 1, "the other 17"), ("audit-mixed", 2, "the other 25")):
        suite = root.find("testsuite[@name='%s']" % name)
        cases = dict((tc.get("name"), tc) for tc in suite.iter("testcase") if tc.get("classname").endswith("who_else"))
        failed_cases = [tc for tc in cases.values() if tc.find("failure") is not None]
        assert len(failed_cases) == failures, name
        assert "%s capability x place questions: nobody undeclared" % rest in cases, sorted(cases)
        props = dict((p.get("name"), p.get("value")) for p in suite.iter("property"))
        assert props["summary.who_else_not_proven"] == "1"
    case = root.find("testsuite[@name='audit-unproven']").find(
        "testcase[@name='vm.delete in namespace team1: nobody undeclared']").find("failure")
    assert case.get("type") == "who_else.not_proven" and case.get("message").startswith("not proven")

    doc = json.loads(json_format.render(res))
    assert doc["fleet"]["who_else_not_proven"] == 2 and doc["clusters"][0]["who_else_unproven"][0]["subject"] == \
        "User gone"
    alone, mixed, clean = model.clusters(res)
    assert alone["status"] == mixed["status"] == "failed" and clean["status"] == "passed"
    assert model.who_else_not_proven(alone) == alone["summary"]["who_else_not_proven"] == 1
    assert model.who_else_not_proven(mixed) == 1  # vm.view in leaky has a confirmed holder: failed once, as such
    f = model.fleet([alone, mixed, clean])
    assert (f["who_else"], f["who_else_not_proven"], f["passed"]) == (1, 2, False)


def test_places_not_proven_count_as_tally_counts_them_without_a_summary():
    """A result that gives who_else_unproven but no verdict or counts: computed with verdict.tally, the places not
    proven failed (before: not counted, so the cluster passed)."""
    raw = {"cluster": "c", "access": [], "who_else": [], "who_else_summary": {"questions": 5},
           "who_else_unproven": [unproven_finding("User gone", "vm.delete", "team1", "by-hand")]}
    c = model.clusters([raw])[0]
    assert c["status"] == "failed"
    assert (c["summary"]["checks"], c["summary"]["failed"], c["summary"]["who_else_not_proven"]) == (5, 1, 1)
    assert "nobody undeclared" not in markdown_format.render([raw]).split("Who else can")[1].splitlines()[0]
    assert "Who else can: nobody undeclared" not in html_format.render([raw])


def test_partial_holders_and_named_objects_are_shown_as_held():
    """Issue 19: an undeclared partial holder shows exactly what it holds, in every format; an access check
    about one object (access[].name) names the object, and its kubectl command asks about it."""
    f = who_else_finding("ServiceAccount ci/bot", "vm.console", "", "serial")
    f.update(partial=True, holds=[{"check": "get subresources.kubevirt.io/virtualmachineinstances/console",
                                   "resource_names": []}],
             lacks=["get subresources.kubevirt.io/virtualmachineinstances/vnc"])
    g = who_else_finding("User bob", "vm.delete", "team-a", "by-hand")
    g.update(partial=True, resource_names=["vm-1"],
             holds=[{"check": "delete kubevirt.io/virtualmachines", "resource_names": ["vm-1"]}])
    result = with_who_else(cluster_result("proof", [("User", "bob", "viewer", ["team-a"])]), [f, g])
    row = next(r for r in result["access"] if r["capability"] == "vm.delete" and r["namespace"] == "team-a")
    row.update(name="vm-1", allowed=True, ok=False)
    texts = {fmt: report.render([result], fmt) for fmt in ("markdown", "html", "junit", "json")}
    want = "ServiceAccount ci/bot (only get subresources.kubevirt.io/virtualmachineinstances/console)"
    assert want in texts["markdown"] and want in texts["junit"] and want in texts["html"]
    assert "User bob (only delete kubevirt.io/virtualmachines vm-1)" in texts["markdown"]
    assert "delete kubevirt.io/virtualmachines vm-1" in texts["markdown"]
    assert "can-i delete virtualmachines.kubevirt.io/vm-1" in texts["junit"]  # reproduce: about that VM
    assert '"holds"' in texts["json"] and '"name": "vm-1"' in texts["json"]


# attack pass (session 3): the exclusive audit confirms every violation and a sample of at most 200 of the
# other holders; the reports said "<all of them> holders confirmed by the API server" whatever was asked
# (4,000 holders, 205 asked: "4000 holders confirmed by the API server"). A count says what it proved.
@pytest.mark.parametrize("fmt", ["markdown", "html", "junit"])
def test_the_audit_never_says_more_holders_were_confirmed_than_were_asked(fmt):
    finding = who_else_finding("Group ci-helpers", "vm.delete", "team1", "hand-made-edit", role="edit")
    result = with_who_else(cluster_result("big", [("Group", "viewers", "viewer", None)]), [finding], holders=4000)
    result["who_else_summary"].update(asked=205, sampled=204, confirmed=205)
    text = report.render([result], fmt=fmt, generated_at="2026-12-07T00:00:00Z")
    assert "4000 holders confirmed by the API server" not in text
    assert "4000 holders" in text and "205 of them asked of the API server" in text and "205 confirmed" in text
    # every holder asked (a small cluster): the sentence is as it was
    small = with_who_else(cluster_result("small", [("Group", "viewers", "viewer", None)]), [finding], holders=6)
    small["who_else_summary"].update(asked=6, sampled=5, confirmed=6)
    assert "6 holders confirmed by the API server" in report.render([small], fmt=fmt,
                                                                     generated_at="2026-12-07T00:00:00Z")


@pytest.mark.parametrize("group", ["ops", "a'b $(touch /tmp/x) `id` \"q\"\n\x00", "oidc:vmo-admins", "g" * 5000,
                                   "system:serviceaccounts:ci", "\u00e9quipe"])
def test_a_groups_reproduce_command_is_its_review_by_the_groups_alone(group):
    """Session 5: a Group is asked without a user; kubectl auth can-i cannot ask that (--as-group needs --as, a user
    whose own bindings answer too), so its reproduce command sends the SubjectAccessReview itself: one shell word
    of JSON that is exactly the question asked, whatever the group's name holds."""
    row = {"verb": "delete", "group": "kubevirt.io", "resource": "virtualmachines", "subresource": "",
           "namespace": "team-a", "scope": "namespace", "as_user": "", "as_groups": [group, "system:authenticated"]}
    words = shlex.split(model.kubectl_command(row))
    assert words[0] == "echo" and words[2:] == ["|", "kubectl", "create", "-f", "-", "-o", "jsonpath={.status.allowed}"]
    assert json.loads(words[1]) == {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"groups": [group, "system:authenticated"], "resourceAttributes": {
            "verb": "delete", "group": "kubevirt.io", "resource": "virtualmachines", "namespace": "team-a"}}}
    # every namespace and cluster scope: no namespace in the question; a User keeps kubectl auth can-i --as
    assert "namespace" not in json.loads(shlex.split(model.kubectl_command(dict(row, scope="all-namespaces")))[1])[
        "spec"]["resourceAttributes"]
    assert model.kubectl_command(dict(row, as_user="alice", as_groups=["system:authenticated"])).startswith(
        "kubectl auth can-i delete virtualmachines.kubevirt.io -n team-a --as=alice")
