"""The two flows' pure parts and their decisions, on a fake cluster (reads and writes in memory).

enforce.apply: what a 409 means (adopt our own object, refuse a foreign one, re-read and retry an
update, delete a replaced object only if still ours), and a failure part-way. validate: drift items,
role checks, the counts of the summary. The real control plane runs both in tests/integration
(test_role_binding.py, test_faults.py, test_validate.py).
"""

import threading
import time

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import (
    declaration,
    options,
    plan_codec,
    plan_model,
    plan_order,
    plan_scopes,
    verdict,
)
from ansible_collections.vmo.rbac.plugins.module_utils._flows import enforce, observe, validate
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import Subject

OWNER = "vmo-rbac"
ALICE = Subject("User", "alice", "")
BOB = Subject("User", "bob", "")


def decl(*entries, **kw):
    return declaration.parse_declaration(list(entries), owner=OWNER, **kw)


class MemoryCluster:
    """Bindings in a dict, with a queue of answers to force (409, 404, 403) on the next calls."""

    def __init__(self, objects=(), namespaces=None, roles=("spectro-vm-viewer", "spectro-vm-user")):
        self.objects = {}
        for o in objects:
            self.objects[self._key(o)] = o
        self.namespaces = namespaces or {"team-a": {}, "default": {}}
        self.roles = roles
        self.forced = []  # (method, status) consumed in order
        self.calls = []
        self.requests = 0
        self.host = "https://memory"
        self.params = {}

    @staticmethod
    def _key(o):
        meta = o["metadata"]
        return (o["kind"], meta.get("namespace") or "", meta["name"])

    def _force(self, method):
        self.calls.append(method)
        self.requests += 1
        if self.forced and self.forced[0][0] == method:
            status = self.forced.pop(0)[1]
            raise ApiError("forced %d" % status, status)

    def list_namespaces(self):
        self.requests += 1
        return dict(self.namespaces), set()

    def list_cluster_roles(self, metadata_only=True, label_selector=None):
        self.requests += 1
        return [{"metadata": {"name": n}, "rules": []} for n in self.roles]

    def list_roles(self, metadata_only=True):
        self.requests += 1
        return []

    def list_bindings(self, kind, label_selector=None, metadata_only=False):
        self.requests += 1
        out = [o for k, o in sorted(self.objects.items()) if k[0] == kind]
        if label_selector:
            out = [o for o in out if plan_codec.is_owned(o["metadata"].get("labels"), OWNER)]
        return out

    def list_cluster_role_bindings(self, label_selector=None, metadata_only=False):
        return self.list_bindings(plan_model.CRB, label_selector)

    def list_role_bindings(self, label_selector=None, metadata_only=False):
        return self.list_bindings(plan_model.RB, label_selector)

    def create_binding(self, body):
        self._force("create")
        body = dict(body, metadata=dict(body["metadata"], uid="uid-" + body["metadata"]["name"],
                                        resourceVersion="1"))
        self.objects[self._key(body)] = body
        return body

    def replace_binding(self, body):
        self._force("replace")
        self.objects[self._key(body)] = body
        return body

    def get_binding(self, kind, namespace, name):
        self._force("get")
        return self.objects[(kind, namespace or "", name)]

    def delete_binding(self, kind, namespace, name, uid=None, resource_version=None):
        self._force("delete")
        self.objects.pop((kind, namespace or "", name), None)
        return {}


def owned_api(b, labels=None):
    body = plan_codec.binding_to_api(b)
    body["metadata"]["uid"] = "uid-old"
    body["metadata"]["resourceVersion"] = "7"
    if labels is not None:
        body["metadata"]["labels"] = labels
    return body


def plan_for(cluster, d, **kw):
    return observe.observe_plan(d, cluster, observe.ObserveOptions(**kw)).plan


# ----------------------------------------------------------------------------- enforce


def test_a_create_that_meets_our_own_object_adopts_it():
    d = decl({"persona": "viewer", "users": ["alice"]})
    c = MemoryCluster()
    p = plan_for(c, d)
    desired = p.actions[0].desired
    c.objects[(plan_model.CRB, "", desired.name)] = owned_api(desired._replace(subjects=(BOB,)))
    c.forced = [("create", 409)]
    done = enforce.apply(p, c, OWNER)
    assert [a.action for a in done] == ["create"]
    assert c.calls == ["create", "get", "replace"]  # adopted, then its subjects corrected
    assert c.objects[(plan_model.CRB, "", desired.name)]["subjects"] == [{"kind": "User", "name": "alice",
                                                                        "apiGroup": "rbac.authorization.k8s.io"}]


