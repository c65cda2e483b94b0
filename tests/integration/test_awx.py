"""AWX / Automation Controller: the enforce playbook through ansible-runner, the engine AWX uses,
with a private data dir as AWX lays it out and credentials as AWX's built-in Kubernetes
bearer-token credential injects them (K8S_AUTH_* environment variables). The execution and
decision environment definitions: tests/unit/test_environments.py."""

import json
import stat
import sys
from pathlib import Path

import ansible_runner
import pytest
import yaml

from tests.controlplane import controlplane as cp
from tests.helpers.ansible import ansible_env, run_module
from tests.helpers import kube

ROOT = Path(__file__).resolve().parents[2]
AUTOMATION_ROLE = ROOT / "files" / "automation-clusterrole.yaml"


def private_data_dir(tmp_path, cluster, token, bindings, hostname):
    """The directory layout AWX hands to ansible-runner for a job."""
    pdd = tmp_path / "pdd"
    (pdd / "env").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "project").mkdir()
    env = ansible_env()
    # What the credential "OpenShift or Kubernetes API Bearer Token" injects:
    envvars = {
        "K8S_AUTH_HOST": cluster.server,
        "K8S_AUTH_API_KEY": token,
        "K8S_AUTH_VERIFY_SSL": "True",
        "K8S_AUTH_SSL_CA_CERT": str(cluster.ca),
        # What the job's execution environment provides: the collection and a Python with kubernetes.
        "ANSIBLE_COLLECTIONS_PATH": env["ANSIBLE_COLLECTIONS_PATH"],
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_HOME": env["ANSIBLE_HOME"],
        "ANSIBLE_LOCAL_TEMP": env["ANSIBLE_LOCAL_TEMP"],
        "PATH": env["PATH"],
    }
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (pdd / "env" / "passwords").write_text("{}\n")
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({
        "vmo_rbac_bindings": bindings,
        "vmo_rbac_owner": "awx-" + hostname,
        "vmo_rbac_report_dir": str(tmp_path / "reports"),
    }))
    (pdd / "inventory" / "hosts").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {
        hostname: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    # The AWX project: a playbook that runs the collection's playbook.
    (pdd / "project" / "enforce.yml").write_text(yaml.safe_dump([
        {"name": "Enforce the VMO personas", "ansible.builtin.import_playbook": "vmo.rbac.enforce"}]))
    return pdd


def test_enforce_playbook_through_ansible_runner_with_awx_credentials(cluster, namespaces, uid, tmp_path):
    ns = namespaces("awx")
    # The job's identity: a ServiceAccount token bound to the shipped least-privilege ClusterRole.
    cluster.apply_manifest(AUTOMATION_ROLE)
    sa_ns = namespaces("awx-sa")
    sa = cluster.service_account(sa_ns, "awx")
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": "awx-automation-" + uid},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "vmo-rbac-automation"},
        "subjects": [{"kind": "ServiceAccount", "name": "awx", "namespace": sa_ns}],
    })
    token = sa.params["api_key"]
    hostname = "cluster-" + uid
    bindings = [{"persona": "viewer", "groups": ["awx-auditors-" + uid]},
                {"persona": "power-user", "users": ["awx-op-%s@example.com" % uid], "namespaces": [ns]}]
    pdd = private_data_dir(tmp_path, cluster, token, bindings, hostname)
    try:
        r = ansible_runner.run(private_data_dir=str(pdd), playbook="enforce.yml", quiet=True,
                               process_isolation=False)
        assert r.status == "successful" and r.rc == 0, (r.status, r.rc, r.stdout.read()[-3000:])

        events = list(r.events)
        ok = [e for e in events if e["event"] == "runner_on_ok"]
        enforce = [e for e in ok if e["event_data"].get("task_action") == "vmo.rbac.vmo_role_binding"]
        assert len(enforce) == 1 and enforce[0]["event_data"]["res"]["changed"] is True
        assert enforce[0]["event_data"]["res"]["summary"]["created"] == 2
        validate = [e for e in ok if e["event_data"].get("task_action") == "vmo.rbac.vmo_rbac_validate"]
        assert any(e["event_data"]["res"].get("passed") is True for e in validate)
        # set_stats reaches AWX as the job's artifacts (shown in the job, passed down a workflow).
        stats = next(e for e in events if e["event"] == "playbook_on_stats")
        artifacts = stats["event_data"]["artifact_data"]
        mine = artifacts["vmo_rbac_clusters"][hostname]
        assert mine["status"] == "passed" and int(mine["failed"]) == 0 and int(mine["checks"]) > 0, mine
        assert mine["enforce"]["created"] == 2
        assert artifacts["vmo_rbac_fleet"]["passed"] is True
        assert r.stats["changed"] == {hostname: 1} or r.stats["changed"].get(hostname, 0) >= 1
        # The artifacts AWX reads hold the same, and never the token: not in the job output, the
        # events or the fact cache. (ansible-runner itself records the job's environment, which the
        # credential injected, in artifacts/<job>/command; that file is runner's, not our output.)
        art = Path(r.config.artifact_dir)
        assert (art / "rc").read_text().strip() == "0"
        assert (art / "status").read_text().strip() == "successful"
        ours = [p for p in art.rglob("*") if p.is_file() and p.name != "command"]
        assert any(p.parent.name == "job_events" for p in ours)
        everything = "".join(p.read_text(errors="replace") for p in ours)
        everything += r.stdout.read() if hasattr(r.stdout, "read") else ""
        assert token not in everything
        assert (tmp_path / "reports").is_dir() and any((tmp_path / "reports").iterdir())
        # The grants are real: the API server says so.
        cluster.wait_until_can("awx-op-%s@example.com" % uid, "delete", "virtualmachines", "kubevirt.io", ns)
        cluster.wait_until_can("awx-op-%s@example.com" % uid, "delete", "virtualmachines", "kubevirt.io",
                               "default", allowed=False)

        # A second scheduled run changes nothing.
        r2 = ansible_runner.run(private_data_dir=str(pdd), playbook="enforce.yml", quiet=True,
                                process_isolation=False)
        assert r2.status == "successful"
        assert not any(e["event_data"].get("res", {}).get("changed") for e in r2.events
                       if e["event"] == "runner_on_ok"
                       and e["event_data"].get("task_action") == "vmo.rbac.vmo_role_binding")
    finally:
        extravars = yaml.safe_load((pdd / "env" / "extravars").read_text())
        run_module("vmo.rbac.vmo_role_binding", {"host": cluster.server, "ca_cert": str(cluster.ca),
                                                 "api_key": token, "owner": extravars["vmo_rbac_owner"],
                                                 "bindings": bindings, "state": "absent"})
        cluster.rbac().delete_cluster_role_binding("awx-automation-" + uid)


