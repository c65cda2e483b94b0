"""Time-limited and break-glass grants on the real control plane.

The modules take the time of a run from the clock, or from ``VMO_RBAC_TEST_NOW`` (a later time: the
test clock only moves forward), so that "time passes" is one environment variable, not hours of
sleep. Everything else is real: the grants go through ansible-playbook and ansible-runner, the
bindings are read from the API server, access is asked with SubjectAccessReviews, and "writes
nothing" is counted in the audit log by the user name of the identity the modules ran as.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ansible_runner
import pytest
import yaml
from kubernetes.client.rest import ApiException

from tests.helpers.ansible import ansible_env, failed, ok, run_module, run_playbook
from tests.helpers.kube import binding_manifest

ROOT = Path(__file__).resolve().parents[2]
SURVEY = ROOT / "files" / "break-glass-survey.json"
MODULE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
CRB, RB = "ClusterRoleBinding", "RoleBinding"
KUBEVIRT_SUB = "subresources.kubevirt.io"
ENFORCE = "vmo.rbac.vmo_rbac : Enforce | Make the cluster hold exactly the declared bindings"


# ---------------------------------------------------------------------------- helpers


def utc_now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def rfc3339(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def clock(t):
    """The environment that makes the modules run at time ``t``."""
    return {"VMO_RBAC_TEST_NOW": rfc3339(t)}


def read(cluster, kind, ns, name):
    rbac = cluster.rbac()
    try:
        obj = rbac.read_cluster_role_binding(name) if kind == CRB else rbac.read_namespaced_role_binding(name, ns)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return cluster.admin.sanitize_for_serialization(obj)


def can_power(cluster, user, ns):
    """May ``user`` start VMs in ``ns`` (the user persona's vm.power)? Asked of the API server."""
    return cluster.can(user, "update", "virtualmachines", KUBEVIRT_SUB, ns, subresource="start")


def writes(audit, ident):
    return [(e["verb"], (e.get("objectRef") or {}).get("resource"), (e.get("objectRef") or {}).get("name"))
            for e in audit.writes(user=ident.user)]


# ------------------------------------------------------------------------ the modules


def test_a_grant_with_expiry_is_in_force_until_its_time_and_the_next_run_removes_it(cluster, namespaces, owner,
                                                                                      uid):
    ns = namespaces("tl")
    ident = cluster.identity("tl-" + uid)
    temp, perm = "temp-%s@example.com" % uid, "perm-%s@example.com" % uid
    bindings = [{"persona": "user", "users": [temp], "namespaces": [ns], "expires": "2h", "reason": "INC-" + uid},
                {"persona": "user", "users": [perm], "namespaces": [ns]}]
    args = dict(ident.params, owner=owner, bindings=bindings)
    name = "%s-spectro-vm-user-expiring" % owner

    before = utc_now()
    made = ok(run_module(MODULE, args))
    assert made["summary"]["created"] == 2, made["actions"]
    obj = read(cluster, RB, ns, name)
    meta = obj["metadata"]
    granted = parse(meta["annotations"]["vmo.rbac/granted-at"])
    assert before <= granted <= utc_now()
    assert meta["annotations"]["vmo.rbac/expires"] == rfc3339(granted + timedelta(hours=2))
    assert meta["annotations"]["vmo.rbac/reason"] == "INC-" + uid
    assert meta["labels"]["vmo.rbac/time-limited"] == "true"
    assert [s["name"] for s in obj["subjects"]] == [temp]
    assert can_power(cluster, temp, ns) and can_power(cluster, perm, ns)
    permanent = read(cluster, RB, ns, "%s-spectro-vm-user" % owner)
    assert [s["name"] for s in permanent["subjects"]] == [perm]  # its own binding, with no end
    assert "vmo.rbac/expires" not in (permanent["metadata"].get("annotations") or {})

    # An hour later: in force, nothing to write (the recorded start is kept), validation passes and says
    # how long is left.
    audit = cluster.audit()
    hour = clock(granted + timedelta(hours=1))
    again = ok(run_module(MODULE, args, env=hour))
    assert again["changed"] is False and writes(audit, ident) == []
    assert any("VMO_RBAC_TEST_NOW" in w for w in again.get("warnings", [])), again.get("warnings")
    seen = ok(run_module(VALIDATE, args, env=hour))
    limited = [t for t in seen["time_limited"] if t["name"] == name]
    assert [(t["state"], t["seconds_left"], t["reason"]) for t in limited] == [("active", 3600, "INC-" + uid)]
    assert "1 time-limited grant in force, the next ends in 1h" in seen["msg"]

    # Its time has passed, no run yet: validation flags the grant still present; check mode and diff
    # mode show the removal and write nothing.
    late = clock(granted + timedelta(hours=2, minutes=1))
    audit = cluster.audit()
    seen = run_module(VALIDATE, dict(args, fail_on_drift=False), env=late)
    assert seen["passed"] is False and seen["summary"]["overdue"] == 1
    assert [(d["action"], d["name"]) for d in seen["drift"]] == [("expire", name)]
    assert "still grants User " + temp in seen["drift"][0]["problem"]
    overdue = [t for t in seen["time_limited"] if t["name"] == name][0]
    assert overdue["state"] == "overdue" and overdue["violation"] is True and overdue["time_left"] == "expired 1m ago"
    preview = ok(run_module(MODULE, args, check=True, diff=True, env=late))
    assert preview["changed"] is True and preview["summary"]["expired"] == 1
    assert [(a["action"], a["name"], a["reason"]) for a in preview["actions"]] == [
        ("update", name, "expired at %s" % rfc3339(granted + timedelta(hours=2)))]
    assert any(temp in d["before"] and "subjects: []" in d["after"] for d in preview["diff"])
    assert writes(audit, ident) == []
    assert can_power(cluster, temp, ns)

    # The next run removes it: one write, access gone, the permanent grant untouched.
    audit = cluster.audit()
    done = ok(run_module(MODULE, args, env=late))
    assert done["summary"]["expired"] == 1 and done["summary"]["unchanged"] == 1
    assert writes(audit, ident) == [("update", "rolebindings", name)]
    assert not can_power(cluster, temp, ns)
    assert can_power(cluster, perm, ns)
    assert not read(cluster, RB, ns, name).get("subjects")  # the record stays, granting nothing

    # A day later, the entry still in the inventory: nothing to do, a warning, validation passes.
    audit = cluster.audit()
    day = clock(granted + timedelta(hours=30))
    after = ok(run_module(MODULE, args, env=day))
    assert after["changed"] is False and writes(audit, ident) == []
    assert any("bindings[0]: expired at" in w and "remove the entry" in w for w in after["warnings"])
    seen = ok(run_module(VALIDATE, args, env=day))
    assert [t["state"] for t in seen["time_limited"] if t["name"] == name] == ["ended"]
    assert not can_power(cluster, temp, ns)


def test_undeclared_grants_end_by_themselves_and_a_past_test_clock_is_refused(cluster, namespaces, owner, uid):
    ns = namespaces("tl-u")
    ident = cluster.identity("tl-u-" + uid)
    user = "gone-%s@example.com" % uid
    end = utc_now() + timedelta(minutes=30)
    ok(run_module(MODULE, dict(ident.params, owner=owner, bindings=[
        {"persona": "user", "users": [user], "namespaces": [ns], "expires": rfc3339(end), "name": "tl-" + uid}])))
    assert can_power(cluster, user, ns)
    nothing = dict(ident.params, owner=owner, bindings=[])
    audit = cluster.audit()
    assert ok(run_module(MODULE, nothing))["changed"] is False  # in force: not purged, not ended
    refused = run_module(MODULE, nothing, env=clock(utc_now() - timedelta(hours=1)))
    assert "only moves time forward" in failed(refused)
    assert writes(audit, ident) == []
    swept = ok(run_module(MODULE, nothing, env=clock(end + timedelta(seconds=1))))
    assert [(a["action"], a["name"]) for a in swept["actions"]] == [("delete", "tl-" + uid)]
    assert swept["summary"]["expired"] == 1
    assert read(cluster, RB, ns, "tl-" + uid) is None and not can_power(cluster, user, ns)


# -------------------------------------------------------------------------- the role


def test_the_role_passes_expires_through_and_check_mode_writes_nothing(cluster, namespaces, owner, uid, tmp_path):
    ns = namespaces("tl-r")
    ident = cluster.identity("tl-r-" + uid)
    user = "role-%s@example.com" % uid
    end = utc_now() + timedelta(hours=3)
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            **{"vmo_rbac_" + k: v for k, v in ident.params.items()}}
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {
        "tl-" + uid: host}}}}}))
    # The end written as YAML users write it, unquoted: YAML reads it as a timestamp, Ansible passes it on.
    (inv / "group_vars" / "vmo_clusters.yml").write_text(
        "vmo_rbac_owner: %s\nvmo_rbac_report_dir: %s\nvmo_rbac_report_formats: [markdown, json]\n"
        "vmo_rbac_max_duration: 1d\n"
        "vmo_rbac_bindings:\n  - persona: user\n    users: [%s]\n    namespaces: [%s]\n"
        "    expires: %s\n    reason: change CHG-%s\n" % (owner, tmp_path / "reports", user, ns, rfc3339(end), uid))
    name = "%s-spectro-vm-user-expiring" % owner

    run = run_playbook("vmo.rbac.enforce", inventory=inv)
    assert run.rc == 0, run.stdout[-3000:]
    assert read(cluster, RB, ns, name)["metadata"]["annotations"]["vmo.rbac/expires"] == rfc3339(end)
    assert can_power(cluster, user, ns)
    report = (tmp_path / "reports" / "vmo-rbac-report.md").read_text()
    assert "### Time-limited grants (1)" in report and "change CHG-" + uid in report
    fleet = json.loads((tmp_path / "reports" / "vmo-rbac-report.json").read_text())["fleet"]
    assert (fleet["time_limited"], fleet["overdue"]) == (1, 0)

    # After its end, under --check: the enforce step plans the removal, validation calls it pending (not a
    # failure of this run), nothing is written.
    late = clock(end + timedelta(minutes=5))
    audit = cluster.audit()
    preview = run_playbook("vmo.rbac.enforce", inventory=inv, check=True, env=late)
    assert preview.rc == 0, preview.stdout[-3000:]
    planned = preview.task(ENFORCE)
    assert planned["summary"]["expired"] == 1 and planned["changed"] is True
    assert writes(audit, ident) == [] and can_power(cluster, user, ns)

    # The read-only drift check (vmo.rbac.validate) fails the cluster: an expired grant still present.
    check = run_playbook("vmo.rbac.validate", inventory=inv, env=late)
    assert check.rc != 0
    report = (tmp_path / "reports" / "vmo-rbac-report.md").read_text()
    assert "**overdue**" in report and "1 time-limited grants, 1 overdue" in report
    assert writes(audit, ident) == []

    # The scheduled run removes it.
    done = run_playbook("vmo.rbac.enforce", inventory=inv, env=late)
    assert done.rc == 0, done.stdout[-3000:]
    assert done.task(ENFORCE)["summary"]["expired"] == 1
    assert not can_power(cluster, user, ns)
    report = (tmp_path / "reports" / "vmo-rbac-report.md").read_text()
    assert "| ended |" in report


