"""Security (issue 6): least privilege of the shipped automation ClusterRole, privileged-grant
guards that cannot be talked around, and no credential in any output (docs/security.md).

Checked the way an auditor would: what the identity may do as `kubectl auth can-i --list` lists
it, what the API server let it do (audit log), and the text a human, a log file, AWX or a report
reader would see at -vvvv, including the failure paths (401, 403, unreachable API server).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes.client.rest import ApiException

from tests.helpers import leaks
from tests.helpers.ansible import run_playbook

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
AUTOMATION_ROLE = ROOT / "files" / "automation-clusterrole.yaml"
RBAC_GROUP = "rbac.authorization.k8s.io"
RB_MODULE = "vmo.rbac.vmo_role_binding"
VALIDATE_MODULE = "vmo.rbac.vmo_rbac_validate"
BINDINGS = ("clusterrolebindings.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io")
PERSONA_ROLES = ("admin", "edit", "view", "spectro-list-namespaces", "spectro-list-vmtemplates", "spectro-vm-admin",
                 "spectro-vm-power-user", "spectro-vm-user", "spectro-vm-viewer", "vmo-rbac-vm-console",
                 "vmo-rbac-golden-image")

# What the automation identity may do, and why (docs/security.md), beyond what every authenticated
# user may (system:basic-user, system:discovery, system:public-info-viewer): (resource, names, verbs).
EXPECTED_AUTOMATION = {
    # manage its bindings: list this owner's, list all (a same-name foreign one), create, replace,
    # delete, re-read one after a 409 conflict; watch this owner's (the event source, docs/eda.md)
    (BINDINGS[0], (), ("create", "delete", "get", "list", "update", "watch")),
    (BINDINGS[1], (), ("create", "delete", "get", "list", "update", "watch")),
    # what a plan depends on (watched by the event source for new namespaces and label changes)
    ("namespaces", (), ("list", "watch")),
    ("clusterroles.rbac.authorization.k8s.io", (), ("list",)),
    ("roles.rbac.authorization.k8s.io", (), ("list",)),
    # which KubeVirt release runs (vmo_rbac_validate with role_set kubernetes): the KubeVirt resources,
    # else whether KubeVirt's kubevirt.io:migrate and kubevirt.io:edit exist
    ("kubevirts.kubevirt.io", (), ("list",)),
    ("clusterroles.rbac.authorization.k8s.io", ("kubevirt.io:migrate",), ("get",)),
    ("clusterroles.rbac.authorization.k8s.io", ("kubevirt.io:edit",), ("get",)),
    # what subjects may do (vmo_rbac_validate)
    ("subjectaccessreviews.authorization.k8s.io", (), ("create",)),
    # where KubeVirt and CDI run, whose namespaces' ServiceAccounts are the platform's (the exclusive audit)
    ("apiservices.apiregistration.k8s.io", (), ("list",)),
    # grant the persona roles (and the console role), and nothing else without holding its permissions
    *(("clusterroles.rbac.authorization.k8s.io", (name,), ("bind",)) for name in PERSONA_ROLES),
}


# ----------------------------------------------------------------------------- helpers


def can_i_list(kubeconfig, namespace=None):
    """`kubectl auth can-i --list` as a set of (resource, non-resource URL, names, verbs)."""
    cmd = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "auth", "can-i", "--list"]
    if namespace:
        cmd += ["-n", namespace]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    rows = set()
    for line in out.splitlines()[1:]:
        m = re.match(r"^(\S+)?\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$", line)
        assert m, "cannot parse: %r" % line
        rows.add((m.group(1) or "", m.group(2), tuple(sorted(m.group(3).split())), tuple(sorted(m.group(4).split()))))
    return rows


def resource_rules(rows):
    return {(r, names, verbs) for r, url, names, verbs in rows if r}


def rules_of_manifest(path):
    """The automation ClusterRole's rules in the same shape as resource_rules()."""
    doc = yaml.safe_load(path.read_text())
    out = set()
    for rule in doc["rules"]:
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                full = res + ("." + group if group else "")
                for names in ([(n,) for n in rule.get("resourceNames", [])] or [()]):
                    out.add((full, names, tuple(sorted(rule["verbs"]))))
    return out


