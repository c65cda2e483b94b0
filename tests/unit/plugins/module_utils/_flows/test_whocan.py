"""whocan.py and the platform allow-list: options, what the declaration grants, remedies, messages.

The flow itself (LISTs, reviews) is exercised against the real control plane in
tests/integration/test_access_info.py; here the pure parts.
"""

from __future__ import annotations

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration, options
from ansible_collections.vmo.rbac.plugins.module_utils._flows import whocan
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access, holders
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError, Subject
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_model import Binding

MATRIX = access.build_matrix("vmo")


def finding(subject, capability="vm.delete", namespace="x", via=None, everyone="", partial=False, kind="Group",
            ns=""):
    f = {"capability": capability, "namespace": namespace,
         "scope": holders.SCOPE_NAMESPACE if namespace else holders.SCOPE_ALL, "subject": "%s %s" % (kind, subject),
         "subject_kind": kind, "subject_name": subject, "everyone": everyone, "through": "own", "partial": partial,
         "resource_names": ["vm-a"] if partial else [], "via": via or []}
    if kind == "ServiceAccount":
        f["subject_namespace"] = ns
        f["subject"] = "ServiceAccount %s/%s" % (ns, subject)
    return f


def via(name, namespace="x", subjects=1, own=True, subject="Group g", aggregated=None, role="spectro-vm-admin"):
    v = {"kind": "RoleBinding" if namespace else "ClusterRoleBinding", "name": name, "role_kind": "ClusterRole",
         "role_name": role, "subject": subject, "own": own, "subjects": subjects, "grants": []}
    if namespace:
        v["namespace"] = namespace
    if aggregated:
        v["aggregated_from"] = aggregated
    return v


# ------------------------------------------------------------------------ options


@pytest.mark.parametrize("patterns, field, words", [
    (["Robot r2d2"], "platform_subjects[0]", "Robot"),
    (["Group ok", "ServiceAccount deployer"], "platform_subjects[1]", "<namespace>/<name>"),
    (["User  alice"], "platform_subjects[0]", "expected"),
    (["User alice\nGroup system:masters"], "platform_subjects[0]", "control character"),
    (["system:masters"], "platform_subjects[0]", "expected"),
    ([42], "platform_subjects[0]", "a string"),
    ("Group ops", "platform_subjects", "a list"),
])
def test_platform_patterns_are_checked_by_field(patterns, field, words):
    with pytest.raises(SpecError) as err:
        holders.parse_platform_subjects(patterns)
    assert err.value.path == field and words in str(err.value)


# attack pass (session 3): a pattern that matches an everyone group (``Group system:*``, written to mean "the
# system's groups") made every holder through system:authenticated a platform identity: the leaky layout's
# "everyone may delete VMs in leaky" vanished from the audit, which passed
@pytest.mark.parametrize("pattern, words", [
    ("Group system:*", "system:authenticated"),
    ("Group system:authenticated", "system:authenticated"),
    ("Group *", "system:authenticated"),
    ("Group system:unauth*", "system:unauthenticated"),
    ("Group system:serviceaccounts", "system:serviceaccounts"),
    ("Group system:serviceaccounts:*", "every namespace"),
    ("Group system:service[a]ccounts*", "system:serviceaccounts"),
    ("User *", "any user name"),
    ("User system:anonymous", "system:anonymous"),
    ("ServiceAccount */*", "any ServiceAccount"),
    ("ServiceAccount */default", "any namespace"),
])
def test_a_platform_pattern_never_covers_an_everyone_group(pattern, words):
    with pytest.raises(SpecError) as err:
        holders.parse_platform_subjects(["Group ok", pattern])
    assert err.value.path == "platform_subjects[1]" and words in str(err.value) and "everyone" in str(err.value)


def test_narrow_platform_patterns_stay_allowed():
    patterns = holders.parse_platform_subjects(["Group system:serviceaccounts:monitoring", "ServiceAccount monitoring/*",
                                                "User ci-*", "Group system:nodes", "User *@ops.example.com",
                                                "Group system:serviceaccounts:kube-*"])
    assert ("Group", "system:serviceaccounts:monitoring") in patterns


