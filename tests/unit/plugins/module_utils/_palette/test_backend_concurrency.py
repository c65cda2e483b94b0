"""Two writers on one cluster's Palette RBAC settings, against the stand-in.

The published specification offers no version, ETag or precondition on
``/v1/spectroclusters/{uid}/config/rbacs`` (nor on one item): a PUT replaces the list, whatever was
read before it. Two owners that GET the list at the same time and both PUT it back lose the first
one's items. The backend reads the list back after its PUT (palette_backend.write) and writes again
while its own grants are not as written, restoring the items it had read and sent back.

The stand-in makes the race real: its RBAC GETs take a while (``slow_rbac_gets``), read at the start
of that time (the answer is old when it arrives) or at its end, and a gate holds the first GETs until
all have arrived and their answers until all have read, so the owners provably read the same list.

The backend's pause after a PUT (SETTLE_FACTOR x the time of a GET and a PUT) is there so that a writer
whose GET began before that PUT has written by then. Here that is made exact with events instead of
seconds (``Writers``): the pause ends when every other writer whose GET began before this PUT
finished has written or is done, whatever the load of the machine; how long the pause would be is
tested apart, with an injected clock (test_the_pause_after_a_write_lasts_as_a_get_and_a_put_took).
The integration test (tests/integration/test_palette.py) runs the same race through the modules
against real clusters, with the real pause.
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


def enforce(s, project, uid, owner, verify=True, writers=None, **kw):
    """What palette_backend.enforce does with Palette for ``owner`` (the cluster part aside): GET, plan,
    write. ``verify=False``: one PUT and nothing after it (the code before issue 18 item 6). ``writers``:
    the GETs and PUTs are told to it (see Writers)."""
    c = client(s, project)
    if writers is not None:
        c = writers.client(owner, c)
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


class Writers(object):
    """The pause after a PUT, by events: ``pause(owner)`` is the backend's ``sleep`` for that owner; it
    records the seconds asked and waits until no other owner has a GET that began before this owner's last
    PUT finished and is not yet followed by a finished PUT of its own or the end of its run (the guarantee
    the real pause gives when the writers are about as fast as each other). Writers waited for are never
    pausing themselves, so the waits cannot form a cycle; each is bounded all the same."""

    TIMEOUT = 60.0

    def __init__(self):
        self.cond = threading.Condition()
        self.seq = 0
        self.reading = {}   # owner -> the sequence number of its GET not yet followed by a PUT or its end
        self.put_done = {}  # owner -> the sequence number at the end of its last PUT
        self.asked = {}     # owner -> the seconds of each pause the backend asked for

    def _tick(self):
        self.seq += 1
        return self.seq

    def client(self, owner, c):
        get, put = c.get_rbacs, c.put_rbacs

        def get_rbacs(*a, **kw):
            with self.cond:
                self.reading[owner] = self._tick()
            return get(*a, **kw)

        def put_rbacs(*a, **kw):
            try:
                return put(*a, **kw)
            finally:
                with self.cond:
                    self.put_done[owner] = self._tick()
                    self.reading.pop(owner, None)
                    self.cond.notify_all()

        c.get_rbacs, c.put_rbacs = get_rbacs, put_rbacs
        return c

    def done(self, owner):
        with self.cond:
            self.reading.pop(owner, None)
            self.cond.notify_all()

    def pause(self, owner):
        def sleep(seconds):
            self.asked.setdefault(owner, []).append(seconds)
            with self.cond:
                mine = self.put_done.get(owner, 0)
                ok = self.cond.wait_for(lambda: not any(o != owner and seq < mine for o, seq in self.reading.items()),
                                        self.TIMEOUT)
            assert ok, "the other writers did not write within %s s" % self.TIMEOUT
        return sleep


def race(s, project, uid, owners=TWO, **kw):
    """The owners enforce at once, each in a thread, with the pause after each PUT by events (``Writers``)."""
    results, errors = {}, []
    writers = Writers()

    def run(owner):
        try:
            if kw.get("verify", True):
                results[owner] = enforce(s, project, uid, owner, writers=writers, sleep=writers.pause(owner), **kw)
            else:
                results[owner] = enforce(s, project, uid, owner, **kw)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append((owner, exc))
        finally:
            writers.done(owner)

    threads = [threading.Thread(target=run, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for owner, r in results.items() if kw.get("verify", True) else ():  # a pause after each write
        assert len(writers.asked.get(owner, [])) == r["palette_writes"], (owner, writers.asked)
        assert all(pb.SETTLE_MIN < a <= pb.SETTLE_MAX for a in writers.asked[owner]), writers.asked
    return results


def test_the_standin_reproduces_the_lost_update_without_a_read_back(palette_standin):
    """The test of the test: one PUT each, both made from the same list, and one owner's items are gone."""
    s = palette_standin
    project, cl = setup(s)
    s.slow_rbac_gets(0.2, read="start", gate=2)
    race(s, project, cl.uid, verify=False)
    items = s.rbac_items(cl.uid)
    owners = set(i["metadata"].get("labels", {}).get("vmo.rbac/owner") for i in items) - {None}
    assert len(owners) == 1, "both owners' items survived: the race did not happen"
    assert len(s.calls(method="PUT")) == 2