# ---------------------------------------------------------------------- break-glass


class Unsafe(str):
    """A survey answer: AWX marks what a survey (or a prompt) supplies unsafe, so that it is never templated
    (ALLOW_JINJA_IN_EXTRA_VARS: its default "template" allows Jinja only in the job template's own variables)."""


class _ExtraVarsDumper(yaml.SafeDumper):
    pass


_ExtraVarsDumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def survey_answers(**answers):
    """Extra variables as an AWX survey sends them: every question's variable, answered or defaulted, each marked
    unsafe as AWX marks them."""
    spec = json.loads(SURVEY.read_text())["spec"]
    out = {}
    for q in spec:
        value = answers.pop(q["variable"], q.get("default", ""))
        if q["required"]:
            assert value not in ("", None), q["variable"]
        if q["type"] == "multiplechoice":
            assert value in q["choices"], (q["variable"], value)
        if q["type"] in ("text", "textarea"):
            assert q.get("min", 0) <= len(value) <= q["max"], (q["variable"], value)
        out[q["variable"]] = Unsafe(value) if isinstance(value, str) else value
    assert not answers, "not survey questions: %s" % sorted(answers)
    return out


def break_glass(tmp_path, cluster, ident, hostname, extravars, env=None, check=False, inventory_vars=None):
    """vmo.rbac.break_glass through ansible-runner, with a private data directory as AWX lays it out;
    ``inventory_vars``: the host's inventory variables besides its connection (the inventory's settings)."""
    pdd = tmp_path / ("pdd-%d" % len(list(tmp_path.glob("pdd-*"))))
    for d in ("env", "inventory", "project"):
        (pdd / d).mkdir(parents=True)
    e = ansible_env()
    envvars = {k: e[k] for k in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "ANSIBLE_HOME",
                                 "ANSIBLE_LOCAL_TEMP", "PATH")}
    envvars.update(env or {})
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (pdd / "env" / "extravars").write_text(yaml.dump(extravars, Dumper=_ExtraVarsDumper))
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            **{"vmo_rbac_" + k: v for k, v in ident.params.items()}, **(inventory_vars or {})}
    (pdd / "inventory" / "hosts").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {
        hostname: host}}}}}))
    (pdd / "project" / "break_glass.yml").write_text(yaml.safe_dump([
        {"name": "Break-glass", "ansible.builtin.import_playbook": "vmo.rbac.break_glass"}]))
    r = ansible_runner.run(private_data_dir=str(pdd), playbook="break_glass.yml", quiet=True,
                           process_isolation=False, cmdline="--check" if check else None)
    events = list(r.events)
    stats = next((ev for ev in events if ev["event"] == "playbook_on_stats"), {})
    return r, events, (stats.get("event_data") or {}).get("artifact_data") or {}


