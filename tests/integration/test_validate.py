"""vmo_rbac_validate against the real control plane: a correct layout passes, every kind of
drift is detected and described, privilege creep and scope leaks are caught by negative
checks, OIDC names are checked as bound, and missing VMO roles fail with a clear message."""

import threading
import time

import pytest
from kubernetes.client.rest import ApiException

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from tests.helpers.ansible import run_module
from tests.helpers.kube import REFERENCE_ROLES

ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"


def layout(uid, ns_a, ns_b):
    return [
        {"persona": "admin", "groups": ["admins-" + uid]},
        {"persona": "power-user", "users": ["pu-%s@example.com" % uid], "namespaces": [ns_a]},
        {"persona": "user", "service_accounts": ["%s/robot" % ns_a], "namespaces": [ns_a, ns_b]},
        {"persona": "viewer", "groups": ["auditors-" + uid], "namespace_regex": "/^(va|vb)-%s$/" % uid},
    ]


def rb(name, ns, role, subjects, labels=None):
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects}


def user(name):
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name):
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def violations(result):
    return [r for r in result["access"] if r["ok"] is False]


@pytest.fixture
def enforced(cluster, namespaces, owner, uid, admin_identity):
    ns_a, ns_b = namespaces("va", "vb")
    bindings = layout(uid, ns_a, ns_b)
    res = run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings))
    assert res["changed"] and not res.get("failed"), res.get("msg")
    yield {"ns_a": ns_a, "ns_b": ns_b, "bindings": bindings, "owner": owner}
    run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings, state="absent"))


def test_correct_layout_passes_and_never_writes(cluster, enforced, admin_identity):
    audit = cluster.audit()
    args = dict(admin_identity.params, owner=enforced["owner"], bindings=enforced["bindings"])
    res = run_module(VALIDATE, args)
    assert res["passed"] is True, res["msg"]
    assert not res.get("failed") and res["changed"] is False
    s = res["summary"]
    assert s["failed"] == 0 and s["drift"] == 0 and s["subjects"] == 4
    # 4 subjects x every check of every capability x their places (the admin group: every namespace and
    # the cluster; the power-user: its namespace and one outside; the ServiceAccount and the viewers: two
    # and one outside; each also at cluster scope), then roles and bindings
    per_ns = sum(len(c["checks"]) for c in personas.CAPABILITIES.values() if c["scope"] == "namespaced")
    per_cluster = sum(len(c["checks"]) for c in personas.CAPABILITIES.values() if c["scope"] == "cluster")
    assert s["checks"] > (1 + 2 + 3 + 3) * per_ns + 4 * per_cluster
    assert {r["name"]: r["reference"] for r in res["roles"]} == {
        "spectro-vm-admin": "match", "spectro-vm-power-user": "match",
        "spectro-vm-user": "match", "spectro-vm-viewer": "match"}
    # Every capability of the matrix was checked for every subject, allowed and denied alike.
    caps = set(res["capabilities"])
    assert caps == set(personas.CAPABILITY_ORDER)
    viewer_ns_a = [m for m in res["matrix"] if m["subject"].endswith("auditors-" + enforced["owner"][2:])
                   and m["scope"] == enforced["ns_a"]]
    assert viewer_ns_a and viewer_ns_a[0]["allowed"]["vm.view"] is True
    assert viewer_ns_a[0]["allowed"]["vm.delete"] is False
    # Scope leakage probes: the namespaced subjects were also asked outside their scope.
    assert any(r["scope"] == "outside" and r["expected"] is False for r in res["access"])
    # Check mode is the same read-only run.
    res_check = run_module(VALIDATE, args, check=True)
    assert res_check["passed"] is True
    assert audit.writes(user=admin_identity.user) == []


