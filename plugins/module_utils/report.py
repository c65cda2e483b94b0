# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation results -> reports: JSON, Markdown, JUnit XML and a standalone HTML matrix.

Pure: plain data in, text out; no Ansible, no network, standard library only. The module
``vmo_rbac_validate``, the role and the filter plugin ``vmo.rbac.vmo_rbac_report`` all render
with this file, so a report looks the same wherever it was made.

Input: a list of per-cluster results as ``vmo_rbac_validate`` returns them (``cluster``,
``passed``, ``summary``, ``roles``, ``drift``, ``access``, ``matrix``, ``capabilities``,
``privileged``). Also accepted: one result (a dict), a mapping ``{cluster name: result}``,
and a registered loop result (``{"results": [...]}``). Optional keys may be missing; a
result that has ``failed`` (or ``unreachable``) and no data at all is a cluster that could
not be validated and is rendered as such, with its ``msg``.

Output is deterministic: the same input gives byte-identical text. Nothing reads the clock;
pass ``generated_at`` to stamp a report.

Vocabulary used in every format:
- a check is *ok* when the API server's answer equals the expected one;
- a *violation* is either *excess* (allowed but expected denied: privilege creep) or
  *missing* (denied but expected allowed: the persona does not work);
- *unchecked*: no expectation is known (for example a custom role), nothing was asked;
- a matrix cell that a scope does not check (cluster-scoped capabilities in a namespace,
  namespaced ones at cluster scope) is *not applicable*.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from shlex import quote as _shell_quote

FORMATS = ("json", "markdown", "junit", "html")
DEFAULT_TITLE = "VMO RBAC validation report"

STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_ERROR = "error"      # the cluster could not be validated at all (unreachable, no roles, ...)
STATUS_SKIPPED = "skipped"  # the validation task was skipped for this cluster

SCOPE_NAMESPACE = "namespace"
SCOPE_OUTSIDE = "outside"
SCOPE_ALL = "all-namespaces"
SCOPE_CLUSTER = "cluster"

_DATA_KEYS = ("summary", "roles", "drift", "access", "matrix", "capabilities")

# Short descriptions of the shipped capabilities (personas.CAPABILITIES is the source of truth;
# kept here so that this file needs nothing but the standard library).
CAPABILITY_DESCRIPTIONS = {
    "vm.view": "See virtual machines and their running instances",
    "vm.console": "Open the serial console and the VNC display of a VM",
    "vm.power": "Start, stop and restart VMs",
    "vm.create": "Launch new VMs",
    "vm.clone": "Clone VMs",
    "vm.delete": "Delete VMs",
    "vm.migrate": "Live-migrate VMs between nodes",
    "vm.snapshot": "Take VM snapshots",
    "template.manage": "Create, update and delete VM templates",
    "cluster.manage": "Manage the cluster: namespaces, nodes, cluster roles",
}


class ReportError(ValueError):
    """Bad input for a report; ``argument`` names the parameter at fault."""

    def __init__(self, argument, message):
        super(ReportError, self).__init__("%s: %s" % (argument, message))
        self.argument = argument
        self.message = message


# ============================================================================ input


def _is_map(value):
    return isinstance(value, (dict, Mapping))


def _is_list(value):
    return isinstance(value, (list, tuple))


def _list_of_maps(value):
    return [v for v in value if _is_map(v)] if _is_list(value) else []


def _text(value, default=""):
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


