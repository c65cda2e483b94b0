"""A Palette fleet in AWX (issue 20, item 1): the inventory update and the job run apart.

AWX runs an inventory source as an inventory update of its own (``ansible-inventory --list --export``
in a private data directory and execution environment of its own, removed afterwards) and keeps only
the hosts, groups and variables of its JSON. A job runs later in a fresh private data directory holding
that inventory (as a script AWX writes), the project and the credentials AWX injects. Nothing else of
the inventory update reaches it: a kubeconfig file the inventory wrote would not be there.

tests/helpers/awx.py does what AWX does around ansible-runner, step by step (its docstring names the
AWX code each step copies); the Palette API is the stand-in (every request and response checked
against the published specification); the clusters are the real local control planes vmo-1..3. The
credential is the collection's own AWX credential type (files/awx/credential-type-palette.json), its
API key pasted with a trailing line break.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import awx
from tests.integration.test_palette import agent_bindings, remove_agent_bindings, secrets_of

ROOT = Path(__file__).resolve().parents[2]
PALETTE_TYPE = ROOT / "files" / "awx" / "credential-type-palette.json"
KUBECONFIG_OPS = ("v1SpectroClustersUidAdminKubeConfig", "v1SpectroClustersUidKubeConfig")


def by_op(calls) -> dict:
    out = {}
    for c in calls:
        out[c["op"]] = out.get(c["op"], 0) + 1
    return out


def per_cluster(calls, uid) -> dict:
    return by_op([c for c in calls if "/%s" % uid in c["path"]])


def task_results(run, prefix) -> dict:
    """{host: res} of the runner_on_ok / runner_on_failed events of the role's task named ``prefix ...``."""
    out = {}
    for e in run.events:
        if e["event"] in ("runner_on_ok", "runner_on_failed"):
            d = e["event_data"]
            if d.get("task", "").split(" : ")[-1].startswith(prefix):
                out[d["host"]] = dict(d["res"], _event=e["event"])
    return out


def snapshot(*roots: Path) -> set:
    return set(awx.files_under(*roots))


@pytest.fixture
def palette_fleet(clusters, palette_standin, uid, tmp_path):
    """A Palette project with three VMO clusters backed by vmo-1..3 (the second serves its kubeconfigs
    base64-encoded), one cluster without the VMO pack and one being deleted; the AWX project (a Git
    checkout): the inventory source file with group_vars and host_vars beside it (vmo-3's bindings go
    through the palette backend), and the playbook; the Palette credential of the collection's type."""
    s = palette_standin
    project_name = "vm-production-" + uid
    project = s.add_project(project_name)
    backed = [s.add_cluster(project, "%s-%s" % (c.name, uid), backing=c, base64_kubeconfig=(i == 1), tags={"env": "prod"})
              for i, c in enumerate(clusters)]
    s.add_cluster(project, "plain-" + uid, packs=["kubernetes"])
    s.add_cluster(project, "leaving-" + uid, state="Deleting")
    ns = "team-" + uid
    for c in clusters:
        c.namespace(ns)
    owner = "awx-" + uid
    checkout = tmp_path / "git-checkout"
    inventories = checkout / "inventories"
    (inventories / "group_vars").mkdir(parents=True)
    (inventories / "host_vars").mkdir()
    (inventories / "fleet.palette.yml").write_text(yaml.safe_dump({"plugin": "vmo.rbac.palette", "kubeconfig": "admin"}))
    bindings = [{"persona": "viewer", "groups": ["auditors-" + uid]},
                {"persona": "power-user", "users": ["op-%s@example.com" % uid], "namespaces": [ns]}]
    (inventories / "group_vars" / "vmo_clusters.yml").write_text(yaml.safe_dump({
        "vmo_rbac_owner": owner, "vmo_rbac_bindings": bindings, "vmo_rbac_report_formats": ["markdown", "json"]}))
    (inventories / "host_vars" / (backed[2].name + ".yml")).write_text(yaml.safe_dump({
        "vmo_rbac_backend": "palette", "vmo_rbac_palette_wait": 120}))
    (checkout / "enforce.yml").write_text(yaml.safe_dump([
        {"name": "Enforce the VMO personas", "ansible.builtin.import_playbook": "vmo.rbac.enforce"}]))
    credential = awx.Credential(awx.CredentialType.load(PALETTE_TYPE), {
        "host": s.url, "api_key": s.api_key + "\n", "project": project_name,
        "ca_cert": Path(s.ca_cert).read_text()})
    yield {"standin": s, "project": project, "backed": backed, "clusters": clusters, "checkout": checkout,
           "credential": credential, "owner": owner, "ns": ns, "uid": uid, "bindings": bindings}
    s.wait_for_agent()
    for c, b in zip(clusters, backed):
        c.delete_bindings(owner)
        remove_agent_bindings(c, b.uid)
        c.delete_namespace(ns)


