# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report: one standalone page (inline CSS from ``html_style``, no scripts, nothing loaded).

The fleet summary (verdict, tiles, a table of clusters), the legend, a CSS-only filter for
rows with violations, then a card per cluster. Every value goes through ``h`` (escaped, control
characters replaced), attributes included.

Per cluster, ``SECTIONS`` lists what is shown, in order: ``(name, function)``, where ``name``
is one of ``model.SECTIONS`` and ``function(cluster, cid)`` returns the section's lines (``cid``
is the card's id, for ids inside it), or nothing when it has nothing to show.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import re

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model
from ansible_collections.vmo.rbac.plugins.plugin_utils.report.html_style import CSS, CSS_NEWER_PARTS
from ansible_collections.vmo.rbac.plugins.plugin_utils.report.model import (
    STATUS_ERROR,
    STATUS_FAILED,
    STATUS_PASSED,
    STATUS_SKIPPED,
    text,
)

_STATUS = {STATUS_PASSED: ("pass", "PASSED"), STATUS_FAILED: ("fail", "FAILED"),
           STATUS_ERROR: ("error", "NOT VALIDATED"), STATUS_SKIPPED: ("skip", "SKIPPED")}


def h(value):
    """HTML-escaped text (quotes too), safe in element content and attribute values."""
    return html.escape(model.clean(value), quote=True)


def _slug(index, name):
    return "cluster-%d-%s" % (index + 1, re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "x")


def _note_refs(cell, cid, numbers):
    """Links to the cell's notes below the matrix: ``<sup>1</sup>``, and the words for a screen reader."""
    refs = [numbers[n] for n in cell.notes() if n in numbers]
    return "".join('<sup class="note-ref"><a href="#%s-note-%d" aria-label="note %d">%d</a></sup>' % (cid, i, i, i)
                   for i in refs)


def _cell(cell, cap, cid="", numbers=None):
    if cell is None:
        return ('<td class="cell na" data-capability="%s" data-state="na">\u2013'
                '<span class="sr-only"> not checked at this scope</span></td>' % h(cap))
    title = cell.describe()
    reasons = sorted(set(text(r.get("reason")) for r in cell.rows if r.get("reason")))
    if reasons and cell.state in ("violation", "pending"):
        title += "\n" + "\n".join(reasons)
    for note in cell.notes():
        title += "\nNote: " + note
    refs = _note_refs(cell, cid, numbers or {})
    attrs = 'data-capability="%s" data-state="%s"' % (h(cap), cell.state)
    if cell.state == "unchecked":
        return ('<td class="cell unchecked" %s title="%s"><span class="m" aria-hidden="true">?</span> unchecked%s</td>'
                % (attrs, h(title), refs))
    if cell.state == "pending":
        return ('<td class="cell pending" %s data-kind="%s" title="%s"><span class="k"><span aria-hidden="true">'
                '\u25f7</span> pending</span> <span class="a">%s</span>%s</td>'
                % (attrs, h(cell.kind or "violation"), h(title),
                   h("%d/%d allowed" % (cell.granted, cell.asked) if cell.partial
                     else model.allowed_text(cell.allowed)), refs))
    if cell.state == "violation":
        label = {"excess": "EXCESS", "missing": "MISSING"}.get(cell.kind, "VIOLATION")
        return ('<td class="cell violation v-%s" %s data-kind="%s" title="%s"><span class="k">'
                '<span aria-hidden="true">\u2717</span> %s</span> <span class="a">%s</span></td>'
                % (h(cell.kind or "violation"), attrs, h(cell.kind or "violation"), h(title), label,
                   h("%d/%d allowed" % (cell.granted, cell.asked) if cell.partial
                     else model.allowed_text(cell.allowed))))
    which = "allow" if cell.allowed else "deny"
    if cell.optional:
        return ('<td class="cell ok %s optional" %s data-expected="optional" title="%s"><span class="m" '
                'aria-hidden="true">\u2713</span> %s<span class="sr-only"> (optional)</span>%s</td>'
                % (which, attrs, h(title), "allowed" if cell.allowed else "denied", refs))
    return ('<td class="cell ok %s" %s title="%s"><span class="m" aria-hidden="true">\u2713</span> %s%s</td>'
            % (which, attrs, h(title), "allowed" if cell.allowed else "denied", refs))


