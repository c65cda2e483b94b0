"""The shared test kubeconfig is replaced atomically.

Tests start and stop private clusters (cp.up / cp.down rewrite .controlplane/kubeconfig) while
other tests run kubectl with that file. A truncate-then-write let a reader see an empty or half
file: CI once failed test_validate_agreement with 'context "vmo-1" does not exist'. Its rewrites are
also serialized (cp.refresh_kubeconfig under cp.locked), and a cluster removed while being read is
skipped.
"""

import json
import pathlib
import shutil
import stat
import threading

from tests.controlplane import controlplane as cp


def test_readers_never_see_a_partial_kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    big = {"contexts": [{"name": "vmo-%d" % i, "pad": "x" * 2000} for i in range(200)]}
    cp.write_atomically(path, json.dumps(big))
    stop = threading.Event()
    bad = []

    def writer():
        while not stop.is_set():
            cp.write_atomically(path, json.dumps(big))

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(3000):
            text = path.read_text()
            try:
                if json.loads(text)["contexts"][0]["name"] != "vmo-0":
                    bad.append(text[:80])
            except ValueError:
                bad.append(text[:80])
    finally:
        stop.set()
        t.join()
    assert not bad, "%d partial reads, e.g. %r" % (len(bad), bad[0])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"], "no temporary file is left"


def test_write_kubeconfig_uses_the_atomic_write(tmp_path, monkeypatch):
    monkeypatch.setattr(cp, "STATE_DIR", tmp_path)
    monkeypatch.setattr(cp, "KUBECONFIG", tmp_path / "kubeconfig")
    seen = []
    real = cp.write_atomically
    monkeypatch.setattr(cp, "write_atomically", lambda p, text, mode=0o600: (seen.append(p), real(p, text, mode)))
    cp.write_kubeconfig([])
    assert seen == [tmp_path / "kubeconfig"]
    assert json.loads((tmp_path / "kubeconfig").read_text())["kind"] == "Config"


def _fake_cluster(state_dir, name, port):
    """A cluster's state as prepare() leaves it (no processes: the kubeconfig only names its files)."""
    d = state_dir / name
    d.mkdir(parents=True)
    cp.write_atomically(d / "state.json", json.dumps({"name": name, "apiserver_port": port, "pids": {}}), 0o644)


def _contexts(path):
    return sorted(c["name"] for c in json.loads(path.read_text())["contexts"])


def test_a_cluster_started_while_another_is_stopped_keeps_its_context(tmp_path, monkeypatch):
    """Two processes rewrite the kubeconfig from what .controlplane holds: one stops its private
    cluster (down), one starts another (up). Without one lock around read-then-write, the stopper
    read the clusters before the new one was there and wrote after the starter: the running
    cluster's context was gone from the kubeconfig (seen failing: ['vmo-1'] only)."""
    monkeypatch.setattr(cp, "STATE_DIR", tmp_path)
    monkeypatch.setattr(cp, "KUBECONFIG", tmp_path / "kubeconfig")
    monkeypatch.setattr(cp.Cluster, "running", lambda self: True)  # up() reuses what it finds
    _fake_cluster(tmp_path, "vmo-1", 1001)
    _fake_cluster(tmp_path, "whocan-gw1", 1002)
    cp.write_kubeconfig(cp.known_clusters())
    stopper_read, starter_done = threading.Event(), threading.Event()
    real_write = cp.write_kubeconfig

    def write(clusters):
        if threading.current_thread().name == "stopper":
            stopper_read.set()
            starter_done.wait(3)  # the starter runs meanwhile, unless a lock holds it back
        return real_write(clusters)

    monkeypatch.setattr(cp, "write_kubeconfig", write)

    def start():
        stopper_read.wait(10)
        _fake_cluster(tmp_path, "whocan-gw0", 1003)  # what prepare() writes before the API server is up
        cp.up(["whocan-gw0"])
        starter_done.set()

    threads = [threading.Thread(target=lambda: cp.down(["whocan-gw1"]), name="stopper"),
               threading.Thread(target=start, name="starter")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert _contexts(tmp_path / "kubeconfig") == ["vmo-1", "whocan-gw0"]


def test_known_clusters_while_another_process_removes_one(tmp_path, monkeypatch):
    """A cluster's directory removed by another process's down() just before its state.json is read
    is skipped; it made cp.up() of a private cluster (and every fixture reading the clusters) fail
    with FileNotFoundError (seen failing before the fix)."""
    monkeypatch.setattr(cp, "STATE_DIR", tmp_path)
    _fake_cluster(tmp_path, "vmo-1", 1001)
    _fake_cluster(tmp_path, "fault-gw2", 1002)
    real_read = pathlib.Path.read_text

    def read_text(path, *args, **kwargs):
        if path == tmp_path / "fault-gw2" / "state.json":
            shutil.rmtree(tmp_path / "fault-gw2")  # the other process's down() lands here
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", read_text)
    assert [c.name for c in cp.known_clusters()] == ["vmo-1"]
    assert not cp.Cluster("fault-gw2").load()
