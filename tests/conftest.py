"""Shared pytest fixtures.

The ``clusters`` session fixture starts the local control plane once per run (or reuses
clusters started with ``make cluster-up``) and stops, at the end, only what it started.
Its processes are started with a parent-death signal, so a crashed or killed test run
leaves no orphans. A missing Go toolchain or control plane is a failure, never a skip.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".build" / "collections"
if not (COLLECTIONS / "ansible_collections" / "vmo" / "rbac").exists():
    raise RuntimeError("the collection is not linked at %s; run the tests through `make test` "
                       "(or `make collection` once)" % COLLECTIONS)
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(ROOT))

from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers.kube import KUBEVIRT_CRDS, KUBEVIRT_ROLES, REFERENCE_ROLES, TestCluster  # noqa: E402

CLUSTER_COUNT = int(os.environ.get("VMO_TEST_CLUSTERS", "3"))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("vmo")


@pytest.fixture(scope="session")
def clusters(workdir):
    """All local clusters (vmo-1..N), each with KubeVirt-like CRDs and aggregated roles, and the
    reference spectro-vm-* roles (as the VMO pack would install them)."""
    names = cp.cluster_names(CLUSTER_COUNT)
    try:
        running, started = cp.up(names, owned=True)
    except cp.ControlPlaneError as exc:
        pytest.exit("the local control plane could not start: %s" % exc, returncode=3)
    handles = [TestCluster.from_controlplane(c, workdir) for c in running]
    for h in handles:
        h.apply_manifest(KUBEVIRT_CRDS)
        h.apply_manifest(REFERENCE_ROLES)
        h.apply_manifest(KUBEVIRT_ROLES)
    for h in handles:
        h.wait_for_aggregation()
    yield handles
    if started:
        cp.down([c.name for c in started])


@pytest.fixture(scope="session")
def bare_cluster(clusters, workdir):
    """A cluster without the VMO roles (a plain KubeVirt cluster, or day-0 before the pack).

    Started on first use; only the KubeVirt-like aggregated roles are installed.
    """
    try:
        running, started = cp.up(["vmo-bare"], owned=True)
    except cp.ControlPlaneError as exc:
        pytest.exit("the bare cluster could not start: %s" % exc, returncode=3)
    handle = TestCluster.from_controlplane(running[0], workdir)
    handle.apply_manifest(KUBEVIRT_CRDS)
    handle.apply_manifest(KUBEVIRT_ROLES)
    yield handle
    if started:
        cp.down(["vmo-bare"])


@pytest.fixture(scope="session")
def cluster(clusters):
    """The first local cluster (vmo-1)."""
    return clusters[0]


@pytest.fixture
def uid():
    """A short unique suffix for names a test creates."""
    return uuid.uuid4().hex[:6]


@pytest.fixture
def owner(uid):
    """A unique owner label value, so tests never see each other's bindings."""
    return "t-" + uid


@pytest.fixture
def namespaces(cluster, uid):
    """Factory: make namespaces with a test-unique prefix; they are deleted afterwards."""
    made = []

    def make(*names, labels=None):
        out = []
        for n in names:
            full = "%s-%s" % (n, uid)
            cluster.namespace(full, labels)
            made.append(full)
            out.append(full)
        return out if len(out) != 1 else out[0]

    yield make
    for n in made:
        cluster.delete_namespace(n)


@pytest.fixture
def admin_identity(cluster, uid):
    """A cluster-admin identity of its own, so this test's requests stand apart in the audit log."""
    return cluster.identity("it-admin-" + uid)