# ======================================================================== sections


def _matrix(c, cid):
    if not c["matrix"]:
        return ['<p class="muted">No access checks in this result.</p>']
    caps = c["capabilities"]
    out = ['<div class="scroll"><table class="matrix" id="%s-matrix">' % cid,
           '<caption>Access matrix of %s: one row per subject and scope, one column per capability. '
           'Hover a cell for the expectation and the API server\'s reason.</caption>' % h(c["name"]),
           '<thead><tr><th scope="col">Subject, personas, scope</th>']
    for cap in caps:
        title = model.capability_description(cap)
        out.append('<th scope="col" class="cap"%s>%s</th>' % (' title="%s"' % h(title) if title else "", h(cap)))
    out.append("</tr></thead><tbody>")
    numbers = model.note_numbers(c)
    for m in c["matrix"]:
        bad = any(cell.state == "violation" for cell in m["cells"].values())
        chips = "".join('<span class="persona p-%s">%s</span>' % (
            h(p) if p in model.PERSONAS else "other", h(p)) for p in m["personas"])
        kind = m["scope_kind"] if m["scope_kind"] in model.SCOPE_KINDS else "other"
        out.append('<tr class="%s" data-subject="%s" data-scope="%s"><th scope="row"><span class="who">%s</span>'
                   '<span class="meta">%s<span class="scope k-%s" title="scope: %s">%s</span></span></th>' % (
                       "has-violation" if bad else "row-clean", h(m["subject"]), h(m["scope"]), h(m["subject"]),
                       chips, kind, h(kind), h(m["scope"])))
        for cap in caps:
            out.append(_cell(m["cells"].get(cap), cap, cid, numbers))
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return out


def _notes(c, cid):
    """The notes of the matrix's cells, numbered as their links, with where each applies."""
    if not c["notes"]:
        return []
    out = ['<ol class="notes" id="%s-notes" aria-label="notes">' % cid]
    for i, note in enumerate(c["notes"]):
        places = model.note_places(note)
        out.append('<li id="%s-note-%d"><span class="note">%s</span> <span class="muted">(%s)</span></li>' % (
            cid, i + 1, h(note["note"]), h("; ".join(places))))
    out.append("</ol>")
    return out


def _scopes(c, cid):
    """The namespace rules: a warning for each that matched nothing (not proven), and per rule set
    what it matched and which protected namespaces it skipped."""
    warnings = model.warning_lines(c)
    if not (c["scopes"] or warnings):
        return []
    out = ['<div class="warning" role="note"><strong>\u26a0 %s:</strong> %s</div>' % (
        "NOT PROVEN" if not_proven else "Warning", h(w)) for not_proven, w in warnings]
    if not c["scopes"]:
        return out
    nothing = sum(1 for m in c["scopes"] if m["matched_nothing"])
    out += ['<details class="scopes" id="%s-scopes"%s><summary>Namespace rules: %d, %d not proven</summary>' % (
        cid, " open" if nothing else "", len(c["scopes"]), nothing),
        '<div class="scroll"><table class="list scopes"><thead><tr><th scope="col">Grant</th>'
        '<th scope="col">Rules</th><th scope="col">Namespaces matched</th>'
        '<th scope="col">Protected namespaces skipped</th></tr></thead><tbody>']
    for m in c["scopes"]:
        rules = " ".join("<code>%s</code>" % h(r) for r in m["rules"])
        if m["matched_nothing"]:
            matched = '<strong class="nothing">none: not proven</strong>'
        else:
            shown = m["namespaces"][:model.NAMES_SHOWN]
            matched = '<span class="count">%d</span> %s' % (len(m["namespaces"]), h(", ".join(shown)))
            rest = m["namespaces"][model.NAMES_SHOWN:]
            if rest:
                matched += (' <details class="more"><summary>and %d more</summary><span class="rest">%s</span>'
                            '</details>' % (len(rest), h(", ".join(rest))))
        out.append('<tr class="%s" data-entry="%s"><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            "nothing" if m["matched_nothing"] else "matched", h(m["entry"]), h(m["entry"]), rules, matched,
            h(model.names_text(m["skipped_protected"])) or "\u2013"))
    out.append("</tbody></table></div></details>")
    return out


