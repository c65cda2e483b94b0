"""The shipped rulebooks (extensions/eda/rulebooks) are valid for ansible-rulebook: its own JSON
schema and its own parser, with the conditions compiled; their source is this collection's, with
arguments the source accepts; their actions run this collection's enforce playbook (or the job
template that runs it) in reconcile mode, limited to the cluster of the event."""

from pathlib import Path

import pytest
import yaml
from ansible_rulebook.rules_parser import parse_rule_sets
from ansible_rulebook.validators import Validate

from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config

ROOT = Path(__file__).resolve().parents[4]
RULEBOOKS = sorted((ROOT / "extensions" / "eda" / "rulebooks").glob("*.yml"))
SOURCE = ROOT / "extensions" / "eda" / "plugins" / "event_source" / "cluster_changes.py"


def test_there_are_rulebooks():
    assert [p.name for p in RULEBOOKS] == ["reconcile.yml", "reconcile_job_template.yml"]
    assert SOURCE.exists()


@pytest.mark.parametrize("path", RULEBOOKS, ids=lambda p: p.name)
def test_rulebook_is_valid_and_reconciles_the_cluster_of_the_event(path):
    data = yaml.safe_load(path.read_text())
    Validate.rulebook(data)
    (ruleset,) = parse_rule_sets(data, {"vmo_rbac_eda_clusters": ["prod-east"]})
    assert ruleset.execution_strategy.name == "PARALLEL"  # clusters in parallel ...
    (source,) = ruleset.sources
    assert source.source_name == "vmo.rbac.cluster_changes"
    eda_config.check_arguments(source.source_args)
    (rule,) = ruleset.rules
    (action,) = rule.actions
    args = action.action_args
    assert args["lock"] == "{{ event.vmo_rbac.cluster }}"  # ... one run at a time per cluster
    if action.action == "run_playbook":
        assert args["name"] == "vmo.rbac.enforce" and args["extra_vars"]["vmo_rbac_mode"] == "reconcile"
    else:
        assert action.action == "run_job_template"
        assert args["job_args"] == {"limit": "{{ event.vmo_rbac.cluster }}", "extra_vars": {"vmo_rbac_mode": "reconcile"}}