def bind_automation(cluster, name, subject):
    cluster.apply_manifest(AUTOMATION_ROLE)
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "vmo-rbac-automation"},
        "subjects": [subject]})


@pytest.fixture
def crbs(cluster):
    """Names of ClusterRoleBindings (and owners whose ones) to delete after the test."""
    made = {"names": [], "owners": []}
    yield made
    rbac = cluster.rbac()
    for owner in made["owners"]:
        made["names"] += [i.metadata.name for i in rbac.list_cluster_role_binding(
            label_selector="vmo.rbac/owner=" + owner).items]
    for name in set(made["names"]):
        try:
            rbac.delete_cluster_role_binding(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


def json_doc(stdout):
    """The vmo_json callback's document at the end of a (possibly -vvvv) stdout."""
    return json.loads(stdout[stdout.rindex("\n{\n") + 1:])


def results_of(doc):
    return [(t["task"]["name"], host, res) for play in doc["plays"] for t in play["tasks"]
            for host, res in t["hosts"].items()]


# ------------------------------------------------------------------------ least privilege


@pytest.mark.slow  # started first (tests/conftest.py)
def test_automation_role_grants_exactly_what_the_documented_uses_need(cluster, namespaces, owner, uid, crbs,
                                                                       tmp_path):
    """Bound to a client-certificate identity outside system:masters, files/automation-clusterrole.yaml:
    (1) is, per `kubectl auth can-i --list` (cluster-wide and in a namespace), exactly the expected
    list on top of what every authenticated user may do; (2) suffices for every documented use,
    run through the role and the modules: enforce with the vmo role set (legacy dashboard bindings
    too), the kubernetes role set in check mode and for real with purge, the validate playbook, and
    vmo_rbac_validate with audit_privileged and audit_exclusive; the API server refused the identity nothing."""
    ns1, ns2 = namespaces("lp-a", "lp-b")
    group = "automation-" + uid
    bot = cluster.identity("vmo-bot-" + uid, groups=[group])
    nobody = cluster.identity("vmo-nobody-" + uid, groups=[])
    bind_automation(cluster, "it-lp-" + uid, {"apiGroup": RBAC_GROUP, "kind": "Group", "name": group})
    crbs["names"].append("it-lp-" + uid)
    crbs["owners"].append(owner)

    # (1) exactly the expected list, and the shipped file says the same
    baseline = can_i_list(nobody.kubeconfig)

    def everyone_may(rule, rules):
        return any(r[0] == rule[0] and r[1] == rule[1] and set(rule[2]) <= set(r[2]) for r in rules)

    # KubeVirt's own kubevirt.io:default lets every authenticated user get and list kubevirts: there the
    # automation role's rule adds nothing (it is in the file for clusters where that role is narrowed)
    by_everyone = {r for r in EXPECTED_AUTOMATION if everyone_may(r, resource_rules(baseline))}
    assert by_everyone <= {("kubevirts.kubevirt.io", (), ("list",))}, by_everyone
    expected = EXPECTED_AUTOMATION - by_everyone
    for where in (None, ns1):
        rows = can_i_list(bot.kubeconfig, where)
        extra = resource_rules(rows) - resource_rules(baseline)
        assert extra == expected, {"unexpected": extra - expected, "missing": expected - extra}
        assert {r for r in rows if not r[0]} == {r for r in baseline if not r[0]}  # no extra non-resource URL
    file_rules = rules_of_manifest(AUTOMATION_ROLE)
    assert {r for r in file_rules if not everyone_may(r, resource_rules(baseline))} == expected
    assert file_rules >= EXPECTED_AUTOMATION
    # The selfsubjectreviews rule is also granted to everyone by system:basic-user; it is in the file
    # so that the module can name its identity where an administrator narrowed basic-user.
    assert {r for r in file_rules if everyone_may(r, resource_rules(baseline))} == \
        {("selfsubjectreviews.authentication.k8s.io", (), ("create",))} | by_everyone
    for verb, res, group_ in (("get", "secrets", ""), ("list", "secrets", ""), ("create", "clusterroles", RBAC_GROUP),
                              ("escalate", "clusterroles", RBAC_GROUP), ("impersonate", "users", ""),
                              ("patch", "clusterrolebindings", RBAC_GROUP), ("watch", "roles", RBAC_GROUP),
                              ("create", "pods", ""), ("delete", "namespaces", ""),
                              ("get", "virtualmachines", "kubevirt.io")):
        assert not cluster.can(bot.user, verb, res, group_, namespace=ns1, groups=[group, "system:authenticated"]), \
            (verb, res)

    # (2) every documented use, as that identity
    inv = tmp_path / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    grants = [
        {"persona": "admin", "groups": ["admins-" + uid]},
        {"persona": "power-user", "groups": ["pu-" + uid], "namespaces": [ns1]},
        {"persona": "user", "users": ["u-" + uid], "namespaces": [ns1, ns2]},
        {"persona": "viewer", "groups": ["v-" + uid], "namespace_regex": "/^lp-[ab]-%s$/" % uid},
    ]
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {"vmo1": {
        "ansible_connection": "local", "vmo_rbac_owner": owner, "vmo_rbac_bindings": grants,
        "vmo_rbac_legacy_dashboard_bindings": True, "vmo_rbac_report_dir": str(tmp_path / "reports"),
        **{"vmo_rbac_" + k: v for k, v in bot.params.items()}}}}}}}))
    kube = {"vmo_rbac_role_set": "kubernetes", "vmo_rbac_purge": True, "vmo_rbac_legacy_dashboard_bindings": False,
            "vmo_rbac_bindings": grants[1:]}  # the kubernetes admin persona is cluster-admin: not for this identity
    play = [
        {"import_playbook": "vmo.rbac.enforce"},
        # (play-level check_mode does not set ansible_check_mode, so the role cannot tell the drift
        # it only planned from real drift: do not fail on it here)
        {"name": "kubernetes role set, check mode", "hosts": "vmo_clusters", "gather_facts": False,
         "check_mode": True, "vars": dict(kube, vmo_rbac_fail_on_drift=False),
         "roles": [{"role": "vmo.rbac.vmo_rbac", "vmo_rbac_mode": "enforce"}]},
        {"name": "kubernetes role set", "hosts": "vmo_clusters", "gather_facts": False, "vars": kube,
         "roles": [{"role": "vmo.rbac.vmo_rbac", "vmo_rbac_mode": "enforce"}]},
        {"import_playbook": "vmo.rbac.validate", "vars": kube},
        {"name": "audit_privileged", "hosts": "vmo_clusters", "gather_facts": False, "tasks": [
            {"name": "validate with audit_privileged", VALIDATE_MODULE: {
                **{k: "{{ vmo_rbac_%s }}" % k for k in bot.params}, "owner": "{{ vmo_rbac_owner }}",
                "role_set": "kubernetes", "bindings": grants[1:], "audit_privileged": True}},
            {"name": "validate with audit_exclusive", VALIDATE_MODULE: {
                **{k: "{{ vmo_rbac_%s }}" % k for k in bot.params}, "owner": "{{ vmo_rbac_owner }}",
                "role_set": "kubernetes", "bindings": grants[1:], "audit_exclusive": True, "fail_on_drift": False}}]},
    ]
    audit = cluster.audit()
    run = run_playbook(play, inventory=inv, timeout=900)
    assert run.rc == 0, "rc=%s\n%s\n%s" % (run.rc, run.stdout[-5000:], run.stderr[-2000:])
    enforced = [r["result"] for r in run.results if r["task"].endswith("Enforce | Make the cluster hold exactly "
                                                                       "the declared bindings")
                and not r["result"].get("skipped")]
    assert [r.get("changed") for r in enforced] == [True, True, True]
    assert enforced[0]["summary"]["created"] == 8  # admin CRB, RBs: power-user 1, user 2, viewer 2 (regex); 2 legacy
    assert enforced[1]["actions"] == enforced[2]["actions"]  # check mode predicted the real run
    privileged = run.task("validate with audit_privileged")
    assert privileged["passed"] is True and any(p["role"] == "cluster-admin" for p in privileged["privileged"])
    exclusive = run.task("validate with audit_exclusive")  # the shared cluster has undeclared holders: fine
    assert "who_else_summary" in exclusive and not any("APIServices" in w for w in exclusive.get("warnings", []))
    held = {k: v["roleRef"]["name"] for k, v in cluster.bindings(owner).items()}
    assert sorted(set(held.values())) == ["admin", "edit", "view"]

    events = audit.events(user=bot.user)
    codes = sorted(set((e["responseStatus"]["code"]) for e in events))
    assert all(200 <= c < 300 for c in codes), [(e["verb"], e["requestURI"], e["responseStatus"]["code"])
                                                for e in events if e["responseStatus"]["code"] >= 300]
    written = {(e["objectRef"].get("namespace", ""), e["objectRef"]["name"]) for e in events
               if e["verb"] in ("create", "update", "delete") and e["objectRef"]["resource"] in
               ("clusterrolebindings", "rolebindings")}
    assert written and all(name.startswith(owner + "-") for _ns, name in written), written
    print("\nleast privilege: %d requests by the automation identity, status codes %s, %d bindings written"
          % (len(events), codes, len(written)))


