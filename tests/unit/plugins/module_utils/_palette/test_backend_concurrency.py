"""Two writers on one cluster's Palette RBAC settings, against the stand-in.

The published specification offers no version, ETag or precondition on
``/v1/spectroclusters/{uid}/config/rbacs`` (nor on one item): a PUT replaces the list, whatever was
read before it. Two owners that GET the list at the same time and both PUT it back lose the first
one's items. The backend reads the list back after its PUT (palette_backend.write) and writes again
while its own grants are not as written, restoring the items it had read and sent back.

The stand-in makes the race real: its RBAC GETs take 2 s (``slow_rbac_gets``), read at the start of
that time (the answer is 2 s old when it arrives) or at its end, and a gate holds the first two GETs
until both have arrived, so both owners provably read the same list. The integration test
(tests/integration/test_palette.py) runs the same race through the modules against real clusters.
"""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._palette import backend as pb
from ansible_collections.vmo.rbac.plugins.module_utils._palette import rbac as pr
from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import parse_declaration
from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import PaletteClient

SYSTEM_BINDING = {"type": "ClusterRoleBinding", "role": {"kind": "ClusterRole", "name": "cluster-admin"},
                  "subjects": [{"type": "Group", "name": "palette:admins"}]}
UI_ITEM = {"metadata": {"name": "made-in-the-ui", "uid": "e" * 24},
           "spec": {"isSystem": False, "bindings": [{"type": "ClusterRoleBinding",
                                                     "role": {"kind": "ClusterRole", "name": "view"},
                                                     "subjects": [{"type": "User", "name": "carol"}]}]},
           "status": {}}
GRANTS = {
    "team-a": [{"persona": "admin", "groups": ["a-admins"]},
               {"persona": "viewer", "users": ["a-bob"], "namespaces": ["web"]}],
    "team-b": [{"persona": "user", "groups": ["b-users"]},
               {"persona": "power-user", "users": ["b-eve"], "namespaces": ["web", "db"]}],
    "team-c": [{"persona": "viewer", "groups": ["c-viewers"]},
               {"persona": "user", "users": ["c-dan"], "namespaces": ["db"]}],
}
TWO = ("team-a", "team-b")


def desired(owner):
    return plan_scopes.resolve(parse_declaration(GRANTS[owner], role_set="vmo", owner=owner), {"web": {}, "db": {}},
                            set())


def client(s, project):
    return PaletteClient(s.url, s.api_key, project_uid=project, ca_cert=s.ca_cert, retries=3)


def enforce(s, project, uid, owner, verify=True, **kw):
    """What palette_backend.enforce does with Palette for ``owner`` (the cluster part aside): GET, plan,
    write. ``verify=False``: one PUT and nothing after it (the code before issue 18 item 6)."""
    c = client(s, project)
    want = desired(owner)
    started = time.monotonic()
    items = c.get_rbacs(uid)
    p = pr.plan(items, want, owner)
    if not verify:
        c.put_rbacs(uid, p.body)
        return {"palette_writes": 1, "warnings": []}
    return pb.write(c, uid, p, lambda now: pr.plan(now, want, owner), time.monotonic() - started, owner, {}, **kw)


def setup(s):
    project = s.add_project("race")
    cl = s.add_cluster(project, "one")
    s.system_item(cl.uid, [SYSTEM_BINDING])
    with s.lock:
        cl.rbacs.append(dict(UI_ITEM))
    return project, cl


def holds_both(items, owners=TWO):
    """Every item of these owners with exactly its grants, and the system and UI items as they were."""
    parsed = pr.parse_items(items)
    for owner in owners:
        ours, _others, conflicts = pr.classify(parsed, owner)
        assert not conflicts
        assert pr.owned_bindings(ours) == pr.desired_from_bindings(desired(owner)), owner
    names = [i["metadata"].get("name") for i in items]
    assert names.count("spectro-system") == 1 and names.count("made-in-the-ui") == 1, names
    system = next(i for i in items if i["metadata"].get("name") == "spectro-system")
    assert system["spec"] == {"bindings": [SYSTEM_BINDING], "isSystem": True}
    ui = next(i for i in items if i["metadata"].get("name") == "made-in-the-ui")
    assert ui["metadata"]["uid"] == "e" * 24 and ui["spec"] == UI_ITEM["spec"]