@pytest.mark.parametrize("read", ["start", "end"])
def test_two_owners_writing_at_once_keep_every_item_of_both(palette_standin, read):
    s = palette_standin
    project, cl = setup(s)
    s.slow_rbac_gets(0.2, read=read, gate=2)
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
    s.slow_rbac_gets(0.2, read="start", gate=3)
    results = race(s, project, cl.uid, owners=owners)
    holds_both(s.rbac_items(cl.uid), owners=owners)
    assert sorted(r["palette_writes"] for r in results.values())[0] == 1
    assert max(r["palette_writes"] for r in results.values()) <= pb.WRITES_MAX


def test_a_failed_put_is_never_sent_again_with_the_list_it_was_made_from(palette_standin):
    """Owner A's PUT answers 503 (Retry-After: 2). Meanwhile (A's wait, ended by an event when B is done)
    owner B reads, writes and checks its write. Sent again as it was, A's PUT would write back the list A
    read before B's write, and B's items would be lost with nobody left to see it; A reads the list again
    and plans anew instead."""
    s = palette_standin
    project, cl = setup(s)
    s.fault(503, path="/config/rbacs$", method="PUT", retry_after="2")
    out, asked, b_done = {}, [], threading.Event()

    def a_waits(seconds):
        asked.append(seconds)
        if len(asked) == 1:  # the wait Retry-After asked for: B writes meanwhile
            assert b_done.wait(60), "B did not write"

    a = threading.Thread(target=lambda: out.setdefault("a", enforce(s, project, cl.uid, "team-a", sleep=a_waits)))
    a.start()
    try:
        deadline = time.monotonic() + 30
        while not asked and a.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert asked == [2.0], asked  # Retry-After, as Palette asked
        out["b"] = enforce(s, project, cl.uid, "team-b", sleep=lambda seconds: None)
    finally:
        b_done.set()
        a.join(60)
    assert set(out) == {"a", "b"}
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
        assert seconds > pb.SETTLE_MIN  # the pause the backend asked for (made by this function, not waited)

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
        assert seconds > pb.SETTLE_MIN

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
                                   "team-b", {}, sleep=lambda _seconds: None))
        assert seconds > pb.SETTLE_MIN

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


def test_the_pause_after_a_write_lasts_as_a_get_and_a_put_took():
    """With an injected clock: the first GET took 2 s, each PUT 0.5 s, each read-back 3 s. After the first PUT
    the backend pauses 1.5 x (2 + 0.5) + 0.25 = 4 s; its read-back finds its items overwritten, it writes again
    and pauses 1.5 x (3 + 0.5) + 0.25 = 5.5 s (the slowest GET seen so far); never more than SETTLE_MAX."""
    now = [1000.0]
    want = desired("team-a")
    asked = []

    class Palette(object):
        reads = [[dict(UI_ITEM)]]  # the first read-back: another writer's list, this owner's items gone

        def __init__(self, put_seconds, get_seconds):
            self.put_seconds, self.get_seconds, self.stored = put_seconds, get_seconds, None

        def put_rbacs(self, uid, body):
            now[0] += self.put_seconds
            self.stored = _stored(body)

        def get_rbacs(self, uid):
            now[0] += self.get_seconds
            return self.reads.pop(0) if self.reads else self.stored

    def write(palette, get_seconds):
        del asked[:]
        p = pr.plan([dict(UI_ITEM)], want, "team-a")
        return pb.write(palette, "c" * 24, p, lambda items: pr.plan(items, want, "team-a"), get_seconds, "team-a", {},
                        sleep=asked.append, clock=lambda: now[0])

    assert write(Palette(0.5, 3.0), 2.0)["palette_writes"] == 2
    assert asked == [pb.SETTLE_FACTOR * 2.5 + pb.SETTLE_MIN, pb.SETTLE_FACTOR * 3.5 + pb.SETTLE_MIN] == [4.0, 5.5]
    Palette.reads = []
    assert write(Palette(30.0, 1.0), 2.0)["palette_writes"] == 1
    assert asked == [pb.SETTLE_MAX]


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
