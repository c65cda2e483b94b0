"""The examples test: every YAML example of README.md, docs/*.md, roles/vmo_rbac/README.md and
examples/ runs as written (or, where it cannot run here, is checked), against local clusters whose
kubeconfig contexts carry the names the docs use. tests/helpers/doc_examples.py says how a block says
what it is; a block that breaks fails here, named by file and line.

The clusters are three of this test's own (the examples grant cluster-wide, with the default owner,
to groups such as vmo-admins: on the shared clusters that would show up in other tests' "who can"
answers). Their world is what the docs' shell steps create: the reference persona roles, the
namespaces the examples name (team-a, team-b, monitoring, migration, web-app-*, shop-*, lab-* with
env=lab). Before each example every binding vmo.rbac manages is removed, so each starts as a
reader's cluster would."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

import ansible_runner
import jinja2.sandbox
import pytest
import yaml

from tests.helpers import doc_examples
from tests.helpers.ansible import BIN, ansible_env
from tests.helpers.doc_world import env_for, playbook, reset, world  # noqa: F401 pylint: disable=unused-import

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = doc_examples.all_examples()
BASELINE = yaml.safe_load((ROOT / "examples" / "inventory" / "group_vars" / "vmo_clusters.yml").read_text())[
    "vmo_rbac_bindings"]
pytestmark = pytest.mark.xdist_group("doc_examples")


def assert_green(proc, example):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "%s failed (rc %d):\n%s" % (example.id, proc.returncode, out[-6000:])
    recap = out[out.rfind("PLAY RECAP"):] if "PLAY RECAP" in out else ""
    assert "--syntax-check" in " ".join(proc.args) or re.search(r"ok=[1-9]", recap), out[-3000:]
    assert not re.search(r"failed=[1-9]", recap), out[-3000:]


def localhost_play(tasks, vars_=None, name="Example"):
    play = {"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}
    if vars_:
        play["vars"] = vars_
    return [play]


def enforce_baseline(world, tmp_path):
    """What a reader's cluster holds when an example proves "the same declaration": the baseline."""
    play = localhost_play([{"name": "Grant the baseline", "vmo.rbac.vmo_role_binding": {
        "context": "prod-east", "bindings": BASELINE}}])
    path = tmp_path / "baseline.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = playbook(path, tmp_path, world)
    assert proc.returncode == 0, proc.stdout[-3000:]


# --------------------------------------------------------------------------------- per kind

def run_playbook_example(example, world, tmp_path):
    path = tmp_path / example.args.get("file", "example.yml")
    path.write_text(example.text)
    args = []
    if example.args.get("inventory"):
        args += ["-i", str(ROOT / example.args["inventory"])]
    if example.args.get("syntax-check"):
        args.append("--syntax-check")
    if example.args.get("runner"):
        run_as_awx_job(example, path, world, tmp_path)
        return
    assert_green(playbook(path, tmp_path, world, *args), example)


