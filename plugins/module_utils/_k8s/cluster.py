# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place that talks to the Kubernetes API server.

Configuration, credentials (kubeconfig, exec plugins, token refresh, in-cluster
service account), TLS and proxies come from the official ``kubernetes`` client. The
requests themselves go to fixed, typed endpoints (``/apis/rbac.authorization.k8s.io/v1
/clusterrolebindings`` ...) through the client's own urllib3 connection pool: no
discovery round trips, so the number of requests a run makes is known in advance.

Why not the generated ``RbacAuthorizationV1Api`` methods: kubernetes 37 switched to a
new code generator (pydantic models, different ``call_api``), so version-independent
code would need two paths, and model (de)serialisation costs more CPU than the
requests themselves when validation runs a thousand SubjectAccessReviews. The JSON
here is exactly what those methods would send.

Thin on purpose: typed calls (LIST, GET, create, update, delete, SubjectAccessReview), every
request path of the collection built here, retries and error mapping; no decisions. What a
409 means (adopt our own object, refuse a foreign one, re-read and retry an update) is the
enforce flow's business (enforce.py).

SubjectAccessReviews (validation asks about a thousand) are pipelined over a couple of
connections of the pool's kind (pipeline.py); what that leaves unanswered is sent again the
ordinary way below, so its retries and errors are those of every other request.

Retries: connection errors, read errors, 429 and 5xx are retried by urllib3's ``Retry``
with exponential backoff (honouring ``Retry-After``), bounded by ``api_retries``.
Error messages name the identity, the verb and the resource, never a credential.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import gc
import hashlib
import json
import os
import re
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

try:
    from urllib.parse import quote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported
    quote = urlsplit = None

KUBERNETES_IMPORT_ERROR = None
try:
    import urllib3
    from importlib.util import find_spec

    try:
        from urllib3 import HTTPHeaderDict
    except ImportError:  # urllib3 1.26 (kubernetes >= 24.2 accepts it) keeps it out of the top level
        from urllib3._collections import HTTPHeaderDict

    if find_spec("kubernetes") is None:
        raise ImportError("No module named 'kubernetes'")
except ImportError as exc:  # pragma: no cover - reported by the modules
    urllib3 = HTTPHeaderDict = None
    KUBERNETES_IMPORT_ERROR = exc

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import exec_plugin, pipeline
from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._http.transport import (
    RETRY_STATUSES, Secrets, read_final_responses, scrub,
)
from ansible_collections.vmo.rbac.plugins.module_utils._http.version import __version__
from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import VmoError
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import CRB


def _kubernetes():
    """The kubernetes package, imported on first use only.

    Importing it loads every API class and model of the client: about 0.7 to 0.9 s of CPU, most
    of a module run (measured in docs/performance.md). Direct credentials (host plus a token or
    a client certificate, what AWX's Kubernetes credential injects) need none of it, nor do kubeconfig
    files with static credentials (module_utils/_k8s/kubeconfig.py); exec and auth-provider plugins, the
    in-cluster service account and proxies go through it.
    """
    import kubernetes.client  # pylint: disable=import-outside-toplevel
    import kubernetes.config  # pylint: disable=import-outside-toplevel

    exec_plugin.install(kubernetes)  # an exec plugin's stderr and answer never reach a message
    return kubernetes


RBAC = "/apis/rbac.authorization.k8s.io/v1"
KUBEVIRT = "/apis/kubevirt.io/v1"
JSON = "application/json"
REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
# Connections that carry pipelined SubjectAccessReviews at once (pipeline.py).
PIPELINES = 2
TEXT = "text/plain"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
METADATA_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
ESCALATE_HINT = (
    "Creating or updating a ClusterRole requires holding every permission it grants, or the 'escalate' verb on "
    "it (files/automation-roles-clusterrole.yaml grants that for the collection's roles only; see docs/security.md)."
)
BIND_HINT = (
    "Granting a role requires holding every permission it grants, or the 'bind' verb on that role "
    "(the shipped ClusterRole vmo-rbac-automation has it for the persona roles; see docs/security.md)."
)


# Times one SubjectAccessReview is asked the ordinary way when its answers are not answers to it.
REVIEW_ATTEMPTS = 3


# A SubjectAccessReview's body is this head, its spec and "}" (subject_access_reviews: 4,512 bodies per fleet host).
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
_REVIEW_HEAD = b'{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":'


