"""Palette as the source of the fleet and the home of the bindings (issue 11), end to end.

The Palette API is the stand-in of tests/helpers/palette_standin.py (every request and response
checked against the pinned specification; the fixture fails a test on any violation). Three of its
clusters are backed by the real local control planes vmo-1..3: their kubeconfigs reach them, and the
stand-in's agent applies their RBAC items there, as Palette's agent would. Everything runs the way
users run it: ansible-inventory and ansible-playbook with the inventory plugin's file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers.ansible import BIN, ansible_env, run_playbook
from tests.helpers.palette_standin import AGENT_LABEL, CLUSTER_LABEL

RB_MODULE = "vmo.rbac.vmo_role_binding"
VALIDATE_MODULE = "vmo.rbac.vmo_rbac_validate"


# --------------------------------------------------------------------------- helpers


def palette_env(standin, **extra):
    return {"SPECTROCLOUD_HOST": standin.url, "SPECTROCLOUD_APIKEY": standin.api_key, **extra}


def write_inventory(directory: Path, standin, **options) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = {"plugin": "vmo.rbac.palette", "ca_cert": standin.ca_cert,
              "kubeconfig_dir": str(directory / "kubeconfigs"), **options}
    path = directory / "fleet.palette.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def inventory_list(path: Path, env: dict, *args) -> subprocess.CompletedProcess:
    e = ansible_env({"ANSIBLE_INVENTORY_ENABLED": "vmo.rbac.palette", **env})
    return subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list", *args], capture_output=True,
                          text=True, env=e, timeout=300, check=False)


def plain(obj):
    """ansible-inventory's JSON without the {"__ansible_unsafe": ...} wrappers of ansible-core 2.19."""
    if isinstance(obj, dict):
        if set(obj) == {"__ansible_unsafe"}:
            return obj["__ansible_unsafe"]
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def json_doc(stdout):
    """The vmo_json callback's document at the end of a (possibly -vvvv) stdout."""
    start = stdout.rfind("\n{\n")
    return json.loads(stdout[start + 1 if start >= 0 else 0:])


def secrets_of(standin) -> list[str]:
    """The API key and every credential of every kubeconfig the stand-in serves (as sent, base64
    bodies, and the decoded key material)."""
    out = [standin.api_key]
    for c in standin.clusters.values():
        for text in c.kubeconfigs.values():
            if not text:
                continue
            out.append(base64.b64encode(text.encode()).decode()[:60])
            doc = yaml.safe_load(text)
            for u in doc.get("users") or []:
                for k, v in (u.get("user") or {}).items():
                    out.append(v)
                    if k.endswith("-data"):
                        pem = base64.b64decode(v).decode()
                        out += [line for line in pem.splitlines() if line and not line.startswith("-----")][:2]
    return [s for s in out if s and len(s) >= 12]


def leaks(texts: dict, secrets: list[str]) -> list[str]:
    return ["%s holds %s..." % (name, s[:6]) for name, text in texts.items() for s in secrets if s in text]


def agent_bindings(cluster, cluster_uid):
    rbac = cluster.rbac()
    sel = "%s=true,%s=%s" % (AGENT_LABEL, CLUSTER_LABEL, cluster_uid)
    return ([("ClusterRoleBinding", "", o.metadata.name, o) for o in rbac.list_cluster_role_binding(label_selector=sel).items]
            + [("RoleBinding", o.metadata.namespace, o.metadata.name, o)
               for o in rbac.list_role_binding_for_all_namespaces(label_selector=sel).items])


def remove_agent_bindings(cluster, cluster_uid):
    for kind, ns, name, _o in agent_bindings(cluster, cluster_uid):
        cluster.delete_binding(kind, ns, name)


def recap(text: str) -> dict:
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+)\s*:\s*(ok=.*)$", text, re.M)}