def inventory_update(fleet, base: Path, **kw):
    """The inventory update, then AWX's import of its output; the update's private data directory is
    removed as AWX removes it (AWX_CLEANUP_PATHS)."""
    run, output = awx.run_inventory_update(base, fleet["checkout"], "inventories/fleet.palette.yml",
                                           [fleet["credential"]], **kw)
    assert run.result.status == "successful", (run.result.status, run.stdout[-6000:])
    # What AWX keeps (the JSON, into its database) and shows (the update's output) holds no credential;
    # runner's record of the environment (artifacts/<id>/command) holds the injected API key, as for any
    # environment credential.
    secrets = secrets_of(fleet["standin"])
    assert [x[:6] for x in secrets if x in json.dumps(output) or x in run.stdout] == []
    assert awx.leaks(awx.files_under(run.pdd), secrets, skip=lambda p: p.name == "command") == []
    inventory = awx.Inventory.imported(output)
    shutil.rmtree(run.pdd)
    return inventory, output


@pytest.mark.slow  # started first (tests/conftest.py)
def test_a_palette_fleet_runs_as_awx_runs_it(palette_fleet, tmp_path):
    """The must-show of issue 20, item 1: inventory update, then the job from a fresh private data
    directory, at -vvvv, with the fact cache on. The inventory holds where each cluster is in Palette and
    which kubeconfig to use, never a kubeconfig; each module call downloads it (one request per call) and
    keeps it in memory. Access is proven by SubjectAccessReviews (the role's validation, and the test's own).
    No kubeconfig file is left anywhere; no secret is in the job's output, events, artifacts or fact cache;
    the report is in the job's artifacts directory. A second job changes nothing."""
    f = palette_fleet
    s, uid, backed, clusters = f["standin"], f["uid"], f["backed"], f["clusters"]
    system_tmp = Path(tempfile.gettempdir())
    tmp_before = snapshot(system_tmp)
    secrets = secrets_of(s)
    kube_secrets = [x for x in secrets if x != s.api_key]

    # ---- the inventory update
    mark = s.mark()
    inventory, output = inventory_update(f, tmp_path / "awx", verbosity=2)
    update_calls = s.since(mark)
    hosts = sorted(b.name for b in backed)
    assert sorted(output["vmo_clusters"]["hosts"]) == hosts  # no plain cluster, no cluster being deleted
    for b in backed:
        hv = awx.Inventory.imported(output).hosts[b.name]["variables"]
        flat = json.dumps(hv)
        assert b.uid in flat and f["project"] in flat and "vmo_rbac_palette_kubeconfig" in hv
        assert "vmo_rbac_kubeconfig" not in hv and "client-key-data" not in flat
    # no kubeconfig is downloaded by the inventory: 2 searches (the project named by name), 4 profiles
    assert by_op(update_calls) == {"v1SpectroClustersSearchFilterSummary": 2, "v1SpectroClustersGetProfiles": 4}

    # ---- the job, from a fresh private data directory
    mark = s.mark()
    started = time.monotonic()
    job = awx.run_job(tmp_path / "awx", f["checkout"], "enforce.yml", inventory, [f["credential"]], job_id=31,
                      verbosity=4, use_fact_cache=True)
    seconds = time.monotonic() - started
    job_calls = s.since(mark)
    stdout = job.stdout
    assert job.result.status == "successful" and job.result.rc == 0, stdout[-6000:]
    assert sorted(os.listdir(job.pdd / "inventory")) == ["hosts"]  # only the inventory AWX wrote

    enforce = task_results(job, "Enforce |")
    validate = task_results(job, "Validate |")
    assert sorted(enforce) == sorted(validate) == hosts
    for h in hosts:
        assert enforce[h]["_event"] == "runner_on_ok" and enforce[h]["changed"] is True, enforce[h].get("msg")
        assert validate[h]["passed"] is True, validate[h]["msg"]
        assert validate[h]["summary"]["checks"] > 0
    stats = next(e for e in job.events if e["event"] == "playbook_on_stats")["event_data"]["artifact_data"]
    assert all(v["status"] == "passed" for v in stats["vmo_rbac_clusters"].values()) and stats["vmo_rbac_fleet"]["passed"]

    # Access proven by the API servers themselves (SubjectAccessReviews)
    s.wait_for_agent()
    for c in clusters:
        c.wait_until_can("someone", "get", "virtualmachines", "kubevirt.io", "default", groups=["auditors-" + uid])
        c.wait_until_can("op-%s@example.com" % uid, "delete", "virtualmachines", "kubevirt.io", f["ns"])
        c.wait_until_can("op-%s@example.com" % uid, "delete", "virtualmachines", "kubevirt.io", "default", allowed=False)
    assert clusters[2].bindings(f["owner"]) == {} and agent_bindings(clusters[2], backed[2].uid)  # through Palette
    assert clusters[0].bindings(f["owner"]) and not agent_bindings(clusters[0], backed[0].uid)

    # Palette requests: one kubeconfig per module call (enforce, validate), plus the palette backend's own
    counts = {b.name: per_cluster(job_calls, b.uid) for b in backed}
    for b in backed[:2]:
        assert counts[b.name] == {"v1SpectroClustersUidAdminKubeConfig": 2}, counts
        assert enforce[b.name]["palette_requests"] == validate[b.name]["palette_requests"] == 1
    # the backend's: enforce GET (404: none yet), the GET of the cluster that tells, PUT, the GET back that checks
    # the write (issue 18 item 6); validate GET
    assert counts[backed[2].name] == {"v1SpectroClustersUidAdminKubeConfig": 2, "v1SpectroClustersUidConfigRbacsGet": 3,
                                      "v1SpectroClustersGet": 1, "v1SpectroClustersUidConfigRbacsUpdate": 1}, counts
    assert enforce[backed[2].name]["palette_requests"] == 5 and validate[backed[2].name]["palette_requests"] == 2
    assert len(job_calls) == 11  # nothing else: no search, no profile
    print("\nAWX split, 3 clusters: inventory update %d Palette requests %s; job %d requests in %.1f s: %s"
          % (len(update_calls), by_op(update_calls), len(job_calls), seconds, counts))

    # No kubeconfig file anywhere: not in the job's private data directory (inventory, env, artifacts,
    # fact cache), nor in its execution environment's own filesystem (HOME with the inventory plugin's old
    # ~/.ansible/vmo_rbac/palette-kubeconfigs, Ansible's temporary directory, TMPDIR), nor in the
    # system's temporary directory.
    job_files = awx.files_under(job.pdd, job.container_fs)
    assert awx.kubeconfig_like(job_files) == []
    assert list((job.container_fs / "tmp").iterdir()) == []
    assert not (job.container_fs / "home" / ".ansible" / "vmo_rbac").exists()
    new_tmp = [p for p in snapshot(system_tmp) - tmp_before if "pytest-of" not in str(p)]
    assert awx.leaks(new_tmp, kube_secrets) == [] and awx.kubeconfig_like(new_tmp) == []

    # No secret in the job's output, events, artifacts or fact cache. ansible-runner itself records the
    # job's whole environment in artifacts/<job>/command (mode 0600): the API key the credential injects
    # as SPECTROCLOUD_APIKEY is there, as any environment credential of AWX's is (AWX stores it masked,
    # safe_env); no kubeconfig credential is anywhere, not even there.
    assert [x[:6] for x in secrets if x in stdout] == []
    artifacts = awx.files_under(job.artifact_dir)
    assert any(p.parent.name == "job_events" for p in artifacts)
    assert awx.leaks(artifacts, secrets, skip=lambda p: p.name == "command") == []
    assert awx.leaks(job_files, kube_secrets) == []
    assert job.safe_env["SPECTROCLOUD_APIKEY"] == awx.HIDDEN_PASSWORD
    holding_key = [p for p in job_files if s.api_key in p.read_text(errors="replace")]
    assert holding_key == [job.artifact_dir / "command"], holding_key

    # The report: in the job's artifacts directory (AWX_ISOLATED_DATA_DIR), no report directory configured
    report = json.loads((job.artifact_dir / "vmo-rbac-reports" / "vmo-rbac-report.json").read_text())
    assert sorted(c["cluster"] for c in report["clusters"]) == hosts and report["fleet"]["passed"] is True

    # A second scheduled job: nothing to change, the same requests but no write
    mark = s.mark()
    again = awx.run_job(tmp_path / "awx", f["checkout"], "enforce.yml", inventory, [f["credential"]], job_id=32)
    assert again.result.status == "successful", again.stdout[-4000:]
    assert not any(r["changed"] for r in task_results(again, "Enforce |").values())
    assert all(r["passed"] for r in task_results(again, "Validate |").values())
    second = s.since(mark)
    assert [c for c in second if c["method"] != "GET"] == [] and len(second) == 2 + 2 + 2 + 2  # 6 kubeconfigs, 2 RBAC GETs

    # The validate template (Job Type: Check): one module call per cluster, so one kubeconfig each
    (f["checkout"] / "validate.yml").write_text(yaml.safe_dump([
        {"name": "Validate the VMO personas", "ansible.builtin.import_playbook": "vmo.rbac.validate"}]))
    mark = s.mark()
    check = awx.run_job(tmp_path / "awx", f["checkout"], "validate.yml", inventory, [f["credential"]], job_id=39,
                        check=True)
    assert check.result.status == "successful", check.stdout[-4000:]
    assert sorted(task_results(check, "Validate |")) == hosts and not task_results(check, "Enforce |")
    assert by_op(s.since(mark)) == {"v1SpectroClustersUidAdminKubeConfig": 3, "v1SpectroClustersUidConfigRbacsGet": 1}