# ------------------------------------------------------------------------ guards


def test_privileged_grant_guards_cannot_be_talked_around(cluster, owner, uid):
    """Beyond test_role_binding's guard test: the everyone-groups through the general subject
    form, through an OIDC prefix that spells them, and the cluster-admin grant through
    cluster_role, the kubernetes admin persona and a named binding, all refused before the first
    request. Look-alikes that are other names to the API server (case, a Cyrillic letter) are
    not the privileged groups and are not refused (planned, in check mode)."""
    ident = cluster.identity("guard-" + uid)
    base = dict(ident.params, owner=owner)
    attempts = {
        "subjects: Group system:authenticated": dict(base, bindings=[
            {"persona": "viewer", "subjects": [{"kind": "Group", "name": "system:authenticated"}]}]),
        "subjects: Group system:unauthenticated": dict(base, bindings=[
            {"persona": "viewer", "subjects": [{"kind": "Group", "name": "system:unauthenticated"}],
             "namespaces": ["default"]}]),
        "subjects: User system:anonymous": dict(base, bindings=[
            {"persona": "viewer", "subjects": [{"kind": "User", "name": "system:anonymous"}]}]),
        "oidc_group_prefix spells system:authenticated": dict(base, oidc_group_prefix="system:", bindings=[
            {"persona": "viewer", "groups": ["authenticated"]}]),
        "oidc_group_prefix spells system:serviceaccounts": dict(base, oidc_group_prefix="system:", bindings=[
            {"persona": "user", "groups": ["serviceaccounts"], "namespaces": ["default"]}]),
        "oidc_user_prefix spells system:anonymous": dict(base, oidc_user_prefix="system:", bindings=[
            {"persona": "viewer", "users": ["anonymous"]}]),
        "cluster_role: cluster-admin, named binding": dict(base, bindings=[
            {"name": "innocent-" + uid, "cluster_role": "cluster-admin", "groups": ["ops-" + uid]}]),
        "kubernetes admin persona, OIDC prefixed group": dict(base, role_set="kubernetes", oidc_group_prefix="oidc:",
                                                               bindings=[{"persona": "admin", "groups": ["ops"]}]),
        "legacy bindings do not launder a refused grant": dict(base, legacy_dashboard_bindings=True, bindings=[
            {"persona": "viewer", "groups": ["system:authenticated"]}]),
    }
    lookalikes = {
        "System:Authenticated (case)": dict(base, bindings=[
            {"persona": "viewer", "groups": ["System:Authenticated"]}]),
        "\u0455ystem:authenticated (Cyrillic s)": dict(base, bindings=[
            {"persona": "viewer", "groups": ["\u0455ystem:authenticated"]}]),
    }
    tasks = [{"name": n, RB_MODULE: a, "ignore_errors": True} for n, a in attempts.items()]
    tasks += [{"name": n, RB_MODULE: a, "ignore_errors": True, "check_mode": True} for n, a in lookalikes.items()]
    audit = cluster.audit()
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    assert len(run.results) == len(tasks), run.stderr[-2000:]
    for name in attempts:
        res = run.task(name)
        assert res.get("failed"), "%s was not refused: %s" % (name, res.get("actions"))
        assert "allow_privileged" in res["msg"], (name, res["msg"])
        assert res["field"].startswith("bindings[0]"), (name, res["field"])
    for name in lookalikes:
        res = run.task(name)
        assert not res.get("failed"), (name, res.get("msg"))
    # The refused ones never reached the cluster; the look-alikes only read (check mode).
    events = audit.events(user=ident.user)
    assert all(e["verb"] in ("list", "get") for e in events), [(e["verb"], e["requestURI"]) for e in events]
    assert cluster.bindings(owner) == {}


