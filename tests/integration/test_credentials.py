"""Credentials and connections under a careless operator (issue 18, items 3 and 9), on the real
local control plane, through the entry points users take (ansible-playbook, ansible-rulebook,
ansible-runner).

Item 3: a token or key that cannot be an HTTP header value (the trailing newline of a YAML block
scalar, a pasted credential) is refused before the first request, naming the option and never
showing the value; the bad-input catalog (test_bad_input.py, test_palette_bad_input.py) holds one
case per option and client. Here: the event source, which used to print the token on every retry.

Item 9: K8S_AUTH_HOST / K8S_AUTH_API_KEY (AWX's bearer-token credential) no longer win silently
over a host's own context or kubeconfig, and the fleet report flags hosts that reached one API
server; both through ansible-runner with the environment AWX gives a job.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import ansible_runner
import pytest
import yaml

from tests.helpers import eda, leaks
from tests.helpers.ansible import BIN, VERBOSITY, ansible_env, run_playbook
from tests.helpers.faultproxy import FaultProxy

AUTOMATION_ROLE = Path(__file__).resolve().parents[2] / "files" / "automation-clusterrole.yaml"


@pytest.fixture(scope="module")
def java():
    problem = eda.java_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


def test_the_event_source_refuses_a_token_with_a_newline_at_start_and_never_shows_it(java, cluster, tmp_path):
    """A pasted token with its trailing newline, given to the source of the shipped rulebook (as an EDA
    controller activation gives its clusters): the source refuses to start, naming the cluster and the
    option; it used to start, then fail every request with "Invalid header value b'Bearer <token>\\n'"
    and log that on every retry. No request reaches the API server: the source is given the cluster behind a
    proxy of this test's own, which sees no connection (the cluster's audit log is shared with other tests'
    event sources, whose requests carry the same user agent)."""
    token = "eda-newline-token-%s" % uuid.uuid4().hex
    leaks.register("a token with a newline given to the event source", token)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"east": {"ansible_connection": "local"}}}}))
    with FaultProxy(cluster.server, cluster.ca, cluster.pki, tmp_path) as proxy:
        rb = eda.Rulebook(tmp_path / "rulebook", inventory, variables={"vmo_rbac_eda_clusters": [
            {"name": "east", "host": proxy.url, "ca_cert": str(cluster.ca), "api_key": token + "\n"}]}).start()
        try:
            deadline = time.monotonic() + eda.START_TIMEOUT  # its JVM starts first
            while rb.alive() and time.monotonic() < deadline and token not in rb.output():
                time.sleep(0.2)
            time.sleep(1)  # a retry or two more, if it retries
        finally:
            rb.stop()
        reached = list(proxy.log)
    out = rb.output()
    assert token not in out, out[-3000:]
    assert "vmo.rbac.cluster_changes: clusters[0] (east): api_key: the value contains a line break (LF) at its end" \
        in out, out[-3000:]
    assert rb.proc.returncode not in (0, None)
    assert reached == [] and proxy.connections == 0, "the source reached the cluster: %s" % reached


# ------------------------------------------------------------------ item 9: every host to one cluster


def awx_job(tmp_path, name, hosts, envvars, extravars):
    """The private data directory AWX hands to ansible-runner for a job of the enforce playbook: the
    credentials' environment variables, the inventory, the extra variables, the project."""
    env = ansible_env()
    pdd = tmp_path / name
    for d in ("env", "inventory", "project"):
        (pdd / d).mkdir(parents=True)
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(dict(envvars, **{
        k: env[k] for k in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP", "PATH")},
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    (pdd / "inventory" / "hosts").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {
        h: dict(v, ansible_connection="local", ansible_python_interpreter=sys.executable)
        for h, v in hosts.items()}}}}}))
    (pdd / "project" / "enforce.yml").write_text(yaml.safe_dump([
        {"name": "Enforce the VMO personas", "ansible.builtin.import_playbook": "vmo.rbac.enforce"}]))
    return pdd