def _compact_encoder():
    """A function giving ``_COMPACT_JSON.encode(spec)`` for a spec, byte for byte: the C encoder ``encode``
    makes on every call (``json.encoder.c_make_encoder`` with the same separators, ASCII escapes and
    defaults), made once. Without the C encoder, ``_COMPACT_JSON.encode`` itself."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it
        return _COMPACT_JSON.encode
    enc = _COMPACT_JSON
    # markers None: no check for cycles (a spec is made of mappings, lists and strings; a cycle would end in
    # RecursionError instead of ValueError); encode_basestring_ascii: ensure_ascii, as _COMPACT_JSON
    one = make(None, enc.default, json.encoder.encode_basestring_ascii, None, enc.key_separator,
               enc.item_separator, enc.sort_keys, enc.skipkeys, enc.allow_nan)

    def encode(spec):
        if isinstance(spec, str):  # pragma: no cover - a spec is a mapping; JSONEncoder.encode's own case
            return _COMPACT_JSON.encode(spec)
        return "".join(one(spec, 0))

    return encode


_ENCODE_SPEC = _compact_encoder()


def review_body(spec):
    """The body of the SubjectAccessReview of ``spec``: ``json.dumps(review, separators=(",", ":"))`` of
    ``{"apiVersion": ..., "kind": "SubjectAccessReview", "spec": spec}``, byte for byte."""
    return _REVIEW_HEAD + _ENCODE_SPEC(spec).encode("utf-8") + b"}"


@contextlib.contextmanager
def no_cyclic_gc():
    """Python's cyclic garbage collector off while the block runs (as it was before, after it).

    Why: reading a validation's answers makes about 20 containers per answer (each answer's JSON, its
    managedFields), 90,000 for a fleet host's 4,512 reviews; the collector then runs about every 35 answers
    and, as answers and rows are kept, traverses every object the process holds: in Ansible's worker, a fork
    of the main process, that is the whole inherited heap (and writing its headers copies its pages). Off
    while the reviews are asked and evaluated, one host's validation took 0.84 to 0.87 CPU-seconds instead of
    1.01 to 1.10 (in-process, 150 ms away; docs/performance.md section 9, sixth wave). What is made there
    holds no reference cycles (decoded JSON, bytes, rows), so reference counting frees it as before; any
    cycle made meanwhile is collected at the next collection after the block. Nested or concurrent blocks
    leave the collector as the outermost found it (a block that found it off does not turn it on)."""
    was = gc.isenabled()
    if was:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def review_answers(spec, answer):
    """Whether ``answer`` (a decoded SubjectAccessReview) is the API server's answer to ``spec``.

    The API server echoes the question in its answer (``spec``): the same user, groups and
    attributes, and a ``status`` with a boolean ``allowed``. An answer to another question (a
    connection out of step, a middlebox), or one without a decision, is never taken as the answer:
    a missing ``status`` must not read as "denied"."""
    if not isinstance(answer, dict):
        return False
    status, got = answer.get("status"), answer.get("spec")
    if not isinstance(status, dict) or not isinstance(status.get("allowed"), bool) or not isinstance(got, dict):
        return False
    if got == spec:  # the question echoed as it was asked (most answers): nothing to normalize
        return True
    if (got.get("user") or "") != (spec.get("user") or ""):
        return False
    groups = got.get("groups") or []
    if not isinstance(groups, list) or sorted(map(str, groups)) != sorted(spec.get("groups") or []):
        return False
    for key in ("resourceAttributes", "nonResourceAttributes"):
        have = got.get(key) or {}
        if not isinstance(have, dict):
            return False
        if _set_fields(have) != _set_fields(spec.get(key) or {}):
            return False
    return True


def _set_fields(attrs):
    return dict((k, v) for k, v in attrs.items() if v not in ("", None, {}, []))


class ClusterError(VmoError):
    """A failure talking to the cluster; the message is safe to show (no credentials)."""

    def __init__(self, message, status=None):
        super(ClusterError, self).__init__(message)
        self.message = message
        self.status = status

    def failure(self):
        return {"status": self.status}


class ApiError(ClusterError):
    """A non-2xx answer. ``reason`` is the API server's machine-readable reason."""

    def __init__(self, message, status, reason="", details=None):
        super(ApiError, self).__init__(message, status)
        self.reason = reason
        self.details = details or {}


_scrub = scrub  # every text that leaves this module goes through it

# The most pages of one LIST followed (cluster._list): the collection sends no limit, so a page comes from an API
# server or a middlebox that pages on its own; a list that never ends is an error, not a wait without end.
MAX_LIST_PAGES = 10000


def list_page_items(body):
    """(items, continue token or None) of one LIST answer; (None, what is wrong) when the answer is not a list
    (not an object, ``items`` missing or not a list of objects, ``kind`` not a ``...List``): read as a list it
    would be an empty one, and an empty list of bindings is "nobody", a claim the answer did not make."""
    if not isinstance(body, dict):
        return None, "not a JSON object"
    kind = body.get("kind")
    if not isinstance(kind, str) or not kind.endswith("List"):
        return None, "its kind is %s" % (repr(kind)[:40] if isinstance(kind, str) else "missing")
    items = body.get("items")
    if items is None and "items" in body:
        items = []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None, "its items are %s" % ("missing" if items is None else "not a list of objects")
    meta = body.get("metadata")
    token = meta.get("continue") if isinstance(meta, dict) else None
    if token is not None and not isinstance(token, str):
        return None, "its continue token is not a text"
    return items, token or None


# The environment variables a proxy may come from, by their name in lower case (kubeconfig.PROXY_ENV, which the
# static reader hands a kubeconfig to the client for; here without importing that module and PyYAML).
_PROXY_ENV = ("https_proxy", "http_proxy", "all_proxy")


# ----------------------------------------------------------------- configuration


