"""Every Palette answer the collection reads, read totally.

The client checks each answer's shape once, where it is parsed (palette.check_shape with the
``*_SHAPE`` declarations): a wrong shape is a PaletteError naming the request and the place in the
answer, never "'list' object has no attribute 'get'" later, and never an invented item written back.

- a table of wrong shapes per endpoint, each with the message it must give;
- hypothesis: any JSON document is either accepted or refused with ShapeError (nothing else is
  raised), and every document the shapes accept (generated from the shape declarations themselves,
  with optional fields absent, null or present) is read by the collection's readers without an
  exception: the inventory's host variables, the pack search, the project name, and the palette
  backend's plan over the RBAC items;
- against the stand-in, with a middlebox (``tamper``) that replaces Palette's answer: each client
  call fails with the request's name.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.inventory.palette import has_pack, host_from_summary
from ansible_collections.vmo.rbac.plugins.module_utils._palette import client as palette_api
from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._palette import rbac as palette_rbac
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import parse_declaration
from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import (
    ANY, BOOL, MAP, PROFILES_SHAPE, PROJECT_SHAPE, RBACS_SHAPE, SEARCH_SHAPE, STR, Arr, Enum, Obj, PaletteClient,
    PaletteError, ShapeError, check_shape,
)

ITEM = {"metadata": {"name": "x", "uid": "a" * 24, "labels": {"k": "v"}},
        "spec": {"isSystem": False, "bindings": [{"type": "RoleBinding", "namespace": "ns",
                                                  "role": {"kind": "ClusterRole", "name": "view"},
                                                  "subjects": [{"type": "User", "name": "bob"}]}]}}


def with_(doc, path, value):
    """A copy of ``doc`` with the value at ``path`` (a list of keys and indexes) replaced."""
    import copy

    out = copy.deepcopy(doc)
    at = out
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    return out


WRONG = [
    # (id, shape, answer, the message)
    ("search-a-list", SEARCH_SHAPE, [], "the answer is a list, expected a page of cluster summaries (an object)"),
    ("search-null", SEARCH_SHAPE, None, "the answer is null, expected a page of cluster summaries"),
    ("search-no-items", SEARCH_SHAPE, {}, "the answer has no 'items'"),
    ("search-items-strings", SEARCH_SHAPE, {"items": ["c1", "c2"]}, "items[0] is a string, expected a cluster summary"),
    ("search-listmeta-a-string", SEARCH_SHAPE, {"items": [], "listmeta": "next"}, "listmeta is a string, expected an object"),
    ("search-continue-a-number", SEARCH_SHAPE, {"items": [], "listmeta": {"continue": 2}},
     "listmeta.continue is a number, expected a string"),
    ("search-labels-a-list", SEARCH_SHAPE, {"items": [{"metadata": {"labels": ["env"]}}]},
     "items[0].metadata.labels is a list, expected an object of strings"),
    ("search-label-value-a-number", SEARCH_SHAPE, {"items": [{"metadata": {"labels": {"env": 1}}}]},
     "items[0].metadata.labels is an object with a value that is not a string"),
    ("search-project-meta-a-string", SEARCH_SHAPE, {"items": [{"specSummary": {"projectMeta": "p"}}]},
     "items[0].specSummary.projectMeta is a string, expected an object"),
    ("search-state-an-object", SEARCH_SHAPE, {"items": [{"status": {"state": {}}}]},
     "items[0].status.state is an object, expected a string"),
    ("project-a-list", PROJECT_SHAPE, [{"metadata": {}}], "the answer is a list, expected a project"),
    ("project-name-a-list", PROJECT_SHAPE, {"metadata": {"name": ["a"]}}, "metadata.name is a list, expected a string"),
    ("profiles-a-string", PROFILES_SHAPE, "profiles", "the answer is a string, expected a cluster's profiles"),
    ("profiles-missing", PROFILES_SHAPE, {"items": []}, "the answer has no 'profiles'"),
    ("profiles-null-pack", PROFILES_SHAPE, {"profiles": [{"spec": {"packs": [None]}}]},
     "profiles[0].spec.packs[0] is null, expected a pack"),
    ("rbacs-a-list", RBACS_SHAPE, [ITEM], "the answer is a list, expected a cluster's RBAC settings"),
    ("rbacs-empty-object", RBACS_SHAPE, {}, "the answer has no 'items'"),
    ("rbacs-items-a-string", RBACS_SHAPE, {"items": "none"}, "items is a string, expected a list"),
    ("rbacs-null-item", RBACS_SHAPE, {"items": [ITEM, None]}, "items[1] is null, expected an RBAC item"),
    ("rbacs-spec-a-list", RBACS_SHAPE, {"items": [with_(ITEM, ["spec"], [])]}, "items[0].spec is a list"),
    ("rbacs-is-system-a-string", RBACS_SHAPE, {"items": [with_(ITEM, ["spec", "isSystem"], "false")]},
     "items[0].spec.isSystem is a string, expected true or false"),
    ("rbacs-binding-type-unknown", RBACS_SHAPE, {"items": [with_(ITEM, ["spec", "bindings", 0, "type"], "Binding")]},
     "items[0].spec.bindings[0].type is 'Binding', expected RoleBinding or ClusterRoleBinding"),
    ("rbacs-role-kind-a-number", RBACS_SHAPE, {"items": [with_(ITEM, ["spec", "bindings", 0, "role", "kind"], 3)]},
     "items[0].spec.bindings[0].role.kind is a number, expected Role or ClusterRole"),
    ("rbacs-null-subject", RBACS_SHAPE, {"items": [with_(ITEM, ["spec", "bindings", 0, "subjects"], [None])]},
     "items[0].spec.bindings[0].subjects[0] is null, expected a subject"),
    ("rbacs-subject-name-a-list", RBACS_SHAPE,
     {"items": [with_(ITEM, ["spec", "bindings", 0, "subjects", 0, "name"], ["bob"])]},
     "items[0].spec.bindings[0].subjects[0].name is a list, expected a string"),
    ("rbacs-labels-a-string", RBACS_SHAPE, {"items": [with_(ITEM, ["metadata", "labels"], "owner=me")]},
     "items[0].metadata.labels is a string, expected an object of strings"),
]


@pytest.mark.parametrize("shape, answer, message", [pytest.param(s, a, m, id=i) for i, s, a, m in WRONG])
def test_a_wrong_shape_is_named_where_it_is(shape, answer, message):
    with pytest.raises(ShapeError) as err:
        check_shape(answer, shape)
    assert message in str(err.value)


def test_null_and_absent_optional_fields_mean_none():
    """A Go server writes a nil map or slice as null: accepted as none wherever a field is optional."""
    check_shape({"items": None}, RBACS_SHAPE)
    check_shape({"items": [{"metadata": None, "spec": {"bindings": None, "isSystem": None}}]}, RBACS_SHAPE)
    check_shape({"items": [{"metadata": {"labels": None}}], "listmeta": None}, SEARCH_SHAPE)
    check_shape({"profiles": None}, PROFILES_SHAPE)
    items = palette_rbac.parse_items([{"metadata": None, "spec": {"bindings": None}}])
    assert items[0].bindings == [] and items[0].name == ""


def test_a_null_item_is_never_invented_into_an_empty_one():
    with pytest.raises(ValueError, match="RBAC item 1 is null"):
        palette_rbac.parse_items([ITEM, None])


# ----------------------------------------------------------------------------- hypothesis

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["items", "metadata", "spec", "labels", "name", "uid", "bindings", "subjects",
                                         "type", "role", "kind", "isSystem", "listmeta", "continue", "profiles", "packs",
                                         "status", "state", "specSummary", "projectMeta"]) | st.text(max_size=4),
                        inner, max_size=5), max_leaves=30)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=JSON, shape=st.sampled_from([SEARCH_SHAPE, PROJECT_SHAPE, PROFILES_SHAPE, RBACS_SHAPE]))
def test_any_json_is_accepted_or_refused_with_a_shape_error(doc, shape):
    try:
        check_shape(doc, shape)
    except ShapeError as exc:
        assert str(exc)


def valid(shape):
    """Documents that ``shape`` accepts, optional fields absent, null or present."""
    if shape is ANY:
        return JSON
    if shape is STR:
        return st.text(max_size=10)
    if shape is BOOL:
        return st.booleans()
    if shape is MAP:
        return st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3)
    if isinstance(shape, Enum):
        return st.sampled_from(shape.values)
    if isinstance(shape, Arr):
        return st.lists(valid(shape.item), max_size=3)
    assert isinstance(shape, Obj)
    fields = {}
    for key, sub in shape.fields.items():
        if key in shape.required:
            fields[key] = valid(sub)
        else:
            fields[key] = st.one_of(st.just(_ABSENT), st.none(), valid(sub))
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not _ABSENT})


_ABSENT = object()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=valid(SEARCH_SHAPE), project=valid(PROJECT_SHAPE), profiles=valid(PROFILES_SHAPE))
def test_every_accepted_inventory_answer_is_read_without_an_exception(page, project, profiles):
    check_shape(page, SEARCH_SHAPE)
    for summary in page.get("items") or []:
        host = host_from_summary(summary, "", "")
        assert isinstance(host["vars"]["palette_tags"], list)
        assert all(isinstance(v, (str, dict, list)) for v in host["vars"].values())
    check_shape(project, PROJECT_SHAPE)
    assert ((project.get("metadata") or {}).get("name")) is None or isinstance(project["metadata"]["name"], str)
    check_shape(profiles, PROFILES_SHAPE)
    assert has_pack(profiles, "virtual-machine-orchestrator") in (True, False)


DESIRED = plan_scopes.resolve(parse_declaration([{"persona": "viewer", "groups": ["g"]},
                                              {"persona": "user", "users": ["u"], "namespaces": ["ns"]}],
                                             role_set="vmo", owner="me"), {"ns": {}}, set())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=valid(RBACS_SHAPE), purge=st.booleans(), mode=st.sampled_from(["present", "absent"]),
       owner_labels=st.booleans())
def test_every_accepted_rbac_answer_is_planned_without_an_exception(answer, purge, mode, owner_labels):
    check_shape(answer, RBACS_SHAPE)
    items = list(answer.get("items") or [])
    if owner_labels and items:  # some items of this owner, so that its bindings are read too
        items[0] = dict(items[0], metadata=dict(items[0].get("metadata") or {}, labels=palette_rbac.item_labels("me")))
    p = palette_rbac.plan(items, DESIRED, "me", mode=mode, purge=purge)
    assert isinstance(p.body, list) and all(isinstance(e, dict) for e in p.body)
    # every item that is not this owner's goes back with its spec as read
    assert len(p.body) >= len(p.others)


# ----------------------------------------------------------------------------- against the stand-in


def client(standin, project):
    return PaletteClient(standin.url, standin.api_key, project_uid=project, ca_cert=standin.ca_cert, retries=0)


@pytest.mark.parametrize("call, path, body, words", [
    ("search", "/search$", [], "POST /v1/dashboard/spectroclusters/search with an answer of the wrong shape: the "
                               "answer is a list"),
    ("search", "/search$", {"items": ["c1"], "listmeta": {"continue": ""}}, "items[0] is a string"),
    ("search", "/search$", {"items": [], "listmeta": "x"}, "listmeta is a string"),
    ("project", "/v1/projects/", [], "GET /v1/projects/"),
    ("profiles", "/profiles$", {"profiles": "none"}, "profiles is a string, expected a list"),
    ("rbacs", "/config/rbacs$", [], "GET /v1/spectroclusters/"),
    ("rbacs", "/config/rbacs$", {"items": [None]}, "items[0] is null, expected an RBAC item"),
    ("rbacs", "/config/rbacs$", b"", "the answer has no 'items'"),
    ("rbacs", "/config/rbacs$", b"<html>proxy error</html>", "a body that is not JSON"),
    ("rbacs", "/config/rbacs$", b"[" * 100000 + b"]" * 100000, "a body that is not JSON"),
])
def test_the_client_names_the_request_whose_answer_has_the_wrong_shape(palette_standin, call, path, body, words):
    s = palette_standin
    project = s.add_project("fleet")
    cl = s.add_cluster(project, "one")
    s.clusters[cl.uid].rbacs = []
    s.tamper(path, body)
    c = client(s, project)
    with pytest.raises(PaletteError) as err:
        {"search": lambda: c.search_clusters(), "project": lambda: c.get_project(project),
         "profiles": lambda: c.get_profiles(cl.uid), "rbacs": lambda: c.get_rbacs(cl.uid)}[call]()
    assert words in err.value.message and "Palette at %s" % s.url in err.value.message
    assert [r for r in s.calls() if r.get("tampered")], "the middlebox did not answer"
    assert s.writes() == []


def test_a_search_that_never_ends_stops_with_a_message(palette_standin, monkeypatch):
    """A fresh continue token with every page (a middlebox replaying a page) is followed a bounded
    number of times; the clusters it repeats are kept once."""
    s = palette_standin
    project = s.add_project("fleet")
    s.add_cluster(project, "one")
    counter = iter(range(1, 10 ** 6))
    # tokens the stand-in takes: each a new spelling of "from the first cluster" ("o:0", "o:00", ...)
    s.tamper("/search$", lambda answer: dict(answer, listmeta={"continue": base64.urlsafe_b64encode(
        ("o:" + "0" * next(counter)).encode()).decode()}), times=100)
    monkeypatch.setattr(palette_api, "SEARCH_PAGES_MAX", 5)
    with pytest.raises(PaletteError) as err:
        client(s, project).search_clusters()
    assert "kept giving continue tokens" in err.value.message and "after 5 pages (1 clusters)" in err.value.message


# ----------------------------------------------------------------------------- the shapes are the specification's


@pytest.mark.parametrize("shape, operation", [
    (SEARCH_SHAPE, "v1SpectroClustersSearchFilterSummary"),
    (PROJECT_SHAPE, "v1ProjectsUidGet"),
    (PROFILES_SHAPE, "v1SpectroClustersGetProfiles"),
    (RBACS_SHAPE, "v1SpectroClustersUidConfigRbacsGet"),
])
def test_each_shape_reads_only_what_the_specification_declares_with_its_type(palette_spec, shape, operation):
    """The shapes are hand-written (the collection has no Swagger library at run time): every field they
    read is declared by the pinned specification for that answer, with the same type, enum and required
    lists, so a shape can neither refuse what Palette may send nor read what it never sends."""
    op = next(o for r in palette_spec.resources.values() for o in r.operations.values() if o.operation_id == operation)
    schema = palette_spec.deref(op.op_spec["responses"]["200"]["schema"])

    def walk(shape, schema, where):
        schema = palette_spec.deref(schema)
        if shape is ANY:
            return
        if isinstance(shape, Obj):
            assert schema.get("type", "object") == "object", where
            props = schema.get("properties") or {}
            for key, sub in shape.fields.items():
                assert key in props, "%s.%s is not in the specification" % (where, key)
                walk(sub, props[key], "%s.%s" % (where, key))
            assert set(shape.required) <= set(schema.get("required") or []), where
        elif isinstance(shape, Arr):
            assert schema.get("type") == "array", where
            walk(shape.item, schema["items"], where + "[]")
        elif isinstance(shape, Enum):
            assert schema.get("type") == "string" and sorted(schema["enum"]) == sorted(shape.values), where
        elif shape is MAP:
            assert schema.get("type") == "object" and palette_spec.deref(
                schema["additionalProperties"]).get("type") == "string", where
        else:
            assert schema.get("type") == {STR: "string", BOOL: "boolean"}[shape], where

    walk(shape, schema, operation)


# ----------------------------------------------------------------------------- host names are tenant data


def _host(name, project, uid):
    return {"name": name, "vars": {"palette_cluster_name": name, "palette_project": project,
                                   "palette_cluster_uid": uid}}


def test_a_cluster_named_like_another_clusters_host_never_takes_its_place():
    """Attack pass: cluster 'prod' exists in projects 'team' and 'other' (hosts prod.team and prod.other);
    a tenant of project 'evil' names a cluster 'prod.team'. Before, both became the host prod.team (the
    later one's variables won, the other cluster left the fleet without a word, and host_vars/prod.team.yml
    applied to the tenant's cluster). Now every cluster is a host of its own, the ambiguous ones fail in
    the role with the reason; a tenant who also names a cluster like the renamed host gets another round."""
    from ansible_collections.vmo.rbac.plugins.inventory.palette import unique_host_names

    said = []
    hosts = unique_host_names([_host("prod", "team", "u1"), _host("prod", "other", "u2"), _host("prod.team", "evil", "u3"),
                               _host("prod.team.u1", "evil", "u4"), _host("solo", "team", "u5")], said.append)
    names = {h["vars"]["palette_cluster_uid"]: h["name"] for h in hosts}
    assert len(set(names.values())) == 5
    assert names["u2"] == "prod.other" and names["u5"] == "solo"
    assert names["u1"] == "prod.team.u1.u1" and names["u4"] == "prod.team.u1.u4" and names["u3"] == "prod.team.u3"
    errors = {h["vars"]["palette_cluster_uid"]: h["vars"].get("vmo_rbac_inventory_error") for h in hosts}
    assert errors["u2"] is None and errors["u5"] is None
    assert all("is ambiguous" in errors[u] and "rename one of them in Palette" in errors[u] for u in ("u1", "u3", "u4"))
    assert "cluster 'prod' of project 'team' (uid u1); cluster 'prod.team' of project 'evil' (uid u3)" in said[0]
    assert len(said) == 2
