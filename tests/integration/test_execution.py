"""Where a module's work runs: in Ansible's worker process (the collection's action plugins, the
default with connection local) or in a module process (vmo_rbac_execution: module, and every
connection but local). The same task gives the same result either way: the same arguments and
checks (one argument spec, read by AnsibleModule itself), the same masking of secrets, the same
check and diff mode, warnings and failures, the same environment (K8S_AUTH_* of the task).

Which one ran is told by the module processes themselves: with ANSIBLE_KEEP_REMOTE_FILES, every
module process leaves its AnsiballZ file behind; the worker leaves none.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

from tests.helpers.ansible import run_playbook

EXECUTIONS = ("module", "worker")


def play(tasks, hostvars=None):
    return [{"hosts": "localhost", "gather_facts": False, "vars": hostvars or {},
             "tasks": [dict(t, ignore_errors=True) for t in tasks]}]


def run(tasks, execution, tmp_path, check=False, diff=False, hostvars=None, verbosity=()):
    """Every task's result, and how many module processes ran (AnsiballZ files left behind)."""
    remote = tmp_path / ("remote-%s-%d" % (execution, len(list(tmp_path.iterdir()))))
    remote.mkdir()
    r = run_playbook(play(tasks, hostvars), check=check, diff=diff, extra_vars={"vmo_rbac_execution": execution},
                     env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote)}, args=verbosity)
    assert r.results, (r.rc, r.stdout[-3000:], r.stderr[-3000:])
    processes = sum(1 for _d, _s, files in os.walk(remote) for f in files if f.startswith("AnsiballZ_vmo_"))
    return [x["result"] for x in r.results], processes, r


def comparable(result, mine=None):
    """A result without what differs from run to run (the seconds a validation took). ``mine``: for
    vmo_rbac_access_info, only the holders whose result names it (the test's uid; the rest of the cluster, and
    so the counts and the message, change with the tests that run beside this one)."""
    out = copy.deepcopy(result)
    (out.get("summary") or {}).pop("seconds", None)
    if mine is not None and "holders" in out:
        out["holders"] = [h for h in out["holders"] if mine in json.dumps(h)]
        out["unconfirmed"] = [h for h in out.get("unconfirmed") or [] if mine in json.dumps(h)]
        for key in ("summary", "msg", "namespaces", "api_requests"):
            out.pop(key, None)
    return out