def test_platform_defaults_and_wildcards():
    patterns = holders.parse_platform_subjects(["ServiceAccount monitoring/*", "User ci-*"])
    assert ("Group", "system:masters") in patterns and ("ServiceAccount", "kube-system/*") in patterns
    assert holders.is_platform(finding("prometheus", kind="ServiceAccount", ns="monitoring"), patterns)
    assert holders.is_platform(finding("ci-bot", kind="User"), patterns)
    assert holders.is_platform(finding("namespace-controller", kind="ServiceAccount", ns="kube-system"), patterns)
    assert not holders.is_platform(finding("ops"), patterns)
    assert not holders.is_platform(finding("kube-system", kind="User"), patterns)  # a User is not a ServiceAccount


def api_service(name, group, namespace=None):
    spec = {"group": group, "version": name.split(".")[0], "groupPriorityMinimum": 1000, "versionPriority": 15}
    if namespace is not None:
        spec["service"] = {"namespace": namespace, "name": "api", "port": 443}
    return {"metadata": {"name": name}, "spec": spec}


def test_a_component_namespace_is_trusted_only_where_the_component_runs():
    """Issue 18 item 12: every ServiceAccount of kubevirt, cdi and vm-dashboard was the platform's on every
    cluster; anyone who may create a namespace could claim one and grant itself VM admin unseen. Now only
    kube-system is trusted by name; KubeVirt's and CDI's namespaces where their APIService runs (what the API
    server itself sends their API to), vm-dashboard only when the operator lists it."""
    defaults = holders.parse_platform_subjects([])
    squatter = finding("squatter", kind="ServiceAccount", ns="cdi")
    for ns in ("kubevirt", "cdi", "vm-dashboard"):
        assert not holders.is_platform(finding("x", kind="ServiceAccount", ns=ns), defaults), ns
    listed = [api_service("v1.subresources.kubevirt.io", "subresources.kubevirt.io", "openshift-cnv"),
              api_service("v1alpha3.subresources.kubevirt.io", "subresources.kubevirt.io", "openshift-cnv"),
              api_service("v1beta1.upload.cdi.kubevirt.io", "upload.cdi.kubevirt.io", "cdi"),
              api_service("v1.kubevirt.io", "kubevirt.io"),                       # a CRD's group: local, no service
              api_service("v1.subresources.kubevirt.io", "subresources.kubevirt.io"),  # served by a CRD here
              api_service("v1beta1.metrics.k8s.io", "metrics.k8s.io", "kube-system")]
    components = holders.platform_components(listed)
    assert components == [{"component": "CDI", "namespace": "cdi", "api_service": "v1beta1.upload.cdi.kubevirt.io"},
                          {"component": "KubeVirt", "namespace": "openshift-cnv",
                           "api_service": "v1.subresources.kubevirt.io"}]
    patterns = defaults + holders.component_patterns(components)
    assert holders.is_platform(squatter, patterns)
    assert holders.is_platform(finding("virt-handler", kind="ServiceAccount", ns="openshift-cnv"), patterns)
    assert not holders.is_platform(finding("x", kind="ServiceAccount", ns="kubevirt"), patterns)
    assert not holders.is_platform(finding("cdi", kind="User"), patterns)
    # without CDI the squatter is reported; a CRD-served subresources group is no proof
    assert holders.platform_components(listed[3:5]) == []
    assert not holders.is_platform(squatter, defaults + holders.component_patterns(holders.platform_components(
        listed[3:5])))
    # the operator may list a namespace (vm-dashboard: VMO's, which shows no such proof)
    assert holders.is_platform(finding("dash", kind="ServiceAccount", ns="vm-dashboard"),
                               holders.parse_platform_subjects(["ServiceAccount vm-dashboard/*"]))
    # answers of the wrong shape prove nothing
    assert holders.platform_components([None, {}, {"spec": {"group": "upload.cdi.kubevirt.io", "service": "cdi"}},
                                        {"spec": {"group": "upload.cdi.kubevirt.io", "service": {"namespace": 7}}}]) == []
    assert holders.glob_escape("a*b?[c") == "a[*]b[?][[]c"


class ApiServicesRefused:
    requests = 0

    def list_api_services(self):
        raise whocan.ApiError("forbidden", 403)


def test_an_identity_that_may_not_list_apiservices_trusts_no_component():
    components, warnings = whocan.running_components(ApiServicesRefused())
    assert components == [] and "could not be listed (403)" in warnings[0] and "apiservices" in warnings[0]