def test_every_kind_of_drift_is_detected_and_described(cluster, enforced, admin_identity, owner, uid):
    ns_a, ns_b = enforced["ns_a"], enforced["ns_b"]
    rbac = cluster.rbac()
    name = owner + "-spectro-vm-"
    labels = {"app.kubernetes.io/managed-by": "vmo.rbac", "vmo.rbac/owner": owner,
              "vmo.rbac/persona": "user", "vmo.rbac/scope": "namespace"}
    # missing: the power-user RoleBinding is gone
    rbac.delete_namespaced_role_binding(name + "power-user", ns_a)
    # extra subject: someone added a user to the viewer binding in ns_b
    vb = rbac.read_namespaced_role_binding(name + "viewer", ns_b)
    vb.subjects.append({"kind": "User", "name": "intruder-" + uid, "api_group": "rbac.authorization.k8s.io"})
    rbac.replace_namespaced_role_binding(name + "viewer", ns_b, vb)
    # wrong roleRef on an owned binding (roleRef is immutable, so it was recreated)
    rbac.delete_namespaced_role_binding(name + "user", ns_b)
    rbac.create_namespaced_role_binding(ns_b, rb(name + "user", ns_b, "spectro-vm-admin", [
        {"kind": "ServiceAccount", "name": "robot", "namespace": ns_a}], labels))
    # a foreign object in the way of a declared binding
    rbac.delete_namespaced_role_binding(name + "viewer", ns_a)
    rbac.create_namespaced_role_binding(ns_a, rb(name + "viewer", ns_a, "view", [group("someone-else")]))
    # an owned leftover that is no longer declared
    rbac.create_namespaced_role_binding(ns_a, rb(owner + "-leftover", ns_a, "spectro-vm-viewer",
                                                 [user("old-" + uid)], dict(labels, **{"vmo.rbac/persona": "custom"})))

    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=enforced["bindings"], purge=True))
    assert res.get("failed") is True and res["passed"] is False
    drift = {(d.get("namespace"), d["name"]): d for d in res["drift"]}
    missing = drift[(ns_a, name + "power-user")]
    assert (missing["action"], missing["problem"]) == ("create", "missing")
    extra = drift[(ns_b, name + "viewer")]
    assert extra["action"] == "update" and "remove User intruder-" + uid in extra["problem"]
    wrong = drift[(ns_b, name + "user")]
    assert wrong["action"] == "replace" and "spectro-vm-admin" in wrong["problem"]
    foreign = drift[(ns_a, name + "viewer")]
    assert foreign["action"] == "conflict" and "foreign object in the way" in foreign["problem"]
    leftover = drift[(ns_a, owner + "-leftover")]
    assert leftover["action"] == "delete" and "no longer declared" in leftover["problem"]
    assert all(d["fix"] for d in res["drift"])
    assert res["summary"]["drift"] == 5
    # The message is a readable summary, and the access checks saw the consequences too:
    assert "Drift:" in res["msg"] and "5 drift item(s)" in res["msg"]
    assert any(r["subject"] == "User pu-%s@example.com" % uid and r["capability"] == "vm.create"
               and r["allowed"] is False and r["expected"] is True for r in violations(res))
    # Without purge the leftover is not drift: drift is exactly what the enforcer would do.
    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=enforced["bindings"],
                                    fail_on_drift=False))
    assert res.get("failed") is not True
    assert (ns_a, owner + "-leftover") not in {(d.get("namespace"), d["name"]) for d in res["drift"]}
    rbac.delete_namespaced_role_binding(name + "viewer", ns_a)
    rbac.delete_namespaced_role_binding(owner + "-leftover", ns_a)


def test_viewer_given_more_on_the_side_is_caught(cluster, namespaces, owner, uid, admin_identity):
    ns = namespaces("side")
    who = "viewer-%s@example.com" % uid
    bindings = [{"persona": "viewer", "users": [who], "namespaces": [ns]}]
    assert not run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings)).get("failed")
    cluster.rbac().create_namespaced_role_binding(ns, rb("side-grant", ns, "spectro-vm-power-user", [user(who)]))
    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings))
    assert res["passed"] is False
    creep = {r["capability"] for r in violations(res) if r["namespace"] == ns}
    assert {"vm.delete", "vm.create", "vm.console", "vm.migrate"} <= creep
    row = next(r for r in violations(res) if r["capability"] == "vm.delete")
    assert row["allowed"] is True and row["expected"] is False
    assert "side-grant" in row["reason"], row["reason"]
    more = [c for c in personas.CAPABILITY_ORDER if personas.EXPECTED["vmo"]["power-user"][c]
            and not personas.EXPECTED["vmo"]["viewer"][c] and personas.CAPABILITIES[c]["scope"] == "namespaced"]
    assert "User %s may %s in namespace %s (expected denied: privilege creep)" % (
        who, ", ".join(more), ns) in res["msg"], res["msg"]
    # The binding itself is as declared: this is access drift, not binding drift.
    assert res["drift"] == []


