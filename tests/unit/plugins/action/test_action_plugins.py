"""The action plugins' pure parts: where a module's work runs (plugin_utils/in_worker.py), and what
the fleet report shows per host (plugins/action/vmo_rbac_fleet_report.py).

That the worker and a module process give the same results, masks and arguments, and that the
fleet report is right, is proven through ansible-playbook on the control plane
(tests/integration/test_execution.py, test_role.py).
"""

import json
import os
import sys
from types import SimpleNamespace

import pytest
from ansible.release import __version__ as ansible_core_version

from ansible_collections.vmo.rbac.plugins.action import vmo_rbac_fleet_report as fleet_report
from ansible_collections.vmo.rbac.plugins.action import vmo_cluster_roles, vmo_rbac_validate, vmo_role_binding
from ansible_collections.vmo.rbac.plugins.plugin_utils import in_worker

ANSIBLE_CORE = tuple(int(x) for x in ansible_core_version.split(".")[:3] if x.isdigit())


class Templar:
    def template(self, value):
        return value


def action(transport="local", become=False, async_val=0, delegate_to=None, cls=vmo_role_binding.ActionModule):
    a = cls.__new__(cls)
    a._connection = SimpleNamespace(transport=transport)
    a._play_context = SimpleNamespace(become=become)
    a._task = SimpleNamespace(async_val=async_val, delegate_to=delegate_to)
    a._templar = Templar()
    return a


def test_the_action_plugins_carry_their_module():
    assert vmo_role_binding.ActionModule.MODULE == "vmo_role_binding"
    assert vmo_role_binding.ActionModule.module.__name__.endswith("plugins.modules.vmo_role_binding")
    assert vmo_rbac_validate.ActionModule.module.__name__.endswith("plugins.modules.vmo_rbac_validate")
    assert vmo_cluster_roles.ActionModule.module.__name__.endswith("plugins.modules.vmo_cluster_roles")
    # ansible-core 2.19.1 and later have the hooks the worker execution needs (make compat runs older ones)
    assert in_worker.HOOKS == (ANSIBLE_CORE >= (2, 19, 1)), ANSIBLE_CORE


def test_every_module_has_an_action_plugin_that_runs_it_in_the_worker():
    """A module without one always runs as a module process: the interpreter and its imports paid per task, and
    its Palette requests paced alone instead of in the run's shared pace (vmo_rbac_access_info had none)."""
    import importlib
    from pathlib import Path

    modules = Path(vmo_role_binding.__file__).resolve().parents[1] / "modules"
    names = sorted(p.stem for p in modules.glob("vmo_*.py") if p.stem != "vmo_rbac_fleet_report")
    assert "vmo_rbac_access_info" in names
    for name in names:
        plugin = importlib.import_module("ansible_collections.vmo.rbac.plugins.action." + name).ActionModule
        assert issubclass(plugin, in_worker.VmoAction) and plugin.MODULE == name, name
        assert plugin.import_error is None and "runtime" in plugin.module.main.__code__.co_varnames, name


@pytest.mark.parametrize("kw, task_vars, why", [
    ({}, {}, None),
    ({}, {"ansible_python_interpreter": sys.executable}, None),
    ({}, {"ansible_python_interpreter": "auto_silent"}, None),
    ({}, {"vmo_rbac_execution": "worker"}, None),
    ({}, {"vmo_rbac_execution": "module"}, "vmo_rbac_execution is 'module'"),
    ({"transport": "ssh"}, {}, "the connection is 'ssh', not local"),
    ({"become": True}, {}, "become is set"),
    ({"async_val": 30}, {}, "the task is async"),
    ({}, {"ansible_python_interpreter": "/usr/bin/python3.99"}, "ansible_python_interpreter is /usr/bin/python3.99"),
    ({"delegate_to": "far"}, {"ansible_delegated_vars": {"far": {"ansible_python_interpreter": "/opt/py"}}},
     "ansible_python_interpreter is /opt/py"),
])
def test_where_a_module_runs(kw, task_vars, why, monkeypatch):
    monkeypatch.setattr(in_worker, "HOOKS", True)  # as on ansible-core 2.19.1 and later
    reason = action(**kw).why_a_module_process(task_vars)
    if why is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(why), reason


def test_an_ansible_core_without_the_hooks_runs_module_processes(monkeypatch):
    monkeypatch.setattr(in_worker, "HOOKS", False)
    assert action().why_a_module_process({}).startswith("this ansible-core has no hook to run a module in the worker")
    assert action().why_a_module_process({"vmo_rbac_execution": "module"}) == "vmo_rbac_execution is 'module'"


def test_an_unknown_execution_is_refused():
    with pytest.raises(ValueError, match="vmo_rbac_execution must be one of worker, module"):
        action().why_a_module_process({"vmo_rbac_execution": "thread"})


# ---------------------------------------------------------------------------- fleet report

VALIDATION = {"cluster": "https://10.0.0.7:6443", "passed": True, "changed": False, "failed": False,
              "invocation": {"module_args": {}}, "summary": {"checks": 3}, "msg": "ok", "access": []}
ENFORCE = {"changed": True, "summary": {"created": 2}, "actions": [{"action": "create"}], "api_requests": 6}


def test_a_validated_cluster_is_reported_under_its_inventory_name_with_the_enforce_step():
    out = fleet_report.cluster_result("east", {"vmo_rbac_validation": VALIDATION, "vmo_rbac_enforce": ENFORCE,
                                               "vmo_rbac_failure": {},
                                               "vmo_rbac_run": {"mode": "enforce", "check_mode": False}})
    assert out == {"cluster": "east", "endpoint": "https://10.0.0.7:6443", "passed": True, "summary": {"checks": 3},
                   "msg": "ok", "access": [], "mode": "enforce", "check_mode": False,
                   "enforce": {"changed": True, "summary": {"created": 2}, "actions": [{"action": "create"}]}}


