"""vmo.rbac.vmo_role_binding against the real local control plane (issue 3 acceptance).

Every test runs the module through ansible-playbook (tests.helpers.ansible), with an owner
label and namespaces of its own, and checks the outcome through the API, through
SubjectAccessReviews (the API server's own RBAC authorizer) and through the audit log,
counted by the user name of the identity the module ran as, never by what the module
says about itself.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from kubernetes.client.rest import ApiException

from tests.helpers.access_poller import AccessPoller, wait_until_allowed, wait_until_can_get_vms
from tests.helpers.ansible import failed, ok, run_module, run_playbook
from tests.helpers.kube import audit_ts, binding_manifest

MODULE = "vmo.rbac.vmo_role_binding"
ROOT = Path(__file__).resolve().parents[2]
AUTOMATION_ROLE = ROOT / "files" / "automation-clusterrole.yaml"
AUTOMATION_ROLE_NAME = "vmo-rbac-automation"
RBAC_GROUP = "rbac.authorization.k8s.io"
PERSONAS = ("admin", "power-user", "user", "viewer")
VMO_ROLES = {"admin": "spectro-vm-admin", "power-user": "spectro-vm-power-user",
             "user": "spectro-vm-user", "viewer": "spectro-vm-viewer"}
KUBERNETES_ROLES = {"admin": "cluster-admin", "power-user": "admin", "user": "edit", "viewer": "view"}
CRB, RB = "ClusterRoleBinding", "RoleBinding"
# The module's message for a 403 on a binding (cluster.BIND_HINT), in words a test can look for.
BIND_HINT_START = "Granting a role requires holding every permission it grants, or the 'bind' verb"


# ---------------------------------------------------------------------------- helpers


def enforce(ident, owner, bindings, *, check=False, diff=False, **options):
    """One vmo_role_binding task as ``ident``; returns the task result."""
    args = dict(ident.params, owner=owner, bindings=bindings, **options)
    return run_module(MODULE, args, check=check, diff=diff)


def run_tasks(tasks, *, check=False):
    """Several vmo_role_binding tasks in one ansible-playbook run (saves a process start each).
    ``tasks`` is a list of (name, args); every task ignores errors; returns {name: result}."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": name, MODULE: args, "ignore_errors": True} for name, args in tasks]}]
    run = run_playbook(play, check=check)
    assert len(run.results) == len(tasks), (run.rc, run.stdout[-3000:], run.stderr[-3000:])
    return {name: dict(run.task(name), _stdout=run.stdout, _stderr=run.stderr) for name, _ in tasks}


def keys(actions):
    return [(a["action"], a["kind"], a.get("namespace", ""), a["name"]) for a in actions]


def writes_of(audit, user):
    """Write requests ``user`` made in the audit window: [(verb, resource, namespace, name, code)]."""
    out = []
    for e in audit.writes(user=user):
        ref = e.get("objectRef") or {}
        out.append((e["verb"], ref.get("resource"), ref.get("namespace", ""), ref.get("name"),
                    (e.get("responseStatus") or {}).get("code")))
    return out


def snapshot(cluster, owner=None):
    """{key: (resourceVersion, roleRef, subjects, labels)} of bindings (of one owner, or all)."""
    return {k: (v["metadata"]["resourceVersion"], v["roleRef"], v.get("subjects"), v["metadata"].get("labels"))
            for k, v in cluster.bindings(owner).items()}


def local_snapshot(cluster, uid, nss):
    """snapshot() of every binding in the test's namespaces and every ClusterRoleBinding whose
    name carries the test's uid (its owners' and its hand-made ones): what a test may compare
    before and after without seeing other tests running in parallel."""
    return {k: v for k, v in snapshot(cluster).items() if k[1] in nss or (k[0] == CRB and uid in k[2])}


