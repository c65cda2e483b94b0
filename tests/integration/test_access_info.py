"""Who can, and who else can (issue 12), on the real control plane.

vmo_rbac_access_info: every holder of a VM capability, through which binding, with 5 LISTs and
only the confirming SubjectAccessReviews (counted in the audit log). vmo_rbac_validate's exclusive
audit: each kind of hidden holder (a hand-made binding of ``edit``, a forgotten binding to an
everyone group, a custom role, an aggregated role that quietly widened a declared one) and the
``leaky`` layout are caught, and the binding to remove is named. The role runs the audit over a
fleet of two clusters, one clean and one with an undeclared holder.

These tests audit whole clusters, so they run on private clusters (tests/helpers/private_clusters.py),
one after the other on one xdist worker.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kubernetes.client.rest import ApiException

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from ansible_collections.vmo.rbac.plugins.module_utils._flows import whocan
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import holders as holders_
from ansible_collections.vmo.rbac.plugins.plugin_utils import report
from tests.helpers.ansible import ok, run_module, run_playbook
from tests.helpers.private_clusters import private_cluster
from tests.integration.test_role import FAIL, VALIDATE, connection, failure_text, recap, results, write_inventory


def namespaced_powers(persona):
    """What a persona's reference role grants in a namespace, in the order the message names them."""
    return ", ".join(c for c in personas.CAPABILITY_ORDER if personas.EXPECTED["vmo"][persona][c]
                     and personas.CAPABILITIES[c]["scope"] == "namespaced")

pytestmark = pytest.mark.xdist_group("whocan")

INFO = "vmo.rbac.vmo_rbac_access_info"
VALIDATE_MODULE = "vmo.rbac.vmo_rbac_validate"
ENFORCE = "vmo.rbac.vmo_role_binding"
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def audited(request, workdir):
    """The private cluster these tests audit (a second one, whocan-b, joins it for the fleet)."""
    return private_cluster(request, workdir, "whocan")