def test_access_info_options():
    opts = whocan.parse_options({"only_capabilities": ["vm.delete"], "namespaces": ["b", "a", "a"],
                                 "capabilities": {"vm.velero": {"checks": [{"verb": "get", "resource": "x"}]}}})
    assert opts.only == {"vm.delete"} and opts.namespaces == ["a", "b"] and opts.concurrency == 16
    assert "vm.velero" in opts.matrix["capabilities"]  # no expect needed here
    assert whocan.parse_options({}).namespaces is None
    for params, field in [({"only_capabilities": ["vm.teleport"]}, "only_capabilities[0]"),
                          ({"namespaces": ["ok", "Not_OK"]}, "namespaces[1]"),
                          ({"capabilities": {"vm.velero": {}}}, "capabilities.vm.velero")]:
        with pytest.raises(SpecError) as err:
            whocan.parse_options(params)
        assert err.value.path == field


def test_access_info_confirm_option():
    assert whocan.parse_options({}).confirm == "sample"
    assert whocan.parse_options({"confirm": "all"}).confirm == "all"
    for bad in ("ALL", "some", " all", "all\n"):
        with pytest.raises(SpecError) as err:
            whocan.parse_options({"confirm": bad})
        assert err.value.path == "confirm" and bad not in str(err.value).replace("sample, all", "")


def test_the_sample_is_every_everyone_group_and_200_of_the_others_spread_over_them():
    findings = [finding("u%d" % i, kind="User") for i in range(1000)]
    for i in (3, 500, 999):
        findings[i] = finding("system:authenticated", everyone="every authenticated user")
    picked = whocan.pick_sample(findings)
    assert {3, 500, 999} <= set(picked) and len(picked) == 203 == len(set(picked))
    others = sorted(i for i in picked if i not in (3, 500, 999))
    assert others[0] == 0 and others[-1] > 900  # spread over the list, not its head
    assert picked == whocan.pick_sample(findings)  # the same for the same findings
    findings[10] = finding("system:anonymous", kind="User")  # every anonymous request, as wide as its group
    assert 10 in whocan.pick_sample(findings) and len(whocan.pick_sample(findings)) == 204
    few = findings[:150]
    assert sorted(whocan.pick_sample(few)) == list(range(150))  # few holders: every one asked


@pytest.mark.parametrize("stats, text", [
    ({"holders": 40, "asked": 40, "confirmed": 40, "unconfirmed": 0}, "every one confirmed by the API server"),
    ({"holders": 40, "asked": 41, "confirmed": 40, "unconfirmed": 1}, "every one confirmed by the API server"),
    ({"holders": 4000, "asked": 205, "confirmed": 205, "unconfirmed": 0},
     "205 of them asked of the API server, 205 confirmed; the others as the local evaluation found them"),
    ({"holders": 4000, "asked": 205, "confirmed": 204, "unconfirmed": 1},
     "205 of them asked of the API server, 204 confirmed; the others as the local evaluation found them"),
    # no holder: what was asked, never "every one confirmed" of none (before: said so, vacuously)
    ({"holders": 0, "asked": 0, "confirmed": 0, "unconfirmed": 0}, "no finding, nothing asked of the API server"),
    ({"holders": 0, "asked": 3, "confirmed": 0, "unconfirmed": 3},
     "3 findings asked of the API server, none confirmed (see 'unconfirmed')"),
    ({"holders": 0, "asked": 1, "confirmed": 0, "unconfirmed": 1},
     "1 finding asked of the API server, none confirmed (see 'unconfirmed')"),
])
def test_the_message_says_confirmed_only_of_what_was_asked(stats, text):
    assert whocan.confirmation_text(stats) == text


def test_validate_options_carry_the_audit():
    decl = declaration.from_module_args({"bindings": [{"persona": "viewer", "groups": ["g"]}]})
    opts = options.parse({"audit_exclusive": True, "platform_subjects": ["Group ops"]}, decl)
    assert opts.audit_exclusive is True and ("Group", "ops") in opts.platform_subjects
    assert options.parse({}, decl).audit_exclusive is False
    with pytest.raises(SpecError) as err:
        options.parse({"platform_subjects": ["ops"]}, decl)
    assert err.value.path == "platform_subjects[0]"


# --------------------------------------------------------------- what is declared


def binding(persona, role, namespace, *subjects):
    return Binding("RoleBinding" if namespace else "ClusterRoleBinding", namespace, "b", "ClusterRole", role,
                   tuple(subjects), {}, {}, persona, ())


CHECKS = dict((n, cs) for n, _s, cs in holders.matrix_checks(MATRIX))


