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
# Added to the legend of a matrix that shows them (and only then: a result without pending items shows no such legend).
_LEGEND_PENDING = "\u25f7 pending = planned by the enforce step under --check (not a failure)"
_LEGEND_NOTE = "\u00b9 = see the note of that number below the matrix"
_SUPERSCRIPT = dict(zip("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"))


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


def superscript(number):
    return "".join(_SUPERSCRIPT[d] for d in str(number))


def cell_mark(cell, note_numbers=None):
    """A compact matrix mark: ``✓ yes``/``✓ no`` (as expected), ``✗ EXCESS``/``✗ MISSING``, ``?``, ``–``,
    ``◷ pending``; with the numbers of the cell's notes as superscripts (``✓ no¹``)."""
    if cell is None:
        return "\u2013"
    refs = "".join(superscript(note_numbers[n]) for n in cell.notes() if n in (note_numbers or {}))
    if cell.state == "unchecked":
        return ("? " + {True: "yes", False: "no"}.get(cell.allowed, "")).strip() + refs
    if cell.state == "violation":
        return "**\u2717 %s**" % {"excess": "EXCESS", "missing": "MISSING"}.get(cell.kind, "FAIL") + refs
    if cell.state == "pending":
        return "\u25f7 pending" + refs
    return "\u2713 " + ("yes" if cell.allowed else "no") + refs


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


def _scopes(c):
    """Per rule set: what it matched and skipped; a warning line for each that matched nothing."""
    warnings = model.warning_lines(c)
    if not (c["scopes"] or warnings):
        return []
    nothing = sum(1 for m in c["scopes"] if m["matched_nothing"])
    heading = "### Namespace rules (%d, %d not proven)" % (len(c["scopes"]), nothing) if c["scopes"] else "### Warnings"
    out = [heading, ""]
    for not_proven, w in warnings:
        out.append("- \u26a0\ufe0f **%s**: %s" % ("NOT PROVEN" if not_proven else "Warning", md(w)))
    if warnings:
        out.append("")
    rows = []
    for m in c["scopes"]:
        if m["matched_nothing"]:
            matched = "**nothing: not proven**"
        else:
            matched = "%d: %s" % (len(m["namespaces"]), md(model.names_text(m["namespaces"])))
        rows.append([md(m["entry"]), md(", ".join(m["rules"])), matched,
                     md(model.names_text(m["skipped_protected"])) or "\u2013"])
    if rows:
        out += table(["Grant", "Rules", "Namespaces matched", "Protected namespaces skipped"], rows) + [""]
    return out


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
        return [] if c["violations"] or c["pending_access"] else ["No access checks in this result.", ""]
    caps = c["capabilities"]
    numbers = model.note_numbers(c)
    rows = []
    for m in c["matrix"]:
        rows.append([md(m["subject"]), md(", ".join(m["personas"])) or "\u2013", md(m["scope"])]
                    + [cell_mark(m["cells"].get(cap), numbers) for cap in caps])
    align = dict((i, ":-:") for i in range(3, 3 + len(caps)))
    legend = _LEGEND
    if any(cell.state == "pending" for m in c["matrix"] for cell in m["cells"].values()):
        legend += " \u00b7 " + _LEGEND_PENDING
    if numbers:
        legend += " \u00b7 " + _LEGEND_NOTE
    return (["### Access matrix", ""]
            + table(["Subject", "Personas", "Scope"] + [md(cap) for cap in caps], rows, align)
            + ["", legend, ""])


def _notes(c):
    """The notes of the access checks, numbered as in the matrix, with where each applies."""
    if not c["notes"]:
        return []
    out = ["Notes:", ""]
    for i, note in enumerate(c["notes"]):
        out.append("- %s %s (%s)" % (superscript(i + 1), md(note["note"]), md("; ".join(model.note_places(note)))))
    return out + [""]


def _pending(c):
    """Drift and failed checks that the enforce step of this run planned under --check: not failures."""
    n = len(c["pending_drift"]) + len(c["pending_access"])
    if not n:
        return []
    out = ["### Pending (%d): planned by the enforce step under --check" % n, "",
           "Not failures: the enforce step of this run was a dry run, so validation saw the cluster before "
           "the changes it planned.", ""]
    for d in c["pending_drift"]:
        action = " (%s)" % md(d["action"]) if d.get("action") else ""
        fix = ". Fix: " + md(d["fix"]) if d.get("fix") else ""
        out.append("- pending: %s %s: %s%s%s" % (
            md(d.get("kind") or "binding"), md(model.qualified(d)), md(d.get("problem") or "differs"), fix, action))
    for subject, what in model.pending_groups(c["pending_access"]):
        out.append("- pending: %s: %s" % (md(subject), md(what)))
    out.append("")
    return out


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


