"""How a module runs (module_utils/_flows/module_runner.py): the declaration is parsed once per run, and every
failure maps to fail_json in one place (the field of a bad input, the HTTP status, the writes made).

The modules' main() runs in-process here with a fake cluster (reads only, or failing on demand);
the real control plane runs them through ansible-playbook in tests/integration.
"""

import json
from contextlib import contextmanager
from unittest import mock

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration, personas
from ansible_collections.vmo.rbac.plugins.module_utils._flows import module_runner
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, ClusterError
from ansible_collections.vmo.rbac.plugins.modules import vmo_rbac_validate, vmo_role_binding


@contextmanager
def module_args(args):
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
    except ImportError:  # pragma: no cover - older ansible-core reads the global buffer
        from ansible.module_utils import basic

        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield
        return
    with patch_module_args(args):
        yield


class FakeCluster:
    """Reads only: every persona role exists, nothing is bound, namespaces team-a and team-b.
    ``fail_writes``: the first write answers this HTTP status."""

    fail_writes = None

    def __init__(self, params, component="module", pool_size=4, secrets=None):
        self.params, self.host, self.requests, self.writes = params, "https://fake:6443", 0, []
        self.api_server = {"url": self.host, "ca": "system trust store", "id": "0123456789abcdef"}

    def _read(self, out):
        self.requests += 1
        return out

    def list_namespaces(self):
        return self._read(({"team-a": {}, "team-b": {}}, set()))

    def list_cluster_roles(self, metadata_only=True, label_selector=None):
        return self._read([{"metadata": {"name": n}, "rules": []} for n in personas.ROLE_SETS["vmo"].values()])

    def list_roles(self, metadata_only=True):
        return self._read([])

    def list_bindings(self, kind, label_selector=None, metadata_only=False):
        return self._read([])

    list_cluster_role_bindings = list_role_bindings = lambda self, label_selector=None, metadata_only=False: \
        self._read([])

    def subject_access_reviews(self, specs, concurrency=16):
        self.requests += len(specs)
        return [{"allowed": False} for _ in specs]

    def create_binding(self, body):
        self.requests += 1
        if self.fail_writes:
            raise ApiError("forbidden: may not create rolebindings", self.fail_writes)
        self.writes.append(body)
        return {"metadata": {"uid": "u%d" % len(self.writes)}}


def run(module, args, fake=FakeCluster):
    """Run a module's main() in-process: (result, number of declaration parses)."""
    calls = []
    real = declaration.parse_declaration

    def counting(*a, **kw):
        calls.append(a)
        return real(*a, **kw)

    with module_args(args), mock.patch.object(declaration, "parse_declaration", counting), \
            mock.patch.object(module_runner, "Cluster", fake), \
            mock.patch("sys.stdout.write") as out, pytest.raises(SystemExit):
        module.main()
    text = "".join(c.args[0] for c in out.call_args_list)
    return json.loads(text[text.index("{"):]), len(calls)


BINDINGS = [{"persona": "viewer", "groups": ["auditors"], "namespace_regex": "^team"},
            {"persona": "admin", "users": ["alice"]}]


@pytest.mark.parametrize("module", [vmo_role_binding, vmo_rbac_validate])
def test_the_declaration_is_parsed_once_per_run(module):
    result, parses = run(module, {"bindings": BINDINGS, "_ansible_check_mode": True, "fail_on_drift": False}
                         if module is vmo_rbac_validate else {"bindings": BINDINGS, "_ansible_check_mode": True})
    assert not result.get("failed"), result
    assert parses == 1


def test_enforce_in_check_mode_plans_and_writes_nothing():
    result, _ = run(vmo_role_binding, {"bindings": BINDINGS, "_ansible_check_mode": True})
    assert result["changed"] and result["summary"]["created"] == 3
    assert [a["action"] for a in result["actions"]] == ["create"] * 3


def test_a_bad_input_fails_before_connecting_naming_the_field():
    made = []

    class Refuse(FakeCluster):
        def __init__(self, *a, **kw):
            made.append(1)
            super().__init__(*a, **kw)

    result, parses = run(vmo_role_binding, {"bindings": [{"persona": "viewer", "groups": [["g"]]}]}, Refuse)
    assert result["failed"] and result["field"] == "bindings[0].groups[0]" and result["changed"] is False
    assert parses == 1 and made == []
    result, _ = run(vmo_rbac_validate, {"bindings": BINDINGS, "concurrency": 0}, Refuse)
    assert result["failed"] and result["field"] == "concurrency" and result["passed"] is False
    assert "between 1 and 256" in result["msg"] and made == []


def test_a_failed_write_reports_its_status_and_the_writes_made():
    class Forbidden(FakeCluster):
        fail_writes = 403

    result, _ = run(vmo_role_binding, {"bindings": BINDINGS}, Forbidden)
    assert result["failed"] and result["status"] == 403 and result["changed"] is False
    assert result["actions"] == []
    assert "0 of 3 planned writes" in result["msg"] and "fix the permissions" in result["msg"]


def test_missing_roles_fail_before_any_write():
    class NoRoles(FakeCluster):
        def list_cluster_roles(self, metadata_only=True, label_selector=None):
            return self._read([])

    result, _ = run(vmo_role_binding, {"bindings": BINDINGS}, NoRoles)
    assert result["failed"] and "missing roles" in result["msg"] and "Nothing was changed" in result["msg"]
    assert result["changed"] is False


