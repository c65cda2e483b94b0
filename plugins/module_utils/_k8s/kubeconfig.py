# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig files with static credentials, read without importing the ``kubernetes`` package.

Importing the package costs about 0.6 s of CPU per module process (docs/performance.md), and a
kubeconfig context is the most common way to point at a cluster. Most kubeconfigs carry only
static settings: a server, a CA, a token or a client certificate. This module reads those the way
``kubernetes.config.load_kube_config`` / ``load_kube_config_from_dict`` of the installed client
series do (every series from 24 to 37, ``PROVEN_CLIENT_SERIES``), step by step (file list, merging,
context, user, cluster, files and base64 data), and builds the same connection settings. Anything
else goes to the official client: ``read`` then returns no configuration and the reason, and
cluster.py loads the kubeconfig with the client. Handed to the client:

- exec plugins and auth providers (``exec``, ``auth-provider``), the in-cluster service account
  (KUBERNETES_SERVICE_HOST and _PORT set, no kubeconfig or context given), a proxy (the ``proxy``
  option, or HTTPS_PROXY / HTTP_PROXY / ALL_PROXY in the environment, in any case, which the client's
  Configuration reads; from kubernetes 37 also the selected cluster's ``proxy-url``);
- a key this reader does not know in the selected context, cluster or user, a value of an
  unexpected type (``insecure-skip-tls-verify: "false"``, a number as a token), an entry without a
  name, duplicate names in an inline kubeconfig: anything whose outcome is not proven equal;
- every kubeconfig when the installed client is not of a proven series (older than requirements
  allow, newer than proven, or a version that cannot be read).

What every proven series does, and so what this reader does: ``as``, ``as-groups``, ``as-uid``,
``as-user-extra``, ``disable-compression``, ``extensions`` and the context's ``namespace`` are
ignored; ``username``/``password`` become ``Authorization: Basic ...`` (stored as the token, as the
client does); a token wins over ``tokenFile``, whose content is used as read (not stripped);
``certificate-authority`` and the client certificate and key are read only for an ``https`` server,
the certificate and key relative to the directory of the file that defines the *cluster*; the
``-data`` fields win over the file fields and are handed to urllib3 as files, because it takes
certificates and keys by path only: memory-only files on Linux (never on a filesystem), elsewhere
temporary files of mode 0600 removed at exit and when a module's run in the worker ends.

Where the series differ (``SeriesRules``, read from each release's ``kube_config.py`` and ``rest.py``):

===================================  ==========================  ==============================
what                                 kubernetes 24 to ...        from ...
===================================  ==========================  ==============================
current-context of a KUBECONFIG list the first file's (to 29)    the last file that sets it (30)
the cluster's ``tls-server-name``    ignored (to 27)             SNI and hostname check (28)
a connection without a CA            certifi's bundle (to 35)    the system trust store (36)
the cluster's ``proxy-url``          ignored (to 36)             the proxy: handed off (37)
===================================  ==========================  ==============================

tests/unit/plugins/module_utils/_k8s/test_kubeconfig.py proves it: for a corpus of kubeconfig shapes
(tests/unit/plugins/module_utils/_k8s/kubeconfig_corpus.yaml) and generated variations, the connection this module builds
(server, TLS settings, CA, client certificate and key by content, Authorization header, pool
arguments) equals the one the installed client builds, or the kubeconfig is handed to the client, or
both refuse it. It runs against the everyday client, the compatibility matrix's oldest and newest
(every `make test`) and every series between (tests/unit/plugins/module_utils/_k8s/kubeconfig_series.py,
`make kubeconfig-series`). Errors name the option (``kubeconfig`` or ``context``), the file and the
entry, never a credential, and never PyYAML's excerpt of the offending line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import base64
import binascii
import os
import re
import tempfile
from importlib.util import find_spec

try:
    import urllib3
    import yaml
except ImportError:  # pragma: no cover - cluster.py reports the missing requirement
    urllib3 = yaml = None

from ansible_collections.vmo.rbac.plugins.module_utils._http import transport

# The client series whose loader this module reproduces (with the differences of SeriesRules), each
# proven by tests/unit/plugins/module_utils/_k8s/kubeconfig_series.py (`make kubeconfig-series`); the oldest
# and newest run in every `make test` too (compat-unit). With another series installed (older than
# requirements allow, or newer than proven), the client loads every kubeconfig. A new series: run the
# sweep for it, then extend this and SeriesRules.
PROVEN_CLIENT_SERIES = ("24.", "25.", "26.", "27.", "28.", "29.", "30.", "31.", "32.", "33.", "34.", "35.", "36.", "37.")
DEFAULT_LOCATION = "~/.kube/config"
# The environment variables a proxy may come from, by their name in lower case: kubernetes 24 to 33 read
# none, 34 to 36 read HTTPS_PROXY, https_proxy, HTTP_PROXY and http_proxy; from 37 the client takes urllib's
# getproxies(), which reads every *_proxy variable whatever its case (ALL_PROXY, all_proxy, Https_Proxy) and
# uses all_proxy for any scheme. A kubeconfig read with any of them set goes to the client, which then
# decides (a variable an older client ignores goes to it too: the same outcome, at the client's cost).
PROXY_ENV = ("https_proxy", "http_proxy", "all_proxy")
IN_CLUSTER_ENV = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")

# The keys of a context, cluster and user this reader knows. ``read`` are read as the client
# reads them (strings, and a boolean for insecure-skip-tls-verify); ``ignored`` are ignored by the
# proven client, whatever their value. Any other key hands the kubeconfig to the client.
CONTEXT_KEYS = {"read": ("cluster", "user"), "ignored": ("namespace", "extensions")}
CLUSTER_KEYS = {"read": ("server", "certificate-authority", "certificate-authority-data",
                         "insecure-skip-tls-verify", "tls-server-name"),
                "ignored": ("proxy-url", "disable-compression", "extensions")}
USER_KEYS = {"read": ("token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
                      "client-key-data", "username", "password"),
             "ignored": ("as", "as-uid", "as-groups", "as-user-extra", "extensions")}
BOOLEAN_KEYS = ("insecure-skip-tls-verify",)
SECTIONS = ("clusters", "contexts", "users")


class SeriesRules(object):
    """What the client's loader of one series does differently, for what this reader reads (from the
    client's kubernetes/config/kube_config.py and kubernetes/client/rest.py of each release):

    - ``current_context``: ``"first"`` before 30 (the merger starts from the first file and keeps its
      current-context, or its lack of one), ``"last"`` from 30 (the last file that has the key);
    - ``tls_server_name``: the cluster's ``tls-server-name`` is read from 28 (SNI and the name checked in
      the certificate); before, it is ignored;
    - ``certifi``: before 36, a connection without a CA verifies against certifi's bundle (and hands it
      to urllib3 even when it does not verify); from 36, the system trust store;
    - ``proxy_url``: from 37 the cluster's ``proxy-url`` is the proxy (this reader then hands the
      kubeconfig to the client); before, it is ignored.
    """

    def __init__(self, major):
        self.major = major
        self.current_context = "first" if major < 30 else "last"
        self.tls_server_name = major >= 28
        self.certifi = "always" if major < 36 else False
        self.proxy_url = major >= 37


def series_rules(version):
    """The SeriesRules of a client version (``"24.2.0"``), or None for a version not understood."""
    match = re.match(r"(\d+)\.", version or "")
    return SeriesRules(int(match.group(1))) if match else None


class KubeconfigError(Exception):
    """A kubeconfig the client would refuse too; the message names the option, never a credential."""

    def __init__(self, option, message):
        super(KubeconfigError, self).__init__("%s: %s" % (option, message))
        self.option = option
        self.message = "%s: %s" % (option, message)


class _HandOff(Exception):
    """The kubeconfig goes to the official client; the argument says why."""


# --------------------------------------------------------------------- configuration


def read(params, environ=None):
    """``(transport.ConnectionSettings, None)`` for a kubeconfig with static credentials, or ``(None, reason)``
    when the official client must load it (cluster.py then hands it to the client). Raises KubeconfigError
    for a kubeconfig the client would refuse too.

    ``params`` are the module's connection options; only the kubeconfig ones are read here (the
    caller applies host, api_key, ca_cert, ... on top, as it does for the client's configuration).
    Call it only when no direct credentials (host with a token or a client certificate) are given.
    """
    environ = os.environ if environ is None else environ
    kubeconfig, context = params.get("kubeconfig"), params.get("context")
    try:
        if params.get("proxy") or any(v and k.lower() in PROXY_ENV for k, v in environ.items()):
            raise _HandOff("a proxy (the client's Configuration takes it from the environment too)")
        series = client_version()
        rules = series_rules(series)
        if rules is None or not series.startswith(tuple(PROVEN_CLIENT_SERIES)):
            raise _HandOff("kubernetes %s installed; the static reader is proven for %s"
                           % (series or "(version unknown)", _proven_text()))
        # cluster.build_configuration's dispatch: an explicit kubeconfig or context, else the in-cluster
        # service account, else the default kubeconfig with its current context.
        if kubeconfig or context:
            if isinstance(kubeconfig, dict):
                return _configuration(_inline(kubeconfig), context, rules), None
            if kubeconfig is None:
                return _configuration(_files(environ.get("KUBECONFIG", DEFAULT_LOCATION), environ, rules),
                                      context, rules), None
            if not isinstance(kubeconfig, str):
                raise _HandOff("a kubeconfig that is neither a path nor a mapping")
            if not kubeconfig:
                raise _HandOff("an empty kubeconfig path")
            if not os.path.exists(os.path.expanduser(kubeconfig)):
                raise KubeconfigError("kubeconfig", "file %s does not exist" % kubeconfig)
            return _configuration(_files(os.path.expanduser(kubeconfig), None, rules), context, rules), None
        if all(k in environ for k in IN_CLUSTER_ENV):
            raise _HandOff("the in-cluster service account (%s set)" % " and ".join(IN_CLUSTER_ENV))
        return _configuration(_files(environ.get("KUBECONFIG", DEFAULT_LOCATION), environ, rules), None, rules), None
    except _HandOff as exc:
        return None, str(exc)


def _proven_text():
    """``24.x to 37.x`` (or the list, when it has gaps)."""
    majors = sorted(int(s.rstrip(".")) for s in PROVEN_CLIENT_SERIES)
    if majors and majors == list(range(majors[0], majors[-1] + 1)) and len(majors) > 2:
        return "%d.x to %d.x" % (majors[0], majors[-1])
    return ", ".join("%d.x" % m for m in majors)


_CLIENT_VERSION = []


def client_version():
    """The installed kubernetes client's version, read from its __init__.py (without importing it)."""
    if not _CLIENT_VERSION:
        version = None
        try:
            spec = find_spec("kubernetes")
            if spec is not None and spec.origin:
                with open(spec.origin) as fh:
                    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", fh.read(), re.M)
                version = match.group(1) if match else None
        except (OSError, ValueError, ImportError):
            version = None
        _CLIENT_VERSION.append(version)
    return _CLIENT_VERSION[0]


# ----------------------------------------------------------------------- the sources


class _Source(object):
    """A kubeconfig as the client's loader sees it: entries by section, each (name, body, file it
    came from or None for an inline mapping), and the current context."""

    def __init__(self, where, inline, sections, current, has_current):
        self.where = where  # for messages: "/a/config" or "/a/config:/b/config" or "the inline kubeconfig"
        self.inline = inline
        self.sections = sections  # {section: [(name, body, path)]}, or None: section absent or null
        self.current = current
        self.has_current = has_current


def _inline(config):
    """load_kube_config_from_dict: the mapping as given, relative paths against the working directory."""
    sections = {}
    for section in SECTIONS:
        value = config.get(section)
        if value is None:
            sections[section] = None
            continue
        if not isinstance(value, list):
            raise _HandOff("%s is not a list" % section)
        sections[section] = [_entry(item, section, None) for item in value]
    current = config.get("current-context")
    return _Source("the inline kubeconfig", True, sections, current, current is not None)


def _files(location, environ, rules):
    """KubeConfigMerger: every existing file of a ':'-separated list, entries merged by name (the
    first file that names one wins), current-context from the last file that has the key (from
    kubernetes 30; before, the first file's)."""
    docs = []
    for part in location.split(":"):
        if part:
            path = os.path.expanduser(part)
            if os.path.exists(path):
                docs.append((path, _load_yaml(path)))
    if not docs:
        origin = " (KUBECONFIG)" if environ is not None and "KUBECONFIG" in environ else ""
        raise KubeconfigError("kubeconfig", "no kubeconfig file found at %s%s" % (location or '""', origin))
    sections = dict((s, []) for s in SECTIONS)
    seen = dict((s, set()) for s in SECTIONS)
    current, has_current = None, False
    for index, (path, doc) in enumerate(docs):
        for section in SECTIONS:
            value = doc.get(section) or []
            if not isinstance(value, list):
                raise _HandOff("%s in %s is not a list" % (section, path))
            for item in value:
                name, body, _path = _entry(item, section, path)
                if name not in seen[section]:
                    seen[section].add(name)
                    sections[section].append((name, body, path))
        if "current-context" in doc and (rules.current_context == "last" or index == 0):
            current, has_current = doc["current-context"], True
    return _Source(":".join(p for p, _d in docs), False, sections, current, has_current and current is not None)


def _entry(item, section, path):
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise _HandOff("an entry of %s without a name" % section)
    return item["name"], item.get(section[:-1]), path


def _load_yaml(path):
    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise KubeconfigError("kubeconfig", "%s is not valid YAML%s" % (path, _yaml_position(exc)))
    except UnicodeDecodeError:
        raise KubeconfigError("kubeconfig", "%s is not a text file (not valid UTF-8)" % path)
    except (OSError, IOError) as exc:
        raise KubeconfigError("kubeconfig", "cannot read %s: %s" % (path, exc.strerror or type(exc).__name__))
    if doc is None:
        raise KubeconfigError("kubeconfig", "%s is empty" % path)
    if not isinstance(doc, dict):
        raise KubeconfigError("kubeconfig", "%s is not a kubeconfig: a mapping with clusters, contexts and users "
                                            "was expected, not a %s" % (path, _kind(doc)))
    return doc


def _yaml_position(exc):
    """Where PyYAML stopped and what it found; never its excerpt of the line (a token may be on it),
    and of what it quotes only a single character."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or ""
    problem = re.sub(r"'([^']{2,})'", "'...'", problem)
    if mark is None:
        return ""
    return " (line %d, column %d%s)" % (mark.line + 1, mark.column + 1, ": " + problem if problem else "")


_KINDS = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}


def _kind(value):
    return _KINDS.get(type(value), type(value).__name__)


# ------------------------------------------------------------- the client's loading


def _find(source, section, name):
    """(body, path) of the entry ``name`` (KubeConfigLoader.get_with_name), or None."""
    matches = [(b, p) for (n, b, p) in source.sections[section] or [] if n == name]
    if len(matches) > 1:  # only possible inline: the merger of files keeps the first
        raise _HandOff("two %s named %r" % (section, name))
    return matches[0] if matches else None


def _names(source, section):
    names = [n for (n, _b, _p) in source.sections[section] or []]
    return ", ".join(repr(n) for n in names) if names else "none"


def _checked(body, keys, what):
    if not isinstance(body, dict):
        raise _HandOff("%s is not a mapping" % what)
    unknown = sorted(k for k in body if k not in keys["read"] and k not in keys["ignored"])
    if unknown:
        raise _HandOff("%s has %s, which this reader does not read" % (what, ", ".join(map(str, unknown))))
    for key in keys["read"]:
        if key in body and not isinstance(body[key], bool if key in BOOLEAN_KEYS else str):
            raise _HandOff("%s: %s is a %s" % (what, key, _kind(body[key])))
    return body


def _configuration(source, context, rules):
    """KubeConfigLoader.set_active_context + load_and_set, for static credentials, as the client
    series of ``rules`` does."""
    option = "context" if context is not None else "kubeconfig"
    if context is None:
        if not source.has_current:
            raise KubeconfigError("kubeconfig", "%s has no current-context; set the context option (contexts: %s)"
                                  % (source.where, _names(source, "contexts")))
        context = source.current
        if not isinstance(context, str):
            raise _HandOff("current-context is a %s" % _kind(context))
    if source.sections["contexts"] is None:
        raise KubeconfigError("kubeconfig", "%s has no contexts" % source.where)
    found = _find(source, "contexts", context)
    if found is None:
        raise KubeconfigError(option, "no context %r in %s (contexts: %s)"
                              % (context, source.where, _names(source, "contexts")))
    ctx = _checked(found[0], CONTEXT_KEYS, "context %r" % context)
    if not isinstance(ctx.get("cluster"), str):
        raise _HandOff("context %r has no cluster" % context)

    user, user_path = None, None
    if ctx.get("user") and source.sections["users"]:
        entry = _find(source, "users", ctx["user"])
        if entry is not None:  # the client goes on without credentials when the user is missing
            _delegated(entry[0])
            user = _checked(entry[0], USER_KEYS, "user %r" % ctx["user"])
            user_path = entry[1]

    if source.sections["clusters"] is None:
        raise KubeconfigError(option, "context %r names cluster %r, but %s has no clusters"
                              % (context, ctx["cluster"], source.where))
    entry = _find(source, "clusters", ctx["cluster"])
    if entry is None:
        raise KubeconfigError(option, "context %r names cluster %r, which is not in %s (clusters: %s)"
                              % (context, ctx["cluster"], source.where, _names(source, "clusters")))
    cluster = _checked(entry[0], CLUSTER_KEYS, "cluster %r" % ctx["cluster"])
    if rules.proxy_url and "proxy-url" in cluster:
        raise _HandOff("cluster %r has a proxy-url, which kubernetes %d.x uses as its proxy" % (ctx["cluster"], rules.major))
    cluster_base = _base_path(entry[1])

    token = _token(user, _base_path(user_path), ctx.get("user"))
    if token and _ILLEGAL_IN_HEADER.search(token):
        # The client would send it as is; http.client refuses the header with a ValueError that
        # quotes it (the token would end up in a traceback). Same outcome, told without the token.
        origin = " from tokenFile %s" % _token_file(user, user_path) if "token" not in user and "tokenFile" in user else ""
        raise KubeconfigError("kubeconfig", "user %r: the token%s %s a line break: remove it"
                              % (ctx.get("user"), origin,
                                 "ends in" if not _ILLEGAL_IN_HEADER.search(token.rstrip("\r\n")) else "contains"))
    host, ca, cert, key = "http://localhost", None, None, None  # the client's defaults
    if "server" in cluster:
        host = cluster["server"].rstrip("/")
        if host.startswith("https"):
            ca = _file_or_data(cluster, "certificate-authority", cluster_base, "cluster %r" % ctx["cluster"])
            # The client resolves the user's certificate and key against the cluster's file.
            cert = _file_or_data(user, "client-certificate", cluster_base, "user %r" % ctx.get("user"))
            key = _file_or_data(user, "client-key", cluster_base, "user %r" % ctx.get("user"))
    verify = not cluster["insecure-skip-tls-verify"] if "insecure-skip-tls-verify" in cluster else True
    tls_server_name = cluster.get("tls-server-name") if rules.tls_server_name else None
    where = "%s, context %r" % (source.where, context)
    return transport.ConnectionSettings(host, token, ca, cert, key, verify, tls_server_name, where, certifi=rules.certifi)


def _delegated(user):
    """Raises _HandOff for credentials only the client can produce (exec plugins, auth providers)."""
    if isinstance(user, dict):
        if "exec" in user:
            raise _HandOff("the user's credentials come from an exec plugin")
        if "auth-provider" in user:
            raise _HandOff("the user's credentials come from an auth provider")


def _base_path(path):
    return os.path.abspath(os.path.dirname(path)) if path is not None else ""


_ILLEGAL_IN_HEADER = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")  # http.client's rule for header values


def _token_file(user, user_path):
    return os.path.normpath(os.path.join(_base_path(user_path), user["tokenFile"]))


def _token(user, base, user_name):
    """KubeConfigLoader._load_user_token, then _load_user_pass_token: the value the client stores
    as api_key['BearerToken'] ("Bearer <token>" or "Basic <base64>"), or None."""
    if not user:
        return None
    token = None
    if "token" in user:
        token = user["token"]
    elif "tokenFile" in user:
        path = os.path.normpath(os.path.join(base, user["tokenFile"]))
        try:
            with open(path) as fh:
                token = fh.read()
        except UnicodeDecodeError:
            raise KubeconfigError("kubeconfig", "user %r: tokenFile %s is not a text file" % (user_name, path))
        except (OSError, IOError) as exc:
            raise KubeconfigError("kubeconfig", "user %r: cannot read tokenFile: %s (%s)"
                                  % (user_name, exc.strerror or type(exc).__name__, _not_shown("tokenFile", base)))
    if token:
        return "Bearer %s" % token
    if "username" in user and "password" in user:
        try:
            header = urllib3.util.make_headers(basic_auth=user["username"] + ":" + user["password"])
        except UnicodeError:
            raise KubeconfigError("kubeconfig", "user %r: username and password must be Latin-1 text for "
                                                "basic authentication" % user_name)
        return header.get("authorization")
    return None


def _file_or_data(obj, key, base, what):
    """FileOrData(obj, key).as_file(): the data field wins (base64, written to a temporary file),
    else the file, relative to ``base``; a file that does not exist is an error."""
    if not obj:
        return None
    data_key = key + "-data"
    path, data = None, None
    if data_key in obj:
        data = obj[data_key]
    elif key in obj:
        path = os.path.normpath(os.path.join(base, obj[key]))
    if not path and data:
        try:
            content = base64.standard_b64decode(data.encode())
        except (binascii.Error, ValueError):
            raise KubeconfigError("kubeconfig", "%s: %s is not valid base64" % (what, data_key))
        path = _temp_file(content)
    if path and not os.path.isfile(path):
        if key in SECRET_FILE_KEYS:
            raise KubeconfigError("kubeconfig", "%s: %s: no such file (%s)" % (what, key, _not_shown(key, base)))
        raise KubeconfigError("kubeconfig", "%s: %s %s does not exist" % (what, key, path))
    return path


# The user's fields that name a file holding a credential. A careless operator pastes the credential itself
# there (the key's PEM into client-key instead of client-key-data, the token into tokenFile): a message that
# quoted the path would quote the credential, so it names the field and where a relative path is read from.
SECRET_FILE_KEYS = ("client-key", "tokenFile")


def _not_shown(key, base):
    return "the value of %s is not shown, in case it is the credential itself rather than a path; a relative " \
           "path is read from %s" % (key, base or "the working directory")


_TEMP_FILES = {}  # content -> path
_MEMORY_FILES = {}  # path -> file descriptor of a memory-only file
# Where the platform has them (Linux), certificate and key data live in anonymous memory files
# (memfd_create) that urllib3 and OpenSSL open by the path /proc/self/fd/<n>: the data never reaches
# a filesystem, and it is gone with the process, however the process ends. Ansible's worker
# processes end with os._exit, which skips atexit: a file on disk would be left behind there.
USE_MEMORY_FILES = hasattr(os, "memfd_create")


def _memory_file(content):
    """The path of a memory-only file holding ``content``, or None where there is none."""
    try:
        fd = os.memfd_create("vmo-rbac-kubeconfig", getattr(os, "MFD_CLOEXEC", 0))
    except OSError:  # a sandbox without memfd_create
        return None
    path = "/proc/self/fd/%d" % fd
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        if not os.path.isfile(path):  # no /proc here
            raise OSError("no %s" % path)
    except OSError:
        os.close(fd)
        return None
    _MEMORY_FILES[path] = fd
    return path


def _temp_file(content):
    """A path urllib3 can load ``content`` from (it takes certificates and keys by path only):
    a memory-only file where the platform has them, else a file readable by this user only
    (mkstemp: 0600), removed at exit and by ``remove_temp_files``."""
    if content in _TEMP_FILES:
        return _TEMP_FILES[content]
    if not _TEMP_FILES:
        atexit.register(remove_temp_files)
    path = _memory_file(content) if USE_MEMORY_FILES else None
    if path is None:
        fd, path = tempfile.mkstemp(prefix="vmo-rbac-kubeconfig-")
        try:
            os.write(fd, content)
        finally:
            os.close(fd)
    _TEMP_FILES[content] = path
    return path


def remove_temp_files():
    """Remove the files of -data fields (memory files are closed). Called at exit, and by the
    worker (plugin_utils/in_worker.py) when a module's run there ends, since its process skips atexit."""
    for path in list(_TEMP_FILES.values()):
        fd = _MEMORY_FILES.pop(path, None)
        try:
            if fd is not None:
                os.close(fd)
            else:
                os.remove(path)
        except OSError:
            pass
    _TEMP_FILES.clear()


_ENTRY_REPR = re.compile(r"\{.*\}", re.S)


def redact_entries(message):
    """A message of the client's loader without the entries it quotes. For a kubeconfig file, the
    client names each entry by its whole content ("Expected key user in /path/{'name': 'admin',
    'token': '...'}"), so a misplaced key would put a token or key data into the message; nor the path
    of a file that does not exist ("File does not exist: <path>"), which is the credential itself when it
    was pasted where its path belongs (SECRET_FILE_KEYS)."""
    message = _ENTRY_REPR.sub("{...}", str(message))
    return _MISSING_FILE.sub("File does not exist: (a file the kubeconfig names; not shown, in case it is a "
                             "credential pasted where its path belongs)", message)


_MISSING_FILE = re.compile(r"File does not exist: .*", re.S)


def os_error_text(exc):
    """An OSError of the client's loader without the file name it carries (for the same reason as
    ``redact_entries``): its reason, and that it is about a file the kubeconfig names."""
    if isinstance(exc, (OSError, IOError)) and getattr(exc, "filename", None) is not None:
        return "%s (the kubeconfig or a file it names; the name is not shown, in case it is a credential pasted " \
               "where a path belongs)" % (exc.strerror or type(exc).__name__)
    return str(exc)