def run_as_awx_job(example, path, world, tmp_path):
    """A project playbook as AWX runs it: ansible-runner, a private data directory with the project,
    the inventory as AWX stores it, and the kubeconfig the custom credential type of docs/awx.md
    injects (a file, and K8S_AUTH_KUBECONFIG naming it)."""
    pdd = tmp_path / "pdd"
    for d in ("env", "inventory", "project"):
        (pdd / d).mkdir(parents=True)
    (pdd / "project" / path.name).write_text(path.read_text())
    inventory = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(ROOT / example.args["runner"]), "--list",
                                "--export"], capture_output=True, text=True, check=True, env=ansible_env()).stdout
    # AWX hands the job its stored inventory as an executable script that prints the JSON
    script = pdd / "inventory" / "hosts"
    script.write_text("#!%s\nimport sys\nsys.stdout.write(%r)\n" % (sys.executable, inventory))
    script.chmod(0o755)
    env = ansible_env()
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(
        {k: env[k] for k in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP", "PATH")}
        | {"ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "K8S_AUTH_KUBECONFIG": str(world["kubeconfig"])}))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({"vmo_rbac_report_dir": str(tmp_path / "reports")}))
    if example.args.get("after") == "enforce":  # what the job proves was enforced by an earlier job
        (pdd / "project" / "_enforce.yml").write_text("- ansible.builtin.import_playbook: vmo.rbac.enforce\n")
        r = ansible_runner.run(private_data_dir=str(pdd), playbook="_enforce.yml", quiet=True,
                               process_isolation=False)
        assert r.status == "successful", (example.id, r.stdout.read()[-5000:])
    r = ansible_runner.run(private_data_dir=str(pdd), playbook=path.name, quiet=True, process_isolation=False)
    assert r.status == "successful" and r.rc == 0, (example.id, r.status, r.stdout.read()[-5000:])
    stats = next(e for e in r.events if e["event"] == "playbook_on_stats")["event_data"]
    assert stats["ok"] and not stats["failures"], (example.id, stats)


def run_tasks_example(example, world, tmp_path):
    vars_ = {}
    if example.args.get("vars") == "baseline":
        enforce_baseline(world, tmp_path)
        vars_["vmo_rbac_bindings"] = BASELINE
    path = tmp_path / "example.yml"
    path.write_text(yaml.safe_dump(localhost_play(example.data, vars_), sort_keys=False))
    assert_green(playbook(path, tmp_path, world), example)


def run_bindings_example(example, world, tmp_path):
    play = localhost_play([
        {"name": "Grant", "vmo.rbac.vmo_role_binding": {"context": "prod-east", "bindings": example.data}},
        {"name": "Prove", "vmo.rbac.vmo_rbac_validate": {"context": "prod-east", "bindings": example.data}}])
    path = tmp_path / "example.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    assert_green(playbook(path, tmp_path, world), example)


def run_vars_example(example, world, tmp_path):
    host = example.args.get("host", "prod-east")
    inv = tmp_path / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {host: {
        "vmo_rbac_context": host, "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable}}}}}}))
    (inv / "host_vars" / ("%s.yml" % host)).write_text(example.text)
    if example.args.get("check-only"):
        spec = yaml.safe_load((ROOT / "roles" / "vmo_rbac" / "meta" / "argument_specs.yml").read_text())
        play = [{"name": "The role's argument validation", "hosts": "vmo_clusters", "gather_facts": False,
                 "tasks": [{"ansible.builtin.validate_argument_spec": {
                     "argument_spec": spec["argument_specs"]["main"]["options"]}}]}]
        path = tmp_path / "check.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        # variables the example takes from elsewhere (Ansible Vault, an AWX credential): any string
        given = {name: "given-" + name for name in str(example.args.get("vars", "")).split(",") if name}
        (tmp_path / "given.json").write_text(json.dumps(given))
        assert_green(playbook(path, tmp_path, world, "-i", str(inv), "-e", "@" + str(tmp_path / "given.json")),
                     example)
        return
    (tmp_path / "enforce.yml").write_text(yaml.safe_dump(
        [{"ansible.builtin.import_playbook": "vmo.rbac.enforce"}]))
    assert_green(playbook(tmp_path / "enforce.yml", tmp_path, world, "-i", str(inv)), example)


def run_options_example(example, world, tmp_path):
    module = example.args["module"]
    options = dict(example.data)
    options.setdefault("context", "prod-east")
    options.setdefault("bindings", BASELINE)
    if module == "vmo.rbac.vmo_rbac_validate":
        options.setdefault("fail_on_drift", False)
    path = tmp_path / "example.yml"
    path.write_text(yaml.safe_dump(localhost_play([{"name": "Options", module: options}]), sort_keys=False))
    assert_green(playbook(path, tmp_path, world, "--check"), example)


def check_awx_credential_type(example, world, tmp_path):  # pylint: disable=unused-argument
    """AWX's rules for a custom credential type: fields with an id, a type among AWX's and a label;
    required ids are fields; every injector (file templates, env, extra_vars) renders from the
    inputs (AWX's Jinja2; tower.filename.<name> for each file template)."""
    data = example.data
    fields = {f["id"]: f for f in data["fields"]}
    assert all(f.get("type", "string") in ("string", "boolean") and f.get("label") for f in fields.values())
    assert set(data.get("required", [])) <= set(fields)
    inputs = {k: "value-of-" + k for k in fields}
    files = {k.split(".", 1)[1]: "/runner/env/tmp-" + k for k in data.get("file", {}) if k.startswith("template")}
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    context = dict(inputs, tower={"filename": files}, awx={"filename": files})
    for section in ("file", "env", "extra_vars"):
        for key, template in (data.get(section) or {}).items():
            env.from_string(str(template)).render(context)  # an unknown name raises


def run_vars_file_example(example, world, tmp_path):
    """A project's file: an inventory is read as AWX's inventory update reads it; variables pass the
    role's argument validation (the page that uses them runs them: test_from_zero.py)."""
    name = example.args["file"]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example.text)
    if path.parent.name in ("group_vars", "host_vars"):
        inv = tmp_path / "inv"
        (inv / path.parent.name).mkdir(parents=True)
        host = path.stem if path.parent.name == "host_vars" else "prod-east"
        (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {path.stem if path.parent.name ==
                                                                             "group_vars" else "vmo_clusters": {
            "hosts": {host: {"ansible_connection": "local", "vmo_rbac_context": host}}}}}}))
        (inv / path.parent.name / path.name).write_text(example.text)
        spec = yaml.safe_load((ROOT / "roles" / "vmo_rbac" / "meta" / "argument_specs.yml").read_text())
        play = [{"name": "The role's argument validation", "hosts": "all", "gather_facts": False,
                 "tasks": [{"ansible.builtin.validate_argument_spec": {
                     "argument_spec": spec["argument_specs"]["main"]["options"]}}]}]
        (tmp_path / "check.yml").write_text(yaml.safe_dump(play, sort_keys=False))
        assert_green(playbook(tmp_path / "check.yml", tmp_path, world, "-i", str(inv)), example)
        return
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list", "--export"], cwd=tmp_path,
                          capture_output=True, text=True, env=env_for(world), timeout=300, check=False)
    assert proc.returncode == 0 and "[WARNING]" not in proc.stderr, (example.id, proc.stderr)
    assert json.loads(proc.stdout)["vmo_clusters"]["hosts"], (example.id, proc.stdout)


