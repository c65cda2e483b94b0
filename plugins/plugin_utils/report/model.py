# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation results -> the normalized clusters and fleet counts every report format renders.

Pure: plain data in, plain data out; no Ansible, no clock. Reads the vocabulary it shares with
the validate flow from where it is defined: the scope kinds and labels (``access``), the
persona list and the capability descriptions (``personas``).

Input: a list of per-cluster results as ``vmo_rbac_validate`` returns them (``cluster``,
``passed``, ``summary``, ``roles``, ``drift``, ``access``, ``matrix``, ``capabilities``,
``privileged``, ``scopes``, ``warnings``, ``time_limited``, ``who_else`` and ``who_else_summary``).
Also accepted: one result (a dict), a mapping ``{cluster name: result}``, and a registered loop
result (``{"results": [...]}``). Optional keys may be missing; a result that has ``failed`` (or ``unreachable``) and no data at all is a
cluster that could not be validated and is rendered as such, with its ``msg``.

Vocabulary used in every format:
- a check is *ok* when the API server's answer equals the expected one;
- a *violation* is either *excess* (allowed but expected denied: privilege creep) or
  *missing* (denied but expected allowed: the persona does not work);
- *unchecked*: no expectation is known (for example a custom role), nothing was asked;
- a matrix cell that a scope does not check (cluster-scoped capabilities in a namespace,
  namespaced ones at cluster scope) is *not applicable*;
- *optional*: an expectation either answer satisfies (console access through the persona roles
  alone); such a check is ok, and a denied one carries a *note* saying how to get the access;
- *pending*: drift, and failed checks of the subjects whose bindings it would change, that the
  enforce step of the same run planned under ``--check`` (``pending_enforce``): not failures;
- *not proven* (``summary.unchecked_entries``): a grant whose namespace rules (``namespace_regex``,
  ``namespace_selector``) matched no namespace gives nothing today, so it proves nothing; read from
  ``scopes[].matched_nothing`` and ``scopes[].warning``;
- *who else can*: the exclusive audit's undeclared holders (``who_else``), per capability and
  place, each with the bindings to remove; shown only for a result of a run with the audit
  (``who_else_summary``, or undeclared holders given). A capability and place whose undeclared holders by
  the RBAC objects the API server did not confirm (``who_else_unproven``) is *not proven*: a failed question
  of the audit (``verdict.tally``: ``summary.who_else_not_proven``), never "nobody undeclared".

The verdict and the counts are the result's (``passed``, ``summary``); where a result does not give
them they are computed by ``verdict.tally``, the function the validate flow decides with. A part a
result does not have (``scopes``, ``warnings``, notes, pending items, time-limited grants, the audit)
is left out of the normalized cluster and of the fleet counts: no section, no column, no count for it.
A result made by hand may carry the warning of a rule set that matched nothing among its ``warnings``
only (no ``scopes``): the module's words for it (``_NOT_PROVEN``) tell it apart.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from collections.abc import Mapping
from shlex import quote as _shell_quote

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas, verdict
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from ansible_collections.vmo.rbac.plugins.module_utils._core.access_rows import BadForm, expand as expand_access
from ansible_collections.vmo.rbac.plugins.module_utils._rbac.access import (
    OPTIONAL,
    SCOPE_ALL,
    SCOPE_CLUSTER,
    SCOPE_NAMESPACE,
    SCOPE_OUTSIDE,
)

DEFAULT_TITLE = "VMO RBAC validation report"

STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_ERROR = "error"      # the cluster could not be validated at all (unreachable, no roles, ...)
STATUS_SKIPPED = "skipped"  # the validation task was skipped for this cluster
VALIDATED = (STATUS_PASSED, STATUS_FAILED)

SCOPE_KINDS = (SCOPE_NAMESPACE, SCOPE_OUTSIDE, SCOPE_ALL, SCOPE_CLUSTER)
PERSONAS = personas.PERSONAS

# The parts of a normalized cluster that a report shows, one section (or more) each. Every
# format lists the sections it renders with these names, and a unit test holds each format to
# this tuple: a part added here fails that test until every format shows it (docs/development.md).
SECTIONS = ("roles", "scopes", "drift", "access", "pending", "notes", "privileged", "time_limited", "who_else")

# What a pending item is, in every format's words.
PENDING_TEXT = "pending (planned by the enforce step under --check)"
# How many namespace names a report lists per rule set before it says "and N more" (JSON lists all).
NAMES_SHOWN = 10
# How the validate flow words a rule set that matched nothing (plan_result.scope_warning), for a result made by
# hand that gives the warning without its scope.
_NOT_PROVEN = re.compile(r"^\S+: .* matched no namespace")