@pytest.mark.slow  # started first (tests/conftest.py)
def test_break_glass_through_ansible_runner_with_a_survey(cluster, namespaces, uid, tmp_path):
    ns1, ns2 = namespaces("bg-a", "bg-b")
    ident = cluster.identity("bg-" + uid)
    oncall = "oncall-%s@example.com" % uid
    owner = "bg-" + uid
    hostname = "prod-" + uid
    template = {"vmo_rbac_break_glass_max_duration": "4h", "vmo_rbac_break_glass_owner": owner}
    answers = survey_answers(vmo_rbac_break_glass_persona="user", vmo_rbac_break_glass_subject=oncall,
                             vmo_rbac_break_glass_namespaces="%s,\n%s" % (ns1, ns2),
                             vmo_rbac_break_glass_duration="2h",
                             vmo_rbac_break_glass_reason="INC-%s VMs down in %s" % (uid, ns1))
    try:
        before = utc_now()
        r, events, artifacts = break_glass(tmp_path, cluster, ident, hostname, {**template, **answers})
        assert r.status == "successful", r.stdout.read()[-3000:]
        result = artifacts["vmo_rbac_break_glass"][hostname]
        expires = parse(result["expires"])
        assert before + timedelta(hours=2) <= expires <= utc_now() + timedelta(hours=2)
        assert result["reason"] == "INC-%s VMs down in %s" % (uid, ns1)
        assert result["subject"] == "User " + oncall and result["persona"] == "user"
        assert sorted(result["scope"]) == sorted([ns1, ns2]) and result["passed"] is True
        name = result["binding"]
        for ns in (ns1, ns2):
            meta = read(cluster, RB, ns, name)["metadata"]
            assert meta["annotations"]["vmo.rbac/reason"] == result["reason"]
            assert meta["annotations"]["vmo.rbac/expires"] == result["expires"]
            assert meta["labels"]["vmo.rbac/owner"] == owner
            assert can_power(cluster, oncall, ns)
        assert not can_power(cluster, oncall, "default")
        listed = [t for t in result["time_limited"] if t["name"] == name]
        assert {t["state"] for t in listed} == {"active"} and {t["reason"] for t in listed} == {result["reason"]}
        said = [ev["event_data"]["res"]["msg"] for ev in events if ev["event"] == "runner_on_ok"
                and ev["event_data"].get("task") == "Break-glass | Say what was done"]
        assert said and "until " + result["expires"] in said[0] and result["reason"] in said[0]

        # More than the operator's maximum: refused before anything reaches the cluster.
        audit = cluster.audit()
        r, events, _ = break_glass(tmp_path, cluster, ident, hostname,
                                   {**template, **dict(answers, vmo_rbac_break_glass_duration="5h")})
        assert r.status == "failed"
        why = [ev["event_data"]["res"]["msg"] for ev in events if ev["event"] == "runner_on_failed"]
        assert why and "'vmo_rbac_break_glass_duration': 5h is longer than max_duration 4h" in why[0], why
        assert audit.events(user=ident.user) == []

        # Asking again for 30 minutes, as the survey asks by default: refused while the grant is in force, saying
        # until when and why it is held; nothing written. With "replace" the end moves in place (shorter here).
        audit = cluster.audit()
        r, events, _ = break_glass(tmp_path, cluster, ident, hostname,
                                   {**template, **dict(answers, vmo_rbac_break_glass_duration="30m")})
        assert r.status == "failed"
        why = failure_messages(events)
        assert why and "is a grant in force until %s (reason: %s" % (result["expires"], result["reason"]) in why[0]
        assert writes(audit, ident) == []
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname,
                                            {**template, **dict(answers, vmo_rbac_break_glass_duration="30m",
                                                                vmo_rbac_break_glass_if_active="replace")})
        assert r.status == "successful"
        shorter = artifacts["vmo_rbac_break_glass"][hostname]
        assert parse(shorter["expires"]) < expires
        assert [(a["action"], a["reason"].split(" ")[0]) for a in shorter["actions"]] == [("update", "expires")] * 2
        assert read(cluster, RB, ns1, name)["metadata"]["annotations"]["vmo.rbac/expires"] == shorter["expires"]
        assert sorted((p["namespace"], p["expires"], p["reason"]) for p in shorter["replaced"]) == sorted(
            (ns, result["expires"], result["reason"]) for ns in (ns1, ns2))

        # The sweep (an AWX schedule every few minutes) before the end: nothing to do.
        audit = cluster.audit()
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname,
                                            {**template, "vmo_rbac_break_glass_action": "sweep"})
        assert r.status == "successful" and artifacts["vmo_rbac_break_glass"][hostname]["actions"] == []
        assert writes(audit, ident) == []
        # ... and after it: the grant is gone, in every namespace.
        late = clock(parse(shorter["expires"]) + timedelta(minutes=1))
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname,
                                            {**template, "vmo_rbac_break_glass_action": "sweep"}, env=late)
        assert r.status == "successful", r.stdout.read()[-3000:]
        swept = artifacts["vmo_rbac_break_glass"][hostname]
        assert sorted((a["action"], a["namespace"]) for a in swept["actions"]) == [("delete", ns1), ("delete", ns2)]
        assert all(a["reason"].startswith("expired at " + shorter["expires"]) for a in swept["actions"])
        for ns in (ns1, ns2):
            assert read(cluster, RB, ns, name) is None and not can_power(cluster, oncall, ns)
    finally:
        cluster.delete_bindings(owner)


def test_break_glass_revoke_ends_the_grant_at_once(cluster, namespaces, uid, tmp_path):
    ns = namespaces("bg-r")
    ident = cluster.identity("bg-r-" + uid)
    sa_ns = namespaces("bg-sa")
    owner = "bg-r-" + uid
    hostname = "dr-" + uid
    template = {"vmo_rbac_break_glass_owner": owner}
    answers = survey_answers(vmo_rbac_break_glass_persona="viewer", vmo_rbac_break_glass_subject_kind="ServiceAccount",
                             vmo_rbac_break_glass_subject="%s/forensics" % sa_ns, vmo_rbac_break_glass_namespaces=ns,
                             vmo_rbac_break_glass_duration="1h", vmo_rbac_break_glass_reason="forensics " + uid)
    sa_user = "system:serviceaccount:%s:forensics" % sa_ns
    sa_groups = ["system:serviceaccounts", "system:serviceaccounts:" + sa_ns, "system:authenticated"]
    try:
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname, {**template, **answers})
        assert r.status == "successful", r.stdout.read()[-3000:]
        cluster.wait_until_can(sa_user, "list", "virtualmachines", "kubevirt.io", ns, groups=sa_groups)
        assert artifacts["vmo_rbac_break_glass"][hostname]["max_duration"] == "8h"  # the default maximum
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname,
                                            {**template, **answers, "vmo_rbac_break_glass_action": "revoke"})
        assert r.status == "successful", r.stdout.read()[-3000:]
        revoked = artifacts["vmo_rbac_break_glass"][hostname]
        assert [(a["action"], a["namespace"]) for a in revoked["actions"]] == [("delete", ns)]
        cluster.wait_until_can(sa_user, "list", "virtualmachines", "kubevirt.io", ns, groups=sa_groups, allowed=False)
        assert not cluster.bindings(owner)
    finally:
        cluster.delete_bindings(owner)