def page_objects(example, kind):
    """The objects of this kind on the same page, by name."""
    return {e.data["name"]: e.data for e in doc_examples.examples_of(example.path) if e.kind == kind}


def check_awx_job_template(example, world, tmp_path):  # pylint: disable=unused-argument
    """Its playbook is a file of the page's project; job_type is AWX's; the page launches it for real
    (tests/integration/test_from_zero.py)."""
    t = example.data
    assert t["job_type"] in ("run", "check"), example.id
    assert t["playbook"] in doc_examples.files_of(example.path), (example.id, t["playbook"])
    assert isinstance(t.get("extra_vars", {}), dict) and isinstance(t["credentials"], list)


def check_awx_schedule(example, world, tmp_path):  # pylint: disable=unused-argument
    """AWX parses rrule with python-dateutil and needs a DTSTART; the template is one of the page's."""
    import dateutil.rrule  # pylint: disable=import-outside-toplevel

    sched = example.data
    assert sched["unified_job_template"] in page_objects(example, "awx-job-template"), example.id
    assert "DTSTART" in sched["rrule"]
    rule = dateutil.rrule.rrulestr(sched["rrule"].replace(" RRULE:", "\nRRULE:"), forceset=True)
    first, second = list(rule[:2])
    assert first.tzinfo is not None and second > first


def check_awx_activation(example, world, tmp_path):  # pylint: disable=unused-argument
    act = example.data
    assert (ROOT / "extensions" / "eda" / "rulebooks" / act["rulebook"]).is_file(), example.id
    assert act["extra_vars"]["vmo_rbac_job_template"] in page_objects(example, "awx-job-template"), example.id
    assert act["restart_policy"] in ("always", "on-failure", "never")


def check_partial(example, world, tmp_path):  # pylint: disable=unused-argument
    assert example.data is not None, example.id