_DATA_KEYS = ("summary", "roles", "drift", "access", "access_json", "matrix", "capabilities", "who_else",
              "who_else_unproven")


class ReportError(ValueError):
    """Bad input for a report; ``argument`` names the parameter at fault."""

    def __init__(self, argument, message):
        super(ReportError, self).__init__("%s: %s" % (argument, message))
        self.argument = argument
        self.message = message


# ============================================================================ values


def is_map(value):
    return isinstance(value, (dict, Mapping))


def is_list(value):
    return isinstance(value, (list, tuple))


def list_of_maps(value):
    return [v for v in value if is_map(v)] if is_list(value) else []


def text(value, default=""):
    """``value`` as text: None -> ``default``, booleans as ``true``/``false``."""
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


# Characters XML 1.0 cannot carry at all (even escaped), and C1 controls, which terminals may obey:
# replaced by U+FFFD in every format but JSON (which escapes them itself).
_XML_INVALID = re.compile(u"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def clean(value):
    """Text with control characters replaced (U+FFFD): safe in XML, HTML and terminals."""
    return _XML_INVALID.sub(u"\ufffd", text(value))


def to_int(value, default=0):
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def qualified(item, key="name"):
    """``namespace/name`` of a namespaced object, ``name`` of a cluster-scoped one."""
    if item.get("namespace"):
        return "%s/%s" % (text(item.get("namespace")), text(item.get(key)))
    return text(item.get(key))


def texts(value):
    """A list of texts: each item of a list (None left out), a lone value as one item."""
    if value is None:
        return []
    if is_list(value):
        return [text(v) for v in value if v is not None]
    return [text(value)]


def names_text(names, limit=NAMES_SHOWN):
    """``a, b, c`` or, past ``limit`` names, ``a, b, ... and 37 more``."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return "%s and %d more" % (", ".join(names[:limit]), len(names) - limit)


is_pending = verdict.is_pending  # drift the enforce step planned, or a failed check it will fix


def capability_description(capability):
    """The shipped capability's one-line description; empty for a capability a user added."""
    return (personas.CAPABILITIES.get(capability) or {}).get("description", "")


# ======================================================================= access rows


def violation_kind(expected, allowed):
    """``excess`` (allowed, expected denied), ``missing`` (denied, expected allowed) or None."""
    if expected is False and allowed:
        return "excess"
    if expected is True and allowed is False:
        return "missing"
    return None


def row_kind(row):
    """The violation kind of an access row; ``violation`` when it failed without a clear kind."""
    kind = violation_kind(row.get("expected"), row.get("allowed"))
    return kind or ("violation" if row.get("ok") is False else None)


def _scope_key(scope_kind, namespace):
    """(kind, namespace) of a matrix row: the module keeps one row per subject, kind and namespace."""
    kind = scope_kind or SCOPE_NAMESPACE
    return (kind, namespace if kind in (SCOPE_NAMESPACE, SCOPE_OUTSIDE) else "")


def scope_label(scope_kind, namespace):
    """How a scope reads in every report: the matrix's words (``access.scope_label``), with a
    stand-in where a hand-made result left the namespace out."""
    if scope_kind in (SCOPE_CLUSTER, SCOPE_ALL):
        return access.scope_label(scope_kind, namespace)
    if scope_kind == SCOPE_OUTSIDE:
        return access.scope_label(scope_kind, namespace or "?")
    return namespace or access.scope_label(SCOPE_CLUSTER, "")


def row_scope_label(row):
    return scope_label(row.get("scope"), text(row.get("namespace")))


def check_text(row):
    """``delete kubevirt.io/virtualmachines``, ``get subresources.kubevirt.io/virtualmachineinstances/vnc``."""
    res = text(row.get("resource"), "?")
    if row.get("subresource"):
        res += "/" + text(row.get("subresource"))
    group = text(row.get("group"))
    out = "%s %s%s" % (text(row.get("verb"), "?"), group + "/" if group else "", res)
    if row.get("name"):  # asked about one object (a grant limited by resourceNames)
        out += " " + text(row.get("name"))
    return out


def kubectl_command(row):
    """The ``kubectl auth can-i`` command that asks the same question by hand; for a question asked by groups
    alone (a Group subject: no user, and impersonation needs one), the SubjectAccessReview itself, sent with
    ``kubectl create``."""
    if not row.get("as_user") and row.get("as_groups"):
        return review_command(row)
    resource = text(row.get("resource"), "?")
    if row.get("group"):
        resource += "." + text(row.get("group"))
    if row.get("name"):
        resource += "/" + text(row.get("name"))
    words = ["kubectl", "auth", "can-i", text(row.get("verb"), "?"), resource]
    if row.get("subresource"):
        words.append("--subresource=" + text(row.get("subresource")))
    scope = row.get("scope")
    if scope == SCOPE_ALL:
        words.append("--all-namespaces")
    elif scope != SCOPE_CLUSTER and row.get("namespace"):
        words += ["-n", text(row.get("namespace"))]
    if row.get("as_user"):
        words.append("--as=" + text(row.get("as_user")))
    for g in row.get("as_groups") or []:
        words.append("--as-group=" + text(g))
    return " ".join(_shell_quote(w) for w in words)


def review_command(row):
    """``echo '<SubjectAccessReview>' | kubectl create -f - -o 'jsonpath={.status.allowed}'``: the row's question by
    its groups alone, exactly as the module asked it."""
    attrs = {"verb": text(row.get("verb"), "?"), "group": text(row.get("group")), "resource": text(row.get("resource"), "?")}
    for key in ("subresource", "name"):
        if row.get(key):
            attrs[key] = text(row.get(key))
    if row.get("scope") not in (SCOPE_ALL, SCOPE_CLUSTER) and row.get("namespace"):
        attrs["namespace"] = text(row.get("namespace"))
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"groups": [text(g) for g in row.get("as_groups") or []], "resourceAttributes": attrs}}
    return "echo %s | kubectl create -f - -o 'jsonpath={.status.allowed}'" % _shell_quote(
        json.dumps(review, sort_keys=True, separators=(",", ":")))