# Characters XML 1.0 cannot carry at all (even escaped), and C1 controls, which terminals may obey:
# replaced by U+FFFD in every format but JSON (which escapes them itself).
_XML_INVALID = re.compile(u"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def _x(value):
    """Text with control characters replaced (U+FFFD): safe in XML, HTML and terminals."""
    return _XML_INVALID.sub(u"\ufffd", _text(value))


def _int(value, default=0):
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _unwrap(results):
    """The list of (name hint, result) pairs in ``results``, whatever container it came in."""
    if results is None:
        raise ReportError("results", "expected a list of vmo_rbac_validate results, got nothing (None)")
    if _is_map(results):
        if "results" in results and _is_list(results["results"]) and not any(k in results for k in _DATA_KEYS):
            return _unwrap(results["results"])  # a registered loop
        if any(k in results for k in _DATA_KEYS + ("cluster", "passed", "failed", "msg", "unreachable")):
            return [(None, results)]            # one result
        if all(_is_map(v) for v in results.values()):
            return [(_text(k), results[k]) for k in sorted(results, key=_text)]  # {cluster: result}
        raise ReportError("results", "a mapping that is neither a vmo_rbac_validate result nor "
                                     "{cluster name: result}")
    if isinstance(results, (str, bytes)) or not _is_list(results):
        raise ReportError("results", "expected a list of vmo_rbac_validate results, got %s"
                          % type(results).__name__)
    out = []
    for i, item in enumerate(results):
        if not _is_map(item):
            raise ReportError("results", "item %d is %s, expected a dict (a vmo_rbac_validate result)"
                              % (i, "None" if item is None else "a " + type(item).__name__))
        out.append((None, item))
    return out


def _has_data(raw):
    return any(raw.get(k) for k in _DATA_KEYS)


def _status(raw, summary):
    if raw.get("unreachable") or (raw.get("failed") and not _has_data(raw)):
        return STATUS_ERROR
    if raw.get("skipped") and not _has_data(raw):
        return STATUS_SKIPPED
    passed = raw.get("passed")
    if passed is True:
        return STATUS_PASSED
    if not _has_data(raw):
        return STATUS_ERROR  # nothing was checked: not passed, and nothing to show as failed either
    if passed is False:
        return STATUS_FAILED
    return STATUS_PASSED if summary["failed"] == 0 and not raw.get("failed") else STATUS_FAILED


def violation_kind(expected, allowed):
    """``excess`` (allowed, expected denied), ``missing`` (denied, expected allowed) or None."""
    if expected is False and allowed:
        return "excess"
    if expected is True and allowed is False:
        return "missing"
    return None


def _row_kind(row):
    kind = violation_kind(row.get("expected"), row.get("allowed"))
    return kind or ("violation" if row.get("ok") is False else None)


def _scope_key(scope_kind, namespace):
    """(kind, namespace) of a matrix row: the module keeps one row per subject, kind and namespace."""
    kind = scope_kind or SCOPE_NAMESPACE
    return (kind, namespace if kind in (SCOPE_NAMESPACE, SCOPE_OUTSIDE) else "")


def scope_label(scope_kind, namespace):
    """How a scope reads in every report (the same words as the module's matrix)."""
    if scope_kind == SCOPE_CLUSTER:
        return "(cluster)"
    if scope_kind == SCOPE_ALL:
        return "(all namespaces)"
    if scope_kind == SCOPE_OUTSIDE:
        return "%s (outside scope)" % (namespace or "?")
    return namespace or "(cluster)"


def check_text(row):
    """``delete kubevirt.io/virtualmachines``, ``get subresources.kubevirt.io/virtualmachineinstances/vnc``."""
    res = _text(row.get("resource"), "?")
    if row.get("subresource"):
        res += "/" + _text(row.get("subresource"))
    group = _text(row.get("group"))
    return "%s %s%s" % (_text(row.get("verb"), "?"), group + "/" if group else "", res)


def kubectl_command(row):
    """The ``kubectl auth can-i`` command that asks the same question by hand."""
    resource = _text(row.get("resource"), "?")
    if row.get("group"):
        resource += "." + _text(row.get("group"))
    words = ["kubectl", "auth", "can-i", _text(row.get("verb"), "?"), resource]
    if row.get("subresource"):
        words.append("--subresource=" + _text(row.get("subresource")))
    scope = row.get("scope")
    if scope == SCOPE_ALL:
        words.append("--all-namespaces")
    elif scope != SCOPE_CLUSTER and row.get("namespace"):
        words += ["-n", _text(row.get("namespace"))]
    if row.get("as_user"):
        words.append("--as=" + _text(row.get("as_user")))
    for g in row.get("as_groups") or []:
        words.append("--as-group=" + _text(g))
    return " ".join(_shell_quote(w) for w in words)


def _expected_text(value):
    return {True: "allowed", False: "denied"}.get(value, "no expectation")


def _allowed_text(value):
    return {True: "allowed", False: "denied"}.get(value, "not asked")


class _Cell(object):
    """One matrix cell: subject x scope x capability."""

    __slots__ = ("state", "kind", "allowed", "expected", "granted", "asked", "rows")

    def __init__(self, state, kind=None, allowed=None, expected=None, granted=0, asked=0, rows=()):
        self.state = state          # ok | violation | unchecked | na
        self.kind = kind            # excess | missing | violation | None
        self.allowed = allowed      # True | False | None (not asked)
        self.expected = expected    # True | False | None
        self.granted = granted      # checks of the capability the API server allowed ...
        self.asked = asked          # ... out of the checks asked
        self.rows = rows            # the access rows behind the cell

    @property
    def partial(self):
        return 0 < self.granted < self.asked

    def allowed_words(self):
        if self.partial:
            return "partly allowed (%d of %d checks)" % (self.granted, self.asked)
        return _allowed_text(self.allowed)

    def describe(self):
        """One line for tooltips and screen readers."""
        if self.state == "na":
            return "not checked at this scope"
        if self.state == "unchecked":
            return "unchecked: no expectation for this role, nothing asked"
        head = {"excess": "VIOLATION (excess): ", "missing": "VIOLATION (missing): ",
                "violation": "VIOLATION: "}.get(self.kind, "as expected: ")
        return "%s%s, expected %s" % (head, self.allowed_words(), _expected_text(self.expected))


def _cell_from_rows(rows, state_hint=None, expected_hint=None, allowed_hint=None):
    asked = [r for r in rows if r.get("allowed") is not None]
    granted = sum(1 for r in asked if r.get("allowed"))
    expected = expected_hint
    if expected is None:
        exp = [r.get("expected") for r in rows if r.get("expected") is not None]
        expected = exp[0] if exp else None
    if asked:
        allowed = granted == len(asked)
    else:
        allowed = allowed_hint if isinstance(allowed_hint, bool) else None
    if state_hint in ("ok", "violation", "unchecked"):
        state = state_hint
    elif any(r.get("ok") is False for r in rows):
        state = "violation"
    elif any(r.get("ok") is True for r in rows):
        state = "ok"
    else:
        state = "unchecked"
    kind = None
    if state == "violation":
        if expected is False:
            kind = "excess"
        elif expected is True:
            kind = "missing"
        else:
            kinds = [_row_kind(r) for r in rows if r.get("ok") is False]
            kind = kinds[0] if kinds else "violation"
    return _Cell(state, kind, allowed, expected, granted, len(asked), tuple(rows))


def _normalize(index, name_hint, raw):
    access = _list_of_maps(raw.get("access"))
    roles = _list_of_maps(raw.get("roles"))
    drift = _list_of_maps(raw.get("drift"))
    privileged = _list_of_maps(raw.get("privileged"))
    given = raw.get("summary") if _is_map(raw.get("summary")) else {}
    violations = [r for r in access if r.get("ok") is False]
    unchecked = sum(1 for r in access if r.get("ok") is None)
    missing_roles = [r for r in roles if r.get("present") is False]
    computed = {
        "checks": len(roles) + len(access) - unchecked,
        "failed": len(missing_roles) + len(drift) + len(violations),
        "drift": len(drift),
        "unchecked": unchecked,
        "subjects": len(set(_text(r.get("subject")) for r in access)),
    }
    summary = dict((k, _int(given[k], computed[k]) if k in given else computed[k]) for k in computed)
    summary["passed"] = _int(given.get("passed"), summary["checks"] - summary["failed"]) \
        if "passed" in given else max(0, summary["checks"] - summary["failed"])
    name = _text(raw.get("cluster")) or name_hint or _text(raw.get("host")) or "cluster %d" % (index + 1)
    status = _status(raw, summary)

    # Access rows by matrix row key, then capability, in the order given.
    by_key = {}
    for r in access:
        key = (_text(r.get("subject")),) + _scope_key(r.get("scope"), _text(r.get("namespace")))
        by_key.setdefault(key, {}).setdefault(_text(r.get("capability")), []).append(r)

    matrix = []
    given_matrix = _list_of_maps(raw.get("matrix"))
    capabilities = [_text(c) for c in raw.get("capabilities") or [] if c is not None]
    seen_caps = set(capabilities)
    if given_matrix:
        for m in given_matrix:
            kind = _text(m.get("scope_kind"), SCOPE_NAMESPACE)
            label = _text(m.get("scope"))
            subject = _text(m.get("subject"))
            row_checks = by_key.get((subject,) + _scope_key(kind, label), {})
            if not row_checks and kind == SCOPE_OUTSIDE:
                # the label reads "<namespace> (outside scope)": find the namespace it names
                outside = [k for k in by_key if k[0] == subject and k[1] == SCOPE_OUTSIDE]
                named = [k for k in outside if scope_label(SCOPE_OUTSIDE, k[2]) == label]
                if named or len(outside) == 1:
                    row_checks = by_key[(named or outside)[0]]
            cells_in = m.get("cells") if _is_map(m.get("cells")) else {}
            allowed_in = m.get("allowed") if _is_map(m.get("allowed")) else {}
            expected_in = m.get("expected") if _is_map(m.get("expected")) else {}
            cells = {}
            for cap in list(cells_in) + [c for c in row_checks if c not in cells_in]:
                cap = _text(cap)
                cells[cap] = _cell_from_rows(row_checks.get(cap, []), _text(cells_in.get(cap)) or None,
                                             expected_in.get(cap), allowed_in.get(cap))
                if cap not in seen_caps:
                    seen_caps.add(cap)
                    capabilities.append(cap)
            personas_ = [_text(p) for p in m.get("personas") or []]
            matrix.append({"subject": subject, "personas": personas_, "scope": label or scope_label(kind, ""),
                           "scope_kind": kind, "cells": cells})
    else:  # no matrix given: derive it from the access rows
        order = []
        rows_by = {}
        for r in access:
            key = (_text(r.get("subject")),) + _scope_key(r.get("scope"), _text(r.get("namespace")))
            if key not in rows_by:
                order.append(key)
                rows_by[key] = r
        for key in order:
            first = rows_by[key]
            cells = {}
            for cap, rows in by_key[key].items():
                cells[cap] = _cell_from_rows(rows)
                if cap not in seen_caps:
                    seen_caps.add(cap)
                    capabilities.append(cap)
            matrix.append({"subject": key[0], "personas": [_text(p) for p in first.get("personas") or []],
                           "scope": scope_label(key[1], _text(first.get("namespace"))), "scope_kind": key[1],
                           "cells": cells})

    excess = sum(1 for r in violations if _row_kind(r) == "excess")
    missing = sum(1 for r in violations if _row_kind(r) == "missing")
    return {
        "name": name,
        "status": status,
        "msg": _text(raw.get("msg")),
        "summary": summary,
        "roles": roles,
        "drift": drift,
        "access": access,
        "violations": violations,
        "excess": excess,
        "missing": missing,
        "matrix": matrix,
        "capabilities": capabilities,
        "privileged": privileged,
    }


def clusters(results):
    """The results as normalized per-cluster dicts (name, status, summary, matrix of cells, ...)."""
    return [_normalize(i, hint, raw) for i, (hint, raw) in enumerate(_unwrap(results))]


def _fleet(norm):
    count = dict((s, sum(1 for c in norm if c["status"] == s))
                 for s in (STATUS_PASSED, STATUS_FAILED, STATUS_ERROR, STATUS_SKIPPED))
    validated = [c for c in norm if c["status"] in (STATUS_PASSED, STATUS_FAILED)]
    return {
        # An empty fleet proves nothing, so it does not pass.
        "passed": bool(norm) and all(c["status"] in (STATUS_PASSED, STATUS_SKIPPED) for c in norm)
        and count[STATUS_PASSED] > 0,
        "clusters": len(norm),
        "clusters_passed": count[STATUS_PASSED],
        "clusters_failed": count[STATUS_FAILED],
        "clusters_error": count[STATUS_ERROR],
        "clusters_skipped": count[STATUS_SKIPPED],
        "checks": sum(c["summary"]["checks"] for c in validated),
        "failed": sum(c["summary"]["failed"] for c in validated),
        "drift": sum(c["summary"]["drift"] for c in validated),
        "unchecked": sum(c["summary"]["unchecked"] for c in validated),
        "excess": sum(c["excess"] for c in validated),
        "missing": sum(c["missing"] for c in validated),
    }


def fleet_summary(results):
    """Counts over every cluster; ``passed`` is true only if every validated cluster passed."""
    return _fleet(clusters(results))


# ============================================================================= JSON


def _json_default(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=_text)
    if _is_map(value):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return _text(value)


def to_json(results, title=None, generated_at=None):
    """The results as given, plus ``fleet`` (counts) and ``title``; sorted keys, 2-space indent."""
    pairs = _unwrap(results)
    doc = {
        "title": title or DEFAULT_TITLE,
        "fleet": _fleet([_normalize(i, h, r) for i, (h, r) in enumerate(pairs)]),
        "clusters": [r for _h, r in pairs],
    }
    if generated_at is not None:
        doc["generated_at"] = _text(generated_at)
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, default=_json_default,
                      separators=(",", ": ")) + "\n"