@pytest.mark.parametrize("answers, words", [
    ({"vmo_rbac_break_glass_reason": "   "}, "vmo_rbac_break_glass_reason is empty"),
    ({"vmo_rbac_break_glass_persona": "root"}, "vmo_rbac_break_glass_persona must be one of"),
    ({"vmo_rbac_break_glass_duration": "forever"}, "argument 'vmo_rbac_break_glass_duration': 'forever' is neither"),
    ({"vmo_rbac_break_glass_duration": "2020-01-01T00:00:00Z"}, "2020-01-01T00:00:00Z has passed"),
])
def test_break_glass_refuses_an_incomplete_request_before_any_request(cluster, uid, tmp_path, answers, words):
    ident = cluster.identity("bg-bad-" + uid)
    request = {"vmo_rbac_break_glass_persona": "admin", "vmo_rbac_break_glass_subject": "x@example.com",
               "vmo_rbac_break_glass_duration": "1h", "vmo_rbac_break_glass_reason": "why", **answers}
    audit = cluster.audit()
    r, events, _ = break_glass(tmp_path, cluster, ident, "bad-" + uid, request)
    assert r.status == "failed"
    why = [ev["event_data"]["res"]["msg"] for ev in events if ev["event"] == "runner_on_failed"]
    assert why and words in why[0], why
    assert audit.events(user=ident.user) == []


# ------------------------------------------- break-glass on an inventory that widens access (issue 18 item 1)


def failure_messages(events):
    return [ev["event_data"]["res"].get("msg", "") for ev in events if ev["event"] == "runner_on_failed"]


# An inventory set up for its own declaration: every option that widens access, adds checks or writes
# elsewhere is on. None of it may reach a break-glass request.
WIDE_INVENTORY = {
    "vmo_rbac_allow_privileged": True, "vmo_rbac_console_access": True, "vmo_rbac_legacy_dashboard_bindings": True,
    "vmo_rbac_audit_exclusive": True, "vmo_rbac_audit_privileged": True, "vmo_rbac_purge": True,
    "vmo_rbac_allow_empty_purge": True, "vmo_rbac_wait_for_roles": 600, "vmo_rbac_cluster_roles": ["personas"],
    "vmo_rbac_strict_scopes": False, "vmo_rbac_protected_namespaces": [],
    "vmo_rbac_platform_subjects": ["ServiceAccount *-%s/*" % "tenant"],
}


@pytest.mark.parametrize("case, inventory, answers, words", [
    ("everyone-cluster-admin", {"vmo_rbac_role_set": "kubernetes", "vmo_rbac_allow_privileged": True},
     {"vmo_rbac_break_glass_persona": "admin", "vmo_rbac_break_glass_subject_kind": "Group",
      "vmo_rbac_break_glass_subject": "system:authenticated"},
     'vmo_rbac_break_glass_subject: Group "system:authenticated" is under the reserved system: prefix'),
    ("anonymous-vm-admin", {"vmo_rbac_allow_privileged": True},
     {"vmo_rbac_break_glass_persona": "admin", "vmo_rbac_break_glass_subject_kind": "Group",
      "vmo_rbac_break_glass_subject": "system:unauthenticated", "vmo_rbac_break_glass_namespaces": "NS"},
     'Group "system:unauthenticated" is under the reserved system: prefix'),
    ("anonymous-user", WIDE_INVENTORY,
     {"vmo_rbac_break_glass_subject": "system:anonymous", "vmo_rbac_break_glass_namespaces": "NS"},
     'User "system:anonymous" is under the reserved system: prefix'),
    ("every-sa-of-a-namespace", WIDE_INVENTORY,
     {"vmo_rbac_break_glass_subject_kind": "Group", "vmo_rbac_break_glass_subject": " system:serviceaccounts:NS "},
     'Group "system:serviceaccounts:NS" is under the reserved system: prefix'),
    ("prefix-builds-everyone", {"vmo_rbac_allow_privileged": True, "vmo_rbac_oidc_group_prefix": "system:"},
     {"vmo_rbac_break_glass_subject_kind": "Group", "vmo_rbac_break_glass_subject": "authenticated"},
     'Group "system:authenticated" is under the reserved system: prefix'),
    ("case", WIDE_INVENTORY,
     {"vmo_rbac_break_glass_subject_kind": "Group", "vmo_rbac_break_glass_subject": "System:Masters"},
     'Group "System:Masters" is under the reserved system: prefix'),
    ("platform-sa", WIDE_INVENTORY,
     {"vmo_rbac_break_glass_subject_kind": "ServiceAccount", "vmo_rbac_break_glass_subject": "kube-system/default"},
     '"kube-system/default" is a ServiceAccount of the platform\'s namespace "kube-system"'),
    ("protected-namespace", WIDE_INVENTORY,
     {"vmo_rbac_break_glass_namespaces": "NS, kube-system"},
     "vmo_rbac_break_glass_namespaces: kube-system is a protected namespace"),
    ("inventory-protected-namespace", {"vmo_rbac_protected_namespaces": ["NS"]},
     {"vmo_rbac_break_glass_namespaces": "NS"}, "vmo_rbac_break_glass_namespaces: NS is a protected namespace"),
    ("cluster-admin-cluster-wide", {"vmo_rbac_role_set": "kubernetes", "vmo_rbac_allow_privileged": True},
     {"vmo_rbac_break_glass_persona": "admin", "vmo_rbac_break_glass_subject": "oncall@example.com"},
     "break-glass never grants cluster-admin cluster-wide"),
    ("inventory-owner", {"vmo_rbac_owner": "OWNER"}, {}, 'vmo_rbac_break_glass_owner: "OWNER" is the inventory\'s own'),
])
def test_break_glass_refuses_everyone_and_the_platform_whatever_the_inventory_says(cluster, namespaces, uid, tmp_path,
                                                                                   case, inventory, answers, words):
    """Issue 18 item 1: on an inventory with allow_privileged (and the kubernetes role set), a survey request for
    Group system:authenticated gave every authenticated user cluster-admin; system:unauthenticated gave anonymous
    requests VM admin. Refused before any request, whatever the inventory says."""
    ns = namespaces("bg-no")
    ident = cluster.identity("bg-no-" + uid)
    owner = "bg-no-" + uid
    fill = (lambda v: v.replace("NS", ns).replace("OWNER", owner) if isinstance(v, str) else
            [x.replace("NS", ns) for x in v] if isinstance(v, list) else v)
    request = survey_answers(**{"vmo_rbac_break_glass_persona": "viewer", "vmo_rbac_break_glass_subject": "x@example.com",
                                "vmo_rbac_break_glass_duration": "1h", "vmo_rbac_break_glass_reason": "INC-" + uid,
                                **{k: fill(v) for k, v in answers.items()}})
    audit = cluster.audit()
    try:
        r, events, _ = break_glass(tmp_path, cluster, ident, "bg-" + case, {**request, "vmo_rbac_break_glass_owner": owner},
                                   inventory_vars={k: fill(v) for k, v in inventory.items()})
        assert r.status == "failed", case
        why = failure_messages(events)
        assert why and fill(words) in why[0] and "nothing was sent to the cluster" in why[0], why
        assert audit.events(user=ident.user) == []
        assert cluster.bindings(owner) == {}
    finally:
        cluster.delete_bindings(owner)


