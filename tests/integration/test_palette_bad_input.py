"""The bad-input catalog of the Palette pieces (tests/integration/test_bad_input.py style).

Each case is one input and the field its message must name, and each fails before the first request:
to Palette (the stand-in's request log stays empty) and to the cluster (each module case connects as an
identity of its own, a cluster admin, and the audit log shows no request from it). Each bad input sits
next to a valid grant that would be written if the run went through.

- the inventory file (``*.palette.yml``): one ansible-inventory run per case;
- the backend options of both modules: the cases as the tasks of one ansible-playbook run;
- the role's backend variables: one host per case through vmo.rbac.enforce.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import yaml

from tests.helpers.ansible import BIN, ansible_env, run_playbook
from tests.helpers.palette_standin import PaletteStandIn

pytestmark = pytest.mark.xdist_group("palette-bad-input")

RB_MODULE = "vmo.rbac.vmo_role_binding"
VALIDATE_MODULE = "vmo.rbac.vmo_rbac_validate"
VALID = {"persona": "viewer", "groups": ["palette-bad-input-valid"]}


@dataclass
class Case:
    id: str
    args: dict
    field: str
    words: tuple = ()
    env: dict = field(default_factory=dict)

    def param(self):
        return pytest.param(self, id=self.id)


# --------------------------------------------------------------------------- the inventory file

INVENTORY_CASES = [
    Case("kubeconfig-not-a-choice", {"kubeconfig": "sometimes"}, "kubeconfig", ("sometimes",)),
    Case("projects-a-mapping", {"projects": {"team": True}}, "projects"),
    Case("project-empty", {"projects": ["ok", ""]}, "projects[1]"),
    Case("project-a-number", {"projects": [42]}, "projects[0]"),
    Case("host-plain-http", {"host": "http://palette.example.com"}, "host", ("only https",)),
    Case("host-with-a-path", {"host": "https://palette.example.com/v1"}, "host", ("without a path",)),
    Case("host-with-credentials", {"host": "https://me:secret@palette.example.com"}, "host"),
    Case("api-key-missing", {}, "api_key", ("SPECTROCLOUD_APIKEY",), env={"SPECTROCLOUD_APIKEY": ""}),
    Case("concurrency-zero", {"concurrency": 0}, "concurrency"),
    Case("api-retries-too-many", {"api_retries": 50}, "api_retries"),
    Case("request-timeout-negative", {"request_timeout": -1}, "request_timeout"),
    Case("ca-cert-missing", {"ca_cert": "/nonexistent/ca.crt"}, "ca_cert"),
    Case("kubeconfig-dir-is-a-file", {"kubeconfig": "admin", "kubeconfig_files": True, "kubeconfig_dir": "@FILE@"},
         "kubeconfig_dir"),
    Case("kubeconfig-files-in-an-awx-inventory-update", {"kubeconfig": "admin", "kubeconfig_files": True},
         "kubeconfig_files", ("AWX inventory update",), env={"INVENTORY_UPDATE_ID": "21"}),
    Case("api-key-with-a-line-break", {}, "api_key", ("line break",), env={"SPECTROCLOUD_APIKEY": "@KEY@\n"}),
    Case("vmo-pack-a-list", {"vmo_pack": ["virtual-machine-orchestrator"]}, "vmo_pack"),
    Case("unknown-option", {"projcts": ["a"]}, "projcts", ("did you mean 'projects'",)),
    Case("group-empty", {"group": ""}, "group"),
]


@pytest.fixture(scope="module")
def standin(tmp_path_factory, palette_spec):
    s = PaletteStandIn(tmp_path_factory.mktemp("palette-bad"), spec=palette_spec).start()
    project = s.add_project("bad-input")
    yield s, project
    s.stop()
    assert not s.take_violations()


@pytest.fixture(scope="module")
def inventory_runs(standin, tmp_path_factory):
    s, project = standin
    base = tmp_path_factory.mktemp("palette-bad-inventory")
    a_file = base / "not-a-directory"
    a_file.write_text("x")

    def run(case):
        d = base / case.id
        d.mkdir()
        config = {"plugin": "vmo.rbac.palette", "projects": [project], "ca_cert": s.ca_cert}
        config.update({k: (str(a_file) if v == "@FILE@" else v) for k, v in case.args.items()})
        (d / "bad.palette.yml").write_text(yaml.safe_dump(config))
        env = ansible_env({"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key,
                           "ANSIBLE_INVENTORY_ENABLED": "vmo.rbac.palette", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
                           **{k: v.replace("@KEY@", s.api_key) for k, v in case.env.items()}})
        return case.id, subprocess.run([str(BIN / "ansible-inventory"), "-i", str(d / "bad.palette.yml"), "--list"],
                                       capture_output=True, text=True, env=env, timeout=120, check=False)

    mark = s.mark()
    with ThreadPoolExecutor(max_workers=4) as pool:
        out = dict(pool.map(run, INVENTORY_CASES))
    return out, s.since(mark)


@pytest.mark.parametrize("case", [c.param() for c in INVENTORY_CASES])
def test_inventory_file(case, inventory_runs, standin):
    runs, requests = inventory_runs
    proc = runs[case.id]
    text = " ".join((proc.stderr + proc.stdout).split())
    assert proc.returncode != 0, text[-1500:]
    # our own checks say "vmo.rbac.palette: <field>: ...", Ansible's type and choice checks "config '<field>'"
    assert ("vmo.rbac.palette: %s:" % case.field in text) or ("onfig '%s'" % case.field in text), text[-1500:]
    for w in case.words:
        assert w in text, text[-1500:]
    assert "secret" not in text or case.id != "host-with-credentials"
    assert standin[0].api_key not in text
    assert requests == [], "bad inventory input reached Palette: %s" % requests


# --------------------------------------------------------------------------- the backend options

MODULE_CASES = [
    Case("backend-not-a-choice", {"backend": "paletta"}, "backend", ("paletta",)),
    Case("cluster-uid-missing", {"palette_cluster_uid": None}, "palette_cluster_uid", ("inventory plugin",)),
    Case("cluster-uid-path-traversal", {"palette_cluster_uid": "../../v1/projects"}, "palette_cluster_uid"),
    Case("cluster-uid-a-list", {"palette_cluster_uid": ["abc"]}, "palette_cluster_uid"),
    Case("project-uid-with-slash", {"palette_project_uid": "a/b"}, "palette_project_uid"),
    Case("palette-host-http", {"palette_host": "http://127.0.0.1:1"}, "palette_host", ("only https",)),
    Case("api-key-missing", {"palette_api_key": ""}, "palette_api_key", ("SPECTROCLOUD_APIKEY",)),
    Case("wait-negative", {"wait": -1}, "wait"),
    Case("wait-too-long", {"wait": 999999}, "wait"),
    Case("wait-with-the-kubernetes-backend", {"backend": "kubernetes", "wait": 30}, "wait", ("backend=palette",)),
    Case("ca-cert-missing", {"palette_ca_cert": "/nonexistent/ca.crt"}, "palette_ca_cert"),
    Case("validate-certs-not-a-boolean", {"palette_validate_certs": "perhaps"}, "palette_validate_certs"),
    Case("declaration-checked-first", {"bindings": [VALID, {"persona": "admn", "groups": ["g"]}]},
         "bindings[1].persona", ("did you mean 'admin'",)),
    # the cluster's kubeconfig from Palette (issue 20); the base arguments carry a connection of their own
    Case("api-key-with-a-line-break", {"palette_api_key": "@KEY@\n"}, "palette_api_key", ("line break",)),
    Case("palette-kubeconfig-not-a-choice", {"palette_kubeconfig": "client"}, "palette_kubeconfig"),
    Case("palette-kubeconfig-beside-a-connection", {"palette_kubeconfig": "admin"}, "host",
         ("given with palette_kubeconfig (and client_cert, client_key, ca_cert)", "K8S_AUTH_")),
    Case("palette-kubeconfig-without-cluster-uid", {"backend": "kubernetes", "palette_kubeconfig": "admin",
                                                    "palette_cluster_uid": None},
         "palette_cluster_uid", ("required with palette_kubeconfig",)),
]
VALIDATE_CASES = [
    Case("validate-cluster-uid-missing", {"palette_cluster_uid": None}, "palette_cluster_uid"),
    Case("validate-backend-not-a-choice", {"backend": "terraform"}, "backend"),
]


@pytest.fixture(scope="module")
def module_runs(standin, cluster, tmp_path_factory):
    s, project = standin
    target = s.add_cluster(project, "target")
    ident = cluster.identity("palette-bad-input")
    base = {"backend": "palette", "palette_cluster_uid": target.uid, "palette_project_uid": project,
            "palette_ca_cert": s.ca_cert, "owner": "palette-bad", "bindings": [VALID], **ident.params}
    tasks = []
    for module, cases in ((RB_MODULE, MODULE_CASES), (VALIDATE_MODULE, VALIDATE_CASES)):
        for c in cases:
            args = dict(base, **c.args)
            args = {k: (v.replace("@KEY@", s.api_key) if isinstance(v, str) else v) for k, v in args.items()
                    if v is not None}
            tasks.append({"name": c.id, module: args, "ignore_errors": True})
    audit = cluster.audit()
    mark = s.mark()
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}],
                       env={"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key})
    return run, s.since(mark), audit.events(user="palette-bad-input"), target


@pytest.mark.parametrize("case", [c.param() for c in MODULE_CASES + VALIDATE_CASES])
def test_backend_option(case, module_runs, standin):
    run, requests, events, target = module_runs
    res = run.task(case.id)
    assert res.get("failed"), res
    assert case.field in res["msg"], res["msg"]
    if res.get("field"):
        assert res["field"] == case.field
    for w in case.words:
        assert w in res["msg"], res["msg"]
    assert res.get("changed") is False
    assert standin[0].api_key not in run.stdout + run.stderr
    assert requests == [], "bad input reached Palette: %s" % requests
    assert events == [], "bad input reached the cluster: %s" % [(e["verb"], e["requestURI"]) for e in events]


# --------------------------------------------------------------------------- the role's variables


def test_role_backend_variables_fail_at_the_start(standin, cluster, tmp_path):
    s, project = standin
    target = s.add_cluster(project, "role-target")
    ident = cluster.identity("palette-bad-role")
    typos = {
        "backend-typo": ({"vmo_rbac_backend": "paletta"}, ["vmo_rbac_backend", "paletta"]),
        "wait-typo": ({"vmo_rbac_backend": "palette", "vmo_rbac_palette_wait": "soon"}, ["vmo_rbac_palette_wait"]),
        "certs-typo": ({"vmo_rbac_backend": "palette", "vmo_rbac_palette_validate_certs": "perhaps"},
                       ["vmo_rbac_palette_validate_certs"]),
    }
    inv = tmp_path / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
        "hosts": {h: {} for h in typos},
        "vars": {"ansible_connection": "local", "vmo_rbac_owner": "palette-bad-role", "vmo_rbac_bindings": [VALID],
                 "vmo_rbac_report_dir": "", "palette_cluster_uid": target.uid, "palette_project_uid": project,
                 "vmo_rbac_palette_ca_cert": s.ca_cert,
                 **{"vmo_rbac_" + k: v for k, v in ident.params.items()}}}}}}))
    for host, (host_vars, _words) in typos.items():
        (inv / "host_vars" / (host + ".yml")).write_text(yaml.safe_dump(host_vars))
    audit = cluster.audit()
    mark = s.mark()
    run = run_playbook("vmo.rbac.enforce", inventory=inv,
                       env={"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key})
    assert run.rc != 0
    for host, (_host_vars, words) in typos.items():
        mine = [r for r in run.results if r["host"] == host]
        assert len(mine) == 1 and mine[0]["result"]["action"].endswith("validate_argument_spec"), mine
        for w in words:
            assert w in mine[0]["result"]["msg"], mine[0]["result"]["msg"]
    assert s.since(mark) == [] and audit.events(user="palette-bad-role") == []
