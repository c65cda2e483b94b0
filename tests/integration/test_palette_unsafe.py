"""Text from Palette is data, never a template (issue 18 item 4).

Cluster names, label keys and values, tags, project names, cloud types, states and Palette's own
error messages reach the controller through the inventory plugin ``vmo.rbac.palette``: as host names,
host variables, group names and the input of the user's ``compose``, ``groups`` and ``keyed_groups``.
Anyone who may name a cluster or label it in Palette writes that text. On ansible-core 2.16 a value
that an inventory plugin does not mark unsafe is templated wherever it is used, so a label
``{{ lookup('pipe', 'id > /tmp/x') }}`` ran a command on the controller while the inventory was parsed
with the plugin's own ``keyed_groups`` example (2.19's data tagging trusts no inventory value).

Each Palette value here is a lookup that creates a marker file of its own; the test passes when no
marker exists after
- ``ansible-inventory --list`` and ``--list --export`` (what AWX runs for an inventory update), with
  the documentation's ``compose`` and ``keyed_groups`` and a ``compose``/``groups`` entry that reads
  Palette values;
- an ``ansible-playbook`` run over the inventory whose tasks use every variable, the host name and the
  group names (templated twice: ``set_fact`` then ``debug``);
- the same play over the exported JSON served back by an inventory script (how an AWX job gets the
  inventory it imported);
and when every value arrives as the literal text Palette sent. It runs in the everyday suite
(ansible-core 2.19) and in both combinations of ``make compat`` (tests/compat/run.py: 2.16.19 and
2.19), since the two series treat untrusted text differently.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers.ansible import BIN, ansible_env, run_playbook


def lookup(markers: Path, vector: str) -> str:
    return "{{ lookup('pipe', 'touch %s') }}" % (markers / vector)


def plain(obj):
    """JSON of ansible-inventory without the {"__ansible_unsafe": ...} markers (both series write them
    for unsafe values)."""
    if isinstance(obj, dict):
        if set(obj) == {"__ansible_unsafe"}:
            return obj["__ansible_unsafe"]
        return {plain(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def test_palette_text_is_never_templated_on_the_controller(palette_standin, tmp_path):
    s = palette_standin
    markers = tmp_path / "markers"
    markers.mkdir()
    v = {name: lookup(markers, name) for name in (
        "project", "name", "label-value", "label-key", "tag", "cloud-type", "state", "error")}
    project = s.add_project("team" + v["project"])
    target = s.add_cluster(project, "vm" + v["name"], tags={"env": v["label-value"], v["label-key"]: "x",
                                                            v["tag"]: "spectro__tag"},
                           cloud_type="edge" + v["cloud-type"], state="Running" + v["state"])
    broken = s.add_cluster(project, "second")
    s.fault(404, path="/v1/spectroclusters/%s/assets/adminKubeconfig$" % broken.uid, times=10,
            message="no kubeconfig " + v["error"])
    inv_dir = tmp_path / "inv"
    inv_dir.mkdir()
    inventory = inv_dir / "fleet.palette.yml"
    inventory.write_text(yaml.safe_dump({
        "plugin": "vmo.rbac.palette", "projects": [project], "ca_cert": s.ca_cert, "kubeconfig": "admin",
        "kubeconfig_files": True, "kubeconfig_dir": str(inv_dir / "kubeconfigs"), "api_retries": 0,
        # the documentation's example (EXAMPLES of the plugin, docs/palette.md) ...
        "compose": {"vmo_rbac_backend": "'palette'",
                    # ... and what users write with Palette values
                    "cluster_env": "palette_labels.env", "cluster_where": "palette_project ~ '/' ~ palette_cloud_type"},
        "keyed_groups": [{"key": "palette_labels.env | default('none')", "prefix": "env"},
                         {"key": "palette_tags", "prefix": "tag"},
                         {"key": "palette_labels", "prefix": "label"}],
        "groups": {"edge_clusters": "palette_cloud_type.startswith('edge')"},
    }, sort_keys=False))
    env = ansible_env({"SPECTROCLOUD_HOST": s.url, "SPECTROCLOUD_APIKEY": s.api_key,
                       "ANSIBLE_INVENTORY_ENABLED": "vmo.rbac.palette,ansible.builtin.script",
                       "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})

    def fired():
        return sorted(p.name for p in markers.iterdir())

    # ansible-inventory, as a user and as AWX's inventory update runs it
    listed = {}
    for args in (["--list"], ["--list", "--export"]):
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inventory), *args], capture_output=True,
                              text=True, env=env, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert fired() == [], "ansible-inventory %s ran Palette text as a template: %s" % (" ".join(args), fired())
        listed[" ".join(args)] = proc.stdout
    out = plain(json.loads(listed["--list"]))
    host = "vm" + v["name"]
    hv = out["_meta"]["hostvars"][host]
    assert hv["palette_cluster_name"] == host and hv["palette_project"] == "team" + v["project"]
    assert hv["palette_labels"] == {"env": v["label-value"], v["label-key"]: "x", v["tag"]: "spectro__tag"}
    assert sorted(hv["palette_tags"]) == sorted(["env:" + v["label-value"], v["label-key"] + ":x", v["tag"]])
    assert hv["palette_cloud_type"] == "edge" + v["cloud-type"] and hv["palette_state"] == "Running" + v["state"]
    assert hv["cluster_env"] == v["label-value"] and hv["vmo_rbac_backend"] == "palette"
    assert hv["cluster_where"] == "team%s/edge%s" % (v["project"], v["cloud-type"])
    assert v["error"] in out["_meta"]["hostvars"]["second"]["vmo_rbac_inventory_error"]
    assert host in out["edge_clusters"]["hosts"]
    # every group name is sanitised to letters, digits and underscores: no group can carry a template
    assert all(g.replace("_", "").isalnum() for g in out["all"]["children"]), out["all"]["children"]
    assert any(g.startswith("env_") and "lookup" in g for g in out) and any(g.startswith("label_") for g in out)

    # a play that uses every value, the host name and the group names, templated twice
    play_path = tmp_path / "use.yml"
    play_path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "connection": "local", "tasks": [
        {"name": "copy", "ansible.builtin.set_fact": {
            "seen": "{{ [inventory_hostname, group_names, palette_cluster_name, palette_project, palette_labels, "
                    "palette_tags, palette_cloud_type, palette_state, cluster_env | default(''), "
                    "vmo_rbac_inventory_error | default(''), cluster_where | default('')] }}"}},
        {"name": "show", "ansible.builtin.debug": {"msg": "{{ seen }} {{ hostvars[inventory_hostname] }}"}},
    ]}]))
    run = run_playbook(play_path, inventory=inventory, env={k: env[k] for k in (
        "SPECTROCLOUD_HOST", "SPECTROCLOUD_APIKEY", "ANSIBLE_INVENTORY_ENABLED")})
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert fired() == [], "the play ran Palette text as a template: %s" % fired()
    shown = [r["result"] for r in run.results if r["task"] == "copy" and r["host"] == host][0]
    seen = plain(shown["ansible_facts"]["seen"])
    assert seen[0] == host and seen[2] == host and seen[3] == "team" + v["project"]
    assert seen[4]["env"] == v["label-value"] and seen[8] == v["label-value"]
    assert seen[10] == "team%s/edge%s" % (v["project"], v["cloud-type"])  # composed of two Palette texts

    # the inventory cache (jsonfile) holds Palette's texts as plain JSON: a parse served from it marks them too
    cached = dict(yaml.safe_load(inventory.read_text()), cache=True, cache_plugin="ansible.builtin.jsonfile",
                  cache_connection=str(tmp_path / "cache"))
    inventory.write_text(yaml.safe_dump(cached, sort_keys=False))
    for i in range(2):  # the first parse fills the cache, the second is served from it
        mark = s.mark()
        run = run_playbook(play_path, inventory=inventory, env={k: env[k] for k in (
            "SPECTROCLOUD_HOST", "SPECTROCLOUD_APIKEY", "ANSIBLE_INVENTORY_ENABLED")})
        assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert fired() == [], "a play over the cached inventory ran Palette text as a template: %s" % fired()
        assert (s.since(mark) == []) == (i == 1), "the second parse was not served from the cache"

    # the exported inventory served back by a script, as an AWX job receives what AWX imported
    script = tmp_path / "awx_inventory.py"
    (tmp_path / "export.json").write_text(listed["--list --export"])
    script.write_text("#!%s\nimport sys\nif '--host' in sys.argv:\n    print('{}')\nelse:\n"
                      "    print(open(%r).read())\n" % (sys.executable, str(tmp_path / "export.json")))
    script.chmod(0o755)
    run = run_playbook(play_path, inventory=script, env={"ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.script"})
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert fired() == [], "a play over the exported inventory ran Palette text as a template: %s" % fired()
    shown = [r["result"] for r in run.results if r["task"] == "copy" and r["host"] == host][0]
    assert plain(shown["ansible_facts"]["seen"])[4]["env"] == v["label-value"]
    assert os.listdir(markers) == []