def expected_text(value):
    if value == OPTIONAL:
        return "optional (either answer is ok)"
    return {True: "allowed", False: "denied"}.get(value, "no expectation")


def allowed_text(value):
    return {True: "allowed", False: "denied"}.get(value, "not asked")


# ============================================================================ cells


class Cell(object):
    """One matrix cell: subject x scope x capability."""

    __slots__ = ("state", "kind", "allowed", "expected", "granted", "asked", "rows")

    def __init__(self, state, kind=None, allowed=None, expected=None, granted=0, asked=0, rows=()):
        self.state = state          # ok | violation | pending | unchecked
        self.kind = kind            # excess | missing | violation | None (for pending: what it would be)
        self.allowed = allowed      # True | False | None (not asked)
        self.expected = expected    # True | False | None | OPTIONAL
        self.granted = granted      # checks of the capability the API server allowed ...
        self.asked = asked          # ... out of the checks asked
        self.rows = rows            # the access rows behind the cell

    @property
    def partial(self):
        return 0 < self.granted < self.asked

    @property
    def optional(self):
        return self.expected == OPTIONAL

    def notes(self):
        """The distinct notes of the rows behind the cell, in order."""
        return distinct(text(r.get("note")) for r in self.rows if r.get("note"))

    def allowed_words(self):
        if self.partial:
            return "partly allowed (%d of %d checks)" % (self.granted, self.asked)
        return allowed_text(self.allowed)

    def describe(self):
        """One line for tooltips and screen readers (a cell that is not applicable has no Cell)."""
        if self.state == "unchecked":
            return "unchecked: no expectation for this role, nothing asked"
        if self.state == "pending":
            return "%s: %s, expected %s" % (PENDING_TEXT, self.allowed_words(), expected_text(self.expected))
        if self.state == "ok" and self.optional:
            return "ok: %s; optional, either answer is ok" % self.allowed_words()
        head = {"excess": "VIOLATION (excess): ", "missing": "VIOLATION (missing): ",
                "violation": "VIOLATION: "}.get(self.kind, "as expected: ")
        return "%s%s, expected %s" % (head, self.allowed_words(), expected_text(self.expected))


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
    failing = [r for r in rows if r.get("ok") is False]
    if state == "violation" and failing and all(is_pending(r) for r in failing):
        state = "pending"  # only failed checks the enforce step of this run will fix
    kind = None
    if state in ("violation", "pending"):
        if expected is False:
            kind = "excess"
        elif expected is True:
            kind = "missing"
        else:
            kinds = [row_kind(r) for r in failing]
            kind = kinds[0] if kinds else "violation"
    return Cell(state, kind, allowed, expected, granted, len(asked), tuple(rows))


def distinct(values):
    """The values without repeats, in the order of their first appearance."""
    seen, out = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


# ====================================================================== normalizing