def test_a_create_that_meets_a_foreign_object_leaves_it_alone():
    d = decl({"persona": "viewer", "users": ["alice"]})
    c = MemoryCluster()
    p = plan_for(c, d)
    desired = p.actions[0].desired
    c.objects[(plan_model.CRB, "", desired.name)] = owned_api(desired, labels={"team": "x"})
    c.forced = [("create", 409)]
    with pytest.raises(ClusterError, match="appeared during the run and is not owned"):
        enforce.apply(p, c, OWNER)
    assert c.objects[(plan_model.CRB, "", desired.name)]["metadata"]["labels"] == {"team": "x"}


def test_an_update_that_meets_a_newer_version_rereads_and_retries():
    d = decl({"persona": "viewer", "users": ["alice", "bob"]})
    before = plan_scopes.resolve(decl({"persona": "viewer", "users": ["alice"]}), None)
    c = MemoryCluster([owned_api(b) for b in before.values()])
    p = plan_for(c, d)
    assert [a.action for a in p.actions] == ["update"]
    c.forced = [("replace", 409), ("replace", 409)]
    enforce.apply(p, c, OWNER)
    assert c.calls == ["replace", "get", "replace", "get", "replace"]


def test_an_update_gives_up_when_taken_over_or_after_five_conflicts():
    d = decl({"persona": "viewer", "users": ["alice", "bob"]})
    before = plan_scopes.resolve(decl({"persona": "viewer", "users": ["alice"]}), None)
    c = MemoryCluster([owned_api(b) for b in before.values()])
    p = plan_for(c, d)
    c.forced = [("replace", 409)] * 5
    with pytest.raises(ClusterError, match="kept changing under us"):
        enforce.apply(p, c, OWNER)
    c = MemoryCluster([owned_api(b, labels={"someone": "else"}) for b in before.values()])
    c.objects = {k: v for k, v in c.objects.items()}
    c.forced = [("replace", 409)]
    with pytest.raises(ClusterError, match="taken over"):
        enforce.apply(p, c, OWNER)


def test_deletes_of_vanished_or_replaced_objects():
    gone = decl()
    before = plan_scopes.resolve(decl({"persona": "viewer", "users": ["alice"]}), None)
    c = MemoryCluster([owned_api(b) for b in before.values()])
    p = plan_for(c, gone, purge=True)
    c.forced = [("delete", 404)]
    enforce.apply(p, c, OWNER)  # already gone: done
    c = MemoryCluster([owned_api(b) for b in before.values()])
    c.forced = [("delete", 409)]
    enforce.apply(p, c, OWNER)  # replaced meanwhile, still ours: deleted
    assert c.calls == ["delete", "get", "delete"] and not c.objects
    c = MemoryCluster([owned_api(b) for b in before.values()])
    key = next(iter(c.objects))
    c.forced = [("delete", 409)]
    c.objects[key]["metadata"]["labels"] = {"someone": "else"}
    enforce.apply(p, c, OWNER)  # replaced by someone else: left alone
    assert c.calls == ["delete", "get"] and key in c.objects


def test_a_failure_part_way_says_what_was_written():
    d = decl({"persona": "viewer", "users": ["alice"], "namespaces": ["team-a", "default"]})
    c = MemoryCluster()
    c.forced = [("create", 403)]
    opts = options.parse({"concurrency": 1}, decl())  # one write after the other
    # the first write fails: nothing was made
    with pytest.raises(enforce.PartialApplyError) as err:
        enforce.run(d, opts, c)
    assert err.value.done == [] and err.value.status == 403 and "0 of 2" in err.value.message
    assert "fix the permissions" in err.value.message

    class SecondFails(MemoryCluster):
        def create_binding(self, body):
            if len(self.objects) == 1:
                raise ApiError("the API server at x kept failing (503)", 503)
            return MemoryCluster.create_binding(self, body)

    c = SecondFails()
    with pytest.raises(enforce.PartialApplyError) as err:
        enforce.run(d, opts, c)
    assert len(err.value.done) == 1 and err.value.done[0]["action"] == "create"
    assert "1 of 2 planned writes" in err.value.message and "the next run converges" in err.value.message


def test_missing_roles_and_conflicts_stop_before_any_write():
    opts = options.parse({}, decl())
    c = MemoryCluster(roles=())
    with pytest.raises(observe.PreflightError, match="missing role: ClusterRole spectro-vm-viewer"):
        enforce.run(decl({"persona": "viewer", "users": ["alice"]}), opts, c)
    assert "create" not in c.calls
    d = decl({"persona": "viewer", "users": ["alice"]})
    name = declaration.binding_name(OWNER, "ClusterRole", "spectro-vm-viewer")
    foreign = plan_codec.binding_to_api(plan_scopes.resolve(d, None)[(plan_model.CRB, "", name)])
    foreign["metadata"]["labels"] = {}
    c = MemoryCluster([foreign])
    with pytest.raises(observe.PreflightError, match="1 binding name is in the way"):
        enforce.run(d, opts, c)
    assert "create" not in c.calls