def job_results(runner):
    """{(task name without the role prefix, host): result, with ``failed``} of an ansible-runner job's events."""
    out = {}
    for e in runner.events:
        data = e.get("event_data") or {}
        if e.get("event") in ("runner_on_ok", "runner_on_failed") and data.get("host"):
            out[(data.get("task", "").split(" : ", 1)[-1], data["host"])] = dict(
                data.get("res") or {}, failed=e["event"] == "runner_on_failed")
    return out


def awx_token(cluster, namespaces, uid, bind):
    """A ServiceAccount token, as an AWX bearer-token credential holds it (bound to the automation role)."""
    ns = namespaces("awx-amb")
    sa = cluster.service_account(ns, "awx")
    if bind:
        cluster.apply_manifest(AUTOMATION_ROLE)
        cluster.rbac().create_cluster_role_binding({
            "metadata": {"name": "awx-amb-" + uid},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "vmo-rbac-automation"},
            "subjects": [{"kind": "ServiceAccount", "name": "awx", "namespace": ns}]})
    return sa


def test_awx_credential_with_a_context_per_host_is_refused_on_every_host(clusters, namespaces, uid, tmp_path):
    """Three hosts, each with its own context in a kubeconfig that a custom credential hands over
    (K8S_AUTH_KUBECONFIG), and the job also carries AWX's bearer-token credential (K8S_AUTH_HOST,
    K8S_AUTH_API_KEY for vmo-1). The environment's host and token used to win over every context: the
    three declarations were enforced on vmo-1, the purge of each deleting the others' grants. Now each
    host fails before its first request, saying which settings collide and what to do; neither the
    token nor the contexts' identities made a single request."""
    env_cluster = clusters[0]
    sa = awx_token(env_cluster, namespaces, uid, bind=True)
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []}
    idents, hosts = {}, {}
    for i in range(3):
        c = clusters[i % len(clusters)]
        ident = idents["c%d" % i] = c.identity("amb-%d-%s" % (i, uid))
        kubeconfig["clusters"].append({"name": "c%d" % i, "cluster": {"server": c.server,
                                                                      "certificate-authority": str(c.ca)}})
        kubeconfig["users"].append({"name": "u%d" % i, "user": {"client-certificate": ident.params["client_cert"],
                                                                "client-key": ident.params["client_key"]}})
        kubeconfig["contexts"].append({"name": "ctx-%d" % i, "context": {"cluster": "c%d" % i, "user": "u%d" % i}})
        hosts["c%d" % i] = {"vmo_rbac_context": "ctx-%d" % i,
                            "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["amb-%d-%s" % (i, uid)]}]}
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    owner = "amb-" + uid
    envvars = {"K8S_AUTH_KUBECONFIG": str(tmp_path / "kubeconfig"), "K8S_AUTH_HOST": env_cluster.server,
               "K8S_AUTH_API_KEY": sa.params["api_key"], "K8S_AUTH_VERIFY_SSL": "True",
               "K8S_AUTH_SSL_CA_CERT": str(env_cluster.ca)}
    pdd = awx_job(tmp_path, "job", hosts, envvars, {"vmo_rbac_owner": owner, "vmo_rbac_purge": True,
                                                   "vmo_rbac_report_dir": str(tmp_path / "reports"),
                                                   "vmo_rbac_report_formats": ["json"]})
    audits = [c.audit() for c in clusters]
    try:
        r = ansible_runner.run(private_data_dir=str(pdd), playbook="enforce.yml", quiet=True,
                               process_isolation=False, verbosity=VERBOSITY)
        results = job_results(r)
        assert r.rc != 0
        for h in hosts:
            res = results[("Enforce | Make the cluster hold exactly the declared bindings", h)]
            assert res.get("failed") and res.get("field") == "context", (h, res)
            assert res["msg"].startswith(
                "context: context is set for this host, but host and api_key come from the environment "
                "(K8S_AUTH_HOST, K8S_AUTH_API_KEY) and would win: this host would reach %s, not the cluster of "
                "its context." % env_cluster.server), res["msg"]
            assert "docs/awx.md" in res["msg"] and sa.params["api_key"] not in json.dumps(res)
        report = json.loads((tmp_path / "reports" / "vmo-rbac-report.json").read_text())
        assert {c["cluster"]: c["failed"] for c in report["clusters"]} == {h: True for h in hosts}
        users = {sa.user} | {i.user for i in idents.values()}
        made = [(e["user"]["username"], e["verb"], e["requestURI"]) for a in audits for e in a.events()
                if e.get("user", {}).get("username") in users]
        assert made == [], made
        assert env_cluster.bindings(owner) == {}
    finally:
        for c in clusters:
            c.delete_bindings(owner)


def test_the_fleet_report_flags_hosts_that_reach_one_api_server(cluster, namespaces, uid, tmp_path):
    """AWX's bearer-token credential and three hosts without connection variables of their own (what
    docs/awx.md warns against for a fleet): all three reach vmo-1. Two of them share the owner: their
    declarations replaced each other there, so the fleet report shows them as not validated, saying
    why, and the job fails them; the third (another owner) keeps its result, with a warning. It used to
    be a report of three passed clusters about one API server."""
    sa = awx_token(cluster, namespaces, uid, bind=True)
    owner = "same-" + uid
    hosts = {"east": {"vmo_rbac_owner": owner}, "west": {"vmo_rbac_owner": owner},
             "north": {"vmo_rbac_owner": owner + "-n"}}
    envvars = {"K8S_AUTH_HOST": cluster.server, "K8S_AUTH_API_KEY": sa.params["api_key"],
               "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": str(cluster.ca)}
    reports = tmp_path / "reports"
    pdd = awx_job(tmp_path, "job", hosts, envvars, {
        "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["same-" + uid]}],
        "vmo_rbac_report_dir": str(reports), "vmo_rbac_report_formats": ["json", "markdown"]})
    try:
        r = ansible_runner.run(private_data_dir=str(pdd), playbook="enforce.yml", quiet=True,
                               process_isolation=False, verbosity=VERBOSITY)
        results = job_results(r)
        report = json.loads((reports / "vmo-rbac-report.json").read_text())
        by = {c["cluster"]: c for c in report["clusters"]}
        for h, other in (("east", "west"), ("west", "east")):
            assert by[h]["failed"] is True, by[h]
            assert by[h]["msg"].startswith("reaches the same API server as %s, %s (CA sha256:" % (other, cluster.server))
            assert "with the same owner %r" % owner in by[h]["msg"]
            failed = results[("Fail this cluster, now that the report shows why", h)]
            assert failed.get("failed") and "reaches the same API server as %s" % other in failed["msg"]
        assert by["north"]["passed"] is True and by["north"]["api_server"]["url"] == cluster.server
        assert any("reaches the same API server as east, west" in w for w in by["north"]["warnings"]), by["north"]
        assert not results.get(("Fail this cluster, now that the report shows why", "north"), {}).get("failed")
        assert report["fleet"]["passed"] is False and report["fleet"]["clusters_error"] == 2
        markdown = (reports / "vmo-rbac-report.md").read_text()
        assert "| east | \u26a0\ufe0f not validated |" in markdown and "| north | \u2705 passed |" in markdown
        assert "**Warning**: this host reaches the same API server as east, west" in markdown, markdown
        assert r.rc != 0 and sa.params["api_key"] not in markdown + json.dumps(report)
    finally:
        cluster.delete_bindings(owner)
        cluster.delete_bindings(owner + "-n")


def test_two_palette_clusters_on_one_api_server_with_an_unwritable_report_directory(cluster, palette_standin, uid,
                                                                                    tmp_path):
    """Attack pass on the merged branches: a Palette fleet in AWX (each host's kubeconfig downloaded from Palette
    at run time) where two Palette clusters' kubeconfigs name one API server, vmo-1, and the report directory
    cannot be made. The fleet report refuses both hosts (same owner) and its files fail with a warning; the
    job fails both hosts, with the reason. What AWX keeps of the job, the per-cluster summary exported with
    set_stats (vmo_rbac_clusters, what a workflow reads), used to say "passed" for both: it was exported
    before the fleet report knew. It now says what the report says; no credential anywhere."""
    from tests.integration.test_palette import secrets_of

    s = palette_standin
    project_name = "same-" + uid
    project = s.add_project(project_name)
    first, second = (s.add_cluster(project, "%s-%s" % (n, uid), backing=cluster) for n in ("east", "west"))
    owner = "same-pal-" + uid
    hosts = {name: {"vmo_rbac_owner": owner, "vmo_rbac_palette_kubeconfig": "admin",
                    "vmo_rbac_palette_cluster_uid": record.uid, "vmo_rbac_palette_project_uid": project}
             for name, record in (("east", first), ("west", second))}
    envvars = {"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key, "VMO_RBAC_PALETTE_CA_CERT": s.ca_cert}
    (tmp_path / "a-file").write_text("not a directory")
    dest = str(tmp_path / "a-file" / "reports")
    pdd = awx_job(tmp_path, "job", hosts, envvars, {
        "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["same-pal-" + uid]}],
        "vmo_rbac_report_dir": dest, "vmo_rbac_report_formats": ["json", "markdown"]})
    try:
        r = ansible_runner.run(private_data_dir=str(pdd), playbook="enforce.yml", quiet=True,
                               process_isolation=False, verbosity=VERBOSITY)
        results = job_results(r)
        report = results[("Report | Print the fleet report and write its files", "east")]
        assert report["files_error"] == "cannot create the directory %s: Not a directory" % dest, report
        assert sorted(report["same_api_server"]) == ["east", "west"], report
        stats = next(e for e in r.events if e["event"] == "playbook_on_stats")["event_data"]["artifact_data"]
        for h, other in (("east", "west"), ("west", "east")):
            failed = results[("Fail this cluster, now that the report shows why", h)]
            assert failed["failed"] and "reaches the same API server as %s, %s" % (other, cluster.server) in failed["msg"]
            summary = stats["vmo_rbac_clusters"][h]
            assert summary["status"] == "error", summary
            assert summary["msg"].startswith("reaches the same API server as %s, %s" % (other, cluster.server)), summary
        assert stats["vmo_rbac_fleet"]["passed"] is False and stats["vmo_rbac_fleet"]["clusters_error"] == 2
        assert r.rc != 0
        shown = r.stdout.read() + json.dumps(stats)
        assert [x[:6] for x in secrets_of(s) if x in shown] == []
    finally:
        cluster.delete_bindings(owner)


FAILING_LOGIN = """#!/bin/sh
# an OIDC login plugin that cannot log in, and says so with what it was given (as a careless wrapper does)
for a in "$@"; do case "$a" in --oidc-client-secret=*) echo "oidc-login: the issuer refused client secret ${a#*=}" >&2;; esac; done
exit 1
"""


def test_an_frp_kubeconfig_whose_login_plugin_fails(cluster, palette_standin, uid, tmp_path):
    """Attack pass on the merged branches: Palette's reverse-proxy kubeconfig logs in through an exec plugin
    (kubectl oidc-login), which an execution environment may lack or which may fail. The kubernetes client
    logs the plugin's failure (its stderr) to the root logger and goes on without a credential, so the API
    server sees system:anonymous and answers 403, also to the SelfSubjectReview that says who we are. Found:
    the module failed with "unexpected RecursionError: maximum recursion depth exceeded" (the 403 message
    asked for the identity, whose 403 asked for the identity...), and the plugin's stderr, with the client
    secret of its arguments, was in Ansible's log at -vvvv. Then: a 403 naming system:anonymous, nothing
    written, no credential in any output. Since the attack pass of session 4 (test_exec_plugin.py), the task
    fails before any request with the plugin's exit status, and nothing the plugin wrote is shown."""
    s = palette_standin
    project = s.add_project("frp-fail-" + uid)
    record = s.add_cluster(project, "frp-fail-" + uid, backing=cluster)
    secret = "frp-client-secret-" + uuid.uuid4().hex
    leaks.register("the client secret of a failing OIDC login plugin", secret)
    plugin = tmp_path / "oidc-login"
    plugin.write_text(FAILING_LOGIN)
    plugin.chmod(0o700)
    frp = yaml.safe_load(record.kubeconfigs["admin"])
    frp["users"][0]["user"] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin), "interactiveMode": "Never",
        "args": ["get-token", "--oidc-issuer-url=https://issuer.example.com", "--oidc-client-id=spectro-proxy",
                 "--oidc-client-secret=" + secret]}}
    record.kubeconfigs["frp"] = yaml.safe_dump(frp)
    owner = "frp-fail-" + uid
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {"frp-east": {
        "ansible_connection": "local", "vmo_rbac_owner": owner, "vmo_rbac_palette_kubeconfig": "frp",
        "vmo_rbac_palette_cluster_uid": record.uid, "vmo_rbac_palette_project_uid": project,
        "vmo_rbac_palette_ca_cert": s.ca_cert, "vmo_rbac_report_dir": "",
        "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["frp-" + uid]}]}}}}}}))
    log = tmp_path / "ansible.log"
    audit = cluster.audit()
    run = run_playbook("vmo.rbac.enforce", inventory=inv, args=["-vvvv"],
                       env={"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key, "ANSIBLE_LOG_PATH": str(log)})
    shown = run.stdout + run.stderr + log.read_text()
    leaks.record("test_an_frp_kubeconfig_whose_login_plugin_fails", shown)
    assert run.rc != 0
    enforce = [r["result"] for r in run.results if r["task"].endswith("Make the cluster hold exactly the declared bindings")
               or "Enforce |" in r["task"]]
    failed = [r for r in enforce if r.get("failed")]
    assert failed and "RecursionError" not in failed[0]["msg"], enforce
    assert "exec: the credential plugin 'oidc-login' exited with status 1; what it wrote on stderr (1 line) is " \
           "not shown" in failed[0]["msg"], failed[0]["msg"]
    assert secret not in shown and secret[:24] not in shown
    assert "the issuer refused client secret" not in shown  # nothing the plugin wrote: it may quote anything
    assert [e for e in audit.writes() if owner in json.dumps(e)] == [] and cluster.bindings(owner) == {}


def test_a_palette_kubeconfig_whose_server_url_has_user_information(cluster, palette_standin, uid, tmp_path):
    """Attack pass on the merged branches: a kubeconfig from Palette whose server URL carries user information
    (https://user:password@host, a proxy's habit; urllib3 never sends it, so the run works with the client
    certificate). Messages scrub it, but the validation result's and vmo_rbac_access_info's ``cluster`` field
    showed the URL as it was: in the task output and the fleet report's JSON (endpoint). Now the URL without
    its user information everywhere."""
    s = palette_standin
    project = s.add_project("userinfo-" + uid)
    record = s.add_cluster(project, "userinfo-" + uid, backing=cluster)
    password = "url-password-" + uuid.uuid4().hex
    leaks.register("the password in the server URL of a kubeconfig from Palette", password)
    doc = yaml.safe_load(record.kubeconfigs["admin"])
    doc["clusters"][0]["cluster"]["server"] = cluster.server.replace("https://", "https://me:%s@" % password)
    record.kubeconfigs["admin"] = yaml.safe_dump(doc)
    owner = "userinfo-" + uid
    palette = {"vmo_rbac_palette_kubeconfig": "admin", "vmo_rbac_palette_cluster_uid": record.uid,
               "vmo_rbac_palette_project_uid": project, "vmo_rbac_palette_ca_cert": s.ca_cert}
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {"east": dict(palette, **{
        "ansible_connection": "local", "vmo_rbac_owner": owner, "vmo_rbac_report_dir": str(tmp_path / "reports"),
        "vmo_rbac_report_formats": ["json", "markdown", "html", "junit"],
        "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["userinfo-" + uid]}]})}}}}}))
    env = {"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key}
    try:
        run = run_playbook("vmo.rbac.enforce", inventory=inv, args=["-vvvv"], env=env)
        assert run.rc == 0, run.stdout[-3000:]
        info = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "name": "who", "vmo.rbac.vmo_rbac_access_info": {
                "palette_kubeconfig": "admin", "palette_cluster_uid": record.uid, "palette_project_uid": project,
                "palette_ca_cert": s.ca_cert, "only_capabilities": ["vm.view"], "namespaces": ["default"]}}]}], env=env)
        assert info.rc == 0, info.stdout[-3000:]
        report = (tmp_path / "reports" / "vmo-rbac-report.json").read_text()
        assert json.loads(report)["clusters"][0]["endpoint"] == cluster.server.replace("https://", "https://***@")
        holders = info.task("who")["holders"]
        assert holders and {h["cluster"] for h in holders} == {cluster.server.replace("https://", "https://***@")}
        for shown in [run.stdout + run.stderr, info.stdout + info.stderr] + [
                p.read_text() for p in (tmp_path / "reports").iterdir()]:
            assert password not in shown
    finally:
        cluster.delete_bindings(owner)


# ---------------------------------------------------------- every entry point at -vvvv, every credential form


def test_every_entry_point_at_vvvv_shows_no_credential_in_any_form(cluster, namespaces, uid, tmp_path,
                                                                   palette_standin):
    """Beyond test_security.py's enforce and validate runs: at -vvvv, with the Ansible log on, each
    module and the palette backend given malformed credentials (a trailing newline, an inner CR, a
    character outside Latin-1; as an option, from K8S_AUTH_API_KEY, inside an inline kubeconfig,
    as a proxy password), wrong ones (401) and good ones; a module process (vmo_rbac_execution:
    module) with the token in the task's environment, which Ansible prints in its EXEC line at -vvv
    unless the action plugin hands it over through the process environment; and the inventory
    plugin with a pasted key. No form of any of these credentials is in stdout, stderr or the log;
    each failure names its option. (The whole suite's outputs are searched for every test credential
    at the end of the session too: tests/helpers/leaks.py.)"""
    ns = namespaces("vvvv")
    sa = cluster.service_account(ns, "vvvv")
    wrong = "wrong-vvvv-token-%s" % uuid.uuid4().hex
    pasted = "pasted-vvvv-token-%s" % uuid.uuid4().hex
    key = "pasted-vvvv-palette-key-%s" % uuid.uuid4().hex
    password = "proxy-password-%s" % uuid.uuid4().hex
    leaks.register("the tokens and keys of test_every_entry_point_at_vvvv", wrong, pasted, key, password)
    conn = {"host": cluster.server, "ca_cert": str(cluster.ca)}
    inline = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "c", "cluster": {"server": cluster.server, "certificate-authority": str(cluster.ca)}}],
              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
              "users": [{"name": "u", "user": {"token": pasted + "\u2603"}}]}
    decl = {"owner": "vvvv-" + uid, "bindings": [{"persona": "viewer", "groups": ["vvvv-" + uid], "namespaces": [ns]}]}
    rb, val, ai, roles = ("vmo.rbac.vmo_role_binding", "vmo.rbac.vmo_rbac_validate", "vmo.rbac.vmo_rbac_access_info",
                          "vmo.rbac.vmo_cluster_roles")
    tasks = [
        ("api_key with a trailing newline", rb, dict(conn, api_key=pasted + "\n", **decl), {}, "api_key"),
        ("K8S_AUTH_API_KEY with an inner CR", val, dict(conn, **decl), {"K8S_AUTH_API_KEY": pasted[:9] + "\r" + pasted[9:]},
         "api_key"),
        ("api_key outside Latin-1", ai, dict(conn, api_key=pasted + "\u00e9\u2603"), {}, "api_key"),
        ("inline kubeconfig token outside Latin-1", rb, dict(kubeconfig=inline, **decl), {}, "kubeconfig"),
        ("proxy password outside Latin-1", rb, dict(conn, api_key=sa.params["api_key"], proxy="http://127.0.0.1:9",
                                                    proxy_headers={"proxy_basic_auth": "me:" + password + "\u2603"},
                                                    **decl), {}, "proxy_headers.proxy_basic_auth"),
        ("palette_api_key with a trailing newline", rb, dict(conn, api_key=sa.params["api_key"], backend="palette",
                                                             palette_cluster_uid="a" * 24, palette_api_key=key + "\n",
                                                             **decl), {}, "palette_api_key"),
        ("a wrong token (401)", roles, dict(conn, api_key=wrong, roles=["console"]), {}, None),
        ("a good token, as a module process, from the task's environment", rb, dict(conn, **decl),
         {"K8S_AUTH_API_KEY": sa.params["api_key"]}, None),
        # without an action plugin (vmo_rbac_access_info had none), Ansible's EXEC line carried it (seen failing)
        ("vmo_rbac_access_info, as a module process, from the task's environment", ai,
         dict(conn, only_capabilities=["vm.view"], namespaces=[ns]), {"K8S_AUTH_API_KEY": sa.params["api_key"]}, None),
    ]
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {"vmo_rbac_execution": "module"}, "tasks": [
        {"name": name, module: args, "environment": env, "check_mode": True, "ignore_errors": True}
        for name, module, args, env, _field in tasks]}]
    log = tmp_path / "ansible.log"
    run = run_playbook(play, args=["-vvvv"], env={"ANSIBLE_LOG_PATH": str(log),
                                                  "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    assert len(run.results) == len(tasks), run.stdout[-3000:]
    for name, _module, _args, _env, field in tasks:
        res = run.task(name)
        if field:
            assert res.get("failed") and res["msg"].startswith(field + ": "), (name, res.get("msg"))
    assert run.task("a wrong token (401)")["status"] == 401
    assert "EXEC /bin/sh -c '" in run.stdout  # the module processes ran, at -vvv
    assert not run.task("a good token, as a module process, from the task's environment").get("failed") or \
        run.task("a good token, as a module process, from the task's environment").get("status") == 403

    # the inventory plugin, with the key pasted with its line break (from SPECTROCLOUD_APIKEY)
    inv = tmp_path / "fleet.palette.yml"
    inv.write_text(yaml.safe_dump({"plugin": "vmo.rbac.palette", "ca_cert": palette_standin.ca_cert}))
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inv), "--list", "-vvvv"], capture_output=True,
                          text=True, timeout=300, check=False, env=ansible_env({
                              "SPECTROCLOUD_HOST": palette_standin.url, "SPECTROCLOUD_APIKEY": key + "\n",
                              "ANSIBLE_INVENTORY_ENABLED": "vmo.rbac.palette", "ANSIBLE_LOG_PATH": str(log)}))
    assert "vmo.rbac.palette: api_key: the value (of the option, or of SPECTROCLOUD_APIKEY) contains a line break" \
        in " ".join((proc.stdout + proc.stderr).split()), proc.stderr[-2000:]

    credentials = {"the ServiceAccount token": sa.params["api_key"], "the wrong token": wrong,
                   "the pasted token": pasted, "the Palette key": key, "the proxy password": password}
    known = {a: what for what, value in credentials.items() for a in leaks.atoms(value)}
    outputs = {"stdout": run.stdout, "stderr": run.stderr, "the Ansible log": log.read_text(),
               "ansible-inventory": proc.stdout + proc.stderr}
    found = sorted((what, where) for where, text in outputs.items() for what in leaks.leaks_in(text, known))
    assert found == [], found
    print("\n-vvvv: %d KiB of output, %d credentials in %d forms, none shown"
          % (sum(len(t) for t in outputs.values()) // 1024, len(credentials), len(known)))