RUNNERS = {
    "playbook": run_playbook_example, "tasks": run_tasks_example, "bindings": run_bindings_example,
    "vars": run_vars_example, "options": run_options_example, "vars-file": run_vars_file_example,
    "awx-job-template": check_awx_job_template, "awx-schedule": check_awx_schedule,
    "awx-activation": check_awx_activation,
    "awx-credential-type": check_awx_credential_type, "partial": check_partial,
}


def times_have_not_passed(example):
    """An example that grants until a fixed time stops working once that time has passed: say so
    plainly (move the time forward) rather than as the module's refusal."""
    now = datetime.datetime.now(datetime.timezone.utc)
    for value in re.findall(r"expires: *\"?(\d{4}-\d\d-\d\d[T ][\d:]+(?:Z|[+-]\d\d:\d\d))", example.text):
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
        assert moment > now, "%s: the example grants until %s, which has passed: move it forward" % (
            example.id, value)


RUN_HERE = [e for e in EXAMPLES if e.kind != "palette-inventory"]
PALETTE = [e for e in EXAMPLES if e.kind == "palette-inventory"]


@pytest.mark.parametrize("example", RUN_HERE, ids=[e.id for e in RUN_HERE])
def test_the_example_runs_as_written(example, world, tmp_path):
    assert example.kind in RUNNERS, (
        "%s: a YAML block that is not a playbook says what it is: <!-- example: KIND ... --> on the line "
        "before it (tests/helpers/doc_examples.py)" % example.id)
    times_have_not_passed(example)
    reset(world)
    RUNNERS[example.kind](example, world, tmp_path)


def test_the_example_fleet_runs_as_examples_readme_says(world, tmp_path):
    """examples/README.md: the three-cluster inventory, with a kubeconfig whose contexts carry the
    hosts' names handed over as K8S_AUTH_KUBECONFIG: check with diff, enforce, validate; again no change."""
    reset(world)
    env = {"K8S_AUTH_KUBECONFIG": str(world["kubeconfig"])}
    inv = str(ROOT / "examples" / "inventory")
    check = playbook("vmo.rbac.enforce", tmp_path, world, "-i", inv, "--check", "--diff", env=env)
    assert check.returncode == 0, check.stdout[-5000:]
    assert not world["clusters"][0].bindings("vmo-rbac")  # check mode wrote nothing
    for _ in range(2):
        run = playbook("vmo.rbac.enforce", tmp_path, world, "-i", inv, env=env)
        assert run.returncode == 0, run.stdout[-5000:]
    assert re.search(r"prod-east\s+: ok=\d+\s+changed=0", run.stdout), run.stdout[-3000:]
    validate = playbook("vmo.rbac.validate", tmp_path, world, "-i", inv, env=env)
    assert validate.returncode == 0, validate.stdout[-5000:]
    reports = tmp_path / "vmo-rbac-reports"
    assert sorted(p.name for p in reports.iterdir()) == ["vmo-rbac-report.html", "vmo-rbac-report.md",
                                                          "vmo-rbac-report.xml"]
    east, west, lab = world["clusters"]
    east.wait_until_can("oidc:oncall@example.com", "delete", "virtualmachines", "kubevirt.io", "team-b")
    west.wait_until_can("bob@example.com", "get", "virtualmachines", "kubevirt.io", "shop-payments")
    lab.wait_until_can("x", "delete", "virtualmachines", "kubevirt.io", "lab-perf", groups=["lab-users"])
    lab.wait_until_can("x", "delete", "virtualmachines", "kubevirt.io", "team-a", groups=["lab-users"], allowed=False)


def test_an_example_that_breaks_fails_the_test(world, tmp_path):
    """The harness itself: README's first example with a typo in a persona, and with an undefined
    variable (what it had before), fails; the same unbroken runs."""
    readme = next(e for e in EXAMPLES if e.id.startswith("README.md:"))
    reset(world)
    run_playbook_example(readme, world, tmp_path)
    for broken in (readme.text.replace("persona: viewer", "persona: veiwer"),
                   readme.text.replace('"{{ bindings }}"', '"{{ same_list_as_above }}"', 1)):
        assert broken != readme.text
        example = doc_examples.Example(readme.path, readme.line, broken, "playbook")
        reset(world)
        with pytest.raises(AssertionError):
            run_playbook_example(example, world, tmp_path)