def test_a_failed_step_a_missing_result_and_a_host_that_never_ran():
    variables = {
        "east": {"vmo_rbac_failure": {"step": "enforce", "msg": "cannot reach the API server"},
                 "vmo_rbac_validation": {}},
        "west": {"vmo_rbac_validation": dict(VALIDATION), "vmo_rbac_enforce": {}, "vmo_rbac_run": {"mode": "validate"}},
        "north": {"vmo_rbac_validation": {}},   # --tags enforce: no validation, not reported
        "south": {},                           # refused by the argument specification
    }
    out = fleet_report.fleet_results(["east", "west", "north", "south"], ["east", "west", "north"], variables.get)
    assert [r["cluster"] for r in out] == ["east", "west", "south"]
    assert out[0] == {"cluster": "east", "failed": True, "msg": "enforce failed: cannot reach the API server"}
    assert out[1]["mode"] == "validate" and out[1]["enforce"] == {}
    assert out[2]["failed"] is True and out[2]["msg"].startswith("failed before the vmo_rbac role could check it")


# The report's files are output: a directory that cannot be written is the caller's warning (issue 20).
# Root ignores permission bits, so these use what root cannot do either: a directory under a regular
# file, and a directory standing where a report file must go.

def test_a_report_directory_under_a_regular_file_is_a_reason_not_an_exception(tmp_path):
    (tmp_path / "a-file").write_text("not a directory\n")
    dest = str(tmp_path / "a-file" / "reports" / "1234")
    files, problem = fleet_report.write_files(dest, [("markdown", "# r\n"), ("json", "{}")])
    assert files == []
    assert problem == "cannot create the directory %s: Not a directory" % dest


@pytest.mark.parametrize("name, shown", [("a\x00b", "U+0000"), ("a\nb\rc", "U+000A, U+000D")])
def test_a_report_directory_with_control_characters_is_a_reason_not_an_exception(tmp_path, name, shown):
    """A NUL made os.makedirs raise ValueError ("embedded null byte"), which failed the run_once report task, so
    the play for every host after its writes (attack pass on the merged branches); a line break would make a
    directory nobody meant. Nothing is made; the reason shows the path escaped."""
    dest = str(tmp_path / name)
    files, problem = fleet_report.write_files(dest, [("markdown", "# r\n")])
    assert files == [] and list(tmp_path.iterdir()) == []
    assert problem == "the path %s contains the control character%s %s" % (
        ascii(dest), "s" if "," in shown else "", shown), problem


def test_every_format_is_tried_and_the_ones_that_fail_are_named(tmp_path):
    (tmp_path / "vmo-rbac-report.md").mkdir()  # in the way of the Markdown file
    (tmp_path / "vmo-rbac-report.md" / "keep").write_text("x")
    files, problem = fleet_report.write_files(str(tmp_path), [("markdown", "# r\n"), ("json", "{}"), ("html", "<p>")])
    assert files == [str(tmp_path / "vmo-rbac-report.json"), str(tmp_path / "vmo-rbac-report.html")]
    assert problem.startswith("cannot write vmo-rbac-report.md in %s: " % tmp_path)
    assert (tmp_path / "vmo-rbac-report.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vmo-rbac-report.html", "vmo-rbac-report.json",
                                                          "vmo-rbac-report.md"]  # no temporary file left


def test_no_directory_or_nothing_to_write_writes_nothing(tmp_path):
    assert fleet_report.write_files("", [("json", "{}")]) == ([], None)
    assert fleet_report.write_files(str(tmp_path / "new"), []) == ([], None)
    assert not (tmp_path / "new").exists()
    files, problem = fleet_report.write_files(str(tmp_path / "new" / "deeper"), [("json", "{}")])
    assert problem is None and files == [str(tmp_path / "new" / "deeper" / "vmo-rbac-report.json")]


def test_the_same_python_through_a_symlinked_directory_runs_in_the_worker(tmp_path, monkeypatch):
    """A checkout whose .venv is a symlink to another's (or /usr/local/bin -> /opt/...): the interpreter
    named through the link is the Python that runs Ansible; before, every module call of such an inventory
    went to a module process (0.4 s of CPU more each, found by tests/bench/bench_fleet200.py)."""
    monkeypatch.setattr(in_worker, "HOOKS", True)
    link = tmp_path / "venv-link"
    link.symlink_to(os.path.dirname(sys.executable))
    named = str(link / os.path.basename(sys.executable))
    assert action().why_a_module_process({"ansible_python_interpreter": named}) is None
    # a symlink to the running Python's executable from another directory is another Python (another venv)
    other = tmp_path / "other-venv"
    other.mkdir()
    (other / "python").symlink_to(sys.executable)
    reason = action().why_a_module_process({"ansible_python_interpreter": str(other / "python")})
    assert reason is not None and reason.startswith("ansible_python_interpreter is")


# ------------------------------------------------------------------- access_format json (the role's)


def test_the_fleet_report_reads_a_compact_validation_once_as_the_list():
    rows = [{"subject": "Group a", "ok": True}, {"subject": "Group b", "ok": False}]
    compact = dict(VALIDATION, access=[rows[1]], access_json=json.dumps(rows))
    out = fleet_report.cluster_result("east", {"vmo_rbac_validation": compact, "vmo_rbac_run": {"mode": "validate"}})
    assert out["access"] == rows and "access_json" not in out
    broken = fleet_report.cluster_result("west", {"vmo_rbac_validation": dict(VALIDATION, access_json="[{")})
    assert broken["failed"] is True and broken["msg"].startswith("validate: its result cannot be read: access_json is "
                                                                 "not JSON")