# ----------------------------------------------------------------------------- attacks (THREATS.md)


def failures(run) -> dict:
    """{host: message} of the hosts the role failed, from the job's fleet report (set_stats)."""
    stats = next(e for e in run.events if e["event"] == "playbook_on_stats")["event_data"]
    return {h: "%s failed: %s" % (v["failed_step"], v["msg"])
            for h, v in stats["artifact_data"]["vmo_rbac_clusters"].items() if v["status"] != "passed"}


def test_a_cluster_deleted_after_the_inventory_update_and_palette_failing_for_another_fail_alone(palette_fleet, tmp_path):
    """Between the inventory update and the job, one cluster is deleted in Palette, and Palette answers 503
    for another's kubeconfig, whatever the retries. Each fails alone with its reason (the first call tells
    a deleted cluster from a missing kubeconfig with one GET of the cluster); the third is enforced and
    validated; the report names all three; no secret in the output; the job's time stays bounded by
    vmo_rbac_api_retries and vmo_rbac_request_timeout."""
    f = palette_fleet
    s, backed = f["standin"], f["backed"]
    inventory, _output = inventory_update(f, tmp_path / "awx")
    gone, failing, fine = backed[0], backed[1], backed[2]
    with s.lock:
        del s.clusters[gone.uid]
    s.fault(503, path="/v1/spectroclusters/%s/assets/adminKubeconfig" % failing.uid, times=1000)
    started = time.monotonic()
    job = awx.run_job(tmp_path / "awx", f["checkout"], "enforce.yml", inventory, [f["credential"]], job_id=33,
                      verbosity=3, template_vars={"vmo_rbac_api_retries": 1, "vmo_rbac_request_timeout": 5})
    seconds = time.monotonic() - started
    assert job.result.status == "failed" and job.result.rc == 2
    got = failures(job)
    assert sorted(got) == sorted([gone.name, failing.name]), got
    assert got[gone.name].startswith("enforce failed: palette_cluster_uid: Palette at %s has no cluster %s in project "
                                     "%s: it was deleted" % (s.url, gone.uid, f["project"])), got[gone.name]
    assert "cannot download the admin kubeconfig of cluster %s" % failing.uid in got[failing.name]
    assert "kept failing (503)" in got[failing.name]
    assert task_results(job, "Validate |")[fine.name]["passed"] is True
    report = json.loads((job.artifact_dir / "vmo-rbac-reports" / "vmo-rbac-report.json").read_text())
    assert sorted(c["cluster"] for c in report["clusters"]) == sorted(b.name for b in backed)
    assert [x[:6] for x in secrets_of(s) if x in job.stdout] == []
    assert seconds < 240, seconds


