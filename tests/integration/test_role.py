"""The role vmo_rbac and the playbooks vmo.rbac.enforce / vmo.rbac.validate, run the way users run
them (ansible-playbook over an inventory, one host per cluster) against the local clusters.

Checked through the API (the bindings that exist), the audit log (what was written, by whom), the
task results (which modules ran, set_stats) and the report files.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.helpers.ansible import run_playbook

VMO_MODULES = ("vmo.rbac.vmo_role_binding", "vmo.rbac.vmo_rbac_validate")
ENFORCE = "vmo.rbac.vmo_rbac : Enforce | Make the cluster hold exactly the declared bindings"
VALIDATE = "vmo.rbac.vmo_rbac : Validate | Prove the bindings and the effective access"
FAIL = "vmo.rbac.vmo_rbac : Fail this cluster, now that the report shows why"


# ----------------------------------------------------------------------------------- helpers


def write_inventory(path, hosts: dict, group_vars: dict, host_vars: dict | None = None):
    """An inventory directory laid out like examples/inventory: hosts.yml, group_vars, host_vars."""
    (path / "group_vars").mkdir(parents=True)
    (path / "host_vars").mkdir()
    (path / "hosts.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"vmo_clusters": {"hosts": {h: dict(v) for h, v in hosts.items()}}}}}, sort_keys=False))
    (path / "group_vars" / "all.yml").write_text(yaml.safe_dump({"ansible_connection": "local"}))
    (path / "group_vars" / "vmo_clusters.yml").write_text(yaml.safe_dump(group_vars))
    for host, hv in (host_vars or {}).items():
        (path / "host_vars" / (host + ".yml")).write_text(yaml.safe_dump(hv))
    return path


def connection(identity) -> dict:
    """Host vars that point a host at a cluster, as this identity."""
    return {"vmo_rbac_" + k: v for k, v in identity.params.items()}


def recap(run) -> dict:
    """{host: {ok, changed, failures, rescued, ...}} from the json callback's stats."""
    return json.loads(run.stdout[run.stdout.rfind("\n{\n") + 1:])["stats"]  # after any verbose output


def results(run, host, task=None):
    return [r["result"] for r in run.results if r["host"] == host and (task is None or r["task"] == task)]


def module_calls(run, host):
    """The vmo.rbac module invocations for one host (skipped tasks invoke nothing)."""
    return [r for r in results(run, host) if r.get("action") in VMO_MODULES and not r.get("skipped")]


def failure_text(run):
    return "rc=%s\n%s\n%s" % (run.rc, run.stdout[-6000:], run.stderr[-3000:])


@pytest.fixture
def u(uid):
    """Make a subject name unique to this test: the clusters are shared (make demo, other tests),
    and the validation rightly reports a subject that some other binding grants more."""
    return lambda name: "%s-%s" % (name, uid) if "@" not in name else "%s-%s@%s" % (
        name.split("@")[0], uid, name.split("@")[1])


@pytest.fixture
def shared_namespaces(clusters, uid):
    """Factory: the same test-unique namespaces on several clusters; deleted afterwards."""
    made = []

    def make(targets, *names, labels=None):
        full = ["%s-%s" % (n, uid) for n in names]
        for c in targets:
            for n in full:
                c.namespace(n, labels)
                made.append((c, n))
        return full

    yield make
    for c, n in made:
        c.delete_namespace(n)


@pytest.fixture
def cleanup_owner(clusters):
    """Register owners whose bindings are deleted from every cluster after the test."""
    owners = []
    yield owners.append
    for c in clusters:
        for owner in owners:
            c.delete_bindings(owner)


def bound(c, owner) -> dict:
    """{(kind, namespace, role): sorted subject names} of one owner's bindings on a cluster."""
    out = {}
    for (kind, ns, _name), obj in c.bindings(owner).items():
        out[(kind, ns, obj["roleRef"]["name"])] = sorted(s["name"] for s in obj.get("subjects") or [])
    return out