def race(s, project, uid, owners=TWO, **kw):
    results, errors = {}, []

    def run(owner):
        try:
            results[owner] = enforce(s, project, uid, owner, **kw)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append((owner, exc))

    threads = [threading.Thread(target=run, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def test_the_standin_reproduces_the_lost_update_without_a_read_back(palette_standin):
    """The test of the test: one PUT each, both made from the same list, and one owner's items are gone."""
    s = palette_standin
    project, cl = setup(s)
    s.slow_rbac_gets(2.0, read="start", gate=2)
    race(s, project, cl.uid, verify=False)
    items = s.rbac_items(cl.uid)
    owners = set(i["metadata"].get("labels", {}).get("vmo.rbac/owner") for i in items) - {None}
    assert len(owners) == 1, "both owners' items survived: the race did not happen"
    assert len(s.calls(method="PUT")) == 2


@pytest.mark.parametrize("read", ["start", "end"])
def test_two_owners_writing_at_once_keep_every_item_of_both(palette_standin, read):
    s = palette_standin
    project, cl = setup(s)
    s.slow_rbac_gets(2.0, read=read, gate=2)
    results = race(s, project, cl.uid)
    holds_both(s.rbac_items(cl.uid))
    writes = sorted(r["palette_writes"] for r in results.values())
    # both read the same list: the first to write was overwritten and wrote again
    assert writes[0] == 1 and 2 <= writes[1] <= pb.WRITES_MAX, writes
    rewritten = [w for r in results.values() for w in r["warnings"] if "merged and written again" in w]
    assert len(rewritten) == sum(r["palette_writes"] - 1 for r in results.values())
    for w in rewritten:
        assert "another writer overwrote the RBAC settings of cluster %s" % cl.uid in w and "(missing)" in w


def test_three_owners_writing_at_once_keep_every_item_of_all_three(palette_standin):
    s = palette_standin
    project, cl = setup(s)
    owners = tuple(GRANTS)
    s.slow_rbac_gets(2.0, read="start", gate=3)
    results = race(s, project, cl.uid, owners=owners)
    holds_both(s.rbac_items(cl.uid), owners=owners)
    assert sorted(r["palette_writes"] for r in results.values())[0] == 1
    assert max(r["palette_writes"] for r in results.values()) <= pb.WRITES_MAX


def test_a_failed_put_is_never_sent_again_with_the_list_it_was_made_from(palette_standin):
    """Owner A's PUT answers 503 (Retry-After: 2). Meanwhile owner B reads, writes and checks its write.
    Sent again as it was, A's PUT would write back the list A read before B's write, and B's items
    would be lost with nobody left to see it; A reads the list again and plans anew instead."""
    s = palette_standin
    project, cl = setup(s)
    fault = s.fault(503, path="/config/rbacs$", method="PUT", retry_after="2")
    out = {}
    a = threading.Thread(target=lambda: out.setdefault("a", enforce(s, project, cl.uid, "team-a")))
    a.start()
    deadline = time.monotonic() + 30
    while fault.hits == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    out["b"] = enforce(s, project, cl.uid, "team-b")  # within A's 2 s
    a.join(60)
    holds_both(s.rbac_items(cl.uid))
    puts = [r["status"] for r in s.calls(method="PUT")]
    assert puts[0] == 503 and puts.count(204) == 2, puts
    gets = [r["at"] for r in s.calls(method="GET")]
    last_put = max(r["at"] for r in s.calls(method="PUT"))
    assert len([t for t in gets if t < last_put]) >= 4  # A read again before its second PUT


def test_a_write_removed_after_it_by_an_informed_writer_is_left_removed(palette_standin):
    """After this owner's PUT, another writer that read the list after it (so it kept this owner's
    items) removes the UI's item: that was its decision. The read-back sees this owner's grants as
    written, warns, and does not bring the item back."""
    s = palette_standin
    project, cl = setup(s)

    def meanwhile(seconds):
        with s.lock:
            s.clusters[cl.uid].rbacs = [i for i in s.clusters[cl.uid].rbacs if i["metadata"].get("name") != "made-in-the-ui"]
        time.sleep(seconds)

    result = enforce(s, project, cl.uid, "team-a", sleep=meanwhile)
    assert result["palette_writes"] == 1
    assert any("were removed by another writer after this run wrote its own: item 'made-in-the-ui'" in w
               for w in result["warnings"]), result["warnings"]
    assert "made-in-the-ui" not in [i["metadata"].get("name") for i in s.rbac_items(cl.uid)]


def test_a_writer_that_keeps_overwriting_fails_the_run_naming_what_was_lost(palette_standin):
    """Something keeps putting back the list as it was before this owner's write (here after each of
    its PUTs): after WRITES_MAX writes the run fails, saying what is lost and that it wrote."""
    s = palette_standin
    project, cl = setup(s)
    before = s.rbac_items(cl.uid)
    written = []

    def overwrite(seconds):
        with s.lock:
            written.append(sorted(i["metadata"].get("name") for i in s.clusters[cl.uid].rbacs))
            s.clusters[cl.uid].rbacs = [dict(i) for i in before[:1]]  # the UI item gone too
        time.sleep(seconds)

    with pytest.raises(pb.LostUpdateError) as err:
        enforce(s, project, cl.uid, "team-a", sleep=overwrite)
    msg = err.value.message
    assert "the RBAC settings of cluster %s in Palette do not keep what this run writes" % cl.uid in msg
    assert "Another writer keeps overwriting them" in msg
    assert "after %d writes, still lost" % pb.WRITES_MAX in msg
    assert "this owner's ClusterRoleBinding ClusterRole spectro-vm-admin cluster-wide (missing)" in msg
    assert "item 'made-in-the-ui' uid %s" % ("e" * 24) in msg
    assert err.value.result["changed"] is True and err.value.result["palette_writes"] == pb.WRITES_MAX
    assert len(s.calls(method="PUT")) == pb.WRITES_MAX
    # every write held this owner's items and the UI item it had read (restored after each overwrite)
    assert written == [sorted(["spectro-system", "made-in-the-ui", "vmo-rbac.team-a.clusterrolebindings",
                               "vmo-rbac.team-a.rolebindings"])] * pb.WRITES_MAX


def test_another_owners_revoke_made_meanwhile_is_never_undone(palette_standin):
    """Attack pass (a concurrent writer): owner B revokes its grant (state=absent) while owner A writes.
    Both read the list with B's grant; A writes first (sending B's item back as read), then B writes its
    list without the grant and without A's new items, reads back, and is done. A's read-back finds its
    items gone and B's item gone. Restoring B's item as A had read it would bring back the access B has
    just revoked, while B reported success; an item of another vmo.rbac owner is left to that owner,
    which checks its own write. A's items, the system item and the UI item are kept."""
    s = palette_standin
    project, cl = setup(s)
    enforce(s, project, cl.uid, "team-b")  # B's grants, before the race
    c_a, c_b = client(s, project), client(s, project)
    want_a = desired("team-a")
    gone = plan_scopes.resolve(parse_declaration(GRANTS["team-b"], role_set="vmo", owner="team-b"), {"web": {}, "db": {}},
                            set())
    read_a, read_b = c_a.get_rbacs(cl.uid), c_b.get_rbacs(cl.uid)  # both read the list with B's grants
    plan_a = pr.plan(read_a, want_a, "team-a")
    plan_b = pr.plan(read_b, gone, "team-b", mode="absent")
    done_b = []

    def b_writes_meanwhile(seconds):
        if not done_b:
            done_b.append(pb.write(c_b, cl.uid, plan_b, lambda now: pr.plan(now, gone, "team-b", mode="absent"), 0.05,
                                   "team-b", {}))
        time.sleep(seconds)

    result = pb.write(c_a, cl.uid, plan_a, lambda now: pr.plan(now, want_a, "team-a"), 0.05, "team-a", {},
                      sleep=b_writes_meanwhile)
    assert done_b and done_b[0]["palette_writes"] == 1  # B saw its revoke in place and reported success
    items = s.rbac_items(cl.uid)
    owners = sorted(set((i["metadata"].get("labels") or {}).get("vmo.rbac/owner") for i in items) - {None})
    assert owners == ["team-a"], "B's revoked grants came back: %s" % [i["metadata"].get("name") for i in items]
    assert sorted(i["metadata"].get("name") for i in items) == sorted([
        "spectro-system", "made-in-the-ui", "vmo-rbac.team-a.clusterrolebindings", "vmo-rbac.team-a.rolebindings"])
    assert result["palette_writes"] == 2
    assert any("left to their owner" in w and "vmo-rbac.team-b.clusterrolebindings" in w for w in result["warnings"])


# ----------------------------------------------------------------------------- the pure part


def _stored(body):
    return [{"metadata": dict(e["metadata"], uid=e["metadata"].get("uid") or "%024d" % i), "spec": e["spec"]}
            for i, e in enumerate(body)]


def test_lost_after_write_names_what_differs():
    want = desired("team-a")
    first = [dict(UI_ITEM)]
    p = pr.plan(first, want, "team-a")
    written = _stored(p.body)
    assert not any(pr.lost_after_write(p, written, "team-a"))
    # another writer's list from before: this owner's items gone, the UI item still there
    lost = pr.lost_after_write(p, [dict(UI_ITEM)], "team-a")
    assert sorted(lost.ours) == sorted([
        "ClusterRoleBinding ClusterRole spectro-vm-admin cluster-wide (missing)",
        "RoleBinding ClusterRole spectro-vm-viewer in namespace web (missing)"])
    assert lost.others == [] and lost.conflicts == []
    # a subject lost, one added, the UI item gone; the UI item changed (same uid) counts as there
    edited = [dict(i) for i in written if i["metadata"]["name"] != "made-in-the-ui"]
    crb = next(i for i in edited if i["metadata"]["name"].endswith("clusterrolebindings"))
    crb["spec"] = {"bindings": [dict(crb["spec"]["bindings"][0], subjects=[{"type": "Group", "name": "intruders"}])]}
    lost = pr.lost_after_write(p, edited, "team-a")
    assert lost.ours == ["ClusterRoleBinding ClusterRole spectro-vm-admin cluster-wide (subjects lost: Group a-admins; "
                         "subjects back again: Group intruders)"]
    assert [o["metadata"]["name"] for o in lost.others] == ["made-in-the-ui"]
    changed_ui = dict(UI_ITEM, spec={"isSystem": False, "bindings": []})
    assert pr.lost_after_write(p, [changed_ui if i["metadata"]["name"] == "made-in-the-ui" else i for i in written],
                               "team-a") == pr.Lost([], [], [], [])
    assert "item 'made-in-the-ui' uid %s" % ("e" * 24) in pr.describe_lost(lost)


def test_a_put_answered_with_a_body_is_a_write_not_an_error(palette_standin):
    """Attack pass (a middlebox): Palette answers the PUT 204 without a body; a proxy that answers 200 with
    an HTML page made the client fail with 'not JSON' after the list was written (reported as nothing
    changed). A 2xx to the PUT is a write, whatever its body; the read-back then checks it."""
    s = palette_standin
    project, cl = setup(s)
    s.tamper("/config/rbacs$", b"<html><body>OK</body></html>", method="PUT")
    result = enforce(s, project, cl.uid, "team-a")
    assert result["palette_writes"] == 1
    assert [r.get("tampered") for r in s.calls(method="PUT")] == [True]
    holds_both(s.rbac_items(cl.uid), owners=("team-a",))


def test_a_write_that_cannot_be_read_back_fails_saying_it_wrote(palette_standin):
    """After the PUT, the read-back GET keeps failing: the task fails, and its result says that the
    settings were written (changed, palette_writes), never 'nothing changed'."""
    s = palette_standin
    project, cl = setup(s)
    c = client(s, project)
    want = desired("team-a")
    p = pr.plan(c.get_rbacs(cl.uid), want, "team-a")
    s.fault(503, path="/config/rbacs$", method="GET", times=100)
    with pytest.raises(pb.LostUpdateError) as err:
        pb.write(c, cl.uid, p, lambda now: pr.plan(now, want, "team-a"), 0.05, "team-a", {"changed": True})
    assert "the RBAC settings were written but could not be read back to check them" in err.value.message
    assert err.value.result["changed"] is True and err.value.result["palette_writes"] == 1


def test_a_put_palette_refuses_is_not_sent_again(palette_standin):
    """A 4xx to the PUT is Palette's answer about this list, not a fault of the way: no second PUT."""
    s = palette_standin
    project, cl = setup(s)
    s.fault(403, path="/config/rbacs$", method="PUT", times=10)
    with pytest.raises(Exception) as err:
        enforce(s, project, cl.uid, "team-a")
    assert "403" in str(err.value) and len(s.calls(method="PUT")) == 1