def _pending(c, _cid):
    """What the enforce step of this run planned under --check: drift and failed checks, not failures."""
    n = len(c["pending_drift"]) + len(c["pending_access"])
    if not n:
        return []
    out = ['<h3>Pending (%d): planned by the enforce step under --check</h3>' % n,
           '<p class="muted">Not failures: the enforce step of this run was a dry run, so validation saw the '
           'cluster before the changes it planned.</p>',
           '<div class="scroll"><table class="list pending"><thead><tr><th scope="col">Object or subject</th>'
           '<th scope="col">What</th><th scope="col">Status</th></tr></thead><tbody>']
    for d in c["pending_drift"]:
        out.append('<tr data-pending="drift"><td>%s <strong>%s</strong></td><td>%s%s</td>'
                   '<td><span class="pending" title="%s">pending</span></td></tr>' % (
                       h(d.get("kind") or "binding"), h(model.qualified(d)), h(d.get("problem") or "differs"),
                       h(". Fix: " + text(d.get("fix"))) if d.get("fix") else "", h(model.PENDING_TEXT)))
    for who, what in model.pending_groups(c["pending_access"]):
        out.append('<tr data-pending="access"><td>%s</td><td>%s</td><td><span class="pending" title="%s">pending'
                   '</span></td></tr>' % (h(who), h(what), h(model.PENDING_TEXT)))
    out.append("</tbody></table></div>")
    return out


def _failed_checks(c, _cid):
    if not c["violations"]:
        return []
    out = ['<h3>Failed checks (%d)</h3>' % len(c["violations"]),
           '<div class="scroll"><table class="list failed-checks"><thead><tr>'
           '<th scope="col">Subject</th><th scope="col">Capability</th><th scope="col">Check</th>'
           '<th scope="col">Namespace</th><th scope="col">Expected</th><th scope="col">Allowed</th>'
           '<th scope="col">Reason</th></tr></thead><tbody>']
    for r in c["violations"]:
        kind = model.row_kind(r)
        out.append('<tr class="check" data-kind="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                   '<td><strong class="%s">%s</strong>%s</td><td>%s</td></tr>' % (
                       h(kind), h(r.get("subject")), h(r.get("capability")), h(model.check_text(r)),
                       h(model.row_scope_label(r)), h(model.expected_text(r.get("expected"))),
                       "yes" if r.get("allowed") else "no", h(model.allowed_text(r.get("allowed"))),
                       " (%s)" % h(kind) if kind in ("excess", "missing") else "", h(r.get("reason"))))
        out.append('<tr class="repro"><td colspan="7"><span class="muted">Reproduce:</span> <code>%s</code></td></tr>'
                   % h(model.kubectl_command(r)))
    out.append("</tbody></table></div>")
    return out


def _drift(c, _cid):
    if not c["drift"]:
        return []
    out = ['<h3>Drift (%d)</h3>' % len(c["drift"]),
           '<div class="scroll"><table class="list drift"><thead><tr><th scope="col">Object</th>'
           '<th scope="col">Problem</th><th scope="col">Fix</th><th scope="col">Action</th></tr></thead><tbody>']
    for d in c["drift"]:
        action = text(d.get("action"))
        out.append('<tr><td>%s <strong>%s</strong></td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            h(d.get("kind") or "binding"), h(model.qualified(d)), h(d.get("problem")), h(d.get("fix")),
            '<span class="action a-%s">%s</span>' % (h(re.sub(r"[^a-z-]", "", action.lower())), h(action))
            if action else ""))
    out.append("</tbody></table></div>")
    return out