class SlowCluster(MemoryCluster):
    """Writes take a while and are recorded with their start and end; thread-safe enough for a dict
    under the GIL. ``fail``: the name of a binding whose create answers 403."""

    def __init__(self, *a, fail=None, **kw):
        super().__init__(*a, **kw)
        self.spans, self.fail, self._lock = [], fail, threading.Lock()

    def _timed(self, what, name, call):
        start = time.monotonic()
        time.sleep(0.02)
        try:
            if what == "create" and name == self.fail:
                raise ApiError("forbidden", 403)
            return call()
        finally:
            with self._lock:
                self.spans.append((what, name, start, time.monotonic()))

    def create_binding(self, body):
        return self._timed("create", body["metadata"]["name"], lambda: MemoryCluster.create_binding(self, body))

    def delete_binding(self, kind, namespace, name, uid=None, resource_version=None):
        return self._timed("delete", name, lambda: MemoryCluster.delete_binding(self, kind, namespace, name, uid,
                                                                                resource_version))

    def replace_binding(self, body):
        return self._timed("update", body["metadata"]["name"], lambda: MemoryCluster.replace_binding(self, body))


def test_writes_of_one_wave_go_together_and_waves_one_after_the_other():
    """A role change of every grant in 6 namespaces: 6 bridges and 6 creates are sent together, then
    the deletes, the re-creates, the bridges' deletes, each wave starting when the last has ended."""
    namespaces = dict(("ns-%d" % i, {}) for i in range(6))
    old = decl({"persona": "viewer", "users": ["alice"], "name": "vm-team", "namespaces": sorted(namespaces)})
    new = decl({"persona": "user", "users": ["alice"], "name": "vm-team", "namespaces": sorted(namespaces)},
               {"persona": "viewer", "users": ["bob"], "namespaces": sorted(namespaces)})
    objects = [plan_codec.binding_to_api(b) for b in plan_scopes.resolve(old, namespaces).values()]
    c = SlowCluster(objects, namespaces=namespaces)
    the_plan = plan_for(c, new)
    waves = plan_order.waves(the_plan.actions)
    assert [len(w) for w in waves] == [12, 6, 6, 6]
    t0 = time.monotonic()
    enforce.apply(the_plan, c, OWNER, concurrency=16)
    took = time.monotonic() - t0
    assert len(c.spans) == len(the_plan.actions) == 30
    assert took < 0.02 * 30 / 2, took  # far less than one write after the other
    bounds = []
    for w in waves:
        names = set((a.action, a.name) for a in w)
        spans = [s for s in c.spans if (s[0], s[1]) in names]
        bounds.append((min(s[2] for s in spans), max(s[3] for s in spans)))
    for (_s0, end), (start, _e1) in zip(bounds, bounds[1:]):
        assert end <= start, "a wave started before the last one ended"
    assert plan_for(c, new).actions == []


def test_a_failure_in_a_wave_stops_the_next_waves_and_says_what_was_written():
    namespaces = dict(("ns-%d" % i, {}) for i in range(4))
    old = decl({"persona": "viewer", "users": ["alice"], "name": "vm-team", "namespaces": sorted(namespaces)})
    new = decl({"persona": "user", "users": ["alice"], "name": "vm-team", "namespaces": sorted(namespaces)})
    objects = [plan_codec.binding_to_api(b) for b in plan_scopes.resolve(old, namespaces).values()]
    c = SlowCluster(objects, namespaces=namespaces, fail="vm-team-transition")
    d = new
    with pytest.raises(enforce.PartialApplyError) as err:
        enforce.run(d, options.parse({"concurrency": 8}, d), c)
    # the bridges of the other namespaces were written (or not), nothing of a later wave was
    assert err.value.status == 403
    assert all(a["action"] == "create" for a in err.value.done), err.value.done
    assert not any(what == "delete" for what, _n, _s, _e in c.spans)
    assert "of 16 planned writes were made before this failure" in err.value.message


def test_independent_reads_go_together_and_the_first_failure_in_order_is_raised():
    order = []

    def call(name, fail=False):
        def f():
            time.sleep(0.05)
            order.append(name)
            if fail:
                raise ClusterError("%s failed" % name)
            return name
        return f

    t0 = time.monotonic()
    assert observe.gather([("a", call("a")), ("b", call("b")), ("c", call("c"))], 3) == {"a": "a", "b": "b", "c": "c"}
    assert time.monotonic() - t0 < 0.12
    with pytest.raises(ClusterError, match="b failed"):
        observe.gather([("a", call("a")), ("b", call("b", True)), ("c", call("c", True))], 3)
    order[:] = []
    assert observe.gather([("x", call("x")), ("y", call("y"))], 1) == {"x": "x", "y": "y"} and order == ["x", "y"]