# ------------------------------------------------------------------------------------- tests


def test_fleet_baseline_merges_with_per_cluster_additions(clusters, owner, uid, u, shared_namespaces, cleanup_owner,
                                                          tmp_path):
    """group_vars baseline + host_vars extras, two clusters: each holds exactly its union, each costs
    two module invocations, set_stats carries the summaries, the report files are written."""
    c1, c2 = clusters[0], clusters[1]
    cleanup_owner(owner)
    ns_a, ns_b = shared_namespaces([c1, c2], "ra", "rb")
    reports = tmp_path / "reports"
    inv = write_inventory(
        tmp_path / "inventory",
        hosts={"east": connection(c1.identity("role-merge-" + uid)),
               "west": connection(c2.identity("role-merge-" + uid))},
        group_vars={
            "vmo_rbac_owner": owner,
            "vmo_rbac_bindings": [
                {"persona": "admin", "groups": [u("vmo-admins")]},
                {"persona": "viewer", "users": [u("bob@example.com")], "namespaces": [ns_a]},
            ],
            "vmo_rbac_report_dir": str(reports),
            "vmo_rbac_report_formats": ["markdown", "html", "junit", "json"],
        },
        host_vars={
            "east": {"vmo_rbac_extra_bindings": [{"persona": "power-user", "groups": [u("ops")], "namespaces": [ns_b]}],
                     "vmo_rbac_oidc_user_prefix": "oidc:", "vmo_rbac_oidc_group_prefix": "oidc:"},
            "west": {"vmo_rbac_extra_bindings": [
                {"persona": "user", "groups": [u("web-devs")], "namespace_regex": "/^r[ab]-%s$/" % uid},
                {"persona": "viewer", "users": [u("carol@example.com")], "namespaces": [ns_a]}]},
        })

    run = run_playbook("vmo.rbac.enforce", inventory=inv)

    assert run.rc == 0, failure_text(run)
    assert bound(c1, owner) == {
        ("ClusterRoleBinding", "", "spectro-vm-admin"): ["oidc:" + u("vmo-admins")],
        ("RoleBinding", ns_a, "spectro-vm-viewer"): ["oidc:" + u("bob@example.com")],
        ("RoleBinding", ns_b, "spectro-vm-power-user"): ["oidc:" + u("ops")],
    }
    assert bound(c2, owner) == {
        ("ClusterRoleBinding", "", "spectro-vm-admin"): [u("vmo-admins")],
        ("RoleBinding", ns_a, "spectro-vm-viewer"): [u("bob@example.com"), u("carol@example.com")],
        ("RoleBinding", ns_a, "spectro-vm-user"): [u("web-devs")],
        ("RoleBinding", ns_b, "spectro-vm-user"): [u("web-devs")],
    }
    stats = recap(run)
    for host in ("east", "west"):
        calls = module_calls(run, host)
        assert [c["action"] for c in calls] == ["vmo.rbac.vmo_role_binding", "vmo.rbac.vmo_rbac_validate"], host
        assert results(run, host, ENFORCE)[0]["changed"] is True
        assert results(run, host, VALIDATE)[0]["passed"] is True
        assert stats[host]["failures"] == 0 and stats[host]["changed"] == 1

    # set_stats: one compact summary per cluster, aggregated, and the fleet summary
    exported = {}
    for host in ("east", "west"):
        (res,) = [r for r in results(run, host) if r.get("action") == "ansible.builtin.set_stats"
                  and "vmo_rbac_clusters" in r.get("ansible_stats", {}).get("data", {})]
        assert res["ansible_stats"]["per_host"] is False and res["ansible_stats"]["aggregate"] is True
        exported.update(res["ansible_stats"]["data"]["vmo_rbac_clusters"])
    assert sorted(exported) == ["east", "west"]
    for host, summary in exported.items():
        assert summary["status"] == "passed" and summary["mode"] == "enforce" and summary["changed"] is True
        assert summary["enforce"]["created"] == (3 if host == "east" else 4)
        assert summary["failed"] == 0 and summary["checks"] > 0
    fleet = [r for r in run.results if r.get("result", {}).get("ansible_stats", {}).get("data", {}).get("vmo_rbac_fleet")]
    assert len(fleet) == 1  # once per run
    assert fleet[0]["result"]["ansible_stats"]["data"]["vmo_rbac_fleet"]["clusters_passed"] == 2

    # the fleet report, once per run, in four formats
    md = (reports / "vmo-rbac-report.md").read_text()
    assert "**PASSED**: 2 of 2 clusters passed" in md and "| east |" in md and "| west |" in md
    printed = [r for r in run.results if r["task"].endswith("Report | Print the fleet report and write its files")]
    assert len(printed) == 1 and "\n".join(printed[0]["result"]["msg"]) == md.rstrip("\n")
    assert sorted(printed[0]["result"]["files"]) == sorted(
        str(reports / n) for n in ("vmo-rbac-report.md", "vmo-rbac-report.html", "vmo-rbac-report.xml",
                                   "vmo-rbac-report.json"))
    html = (reports / "vmo-rbac-report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "oidc:" + u("ops") in html
    junit = ET.parse(reports / "vmo-rbac-report.xml").getroot()
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    assert set(suites) == {"east", "west"}
    assert all(s.get("failures") == "0" and s.get("errors") == "0" and int(s.get("tests")) > 0 for s in suites.values())
    doc = json.loads((reports / "vmo-rbac-report.json").read_text())
    assert doc["fleet"]["passed"] is True and doc["title"] == "VMO RBAC fleet report"
    assert {c["cluster"]: c["enforce"]["summary"]["created"] for c in doc["clusters"]} == {"east": 3, "west": 4}


@pytest.mark.slow  # started first (tests/conftest.py)
def test_cost_is_two_module_invocations_whatever_the_number_of_bindings(
        cluster, owner, uid, u, namespaces, cleanup_owner, tmp_path):
    """2 grants or 25 (on 8 namespaces): the same two module invocations, and the enforcer's reads do not grow."""
    names = namespaces(*["n%02d" % i for i in range(8)])
    personas = ["admin", "power-user", "user", "viewer"]
    small = [{"persona": "viewer", "groups": [u("auditors")]},
             {"persona": "user", "users": [u("dave@example.com")], "namespaces": [names[0]]}]
    large = [{"persona": personas[i % 4], "groups": [u("g%02d" % i)], "namespaces": [names[i % 8], names[(i + 3) % 8]]}
             for i in range(24)]
    large.append({"persona": "viewer", "groups": [u("auditors")]})  # cluster-wide too, like the small one
    runs = {}
    for label, bindings in (("small", small), ("large", large)):
        o = "%s-%s" % (owner, label)
        cleanup_owner(o)
        inv = write_inventory(tmp_path / label, hosts={"c1": connection(cluster.identity("role-cost-" + uid))},
                              group_vars={"vmo_rbac_owner": o, "vmo_rbac_bindings": bindings, "vmo_rbac_report_dir": ""})
        audit = cluster.audit()
        run = run_playbook("vmo.rbac.enforce", inventory=inv)
        assert run.rc == 0, failure_text(run)
        enforce = results(run, "c1", ENFORCE)[0]
        runs[label] = {
            "calls": len(module_calls(run, "c1")),
            "writes": len(audit.writes(user="role-cost-" + uid)),
            "actions": len(enforce["actions"]),
            "enforce_reads": enforce["api_requests"] - len(enforce["actions"]),
        }
    assert runs["large"]["actions"] >= 8 * runs["small"]["actions"]  # many more bindings (17 vs 2) ...
    assert runs["small"]["calls"] == runs["large"]["calls"] == 2        # ... the same two invocations
    assert runs["small"]["enforce_reads"] == runs["large"]["enforce_reads"], runs  # and LISTs, not a GET per binding
    for r in runs.values():
        assert r["writes"] == r["actions"], runs  # one write per planned action, nothing else


def test_check_mode_writes_nothing_and_diff_shows_the_changes(
        cluster, owner, uid, u, namespaces, cleanup_owner, tmp_path):
    cleanup_owner(owner)
    ns = namespaces("chk")
    user = "role-check-" + uid
    inv = write_inventory(tmp_path / "inventory", hosts={"c1": connection(cluster.identity(user))},
                          group_vars={"vmo_rbac_owner": owner, "vmo_rbac_report_dir": str(tmp_path / "reports"),
                                      "vmo_rbac_report_formats": ["json", "markdown"],
                                      "vmo_rbac_bindings": [{"persona": "admin", "groups": [u("vmo-admins")]},
                                                            {"persona": "viewer", "users": [u("eve")], "namespaces": [ns]}]})

    audit = cluster.audit()
    check = run_playbook("vmo.rbac.enforce", inventory=inv, check=True, diff=True)

    assert check.rc == 0, failure_text(check)  # drift that the simulated enforce would fix does not fail
    assert audit.writes(user=user) == []
    assert cluster.bindings(owner) == {}
    planned = results(check, "c1", ENFORCE)[0]
    assert planned["changed"] is True and [a["action"] for a in planned["actions"]] == ["create", "create"]
    assert len(planned["diff"]) == 2
    assert any(u("vmo-admins") in d["after"] and d["before"] == "" for d in planned["diff"])
    assert results(check, "c1", VALIDATE)[0]["summary"]["drift"] == 2
    assert results(check, "c1", FAIL)[0].get("skipped")
    report = json.loads((tmp_path / "reports" / "vmo-rbac-report.json").read_text())
    assert report["clusters"][0]["check_mode"] is True and report["clusters"][0]["summary"]["drift"] == 2
    # the fleet report shows what the enforce step planned as pending, not as failures
    pending = report["clusters"][0]["summary"]["pending"]
    assert pending > 2 and report["fleet"]["pending"] == pending and report["fleet"]["failed"] == 0
    md = (tmp_path / "reports" / "vmo-rbac-report.md").read_text()
    assert "**PASSED**" in md and "%d pending (planned by the enforce step under --check)" % pending in md
    assert "### Pending (%d): planned by the enforce step under --check" % pending in md
    assert "### Drift" not in md and "### Failed checks" not in md and "MISSING**" not in md.split("Legend:")[0]

    real = run_playbook("vmo.rbac.enforce", inventory=inv, diff=True)
    assert real.rc == 0, failure_text(real)
    done = results(real, "c1", ENFORCE)[0]
    assert done["actions"] == planned["actions"]  # --check showed exactly what the real run did
    assert len(audit.writes(user=user)) == 2

    audit = cluster.audit()
    again = run_playbook("vmo.rbac.enforce", inventory=inv, check=True, diff=True)
    assert again.rc == 0, failure_text(again)
    assert results(again, "c1", ENFORCE)[0]["changed"] is False
    assert results(again, "c1", ENFORCE)[0].get("diff", []) == []
    assert recap(again)["c1"]["changed"] == 0
    assert audit.writes(user=user) == []


def test_check_mode_forgives_only_what_the_plan_explains(cluster, owner, uid, u, namespaces, cleanup_owner,
                                                         tmp_path):
    """Under --check the enforce step only plans: its planned drift (and the access of the subjects it
    would change) is pending. Excess access of a subject the plan does not touch still fails the
    cluster. Before, any planned change made the role forgive every validation failure."""
    cleanup_owner(owner)
    ns = namespaces("chk2")
    user = "role-check2-" + uid
    base = [{"persona": "viewer", "users": [u("eve")], "namespaces": [ns]}]
    group_vars = {"vmo_rbac_owner": owner, "vmo_rbac_report_dir": str(tmp_path / "reports"),
                  "vmo_rbac_report_formats": ["json"], "vmo_rbac_bindings": base,
                  "vmo_rbac_audit_privileged": True}
    inv = write_inventory(tmp_path / "inventory", hosts={"c1": connection(cluster.identity(user))},
                          group_vars=group_vars)
    first = run_playbook("vmo.rbac.enforce", inventory=inv)
    assert first.rc == 0, failure_text(first)
    # the role fills the privileged section with vmo_rbac_audit_privileged
    assert results(first, "c1", VALIDATE)[0]["privileged"], "audit_privileged did not reach the module"

    # a new grant is pending (the plan creates it); eve is not touched by the plan
    (inv / "group_vars" / "vmo_clusters.yml").write_text(yaml.safe_dump(dict(
        group_vars, vmo_rbac_extra_bindings=[{"persona": "user", "users": [u("new")], "namespaces": [ns]}])))
    pending = run_playbook("vmo.rbac.enforce", inventory=inv, check=True)
    assert pending.rc == 0, failure_text(pending)
    validation = results(pending, "c1", VALIDATE)[0]
    assert validation["passed"] is True and validation["summary"]["pending"] > 0

    # a hand-made binding gives eve (not touched by the plan) delete: that is not forgiven
    cluster.rbac().create_namespaced_role_binding(ns, {
        "metadata": {"name": "hand-admin-" + uid},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "spectro-vm-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": u("eve")}]})
    caught = run_playbook("vmo.rbac.enforce", inventory=inv, check=True)
    assert caught.rc != 0
    validation = results(caught, "c1", VALIDATE)[0]
    assert validation["passed"] is False
    excess = [r for r in validation["access"] if r["ok"] is False and not r.get("pending")]
    assert excess and {r["subject"] for r in excess} == {"User " + u("eve")}
    assert not results(caught, "c1", FAIL)[0].get("skipped")


