"""The palette backend's pure parts: the access checks that ``wait`` asks (module_utils/_palette/backend.py)."""

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._palette import backend as pb
from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import parse_declaration

def _desired(bindings):
    decl = parse_declaration(bindings)
    return plan_scopes.resolve(decl, {"team-a": {}}, set())


def test_each_subject_of_each_binding_is_asked_the_first_rule_of_its_role():
    desired = _desired([{"persona": "viewer", "users": ["bob"], "groups": ["ops"], "namespaces": ["team-a"]},
                        {"cluster_role": "url-reader", "users": ["carol"]}])
    roles = {
        "spectro-vm-viewer": {"rules": [{"verbs": ["get", "list"], "apiGroups": ["kubevirt.io"],
                                         "resources": ["virtualmachines/status"], "resourceNames": ["vm1"]}]},
        "url-reader": {"rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]},
    }
    probes, unprovable = pb.access_probes(desired, roles, {})
    assert unprovable == []
    specs = sorted((p.get("user", ""), p.get("resourceAttributes") or p.get("nonResourceAttributes")) for _l, p in probes)
    assert ("bob", {"verb": "get", "group": "kubevirt.io", "resource": "virtualmachines", "subresource": "status",
                    "name": "vm1", "namespace": "team-a"}) in specs
    assert ("carol", {"verb": "get", "path": "/healthz"}) in specs
    # the Group, as validation asks it: by its groups alone, without a user
    assert any("user" not in p and "ops" in p["groups"] for _l, p in probes)


def test_a_missing_role_or_one_without_rules_cannot_be_waited_for():
    desired = _desired([{"cluster_role": "nothing", "users": ["x"], "namespaces": ["team-a"]},
                        {"cluster_role": "absent", "users": ["y"]}])
    probes, unprovable = pb.access_probes(desired, {"nothing": {"rules": [{"verbs": ["get"],
                                                                           "nonResourceURLs": ["/x"]}]}}, {})
    assert probes == []
    assert sorted(unprovable) == ["ClusterRole absent cluster-wide (the role does not exist on the cluster)",
                                  "ClusterRole nothing in namespace team-a (no rule a check can ask)"]