def build_configuration(params):
    """The connection configuration, by kubernetes.core's rules.

    host + api_key, or host + client_cert/client_key: used directly. Otherwise a
    kubeconfig (the given one, KUBECONFIG, or ~/.kube/config) with the given context,
    or the in-cluster service account when no kubeconfig is given and one is mounted.
    Explicit params override what the kubeconfig says.
    """
    if KUBERNETES_IMPORT_ERROR is not None:
        raise ClusterError("the Python package 'kubernetes' is required (pip install kubernetes): %s"
                           % KUBERNETES_IMPORT_ERROR)
    host = params.get("host")
    # Direct credentials: host with a token or a client certificate; no kubeconfig is read. Without
    # a proxy they need nothing of the kubernetes package either.
    direct = bool(host and (params.get("api_key") or (params.get("client_cert") and params.get("client_key"))))
    # A proxy in the environment: the client's Configuration takes HTTPS_PROXY and HTTP_PROXY (from 34; 37 every
    # *_proxy variable, ALL_PROXY too, in any case), as kubernetes.core's modules do; so direct credentials go
    # through the client then, as a kubeconfig does (kubeconfig.PROXY_ENV), never straight past the proxy.
    proxy_env = any(v and k.lower() in _PROXY_ENV for k, v in os.environ.items())
    # --- static kubeconfig: a kubeconfig with static credentials is read by module_utils/_k8s/kubeconfig.py
    # without importing the kubernetes package (proven equal to the client: tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py);
    # exec, auth-provider, in-cluster, proxies and anything not proven go to the official client below.
    static = None
    if not direct:
        static_kubeconfig = _static_kubeconfig()
        try:
            static, _handed_off_because = static_kubeconfig.read(params)
        except static_kubeconfig.KubeconfigError as exc:
            raise ClusterError(exc.message)
    # --- end of the static kubeconfig
    if static is not None:
        cfg = static
        kubernetes = None
    elif direct and not params.get("proxy") and not proxy_env:
        cfg = transport.ConnectionSettings(host.rstrip("/"), source="direct credentials", certifi=True)
        kubernetes = None
    else:
        kubernetes = _kubernetes()
        cfg = kubernetes.client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    try:
        if direct or static is not None:
            pass
        elif kubeconfig or context:
            _load_kubeconfig(cfg, kubeconfig, context, params.get("persist_config"))
        else:
            try:
                kubernetes.config.load_incluster_config(client_configuration=cfg)
            except kubernetes.config.ConfigException:
                _load_kubeconfig(cfg, None, None, params.get("persist_config"))
    except (OSError, ValueError, TypeError) as exc:
        raise ClusterError("kubeconfig: cannot load %s: %s"
                           % (_kubeconfig_label(kubeconfig), _scrub(_static_kubeconfig().os_error_text(exc))))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        if _is_yaml_error(exc):
            raise ClusterError("kubeconfig: %s is not valid YAML (%s)"
                               % (_kubeconfig_label(kubeconfig), _yaml_problem(exc)))
        if kubernetes is None or not isinstance(exc, kubernetes.config.ConfigException):
            raise
        raise ClusterError("kubeconfig: cannot use %s%s: %s" % (
            _kubeconfig_label(kubeconfig), " with context %r" % context if context else "",
            _scrub(_static_kubeconfig().redact_entries(exc))))

    if host:
        cfg.host = host.rstrip("/")
    if params.get("api_key"):
        cfg.api_key = {"authorization": params["api_key"]}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        cfg.refresh_api_key_hook = None
    if params.get("ca_cert"):
        cfg.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        cfg.cert_file = params["client_cert"]
    if params.get("client_key"):
        cfg.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        cfg.verify_ssl = params["validate_certs"]
    if params.get("proxy"):
        cfg.proxy = params["proxy"]
    if params.get("no_proxy"):
        cfg.no_proxy = params["no_proxy"]
    headers = {k: v for k, v in (params.get("proxy_headers") or {}).items() if v}
    if headers:
        cfg.proxy_headers = urllib3.util.make_headers(**headers)
    if not cfg.host or cfg.host == "http://localhost":
        raise ClusterError("no API server: set host (or K8S_AUTH_HOST), or a kubeconfig with a current context")
    for path_opt, value in (("ca_cert", cfg.ssl_ca_cert), ("client_cert", cfg.cert_file),
                            ("client_key", cfg.key_file)):
        if value and not os.path.exists(value):
            if path_opt == "client_key":  # the key itself, pasted where its path belongs, would be quoted
                raise ClusterError("client_key: no such file (the value is not shown, in case it is the key itself "
                                   "rather than its path)")
            raise ClusterError("%s: file %s does not exist" % (path_opt, value))
    return cfg


def _kubeconfig_label(kubeconfig):
    if isinstance(kubeconfig, dict):
        return "the inline kubeconfig"
    if kubeconfig:
        return "the file %s" % kubeconfig
    return "the default kubeconfig (KUBECONFIG or ~/.kube/config)"


def _is_yaml_error(exc):
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - PyYAML is a requirement
        return False
    return isinstance(exc, yaml.YAMLError)


def _yaml_problem(exc):
    """Where and what, never the offending text itself (a kubeconfig line may hold a token)."""
    mark = getattr(exc, "problem_mark", None)
    where = "line %d, column %d: " % (mark.line + 1, mark.column + 1) if mark is not None else ""
    return where + (getattr(exc, "problem", None) or "unreadable")


def _load_kubeconfig(cfg, kubeconfig, context, persist):
    kubernetes = _kubernetes()
    kwargs = {"context": context, "client_configuration": cfg}
    if persist is not None:
        kwargs["persist_config"] = persist
    with exec_plugin.failures() as failed:
        _load_with_client(kubernetes, cfg, kubeconfig, kwargs)
    if failed and not (cfg.api_key or cfg.cert_file):
        # The client logged the failure and went on without a credential: every request would be
        # system:anonymous's, answered 403. Said as it is, before any request (exec_plugin.py).
        raise ClusterError("kubeconfig: cannot use %s%s: %s" % (
            _kubeconfig_label(kubeconfig), " with context %r" % context if context else "", failed[-1]))


