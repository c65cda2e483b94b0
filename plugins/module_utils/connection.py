# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module of the collection.

The names, aliases and ``K8S_AUTH_*`` environment variables are the ones
kubernetes.core uses, so ``module_defaults`` written for kubernetes.core and AWX's
built-in Kubernetes bearer-token credential (which injects K8S_AUTH_HOST,
K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and K8S_AUTH_SSL_CA_CERT) work unchanged.
Documented once, in ``plugins/doc_fragments/connection.py``; their limits are checked with
every other option's, in options.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback


def _env(*names):
    return (env_fallback, list(names))


PROXY_HEADERS_SPEC = dict(
    proxy_basic_auth=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH")),
    basic_auth=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_PROXY_HEADERS_BASIC_AUTH")),
    user_agent=dict(type="str", fallback=_env("K8S_AUTH_PROXY_HEADERS_USER_AGENT")),
)

CONNECTION_ARG_SPEC = dict(
    kubeconfig=dict(type="raw", no_log=True, fallback=_env("K8S_AUTH_KUBECONFIG")),
    context=dict(type="str", fallback=_env("K8S_AUTH_CONTEXT")),
    host=dict(type="str", fallback=_env("K8S_AUTH_HOST")),
    api_key=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_API_KEY")),
    validate_certs=dict(type="bool", aliases=["verify_ssl"],
                        fallback=_env("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL")),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=_env("K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT")),
    client_cert=dict(type="path", aliases=["cert_file"],
                     fallback=_env("K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE")),
    client_key=dict(type="path", aliases=["key_file"], no_log=False,
                    fallback=_env("K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE")),
    proxy=dict(type="str", fallback=_env("K8S_AUTH_PROXY")),
    no_proxy=dict(type="str", fallback=_env("K8S_AUTH_NO_PROXY")),
    proxy_headers=dict(type="dict", options=PROXY_HEADERS_SPEC),
    persist_config=dict(type="bool", fallback=_env("K8S_AUTH_PERSIST_CONFIG")),
    impersonate_user=dict(type="str", fallback=_env("K8S_AUTH_IMPERSONATE_USER")),
    impersonate_groups=dict(type="list", elements="str", fallback=_env("K8S_AUTH_IMPERSONATE_GROUPS")),
    request_timeout=dict(type="float", default=30.0),
    api_retries=dict(type="int", default=5),
)

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


def unmask_kubeconfig_names(no_log_values, params):
    """``no_log_values`` without a kubeconfig path, and without the kubeconfig mapping's names,
    servers and CA data; every credential (and any value of another no_log option) stays in."""
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