def _who_else(c):
    """The exclusive audit: capability x place -> undeclared holders, each with the binding to remove."""
    audit = c["who_else_audit"]
    if audit is None:
        return []
    counts = model.who_else_counts(audit)
    unproven = model.who_else_groups(c, "who_else_unproven")
    if not c["who_else"] and unproven:
        return ["### Who else can: %d capability \u00d7 place NOT PROVEN" % len(unproven), "",
                "Exclusive audit: %s." % md(counts), ""] + _who_else_unproven(unproven)
    if not c["who_else"]:
        return ["### Who else can: nobody undeclared", "",
                "Exclusive audit: %s." % md(counts) if counts else "Exclusive audit: no undeclared holder.", ""]
    groups = model.who_else_groups(c)
    out = ["### Who else can: %d undeclared (%d capability \u00d7 place)" % (len(c["who_else"]), len(groups)),
           "", "Exclusive audit: %s. Each is a failed check until the binding is removed or the grant declared." % md(
               counts), ""]
    rows = []
    for cap, where, items in groups:
        for r in items:
            rows.append([md(cap), md(where), md(model.who_else_subject(r)),
                         "; ".join(md(b) for b in r["remove"]) or "\u2013", md(r["fix"])])
    return out + table(["Capability", "Where", "Undeclared subject", "Binding to remove", "Fix"], rows) + [""] \
        + _who_else_unproven(unproven)


def _who_else_unproven(groups):
    """The places of the exclusive audit that are not proven (who_else_unproven): failed, never "nobody"."""
    if not groups:
        return []
    rows = [[md(cap), md(where), "\u26a0\ufe0f **NOT PROVEN**", md(model.unproven_text(items))]
            for cap, where, items in groups]
    return ["**Not proven** (%d capability \u00d7 place, each a failed check): %s." % (len(groups), model.NOT_PROVEN_TEXT),
            ""] + table(["Capability", "Where", "Result", "Undeclared by the RBAC objects"], rows) + [""]


SECTIONS = (
    ("roles", _roles),
    ("scopes", _scopes),
    ("drift", _drift),
    ("time_limited", _time_limited),
    ("access", _failed_checks),
    ("who_else", _who_else),
    ("pending", _pending),
    ("access", _matrix),
    ("notes", _notes),
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
    if s.get("unchecked_entries"):
        line += " \u00b7 \u26a0\ufe0f %d grant(s) not proven" % s["unchecked_entries"]
    if s.get("pending"):
        line += " \u00b7 %d %s" % (s["pending"], model.PENDING_TEXT)
    if c["who_else_audit"] is not None:
        line += " \u00b7 who else can: %d undeclared" % len(c["who_else"])
        if model.who_else_not_proven(c):
            line += ", \u26a0\ufe0f %d capability \u00d7 place not proven" % model.who_else_not_proven(c)
    out += [line, ""]
    for _name, section in SECTIONS:
        out += section(c)
    return out


def _count(summary, key):
    """A newer count of the fleet table; who else can shows \u2013 for a cluster the audit did not run on."""
    if key == "who_else" and key not in summary:
        return "\u2013"
    return str(summary.get(key, 0))


def render(results, title=None, generated_at=None):
    """A fleet summary table, then per cluster: roles, namespace rules, drift, failed checks, pending
    items, the matrix and its notes."""
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
    columns = model.newer_columns(f)
    extra = [k for k, _header in columns]
    if "unchecked_entries" in extra:
        parts.append("%d grant(s) not proven (namespace rules that matched nothing)" % f["unchecked_entries"])
    if "pending" in extra:
        parts.append("%d %s" % (f["pending"], model.PENDING_TEXT))
    if "time_limited" in f:
        parts.append("%d time-limited grants, %d overdue" % (f["time_limited"], f["overdue"]))
    if "who_else" in f:
        parts.append("%d undeclared holders (who else can, %d of %d clusters audited)" % (
            f["who_else"], f["who_else_audited"], f["clusters"]))
    if f.get("who_else_not_proven"):
        parts.append("%d capability \u00d7 place not proven (who else can)" % f["who_else_not_proven"])
    out += ["%s: %s" % ("**PASSED**" if f["passed"] else "**FAILED**", "; ".join(parts)), ""]
    rows = []
    for c in norm:
        s = c["summary"]
        if c["status"] in model.VALIDATED:
            rows.append([md(c["name"]), _ICON[c["status"]], str(s["checks"]), str(s["failed"]),
                         str(s["drift"]), str(s["unchecked"])] + [_count(s, k) for k in extra] + [""])
        else:
            rows.append([md(c["name"]), _ICON[c["status"]]] + ["\u2013"] * (4 + len(extra)) + [md(c["msg"])])
    header = ["Cluster", "Result", "Checks", "Failed", "Drift", "Unchecked"] + [hd for _k, hd in columns] + ["Message"]
    out += table(header, rows, dict((i, "---:") for i in range(2, 6 + len(extra))))
    out.append("")
    for c in norm:
        out += _cluster(c)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
