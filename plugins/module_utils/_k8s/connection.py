# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module of the collection.

The names, aliases and ``K8S_AUTH_*`` environment variables are the ones
kubernetes.core uses, so ``module_defaults`` written for kubernetes.core and AWX's
built-in Kubernetes bearer-token credential (which injects K8S_AUTH_HOST,
K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and K8S_AUTH_SSL_CA_CERT) work unchanged.
Their argument spec is ``_core/specs.CONNECTION_ARG_SPEC``, documented once, in
``plugins/doc_fragments/connection.py``; their limits are checked with every other option's, in options.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re

from ansible_collections.vmo.rbac.plugins.module_utils._core.specs import CONNECTION_ARG_SPEC, PROXY_HEADERS_SPEC
from ansible_collections.vmo.rbac.plugins.module_utils._http import transport

CONNECTION_KEYS = tuple(CONNECTION_ARG_SPEC)


def connection_params(params):
    """The connection subset of a module's params."""
    return {k: params.get(k) for k in CONNECTION_KEYS}


# The leaves of a kubeconfig mapping that carry no credential. Ansible masks every leaf of a no_log
# option, so with a kubeconfig mapping every name in it ("admin", "prod", even "v1") would turn into
# "********" wherever it appears in results and messages, making them unreadable. The modules keep
# masking every other leaf: tokens, keys, passwords, auth-provider and exec settings, proxy URLs.
_KUBECONFIG_PUBLIC = {
    None: ("apiVersion", "kind", "current-context"),
    "clusters": ("server", "certificate-authority", "certificate-authority-data", "tls-server-name"),
    "contexts": ("cluster", "user", "namespace"),
    "users": (),
}
_KUBECONFIG_ITEM = {"clusters": "cluster", "contexts": "context", "users": "user"}


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _leaves(v)
    elif isinstance(obj, str) and obj:
        yield obj
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield str(obj)


_BASE64 = re.compile(r"^[A-Za-z0-9+/=_-]{100,}$")


# Line breaks as a pasted key may carry them: white space (a one-line form field turns them into spaces) and
# JSON or double-quoted YAML escapes (a literal backslash-n).
_BREAKS = re.compile(r"(?:\s|\\[rnt])+")


def pasted_key(value):
    """Whether a ``client_key`` value is a key pasted where its path belongs rather than a path:
    PEM text, several lines, a long run of base64 (no path looks like that), or base64 that decodes to a
    key (DER, whose outer SEQUENCE gives its length: an Ed25519 key's body is 64 characters) or to PEM,
    once white space and escaped line breaks are taken out. A file that exists there is a path."""
    if not isinstance(value, str) or not value.strip():
        return False
    if "-----BEGIN" in value or "\n" in value or "\r" in value:
        return True
    try:
        if os.path.exists(os.path.expanduser(value)):
            return False
    except (ValueError, TypeError):  # a NUL in it: no path
        pass
    body = _BREAKS.sub("", value)
    return bool(_BASE64.match(body)) or _decodes_to_a_key(body)


def _decodes_to_a_key(body):
    if len(body) < 16 or not re.match(r"^[A-Za-z0-9+/_-]+=*$", body):
        return False
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_" if ("-" in body or "_" in body)
                                else None, validate=True)
    except (ValueError, TypeError):
        return False
    if b"-----BEGIN" in data:
        return True
    if len(data) < 32 or data[0] != 0x30:
        return False
    n = data[1]
    if n < 0x80:
        return len(data) == 2 + n
    width = n & 0x7F
    if width not in (1, 2, 3) or len(data) < 2 + width:
        return False
    return len(data) == 2 + width + int.from_bytes(data[2:2 + width], "big")


def unmask_kubeconfig_names(no_log_values, params):
    """``no_log_values`` without a kubeconfig path, and without the kubeconfig mapping's names,
    servers and CA data; every credential (and any value of another no_log option) stays in.

    A private key pasted into ``client_key`` (a path, so not ``no_log``) is added: Ansible then
    masks it in the result's ``invocation`` and everywhere else, as it masks any credential."""
    values = _unmask_kubeconfig_names(no_log_values, params)
    key = params.get("client_key")
    if pasted_key(key):
        values = set(values) | {key}
    return values