@pytest.fixture
def fleet(clusters, palette_standin, uid, owner, tmp_path):
    """Three Palette clusters backed by vmo-1..3 (the second serves base64 kubeconfigs), two without the
    VMO pack, a system item on the first and an item made in the UI on the second; namespaces on each
    cluster; the inventory file with group_vars beside it (the declaration, backend palette)."""
    s = palette_standin
    project = s.add_project("vmo-fleet-" + uid)
    backed = []
    for i, c in enumerate(clusters):
        backed.append(s.add_cluster(project, "%s-%s" % (c.name, uid), backing=c, tags={"env": "test", "site": c.name},
                                    base64_kubeconfig=(i == 1)))
    for i in range(2):
        s.add_cluster(project, "plain-%d-%s" % (i, uid), packs=["kubernetes", "cni-calico"])
    system_binding = {"type": "ClusterRoleBinding", "role": {"kind": "ClusterRole", "name": "view"},
                      "subjects": [{"type": "Group", "name": "palette-system-" + uid}]}
    s.system_item(backed[0].uid, [system_binding])
    ui_item = {"metadata": {"name": "made-in-the-ui", "uid": "e" * 24},
               "spec": {"isSystem": False, "bindings": [{"type": "ClusterRoleBinding",
                                                         "role": {"kind": "ClusterRole", "name": "view"},
                                                         "subjects": [{"type": "User", "name": "ui-user-" + uid}]}]},
               "status": {}}
    backed[1].rbacs = [ui_item]
    namespaces = ["web-app-%s-1" % uid, "web-app-%s-2" % uid, "team-%s" % uid]
    for c in clusters:
        for ns in namespaces:
            c.namespace(ns)
    bindings = [
        {"persona": "admin", "groups": ["vmo-admins-" + uid]},
        {"persona": "viewer", "users": ["bob-" + uid], "namespace_regex": "/^web-app-%s-/" % uid},
        {"persona": "power-user", "groups": ["operators-" + uid], "namespaces": ["team-" + uid]},
    ]
    inv_dir = tmp_path / "inventory"
    path = write_inventory(inv_dir, s, projects=["vmo-fleet-" + uid], kubeconfig="admin")
    (inv_dir / "group_vars").mkdir()
    (inv_dir / "group_vars" / "vmo_clusters.yml").write_text(yaml.safe_dump({
        "vmo_rbac_backend": "palette", "vmo_rbac_owner": owner, "vmo_rbac_bindings": bindings,
        "vmo_rbac_palette_ca_cert": s.ca_cert, "vmo_rbac_palette_wait": 60,
        "vmo_rbac_report_dir": str(tmp_path / "reports"), "vmo_rbac_report_formats": ["markdown", "json"]}))
    yield {"standin": s, "project": project, "backed": backed, "clusters": clusters, "inventory": path,
           "namespaces": namespaces, "uid": uid, "owner": owner, "ui_item": ui_item,
           "system_binding": system_binding}
    s.wait_for_agent()
    for c, b in zip(clusters, backed):
        remove_agent_bindings(c, b.uid)
        for ns in namespaces:
            c.delete_namespace(ns)


# --------------------------------------------------------------------------- the whole loop