def _time_limited(c, _cid):
    if not c["time_limited"]:
        return []
    overdue = ", %d overdue" % c["overdue"] if c["overdue"] else ""
    out = ['<h3>Time-limited grants (%d%s)</h3>' % (len(c["time_limited"]), overdue),
           '<div class="scroll"><table class="list time-limited"><thead><tr><th scope="col">Binding</th>'
           '<th scope="col">Subjects</th><th scope="col">Persona</th><th scope="col">Ends</th>'
           '<th scope="col">Time left</th><th scope="col">State</th><th scope="col">Reason</th></tr></thead><tbody>']
    for t in c["time_limited"]:
        state = text(t.get("state"), "?")
        if model.is_overdue(t):
            mark = '<strong class="absent" title="its time has passed and it still grants">%s</strong>' % h(state)
        elif state == "active":
            mark = '<span class="present">%s</span>' % h(state)
        else:
            mark = '<span class="muted">%s</span>' % h(state)
        out.append('<tr data-state="%s"><td>%s <strong>%s</strong></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                   '<td>%s</td><td>%s</td></tr>' % (
                       h(state), h(t.get("kind") or "binding"), h(model.qualified(t)),
                       h(", ".join(text(s) for s in t.get("subjects") or [])), h(t.get("persona")), h(t.get("expires")),
                       h(t.get("time_left")), mark, h(t.get("reason"))))
    out.append("</tbody></table></div>")
    return out


def _roles(c, _cid):
    if not c["roles"]:
        return []
    missing = [r for r in c["roles"] if r.get("present") is False]
    out = ['<details%s><summary>Roles: %d referenced, %d missing</summary>' % (
        " open" if missing else "", len(c["roles"]), len(missing)),
        '<div class="scroll"><table class="list roles"><thead><tr><th scope="col">Role</th>'
        '<th scope="col">Persona</th><th scope="col">Present</th><th scope="col">Reference</th>'
        '<th scope="col">Detail</th></tr></thead><tbody>']
    for r in c["roles"]:
        present = r.get("present") is not False
        out.append('<tr><td>%s <strong>%s</strong></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            h(r.get("kind") or "ClusterRole"), h(model.qualified(r)), h(r.get("persona") or "\u2013"),
            '<span class="present">\u2713 present</span>' if present else '<span class="absent">\u2717 missing</span>',
            h(r.get("reference") or "\u2013"), h(r.get("detail"))))
    out.append("</tbody></table></div></details>")
    return out


def _privileged(c, _cid):
    if not c["privileged"]:
        return []
    out = ['<details><summary>Privileged subjects (information): %d</summary>' % len(c["privileged"]),
           '<div class="scroll"><table class="list privileged"><thead><tr><th scope="col">Subject</th>'
           '<th scope="col">Binding</th><th scope="col">Role</th><th scope="col">Why</th></tr></thead><tbody>']
    for p in c["privileged"]:
        out.append("<tr><td>%s</td><td>%s %s</td><td>%s</td><td>%s</td></tr>" % (
            h(p.get("subject")), h(p.get("binding_kind") or ""), h(model.qualified(p, "binding")), h(p.get("role")),
            h(p.get("why"))))
    out.append("</tbody></table></div></details>")
    return out