# ========================================================================= Markdown

# Backslash-escaped everywhere; "_" only where it could open or close emphasis (not inside a word,
# so vmo_role_binding stays readable in a terminal).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~#&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_MD_ICON = {STATUS_PASSED: "\u2705 passed", STATUS_FAILED: "\u274c failed",
            STATUS_ERROR: "\u26a0\ufe0f not validated", STATUS_SKIPPED: "\u23ed\ufe0f skipped"}


def md(value):
    """Text safe in Markdown prose and table cells: specials backslash-escaped, one line."""
    text = " ".join(_x(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_table(header, rows, align=None):
    out = ["| " + " | ".join(header) + " |",
           "| " + " | ".join((align or {}).get(i, "---") for i in range(len(header))) + " |"]
    for r in rows:
        out.append("| " + " | ".join(c if c != "" else " " for c in r) + " |")
    return out


def md_cell(cell):
    """A compact matrix mark: ``✓ yes``/``✓ no`` (as expected), ``✗ EXCESS``/``✗ MISSING``, ``?``, ``–``."""
    if cell is None or cell.state == "na":
        return "\u2013"
    if cell.state == "unchecked":
        return ("? " + {True: "yes", False: "no"}.get(cell.allowed, "")).strip()
    if cell.state == "violation":
        return "**\u2717 %s**" % {"excess": "EXCESS", "missing": "MISSING"}.get(cell.kind, "FAIL")
    return "\u2713 " + ("yes" if cell.allowed else "no")


_MD_LEGEND = ("Legend: \u2713 yes / \u2713 no = allowed / denied, as expected \u00b7 "
              "**\u2717 EXCESS** = allowed but expected denied \u00b7 "
              "**\u2717 MISSING** = denied but expected allowed \u00b7 "
              "? = unchecked (no expectation known) \u00b7 \u2013 = not checked at this scope")


def _drift_where(d):
    return "%s/%s" % (_text(d.get("namespace")), _text(d.get("name"))) if d.get("namespace") else _text(d.get("name"))


def _role_where(r):
    return "%s/%s" % (_text(r.get("namespace")), _text(r.get("name"))) if r.get("namespace") else _text(r.get("name"))


def _md_cluster(c):
    s = c["summary"]
    out = ["## %s: %s" % (md(c["name"]), _MD_ICON[c["status"]]), ""]
    if c["status"] in (STATUS_ERROR, STATUS_SKIPPED):
        out += ["> %s" % md(c["msg"] or ("not validated" if c["status"] == STATUS_ERROR else "skipped")), ""]
        return out
    line = "%d checks, %d failed, %d drift, %d unchecked, %d subjects" % (
        s["checks"], s["failed"], s["drift"], s["unchecked"], s["subjects"])
    if c["excess"] or c["missing"]:
        line += " \u00b7 violations: %d excess, %d missing" % (c["excess"], c["missing"])
    out += [line, ""]

    missing_roles = [r for r in c["roles"] if r.get("present") is False]
    differs = [r for r in c["roles"] if r.get("present") is not False and r.get("reference") == "differs"]
    if c["roles"] and not (missing_roles or differs):
        out += ["Roles: %d referenced, all present." % len(c["roles"]), ""]
    elif c["roles"]:
        out += ["### Roles: %d referenced, %d missing" % (len(c["roles"]), len(missing_roles)), ""]
        for r in missing_roles:
            out.append("- **missing**: %s %s%s" % (md(r.get("kind") or "ClusterRole"), md(_role_where(r)),
                                                   " (persona %s)" % md(r["persona"]) if r.get("persona") else ""))
        for r in differs:
            out.append("- differs from the reference (information): %s %s: %s" % (
                md(r.get("kind") or "ClusterRole"), md(_role_where(r)), md(r.get("detail"))))
        if missing_roles or differs:
            out.append("")

    if c["drift"]:
        out += ["### Drift (%d)" % len(c["drift"]), ""]
        for d in c["drift"]:
            action = " (%s)" % md(d["action"]) if d.get("action") else ""
            fix = ". Fix: " + md(d["fix"]) if d.get("fix") else ""
            out.append("- %s %s: %s%s%s" % (
                md(d.get("kind") or "binding"), md(_drift_where(d)), md(d.get("problem") or "differs"), fix, action))
        out.append("")

    if c["violations"]:
        out += ["### Failed checks (%d)" % len(c["violations"]), ""]
        rows = []
        for r in c["violations"]:
            kind = _row_kind(r)
            rows.append([md(r.get("subject")), md(r.get("capability")), md(check_text(r)),
                         md(scope_label(r.get("scope"), _text(r.get("namespace")))),
                         _expected_text(r.get("expected")),
                         "**%s**%s" % (_allowed_text(r.get("allowed")),
                                       " (%s)" % kind if kind in ("excess", "missing") else ""),
                         md(r.get("reason"))])
        out += _md_table(["Subject", "Capability", "Check", "Namespace", "Expected", "Allowed", "Reason"], rows)
        out.append("")

    if c["matrix"]:
        caps = c["capabilities"]
        out += ["### Access matrix", ""]
        rows = []
        for m in c["matrix"]:
            rows.append([md(m["subject"]), md(", ".join(m["personas"])) or "\u2013", md(m["scope"])]
                        + [md_cell(m["cells"].get(cap)) for cap in caps])
        align = dict((i, ":-:") for i in range(3, 3 + len(caps)))
        out += _md_table(["Subject", "Personas", "Scope"] + [md(cap) for cap in caps], rows, align)
        out += ["", _MD_LEGEND, ""]
    elif not c["violations"]:
        out += ["No access checks in this result.", ""]

    if c["privileged"]:
        out += ["### Privileged subjects (information, %d)" % len(c["privileged"]), ""]
        for p in c["privileged"]:
            binding = _text(p.get("binding"))
            if p.get("namespace"):
                binding = "%s/%s" % (_text(p.get("namespace")), binding)
            out.append("- %s: %s %s \u2192 %s (%s)" % (
                md(p.get("subject")), md(p.get("binding_kind") or "binding"), md(binding),
                md(p.get("role")), md(p.get("why"))))
        out.append("")
    return out


def to_markdown(results, title=None, generated_at=None):
    """A fleet summary table, then per cluster: roles, drift, failed checks and the matrix."""
    norm = clusters(results)
    f = _fleet(norm)
    out = ["# %s" % md(title or DEFAULT_TITLE), ""]
    if generated_at is not None:
        out += ["_Generated %s_" % md(generated_at), ""]
    if not norm:
        out += ["**FAILED**: no cluster results to report.", ""]
        return "\n".join(out)
    verdict = "**PASSED**" if f["passed"] else "**FAILED**"
    parts = ["%d of %d clusters passed" % (f["clusters_passed"], f["clusters"])]
    if f["clusters_error"]:
        parts.append("%d not validated" % f["clusters_error"])
    if f["clusters_skipped"]:
        parts.append("%d skipped" % f["clusters_skipped"])
    parts.append("%d checks, %d failed (%d excess, %d missing), %d drift, %d unchecked" % (
        f["checks"], f["failed"], f["excess"], f["missing"], f["drift"], f["unchecked"]))
    out += ["%s: %s" % (verdict, "; ".join(parts)), ""]
    rows = []
    for c in norm:
        s = c["summary"]
        if c["status"] in (STATUS_ERROR, STATUS_SKIPPED):
            rows.append([md(c["name"]), _MD_ICON[c["status"]], "\u2013", "\u2013", "\u2013", "\u2013",
                         md(c["msg"])])
        else:
            rows.append([md(c["name"]), _MD_ICON[c["status"]], str(s["checks"]), str(s["failed"]),
                         str(s["drift"]), str(s["unchecked"]), ""])
    out += _md_table(["Cluster", "Result", "Checks", "Failed", "Drift", "Unchecked", "Message"], rows,
                     {2: "---:", 3: "---:", 4: "---:", 5: "---:"})
    out.append("")
    for c in norm:
        out += _md_cluster(c)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


# ============================================================================ JUnit

def _junit_name(row):
    want = {True: "expected allowed", False: "expected denied"}.get(row.get("expected"), "no expectation")
    return "%s: %s (%s)" % (_text(row.get("capability"), "?"), check_text(row), want)


def _junit_scope(row):
    scope = row.get("scope")
    if scope == SCOPE_CLUSTER:
        return "cluster"
    if scope == SCOPE_ALL:
        return "all namespaces"
    if scope == SCOPE_OUTSIDE:
        return "%s (outside scope)" % _text(row.get("namespace"))
    return _text(row.get("namespace")) or "cluster"


def _junit_details(row):
    groups = ", ".join(_text(g) for g in row.get("as_groups") or []) or "-"
    lines = ["subject: %s" % _text(row.get("subject")),
             "personas: %s" % ", ".join(_text(p) for p in row.get("personas") or []),
             "asked as: user %s, groups %s" % (_text(row.get("as_user"), "?"), groups),
             "expected: %s, API server answered: %s" % (
                 _expected_text(row.get("expected")), _allowed_text(row.get("allowed"))),
             "reason: %s" % (_text(row.get("reason")) or "-"),
             "reproduce: %s" % kubectl_command(row)]
    return "\n".join(lines)


def _testcase(parent, classname, name):
    return ET.SubElement(parent, "testcase", {"classname": _x(classname), "name": _x(name)})


def _junit_suite(root, c, generated_at):
    suite = ET.SubElement(root, "testsuite", {"name": _x(c["name"])})
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    props = ET.SubElement(suite, "properties")
    for k, v in (("cluster", c["name"]), ("status", c["status"])) + tuple(
            ("summary." + k, c["summary"][k]) for k in sorted(c["summary"])):
        ET.SubElement(props, "property", {"name": _x(k), "value": _x(v)})

    def add(tc, outcome=None, message="", kind="", text=""):
        counts["tests"] += 1
        if outcome:
            counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[outcome]] += 1
            el = ET.SubElement(tc, outcome, {"message": _x(message)} if outcome == "skipped" else
                               {"message": _x(message), "type": _x(kind)})
            if text:
                el.text = _x(text)

    base = c["name"]
    if c["status"] in (STATUS_ERROR, STATUS_SKIPPED):
        tc = _testcase(suite, base, "validate cluster %s" % base)
        if c["status"] == STATUS_ERROR:
            add(tc, "error", c["msg"] or "the cluster could not be validated", "cluster.unreachable", c["msg"])
        else:
            add(tc, "skipped", c["msg"] or "skipped")
    else:
        for r in c["roles"]:
            tc = _testcase(suite, base + ".roles", "%s %s exists" % (_text(r.get("kind"), "ClusterRole"),
                                                                     _role_where(r)))
            if r.get("present") is False:
                add(tc, "failure", "%s %s is missing" % (_text(r.get("kind"), "ClusterRole"), _role_where(r)),
                    "role.missing", _text(r.get("detail")))
            else:
                add(tc)
                if r.get("reference") == "differs" and r.get("detail"):
                    ET.SubElement(tc, "system-out").text = _x(r.get("detail"))
        for d in c["drift"]:
            tc = _testcase(suite, base + ".bindings", "%s %s" % (_text(d.get("kind"), "binding"), _drift_where(d)))
            problem = _text(d.get("problem"), "differs from the declaration")
            add(tc, "failure", problem + ("; fix: " + _text(d.get("fix")) if d.get("fix") else ""),
                "drift." + _text(d.get("action"), "drift"),
                "problem: %s\nfix: %s\naction: %s" % (problem, _text(d.get("fix"), "-"), _text(d.get("action"), "-")))
        for r in c["access"]:
            tc = _testcase(suite, "%s.%s.%s" % (base, _text(r.get("subject"), "?"), _junit_scope(r)), _junit_name(r))
            if r.get("ok") is False:
                kind = _row_kind(r)
                message = "%s but expected %s%s" % (
                    _allowed_text(r.get("allowed")), _expected_text(r.get("expected")),
                    " (%s)" % kind if kind in ("excess", "missing") else "")
                add(tc, "failure", message, "access." + kind, _junit_details(r))
            elif r.get("ok") is None:
                add(tc, "skipped", _text(r.get("reason")) or "unchecked: no expectation for this role")
            else:
                add(tc)
        if c["status"] == STATUS_FAILED and not counts["failures"]:
            # The module said "failed" but no item above shows why: never let CI show green.
            tc = _testcase(suite, base, "validation result")
            add(tc, "failure", c["msg"] or "the validation did not pass", "validation.failed", c["msg"])
    if c["privileged"]:
        ET.SubElement(suite, "system-out").text = _x("privileged subjects (information):\n" + "\n".join(
            "%s: %s %s -> %s (%s)" % (_text(p.get("subject")), _text(p.get("binding_kind"), "binding"),
                                      ("%s/%s" % (_text(p.get("namespace")), _text(p.get("binding"))))
                                      if p.get("namespace") else _text(p.get("binding")),
                                      _text(p.get("role")), _text(p.get("why")))
            for p in c["privileged"]))
    for k in ("tests", "failures", "errors", "skipped"):
        suite.set(k, str(counts[k]))
    if generated_at is not None:
        suite.set("timestamp", _x(generated_at))
    # testsuite attributes in the conventional order
    suite.attrib = dict((k, suite.attrib[k]) for k in ("name", "tests", "failures", "errors", "skipped", "timestamp")
                        if k in suite.attrib)
    return counts


def to_junit(results, title=None, generated_at=None):
    """JUnit XML: a testsuite per cluster, a testcase per role, drift item and access check."""
    norm = clusters(results)
    root = ET.Element("testsuites", {"name": _x(title or DEFAULT_TITLE)})
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for c in norm:
        counts = _junit_suite(root, c, generated_at)
        for k in total:
            total[k] += counts[k]
    if not norm:
        suite = ET.SubElement(root, "testsuite", {"name": "vmo.rbac", "tests": "1", "failures": "0",
                                                  "errors": "1", "skipped": "0"})
        tc = _testcase(suite, "vmo.rbac", "fleet has results")
        ET.SubElement(tc, "error", {"message": "no cluster results to report", "type": "fleet.empty"})
        total["tests"], total["errors"] = 1, 1
    for k in ("tests", "failures", "errors", "skipped"):
        root.set(k, str(total[k]))
    if hasattr(ET, "indent"):
        ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ============================================================================= HTML


def h(value):
    """HTML-escaped text (quotes too), safe in element content and attribute values."""
    return html.escape(_x(value), quote=True)


_HTML_STATUS = {STATUS_PASSED: ("pass", "PASSED"), STATUS_FAILED: ("fail", "FAILED"),
                STATUS_ERROR: ("error", "NOT VALIDATED"), STATUS_SKIPPED: ("skip", "SKIPPED")}
_KNOWN_PERSONAS = ("admin", "power-user", "user", "viewer")

_CSS = """
:root{--ok:#166534;--ok-bg:#dcfce7;--okd:#3f6212;--okd-bg:#f3f9ee;--bad:#b91c1c;--bad-bg:#fee2e2;
--bad-strong:#dc2626;--warn:#92400e;--warn-bg:#fef3c7;--grey:#4b5563;--grey-bg:#e5e7eb;--line:#d9dee7;
--ink:#111827;--muted:#5b6472;--head:#f5f7fa;--brand:#1e3a5f}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif;
color:var(--ink);background:#eef1f5}
main{max-width:1320px;margin:0 auto;padding:24px 28px 40px}
header.page{background:var(--brand);color:#fff;padding:22px 28px}
header.page .inner{max-width:1320px;margin:0 auto;display:flex;flex-wrap:wrap;gap:18px;align-items:center;
justify-content:space-between;padding:0 28px}
header.page h1{margin:0;font-size:22px;font-weight:650;letter-spacing:.2px}
header.page .sub{color:#c9d6e6;font-size:13px;margin-top:2px}
.verdict{font-weight:800;font-size:15px;letter-spacing:.6px;padding:7px 16px;border-radius:999px;border:2px solid}
.verdict.pass{background:var(--ok-bg);color:var(--ok);border-color:#86efac}
.verdict.fail{background:var(--bad-bg);color:var(--bad);border-color:#fca5a5}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:12px;margin:0 0 20px}
.tile{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.tile .n{font-size:24px;font-weight:700;line-height:1.1}
.tile .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.5px}
.tile.bad .n{color:var(--bad)}.tile.good .n{color:var(--ok)}.tile.warn .n{color:var(--warn)}
section.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin:0 0 22px;
box-shadow:0 1px 2px rgba(16,24,40,.04)}
section.card.fail{border-top:4px solid var(--bad-strong)}section.card.pass{border-top:4px solid #22c55e}
section.card.error{border-top:4px solid #f59e0b}section.card.skip{border-top:4px solid #9ca3af}
h2{font-size:18px;margin:0 0 4px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
h3{font-size:14px;margin:20px 0 8px;color:#1f2937;text-transform:uppercase;letter-spacing:.5px}
.stats{color:var(--muted);margin:0 0 8px}
.badge{display:inline-block;white-space:nowrap;font-size:11px;font-weight:700;letter-spacing:.5px;padding:2px 9px;
border-radius:999px;vertical-align:middle}
.badge.pass{background:var(--ok-bg);color:var(--ok)}.badge.fail{background:var(--bad-bg);color:var(--bad)}
.badge.error{background:var(--warn-bg);color:var(--warn)}.badge.skip{background:var(--grey-bg);color:var(--grey)}
.scroll{overflow-x:auto}
table{border-collapse:separate;border-spacing:0;width:100%;font-size:13px}
caption{text-align:left;color:var(--muted);font-size:12px;padding:0 0 6px}
th,td{border-bottom:1px solid var(--line);padding:6px 9px;text-align:left;vertical-align:top}
thead th{background:var(--head);font-weight:650;color:#374151;border-top:1px solid var(--line)}
table.list td.num,table.list th.num{text-align:right;font-variant-numeric:tabular-nums}
table.matrix{width:auto;min-width:100%}
table.matrix thead th.cap{text-align:center;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11.5px;
white-space:nowrap;padding:8px 6px}
table.matrix th[scope=row]{font-weight:600;min-width:230px;background:#fff;border-left:4px solid transparent;
position:sticky;left:0;z-index:1}
table.matrix tr.has-violation th[scope=row]{border-left-color:var(--bad-strong);background:#fff7f7}
.who{display:block}.meta{display:flex;flex-wrap:wrap;gap:4px;margin-top:3px;font-weight:400}
.persona{font-size:11px;padding:1px 7px;border-radius:999px;background:#e0e7ff;color:#3730a3}
.persona.p-admin{background:#ede9fe;color:#5b21b6}.persona.p-power-user{background:#dbeafe;color:#1e40af}
.persona.p-user{background:#ccfbf1;color:#115e59}.persona.p-viewer{background:#e2e8f0;color:#334155}
.scope{font-size:11px;padding:1px 7px;border-radius:4px;background:#f3f4f6;color:#374151;border:1px solid #e5e7eb}
.scope.k-outside{background:#fff7ed;color:#9a3412;border-color:#fed7aa}
.scope.k-cluster,.scope.k-all-namespaces{background:#eef2ff;color:#3730a3;border-color:#c7d2fe}
td.cell{text-align:center;vertical-align:middle;white-space:nowrap;font-size:12px;min-width:84px;
border-left:1px solid #fff;padding:6px 5px}
td.cell .m{font-weight:700}
td.cell.ok.allow{background:var(--ok-bg);color:var(--ok)}
td.cell.ok.deny{background:var(--okd-bg);color:var(--okd)}
td.cell.violation{background:var(--bad-strong);color:#fff;font-weight:700}
td.cell.violation .k{display:block;font-size:10.5px;letter-spacing:.8px}
td.cell.violation .a{display:block;font-weight:500;font-size:11px}
td.cell.unchecked{background:repeating-linear-gradient(135deg,#eceef1 0 6px,#e3e6ea 6px 12px);color:var(--grey)}
td.cell.na{color:#9ca3af;background:#fafbfc}
.legend{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;font-size:12px;color:var(--muted);margin:6px 0 14px}
.legend .sw{display:inline-block;min-width:74px;text-align:center;padding:3px 6px;border-radius:4px;margin-right:4px}
.sw.ok.allow{background:var(--ok-bg);color:var(--ok)}.sw.ok.deny{background:var(--okd-bg);color:var(--okd);
border:1px solid #e2ecd9}.sw.violation{background:var(--bad-strong);color:#fff;font-weight:700}
.sw.unchecked{background:#e5e7eb;color:var(--grey)}.sw.na{background:#fafbfc;color:#9ca3af;border:1px solid #eee}
.toolbar{display:flex;align-items:center;gap:8px;margin:0 0 16px;font-size:13px}
.toolbar input{width:16px;height:16px}
body:has(#only-violations:checked) tr.row-clean{display:none}
body:has(#only-violations:checked) section.card.pass{display:none}
.msg{background:var(--warn-bg);color:#78350f;border:1px solid #fde68a;border-radius:8px;padding:10px 12px;margin:8px 0}
.action{font-size:11px;font-weight:700;padding:1px 7px;border-radius:4px;background:#fef3c7;color:#92400e;
text-transform:uppercase;letter-spacing:.4px}
.action.a-conflict,.action.a-delete{background:#fee2e2;color:#991b1b}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11.5px;background:#f3f4f6;padding:1px 4px;
border-radius:4px;overflow-wrap:anywhere}
table.failed-checks tr.check td{border-bottom:none;padding-bottom:2px}
table.failed-checks tr.repro td{padding-top:0;font-size:12px}
.yes{color:var(--bad);font-weight:700}.no{color:var(--bad);font-weight:700}
details summary{cursor:pointer;color:#1f2937;font-weight:600;margin:14px 0 6px}
.present{color:var(--ok);font-weight:600}.absent{color:var(--bad);font-weight:700}
.muted{color:var(--muted)}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
a{color:#1d4ed8}
@media print{body{background:#fff}section.card{break-inside:avoid-page;box-shadow:none}.toolbar{display:none}}
"""


def _slug(index, name):
    return "cluster-%d-%s" % (index + 1, re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "x")


def _html_cell(cell, cap):
    if cell is None or cell.state == "na":
        return ('<td class="cell na" data-capability="%s" data-state="na">\u2013'
                '<span class="sr-only"> not checked at this scope</span></td>' % h(cap))
    title = cell.describe()
    reasons = sorted(set(_text(r.get("reason")) for r in cell.rows if r.get("reason")))
    if reasons and cell.state == "violation":
        title += "\n" + "\n".join(reasons)
    attrs = 'data-capability="%s" data-state="%s"' % (h(cap), cell.state)
    if cell.state == "unchecked":
        return '<td class="cell unchecked" %s title="%s"><span class="m" aria-hidden="true">?</span> unchecked</td>' % (
            attrs, h(title))
    if cell.state == "violation":
        label = {"excess": "EXCESS", "missing": "MISSING"}.get(cell.kind, "VIOLATION")
        return ('<td class="cell violation v-%s" %s data-kind="%s" title="%s"><span class="k">'
                '<span aria-hidden="true">\u2717</span> %s</span> <span class="a">%s</span></td>'
                % (h(cell.kind or "violation"), attrs, h(cell.kind or "violation"), h(title), label,
                   h("%d/%d allowed" % (cell.granted, cell.asked) if cell.partial else _allowed_text(cell.allowed))))
    which = "allow" if cell.allowed else "deny"
    return ('<td class="cell ok %s" %s title="%s"><span class="m" aria-hidden="true">\u2713</span> %s</td>'
            % (which, attrs, h(title), "allowed" if cell.allowed else "denied"))


def _html_matrix(c, cid):
    caps = c["capabilities"]
    out = ['<div class="scroll"><table class="matrix" id="%s-matrix">' % cid,
           '<caption>Access matrix of %s: one row per subject and scope, one column per capability. '
           'Hover a cell for the expectation and the API server\'s reason.</caption>' % h(c["name"]),
           '<thead><tr><th scope="col">Subject, personas, scope</th>']
    for cap in caps:
        title = CAPABILITY_DESCRIPTIONS.get(cap, "")
        out.append('<th scope="col" class="cap"%s>%s</th>' % (' title="%s"' % h(title) if title else "", h(cap)))
    out.append("</tr></thead><tbody>")
    for m in c["matrix"]:
        bad = any(cell.state == "violation" for cell in m["cells"].values())
        chips = "".join('<span class="persona p-%s">%s</span>' % (
            h(p) if p in _KNOWN_PERSONAS else "other", h(p)) for p in m["personas"])
        kind = m["scope_kind"] if m["scope_kind"] in (SCOPE_NAMESPACE, SCOPE_OUTSIDE, SCOPE_ALL, SCOPE_CLUSTER) \
            else "other"
        out.append('<tr class="%s" data-subject="%s" data-scope="%s"><th scope="row"><span class="who">%s</span>'
                   '<span class="meta">%s<span class="scope k-%s" title="scope: %s">%s</span></span></th>' % (
                       "has-violation" if bad else "row-clean", h(m["subject"]), h(m["scope"]), h(m["subject"]),
                       chips, kind, h(kind), h(m["scope"])))
        for cap in caps:
            out.append(_html_cell(m["cells"].get(cap), cap))
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return out


def _html_legend():
    return ('<div class="legend" aria-label="legend"><span><span class="sw ok allow">\u2713 allowed</span>'
            'allowed, as expected</span><span><span class="sw ok deny">\u2713 denied</span>denied, as expected</span>'
            '<span><span class="sw violation">\u2717 EXCESS</span>allowed but expected denied</span>'
            '<span><span class="sw violation">\u2717 MISSING</span>denied but expected allowed</span>'
            '<span><span class="sw unchecked">? unchecked</span>no expectation known</span>'
            '<span><span class="sw na">\u2013</span>not checked at this scope</span></div>')


def _html_violations(c):
    out = ['<h3>Failed checks (%d)</h3>' % len(c["violations"]),
           '<div class="scroll"><table class="list failed-checks"><thead><tr>'
           '<th scope="col">Subject</th><th scope="col">Capability</th><th scope="col">Check</th>'
           '<th scope="col">Namespace</th><th scope="col">Expected</th><th scope="col">Allowed</th>'
           '<th scope="col">Reason</th></tr></thead><tbody>']
    for r in c["violations"]:
        kind = _row_kind(r)
        out.append('<tr class="check" data-kind="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                   '<td><strong class="%s">%s</strong>%s</td><td>%s</td></tr>' % (
                       h(kind), h(r.get("subject")), h(r.get("capability")), h(check_text(r)),
                       h(scope_label(r.get("scope"), _text(r.get("namespace")))), h(_expected_text(r.get("expected"))),
                       "yes" if r.get("allowed") else "no", h(_allowed_text(r.get("allowed"))),
                       " (%s)" % h(kind) if kind in ("excess", "missing") else "", h(r.get("reason"))))
        out.append('<tr class="repro"><td colspan="7"><span class="muted">Reproduce:</span> <code>%s</code></td></tr>'
                   % h(kubectl_command(r)))
    out.append("</tbody></table></div>")
    return out


