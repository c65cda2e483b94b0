"""Failure isolation across a fleet: one cluster of three is down (its API server process is
stopped, a real connection refused). The other two converge and validate; the down one is in
the fleet report with its reason and ends as failed in the recap.

The down cluster is this test's own (role-down), started and stopped here; vmo-1 and vmo-2 are
the shared clusters, touched only through this test's unique owner.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest

from tests.controlplane import controlplane as cp
from tests.helpers.ansible import run_playbook
from tests.integration.test_role import (
    ENFORCE, FAIL, VALIDATE, bound, connection, failure_text, module_calls, recap, results,
    write_inventory,
)

# cleanup_owner and shared_namespaces are fixtures of test_role.py
from tests.integration.test_role import cleanup_owner, shared_namespaces, u  # noqa: F401  pylint: disable=unused-import

DOWN = "role-down"


@pytest.fixture(scope="module")
def down_cluster(clusters):
    """A cluster of this test's own whose API server has stopped: (server URL, admin credentials)."""
    try:
        running, started = cp.up([DOWN], owned=True)
    except cp.ControlPlaneError as exc:
        pytest.exit("the cluster %s could not start: %s" % (DOWN, exc), returncode=3)
    c = running[0]
    params = {"vmo_rbac_host": c.server, "vmo_rbac_ca_cert": str(c.ca_file),
              "vmo_rbac_client_cert": str(c.pki / "admin.crt"), "vmo_rbac_client_key": str(c.pki / "admin.key")}
    assert c.ready()
    c.stop(["kube-apiserver"])
    assert not c.ready(timeout=1)
    yield c.server, params
    if started:
        cp.down([DOWN])


def test_one_cluster_down_of_three(clusters, down_cluster, owner, uid, u, shared_namespaces,  # noqa: F811
                                   cleanup_owner, tmp_path):  # noqa: F811
    c1, c2 = clusters[0], clusters[1]
    server, down_params = down_cluster
    cleanup_owner(owner)
    (ns,) = shared_namespaces([c1, c2], "fleet")
    reports = tmp_path / "reports"
    inv = write_inventory(
        tmp_path / "inventory",
        # the down cluster in the middle: neither its position nor its failure affects the others
        hosts={"east": connection(c1.identity("role-fleet-" + uid)), "broken": down_params,
               "west": connection(c2.identity("role-fleet-" + uid))},
        group_vars={"vmo_rbac_owner": owner,
                    "vmo_rbac_bindings": [{"persona": "admin", "groups": [u("vmo-admins")]},
                                          {"persona": "user", "groups": [u("devs")], "namespaces": [ns]}],
                    "vmo_rbac_report_dir": str(reports),
                    "vmo_rbac_report_formats": ["markdown", "html", "junit", "json"]})

    start = time.monotonic()
    run = run_playbook("vmo.rbac.enforce", inventory=inv)
    elapsed = time.monotonic() - start

    assert run.rc == 2, failure_text(run)  # ansible-playbook: some host failed
    stats = recap(run)
    want = {("ClusterRoleBinding", "", "spectro-vm-admin"): [u("vmo-admins")],
            ("RoleBinding", ns, "spectro-vm-user"): [u("devs")]}
    for host, c in (("east", c1), ("west", c2)):
        assert stats[host]["failures"] == 0 and stats[host]["rescued"] == 0, (
            stats, [(r["task"], r["result"].get("msg")) for r in run.results
                    if r["host"] == host and r["result"].get("failed")])
        assert bound(c, owner) == want
        assert results(run, host, VALIDATE)[0]["passed"] is True
        assert len(module_calls(run, host)) == 2

    # the down cluster: the enforce step failed before anything was written (nothing else was tried),
    # rescued for the report, failed at the end
    assert stats["broken"]["failures"] == 1 and stats["broken"]["rescued"] == 1, stats
    (pre,) = results(run, "broken", ENFORCE)
    assert pre["failed"] and "cannot reach the API server at %s" % server in pre["msg"] and not pre.get("actions")
    assert results(run, "broken", VALIDATE) == []
    (fail,) = results(run, "broken", FAIL)
    assert fail["failed"] and fail["msg"].startswith("vmo_rbac: broken: enforce failed: cannot reach the API server")
    for host in ("east", "west"):
        assert results(run, host, FAIL)[0].get("skipped")

    # ... and in the fleet report, in every format
    doc = json.loads((reports / "vmo-rbac-report.json").read_text())
    clusters = {c["cluster"]: c for c in doc["clusters"]}
    assert sorted(clusters) == ["broken", "east", "west"]
    assert doc["fleet"]["clusters_passed"] == 2 and doc["fleet"]["clusters_error"] == 1
    assert doc["fleet"]["passed"] is False
    broken = clusters["broken"]
    assert broken["failed"] is True and broken["msg"].startswith("enforce failed: cannot reach the API server")
    md = (reports / "vmo-rbac-report.md").read_text()
    assert "1 not validated" in md and "enforce failed: cannot reach the API server at %s" % server in md
    junit = ET.parse(reports / "vmo-rbac-report.xml").getroot()
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    assert suites["broken"].get("errors") == "1" and suites["east"].get("errors") == "0"
    assert "cannot reach" in (reports / "vmo-rbac-report.html").read_text()
    # set_stats for the down cluster says where and why
    (summary,) = [r["ansible_stats"]["data"]["vmo_rbac_clusters"]["broken"] for r in results(run, "broken")
                  if r.get("action") == "ansible.builtin.set_stats"
                  and "vmo_rbac_clusters" in r.get("ansible_stats", {}).get("data", {})]  # a skipped one has none
    assert summary["status"] == "error" and summary["failed_step"] == "enforce"
    print("one cluster down of three: %.1fs" % elapsed)
