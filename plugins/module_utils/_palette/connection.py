# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's connection from Palette, at run time, in memory.

AWX and Automation Controller run an inventory source as a job of its own (an inventory update) and
keep only the hosts and their variables; the playbook runs later, in a fresh execution environment.
A kubeconfig file written by the inventory is not there. So the inventory plugin ``vmo.rbac.palette``
records where each cluster is in Palette (``palette_cluster_uid``, ``palette_project_uid``) and which
of its kubeconfigs to use (``vmo_rbac_palette_kubeconfig``), and a module that talks to the cluster
downloads that kubeconfig with the Palette credential when it first needs the connection: one
request per module run (the module's LazyCluster makes the connection once), shared with the palette
backend's requests, counted in the result's ``palette_requests``.

The kubeconfig is kept in memory as a mapping and handed to the same reader as any inline kubeconfig:
static credentials (Palette's admin kubeconfig: a client certificate) to module_utils/_k8s/kubeconfig.py,
whose certificate and key data live in memory-only files; exec plugins and auth providers (the
reverse-proxy kubeconfig's OIDC login) to the official client's ``load_kube_config_from_dict``. This
code never writes it to a file, never logs it, never returns it, and the module masks every
credential in it (``secret_values``).

Options: the Palette credential of the palette backend (``palette_host``, ``palette_api_key``,
``palette_project_uid``, ``palette_cluster_uid``, ``palette_validate_certs``, ``palette_ca_cert``,
``palette_rate_limit``) and
``palette_kubeconfig``, the kind to download. A kubeconfig from Palette is the whole connection: a
kubeconfig, context, host, token, client certificate or CA given too (as an option, or through the
``K8S_AUTH_*`` environment variables an AWX Kubernetes credential injects) is refused as ambiguous
before any request, naming the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.module_utils._palette import client as palette_api

# The CA certificate file of a self-hosted Palette, as the collection's AWX credential type injects it
# (files/awx/credential-type-palette.json); Palette's own tools have no variable for it.
CA_ENV = specs.PALETTE_CA_ENV
# The options (specs.PALETTE_CONNECTION_ARG_SPEC) are checked before any request by
# palette_checks.check_kubeconfig (and check_backend), with every other option of a run (options.py).


def client(params, component):
    """The Palette client of one module run, from its palette_* options, request_timeout and api_retries."""
    retries = params.get("api_retries")
    return palette_api.PaletteClient(
        params.get("palette_host") or palette_api.DEFAULT_HOST, params.get("palette_api_key"),
        project_uid=params.get("palette_project_uid") or None,
        validate_certs=params.get("palette_validate_certs", True) is not False,
        ca_cert=params.get("palette_ca_cert") or None, key_option="palette_api_key",
        timeout=params.get("request_timeout") or 30.0, retries=5 if retries is None else retries,
        component=component, rate_limit=params.get("palette_rate_limit"), rate_option="palette_rate_limit")


def kubeconfig(palette, uid, kind, project=None):
    """The cluster's kubeconfig from Palette as a mapping (never written anywhere). Raises
    PaletteError with a message that says what went wrong, never the kubeconfig's content: a cluster
    Palette no longer has (deleted after the inventory was made) is told from one without this kind of
    kubeconfig by one more request, made only then."""
    what = "the %s kubeconfig of cluster %s" % (kind, uid)
    try:
        text = palette.get_kubeconfig(uid, kind, project=project)
    except palette_api.PaletteError as exc:
        if exc.status == 404:
            try:
                palette.get_cluster(uid, project=project)
            except palette_api.PaletteError as inner:
                if inner.status == 404:
                    raise palette_api.PaletteError(
                        "palette_cluster_uid: Palette at %s has no cluster %s%s: it was deleted (or moved to "
                        "another project) after the inventory was made; update the inventory and run again"
                        % (palette.host, uid, " in project %s" % project if project else ""), 404, inner.path)
                raise palette_api.PaletteError("cannot download %s: %s" % (what, inner.message), inner.status,
                                               inner.path)
            raise palette_api.PaletteError(
                "palette_kubeconfig: cluster %s has no %s kubeconfig in Palette (404 Not Found)%s"
                % (uid, kind, "; the reverse-proxy kubeconfig exists only where Palette's proxy is enabled, try "
                              "admin" if kind == "frp" else ""), 404, exc.path)
        raise palette_api.PaletteError("cannot download %s: %s" % (what, exc.message), exc.status, exc.path)
    import yaml  # PyYAML is a requirement of ansible-core itself; palette.decode_kubeconfig parsed it already

    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):  # pragma: no cover - decode_kubeconfig accepts mappings only
        raise palette_api.PaletteError("%s is not a kubeconfig mapping" % what)
    local = local_references(doc)
    if local:
        raise palette_api.PaletteError(
            "palette_kubeconfig: %s from Palette names files of this machine (%s); a kubeconfig from Palette must "
            "carry its certificates, keys and tokens inline, and is refused" % (what, ", ".join(local[:3])))
    return doc


# Kubeconfig keys whose value is a path on the machine that reads the kubeconfig.
_LOCAL_FILES = {"clusters": ("cluster", ("certificate-authority",)),
                "users": ("user", ("client-certificate", "client-key", "tokenFile"))}


def local_references(doc):
    """The entries of a kubeconfig that name local files (``users[0].user.tokenFile``, ...). A document
    that comes from a remote API must not make this machine read its files (a tokenFile pointing at a
    secret of the execution node would be sent as a bearer token to the server the document names)."""
    out = []
    for section, (inner, keys) in _LOCAL_FILES.items():
        for i, item in enumerate(doc.get(section) or []):
            body = item.get(inner) if isinstance(item, dict) else None
            if isinstance(body, dict):
                out += ["%s[%d].%s.%s" % (section, i, inner, k) for k in keys if body.get(k)]
    return out


def with_kubeconfig(params, doc):
    """The module's connection params with the downloaded kubeconfig as its inline kubeconfig (its
    current context)."""
    return dict(params, kubeconfig=doc, context=None)


# What an exec plugin's or auth provider's settings name without being a credential: masked, these
# words would garble every message that contains them.
_PUBLIC_USER_KEYS = ("apiVersion", "command", "interactiveMode", "installHint", "provideClusterInfo", "name")


def secret_values(doc):
    """Every credential of a kubeconfig mapping, for the module to mask in its output: each value under
    its users (tokens, keys, certificates, passwords, exec and auth-provider settings) and any value
    under its clusters that is not a name, a server or CA data."""
    out = set()

    def leaves(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                leaves(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                leaves(v)
        elif isinstance(obj, str) and obj:
            out.add(obj)

    for item in (doc or {}).get("users") or []:
        user = item.get("user") if isinstance(item, dict) else None
        if not isinstance(user, dict):
            continue
        for key, value in user.items():
            if key in ("exec", "auth-provider") and isinstance(value, dict):
                leaves(dict((k, v) for k, v in value.items() if k not in _PUBLIC_USER_KEYS))
                # an argument --oidc-client-secret=<secret>: its value alone too, as a plugin may quote it
                args = value.get("args") if key == "exec" else None
                for arg in args if isinstance(args, list) else []:
                    if isinstance(arg, str) and arg.startswith("-") and "=" in arg:
                        leaves(arg.split("=", 1)[1])
            else:
                leaves(value)
    public = ("server", "certificate-authority", "certificate-authority-data", "tls-server-name",
              "insecure-skip-tls-verify")
    for item in (doc or {}).get("clusters") or []:
        body = item.get("cluster") if isinstance(item, dict) else None
        if isinstance(body, dict):
            leaves(dict((k, v) for k, v in body.items() if k not in public))
    return out
