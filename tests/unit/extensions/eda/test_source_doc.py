"""The event source vmo.rbac.cluster_changes documents its arguments the way the ansible.eda event
sources do (DOCUMENTATION with options, types and defaults; EXAMPLES), and the documentation is what
the source accepts: plugins/plugin_utils/eda_config.py, which it calls with its arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.module_utils._core.specs import CONNECTION_ARG_SPEC
from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
import generate  # noqa: E402 pylint: disable=wrong-import-position

DOC, EXAMPLES_TEXT = generate.event_source_doc()
OPTIONS = DOC["options"]
KINDS = {float: "float", int: "int", bool: "bool"}


def accepted():
    known = set(eda_config.SETTINGS_SPEC) | set(eda_config.SELECTION_KEYS) | set(CONNECTION_ARG_SPEC)
    return known


def test_the_documentation_has_the_shape_of_an_eda_source():
    assert set(DOC) == {"short_description", "description", "options"}
    for name, opt in OPTIONS.items():
        assert set(opt) <= {"description", "type", "elements", "default", "aliases", "required", "choices"}, name
        assert opt["description"] and opt["type"], name


def test_every_option_the_source_takes_is_documented_and_nothing_else():
    assert set(OPTIONS) == accepted()


def test_settings_are_documented_with_their_types_and_defaults():
    for name, (kind, default, _low, _exclusive, _high) in eda_config.SETTINGS_SPEC.items():
        assert OPTIONS[name]["type"] == KINDS[kind], name
        assert OPTIONS[name].get("default") == default, name
    assert OPTIONS["owner"]["default"] == eda_config.DEFAULT_OWNER
    assert OPTIONS["group"]["default"] == eda_config.DEFAULT_GROUP
    assert "default" not in OPTIONS["inventory"] and "ANSIBLE_INVENTORY" in " ".join(OPTIONS["inventory"]["description"])


def test_connection_options_are_documented_as_the_modules_take_them():
    for name, spec in CONNECTION_ARG_SPEC.items():
        opt = OPTIONS[name]
        assert opt["type"] == spec["type"], name
        assert opt.get("elements") == spec.get("elements"), name
        assert sorted(opt.get("aliases", [])) == sorted(spec.get("aliases", [])), name
        assert opt.get("default") == spec.get("default"), name
        text = opt["description"] if isinstance(opt["description"], str) else " ".join(opt["description"])
        fallback = spec.get("fallback")
        for env in (fallback[1] if fallback else []):
            assert "E(%s)" % env in text, (name, env)
        if spec.get("no_log"):
            assert "Never logged" in text, name


def value_for(name, opt):
    if name in eda_config.SETTINGS_SPEC:
        kind, default, _low, _exclusive, _high = eda_config.SETTINGS_SPEC[name]
        return default
    return {"str": "x", "raw": "x", "path": "/x", "bool": True, "int": 3, "float": 2.5, "dict": {},
            "list": ["x"]}[opt["type"]]


@pytest.mark.parametrize("name", sorted(set(OPTIONS) - {"clusters", "inventory", "group", "kubeconfig", "context"}))
def test_every_documented_option_is_accepted_and_a_misspelling_is_refused(name, monkeypatch):
    for k in list(__import__("os").environ):
        if k.startswith("K8S_AUTH_"):
            monkeypatch.delenv(k)
    args = {"clusters": [{"name": "c1", "host": "https://127.0.0.1:6443"}], name: value_for(name, OPTIONS[name])}
    if name == "host":
        args[name] = "https://127.0.0.1:6443"
    if name == "proxy":
        args[name] = "http://proxy.example.com:3128"
    if name in ("client_cert", "client_key"):
        args.update(client_cert="/x.crt", client_key="/x.key")
    settings, targets = eda_config.resolve(args)
    assert [t.name for t in targets] == ["c1"] and settings
    typo = dict(args)
    typo[name + "s"] = typo.pop(name)
    with pytest.raises(eda_config.ConfigError) as exc:
        eda_config.resolve(typo)
    assert "unknown argument " + name + "s" in str(exc.value)


def test_selection_options_are_accepted_as_documented(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"vmo_prod": {"hosts": {
        "east": {"vmo_rbac_context": "east", "vmo_rbac_owner": "team-a"}}}}}}))
    settings, targets = eda_config.resolve({"inventory": str(inventory), "group": "vmo_prod"})
    assert [(t.name, t.owner, t.params["context"]) for t in targets] == [("east", "team-a", "east")]
    _s, targets = eda_config.resolve({"clusters": ["prod-east", {"name": "w", "context": "w"}], "owner": "o"})
    assert [(t.name, t.owner) for t in targets] == [("prod-east", "o"), ("w", "o")]
    assert settings.debounce == OPTIONS["debounce"]["default"]


def test_every_example_is_accepted(tmp_path, monkeypatch):
    """EXAMPLES: each entry is a rulebook source (one key, the source's FQCN), and its arguments are
    accepted by the source (the inventory ones against an inventory of that shape)."""
    examples = yaml.safe_load(EXAMPLES_TEXT)
    assert len(examples) >= 3
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
        "vmo_clusters": {"hosts": {"prod-east": {"vmo_rbac_context": "prod-east"}}},
        "vmo_prod": {"hosts": {"prod-west": {"vmo_rbac_context": "prod-west"}}}}}}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANSIBLE_INVENTORY", str(inventory))
    seen = set()
    for source in examples:
        assert list(source) == ["vmo.rbac.cluster_changes"], source
        args = source["vmo.rbac.cluster_changes"]
        settings, targets = eda_config.resolve(dict(args))
        assert targets and settings
        seen |= set(args)
    assert {"inventory", "group", "clusters", "debounce"} <= seen


def test_docs_eda_md_shows_the_documentation():
    text = (ROOT / "docs" / "eda.md").read_text()
    assert generate.eda_options_table() in text
