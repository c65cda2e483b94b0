"""The shared test kubeconfig is replaced atomically.

Tests start and stop private clusters (cp.up / cp.down rewrite .controlplane/kubeconfig) while
other tests run kubectl with that file. A truncate-then-write let a reader see an empty or half
file: CI once failed test_validate_agreement with 'context "vmo-1" does not exist'.
"""

import json
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