def test_fleet_from_palette_enforced_through_palette_then_a_second_run_writes_nothing(fleet):
    """Inventory from the stand-in -> vmo.rbac.enforce with the palette backend on 3 clusters ->
    bindings in force on the real control planes -> validation passes -> the second run makes no
    write to the stand-in. Both runs at -vvvv: no API key and no kubeconfig content in any output."""
    s, uid = fleet["standin"], fleet["uid"]
    env = palette_env(s)
    secrets = secrets_of(s)
    started = time.monotonic()
    first = run_playbook("vmo.rbac.enforce", inventory=fleet["inventory"], env=env, args=["-vvvv"], timeout=900)
    first_seconds = time.monotonic() - started
    first_calls = list(s.requests)
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-3000:]
    assert leaks({"stdout": first.stdout, "stderr": first.stderr}, secrets) == []
    doc = json_doc(first.stdout)
    # task names carry the role's prefix ("vmo.rbac.vmo_rbac : Enforce | ...")
    by = {(t["task"]["name"].split(" : ")[-1], host): res for play in doc["plays"] for t in play["tasks"]
          for host, res in t["hosts"].items()}
    hosts = sorted(b.name for b in fleet["backed"])
    assert sorted(h for (task, h) in by if task.startswith("Enforce |")) == hosts  # the plain clusters left out
    got = {h: by[("Enforce | Make the cluster hold exactly the declared bindings", h)]["palette_requests"]
           for h in hosts}
    # the cluster's kubeconfig (each module call downloads it, in memory), GET the settings, PUT them, GET them
    # back (issue 18 item 6); vmo-3's cluster has no settings yet: its GET answers 404, and a GET of the
    # cluster tells "none yet" from "no such cluster"
    assert got == {hosts[0]: 4, hosts[1]: 4, hosts[2]: 5}, got
    for h in hosts:
        enforce = by[("Enforce | Make the cluster hold exactly the declared bindings", h)]
        assert enforce["changed"] is True and enforce["palette_cluster_uid"] and enforce["palette_writes"] == 1
        assert enforce["summary"]["created"] == 4, enforce["summary"]  # admin, 2 x viewer, power-user
        assert enforce["waited"]["checks"] == 4
        validation = by[("Validate | Prove the bindings and the effective access", h)]
        assert validation["passed"] is True, validation["msg"]
        assert validation["drift"] == [] and validation["palette_requests"] == 2

    # In force on the real control planes, through bindings Palette's agent (the stand-in) named.
    for c, b in zip(fleet["clusters"], fleet["backed"]):
        c.wait_until_can("x", "delete", "virtualmachines", "kubevirt.io", "team-" + uid, groups=["operators-" + uid])
        c.wait_until_can("bob-" + uid, "get", "virtualmachines", "kubevirt.io", "web-app-%s-2" % uid)
        c.wait_until_can("bob-" + uid, "get", "virtualmachines", "kubevirt.io", "team-" + uid, allowed=False)
        c.wait_until_can("x", "create", "namespaces", groups=["vmo-admins-" + uid])
        names = sorted(n for _k, _ns, n, _o in agent_bindings(c, b.uid))
        assert len(names) == 4 + (1 if b is fleet["backed"][0] else 0) + (1 if b is fleet["backed"][1] else 0)
        assert all(n.startswith("palette-") for n in names)
        assert c.bindings(fleet["owner"]) == {}  # nothing written by the kubernetes backend

    # Palette holds this owner's two items; the system item and the UI's item are kept as they were.
    first_items = s.rbac_items(fleet["backed"][0].uid)
    assert [i["metadata"].get("name") for i in first_items] == [
        "spectro-system", "vmo-rbac.%s.clusterrolebindings" % fleet["owner"], "vmo-rbac.%s.rolebindings" % fleet["owner"]]
    assert first_items[0]["spec"] == {"bindings": [fleet["system_binding"]], "isSystem": True}
    second_items = s.rbac_items(fleet["backed"][1].uid)
    assert second_items[0]["metadata"]["uid"] == "e" * 24 and second_items[0]["spec"] == fleet["ui_item"]["spec"]

    # The second run: the same inventory and declaration, no write to Palette, validation passes.
    mark = s.mark()
    started = time.monotonic()
    second = run_playbook("vmo.rbac.enforce", inventory=fleet["inventory"], env=env, args=["-vvvv"], timeout=900)
    second_seconds = time.monotonic() - started
    assert second.rc == 0, second.stdout[-4000:]
    assert leaks({"stdout": second.stdout, "stderr": second.stderr}, secrets) == []
    calls = s.since(mark)
    assert [c for c in calls if c["method"] != "GET" and c["op"] != "v1SpectroClustersSearchFilterSummary"] == []
    doc = json_doc(second.stdout)
    for play in doc["plays"]:
        for t in play["tasks"]:
            for h, res in t["hosts"].items():
                if t["task"]["name"].split(" : ")[-1].startswith("Enforce |"):
                    assert res["changed"] is False and res["summary"]["unchanged"] == 4, res["summary"]
                    assert res["palette_requests"] == 2
                if t["task"]["name"].split(" : ")[-1].startswith("Validate |"):
                    assert res["passed"] is True, res["msg"]
    assert all(re.match(r"ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", v) for v in recap(second.stdout).values())

    count = lambda calls, op: sum(1 for c in calls if c["op"] == op)  # noqa: E731
    figures = {
        "first run": {"requests": len(first_calls), "seconds": round(first_seconds, 1),
                      "search": count(first_calls, "v1SpectroClustersSearchFilterSummary"),
                      "profiles": count(first_calls, "v1SpectroClustersGetProfiles"),
                      "kubeconfig": count(first_calls, "v1SpectroClustersUidAdminKubeConfig"),
                      "rbac GET": count(first_calls, "v1SpectroClustersUidConfigRbacsGet"),
                      "rbac PUT": count(first_calls, "v1SpectroClustersUidConfigRbacsUpdate")},
        "second run": {"requests": len(calls), "seconds": round(second_seconds, 1),
                       "kubeconfig": count(calls, "v1SpectroClustersUidAdminKubeConfig"),
                       "rbac GET": count(calls, "v1SpectroClustersUidConfigRbacsGet"),
                       "rbac PUT": count(calls, "v1SpectroClustersUidConfigRbacsUpdate")},
    }
    print("\nPalette requests, 3 clusters (5 in the project): %s" % json.dumps(figures))
    # inventory: 2 search pages (the project is named: one at tenant scope resolves the name, one in the
    # project) + 5 profiles; per cluster: enforce kubeconfig + GET (+PUT, GET back), validate kubeconfig + GET
    assert figures["first run"] == dict(figures["first run"], search=2, profiles=5, kubeconfig=6)
    assert figures["first run"]["rbac PUT"] == 3 and figures["first run"]["rbac GET"] == 9  # 3 + 3 back, 3 validate
    assert figures["second run"]["rbac PUT"] == 0 and figures["second run"]["rbac GET"] == 6
    assert figures["second run"]["kubeconfig"] == 6 and figures["second run"]["requests"] == 2 + 5 + 6 + 6


