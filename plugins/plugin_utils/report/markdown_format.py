# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Markdown report: a fleet summary table, then per cluster its sections.

Readable in a terminal and on GitHub (GFM tables). Every value goes through ``md``, which
backslash-escapes Markdown's specials and keeps it on one line.

Per cluster, ``SECTIONS`` lists what is shown, in order: ``(name, function)``, where ``name``
is one of ``model.SECTIONS`` and ``function(cluster)`` returns the section's lines, each
section ending with an empty line, or nothing when it has nothing to show.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model
from ansible_collections.vmo.rbac.plugins.plugin_utils.report.model import (
    STATUS_ERROR,
    STATUS_FAILED,
    STATUS_PASSED,
    STATUS_SKIPPED,
)

# Backslash-escaped everywhere; "_" only where it could open or close emphasis (not inside a word,
# so vmo_role_binding stays readable in a terminal).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~#&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_ICON = {STATUS_PASSED: "\u2705 passed", STATUS_FAILED: "\u274c failed",
         STATUS_ERROR: "\u26a0\ufe0f not validated", STATUS_SKIPPED: "\u23ed\ufe0f skipped"}
_LEGEND = ("Legend: \u2713 yes / \u2713 no = allowed / denied, as expected \u00b7 "
           "**\u2717 EXCESS** = allowed but expected denied \u00b7 "
           "**\u2717 MISSING** = denied but expected allowed \u00b7 "
           "? = unchecked (no expectation known) \u00b7 \u2013 = not checked at this scope")