# ------------------------------------------------------------------- no secret in any output


def _b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _key_fragments(pem):
    """The private key as it could leak: whole, its base64 body, each line of it, its base64 encoding."""
    body = [ln for ln in pem.strip().splitlines() if not ln.startswith("-----")]
    return [pem.strip(), "".join(body), _b64(pem)] + [ln for ln in body if len(ln) >= 16]


@pytest.fixture
def secret_setup(cluster, namespaces, owner, uid, crbs, tmp_path):
    """Seven clusters (inventory hosts, all vmo-1) with seven ways to authenticate, four that work
    and three that fail (401, 403, unreachable), and every secret they carry."""
    ns = namespaces("sec")
    crbs["owners"] += [owner + "-" + h for h in ("token", "cert", "kcdict", "kctoken")]
    sa = cluster.service_account(ns, "vmo-rbac")
    kc_sa = cluster.service_account(ns, "vmo-rbac-kc")
    forbidden_sa = cluster.service_account(ns, "no-rights")  # authenticated, bound to nothing
    group = "automation-sec-" + uid
    bot = cluster.identity("vmo-sec-bot-" + uid, groups=[group])
    kc_ident = cluster.identity("vmo-sec-kc-" + uid, groups=[group])
    for name, subject in (("it-sec-g-" + uid, {"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}),
                          ("it-sec-sa-" + uid, {"kind": "ServiceAccount", "name": "vmo-rbac", "namespace": ns}),
                          ("it-sec-kc-" + uid, {"kind": "ServiceAccount", "name": "vmo-rbac-kc", "namespace": ns})):
        bind_automation(cluster, name, subject)
        crbs["names"].append(name)

    bogus = "vmo-bogus-%s-%s" % (uid, secrets.token_hex(16))
    unreachable_token = "vmo-unreach-%s-%s" % (uid, secrets.token_hex(16))
    kc_bad_token = "vmo-kcbad-%s-%s" % (uid, secrets.token_hex(16))
    leaks.register("the wrong tokens of test_no_secret_in_any_output", bogus, unreachable_token, kc_bad_token)
    ca_data = _b64(cluster.ca.read_bytes())
    cert_pem = Path(kc_ident.params["client_cert"]).read_text()
    key_pem = Path(kc_ident.params["client_key"]).read_text()

    def kubeconfig(user):
        return {"apiVersion": "v1", "kind": "Config", "current-context": "sec",
                "clusters": [{"name": "sec-cluster", "cluster": {"server": cluster.server,
                                                                 "certificate-authority-data": ca_data}}],
                "contexts": [{"name": "sec", "context": {"cluster": "sec-cluster", "user": "sec-user"}}],
                "users": [{"name": "sec-user", "user": user}]}

    hosts = {
        "token": {"vmo_rbac_host": cluster.server, "vmo_rbac_ca_cert": str(cluster.ca),
                  "vmo_rbac_api_key": sa.params["api_key"]},
        "cert": {"vmo_rbac_" + k: v for k, v in bot.params.items()},
        "kcdict": {"vmo_rbac_kubeconfig": kubeconfig({"client-certificate-data": _b64(cert_pem),
                                                      "client-key-data": _b64(key_pem),
                                                      "token": kc_sa.params["api_key"]})},
        "kctoken": {"vmo_rbac_kubeconfig": kubeconfig({"token": kc_sa.params["api_key"]})},
        "wrong-token": {"vmo_rbac_host": cluster.server, "vmo_rbac_ca_cert": str(cluster.ca),
                        "vmo_rbac_api_key": bogus},
        "kc-wrong-token": {"vmo_rbac_kubeconfig": kubeconfig({"token": kc_bad_token})},
        "forbidden": {"vmo_rbac_host": cluster.server, "vmo_rbac_ca_cert": str(cluster.ca),
                      "vmo_rbac_api_key": forbidden_sa.params["api_key"]},
        "unreachable": {"vmo_rbac_host": "https://127.0.0.1:1", "vmo_rbac_ca_cert": str(cluster.ca),
                        "vmo_rbac_api_key": unreachable_token, "vmo_rbac_api_retries": 1},
    }
    for h, hv in hosts.items():
        hv.update({"ansible_connection": "local", "vmo_rbac_owner": "%s-%s" % (owner, h),
                   "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["sec-%s-%s" % (h, uid)],
                                          "namespaces": [ns]}]})
    reports = tmp_path / "reports"
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": hosts}},
                                           "vars": {"vmo_rbac_report_dir": str(reports),
                                                    "vmo_rbac_report_formats": ["markdown", "html", "junit",
                                                                                "json"]}}}))
    secrets_ = {"ServiceAccount token": [sa.params["api_key"]],
                "kubeconfig token": [kc_sa.params["api_key"]],
                "rejected token": [bogus, kc_bad_token],
                "forbidden identity's token": [forbidden_sa.params["api_key"]],
                "token sent to an unreachable host": [unreachable_token],
                "client key file": _key_fragments(Path(bot.params["client_key"]).read_text()),
                "client-key-data": _key_fragments(key_pem)}
    return {"inventory": inv, "reports": reports, "secrets": secrets_, "hosts": hosts, "bot": bot,
            "kc_ident": kc_ident, "ns": ns}