def test_check_and_diff_mode_write_nothing_then_drift_and_conflicts_are_named(fleet):
    """On one cluster, with the module: --check --diff writes nothing and shows this owner's items
    before and after; validation reports the Palette items missing as drift; an item that carries
    this owner's item name but another tool's labels stops the run before any write, naming it."""
    s, uid = fleet["standin"], fleet["uid"]
    c, b = fleet["clusters"][2], fleet["backed"][2]
    kubeconfig = b.kubeconfigs["admin"]
    kc_path = Path(s.workdir) / "kc.yaml"
    kc_path.write_text(kubeconfig)
    kc_path.chmod(0o600)
    args = {"backend": "palette", "palette_cluster_uid": b.uid, "palette_project_uid": fleet["project"],
            "palette_ca_cert": s.ca_cert, "kubeconfig": str(kc_path), "owner": fleet["owner"],
            "bindings": [{"persona": "viewer", "users": ["bob-" + uid], "namespace_regex": "/^web-app-%s-/" % uid}]}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "check", RB_MODULE: args, "check_mode": True, "diff": True, "register": "checked"},
        {"name": "validate", VALIDATE_MODULE: dict(args, fail_on_drift=False)},
    ]}]
    mark = s.mark()
    run = run_playbook(play, env=palette_env(s), diff=True)
    checked, validated = run.task("check"), run.task("validate")
    assert checked["changed"] is True and [a["action"] for a in checked["actions"]] == ["create", "create"]
    assert "spectro-vm-viewer" in checked["diff"][0]["after"] and checked["diff"][0]["before"] == ""
    assert [x["op"] for x in s.since(mark) if x["method"] == "PUT"] == []
    assert validated["passed"] is False and sorted(d["namespace"] for d in validated["drift"]) == sorted(
        ["web-app-%s-1" % uid, "web-app-%s-2" % uid])
    assert all(d["action"] == "create" and "Palette" in d["problem"] for d in validated["drift"])

    s.clusters[b.uid].rbacs = [{"metadata": {"name": "vmo-rbac.%s.rolebindings" % fleet["owner"], "uid": "f" * 24,
                                             "labels": {"app.kubernetes.io/managed-by": "terraform"}},
                                "spec": {"isSystem": False, "bindings": []}, "status": {}}]
    mark = s.mark()
    run = run_playbook([{"hosts": "localhost", "gather_facts": False,
                         "tasks": [{"name": "enforce", RB_MODULE: args, "ignore_errors": True}]}], env=palette_env(s))
    res = run.task("enforce")
    assert res["failed"] and "in the way" in res["msg"] and "vmo-rbac.%s.rolebindings" % fleet["owner"] in res["msg"]
    assert "another tool" in res["msg"] and res["changed"] is False
    assert [x for x in s.since(mark) if x["method"] == "PUT"] == []


def test_cluster_wide_grants_need_no_kubeconfig_and_absent_keeps_other_items(fleet):
    """With only cluster-wide grants, require_roles off and no wait, the palette backend talks to
    Palette alone (no cluster connection at all); state=absent then removes exactly this owner's
    grant and leaves the system item as it was."""
    s, uid = fleet["standin"], fleet["uid"]
    b = fleet["backed"][0]
    args = {"backend": "palette", "palette_cluster_uid": b.uid, "palette_project_uid": fleet["project"],
            "palette_ca_cert": s.ca_cert, "owner": fleet["owner"], "require_roles": False,
            "host": "https://127.0.0.1:1", "api_key": "unused-token-" + uid, "api_retries": 0,
            "bindings": [{"persona": "viewer", "groups": ["auditors-" + uid]}]}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "grant", RB_MODULE: args},
        {"name": "again", RB_MODULE: args},
        {"name": "withdraw", RB_MODULE: dict(args, state="absent")},
    ]}]
    run = run_playbook(play, env=palette_env(s))
    assert run.rc == 0, run.stdout[-3000:]
    assert run.task("grant")["changed"] and run.task("grant")["api_requests"] == 0
    assert run.task("again")["changed"] is False
    assert run.task("withdraw")["changed"] and [a["action"] for a in run.task("withdraw")["actions"]] == ["delete"]
    items = s.rbac_items(b.uid)
    assert [i["metadata"]["name"] for i in items] == ["spectro-system"]
    assert items[0]["spec"]["bindings"] == [fleet["system_binding"]]


