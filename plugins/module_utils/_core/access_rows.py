# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two forms of a validation result's access rows (vmo_rbac_validate's option ``access_format``).

``list`` (the default): ``access`` holds every row, one mapping each. ``json``: ``access_json`` holds
every row as one JSON text (the same list, in the same order) and ``access`` only the rows that did not
pass (``ok`` false or null: failed, pending, unchecked), what a playbook looks for.

Why: Ansible's main process copies a registered result for every callback that takes results and for
the register itself (``module_response_deepcopy``, ``strip_internal_keys``), one process for the whole
fleet; and ``exit_json`` walks every value of a result to mask the ``no_log`` values. At 4,512 checks a
host's rows are 13,872 lists and mappings: 0.084 s per copy, 0.17 s per walk; one text costs nothing to
copy (docs/performance.md, section 9). The role asks for ``json``; the reports read either form alike
(``expand``), so a report of one form is byte-identical to the report of the other.

Pure (Ansible's six only): the text is made by module_runner from the rows as the list form would show them, masked
(``module_runner.access_as_text``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.collections_abc import Mapping

OPTION = "access_format"
KEY = "access_json"
FORMATS = ("list", "json")


def passed(row):
    return isinstance(row, Mapping) and row.get("ok") is True


def text_of(rows):
    """Every row as one JSON text, in order."""
    return json.dumps(rows, separators=(",", ":"))


def not_passed(rows):
    """The rows that did not pass (failed, pending, unchecked), in order."""
    return [r for r in rows if not passed(r)]


def compact(result):
    """``result`` in the ``json`` form, in place (the rows as they are: module_runner masks them first); unchanged
    when it has no list of rows (a failure before the checks) or is compact already."""
    rows = result.get("access") if isinstance(result, Mapping) else None
    if not isinstance(rows, list) or KEY in result:
        return result
    result[KEY] = text_of(rows)
    result["access"] = not_passed(rows)
    return result


class BadForm(ValueError):
    """``access_json`` is not the JSON text of a list of rows."""


def rows_of(text):
    """The rows of an ``access_json`` value: its text parsed (a list given already parsed is taken as it is)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    if isinstance(text, str):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise BadForm("access_json is not JSON (%s)" % exc)
        except RecursionError:  # json's decoder recurses once per level: "[[[[...]]]]" would end the report
            raise BadForm("access_json is not a list of access rows (lists or mappings nested too deep)")
    else:
        rows = text
    if not isinstance(rows, list):
        raise BadForm("access_json is a %s, not a list of access rows" % type(rows).__name__)
    return rows


def expand(result):
    """``result`` in the ``list`` form: a new mapping whose ``access`` is every row and without ``access_json``;
    ``result`` itself when it is not compact. Raises BadForm for an ``access_json`` that is no list of rows, and
    for one whose rows that did not pass are not exactly the result's ``access`` (what a playbook reads): the
    two would tell two stories, and the report must not show the one that passes."""
    if not isinstance(result, Mapping) or KEY not in result:
        return result
    rows = rows_of(result[KEY])
    if "access" in result:
        shown, failing = result["access"], not_passed(rows)
        if not isinstance(shown, list) or shown != failing:
            raise BadForm("access_json and access disagree: access_json has %d rows that did not pass, access "
                          "%s (access must hold exactly those rows)"
                          % (len(failing), "has %d rows, not those" % len(shown) if isinstance(shown, list)
                             else "is a %s" % type(shown).__name__))
    out = dict((k, v) for k, v in result.items() if k != KEY)
    out["access"] = rows
    return out
