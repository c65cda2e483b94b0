# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place that talks to the Palette API.

Fixed, typed endpoints of the published Palette API specification (Swagger 2.0, "Palette APIs -
4.8"; the subset the collection uses is pinned in the tests): cluster search, one cluster, its
profiles, its kubeconfigs, its RBAC settings, a project. Used by the inventory plugin
``vmo.rbac.palette`` and by the ``palette`` backend of the modules.

Credentials: the header ``ApiKey: <key>``, and ``ProjectUid: <uid>`` for project scope, as the
Spectro Cloud Terraform provider and palette-sdk-go send them. The key is never part of a message,
a result or an exception: every text that leaves this module goes through ``_scrub``.

Answers: every answer the collection reads is checked, once, where it is parsed, against the shape
the specification gives it, as far as the collection reads it (``*_SHAPE`` below): an answer of
another shape (a list where an object is expected, a string where a list is, a ``null`` element of a
list, an unknown binding type, a ``continue`` token that is not a string) raises PaletteError naming
the request and the place in the answer, and is never used. ``null`` or an absent optional field
means "none" (a Go server writes a nil map or slice as ``null``); a required list (``items``,
``profiles``) must be there. So everything after the client reads plain, well-typed data.

Retries: connection errors, read errors, 429 and 5xx are retried by urllib3's ``Retry`` with
exponential backoff (0.25 s doubling, at most 4 s between attempts), honouring ``Retry-After`` up
to RETRY_AFTER_MAX seconds, at most ``retries`` times, for the reads (the search is a read sent as
POST). The RBAC PUT is retried only when its connection could not be made (nothing was sent): the
whole list it carries was read before, and sent again seconds later it would write back an old list
over what another writer wrote meanwhile. ``_palette/backend.py`` reads the list again,
plans anew and sends a fresh PUT instead (``retry_after`` of the error says how long to wait).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os
import re
import sys

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported
    quote = None

URLLIB3_IMPORT_ERROR = None
try:
    import urllib3
except ImportError as exc:  # pragma: no cover - reported by the callers
    urllib3 = None
    URLLIB3_IMPORT_ERROR = exc

from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._http.transport import (
    RETRY_STATUSES, Secrets, check_header, scrub,
)
from ansible_collections.vmo.rbac.plugins.module_utils._http.version import __version__
from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import VmoError
from ansible_collections.vmo.rbac.plugins.module_utils._core.palette_checks import DEFAULT_HOST, is_uid, normalize_host

HOST_ENV = specs.PALETTE_HOST_ENV
APIKEY_ENV = specs.PALETTE_APIKEY_ENV
SEARCH_PAGE_SIZE = 50  # the specification's maximum for ``limit``
# A search that keeps giving continue tokens stops here (100,000 clusters at 50 a page): a server or a
# middlebox that hands out a fresh token with every page would otherwise be followed forever.
SEARCH_PAGES_MAX = 2000
KUBECONFIG_KINDS = specs.PALETTE_KUBECONFIG_KINDS
# Palette's published limit is 10 requests per second per source IP (more in a burst are answered 429):
# the client paces its requests just under it (docs/palette.md, "Rate limit").
DEFAULT_RATE_LIMIT = 9.0
RATE_LIMIT_ENV = specs.PALETTE_RATE_LIMIT_ENV

# Palette uids are 24 hexadecimal digits (MongoDB object ids) in every public example (what a uid may be,
# one path segment: palette_checks.is_uid).
_LOOKS_LIKE_UID = re.compile(r"^[0-9a-f]{24}$")


class PaletteError(VmoError):
    """A failure talking to Palette. The message is safe to show: it never holds the API key."""

    def __init__(self, message, status=None, path=None, retry_after=None):
        super(PaletteError, self).__init__(message)
        self.message = message
        self.status = status
        self.path = path
        self.retry_after = retry_after  # seconds Palette asked to wait (429/503), bounded; or None

    def failure(self):
        return {"status": self.status}


def looks_like_uid(value):
    """True for Palette's 24-hex-digit uids: a project given this way is a uid, otherwise a name."""
    return isinstance(value, str) and bool(_LOOKS_LIKE_UID.match(value))


_scrub = scrub


def rate_file(host):
    """Where the run's processes keep the pacing of requests to ``host`` (transport.Pacer): a file in
    Ansible's temporary directory of this run (DEFAULT_LOCAL_TMP: made private by the controller before
    it forks its workers, removed when it ends), when this process is part of an Ansible run (the
    inventory plugin, a module run in Ansible's worker); None otherwise (a module process, the event
    source: each paces its own requests)."""
    constants = sys.modules.get("ansible.constants")
    tmp = getattr(constants, "DEFAULT_LOCAL_TMP", None) if constants is not None else None
    if not isinstance(tmp, str) or not os.path.isdir(tmp):
        return None
    return os.path.join(tmp, "vmo-rbac-palette-%s.rate" % hashlib.sha256(host.encode("utf-8")).hexdigest()[:16])


def decode_kubeconfig(body):
    """The kubeconfig text of a download: Palette sends it as is or base64-encoded.

    Raises ValueError when the body is neither (the message never quotes the body: it holds
    credentials).
    """
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the download is not text")
    else:
        text = body or ""
    if _is_kubeconfig(text):
        return text
    compact = "".join(text.split())
    if compact:
        try:
            decoded = base64.b64decode(compact, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            decoded = ""
        if _is_kubeconfig(decoded):
            return decoded
    raise ValueError("the download is not a kubeconfig (neither YAML with clusters and users nor base64 of one)")


def _is_kubeconfig(text):
    if "clusters" not in text or "apiVersion" not in text:
        return False
    try:
        import yaml  # PyYAML is a requirement of ansible-core itself

        doc = yaml.safe_load(text)
    except Exception:  # pylint: disable=broad-exception-caught
        return False
    return isinstance(doc, dict) and isinstance(doc.get("clusters"), list) and bool(doc.get("clusters"))


# --------------------------------------------------------------------- the shapes of answers
#
# What the collection reads from each answer, with the specification's types: Obj (a JSON object;
# fields not listed are not read and not checked), Arr (a list; a null element is refused), Map (an
# object of strings, such as labels), Enum, STR, BOOL, ANY.


class Obj(object):
    def __init__(self, what, fields=None, required=()):
        self.what, self.fields, self.required = what, fields or {}, tuple(required)


class Arr(object):
    def __init__(self, item):
        self.item = item


class Enum(object):
    def __init__(self, *values):
        self.values = values


STR, BOOL, ANY, MAP = "a string", "true or false", "anything", "an object of strings"

_META = Obj("metadata", {"name": STR, "uid": STR, "labels": MAP, "annotations": MAP})
SEARCH_SHAPE = Obj("a page of cluster summaries", {
    "items": Arr(Obj("a cluster summary", {
        "metadata": _META,
        "specSummary": Obj("specSummary", {"projectMeta": Obj("projectMeta", {"name": STR, "uid": STR}),
                                           "cloudConfig": Obj("cloudConfig", {"cloudType": STR})}),
        "status": Obj("status", {"state": STR, "health": Obj("health", {"state": STR})}),
    })),
    "listmeta": Obj("listmeta", {"continue": STR}),
}, required=("items",))
PROJECT_SHAPE = Obj("a project", {"metadata": _META})
PROFILES_SHAPE = Obj("a cluster's profiles", {
    "profiles": Arr(Obj("a profile", {"spec": Obj("spec", {"packs": Arr(Obj("a pack", {
        "metadata": _META, "spec": Obj("spec", {"name": STR})}))})})),
}, required=("profiles",))
RBAC_BINDING_SHAPE = Obj("a binding", {
    "type": Enum("RoleBinding", "ClusterRoleBinding"),
    "namespace": STR,
    "role": Obj("role", {"kind": Enum("Role", "ClusterRole"), "name": STR}),
    "subjects": Arr(Obj("a subject", {"type": Enum("User", "Group", "ServiceAccount"), "name": STR,
                                      "namespace": STR})),
})
RBAC_ITEM_SHAPE = Obj("an RBAC item", {
    "metadata": _META,
    "spec": Obj("spec", {"isSystem": BOOL, "bindings": Arr(RBAC_BINDING_SHAPE)}),
})
RBACS_SHAPE = Obj("a cluster's RBAC settings", {"items": Arr(RBAC_ITEM_SHAPE)}, required=("items",))


class ShapeError(ValueError):
    """An answer that does not have the shape the collection reads; ``where`` is the place in it."""

    def __init__(self, where, message):
        super(ShapeError, self).__init__("%s %s" % (where, message))
        self.where = where


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - json.loads makes nothing else


def check_shape(value, shape, where="the answer"):
    """Raise ShapeError naming the first place in ``value`` that does not have ``shape``. Values are
    never quoted, except an enum's (short, and what the specification declares)."""
    if shape is ANY:
        return
    if isinstance(shape, Obj):
        if not isinstance(value, dict):
            named = shape.what.startswith(("a ", "an "))  # a list's element or an answer, else a field
            raise ShapeError(where, "is %s, expected %s" % (_kind(value), shape.what + " (an object)" if named
                                                            else "an object"))
        for key in shape.required:
            if key not in value:
                raise ShapeError(where, "has no %r" % key)
        for key, sub in shape.fields.items():
            if value.get(key) is not None:  # absent or null: none
                check_shape(value[key], sub, key if where == "the answer" else "%s.%s" % (where, key))
        return
    if isinstance(shape, Arr):
        if not isinstance(value, list):
            raise ShapeError(where, "is %s, expected a list" % _kind(value))
        for i, item in enumerate(value):
            here = "%s[%d]" % (where, i)
            if item is None:
                expected = shape.item.what if isinstance(shape.item, Obj) else shape.item
                raise ShapeError(here, "is null, expected %s" % expected)
            check_shape(item, shape.item, here)
        return
    if isinstance(shape, Enum):
        if not isinstance(value, str) or value not in shape.values:
            shown = ("%r" % value[:40]) if isinstance(value, str) else _kind(value)
            raise ShapeError(where, "is %s, expected %s" % (shown, " or ".join(shape.values)))
        return
    if shape is MAP:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ShapeError(where, "is %s, expected %s" % (
                _kind(value) if not isinstance(value, dict) else "an object with a value that is not a string", MAP))
        return
    expected = {STR: str, BOOL: bool}[shape]
    if not isinstance(value, expected):
        raise ShapeError(where, "is %s, expected %s" % (_kind(value), shape))


class PaletteClient(object):
    """A connection to one Palette API endpoint with one API key.

    ``project_uid``: the default ProjectUid header (None: tenant scope). Each call may name
    another project. ``requests`` counts the HTTP requests sent (retries not counted);
    ``log`` keeps (method, path, status) of each, for request counts in results and tests.
    """

    def __init__(self, host, api_key, project_uid=None, validate_certs=True, ca_cert=None, timeout=30.0,
                 retries=5, component="module", pool_size=8, key_option="api_key", rate_limit=None,
                 rate_option="rate_limit"):
        if URLLIB3_IMPORT_ERROR is not None:
            raise PaletteError("the Python package 'urllib3' is required (it comes with 'kubernetes'): %s"
                               % URLLIB3_IMPORT_ERROR)
        if not api_key:
            raise PaletteError("no Palette API key: set it, or the %s environment variable" % APIKEY_ENV)
        self._secrets = Secrets([api_key])
        try:  # sent in the ApiKey header: a trailing newline would make http.client quote it in an error
            check_header(key_option, api_key, secret=True)
        except ValueError as exc:
            raise PaletteError(str(exc))
        try:
            self.host = normalize_host(host or DEFAULT_HOST)
        except ValueError as exc:
            raise PaletteError("Palette host: %s" % exc)
        self._key = api_key
        self.project_uid = project_uid or None
        self.user_agent = "vmo.rbac/%s (%s)" % (__version__, component)
        try:
            rate = transport.check_rate_limit(rate_option, DEFAULT_RATE_LIMIT if rate_limit is None else rate_limit)
        except transport.BadValue as exc:
            raise PaletteError(str(exc))
        # Palette's rate limit is per source IP: one pacer per Palette host, shared by the run's processes
        self.pacer = transport.Pacer(rate, rate_file(self.host) if rate else None, key=self.host) if rate else None
        self.http = transport.Transport(
            self.host, transport.pool_manager(validate_certs, ca_cert if validate_certs else None, maxsize=pool_size,
                                              num_pools=2),
            transport.retry_policy(retries, pacer=self.pacer), urllib3.Timeout(connect=min(10.0, timeout), read=timeout),
            self._secrets, pacer=self.pacer)
        # The RBAC PUT: only a connection that could not be made is tried again (see the module's doc).
        self.put_retry = transport.retry_policy(retries, resend=False, pacer=self.pacer)
        self.log = []

    # ----------------------------------------------------------------- transport

    @property
    def requests(self):
        """The requests sent so far (retries not counted)."""
        return self.http.requests

    @property
    def retry(self):
        return self.http.retry

    def scrub(self, text):
        return self._secrets.scrub(text)

    def _headers(self, project, accept, with_body):
        headers = {"ApiKey": self._key, "Accept": accept, "User-Agent": self.user_agent}
        if with_body:
            headers["Content-Type"] = "application/json"
        project = self.project_uid if project is None else project
        if project:
            headers["ProjectUid"] = project
        return headers

    def request(self, method, path, query=None, body=None, project=None, accept="application/json", raw=False,
                retry=None):
        """One API call: the decoded JSON answer (or the bytes with ``raw``); raises PaletteError.

        ``project``: ProjectUid for this call; None uses the client's, "" sends none (tenant scope).
        ``retry``: urllib3's Retry for this call (default: the client's).
        """
        retry = retry or self.retry
        try:
            resp = self.http.send(method, path, query=query, body=body, retry=retry,
                                  headers=self._headers(project, accept, body is not None))
        except urllib3.exceptions.HTTPError as exc:
            self.log.append((method, path, None))
            reason = getattr(exc, "reason", None) or exc
            tries = ("after %d retries" % retry.total) if retry is not self.put_retry else \
                "once sent, a PUT is not sent again as it was"
            raise PaletteError("cannot reach Palette at %s (%s %s failed, %s): %s"
                               % (self.host, method, path, tries, self.scrub(reason)), None, path)
        self.log.append((method, path, resp.status))
        if 200 <= resp.status < 300:
            if raw:
                return resp.data
            if not resp.data:
                return {}
            try:
                return json.loads(resp.data.decode("utf-8"))
            except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
                raise PaletteError("Palette at %s answered %s %s with a body that is not JSON"
                                   % (self.host, method, path), resp.status, path)
        raise self._error(method, path, resp, retry)

    def _read(self, method, path, shape, **kw):
        """``request`` of an answer that must have ``shape`` (check_shape); raises PaletteError naming
        the request and the place in the answer."""
        answer = self.request(method, path, **kw)
        try:
            check_shape(answer, shape)
        except ShapeError as exc:
            raise PaletteError("Palette at %s answered %s %s with an answer of the wrong shape: %s; it is not used"
                               % (self.host, method, path, exc), 200, path)
        return answer

    def _error(self, method, path, resp, retry):
        try:
            answer = json.loads(resp.data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
            answer = {}
        said = answer.get("message") if isinstance(answer, dict) else None
        said = said if isinstance(said, str) and said else (resp.data or b"").decode("utf-8", "replace")
        said = _shown(self.scrub(said))  # scrubbed whole, then cut: a cut never leaves part of the key
        where = "%s %s" % (method, path)
        if resp.status == 401:
            msg = ("Palette at %s rejected the API key (401 Unauthorized on %s): it is missing, wrong, expired "
                   "or revoked; the key is read from the option or %s and is never shown"
                   % (self.host, where, APIKEY_ENV))
        elif resp.status == 403:
            msg = "Palette at %s refused %s (403 Forbidden): the API key's user lacks the permission%s" % (
                self.host, where, " in project %s" % self.project_uid if self.project_uid else "")
        elif resp.status == 404:
            msg = "Palette at %s found nothing at %s (404 Not Found)" % (self.host, where)
        elif resp.status in RETRY_STATUSES and retry.status:
            msg = "Palette at %s kept failing (%d) on %s after %d retries" % (
                self.host, resp.status, where, retry.total)
        elif resp.status in RETRY_STATUSES:
            msg = "Palette at %s failed (%d) on %s" % (self.host, resp.status, where)
        else:
            msg = "Palette at %s refused %s (%d)" % (self.host, where, resp.status)
        if said:
            msg += ". Palette said: %s" % said
        retry_after = None
        if resp.status in RETRY_STATUSES and resp.headers.get("Retry-After"):
            try:
                retry_after = self.retry.parse_retry_after(resp.headers["Retry-After"])
            except Exception:  # pylint: disable=broad-exception-caught
                retry_after = None  # an unreadable header: back off as usual
        return PaletteError(msg, resp.status, path, retry_after)

    # ----------------------------------------------------------------- reads

    def search_clusters(self, filter_spec=None, project=None, page_size=SEARCH_PAGE_SIZE):
        """Every cluster summary the search returns, all pages (``continue`` tokens)."""
        body = {"filter": filter_spec or {"conjunction": "and", "filterGroups": []},
                "sort": [{"field": "clusterName", "order": "asc"}]}
        path = "/v1/dashboard/spectroclusters/search"
        items, token, seen, uids = [], None, set(), set()
        for _page in range(SEARCH_PAGES_MAX):
            query = {"limit": page_size}
            if token:
                query["continue"] = token
            answer = self._read("POST", path, SEARCH_SHAPE, query=query, body=body, project=project)
            for item in answer.get("items") or []:
                uid = (item.get("metadata") or {}).get("uid")
                if uid and uid in uids:  # a list that shifted between pages repeats a cluster
                    continue
                uids.add(uid)
                items.append(item)
            token = (answer.get("listmeta") or {}).get("continue") or ""
            if not token:
                return items
            if token in seen:  # a server that repeats a token would loop forever
                raise PaletteError("Palette at %s repeated the search continue token; stopping after %d clusters"
                                   % (self.host, len(items)), 200, path)
            seen.add(token)
        raise PaletteError("Palette at %s kept giving continue tokens to POST %s after %d pages (%d clusters); "
                           "stopping" % (self.host, path, SEARCH_PAGES_MAX, len(items)), 200, path)

    def get_project(self, uid):
        return self._read("GET", "/v1/projects/%s" % _seg(uid), PROJECT_SHAPE, project="")

    def get_cluster(self, uid, project=None):
        """Only whether the cluster exists is read (a 2xx answer), never its body."""
        return self.request("GET", "/v1/spectroclusters/%s" % _seg(uid), project=project)

    def get_profiles(self, uid, project=None):
        return self._read("GET", "/v1/spectroclusters/%s/profiles" % _seg(uid), PROFILES_SHAPE, project=project)

    def get_kubeconfig(self, uid, kind="admin", project=None):
        """The kubeconfig text of a cluster: ``frp`` (reverse proxy / OIDC) or ``admin``."""
        if kind == "frp":
            path, query = "/v1/spectroclusters/%s/assets/kubeconfig" % _seg(uid), {"frp": "true"}
        elif kind == "admin":
            path, query = "/v1/spectroclusters/%s/assets/adminKubeconfig" % _seg(uid), None
        else:
            raise ValueError("kubeconfig kind must be one of %s" % ", ".join(KUBECONFIG_KINDS))
        body = self.request("GET", path, query=query, project=project, accept="application/octet-stream", raw=True)
        try:
            return decode_kubeconfig(body)
        except ValueError as exc:
            raise PaletteError("the %s kubeconfig of cluster %s: %s" % (kind, uid, exc), 200, path)

    def get_rbacs(self, uid, project=None):
        """The items of a cluster's RBAC settings. A 404 for a cluster that exists means "none yet"
        (checked with a GET of the cluster, so a wrong uid still fails)."""
        try:
            answer = self._read("GET", "/v1/spectroclusters/%s/config/rbacs" % _seg(uid), RBACS_SHAPE,
                                project=project)
        except PaletteError as exc:
            if exc.status != 404:
                raise
            try:
                self.get_cluster(uid, project=project)
            except PaletteError as inner:
                if inner.status == 404:
                    raise PaletteError("Palette at %s has no cluster %s%s (404 Not Found)" % (
                        self.host, uid, " in project %s" % (project or self.project_uid)
                        if (project or self.project_uid) else ""), 404, inner.path)
                raise
            return []
        return list(answer.get("items") or [])

    # ----------------------------------------------------------------- writes

    def put_rbacs(self, uid, rbacs, project=None):
        """Write a cluster's RBAC settings: ``rbacs`` is the list of v1ClusterRbacInputEntity. Sent
        once (a connection that could not be made is tried again): see the module's doc. A 2xx answer
        is a write whatever its body (204, none, in the specification; a proxy may add one)."""
        self.request("PUT", "/v1/spectroclusters/%s/config/rbacs" % _seg(uid), body={"rbacs": rbacs},
                     project=project, retry=self.put_retry, raw=True)


_CONTROL = re.compile(u"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
SAID_MAX = 300


def _shown(text):
    """Palette's own words in a message: control characters (escape sequences, CR, LF, NUL) as one
    space, at most SAID_MAX characters (an error body may be anything a middlebox sends)."""
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= SAID_MAX else text[:SAID_MAX] + "..."


def _seg(uid):
    if not is_uid(uid):
        raise PaletteError("%r is not a Palette uid" % (uid,))
    return quote(uid, safe="")