class Prepared(object):
    """Results unwrapped and normalized once (``prepare``), for rendering several formats of one fleet:
    ``unwrap`` and ``clusters`` return what it holds instead of doing the work again (a cluster's JSON
    text of access rows parsed once, its result normalized once). The formats only read the normalized
    clusters, never change them."""

    __slots__ = ("pairs", "norm")

    def __init__(self, pairs, norm):
        self.pairs = pairs
        self.norm = norm


def prepare(results):
    """``results`` unwrapped and normalized once, as a ``Prepared`` every format's ``render`` takes."""
    if isinstance(results, Prepared):
        return results
    pairs = unwrap(results)
    return Prepared(pairs, [normalize(i, hint, raw) for i, (hint, raw) in enumerate(pairs)])


def unwrap(results):
    """The list of (name hint, result) pairs in ``results``, whatever container it came in; a result whose
    access rows are one JSON text (vmo_rbac_validate's ``access_format: json``) with every row in ``access``, as
    with ``access_format: list`` (module_utils/_core/access_rows.expand): either form makes the same report."""
    if isinstance(results, Prepared):
        return results.pairs
    return [(hint, _expanded(i, raw)) for i, (hint, raw) in enumerate(_unwrap(results))]


def _expanded(index, raw):
    try:
        return expand_access(raw)
    except BadForm as exc:
        raise ReportError("results", "item %d: %s" % (index, exc))


def _unwrap(results):
    if results is None:
        raise ReportError("results", "expected a list of vmo_rbac_validate results, got nothing (None)")
    if is_map(results):
        if "results" in results and is_list(results["results"]) and not any(k in results for k in _DATA_KEYS):
            return _unwrap(results["results"])  # a registered loop
        if any(k in results for k in _DATA_KEYS + ("cluster", "passed", "failed", "msg", "unreachable")):
            return [(None, results)]            # one result
        if all(is_map(v) for v in results.values()):
            return [(text(k), results[k]) for k in sorted(results, key=text)]  # {cluster: result}
        raise ReportError("results", "a mapping that is neither a vmo_rbac_validate result nor "
                                     "{cluster name: result}")
    if isinstance(results, (str, bytes)) or not is_list(results):
        raise ReportError("results", "expected a list of vmo_rbac_validate results, got %s"
                          % type(results).__name__)
    out = []
    for i, item in enumerate(results):
        if not is_map(item):
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


def _summary(raw, roles, drift, access_rows, scopes, audit=None, who_else=(), unproven=()):
    """The result's counts where it gives them, computed from its data where not (``verdict.tally``, the
    function the validate flow decides with; the bindings checked are not known here).

    ``unchecked_entries`` is there when the result has ``scopes`` or ``warnings`` (or gives the count),
    ``pending`` when it has pending items (or gives the count), ``who_else`` when the exclusive audit ran,
    ``who_else_not_proven`` when it has places not proven (``unproven``: who_else_unproven rows)."""
    given = raw.get("summary") if is_map(raw.get("summary")) else {}
    part = None
    if audit is not None:  # the exclusive audit ran: its questions are checks, a place with a holder fails
        places = set((r["capability"], r["where"]) for r in who_else)
        # a place not proven (its undeclared holders not confirmed) fails too, as verdict.tally counts it
        not_proven = max(len(set((r["capability"], r["where"]) for r in unproven) - places),
                         to_int(audit.get("not_proven")))
        failed_places = len(places) + not_proven
        part = verdict.AuditPart(max(to_int(audit.get("questions")), failed_places), failed_places, len(who_else),
                                 not_proven)
    not_proven = 0
    if "scopes" in raw:
        not_proven = sum(1 for m in scopes if m["matched_nothing"])
    elif "warnings" in raw:  # a result made by hand, without scopes: the module's words for a rule set
        not_proven = sum(1 for w in texts(raw.get("warnings")) if _NOT_PROVEN.search(w))
    _passed, tally = verdict.tally(roles, drift, access_rows, not_proven=not_proven, audit=part,
                                   subjects=len(set(text(r.get("subject")) for r in access_rows)))
    computed = dict((k, tally[k]) for k in ("checks", "failed", "drift", "unchecked", "subjects"))
    if "unchecked_entries" in given or "scopes" in raw or "warnings" in raw:
        computed["unchecked_entries"] = tally["unchecked_entries"]
    if "pending" in given or tally["pending"]:
        computed["pending"] = tally["pending"]
    if part is not None:
        computed["who_else"] = tally["who_else"]
        if "who_else_not_proven" in tally or "who_else_not_proven" in given:
            computed["who_else_not_proven"] = tally.get("who_else_not_proven", 0)
    summary = dict((k, to_int(given[k], computed[k]) if k in given else computed[k]) for k in computed)
    summary["passed"] = to_int(given.get("passed"), summary["checks"] - summary["failed"]) \
        if "passed" in given else max(0, summary["checks"] - summary["failed"])
    return summary