class SilentServer:
    """A TCP listener that accepts connections and never answers: Palette hanging."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.held = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.sock.getsockname()[1]

    def _accept(self):
        self.sock.settimeout(0.5)
        while not self.stopped.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self):
        self.stopped.set()
        for c in self.held:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("palette", ["refusing connections", "hanging"])
def test_palette_out_of_reach_during_the_job_fails_the_clusters_in_bounded_time(palette_fleet, tmp_path, palette):
    """The inventory update worked; during the job Palette refuses connections, or accepts them and never
    answers. Every cluster fails with the reason, within the retries and timeouts; nothing is written to any
    cluster; the report is still written; no secret in the output."""
    f = palette_fleet
    inventory, _output = inventory_update(f, tmp_path / "awx")
    silent = SilentServer()
    url = "https://127.0.0.1:1" if palette == "refusing connections" else silent.url
    down = awx.Credential(f["credential"].ctype, dict(f["credential"].inputs, host=url))
    audit = [c.audit() for c in f["clusters"]]
    started = time.monotonic()
    try:
        job = awx.run_job(tmp_path / "awx", f["checkout"], "enforce.yml", inventory, [down], job_id=34,
                          template_vars={"vmo_rbac_api_retries": 1, "vmo_rbac_request_timeout": 3})
    finally:
        silent.close()
    seconds = time.monotonic() - started
    assert job.result.status == "failed"
    got = failures(job)
    assert sorted(got) == sorted(b.name for b in f["backed"]), got
    for h, msg in got.items():
        assert msg.startswith("enforce failed: cannot download the admin kubeconfig of cluster"), msg
        assert "cannot reach Palette at %s" % url in msg, msg
    # this fleet's admin users only: other tests on the shared clusters have stand-ins of their own
    ours = {"palette-admin-" + b.name for b in f["backed"]}
    for a, c in zip(audit, f["clusters"]):
        assert [e for e in a.events() if e.get("user", {}).get("username", "") in ours] == []
    assert (job.artifact_dir / "vmo-rbac-reports" / "vmo-rbac-report.md").exists()
    assert [x[:6] for x in secrets_of(f["standin"]) if x in job.stdout] == []
    assert seconds < 180, seconds


def test_two_jobs_at_once_on_the_same_fleet(palette_fleet, tmp_path):
    """A careless operator launches the template twice (concurrent jobs allowed): two jobs, two private
    data directories and execution environments, the same Palette fleet, at the same time. Both succeed
    (the second enforce adopts what the first created), the grants are in force, each job downloaded its
    own kubeconfigs (nothing is shared through a file, so nothing can be half-written or removed under the
    other), and neither left a kubeconfig anywhere. (The palette-backend cluster is left out: two owners
    writing Palette's RBAC list at once is issue 18's lost update.)"""
    f = palette_fleet
    s, backed, uid = f["standin"], f["backed"], f["uid"]
    inventory, _output = inventory_update(f, tmp_path / "awx")
    limit = ",".join(b.name for b in backed[:2])
    mark = s.mark()
    started = [awx.run_job(tmp_path / "awx", f["checkout"], "enforce.yml", inventory, [f["credential"]], job_id=n,
                           limit=limit, wait=False) for n in (35, 36)]
    for thread, _run in started:
        thread.join(600)
    for _thread, run in started:
        assert run.result.status == "successful", run.stdout[-4000:]
        assert all(r["passed"] for r in task_results(run, "Validate |").values())
        assert awx.kubeconfig_like(awx.files_under(run.pdd, run.container_fs)) == []
    kubeconfigs = [c for c in s.since(mark) if c["op"] == "v1SpectroClustersUidAdminKubeConfig"]
    assert len(kubeconfigs) == 2 * 2 * 2  # 2 jobs x 2 clusters x (enforce, validate)
    for c in f["clusters"][:2]:
        c.wait_until_can("op-%s@example.com" % uid, "delete", "virtualmachines", "kubevirt.io", f["ns"])


def test_a_kubernetes_credential_beside_the_palette_fleet_is_refused_before_any_request(palette_fleet, tmp_path):
    """AWX's built-in Kubernetes bearer-token credential attached to the template as well: its K8S_AUTH_*
    variables would say one cluster, the inventory another. Every cluster fails naming the variables,
    before any request to Palette or to any cluster."""
    f = palette_fleet
    s = f["standin"]
    inventory, _output = inventory_update(f, tmp_path / "awx")
    audit = [c.audit() for c in f["clusters"]]
    mark = s.mark()
    token = "k8s-token-" + f["uid"] * 4
    job = awx.run_job(tmp_path / "awx", f["checkout"], "enforce.yml", inventory, [f["credential"]], job_id=37,
                      extra_env={"K8S_AUTH_HOST": f["clusters"][0].server, "K8S_AUTH_API_KEY": token,
                                 "K8S_AUTH_VERIFY_SSL": "True"})
    assert job.result.status == "failed"
    got = failures(job)
    assert sorted(got) == sorted(b.name for b in f["backed"])
    assert all("host: given with palette_kubeconfig (and api_key)" in m and "K8S_AUTH_" in m for m in got.values()), got
    assert s.since(mark) == []
    assert all(a.events(user="system:anonymous") == [] for a in audit)
    assert token not in job.stdout


EXEC_PLUGIN = """#!{python}
import json
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {{"token": open({token_file!r}).read().strip()}}}}))
"""


def test_an_frp_kubeconfig_with_an_exec_plugin_is_loaded_by_the_client_from_memory(palette_fleet, tmp_path):
    """Palette's reverse-proxy kubeconfig authenticates through an exec plugin (an OIDC login): the official
    client loads it from the mapping (never a file), runs the plugin, and the job proves access with it.
    The client's own temporary files (the CA data) are gone when the job ends."""
    f = palette_fleet
    c, b = f["clusters"][0], f["backed"][0]
    ns = f["ns"]
    sa = c.service_account(ns, "frp-" + f["uid"])
    crb = "frp-%s" % f["uid"]
    c.rbac().create_cluster_role_binding({"metadata": {"name": crb}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "frp-" + f["uid"], "namespace": ns}]})
    token_file = tmp_path / "token"
    token_file.write_text(sa.params["api_key"])
    plugin = tmp_path / "oidc-login"
    plugin.write_text(EXEC_PLUGIN.format(python=sys.executable, token_file=str(token_file)))
    plugin.chmod(0o700)
    admin = yaml.safe_load(b.kubeconfigs["admin"])
    admin["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                          "interactiveMode": "Never"}}
    b.kubeconfigs["frp"] = yaml.safe_dump(admin)
    (f["checkout"] / "inventories" / "fleet.palette.yml").write_text(yaml.safe_dump(
        {"plugin": "vmo.rbac.palette", "kubeconfig": "frp"}))
    try:
        inventory, _output = inventory_update(f, tmp_path / "awx")
        job = awx.run_job(tmp_path / "awx", f["checkout"], "enforce.yml", inventory, [f["credential"]], job_id=38,
                          limit=b.name)
        assert job.result.status == "successful", job.stdout[-4000:]
        assert task_results(job, "Validate |")[b.name]["passed"] is True
        assert [x["op"] for x in f["standin"].calls(cluster=b.uid)][-2:] == ["v1SpectroClustersUidKubeConfig"] * 2
        assert list((job.container_fs / "tmp").iterdir()) == []
        assert awx.kubeconfig_like(awx.files_under(job.pdd, job.container_fs)) == []
        assert sa.params["api_key"] not in job.stdout
    finally:
        c.rbac().delete_cluster_role_binding(crb)


def test_the_event_source_watches_a_palette_inventory_with_kubeconfigs_from_palette(palette_fleet, tmp_path):
    """The rulebook vmo.rbac.reconcile run by ansible-rulebook for real on the inventory AWX kept (the job's
    inventory script): the source reads each host's Palette variables, downloads each kubeconfig once at
    start (in memory), watches the three clusters, and each start-up reconcile run (reconcile mode: the
    enforce call alone) downloads its own and grants the declaration."""
    from tests.helpers.eda import START_TIMEOUT, Rulebook

    f = palette_fleet
    s, backed = f["standin"], f["backed"]
    inventory, _output = inventory_update(f, tmp_path / "awx")
    inv_dir = tmp_path / "eda-inventory"
    inv_dir.mkdir()
    script = inv_dir / "hosts"
    script.write_text("#! /usr/bin/env python3\nprint(%r)\n" % json.dumps(inventory.script_data()))
    script.chmod(0o700)
    env = {"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key, "VMO_RBAC_PALETTE_CA_CERT": s.ca_cert}
    mark = s.mark()
    rb = Rulebook(tmp_path / "rulebook", script, env=env).start()
    names = {b.name for b in backed}
    try:
        rb.wait_for(lambda: {c for c, _s, r in rb.events() if "watch started" in r} == names, START_TIMEOUT,
                    "the source to watch the three clusters")
        rb.wait_idle(300)
    finally:
        rb.stop()
    s.wait_for_agent()
    output = rb.output()
    assert [x[:6] for x in secrets_of(s) if x in output] == []
    per = {b.name: per_cluster(s.since(mark), b.uid).get("v1SpectroClustersUidAdminKubeConfig", 0) for b in backed}
    # the source's, once at start; then one per reconcile run of the cluster (the start-up run's, and a run for
    # any change the source saw meanwhile: other tests share these clusters)
    runs = {b.name: sum(hosts.count(b.name) for hosts in rb.recaps()) for b in backed}
    assert all(runs[n] >= 1 for n in names), runs
    assert per == {n: 1 + runs[n] for n in names}, (per, runs)
    for c in f["clusters"]:
        c.wait_until_can("someone", "get", "virtualmachines", "kubevirt.io", "default", groups=["auditors-" + f["uid"]])