def _html_drift(c):
    out = ['<h3>Drift (%d)</h3>' % len(c["drift"]),
           '<div class="scroll"><table class="list drift"><thead><tr><th scope="col">Object</th>'
           '<th scope="col">Problem</th><th scope="col">Fix</th><th scope="col">Action</th></tr></thead><tbody>']
    for d in c["drift"]:
        action = _text(d.get("action"))
        out.append('<tr><td>%s <strong>%s</strong></td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            h(d.get("kind") or "binding"), h(_drift_where(d)), h(d.get("problem")), h(d.get("fix")),
            '<span class="action a-%s">%s</span>' % (h(re.sub(r"[^a-z-]", "", action.lower())), h(action))
            if action else ""))
    out.append("</tbody></table></div>")
    return out


def _html_roles(c):
    missing = [r for r in c["roles"] if r.get("present") is False]
    out = ['<details%s><summary>Roles: %d referenced, %d missing</summary>' % (
        " open" if missing else "", len(c["roles"]), len(missing)),
        '<div class="scroll"><table class="list roles"><thead><tr><th scope="col">Role</th>'
        '<th scope="col">Persona</th><th scope="col">Present</th><th scope="col">Reference</th>'
        '<th scope="col">Detail</th></tr></thead><tbody>']
    for r in c["roles"]:
        present = r.get("present") is not False
        out.append('<tr><td>%s <strong>%s</strong></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            h(r.get("kind") or "ClusterRole"), h(_role_where(r)), h(r.get("persona") or "\u2013"),
            '<span class="present">\u2713 present</span>' if present else '<span class="absent">\u2717 missing</span>',
            h(r.get("reference") or "\u2013"), h(r.get("detail"))))
    out.append("</tbody></table></div></details>")
    return out


