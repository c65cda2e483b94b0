"""The capability model on the real control plane (issue 19, items 1 and 7).

- Every path to a VM is a capability: a declared viewer given one of them by hand (export, memory dump,
  pods/exec, patch of a VM, ...) fails validation, naming the capability.
- The reference spectro-vm-* roles, the console role and the golden-image role grant exactly what the
  matrix says, asked of the API server check by check.
- role_set kubernetes validates clean on KubeVirt's roles as KubeVirt's own code generates them, for
  every release of tests/helpers/kubevirt_roles.VERSIONS (before and after each change of
  personas.KUBEVIRT_CHANGES), with the release read from the KubeVirt custom resource, from KubeVirt's
  ClusterRoles, or given; and what cannot be decided is unchecked, never passed.
- golden_image_namespaces: a namespace-restricted power-user can deploy from a template (clone the golden
  images) and nothing else in the golden-image namespace.

The release tests replace KubeVirt's roles of a cluster, so they run on a private cluster of their own.
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from tests.helpers import kube, kubevirt_roles
from tests.helpers.ansible import ok, run_module
from tests.helpers.private_clusters import private_cluster

ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
RBAC = "rbac.authorization.k8s.io"


def rb(name, ns, role, user, kind="ClusterRole"):
    return {"metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
            "subjects": [{"kind": "User", "name": user, "apiGroup": RBAC}]}


def violations(res):
    return [r for r in res["access"] if r["ok"] is False]


# ------------------------------------------------------------ paths to a VM given by hand

BY_HAND = {
    # issue 19: each of these validated as passed for a declared viewer
    "export": ("vm.export", {"apiGroups": ["export.kubevirt.io"], "resources": ["virtualmachineexports"],
                             "verbs": ["create"]}),
    "memory-dump": ("vm.memory-dump", {"apiGroups": ["subresources.kubevirt.io"],
                                       "resources": ["virtualmachines/memorydump"], "verbs": ["update"]}),
    "pods-exec": ("vm.pod-exec", {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}),
    "patch-vm": ("vm.edit", {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["patch"]}),
    # and the rest of the paths the model names
    "exec-by-websocket": ("vm.pod-exec", {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}),
    "restore": ("vm.restore", {"apiGroups": ["snapshot.kubevirt.io"], "resources": ["virtualmachinerestores"],
                               "verbs": ["create"]}),
    "vmi-port-forward": ("vm.port-forward", {"apiGroups": ["subresources.kubevirt.io"],
                                             "resources": ["virtualmachineinstances/portforward"], "verbs": ["get"]}),
    "read-secrets": ("vm.secrets", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}),
    "deployments": ("vm.pod-create", {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create"]}),
    "debug-container": ("vm.pod-debug", {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"],
                                         "verbs": ["patch"]}),
    "clone-source": ("vm.disk-clone", {"apiGroups": ["cdi.kubevirt.io"], "resources": ["datavolumes/source"],
                                       "verbs": ["create"]}),
    "pool": ("vm.create", {"apiGroups": ["pool.kubevirt.io"], "resources": ["virtualmachinepools"],
                           "verbs": ["create"]}),
    "delete-all": ("vm.delete-all", {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"],
                                     "verbs": ["deletecollection"]}),
    "sa-token": ("vm.service-accounts", {"apiGroups": [""], "resources": ["serviceaccounts/token"],
                                         "verbs": ["create"]}),
}


@pytest.mark.parametrize("path", sorted(BY_HAND))
def test_a_viewer_given_a_path_to_a_vm_by_hand_fails_validation(cluster, namespaces, owner, uid, admin_identity,
                                                                 path):
    capability, rule = BY_HAND[path]
    ns = namespaces("byhand")
    who = "viewer-%s@example.com" % uid
    bindings = [{"persona": "viewer", "users": [who], "namespaces": [ns]}]
    common = dict(admin_identity.params, owner=owner, bindings=bindings)
    ok(run_module(ENFORCE, common))
    assert run_module(VALIDATE, common)["passed"] is True
    rbac = cluster.rbac()
    rbac.create_namespaced_role(ns, {"metadata": {"name": "by-hand", "namespace": ns}, "rules": [rule]})
    rbac.create_namespaced_role_binding(ns, rb("by-hand", ns, "by-hand", who, kind="Role"))
    res = run_module(VALIDATE, common)
    assert res["passed"] is False, res["msg"]
    caught = [r for r in violations(res) if r["namespace"] == ns]
    assert [(r["capability"], r["verb"], r["allowed"], r["expected"]) for r in caught] == \
        [(capability, rule["verbs"][0], True, False)], caught
    assert "by-hand" in caught[0]["reason"]
    assert "User %s may %s in namespace %s (expected denied: privilege creep)" % (who, capability, ns) in res["msg"]


# ---------------------------------------------------------- the shipped roles, check by check


@pytest.mark.parametrize("role, expected", [
    (personas.ROLE_SETS["vmo"][p], personas.EXPECTED["vmo"][p]) for p in personas.PERSONAS] + [
    (personas.CONSOLE_ROLE, personas.CONSOLE_EXPECTED), (personas.GOLDEN_IMAGE_ROLE, personas.GOLDEN_IMAGE_EXPECTED)],
    ids=list(personas.PERSONAS) + ["console", "golden-image"])
def test_the_shipped_roles_grant_exactly_the_matrix_on_the_api_server(cluster, namespaces, uid, role, expected):
    """Each role bound in a namespace and cluster-wide; every check of every capability asked of the API
    server (SubjectAccessReview) must be answered as the matrix expects, a namespaced one in the namespace,
    a cluster-scoped one at cluster scope (where only the cluster-wide binding counts)."""
    ns = namespaces("shipped")
    in_ns, everywhere = "ns-%s-%s" % (role, uid), "cw-%s-%s" % (role, uid)
    rbac = cluster.rbac()
    rbac.create_namespaced_role_binding(ns, rb("shipped", ns, role, in_ns))
    rbac.create_cluster_role_binding({"metadata": {"name": "shipped-" + everywhere},
                                      "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
                                      "subjects": [{"kind": "User", "name": everywhere, "apiGroup": RBAC}]})
    try:
        # the API server's RBAC authorizer sees new bindings through its informer, a moment after the create
        # returns (seen: the first checks of the cluster-wide binding denied under load): wait until both
        # bindings answer one question the role allows, then ask everything
        first = next(((c, personas.CAPABILITIES[c]["checks"][0]) for c, a in expected.items()
                      if a is True and personas.CAPABILITIES[c]["scope"] != "cluster"), None)
        if first is not None:
            verb, group, resource, sub = first[1]
            deadline = time.monotonic() + 30
            while not all(cluster.can(u, verb, resource, group, ns, sub) for u in (in_ns, everywhere)):
                assert time.monotonic() < deadline, "the bindings of %s never took effect" % role
                time.sleep(0.2)
        wrong = []
        for capability, allowed in expected.items():
            cap = personas.CAPABILITIES[capability]
            for verb, group, resource, sub in cap["checks"]:
                if cap["scope"] == "cluster":
                    asked = [(everywhere, ""), (in_ns, "")]
                    want = [allowed, False]
                else:
                    asked = [(in_ns, ns), (everywhere, ns)]
                    want = [allowed, allowed]
                for (user, where), w in zip(asked, want):
                    got = cluster.can(user, verb, resource, group, where, sub)
                    if got is not w:
                        wrong.append((capability, user, verb, group, resource, sub, where, got))
        assert wrong == []
    finally:
        rbac.delete_cluster_role_binding("shipped-" + everywhere)


# ------------------------------------------------------- role_set kubernetes per KubeVirt release


@pytest.fixture(scope="module")
def releases(request, workdir):
    """A private cluster whose KubeVirt roles the tests replace, release by release."""
    c = private_cluster(request, workdir, "kvrel")
    yield c
    c.install_kubevirt()  # leave it as private_cluster made it


def kubernetes_layout(uid, ns_a, ns_b):
    return [
        {"persona": "power-user", "groups": ["k-admins-" + uid]},                     # admin, cluster-wide
        {"persona": "power-user", "users": ["k-pu-%s" % uid], "namespaces": [ns_a]},  # admin in a namespace
        {"persona": "user", "service_accounts": ["%s/robot" % ns_a], "namespaces": [ns_a, ns_b]},  # edit
        {"persona": "user", "users": ["k-editor-%s" % uid]},                          # edit, cluster-wide
        {"persona": "viewer", "groups": ["k-viewers-" + uid], "namespaces": [ns_b]},  # view
        {"persona": "viewer", "users": ["k-auditor-%s" % uid]},                       # view, cluster-wide
    ]


@pytest.mark.xdist_group("kubevirt-releases")
@pytest.mark.parametrize("version", kubevirt_roles.VERSIONS)
def test_the_kubernetes_role_set_validates_clean_on_kubevirts_generated_roles(releases, version, uid):
    """Before issue 19 the kubernetes role set expected admin and edit to migrate: every cluster on
    KubeVirt v1.5.0 or later failed validation. Now it follows the release the cluster runs."""
    c = releases
    c.install_kubevirt(version)
    admin = c.identity("kv-admin-" + uid)
    ns_a, ns_b = c.namespace("kva-" + uid), c.namespace("kvb-" + uid)
    owner = "kv-" + uid
    common = dict(admin.params, owner=owner, role_set="kubernetes", bindings=kubernetes_layout(uid, ns_a, ns_b))
    try:
        ok(run_module(ENFORCE, common))
        audit = c.audit()
        res = run_module(VALIDATE, common)
        assert res["passed"] is True, res["msg"]
        assert res["summary"]["unchecked"] == 0 and res["summary"]["failed"] == 0
        assert res["kubevirt"]["release"] == version and "observedKubeVirtVersion" in res["kubevirt"]["source"]
        # one request for the release: the KubeVirt custom resources
        reads = [e["requestURI"] for e in audit.events(user=admin.user) if "kubevirt" in e["requestURI"]]
        assert [u.split("?")[0] for u in reads] == ["/apis/kubevirt.io/v1/kubevirts"]
        # what changed between releases was asked, and answered as the release says
        line = kubevirt_roles_line(version)
        cluster_wide = {"power-user": "Group k-admins-" + uid, "user": "User k-editor-" + uid}
        for capability, (_since, who, _after) in personas.KUBEVIRT_CHANGES.items():
            scope = "cluster" if personas.CAPABILITIES[capability]["scope"] == "cluster" else "all-namespaces"
            for persona in who:
                want = personas.kubevirt_expectation("kubernetes", persona, capability, line)
                got = {r["allowed"] for r in res["access"] if r["subject"] == cluster_wide[persona]
                       and r["scope"] == scope and r["capability"] == capability}
                assert got == {want}, (capability, persona, got)
        # the same answers with the release given instead of read: no request for it
        given = run_module(VALIDATE, dict(common, kubevirt_version=version))
        assert given["passed"] is True and given["kubevirt"]["source"] == "the kubevirt_version option"
        assert [r["allowed"] for r in given["access"]] == [r["allowed"] for r in res["access"]]
        # a release given wrongly is caught: the cluster does not grant what that release would
        wrong = "v1.9.0" if version < "v1.5.0" else "v1.4.0"
        assert run_module(VALIDATE, dict(common, kubevirt_version=wrong))["passed"] is False
    finally:
        run_module(ENFORCE, dict(common, state="absent"))
        c.delete_namespace(ns_a)
        c.delete_namespace(ns_b)


def kubevirt_roles_line(version):
    from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access

    return access.parse_kubevirt_version(version)


@pytest.mark.xdist_group("kubevirt-releases")
def test_without_the_kubevirt_resource_the_roles_tell_what_they_can(releases, uid):
    """No KubeVirt custom resource (or no right to list it): KubeVirt's ClusterRoles say v1.5.0 or later,
    which decides migrate, reset and usbredir; backups and the screenshot stay unchecked (never passed),
    and a warning names kubevirt_version."""
    c = releases
    c.install_kubevirt("v1.6.0")
    c.set_kubevirt_status(None)
    admin = c.identity("kv-admin-" + uid)
    ns = c.namespace("kvn-" + uid)
    owner = "kvn-" + uid
    common = dict(admin.params, owner=owner, role_set="kubernetes",
                  bindings=[{"persona": "user", "users": ["k-editor-%s" % uid], "namespaces": [ns]}])
    try:
        ok(run_module(ENFORCE, common))
        res = run_module(VALIDATE, common)
        assert res["passed"] is True, res["msg"]
        assert res["kubevirt"]["release"] == "v1.5.0 or later"
        assert "kubevirt.io:migrate exists" in res["kubevirt"]["source"]
        unchecked = {r["capability"] for r in res["access"] if r["ok"] is None}
        assert unchecked == {"vm.backup", "vm.screenshot"}
        assert res["summary"]["unchecked"] == sum(1 for r in res["access"] if r["ok"] is None) > 0
        assert any("kubevirt_version" in w for w in res["warnings"])
        decided = {r["capability"]: r["allowed"] for r in res["access"] if r["namespace"] == ns}
        assert (decided["vm.migrate"], decided["vm.reset"], decided["vm.usbredir"]) == (False, True, True)
    finally:
        run_module(ENFORCE, dict(common, state="absent"))
        c.delete_namespace(ns)
        c.set_kubevirt_status(kube.KUBEVIRT_VERSION)


@pytest.mark.xdist_group("kubevirt-releases")
def test_installing_a_release_waits_for_its_roles_beside_a_role_aggregated_by_label(releases, uid):
    """The soak run of the differential failed on its 8th layout: a ClusterRole of the layout labelled
    aggregate-to-view with kubevirt.io rules was merged into view, edit and admin, and installing a
    KubeVirt release waited for exactly that release's kubevirt.io rules there, in vain, for 60 s."""
    c = releases
    name = "widens-view-" + uid
    c.rbac().create_cluster_role({
        "metadata": {"name": name, "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [{"apiGroups": ["plugin.kubevirt.io", "kubevirt.io"], "resources": ["virtualmachineexports"],
                   "verbs": ["get", "update"]}]})
    try:
        c.install_kubevirt("v1.5.0")  # raised AssertionError after 60 s before the fix
        for role in ("view", "edit", "admin"):
            rules = c.rbac().read_cluster_role(role).rules or []
            assert any("plugin.kubevirt.io" in (r.api_groups or []) for r in rules), role
        # and the release's own rules are the ones merged: v1.5.0's admin no longer migrates
        admin = c.rbac().read_cluster_role("admin").rules or []
        assert not any("virtualmachineinstancemigrations" in (r.resources or []) and "create" in (r.verbs or [])
                       for r in admin if "kubevirt.io" in (r.api_groups or []))
    finally:
        c.rbac().delete_cluster_role(name)
        c.install_kubevirt(kube.KUBEVIRT_VERSION)