# ------------------------------------------------------------------------------- job slicing

SLICE_CLUSTERS = ["slice-4", "slice-5", "slice-6"]


@pytest.fixture(scope="module")
def six_clusters(clusters):
    """vmo-1..3 and three clusters of this test's own: a fleet of six API servers."""
    try:
        running, started = cp.up(SLICE_CLUSTERS, owned=True)
    except cp.ControlPlaneError as exc:
        pytest.exit("the clusters %s could not start: %s" % (SLICE_CLUSTERS, exc), returncode=3)
    own = [kube.TestCluster.from_controlplane(c, clusters[0].workdir) for c in running]
    for c in own:
        for manifest in (kube.KUBEVIRT_CRDS, kube.REFERENCE_ROLES):
            c.apply_manifest(manifest)
        c.install_kubevirt()
    yield list(clusters[:3]) + own
    if started:
        cp.down([c.name for c in started])


def awx_slice(hosts, number, count):
    """The hosts of slice ``number`` of ``count`` as AWX cuts an inventory: sorted by name, every
    count-th starting at number - 1 (awx/main/models/inventory.py, get_sliced_hosts)."""
    return sorted(hosts)[number - 1::count]


def test_a_sliced_job_reports_each_slice_completely(six_clusters, uid, tmp_path):
    """AWX job slicing (job_slice_count 2) over a fleet of six clusters: two slice jobs, each an
    ansible-runner run with the slice's inventory (as AWX writes it) and AWX's variables (AWX passes
    the job's and its workflow job's ids, no slice number). Each slice's report and set_stats are
    complete for its clusters, and only its; the fleet summary says which slice it covers; together
    they cover the fleet once; every cluster really holds the grants."""
    owner = "slice-" + uid
    names = ["c%d" % i for i in range(1, 7)]
    hostvars = {}
    for name, c in zip(names, six_clusters):
        ident = c.identity("awx-slice-" + uid)
        hostvars[name] = dict({"vmo_rbac_" + k: v for k, v in ident.params.items()},
                              ansible_connection="local", ansible_python_interpreter=sys.executable)
    bindings = [{"persona": "viewer", "groups": ["slice-auditors-" + uid]}]
    env = ansible_env()
    jobs = {}
    for number, job_id in ((1, 1101), (2, 1102)):
        mine = awx_slice(names, number, 2)
        pdd = tmp_path / ("job-%d" % job_id)
        for d in ("env", "inventory", "project"):
            (pdd / d).mkdir(parents=True)
        (pdd / "env" / "envvars").write_text(yaml.safe_dump({
            k: env[k] for k in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP", "PATH")}
            | {"ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"}))
        meta = {"job_id": job_id, "job_launch_type": "workflow", "workflow_job_id": 1100,
                "workflow_job_name": "VMO RBAC: enforce", "workflow_job_launch_type": "manual",
                "inventory_id": 7, "inventory_name": "fleet", "job_template_id": 3,
                "job_template_name": "VMO RBAC: enforce"}
        extravars = dict({"%s_%s" % (prefix, k): v for prefix in ("awx", "tower") for k, v in meta.items()},
                         vmo_rbac_bindings=bindings, vmo_rbac_owner=owner,
                         vmo_rbac_report_dir=str(tmp_path / "reports" / "job-{{ awx_job_id }}"),
                         vmo_rbac_report_formats=["json", "markdown"])
        (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
        (pdd / "inventory" / "hosts").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
            "hosts": {h: hostvars[h] for h in mine}}}}}))
        (pdd / "project" / "enforce.yml").write_text(yaml.safe_dump([
            {"name": "Enforce the VMO personas", "ansible.builtin.import_playbook": "vmo.rbac.enforce"}]))
        jobs[job_id] = (mine, pdd)
    try:
        # the slices run at the same time, as AWX runs them (on one or several execution nodes)
        running = {job_id: ansible_runner.run_async(private_data_dir=str(pdd), playbook="enforce.yml", quiet=True,
                                                    process_isolation=False)
                   for job_id, (_mine, pdd) in jobs.items()}
        for thread, _r in running.values():
            thread.join(600)
        covered = []
        for job_id, (_thread, r) in running.items():
            mine = jobs[job_id][0]
            assert r.status == "successful" and r.rc == 0, (job_id, r.status, r.stdout.read()[-3000:])
            artifacts = next(e for e in r.events if e["event"] == "playbook_on_stats")["event_data"]["artifact_data"]
            label = "AWX job %d of workflow job 1100" % job_id
            assert sorted(artifacts["vmo_rbac_clusters"]) == mine, artifacts["vmo_rbac_clusters"]
            assert all(s["status"] == "passed" for s in artifacts["vmo_rbac_clusters"].values())
            fleet = artifacts["vmo_rbac_fleet"]
            assert fleet["slice"] == label and fleet["clusters"] == 3 and fleet["clusters_passed"] == 3, fleet
            doc = json.loads((tmp_path / "reports" / ("job-%d" % job_id) / "vmo-rbac-report.json").read_text())
            assert sorted(c["cluster"] for c in doc["clusters"]) == mine
            assert doc["title"] == "VMO RBAC fleet report (%s)" % label and doc["fleet"]["passed"] is True
            md = (tmp_path / "reports" / ("job-%d" % job_id) / "vmo-rbac-report.md").read_text()
            assert label in md.splitlines()[0] and all("| %s |" % h in md for h in mine)
            covered += mine
        assert sorted(covered) == names  # every cluster of the fleet once
        for c in six_clusters:
            c.wait_until_can("slice-probe", "get", "virtualmachines", "kubevirt.io", "default",
                             groups=["slice-auditors-" + uid])
    finally:
        for c in six_clusters:
            c.delete_bindings(owner)


