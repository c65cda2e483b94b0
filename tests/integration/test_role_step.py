"""The step a failed cluster names is data the role's tasks carry (``vars: vmo_rbac__step``), never read
out of a task's name: a copy of the collection whose role tasks are renamed (no `` | `` in any name)
reports the same steps, in the recap message and in the set_stats summary.

No cluster is needed: every host points at a port where nothing listens (a real connection refused),
so the cluster-roles, enforce and validate steps fail at their first request; the preflight step fails
on the inventory's error.
"""

from __future__ import annotations

import re
import shutil

import yaml

from tests.helpers import leaks
from tests.helpers.ansible import ROOT, run_playbook
from tests.integration.test_role import results, write_inventory

# Only what running the role needs (the tests, the build and the tools are left out).
COPIED = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "extensions", "files")
TASKS = ROOT / "roles" / "vmo_rbac" / "tasks"
NOWHERE = "https://127.0.0.1:1"  # connection refused, at once
TOKEN = "role-step-not-a-real-token"


def renamed_collection(tmp_path):
    """A copy of the collection whose role tasks are all renamed: ``Preflight | The inventory ...``
    becomes ``Renamed task 3``, without the step in it."""
    root = tmp_path / "collections" / "ansible_collections" / "vmo" / "rbac"
    root.mkdir(parents=True)
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        elif src.exists():
            shutil.copy2(src, root / name)
    count = 0
    for path in sorted((root / "roles" / "vmo_rbac" / "tasks").glob("*.yml")):
        text = path.read_text()

        def rename(m):
            nonlocal count
            count += 1
            return "%s- name: Renamed task %d\n" % (m.group(1), count)

        text = re.sub(r"(?m)^(\s*)- name: .*\n", rename, text)
        assert " | " not in "".join(re.findall(r"(?m)^\s*- name: .*$", text))
        path.write_text(text)
    assert count > 10
    return root.parents[2]


def summaries(run, host):
    return [r["ansible_stats"]["data"]["vmo_rbac_clusters"][host] for r in results(run, host)
            if r.get("action") == "ansible.builtin.set_stats"
            and "vmo_rbac_clusters" in r.get("ansible_stats", {}).get("data", {})]


def test_every_task_of_the_block_carries_its_step():
    """Each task the rescue can catch names its step in its vars (a task without one reports 'unknown')."""
    main = yaml.safe_load((TASKS / "main.yml").read_text())
    (block,) = [t for t in main if t.get("name") == "Enforce and validate this cluster"]
    assert "split(" not in yaml.safe_dump(block["rescue"])
    steps = {}
    for task in block["block"]:
        if "ansible.builtin.import_tasks" in task:
            for sub in yaml.safe_load((TASKS / task["ansible.builtin.import_tasks"]).read_text()):
                steps[sub["name"]] = (sub.get("vars") or {}).get("vmo_rbac__step")
        else:
            steps[task["name"]] = (task.get("vars") or {}).get("vmo_rbac__step")
    assert all(steps.values()), steps
    assert sorted(set(steps.values())) == ["cluster roles", "enforce", "preflight", "validate"]


def test_renamed_tasks_report_the_same_steps(tmp_path):
    collections = renamed_collection(tmp_path)
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections)}
    leaks.register("test_role_step api key", TOKEN)
    common = {"vmo_rbac_owner": "role-step", "vmo_rbac_host": NOWHERE, "vmo_rbac_api_key": TOKEN,
              "vmo_rbac_validate_certs": False,
              "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["auditors"]}],
              "vmo_rbac_report_dir": str(tmp_path / "reports")}
    inv = write_inventory(
        tmp_path / "inventory",
        hosts={"pre": {"vmo_rbac_inventory_error": "the inventory could not prepare this cluster"},
               "roles": {"vmo_rbac_cluster_roles": ["console"]},
               "enf": {}},
        group_vars=common)
    # an extra var of the same name (the highest precedence) changes nothing: the step is the task's own
    run = run_playbook("vmo.rbac.enforce", inventory=inv, env=env, args=["-e", "vmo_rbac__step=hijacked"])
    assert run.rc == 2, run.stdout[-3000:] + run.stderr[-3000:]
    fails = {}
    for host, step in (("pre", "preflight"), ("roles", "cluster roles"), ("enf", "enforce")):
        (summary,) = summaries(run, host)
        assert summary["status"] == "error" and summary["failed_step"] == step, summary
        fails[host] = [r for r in results(run, host) if r.get("failed") and not r.get("msg", "").startswith(
            "the inventory") and r.get("action") == "ansible.builtin.fail"]
        assert fails[host][-1]["msg"].startswith("vmo_rbac: %s: %s failed: " % (host, step)), fails[host]

    inv2 = write_inventory(tmp_path / "inventory2", hosts={"val": {}}, group_vars=common)
    run = run_playbook("vmo.rbac.validate", inventory=inv2, env=env)
    assert run.rc == 2, run.stdout[-3000:] + run.stderr[-3000:]
    (summary,) = summaries(run, "val")
    assert summary["status"] == "error" and summary["failed_step"] == "validate", summary
    last = [r for r in results(run, "val") if r.get("failed") and r.get("action") == "ansible.builtin.fail"][-1]
    assert last["msg"].startswith("vmo_rbac: val: validate failed: cannot reach the API server"), last