class Objects:
    """What a test creates on a cluster by hand (not through the modules); deleted afterwards."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.made = []

    def namespace(self, name):
        self.cluster.namespace(name)
        self.made.append(("Namespace", "", name))
        return name

    def cluster_role(self, name, rules, labels=None, aggregation=None):
        body = {"metadata": {"name": name, "labels": labels or {}}, "rules": rules}
        if aggregation:
            body["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregation}]}
            body["rules"] = []
        self.cluster.rbac().create_cluster_role(body)
        self.made.append(("ClusterRole", "", name))

    def binding(self, name, role, subjects, namespace=None, role_kind="ClusterRole"):
        body = {"metadata": {"name": name}, "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
                "subjects": subjects}
        if namespace:
            body["metadata"]["namespace"] = namespace
            self.cluster.rbac().create_namespaced_role_binding(namespace, body)
            self.made.append(("RoleBinding", namespace, name))
        else:
            self.cluster.rbac().create_cluster_role_binding(body)
            self.made.append(("ClusterRoleBinding", "", name))

    def cleanup(self):
        rbac = self.cluster.rbac()
        for kind, ns, name in reversed(self.made):
            try:
                if kind == "Namespace":
                    self.cluster.delete_namespace(name)
                elif kind == "ClusterRole":
                    rbac.delete_cluster_role(name)
                elif kind == "RoleBinding":
                    rbac.delete_namespaced_role_binding(name, ns)
                else:
                    rbac.delete_cluster_role_binding(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise


@pytest.fixture
def objects(audited):
    made = Objects(audited)
    yield made
    made.cleanup()


def user(name):
    return {"kind": "User", "name": name, "apiGroup": RBAC}


def group(name):
    return {"kind": "Group", "name": name, "apiGroup": RBAC}


def service_account(ns, name):
    return {"kind": "ServiceAccount", "name": name, "namespace": ns, "apiGroup": ""}


def found(entries, capability, namespace, subject):
    return [e for e in entries if e["capability"] == capability and e["namespace"] == namespace
            and e["subject"] == subject]


def wait_until(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.2)


# ------------------------------------------------------------------- vmo_rbac_access_info


def test_access_info_finds_every_holder_with_5_lists_and_confirming_reviews(audited, objects, uid):
    ns = objects.namespace("ai-" + uid)
    objects.cluster_role("ai-console-" + uid, [{"apiGroups": ["*"], "resources": ["*/console", "*/vnc"],
                                                "verbs": ["get"]}])
    objects.cluster_role("ai-one-vm-" + uid, [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"],
                                               "verbs": ["delete"], "resourceNames": ["prod-db"]}])
    objects.binding("viewers", "spectro-vm-viewer", [user("ai-viewer-" + uid)], namespace=ns)
    objects.binding("ops", "spectro-vm-admin", [group("ai-ops-" + uid)], namespace=ns)
    objects.binding("ai-robot-" + uid, "spectro-vm-user", [service_account(ns, "robot")])
    objects.binding("consoles", "ai-console-" + uid, [user("ai-console-" + uid)], namespace=ns)
    objects.binding("one-vm", "ai-one-vm-" + uid, [user("ai-one-" + uid)], namespace=ns)

    me = audited.identity("ai-caller-" + uid)
    window = audited.audit()
    res = ok(run_module(INFO, dict(me.params, confirm="all")))
    events = window.events(user=me.user)

    # requests: exactly 5 LISTs (the RBAC objects, and the APIServices: where KubeVirt and CDI run) and the
    # SubjectAccessReviews that confirm the findings, nothing else
    lists = sorted(e["objectRef"]["resource"] for e in events if e["verb"] == "list")
    reviews = [e for e in events if e["verb"] == "create" and e["objectRef"]["resource"] == "subjectaccessreviews"]
    assert lists == ["apiservices", "clusterrolebindings", "clusterroles", "rolebindings", "roles"]
    assert len(reviews) == res["summary"]["reviews"] > 0
    assert len(events) == 5 + len(reviews) == res["summary"]["requests"], [e["requestURI"] for e in events]
    assert res["changed"] is False and res["unconfirmed"] == []

    holders = res["holders"]
    assert all(h["confirmed"] is True and h["cluster"] == res["cluster"] for h in holders)
    assert res["summary"]["asked"] == res["summary"]["confirmed"] == len(holders) and not res["summary"]["sampled"]
    assert "every one confirmed by the API server" in res["msg"]
    assert ns in res["namespaces"]
    (v,) = found(holders, "vm.view", ns, "User ai-viewer-" + uid)
    assert v["through"] == "own" and [(b["kind"], b["name"], b["role_name"]) for b in v["via"]] == \
        [("RoleBinding", "viewers", "spectro-vm-viewer")]
    assert not found(holders, "vm.delete", ns, "User ai-viewer-" + uid)
    assert found(holders, "vm.delete", ns, "Group ai-ops-" + uid)
    assert found(holders, "template.manage", ns, "Group ai-ops-" + uid)
    assert not found(holders, "cluster.manage", "", "Group ai-ops-" + uid)  # a RoleBinding: no cluster scope
    (sa,) = found(holders, "vm.console", "", "ServiceAccount %s/robot" % ns)
    assert sa["scope"] == "all-namespaces" and sa["as_user"] == "system:serviceaccount:%s:robot" % ns
    assert found(holders, "vm.console", ns, "User ai-console-" + uid)  # through */console
    (p,) = found(holders, "vm.delete", ns, "User ai-one-" + uid)
    assert p["partial"] and p["resource_names"] == ["prod-db"]
    (admins,) = found(holders, "cluster.manage", "", "Group system:masters")
    assert admins["platform"] and admins["scope"] == "cluster"
    assert any(h["platform"] and h["subject"].startswith("ServiceAccount kube-system/") for h in holders)
    assert res["summary"]["lists"] == 5 and res["summary"]["evaluation_seconds"] < 2

    # narrowed: some capabilities, some namespaces
    res = ok(run_module(INFO, dict(me.params, only_capabilities=["vm.delete"], namespaces=[ns])))
    assert res["capabilities"] == ["vm.delete"] and res["namespaces"] == [ns]
    assert {h["capability"] for h in res["holders"]} == {"vm.delete"}
    assert {h["namespace"] for h in res["holders"]} <= {"", ns}
    assert found(res["holders"], "vm.delete", ns, "Group ai-ops-" + uid)


def vm_view_checks():
    ((_cap, _scope, checks),) = holders_.matrix_checks(access.build_matrix("vmo"), {"vm.view"})
    return checks


def reviews_of(window, identity):
    return [e for e in window.events(user=identity.user) if e["objectRef"].get("resource") == "subjectaccessreviews"]


def test_access_info_confirms_the_everyone_groups_and_a_sample_and_says_which_holders_it_asked(audited, objects, uid):
    """Issue 22 follow-up: at 2,000 bindings asking every holder took 94,673 reviews. With ``confirm: sample``
    (the default) the API server is asked every everyone group's finding and a sample of 200 of the others; every
    holder says whether it was asked (``confirmed`` true) or is as the local evaluation found it (null), and the
    message never says "confirmed" of the holders not asked. ``confirm: all`` asks every one, as before.

    260 users bound to spectro-vm-viewer in one namespace (more than the sample), and the namespace's
    ServiceAccounts group (an everyone group) too; the reviews are counted in the audit log."""
    ns = objects.namespace("smp-" + uid)
    viewers = ["User smp-%03d-%s" % (i, uid) for i in range(260)]
    objects.binding("viewers", "spectro-vm-viewer", [user(v.split(" ", 1)[1]) for v in viewers], namespace=ns)
    objects.binding("every-sa", "spectro-vm-viewer", [group("system:serviceaccounts:" + ns)], namespace=ns)
    me = audited.identity("smp-" + uid)
    args = dict(me.params, only_capabilities=["vm.view"], namespaces=[ns])
    checks = len(vm_view_checks())

    window = audited.audit()
    res = ok(run_module(INFO, args))
    reviews = reviews_of(window, me)
    s = res["summary"]
    assert s["confirm"] == "sample" and s["escalated"] is False and res["unconfirmed"] == []
    mine = dict((h["subject"], h) for h in res["holders"] if h["namespace"] == ns and h["subject"] in viewers)
    assert len(mine) == len(viewers)  # every holder is listed, asked or not
    assert {h["confirmed"] for h in res["holders"]} <= {True, None}
    asked = [h for h in res["holders"] if h["confirmed"] is True]
    assert len(asked) == s["asked"] == s["confirmed"] and s["sampled"] == 200
    everyone = [h for h in res["holders"] if h["everyone"]]
    (sa_group,) = found(everyone, "vm.view", ns, "Group system:serviceaccounts:" + ns)
    assert all(h["confirmed"] is True for h in everyone) and s["asked"] == 200 + len(everyone)
    not_asked = [h for h in mine.values() if h["confirmed"] is None]
    assert not_asked and len(not_asked) < len(mine)
    # what was sent: every review in the audit log, at most one per check of each finding asked, and fewer than
    # asking each viewer would take
    assert len(reviews) == s["reviews"] <= checks * s["asked"] < checks * len(mine)
    assert "(%d of them asked of the API server, %d confirmed; the others as the local evaluation found them" % (
        s["asked"], s["confirmed"]) in res["msg"]
    assert "every one confirmed" not in res["msg"]
    # a holder not asked is right all the same (the local evaluation is proven by the differential): asked here
    planted = not_asked[0]
    assert audited.can(planted["subject_name"], "get", "virtualmachines", group="kubevirt.io", namespace=ns)

    window = audited.audit()
    res = ok(run_module(INFO, dict(args, confirm="all")))
    every = reviews_of(window, me)
    s = res["summary"]
    assert s["confirm"] == "all" and s["sampled"] == 0 and res["unconfirmed"] == []
    assert all(h["confirmed"] is True for h in res["holders"]) and s["asked"] == s["confirmed"] == len(res["holders"])
    (again,) = found(res["holders"], "vm.view", ns, planted["subject"])
    assert again["confirmed"] is True  # the holder the sample left out, now asked and confirmed
    assert len(every) == s["reviews"] >= checks * len(viewers) > len(reviews)
    assert "every one confirmed by the API server" in res["msg"]


def test_a_sample_that_disagrees_with_the_api_server_has_every_holder_asked(audited, objects, uid):
    """confirm: sample, when the API server does not confirm a finding asked (here an everyone group's binding
    deleted between the RBAC snapshot and the reviews, as a concurrent change would): the local evaluation is not
    to be taken for the others either, so every finding is asked (escalated), and every holder returned is
    confirmed; the finding the API server denies is unconfirmed, never a holder."""
    ns = objects.namespace("esc-" + uid)
    viewers = ["esc-%03d-%s" % (i, uid) for i in range(230)]
    objects.binding("viewers", "spectro-vm-viewer", [user(v) for v in viewers], namespace=ns)
    objects.binding("every-sa", "spectro-vm-viewer", [group("system:serviceaccounts:" + ns)], namespace=ns)
    me = audited.identity("esc-" + uid)
    client = Cluster(dict(me.params), component="access-info-escalate")
    matrix = access.build_matrix("vmo")
    lists, components = whocan.read_rbac(client, 4)

    # the same snapshot, agreeing: a sample, the rest as found
    found_, unconfirmed, stats, _i = whocan.find_holders(client, matrix, {"vm.view"}, [ns], lists=lists,
                                                         components=components, pick=whocan.pick_sample,
                                                         escalate=True)
    assert not stats["escalated"] and unconfirmed == []
    assert any(h["confirmed"] is None for h in found_) and stats["asked"] < len(found_)

    audited.rbac().delete_namespaced_role_binding("every-sa", ns)  # after the snapshot, before the reviews
    window = audited.audit()
    found_, unconfirmed, stats, _i = whocan.find_holders(client, matrix, {"vm.view"}, [ns], lists=lists,
                                                         components=components, pick=whocan.pick_sample,
                                                         escalate=True)
    assert stats["escalated"] is True
    assert [h["subject"] for h in unconfirmed] == ["Group system:serviceaccounts:" + ns]
    assert all(h["confirmed"] is True for h in found_)
    assert stats["asked"] == len(found_) + len(unconfirmed) == stats["confirmed"] + 1
    mine = [h for h in found_ if h["namespace"] == ns and h["subject_name"] in viewers]
    assert len(mine) == len(viewers)
    assert len(reviews_of(window, me)) == stats["reviews"] >= len(vm_view_checks()) * len(viewers)


def test_partial_holders_are_found_with_exactly_what_they_hold(audited, objects, uid):
    """Issue 19, item 2: a ClusterRoleBinding of a role with only the serial console to a ServiceAccount,
    and a RoleBinding of a role with only virtualmachines/stop to a user. Neither holds a whole
    capability (vm.console needs console and vnc; vm.power start, stop and restart), so neither was
    listed anywhere. Now each is a partial holder, with what it holds and lacks, confirmed by
    SubjectAccessReviews (allowed for what it holds, denied for the rest)."""
    ns = objects.namespace("part-" + uid)
    objects.cluster_role("serial-" + uid, [{"apiGroups": ["subresources.kubevirt.io"],
                                            "resources": ["virtualmachineinstances/console"], "verbs": ["get"]}])
    objects.cluster_role("stopper-" + uid, [{"apiGroups": ["subresources.kubevirt.io"],
                                             "resources": ["virtualmachines/stop"], "verbs": ["update"]}])
    objects.binding("serial-" + uid, "serial-" + uid, [service_account(ns, "console-bot")])
    objects.binding("stopper", "stopper-" + uid, [user("stopper-" + uid)], namespace=ns)
    me = audited.identity("part-" + uid)
    res = ok(run_module(INFO, dict(me.params, only_capabilities=["vm.console", "vm.power"], confirm="all")))
    assert res["unconfirmed"] == []
    (sa,) = found(res["holders"], "vm.console", "", "ServiceAccount %s/console-bot" % ns)
    assert sa["partial"] and sa["confirmed"] and sa["scope"] == "all-namespaces"
    assert sa["holds"] == [{"check": "get subresources.kubevirt.io/virtualmachineinstances/console",
                            "resource_names": []}]
    assert sa["lacks"] == ["get subresources.kubevirt.io/virtualmachineinstances/vnc"]
    (stop,) = found(res["holders"], "vm.power", ns, "User stopper-" + uid)
    assert stop["partial"] and [h["check"] for h in stop["holds"]] == [
        "update subresources.kubevirt.io/virtualmachines/stop"]
    assert [(v["kind"], v["name"]) for v in stop["via"]] == [("RoleBinding", "stopper")]
    # what the API server says, asked independently
    robot = "system:serviceaccount:%s:console-bot" % ns
    sa_groups = ["system:serviceaccounts", "system:serviceaccounts:" + ns]
    audited.wait_until_can(robot, "get", "virtualmachineinstances", group="subresources.kubevirt.io",
                           subresource="console", namespace="anywhere", groups=sa_groups)
    audited.wait_until_can(robot, "get", "virtualmachineinstances", group="subresources.kubevirt.io",
                           subresource="vnc", namespace="anywhere", groups=sa_groups, allowed=False)
    assert res["summary"]["partial"] >= 2
    assert "partial (part of a capability, or named objects only)" in res["msg"]


def test_a_service_account_bound_as_a_user_and_through_its_namespace_group_is_found(audited, objects, uid):
    """Issue 19, item 3: bound as ``User system:serviceaccount:<ns>:<name>`` to a role that lists and
    gets VMs, and through ``system:serviceaccounts:<ns>`` to one that gets VM instances. Before,
    who-can saw a User without the ServiceAccount's groups, holding nothing whole; now it finds the
    ServiceAccount holding vm.view, through both bindings, confirmed as the ServiceAccount."""
    ns = objects.namespace("sau-" + uid)
    objects.cluster_role("sau-vms-" + uid, [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"],
                                             "verbs": ["get", "list"]}])
    objects.cluster_role("sau-vmis-" + uid, [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachineinstances"],
                                              "verbs": ["get"]}])
    objects.binding("sau-user-" + uid, "sau-vms-" + uid, [user("system:serviceaccount:%s:robot" % ns)])
    objects.binding("sau-group-" + uid, "sau-vmis-" + uid, [group("system:serviceaccounts:" + ns)])
    me = audited.identity("sau-" + uid)
    res = ok(run_module(INFO, dict(me.params, only_capabilities=["vm.view"], confirm="all")))
    (h,) = found(res["holders"], "vm.view", "", "ServiceAccount %s/robot" % ns)
    assert not h["partial"] and h["confirmed"] and h["through"] == "membership"
    assert sorted((v["name"], v["subject"], v["own"]) for v in h["via"]) == [
        ("sau-group-" + uid, "Group system:serviceaccounts:" + ns, False),
        ("sau-user-" + uid, "User system:serviceaccount:%s:robot" % ns, True)]
    assert not [x for x in res["holders"] if x["subject"] == "User system:serviceaccount:%s:robot" % ns]
    # the namespace's ServiceAccounts hold part of it (get VM instances): reported as such
    (everyone,) = found(res["holders"], "vm.view", "", "Group system:serviceaccounts:" + ns)
    assert everyone["partial"] and everyone["everyone"] == "every ServiceAccount in namespace " + ns


# ---------------------------------------------------------------- the exclusive audit

@pytest.fixture(scope="module")
def declared(audited):
    """A declaration enforced on the audited cluster (once for the tests below, each of which adds a
    hidden holder of its own): viewers restricted to team1, admins everywhere."""
    uid = uuid.uuid4().hex[:6]
    owner = "t-" + uid
    team1 = "team1-" + uid
    audited.namespace(team1)
    decl = {"owner": owner, "bindings": [
        {"persona": "viewer", "groups": ["team1-viewers-" + uid], "namespaces": [team1]},
        {"persona": "admin", "groups": ["vm-admins-" + uid]},
    ]}
    me = audited.identity("who-else-" + uid)
    ok(run_module(ENFORCE, dict(me.params, **decl)))
    yield {"team1": team1, "args": dict(me.params, **decl), "uid": uid}
    audited.delete_bindings(owner)
    audited.delete_namespace(team1)


def audit(args, **more):
    res = run_module(VALIDATE_MODULE, dict(args, audit_exclusive=True, fail_on_drift=False, **more))
    assert "who_else" in res, res.get("msg")
    return res


def removes(entry):
    return [(r["kind"], r.get("namespace", ""), r["name"]) for r in entry["remove"]]


def test_declared_holders_are_not_reported(declared):
    res = audit(declared["args"])
    mine = [w for w in res["who_else"] if declared["uid"] in w["subject"]]
    assert mine == [], mine
    assert res["who_else_summary"]["declared"] >= 2


def test_hand_made_edit_binding(declared, objects, uid):
    objects.binding("handmade-edit", "edit", [group("contractors-" + uid)], namespace=declared["team1"])
    res = audit(declared["args"])
    assert res["passed"] is False
    (w,) = found(res["who_else"], "vm.delete", declared["team1"], "Group contractors-" + uid)
    assert removes(w) == [("RoleBinding", declared["team1"], "handmade-edit")]
    assert "kubevirt.io:edit" in w["via"][0]["aggregated_from"]
    assert "delete RoleBinding %s/handmade-edit (ClusterRole edit)" % declared["team1"] in w["fix"]
    assert "Who else can: Group contractors-%s may" % uid in res["msg"]


def test_forgotten_cluster_role_binding_to_everyone(declared, objects, uid):
    objects.binding("forgotten-" + uid, "spectro-vm-user", [group("system:authenticated")])
    res = audit(declared["args"])
    (w,) = found(res["who_else"], "vm.console", "", "Group system:authenticated")
    assert w["everyone"] == "every authenticated user" and w["scope"] == "all-namespaces"
    assert removes(w) == [("ClusterRoleBinding", "", "forgotten-" + uid)]
    # every authenticated user, reported once, not as each user the cluster happens to know
    assert not [x for x in res["who_else"] if x["capability"] == "vm.console" and x["subject"].startswith("User ")]


def test_custom_role_bound_to_a_ci_account(declared, objects, uid):
    ci = objects.namespace("ci-" + uid)
    objects.cluster_role("vm-reaper-" + uid, [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"],
                                               "verbs": ["delete", "list"]}])
    objects.binding("ci-reaper-" + uid, "vm-reaper-" + uid, [service_account(ci, "deployer")])
    res = audit(declared["args"])
    (w,) = found(res["who_else"], "vm.delete", "", "ServiceAccount %s/deployer" % ci)
    assert removes(w) == [("ClusterRoleBinding", "", "ci-reaper-" + uid)]
    assert w["via"][0]["role_name"] == "vm-reaper-" + uid
    # list alone is not all of vm.view: part of it, undeclared too (issue 19)
    (part,) = found(res["who_else"], "vm.view", "", "ServiceAccount %s/deployer" % ci)
    assert part["partial"] and [h["check"] for h in part["holds"]] == ["list kubevirt.io/virtualmachines"]


def test_aggregated_role_that_quietly_widened_a_declared_one(audited, objects, uid, owner):
    """The kubernetes role set's user persona is `edit`; a ClusterRole labelled aggregate-to-edit adds
    VM template management to it. The declared group now holds template.manage, which its persona
    must not: reported, with the ClusterRole that widened `edit`."""
    team = objects.namespace("widened-" + uid)
    me = audited.identity("widened-" + uid)
    args = dict(me.params, owner=owner, role_set="kubernetes",
                bindings=[{"persona": "user", "groups": ["editors-" + uid], "namespaces": [team]}])
    ok(run_module(ENFORCE, args))
    try:
        rule = {"apiGroups": ["spectrocloud.com"], "resources": ["vmtemplates"], "verbs": ["create", "update", "delete"]}
        objects.cluster_role("sneaky-templates-" + uid, [rule],
                             labels={"rbac.authorization.k8s.io/aggregate-to-edit": "true"})
        wait_until(lambda: any("vmtemplates" in (r.resources or []) and "create" in r.verbs
                               for r in audited.rbac().read_cluster_role("edit").rules or []), "aggregation into edit")
        res = audit(args)
        (w,) = found(res["who_else"], "template.manage", team, "Group editors-" + uid)
        (via,) = w["via"]
        assert (via["kind"], via["role_name"]) == ("RoleBinding", "edit")
        assert via["aggregated_from"] == ["sneaky-templates-" + uid]
        assert "ClusterRole sneaky-templates-%s by aggregation" % uid in w["fix"]
        # vm.delete is declared (the user persona of the kubernetes role set may delete VMs)
        assert not found(res["who_else"], "vm.delete", team, "Group editors-" + uid)
    finally:
        objects.cleanup()
        objects.made = []
        wait_until(lambda: not any("vmtemplates" in (r.resources or []) and "create" in (r.verbs or [])
                                   for r in audited.rbac().read_cluster_role("edit").rules or []),
                   "edit to shrink back")
        audited.delete_bindings(owner)


def test_a_custom_role_declares_what_it_grants_not_everything(audited, objects, uid, owner):
    """Issue 19, item 4: a declared custom read-only role counted as declaring every capability, so a
    hand-made admin binding for the same user was never reported. Now a custom role declares what its
    rules grant (an aggregated one: the rules the controller manager merged), and the result says what."""
    team = objects.namespace("custom-" + uid)
    reader = "vm-reader-" + uid
    objects.cluster_role(reader, [], aggregation={"vmo-test.example/reader-" + uid: "true"})
    objects.cluster_role(reader + "-part", [{"apiGroups": ["kubevirt.io"],
                                             "resources": ["virtualmachines", "virtualmachineinstances"],
                                             "verbs": ["get", "list"]}],
                         labels={"vmo-test.example/reader-" + uid: "true"})
    wait_until(lambda: audited.rbac().read_cluster_role(reader).rules, "aggregation into " + reader)
    who = "carol-" + uid
    me = audited.identity("custom-" + uid)
    args = dict(me.params, owner=owner, bindings=[{"cluster_role": reader, "users": [who], "namespaces": [team]}])
    ok(run_module(ENFORCE, args))
    try:
        res = audit(args)
        assert not [w for w in res["who_else"] if w["subject"] == "User " + who], res["who_else"]
        objects.binding("handmade-admin", "spectro-vm-admin", [user(who)], namespace=team)
        res = audit(args)
        assert res["passed"] is False
        (w,) = found(res["who_else"], "vm.delete", team, "User " + who)
        assert removes(w) == [("RoleBinding", team, "handmade-admin")]
        assert not found(res["who_else"], "vm.view", team, "User " + who)  # what the custom role declares
        (c,) = [c for c in res["who_else_summary"]["custom_roles"] if c["role_name"] == reader]
        assert c["found"] and c["capabilities"] == ["vm.view"] and c["partial"] == []
    finally:
        audited.delete_bindings(owner)


def test_an_undeclared_partial_holder_fails_the_audit_and_the_report_says_what_it_holds(declared, objects, uid):
    """Issue 19, item 2 in the exclusive audit: a ServiceAccount with only the serial console, bound
    cluster-wide by hand, is an undeclared (partial) holder: a violation, shown with what it holds."""
    ns = objects.namespace("serial-" + uid)
    objects.cluster_role("serial-only-" + uid, [{"apiGroups": ["subresources.kubevirt.io"],
                                                 "resources": ["virtualmachineinstances/console"], "verbs": ["get"]}])
    objects.binding("serial-only-" + uid, "serial-only-" + uid, [service_account(ns, "bot")])
    res = audit(declared["args"])
    assert res["passed"] is False
    (w,) = found(res["who_else"], "vm.console", "", "ServiceAccount %s/bot" % ns)
    assert w["partial"] and [h["check"] for h in w["holds"]] == [
        "get subresources.kubevirt.io/virtualmachineinstances/console"]
    assert removes(w) == [("ClusterRoleBinding", "", "serial-only-" + uid)]
    assert ("ServiceAccount %s/bot may vm.console (only get subresources.kubevirt.io/virtualmachineinstances/console) "
            "in every namespace (not declared)" % ns) in res["msg"], res["msg"]
    md = report.render([res], "markdown")  # what the role's report writes
    assert "ServiceAccount %s/bot (only get subresources.kubevirt.io/virtualmachineinstances/console)" % ns in md


def test_leaky(audited, declared, objects, uid):
    """A viewer restricted to team1 can delete VMs in `leaky` through a RoleBinding of spectro-vm-admin
    to system:authenticated: the audit names the everyone group and the binding to remove."""
    leaky = objects.namespace("leaky-" + uid)
    objects.binding("everyone-admin", "spectro-vm-admin", [group("system:authenticated")], namespace=leaky)
    res = audit(declared["args"])
    assert res["passed"] is False
    (w,) = found(res["who_else"], "vm.delete", leaky, "Group system:authenticated")
    assert w["everyone"] == "every authenticated user"
    assert removes(w) == [("RoleBinding", leaky, "everyone-admin")]
    assert w["fix"] == "delete RoleBinding %s/everyone-admin (ClusterRole spectro-vm-admin)" % leaky
    assert {x["capability"] for x in res["who_else"] if x["namespace"] == leaky} >= {
        "vm.view", "vm.console", "vm.power", "vm.create", "vm.clone", "vm.delete", "vm.migrate", "vm.snapshot",
        "template.manage"}
    assert ("Group system:authenticated (every authenticated user) may %s in namespace %s (not declared): "
            "delete RoleBinding %s/everyone-admin (ClusterRole spectro-vm-admin)."
            % (namespaced_powers("admin"), leaky, leaky)) in res["msg"]
    # the viewers' own answer, as the API server gives it: they may delete VMs there
    audited.wait_until_can("", "delete", "virtualmachines", group="kubevirt.io",
                           namespace=leaky, groups=["team1-viewers-" + declared["uid"], "system:authenticated"])


def test_a_tenant_squatting_a_component_namespace_is_reported(audited, declared, objects, uid):
    """Issue 18 item 12: every ServiceAccount of the namespaces kubevirt, cdi and vm-dashboard was taken for the
    platform's on every cluster. A tenant who may create namespaces creates "cdi" on this cluster, which runs no
    CDI, is admin there (its namespace), and grants its own ServiceAccount VM admin: the exclusive audit must
    report it. Where CDI does run (its APIService points at the namespace, something only a cluster
    administrator can make), or where the operator lists the namespace, its ServiceAccounts are the platform's."""
    from kubernetes import client as k8s, config as k8s_config

    cdi = objects.namespace("cdi")
    tenant = audited.identity("tenant-" + uid, groups=())
    objects.binding("tenant-owns-its-namespace", "admin", [user(tenant.user)], namespace=cdi)
    as_tenant = k8s_config.new_client_from_config(str(tenant.kubeconfig))
    k8s.CoreV1Api(as_tenant).create_namespaced_service_account(cdi, {"metadata": {"name": "squatter"}})
    k8s.RbacAuthorizationV1Api(as_tenant).create_namespaced_role_binding(cdi, {
        "metadata": {"name": "vm-admin-for-me"}, "subjects": [service_account(cdi, "squatter")],
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "admin"}})
    objects.made.append(("RoleBinding", cdi, "vm-admin-for-me"))
    audited.wait_until_can("system:serviceaccount:cdi:squatter", "delete", "virtualmachines", "kubevirt.io", cdi,
                           groups=["system:serviceaccounts", "system:serviceaccounts:cdi", "system:authenticated"])

    res = audit(declared["args"])
    assert res["passed"] is False
    (w,) = found(res["who_else"], "vm.delete", cdi, "ServiceAccount cdi/squatter")
    assert removes(w) == [("RoleBinding", cdi, "vm-admin-for-me")]
    assert res["who_else_summary"]["platform_components"] == []
    # the operator lists the namespace: its ServiceAccounts are the platform's
    listed = audit(declared["args"], platform_subjects=["ServiceAccount cdi/*"])
    assert not found(listed["who_else"], "vm.delete", cdi, "ServiceAccount cdi/squatter")

    # CDI does run in "cdi": its APIService (cluster-scoped, made by a cluster administrator) names the namespace.
    # (The service does not exist here, so the aggregated API is unavailable while the APIService is there.)
    registration = k8s.ApiregistrationV1Api(audited.admin)
    registration.create_api_service({
        "metadata": {"name": "v1beta1.upload.cdi.kubevirt.io"},
        "spec": {"group": "upload.cdi.kubevirt.io", "version": "v1beta1", "groupPriorityMinimum": 10,
                 "versionPriority": 10, "insecureSkipTLSVerify": True,
                 "service": {"namespace": cdi, "name": "cdi-api", "port": 443}}})
    try:
        running = audit(declared["args"])
        assert running["who_else_summary"]["platform_components"] == [
            {"component": "CDI", "namespace": cdi, "api_service": "v1beta1.upload.cdi.kubevirt.io"}]
        assert not found(running["who_else"], "vm.delete", cdi, "ServiceAccount cdi/squatter")
        assert found(running["who_else"], "vm.delete", cdi, "User " + tenant.user)  # a user is never the platform
    finally:
        registration.delete_api_service("v1beta1.upload.cdi.kubevirt.io")


