"""The examples test's catalogue (tests/helpers/doc_examples.py), without a cluster: every YAML block
of the docs is an example of a known kind, each parses, and the markers mean what they say. The
examples themselves run in tests/integration/test_doc_examples.py."""

import pytest
import yaml

from tests.helpers import doc_examples

EXAMPLES = doc_examples.all_examples()


def test_every_yaml_block_of_the_docs_is_an_example_of_a_known_kind():
    unmarked = [e.id for e in EXAMPLES if e.kind not in doc_examples.KINDS]
    assert unmarked == [], "mark these with <!-- example: KIND --> (tests/helpers/doc_examples.py): %s" % unmarked
    assert len(EXAMPLES) >= 19
    assert {e.kind for e in EXAMPLES} >= {"playbook", "tasks", "bindings", "vars", "options", "partial",
                                          "palette-inventory", "awx-credential-type"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_every_example_parses(example):
    data = yaml.safe_load(example.text)
    assert data is not None
    if example.kind in ("playbook", "tasks", "bindings"):
        assert isinstance(data, list) and data
    if example.kind in ("vars", "options", "palette-inventory", "awx-credential-type"):
        assert isinstance(data, dict) and data


def test_markers():
    assert doc_examples.parse_marker("vars host=prod-west check-only") == (
        "vars", {"host": "prod-west", "check-only": True}, "")
    assert doc_examples.parse_marker("partial -- an  event\n as received") == ("partial", {}, "an event as received")
    for bad in ("", "plybook", "partial", "partial --  "):
        with pytest.raises(doc_examples.MarkerError):
            doc_examples.parse_marker(bad)


def test_a_marker_applies_to_the_block_after_it(tmp_path, monkeypatch):
    monkeypatch.setattr(doc_examples, "ROOT", tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text("text\n\n<!-- example: vars host=dev-lab -->\n```yaml\na: 1\n```\n\n```yaml\n- hosts: x\n```\n\n"
                   "```yaml\nb: 2\n```\n\n1. a step\n\n   <!-- example: partial -- shown -->\n   ```yaml\nc: 3\n   ```\n")
    found = doc_examples.examples_of(doc)
    assert [(e.line, e.kind, e.args) for e in found] == [
        (4, "vars", {"host": "dev-lab"}), (8, "playbook", {}), (12, "", {}), (19, "partial", {})]
    doc.write_text("<!-- example: nonsense -->\n```yaml\na: 1\n```\n")
    with pytest.raises(doc_examples.MarkerError, match="doc.md:2: unknown example kind"):
        doc_examples.examples_of(doc)