def test_validate_playbook_is_read_only_and_fails_on_drift(cluster, owner, uid, u, namespaces, cleanup_owner,
                                                           tmp_path):
    """AWX-style credentials (K8S_AUTH_* environment, a ServiceAccount token), no connection vars."""
    cleanup_owner(owner)
    ns = namespaces("drift")
    bindings = [{"persona": "power-user", "groups": [u("ops")], "namespaces": [ns]},
                {"persona": "viewer", "groups": [u("auditors")]}]
    sa_ns = namespaces("awx")
    sa = cluster.service_account(sa_ns, "automation")
    crb = "role-validate-%s" % uid
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": crb},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "automation", "namespace": sa_ns}]})
    try:
        env = {"K8S_AUTH_HOST": cluster.server, "K8S_AUTH_API_KEY": sa.params["api_key"],
               "K8S_AUTH_SSL_CA_CERT": str(cluster.ca), "K8S_AUTH_VERIFY_SSL": "true"}
        inv = write_inventory(tmp_path / "inventory", hosts={"prod": {}},
                              group_vars={"vmo_rbac_owner": owner, "vmo_rbac_bindings": bindings,
                                          "vmo_rbac_report_dir": str(tmp_path / "reports"),
                                          "vmo_rbac_report_formats": ["json", "markdown"]})
        first = run_playbook("vmo.rbac.enforce", inventory=inv, env=env)
        assert first.rc == 0, failure_text(first)
        ok = run_playbook("vmo.rbac.validate", inventory=inv, env=env)
        assert ok.rc == 0, failure_text(ok)
        assert not [r for r in results(ok, "prod", ENFORCE) if not r.get("skipped")]
        assert len(module_calls(ok, "prod")) == 1

        # drift: someone deletes a binding by hand
        (key,) = [k for k in cluster.bindings(owner) if k[0] == "RoleBinding"]
        cluster.rbac().delete_namespaced_role_binding(key[2], key[1])
        audit = cluster.audit()
        drifted = run_playbook("vmo.rbac.validate", inventory=inv, env=env)

        assert drifted.rc != 0
        assert audit.writes(user=sa.user) == []
        assert key not in cluster.bindings(owner)
        assert recap(drifted)["prod"]["failures"] == 1
        (fail,) = results(drifted, "prod", FAIL)
        assert fail["failed"] and "%s/%s: missing" % (ns, key[2]) in fail["msg"]
        doc = json.loads((tmp_path / "reports" / "vmo-rbac-report.json").read_text())
        (c,) = doc["clusters"]
        assert doc["fleet"]["passed"] is False and c["cluster"] == "prod" and c["mode"] == "validate"
        assert [(d["namespace"], d["name"], d["action"]) for d in c["drift"]] == [(ns, key[2], "create")]
        assert "**FAILED**" in (tmp_path / "reports" / "vmo-rbac-report.md").read_text()
    finally:
        cluster.rbac().delete_cluster_role_binding(crb)