def _who_else(c, cid):
    """The exclusive audit: capability x place -> undeclared holders, each with the binding to remove."""
    audit = c["who_else_audit"]
    if audit is None:
        return []
    counts = model.who_else_counts(audit)
    out = ['<section class="who-else" id="%s-who-else" aria-labelledby="%s-who-else-h" data-undeclared="%d">' % (
        cid, cid, len(c["who_else"]))]
    unproven = model.who_else_groups(c, "who_else_unproven")
    if not c["who_else"] and unproven:
        out += ['<h3 id="%s-who-else-h">Who else can: %d capability \u00d7 place <span class="badge warn">NOT '
                'PROVEN</span></h3>' % (cid, len(unproven)),
                '<p class="muted">Exclusive audit: %s.</p>' % h(counts)] + _who_else_unproven(unproven) + ["</section>"]
        return out
    if not c["who_else"]:
        out += ['<h3 id="%s-who-else-h">Who else can: nobody undeclared</h3>' % cid,
                '<p class="muted">Exclusive audit: %s.</p>' % h(counts or "no undeclared holder"), "</section>"]
        return out
    groups = model.who_else_groups(c)
    out += ['<h3 id="%s-who-else-h">Who else can: %d undeclared (%d capability \u00d7 place)</h3>' % (
        cid, len(c["who_else"]), len(groups)),
        '<p class="muted">Exclusive audit: %s. Each is a failed check until the binding is removed or the grant '
        'declared.</p>' % h(counts),
        '<div class="scroll"><table class="list who-else"><thead><tr><th scope="col">Capability</th>'
        '<th scope="col">Where</th><th scope="col">Undeclared subject</th><th scope="col">Binding to remove</th>'
        '<th scope="col">Fix</th></tr></thead><tbody>']
    for cap, where, items in groups:
        for r in items:
            out.append('<tr class="holder" data-capability="%s" data-where="%s"><td>%s</td><td>%s</td>'
                       '<td><strong class="absent">%s</strong></td><td>%s</td><td>%s</td></tr>' % (
                           h(cap), h(where), h(cap), h(where), h(model.who_else_subject(r)),
                           "<br>".join("<code>%s</code>" % h(b) for b in r["remove"]) or "\u2013", h(r["fix"])))
    if not unproven:
        out.append("</tbody></table></div></section>")
        return out
    out.append("</tbody></table></div>")
    return out + _who_else_unproven(unproven) + ["</section>"]


def _who_else_unproven(groups):
    """The places of the exclusive audit that are not proven (who_else_unproven): failed, never "nobody"."""
    if not groups:
        return []
    out = ['<p><strong class="absent">Not proven</strong> (%d capability \u00d7 place, each a failed check): %s.</p>'
           % (len(groups), h(model.NOT_PROVEN_TEXT)),
           '<div class="scroll"><table class="list who-else-unproven"><thead><tr><th scope="col">Capability</th>'
           '<th scope="col">Where</th><th scope="col">Result</th><th scope="col">Undeclared by the RBAC objects</th>'
           '</tr></thead><tbody>']
    for cap, where, items in groups:
        out.append('<tr class="not-proven" data-capability="%s" data-where="%s"><td>%s</td><td>%s</td>'
                   '<td><span class="badge warn">NOT PROVEN</span></td><td>%s</td></tr>' % (
                       h(cap), h(where), h(cap), h(where), h(model.unproven_text(items))))
    out.append("</tbody></table></div>")
    return out


SECTIONS = (
    ("scopes", _scopes),
    ("access", _matrix),
    ("notes", _notes),
    ("access", _failed_checks),
    ("who_else", _who_else),
    ("pending", _pending),
    ("drift", _drift),
    ("time_limited", _time_limited),
    ("roles", _roles),
    ("privileged", _privileged),
)


# ============================================================================ page