def test_namespace_grant_leaking_into_another_namespace_is_caught(cluster, namespaces, owner, uid,
                                                                  admin_identity):
    scoped, other = namespaces("scoped", "other")
    grp = "team-" + uid
    bindings = [{"persona": "viewer", "groups": [grp], "namespaces": [scoped]}]
    assert not run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings)).get("failed")
    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings))
    assert res["passed"] is True, res["msg"]
    cluster.rbac().create_namespaced_role_binding(other, rb("leak", other, "spectro-vm-viewer", [group(grp)]))
    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings))
    assert res["passed"] is False
    leak = [r for r in violations(res) if r["namespace"] == other]
    assert leak and all(r["scope"] == "outside" and r["allowed"] for r in leak)
    assert {r["capability"] for r in leak} == {"vm.view", "vm.guest-info"}
    assert "outside its scope" in res["msg"]


def test_a_grant_limited_to_named_vms_fails_validation(cluster, namespaces, owner, uid, admin_identity):
    """Issue 19, item 5: a viewer given ``delete virtualmachines`` on resourceNames [vm-1] by hand.
    Asked "may it delete VMs?" the API server says no (RBAC skips rules with resourceNames for a
    question without a name), so this validated as passed unless audit_exclusive was on. Now every
    check that must be denied is asked again for each object a role names: "may it delete vm-1?"."""
    ns = namespaces("named")
    who = "named-%s@example.com" % uid
    bindings = [{"persona": "viewer", "users": [who], "namespaces": [ns]}]
    assert not run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings)).get("failed")
    role = "one-vm-" + uid
    cluster.rbac().create_cluster_role({"metadata": {"name": role}, "rules": [
        {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["delete"], "resourceNames": ["vm-1"]}]})
    try:
        res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings))
        assert res["passed"] is True, res["msg"]  # the role exists, bound to nobody: nothing is allowed
        named = [r for r in res["access"] if r.get("name") == "vm-1"]
        assert named and all(r["allowed"] is False and r["expected"] is False for r in named)
        cluster.rbac().create_namespaced_role_binding(ns, rb("by-hand", ns, role, [user(who)]))
        res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings))
        assert res["passed"] is False
        (row,) = violations(res)
        assert (row["capability"], row["verb"], row["name"], row["namespace"], row["allowed"]) == (
            "vm.delete", "delete", "vm-1", ns, True)
        assert "by-hand" in row["reason"]
        assert "User %s may vm.delete (only vm-1) in namespace %s (expected denied: privilege creep)" % (who, ns) \
            in res["msg"], res["msg"]
        # the same question without a name: denied, as before
        plain = [r for r in res["access"] if r["capability"] == "vm.delete" and r["namespace"] == ns
                 and not r.get("name")]
        assert plain and plain[0]["allowed"] is False
    finally:
        cluster.rbac().delete_cluster_role(role)


def test_a_service_account_bound_without_a_namespace_elsewhere_is_probed_there(cluster, namespaces, owner, uid,
                                                                              admin_identity):
    """Issue 19, item 3: a RoleBinding in the ServiceAccount's own namespace may name it without a
    namespace (it means the binding's namespace). Validate's outside-scope probes did not see such a
    binding, so a ServiceAccount restricted to ``home`` that could delete VMs in its own namespace
    ``robots`` passed. Now every form of the subject is matched as RBAC matches it; the same for a
    binding that names it as ``User system:serviceaccount:<ns>:<name>``."""
    home, robots, third = namespaces("home", "robots", "third")
    bindings = [{"persona": "viewer", "service_accounts": ["%s/robot" % robots], "namespaces": [home]}]
    assert not run_module(ENFORCE, dict(admin_identity.params, owner=owner, bindings=bindings)).get("failed")
    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings))
    assert res["passed"] is True, res["msg"]
    cluster.rbac().create_namespaced_role_binding(robots, rb("no-namespace", robots, "spectro-vm-admin",
                                                             [{"kind": "ServiceAccount", "name": "robot"}]))
    cluster.rbac().create_namespaced_role_binding(third, rb("as-user", third, "spectro-vm-power-user",
                                                            [user("system:serviceaccount:%s:robot" % robots)]))
    res = run_module(VALIDATE, dict(admin_identity.params, owner=owner, bindings=bindings))
    assert res["passed"] is False
    leaks = {(r["namespace"], r["capability"]) for r in violations(res) if r["scope"] == "outside"}
    assert {(robots, "vm.delete"), (third, "vm.delete"), (robots, "template.manage")} <= leaks, leaks
    assert not any(ns == third and cap == "template.manage" for ns, cap in leaks)  # power user: no templates


