# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of the Palette options, made before any request: pure, no network.

``check_backend`` (``backend``, ``wait`` and, with ``backend: palette``, the Palette credential) and
``check_kubeconfig`` (``palette_kubeconfig``, what it needs, and the connection options it replaces)
say the first problem as (field, message), or None; options.py raises it as a SpecError with every
other check of a run. What a Palette uid and a Palette host may be (``is_uid``, ``normalize_host``) is
decided here too, for the client (_palette/client.py) and the inventory plugin.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported
    urlsplit = None

from ansible_collections.vmo.rbac.plugins.module_utils._core import specs, values

DEFAULT_HOST = "api.spectrocloud.com"
WAIT_MAX = 3600  # options.LIMITS holds the range of ``wait``
# The options of the palette backend (options.Options.palette holds them, with request_timeout and api_retries).
PALETTE_KEYS = tuple(specs.PALETTE_ARG_SPEC)
# The connection options a kubeconfig from Palette replaces. Any of them given too would make the
# connection ambiguous (which cluster, which identity?): refused, never silently overridden.
REPLACED = ("kubeconfig", "context", "host", "api_key", "client_cert", "client_key", "ca_cert")

# Palette uids are 24 hexadecimal digits (MongoDB object ids) in every public example; the client
# only insists on what keeps a uid one path segment.
_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def is_uid(value):
    """True when ``value`` can be sent as a uid (one path segment, no traversal)."""
    return isinstance(value, str) and bool(_UID.match(value)) and value not in (".", "..")


def normalize_host(host):
    """``api.spectrocloud.com`` or ``https://palette.example.com:8443/`` -> ``https://host[:port]``.

    Raises ValueError naming what is wrong. Only https is accepted: the API key travels in a header.
    """
    if not isinstance(host, str) or not host.strip():
        raise ValueError("expected a host name or an https:// URL")
    text = host.strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme != "https":
        raise ValueError("%r: only https is supported (the API key travels in a header)" % values.scrub(host))
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("%r is not a host name or an https:// URL" % values.scrub(host))
    if parts.path not in ("", "/"):
        raise ValueError("%r: give the host only, without a path" % values.scrub(host))
    try:
        port = parts.port
    except ValueError:
        raise ValueError("%r has an invalid port" % values.scrub(host))
    return "https://%s%s" % (parts.hostname if ":" not in parts.hostname else "[%s]" % parts.hostname,
                             ":%d" % port if port else "")


def check_palette_api(params, why):
    """(field, message) of the first problem of the Palette credential options, or None. ``why``: what
    needs them, for the messages ("backend=palette", "palette_kubeconfig")."""
    uid = params.get("palette_cluster_uid")
    if not uid:
        return "palette_cluster_uid", ("required with %s (the inventory plugin vmo.rbac.palette sets "
                                       "palette_cluster_uid for every host)" % why)
    if not is_uid(uid):
        return "palette_cluster_uid", "%r is not a Palette uid (letters, digits, '-', '_' or '.')" % (uid,)
    project = params.get("palette_project_uid")
    if project and not is_uid(project):
        return "palette_project_uid", "%r is not a Palette uid" % (project,)
    key = params.get("palette_api_key")
    if not key:
        return "palette_api_key", "required with %s: set it, or the %s environment variable" % (
            why, specs.PALETTE_APIKEY_ENV)
    problem = values.text_problem(key)
    if problem:
        # It travels in a header: http.client would refuse it with an error that quotes it.
        return "palette_api_key", "the value %s; it is not shown" % problem
    if params.get("palette_rate_limit") is not None:
        try:
            values.check_rate_limit("palette_rate_limit", params["palette_rate_limit"])
        except values.BadValue as exc:
            return "palette_rate_limit", exc.message
    try:
        normalize_host(params.get("palette_host") or DEFAULT_HOST)
    except ValueError as exc:
        return "palette_host", str(exc)
    ca = params.get("palette_ca_cert")
    if ca and not os.path.isfile(ca):
        return "palette_ca_cert", "file %s does not exist" % ca
    return None


def check_kubeconfig(params):
    """(field, message) of the first problem of ``palette_kubeconfig`` and what it needs, or None."""
    kind = params.get("palette_kubeconfig")
    if not kind:
        return None
    kinds = specs.PALETTE_KUBECONFIG_KINDS
    if kind not in kinds:  # the argument spec's choices; also for callers without one (the event source)
        return "palette_kubeconfig", "expected one of %s, got %r" % (", ".join(kinds), kind)
    problem = check_palette_api(params, "palette_kubeconfig")
    if problem:
        return problem
    given = [k for k in REPLACED if params.get(k)]
    if given:
        return given[0], (
            "given with palette_kubeconfig%s: the cluster's connection is its %s kubeconfig from Palette; %s set in "
            "the task, the inventory or the environment (K8S_AUTH_*, for example by an AWX Kubernetes credential on "
            "the job template): remove %s, or palette_kubeconfig"
            % (" (and %s)" % ", ".join(given[1:]) if len(given) > 1 else "", kind,
               "it is" if len(given) == 1 else "they are", "it" if len(given) == 1 else "them"))
    return None


def check_backend(params):
    """(field, message) of the first problem of the backend options, or None. (The range of ``wait`` is
    checked with every other limit, in options.LIMITS.)"""
    backend = params.get("backend") or "kubernetes"
    wait = params.get("wait")
    if backend != "palette":
        if wait:
            return "wait", "only with backend=palette (the kubernetes backend's bindings are in force when it returns)"
        return None
    return check_palette_api(params, "backend=palette")