def _load_with_client(kubernetes, cfg, kubeconfig, kwargs):
    if isinstance(kubeconfig, dict):
        kubernetes.config.load_kube_config_from_dict(config_dict=kubeconfig, **kwargs)
    else:
        if kubeconfig and not os.path.exists(os.path.expanduser(kubeconfig)):
            raise ClusterError("kubeconfig: file %s does not exist" % kubeconfig)
        if kubeconfig is None:
            # The client's default, KUBE_CONFIG_DEFAULT_LOCATION, is KUBECONFIG as it was when the kubernetes
            # package was imported: in Ansible's worker (plugin_utils/in_worker.py) the task's environment is
            # set after that when anything imported the package in the process that forks the workers, and
            # the client would read another kubeconfig than the task's (and the static reader's, which reads
            # KUBECONFIG when it runs). The same expression, read now: what a module process's client reads.
            config_file = os.environ.get("KUBECONFIG", "~/.kube/config")
        else:
            config_file = kubeconfig and os.path.expanduser(kubeconfig)
        kubernetes.config.load_kube_config(config_file=config_file, **kwargs)


_STATIC_KUBECONFIG = "ansible_collections.vmo.rbac.plugins.module_utils._k8s.kubeconfig"


def _static_kubeconfig():
    """module_utils/_k8s/kubeconfig.py, imported by a run that reads a kubeconfig: with direct credentials
    neither it nor PyYAML is imported (in Ansible's worker, in_worker.LAZY_IMPORTS imported it once)."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import (  # pylint: disable=import-outside-toplevel
        kubeconfig,
    )
    return kubeconfig


def remove_temp_files():
    """Remove the files that a kubeconfig's ``-data`` fields were handed over in: this collection's
    reader's (module_utils/_k8s/kubeconfig.py; memory-only files on Linux) and the kubernetes client's (exec
    plugins, auth providers, proxies: temporary files of mode 0600). Both remove them at exit; a module
    run in Ansible's worker process (plugin_utils/in_worker.py) calls this when it ends, because the
    worker process ends with os._exit, which skips atexit."""
    static = sys.modules.get(_STATIC_KUBECONFIG)  # not imported: no file of its was made
    if static is not None:
        static.remove_temp_files()
    loader = sys.modules.get("kubernetes.config.kube_config")
    cleanup = getattr(loader, "_cleanup_temp_files", None)
    if cleanup is not None:
        cleanup()


def describe_credentials(cfg, params):
    """A safe description of the credential in use (never the credential itself)."""
    parts = []
    if params.get("context"):
        parts.append("kubeconfig context %r" % params["context"])
    elif isinstance(params.get("kubeconfig"), dict):
        parts.append("inline kubeconfig")
    if cfg.cert_file:
        subject = _cert_subject(cfg.cert_file)
        parts.append("client certificate" + (" %s" % subject if subject else ""))
    # kubernetes' kubeconfig loader keeps a token under "BearerToken", an api_key goes under "authorization"
    elif cfg.api_key and (cfg.api_key.get("authorization") or cfg.api_key.get("BearerToken")):
        parts.append("bearer token")
    if params.get("impersonate_user"):
        parts.append("impersonating %r" % params["impersonate_user"])
    return ", ".join(parts) or "no credentials"


def _cert_subject(path):
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        with open(path, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
        cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        return "CN=%s%s" % (",".join(cn), "".join(", O=" + o for o in orgs))
    except Exception:  # noqa: BLE001 - only for a message
        return ""


# ------------------------------------------------------------------ which API server


_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.S)


def ca_fingerprint(path, verify=True):
    """``sha256:<hex>`` of the CA certificates a connection trusts (each certificate's DER, so the same CA
    written as a file or as a kubeconfig's base64 data is the same), ``system trust store`` without a CA
    file, ``not verified`` with validate_certs false. Public data: never a credential."""
    if not verify:
        return "not verified"
    if not path:
        return "system trust store"
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except (OSError, IOError):
        return "unreadable CA file"
    ders = []
    for body in _PEM_CERT.findall(text):
        try:
            ders.append(base64.b64decode("".join(body.split())))
        except (ValueError, TypeError):
            continue
    digest = hashlib.sha256()
    for der in sorted(ders) or [text.strip().encode("utf-8")]:
        digest.update(hashlib.sha256(der).digest())
    return "sha256:" + digest.hexdigest()


def normalize_server(url):
    """The API server's URL as one spelling: scheme and host in lower case, no default port, no trailing
    slash (a path stays: a proxy such as Rancher's serves many clusters under one host)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        if ":" in host:
            host = "[%s]" % host
        port = parts.port
    except ValueError:
        return url.strip().rstrip("/")
    scheme = parts.scheme.lower()
    default = {"https": 443, "http": 80}.get(scheme)
    netloc = host + (":%d" % port if port and port != default else "")
    return "%s://%s%s" % (scheme, netloc, parts.path.rstrip("/"))


def api_server_fingerprint(host, ca_path, verify):
    """What tells API servers apart in results (``api_server``): the URL, the CA's fingerprint and an id of
    both, so that the fleet report can flag two inventory hosts that reach the same API server."""
    url = normalize_server(host)
    ca = ca_fingerprint(ca_path, verify)
    return {"url": url, "ca": ca, "id": hashlib.sha256(("%s\n%s" % (url, ca)).encode("utf-8")).hexdigest()[:16]}


# ------------------------------------------------------------------------ client


class Cluster(object):
    """A connection to one API server.

    ``secrets``: the run's transport.Secrets (a new one if not given), which learns every credential
    this connection sends (a kubeconfig's token too), so that the caller can scrub its own messages."""

    def __init__(self, params, component="module", pool_size=4, secrets=None):
        self.params = params
        self.secrets = secrets if secrets is not None else Secrets()
        self.secrets.add(params.get("api_key"))
        transport.scrub_logs(self.secrets)  # the kubernetes client logs an exec plugin's stderr (build_configuration)
        self.cfg = build_configuration(params)
        self.cfg.connection_pool_maxsize = max(pool_size, 4)
        self.host = self.cfg.host.rstrip("/")
        if params.get("host") or "://" in self.host:  # a kubeconfig's server: as the client reads it
            try:
                transport.check_url("host", self.host)
            except transport.BadValue as exc:
                if params.get("host"):
                    raise
                raise transport.BadValue("kubeconfig", "the server of its cluster: " + exc.message)
        self.user_agent = "vmo.rbac/%s (%s)" % (__version__, component)
        timeout = params.get("request_timeout") or 30.0
        retries = params.get("api_retries")
        if isinstance(self.cfg, transport.ConnectionSettings):
            pool = self.cfg.pool_manager()
            self._client = None
        else:
            client = _kubernetes().client.ApiClient(self.cfg)
            pool = client.rest_client.pool_manager  # TLS, client certs and proxy as configured
            self._client = client  # keeps temp files of inline kubeconfig certs alive
        self.http = transport.Transport(self.host, pool, transport.retry_policy(5 if retries is None else retries),
                                        urllib3.Timeout(connect=min(10.0, timeout), read=timeout), self.secrets)
        try:  # interim (1xx) responses are read past, never taken as an answer (transport.FinalResponse)
            read_final_responses(self.pool.connection_from_url(self.host))
        except (ValueError, urllib3.exceptions.HTTPError):
            pass  # no pool for this host (a malformed host fails at the first request, with its message)
        self.api_server = api_server_fingerprint(self.host, self.cfg.ssl_ca_cert, self.cfg.verify_ssl)
        self._identity = None
        # one SelfSubjectReview, whichever thread's 403 asks first; the others wait for its answer (RLock: the
        # review's own 403 asks again from the same thread, and gets what the credentials say)
        self._identity_lock = threading.RLock()
        self._checked_token = None
        # What the API server gets in headers, checked before the first request (transport.check_header):
        # http.client would refuse a value with a line break by quoting it in its exception.
        self._authorization(refresh=False)
        for i, value in enumerate([params.get("impersonate_user")] + list(params.get("impersonate_groups") or [])):
            if value:
                transport.check_header("impersonate_user" if i == 0 else "impersonate_groups[%d]" % (i - 1), value,
                                       secret=False)
        # SubjectAccessReviews pipelined (pipeline.py); False: one request at a time per connection.
        self.pipelining = True

    # -------------------------------------------------------------- transport

    @property
    def requests(self):
        """The requests sent so far (retries not counted)."""
        return self.http.requests

    @property
    def pool(self):
        return self.http.pool

    @property
    def retry(self):
        return self.http.retry

    @property
    def timeout(self):
        return self.http.timeout

    def _authorization(self, refresh=True):
        """The Authorization header's value (None without a token), learned by ``secrets`` and checked:
        a token refreshed by an exec plugin or an auth provider is checked when it changes.

        ``refresh=False`` reads the configuration as it is, without the client's refresh hook (which
        also copies the kubeconfig's settings back onto the configuration, as on the first request)."""
        if refresh:
            token = self.cfg.get_api_key_with_prefix("authorization") if self.cfg.api_key else None
            if not token and self.cfg.api_key and self.cfg.api_key.get("BearerToken"):
                token = self.cfg.get_api_key_with_prefix("BearerToken")
        else:
            token = None
            for identifier in ("authorization", "BearerToken"):
                key = (self.cfg.api_key or {}).get(identifier)
                if key:
                    prefix = (self.cfg.api_key_prefix or {}).get(identifier)
                    token = "%s %s" % (prefix, key) if prefix else key
                    break
        if not token:
            return None
        if not token.lower().startswith(("bearer ", "basic ")):  # a kubeconfig's username/password: Basic
            token = "Bearer " + token
        if token != self._checked_token:
            secret = token.split(" ", 1)[1]
            self.secrets.add(secret, token)
            if self.params.get("api_key"):
                transport.check_header("api_key", token, secret=True)
            else:
                transport.check_header("kubeconfig", token, secret=True,
                                       subject="the credential it gives (a token, a token file, basic auth, or "
                                               "what an exec plugin or auth provider answered)")
            self._checked_token = token
        return token

    def _headers(self, accept, with_body):
        headers = HTTPHeaderDict()
        headers["Accept"] = accept
        headers["User-Agent"] = self.user_agent
        if with_body:
            headers["Content-Type"] = JSON
        token = self._authorization()
        if token:
            headers["Authorization"] = token
        if self.params.get("impersonate_user"):
            headers["Impersonate-User"] = self.params["impersonate_user"]
        for group in self.params.get("impersonate_groups") or []:
            headers.add("Impersonate-Group", group)
        return headers

    def request(self, method, path, query=None, body=None, accept=JSON, what=None):
        """One API call. Returns the decoded JSON body (the text, for a text/plain answer); raises
        ApiError / ClusterError.

        ``what`` = (verb, resource, namespace, name) for error messages.
        """
        try:
            resp = self.http.send(method, path, query=query, body=body, headers=self._headers(accept, body is not None))
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ClusterError("cannot reach the API server at %s (%s %s failed after %d retries, "
                               "request_timeout %gs): %s"
                               % (self.host, method, path.split("?")[0], self.retry.total,
                                  self.timeout.read_timeout, self.secrets.scrub(reason)))
        if 200 <= resp.status < 300:
            if accept == TEXT:
                return resp.data.decode("utf-8", "replace")
            return json.loads(resp.data.decode("utf-8")) if resp.data else {}
        raise self._api_error(method, resp, what or _describe_path(method, path))

    def _api_error(self, method, resp, what):
        try:
            status = json.loads(resp.data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, AttributeError):
            status = {}
        reason = status.get("reason") or ""
        server_msg = self.secrets.scrub(status.get("message") or (resp.data or b"").decode("utf-8", "replace")[:300])
        verb, resource, namespace, name = what
        target = resource + ((" %r" % name) if name else "")
        if namespace:
            target += " in namespace %r" % namespace
        if resp.status == 401:
            msg = ("the API server at %s rejected the credentials (401 Unauthorized; %s): they are missing, "
                   "wrong or expired" % (self.host, describe_credentials(self.cfg, self.params)))
        elif resp.status == 403:
            msg = "forbidden: %s may not %s %s. The API server said: %s" % (
                self.identity(), verb, target, server_msg)
            if resource.endswith("bindings") and verb in ("create", "update", "patch"):
                msg += " " + BIND_HINT
            elif resource == "clusterroles" and verb in ("create", "update"):
                msg += " " + ESCALATE_HINT
        elif resp.status == 409:
            msg = "conflict on %s %s: %s" % (verb, target, server_msg)
        elif resp.status == 404:
            msg = "%s not found (%s): %s" % (target, verb, server_msg)
        elif resp.status in RETRY_STATUSES:
            msg = "the API server at %s kept failing (%d %s) to %s %s, after %s retries: %s" % (
                self.host, resp.status, reason or resp.reason, verb, target,
                self.retry.total, server_msg)
        else:
            msg = "the API server refused to %s %s (%d %s): %s" % (verb, target, resp.status,
                                                                   reason or resp.reason, server_msg)
        return ApiError(msg, resp.status, reason, status.get("details"))

    def identity(self):
        """'user "x" (groups: a, b)' as the API server sees us, via SelfSubjectReview."""
        with self._identity_lock:
            if self._identity is None:
                # what is said until (and unless) the API server tells: a SelfSubjectReview refused with 403 (an
                # anonymous request: an exec plugin that failed) asks for the identity in its own message
                self._identity = describe_credentials(self.cfg, self.params)
                try:
                    review = self.request(
                        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                        what=("create", "selfsubjectreviews", "", ""))
                    info = (review.get("status") or {}).get("userInfo") or {}
                    groups = [g for g in info.get("groups") or [] if g != "system:authenticated"]
                    self._identity = "user %r%s" % (info.get("username"),
                                                    " (groups: %s)" % ", ".join(groups) if groups else "")
                except ClusterError:
                    pass
            return self._identity

    # ----------------------------------------------------------------- reads

    def readyz(self):
        """GET /readyz: the API server's own readiness (its text answer; raises if not ready)."""
        return self.request("GET", "/readyz", accept=TEXT, what=("get", "readyz", "", ""))

    def _list(self, path, label_selector=None, metadata_only=False, what=None):
        """Every item of a LIST, whole: an answer must be a list (``items`` a list of objects), and one that says
        more follows (``metadata.continue``: an API server or a middlebox paging it) is followed to its end, each
        page of the same consistent list. Never a part taken for the whole: a continue token refused (410 Gone:
        the list changed beyond what the API server keeps) or a page of another shape fails the run (ClusterError)
        rather than let what was not seen pass as nobody."""
        verb, resource = (what or ("list", path.rsplit("/", 1)[-1], "", ""))[:2]
        query, items, tokens = {"labelSelector": label_selector}, [], set()
        while True:
            try:
                body = self.request("GET", path, query=query, accept=METADATA_LIST if metadata_only else JSON,
                                    what=what)
            except ApiError as exc:
                if "continue" not in query or exc.status != 410:
                    raise
                raise ClusterError("the LIST of %s was answered in pages and its continue token was refused (410 "
                                   "Gone: the list changed beyond what the API server keeps meanwhile): %d item(s) "
                                   "read, the rest not; not taken as the whole list, run again" % (resource, len(items)),
                                   status=410)
            page, token = list_page_items(body)
            if page is None:
                raise ClusterError("the answer of the API server at %s to %s %s is not a list (%s): not taken as "
                                   "the list (is something between here and the API server rewriting answers?)"
                                   % (self.host, verb, resource, token), status=None)
            items.extend(page)
            if not token:
                return items
            if token in tokens or len(tokens) >= MAX_LIST_PAGES:
                raise ClusterError("the LIST of %s did not end: %s after %d page(s); not taken as the whole list"
                                   % (resource, "a continue token came again" if token in tokens else "still more",
                                      len(tokens) + 1))
            tokens.add(token)
            query = {"labelSelector": label_selector, "continue": token}

    def list_cluster_role_bindings(self, label_selector=None, metadata_only=False):
        return self._list(RBAC + "/clusterrolebindings", label_selector, metadata_only=metadata_only,
                          what=("list", "clusterrolebindings", "", ""))

    def list_role_bindings(self, label_selector=None, metadata_only=False):
        """RoleBindings of every namespace."""
        return self._list(RBAC + "/rolebindings", label_selector, metadata_only=metadata_only,
                          what=("list", "rolebindings", "", ""))

    def list_bindings(self, kind, label_selector=None, metadata_only=False):
        if kind == CRB:
            return self.list_cluster_role_bindings(label_selector, metadata_only)
        return self.list_role_bindings(label_selector, metadata_only)

    def list_api_services(self):
        """The APIServices (apiregistration.k8s.io): which namespace serves each aggregated API (whocan.py: where
        KubeVirt and CDI run)."""
        return self._list("/apis/apiregistration.k8s.io/v1/apiservices", what=("list", "apiservices", "", ""))

    def list_namespaces(self):
        """({name: labels} of active namespaces, {names being deleted})."""
        items = self._list("/api/v1/namespaces", metadata_only=True, what=("list", "namespaces", "", ""))
        active, terminating = {}, set()
        for item in items:
            meta = item.get("metadata") or {}
            if meta.get("deletionTimestamp"):
                terminating.add(meta["name"])
            else:
                active[meta["name"]] = dict(meta.get("labels") or {})
        return active, terminating

    def list_cluster_roles(self, metadata_only=True, label_selector=None):
        return self._list(RBAC + "/clusterroles", label_selector, metadata_only=metadata_only,
                          what=("list", "clusterroles", "", ""))

    def get_cluster_role(self, name):
        """One ClusterRole by name (ApiError 404 when there is none)."""
        return self.request("GET", RBAC + "/clusterroles/" + quote(name, safe=":"),
                            what=("get", "clusterroles", "", name))

    def list_kubevirts(self):
        """The KubeVirt custom resources of every namespace: their status names the KubeVirt release that
        runs (ApiError 404 when KubeVirt is not installed, 403 when the identity may not list them)."""
        return self._list(KUBEVIRT + "/kubevirts", what=("list", "kubevirts.kubevirt.io", "", ""))

    def list_roles(self, metadata_only=True):
        """Roles of every namespace."""
        return self._list(RBAC + "/roles", metadata_only=metadata_only, what=("list", "roles", "", ""))

    # --------------------------------------------------------------- watches
    # For the event source vmo.rbac.cluster_changes (extensions/eda/plugins/event_source/): a
    # metadata-only LIST page that keeps the list's resourceVersion, and a metadata-only WATCH
    # streamed as it arrives. The protocol's decisions (resume, bookmarks, 410 -> relist, backoff)
    # are plugin_utils/watch.py's; nothing here retries a watch.

    WATCHED = {"namespaces": "/api/v1/namespaces", "clusterrolebindings": RBAC + "/clusterrolebindings",
               "rolebindings": RBAC + "/rolebindings"}

    def list_page(self, resource, query):
        """One LIST page of a watched resource (``items``, ``metadata.resourceVersion``, ``metadata.continue``)."""
        return self.request("GET", self.WATCHED[resource], query=query, accept=METADATA_LIST,
                            what=("list", resource, "", ""))

    def watch(self, resource, query, read_timeout):
        """Open a WATCH of a watched resource: a WatchResponse, or ApiError (``status`` 410: the
        resourceVersion is too old) / ClusterError (unreachable)."""
        try:
            resp = self.http.send("GET", self.WATCHED[resource], query=query, headers=self._headers(METADATA_WATCH, False),
                                  retry=False, stream=True,
                                  timeout=urllib3.Timeout(connect=self.timeout.connect_timeout, read=read_timeout))
        except urllib3.exceptions.HTTPError as exc:
            raise ClusterError("cannot reach the API server at %s (watch %s): %s"
                               % (self.host, resource, self.secrets.scrub(getattr(exc, "reason", None) or exc)))
        if resp.status != 200:
            try:
                resp.read(cache_content=True)
            except urllib3.exceptions.HTTPError:
                pass
            resp.release_conn()
            raise self._api_error("GET", resp, ("watch", resource, "", ""))
        return WatchResponse(resp, resource, self.host, self.secrets)

    # ---------------------------------------------------------------- writes

    def _binding_path(self, kind, namespace, name=None):
        if kind == CRB:
            path = RBAC + "/clusterrolebindings"
        else:
            path = RBAC + "/namespaces/%s/rolebindings" % quote(namespace, safe="")
        return path + ("/" + quote(name, safe="") if name else "")

    def _what(self, verb, kind, namespace, name):
        return (verb, "clusterrolebindings" if kind == CRB else "rolebindings", namespace, name)

    def create_binding(self, body):
        meta = body["metadata"]
        return self.request("POST", self._binding_path(body["kind"], meta.get("namespace")), body=body,
                            what=self._what("create", body["kind"], meta.get("namespace"), meta["name"]))

    def replace_binding(self, body):
        """PUT; the body's metadata.resourceVersion makes it fail with 409 if the object changed."""
        meta = body["metadata"]
        return self.request("PUT", self._binding_path(body["kind"], meta.get("namespace"), meta["name"]), body=body,
                            what=self._what("update", body["kind"], meta.get("namespace"), meta["name"]))

    def get_binding(self, kind, namespace, name):
        return self.request("GET", self._binding_path(kind, namespace, name),
                            what=self._what("get", kind, namespace, name))

    def delete_binding(self, kind, namespace, name, uid=None, resource_version=None):
        """DELETE; with ``uid``, only that object (409 if the name now belongs to another); with
        ``resource_version`` too, only that version of it (409 if it changed since it was read)."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if uid:
            body["preconditions"] = {"uid": uid}
        if resource_version:
            body.setdefault("preconditions", {})["resourceVersion"] = resource_version
        return self.request("DELETE", self._binding_path(kind, namespace, name), body=body,
                            what=self._what("delete", kind, namespace, name))

    def create_cluster_role(self, body):
        return self.request("POST", RBAC + "/clusterroles", body=body,
                            what=("create", "clusterroles", "", body["metadata"]["name"]))

    def replace_cluster_role(self, body):
        """PUT; the body's metadata.resourceVersion makes it fail with 409 if the role changed."""
        name = body["metadata"]["name"]
        return self.request("PUT", RBAC + "/clusterroles/" + quote(name, safe=""), body=body,
                            what=("update", "clusterroles", "", name))

    def delete_cluster_role(self, name, uid=None):
        body = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if uid:
            body["preconditions"] = {"uid": uid}
        return self.request("DELETE", RBAC + "/clusterroles/" + quote(name, safe=""), body=body,
                            what=("delete", "clusterroles", "", name))

    # -------------------------------------------------------------- reviews

    def subject_access_reviews(self, specs, concurrency=16):
        """Ask the API server each SubjectAccessReview spec; returns their status dicts in order.

        At most ``concurrency`` requests in flight at once. Pipelined where it can be (see
        pipeline.py: up to PIPELINES connections, each with a window of ``concurrency`` divided
        among them); whatever that did not get a 2xx answer for is sent again one at a time over the
        shared connection pool, with the retries and error messages of every other request.
        """
        def review(spec):
            return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}

        def one(spec):
            for _attempt in range(REVIEW_ATTEMPTS):
                res = self.request("POST", REVIEWS, body=review(spec), what=("create", "subjectaccessreviews", "", ""))
                if review_answers(spec, res):
                    return res["status"]
            raise ClusterError("the answers of the API server at %s to a SubjectAccessReview (may %s %s?) were not "
                               "answers to it (another question, or no decision) %d times in a row: not taken as "
                               "proof. Is something between here and the API server rewriting its answers?"
                               % (self.host, spec.get("user") or "the groups " + ", ".join(spec.get("groups") or ()),
                                  _review_text(spec), REVIEW_ATTEMPTS))

        if not specs:
            return []
        statuses = [None] * len(specs)
        todo = list(range(len(specs)))
        if len(specs) > 1 and self.pipelining:
            with no_cyclic_gc():  # about 20 containers per answer, none of them in a cycle
                todo = self._pipelined_reviews(specs, [review_body(s) for s in specs], concurrency, statuses)
        if not todo:
            return statuses
        workers = max(1, min(concurrency, len(todo)))
        if workers == 1:
            for i in todo:
                statuses[i] = one(specs[i])
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for i, status in zip(todo, pool.map(one, [specs[i] for i in todo])):
                    statuses[i] = status
        return statuses

    def _pipelined_reviews(self, specs, bodies, concurrency, statuses):
        """Send the reviews pipelined; fills ``statuses`` with the answered ones (each answer checked
        to be the answer to its own question, review_answers) and returns the indices of the others
        (all of them when pipelining cannot be used here)."""
        factory = self._pipeline_factory()
        if factory is None:
            return list(range(len(bodies)))
        split = urlsplit(self.host)
        target = (split.path.rstrip("/") or "") + REVIEWS
        headers = list(self._headers(JSON, True).iteritems())
        head = pipeline.request_head("POST", target, split.netloc, headers)
        if head is None:
            return list(range(len(bodies)))
        requests = [head + b"Content-Length: %d\r\n\r\n" % len(b) + b for b in bodies]  # pipeline.request_bytes
        connections = max(1, min(PIPELINES, concurrency, len(bodies)))
        window = max(1, concurrency // connections)
        size = -(-len(bodies) // connections)
        chunks = [list(range(k, min(k + size, len(bodies)))) for k in range(0, len(bodies), size)]

        def one_connection(chunk):
            answers, rest = pipeline.run(factory, [requests[i] for i in chunk], self.timeout.read_timeout,
                                         window=window, sent=self.http.count,
                                         accept=lambda k, answer: review_answers(specs[chunk[k]], answer))
            return dict((chunk[k], v) for k, v in answers.items()), [chunk[k] for k in rest]

        if len(chunks) == 1:
            results = [one_connection(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
                results = list(pool.map(one_connection, chunks))
        rest = []
        for answers, left in results:
            for i, answer in answers.items():
                statuses[i] = answer["status"]
            rest.extend(left)
        return sorted(rest)

    def _pipeline_factory(self):
        """A function that makes a new connection of the pool's kind to the API server, or None where
        pipelining is not used (through an HTTP proxy: the proxy's own pool handles it)."""
        if urllib3 is None or isinstance(self.pool, urllib3.ProxyManager):
            return None
        try:
            pool = self.pool.connection_from_url(self.host)
        except (ValueError, urllib3.exceptions.HTTPError):
            return None
        return getattr(pool, "_new_conn", None)


class WatchResponse(object):
    """An open WATCH: its body as chunks of bytes as they arrive; close() from any thread."""

    def __init__(self, resp, resource, host, secrets):
        self._resp = resp
        self.resource = resource
        self.host = host
        self._secrets = secrets

    def chunks(self, size=65536):
        try:
            yield from self._resp.stream(size, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise ClusterError("the watch of %s at %s sent nothing for longer than its read timeout"
                               % (self.resource, self.host))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError("the watch of %s at %s broke: %s" % (self.resource, self.host,
                                                                    self._secrets.scrub(exc)))

    def close(self):
        """End the stream, also when another thread is blocked reading it (its read then fails).
        The connection is closed, not reused: a watch may leave it in the middle of a chunk."""
        sock = getattr(getattr(self._resp, "connection", None), "sock", None)
        for step in (lambda: sock is not None and sock.shutdown(socket.SHUT_RDWR), self._resp.close,
                     self._resp.release_conn):
            try:
                step()
            except (OSError, ValueError, RuntimeError, urllib3.exceptions.HTTPError):
                pass


def _review_text(spec):
    a = spec.get("resourceAttributes") or {}
    res = (a.get("group") + "/" if a.get("group") else "") + (a.get("resource") or "")
    res += "/" + a["subresource"] if a.get("subresource") else ""
    out = "%s %s" % (a.get("verb") or "", res)
    if a.get("name"):
        out += " " + a["name"]
    if a.get("namespace"):
        out += " in namespace " + a["namespace"]
    return out


def _describe_path(method, path):
    verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method)
    parts = [p for p in path.split("?")[0].split("/") if p]
    return (verb, parts[-1] if parts else path, "", "")
