"""KubeVirt's roles as KubeVirt's own cluster.go generates them (tests/tools/kubevirtroles).

These hold the tool to what is known of each release (docs/development.md, "KubeVirt's roles per
release"): the aggregation labels of admin/edit/view, migration moving out of admin and edit into a
kubevirt.io:migrate role of its own in v1.5.0, and a warm run that starts no Go command.
"""

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from tests.helpers import kubevirt_roles

AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def _allows(role, verb, group, resource, sub=""):
    return personas.rules_allow(role.get("rules"), verb, group, resource, sub)


@pytest.mark.parametrize("version", kubevirt_roles.VERSIONS)
def test_generated_roles_carry_their_aggregation_labels(version):
    roles = kubevirt_roles.cluster_roles(version)
    for target in ("admin", "edit", "view"):
        labels = roles["kubevirt.io:" + target]["metadata"]["labels"]
        assert labels[AGGREGATE + target] == "true"
        assert [k for k in labels if k.startswith(AGGREGATE)] == [AGGREGATE + target]
    assert {"kubevirt.io:default", "instancetype.kubevirt.io:view"} <= set(roles)
    bindings = [o for o in kubevirt_roles.objects(version) if o["kind"] == "ClusterRoleBinding"]
    assert {b["metadata"]["name"] for b in bindings} == {"kubevirt.io:default", "instancetype.kubevirt.io:view"}
    assert all(b["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                  "name": "system:authenticated"}] for b in bindings)
    assert all("creationTimestamp" not in o["metadata"] for o in kubevirt_roles.objects(version))


@pytest.mark.parametrize("version", kubevirt_roles.VERSIONS)
def test_migration_left_admin_and_edit_in_v1_5_0(version):
    roles = kubevirt_roles.cluster_roles(version)
    split = tuple(int(p) for p in version[1:].split(".")) >= (1, 5, 0)
    for name in ("kubevirt.io:admin", "kubevirt.io:edit"):
        assert _allows(roles[name], "update", "subresources.kubevirt.io", "virtualmachines", "migrate") is not split
        assert _allows(roles[name], "create", "kubevirt.io", "virtualmachineinstancemigrations") is not split
        # every release: edit creates, patches and deletes VMs, exports them and restores snapshots
        for verb in ("create", "patch", "delete"):
            assert _allows(roles[name], verb, "kubevirt.io", "virtualmachines")
        assert _allows(roles[name], "create", "export.kubevirt.io", "virtualmachineexports")
        assert _allows(roles[name], "create", "snapshot.kubevirt.io", "virtualmachinerestores")
        assert _allows(roles[name], "create", "pool.kubevirt.io", "virtualmachinepools")
    assert ("kubevirt.io:migrate" in roles) is split
    if split:
        migrate = roles["kubevirt.io:migrate"]
        assert not any(k.startswith(AGGREGATE) for k in migrate["metadata"]["labels"])
        assert _allows(migrate, "update", "subresources.kubevirt.io", "virtualmachines", "migrate")
        assert _allows(migrate, "create", "kubevirt.io", "virtualmachineinstancemigrations")
    view = roles["kubevirt.io:view"]
    assert _allows(view, "get", "subresources.kubevirt.io", "virtualmachineinstances", "guestosinfo")
    assert not _allows(view, "get", "subresources.kubevirt.io", "virtualmachineinstances", "console")
    assert not _allows(view, "create", "export.kubevirt.io", "virtualmachineexports")


def test_a_current_build_starts_no_go_command(monkeypatch):
    version = kubevirt_roles.VERSIONS[-1]
    kubevirt_roles.build(version)

    def no_go(*_args, **_kwargs):
        raise AssertionError("a warm run started the Go toolchain")

    monkeypatch.setattr(kubevirt_roles, "_go", no_go)
    assert "kubevirt.io:view" in kubevirt_roles.roles_yaml(version)


@pytest.mark.parametrize("version", ["1.6.0", "v1.6", "v1.6.0; rm -rf /", "latest", "", None, "../v1.6.0"])
def test_only_exact_versions_are_built(version):
    with pytest.raises(kubevirt_roles.BuildError, match="exact release"):
        kubevirt_roles.build(version)
