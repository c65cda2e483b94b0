# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JUnit XML report: a testsuite per cluster, a testcase per role, drift item and access check.

CI systems and AWX show JUnit natively: a violation is a failed test case with the
``kubectl auth can-i`` command that reproduces it, a cluster that could not be validated is
one test case in error. Pending items (planned by the enforce step under ``--check``) and grants
whose namespace rules matched nothing (not proven) are skipped test cases, never passed ones; an
optional check that passed carries its note in its ``system-out``.

Per cluster, ``SECTIONS`` lists what is shown, in order: ``(name, function)``, where ``name``
is one of ``model.SECTIONS`` and ``function(cluster)`` returns a list of ``Case`` (a check
that passed, failed or was skipped; only for a cluster that was validated) and ``information``
blocks (text for the suite's ``system-out``, for every cluster).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model
from ansible_collections.vmo.rbac.plugins.plugin_utils.report.model import (
    OPTIONAL,
    SCOPE_ALL,
    SCOPE_CLUSTER,
    SCOPE_OUTSIDE,
    STATUS_ERROR,
    STATUS_FAILED,
    clean,
    text,
)

OUTCOMES = {"failure": "failures", "error": "errors", "skipped": "skipped"}
COUNTS = ("tests", "failures", "errors", "skipped")


class Case(namedtuple("Case", "classname name outcome message kind text output",
                      defaults=(None, "", "", "", ""))):
    """One test case. ``outcome``: None (passed), ``failure``, ``error`` or ``skipped``, with its
    ``message``, ``kind`` (the element's ``type``) and ``text``; ``output``: the case's ``system-out``."""

    __slots__ = ()


class Information(str):
    """A block of text for the suite's ``system-out``: information, not a check."""


def information(heading, lines):
    """``heading:`` and one line per item, as one block of the suite's ``system-out``."""
    return Information("%s:\n%s" % (heading, "\n".join(lines)))


# ======================================================================== sections


def _case_name(row):
    if row.get("expected") == OPTIONAL:
        want = "optional"
    else:
        want = {True: "expected allowed", False: "expected denied"}.get(row.get("expected"), "no expectation")
    return "%s: %s (%s)" % (text(row.get("capability"), "?"), model.check_text(row), want)


def _case_scope(row):
    """The scope in a test case's class name (``cluster.subject.scope``)."""
    scope = row.get("scope")
    if scope == SCOPE_CLUSTER:
        return "cluster"
    if scope == SCOPE_ALL:
        return "all namespaces"
    if scope == SCOPE_OUTSIDE:
        return "%s (outside scope)" % text(row.get("namespace"))
    return text(row.get("namespace")) or "cluster"


def _details(row):
    groups = ", ".join(text(g) for g in row.get("as_groups") or []) or "-"
    lines = ["subject: %s" % text(row.get("subject")),
             "personas: %s" % ", ".join(text(p) for p in row.get("personas") or []),
             "asked as: %s, groups %s" % (("user " + text(row.get("as_user"), "?")) if row.get("as_user") or
                                          not row.get("as_groups") else "no user (the groups alone)", groups),
             "expected: %s, API server answered: %s" % (
                 model.expected_text(row.get("expected")), model.allowed_text(row.get("allowed"))),
             "reason: %s" % (text(row.get("reason")) or "-"),
             "reproduce: %s" % model.kubectl_command(row)]
    if row.get("note"):
        lines.append("note: %s" % text(row.get("note")))
    return "\n".join(lines)


def _roles(c):
    out = []
    for r in c["roles"]:
        what = "%s %s" % (text(r.get("kind"), "ClusterRole"), model.qualified(r))
        if r.get("present") is False:
            out.append(Case(c["name"] + ".roles", what + " exists", "failure", what + " is missing",
                            "role.missing", text(r.get("detail"))))
        else:
            out.append(Case(c["name"] + ".roles", what + " exists",
                            output=r.get("detail") if r.get("reference") == "differs" else ""))
    return out


def _scopes(c):
    """A skipped case per rule set that matched nothing (not proven); the rule sets as information."""
    out = []
    for m in c["scopes"]:
        if m["matched_nothing"]:
            out.append(Case(c["name"] + ".scopes", "%s matches a namespace" % m["entry"], "skipped",
                            "not proven: " + (m["warning"] or "%s matched no namespace" % ", ".join(m["rules"]))))
    for not_proven, w in model.warning_lines(dict(c, scopes=[])):  # the warnings no rule set explains
        if not_proven:
            out.append(Case(c["name"] + ".scopes", "%s matches a namespace" % w.split(": ", 1)[0], "skipped",
                            "not proven: " + w))
    lines = []
    for m in c["scopes"]:
        matched = "nothing (not proven)" if m["matched_nothing"] else "%d namespace(s): %s" % (
            len(m["namespaces"]), model.names_text(m["namespaces"]))
        lines.append("%s: %s -> %s%s" % (m["entry"], ", ".join(m["rules"]), matched,
                                         "; protected namespaces skipped: " + model.names_text(m["skipped_protected"])
                                         if m["skipped_protected"] else ""))
    lines += ["warning: " + w for w in c["other_warnings"]]
    if lines:
        out.append(information("namespace rules", lines))
    return out


def _drift_case(c, d, pending=False):
    problem = text(d.get("problem"), "differs from the declaration")
    name = "%s %s" % (text(d.get("kind"), "binding"), model.qualified(d))
    details = "problem: %s\nfix: %s\naction: %s" % (problem, text(d.get("fix"), "-"), text(d.get("action"), "-"))
    if pending:
        return Case(c["name"] + ".bindings", name, "skipped", "%s: %s" % (model.PENDING_TEXT, problem), text=details)
    fix = "; fix: " + text(d.get("fix")) if d.get("fix") else ""
    return Case(c["name"] + ".bindings", name, "failure", problem + fix, "drift." + text(d.get("action"), "drift"),
                details)


def _drift(c):
    return [_drift_case(c, d) for d in c["drift"]]


def _classname(c, row):
    return "%s.%s.%s" % (c["name"], text(row.get("subject"), "?"), _case_scope(row))


def _access(c):
    out = []
    for r in c["access"]:
        classname = _classname(c, r)
        if r.get("ok") is False and model.is_pending(r):
            continue  # in the pending section
        if r.get("ok") is False:
            kind = model.row_kind(r)
            message = "%s but expected %s%s" % (
                model.allowed_text(r.get("allowed")), model.expected_text(r.get("expected")),
                " (%s)" % kind if kind in ("excess", "missing") else "")
            out.append(Case(classname, _case_name(r), "failure", message, "access." + kind, _details(r)))
        elif r.get("ok") is None:
            out.append(Case(classname, _case_name(r), "skipped",
                            text(r.get("reason")) or "unchecked: no expectation for this role"))
        else:
            out.append(Case(classname, _case_name(r), output=text(r.get("note"))))
    return out


def _pending(c):
    """Skipped cases: the drift and failed checks the enforce step of this run planned under --check."""
    out = [_drift_case(c, d, pending=True) for d in c["pending_drift"]]
    for r in c["pending_access"]:
        kind = model.row_kind(r)
        out.append(Case(_classname(c, r), _case_name(r), "skipped", "%s: %s but expected %s%s" % (
            model.PENDING_TEXT, model.allowed_text(r.get("allowed")), model.expected_text(r.get("expected")),
            " (%s)" % kind if kind in ("excess", "missing") else ""), text=_details(r)))
    return out


def _notes(c):
    if not c["notes"]:
        return []
    return [information("notes", ["%s (%s)" % (n["note"], "; ".join(model.note_places(n))) for n in c["notes"]])]


def _privileged(c):
    if not c["privileged"]:
        return []
    return [information("privileged subjects (information)", [
        "%s: %s %s -> %s (%s)" % (text(p.get("subject")), text(p.get("binding_kind"), "binding"),
                                  model.qualified(p, "binding"), text(p.get("role")), text(p.get("why")))
        for p in c["privileged"]])]


def _time_limited(c):
    if not c["time_limited"]:
        return []
    return [information("time-limited grants (information; an overdue one is also a failed drift case)", [
        "%s: %s, persona %s, ends %s (%s), %s%s" % (
            model.time_limited_text(t), ", ".join(text(s) for s in t.get("subjects") or []) or "-",
            text(t.get("persona"), "-"), text(t.get("expires"), "?"), text(t.get("time_left"), "?"),
            "OVERDUE" if model.is_overdue(t) else text(t.get("state"), "?"),
            "; reason: " + text(t.get("reason")) if t.get("reason") else "")
        for t in c["time_limited"]])]


def _who_else(c):
    """The exclusive audit: a failed case per capability x place with undeclared holders (each with the binding
    to remove), a passed one for the other questions; the audit's counts as information."""
    audit = c["who_else_audit"]
    if audit is None:
        return []
    out = []
    groups = model.who_else_groups(c)
    for cap, where, items in groups:
        lines = ["%s: remove %s; fix: %s" % (model.who_else_subject(r), ", ".join(r["remove"]) or "-", r["fix"] or "-")
                 for r in items]
        out.append(Case(c["name"] + ".who_else", "%s in %s: nobody undeclared" % (cap, where), "failure",
                        "%d undeclared: %s" % (len(items), ", ".join(model.who_else_subject(r) for r in items)),
                        "who_else.undeclared", "\n".join(lines)))
    unproven = model.who_else_groups(c, "who_else_unproven")
    for cap, where, items in unproven:
        out.append(Case(c["name"] + ".who_else", "%s in %s: nobody undeclared" % (cap, where), "failure",
                        "%s: %d undeclared by the RBAC objects: %s" % (
                            model.NOT_PROVEN_TEXT, len(items), model.unproven_text(items)),
                        "who_else.not_proven", model.unproven_text(items)))
    rest = audit.get("questions", len(groups) + len(unproven)) - len(groups) - len(unproven)
    if rest > 0 or not (groups or unproven):
        out.append(Case(c["name"] + ".who_else", "%s: nobody undeclared" % (
            "the other %d capability x place questions" % rest if groups or unproven else
            "%d capability x place questions" % rest if "questions" in audit else "every capability x place")))
    counts = model.who_else_counts(audit)
    if counts:
        out.append(information("who else can (exclusive audit)", [counts]))
    return out


SECTIONS = (
    ("roles", _roles),
    ("scopes", _scopes),
    ("drift", _drift),
    ("access", _access),
    ("who_else", _who_else),
    ("pending", _pending),
    ("notes", _notes),
    ("time_limited", _time_limited),
    ("privileged", _privileged),
)


# ========================================================================== report


def _add(suite, counts, case):
    tc = ET.SubElement(suite, "testcase", {"classname": clean(case.classname), "name": clean(case.name)})
    counts["tests"] += 1
    if case.outcome:
        counts[OUTCOMES[case.outcome]] += 1
        attrs = {"message": clean(case.message)}
        if case.outcome != "skipped":
            attrs["type"] = clean(case.kind)
        el = ET.SubElement(tc, case.outcome, attrs)
        if case.text:
            el.text = clean(case.text)
    if case.output:
        ET.SubElement(tc, "system-out").text = clean(case.output)


def _suite(root, c, generated_at):
    suite = ET.SubElement(root, "testsuite", {"name": clean(c["name"])})
    counts = dict((k, 0) for k in COUNTS)
    props = ET.SubElement(suite, "properties")
    for k, v in (("cluster", c["name"]), ("status", c["status"])) + tuple(
            ("summary." + k, c["summary"][k]) for k in sorted(c["summary"])):
        ET.SubElement(props, "property", {"name": clean(k), "value": clean(v)})

    items = [item for _name, section in SECTIONS for item in section(c)]
    if c["status"] in model.VALIDATED:
        for case in items:
            if isinstance(case, Case):
                _add(suite, counts, case)
        if c["status"] == STATUS_FAILED and not counts["failures"]:
            # The module said "failed" but no item above shows why: never let CI show green.
            _add(suite, counts, Case(c["name"], "validation result", "failure",
                                     c["msg"] or "the validation did not pass", "validation.failed", c["msg"]))
    elif c["status"] == STATUS_ERROR:
        _add(suite, counts, Case(c["name"], "validate cluster %s" % c["name"], "error",
                                 c["msg"] or "the cluster could not be validated", "cluster.unreachable", c["msg"]))
    else:
        _add(suite, counts, Case(c["name"], "validate cluster %s" % c["name"], "skipped", c["msg"] or "skipped"))
    info = [item for item in items if isinstance(item, Information)]
    if info:
        ET.SubElement(suite, "system-out").text = clean("\n\n".join(info))

    for k in COUNTS:
        suite.set(k, str(counts[k]))
    if generated_at is not None:
        suite.set("timestamp", clean(generated_at))
    # testsuite attributes in the conventional order
    suite.attrib = dict((k, suite.attrib[k]) for k in ("name",) + COUNTS + ("timestamp",) if k in suite.attrib)
    return counts


def render(results, title=None, generated_at=None):
    """JUnit XML: a testsuite per cluster, a testcase per role, drift item and access check."""
    norm = model.clusters(results)
    root = ET.Element("testsuites", {"name": clean(title or model.DEFAULT_TITLE)})
    total = dict((k, 0) for k in COUNTS)
    for c in norm:
        counts = _suite(root, c, generated_at)
        for k in total:
            total[k] += counts[k]
    if not norm:
        suite = ET.SubElement(root, "testsuite", {"name": "vmo.rbac", "tests": "1", "failures": "0",
                                                  "errors": "1", "skipped": "0"})
        tc = ET.SubElement(suite, "testcase", {"classname": "vmo.rbac", "name": "fleet has results"})
        ET.SubElement(tc, "error", {"message": "no cluster results to report", "type": "fleet.empty"})
        total["tests"], total["errors"] = 1, 1
    for k in COUNTS:
        root.set(k, str(total[k]))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