def read_binding(cluster, kind, namespace, name):
    rbac = cluster.rbac()
    try:
        if kind == CRB:
            obj = rbac.read_cluster_role_binding(name)
        else:
            obj = rbac.read_namespaced_role_binding(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return cluster.admin.sanitize_for_serialization(obj)


def subjects_of(obj):
    return sorted((s["kind"], s["name"], s.get("namespace", "")) for s in obj.get("subjects") or [])


@pytest.fixture
def cleanup(cluster, owner):
    """Deletes, after the test, the cluster-scoped objects it made: this owner's (and
    ``owners``') ClusterRoleBindings and the named ClusterRoleBindings/ClusterRoles.
    RoleBindings go away with the test's namespaces."""
    made = {"crbs": [], "roles": [], "owners": [owner]}
    yield made
    rbac = cluster.rbac()
    for o in made["owners"]:
        for item in rbac.list_cluster_role_binding(label_selector="vmo.rbac/owner=" + o).items:
            made["crbs"].append(item.metadata.name)
    for name in set(made["crbs"]):
        try:
            rbac.delete_cluster_role_binding(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
    for name in set(made["roles"]):
        try:
            rbac.delete_cluster_role(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


# ------------------------------------------------------------- create, steady state, cost


def test_84_bindings_created_then_steady_state_is_cheap_and_writes_nothing(cluster, namespaces, owner, uid,
                                                                          admin_identity, cleanup):
    """4 personas cluster-wide + 4 personas in 20 namespaces = 84 bindings. The first run
    creates them all; a second identical run and a third with every list reordered report
    changed=false, write nothing and make at most 5 requests (audit log)."""
    nss = namespaces(*["s%02d" % i for i in range(20)])
    bindings = []
    for p in PERSONAS:
        bindings.append({"persona": p, "groups": ["%s-all-%s" % (p, uid)], "users": ["%s-boss-%s" % (p, uid)]})
        bindings.append({"persona": p, "groups": ["%s-ns-%s" % (p, uid)],
                         "subjects": [{"kind": "User", "name": "%s-u1-%s" % (p, uid)},
                                      {"kind": "User", "name": "%s-u2-%s" % (p, uid)}],
                         "namespaces": nss})
    user = admin_identity.user

    audit = cluster.audit()
    t0 = time.monotonic()
    first = ok(enforce(admin_identity, owner, bindings))
    t_first = time.monotonic() - t0
    assert first["changed"] is True
    assert first["summary"] == {"created": 84, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": 0}
    writes = writes_of(audit, user)
    assert len(writes) == 84 and all(w[0] == "create" and w[4] == 201 for w in writes), writes
    first_requests = len(audit.events(user=user))

    # What the API holds: exactly the declared bindings, labelled, with exactly the declared subjects.
    held = cluster.bindings(owner)
    expected = {(CRB, "", "%s-%s" % (owner, VMO_ROLES[p])) for p in PERSONAS}
    expected |= {(RB, ns, "%s-%s" % (owner, VMO_ROLES[p])) for p in PERSONAS for ns in nss}
    assert set(held) == expected
    for (kind, ns, name), obj in held.items():
        persona = obj["metadata"]["labels"]["vmo.rbac/persona"]
        assert obj["roleRef"] == {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": VMO_ROLES[persona]}
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/managed-by": "vmo.rbac", "vmo.rbac/owner": owner, "vmo.rbac/persona": persona,
            "vmo.rbac/scope": "cluster" if kind == CRB else "namespace"}
        if kind == CRB:
            want = [("Group", "%s-all-%s" % (persona, uid), ""), ("User", "%s-boss-%s" % (persona, uid), "")]
        else:
            want = [("Group", "%s-ns-%s" % (persona, uid), "")] + [
                ("User", "%s-u%d-%s" % (persona, i, uid), "") for i in (1, 2)]
        assert subjects_of(obj) == sorted(want), (kind, ns, name)
    before = snapshot(cluster, owner)

    # Steady state: identical input, then every list reordered.
    reordered = []
    for entry in reversed(bindings):
        e = dict(entry)
        for k in ("groups", "users", "subjects", "namespaces"):
            if k in e:
                e[k] = list(reversed(e[k]))
        reordered.append(e)
    for declaration in (bindings, reordered):
        audit = cluster.audit()
        t0 = time.monotonic()
        again = ok(enforce(admin_identity, owner, declaration))
        t_again = time.monotonic() - t0
        assert again["changed"] is False
        assert again["actions"] == []
        assert again["summary"] == {"created": 0, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": 84}
        events = audit.events(user=user)
        assert audit.writes(user=user) == []
        assert len(events) <= 5, [(e["verb"], e["requestURI"]) for e in events]
        assert all(e["verb"] == "list" for e in events), [(e["verb"], e["requestURI"]) for e in events]
        assert again["api_requests"] == len(events)
    assert snapshot(cluster, owner) == before
    print("\n84 bindings: first run %.1fs (%d requests, %d writes); steady state %.1fs, %d requests, 0 writes"
          % (t_first, first_requests, len(writes), t_again, len(events)))

    # The API server grants what was declared, where it was declared, and nothing more.
    outside = namespaces("outside")
    wait_until_can_get_vms(cluster, "viewer-u1-" + uid, nss[7])
    wait_until_can_get_vms(cluster, "viewer-u1-" + uid, outside, allowed=False)
    wait_until_can_get_vms(cluster, "someone", outside, groups=["viewer-all-" + uid])
    cluster.wait_until_can("viewer-u2-" + uid, "delete", "virtualmachines", "kubevirt.io", namespace=nss[0], allowed=False)
    cluster.wait_until_can("power-user-u2-" + uid, "delete", "virtualmachines", "kubevirt.io", namespace=nss[19])


# ------------------------------------------------------------------- foreign objects


def test_foreign_same_name_bindings_fail_the_task_before_any_write(cluster, namespaces, owner, uid,
                                                                  admin_identity, cleanup):
    """A same-name binding without labels, and one carrying another owner's labels, are never
    touched: the task fails naming both, and writes nothing at all (not even the grants that
    are not in the way)."""
    ns = namespaces("foreign")
    other = "other-" + uid
    rbac = cluster.rbac()
    crb_name = "%s-spectro-vm-viewer" % owner
    rb_name = "%s-spectro-vm-user" % owner
    rbac.create_cluster_role_binding(binding_manifest(CRB, crb_name, "spectro-vm-viewer", "hand-made-" + uid))
    cleanup["crbs"].append(crb_name)
    rbac.create_namespaced_role_binding(ns, binding_manifest(
        RB, rb_name, "spectro-vm-user", "theirs-" + uid, ns,
        labels={"app.kubernetes.io/managed-by": "vmo.rbac", "vmo.rbac/owner": other}))
    before = {k: read_binding(cluster, *k) for k in [(CRB, "", crb_name), (RB, ns, rb_name)]}

    audit = cluster.audit()
    res = enforce(admin_identity, owner, [
        {"persona": "power-user", "users": ["fine-" + uid], "namespaces": [ns]},  # not in the way
        {"persona": "viewer", "groups": ["viewers-" + uid]},
        {"persona": "user", "groups": ["users-" + uid], "namespaces": [ns]},
    ])
    msg = failed(res)
    assert res["changed"] is False
    assert "ClusterRoleBinding %s already exists and was not made by vmo.rbac" % crb_name in msg, msg
    assert "RoleBinding %s/%s already exists and belongs to vmo.rbac owner %r" % (ns, rb_name, other) in msg, msg
    assert "nothing was changed" in msg
    assert writes_of(audit, admin_identity.user) == []
    after = {k: read_binding(cluster, *k) for k in before}
    assert after == before  # same resourceVersion, labels, subjects
    assert cluster.bindings(owner) == {}  # the grant that was not in the way was not made either


# --------------------------------------------------------------------- role changes


def test_access_poller_sees_a_deliberate_gap(cluster, uid, cleanup):
    """The instrument of the two tests below: when access does lapse (a binding deleted and
    made again 150 ms later, the way a naive delete-then-create would do it), the poller
    sees 'denied'."""
    name = "it-gap-" + uid
    body = binding_manifest(CRB, name, "spectro-vm-viewer", "gap-" + uid)
    rbac = cluster.rbac()
    rbac.create_cluster_role_binding(body)
    cleanup["crbs"].append(name)
    checks = {"gap": ("gap-" + uid, [], "default")}
    wait_until_allowed(cluster, checks)
    with AccessPoller(cluster, checks) as poller:
        rbac.delete_cluster_role_binding(name)
        time.sleep(0.15)
        rbac.create_cluster_role_binding(body)
    assert not poller.errors, poller.errors
    answers = poller.answers["gap"]
    assert answers[0][2] is True and answers[-1][2] is True
    assert poller.denied(), "the poller missed a 150 ms gap (median interval %.1f ms)" % poller.interval_ms()
    print("\npoller: median interval %.1f ms, %d of %d answers denied during a 150 ms gap"
          % (poller.interval_ms(), len(poller.denied()["gap"]), len(answers)))


def test_role_set_switch_vmo_to_kubernetes_leaves_no_access_gap(cluster, namespaces, owner, uid,
                                                               admin_identity, cleanup):
    """Switching role_set from vmo to kubernetes replaces every binding (roleRef is immutable,
    and the names follow the role). While the module runs, background threads ask the API
    server whether each subject may get VMs; not a single answer is 'denied'."""
    ns1, ns2 = namespaces("switch-a", "switch-b")
    sa_ns = namespaces("switch-sa")
    sa_user = "system:serviceaccount:%s:viewer" % sa_ns
    bindings = [
        {"persona": "admin", "groups": ["admins-" + uid]},
        {"persona": "power-user", "users": ["pu-" + uid], "namespaces": [ns1, ns2]},
        {"persona": "user", "groups": ["users-" + uid], "namespaces": [ns1, ns2]},
        {"persona": "viewer", "service_accounts": ["%s/viewer" % sa_ns]},
    ]
    ok(enforce(admin_identity, owner, bindings))
    old = set(cluster.bindings(owner))
    assert len(old) == 6
    # Before the switch the user persona (spectro-vm-user) may not delete VMs; with edit it may.
    cluster.wait_until_can("x", "delete", "virtualmachines", "kubevirt.io", ns1, groups=["users-" + uid], allowed=False)

    checks = {
        "admin": ("a-" + uid, ["admins-" + uid], ns1),
        "power-user": ("pu-" + uid, [], ns1),
        "power-user@ns2": ("pu-" + uid, [], ns2),
        "user": ("u-" + uid, ["users-" + uid], ns2),
        "viewer": (sa_user, ["system:serviceaccounts", "system:serviceaccounts:" + sa_ns], ns1),
    }
    wait_until_allowed(cluster, checks)
    audit = cluster.audit()
    with AccessPoller(cluster, checks) as poller:
        res = ok(enforce(admin_identity, owner, bindings, role_set="kubernetes", allow_privileged=True))
    assert not poller.errors, poller.errors
    assert poller.denied() == {}, "access gap: %s" % poller.denied()

    assert res["changed"] is True
    assert res["summary"] == {"created": 6, "updated": 0, "replaced": 6, "deleted": 0, "unchanged": 0}
    held = cluster.bindings(owner)
    assert not (old & set(held)), "old bindings left: %s" % (old & set(held))
    assert {k: v["roleRef"]["name"] for k, v in held.items()} == {
        (CRB, "", owner + "-cluster-admin"): "cluster-admin",
        (CRB, "", owner + "-view"): "view",
        (RB, ns1, owner + "-admin"): "admin", (RB, ns2, owner + "-admin"): "admin",
        (RB, ns1, owner + "-edit"): "edit", (RB, ns2, owner + "-edit"): "edit",
    }
    # The order the API server saw: every create before the first delete.
    writes = writes_of(audit, admin_identity.user)
    verbs = [w[0] for w in writes]
    assert verbs == ["create"] * 6 + ["delete"] * 6, writes
    assert all(w[4] in (200, 201) for w in writes), writes
    window = (audit_ts(audit.writes(user=admin_identity.user)[0]["requestReceivedTimestamp"]),
              audit_ts(audit.writes(user=admin_identity.user)[-1]["stageTimestamp"]))
    total = {label: len(a) for label, a in poller.answers.items()}
    during = poller.polls_between(*window)
    print("\nrole set switch: %d writes in %.0f ms; SubjectAccessReviews per subject: %s (during the writes: %s); "
          "median interval %.1f ms" % (len(writes), (window[1] - window[0]) * 1000, total, during,
                                       poller.interval_ms()))
    assert all(n >= 20 for n in total.values()), total
    assert all(n >= 1 for n in during.values()), "the poller was not asking while the module wrote: %s" % during
    # The new roles are in force: edit may delete VMs.
    cluster.wait_until_can("x", "delete", "virtualmachines", "kubevirt.io", ns1, groups=["users-" + uid])


def test_named_binding_role_change_goes_through_a_transition_binding(cluster, namespaces, owner, uid,
                                                                    admin_identity, cleanup):
    """An explicitly named binding keeps its name when its role changes (viewer -> user): the
    module creates <name>-transition with the new role, deletes and recreates the binding,
    then removes the transition binding; SubjectAccessReviews never say 'denied'."""
    ns = namespaces("named")
    name = "vm-team-" + uid
    entry = {"name": name, "persona": "viewer", "users": ["ann-" + uid], "groups": ["crew-" + uid],
             "namespaces": [ns]}
    ok(enforce(admin_identity, owner, [entry]))
    assert read_binding(cluster, RB, ns, name)["roleRef"]["name"] == "spectro-vm-viewer"
    transition = name + "-transition"

    # A foreign object where the transition binding would go is in the way as well: found
    # before any write (the planned create of an unrelated grant is not made either).
    elsewhere = namespaces("named-other")
    cluster.rbac().create_namespaced_role_binding(ns, binding_manifest(RB, transition, "spectro-vm-admin", "x", ns))
    in_the_way = read_binding(cluster, RB, ns, transition)
    audit = cluster.audit()
    unrelated = {"persona": "viewer", "users": ["z-" + uid], "namespaces": [elsewhere]}
    msg = failed(enforce(admin_identity, owner, [dict(entry, persona="user"), unrelated]))
    assert "RoleBinding %s/%s already exists and was not made by vmo.rbac" % (ns, transition) in msg, msg
    assert writes_of(audit, admin_identity.user) == []
    assert read_binding(cluster, RB, ns, transition) == in_the_way
    cluster.rbac().delete_namespaced_role_binding(transition, ns)

    checks = {"ann": ("ann-" + uid, [], ns), "crew": ("x-" + uid, ["crew-" + uid], ns)}
    wait_until_allowed(cluster, checks)
    audit = cluster.audit()
    with AccessPoller(cluster, checks) as poller:
        res = ok(enforce(admin_identity, owner, [dict(entry, persona="user")]))
    assert not poller.errors, poller.errors
    assert poller.denied() == {}, "access gap: %s" % poller.denied()

    assert keys(res["actions"]) == [("create", RB, ns, transition), ("delete", RB, ns, name),
                                    ("create", RB, ns, name), ("delete", RB, ns, transition)]
    assert res["summary"] == {"created": 1, "updated": 0, "replaced": 1, "deleted": 0, "unchanged": 0}
    assert [(w[0], w[3] or "", w[4]) for w in writes_of(audit, admin_identity.user)] == [
        ("create", transition, 201), ("delete", name, 200), ("create", name, 201), ("delete", transition, 200)]
    now = read_binding(cluster, RB, ns, name)
    assert now["roleRef"]["name"] == "spectro-vm-user"
    assert now["metadata"]["labels"]["vmo.rbac/persona"] == "user"
    assert subjects_of(now) == [("Group", "crew-" + uid, ""), ("User", "ann-" + uid, "")]
    assert read_binding(cluster, RB, ns, transition) is None
    assert set(cluster.bindings(owner)) == {(RB, ns, name)}
    events = audit.writes(user=admin_identity.user)
    during = poller.polls_between(audit_ts(events[0]["requestReceivedTimestamp"]),
                                  audit_ts(events[-1]["stageTimestamp"]))
    assert all(n >= 1 for n in during.values()), "the poller was not asking while the module wrote: %s" % during
    print("\nnamed role change: SubjectAccessReviews %s (during the writes: %s)"
          % ({k: len(v) for k, v in poller.answers.items()}, during))


# --------------------------------------------------------------------------- OIDC


def test_oidc_prefixes_apply_to_users_and_groups_only(cluster, namespaces, owner, uid, admin_identity, cleanup):
    ns = namespaces("oidc")
    res = ok(enforce(admin_identity, owner, [
        {"persona": "viewer", "users": ["alice-" + uid], "groups": ["team-" + uid, "system:serviceaccounts:" + ns],
         "service_accounts": ["%s/robot" % ns], "namespaces": [ns]},
        {"persona": "user", "subjects": [{"kind": "User", "name": "oidc:bob-" + uid}]},  # already prefixed
    ], oidc_user_prefix="oidc:", oidc_group_prefix="oidc:", allow_privileged=True))  # system:serviceaccounts:<ns>
    assert res["changed"] is True
    rb = read_binding(cluster, RB, ns, owner + "-spectro-vm-viewer")
    assert subjects_of(rb) == sorted([
        ("User", "oidc:alice-" + uid, ""), ("Group", "oidc:team-" + uid, ""),
        ("Group", "system:serviceaccounts:" + ns, ""), ("ServiceAccount", "robot", ns)])
    crb = read_binding(cluster, CRB, "", owner + "-spectro-vm-user")
    assert subjects_of(crb) == [("User", "oidc:bob-" + uid, "")]

    # What the API server makes of it: the prefixed names are granted, the bare ones are not.
    wait_until_can_get_vms(cluster, "oidc:alice-" + uid, ns)
    wait_until_can_get_vms(cluster, "alice-" + uid, ns, allowed=False)
    wait_until_can_get_vms(cluster, "carol", ns, groups=["oidc:team-" + uid])
    wait_until_can_get_vms(cluster, "carol", ns, groups=["team-" + uid], allowed=False)
    wait_until_can_get_vms(cluster, "system:serviceaccount:%s:robot" % ns, ns)
    wait_until_can_get_vms(cluster, "oidc:bob-" + uid, "default")
    wait_until_can_get_vms(cluster, "oidc:oidc:bob-" + uid, "default", allowed=False)


def test_user_prefix_dash_binds_the_bare_name_as_kube_apiserver_does(cluster, namespaces, owner, uid, admin_identity,
                                                                      cleanup):
    """Issue 18 item 8: ``--oidc-username-prefix=-`` copied into oidc_user_prefix bound ``-alice`` (nobody);
    it means no prefix. Validation agrees with the cluster, not with itself: the access checks pass for
    the bare name."""
    ns = namespaces("oidc-dash")
    bindings = [{"persona": "viewer", "users": ["alice-" + uid], "groups": ["team-" + uid], "namespaces": [ns]}]
    ok(enforce(admin_identity, owner, bindings, oidc_user_prefix="-", oidc_group_prefix="-"))
    rb = read_binding(cluster, RB, ns, owner + "-spectro-vm-viewer")
    assert subjects_of(rb) == sorted([("User", "alice-" + uid, ""), ("Group", "-team-" + uid, "")])
    wait_until_can_get_vms(cluster, "alice-" + uid, ns)
    wait_until_can_get_vms(cluster, "-alice-" + uid, ns, allowed=False)
    # --oidc-groups-prefix=- makes the API server name the group "-team-...": that is what is bound
    wait_until_can_get_vms(cluster, "carol", ns, groups=["-team-" + uid])
    seen = ok(run_module("vmo.rbac.vmo_rbac_validate", dict(admin_identity.params, owner=owner, bindings=bindings,
                                                             oidc_user_prefix="-", oidc_group_prefix="-")))
    assert seen["passed"] is True and seen["summary"]["drift"] == 0
    assert any(r["subject"] == "User alice-" + uid and r["ok"] for r in seen["access"])


# ------------------------------------------------------------------ the size of planned objects


def test_entries_that_merge_into_a_binding_etcd_would_refuse_fail_before_any_write(cluster, namespaces, owner, uid,
                                                                                    admin_identity, cleanup):
    """Issue 18 item 7: three entries of 1,000 long names each pass the per-entry limit but merge into one
    RoleBinding that etcd refuses ("request is too large"), after the other grant of the run was written, and
    the runs never converge. Every planned object is measured before any write."""
    big, small = namespaces("big", "small")
    bindings = [{"persona": "viewer", "groups": ["small-" + uid], "namespaces": [small]}] + [
        {"persona": "viewer", "namespaces": [big],
         "users": ["%s-%04d-%s-%s" % (t, i, uid, "x" * 470) for i in range(1000)]} for t in "abc"]
    audit = cluster.audit()
    for check in (True, False):
        res = enforce(admin_identity, owner, bindings, check=check)
        msg = failed(res)
        assert res.get("field") == "bindings[3]", msg
        assert "merges into RoleBinding %s/%s-spectro-vm-viewer with bindings[1], bindings[2]: 3000 subjects" % (
            big, owner) in msg and "more than the 1400000 a binding may have" in msg
    assert writes_of(audit, admin_identity.user) == []
    assert cluster.bindings(owner) == {}
    # two of them fit, and etcd takes the object
    ok(enforce(admin_identity, owner, bindings[:3]))
    assert len(read_binding(cluster, RB, big, owner + "-spectro-vm-viewer")["subjects"]) == 2000


def test_reasons_that_merge_past_the_annotation_limit_fail_before_any_write(cluster, namespaces, owner, uid,
                                                                            admin_identity, cleanup):
    """Found attacking issue 18 item 7: the reasons of entries merged into one binding are joined in one
    annotation; 300 reasons of 1,000 characters passed the API server's 256 KiB limit for annotations, which
    refused the object (422) after the run's other grant was written."""
    big, small = namespaces("ann", "ann-small")
    bindings = [{"persona": "viewer", "groups": ["small-" + uid], "namespaces": [small]}] + [
        {"persona": "viewer", "namespaces": [big], "users": ["u%03d-%s" % (i, uid)],
         "reason": "R%03d %s" % (i, "x" * 1000)} for i in range(300)]
    audit = cluster.audit()
    res = enforce(admin_identity, owner, bindings)
    msg = failed(res)
    assert res.get("field") == "bindings[300]" and "its annotations would be" in msg, msg
    assert writes_of(audit, admin_identity.user) == [] and cluster.bindings(owner) == {}


# ------------------------------------------------------------- regex and selector scopes


def test_namespace_regex_and_selector_match_at_run_time(cluster, namespaces, owner, uid, admin_identity, cleanup):
    """Only matching namespaces get RoleBindings; a namespace created later is picked up by the
    next run and nothing else changes; a named namespace that does not exist fails the task
    before any write, naming the field."""
    web_a, web_b = namespaces("web-%s-a" % uid, "web-%s-b" % uid)
    not_web = namespaces("app-%s-web" % uid)
    sel_a = namespaces("sel-a", labels={"team": "vm-" + uid})
    sel_other = namespaces("sel-b", labels={"team": "other-" + uid})
    bindings = [
        {"persona": "viewer", "namespace_regex": "/^web-%s-/" % uid, "users": ["rx-" + uid]},
        {"persona": "user", "namespace_regex": "^web-%s-b" % uid, "groups": ["rx2-" + uid]},  # no slashes
        {"persona": "power-user", "namespace_selector": "team=vm-" + uid, "groups": ["sel-" + uid]},
    ]
    res = ok(enforce(admin_identity, owner, bindings))
    vw, us, pu = (owner + "-spectro-vm-viewer", owner + "-spectro-vm-user", owner + "-spectro-vm-power-user")
    assert set(cluster.bindings(owner)) == {(RB, web_a, vw), (RB, web_b, vw), (RB, web_b, us), (RB, sel_a, pu)}
    assert res["summary"]["created"] == 4
    wait_until_can_get_vms(cluster, "rx-" + uid, not_web, allowed=False)
    wait_until_can_get_vms(cluster, "x", sel_other, groups=["sel-" + uid], allowed=False)
    wait_until_can_get_vms(cluster, "x", sel_a, groups=["sel-" + uid])
    before = snapshot(cluster, owner)

    # Later namespaces: one matching the regex, one matching the selector, one matching neither.
    web_c = namespaces("web-%s-c" % uid)
    sel_c = namespaces("sel-c", labels={"team": "vm-" + uid, "extra": "yes"})
    namespaces("late-%s" % uid, labels={"team": "nope-" + uid})
    audit = cluster.audit()
    res = ok(enforce(admin_identity, owner, bindings))
    assert res["changed"] is True
    assert keys(res["actions"]) == sorted([("create", RB, sel_c, pu), ("create", RB, web_c, vw)],
                                          key=lambda k: (k[2], k[3]))
    assert res["summary"] == {"created": 2, "updated": 0, "replaced": 0, "deleted": 0, "unchanged": 4}
    assert sorted((w[0], w[2], w[3]) for w in writes_of(audit, admin_identity.user)) == sorted(
        [("create", sel_c, pu), ("create", web_c, vw)])
    after = snapshot(cluster, owner)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing else changed
    assert set(after) - set(before) == {(RB, web_c, vw), (RB, sel_c, pu)}
    wait_until_can_get_vms(cluster, "rx-" + uid, web_c)

    # An explicitly named namespace that does not exist: an error before any write.
    audit = cluster.audit()
    res = enforce(admin_identity, owner, bindings + [
        {"persona": "viewer", "groups": ["named-" + uid], "namespaces": [web_a, "missing-" + uid]}])
    msg = failed(res)
    assert res["field"] == "bindings[3].namespaces[1]"
    assert msg.startswith("bindings[3].namespaces[1]: namespace 'missing-%s' does not exist" % uid), msg
    assert writes_of(audit, admin_identity.user) == []
    assert snapshot(cluster, owner) == after


# ------------------------------------------------------------------------------ purge


def test_purge_removes_only_this_owners_leftovers(cluster, namespaces, owner, uid, admin_identity, cleanup):
    ns = namespaces("purge")
    other = owner + "-b"
    cleanup["owners"].append(other)
    full = [
        {"persona": "viewer", "groups": ["v-" + uid]},
        {"persona": "user", "groups": ["u-" + uid], "namespaces": [ns]},
        {"persona": "power-user", "groups": ["p-" + uid], "namespaces": [ns]},
    ]
    results = run_tasks([
        ("mine", dict(admin_identity.params, owner=owner, bindings=full)),
        ("theirs", dict(admin_identity.params, owner=other, bindings=full)),
    ])
    ok(results["mine"]), ok(results["theirs"])
    rbac = cluster.rbac()
    hand_rb, hand_crb = "hand-made-" + uid, "hand-made-" + uid
    rbac.create_namespaced_role_binding(ns, binding_manifest(RB, hand_rb, "spectro-vm-user", "h-" + uid, ns))
    rbac.create_cluster_role_binding(binding_manifest(CRB, hand_crb, "spectro-vm-viewer", "h-" + uid))
    cleanup["crbs"].append(hand_crb)
    everything = local_snapshot(cluster, uid, [ns])
    mine_before = snapshot(cluster, owner)
    assert len(mine_before) == 3

    # Without purge, grants dropped from the declaration stay.
    audit = cluster.audit()
    res = ok(enforce(admin_identity, owner, full[:1]))
    assert res["changed"] is False and writes_of(audit, admin_identity.user) == []

    audit = cluster.audit()
    res = ok(enforce(admin_identity, owner, full[:1], purge=True))
    assert res["changed"] is True
    assert res["summary"] == {"created": 0, "updated": 0, "replaced": 0, "deleted": 2, "unchanged": 1}
    gone = {(RB, ns, owner + "-spectro-vm-user"), (RB, ns, owner + "-spectro-vm-power-user")}
    assert {(a["kind"], a["namespace"], a["name"]) for a in res["actions"]} == gone
    assert all(a["action"] == "delete" and "purge" in a["reason"] for a in res["actions"])
    assert sorted((w[0], w[2], w[3]) for w in writes_of(audit, admin_identity.user)) == sorted(
        ("delete", k[1], k[2]) for k in gone)
    after = local_snapshot(cluster, uid, [ns])
    expected = {k: v for k, v in everything.items() if k not in gone}
    assert after == expected  # the other owner's and the hand-made bindings are untouched
    assert len(snapshot(cluster, other)) == 3
    assert (RB, ns, hand_rb) in after and (CRB, "", hand_crb) in after


# ----------------------------------------------------------------- check and diff mode


def test_check_mode_writes_nothing_and_predicts_the_real_run(cluster, namespaces, owner, uid, admin_identity,
                                                             cleanup):
    ns = namespaces("check")
    start = [
        {"persona": "viewer", "groups": ["v-" + uid]},
        {"persona": "user", "users": ["a-" + uid], "namespaces": [ns]},
        {"name": "named-" + uid, "persona": "viewer", "users": ["n-" + uid], "namespaces": [ns]},
    ]
    ok(enforce(admin_identity, owner, start))
    # Drift made by hand: a subject added to an owned binding (and a label and an annotation of
    # someone else's, which the module keeps: it owns the subjects and its own labels only).
    user_rb = owner + "-spectro-vm-user"
    cluster.rbac().patch_namespaced_role_binding(user_rb, ns, {
        "metadata": {"labels": {"team": "blue"}, "annotations": {"note": "by hand"}},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": "a-" + uid},
                     {"apiGroup": RBAC_GROUP, "kind": "User", "name": "intruder-" + uid}]})
    before = snapshot(cluster, owner)
    changed = [
        # viewer cluster-wide dropped (purge -> delete)
        {"persona": "user", "users": ["a-" + uid, "b-" + uid], "namespaces": [ns]},            # update
        {"persona": "power-user", "groups": ["p-" + uid], "namespaces": [ns]},                  # create
        {"name": "named-" + uid, "persona": "user", "users": ["n-" + uid], "namespaces": [ns]},  # role change
    ]

    audit = cluster.audit()
    predicted = ok(enforce(admin_identity, owner, changed, check=True, diff=True, purge=True))
    assert predicted["changed"] is True
    assert writes_of(audit, admin_identity.user) == []
    assert snapshot(cluster, owner) == before

    by_key = {(a["action"], a["name"]): a for a in predicted["actions"]}
    assert set(by_key) == {
        ("update", owner + "-spectro-vm-user"), ("create", owner + "-spectro-vm-power-user"),
        ("delete", owner + "-spectro-vm-viewer"), ("create", "named-%s-transition" % uid),
        ("delete", "named-" + uid), ("create", "named-" + uid), ("delete", "named-%s-transition" % uid)}
    assert by_key[("update", user_rb)]["reason"] == "subjects: add User b-%s; remove User intruder-%s" % (uid, uid)
    # Diff mode: before/after of each binding.
    diffs = predicted["diff"]
    assert len(diffs) == len(predicted["actions"])
    upd = [d for d in diffs if owner + "-spectro-vm-user" in d["before_header"]
           and d["after_header"].split("(")[1].startswith("update")]
    assert len(upd) == 1
    assert "a-" + uid in upd[0]["before"] and "intruder-" + uid in upd[0]["before"]
    assert "b-" + uid not in upd[0]["before"]
    assert "a-" + uid in upd[0]["after"] and "b-" + uid in upd[0]["after"]
    assert "intruder-" + uid not in upd[0]["after"]
    create = [d for d in diffs if owner + "-spectro-vm-power-user" in d["after_header"]][0]
    assert create["before"] == "" and "spectro-vm-power-user" in create["after"] and "p-" + uid in create["after"]
    delete = [d for d in diffs if d["before_header"].startswith("ClusterRoleBinding " + owner)][0]
    assert "v-" + uid in delete["before"] and delete["after"] == ""

    audit = cluster.audit()
    # concurrency 1: the writes in the plan's order, one after the other, so that the audit log's order
    # is the plan's (with more, writes of one wave are concurrent: test_planning.py's wave property)
    real = ok(enforce(admin_identity, owner, changed, purge=True, concurrency=1))
    assert real["actions"] == predicted["actions"]
    assert real["summary"] == predicted["summary"] == {
        "created": 2, "updated": 1, "replaced": 1, "deleted": 1, "unchanged": 0}
    writes = writes_of(audit, admin_identity.user)
    verb = {"create": "create", "update": "update", "delete": "delete"}
    assert [(w[0], w[3]) for w in writes] == [(verb[a["action"]], a["name"]) for a in predicted["actions"]]
    user_obj = read_binding(cluster, RB, ns, user_rb)
    assert subjects_of(user_obj) == [("User", "a-" + uid, ""), ("User", "b-" + uid, "")]
    assert user_obj["metadata"]["labels"]["team"] == "blue"
    assert user_obj["metadata"]["annotations"]["note"] == "by hand"
    cluster.wait_until_can("intruder-" + uid, "get", "virtualmachines", "kubevirt.io", namespace=ns, allowed=False)

    audit = cluster.audit()
    again = ok(enforce(admin_identity, owner, changed, check=True, diff=True, purge=True))
    assert again["changed"] is False and again["actions"] == [] and again["diff"] == []
    assert writes_of(audit, admin_identity.user) == []


# ------------------------------------------------------------------------ state: absent


def test_state_absent_removes_only_owned_declared_grants(cluster, namespaces, owner, uid, admin_identity, cleanup):
    ns1, ns2 = namespaces("absent-a", "absent-b")
    ok(enforce(admin_identity, owner, [
        {"persona": "viewer", "groups": ["v-" + uid]},
        {"persona": "user", "groups": ["u-" + uid], "namespaces": [ns1]},
        {"persona": "power-user", "groups": ["p-" + uid], "namespaces": [ns1]},
    ]))
    foreign_name = owner + "-spectro-vm-user"  # what the module would call the user grant in ns2
    cluster.rbac().create_namespaced_role_binding(ns2, binding_manifest(RB, foreign_name, "spectro-vm-user",
                                                                       "h-" + uid, ns2))
    everything = local_snapshot(cluster, uid, [ns1, ns2])

    audit = cluster.audit()
    res = ok(enforce(admin_identity, owner, [
        {"persona": "viewer", "groups": ["v-" + uid]},
        {"persona": "user", "groups": ["u-" + uid], "namespaces": [ns1, ns2]},
    ], state="absent"))
    gone = {(CRB, "", owner + "-spectro-vm-viewer"), (RB, ns1, owner + "-spectro-vm-user")}
    assert res["changed"] is True
    assert res["summary"]["deleted"] == 2 and res["bindings"] == []
    assert {(a["kind"], a.get("namespace", ""), a["name"]) for a in res["actions"]} == gone
    assert any("RoleBinding %s/%s exists but is not owned by %r; left alone" % (ns2, foreign_name, owner) in w
               for w in res.get("warnings", [])), res.get("warnings")
    assert sorted((w[0], w[2], w[3]) for w in writes_of(audit, admin_identity.user)) == sorted(
        ("delete", k[1], k[2]) for k in gone)
    assert local_snapshot(cluster, uid, [ns1, ns2]) == {k: v for k, v in everything.items() if k not in gone}
    assert set(cluster.bindings(owner)) == {(RB, ns1, owner + "-spectro-vm-power-user")}

    res = ok(enforce(admin_identity, owner, [{"persona": "viewer", "groups": ["v-" + uid]}], state="absent"))
    assert res["changed"] is False and res["actions"] == []


# ------------------------------------------------------------------------------ guards


def test_guards_refuse_privileged_grants_before_any_write(cluster, namespaces, owner, uid, admin_identity, cleanup):
    ns = namespaces("guards")
    fine = {"persona": "viewer", "groups": ["fine-" + uid], "namespaces": [ns]}
    base = dict(admin_identity.params, owner=owner)
    other_admin = cluster.identity("it-admin-roles-" + uid)  # its requests stand apart in the audit log
    audit = cluster.audit()
    results = run_tasks([
        ("missing role", dict(other_admin.params, owner=owner, bindings=[
            fine, {"cluster_role": "no-such-role-" + uid, "users": ["x-" + uid], "namespaces": [ns]}])),
        ("cluster-admin", dict(base, bindings=[fine, {"cluster_role": "cluster-admin", "users": ["root-" + uid]}])),
        ("admin persona, kubernetes role set", dict(base, role_set="kubernetes", bindings=[
            {"persona": "viewer", "groups": ["fine-" + uid], "namespaces": [ns]},
            {"persona": "admin", "groups": ["ops-" + uid]}])),
        ("system:authenticated", dict(base, bindings=[
            fine, {"persona": "viewer", "groups": ["ok-" + uid, "system:authenticated"], "namespaces": [ns]}])),
    ])
    msg = failed(results["cluster-admin"])
    assert results["cluster-admin"]["field"] == "bindings[1]"
    assert "cluster-admin cluster-wide is refused unless allow_privileged is true" in msg, msg
    msg = failed(results["admin persona, kubernetes role set"])
    assert "role_set kubernetes maps persona admin to it" in msg and "allow_privileged" in msg, msg
    msg = failed(results["system:authenticated"])
    assert results["system:authenticated"]["field"] == "bindings[1].groups[1]"
    assert "system:authenticated" in msg and "every authenticated user" in msg, msg
    assert all(r["changed"] is False for r in results.values())
    # Refused before connecting: the identity made no request at all, let alone a write.
    assert audit.events(user=admin_identity.user) == []
    # A referenced role that does not exist (Kubernetes would accept the binding, granting nothing):
    # refused after reading, before any write.
    msg = failed(results["missing role"])
    assert msg.startswith("missing role: ClusterRole no-such-role-%s (used by bindings[1])" % uid), msg
    assert "Nothing was changed" in msg
    assert audit.events(user=other_admin.user) and audit.writes(user=other_admin.user) == []
    assert cluster.bindings(owner) == {}

    # With allow_privileged the same cluster-admin grant goes through (the guard is the only obstacle).
    res = ok(enforce(admin_identity, owner, [{"cluster_role": "cluster-admin", "users": ["root-" + uid]}],
                     allow_privileged=True))
    assert res["summary"]["created"] == 1
    cluster.wait_until_can("root-" + uid, "delete", "nodes", "")


# ----------------------------------------------------------- least-privilege identity


def _bind_automation_role(cluster, cleanup, uid, subject):
    cluster.apply_manifest(AUTOMATION_ROLE)
    name = "it-automation-" + uid
    body = {"metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": AUTOMATION_ROLE_NAME},
            "subjects": [subject]}
    cluster.rbac().create_cluster_role_binding(body)
    cleanup["crbs"].append(name)


def test_least_privilege_automation_role_suffices_and_bind_is_enforced(cluster, namespaces, owner, uid, cleanup):
    """files/automation-clusterrole.yaml bound to a client-certificate identity (not
    system:masters) runs vmo and kubernetes role sets and check mode; the API server refuses it
    grants of roles it may not bind, and the module says who, what and why, without a credential."""
    ns1, ns2 = namespaces("lp-a", "lp-b")
    bot = cluster.identity("vmo-automation-" + uid, groups=["automation-" + uid])
    assert "system:masters" not in bot.groups
    _bind_automation_role(cluster, cleanup, uid, {"apiGroup": RBAC_GROUP, "kind": "Group",
                                                  "name": "automation-" + uid})
    secret_role = "it-secrets-" + uid  # a custom role with rights the identity does not hold
    cluster.rbac().create_cluster_role({"metadata": {"name": secret_role}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]})
    cleanup["roles"].append(secret_role)

    vmo_grants = [
        {"persona": "admin", "groups": ["admins-" + uid]},
        {"persona": "power-user", "groups": ["pu-" + uid], "namespaces": [ns1]},
        {"persona": "user", "groups": ["users-" + uid], "namespaces": [ns1, ns2]},
        {"persona": "viewer", "groups": ["viewers-" + uid], "namespace_regex": "/^lp-[ab]-%s$/" % uid},
    ]
    kube_grants = vmo_grants[1:]  # the kubernetes admin persona is cluster-admin: not for this identity
    audit = cluster.audit()
    res = ok(enforce(bot, owner, vmo_grants, legacy_dashboard_bindings=True))
    assert res["summary"]["created"] == 8  # admin CRB, power-user 1, user 2, viewer 2 (regex), 2 legacy CRBs
    assert set(cluster.bindings(owner)) >= {(CRB, "", owner + "-spectro-list-namespaces"),
                                            (CRB, "", owner + "-spectro-list-vmtemplates")}
    first_writes = writes_of(audit, bot.user)

    audit = cluster.audit()
    predicted = ok(enforce(bot, owner, kube_grants, check=True, role_set="kubernetes", purge=True))
    assert writes_of(audit, bot.user) == []
    assert predicted["changed"] is True

    audit = cluster.audit()
    switched = ok(enforce(bot, owner, kube_grants, role_set="kubernetes", purge=True))
    assert switched["actions"] == predicted["actions"]
    assert switched["summary"] == {"created": 5, "updated": 0, "replaced": 5, "deleted": 3, "unchanged": 0}
    assert all(w[4] in (200, 201) for w in writes_of(audit, bot.user))
    assert {k: v["roleRef"]["name"] for k, v in cluster.bindings(owner).items()} == {
        (RB, ns1, owner + "-admin"): "admin", (RB, ns1, owner + "-edit"): "edit", (RB, ns2, owner + "-edit"): "edit",
        (RB, ns1, owner + "-view"): "view", (RB, ns2, owner + "-view"): "view"}
    cluster.wait_until_can("x", "delete", "virtualmachines", "kubevirt.io", ns2, groups=["users-" + uid])

    # Roles this identity may not bind: the API server says no, the module explains.
    key_pem = Path(bot.params["client_key"]).read_text()
    audit = cluster.audit()
    results = run_tasks([
        ("cluster-admin", dict(bot.params, owner=owner, allow_privileged=True, role_set="kubernetes",
                               bindings=kube_grants + [{"cluster_role": "cluster-admin", "users": ["root-" + uid]}])),
        ("custom role", dict(bot.params, owner=owner, role_set="kubernetes",
                             bindings=kube_grants + [{"cluster_role": secret_role, "users": ["spy-" + uid],
                                                      "namespaces": [ns2]}])),
    ])
    for task, kind, resource, name, where in (
            ("cluster-admin", CRB, "clusterrolebindings", owner + "-cluster-admin", ""),
            ("custom role", RB, "rolebindings", "%s-%s" % (owner, secret_role), " in namespace %r" % ns2)):
        res = results[task]
        msg = failed(res)
        assert res["status"] == 403
        assert ("forbidden: user 'vmo-automation-%s' (groups: automation-%s) may not create %s %r%s"
                % (uid, uid, resource, name, where)) in msg, msg
        assert BIND_HINT_START in msg, msg
        assert "0 of 1 planned writes were made" in msg, msg
        for secret in (key_pem, key_pem.strip().splitlines()[1], "PRIVATE KEY"):
            assert secret not in res["_stdout"] + res["_stderr"]
        assert "********" not in msg
        assert read_binding(cluster, kind, ns2 if kind == RB else "", name) is None
    refused = writes_of(audit, bot.user)
    assert sorted((w[1], w[4]) for w in refused) == [("clusterrolebindings", 403), ("rolebindings", 403)], refused
    print("\nleast privilege: first run %d writes; kubernetes switch %d writes"
          % (len(first_writes), len(switched["actions"])))


# ------------------------------------------------------------- ServiceAccount tokens


def test_service_account_token_identity_and_invalid_token(cluster, namespaces, owner, uid, cleanup):
    ns = namespaces("sa-bot")
    sa = cluster.service_account(ns, "vmo-rbac")
    _bind_automation_role(cluster, cleanup, uid, {"kind": "ServiceAccount", "name": "vmo-rbac", "namespace": ns})
    assert set(sa.params) == {"host", "ca_cert", "api_key"}

    audit = cluster.audit()
    res = ok(enforce(sa, owner, [{"persona": "viewer", "users": ["sa-granted-" + uid], "namespaces": [ns]}]))
    assert res["changed"] is True
    assert [(w[0], w[3], w[4]) for w in writes_of(audit, sa.user)] == [
        ("create", owner + "-spectro-vm-viewer", 201)]
    wait_until_can_get_vms(cluster, "sa-granted-" + uid, ns)

    bogus = "vmo-not-a-token-%s-%08x" % (uid, random.getrandbits(32))
    res = enforce(WithParams(sa, api_key=bogus), owner, [{"persona": "viewer", "users": ["x"],
                                                             "namespaces": [ns]}])
    msg = failed(res)
    assert res["status"] == 401
    assert "401 Unauthorized" in msg and "bearer token" in msg and cluster.server in msg, msg
    assert bogus not in res["_stdout"] + res["_stderr"]
    assert "********" not in msg  # Ansible would have masked it: the module never put it there
    assert sa.params["api_key"] not in res["_stdout"] + res["_stderr"]


class WithParams:
    """An identity with some connection params replaced (what enforce() uses of an Identity)."""

    def __init__(self, ident, **overrides):
        self.user = ident.user
        self.params = dict(ident.params, **overrides)