def _unmask_kubeconfig_names(no_log_values, params):
    kubeconfig = params.get("kubeconfig")
    secret = set()
    for key, spec in CONNECTION_ARG_SPEC.items():
        if key != "kubeconfig" and spec.get("no_log"):
            secret.update(_leaves(params.get(key)))
    if isinstance(kubeconfig, str):
        # A path is not a secret: masked, it garbles every message that names it ("file ******** does
        # not exist"), and every word of a message that happens to contain it.
        return set(v for v in no_log_values if v != kubeconfig or v in secret)
    if not isinstance(kubeconfig, dict):
        return no_log_values
    public = set(v for v in (kubeconfig.get(k) for k in _KUBECONFIG_PUBLIC[None]) if isinstance(v, str))
    for section, inner in _KUBECONFIG_ITEM.items():
        for item in kubeconfig.get(section) or []:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("name"), str):
                public.add(item["name"])
            body = item.get(inner)
            if not isinstance(body, dict):
                continue
            for key, value in body.items():
                if key in _KUBECONFIG_PUBLIC[section] and isinstance(value, str) and "@" not in value:
                    public.add(value)
                else:
                    secret.update(_leaves(value))
    secret.update(_leaves({k: v for k, v in (params.get("proxy_headers") or {}).items()
                           if PROXY_HEADERS_SPEC.get(k, {}).get("no_log")}))
    return set(v for v in no_log_values if v not in public or v in secret)


# ------------------------------------------------------------------ values, and where they come from

# Options sent as HTTP header values, and whether their value is a secret (never described).
HEADER_OPTIONS = (("api_key", True), ("impersonate_user", False))
PROXY_HEADER_OPTIONS = (("basic_auth", True), ("proxy_basic_auth", True), ("user_agent", False))
# Options that decide which API server is reached, and with which credential: given by the task
# for one host, they must not be overridden by others from the environment (ambiguous below).
PER_HOST = ("context", "kubeconfig")
# What a proxy URL may start with (SOCKS where the installed kubernetes client supports it).
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h", "socks4", "socks4a")
DESTINATION = ("host", "api_key", "client_cert", "client_key")


def environment_origins(raw, environ=None):
    """{option: the K8S_AUTH_* variable it comes from} for the connection options that the task did
    not give (under their name or an alias) and that Ansible's fallback takes from the environment,
    as AnsibleModule does (``raw``: the arguments as the task wrote them)."""
    environ = os.environ if environ is None else environ
    raw = raw if isinstance(raw, dict) else {}
    out = {}
    for name, spec in CONNECTION_ARG_SPEC.items():
        fallback = spec.get("fallback")
        if not fallback or any(n in raw for n in [name] + list(spec.get("aliases") or [])):
            continue
        for var in fallback[1]:
            if var in environ:
                if environ[var] not in ("", None):
                    out[name] = var
                break
    return out


def check_values(params, origins=None):
    """Raise transport.BadValue (naming the option, never a secret's value) for a connection option
    that cannot be sent: a header value with control characters or outside Latin-1 (a token with
    the trailing newline of a YAML block scalar), a host or proxy that is not a URL with a valid
    port. Checked before the first request; ``origins`` (environment_origins) says where a value
    came from, for the message."""
    origins = origins or {}

    for name, secret in HEADER_OPTIONS:
        value = params.get(name)
        if value not in (None, ""):
            transport.check_header(name, value, secret, origin=origins.get(name))
    for i, group in enumerate(params.get("impersonate_groups") or []):
        transport.check_header("impersonate_groups[%d]" % i, group, secret=False,
                               origin=origins.get("impersonate_groups"))
    headers = params.get("proxy_headers")
    if isinstance(headers, dict):
        for name, secret in PROXY_HEADER_OPTIONS:
            if headers.get(name) not in (None, ""):
                transport.check_header("proxy_headers.%s" % name, headers[name], secret)
    if params.get("host"):
        transport.check_url("host", params["host"], origin=origins.get("host"))
    if params.get("proxy"):
        transport.check_url("proxy", params["proxy"], schemes=PROXY_SCHEMES)
    no_proxy = params.get("no_proxy")
    if no_proxy and isinstance(no_proxy, str) and transport.text_problem(no_proxy, secret=False):
        raise transport.BadValue("no_proxy", "the value " + transport.text_problem(no_proxy, secret=False))