def test_the_access_rows_reach_results_and_reports_alike_in_either_form(cluster, owner, uid, u, namespaces,
                                                                          cleanup_owner, tmp_path):
    """vmo_rbac_access_format: the role registers the access rows as one JSON text (json, the default) or as a list;
    in the worker and in a module process. The rows are the same, the rows that did not pass stay in ``access``,
    and every report file is the same, byte for byte (but the run's own seconds)."""
    cleanup_owner(owner)
    ns = namespaces("forms")
    bindings = [{"persona": "power-user", "groups": [u("ops")], "namespaces": [ns]},
                {"persona": "viewer", "groups": [u("auditors")]}]
    inv = write_inventory(tmp_path / "inventory", hosts={"c1": connection(cluster.identity("role-forms-" + uid))},
                          group_vars={"vmo_rbac_owner": owner, "vmo_rbac_bindings": bindings})
    first = run_playbook("vmo.rbac.enforce", inventory=inv)
    assert first.rc == 0, failure_text(first)
    # a hand-made binding gives a subject of the declaration more than its persona: rows that fail
    cluster.rbac().create_namespaced_role_binding(ns, {
        "metadata": {"name": "hand-admin-" + uid},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "spectro-vm-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": u("auditors")}]})
    runs = {}
    for name, extra in (("json", {}), ("list", {"vmo_rbac_access_format": "list"}),
                        ("json-module", {"vmo_rbac_execution": "module"})):
        reports = tmp_path / ("reports-" + name)
        run = run_playbook("vmo.rbac.validate", inventory=inv, extra_vars=dict(
            extra, vmo_rbac_report_dir=str(reports), vmo_rbac_report_formats=["json", "markdown", "junit", "html"]))
        assert run.rc != 0 and recap(run)["c1"]["failures"] == 1, failure_text(run)
        (validation,) = results(run, "c1", VALIDATE)
        runs[name] = (validation, reports)

    listed = runs["list"][0]
    assert "access_json" not in listed and len(listed["access"]) > 100
    failing = [r for r in listed["access"] if r["ok"] is not True]
    assert failing and {r["subject"] for r in failing if r["ok"] is False} == {"Group " + u("auditors")}
    for name in ("json", "json-module"):
        compact = runs[name][0]
        assert isinstance(compact["access_json"], str)
        assert json.loads(compact["access_json"]) == listed["access"], name
        assert compact["access"] == failing, name
        assert compact["matrix"] == listed["matrix"] and compact["msg"] == listed["msg"], name

    def files(reports, seconds):
        out = {}
        for path in sorted(reports.iterdir()):
            text = path.read_text()
            if path.suffix == ".json":
                doc = json.loads(text)
                for c in doc["clusters"]:
                    c["summary"].pop("seconds")
                text = json.dumps(doc, sort_keys=True)
            out[path.name] = text.replace(repr(seconds), "S")
        return out

    want = files(runs["list"][1], runs["list"][0]["summary"]["seconds"])
    assert sorted(want) == ["vmo-rbac-report.html", "vmo-rbac-report.json", "vmo-rbac-report.md",
                            "vmo-rbac-report.xml"]
    for name in ("json", "json-module"):
        have = files(runs[name][1], runs[name][0]["summary"]["seconds"])
        assert have == want, [k for k in want if have.get(k) != want[k]]