# ---------------------------------------------------------------------- the role, a fleet


def test_role_exclusive_audit_over_a_fleet_of_two(request, workdir, audited, objects, uid, owner, tmp_path):
    clean = private_cluster(request, workdir, "whocan-b")
    dirty_ns = objects.namespace("fleet-" + uid)
    objects.binding("sidedoor", "spectro-vm-power-user", [user("mallory-" + uid)], namespace=dirty_ns)
    for c in (clean, audited):
        c.namespace("fleet-" + uid)
    reports = tmp_path / "reports"
    inv = write_inventory(
        tmp_path / "inventory",
        hosts={"clean": connection(clean.identity("fleet-" + uid)),
               "dirty": connection(audited.identity("fleet-" + uid))},
        group_vars={"vmo_rbac_owner": owner,
                    "vmo_rbac_bindings": [{"persona": "admin", "groups": ["fleet-admins-" + uid]},
                                          {"persona": "viewer", "groups": ["fleet-viewers-" + uid],
                                           "namespaces": ["fleet-" + uid]}],
                    "vmo_rbac_report_dir": str(reports), "vmo_rbac_report_formats": ["markdown", "json"]},
        # set per cluster
        host_vars={"clean": {"vmo_rbac_audit_exclusive": True}, "dirty": {"vmo_rbac_audit_exclusive": True}})
    try:
        run = run_playbook("vmo.rbac.enforce", inventory=inv)
        stats = recap(run)
        assert stats["clean"]["failures"] == 0 and stats["dirty"]["failures"] == 1, failure_text(run)
        (good,) = results(run, "clean", VALIDATE)
        assert good["passed"] is True and good["who_else"] == [], good["who_else"]
        assert good["who_else_summary"]["undeclared"] == 0 and good["who_else_summary"]["declared"] >= 2
        (bad,) = results(run, "dirty", VALIDATE)
        assert bad["passed"] is False
        (w,) = found(bad["who_else"], "vm.delete", dirty_ns, "User mallory-" + uid)
        assert removes(w) == [("RoleBinding", dirty_ns, "sidedoor")]
        (fail,) = results(run, "dirty", FAIL)
        assert ("User mallory-%s may %s in namespace %s (not declared): delete RoleBinding %s/sidedoor"
                % (uid, namespaced_powers("power-user"), dirty_ns, dirty_ns) in fail["msg"]), fail["msg"]
        # the data for the report's "who else can" section reaches the fleet report
        doc = json.loads((reports / "vmo-rbac-report.json").read_text())
        by_cluster = {c["cluster"]: c for c in doc["clusters"]}
        assert by_cluster["dirty"]["passed"] is False and by_cluster["clean"]["passed"] is True
        assert (doc["fleet"]["who_else"], doc["fleet"]["who_else_audited"]) == (len(bad["who_else"]), 2)
        # ... and the fleet report shows it: the clean cluster's audit found nobody, the dirty one names the
        # undeclared user with the binding to remove
        text = (reports / "vmo-rbac-report.md").read_text()
        assert "### Who else can: nobody undeclared" in text
        assert "### Who else can: %d undeclared" % len(bad["who_else"]) in text
        row = "| vm.delete | namespace %s | User mallory-%s | RoleBinding %s/sidedoor (ClusterRole %s) |" % (
            dirty_ns, uid, dirty_ns, "spectro-vm-power-user")
        assert any(line.startswith(row) for line in text.splitlines()), text
        print("fleet of two: clean ok, dirty failed; who_else on dirty: %d" % len(bad["who_else"]))
    finally:
        for c in (clean, audited):
            c.delete_bindings(owner)
            c.delete_namespace("fleet-" + uid)
