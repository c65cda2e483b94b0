"""The event source's arguments (plugins/plugin_utils/eda_config.py): clusters from a list or from
the very inventory the enforce playbook reads (Ansible's own inventory code, on real files), the
modules' connection options and K8S_AUTH_* fallbacks, settings, and errors that name the
argument but never a credential."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config as cfg

TOKEN = "s3cr3t-token-value"
COLLECTIONS = Path(__file__).resolve().parents[4] / ".build" / "collections"
# Reading an inventory initialises Ansible's plugin loader and collection finder, process-wide (as
# in the event source's process); the inventory tests run it in a child process so that it does
# not change how later tests in this pytest process import the collection.
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config as cfg
try:
    _settings, targets = cfg.resolve(json.loads(sys.argv[2]))
    print(json.dumps({"targets": [[t.name, t.owner, t.params] for t in targets]}))
except cfg.ConfigError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def resolve_with_inventory(args, env=None):
    """cfg.resolve(args) in a child process: {name: (owner, params)}; raises ConfigError as it would."""
    proc = subprocess.run([sys.executable, "-c", CHILD, str(COLLECTIONS), json.dumps(args)], capture_output=True,
                          text=True, check=False, timeout=120, env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in out:
        raise cfg.ConfigError(out["error"])
    return {name: (owner, params) for name, owner, params in out["targets"]}


@pytest.fixture(autouse=True)
def no_k8s_env(monkeypatch):
    for name in ("ANSIBLE_INVENTORY", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_CONTEXT", "K8S_AUTH_KUBECONFIG",
                 "K8S_AUTH_VERIFY_SSL", "K8S_AUTH_VALIDATE_CERTS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_and_context_names():
    settings, targets = cfg.resolve({"clusters": ["prod-east", "prod-west"]})
    assert settings == cfg.Settings(debounce=0.2, max_delay=1.0, min_interval=3.0, watch_timeout=300,
                                    backoff_initial=0.5, backoff_max=10.0, max_namespaces=50000,
                                    max_bindings=100000, startup_event=True, page_size=500)
    assert [(t.name, t.owner, t.params["context"]) for t in targets] == [("prod-east", "vmo-rbac", "prod-east"),
                                                                         ("prod-west", "vmo-rbac", "prod-west")]
    assert targets[0].params["request_timeout"] == 30.0 and targets[0].params["api_retries"] == 5


def test_a_clusters_own_options_then_the_top_level_then_k8s_auth(monkeypatch):
    monkeypatch.setenv("K8S_AUTH_API_KEY", TOKEN)
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "no")
    _s, targets = cfg.resolve({
        "kubeconfig": "/etc/kube/fleet", "owner": "team-x", "request_timeout": "12",
        "clusters": [{"name": "a", "context": "ctx-a", "owner": "team-a"},
                     {"name": "b", "host": "https://b.example:6443", "request_timeout": 5}]})
    a, b = targets
    assert (a.owner, a.params["kubeconfig"], a.params["context"], a.params["request_timeout"]) == \
        ("team-a", "/etc/kube/fleet", "ctx-a", 12.0)
    assert (b.owner, b.params["host"], b.params["api_key"], b.params["validate_certs"], b.params["request_timeout"]) == \
        ("team-x", "https://b.example:6443", TOKEN, False, 5.0)


@pytest.mark.parametrize("args, message", [
    ({"clusters": [{"context": "x"}]}, "clusters[0]: expected a context name or a mapping with a name"),
    ({"clusters": [{"name": "a", "contxt": "x"}]}, "clusters[0]: unknown option contxt"),
    ({"clusters": ["a", {"name": "a"}]}, "the name a appears twice"),
    ({"clusters": "a"}, "clusters: expected a non-empty list"),
    ({"clusters": [{"name": "a", "request_timeout": 0}]}, "request_timeout: must be greater than 0"),
    ({"clusters": [{"name": "a", "client_cert": "/c"}]}, "client_cert and client_key must be given together"),
    ({"clusters": [{"name": "a", "owner": ""}]}, "owner must be a non-empty string"),
    ({"clusters": ["a"], "debounce": "soon"}, "debounce: expected a number"),
    ({"clusters": ["a"], "debounce": 2, "max_delay": 1}, "max_delay: must be at least debounce"),
    ({"clusters": ["a"], "backoff_initial": 0}, "backoff_initial: must be greater than 0"),
    ({"clusters": ["a"], "startup_event": "maybe"}, "startup_event"),
    ({"clusters": ["a"], "namespaces": ["x"]}, "unknown argument namespaces"),
    ({}, "no clusters to watch: give clusters, or inventory (or set ANSIBLE_INVENTORY"),
])
def test_wrong_arguments_are_named(args, message):
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.resolve(args)
    assert message in str(exc.value)


def test_errors_never_show_a_credential():
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.resolve({"clusters": [{"name": "a", "host": "https://a", "api_key": TOKEN, "validate_certs": "perhaps"}]})
    assert "validate_certs" in str(exc.value) and TOKEN not in str(exc.value)


# ---------------------------------------------------------------------- inventory


@pytest.fixture
def inventory(tmp_path):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "host_vars").mkdir()
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
        "vmo_clusters": {"hosts": {"prod-east": {}, "prod-west": {}}},
        "other": {"hosts": {"not-a-cluster": {}}}}}}))
    (inv / "group_vars" / "vmo_clusters.yml").write_text(yaml.safe_dump({
        "ansible_connection": "local", "vmo_rbac_kubeconfig": str(tmp_path / "fleet.kubeconfig"),
        "vmo_rbac_context": "{{ inventory_hostname }}", "vmo_rbac_bindings": [{"persona": "viewer", "users": ["b"]}]}))
    (inv / "host_vars" / "prod-west.yml").write_text(yaml.safe_dump({
        "vmo_rbac_owner": "west", "vmo_rbac_request_timeout": 7, "vmo_rbac_validate_certs": False}))
    return inv


def test_clusters_and_connections_come_from_the_playbooks_inventory(inventory):
    targets = resolve_with_inventory({}, env={"ANSIBLE_INVENTORY": str(inventory)})
    got = {name: (owner, p["kubeconfig"], p["context"], p["request_timeout"], p["validate_certs"])
           for name, (owner, p) in targets.items()}
    assert got == {"prod-east": ("vmo-rbac", str(inventory.parent / "fleet.kubeconfig"), "prod-east", 30.0, None),
                   "prod-west": ("west", str(inventory.parent / "fleet.kubeconfig"), "prod-west", 7.0, False)}


def test_the_group_selects_the_hosts(inventory):
    assert list(resolve_with_inventory({"inventory": str(inventory), "group": "prod-west"})) == ["prod-west"]
    with pytest.raises(cfg.ConfigError, match="no host matches 'nothing'"):
        resolve_with_inventory({"inventory": str(inventory), "group": "nothing"})


def test_a_missing_inventory_is_named(tmp_path):
    with pytest.raises(cfg.ConfigError, match="inventory: .*/nope does not exist"):
        cfg.resolve({"inventory": str(tmp_path / "nope")})


def test_a_failing_template_names_the_variable_not_its_value(inventory):
    (inventory / "host_vars" / "prod-east.yml").write_text(yaml.safe_dump({
        "vmo_rbac_api_key": "%s{{ undefined_thing }}" % TOKEN, "vmo_rbac_host": "https://east"}))
    with pytest.raises(cfg.ConfigError) as exc:
        resolve_with_inventory({"inventory": str(inventory)})
    assert "prod-east: cannot evaluate vmo_rbac_api_key" in str(exc.value) and TOKEN not in str(exc.value)


def test_a_palette_inventory_connects_each_cluster_with_its_kubeconfig_from_palette(tmp_path):
    """The hosts of the vmo.rbac.palette inventory (as AWX keeps them: only their variables) carry where the
    cluster is in Palette and which kubeconfig to use; the source reads them as the role does, with the
    Palette credential of the environment (SPECTROCLOUD_*), and refuses an ambiguous connection before
    anything is asked, naming the option, never a credential (issue 20)."""
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {
        "east": {"palette_cluster_uid": "a" * 24, "palette_project_uid": "b" * 24, "vmo_rbac_palette_kubeconfig": "admin"},
        "west": {"palette_cluster_uid": "c" * 24, "palette_project_uid": "b" * 24, "vmo_rbac_palette_kubeconfig": "admin",
                 "vmo_rbac_palette_cluster_uid": "d" * 24}}}}}}))
    env = {"ANSIBLE_INVENTORY": str(inv), "SPECTROCLOUD_APIKEY": TOKEN, "SPECTROCLOUD_HOST": "palette.example.com"}
    targets = resolve_with_inventory({}, env=env)
    got = {name: (p["palette_kubeconfig"], p["palette_cluster_uid"], p["palette_project_uid"], p["palette_host"],
                  p["palette_api_key"] == TOKEN, p["kubeconfig"]) for name, (_owner, p) in targets.items()}
    assert got == {"east": ("admin", "a" * 24, "b" * 24, "palette.example.com", True, None),
                   "west": ("admin", "d" * 24, "b" * 24, "palette.example.com", True, None)}  # the role's variable wins
    with pytest.raises(cfg.ConfigError) as exc:
        resolve_with_inventory({}, env=dict(env, K8S_AUTH_HOST="https://10.0.0.1:6443", K8S_AUTH_API_KEY=TOKEN))
    assert "inventory host east: host: given with palette_kubeconfig (and api_key): " in str(exc.value)
    assert TOKEN not in str(exc.value)
    with pytest.raises(cfg.ConfigError, match="inventory host east: palette_api_key: required with palette_kubeconfig"):
        resolve_with_inventory({}, env=dict(env, SPECTROCLOUD_APIKEY=""))


def test_the_palette_rate_limit_of_the_inventory_is_the_sources_too(tmp_path):
    """vmo_rbac_palette_rate_limit, which the role passes to every module as palette_rate_limit, paces the
    source's kubeconfig downloads too (it was not read from the inventory: the source paced at the default
    9 per second, or VMO_RBAC_PALETTE_RATE_LIMIT, whatever the inventory said; seen failing). A value out of
    range is refused before any request, naming the option."""
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
        "vars": {"vmo_rbac_palette_rate_limit": 2.5},
        "hosts": {"east": {"palette_cluster_uid": "a" * 24, "vmo_rbac_palette_kubeconfig": "admin"},
                  "west": {"palette_cluster_uid": "c" * 24, "vmo_rbac_palette_kubeconfig": "admin",
                           "vmo_rbac_palette_rate_limit": 0}}}}}}))
    env = {"ANSIBLE_INVENTORY": str(inv), "SPECTROCLOUD_APIKEY": TOKEN, "SPECTROCLOUD_HOST": "palette.example.com"}
    targets = resolve_with_inventory({}, env=env)
    assert {name: p["palette_rate_limit"] for name, (_owner, p) in targets.items()} == {"east": 2.5, "west": 0.0}
    # the environment, as before, where the inventory says nothing
    targets = resolve_with_inventory({"clusters": [{"name": "a", "palette_kubeconfig": "admin",
                                                    "palette_cluster_uid": "a" * 24}]},
                                     env=dict(env, VMO_RBAC_PALETTE_RATE_LIMIT="4"))
    assert targets["a"][1]["palette_rate_limit"] == 4.0
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {
        "east": {"palette_cluster_uid": "a" * 24, "vmo_rbac_palette_kubeconfig": "admin",
                 "vmo_rbac_palette_rate_limit": 5000}}}}}}))
    with pytest.raises(cfg.ConfigError, match="inventory host east: palette_rate_limit: "):
        resolve_with_inventory({}, env=env)
