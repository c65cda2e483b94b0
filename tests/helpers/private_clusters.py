"""Clusters of one test process's own, for tests that must see a whole cluster's RBAC.

The who-can tests audit every binding of a cluster ("is every holder declared?"), so they cannot
share vmo-1..3 with tests that add bindings at the same time. Their xdist group ("whocan") runs
them on one worker, which starts its private clusters once (named after the worker, so that two
test runs never share one), prepares them as the shared clusters are (KubeVirt-like CRDs and
aggregated roles, the reference persona roles) and stops them when the worker ends.
"""

from __future__ import annotations

import os

import pytest

from tests.controlplane import controlplane as cp
from tests.helpers import kube

_RUNNING: dict = {}


def private_cluster(request, workdir, tag: str) -> kube.TestCluster:
    """A private cluster ``<tag>-<worker>``, started on first use by this process, stopped at its end."""
    name = "%s-%s" % (tag, os.environ.get("PYTEST_XDIST_WORKER") or "main")
    if name in _RUNNING:
        return _RUNNING[name]
    try:
        running, _started = cp.up([name], owned=True)
    except cp.ControlPlaneError as exc:
        pytest.fail("the private cluster %s could not start: %s" % (name, exc))
    request.config.add_cleanup(lambda: cp.down([name]))
    handle = kube.TestCluster.from_controlplane(running[0], workdir)
    handle.apply_manifest(kube.KUBEVIRT_CRDS)
    handle.apply_manifest(kube.REFERENCE_ROLES)
    handle.install_kubevirt()
    _RUNNING[name] = handle
    return handle