def _cluster(c, index):
    cid = _slug(index, c["name"])
    cls, word = _STATUS[c["status"]]
    s = c["summary"]
    unproven = (s.get("unchecked_entries", 0) + model.who_else_not_proven(c)) if c["status"] in model.VALIDATED else 0
    out = ['<section class="card %s" id="%s" aria-labelledby="%s-h" data-cluster="%s" data-status="%s">' % (
        cls, cid, cid, h(c["name"]), c["status"]),
        '<h2 id="%s-h">%s <span class="badge %s">%s</span>%s</h2>' % (
            cid, h(c["name"]), cls, word,
            ' <span class="badge warn">%d NOT PROVEN</span>' % unproven if unproven else "")]
    if c["status"] not in model.VALIDATED:
        out.append('<p class="msg" role="status">%s</p>' % h(
            c["msg"] or ("The cluster could not be validated." if c["status"] == STATUS_ERROR else "Skipped.")))
        out.append("</section>")
        return out
    extra = ""
    if s.get("unchecked_entries"):
        extra += " \u00b7 %d not proven" % s["unchecked_entries"]
    if s.get("pending"):
        extra += " \u00b7 %d pending" % s["pending"]
    if c["who_else_audit"] is not None:
        extra += " \u00b7 who else can: %d undeclared" % len(c["who_else"])
        if model.who_else_not_proven(c):
            extra += ", %d capability \u00d7 place not proven" % model.who_else_not_proven(c)
    out.append('<p class="stats">%d checks \u00b7 %d failed (%d excess, %d missing) \u00b7 %d drift \u00b7 '
               '%d unchecked \u00b7 %d subjects%s</p>' % (
                   s["checks"], s["failed"], c["excess"], c["missing"], s["drift"], s["unchecked"], s["subjects"],
                   extra))
    for _name, section in SECTIONS:
        out += section(c, cid)
    out.append("</section>")
    return out


_LEGEND = ('<div class="legend" aria-label="legend"><span><span class="sw ok allow">\u2713 allowed</span>'
           'allowed, as expected</span><span><span class="sw ok deny">\u2713 denied</span>denied, as expected</span>'
           '<span><span class="sw violation">\u2717 EXCESS</span>allowed but expected denied</span>'
           '<span><span class="sw violation">\u2717 MISSING</span>denied but expected allowed</span>'
           '<span><span class="sw unchecked">? unchecked</span>no expectation known</span>'
           '<span><span class="sw na">\u2013</span>not checked at this scope</span></div>')


_LEGEND_PENDING = ('<span><span class="sw pending">\u25f7 pending</span>planned by the enforce step under --check '
                   '(not a failure)</span>')
_LEGEND_NOTE = ('<span><span class="sw ok deny">\u2713 denied<sup>1</sup></span>optional (either answer is ok): '
                'see the note of that number</span>')


def _legend(norm):
    """The legend; with the marks of pending cells and notes when a cluster has them."""
    extra = ""
    if any(cell.state == "pending" for c in norm for m in c["matrix"] for cell in m["cells"].values()):
        extra += _LEGEND_PENDING
    if any(c["notes"] for c in norm):
        extra += _LEGEND_NOTE
    return _LEGEND[:-len("</div>")] + extra + "</div>" if extra else _LEGEND


def _shows_newer_parts(norm):
    """Does the page show namespace rules, warnings, pending items or notes (which need CSS_NEWER_PARTS)?"""
    return any(c["scopes"] or c["warnings"] or c["pending_drift"] or c["pending_access"] or c["notes"]
               or c["summary"].get("unchecked_entries") or c["who_else_unproven"] for c in norm)


def _tile(n, label, tone=""):
    return '<div class="tile %s"><div class="n">%s</div><div class="l">%s</div></div>' % (tone, n, h(label))


