# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict of a validation and its counts, computed in one place from the parts as data.

Pure. ``tally`` is the one function that decides whether a cluster passed: the validate flow
(validate.py) calls it once it has every part (the roles, the binding drift, the access rows,
the grants not proven, the time-limited grants and the exclusive audit's part, ``AuditPart``), and
the reports (plugin_utils/report/model.py) call it for a result that does not give its counts.

Every role, binding and access row asked is a check; a check fails when the role is missing, the
binding drifted (unless the enforce step of the same run planned it under ``--check``: pending),
or the API server's answer is not the expected one (likewise). A grant whose namespace rules matched
nothing proves nothing: it is not proven (``unchecked_entries``), never a passed check. The checks
about single objects that were too many to ask are one failed check, and not proven. The exclusive
audit asks one question per capability and place; a place with an undeclared holder fails, and so does
one whose undeclared holders by the RBAC objects the API server did not confirm: not proven.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

# The exclusive audit's part of the verdict (whocan.exclusive_audit): questions: capability x place
# questions asked; failed: those with an undeclared holder, or not proven; undeclared: the undeclared holders
# found; not_proven: the questions (among the failed) whose only undeclared holders the API server did not
# confirm: the RBAC objects grant an undeclared subject and the API server said no, one of the two is not
# the cluster as it is, so the question is neither passed nor a confirmed violation (run again).
AuditPart = namedtuple("AuditPart", "questions failed undeclared not_proven")
AuditPart.__new__.__defaults__ = (0,)


def is_pending(item):
    """A drift item or a failed access check that the enforce step of the same run planned (``pending: true``)."""
    return item.get("pending") is True


def is_overdue(item):
    """A time-limited grant whose time has passed and that still grants (a violation until the enforcer runs)."""
    return item.get("state") == "overdue" or item.get("violation") is True


def tally(roles=(), drift=(), access=(), binding_checks=0, not_proven=0, subjects=0, audit=None,
          time_limited=None, named_unproven=None):
    """(passed, summary) of one cluster's validation.

    ``roles``: role checks (``present``); ``drift``: drift items (``pending``); ``access``: access rows
    (``ok``: True, False or None when unchecked; ``pending``); ``binding_checks``: how many bindings were
    checked (0 when bindings were not); ``not_proven``: grants whose rules matched nothing; ``subjects``:
    how many subjects the access checks are about; ``audit``: the exclusive audit's AuditPart, None when it
    did not run; ``time_limited``: the time-limited grants (``state``), None when there are none;
    ``named_unproven``: how many single objects were too many to ask about, None when all were asked.

    The summary's keys, in order: checks, passed, failed, drift, unchecked, unchecked_entries, pending,
    subjects, requests and seconds (0: the caller measures them), then time_limited and overdue (with
    time-limited grants), named_objects_unproven (with single objects not asked about) and who_else
    (with the audit)."""
    unchecked = sum(1 for r in access if r.get("ok") is None)
    access_failed = sum(1 for r in access if r.get("ok") is False and not is_pending(r))
    pending = sum(1 for d in drift if is_pending(d)) + sum(1 for r in access if r.get("ok") is False and is_pending(r))
    role_failed = sum(1 for r in roles if r.get("present") is False)
    checks = len(roles) + binding_checks + len(access) - unchecked
    failed = role_failed + sum(1 for d in drift if not is_pending(d)) + access_failed
    if named_unproven is not None:
        checks += 1
        failed += 1
        not_proven += 1
    if audit is not None:
        checks += audit.questions
        failed += audit.failed
    summary = {"checks": checks, "passed": checks - failed, "failed": failed, "drift": len(drift),
               "unchecked": unchecked, "unchecked_entries": not_proven, "pending": pending, "subjects": subjects,
               "requests": 0, "seconds": 0.0}
    if time_limited:
        summary["time_limited"] = len(time_limited)
        summary["overdue"] = sum(1 for t in time_limited if is_overdue(t))
    if named_unproven is not None:
        summary["named_objects_unproven"] = named_unproven
    if audit is not None:
        summary["who_else"] = audit.undeclared
        if audit.not_proven:
            summary["who_else_not_proven"] = audit.not_proven
    return failed == 0, summary


def binding_checks(desired, drift):
    """How many binding checks a validation made: each declared binding, each binding that should not be
    there or is in the way (a delete or a conflict), and each expired grant nobody declares any more."""
    count = len(desired) + sum(1 for d in drift if d["action"] in ("delete", "conflict"))
    return count + sum(1 for d in drift if d["action"] == "expire"
                       and (d["kind"], d.get("namespace", ""), d["name"]) not in desired)