def test_break_glass_takes_nothing_that_widens_access_from_the_inventory(cluster, namespaces, uid, tmp_path):
    """Issue 18 item 1: the inventory's allow_privileged, console and legacy bindings, extra bindings, purge, the
    exclusive audit and its cluster roles reached break-glass; with vmo_rbac_audit_exclusive every grant, sweep
    and revoke failed and the result told the operator to delete the inventory's own grants. Now the request
    makes one binding, proves it, and the sweep and the revoke pass on the same inventory."""
    ns = namespaces("bg-wide")
    ident = cluster.identity("bg-wide-" + uid)
    oncall = "oncall-%s@example.com" % uid
    owner, inventory_owner = "bg-w-" + uid, "inv-w-" + uid
    # The inventory's own grant, made by its own enforce run: break-glass never touches it.
    ok(run_module(MODULE, dict(ident.params, owner=inventory_owner, bindings=[
        {"persona": "admin", "users": ["inventory-admin-%s@example.com" % uid], "namespaces": [ns]}])))
    inventory = dict(WIDE_INVENTORY, vmo_rbac_owner=inventory_owner, vmo_rbac_extra_bindings=[
        {"persona": "admin", "users": ["extra-%s@example.com" % uid], "namespaces": [ns]}])
    template = {"vmo_rbac_break_glass_owner": owner}
    answers = survey_answers(vmo_rbac_break_glass_persona="user", vmo_rbac_break_glass_subject=oncall,
                             vmo_rbac_break_glass_namespaces=ns, vmo_rbac_break_glass_duration="1h",
                             vmo_rbac_break_glass_reason="INC-" + uid)
    try:
        audit = cluster.audit()
        r, events, artifacts = break_glass(tmp_path, cluster, ident, "wide-" + uid, {**template, **answers},
                                           inventory_vars=inventory)
        assert r.status == "successful", (failure_messages(events), r.stdout.read()[-3000:])
        result = artifacts["vmo_rbac_break_glass"]["wide-" + uid]
        assert result["passed"] is True
        # one binding written: no console, no legacy list roles, no extra bindings, no cluster roles
        assert writes(audit, ident) == [("create", "rolebindings", result["binding"])]
        assert sorted(k[2] for k in cluster.bindings(owner)) == [result["binding"]]
        assert list(cluster.bindings(inventory_owner)) == [(RB, ns, inventory_owner + "-spectro-vm-admin")]
        assert can_power(cluster, oncall, ns)

        for action in ("sweep", "revoke"):
            extra = answers if action == "revoke" else {}
            r, events, artifacts = break_glass(tmp_path, cluster, ident, "wide-" + uid,
                                               {**template, **extra, "vmo_rbac_break_glass_action": action},
                                               inventory_vars=inventory)
            assert r.status == "successful", (action, failure_messages(events))
        assert cluster.bindings(owner) == {} and not can_power(cluster, oncall, ns)
        assert list(cluster.bindings(inventory_owner)) == [(RB, ns, inventory_owner + "-spectro-vm-admin")]
    finally:
        cluster.delete_bindings(owner)
        cluster.delete_bindings(inventory_owner)


# ------------------------------------------ break-glass revoke, and requests that meet a grant in force (item 2)


def test_break_glass_revoke_finds_the_grant_in_any_scope_needs_no_reason_and_fails_when_nothing_is_revoked(
        cluster, namespaces, uid, tmp_path):
    """Issue 18 item 2: a revoke whose scope differs from the grant's deleted nothing and reported success, and a
    revoke without a reason failed and left the access. The binding name is the grant: found in any scope; the
    reason is optional (recorded in the result when given); nothing to revoke fails, naming the binding."""
    ns1, ns2 = namespaces("bg-any-a", "bg-any-b")
    ident = cluster.identity("bg-any-" + uid)
    oncall = "any-%s@example.com" % uid
    owner, hostname = "bg-any-" + uid, "any-" + uid
    template = {"vmo_rbac_break_glass_owner": owner}
    grant = survey_answers(vmo_rbac_break_glass_persona="admin", vmo_rbac_break_glass_subject=oncall,
                           vmo_rbac_break_glass_namespaces=ns1, vmo_rbac_break_glass_duration="1h",
                           vmo_rbac_break_glass_reason="INC-" + uid)
    # role_set kubernetes: persona admin is cluster-admin, granted in ns1 only; the revoke asks cluster-wide
    inventory = {"vmo_rbac_role_set": "kubernetes"}
    try:
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname, {**template, **grant},
                                            inventory_vars=inventory)
        assert r.status == "successful", r.stdout.read()[-3000:]
        name = artifacts["vmo_rbac_break_glass"][hostname]["binding"]
        cluster.wait_until_can(oncall, "delete", "virtualmachines", "kubevirt.io", ns1)

        revoke = dict(grant, vmo_rbac_break_glass_action="revoke", vmo_rbac_break_glass_namespaces="",
                      vmo_rbac_break_glass_reason="")
        audit = cluster.audit()
        r, events, artifacts = break_glass(tmp_path, cluster, ident, hostname, {**template, **revoke},
                                           inventory_vars=inventory)
        assert r.status == "successful", failure_messages(events)
        revoked = artifacts["vmo_rbac_break_glass"][hostname]
        assert [(a["action"], a.get("namespace"), a["name"]) for a in revoked["actions"]] == [("delete", ns1, name)]
        assert writes(audit, ident) == [("delete", "rolebindings", name)]
        cluster.wait_until_can(oncall, "delete", "virtualmachines", "kubevirt.io", ns1, allowed=False)
        assert cluster.bindings(owner) == {}

        # Again: nothing left to revoke, and the job says so (no write).
        audit = cluster.audit()
        r, events, _ = break_glass(tmp_path, cluster, ident, hostname, {**template, **revoke},
                                   inventory_vars=inventory)
        assert r.status == "failed"
        why = failure_messages(events)
        assert why and "nothing to revoke on %s: owner %s holds no binding %s" % (hostname, owner, name) in why[0]
        assert writes(audit, ident) == []

        # A cluster-wide grant, revoked by a request that names other namespaces (one of them gone), with a reason.
        wide = dict(grant, vmo_rbac_break_glass_persona="user", vmo_rbac_break_glass_namespaces="")
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname, {**template, **wide})
        assert r.status == "successful", r.stdout.read()[-3000:]
        wide_name = artifacts["vmo_rbac_break_glass"][hostname]["binding"]
        r, events, artifacts = break_glass(tmp_path, cluster, ident, hostname, {**template, **dict(
            wide, vmo_rbac_break_glass_action="revoke", vmo_rbac_break_glass_namespaces="%s, gone-%s" % (ns2, uid),
            vmo_rbac_break_glass_reason="done: INC-" + uid)})
        assert r.status == "successful", failure_messages(events)
        revoked = artifacts["vmo_rbac_break_glass"][hostname]
        assert [(a["action"], a["kind"], a["name"]) for a in revoked["actions"]] == [("delete", CRB, wide_name)]
        assert revoked["reason"] == "done: INC-" + uid
        said = [ev["event_data"]["res"]["msg"] for ev in events if ev["event"] == "runner_on_ok"
                and ev["event_data"].get("task") == "Break-glass | Say what was done"]
        assert said and "1 binding(s) deleted; reason: done: INC-" + uid in said[0]
        assert cluster.bindings(owner) == {} and not can_power(cluster, oncall, ns2)
    finally:
        cluster.delete_bindings(owner)


