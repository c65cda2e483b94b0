"""The event source under bad input (issue 18, item 10): every numeric setting finite and in range,
every string that reaches a label selector (the owner) or a host pattern (a cluster's name, the
event's --limit) checked, refused at start naming the option; and watch answers of the wrong shape
are stream errors (back off, resume), never an exception per retry."""

from __future__ import annotations

import pytest

from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config as cfg
from ansible_collections.vmo.rbac.plugins.plugin_utils import watch as w


@pytest.fixture(autouse=True)
def no_k8s_env(monkeypatch):
    for name in ("ANSIBLE_INVENTORY", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_CONTEXT", "K8S_AUTH_KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("name, value, words", [
    ("debounce", NAN, "debounce: expected a finite number, got nan"),
    ("debounce", ".nan", "debounce: expected a number, got '.nan'"),
    ("debounce", "nan", "debounce: expected a finite number"),
    ("max_delay", INF, "max_delay: expected a finite number, got inf"),
    ("min_interval", -INF, "min_interval: expected a finite number"),
    ("min_interval", -1, "min_interval: must be at least 0"),
    ("backoff_initial", 0, "backoff_initial: must be greater than 0"),
    ("backoff_max", 1e9, "backoff_max: must be at most 3600"),
    ("watch_timeout", 2.5, "watch_timeout: expected a whole number, got 2.5"),
    ("watch_timeout", INF, "watch_timeout: expected a finite number"),  # int(inf) used to raise OverflowError
    ("watch_timeout", 10 ** 9, "watch_timeout: must be at most 86400"),
    ("page_size", True, "page_size: expected a whole number, got a boolean"),
    ("max_namespaces", [1], "max_namespaces: expected a whole number, got a list"),
    ("max_bindings", -5, "max_bindings: must be at least 1"),
    ("startup_event", "maybe", "startup_event: expected true or false"),
])
def test_every_setting_is_finite_and_in_range(name, value, words):
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.resolve({"clusters": ["a"], name: value})
    assert words in str(exc.value), str(exc.value)


@pytest.mark.parametrize("value, expected", [("0.5", 0.5), (2, 2.0), ("3", 3.0)])
def test_numbers_as_text_or_whole_numbers_are_fine(value, expected):
    settings, _targets = cfg.resolve({"clusters": ["a"], "debounce": value, "max_delay": 10, "watch_timeout": "60"})
    assert settings.debounce == expected and settings.watch_timeout == 60


@pytest.mark.parametrize("args, words", [
    ({"owner": "vmo-rbac,app=x"}, "owner: 'vmo-rbac,app=x' is not a valid owner (RFC 1123 label"),
    ({"owner": "Vmo Rbac"}, "owner: 'Vmo Rbac' is not a valid owner"),
    ({"owner": "vmo-rbac!=x"}, "owner: 'vmo-rbac!=x' is not a valid owner"),
    ({"owner": "x" * 64}, "is not a valid owner"),
    ({"clusters": [{"name": "a", "owner": "team-a in (x)"}]}, "clusters[0]: owner: 'team-a in (x)' is not a valid"),
    ({"clusters": [{"name": "all", "context": "x"}]}, "clusters[0]: name: 'all' is not a plain host name"),
    ({"clusters": ["east,west"]}, "clusters[0]: name: 'east,west' is not a plain host name"),
    ({"clusters": ["!east"]}, "clusters[0]: name: '!east'"),
    ({"clusters": ["east*"]}, "clusters[0]: name: 'east*'"),
    ({"clusters": ["~e.*"]}, "clusters[0]: name: '~e.*'"),
    ({"clusters": ["east:west"]}, "clusters[0]: name: 'east:west'"),
    ({"clusters": ["@retry-file"]}, "clusters[0]: name: '@retry-file'"),
    ({"clusters": [{"name": "a", "request_timeout": NAN}]}, "request_timeout: must be a finite number"),
    ({"clusters": [{"name": "a", "request_timeout": INF}]}, "request_timeout: must be a finite number"),
])
def test_strings_that_reach_a_selector_or_a_host_pattern_are_checked(args, words):
    args = dict({"clusters": ["a"]}, **args)
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.resolve(args)
    assert words in str(exc.value), str(exc.value)


def test_an_inventorys_owner_names_its_variable():
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.targets_from_inventory_vars([("east", {"vmo_rbac_owner": "Team A", "vmo_rbac_context": "east"})], {},
                                        "vmo-rbac")
    assert str(exc.value).startswith("inventory host east: vmo_rbac_owner: 'Team A' is not a valid owner")


HOST = {"host": "https://east.example.com:6443", "api_key": "eda-bool-token-0123"}


@pytest.mark.parametrize("args, words", [
    # attack pass (session 4): Ansible's validator turned each into 1 or 1.0 without a word (api_retries: true
    # retried once, palette_rate_limit: true paced at one request per second); the modules refuse it since F7
    ({"clusters": [dict(HOST, name="east")], "api_retries": True},
     "connection options: api_retries: expected a number, not a boolean (true)"),
    ({"clusters": [dict(HOST, name="east")], "request_timeout": False},
     "connection options: request_timeout: expected a number, not a boolean (false)"),
    ({"clusters": [dict(HOST, name="east", palette_rate_limit=True)]},
     "clusters[0] (east): palette_rate_limit: expected a number, not a boolean (true)"),
    ({"clusters": [dict(HOST, name="east", api_retries=False)]},
     "clusters[0] (east): api_retries: expected a number, not a boolean (false)"),
    ({"clusters": [dict(HOST, name="east", request_timeout=float("nan"))]},
     "clusters[0] (east): request_timeout: must be a finite number, not nan"),
])
def test_a_boolean_for_a_number_is_refused_naming_the_option(args, words):
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.resolve(args)
    assert str(exc.value) == words, str(exc.value)


def test_an_inventory_hosts_boolean_for_a_number_names_its_variable():
    with pytest.raises(cfg.ConfigError) as exc:
        cfg.targets_from_inventory_vars([("east", {"vmo_rbac_api_retries": True, "vmo_rbac_context": "east"})], {},
                                        "vmo-rbac")
    assert str(exc.value) == "inventory host east: vmo_rbac_api_retries: expected a number, not a boolean (true)"


# ------------------------------------------------------------------------------ answers


@pytest.mark.parametrize("event, words", [
    ({"type": "ADDED", "object": {"metadata": "oops"}}, "has metadata that is a string, not a mapping"),
    ({"type": "MODIFIED", "object": {"metadata": None}}, "has metadata that is null"),
    ({"type": "ADDED", "object": {"metadata": {"name": ["a"]}}}, "metadata.name that is a list"),
    ({"type": "ADDED", "object": {"metadata": {"name": "a", "labels": ["x"]}}}, "labels that are not a mapping"),
    ({"type": "ADDED", "object": {"metadata": {"name": "a", "labels": {"x": {"y": 1}}}}}, "labels that are not"),
    ({"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": 7}}}, "resourceVersion that is a number"),
    ({"type": "DELETED", "object": {"metadata": {"name": "a", "managedFields": "x"}}}, "managedFields"),
    ({"type": "ADDED", "object": {"metadata": {}}}, "has no metadata.name"),
    ({"type": "BOOKMARK", "object": {"metadata": "1"}}, "a BOOKMARK watch event of namespaces has metadata"),
    ({"type": "ERROR", "object": {"code": 500, "message": "a\x1b[31mred"}}, "reported an error (500): a?[31mred"),
    ({"type": "PATCHED", "object": {"metadata": {"name": "a"}}}, "unknown watch event type PATCHED"),
])
def test_an_event_of_the_wrong_shape_is_a_stream_error(event, words):
    lw = w.ListWatch("namespaces")
    lw.listed("1")
    with pytest.raises(w.StreamError) as exc:
        lw.on_event(event)
    assert words in str(exc.value), str(exc.value)
    assert lw.resource_version == "1" and lw.events == 0  # nothing counted, resumed from where it was


