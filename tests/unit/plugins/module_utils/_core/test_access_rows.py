"""vmo_rbac_validate's two forms of the access rows (module_utils/_core/access_rows.py): ``list`` and ``json``.

That either form makes the same report, byte for byte, over the whole golden corpus:
tests/unit/plugins/plugin_utils/report/test_report_golden.py. Through ansible-playbook on the control plane (the
role registers the compact form, the fleet report and a module process give the same rows):
tests/integration/test_role.py. The masking of the text: tests/unit/plugins/module_utils/_flows/test_module_runner.py.
"""

import copy
import json

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import access_rows
from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model

ROWS = [
    {"subject": "Group ops", "capability": "vm.view", "ok": True, "allowed": True, "expected": True,
     "as_groups": ["ops", "system:authenticated"], "reason": 'RBAC: allowed by RoleBinding "a/b"'},
    {"subject": "User b\u00f6b", "capability": "vm.delete", "ok": False, "allowed": True, "expected": False,
     "reason": "quote \" backslash \\ line\nbreak"},
    {"subject": "Group ops", "capability": "vm.export", "ok": None, "allowed": None, "expected": None,
     "reason": "unchecked"},
    {"subject": "Group ops", "capability": "vm.console", "ok": True, "allowed": False, "expected": "optional",
     "note": "how to get it"},
    {"subject": "User eve", "capability": "vm.delete", "ok": False, "pending": True, "allowed": True,
     "expected": False},
]


def result(rows=None):
    return {"passed": False, "summary": {"checks": 5}, "access": copy.deepcopy(ROWS if rows is None else rows),
            "matrix": [], "msg": "m"}


def test_compact_keeps_every_row_in_the_text_and_the_rows_that_did_not_pass_in_access():
    out = access_rows.compact(result())
    assert json.loads(out["access_json"]) == ROWS  # every row, in order, every character
    assert out["access"] == [ROWS[1], ROWS[2], ROWS[4]]  # failed, unchecked, pending: what a playbook looks for
    assert out["summary"] == {"checks": 5} and out["msg"] == "m"


def test_expand_gives_back_the_list_form_exactly():
    full = result()
    back = access_rows.expand(access_rows.compact(result()))
    assert back == full and list(back) == list(full)  # the same keys, access where it was
    assert access_rows.expand(full) is full  # the list form is left as it is


@pytest.mark.parametrize("given", [{"msg": "failed before the checks", "failed": True}, {"access": "odd"}, None, []])
def test_compact_leaves_a_result_without_rows(given):
    assert access_rows.compact(copy.deepcopy(given)) == given


def test_compact_twice_is_compact_once():
    once = access_rows.compact(result())
    assert access_rows.compact(copy.deepcopy(once)) == once


def test_no_rows_is_an_empty_text():
    out = access_rows.compact(result([]))
    assert out["access_json"] == "[]" and out["access"] == []


@pytest.mark.parametrize("text, why", [
    ("[{", "access_json is not JSON"),
    ('{"a": 1}', "access_json is a dict, not a list of access rows"),
    (7, "access_json is a int, not a list of access rows"),
])
def test_a_text_that_is_not_a_list_of_rows_is_refused(text, why):
    with pytest.raises(access_rows.BadForm, match=why):
        access_rows.expand({"access": [], "access_json": text})
    # the report names the result at fault instead of rendering something else
    with pytest.raises(model.ReportError, match="results: item 1: " + why):
        model.unwrap([result(), {"passed": True, "access": [], "access_json": text}])


def test_the_report_reads_either_form_the_same():
    compact = access_rows.compact(result())
    assert model.unwrap([compact]) == model.unwrap([result()])
    assert model.unwrap(compact) == model.unwrap(result())  # one result, not a list
    assert model.unwrap({"results": [compact]}) == model.unwrap({"results": [result()]})  # a registered loop


def test_a_text_nested_too_deep_is_refused_not_a_crash():
    """json's decoder recurses once per level: an access_json of 100,000 nested lists ended the fleet report
    with a RecursionError (a traceback) instead of naming the result at fault."""
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(access_rows.BadForm, match="nested too deep"):
        access_rows.expand({"access": [], "access_json": deep})
    with pytest.raises(model.ReportError, match="results: item 0: access_json is not a list of access rows"):
        model.prepare([{"cluster": "c", "access": [], "access_json": deep}])


def _tampered(rows_in_text, access):
    return {"cluster": "c", "access": copy.deepcopy(access), "access_json": json.dumps(rows_in_text)}


@pytest.mark.parametrize("rows_in_text, access", [
    # the failing row passes in the text: the report showed the text, "passed", while access showed the failure
    ([dict(ROWS[1], ok=True)], [ROWS[1]]),
    ([], [ROWS[1]]),                        # the failing row left out of the text
    ([ROWS[0]], [ROWS[1]]),                 # another row instead
    (ROWS, [ROWS[1], ROWS[2]]),             # a row that did not pass missing from access
    (ROWS, [ROWS[1], ROWS[4], ROWS[2]]),    # the same rows, another order
    (ROWS, "odd"),                          # access not a list
])
def test_a_text_and_an_access_that_disagree_are_refused(rows_in_text, access):
    """A result whose two forms disagree tells two stories: the report names it instead of taking the text's."""
    with pytest.raises(access_rows.BadForm, match="access_json and access disagree"):
        access_rows.expand(_tampered(rows_in_text, access))
    with pytest.raises(model.ReportError, match="results: item 0: access_json and access disagree"):
        model.prepare([_tampered(rows_in_text, access)])


def test_a_text_that_agrees_with_access_is_read_and_access_may_be_absent():
    rows = [ROWS[0], ROWS[1]]
    assert access_rows.expand(_tampered(rows, [ROWS[1]]))["access"] == rows
    assert access_rows.expand({"access_json": json.dumps(rows)})["access"] == rows  # nothing to disagree with
