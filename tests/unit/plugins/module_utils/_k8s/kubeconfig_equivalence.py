"""The connection a vmo.rbac Cluster makes from a kubeconfig: by the static reader
(plugins/module_utils/_k8s/kubeconfig.py) and by the official kubernetes client, side by side.

``outcome(params, route)`` builds a ``cluster.Cluster`` from the module's connection options
and describes everything that decides the requests it will send: the URL, the urllib3 pool
(class and every keyword argument, the CA, client certificate and key files by *content*, never
by path: the two sides write their own temporary files for ``-data`` fields), the TLS settings, the
Authorization header, impersonation headers, and the credential description used in messages.
``route="client"`` makes cluster.py hand the kubeconfig to the client (what it does for shapes the
reader does not prove), ``route="static"`` lets it choose as it does in production.

Run as a script, it prints that description as JSON for one case, in a fresh interpreter: the
environment (KUBECONFIG, HOME, proxies, in-cluster variables) is then read as a module process
reads it (the client takes KUBECONFIG when it is imported), and the result says whether the
``kubernetes`` package was imported.

    python tests/unit/plugins/module_utils/_k8s/kubeconfig_equivalence.py '{"params": {...}, "route": "static", "cwd": "/dir"}'
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
if str(ROOT / ".build" / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".build" / "collections"))

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import kubeconfig as static_kubeconfig

FILE_ARGS = ("ca_certs", "cert_file", "key_file")
# A client series a proof run treats as proven besides the reader's own (tests/unit/plugins/module_utils/_k8s/kubeconfig_series.py).
PROVE_SERIES_ENV = "VMO_TEST_PROVE_KUBERNETES_SERIES"


def prove_series(environ=os.environ):
    """Add the series a proof run names (``"24."``) to the reader's proven ones, in this process."""
    series = environ.get(PROVE_SERIES_ENV)
    if series and series not in static_kubeconfig.PROVEN_CLIENT_SERIES:
        static_kubeconfig.PROVEN_CLIENT_SERIES = tuple(static_kubeconfig.PROVEN_CLIENT_SERIES) + (series,)


prove_series()


def _content(path):
    """A file's bytes (base64, so that the description is JSON), or None."""
    if not path:
        return None
    try:
        return base64.b64encode(Path(path).read_bytes()).decode()
    except OSError as exc:
        return "<unreadable: %s>" % exc.strerror


def _none_by_default():
    """The keyword arguments of urllib3's HTTPS pool and connection whose default is None: given as None,
    they change nothing (kubernetes 37 passes ``ca_cert_data=None``, the reader leaves it out)."""
    import inspect  # pylint: disable=import-outside-toplevel

    import urllib3  # pylint: disable=import-outside-toplevel

    names = set()
    for init in (urllib3.HTTPSConnectionPool.__init__, urllib3.connection.HTTPSConnection.__init__):
        for name, param in inspect.signature(init).parameters.items():
            if param.default is None:
                names.add(name)
    return names


NONE_BY_DEFAULT = _none_by_default()


def describe(c):
    """What decides the requests of Cluster ``c``."""
    cfg = c.cfg
    # Read the configuration before asking it for a header: the client's loader installs a refresh
    # hook that re-applies the kubeconfig's settings to the Configuration object on every token
    # lookup (after the pool was built from it, so it changes nothing the requests use).
    pool_kw = {}
    for k, v in sorted(c.pool.connection_pool_kw.items()):
        if v is None and k in NONE_BY_DEFAULT and k not in FILE_ARGS:
            continue  # the same as not given
        pool_kw[k] = _content(v) if k in FILE_ARGS else (repr(v) if v is not None else None)
    view = {
        "url": c.host,
        "pool": type(c.pool).__name__,
        "pool_kw": pool_kw,
        "proxy": str(getattr(c.pool, "proxy", None) or "") or None,
        "verify_ssl": bool(cfg.verify_ssl),
        "tls_server_name": getattr(cfg, "tls_server_name", None) or None,  # kubernetes < 26 has none
        "ca": _content(cfg.ssl_ca_cert),
        "client_cert": _content(cfg.cert_file),
        "client_key": _content(cfg.key_file),
        "credentials": cluster.describe_credentials(cfg, c.params),
    }
    headers = c._headers("application/json", False)  # pylint: disable=protected-access
    view["authorization"] = headers.get("Authorization")
    view["impersonation"] = headers.getlist("Impersonate-User") + headers.getlist("Impersonate-Group")
    return view


def outcome(params, route):
    """{"connection": view} or {"error": message}; plus the reader's own answer for ``params``."""
    read = static_kubeconfig.read
    decision = _safe_decision(params)
    try:
        if route == "client":
            static_kubeconfig.read = lambda p, environ=None: (None, "forced by the test")
        try:
            c = cluster.Cluster(dict(params), component="equivalence")
        finally:
            static_kubeconfig.read = read
        view = describe(c)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure is an outcome
        return {"error": "%s: %s" % (type(exc).__name__, exc), "decision": decision}
    if view["authorization"]:
        try:
            value = view["authorization"].encode("latin-1")
        except UnicodeEncodeError:
            return {"error": "the Authorization header cannot be sent (not Latin-1)", "decision": decision}
        if http.client._is_illegal_header_value(value):  # pylint: disable=protected-access
            # http.client refuses to send it (ValueError, with the header's value in its message).
            return {"error": "the Authorization header cannot be sent (a line break in the token)",
                    "decision": decision}
    return {"connection": view, "decision": decision}


def _decision(params):
    try:
        cfg, reason = static_kubeconfig.read(params)
    except static_kubeconfig.KubeconfigError as exc:
        return {"route": "error", "message": exc.message}
    return {"route": "static", "source": cfg.source} if cfg is not None else {"route": "client", "reason": reason}


def _safe_decision(params):
    try:
        return _decision(params)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return {"route": "crash", "message": "%s: %s" % (type(exc).__name__, exc)}


def main(argv):
    req = json.loads(argv[1])
    if req.get("cwd"):
        os.chdir(req["cwd"])
    out = outcome(req["params"], req["route"])
    out["kubernetes_loaded"] = "kubernetes" in sys.modules
    out["temp_files"] = sorted(static_kubeconfig._TEMP_FILES.values())  # pylint: disable=protected-access
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