def _fleet(norm, f):
    out = ['<section aria-label="fleet summary"><div class="tiles">',
           _tile("%d/%d" % (f["clusters_passed"], f["clusters"]), "clusters passed", "good" if f["passed"] else "bad"),
           _tile(f["checks"], "checks"),
           _tile(f["failed"], "failed", "bad" if f["failed"] else "good"),
           _tile(f["excess"], "excess access", "bad" if f["excess"] else ""),
           _tile(f["missing"], "missing access", "bad" if f["missing"] else ""),
           _tile(f["drift"], "drift", "warn" if f["drift"] else ""),
           _tile(f["unchecked"], "unchecked")]
    columns = model.newer_columns(f)
    extra = [k for k, _header in columns]
    if "unchecked_entries" in extra:
        out.append(_tile(f["unchecked_entries"], "not proven", "warn" if f["unchecked_entries"] else "good"))
    if "pending" in extra:
        out.append(_tile(f["pending"], "pending (--check)", "warn"))
    if f["clusters_error"]:
        out.append(_tile(f["clusters_error"], "not validated", "warn"))
    if "time_limited" in f:
        out.append(_tile(f["time_limited"], "time-limited grants"))
        out.append(_tile(f["overdue"], "overdue", "bad" if f["overdue"] else ""))
    if "who_else" in f:
        out.append(_tile(f["who_else"], "undeclared holders (who else can)", "bad" if f["who_else"] else "good"))
    if f.get("who_else_not_proven"):
        out.append(_tile(f["who_else_not_proven"], "capability \u00d7 place not proven (who else can)", "bad"))
    out.append("</div>")
    if not norm:
        out.append('<p class="msg" role="status">No cluster results to report.</p>')
    else:
        out.append('<div class="scroll"><table class="list fleet"><caption>Clusters</caption><thead><tr>'
                   '<th scope="col">Cluster</th><th scope="col">Result</th><th scope="col" class="num">Checks</th>'
                   '<th scope="col" class="num">Failed</th><th scope="col" class="num">Drift</th>'
                   '<th scope="col" class="num">Unchecked</th>%s<th scope="col">Message</th></tr></thead><tbody>'
                   % "".join('<th scope="col" class="num">%s</th>' % header for _k, header in columns))
        for i, c in enumerate(norm):
            cls, word = _STATUS[c["status"]]
            s = c["summary"]
            validated = c["status"] in model.VALIDATED
            shown = ("checks", "failed", "drift", "unchecked") + tuple(extra)
            # who else can: \u2013 for a cluster validated without the exclusive audit
            nums = "".join('<td class="num">%s</td>' % (
                s.get(k, 0) if validated and (k != "who_else" or k in s) else "\u2013") for k in shown)
            out.append('<tr><th scope="row"><a href="#%s">%s</a></th><td><span class="badge %s">%s</span></td>%s'
                       '<td>%s</td></tr>' % (_slug(i, c["name"]), h(c["name"]), cls, word, nums,
                                             h(c["msg"]) if not validated else ""))
        out.append("</tbody></table></div>")
    out.append("</section>")
    return out


def render(results, title=None, generated_at=None):
    """One standalone page: fleet summary, then per cluster the namespace rules, the access matrix and
    its notes, failures, pending items, drift."""
    norm = model.clusters(results)
    f = model.fleet(norm)
    title = text(title) or model.DEFAULT_TITLE
    verdict = ("pass", "PASSED") if f["passed"] else ("fail", "FAILED")
    out = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta name="generator" content="vmo.rbac">',
           "<title>%s: %s</title>" % (h(title), verdict[1]),
           "<style>%s</style>" % (CSS + CSS_NEWER_PARTS if _shows_newer_parts(norm) else CSS), "</head>", "<body>",
           '<header class="page"><div class="inner"><div><h1>%s</h1><div class="sub">%s</div></div>'
           '<div class="verdict %s" role="status" data-verdict="%s">FLEET %s</div></div></header>' % (
               h(title), h("Generated %s" % generated_at) if generated_at is not None else
               "Personas \u00d7 capabilities, proven with SubjectAccessReviews",
               verdict[0], verdict[0], verdict[1]),
           "<main>"]
    out += _fleet(norm, f)
    out.append(_legend(norm))
    out.append('<div class="toolbar"><input type="checkbox" id="only-violations">'
               '<label for="only-violations">Show only rows with violations (and clusters that did not pass)</label>'
               '</div>')
    for i, c in enumerate(norm):
        out += _cluster(c, i)
    out.append('<footer>vmo.rbac: every cell is a SubjectAccessReview answered by the cluster\'s API server.'
               '</footer>')
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