# ------------------------------------------------------------------------ golden images


def test_a_namespace_restricted_power_user_may_deploy_from_templates_and_nothing_more(
        cluster, namespaces, owner, uid, admin_identity):
    ns, golden = namespaces("deploy", "golden")
    who = "pu-%s@example.com" % uid
    bindings = [{"persona": "power-user", "users": [who], "namespaces": [ns]},
                {"persona": "viewer", "users": ["v-" + uid], "namespaces": [ns]}]
    common = dict(admin_identity.params, owner=owner, bindings=bindings, golden_image_namespaces=[golden])
    before = cluster.can(who, "create", "datavolumes", "cdi.kubevirt.io", golden, "source")
    res = ok(run_module(ENFORCE, common))
    assert before is False and res["changed"] is True
    held = cluster.bindings(owner)
    assert ("RoleBinding", golden, owner + "-golden-image") in held
    assert [s["name"] for s in held[("RoleBinding", golden, owner + "-golden-image")]["subjects"]] == [who]
    cluster.wait_until_can(who, "create", "datavolumes", "cdi.kubevirt.io", golden, "source")
    cluster.wait_until_can("v-" + uid, "create", "datavolumes", "cdi.kubevirt.io", golden, "source", allowed=False)
    res = run_module(VALIDATE, common)
    assert res["passed"] is True, res["msg"]
    deploy = {(r["subject"], r["namespace"]): r["allowed"] for r in res["access"] if r["capability"] == "template.deploy"}
    assert deploy == {("User " + who, golden): True, ("User v-" + uid, golden): False}
    # everything but the clone is denied to the power-user in the golden-image namespace
    there = [r for r in res["access"] if r["subject"] == "User " + who and r["namespace"] == golden]
    assert {r["capability"] for r in there if r["allowed"]} == {"template.deploy"}
    assert len({r["capability"] for r in there}) > 25
    # idempotent, and the binding goes with the declaration
    assert ok(run_module(ENFORCE, common))["changed"] is False
    ok(run_module(ENFORCE, dict(common, golden_image_namespaces=[], purge=True)))
    assert ("RoleBinding", golden, owner + "-golden-image") not in cluster.bindings(owner)
