"""validate's settle (access.settle): answers that disagree with the declaration are asked again after pauses,
because the API server's RBAC authorizer learns of a binding a moment after it is written. Attack pass (session
4): a namespace tenant who toggles a RoleBinding that gives a subject more than its persona while validate asks.
The first answer allowed (a violation), the next one denied, and settle stopped there and reported a pass: each
ask was one more chance for the toggle to hide. Here the pauses of a real run toggle the binding on the real API
server (waiting each time until the authorizer answers accordingly), so the answers are exactly allowed, denied,
allowed: the violation must be reported, with a warning that says the answer changed back."""

import types

from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration, expiry, options, specs
from ansible_collections.vmo.rbac.plugins.module_utils._flows import validate
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from tests.helpers.ansible import run_module

ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
RBAC = "rbac.authorization.k8s.io"


def _params(identity, **given):
    params = dict((k, v.get("default")) for k, v in specs.module_arg_spec("vmo_rbac_validate").items())
    params.update(identity.params)
    params.update(given)
    return params


def _validate(identity, owner, bindings, sleep):
    """validate.run as the module runs it, in this process, with ``sleep`` for its pauses."""
    params = _params(identity, owner=owner, bindings=bindings, fail_on_drift=False)
    decl = declaration.from_module_args(params)
    opts = options.parse(params, decl, expiry.run_time()[0])
    client = Cluster(dict(identity.params), component="settle-test")
    real = validate.time
    fake = types.SimpleNamespace(monotonic=real.monotonic, time=real.time, sleep=sleep)
    validate.time = fake
    try:
        return validate.run(decl, opts, client)
    finally:
        validate.time = real


def test_a_violation_toggled_during_the_settle_is_reported(cluster, namespaces, owner, uid, admin_identity):
    ns = namespaces("settle-flap")
    viewer = "flap-%s@example.com" % uid
    bindings = [{"persona": "viewer", "users": [viewer], "namespaces": [ns]}]
    assert run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings))["changed"] is True
    cluster.wait_until_can(viewer, "get", "virtualmachines", "kubevirt.io", namespace=ns)
    tenant = {"metadata": {"name": "toggle-" + uid, "namespace": ns},
              "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "spectro-vm-admin"},
              "subjects": [{"kind": "User", "name": viewer, "apiGroup": RBAC}]}

    def present(yes):
        if yes:
            cluster.rbac().create_namespaced_role_binding(ns, tenant)
        else:
            cluster.rbac().delete_namespaced_role_binding(tenant["metadata"]["name"], ns)
        cluster.wait_until_can(viewer, "delete", "virtualmachines", "kubevirt.io", namespace=ns, allowed=yes)

    present(True)
    # without the tenant's binding toggled, the run fails (the viewer may delete VMs) and nothing changes
    quiet = _validate(admin_identity, owner, bindings, lambda s: None)
    assert quiet["passed"] is False
    assert not any("changed when asked again" in w for w in quiet["warnings"])

    toggles = iter([False, True])  # the tenant's binding: gone at the first pause, back at the second
    pauses = []

    def sleep(pause):
        pauses.append(pause)
        state = next(toggles, None)
        if state is not None:
            present(state)

    res = _validate(admin_identity, owner, bindings, sleep)
    mine = [r for r in res["access"] if r["subject"] == "User " + viewer and r["namespace"] == ns]
    leaks = [r for r in mine if r["expected"] is False]
    assert leaks and all(r["allowed"] is True and r["ok"] is False for r in leaks), leaks
    assert res["passed"] is False
    assert any("changed back" in w and "reported as the answer that disagrees" in w for w in res["warnings"]), \
        res["warnings"]
    assert len(pauses) == 2  # asked again twice: denied, then allowed again (changed back: not asked further)
    assert all(r["ok"] is True for r in mine if r["expected"] is True)


def test_a_revoke_the_authorizer_has_not_seen_yet_settles_to_a_pass(cluster, namespaces, owner, uid,
                                                                    admin_identity):
    """The settle's purpose, on the real API server: a binding removed during the first pause (as the authorizer
    learns a moment after enforce revoked it) makes the answers change once and hold; the run passes and says
    that the answers changed and held."""
    ns = namespaces("settle-held")
    viewer = "held-%s@example.com" % uid
    bindings = [{"persona": "viewer", "users": [viewer], "namespaces": [ns]}]
    assert run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings))["changed"] is True
    extra = {"metadata": {"name": "revoked-" + uid, "namespace": ns},
             "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "spectro-vm-admin"},
             "subjects": [{"kind": "User", "name": viewer, "apiGroup": RBAC}]}
    cluster.rbac().create_namespaced_role_binding(ns, extra)
    cluster.wait_until_can(viewer, "delete", "virtualmachines", "kubevirt.io", namespace=ns)
    pauses = []

    def sleep(pause):
        if not pauses:
            cluster.rbac().delete_namespaced_role_binding(extra["metadata"]["name"], ns)
            cluster.wait_until_can(viewer, "delete", "virtualmachines", "kubevirt.io", namespace=ns, allowed=False)
        pauses.append(pause)

    res = _validate(admin_identity, owner, bindings, sleep)
    assert pauses == list(access.SETTLE_PAUSES[:2])  # changed at the first, held at the second
    assert res["passed"] is True, [r for r in res["access"] if not r["ok"]]
    assert any("changed and held" in w and "changed back" not in w for w in res["warnings"]), res["warnings"]


def test_many_real_violations_are_asked_again_in_samples_and_once_in_full(cluster, namespaces, owner, uid):
    """Attack pass (session 4): every disagreeing answer was asked again after each of the five pauses. At 1,014
    violations (13 viewers bound to spectro-vm-admin besides) the run sent 7,410 reviews (2,340 questions and
    5 x 1,014) and took 13 s at a load of 5; at 5,460 violations 39,900 reviews and 55-67 s. While no answer
    changes, the rounds before the last ask a sample (access.SETTLE_SAMPLE); the last asks every one: 4,154
    reviews and 7-8 s at 1,014, 18,860 and 30 s at 5,460 (counted in the audit log)."""
    ns = namespaces("settle-many")
    ident = cluster.identity("settle-many-" + uid)
    users = ["many-%03d-%s" % (i, uid) for i in range(13)]
    bindings = [{"persona": "viewer", "users": users, "namespaces": [ns]}]
    assert run_module(ENFORCE, dict(ident.params, owner=owner, bindings=bindings))["changed"] is True
    cluster.rbac().create_namespaced_role_binding(ns, {
        "metadata": {"name": "extra-" + uid, "namespace": ns},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "spectro-vm-admin"},
        "subjects": [{"kind": "User", "name": u, "apiGroup": RBAC} for u in users]})
    for u in users:
        cluster.wait_until_can(u, "delete", "virtualmachines", "kubevirt.io", namespace=ns)
    window = cluster.audit()
    res = run_module(VALIDATE, dict(ident.params, owner=owner, bindings=bindings, fail_on_drift=False))
    violations = [r for r in res["access"] if r["ok"] is False]
    assert len(violations) > 1000 and res["passed"] is False
    assert all(r["expected"] is False and r["allowed"] is True for r in violations)
    questions = len(res["access"])  # one review per row here (no named objects, nothing unchecked)
    sars = [e for e in window.events(user=ident.user) if e["objectRef"].get("resource") == "subjectaccessreviews"]
    rounds = len(access.SETTLE_PAUSES) - 1
    assert len(sars) == questions + rounds * access.SETTLE_SAMPLE + len(violations), (len(sars), questions)
