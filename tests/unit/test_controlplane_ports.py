"""The local clusters' ports (tests/controlplane/controlplane.py, Cluster.prepare).

Tests start private clusters while others run: every cluster's four ports (etcd client and peer, the
API server, the controller manager) are chosen under the control plane's lock, never a port of another
cluster .controlplane knows, and below the kernel's ephemeral range, where no bind to port 0 and no
outgoing connection of the tests (thousands) can take one before the cluster's process listens on it.
"""

import threading

from tests.controlplane import controlplane as cp

PORTS = ("etcd_client_port", "etcd_peer_port", "apiserver_port", "controller_manager_port")


def _ports(c):
    return [c.state[k] for k in PORTS]


def test_a_cluster_s_ports_are_outside_the_ephemeral_range_and_distinct(tmp_path, monkeypatch):
    """Before: four binds to port 0, each closed at once: ports in the ephemeral range (seen failing),
    and now and then the same port twice in one cluster (5 clusters in 20,000)."""
    monkeypatch.setattr(cp, "STATE_DIR", tmp_path)
    lo, hi = cp._ephemeral_range()  # pylint: disable=protected-access
    for i in range(20):
        c = cp.Cluster("ports-%d" % i)
        c.prepare()
        ports = _ports(c)
        assert len(set(ports)) == 4, ports
        assert all(cp.PORTS_FROM <= p < lo for p in ports), (ports, lo, hi)
        saved = cp.Cluster(c.name)
        assert saved.load() and _ports(saved) == ports, "saved before the lock is released"


def test_clusters_prepared_at_once_never_share_a_port(tmp_path, monkeypatch):
    """Sixteen clusters prepared at the same time from 1,000 ports (64 ports: without the lock and the
    other clusters' ports left out, two would share one about 9 times in 10)."""
    monkeypatch.setattr(cp, "STATE_DIR", tmp_path)
    lo, _hi = cp._ephemeral_range()  # pylint: disable=protected-access
    monkeypatch.setattr(cp, "PORTS_FROM", lo - 1000)
    clusters = [cp.Cluster("at-once-%d" % i) for i in range(16)]
    errors = []

    def prepare(c):
        try:
            c.prepare()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=prepare, args=(c,)) for c in clusters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    ports = [p for c in cp.known_clusters() for p in _ports(c)]
    assert len(ports) == 64 and len(set(ports)) == 64, sorted(ports)
    assert all(lo - 1000 <= p < lo for p in ports)


def test_ports_of_known_clusters_are_never_chosen(monkeypatch):
    taken = set(range(cp.PORTS_FROM, cp._ephemeral_range()[0] - 200))  # pylint: disable=protected-access
    ports = cp._free_ports(4, taken)  # pylint: disable=protected-access
    assert len(set(ports)) == 4 and not set(ports) & taken