def test_a_declaration_refused_without_the_cluster_makes_no_request():
    """Two cluster-wide grants that produce one name with different roles: refused before the
    first LIST, even though the declaration also has namespaced grants (which need the LIST)."""
    c = MemoryCluster()
    d = decl({"name": "same", "persona": "viewer", "users": ["alice"]},
             {"name": "same", "persona": "user", "users": ["bob"]},
             {"persona": "viewer", "users": ["carol"], "namespaces": ["team-a"]})
    with pytest.raises(declaration.SpecError, match="conflicts with"):
        enforce.run(d, options.parse({}, d), c)
    assert c.requests == 0


# ---------------------------------------------------------------------------- validate


def test_drift_items_say_what_the_enforcer_would_do():
    d = decl({"persona": "user", "users": ["alice"], "name": "team"},
             {"persona": "viewer", "users": ["alice", "bob"]})
    before = plan_scopes.resolve(decl({"persona": "viewer", "users": ["alice"], "name": "team"},
                                   {"persona": "viewer", "users": ["alice"]},
                                   {"persona": "viewer", "users": ["alice"], "namespaces": ["team-a"]}),
                              {"team-a": {}})
    c = MemoryCluster([owned_api(b) for b in before.values()])
    items = validate.drift_items(plan_for(c, d, purge=True))
    by_name = {(i["kind"], i["name"]): i for i in items}
    assert by_name[(plan_model.CRB, "team")]["action"] == "replace"
    assert "roleRef differs" in by_name[(plan_model.CRB, "team")]["problem"]
    assert by_name[(plan_model.CRB, "vmo-rbac-spectro-vm-viewer")] == {
        "kind": plan_model.CRB, "name": "vmo-rbac-spectro-vm-viewer", "problem": "subjects: add User bob",
        "fix": "vmo_role_binding would update it", "action": "update", "cause": "subjects"}
    assert by_name[(plan_model.CRB, "team")]["cause"] == "roleRef"
    assert by_name[(plan_model.RB, "vmo-rbac-spectro-vm-viewer")]["problem"] == "no longer declared (purge)"
    assert by_name[(plan_model.RB, "vmo-rbac-spectro-vm-viewer")]["cause"] == "purge"
    assert not [i for i in items if i["name"].endswith("-transition")]
    assert len(items) == 3


def test_check_mode_with_the_palette_backend_marks_what_enforce_planned_as_pending():
    """--check with the palette backend (the example fleet of examples/palette): the enforce step
    planned Palette items, so their drift and the failed checks of the declared subjects are pending;
    anyone else's excess access still fails. Before, nothing was pending and every cluster failed."""
    desired = plan_scopes.resolve(decl({"persona": "admin", "groups": ["vmo-admins"]},
                                    {"persona": "viewer", "users": ["bob"], "namespaces": ["team-a"]}), {"team-a": {}})
    drift = [{"kind": plan_model.CRB, "name": "spectro-vm-admin", "problem": "missing in the cluster's Palette RBAC"}]
    rows = [{"subject": "Group vmo-admins", "ok": False}, {"subject": "User bob", "ok": False},
            {"subject": "User mallory", "ok": False}, {"subject": "User bob", "ok": True}]
    validate.mark_pending_palette(desired, drift, rows)
    assert drift[0]["pending"] is True
    assert [r.get("pending", False) for r in rows] == [True, True, False, False]


def test_role_checks_and_summary_counts():
    d = decl({"persona": "viewer", "users": ["alice"]}, {"cluster_role": "gone", "users": ["bob"]})
    want = plan_scopes.resolve(d, None)
    seen = observe.RolesSeen({"spectro-vm-viewer": {"rules": []}}, set(), [("ClusterRole", "", "gone")])
    roles = validate.role_checks(d, seen, observe.referenced_roles(d, want))
    assert [(r["name"], r["present"], r["reference"]) for r in roles] == [
        ("gone", False, None), ("spectro-vm-viewer", True, "differs")]
    rows = [{"ok": True}, {"ok": False}, {"ok": None}]
    drift = [{"action": "delete"}, {"action": "create"}]
    passed, summary = verdict.tally(roles, drift, rows, binding_checks=verdict.binding_checks(want, drift),
                                    subjects=len(access.grants_by_subject(want)))
    # checks: 2 roles + (2 bindings + 1 delete) + 2 checked rows; failed: 1 role + 2 drift + 1 row
    assert summary["checks"] == 7 and summary["failed"] == 4 and summary["unchecked"] == 1
    assert summary["subjects"] == 2 and passed is False
    passed, summary = verdict.tally(roles[1:], [], rows[:1])
    assert passed is True and summary["checks"] == 2