def _scopes(raw):
    """The result's ``scopes`` (one per grant with namespace rules) as dicts of texts, each with the
    module's ``warning`` for it when it matched nothing; and the warnings no scope explains."""
    warnings = texts(raw.get("warnings"))
    unused = list(warnings)
    out = []
    for m in list_of_maps(raw.get("scopes")):
        namespaces = texts(m.get("namespaces"))
        nothing = m.get("matched_nothing")
        scope = {"entry": text(m.get("entry"), "?"), "rules": texts(m.get("rules")), "namespaces": namespaces,
                 "skipped_protected": texts(m.get("skipped_protected")),
                 "matched_nothing": nothing if isinstance(nothing, bool) else not namespaces, "warning": ""}
        if scope["matched_nothing"] and isinstance(m.get("warning"), str) and m["warning"]:
            scope["warning"] = m["warning"]  # the module's words for it, also among its warnings
            if m["warning"] in unused:
                unused.remove(m["warning"])
        elif scope["matched_nothing"]:  # a result made by hand: its warning is the one that names its entry
            own = [w for w in unused if w.startswith(scope["entry"] + ":")]
            if own:
                scope["warning"] = own[0]
                unused.remove(own[0])
        out.append(scope)
    return out, warnings, unused


def warning_lines(c):
    """Every warning of a cluster, once, as ``(not_proven, text)``: the module's words for each rule set
    that matched nothing (or, in a hand-made result without them, what it means), then the warnings
    no scope explains (a registered result's ``warnings`` holds every Ansible warning of its task)."""
    out = []
    for m in c["scopes"]:
        if m["matched_nothing"]:
            out.append((True, m["warning"] or "%s: %s matched no namespace, so this grant gives nothing today" % (
                m["entry"], ", ".join(m["rules"]) or "its rules")))
    return out + [(_NOT_PROVEN.search(w) is not None, w) for w in c["other_warnings"]]


def _notes(access_rows):
    """The distinct notes of the access rows: [{"note", "rows"}], in order of first appearance."""
    by_note, order = {}, []
    for r in access_rows:
        note = text(r.get("note"))
        if not note:
            continue
        if note not in by_note:
            by_note[note] = []
            order.append(note)
        by_note[note].append(r)
    return [{"note": n, "rows": by_note[n]} for n in order]


def note_places(note):
    """Where a note applies, one text per subject and capability: ``User bob: vm.console in team-a, team-b``."""
    places, order = {}, []
    for r in note["rows"]:
        key = (text(r.get("subject")), text(r.get("capability"), "?"))
        if key not in places:
            places[key] = []
            order.append(key)
        label = row_scope_label(r)
        if label not in places[key]:
            places[key].append(label)
    return ["%s: %s in %s" % (subject, cap, names_text(places[(subject, cap)])) for subject, cap in order]


def pending_groups(rows):
    """Pending access checks grouped per subject, place and answer, each as ``(subject, what)``:
    ``("Group web-devs", "vm.view, vm.power in web-app-2 denied, expected allowed (missing; 6 checks)")``."""
    groups, order = {}, []
    for r in rows:
        key = (text(r.get("subject")), row_scope_label(r), allowed_text(r.get("allowed")),
               expected_text(r.get("expected")), row_kind(r))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    out = []
    for key in order:
        subject, where, allowed, expected, kind = key
        caps = distinct(text(r.get("capability"), "?") for r in groups[key])
        out.append((subject, "%s in %s %s, expected %s (%s%d check%s)" % (
            ", ".join(caps), where, allowed, expected, kind + "; " if kind in ("excess", "missing") else "",
            len(groups[key]), "" if len(groups[key]) == 1 else "s")))
    return out


def note_numbers(c):
    """{note text: its number (1, 2, ...)} in a cluster."""
    return dict((n["note"], i + 1) for i, n in enumerate(c["notes"]))