def test_oidc_subjects_are_checked_under_the_prefixed_name(cluster, namespaces, owner, uid, admin_identity):
    ns = namespaces("oidc")
    bindings = [{"persona": "user", "users": ["alice-" + uid], "groups": ["ops-" + uid], "namespaces": [ns]}]
    common = dict(admin_identity.params, owner=owner, bindings=bindings,
                  oidc_user_prefix="oidc:", oidc_group_prefix="oidc:")
    assert not run_module(ENFORCE, common).get("failed")
    res = run_module(VALIDATE, common)
    assert res["passed"] is True, res["msg"]
    users = {r["as_user"] for r in res["access"] if r["subject_kind"] == "User"}
    assert users == {"oidc:alice-" + uid}
    groups = {tuple(r["as_groups"]) for r in res["access"] if r["subject_kind"] == "Group"}
    assert groups == {("oidc:ops-" + uid, "system:authenticated")}
    # Without the prefix, the same declaration does not match what the cluster holds.
    res = run_module(VALIDATE, dict(common, oidc_user_prefix="", oidc_group_prefix=""))
    assert res["passed"] is False
    assert any(r["as_user"] == "alice-" + uid and r["expected"] and not r["allowed"] for r in res["access"])


@pytest.mark.xdist_group("bare")
def test_missing_vmo_roles_fail_with_a_message_that_says_so(bare_cluster, uid):
    ident = bare_cluster.identity("it-bare-" + uid)
    bindings = [{"persona": "viewer", "groups": ["g-" + uid]}]
    res = run_module(VALIDATE, dict(ident.params, bindings=bindings))
    assert res["passed"] is False and res.get("failed")
    assert "missing role" in res["msg"] and "spectro-vm-viewer" in res["msg"]
    assert "Virtual Machine Orchestrator pack" in res["msg"]
    assert [r["present"] for r in res["roles"]] == [False]
    # The enforcer refuses too, before any write.
    audit = bare_cluster.audit()
    res = run_module(ENFORCE, dict(ident.params, bindings=bindings))
    assert res.get("failed") and "missing role" in res["msg"] and "Nothing was changed" in res["msg"]
    assert audit.writes(user=ident.user) == []


@pytest.mark.xdist_group("bare")
def test_day0_waits_for_the_pack_to_install_the_roles(bare_cluster, uid):
    ident = bare_cluster.identity("it-day0-" + uid)
    bindings = [{"persona": "viewer", "groups": ["g-" + uid]}]

    def install_later():
        time.sleep(3)
        bare_cluster.apply_manifest(REFERENCE_ROLES)

    t = threading.Thread(target=install_later)
    t.start()
    try:
        started = time.monotonic()
        res = run_module(ENFORCE, dict(ident.params, bindings=bindings, wait_for_roles=60))
        t.join()
        assert not res.get("failed"), res.get("msg")
        assert res["changed"] and time.monotonic() - started >= 3
        res = run_module(VALIDATE, dict(ident.params, bindings=bindings))
        assert res["passed"] is True, res["msg"]
    finally:
        t.join()
        run_module(ENFORCE, dict(ident.params, bindings=bindings, state="absent"))
        rbac = bare_cluster.rbac()
        for name in ("spectro-vm-admin", "spectro-vm-power-user", "spectro-vm-user", "spectro-vm-viewer",
                     "spectro-list-namespaces", "spectro-list-vmtemplates"):
            try:
                rbac.delete_cluster_role(name)
            except ApiException as exc:
                assert exc.status == 404