# ----------------------------------------------------------------------------------- Palette

@pytest.fixture
def palette(world, palette_standin):
    """The Palette the docs describe: project vm-production and a project named by its uid
    (64f0c2a1b2c3d4e5f6a7b8c9), their VMO clusters backed by this test's clusters, and a cluster
    without the VMO pack that the inventory must leave out."""
    s = palette_standin
    production = s.add_project("vm-production")
    other = s.add_project("vm-lab", uid="64f0c2a1b2c3d4e5f6a7b8c9")
    east, west, lab = world["clusters"]
    s.add_cluster(production, "prod-east", backing=east, tags={"env": "prod"})
    s.add_cluster(production, "prod-west", backing=west, tags={"env": "prod"})
    s.add_cluster(other, "dev-lab", backing=lab, tags={"env": "lab"})
    s.add_cluster(production, "plain-k8s", packs=["kubernetes"])
    return s


def palette_env(standin, tmp_path):
    # HOME: the plugin's default kubeconfig_dir is under ~/.ansible
    return {"SPECTROCLOUD_HOST": standin.url, "SPECTROCLOUD_APIKEY": standin.api_key, "HOME": str(tmp_path / "home")}


def trusting(text, standin):
    """The stand-in's certificate is signed by a CA of its own: what a reader's system trust store does
    for Palette's, an added ca_cert does here (nothing else of the example changes)."""
    return text.rstrip("\n") + "\nca_cert: %s\n" % standin.ca_cert


def test_the_palette_inventory_examples_run_against_the_stand_in(world, palette, tmp_path):
    assert PALETTE, "docs/palette.md has an inventory example"
    for example in PALETTE:
        path = tmp_path / example.args.get("file", "fleet.palette.yml")
        path.write_text(trusting(example.text, palette))
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), "--graph"], cwd=tmp_path,
                              capture_output=True, text=True, env=env_for(world, palette_env(palette, tmp_path)),
                              timeout=300, check=False)
        assert proc.returncode == 0, (example.id, proc.stdout + proc.stderr)
        graph = proc.stdout
        assert "@vmo_clusters:" in graph and "@palette_project_vm_production:" in graph, (example.id, graph)
        for host in ("prod-east", "prod-west", "dev-lab"):
            assert "--" + host in graph, (example.id, host, graph)
        assert "plain-k8s" not in graph, (example.id, graph)
        assert "[WARNING]" not in proc.stderr, (example.id, proc.stderr)


def test_the_palette_example_fleet_runs_in_check_mode(world, palette, tmp_path):
    """examples/README.md: ansible-playbook -i examples/palette/fleet.palette.yml vmo.rbac.enforce
    --check --diff, against the stand-in: the plan, nothing written to Palette or the clusters."""
    reset(world)
    inv = tmp_path / "palette"
    (inv / "group_vars").mkdir(parents=True)
    src = ROOT / "examples" / "palette"
    (inv / "fleet.palette.yml").write_text(trusting((src / "fleet.palette.yml").read_text(), palette))
    group_vars = (src / "group_vars" / "vmo_clusters.yml").read_text()
    (inv / "group_vars" / "vmo_clusters.yml").write_text(
        group_vars.rstrip("\n") + "\nvmo_rbac_palette_ca_cert: %s\n" % palette.ca_cert)
    proc = playbook("vmo.rbac.enforce", tmp_path, world, "-i", str(inv / "fleet.palette.yml"), "--check", "--diff",
                    env=palette_env(palette, tmp_path))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    # the example's inventory names the project vm-production: its two VMO clusters, not dev-lab
    assert re.search(r"prod-east\s+: ok=[1-9]", proc.stdout) and re.search(r"prod-west\s+: ok=[1-9]", proc.stdout)
    assert "dev-lab" not in proc.stdout[proc.stdout.rfind("PLAY RECAP"):]
    assert not any(c.bindings("vmo-rbac") for c in world["clusters"])
    assert all(not c.rbacs for c in palette.clusters.values())
