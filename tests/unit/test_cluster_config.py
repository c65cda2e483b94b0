"""Connection configuration: direct credentials never load the kubernetes package (0.6 s of CPU
per module run, tests/bench/bench_startup.py); a kubeconfig or a proxy goes through it."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
sys.path.insert(0, %r)
from ansible_collections.vmo.rbac.plugins.module_utils import cluster
c = cluster.Cluster(json.loads(sys.argv[1]), component="probe")
print(json.dumps({"kubernetes_loaded": "kubernetes" in sys.modules, "type": type(c.cfg).__name__,
                  "host": c.cfg.host, "auth": c._headers("application/json", False).get("Authorization"),
                  "pool": type(c.pool).__name__}))
""" % str(ROOT / ".build" / "collections")


def probe(params):
    """A Cluster built in a fresh interpreter: what it loaded, its configuration, the header it sends."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(params)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_host_and_token_need_no_kubernetes_package():
    out = probe({"host": "https://127.0.0.1:6443/", "api_key": "t0ken", "validate_certs": False})
    assert out == {"kubernetes_loaded": False, "type": "DirectConfiguration", "host": "https://127.0.0.1:6443",
                   "auth": "Bearer t0ken", "pool": "PoolManager"}


def test_a_proxy_goes_through_the_kubernetes_client(tmp_path):
    out = probe({"host": "https://127.0.0.1:6443", "api_key": "t0ken", "validate_certs": False,
                 "proxy": "http://127.0.0.1:3128"})
    assert out["kubernetes_loaded"] is True and out["type"] == "Configuration"
    assert out["pool"] == "ProxyManager" and out["auth"] == "Bearer t0ken"


def test_a_kubeconfig_goes_through_the_kubernetes_client(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:7443", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "from-kubeconfig"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    out = probe({"kubeconfig": str(kubeconfig)})
    assert out["kubernetes_loaded"] is True and out["type"] == "Configuration"
    assert out["host"] == "https://127.0.0.1:7443" and out["auth"] == "Bearer from-kubeconfig"
    assert out["pool"] == "PoolManager"