def _matrix(raw, access_rows):
    """The matrix rows (subject, personas, scope, cells) and the capability columns, in order.

    From the result's compact ``matrix`` when it has one (its cells joined with the access rows
    behind them), else derived from the access rows."""
    by_key = {}
    for r in access_rows:
        key = (text(r.get("subject")),) + _scope_key(r.get("scope"), text(r.get("namespace")))
        by_key.setdefault(key, {}).setdefault(text(r.get("capability")), []).append(r)

    matrix = []
    given_matrix = list_of_maps(raw.get("matrix"))
    capabilities = [text(c) for c in raw.get("capabilities") or [] if c is not None]
    seen_caps = set(capabilities)
    if given_matrix:
        for m in given_matrix:
            kind = text(m.get("scope_kind"), SCOPE_NAMESPACE)
            label = text(m.get("scope"))
            subject = text(m.get("subject"))
            row_checks = by_key.get((subject,) + _scope_key(kind, label), {})
            if not row_checks and kind == SCOPE_OUTSIDE:
                # the label reads "<namespace> (outside scope)": find the namespace it names
                outside = [k for k in by_key if k[0] == subject and k[1] == SCOPE_OUTSIDE]
                named = [k for k in outside if scope_label(SCOPE_OUTSIDE, k[2]) == label]
                if named or len(outside) == 1:
                    row_checks = by_key[(named or outside)[0]]
            cells_in = m.get("cells") if is_map(m.get("cells")) else {}
            allowed_in = m.get("allowed") if is_map(m.get("allowed")) else {}
            expected_in = m.get("expected") if is_map(m.get("expected")) else {}
            cells = {}
            for cap in list(cells_in) + [c for c in row_checks if c not in cells_in]:
                cap = text(cap)
                cells[cap] = _cell_from_rows(row_checks.get(cap, []), text(cells_in.get(cap)) or None,
                                             expected_in.get(cap), allowed_in.get(cap))
                if cap not in seen_caps:
                    seen_caps.add(cap)
                    capabilities.append(cap)
            personas_ = [text(p) for p in m.get("personas") or []]
            matrix.append({"subject": subject, "personas": personas_, "scope": label or scope_label(kind, ""),
                           "scope_kind": kind, "cells": cells})
    else:  # no matrix given: derive it from the access rows
        order = []
        rows_by = {}
        for r in access_rows:
            key = (text(r.get("subject")),) + _scope_key(r.get("scope"), text(r.get("namespace")))
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
            matrix.append({"subject": key[0], "personas": [text(p) for p in first.get("personas") or []],
                           "scope": scope_label(key[1], text(first.get("namespace"))), "scope_kind": key[1],
                           "cells": cells})
    return matrix, capabilities


def normalize(index, name_hint, raw):
    """One result as the dict every format renders: ``name``, ``status``, ``msg``, ``summary``,
    the sections' data (``roles``, ``scopes`` with the ``warnings`` (``other_warnings``: those no
    scope explains), ``drift`` (what failed), ``access`` with its ``violations``, ``matrix`` and
    ``capabilities``, ``pending_drift`` and ``pending_access``, ``notes``, ``privileged``) and the
    ``excess``/``missing`` counts."""
    access_rows = list_of_maps(raw.get("access"))
    roles = list_of_maps(raw.get("roles"))
    all_drift = list_of_maps(raw.get("drift"))
    privileged = list_of_maps(raw.get("privileged"))
    time_limited = list_of_maps(raw.get("time_limited"))
    pending_access = [r for r in access_rows if r.get("ok") is False and is_pending(r)]
    violations = [r for r in access_rows if r.get("ok") is False and not is_pending(r)]
    pending_drift = [d for d in all_drift if is_pending(d)]
    scopes, warnings, other_warnings = _scopes(raw)
    audit, who_else, who_else_unproven = _who_else(raw)
    summary = _summary(raw, roles, all_drift, access_rows, scopes, audit, who_else, who_else_unproven)
    name = text(raw.get("cluster")) or name_hint or text(raw.get("host")) or "cluster %d" % (index + 1)
    matrix, capabilities = _matrix(raw, access_rows)
    return {
        "name": name,
        "status": _status(raw, summary),
        "msg": text(raw.get("msg")),
        "summary": summary,
        "roles": roles,
        "scopes": scopes,
        "warnings": warnings,
        "other_warnings": other_warnings,
        "drift": [d for d in all_drift if not is_pending(d)],
        "access": access_rows,
        "violations": violations,
        "excess": sum(1 for r in violations if row_kind(r) == "excess"),
        "missing": sum(1 for r in violations if row_kind(r) == "missing"),
        "matrix": matrix,
        "capabilities": capabilities,
        "pending_drift": pending_drift,
        "pending_access": pending_access,
        "notes": _notes(access_rows),
        "privileged": privileged,
        "time_limited": time_limited,
        "overdue": sum(1 for t in time_limited if is_overdue(t)),
        "who_else_audit": audit,
        "who_else": who_else,
        "who_else_unproven": who_else_unproven,
    }


is_overdue = verdict.is_overdue  # a time-limited grant whose time has passed and that still grants