def check_unambiguous(params, origins, environ=None):
    """Raise transport.BadValue when the connection of a host is ambiguous:

    - the task gives the host its own cluster (``context`` or ``kubeconfig``) while the API server comes
      from the environment: K8S_AUTH_HOST (with a token or a client certificate, what AWX's bearer-token
      credential injects) wins over a kubeconfig, so every host of an inventory would reach that one
      cluster, each enforcing its own declaration there;
    - the task names the host's API server while the credential comes from the environment, where it
      belongs to another one (K8S_AUTH_HOST differs): the credential would be sent elsewhere.

    ``origins``: environment_origins(). Messages name the settings that collide and how to resolve
    it, never a credential."""
    environ = os.environ if environ is None else environ
    given = [k for k in PER_HOST if params.get(k) and k not in origins]
    from_env = [k for k in DESTINATION if params.get(k) and k in origins]
    # (A token alone from the environment, without K8S_AUTH_HOST, replaces the kubeconfig's credential for
    # the host's own API server, as in kubernetes.core: not ambiguous about the cluster.)
    if given and "host" in from_env:
        where = transport.scrub(params["host"]) if params.get("host") else "the API server of the environment"
        raise transport.BadValue(given[0], (
            "%s %s set for this host, but %s come%s from the environment (%s) and would win: this host would "
            "reach %s, not the cluster of its %s. Either give each host its own connection and take the "
            "credential out of the environment (the job template's Kubernetes credential, docs/awx.md), or "
            "leave out %s if the environment's cluster is meant"
            % (" and ".join(given), "is" if len(given) == 1 else "are", " and ".join(from_env),
               "s" if len(from_env) == 1 else "", ", ".join(origins[k] for k in from_env), where,
               " and ".join(given), " and ".join(given))))
    credentials = [k for k in ("api_key", "client_cert", "client_key") if params.get(k) and k in origins]
    env_host = environ.get("K8S_AUTH_HOST")
    if credentials and params.get("host") and "host" not in origins and env_host \
            and not _same_url(env_host, params["host"]):
        raise transport.BadValue("host", (
            "host is set for this host (%s), but %s come%s from the environment (%s), where %s belong%s to "
            "another API server (K8S_AUTH_HOST %s) and would be sent to this one. Give this host its own %s, "
            "or leave out host" % (
                transport.scrub(params["host"]), " and ".join(credentials), "s" if len(credentials) == 1 else "",
                ", ".join(origins[k] for k in credentials), "it" if len(credentials) == 1 else "they",
                "s" if len(credentials) == 1 else "", transport.scrub(env_host), " and ".join(credentials))))


def _same_url(a, b):
    def norm(u):
        return str(u).strip().rstrip("/").lower()
    return norm(a) == norm(b)


def secret_values(params):
    """The secrets among connection params, as Ansible's no_log masks them: every leaf of api_key,
    proxy basic auth and an inline kubeconfig's credentials (not its names, servers or CA data, and
    not a kubeconfig path). For a caller that scrubs its own messages (the event source)."""
    values = set()
    for key, spec in CONNECTION_ARG_SPEC.items():
        if spec.get("no_log"):
            values.update(_leaves(params.get(key)))
    headers = params.get("proxy_headers") if isinstance(params.get("proxy_headers"), dict) else {}
    for key, spec in PROXY_HEADERS_SPEC.items():
        if spec.get("no_log"):
            values.update(_leaves(headers.get(key)))
    return unmask_kubeconfig_names(values, params)
