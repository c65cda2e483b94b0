"""The personas, the capability matrix and the reference roles that must satisfy it exactly."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.module_utils import personas

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = {r["metadata"]["name"]: r for r in personas.reference_cluster_roles()}

# The matrix as /work/shared/PERSONAS.md states it (VMO role set), written out here
# independently of personas.py: Y = every check allowed, N = every check denied.
DOC_MATRIX = """
capability       admin power-user user viewer
vm.view          Y     Y          Y    Y
vm.console       Y     Y          Y    N
vm.power         Y     Y          Y    N
vm.create        Y     Y          N    N
vm.clone         Y     Y          N    N
vm.delete        Y     Y          N    N
vm.migrate       Y     Y          N    N
vm.snapshot      Y     Y          N    N
template.manage  Y     N          N    N
cluster.manage   Y     N          N    N
"""

DOC_CHECKS = {
    "vm.view": [("get", "kubevirt.io", "virtualmachines", ""), ("list", "kubevirt.io", "virtualmachines", ""),
                ("get", "kubevirt.io", "virtualmachineinstances", "")],
    "vm.console": [("get", "subresources.kubevirt.io", "virtualmachineinstances", "console"),
                   ("get", "subresources.kubevirt.io", "virtualmachineinstances", "vnc")],
    "vm.power": [("update", "subresources.kubevirt.io", "virtualmachines", s) for s in ("start", "stop", "restart")],
    "vm.create": [("create", "kubevirt.io", "virtualmachines", "")],
    "vm.clone": [("create", "clone.kubevirt.io", "virtualmachineclones", "")],
    "vm.delete": [("delete", "kubevirt.io", "virtualmachines", "")],
    "vm.migrate": [("create", "kubevirt.io", "virtualmachineinstancemigrations", ""),
                   ("update", "subresources.kubevirt.io", "virtualmachines", "migrate")],
    "vm.snapshot": [("create", "snapshot.kubevirt.io", "virtualmachinesnapshots", "")],
    "template.manage": [(v, "spectrocloud.com", "vmtemplates", "") for v in ("create", "update", "delete")],
    "cluster.manage": [("create", "", "namespaces", ""), ("update", "", "nodes", ""),
                       ("create", "rbac.authorization.k8s.io", "clusterroles", "")],
}


def _doc_matrix():
    lines = DOC_MATRIX.strip().splitlines()
    header = lines[0].split()[1:]
    return {row.split()[0]: dict(zip(header, [c == "Y" for c in row.split()[1:]])) for row in lines[1:]}


def test_matrix_and_checks_are_the_documented_ones():
    doc = _doc_matrix()
    assert list(personas.CAPABILITY_ORDER) == list(doc)
    for persona in personas.PERSONAS:
        assert personas.EXPECTED["vmo"][persona] == {cap: doc[cap][persona] for cap in doc}
    assert {name: cap["checks"] for name, cap in personas.CAPABILITIES.items()} == DOC_CHECKS
    assert {name for name, cap in personas.CAPABILITIES.items() if cap["scope"] == "cluster"} == {"cluster.manage"}
    assert all(cap["scope"] == "namespaced" for name, cap in personas.CAPABILITIES.items() if name != "cluster.manage")


def test_role_sets():
    assert personas.PERSONAS == ("admin", "power-user", "user", "viewer")
    assert personas.ROLE_SETS["vmo"] == {
        "admin": "spectro-vm-admin", "power-user": "spectro-vm-power-user",
        "user": "spectro-vm-user", "viewer": "spectro-vm-viewer"}
    # in the order the VMO documentation lists them
    assert personas.ROLE_SETS["kubernetes"] == {
        "admin": "cluster-admin", "power-user": "admin", "user": "edit", "viewer": "view"}
    assert personas.persona_for_role("kubernetes", "edit") == "user"
    assert personas.persona_for_role("vmo", "edit") is None
    assert personas.LEGACY_DASHBOARD_ROLES == ("spectro-list-namespaces", "spectro-list-vmtemplates")
    assert set(personas.PRIVILEGED_GROUPS) == {"system:authenticated", "system:unauthenticated",
                                              "system:serviceaccounts"}
    assert personas.PRIVILEGED_USERS == ("system:anonymous",)


@pytest.mark.parametrize("persona", personas.PERSONAS)
@pytest.mark.parametrize("capability", personas.CAPABILITY_ORDER)
def test_reference_roles_satisfy_the_matrix_exactly(persona, capability):
    rules = REFERENCE[personas.ROLE_SETS["vmo"][persona]]["rules"]
    expected = personas.EXPECTED["vmo"][persona][capability]
    for check in personas.CAPABILITIES[capability]["checks"]:
        assert personas.rules_allow(rules, *check) is expected, (persona, capability, check)


def test_reference_roles_are_well_formed_and_least_privilege():
    roles = personas.reference_cluster_roles()
    names = [r["metadata"]["name"] for r in roles]
    assert names == ["spectro-vm-admin", "spectro-vm-power-user", "spectro-vm-user", "spectro-vm-viewer",
                     "spectro-list-namespaces", "spectro-list-vmtemplates"]
    for role in roles:
        assert role["apiVersion"] == "rbac.authorization.k8s.io/v1" and role["kind"] == "ClusterRole"
        assert role["metadata"]["labels"] == personas.REFERENCE_LABELS
        assert role["metadata"]["annotations"]["vmo.rbac/description"]
        assert role["rules"]
        for rule in role["rules"]:
            assert set(rule) == {"apiGroups", "resources", "verbs"}
            for field in ("apiGroups", "resources", "verbs"):
                assert rule[field] and all("*" not in v for v in rule[field]), (role["metadata"]["name"], rule)
    # reference_cluster_roles() hands out copies: changing one does not change the next
    roles[0]["rules"][0]["verbs"].append("escalate")
    assert "escalate" not in personas.reference_cluster_roles()[0]["rules"][0]["verbs"]


def test_personas_are_nested():
    """Each persona may do everything the next one down may (rule atoms are supersets)."""
    order = [REFERENCE[personas.ROLE_SETS["vmo"][p]]["rules"] for p in personas.PERSONAS]
    atoms = [set(personas.normalize_rules(r)) for r in order]
    for upper, lower in zip(atoms, atoms[1:]):
        assert lower < upper


def test_no_persona_below_admin_can_escalate():
    dangerous = [("create", "rbac.authorization.k8s.io", "clusterrolebindings", ""),
                 ("create", "rbac.authorization.k8s.io", "rolebindings", ""),
                 ("bind", "rbac.authorization.k8s.io", "clusterroles", ""),
                 ("escalate", "rbac.authorization.k8s.io", "clusterroles", ""),
                 ("impersonate", "", "users", ""), ("get", "", "secrets", ""), ("create", "", "pods", "")]
    for persona in ("power-user", "user", "viewer"):
        rules = REFERENCE[personas.ROLE_SETS["vmo"][persona]]["rules"]
        for check in dangerous:
            assert not personas.rules_allow(rules, *check), (persona, check)


LEGACY = {
    "spectro-list-namespaces": ("", "namespaces"),
    "spectro-list-vmtemplates": ("spectrocloud.com", "vmtemplates"),
}


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_roles_grant_only_what_they_say(name):
    group, resource = LEGACY[name]
    rules = REFERENCE[name]["rules"]
    assert set(personas.normalize_rules(rules)) == {(v, group, resource, "") for v in ("get", "list", "watch")}
    for verb in ("get", "list", "watch"):
        assert personas.rules_allow(rules, verb, group, resource)
    for verb in ("create", "update", "patch", "delete", "deletecollection", "escalate", "bind"):
        assert not personas.rules_allow(rules, verb, group, resource)
    for cap in personas.CAPABILITIES.values():
        for check in cap["checks"]:
            assert not personas.rules_allow(rules, *check)
    other_group = "spectrocloud.com" if group == "" else ""
    assert not personas.rules_allow(rules, "get", other_group, resource)


# ----------------------------------------------------------- the rule evaluator itself

# Expected values follow Kubernetes' RBAC authorizer (pkg/apis/rbac/v1/evaluation_helpers.go:
# VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches).
EVAL = [
    ({"verbs": ["get"], "apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"]},
     ("get", "kubevirt.io", "virtualmachines", ""), True),
    ({"verbs": ["get"], "apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"]},
     ("list", "kubevirt.io", "virtualmachines", ""), False),
    ({"verbs": ["*"], "apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"]},
     ("delete", "kubevirt.io", "virtualmachines", ""), True),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["virtualmachines"]},
     ("get", "other.io", "virtualmachines", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["virtualmachines"]},
     ("get", "kubevirt.io", "virtualmachines", ""), False),
    # a resource rule does not cover its subresources...
    ({"verbs": ["get"], "apiGroups": ["subresources.kubevirt.io"], "resources": ["virtualmachineinstances"]},
     ("get", "subresources.kubevirt.io", "virtualmachineinstances", "console"), False),
    # ...but '*' covers everything, subresources included
    ({"verbs": ["get"], "apiGroups": ["subresources.kubevirt.io"], "resources": ["*"]},
     ("get", "subresources.kubevirt.io", "virtualmachineinstances", "console"), True),
    # '*/sub' matches that subresource of any resource
    ({"verbs": ["get"], "apiGroups": ["subresources.kubevirt.io"], "resources": ["*/console"]},
     ("get", "subresources.kubevirt.io", "virtualmachineinstances", "console"), True),
    ({"verbs": ["get"], "apiGroups": ["subresources.kubevirt.io"], "resources": ["*/console"]},
     ("get", "subresources.kubevirt.io", "virtualmachineinstances", "vnc"), False),
    ({"verbs": ["get"], "apiGroups": ["subresources.kubevirt.io"], "resources": ["*/console"]},
     ("get", "subresources.kubevirt.io", "virtualmachineinstances", ""), False),
    # 'resource/*' is not an RBAC wildcard: only the literal subresource named '*' would match
    ({"verbs": ["get"], "apiGroups": ["subresources.kubevirt.io"], "resources": ["virtualmachineinstances/*"]},
     ("get", "subresources.kubevirt.io", "virtualmachineinstances", "console"), False),
    # a rule restricted to resource names never allows a request without a name
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["team-a"]},
     ("get", "", "namespaces", ""), False),
    ({"verbs": [], "apiGroups": [""], "resources": ["namespaces"]}, ("get", "", "namespaces", ""), False),
    ({}, ("get", "", "namespaces", ""), False),
]


@pytest.mark.parametrize("rule, check, expected", EVAL)
def test_rule_evaluator_follows_kubernetes(rule, check, expected):
    assert personas.rule_allows(rule, *check) is expected
    assert personas.rules_allow([{"verbs": ["nothing"]}, rule], *check) is expected


def test_rules_allow_on_nothing():
    assert personas.rules_allow(None, "get", "", "pods") is False
    assert personas.rules_allow([], "get", "", "pods") is False


def test_normalize_rules_is_order_insensitive():
    a = [{"verbs": ["get", "list"], "apiGroups": ["x"], "resources": ["a", "b"]},
         {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]
    b = [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
         {"verbs": ["list"], "apiGroups": ["x"], "resources": ["b", "a"]},
         {"verbs": ["get"], "apiGroups": ["x"], "resources": ["a", "b"]}]
    assert personas.normalize_rules(a) == personas.normalize_rules(b)
    assert ("get", "", "url:/healthz", "") in personas.normalize_rules(a)
    assert personas.normalize_rules(None) == ()


def test_default_matrix_is_plain_data_and_a_copy():
    m = personas.default_matrix("vmo")
    assert set(m) == {"capabilities", "expect"}
    assert m["capabilities"]["vm.view"]["checks"][0] == {
        "verb": "get", "group": "kubevirt.io", "resource": "virtualmachines", "subresource": ""}
    assert m["expect"] == personas.EXPECTED["vmo"]
    m["expect"]["viewer"]["vm.delete"] = True
    m["capabilities"]["vm.view"]["checks"].clear()
    assert personas.EXPECTED["vmo"]["viewer"]["vm.delete"] is False
    assert personas.default_matrix("vmo")["capabilities"]["vm.view"]["checks"]
    assert personas.default_matrix("kubernetes")["expect"] == personas.EXPECTED["kubernetes"]


def test_kubevirt_aggregated_roles_meet_the_kubernetes_matrix():
    """The test fixture's kubevirt.io:admin|edit|view, aggregated as the controller manager
    does (admin includes edit includes view), give the standard roles the capabilities the
    kubernetes role set expects; cluster-admin may do everything."""
    fixture = {d["metadata"]["name"]: d for d in yaml.safe_load_all(
        (ROOT / "tests" / "fixtures" / "kubevirt-roles.yaml").read_text()) if d}
    view = fixture["kubevirt.io:view"]["rules"]
    edit = view + fixture["kubevirt.io:edit"]["rules"]
    admin = edit + fixture["kubevirt.io:admin"]["rules"]
    rules = {"admin": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
             "power-user": admin, "user": edit, "viewer": view}
    for persona, expected in personas.EXPECTED["kubernetes"].items():
        for capability, allowed in expected.items():
            for check in personas.CAPABILITIES[capability]["checks"]:
                assert personas.rules_allow(rules[persona], *check) is allowed, (persona, capability, check)
