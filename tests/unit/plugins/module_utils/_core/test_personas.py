"""The personas, the capability matrix and the reference roles that must satisfy it exactly."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access
from tests.helpers import kubevirt_roles

ROOT = Path(__file__).resolve().parents[5]
REFERENCE = {r["metadata"]["name"]: r for r in personas.reference_cluster_roles()}

# The VMO matrix as docs/personas.md explains it from VMO's persona descriptions, written out here
# independently of personas.py: Y = every check allowed, N = every check denied, O = either answer is
# right (VMO does not say whether its admin may reach every pod through the kubelet, or grant and
# assume any power; the reference role may not).
DOC_MATRIX = """
capability           admin power-user user viewer
vm.view              Y     Y          Y    Y
vm.guest-info        Y     Y          Y    Y
vm.console           Y     Y          Y    N
vm.screenshot        Y     Y          Y    N
vm.power             Y     Y          Y    N
vm.reset             Y     Y          Y    N
vm.guest-power       Y     Y          Y    N
vm.create            Y     Y          N    N
vm.edit              Y     Y          N    N
vm.delete            Y     Y          N    N
vm.delete-all        Y     Y          N    N
vm.clone             Y     Y          N    N
vm.migrate           Y     Y          N    N
vm.snapshot          Y     Y          N    N
vm.restore           Y     Y          N    N
vm.export            Y     Y          N    N
vm.backup            Y     Y          N    N
vm.memory-dump       Y     Y          N    N
vm.port-forward      Y     Y          Y    N
vm.usbredir          Y     Y          Y    N
vm.volumes           Y     Y          N    N
vm.sev               Y     Y          N    N
vm.plugins           Y     N          N    N
vm.pod-exec          Y     N          N    N
vm.console-log       Y     N          N    N
vm.pod-debug         Y     N          N    N
vm.pod-network       Y     N          N    N
vm.pod-create        Y     N          N    N
vm.pod-delete        Y     N          N    N
vm.pvc-create        Y     Y          N    N
vm.disk-clone        Y     Y          N    N
vm.secrets           Y     N          N    N
vm.service-accounts  Y     N          N    N
template.deploy      Y     Y          N    N
template.manage      Y     N          N    N
vm.node-proxy        O     N          N    N
rbac.escalate        O     N          N    N
cluster.manage       Y     N          N    N
"""

# Every path to a VM that issue 19 names (and the attack pass added), as (verb, group, resource,
# subresource): each must be a check of some capability, so that a hand-made grant of any one of them
# to a persona that must not have it fails validation.
PATHS_TO_A_VM = [
    ("update", "kubevirt.io", "virtualmachines", ""), ("patch", "kubevirt.io", "virtualmachines", ""),
    ("update", "kubevirt.io", "virtualmachineinstances", ""), ("patch", "kubevirt.io", "virtualmachineinstances", ""),
    ("create", "export.kubevirt.io", "virtualmachineexports", ""),
    ("update", "subresources.kubevirt.io", "virtualmachines", "memorydump"),
    ("get", "subresources.kubevirt.io", "virtualmachines", "portforward"),
    ("get", "subresources.kubevirt.io", "virtualmachineinstances", "portforward"),
    ("get", "subresources.kubevirt.io", "virtualmachineinstances", "usbredir"),
    ("get", "subresources.kubevirt.io", "virtualmachineinstances", "vnc/screenshot"),
    ("get", "subresources.kubevirt.io", "virtualmachineinstances", "guestosinfo"),
    ("get", "subresources.kubevirt.io", "virtualmachineinstances", "userlist"),
    ("get", "subresources.kubevirt.io", "virtualmachineinstances", "filesystemlist"),
    ("update", "subresources.kubevirt.io", "virtualmachines", "addvolume"),
    ("update", "subresources.kubevirt.io", "virtualmachines", "removevolume"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "addvolume"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "removevolume"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "pause"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "unpause"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "freeze"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "unfreeze"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "reset"),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "softreboot"),
    ("create", "snapshot.kubevirt.io", "virtualmachinerestores", ""),
    ("create", "backup.kubevirt.io", "virtualmachinebackups", ""),
    ("create", "pool.kubevirt.io", "virtualmachinepools", ""), ("update", "pool.kubevirt.io", "virtualmachinepools", ""),
    ("create", "", "pods", "exec"), ("get", "", "pods", "exec"), ("create", "", "pods", "attach"),
    ("get", "", "pods", "attach"), ("create", "", "pods", "portforward"), ("get", "", "pods", "portforward"),
    ("update", "", "pods", "ephemeralcontainers"), ("create", "", "pods", ""), ("create", "apps", "deployments", ""),
    ("create", "batch", "jobs", ""), ("create", "", "persistentvolumeclaims", ""),
    ("create", "cdi.kubevirt.io", "datavolumes", "source"), ("get", "", "secrets", ""), ("list", "", "secrets", ""),
    ("create", "", "serviceaccounts", "token"), ("deletecollection", "kubevirt.io", "virtualmachines", ""),
    ("update", "subresources.kubevirt.io", "virtualmachineinstances", "sev/injectlaunchsecret"),
    ("create", "plugin.kubevirt.io", "plugins", ""), ("get", "", "pods", "log"), ("create", "", "nodes", "proxy"),
    ("impersonate", "", "users", ""), ("bind", "rbac.authorization.k8s.io", "clusterroles", ""),
    ("impersonate", "", "serviceaccounts", ""),
]


def _doc_matrix():
    lines = DOC_MATRIX.strip().splitlines()
    header = lines[0].split()[1:]
    return {row.split()[0]: dict(zip(header, [c == "Y" for c in row.split()[1:]])) for row in lines[1:]}


def test_matrix_is_the_documented_one():
    doc = _doc_matrix()
    assert list(personas.CAPABILITY_ORDER) == list(doc)
    for persona in personas.PERSONAS:
        assert personas.EXPECTED["vmo"][persona] == {cap: doc[cap][persona] for cap in doc}
    # either answer passes: where VMO's own description of its personas does not name the capability
    # and the persona may have it, the console (Palette's caution), and the admin's escalation
    named = ("vm.view", "vm.console", "vm.power", "vm.create", "vm.clone", "vm.delete", "vm.migrate",
             "vm.snapshot", "template.deploy", "template.manage", "cluster.manage")
    optional = set((row.split()[0], p) for row in DOC_MATRIX.strip().splitlines()[1:]
                   for p, cell in zip(personas.PERSONAS, row.split()[1:])
                   if cell == "O" or (cell == "Y" and row.split()[0] not in named))
    optional |= set((c, p) for c in ("vm.console", "vm.screenshot") for p in ("admin", "power-user", "user"))
    assert optional == set((c, p) for p, caps in personas.OPTIONAL["vmo"].items() for c in caps)
    assert personas.OPTIONAL["kubernetes"] == {}
    assert {name for name, cap in personas.CAPABILITIES.items() if cap["scope"] == "cluster"} == {
        "vm.plugins", "vm.node-proxy", "rbac.escalate", "cluster.manage"}
    assert {name for name, cap in personas.CAPABILITIES.items() if cap["scope"] == "golden-image"} == \
        {"template.deploy"}
    assert set(cap["scope"] for cap in personas.CAPABILITIES.values()) == set(personas.SCOPES)


def test_every_path_to_a_vm_is_a_check():
    checks = set(c for cap in personas.CAPABILITIES.values() for c in cap["checks"])
    assert [p for p in PATHS_TO_A_VM if p not in checks] == []


def test_capabilities_are_well_formed():
    for name, cap in personas.CAPABILITIES.items():
        assert set(cap) == {"scope", "description", "why", "checks"}, name
        assert cap["description"] and cap["why"], name
        assert len(set(cap["checks"])) == len(cap["checks"]), name  # each check once
        for verb, group, resource, sub in cap["checks"]:
            assert verb and resource and "/" not in resource and "*" not in verb + group + resource + sub


def test_kubevirt_changes_name_releases_and_kubernetes_personas():
    for cap, (since, who, after) in personas.KUBEVIRT_CHANGES.items():
        assert cap in personas.CAPABILITIES and since <= personas.NEWEST_KUBEVIRT
        assert set(who) <= {"power-user", "user"}  # cluster-admin may do everything, view nothing changed
        # EXPECTED holds the newest release line
        assert all(personas.EXPECTED["kubernetes"][p][cap] is after for p in who)
        line_before = (None, since)
        line_after = (since, None)
        for p in who:
            assert personas.kubevirt_expectation("kubernetes", p, cap, line_after) is after
            assert personas.kubevirt_expectation("kubernetes", p, cap, line_before) is (not after)
            assert personas.kubevirt_expectation("kubernetes", p, cap, None) is None
            assert personas.kubevirt_expectation("vmo", p, cap, None) is personas.EXPECTED["vmo"][p][cap]
        # a persona the change does not touch is decided without the release
        assert personas.kubevirt_expectation("kubernetes", "admin", cap, None) is True


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


@pytest.mark.parametrize("role, expected", [
    (personas.console_cluster_role(), personas.CONSOLE_EXPECTED),
    (personas.golden_image_cluster_role(), personas.GOLDEN_IMAGE_EXPECTED),
], ids=["console", "golden-image"])
def test_console_and_golden_image_roles_grant_exactly_their_capabilities(role, expected):
    for capability, allowed in expected.items():
        for check in personas.CAPABILITIES[capability]["checks"]:
            assert personas.rules_allow(role["rules"], *check) is allowed, (capability, check)
    assert set(personas.normalize_rules(personas.golden_image_cluster_role()["rules"])) == {
        ("create", "cdi.kubevirt.io", "datavolumes/source", ""), ("get", "cdi.kubevirt.io", "datasources", ""),
        ("list", "cdi.kubevirt.io", "datasources", ""), ("watch", "cdi.kubevirt.io", "datasources", "")}


def test_reference_roles_put_pools_in_pool_kubevirt_io():
    for role in personas.reference_cluster_roles():
        for rule in role["rules"]:
            if "virtualmachinepools" in rule["resources"]:
                assert rule["apiGroups"] == ["pool.kubevirt.io"], role["metadata"]["name"]


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


KUBEVIRT_API = {"kubevirt.io", "subresources.kubevirt.io", "pool.kubevirt.io", "clone.kubevirt.io",
                "snapshot.kubevirt.io", "export.kubevirt.io", "backup.kubevirt.io", "cdi.kubevirt.io",
                "plugin.kubevirt.io"}


@pytest.mark.parametrize("version", kubevirt_roles.VERSIONS)
def test_kubevirt_generated_roles_meet_the_kubernetes_matrix_of_their_release(version):
    """KubeVirt's kubevirt.io:admin|edit|view as KubeVirt's cluster.go of each release generates them
    (tests/tools/kubevirtroles) and CDI's (the stand-in), aggregated as the controller manager does (admin
    includes edit includes view), give admin, edit and view what the kubernetes role set expects on that
    release line, check by check, for every capability of KubeVirt's and CDI's API (Kubernetes' own rules
    for pods, secrets and ServiceAccounts are asked of a real API server: tests/integration)."""
    roles = kubevirt_roles.cluster_roles(version)
    cdi = {d["metadata"]["name"]: d for d in yaml.safe_load_all(
        (ROOT / "tests" / "fixtures" / "cdi-roles.yaml").read_text()) if d}
    view = roles["kubevirt.io:view"]["rules"] + cdi["cdi.kubevirt.io:view"]["rules"]
    edit = view + roles["kubevirt.io:edit"]["rules"] + cdi["cdi.kubevirt.io:edit"]["rules"]
    admin = edit + roles["kubevirt.io:admin"]["rules"] + cdi["cdi.kubevirt.io:admin"]["rules"]
    rules = {"power-user": admin, "user": edit, "viewer": view}
    release = access.parse_kubevirt_version(version)
    compared = 0
    for persona, granted in rules.items():
        for capability, cap in personas.CAPABILITIES.items():
            if not {c[1] for c in cap["checks"]} <= KUBEVIRT_API:
                continue
            expected = personas.kubevirt_expectation("kubernetes", persona, capability, release)
            for check in cap["checks"]:
                assert personas.rules_allow(granted, *check) is expected, (persona, capability, check)
                compared += 1
    assert compared > 100