@pytest.mark.parametrize("page, words", [
    (["a"], "answered a list, not a list object"),
    ({"items": {"a": 1}}, "items are not a list"),
    ({"items": [], "metadata": "x"}, "metadata is not a mapping"),
    ({"items": [{"metadata": "oops"}]}, "an item (0) has metadata that is a string"),
    ({"items": [], "metadata": {"resourceVersion": 5}}, "resourceVersion or continue token that is not text"),
])
def test_a_list_page_of_the_wrong_shape_is_a_stream_error(page, words):
    with pytest.raises(w.StreamError) as exc:
        w.ListWatch("rolebindings").read_page(page)
    assert words in str(exc.value), str(exc.value)


def test_a_good_page_reads_as_before():
    items = [{"metadata": {"name": "a", "labels": {"x": "y"}, "resourceVersion": "3"}}]
    assert w.ListWatch("namespaces").read_page({"items": items, "metadata": {"resourceVersion": "9"}}) == \
        (items, "9", None)
    assert w.ListWatch("namespaces").read_page({"metadata": {"resourceVersion": "9", "continue": "c"}}) == \
        ([], "9", "c")


def test_the_trackers_never_raise_on_what_the_protocol_let_through():
    assert w.namespace_digest({"metadata": "x"}) == (None, w.labels_fingerprint({}), False)
    assert w.last_writer_is({"metadata": {"managedFields": [{"time": 5, "manager": "x"}, "y"]}}) is False


def test_two_clusters_of_one_owner_on_one_api_server_are_refused_and_other_owners_warned(caplog):
    """The source's same_api_server (attack pass): same owner on one API server (URL and CA) refused, naming
    both; other owners warned; a cluster not connected yet (Palette out of reach at start) not compared."""
    import runpy
    from collections import namedtuple
    from pathlib import Path

    source = runpy.run_path(str(Path(__file__).resolve().parents[4] / "extensions" / "eda" / "plugins" /
                                "event_source" / "cluster_changes.py"))
    Target = namedtuple("Target", "name owner")
    Made = namedtuple("Made", "api_server")
    Watch = namedtuple("Watch", "target cluster")
    one = Made({"id": "a1", "url": "https://10.0.0.1:6443", "ca": "sha256:ab"})
    other = Made({"id": "b2", "url": "https://10.0.0.2:6443", "ca": "sha256:cd"})
    same = source["same_api_server"]
    refused = same([Watch(Target("east", "o"), one), Watch(Target("north", "o"), other), Watch(Target("west", "o"), one)])
    assert refused.startswith("clusters east, west reach the same API server, https://10.0.0.1:6443 (CA sha256:ab), "
                              "with the same owner 'o'"), refused
    assert same([Watch(Target("east", "o"), one), Watch(Target("west", "o"), None)]) is None
    assert same([Watch(Target("east", "o"), one), Watch(Target("west", "p"), one)]) is None
    assert "clusters east, west reach the same API server" in caplog.text and "(east: o, west: p)" in caplog.text