def declared_for(desired, cluster_roles=(), roles=()):
    """What ``desired`` declares, with the custom roles' rules as the RBAC lists hold them."""
    index = holders.RbacIndex(list(cluster_roles), list(roles), [], [], [c for cs in CHECKS.values() for c in cs])
    return whocan.declared_grants(desired, MATRIX, index)


def declares(declared, f):
    return whocan.is_declared(declared, f, CHECKS[f["capability"]])


def cluster_role(name, rules):
    return {"metadata": {"name": name}, "rules": rules}


# every check of vm.delete, whatever the matrix says they are (data)
VM_DELETE = [{"apiGroups": [c.group], "resources": [c.resource + ("/" + c.subresource if c.subresource else "")],
              "verbs": [c.verb]} for c in CHECKS["vm.delete"]]
VM_READ = [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "virtualmachineinstances"],
            "verbs": ["get", "list"]}]


def test_declared_is_what_the_persona_may_in_its_scope():
    g = Subject("Group", "team", "")
    admins = Subject("Group", "admins", "")
    desired = {1: binding("viewer", "spectro-vm-viewer", "team-a", g),
               2: binding("admin", "spectro-vm-admin", "", admins),
               3: binding("custom", "vm-operator", "team-b", g),
               4: binding("legacy-dashboard", "spectro-list-namespaces", "", g)}
    declared, custom = declared_for(desired, [cluster_role("vm-operator", VM_DELETE + VM_READ)])
    assert declares(declared, finding("team", "vm.view", "team-a"))
    assert not declares(declared, finding("team", "vm.delete", "team-a"))  # a viewer may not
    assert not declares(declared, finding("team", "vm.view", "leaky"))     # outside its scope
    assert not declares(declared, finding("team", "vm.view", ""))          # not everywhere
    assert declares(declared, finding("team", "vm.delete", "team-b"))      # the custom role grants it
    assert not declares(declared, finding("team", "vm.console", "team-b"))  # ... and not this
    assert declares(declared, finding("admins", "cluster.manage", ""))
    assert declares(declared, finding("admins", "vm.delete", "anywhere"))
    assert not declares(declared, finding("someone-else", "vm.view", "team-a"))
    assert custom == [{"role_kind": "ClusterRole", "role_name": "vm-operator", "found": True,
                       "capabilities": ["vm.view", "vm.delete"], "partial": []}]


def test_a_custom_role_declares_what_its_rules_grant_not_everything():
    """Issue 19, item 4: a declared custom read-only role used to count as declaring every capability,
    so a hand-made admin binding for the same user was never reported. Now it declares what its rules
    grant (partly, for named objects, or nothing when the role does not exist)."""
    alice = Subject("User", "alice", "")
    desired = {1: binding(None, "read-vms", "team-a", alice), 2: binding(None, "gone", "team-b", alice),
               3: binding(None, "one-vm", "team-c", alice)}
    one_vm = [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["delete"],
               "resourceNames": ["vm-1"]}]
    declared, custom = declared_for(desired, [cluster_role("read-vms", VM_READ), cluster_role("one-vm", one_vm)])
    assert declares(declared, finding("alice", "vm.view", "team-a", kind="User"))
    assert not declares(declared, finding("alice", "vm.delete", "team-a", kind="User"))  # the hand-made admin
    assert not declares(declared, finding("alice", "vm.view", "team-b", kind="User"))   # a role that does not exist
    partial = dict(finding("alice", "vm.delete", "team-c", kind="User", partial=True),
                   holds=[{"check": "delete kubevirt.io/virtualmachines", "resource_names": ["vm-1"]}])
    assert declares(declared, partial)
    wider = dict(partial, holds=[{"check": "delete kubevirt.io/virtualmachines", "resource_names": ["vm-1", "vm-2"]}])
    assert not declares(declared, wider)
    assert not declares(declared, finding("alice", "vm.delete", "team-c", kind="User"))
    assert [(c["role_name"], c["found"], c["capabilities"], [p["capability"] for p in c["partial"]])
            for c in custom] == [("gone", False, [], []), ("one-vm", True, [], ["vm.delete"]),
                                 ("read-vms", True, ["vm.view"], [])]


def test_a_custom_role_with_an_expectation_declares_the_expectation():
    alice = Subject("User", "alice", "")
    matrix = access.build_matrix("vmo", {"vm.delete": {"expect": {"read-vms": False}}})
    index = holders.RbacIndex([cluster_role("read-vms", VM_READ + VM_DELETE)], [], [], [],
                              [c for cs in CHECKS.values() for c in cs])
    declared, _custom = whocan.declared_grants({1: binding(None, "read-vms", "team-a", alice)}, matrix, index)
    assert not whocan.is_declared(declared, finding("alice", "vm.delete", "team-a", kind="User"), CHECKS["vm.delete"])
    assert whocan.is_declared(declared, finding("alice", "vm.view", "team-a", kind="User"), CHECKS["vm.view"])


