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
