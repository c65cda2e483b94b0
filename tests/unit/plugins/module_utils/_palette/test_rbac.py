"""The palette backend's planning (module_utils/_palette/rbac.py): pure, no network.

Small cases pin each rule (ownership, merge by content, purge, absent, conflicts, role changes,
system and foreign items kept exactly); hypothesis then states the properties over generated
declarations and generated Palette settings: after writing the plan's body (as a whole-list PUT
stores it), the next plan makes no write; every item this owner did not write is sent back
unchanged; subject and item order never matter.
"""

import copy
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._palette import rbac as pr
from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import parse_declaration

OWNER = "vmo-rbac"
NAMESPACES = {"team-a": {"team": "vm"}, "team-b": {"team": "vm"}, "web-app-1": {}, "default": {}}


def desired(bindings, owner=OWNER, role_set="vmo"):
    decl = parse_declaration(bindings, role_set=role_set, owner=owner)
    return plan_scopes.resolve(decl, NAMESPACES, set())


def stored(body):
    """What a whole-list PUT leaves in Palette (the stand-in's behaviour): uids for new items."""
    out = []
    for e in body:
        meta = dict(e.get("metadata") or {})
        meta.setdefault("uid", uuid.uuid4().hex[:24])
        out.append({"metadata": meta, "spec": copy.deepcopy(e["spec"]), "status": {}})
    return out


def system_item():
    return {"metadata": {"name": "spectro-system", "uid": "a" * 24},
            "spec": {"isSystem": True, "bindings": [
                {"type": "ClusterRoleBinding", "role": {"kind": "ClusterRole", "name": "cluster-admin"},
                 "subjects": [{"type": "Group", "name": "palette:admins"}]}]}, "status": {}}


def foreign_item():
    return {"metadata": {"name": "made-in-the-ui", "uid": "b" * 24},
            "spec": {"isSystem": False, "bindings": [
                {"type": "RoleBinding", "namespace": "team-a", "role": {"kind": "ClusterRole", "name": "view"},
                 "subjects": [{"type": "User", "name": "carol"}]}]}, "status": {}}


GRANTS = [
    {"persona": "admin", "groups": ["vmo-admins"]},
    {"persona": "viewer", "users": ["bob"], "namespace_regex": "/^team-/"},
    {"persona": "user", "service_accounts": ["team-a/ci"], "namespaces": ["web-app-1"]},
]


# ----------------------------------------------------------------------------- rules