def time_limited_text(item):
    """``RoleBinding team-a/x`` of a time-limited grant."""
    return "%s %s" % (text(item.get("kind"), "binding"), qualified(item))


# ==================================================================== who else can


WHERE_TEXT = {SCOPE_CLUSTER: "cluster scope", SCOPE_ALL: "every namespace"}
# The counts of the exclusive audit a report shows, in this order, when the result has them.
AUDIT_COUNTS = (("questions", "capability \u00d7 place questions"), ("holders", "holders confirmed by the API server"),
                ("declared", "declared"), ("platform", "platform identities"), ("undeclared", "undeclared"),
                ("unconfirmed", "unconfirmed"), ("not_proven", "capability \u00d7 place not proven"))
# What a place not proven is, in every format's words (who_else_unproven).
NOT_PROVEN_TEXT = "not proven: the RBAC objects grant it, the API server did not confirm it (run again)"


def who_else_where(item):
    """Where an undeclared holder holds the capability: ``namespace leaky``, ``every namespace``, ``cluster scope``."""
    scope = text(item.get("scope"))
    if scope in WHERE_TEXT:
        return WHERE_TEXT[scope]
    ns = text(item.get("namespace"))
    return "namespace %s" % ns if ns else WHERE_TEXT[SCOPE_ALL]


def binding_text(item):
    """``RoleBinding leaky/oops (ClusterRole spectro-vm-admin)`` of one of a finding's ``remove`` items."""
    out = "%s %s" % (text(item.get("kind"), "binding"), qualified(item))
    if item.get("role_name"):
        out += " (%s %s)" % (text(item.get("role_kind"), "ClusterRole"), text(item.get("role_name")))
    return out


def _who_else(raw):
    """(audit, rows, unproven): the exclusive audit's counts (None when it did not run: no ``who_else_summary``
    and no undeclared holder), one row of texts per undeclared holder, capability and place, and one per
    undeclared holder by the RBAC objects that the API server did not confirm (``who_else_unproven``: its place
    is not proven; ``audit["not_proven"]`` counts those places)."""
    given = raw.get("who_else_summary")
    found = list_of_maps(raw.get("who_else"))
    unconfirmed = list_of_maps(raw.get("who_else_unproven"))
    if not is_map(given) and not found and not unconfirmed:
        return None, [], []
    audit = {}
    given = given if is_map(given) else {}
    for key, _label in AUDIT_COUNTS:
        if key in given:
            audit[key] = to_int(given.get(key))
    for key in ("asked", "confirmed"):  # the audit asks every violation and a sample of the other holders
        if key in given:
            audit[key] = to_int(given.get(key))
    if "undeclared" not in audit:
        audit["undeclared"] = len(found)
    audit["platform_subjects"] = texts(given.get("platform_subjects"))
    rows = []
    for f in found:
        subject = text(f.get("subject"), "?")
        rows.append({
            "capability": text(f.get("capability"), "?"),
            "where": who_else_where(f),
            "subject": subject,
            "everyone": text(f.get("everyone")),
            "partial": f.get("partial") is True,
            "resource_names": texts(f.get("resource_names")),
            "holds": [(text(h.get("check"), "?"), texts(h.get("resource_names"))) for h in list_of_maps(f.get("holds"))],
            "membership": f.get("through") == "membership",
            "remove": [binding_text(r) for r in list_of_maps(f.get("remove"))],
            "fix": text(f.get("fix")),
        })
    unproven = []
    for f in unconfirmed:
        unproven.append({
            "capability": text(f.get("capability"), "?"),
            "where": who_else_where(f),
            "subject": text(f.get("subject"), "?"),
            "everyone": text(f.get("everyone")),
            "partial": False,
            "membership": f.get("through") == "membership",
            "via": [binding_text(v) for v in list_of_maps(f.get("via"))],
        })
    if unproven:
        places = set((r["capability"], r["where"]) for r in unproven) - set((r["capability"], r["where"]) for r in rows)
        audit["not_proven"] = max(audit.get("not_proven", 0), len(places))
    return audit, rows, unproven


def who_else_subject(row):
    """The holder as a report names it: ``Group system:authenticated (every authenticated user)``,
    ``User bob (only vm-a)``, ``(through a group it is in)``."""
    out = row["subject"]
    if row["everyone"]:
        out += " (%s)" % row["everyone"]
    if row["partial"] and row.get("holds"):  # part of the capability: exactly what it holds
        out += " (only %s)" % "; ".join(check + (" " + names_text(names) if names else "")
                                        for check, names in row["holds"])
    elif row["partial"]:
        out += " (only %s)" % (names_text(row["resource_names"]) or "some objects")
    if row["membership"]:
        out += " (with a group it is in)"
    return out


