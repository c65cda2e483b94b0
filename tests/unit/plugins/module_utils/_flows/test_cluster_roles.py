"""cluster_roles.py: what vmo_cluster_roles plans for the shipped ClusterRoles (pure).

The real control plane runs the module in tests/integration/test_cluster_roles.py.
"""

import copy

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from ansible_collections.vmo.rbac.plugins.module_utils._flows import cluster_roles
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError


def names(roles):
    return [r["metadata"]["name"] for r in roles]


def test_sets_select_the_shipped_roles():
    assert names(cluster_roles.shipped_roles(["console"])) == [personas.CONSOLE_ROLE]
    assert names(cluster_roles.shipped_roles(["legacy"])) == list(personas.LEGACY_DASHBOARD_ROLES)
    assert names(cluster_roles.shipped_roles(["personas"])) == list(personas.ROLE_SETS["vmo"].values())
    assert names(cluster_roles.shipped_roles(["golden-image"])) == [personas.GOLDEN_IMAGE_ROLE]
    assert len(cluster_roles.shipped_roles(list(cluster_roles.ROLE_SETS))) == 8


def test_options():
    assert cluster_roles.parse_options({}).roles == ("console",)
    assert cluster_roles.parse_options({"roles": ["console", "personas", "console"]}).roles == ("console", "personas")
    with pytest.raises(SpecError) as err:
        cluster_roles.parse_options({"roles": []})
    assert err.value.path == "roles"


def test_create_missing_update_owned_leave_foreign():
    wanted = cluster_roles.shipped_roles(["personas", "console"])
    owned_old = copy.deepcopy(wanted[0])
    owned_old["rules"] = owned_old["rules"][:1]  # an older release's rules
    foreign = {"metadata": {"name": "spectro-vm-user", "labels": {"pack": "vmo"}}, "rules": []}
    same = copy.deepcopy(wanted[1])
    live = {"spectro-vm-admin": owned_old, "spectro-vm-power-user": same, "spectro-vm-user": foreign}
    actions = {a.name: a for a in cluster_roles.plan(wanted, live)}
    assert actions["spectro-vm-admin"].action == "update" and "to add" in actions["spectro-vm-admin"].reason
    assert "spectro-vm-power-user" not in actions  # unchanged
    assert actions["spectro-vm-user"].action == "foreign"
    assert actions["spectro-vm-viewer"].action == "create"
    assert actions[personas.CONSOLE_ROLE].action == "create"


def test_absent_deletes_owned_only():
    wanted = cluster_roles.shipped_roles(["personas"])
    foreign = {"metadata": {"name": "spectro-vm-user", "labels": {}}, "rules": []}
    live = {"spectro-vm-admin": copy.deepcopy(wanted[0]), "spectro-vm-user": foreign}
    actions = cluster_roles.plan(wanted, live, "absent")
    assert [(a.name, a.action) for a in actions] == [("spectro-vm-admin", "delete"), ("spectro-vm-user", "foreign")]


def test_an_update_keeps_other_labels_and_sends_the_resource_version():
    wanted = cluster_roles.shipped_roles(["console"])[0]
    current = copy.deepcopy(wanted)
    current["metadata"]["labels"]["team"] = "platform"
    current["metadata"]["resourceVersion"] = "42"
    body = cluster_roles._body(wanted, current)
    assert body["metadata"]["labels"]["team"] == "platform" and body["metadata"]["resourceVersion"] == "42"
    assert cluster_roles.is_owned(body)
    assert "resourceVersion" not in wanted["metadata"]  # the shipped definition is not modified