# --------------------------------------------------------------------------- two owners at once


@pytest.mark.parametrize("read", ["start", "end"])
def test_two_owners_writing_at_once_keep_every_item_of_both(clusters, palette_standin, uid, tmp_path, read):
    """Issue 18 item 6: two jobs of two owners enforce on the same cluster at the same time. Palette's
    RBAC settings have no version or ETag (the specification declares none on these paths), and the
    stand-in's GETs take 2 s, the first two held until both have arrived: both owners read the same
    list and PUT it back with their own items. Each reads the list back after its PUT and merges and
    writes again when its items were overwritten: at the end Palette holds every item of both, the
    system item and the UI's item as they were, and the real cluster (through the stand-in's agent)
    grants every subject of both, of the system item and of the UI item."""
    s = palette_standin
    c = clusters[0]
    project = s.add_project("race-" + uid)
    b = s.add_cluster(project, "race-" + uid, backing=c)
    system_binding = {"type": "ClusterRoleBinding", "role": {"kind": "ClusterRole", "name": "view"},
                      "subjects": [{"type": "Group", "name": "palette-system-" + uid}]}
    s.system_item(b.uid, [system_binding])
    ui_item = {"metadata": {"name": "made-in-the-ui", "uid": "e" * 24},
               "spec": {"isSystem": False, "bindings": [{"type": "ClusterRoleBinding",
                                                         "role": {"kind": "ClusterRole", "name": "view"},
                                                         "subjects": [{"type": "User", "name": "ui-" + uid}]}]},
               "status": {}}
    with s.lock:
        b.rbacs.append(ui_item)
    ns = "race-" + uid
    c.namespace(ns)
    kc = tmp_path / "kubeconfig"
    kc.write_text(b.kubeconfigs["admin"])
    kc.chmod(0o600)
    owners = {"race-a-" + uid: [{"persona": "admin", "groups": ["a-admins-" + uid]},
                                {"persona": "viewer", "users": ["a-bob-" + uid], "namespaces": [ns]}],
              "race-b-" + uid: [{"persona": "user", "groups": ["b-users-" + uid]},
                                {"persona": "power-user", "users": ["b-eve-" + uid], "namespaces": [ns]}]}
    s.slow_rbac_gets(2.0, read=read, gate=2)

    def enforce(owner):
        args = {"backend": "palette", "palette_cluster_uid": b.uid, "palette_project_uid": project,
                "palette_ca_cert": s.ca_cert, "kubeconfig": str(kc), "owner": owner, "bindings": owners[owner],
                "wait": 120}
        return owner, run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "enforce", RB_MODULE: args}]}], env=palette_env(s), timeout=600)

    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = dict(pool.map(enforce, owners))
        for owner, run in runs.items():
            assert run.rc == 0, (owner, run.task("enforce").get("msg") if run.results else run.stdout[-3000:])
        results = {o: r.task("enforce") for o, r in runs.items()}
        writes = sorted(r["palette_writes"] for r in results.values())
        assert writes[0] == 1 and writes[1] >= 2, writes  # the race happened, and the loser wrote again
        assert all(r["waited"]["checks"] >= 2 for r in results.values())

        items = s.rbac_items(b.uid)
        names = sorted(i["metadata"].get("name") for i in items)
        assert names == sorted(["spectro-system", "made-in-the-ui"] + ["vmo-rbac.%s.%s" % (o, t) for o in owners
                                                                      for t in ("clusterrolebindings", "rolebindings")])
        assert next(i for i in items if i["metadata"]["name"] == "spectro-system")["spec"] == {
            "bindings": [system_binding], "isSystem": True}
        ui = next(i for i in items if i["metadata"]["name"] == "made-in-the-ui")
        assert ui["metadata"]["uid"] == "e" * 24 and ui["spec"] == ui_item["spec"]

        s.slow_rbac_gets(0.0)
        s.wait_for_agent()
        a, bb = list(owners)
        c.wait_until_can("x", "create", "namespaces", groups=["a-admins-" + uid])
        c.wait_until_can("a-bob-" + uid, "get", "virtualmachines", "kubevirt.io", ns)
        c.wait_until_can("x", "get", "virtualmachines", "kubevirt.io", "default", groups=["b-users-" + uid])
        c.wait_until_can("b-eve-" + uid, "delete", "virtualmachines", "kubevirt.io", ns)
        c.wait_until_can("x", "list", "pods", "", "default", groups=["palette-system-" + uid])
        c.wait_until_can("ui-" + uid, "list", "pods", "", "default")
        # nothing of either owner was written by the kubernetes backend
        assert c.bindings(a) == {} and c.bindings(bb) == {}
    finally:
        s.slow_rbac_gets(0.0)
        s.wait_for_agent()
        remove_agent_bindings(c, b.uid)
        c.delete_namespace(ns)