def _leaks(texts, secrets_):
    found = []
    for where, text in texts.items():
        for what, values in secrets_.items():
            for v in values:
                if v and v in text:
                    found.append("%s in %s" % (what, where))
    return sorted(set(found))


def _outputs(run, log, reports):
    texts = {"stdout": run.stdout, "stderr": run.stderr, "log file": log.read_text() if log.exists() else ""}
    for f in sorted(reports.glob("*")):
        texts["report " + f.name] = f.read_text()
    return texts


@pytest.mark.slow  # started first (tests/conftest.py)
def test_no_secret_in_any_output(cluster, secret_setup, tmp_path):
    """The enforce playbook (human output, -vvvv, and a log file), then the validate playbook and
    both modules directly (JSON results, -vvvv), over eight ways to connect: a ServiceAccount
    token, a client certificate and key, an inline kubeconfig with client-key-data and a token, an
    inline kubeconfig with a token, and the failures: a wrong token (401), a wrong token in an
    inline kubeconfig, an identity without rights (403), an unreachable API server. No token and
    no part of a private key appears in stdout, stderr, the log, the results or the report files;
    the failures still say what went wrong, and the inline kubeconfig's names stay readable."""
    s = secret_setup
    hosts = sorted(s["hosts"])
    log = tmp_path / "ansible.log"
    env = {"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_LOG_PATH": str(log)}
    enforce = run_playbook("vmo.rbac.enforce", inventory=s["inventory"], env=env, args=["-vvvv", "-f", "8"],
                           timeout=900)
    assert enforce.rc != 0  # the failure paths fail their clusters
    leaks = _leaks(_outputs(enforce, log, s["reports"]), s["secrets"])
    assert leaks == [], leaks
    text = enforce.stdout
    # The working ones worked, the failing ones say why (names, never secrets).
    recap = {m.group(1): m.group(2) for m in re.finditer(r"^(\S+)\s*:\s*(ok=.*)$", text, re.M)}
    for h in ("token", "cert", "kcdict", "kctoken"):
        assert re.match(r"ok=\d+\s+changed=1\s+unreachable=0\s+failed=0", recap[h]), (h, recap[h])
    for h in ("wrong-token", "kc-wrong-token", "forbidden", "unreachable"):
        assert re.match(r"ok=\d+\s+changed=0\s+unreachable=0\s+failed=1", recap[h]), (h, recap[h])
    assert "401 Unauthorized" in text and "bearer token" in text
    assert ("forbidden: user 'system:serviceaccount:%s:no-rights' (groups: system:serviceaccounts, "
            "system:serviceaccounts:%s) may not list namespaces" % (s["ns"], s["ns"])) in text
    assert "401 Unauthorized; inline kubeconfig, bearer token" in text  # the token of an inline kubeconfig
    assert "cannot reach the API server at https://127.0.0.1:1" in text
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in text  # the tokens were there, masked
    for f in ("vmo-rbac-report.md", "vmo-rbac-report.html", "vmo-rbac-report.xml", "vmo-rbac-report.json"):
        assert (s["reports"] / f).exists(), f
    report = json.loads((s["reports"] / "vmo-rbac-report.json").read_text())
    assert {c["cluster"] for c in report["clusters"]} == set(hosts)

    # Validate playbook, then both modules directly, with JSON results, still at -vvvv.
    conn = ["host", "ca_cert", "api_key", "client_cert", "client_key", "kubeconfig", "api_retries"]
    args = {k: "{{ vmo_rbac_%s | default(omit) }}" % k for k in conn}
    args.update(owner="{{ vmo_rbac_owner }}", bindings="{{ vmo_rbac_bindings }}")
    # (the modules' play first: hosts that fail a play take no part in the plays after it)
    play = [{"name": "modules", "hosts": "vmo_clusters", "gather_facts": False, "tasks": [
                {"name": "check mode enforce", RB_MODULE: args, "check_mode": True, "diff": True,
                 "ignore_errors": True, "register": "checked"},
                {"name": "validate", VALIDATE_MODULE: dict(args, audit_privileged=True, fail_on_drift=False),
                 "ignore_errors": True},
                {"name": "show what was registered", "ansible.builtin.debug": {"var": "checked"}},
            ]},
            {"import_playbook": "vmo.rbac.validate"}]
    log.unlink()
    for f in s["reports"].glob("*"):
        f.unlink()
    env["ANSIBLE_STDOUT_CALLBACK"] = "vmo_json"
    run = run_playbook(play, inventory=s["inventory"], env=env, args=["-vvvv", "-f", "8"], timeout=900)
    texts = _outputs(run, log, s["reports"])
    doc = json_doc(run.stdout)
    texts["results"] = json.dumps(doc)
    leaks = _leaks(texts, s["secrets"])
    assert leaks == [], leaks
    by = {(task, host): res for task, host, res in results_of(doc)}
    for h in ("token", "cert", "kcdict", "kctoken"):
        assert not by[("validate", h)].get("failed"), (h, by[("validate", h)].get("msg"))
        assert by[("validate", h)]["passed"] is True, (h, by[("validate", h)]["msg"])
    assert by[("validate", "wrong-token")]["status"] == 401
    assert by[("validate", "forbidden")]["status"] == 403
    assert by[("validate", "unreachable")]["failed"]
    # The inline kubeconfig's names and server are readable in the results, its credentials are not.
    kc_args = by[("check mode enforce", "kcdict")]["invocation"]["module_args"]["kubeconfig"]
    assert kc_args["clusters"][0]["cluster"]["server"] == cluster.server
    assert kc_args["current-context"] == "sec" and kc_args["apiVersion"] == "v1"
    user = kc_args["users"][0]["user"]
    assert set(user.values()) == {"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}, user
    assert "********" not in by[("validate", "kc-wrong-token")]["msg"], by[("validate", "kc-wrong-token")]["msg"]
    assert by[("validate", "kc-wrong-token")]["status"] == 401
    print("\nno secret in %d KiB of -vvvv output, %d report files, %d results"
          % ((len(enforce.stdout) + len(run.stdout)) // 1024, len(list(s["reports"].glob("*"))),
             len(results_of(doc))))
