"""Smoke test of the local control plane: RBAC is real, aggregation is real, the audit log is real."""

import contextlib
import os
import signal
import threading
import time

import kubernetes.client as k8s
from kubernetes.client.rest import ApiException

from tests.controlplane import controlplane as cp


def test_viewer_binding_is_enforced_by_the_api_server(cluster, uid):
    user = "smoke-viewer-" + uid
    stranger = "smoke-stranger-" + uid
    name = "smoke-viewer-" + uid
    me = cluster.identity("smoke-admin-" + uid)  # its own name, so its requests stand apart in the audit log
    audit = cluster.audit()
    rbac = cluster.rbac(me.client)
    authz = k8s.AuthorizationV1Api(me.client)

    def can(who, verb):
        return authz.create_subject_access_review({"spec": {
            "user": who, "groups": ["system:authenticated"],
            "resourceAttributes": {"verb": verb, "group": "kubevirt.io", "resource": "virtualmachines",
                                   "namespace": "default"}}}).status.allowed

    rbac.create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "spectro-vm-viewer"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    })
    try:
        # the authorizer learns of the binding a moment after the create (asked by the cluster admin: the
        # audit counts below are this identity's)
        cluster.wait_until_can(user, "list", "virtualmachines", "kubevirt.io", "default")
        assert can(user, "list")
        assert not can(user, "delete")
        assert not can(stranger, "list")
    finally:
        rbac.delete_cluster_role_binding(name)

    events = audit.events(user=me.user)
    seen = [(e["verb"], e["objectRef"].get("resource"), e["objectRef"].get("name")) for e in events]
    assert ("create", "clusterrolebindings", name) in seen or ("create", "clusterrolebindings", None) in seen
    assert ("delete", "clusterrolebindings", name) in seen
    assert sum(1 for _verb, res, _name in seen if res == "subjectaccessreviews") == 3
    assert len(events) == 5


def test_edit_gained_kubevirt_rules_through_aggregation(cluster):
    edit = cluster.rbac().read_cluster_role("edit")
    kubevirt = [r for r in edit.rules if "kubevirt.io" in (r.api_groups or [])]
    assert kubevirt, "the aggregation controller did not merge kubevirt.io:edit into edit"
    assert any("delete" in r.verbs and "virtualmachines" in r.resources for r in kubevirt)
    # And the API server agrees: a subject bound to edit may delete VMs.
    cluster.wait_until_can("nobody", "delete", "virtualmachines", "kubevirt.io", "default",
                           groups=["system:masters"])


def test_client_certificate_identity_is_limited_by_rbac(cluster, uid):
    ident = cluster.identity("limited-" + uid, groups=["team-" + uid])
    try:
        cluster.core(ident.client).list_namespace()
    except ApiException as exc:
        assert exc.status == 403
    else:
        raise AssertionError("an unbound identity could list namespaces")


def test_service_account_token_authenticates(cluster, namespaces):
    ns = namespaces("smoke-sa")
    sa = cluster.service_account(ns, "robot")
    review = k8s.AuthenticationV1Api(sa.client).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review.status.user_info.username == "system:serviceaccount:%s:robot" % ns


def test_a_running_cluster_whose_api_server_answers_slowly_is_reused(request):
    """At a load of 20 to 30 on 2 cores /readyz can take seconds. The control plane asked once with 2 s:
    a running cluster was "not running", so a test worker stopped ("cluster vmo-1 is not running") and
    cp.up() stopped it and made it anew (new CA, new ports) under the tests that were using it. Here the
    API server of a private cluster is frozen (SIGSTOP) for 5 s while cp.up() is asked for it: it is
    reused, untouched (before: re-made). Nothing listening is still "not running" at once."""
    name = "slowz-" + (os.environ.get("PYTEST_XDIST_WORKER") or "main")
    request.addfinalizer(lambda: cp.down([name]))
    running, _started = cp.up([name], owned=True)
    c = running[0]
    ca, pid = c.ca_file.read_bytes(), c.state["pids"]["kube-apiserver"]
    os.kill(pid, signal.SIGSTOP)
    thaw = threading.Timer(5.0, os.kill, (pid, signal.SIGCONT))
    thaw.start()
    try:
        t0 = time.monotonic()
        again, started = cp.up([name], owned=True)
        waited = time.monotonic() - t0
    finally:
        thaw.cancel()
        with contextlib.suppress(ProcessLookupError):  # before the fix up() had killed it
            os.kill(pid, signal.SIGCONT)
    assert started == [] and [x.name for x in again] == [name], "a slow API server's cluster was made anew"
    assert c.ca_file.read_bytes() == ca and cp.Cluster(name).load()
    assert waited >= 4.0, "asked while the API server was frozen (%.1f s)" % waited
    c.stop(["kube-apiserver"])
    t0 = time.monotonic()
    assert not c.running()
    assert time.monotonic() - t0 < 10, "nothing listening is not running, at once"