# --------------------------------------------------------------------------- the inventory


def test_inventory_reads_every_page_and_isolates_failures(palette_standin, tmp_path, uid):
    """125 VMO clusters (3 search pages) and 5 others in one project, a second project the key's user
    may not read (403), one VMO cluster whose kubeconfig download answers 404. The inventory holds
    the 125 hosts, each to be reached with its admin kubeconfig from Palette (downloaded by the modules
    when they run: the inventory downloads none); the 403 project is a warning. With kubeconfig_files, the
    inventory downloads them into private files and the 404 cluster is a host marked with the reason.
    At -vvvv, neither the API key nor any kubeconfig content appears."""
    s = palette_standin
    fleet_project = s.add_project("big-" + uid)
    denied = s.add_project("denied-" + uid)
    made = []
    for i in range(130):
        vmo = i % 26 != 25  # 5 of the 130 run no VMO pack
        made.append(s.add_cluster(fleet_project, "c%03d-%s" % (i, uid), tags={"env": "prod" if i % 2 else "dev",
                                                                              "vmo": "spectro__tag"},
                                  packs=["virtual-machine-orchestrator"] if vmo else ["kubernetes"],
                                  base64_kubeconfig=bool(i % 3 == 0)))
    broken = made[7]
    broken.kubeconfigs["admin"] = None
    s.add_cluster(denied, "hidden-" + uid)
    s.deny_project(denied)
    path = write_inventory(tmp_path / "inv", s, projects=["big-" + uid, denied], kubeconfig="admin", concurrency=8)
    files_path = write_inventory(tmp_path / "files", s, projects=["big-" + uid, denied], kubeconfig="admin",
                                 concurrency=8, kubeconfig_files=True)
    started = time.monotonic()
    proc = inventory_list(path, palette_env(s), "-vvvv")
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert leaks({"stdout": proc.stdout, "stderr": proc.stderr}, secrets_of(s)) == []
    out = plain(json.loads(proc.stdout[proc.stdout.index("\n{") + 1:] if not proc.stdout.startswith("{") else proc.stdout))
    hostvars = out["_meta"]["hostvars"]
    hosts = sorted(out["vmo_clusters"]["hosts"])
    assert len(hosts) == 125 and "c025-%s" % uid not in hosts
    assert sorted(out["palette_tag_env_prod"]["hosts"] + out["palette_tag_env_dev"]["hosts"]) == hosts
    assert sorted(out["palette_project_big_%s" % uid.replace("-", "_")]["hosts"]) == hosts
    assert all(hostvars[h]["vmo_rbac_palette_kubeconfig"] == "admin" and "vmo_rbac_kubeconfig" not in hostvars[h]
               for h in hosts)
    # the file sets kubeconfig_dir (write_inventory), which only kubeconfig_files uses: said, not silently ignored
    assert "kubeconfig_dir is used only with kubeconfig_files: true" in " ".join(proc.stderr.split())
    assert "vmo_rbac_inventory_error" not in hostvars[broken.name]  # its modules will say it (test_awx_split.py)
    assert "denied-" + uid not in proc.stdout and "hidden-" not in proc.stdout
    assert re.search(r"project %s: Palette at \S+ refused GET /v1/projects/%s \(403 Forbidden\)" % (denied, denied),
                     proc.stderr.replace("\n", " ")), proc.stderr[-2000:]
    one = hostvars[hosts[0]]
    assert one["palette_project"] == "big-" + uid and one["palette_cloud_type"] == "edge-native"
    assert one["palette_tags"] == ["env:dev", "vmo"] and one["palette_state"] == "Running"
    assert not (tmp_path / "inv" / "kubeconfigs").exists()
    calls = s.calls()
    figure = {"requests": len(calls), "seconds": round(seconds, 2),
              "search": sum(1 for c in calls if c["op"] == "v1SpectroClustersSearchFilterSummary"),
              "profiles": sum(1 for c in calls if c["op"] == "v1SpectroClustersGetProfiles"),
              "kubeconfig": sum(1 for c in calls if c["op"] == "v1SpectroClustersUidAdminKubeConfig")}
    print("\ninventory of 130 clusters: %s" % json.dumps(figure))
    # tenant search to resolve the name (3 pages) + project GET (403) + 3 pages + 130 profiles; no kubeconfig
    assert figure["search"] == 6 and figure["profiles"] == 130 and figure["kubeconfig"] == 0
    assert hostvars[hosts[0]]["palette_inventory_requests"] == len(calls) == 137

    # kubeconfig_files: the kubeconfigs downloaded into private files, a download that fails marks its host
    mark = s.mark()
    proc = inventory_list(files_path, palette_env(s), "-vvvv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert leaks({"stdout": proc.stdout, "stderr": proc.stderr}, secrets_of(s)) == []
    out = plain(json.loads(proc.stdout[proc.stdout.index("\n{") + 1:] if not proc.stdout.startswith("{") else proc.stdout))
    hostvars = out["_meta"]["hostvars"]
    assert sorted(out["vmo_clusters"]["hosts"]) == hosts
    assert "cannot download its admin kubeconfig" in hostvars[broken.name]["vmo_rbac_inventory_error"]
    assert "vmo_rbac_kubeconfig" not in hostvars[broken.name]
    assert all("vmo_rbac_palette_kubeconfig" not in v for v in hostvars.values())
    assert re.search(r"cluster %s \(%s\): cannot download its admin kubeconfig" % (broken.name, broken.uid),
                     proc.stderr.replace("\n", " "))
    kdir = tmp_path / "files" / "kubeconfigs"
    assert stat.S_IMODE(os.stat(kdir).st_mode) == 0o700
    files = sorted(kdir.iterdir())
    assert len(files) == 124 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert all(yaml.safe_load(f.read_text())["kind"] == "Config" for f in files[:10])  # base64 bodies decoded
    assert sum(1 for c in s.since(mark) if c["op"] == "v1SpectroClustersUidAdminKubeConfig") == 125

    # The same file with fail_on_errors: the inventory fails, naming the project.
    strict = write_inventory(tmp_path / "strict", s, projects=["big-" + uid, denied], kubeconfig="none",
                             fail_on_errors=True)
    proc = inventory_list(strict, dict(palette_env(s), ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    assert proc.returncode != 0 and "project %s" % denied in proc.stderr


def test_a_tenant_cannot_take_another_clusters_host_name(palette_standin, tmp_path, uid):
    """Attack pass (Palette tenant data): cluster 'prod' in projects 'team' and 'other' are the hosts
    prod.team and prod.other; a tenant of project 'evil' names its cluster 'prod.team'. Before, that
    cluster took the host prod.team (and with it host_vars/prod.team.yml), and team's prod left the
    fleet without a word. Now each cluster is a host of its own; the two ambiguous ones carry the
    reason (the vmo_rbac role fails them before any request) and a warning names both."""
    s = palette_standin
    team, other, evil = (s.add_project(n + "-" + uid) for n in ("team", "other", "evil"))
    victim = s.add_cluster(team, "prod")
    s.add_cluster(other, "prod")
    squatter = s.add_cluster(evil, "prod.team-" + uid)
    path = write_inventory(tmp_path / "inv", s, projects=[team, other, evil])
    proc = inventory_list(path, palette_env(s))
    assert proc.returncode == 0, proc.stderr[-2000:]
    hostvars = plain(json.loads(proc.stdout))["_meta"]["hostvars"]
    by_uid = {hv["palette_cluster_uid"]: (h, hv) for h, hv in hostvars.items()}
    assert len(hostvars) == 3 and set(by_uid) == {c.uid for c in s.clusters.values()}
    assert by_uid[victim.uid][0] == "prod.team-%s.%s" % (uid, victim.uid)
    assert by_uid[squatter.uid][0] == "prod.team-%s.%s" % (uid, squatter.uid)
    for c in (victim, squatter):
        assert "host name 'prod.team-%s' is ambiguous" % uid in by_uid[c.uid][1]["vmo_rbac_inventory_error"]
    assert "prod.other-" + uid in hostvars and "vmo_rbac_inventory_error" not in hostvars["prod.other-" + uid]
    assert "is ambiguous" in proc.stderr


def test_inventory_cache_serves_a_second_parse_without_requests(palette_standin, tmp_path, uid):
    s = palette_standin
    project = s.add_project("cached-" + uid)
    for i in range(3):
        s.add_cluster(project, "k%d-%s" % (i, uid))
    path = write_inventory(tmp_path / "inv", s, projects=[project], kubeconfig="admin", cache=True,
                           cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    first = inventory_list(path, palette_env(s))
    assert first.returncode == 0, first.stderr
    mark = s.mark()
    second = inventory_list(path, palette_env(s))
    assert second.returncode == 0 and s.since(mark) == []
    assert json.loads(first.stdout)["vmo_clusters"] == json.loads(second.stdout)["vmo_clusters"]
    cache_text = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert s.api_key not in cache_text and "client-key-data" not in cache_text


@pytest.mark.parametrize("connection, mode", [("files", "enforce"), ("files", "reconcile"), ("palette", "enforce"),
                                              ("palette", "reconcile")])
def test_a_cluster_whose_kubeconfig_cannot_be_had_fails_alone(clusters, palette_standin, tmp_path, uid, owner,
                                                             connection, mode):
    """One cluster's kubeconfig answers 404, the other's is there. With kubeconfig_files (the inventory
    downloads them) the role fails that host at its first step with the inventory's reason and sends
    nothing to it; with the kubeconfig from Palette at run time (the default), its first module call fails
    with the reason before any RBAC request (no RBAC settings read or written). Either way the other
    cluster is enforced (and validated), in enforce and in reconcile mode (what the rulebook runs)."""
    s = palette_standin
    project = s.add_project("iso-" + uid)
    good = s.add_cluster(project, "good-" + uid, backing=clusters[0])
    bad = s.add_cluster(project, "bad-" + uid, backing=clusters[1])
    bad.kubeconfigs["admin"] = None
    inv = tmp_path / "inv"
    path = write_inventory(inv, s, projects=[project], kubeconfig="admin", kubeconfig_files=(connection == "files"))
    (inv / "group_vars").mkdir()
    (inv / "group_vars" / "vmo_clusters.yml").write_text(yaml.safe_dump({
        "vmo_rbac_backend": "palette", "vmo_rbac_owner": owner, "vmo_rbac_palette_ca_cert": s.ca_cert,
        "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["iso-" + uid]}], "vmo_rbac_report_dir": ""}))
    try:
        mark = s.mark()
        run = run_playbook("vmo.rbac.enforce", inventory=path, env=palette_env(s), timeout=600,
                           extra_vars={"vmo_rbac_mode": mode})
        assert run.rc != 0
        stats = json_doc(run.stdout)["stats"]
        assert stats[good.name]["failures"] == 0 and stats[bad.name]["failures"] == 1, stats
        mine = [x for x in run.results if x["host"] == bad.name]
        sent = [(x["task"], x["result"].get("action")) for x in mine
                if (x["result"].get("action") or "").startswith("vmo.rbac.") and not x["result"].get("skipped")
                and x["result"].get("action") != "vmo.rbac.vmo_rbac_fleet_report"]  # the controller's report
        if connection == "files":
            assert any("cannot download its admin kubeconfig" in (x["result"].get("msg") or "") for x in mine)
            assert not sent, sent
        else:
            failed = [x["result"] for x in mine if x["result"].get("failed")]
            assert any("palette_kubeconfig: cluster %s has no admin kubeconfig in Palette (404 Not Found)" % bad.uid
                       in (r.get("msg") or "") for r in failed), [r.get("msg") for r in failed]
            assert [t for t, _a in sent] == [sent[0][0]] and "Make the cluster hold" in sent[0][0]  # the first call
            # its kubeconfig (404), then its cluster (there: so not "deleted"), and nothing else
            assert [c["op"] for c in s.since(mark) if bad.uid in c["path"]
                    and c["op"] != "v1SpectroClustersGetProfiles"] == [  # (the inventory's)
                "v1SpectroClustersUidAdminKubeConfig", "v1SpectroClustersGet"]
        assert s.rbac_items(bad.uid) == [] and s.calls(cluster=bad.uid, op="v1SpectroClustersUidConfigRbacsGet") == []
        s.wait_for_agent()  # reconcile does not validate, so nothing waited for the agent's apply
        clusters[0].wait_until_can("x", "get", "virtualmachines", "kubevirt.io", "default", groups=["iso-" + uid])
    finally:
        s.wait_for_agent()
        remove_agent_bindings(clusters[0], good.uid)