# ------------------------------------------------------------------ the report directory (issue 20)


def test_under_ansible_runner_the_report_goes_to_the_artifacts_and_an_unwritable_directory_is_a_warning(
        cluster, uid, tmp_path):
    """Two jobs the way AWX runs them (tests/helpers/awx.py). Without vmo_rbac_report_dir the fleet report
    is written into the job's ansible-runner artifacts directory (AWX_ISOLATED_DATA_DIR), which exists and
    is writable in an execution environment. With a directory the job cannot create (the old advice,
    /var/lib/vmo-rbac/reports/{{ awx_job_id }}, on an execution environment's read-only filesystem; here a
    path under a regular file, which root cannot create either) the job is green: the cluster was
    enforced and validated, the report is printed, set_stats exported, and a warning names the directory
    and the reason. Before issue 20 the report task failed, and with it (run_once) the play for every
    cluster, after the writes were made."""
    from tests.helpers import awx

    hostname = "cluster-" + uid
    owner = "awx-report-" + uid
    ident = cluster.identity("awx-report-" + uid)
    inventory = awx.Inventory.imported({"vmo_clusters": {"hosts": [hostname]}, "_meta": {"hostvars": {hostname: dict(
        {"vmo_rbac_" + k: v for k, v in ident.params.items()}, ansible_connection="local",
        ansible_python_interpreter=sys.executable)}}})
    project = tmp_path / "checkout"
    project.mkdir()
    (project / "enforce.yml").write_text(yaml.safe_dump([
        {"name": "Enforce the VMO personas", "ansible.builtin.import_playbook": "vmo.rbac.enforce"}]))
    (tmp_path / "a-file").write_text("not a directory\n")
    template_vars = {"vmo_rbac_owner": owner, "vmo_rbac_report_formats": ["json", "markdown"],
                     "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["report-auditors-" + uid]}]}
    try:
        first = awx.run_job(tmp_path / "awx", project, "enforce.yml", inventory, [], job_id=41,
                            template_vars=template_vars)
        assert first.result.status == "successful" and first.result.rc == 0, first.stdout[-4000:]
        reports = first.artifact_dir / "vmo-rbac-reports"
        assert sorted(p.name for p in reports.iterdir()) == ["vmo-rbac-report.json", "vmo-rbac-report.md"]
        assert json.loads((reports / "vmo-rbac-report.json").read_text())["fleet"]["passed"] is True

        cluster.delete_bindings(owner)
        unwritable = str(tmp_path / "a-file" / "reports") + "/{{ awx_job_id }}"
        second = awx.run_job(tmp_path / "awx", project, "enforce.yml", inventory, [], job_id=42,
                             template_vars=dict(template_vars, vmo_rbac_report_dir=unwritable))
        assert second.result.status == "successful" and second.result.rc == 0, second.stdout[-4000:]
        events = second.events
        report = [e["event_data"]["res"] for e in events if e["event"] == "runner_on_ok"
                  and e["event_data"].get("task_action") == "vmo.rbac.vmo_rbac_fleet_report"]
        assert len(report) == 1 and report[0]["files"] == []
        reason = "cannot create the directory %s/a-file/reports/42: Not a directory" % tmp_path
        assert report[0]["files_error"] == reason
        assert any("vmo.rbac fleet report: dest: " + reason in w for w in report[0]["warnings"])
        assert "[WARNING]: vmo.rbac fleet report: dest: cannot create the directory" in second.stdout
        assert "# VMO RBAC fleet report" in second.stdout  # printed in the job output all the same
        stats = next(e for e in events if e["event"] == "playbook_on_stats")["event_data"]
        assert stats["artifact_data"]["vmo_rbac_fleet"]["passed"] is True and stats["failures"] == {}
        enforce = [e["event_data"]["res"] for e in events if e["event"] == "runner_on_ok"
                   and e["event_data"].get("task_action") == "vmo.rbac.vmo_role_binding"]
        assert enforce[0]["changed"] is True  # the writes were made, and the job is green
        cluster.wait_until_can("x", "get", "virtualmachines", "kubevirt.io", "default", groups=["report-auditors-" + uid])
        assert not (tmp_path / "a-file").is_dir()
    finally:
        cluster.delete_bindings(owner)


# ------------------------------------------------------------------ credential types (issue 20)


def test_the_kubeconfig_credential_type_reaches_a_fleet_with_one_context_per_cluster(clusters, uid, tmp_path):
    """files/awx/credential-type-kubeconfig.json, applied as AWX applies it (tests/helpers/awx.py: the
    injectors rendered by AWX's rules; the kubeconfig written into the job's env/ directory, mode 0600,
    named by K8S_AUTH_KUBECONFIG): one kubeconfig with a context per cluster, each inventory host names
    its context. Two clusters enforced and validated; the grants proven by the API servers; no credential
    of the kubeconfig in the job's output, events or artifacts (runner's own record of the environment
    holds only the file's path)."""
    import base64

    from tests.helpers import awx

    owner = "awx-kc-" + uid
    pair = clusters[:2]
    doc = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    keys = []
    for c in pair:
        ident = c.identity("awx-kc-" + uid)
        key = Path(ident.params["client_key"]).read_bytes()
        keys.append(base64.b64encode(key).decode())
        doc["clusters"].append({"name": c.name, "cluster": {
            "server": c.server, "certificate-authority-data": base64.b64encode(c.ca.read_bytes()).decode()}})
        doc["users"].append({"name": "u-" + c.name, "user": {
            "client-certificate-data": base64.b64encode(Path(ident.params["client_cert"]).read_bytes()).decode(),
            "client-key-data": keys[-1]}})
        doc["contexts"].append({"name": "ctx-" + c.name, "context": {"cluster": c.name, "user": "u-" + c.name}})
    credential = awx.Credential(awx.CredentialType.load(ROOT / "files" / "awx" / "credential-type-kubeconfig.json"),
                                {"kubeconfig": yaml.safe_dump(doc)})
    hosts = {"kc-%s-%s" % (c.name, uid): {"vmo_rbac_context": "ctx-" + c.name, "ansible_connection": "local",
                                          "ansible_python_interpreter": sys.executable} for c in pair}
    inventory = awx.Inventory.imported({"vmo_clusters": {"hosts": sorted(hosts)}, "_meta": {"hostvars": hosts}})
    project = tmp_path / "checkout"
    project.mkdir()
    (project / "enforce.yml").write_text(yaml.safe_dump([
        {"name": "Enforce the VMO personas", "ansible.builtin.import_playbook": "vmo.rbac.enforce"}]))
    try:
        job = awx.run_job(tmp_path / "awx", project, "enforce.yml", inventory, [credential], job_id=51, verbosity=3,
                          template_vars={"vmo_rbac_owner": owner, "vmo_rbac_bindings": [
                              {"persona": "viewer", "groups": ["kc-auditors-" + uid]}]})
        assert job.result.status == "successful" and job.result.rc == 0, job.stdout[-4000:]
        path = Path(job.env["K8S_AUTH_KUBECONFIG"])
        assert path.parent == job.pdd / "env" and stat.S_IMODE(path.stat().st_mode) == 0o600
        stats = next(e for e in job.events if e["event"] == "playbook_on_stats")["event_data"]["artifact_data"]
        assert sorted(stats["vmo_rbac_clusters"]) == sorted(hosts)
        assert all(v["status"] == "passed" for v in stats["vmo_rbac_clusters"].values())
        for c in pair:
            c.wait_until_can("x", "get", "virtualmachines", "kubevirt.io", "default", groups=["kc-auditors-" + uid])
            assert c.bindings(owner)
        pem = [base64.b64decode(k).decode().splitlines()[1] for k in keys]
        artifacts = [p for p in job.artifact_dir.rglob("*") if p.is_file()]
        assert awx.leaks(artifacts, keys + pem) == [] and not [k for k in keys + pem if k in job.stdout]
    finally:
        for c in pair:
            c.delete_bindings(owner)