def _html_privileged(c):
    out = ['<details><summary>Privileged subjects (information): %d</summary>' % len(c["privileged"]),
           '<div class="scroll"><table class="list privileged"><thead><tr><th scope="col">Subject</th>'
           '<th scope="col">Binding</th><th scope="col">Role</th><th scope="col">Why</th></tr></thead><tbody>']
    for p in c["privileged"]:
        binding = _text(p.get("binding"))
        if p.get("namespace"):
            binding = "%s/%s" % (_text(p.get("namespace")), binding)
        out.append("<tr><td>%s</td><td>%s %s</td><td>%s</td><td>%s</td></tr>" % (
            h(p.get("subject")), h(p.get("binding_kind") or ""), h(binding), h(p.get("role")), h(p.get("why"))))
    out.append("</tbody></table></div></details>")
    return out


def _html_cluster(c, index):
    cid = _slug(index, c["name"])
    cls, word = _HTML_STATUS[c["status"]]
    out = ['<section class="card %s" id="%s" aria-labelledby="%s-h" data-cluster="%s" data-status="%s">' % (
        cls, cid, cid, h(c["name"]), c["status"]),
        '<h2 id="%s-h">%s <span class="badge %s">%s</span></h2>' % (cid, h(c["name"]), cls, word)]
    if c["status"] in (STATUS_ERROR, STATUS_SKIPPED):
        out.append('<p class="msg" role="status">%s</p>' % h(
            c["msg"] or ("The cluster could not be validated." if c["status"] == STATUS_ERROR else "Skipped.")))
        out.append("</section>")
        return out
    s = c["summary"]
    out.append('<p class="stats">%d checks \u00b7 %d failed (%d excess, %d missing) \u00b7 %d drift \u00b7 '
               '%d unchecked \u00b7 %d subjects</p>' % (
                   s["checks"], s["failed"], c["excess"], c["missing"], s["drift"], s["unchecked"], s["subjects"]))
    if c["matrix"]:
        out += _html_matrix(c, cid)
    else:
        out.append('<p class="muted">No access checks in this result.</p>')
    if c["violations"]:
        out += _html_violations(c)
    if c["drift"]:
        out += _html_drift(c)
    if c["roles"]:
        out += _html_roles(c)
    if c["privileged"]:
        out += _html_privileged(c)
    out.append("</section>")
    return out