def md(value):
    """Text safe in Markdown prose and table cells: specials backslash-escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(model.clean(value).split()))


def table(header, rows, align=None):
    """A GFM table; ``align`` maps a column index to its delimiter (``---:``, ``:-:``)."""
    out = ["| " + " | ".join(header) + " |",
           "| " + " | ".join((align or {}).get(i, "---") for i in range(len(header))) + " |"]
    for r in rows:
        out.append("| " + " | ".join(c if c != "" else " " for c in r) + " |")
    return out


def cell_mark(cell):
    """A compact matrix mark: ``✓ yes``/``✓ no`` (as expected), ``✗ EXCESS``/``✗ MISSING``, ``?``, ``–``."""
    if cell is None:
        return "\u2013"
    if cell.state == "unchecked":
        return ("? " + {True: "yes", False: "no"}.get(cell.allowed, "")).strip()
    if cell.state == "violation":
        return "**\u2717 %s**" % {"excess": "EXCESS", "missing": "MISSING"}.get(cell.kind, "FAIL")
    return "\u2713 " + ("yes" if cell.allowed else "no")


# ======================================================================== sections


def _roles(c):
    missing = [r for r in c["roles"] if r.get("present") is False]
    differs = [r for r in c["roles"] if r.get("present") is not False and r.get("reference") == "differs"]
    if not c["roles"]:
        return []
    if not (missing or differs):
        return ["Roles: %d referenced, all present." % len(c["roles"]), ""]
    out = ["### Roles: %d referenced, %d missing" % (len(c["roles"]), len(missing)), ""]
    for r in missing:
        out.append("- **missing**: %s %s%s" % (md(r.get("kind") or "ClusterRole"), md(model.qualified(r)),
                                               " (persona %s)" % md(r["persona"]) if r.get("persona") else ""))
    for r in differs:
        out.append("- differs from the reference (information): %s %s: %s" % (
            md(r.get("kind") or "ClusterRole"), md(model.qualified(r)), md(r.get("detail"))))
    return out + [""]


def _drift(c):
    if not c["drift"]:
        return []
    out = ["### Drift (%d)" % len(c["drift"]), ""]
    for d in c["drift"]:
        action = " (%s)" % md(d["action"]) if d.get("action") else ""
        fix = ". Fix: " + md(d["fix"]) if d.get("fix") else ""
        out.append("- %s %s: %s%s%s" % (
            md(d.get("kind") or "binding"), md(model.qualified(d)), md(d.get("problem") or "differs"), fix, action))
    return out + [""]


def _failed_checks(c):
    if not c["violations"]:
        return []
    rows = []
    for r in c["violations"]:
        kind = model.row_kind(r)
        rows.append([md(r.get("subject")), md(r.get("capability")), md(model.check_text(r)),
                     md(model.row_scope_label(r)), model.expected_text(r.get("expected")),
                     "**%s**%s" % (model.allowed_text(r.get("allowed")),
                                   " (%s)" % kind if kind in ("excess", "missing") else ""),
                     md(r.get("reason"))])
    return (["### Failed checks (%d)" % len(c["violations"]), ""]
            + table(["Subject", "Capability", "Check", "Namespace", "Expected", "Allowed", "Reason"], rows)
            + [""])


def _matrix(c):
    if not c["matrix"]:
        return [] if c["violations"] else ["No access checks in this result.", ""]
    caps = c["capabilities"]
    rows = []
    for m in c["matrix"]:
        rows.append([md(m["subject"]), md(", ".join(m["personas"])) or "\u2013", md(m["scope"])]
                    + [cell_mark(m["cells"].get(cap)) for cap in caps])
    align = dict((i, ":-:") for i in range(3, 3 + len(caps)))
    return (["### Access matrix", ""]
            + table(["Subject", "Personas", "Scope"] + [md(cap) for cap in caps], rows, align)
            + ["", _LEGEND, ""])


def _privileged(c):
    if not c["privileged"]:
        return []
    out = ["### Privileged subjects (information, %d)" % len(c["privileged"]), ""]
    for p in c["privileged"]:
        out.append("- %s: %s %s \u2192 %s (%s)" % (
            md(p.get("subject")), md(p.get("binding_kind") or "binding"), md(model.qualified(p, "binding")),
            md(p.get("role")), md(p.get("why"))))
    return out + [""]


def _time_limited(c):
    if not c["time_limited"]:
        return []
    rows = []
    for t in c["time_limited"]:
        state = model.text(t.get("state"), "?")
        rows.append([md(model.time_limited_text(t)), md(", ".join(model.text(s) for s in t.get("subjects") or [])),
                     md(t.get("persona")), md(t.get("expires")), md(t.get("time_left")),
                     "**%s**" % md(state) if model.is_overdue(t) else md(state), md(t.get("reason"))])
    head = "### Time-limited grants (%d%s)" % (
        len(c["time_limited"]), ", **%d overdue**" % c["overdue"] if c["overdue"] else "")
    note = ["overdue = its time has passed and it still grants: the next vmo_role_binding run ends it.", ""] \
        if c["overdue"] else []
    return [head, ""] + table(["Binding", "Subjects", "Persona", "Ends", "Time left", "State", "Reason"], rows) \
        + [""] + note


SECTIONS = (
    ("roles", _roles),
    ("drift", _drift),
    ("time_limited", _time_limited),
    ("access", _failed_checks),
    ("access", _matrix),
    ("privileged", _privileged),
)


# ========================================================================== report


def _cluster(c):
    s = c["summary"]
    out = ["## %s: %s" % (md(c["name"]), _ICON[c["status"]]), ""]
    if c["status"] not in model.VALIDATED:
        return out + ["> %s" % md(c["msg"] or ("not validated" if c["status"] == STATUS_ERROR else "skipped")), ""]
    line = "%d checks, %d failed, %d drift, %d unchecked, %d subjects" % (
        s["checks"], s["failed"], s["drift"], s["unchecked"], s["subjects"])
    if c["excess"] or c["missing"]:
        line += " \u00b7 violations: %d excess, %d missing" % (c["excess"], c["missing"])
    out += [line, ""]
    for _name, section in SECTIONS:
        out += section(c)
    return out


def render(results, title=None, generated_at=None):
    """A fleet summary table, then per cluster: roles, drift, failed checks and the matrix."""
    norm = model.clusters(results)
    f = model.fleet(norm)
    out = ["# %s" % md(title or model.DEFAULT_TITLE), ""]
    if generated_at is not None:
        out += ["_Generated %s_" % md(generated_at), ""]
    if not norm:
        out += ["**FAILED**: no cluster results to report.", ""]
        return "\n".join(out)
    parts = ["%d of %d clusters passed" % (f["clusters_passed"], f["clusters"])]
    if f["clusters_error"]:
        parts.append("%d not validated" % f["clusters_error"])
    if f["clusters_skipped"]:
        parts.append("%d skipped" % f["clusters_skipped"])
    parts.append("%d checks, %d failed (%d excess, %d missing), %d drift, %d unchecked" % (
        f["checks"], f["failed"], f["excess"], f["missing"], f["drift"], f["unchecked"]))
    if "time_limited" in f:
        parts.append("%d time-limited grants, %d overdue" % (f["time_limited"], f["overdue"]))
    out += ["%s: %s" % ("**PASSED**" if f["passed"] else "**FAILED**", "; ".join(parts)), ""]
    rows = []
    for c in norm:
        s = c["summary"]
        if c["status"] in model.VALIDATED:
            rows.append([md(c["name"]), _ICON[c["status"]], str(s["checks"]), str(s["failed"]),
                         str(s["drift"]), str(s["unchecked"]), ""])
        else:
            rows.append([md(c["name"]), _ICON[c["status"]], "\u2013", "\u2013", "\u2013", "\u2013", md(c["msg"])])
    out += table(["Cluster", "Result", "Checks", "Failed", "Drift", "Unchecked", "Message"], rows,
                 {2: "---:", 3: "---:", 4: "---:", 5: "---:"})
    out.append("")
    for c in norm:
        out += _cluster(c)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