def test_validate_fails_the_task_only_with_fail_on_drift():
    result, _ = run(vmo_rbac_validate, {"bindings": BINDINGS})
    assert result["failed"] and result["passed"] is False and "RBAC validation failed" in result["msg"]
    result, _ = run(vmo_rbac_validate, {"bindings": BINDINGS, "fail_on_drift": False})
    assert not result.get("failed") and result["passed"] is False


def test_the_cluster_is_made_once_when_threads_ask_for_it_together():
    """The flows send independent requests from several threads (concurrency): the first use of
    the lazily made Cluster must make one, not one per thread (each with its own pool and count)."""
    import threading
    import time

    made = []

    def make():
        time.sleep(0.05)
        made.append(1)
        return FakeCluster({})

    lazy = module_runner.LazyCluster(make)
    threads = [threading.Thread(target=lambda: lazy.list_namespaces()) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and lazy.requests == 8


def test_a_cluster_that_cannot_be_made_is_not_made_again():
    """Attack pass (session 4): a failing exec plugin made the connection fail, and each later use of the lazy
    cluster (the flow's result, its error path) made it again: the plugin ran 5 times for one task, and its
    failure was logged 5 times. Now the first failure is raised again."""
    made = []

    def make():
        made.append(1)
        raise ClusterError("kubeconfig: cannot use the file k: exec: the credential plugin failed")

    lazy = module_runner.LazyCluster(make)
    for _ in range(3):
        with pytest.raises(ClusterError):
            lazy.list_namespaces()
    assert len(made) == 1 and lazy.requests == 0


# -------------------------------------------------------------------------- access_format json


def _rows_both_ways(args):
    """(result with access_format list, result with access_format json) of one validation."""
    listed, _ = run(vmo_rbac_validate, dict(args, access_format="list"))
    compact, _ = run(vmo_rbac_validate, dict(args, access_format="json"))
    return listed, compact


@pytest.mark.parametrize("fail_on_drift", [False, True])
def test_access_json_holds_the_rows_as_the_list_would_leave_the_module(fail_on_drift):
    """Masked as the list is (a no_log value in a row's text), scrubbed too when the task fails; access keeps the
    rows that did not pass, and the rest of the result is the list form's."""
    args = {"bindings": BINDINGS, "fail_on_drift": fail_on_drift, "host": "https://fake:6443",
            "api_key": "auditors"}  # a secret that is also a group's name: masked wherever it shows
    listed, compact = _rows_both_ways(args)
    assert bool(listed.get("failed")) == fail_on_drift == bool(compact.get("failed"))
    assert "access_json" not in listed and isinstance(compact["access_json"], str)
    rows = json.loads(compact["access_json"])
    assert rows == listed["access"] and len(rows) > 100
    # "********" (exit_json's mask) or "***" (module_runner's scrub of a failure), as in the list
    assert "auditors" not in compact["access_json"] and any("***" in r["subject"] for r in rows)
    assert compact["access"] == [r for r in listed["access"] if r["ok"] is not True] != []
    for key in set(listed) - {"access", "invocation"}:
        if key != "summary":
            assert compact[key] == listed[key], key
    assert dict(compact["summary"], seconds=0) == dict(listed["summary"], seconds=0)


def test_a_secret_that_would_reach_into_the_text_leaves_the_rows_a_list():
    """A no_log value that is part of the text's syntax (here a key of every row): masking the text would break
    it, so the rows stay a list (masked as always), with a warning, never a text masking changed."""
    from ansible.module_utils.basic import AnsibleModule

    args = {"bindings": BINDINGS, "fail_on_drift": False, "host": "https://fake:6443", "api_key": "capability"}
    warned = []
    with mock.patch.object(AnsibleModule, "warn", autospec=True, side_effect=lambda _m, w: warned.append(w)):
        listed, _ = run(vmo_rbac_validate, dict(args, access_format="list"))
        assert not [w for w in warned if "returned as a list" in w]
        compact, _ = run(vmo_rbac_validate, dict(args, access_format="json"))
    assert "access_json" not in compact and compact["access"] == listed["access"] and len(compact["access"]) > 100
    assert "access_format json: a masked value would reach into the text of the access rows; they are returned as a " \
           "list (access), as with access_format list" in warned


def test_access_format_is_refused_when_it_is_not_list_or_json():
    result, _ = run(vmo_rbac_validate, {"bindings": BINDINGS, "access_format": "yaml"})
    assert result["failed"] and "access_format" in result["msg"] and "access" not in result


# attack pass (session 3): Ansible converts a boolean given to an int or float option without a word
# (``palette_rate_limit: true`` paced at 1 request per second, ``concurrency: yes`` ran 1 at a time,
# ``api_retries: true`` retried once); the modules refuse it naming the option, before connecting
@pytest.mark.parametrize("module", [vmo_role_binding, vmo_rbac_validate])
@pytest.mark.parametrize("option, value", [("palette_rate_limit", True), ("concurrency", True),
                                           ("api_retries", False), ("request_timeout", True)])
def test_a_boolean_where_a_number_is_expected_names_the_option(module, option, value):
    class Refuse(FakeCluster):
        def __init__(self, *a, **kw):
            raise AssertionError("connected despite a bad input")

    result, _ = run(module, {"bindings": BINDINGS, option: value}, fake=Refuse)
    assert result["failed"] and result["field"] == option, result
    assert result["msg"].startswith(option + ": ") and "boolean" in result["msg"]
