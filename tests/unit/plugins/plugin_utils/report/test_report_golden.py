"""The report renderers give byte-identical output for the whole golden corpus.

The corpus and how to regenerate its digests on purpose: tests/unit/plugins/plugin_utils/report/report_golden.py.
"""

from __future__ import annotations

from tests.unit.plugins.plugin_utils.report import report_golden as golden


def test_golden_corpus_renders_byte_identical():
    render, error_type = golden.renderer()
    want = golden.read_manifest()
    have = golden.read_manifest_lines(golden.manifest_lines(render, error_type))
    assert len(have) >= 300 and set(have) == set(want), "cases added or lost: %s" % sorted(set(have) ^ set(want))
    inputs = sorted(cid for cid in have if have[cid]["input"] != want[cid]["input"])
    assert not inputs, "the generator changed these inputs (not the renderers): %s" % inputs
    differ = ["%s %s" % (cid, k) for cid in sorted(have) for k in sorted(have[cid]) if have[cid][k] != want[cid][k]]
    assert not differ, "%d renderings differ from the golden corpus, first: %s" % (len(differ), differ[:20])


def _compacted(results):
    """``results`` with every vmo_rbac_validate result in it in the ``access_format: json`` form (access_rows.compact),
    and how many were: the results a module could have returned (access rows that survive a JSON round trip)."""
    import json

    from ansible_collections.vmo.rbac.plugins.module_utils._core import access_rows

    count = [0]

    def one(result):
        rows = result.get("access")
        try:
            same = isinstance(rows, list) and json.loads(json.dumps(rows)) == rows
        except (TypeError, ValueError):
            same = False
        if not same:
            return result
        count[0] += 1
        return access_rows.compact(dict(result))  # a new mapping: compact sets two keys, changes no row

    def walk(value):
        if isinstance(value, dict):
            if "results" in value and isinstance(value["results"], list):
                return dict(value, results=[walk(v) for v in value["results"]])
            if "access" in value:
                return one(value)
            return dict((k, walk(v) if isinstance(v, dict) else v) for k, v in value.items())
        if isinstance(value, list):
            return [walk(v) if isinstance(v, dict) else v for v in value]
        return value

    return walk(results), count[0]


def test_the_compact_access_form_renders_byte_identical():
    """vmo_rbac_validate's access_format json (every row as one JSON text, only the rows that did not pass in
    ``access``): every case of the corpus renders exactly as its list form, in every format."""
    render, error_type = golden.renderer()
    want = golden.read_manifest()
    compacted, differ = 0, []
    for cid, results, (title, stamp) in golden.cases():
        results, n = _compacted(results)
        if not n:
            continue
        compacted += n
        for key, text in golden.render_case(render, error_type, results, title, stamp).items():
            if golden._digest(text) != want[cid][key]:  # pylint: disable=protected-access
                differ.append("%s %s" % (cid, key))
    assert compacted >= 300, compacted
    assert not differ, "%d renderings of the compact form differ, first: %s" % (len(differ), differ[:20])


def test_one_prepared_fleet_renders_every_format_byte_identical():
    """The fleet report action prepares the results once (``model.prepare``: unwrapped, the access text parsed
    and each result normalized once) and renders every format from it: every case of the corpus, in its list
    form and in the compact form, renders exactly as the golden corpus, both variants rendered from one
    ``Prepared`` (a format that changed the normalized clusters would show in the formats after it)."""
    from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model

    render, error_type = golden.renderer()
    want = golden.read_manifest()
    prepared_cases, differ = 0, []
    for cid, results, (title, stamp) in golden.cases():
        for form in (results, _compacted(results)[0]):
            try:
                prepared = model.prepare(form)
            except error_type:
                continue  # bad input: rendered as its error message by every format, the golden test's part
            prepared_cases += 1
            assert model.prepare(prepared) is prepared
            for key, text in golden.render_case(render, error_type, prepared, title, stamp).items():
                if golden._digest(text) != want[cid][key]:  # pylint: disable=protected-access
                    differ.append("%s %s" % (cid, key))
    assert prepared_cases >= 600, prepared_cases
    assert not differ, "%d renderings of a prepared fleet differ, first: %s" % (len(differ), differ[:20])