def who_else_groups(c, key="who_else"):
    """[(capability, where, rows)] of a cluster's undeclared holders (``key="who_else_unproven"``: those of the
    places not proven, without the places that have a confirmed one), in the order the result lists them."""
    groups, order = {}, []
    failed = set((r["capability"], r["where"]) for r in c["who_else"]) if key != "who_else" else set()
    for r in c[key]:
        if (r["capability"], r["where"]) in failed:
            continue
        key = (r["capability"], r["where"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    return [(k[0], k[1], groups[k]) for k in order]


def who_else_not_proven(c):
    """How many capability x place questions of a cluster's exclusive audit are not proven (verdict.tally's
    ``who_else_not_proven``: failed questions), 0 without."""
    return to_int(c["summary"].get("who_else_not_proven")) if c["who_else_audit"] is not None else 0


def unproven_text(rows):
    """``User bob (through RoleBinding a/x (ClusterRole spectro-vm-admin)), ...``: who the RBAC objects say holds
    it at a place not proven, and through what."""
    return ", ".join(who_else_subject(r) + (" (through %s)" % "; ".join(r["via"]) if r["via"] else "") for r in rows)


def who_else_counts(audit):
    """``12 capability × place questions, 5 holders confirmed by the API server: 3 declared, 1 platform
    identities, 1 undeclared``: the audit's counts that the result gives."""
    parts = ["%d %s" % (audit[k], _count_label(audit, k, label)) for k, label in AUDIT_COUNTS if k in audit]
    return ", ".join(parts)


def _count_label(audit, key, label):
    """``holders confirmed by the API server`` only when every holder was asked and confirmed; otherwise
    ``holders (205 of them asked of the API server, 205 confirmed)``: the exclusive audit asks every
    violation and a sample of the others, and the rest are counted as the local evaluation found them."""
    if key != "holders" or "confirmed" not in audit:
        return label
    asked = audit.get("asked", audit["confirmed"])
    if audit["confirmed"] >= audit["holders"] and asked >= audit["holders"]:
        return label
    return "holders (%d of them asked of the API server, %d confirmed; the others as the local evaluation " \
           "found them)" % (asked, audit["confirmed"])


def clusters(results):
    """The results as normalized per-cluster dicts (name, status, summary, matrix of cells, ...)."""
    if isinstance(results, Prepared):
        return results.norm
    return [normalize(i, hint, raw) for i, (hint, raw) in enumerate(unwrap(results))]


def newer_columns(f):
    """The fleet table's optional columns, ``[(key, header)]``: "Not proven" whenever the
    fleet has the count (0 is worth saying), "Pending" when something is pending, "Who else" (undeclared
    holders) when a cluster ran the exclusive audit."""
    out = []
    if "unchecked_entries" in f:
        out.append(("unchecked_entries", "Not proven"))
    if f.get("pending"):
        out.append(("pending", "Pending"))
    if "who_else" in f:
        out.append(("who_else", "Who else"))
    return out


def fleet(norm):
    """Counts over the normalized clusters; ``passed`` only if every validated cluster passed.

    ``unchecked_entries`` (grants not proven) and ``pending`` are there when a validated cluster's
    summary has them."""
    count = dict((s, sum(1 for c in norm if c["status"] == s))
                 for s in (STATUS_PASSED, STATUS_FAILED, STATUS_ERROR, STATUS_SKIPPED))
    validated = [c for c in norm if c["status"] in VALIDATED]
    counts = {
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
    # the optional counts (not proven grants, pending items), when a cluster has them
    for key in ("unchecked_entries", "pending"):
        if any(key in c["summary"] for c in validated):
            counts[key] = sum(c["summary"].get(key, 0) for c in validated)
    # Only when some cluster has time-limited grants: a fleet without them has no such counts.
    if any(c["time_limited"] for c in norm):
        counts["time_limited"] = sum(len(c["time_limited"]) for c in norm)
        counts["overdue"] = sum(c["overdue"] for c in norm)
    # Only when a validated cluster ran the exclusive audit, likewise.
    audited = [c for c in validated if c["who_else_audit"] is not None]
    if audited:
        counts["who_else"] = sum(len(c["who_else"]) for c in audited)
        counts["who_else_audited"] = len(audited)
        # the capability x place questions not proven (who_else_unproven), when a cluster has them
        if any("who_else_not_proven" in c["summary"] for c in audited):
            counts["who_else_not_proven"] = sum(c["summary"].get("who_else_not_proven", 0) for c in audited)
    return counts