def test_a_second_break_glass_request_never_silently_shortens_or_overwrites_a_grant_in_force(
        cluster, namespaces, uid, tmp_path):
    """Issue 18 item 2: two requests for the same persona, subject and scope; the later silently replaced the
    earlier's end and reason while both jobs reported their own. Refused with the grant's end and reason unless
    the request says extend (later only) or replace."""
    ns = namespaces("bg-twice")
    ident = cluster.identity("bg-twice-" + uid)
    oncall = "twice-%s@example.com" % uid
    owner, hostname = "bg-tw-" + uid, "twice-" + uid
    template = {"vmo_rbac_break_glass_owner": owner}

    def ask(duration, reason, **more):
        return {**template, **survey_answers(
            vmo_rbac_break_glass_persona="user", vmo_rbac_break_glass_subject=oncall, vmo_rbac_break_glass_namespaces=ns,
            vmo_rbac_break_glass_duration=duration, vmo_rbac_break_glass_reason=reason, **more)}

    try:
        r, _events, artifacts = break_glass(tmp_path, cluster, ident, hostname, ask("2h", "INC-1 " + uid))
        assert r.status == "successful"
        first = artifacts["vmo_rbac_break_glass"][hostname]
        name = first["binding"]

        def held():
            return read(cluster, RB, ns, name)["metadata"]["annotations"]

        for more, words in (({}, "refused (if_active=refuse)"),
                            ({"vmo_rbac_break_glass_if_active": "extend"}, "not later: refused (if_active=extend")):
            audit = cluster.audit()
            r, events, _ = break_glass(tmp_path, cluster, ident, hostname, ask("30m", "INC-2 " + uid, **more))
            assert r.status == "failed", more
            why = failure_messages(events)
            assert why and "RoleBinding %s/%s is a grant in force until %s (reason: INC-1 %s" % (
                ns, name, first["expires"], uid) in why[0] and words in why[0], why
            assert writes(audit, ident) == []
            assert (held()["vmo.rbac/expires"], held()["vmo.rbac/reason"]) == (first["expires"], "INC-1 " + uid)

        r, events, artifacts = break_glass(tmp_path, cluster, ident, hostname,
                                           ask("3h", "INC-3 " + uid, vmo_rbac_break_glass_if_active="extend"))
        assert r.status == "successful", failure_messages(events)
        extended = artifacts["vmo_rbac_break_glass"][hostname]
        assert parse(extended["expires"]) > parse(first["expires"])
        assert (held()["vmo.rbac/expires"], held()["vmo.rbac/reason"]) == (extended["expires"], "INC-3 " + uid)
        assert [(p["expires"], p["reason"]) for p in extended["replaced"]] == [(first["expires"], "INC-1 " + uid)]
        said = [ev["event_data"]["res"]["msg"] for ev in events if ev["event"] == "runner_on_ok"
                and ev["event_data"].get("task") == "Break-glass | Say what was done"]
        assert said and "extended the grant in force in %s until %s (reason: INC-1 %s)" % (
            ns, first["expires"], uid) in said[0], said
    finally:
        cluster.delete_bindings(owner)


# ------------------------------------------ an expired grant ends whatever else blocks the run (issue 18 item 5)


def test_an_expired_grant_ends_when_the_rest_of_the_plan_is_refused(cluster, namespaces, owner, uid):
    """Issue 18 item 5: a foreign binding in the way of another entry, or a namespace being deleted that another
    entry names, refused the whole plan, so a grant whose time had passed kept its access while vmo_rbac_validate
    said "vmo_role_binding would end it". Now it ends in that run, and the result says both."""
    ns, doomed = namespaces("tl-blk", "tl-doomed")
    ident = cluster.identity("tl-blk-" + uid)
    temp = "temp-%s@example.com" % uid
    limited = {"persona": "user", "users": [temp], "namespaces": [ns], "expires": "1h", "reason": "INC-" + uid,
               "name": "tl-" + uid}
    made = ok(run_module(MODULE, dict(ident.params, owner=owner, bindings=[limited])))
    end = parse(made["bindings"][0]["expires"])
    assert can_power(cluster, temp, ns)
    late = clock(end + timedelta(minutes=5))

    # 1. A foreign binding (made by hand) where another entry's binding would go.
    taken = "taken-" + uid
    cluster.rbac().create_namespaced_role_binding(ns, binding_manifest(RB, taken, "spectro-vm-viewer", "eve", ns))
    blocked = dict(ident.params, owner=owner, bindings=[
        limited, {"persona": "viewer", "users": ["bob-" + uid], "namespaces": [ns], "name": taken}])
    seen = run_module(VALIDATE, dict(blocked, fail_on_drift=False, check_access=False), env=late)
    expire = [d for d in seen["drift"] if d["action"] == "expire"]
    assert expire and expire[0]["fix"].startswith("vmo_role_binding ends it at its next run, also when it refuses "
                                                  "the rest of its plan")
    audit = cluster.audit()
    res = run_module(MODULE, blocked, env=late)
    assert res.get("failed") is True and res["changed"] is True
    assert res["refused"].startswith("1 binding name is in the way: RoleBinding %s/%s already exists" % (ns, taken))
    assert "ended: ending them never depends on the rest of the plan: RoleBinding %s/tl-%s (expired at %s)" % (
        ns, uid, rfc3339(end)) in res["msg"]
    assert [(a["action"], a["name"]) for a in res["actions"]] == [("update", "tl-" + uid)]
    assert writes(audit, ident) == [("update", "rolebindings", "tl-" + uid)]
    assert not can_power(cluster, temp, ns)
    assert read(cluster, RB, ns, taken)["subjects"][0]["name"] == "eve"  # the foreign binding untouched
    assert read(cluster, RB, ns, "tl-" + uid)["metadata"]["annotations"]["vmo.rbac/reason"] == "INC-" + uid

    # 2. A namespace being deleted (held by a finalizer) that another entry names; the grant was granted again
    # meanwhile (a later end), then its time passed again.
    cluster.delete_binding(RB, ns, taken)
    again = dict(limited, expires=rfc3339(end + timedelta(hours=1)))
    ok(run_module(MODULE, dict(ident.params, owner=owner, bindings=[again]), env=late))
    assert can_power(cluster, temp, ns)
    core = cluster.core()
    core.patch_namespace(doomed, {"metadata": {"finalizers": ["vmo.rbac.test/hold"]}})
    core.delete_namespace(doomed)
    try:
        later = clock(end + timedelta(hours=1, minutes=5))
        terminating = dict(ident.params, owner=owner, bindings=[
            again, {"persona": "viewer", "users": ["bob-" + uid], "namespaces": [doomed]}])
        failed_validation = run_module(VALIDATE, dict(terminating, check_access=False), env=later)
        assert "namespace %r is being deleted" % doomed in failed_validation["msg"]
        assert "still grants access: RoleBinding %s/tl-%s" % (ns, uid) in failed_validation["msg"]
        assert "vmo_role_binding ends them at its next run, even though it refuses the rest" in failed_validation["msg"]
        audit = cluster.audit()
        res = run_module(MODULE, terminating, env=later)
        assert res.get("failed") is True and res["field"] == "bindings[1].namespaces[0]"
        assert "is being deleted" in res["refused"] and "RoleBinding %s/tl-%s (expired at" % (ns, uid) in res["msg"]
        assert writes(audit, ident) == [("update", "rolebindings", "tl-" + uid)]
        assert not can_power(cluster, temp, ns)
    finally:
        core.patch_namespace(doomed, {"metadata": {"finalizers": None}})