def test_partial_holders_are_declared_check_by_check():
    g = Subject("Group", "team", "")
    declared, _custom = declared_for({1: binding("user", "spectro-vm-user", "team-a", g)})
    stop = dict(finding("team", "vm.power", "team-a", partial=True),
                holds=[{"check": "update subresources.kubevirt.io/virtualmachines/stop", "resource_names": []}])
    assert declares(declared, stop)
    migrate = dict(finding("team", "vm.migrate", "team-a", partial=True),
                   holds=[{"check": "update subresources.kubevirt.io/virtualmachines/migrate", "resource_names": []}])
    assert not declares(declared, migrate)  # part of a capability the user persona must not have
    assert not declares(declared, dict(stop, namespace="team-b"))
    beyond = dict(stop, beyond_rbac=["update subresources.kubevirt.io/virtualmachines/migrate"])
    assert not declares(declared, beyond)  # the API server allowed more than declared: undeclared


def test_declared_through_an_everyone_group():
    everyone = Subject("Group", "system:authenticated", "")
    declared, _custom = declared_for({1: binding("viewer", "spectro-vm-viewer", "open", everyone)})
    assert declares(declared, finding("bob", "vm.view", "open", kind="User"))
    assert declares(declared, finding("ci", "vm.view", "open", kind="ServiceAccount", ns="x"))
    assert not declares(declared, finding("bob", "vm.delete", "open", kind="User"))


def test_a_service_account_declared_as_a_user_is_the_service_account():
    declared, _custom = declared_for({1: binding("viewer", "spectro-vm-viewer", "x",
                                                 Subject("User", "system:serviceaccount:ci:robot", ""))})
    assert declares(declared, finding("robot", "vm.view", "x", kind="ServiceAccount", ns="ci"))


# ---------------------------------------------------------------- remedies, text


def test_remedy_names_the_binding_to_remove():
    f = finding("system:authenticated", everyone="every authenticated user",
                via=[via("everyone-admin", "leaky", subject="Group system:authenticated")])
    remove, fix = whocan.remedy(f)
    assert remove == [{"kind": "RoleBinding", "namespace": "leaky", "name": "everyone-admin",
                       "subject": "Group system:authenticated", "role_kind": "ClusterRole",
                       "role_name": "spectro-vm-admin"}]
    assert fix == "delete RoleBinding leaky/everyone-admin (ClusterRole spectro-vm-admin)"
    f = finding("g", via=[via("shared", None, subjects=3), via("group-of-it", own=False, subject="Group other")])
    remove, fix = whocan.remedy(f)
    assert [r["name"] for r in remove] == ["shared"]  # only the bindings that name the holder itself
    assert fix == "remove Group g from ClusterRoleBinding shared (ClusterRole spectro-vm-admin)"
    f = finding("g", via=[via("readers", role="team-view", aggregated=["sneaky"])])
    assert whocan.remedy(f)[1].endswith("whose rule comes from ClusterRole sneaky by aggregation (or remove that "
                                        "role's aggregation label)")


def test_messages_group_capabilities_per_holder_place_and_fix():
    v = [via("oops", "leaky", subject="Group system:authenticated")]
    result = {"who_else": [dict(finding("system:authenticated", c, "leaky", v, "every authenticated user"))
                           for c in ("vm.view", "vm.delete")]}
    result["who_else"].append(finding("bob", "vm.delete", "", [via("crb", None, subject="User bob")], kind="User",
                                      partial=True))
    for f in result["who_else"]:
        f["remove"], f["fix"] = whocan.remedy(f)
    lines = whocan.message_lines(result)
    assert lines == [
        "Who else can: Group system:authenticated (every authenticated user) may vm.view, vm.delete in namespace "
        "leaky (not declared): delete RoleBinding leaky/oops (ClusterRole spectro-vm-admin).",
        "Who else can: User bob may vm.delete (only vm-a) in every namespace (not declared): delete "
        "ClusterRoleBinding crb (ClusterRole spectro-vm-admin)."]
    assert whocan.message_lines(result, limit=1)[-1] == "... and 1 more undeclared holders (see who_else)."