def test_the_worker_gives_what_a_module_process_gives(cluster, owner, uid, namespaces, tmp_path):
    ns = namespaces("exec")
    sa_ns = namespaces("exec-sa")
    sa = cluster.service_account(sa_ns, "runner")
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": "exec-" + uid},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "runner", "namespace": sa_ns}]})
    token = sa.params["api_key"]
    conn = dict(sa.params)  # host, ca_cert, api_key: the token is a no_log option
    bindings = [{"persona": "admin", "groups": ["exec-admins-" + uid]},
                {"persona": "viewer", "users": ["exec-bob-" + uid], "namespaces": [ns]},
                {"persona": "user", "groups": ["exec-devs-" + uid], "namespace_regex": "/^nothing-%s$/" % uid}]
    decl = dict(conn, owner=owner, bindings=bindings)
    env = {"K8S_AUTH_HOST": cluster.server, "K8S_AUTH_API_KEY": token, "K8S_AUTH_SSL_CA_CERT": str(cluster.ca)}
    tasks = [
        # check and diff mode: the plan, each binding before and after, a warning (a rule that matches nothing)
        {"name": "plan", "vmo.rbac.vmo_role_binding": decl, "check_mode": True, "diff": True},
        {"name": "first", "vmo.rbac.vmo_role_binding": decl},
        # the connection from the task's environment, as AWX's credential injects it
        {"name": "steady", "vmo.rbac.vmo_role_binding": dict(owner=owner, bindings=bindings), "environment": env},
        {"name": "validate", "vmo.rbac.vmo_rbac_validate": dict(decl, fail_on_drift=False, audit_privileged=True)},
        {"name": "cluster roles", "vmo.rbac.vmo_cluster_roles": dict(conn, roles=["console"]), "check_mode": True},
        # read-only: the same answer in check mode; its api_key masked like the others'
        # confirm: all: which holders a sample asks depends on the whole shared cluster, which the tests beside
        # this one change between the two runs
        {"name": "access info", "vmo.rbac.vmo_rbac_access_info": dict(conn, only_capabilities=["vm.view"],
                                                                      namespaces=[ns], confirm="all"),
         "check_mode": True},
        {"name": "access info bad token", "vmo.rbac.vmo_rbac_access_info": dict(conn, api_key=token[:-4] + "AAAA")},
        # refusals: the argument spec, the declaration (the field named), an option's limit, a 401
        {"name": "unsupported", "vmo.rbac.vmo_role_binding": dict(decl, colour="blue")},
        {"name": "bad field", "vmo.rbac.vmo_role_binding": dict(decl, bindings=[{"persona": "viewer",
                                                                                 "groups": [["nested"]]}])},
        {"name": "bad limit", "vmo.rbac.vmo_rbac_validate": dict(decl, concurrency=0)},
        {"name": "bad token", "vmo.rbac.vmo_rbac_validate": dict(decl, api_key=token[:-4] + "AAAA")},
        {"name": "absent", "vmo.rbac.vmo_role_binding": dict(decl, state="absent")},
    ]
    try:
        got = {}
        for execution in EXECUTIONS:
            results, processes, r = run(tasks, execution, tmp_path)
            assert processes == (len(tasks) if execution == "module" else 0), (execution, processes)
            assert token not in r.stdout and token not in r.stderr, execution
            got[execution] = [comparable(x, uid) for x in results]
            assert cluster.bindings(owner) == {}  # state absent ran last: the next execution starts alike
        worker, module = got["worker"], got["module"]
        names = [t["name"] for t in tasks]
        for name, w, m in zip(names, worker, module):
            assert w == m, "%s: the worker's result differs from the module process's:\n%s\n%s" % (name, w, m)

        by = dict(zip(names, worker))
        assert by["plan"]["changed"] is True and len(by["plan"]["diff"]) == 2 and by["plan"]["warnings"]
        assert by["first"]["summary"]["created"] == 2 and by["steady"]["changed"] is False
        assert by["validate"]["passed"] is True and by["validate"]["privileged"]
        assert by["first"]["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert by["unsupported"]["failed"] and by["unsupported"]["msg"].startswith(
            "Unsupported parameters for (vmo.rbac.vmo_role_binding) module: colour")
        assert by["bad field"]["failed"] and by["bad field"]["field"] == "bindings[0].groups[0]"
        assert by["bad limit"]["failed"] and by["bad limit"]["field"] == "concurrency"
        assert by["bad token"]["failed"] and by["bad token"]["status"] == 401
        assert by["cluster roles"]["changed"] in (True, False) and "roles" in by["cluster roles"]
        info = by["access info"]
        assert info["changed"] is False and not info.get("failed") and info["capabilities"] == ["vm.view"]
        assert info["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        held = {(h["subject"], h["namespace"]) for h in info["holders"]}
        assert ("Group exec-admins-" + uid, "") in held and ("User exec-bob-" + uid, ns) in held, held
        assert by["access info bad token"]["failed"] and by["access info bad token"]["status"] == 401
    finally:
        cluster.rbac().delete_cluster_role_binding("exec-" + uid)
        cluster.delete_bindings(owner)


def test_another_interpreter_gets_a_module_process(cluster, admin_identity, owner, tmp_path):
    """ansible_python_interpreter other than the Python that runs Ansible: that Python runs the
    module (it may be the one with the requirements); the result is the same."""
    # the same interpreter (and virtualenv) under another name: Ansible cannot know it is the same
    other = Path(sys.executable).parent / "python3"
    assert other.exists() and str(other) != sys.executable
    task = {"name": "plan", "vmo.rbac.vmo_role_binding": dict(admin_identity.params, owner=owner, bindings=[
        {"persona": "viewer", "groups": ["interp-" + owner]}]), "check_mode": True}
    (mine,), processes, _r = run([task], "worker", tmp_path, hostvars={"ansible_python_interpreter": str(other)})
    (default,), none, _r = run([task], "worker", tmp_path)
    assert processes == 1 and none == 0
    assert comparable(mine) == comparable(default) and mine["changed"] is True