# ----------------------------------------------- attack: a sweep racing a request that grants again (issue 18)


def test_a_sweep_never_ends_a_grant_that_another_run_granted_again_meanwhile(cluster, namespaces, owner, uid):
    """A break-glass sweep (nothing declared) reads an expired grant and plans to delete it; before its write, a
    request grants it again (same binding, same uid, a new end). The delete carried only the uid as a
    precondition, so the sweep deleted the new grant while the request reported it in force. Every write that
    ends a grant now carries the resourceVersion it read, and on a conflict re-reads: a grant whose end moved
    later is left as it is. The same for a run that removes the subjects of an expired declared grant."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster as cluster_mod
    from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration, options
    from ansible_collections.vmo.rbac.plugins.module_utils._flows import enforce, observe

    ns = namespaces("tl-race")
    ident = cluster.identity("tl-race-" + uid)
    oncall = "race-%s@example.com" % uid
    client = cluster_mod.Cluster(dict(ident.params), component="race-test", pool_size=2)
    for declared in (False, True):
        name = "race-%s-%d" % (uid, declared)
        entry = {"persona": "user", "users": [oncall], "namespaces": [ns], "name": name, "reason": "INC-1"}
        made = ok(run_module(MODULE, dict(ident.params, owner=owner, bindings=[dict(entry, expires="1h")])))
        end = parse(made["bindings"][0]["expires"])
        late = end + timedelta(minutes=5)
        # the sweep (or the inventory's run, still declaring the entry) reads and plans at `late`
        decl = declaration.parse_declaration([dict(entry, expires="1h")] if declared else [], owner=owner)
        opts = options.parse({}, decl, late)
        obs = observe.observe_plan(decl, client, observe.ObserveOptions(now=late))
        assert [(a.action, a.counts_as) for a in obs.plan.actions] == [("update" if declared else "delete", "expired")]
        # meanwhile the request grants it again, until later (same binding, same uid)
        again = ok(run_module(MODULE, dict(ident.params, owner=owner, bindings=[
            dict(entry, expires=rfc3339(late + timedelta(hours=1)), reason="INC-2")]), env=clock(late)))
        assert again["changed"] and can_power(cluster, oncall, ns)
        done = enforce.apply(obs.plan, client, owner, concurrency=opts.concurrency)
        assert done == []  # the sweep's write met the newer grant and left it
        held = read(cluster, RB, ns, name)
        assert held is not None and held["metadata"]["annotations"]["vmo.rbac/reason"] == "INC-2"
        assert can_power(cluster, oncall, ns), declared


def test_two_break_glass_requests_at_once_leave_exactly_what_the_successful_one_reports(cluster, namespaces, uid,
                                                                                        tmp_path):
    """Two on-call engineers ask for the same persona and subject at the same moment, with different ends and
    reasons. Whatever the interleaving (both read nothing and race to create; or one reads the other's grant),
    one job succeeds and the other is refused, and the cluster holds the end and reason the successful one
    reports (before: both reported success, each with its own end, and the cluster held one of them)."""
    from concurrent.futures import ThreadPoolExecutor

    ns = namespaces("bg-twin")
    ident = cluster.identity("bg-twin-" + uid)
    owner, hostname = "bg-twin-" + uid, "twin-" + uid
    requests = [{"vmo_rbac_break_glass_owner": owner, **survey_answers(
        vmo_rbac_break_glass_persona="user", vmo_rbac_break_glass_subject="twin-%s@example.com" % uid,
        vmo_rbac_break_glass_namespaces=ns, vmo_rbac_break_glass_duration=duration,
        vmo_rbac_break_glass_reason="INC-%s %s" % (tag, uid))} for tag, duration in (("A", "1h"), ("B", "2h"))]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda i: break_glass(tmp_path / str(i), cluster, ident, hostname, requests[i]),
                                 range(2)))
        statuses = [r.status for r, _e, _a in runs]
        assert sorted(statuses) == ["failed", "successful"], statuses
        (winner,) = [a["vmo_rbac_break_glass"][hostname] for r, _e, a in runs if r.status == "successful"]
        (loser,) = [failure_messages(e) for r, e, _a in runs if r.status == "failed"]
        assert loser and "is a grant in force until %s (reason: %s" % (winner["expires"], winner["reason"]) in loser[0]
        held = read(cluster, RB, ns, winner["binding"])["metadata"]["annotations"]
        assert (held["vmo.rbac/expires"], held["vmo.rbac/reason"]) == (winner["expires"], winner["reason"])
    finally:
        cluster.delete_bindings(owner)



def test_a_survey_answer_is_never_templated(cluster, namespaces, uid, tmp_path):
    """A survey user types Jinja into the reason (or the subject): AWX passes survey answers unsafe, and the
    playbook records them as text; nothing runs on the controller."""
    ns = namespaces("bg-jinja")
    ident = cluster.identity("bg-jinja-" + uid)
    owner, hostname = "bg-j-" + uid, "jinja-" + uid
    marker = tmp_path / "pwned"
    reason = "INC-1 {{ lookup('pipe', 'touch %s') }} {{ 6 * 7 }}" % marker
    answers = survey_answers(vmo_rbac_break_glass_persona="viewer", vmo_rbac_break_glass_subject="j-%s@example.com" % uid,
                             vmo_rbac_break_glass_namespaces=ns, vmo_rbac_break_glass_duration="1h",
                             vmo_rbac_break_glass_reason=reason)
    try:
        r, events, artifacts = break_glass(tmp_path, cluster, ident, hostname,
                                           {"vmo_rbac_break_glass_owner": owner, **answers})
        assert r.status == "successful", failure_messages(events)
        result = artifacts["vmo_rbac_break_glass"][hostname]
        assert result["reason"] == reason and not marker.exists()
        held = read(cluster, RB, ns, result["binding"])["metadata"]["annotations"]["vmo.rbac/reason"]
        assert held == reason
    finally:
        cluster.delete_bindings(owner)


# ------------------------------------------- break-glass on a Palette fleet in AWX (attack pass on the merged work)


def test_break_glass_on_a_palette_fleet_host_with_the_palette_backend(cluster, namespaces, palette_standin, uid,
                                                                      tmp_path):
    """A host of the Palette inventory as AWX keeps it (no kubeconfig: vmo_rbac_palette_kubeconfig, the cluster's
    uid; the Palette credential in the environment, its key pasted with a line break refused, so given clean
    here) whose inventory enforces through Palette (vmo_rbac_backend: palette, purge on). A break-glass request:
    the grant is made on the cluster itself (break-glass never writes Palette's RBAC list, whatever the
    inventory's backend), refused while in force, revoked by name, and every module call downloads its own
    kubeconfig; the Palette RBAC list is never read or written; no credential in any output."""
    from tests.integration.test_palette import secrets_of

    s = palette_standin
    project = s.add_project("bg-" + uid)
    record = s.add_cluster(project, "bg-%s" % uid, backing=cluster)
    ns = namespaces("bg-pal")
    oncall = "pal-%s@example.com" % uid
    owner, hostname = "bg-pal-" + uid, "pal-" + uid
    inventory = {"vmo_rbac_palette_kubeconfig": "admin", "vmo_rbac_palette_cluster_uid": record.uid,
                 "vmo_rbac_palette_project_uid": project, "vmo_rbac_backend": "palette", "vmo_rbac_purge": True,
                 "vmo_rbac_owner": "inv-" + uid}
    env = {"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key, "VMO_RBAC_PALETTE_CA_CERT": s.ca_cert}

    class NoConnection:  # the host's connection is its Palette variables alone
        params: dict = {}

    template = {"vmo_rbac_break_glass_owner": owner}
    answers = survey_answers(vmo_rbac_break_glass_persona="user", vmo_rbac_break_glass_subject=oncall,
                             vmo_rbac_break_glass_namespaces=ns, vmo_rbac_break_glass_duration="1h",
                             vmo_rbac_break_glass_reason="INC-" + uid)
    outputs = []
    try:
        mark = s.mark()
        r, events, artifacts = break_glass(tmp_path, cluster, NoConnection, hostname, {**template, **answers},
                                           env=env, inventory_vars=inventory)
        outputs.append(r.stdout.read())
        assert r.status == "successful", (failure_messages(events), outputs[-1][-3000:])
        result = artifacts["vmo_rbac_break_glass"][hostname]
        assert result["passed"] is True and can_power(cluster, oncall, ns)
        assert [k[2] for k in cluster.bindings(owner)] == [result["binding"]]
        ops = sorted(c["op"] for c in s.since(mark))
        assert ops == ["v1SpectroClustersUidAdminKubeConfig"] * len(ops) and len(ops) >= 2, ops  # no RBAC list

        r, events, _ = break_glass(tmp_path, cluster, NoConnection, hostname,
                                   {**template, **dict(answers, vmo_rbac_break_glass_reason="INC-2-" + uid)},
                                   env=env, inventory_vars=inventory)
        outputs.append(r.stdout.read())
        assert r.status == "failed" and any("INC-" + uid in m for m in failure_messages(events)), failure_messages(events)

        r, events, artifacts = break_glass(tmp_path, cluster, NoConnection, hostname,
                                           {**template, **answers, "vmo_rbac_break_glass_action": "revoke"},
                                           env=env, inventory_vars=inventory)
        outputs.append(r.stdout.read())
        assert r.status == "successful", failure_messages(events)
        assert [a["action"] for a in artifacts["vmo_rbac_break_glass"][hostname]["actions"]] == ["delete"]
        assert cluster.bindings(owner) == {} and not can_power(cluster, oncall, ns)
        assert [c for c in s.since(mark) if c["op"] != "v1SpectroClustersUidAdminKubeConfig"] == []
        assert [x[:6] for x in secrets_of(s) if any(x in o for o in outputs)] == []
    finally:
        cluster.delete_bindings(owner)


def test_break_glass_revoke_on_a_host_the_palette_inventory_could_not_prepare(cluster, namespaces, uid, tmp_path):
    """Attack pass on the merged branches: the Palette inventory marks a cluster it could not prepare (Palette
    answered 503 for its profiles during the inventory update) with vmo_rbac_inventory_error and gives it no
    connection. The role's grant and sweep fail such a host before any request; tasks_from: revoke did not
    look, so the module fell back to the environment's connection (K8S_AUTH_KUBECONFIG, ~/.kube/config: here
    another cluster's, vmo-1, which holds a grant of the same name) and the revoke deleted it there and said
    the grant on this host was revoked. Now the revoke fails with the inventory's reason, nothing deleted."""
    ns = namespaces("bg-inv")
    ident = cluster.identity("bg-inv-" + uid)
    oncall = "inv-%s@example.com" % uid
    owner, hostname = "bg-inv-" + uid, "unprepared-" + uid
    template = {"vmo_rbac_break_glass_owner": owner}
    answers = survey_answers(vmo_rbac_break_glass_persona="user", vmo_rbac_break_glass_subject=oncall,
                             vmo_rbac_break_glass_namespaces=ns, vmo_rbac_break_glass_duration="1h",
                             vmo_rbac_break_glass_reason="INC-" + uid)

    class NoConnection:  # the inventory gave this host no connection
        params: dict = {}

    error = "cluster %s (%s): cannot read its profiles (is the virtual-machine-orchestrator pack there?): 503" % (
        hostname, "a" * 24)
    try:
        r, events, _ = break_glass(tmp_path, cluster, ident, "elsewhere-" + uid, {**template, **answers})
        assert r.status == "successful", failure_messages(events)
        before = cluster.bindings(owner)
        assert before and can_power(cluster, oncall, ns)
        r, events, artifacts = break_glass(
            tmp_path, cluster, NoConnection, hostname, {**template, **answers, "vmo_rbac_break_glass_action": "revoke"},
            env={"K8S_AUTH_KUBECONFIG": str(ident.kubeconfig)},
            inventory_vars={"vmo_rbac_inventory_error": error, "vmo_rbac_palette_cluster_uid": "a" * 24})
        assert r.status == "failed", artifacts
        assert any(error in m for m in failure_messages(events)), failure_messages(events)
        assert cluster.bindings(owner) == before and can_power(cluster, oncall, ns)
    finally:
        cluster.delete_bindings(owner)