def test_first_write_makes_one_item_per_binding_type_and_keeps_system_and_foreign_items():
    items = [system_item(), foreign_item()]
    p = pr.plan(items, desired(GRANTS), OWNER)
    assert p.write and not p.conflicts
    names = [(e["metadata"].get("name")) for e in p.body]
    assert names == ["spectro-system", "made-in-the-ui", "vmo-rbac.vmo-rbac.clusterrolebindings",
                     "vmo-rbac.vmo-rbac.rolebindings"]
    # others are sent back as PUT input: metadata limited to name/uid/labels/annotations, spec unchanged
    assert p.body[0] == {"metadata": {"name": "spectro-system", "uid": "a" * 24}, "spec": system_item()["spec"]}
    assert p.body[1]["spec"] == foreign_item()["spec"]
    rb = p.body[3]["spec"]["bindings"]
    assert [(b["namespace"], b["role"]["name"]) for b in rb] == [
        ("team-a", "spectro-vm-viewer"), ("team-b", "spectro-vm-viewer"), ("web-app-1", "spectro-vm-user")]
    assert rb[2]["subjects"] == [{"type": "ServiceAccount", "name": "ci", "namespace": "team-a"}]
    assert p.body[2]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "vmo.rbac", "vmo.rbac/owner": OWNER}
    assert pr.summarize(p) == {"created": 4, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": 0}


def test_second_plan_writes_nothing_whatever_the_order_and_uids():
    p = pr.plan([system_item()], desired(GRANTS), OWNER)
    after = stored(p.body)
    for it in after:  # Palette may return items, bindings and subjects in any order
        for b in it["spec"]["bindings"]:
            b["subjects"].reverse()
        it["spec"]["bindings"].reverse()
    after.reverse()
    again = pr.plan(after, desired(GRANTS), OWNER)
    assert not again.write and again.changes == [] and len(again.unchanged) == 4


def test_recognised_by_name_when_the_server_drops_labels():
    after = stored(pr.plan([], desired(GRANTS), OWNER).body)
    for it in after:
        it["metadata"].pop("labels")
    again = pr.plan(after, desired(GRANTS), OWNER)
    assert [c.action for c in again.changes] == ["rewrite"]  # labels put back, content unchanged
    assert len(again.ours) == 2


def test_merge_by_content_duplicates_and_split_items_are_one_grant():
    after = stored(pr.plan([], desired(GRANTS[:1]), OWNER).body)
    dup = copy.deepcopy(after[0])
    dup["metadata"]["uid"] = "c" * 24  # a second copy (two runs racing against a merging server)
    again = pr.plan(after + [dup], desired(GRANTS[:1]), OWNER)
    assert [c.action for c in again.changes] == ["rewrite"]
    assert len([e for e in again.body if e["metadata"].get("name", "").startswith("vmo-rbac.")]) == 1
    assert pr.plan(stored(again.body), desired(GRANTS[:1]), OWNER).write is False


def test_subject_change_is_an_update_with_a_reason():
    after = stored(pr.plan([], desired(GRANTS[:1]), OWNER).body)
    changed = [{"persona": "admin", "groups": ["vmo-admins", "platform"]}]
    p = pr.plan(after, desired(changed), OWNER)
    assert [(c.action, c.reason) for c in p.changes] == [("update", "subjects: add Group platform")]
    assert p.body[0]["metadata"]["uid"] == after[0]["metadata"]["uid"]  # sent back, not relied on


def test_purge_false_keeps_undeclared_grants_purge_true_removes_them():
    after = stored(pr.plan([foreign_item()], desired(GRANTS), OWNER).body)
    fewer = desired(GRANTS[:1])
    kept = pr.plan(after, fewer, OWNER)
    assert not kept.write
    purged = pr.plan(after, fewer, OWNER, purge=True)
    assert sorted(c.action for c in purged.changes) == ["delete"] * 3
    assert [e["metadata"]["name"] for e in purged.body] == ["made-in-the-ui", "vmo-rbac.vmo-rbac.clusterrolebindings"]


def test_absent_removes_only_the_declared_grants():
    after = stored(pr.plan([], desired(GRANTS), OWNER).body)
    p = pr.plan(after, desired(GRANTS[1:2]), OWNER, mode="absent")
    assert sorted((c.action, c.key.namespace) for c in p.changes) == [("delete", "team-a"), ("delete", "team-b")]
    left = pr.owned_bindings(pr.parse_items(stored(p.body)))
    assert sorted(k.role_name for k in left) == ["spectro-vm-admin", "spectro-vm-user"]


def test_persona_moving_to_another_role_set_replaces_the_old_grant():
    """The same persona slot (viewer, cluster-wide) in another role set replaces the old grant, even
    without purge, as the kubernetes backend does."""
    viewers = [{"persona": "viewer", "groups": ["auditors"]}]
    after = stored(pr.plan([], desired(viewers), OWNER).body)
    q = pr.plan(after, desired(viewers, role_set="kubernetes"), OWNER)
    assert sorted((c.action, c.key.role_name, c.reason) for c in q.changes) == [
        ("create", "view", "missing"),
        ("delete", "spectro-vm-viewer", "replaced by ClusterRole view")]
    assert pr.summarize(q)["replaced"] == 1


def test_an_item_with_our_name_but_another_owner_is_a_conflict_and_nothing_is_written():
    theirs = {"metadata": {"name": "vmo-rbac.vmo-rbac.clusterrolebindings", "uid": "d" * 24,
                           "labels": {"app.kubernetes.io/managed-by": "terraform"}},
              "spec": {"bindings": []}}
    p = pr.plan([theirs], desired(GRANTS), OWNER)
    assert not p.write
    assert len(p.conflicts) == 1 and "another tool" in p.conflicts[0]["message"]
    assert "vmo-rbac.vmo-rbac.clusterrolebindings" in p.conflicts[0]["message"]


def test_a_system_item_with_our_labels_is_a_conflict():
    item = system_item()
    item["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "vmo.rbac", "vmo.rbac/owner": OWNER}
    p = pr.plan([item], desired(GRANTS), OWNER)
    assert not p.write and "isSystem" in p.conflicts[0]["message"]


def test_other_owners_items_are_not_ours():
    mine = pr.plan([], desired(GRANTS[:1]), "team-a")
    theirs = pr.plan(stored(mine.body), desired(GRANTS[:1]), "team-b")
    assert theirs.write and len(theirs.body) == 2 and not theirs.ours  # team-a's item kept, team-b's added


def test_drift_items_say_what_the_enforcer_would_do():
    after = stored(pr.plan([], desired(GRANTS[:1]), OWNER).body)
    p = pr.plan(after, desired(GRANTS[:2]), OWNER)
    drift = pr.drift_items(p)
    assert {d["action"] for d in drift} == {"create"}
    assert all(d["namespace"] in ("team-a", "team-b") and d["kind"] == "RoleBinding" for d in drift)
    assert "backend palette" in drift[0]["fix"]


def test_diff_shows_this_owners_items_before_and_after():
    p = pr.plan([system_item()], desired(GRANTS[:1]), OWNER)
    d = pr.diff_entry(p, "x" * 24, OWNER)
    assert d["before"] == "" and "spectro-vm-admin" in d["after"] and "cluster-admin" not in d["after"]


# ----------------------------------------------------------------------------- properties

SUBJECTS = st.sampled_from([("users", "alice"), ("users", "bob"), ("groups", "ops"), ("groups", "auditors"),
                            ("service_accounts", "team-a/ci")])
SCOPES = st.sampled_from([{}, {"namespaces": ["team-a"]}, {"namespaces": ["team-a", "web-app-1"]},
                          {"namespace_regex": "/^team-/"}, {"namespace_selector": "team=vm"}])


@st.composite
def grants(draw):
    out = []
    for _ in range(draw(st.integers(0, 5))):
        entry = {"persona": draw(st.sampled_from(["admin", "power-user", "user", "viewer"]))}
        for kind, name in draw(st.lists(SUBJECTS, min_size=1, max_size=3, unique=True)):
            entry.setdefault(kind, []).append(name)
        entry.update(draw(SCOPES))
        out.append(entry)
    return out


@st.composite
def others(draw):
    out = []
    for i in range(draw(st.integers(0, 3))):
        btype = draw(st.sampled_from(["ClusterRoleBinding", "RoleBinding"]))
        b = {"type": btype, "role": {"kind": "ClusterRole", "name": draw(st.sampled_from(["view", "spectro-vm-user"]))},
             "subjects": [{"type": "User", "name": draw(st.sampled_from(["carol", "dave"]))}]}
        if btype == "RoleBinding":
            b["namespace"] = "team-a"
        out.append({"metadata": {"name": "other-%d" % i, "uid": "%024x" % (i + 1)},
                    "spec": {"isSystem": draw(st.booleans()), "bindings": [b]}, "status": {}})
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=grants(), second=grants(), foreign=others(), purge=st.booleans())
def test_converges_in_one_write_and_never_touches_other_items(first, second, foreign, purge):
    state = stored(pr.plan(foreign, desired(first), OWNER).body)
    p = pr.plan(state, desired(second), OWNER, purge=purge)
    assert not p.conflicts
    expected_others = [pr.to_input_entity(f) for f in foreign]
    assert p.body[:len(foreign)] == expected_others  # every foreign and system item, exactly as read
    after = stored(p.body) if p.write else state
    again = pr.plan(after, desired(second), OWNER, purge=purge)
    assert not again.write, [c for c in again.changes]
    # what the owner holds afterwards is exactly the declaration (purge) or contains it (no purge)
    held = pr.owned_bindings(pr.classify(pr.parse_items(after), OWNER)[0])
    want = pr.desired_from_bindings(desired(second))
    for k, subjects in want.items():
        assert held[k] == subjects
    if purge:
        assert set(held) == set(want)
