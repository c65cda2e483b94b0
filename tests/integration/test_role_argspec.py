"""The role's variables: a typo fails at the start, naming the variable, before any request.

Runs the role through ansible-playbook against a real cluster with typos in the inventory and
checks that nothing reached the cluster. (That the role's argument spec, its defaults and the
modules' argument specs agree is a pure test: tests/unit/test_schema.py.)
"""

from __future__ import annotations

import yaml

from tests.helpers.ansible import run_playbook


def test_typos_fail_at_the_start_naming_the_variable(cluster, owner, uid, tmp_path):
    """Each host has one typo; each fails at argument validation, before any module call.

    (vmo_rbac_mode is set by the playbooks themselves; its choices are checked above.)"""
    user = "role-argspec-" + uid  # this test's own identity, to tell its requests apart in the audit log
    inv = tmp_path / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    good = [{"persona": "viewer", "groups": ["auditors"]}]
    typos = {
        "persona-typo": ({"vmo_rbac_extra_bindings": [{"persona": "admn", "groups": ["vmo-admins"]}]},
                         ["vmo_rbac_extra_bindings", "admn"]),
        "key-typo": ({"vmo_rbac_bindings": [{"persona": "viewer", "grups": ["auditors"]}]},
                     ["vmo_rbac_bindings", "grups"]),
        "role-set-typo": ({"vmo_rbac_role_set": "vm0"}, ["vmo_rbac_role_set", "vm0"]),
        "format-typo": ({"vmo_rbac_report_formats": ["markdown", "htm"]}, ["vmo_rbac_report_formats", "htm"]),
        "type-typo": ({"vmo_rbac_purge": "sometimes"}, ["vmo_rbac_purge"]),
    }
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
        "hosts": {h: {} for h in typos},
        "vars": {"ansible_connection": "local", "vmo_rbac_owner": owner, "vmo_rbac_bindings": good,
                 "vmo_rbac_report_dir": str(tmp_path / "reports"),
                 **{"vmo_rbac_" + k: v for k, v in cluster.identity(user).params.items()}}}}}}))
    for host, (host_vars, _words) in typos.items():
        (inv / "host_vars" / (host + ".yml")).write_text(yaml.safe_dump(host_vars))

    audit = cluster.audit()
    run = run_playbook("vmo.rbac.enforce", inventory=inv)

    assert run.rc != 0
    for host, (_host_vars, words) in typos.items():
        mine = [r for r in run.results if r["host"] == host]
        assert len(mine) == 1, "%s ran more than the argument validation: %s" % (host, [r["task"] for r in mine])
        assert mine[0]["result"]["action"].endswith("validate_argument_spec"), mine[0]["task"]
        assert mine[0]["result"].get("failed")
        for word in words:
            assert word in mine[0]["result"]["msg"], (host, mine[0]["result"]["msg"])
    assert not any(r["result"].get("action", "").startswith("vmo.rbac.") for r in run.results)
    assert audit.events(user=user) == []


def test_typos_fail_at_the_start_of_the_revoke_entry_point(cluster, owner, uid, tmp_path):
    """tasks_from: revoke (the break-glass playbook's way to end a grant early) validates its variables
    as the main entry point does (argument_specs entry point revoke): before, a typo reached the module,
    or, in a key the module does not know, was dropped without a word."""
    user = "role-argspec-revoke-" + uid
    inv = tmp_path / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    typos = {
        "persona-typo": ({"vmo_rbac_bindings": [{"persona": "admn", "groups": ["vmo-admins"]}]},
                         ["vmo_rbac_bindings", "admn"]),
        "key-typo": ({"vmo_rbac_extra_bindings": [{"persona": "viewer", "grups": ["auditors"]}]},
                     ["vmo_rbac_extra_bindings", "grups"]),
        "role-set-typo": ({"vmo_rbac_role_set": "vm0"}, ["vmo_rbac_role_set", "vm0"]),
        "execution-typo": ({"vmo_rbac_execution": "workr"}, ["vmo_rbac_execution", "workr"]),
    }
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
        "hosts": {h: {} for h in typos},
        "vars": {"ansible_connection": "local", "vmo_rbac_owner": owner,
                 "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["auditors"]}],
                 **{"vmo_rbac_" + k: v for k, v in cluster.identity(user).params.items()}}}}}}))
    for host, (host_vars, _words) in typos.items():
        (inv / "host_vars" / (host + ".yml")).write_text(yaml.safe_dump(host_vars))
    play = [{"hosts": "vmo_clusters", "gather_facts": False, "tasks": [
        {"name": "Revoke", "ansible.builtin.include_role": {"name": "vmo.rbac.vmo_rbac", "tasks_from": "revoke"}}]}]

    audit = cluster.audit()
    run = run_playbook(play, inventory=inv)

    assert run.rc != 0
    for host, (_host_vars, words) in typos.items():
        mine = [r for r in run.results if r["host"] == host and r["result"].get("failed")]
        assert len(mine) == 1, (host, [r["task"] for r in run.results if r["host"] == host])
        assert mine[0]["result"]["action"].endswith("validate_argument_spec"), mine[0]["task"]
        assert mine[0]["result"]["validate_args_context"]["argument_spec_name"] == "revoke"
        for word in words:
            assert word in mine[0]["result"]["msg"], (host, mine[0]["result"]["msg"])
    assert not any(r["result"].get("action", "").startswith("vmo.rbac.") for r in run.results)
    assert audit.events(user=user) == []