def test_custom_roles_are_unchecked_until_given_expectations(cluster, namespaces, owner, uid, admin_identity):
    ns = namespaces("custom")
    bindings = [{"cluster_role": "view", "groups": ["c-" + uid], "namespaces": [ns]}]
    common = dict(admin_identity.params, owner=owner, bindings=bindings)
    assert not run_module(ENFORCE, common).get("failed")
    res = run_module(VALIDATE, common)
    assert res["passed"] is True and res["summary"]["unchecked"] > 0
    assert all(r["allowed"] is None for r in res["access"] if r["namespace"] == ns)
    caps = {"vm.view": {"expect": {"view": True}}, "vm.delete": {"expect": {"view": False}},
            "vm.console": {"expect": {"view": True}}}
    res = run_module(VALIDATE, dict(common, capabilities=caps, fail_on_drift=False))
    by_cap = {r["capability"]: r for r in res["access"] if r["namespace"] == ns and r["expected"] is not None}
    assert by_cap["vm.view"]["ok"] is True and by_cap["vm.delete"]["ok"] is True
    assert by_cap["vm.console"]["ok"] is False  # view does not open consoles: the expectation was wrong
    assert res["passed"] is False


def test_capability_override_and_bad_capabilities(cluster, enforced, admin_identity):
    args = dict(admin_identity.params, owner=enforced["owner"], bindings=enforced["bindings"])
    caps = {"template.manage": {"checks": [{"verb": "create", "group": "spectrocloud.com",
                                            "resource": "virtualmachinetemplates"}]}}
    res = run_module(VALIDATE, dict(args, capabilities=caps, fail_on_drift=False))
    tmpl = {r["resource"] for r in res["access"] if r["capability"] == "template.manage"}
    assert tmpl == {"virtualmachinetemplates"}
    # The reference admin role only knows vmtemplates: the override exposes it.
    assert any(r["capability"] == "template.manage" and r["ok"] is False for r in res["access"])
    res = run_module(VALIDATE, dict(args, capabilities={"vm.view": {"checks": [{"verb": "get"}]}}))
    assert res.get("failed") and res["msg"].startswith("capabilities.vm.view.checks[0].resource:")


def test_audit_privileged_lists_cluster_admins(cluster, enforced, admin_identity):
    res = run_module(VALIDATE, dict(admin_identity.params, owner=enforced["owner"], bindings=enforced["bindings"],
                                    audit_privileged=True))
    assert res["passed"] is True
    masters = [p for p in res["privileged"] if p["subject"] == "Group system:masters"]
    assert masters and masters[0]["why"] == "cluster-admin"


def test_pipelined_reviews_answer_exactly_as_one_at_a_time(cluster, enforced, admin_identity):
    """The SubjectAccessReviews of a validation go pipelined (module_utils/_k8s/pipeline.py). Asked of
    the real API server both ways, every answer is the same as when each review is its own request,
    and the audit log shows each review asked exactly once (nothing resent when nothing failed),
    over at most cluster.PIPELINES connections' worth of requests."""
    from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
    from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster as cluster_mod
    from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration as decls

    decl = decls.from_module_args({"owner": enforced["owner"], "bindings": enforced["bindings"]})
    known = [enforced["ns_a"], enforced["ns_b"], "default"]
    desired = plan_scopes.resolve(decl, dict((ns, {}) for ns in known), set())
    specs, _index, _keys = access.unique_reviews(access.build_checks(desired, access.build_matrix("vmo"), known))
    assert len(specs) > 100
    answers = {}
    for pipelining in (True, False):
        audit = cluster.audit()
        client = cluster_mod.Cluster(dict(admin_identity.params), component="pipeline-test", pool_size=16)
        client.pipelining = pipelining
        opened = []
        factory = client._pipeline_factory

        def counting_factory(factory=factory, opened=opened):
            make = factory()

            def connection():
                opened.append(1)
                return make()
            return connection

        client._pipeline_factory = counting_factory
        answers[pipelining] = client.subject_access_reviews(specs, concurrency=16)
        # pipelined: the reviews went over cluster.PIPELINES connections; otherwise none was opened for it
        assert len(opened) == (cluster_mod.PIPELINES if pipelining else 0), (pipelining, len(opened))
        asked = [e for e in audit.events(user=admin_identity.user)
                 if (e.get("objectRef") or {}).get("resource") == "subjectaccessreviews"]
        assert client.requests == len(specs) == len(asked), (pipelining, client.requests, len(specs), len(asked))
        assert all(e["responseStatus"]["code"] == 201 for e in asked)
    assert answers[True] == answers[False]
    allowed = [a["allowed"] for a in answers[True]]
    assert True in allowed and False in allowed  # the layout's grants and its negative checks