def to_html(results, title=None, generated_at=None):
    """One standalone page: fleet summary, then per cluster the access matrix, failures, drift."""
    norm = clusters(results)
    f = _fleet(norm)
    title = _text(title) or DEFAULT_TITLE
    verdict = ("pass", "PASSED") if f["passed"] else ("fail", "FAILED")
    out = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta name="generator" content="vmo.rbac">',
           "<title>%s: %s</title>" % (h(title), verdict[1]), "<style>%s</style>" % _CSS, "</head>", "<body>",
           '<header class="page"><div class="inner"><div><h1>%s</h1><div class="sub">%s</div></div>'
           '<div class="verdict %s" role="status" data-verdict="%s">FLEET %s</div></div></header>' % (
               h(title), h("Generated %s" % generated_at) if generated_at is not None else
               "Personas \u00d7 capabilities, proven with SubjectAccessReviews",
               verdict[0], verdict[0], verdict[1]),
           "<main>"]

    def tile(n, label, tone=""):
        return '<div class="tile %s"><div class="n">%s</div><div class="l">%s</div></div>' % (tone, n, h(label))

    out.append('<section aria-label="fleet summary"><div class="tiles">')
    out.append(tile("%d/%d" % (f["clusters_passed"], f["clusters"]), "clusters passed",
                    "good" if f["passed"] else "bad"))
    out.append(tile(f["checks"], "checks"))
    out.append(tile(f["failed"], "failed", "bad" if f["failed"] else "good"))
    out.append(tile(f["excess"], "excess access", "bad" if f["excess"] else ""))
    out.append(tile(f["missing"], "missing access", "bad" if f["missing"] else ""))
    out.append(tile(f["drift"], "drift", "warn" if f["drift"] else ""))
    out.append(tile(f["unchecked"], "unchecked"))
    if f["clusters_error"]:
        out.append(tile(f["clusters_error"], "not validated", "warn"))
    out.append("</div>")
    if not norm:
        out.append('<p class="msg" role="status">No cluster results to report.</p>')
    else:
        out.append('<div class="scroll"><table class="list fleet"><caption>Clusters</caption><thead><tr>'
                   '<th scope="col">Cluster</th><th scope="col">Result</th><th scope="col" class="num">Checks</th>'
                   '<th scope="col" class="num">Failed</th><th scope="col" class="num">Drift</th>'
                   '<th scope="col" class="num">Unchecked</th><th scope="col">Message</th></tr></thead><tbody>')
        for i, c in enumerate(norm):
            cls, word = _HTML_STATUS[c["status"]]
            s = c["summary"]
            validated = c["status"] in (STATUS_PASSED, STATUS_FAILED)
            nums = "".join('<td class="num">%s</td>' % (s[k] if validated else "\u2013")
                           for k in ("checks", "failed", "drift", "unchecked"))
            out.append('<tr><th scope="row"><a href="#%s">%s</a></th><td><span class="badge %s">%s</span></td>%s'
                       '<td>%s</td></tr>' % (_slug(i, c["name"]), h(c["name"]), cls, word, nums,
                                             h(c["msg"]) if not validated else ""))
        out.append("</tbody></table></div>")
    out.append("</section>")
    out.append(_html_legend())
    out.append('<div class="toolbar"><input type="checkbox" id="only-violations">'
               '<label for="only-violations">Show only rows with violations (and clusters that did not pass)</label>'
               '</div>')
    for i, c in enumerate(norm):
        out += _html_cluster(c, i)
    out.append('<footer>vmo.rbac: every cell is a SubjectAccessReview answered by the cluster\'s API server.'
               '</footer>')
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# =========================================================================== entry


_RENDERERS = {"json": to_json, "markdown": to_markdown, "junit": to_junit, "html": to_html}
_ALIASES = {"md": "markdown", "xml": "junit", "junit-xml": "junit", "htm": "html"}


def render(results, fmt="markdown", title=None, generated_at=None):
    """Render ``results`` in ``fmt`` (json | markdown | junit | html); returns text."""
    if not isinstance(fmt, str):
        raise ReportError("format", "expected one of %s, got %s" % (", ".join(FORMATS), type(fmt).__name__))
    key = _ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
    if key not in _RENDERERS:
        raise ReportError("format", "unknown format %r; expected one of %s" % (fmt, ", ".join(FORMATS)))
    if title is not None and not isinstance(title, str):
        raise ReportError("title", "expected a string, got %s" % type(title).__name__)
    return _RENDERERS[key](results, title=title, generated_at=generated_at)
