# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the two HTTP clients of the collection share: the Kubernetes API client (cluster.py) and
the Palette API client (palette.py).

Bounded retries (urllib3's ``Retry``, honouring ``Retry-After`` for at most RETRY_AFTER_MAX
seconds, backing off for at most BACKOFF_MAX seconds) for the statuses worth retrying; the checks of
every value a client sends in a header or uses as a URL, made before the first request
(``check_header``, ``check_url``: errors name the option, never a secret's value); and the scrubbing
of every text that leaves a client or a plugin (``Secrets``: user information in URLs, and every
form of every credential the run knows).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import logging
import math
import os
import re
import ssl
import stat
import threading
import time

# check_rate_limit: the clients' name for it (palette.PaletteClient, the inventory plugin)
from ansible_collections.vmo.rbac.plugins.module_utils._core.values import (  # pylint: disable=unused-import
    BadValue, RATE_LIMIT_MAX, RATE_LIMIT_MIN, RETRY_AFTER_MAX, _CONTROL, _kind, check_rate_limit, scrub,
    text_problem,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

try:
    from urllib.parse import urlencode
except ImportError:  # pragma: no cover - Python 2 is not supported
    urlencode = None

try:
    import urllib3
    from urllib3.util.retry import Retry
except ImportError:  # pragma: no cover - reported by the callers
    urllib3 = Retry = None

RETRY_STATUSES = (429, 500, 502, 503, 504)
# The longest exponential backoff between two attempts, in seconds (urllib3's own cap is 120 s).
BACKOFF_MAX = 4.0

if Retry is not None:
    class BoundedRetry(Retry):
        """urllib3's Retry, honouring Retry-After for at most RETRY_AFTER_MAX seconds and backing off
        for at most BACKOFF_MAX seconds, in every urllib3 version (1.26 has no backoff_max argument)."""

        def parse_retry_after(self, retry_after):
            return min(super(BoundedRetry, self).parse_retry_after(retry_after), RETRY_AFTER_MAX)

        def get_retry_after(self, response):
            """The Retry-After of ``response`` in seconds (at most RETRY_AFTER_MAX), or None, also when it
            is neither a whole number of seconds nor an HTTP date (``-5``, ``1.5``, ``soon``): urllib3 raises
            InvalidHeader for those, which turned a 429 or 503 worth retrying into a failure that said the
            server could not be reached; the retry backs off instead."""
            try:
                return super(BoundedRetry, self).get_retry_after(response)
            except urllib3.exceptions.InvalidHeader:
                return None

        def get_backoff_time(self):
            return min(super(BoundedRetry, self).get_backoff_time(), BACKOFF_MAX)

        # A Pacer (rate limit) that every attempt after the first waits for too; a 429 holds it (every
        # process that shares it) for as long as the answer asks, bounded, or the backoff.
        pacer = None

        def new(self, **kw):
            retry = super(BoundedRetry, self).new(**kw)
            retry.pacer = self.pacer
            return retry

        def sleep(self, response=None):
            if self.pacer is not None and response is not None and getattr(response, "status", None) == 429:
                wait = self.get_retry_after(response) if self.respect_retry_after_header else None
                self.pacer.hold(wait if wait else self.get_backoff_time())
            super(BoundedRetry, self).sleep(response)
            if self.pacer is not None:
                self.pacer.take()
else:  # pragma: no cover - reported by the callers
    BoundedRetry = None


def check_header(option, value, secret=True, origin=None, subject=None):
    """Raise BadValue naming ``option`` when ``value`` cannot be sent in an HTTP header; ``origin``: the
    environment variable it came from, if it did; ``subject``: what the value is, in the message."""
    problem = text_problem(value, secret)
    if problem:
        subject = subject or ("the value from %s" % origin if origin else "the value")
        raise BadValue(option, "%s %s%s" % (subject, problem, "; it is not shown" if secret else ""))


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/@]*@)?(\[[^\]]*\]|[^/:?#]*):([^/?#]*)")


def check_url(option, value, schemes=("https", "http"), origin=None):
    """Raise BadValue naming ``option`` when ``value`` is not a URL of one of ``schemes`` with a host and
    a port from 1 to 65535 (what urllib3 would refuse with a bare "Failed to parse", or worse, read
    differently: ``localhost:6443`` is the scheme ``localhost``). The message shows the URL without its
    user information; ``origin``: the environment variable it came from, if it did."""
    try:
        _check_url(option, value, schemes)
    except BadValue as exc:
        if origin:
            raise BadValue(option, "from %s: %s" % (origin, exc.message))
        raise


def _check_url(option, value, schemes):
    if not isinstance(value, str):
        raise BadValue(option, "expected a URL, got %s" % _kind(value))
    shown = scrub(value)
    if _CONTROL.search(value) or " " in value.strip():
        raise BadValue(option, "the URL contains a control character or a space")
    value = value.strip()
    scheme = _SCHEME.match(value)
    if not scheme:
        suggestion = "%s://%s" % (schemes[0], shown)
        if re.match(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?(/\S*)?$", value):
            raise BadValue(option, "%r has no scheme: write it as %s" % (shown, suggestion))
        raise BadValue(option, "%r is not a URL (%s://host:port)" % (shown, schemes[0]))
    if scheme.group(1).lower() not in schemes:
        raise BadValue(option, "%r: the scheme must be %s" % (shown, " or ".join(schemes)))
    port = _PORT.match(value)
    if port and port.group(2) != "":
        if not port.group(2).isdigit() or not 1 <= int(port.group(2)) <= 65535:
            raise BadValue(option, "%r: the port must be a number from 1 to 65535" % shown)
    try:
        from urllib3.util import parse_url  # pylint: disable=import-outside-toplevel

        parsed = parse_url(value)
    except ImportError:  # pragma: no cover - urllib3 is a requirement
        return
    except ValueError:  # LocationParseError
        raise BadValue(option, "%r is not a URL with a valid host and port" % shown)
    if not parsed.host:
        raise BadValue(option, "%r has no host" % shown)
    if parsed.port == 0:
        raise BadValue(option, "%r: the port must be a number from 1 to 65535" % shown)


# ------------------------------------------------------------------------------------ scrubbing


def secret_forms(value):
    """The forms in which a secret may turn up in a message: as given, without surrounding
    whitespace, as Python escapes it (``repr``: a token with a newline shows as ``abc\\n``), and each
    long line of a multi-line value (a private key's base64 lines)."""
    if not isinstance(value, str) or len(value.strip()) < 4:
        return set()
    forms = {value, value.strip(), repr(value)[1:-1], value.encode("unicode_escape").decode("ascii")}
    for line in value.splitlines():
        if len(line.strip()) >= 16:
            forms.add(line.strip())
    return set(f for f in forms if len(f) >= 4)


class Secrets(object):
    """The secrets a run knows (options, tokens a kubeconfig gave, API keys), and the one function
    that removes them from a text: every error and log message of every plugin goes through it, a
    second line of defence behind the checks above. Safe to share between threads."""

    def __init__(self, values=()):
        self._lock = threading.Lock()
        self._forms = ()
        self.add(*values)

    def add(self, *values):
        new = set()
        for v in values:
            new.update(secret_forms(v))
        if new - set(self._forms):
            with self._lock:
                self._forms = tuple(sorted(set(self._forms) | new, key=len, reverse=True))

    def __bool__(self):
        return bool(self._forms)

    def scrub(self, text):
        """``text`` without user information in URLs and without any known secret."""
        return scrub(text, self._forms)

    def scrub_data(self, data):
        """``data`` (a result: dicts, lists, texts) with every text scrubbed."""
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, dict):
            return dict((k, self.scrub_data(v)) for k, v in data.items())
        if isinstance(data, (list, tuple)):
            return [self.scrub_data(v) for v in data]
        return data


class ScrubLog(logging.Filter):
    """A log record without any secret of ``secrets`` (message, arguments and traceback)."""

    def __init__(self, secrets):
        super(ScrubLog, self).__init__()
        self.secrets = secrets

    def filter(self, record):
        if self.secrets:
            record.msg = self.secrets.scrub(record.getMessage())
            record.args = ()
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            # also a traceback another filter (of another run's Secrets) or a handler formatted already
            if record.exc_text:
                record.exc_text = self.secrets.scrub(record.exc_text)
            if getattr(record, "stack_info", None):
                record.stack_info = self.secrets.scrub(record.stack_info)
        return True


def scrub_logs(secrets):
    """Scrub ``secrets`` from what is logged through the root logger and its handlers, once per Secrets: the
    kubernetes client logs an exec plugin's failure with ``logging.error``, the plugin's stderr included
    (an OIDC login that quotes its client secret), and Ansible writes the root logger's records to its log
    (ANSIBLE_LOG_PATH) from the worker process where the modules run."""
    root = logging.getLogger()
    for target in [root] + list(root.handlers):
        if not any(isinstance(f, ScrubLog) and f.secrets is secrets for f in target.filters):
            target.addFilter(ScrubLog(secrets))


# ------------------------------------------------------------------ interim responses

try:
    import http.client as http_client
except ImportError:  # pragma: no cover - Python 2 is not supported
    http_client = None

# Interim (1xx) responses read past before one request's final answer; more is a protocol error.
MAX_INTERIM = 8


if http_client is not None:
    class InterimResponseError(http_client.HTTPException):
        """101 Switching Protocols, or more interim responses than MAX_INTERIM, before a final answer:
        the connection is out of step with its requests and is not read any further."""

    class FinalResponse(http_client.HTTPResponse):
        """``http.client``'s response, reading past every interim (1xx) response to the final one.

        HTTP/1.1 lets a server (or a proxy) send any number of interim responses before the final
        answer (103 Early Hints, 102 Processing); ``http.client`` skips only 100 Continue and returns
        any other 1xx as if it were the answer, leaving the real answer on the connection for the
        next request to read: every later answer on that connection would belong to the request
        before it. Here each interim response's status line and headers are read and dropped (they
        have no body); 101 Switching Protocols (the connection would no longer speak HTTP/1.1) and
        more than MAX_INTERIM of them raise InterimResponseError, which urllib3 treats as a broken
        connection (closed, never reused; retried as its Retry allows)."""

        def _read_status(self):
            for _interim in range(MAX_INTERIM + 1):
                version, status, reason = http_client.HTTPResponse._read_status(self)
                if not 100 <= status < 200:
                    return version, status, reason
                if status == 101:
                    raise InterimResponseError("101 Switching Protocols in answer to a request that asked for no "
                                               "upgrade")
                http_client.parse_headers(self.fp)  # an interim response: its headers, no body
            raise InterimResponseError("more than %d interim (1xx) responses before one answer" % MAX_INTERIM)
else:  # pragma: no cover
    InterimResponseError = FinalResponse = None


def read_final_responses(pool):
    """Make the connections ``pool`` (a urllib3 connection pool) opens from now on read responses with
    FinalResponse. Returns the pool."""
    base = pool.ConnectionCls
    if FinalResponse is None or getattr(base, "response_class", None) is FinalResponse:
        return pool
    pool.ConnectionCls = type(base.__name__, (base,), {"response_class": FinalResponse})
    return pool


# ------------------------------------------------------------------ connection settings and the pool


class ConnectionSettings(object):
    """The settings of one connection (URL, credential, TLS), shaped like kubernetes.client.Configuration
    (the attributes cluster.py reads), built without importing the kubernetes package: direct credentials
    (host and a token or a client certificate) and a kubeconfig with static credentials (kubeconfig.py).

    ``certifi``: without a CA file, verify against certifi's bundle (what the modules did for direct
    credentials) rather than the system store (what the kubernetes client's own pool does from
    kubernetes 36); ``"always"``: certifi's bundle is handed to urllib3 even when the certificate is
    not verified (the client's pool before 36, which the static kubeconfig reader reproduces for those
    series). ``source``: where the settings come from, for messages."""

    refresh_api_key_hook = None
    proxy = no_proxy = proxy_headers = None
    assert_hostname = None

    def __init__(self, host, token=None, ca=None, cert=None, key=None, verify=True, tls_server_name=None,
                 source=None, certifi=False):
        self.host = host
        self.api_key = {"BearerToken": token} if token else {}  # where the client's loader puts it
        self.api_key_prefix = {}
        self.ssl_ca_cert = ca
        self.cert_file = cert
        self.key_file = key
        self.verify_ssl = verify
        self.tls_server_name = tls_server_name
        self.connection_pool_maxsize = 4
        self.source = source
        self.certifi = certifi

    def get_api_key_with_prefix(self, identifier):
        key = self.api_key.get(identifier)
        prefix = self.api_key_prefix.get(identifier)
        return ("%s %s" % (prefix, key) if prefix else key) if key else None

    def pool_manager(self):
        """The PoolManager of these settings (kubernetes.client.rest.RESTClientObject's, without a proxy)."""
        return pool_manager(self.verify_ssl, self.ssl_ca_cert, self.cert_file, self.key_file,
                            maxsize=self.connection_pool_maxsize if self.connection_pool_maxsize is not None else 4,
                            certifi=self.certifi, server_hostname=self.tls_server_name,
                            assert_hostname=self.assert_hostname)


def pool_manager(verify, ca_certs=None, cert_file=None, key_file=None, maxsize=4, num_pools=4, certifi=True,
                 server_hostname=None, assert_hostname=None):
    """A urllib3 PoolManager: TLS verified against ``ca_certs`` (without one: certifi's bundle with
    ``certifi``, else the system store) unless ``verify`` is false; a client certificate if given.
    ``certifi="always"``: certifi's bundle is given without a CA file whether or not it verifies."""
    if not ca_certs and certifi and (verify or certifi == "always"):
        try:
            import certifi as _certifi  # pylint: disable=import-outside-toplevel

            ca_certs = _certifi.where()
        except ImportError:  # pragma: no cover - the system trust store then
            ca_certs = None
    extra = {}
    if assert_hostname is not None:
        extra["assert_hostname"] = assert_hostname
    if server_hostname:
        extra["server_hostname"] = server_hostname
    return urllib3.PoolManager(num_pools=num_pools, maxsize=maxsize,
                               cert_reqs=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE,
                               ca_certs=ca_certs, cert_file=cert_file, key_file=key_file, **extra)


def retry_policy(retries, resend=True, pacer=None):
    """The retries of one request: connection errors, read errors and RETRY_STATUSES, at most ``retries``
    times, 0.25 s doubling, honouring Retry-After (bounded: BoundedRetry). ``resend=False``: only a
    connection that could not be made is tried again (a request that must not be sent twice), and
    Retry-After is not read. ``pacer``: every attempt after the first waits for its turn too."""
    retry = BoundedRetry(
        total=retries, connect=retries, read=retries if resend else 0, status=retries if resend else 0, other=0,
        backoff_factor=0.25, status_forcelist=RETRY_STATUSES, allowed_methods=None,
        respect_retry_after_header=resend, raise_on_status=False, raise_on_redirect=False, redirect=0,
    )
    retry.pacer = pacer
    return retry


class Transport(object):
    """One HTTP endpoint (``base``, a URL without a trailing slash) over one urllib3 pool: what the
    Kubernetes client (cluster.py, also its watches) and the Palette client (palette.py) send through.

    ``requests`` counts the requests sent (a retry is not counted; thread-safe). ``pacer``: a Pacer
    every attempt waits for (Palette's rate limit), or None. The callers build the headers and read
    the answers; errors are urllib3's (``urllib3.exceptions.HTTPError``), for the caller to word."""

    def __init__(self, base, pool, retry, timeout, secrets, pacer=None):
        self.base = base
        self.pool = pool
        self.retry = retry
        self.timeout = timeout
        self.secrets = secrets
        self.pacer = pacer
        self.requests = 0
        self._lock = threading.Lock()

    def count(self, n=1):
        with self._lock:
            self.requests += n

    def url(self, path, query=None):
        url = self.base + path
        if query:
            url += "?" + urlencode([(k, v) for k, v in query.items() if v is not None])
        return url

    def send(self, method, path, query=None, body=None, headers=None, retry=None, timeout=None, stream=False):
        """Send one request (``body``: JSON-encoded unless None) and return urllib3's response, read
        whole unless ``stream``. ``retry``: this request's (default: the transport's; False: none)."""
        data = json.dumps(body, separators=(",", ":")).encode("utf-8") if body is not None else None
        self.count()
        if self.pacer is not None:
            self.pacer.take()
        return self.pool.request(method, self.url(path, query), body=data, headers=headers,
                                 retries=self.retry if retry is None else retry,
                                 timeout=timeout or self.timeout, preload_content=not stream)


# ------------------------------------------------------------------------------ rate limit

# How far ahead a pacer's next turn may be before the value is taken for garbage (a file another process
# wrote wrongly): the longest hold, plus a turn for each reservation made since the queue was last empty
# (the file counts them beside the next turn). At most _MAX_RESERVATIONS are counted.
_MAX_RESERVATIONS = 10 ** 7


class Pacer(object):
    """At most ``rate`` requests per second, one every 1/rate seconds (a token bucket that holds one
    token; a server's burst allowance is left for the jitter of the network), shared by every thread
    and every process that names the same ``path``: Ansible's forks, and the inventory before them.

    The state is one number, the monotonic time (CLOCK_MONOTONIC: the same clock in every process of
    the machine) of the next free turn, in ``path``, read and written under an exclusive ``fcntl.flock``
    of a descriptor opened for that one turn (flock locks belong to an open file: a descriptor inherited
    through a fork would share its lock with the parent). The file must be a regular file of this user
    that nobody else may write (created 0600, never followed as a symbolic link); otherwise, or without a
    path, or without fcntl, the pacing is this process's own (``shared`` False, ``unshared`` says why); so
    it becomes when the file turns untrustworthy or goes away during the run.
    Beside it, the number of turns reserved since the queue was last empty. A value that is not a number, or
    further ahead than a hold and a turn per reservation, is taken for garbage: the next turn is now, never a
    wait without end. (It used to be bounded by a hold and 512 turns whatever the queue: with more than 512
    requests waiting, as a run with many forks has, the 513th took the queue for garbage and went at once,
    and the queue started again from now beside the 512 that still held their turns: twice the rate.)

    ``hold(seconds)``: nobody's turn comes before then (a 429 with Retry-After), at most RETRY_AFTER_MAX."""

    # (process id, path or key) -> [next turn, its lock]: the state of unshared pacers, shared by every pacer of
    # that key in this process (the event source makes one Palette client per cluster, used by several threads);
    # by process id, so that a forked worker never inherits a lock a thread of its parent held at the fork
    _local = {}

    def __init__(self, rate, path=None, key=None):
        self.rate = float(rate)
        self.interval = 1.0 / self.rate if self.rate > 0 else 0.0
        self.path = path
        self.key = key or path
        self.unshared = None
        self.waited = 0.0
        self._thread_lock = threading.Lock()
        if path is None:
            self.unshared = "no shared state was given"
        elif fcntl is None:  # pragma: no cover - every POSIX system has it
            self.unshared = "fcntl is not available"
        else:
            try:
                self._open().close()
            except (OSError, IOError, ValueError) as exc:
                self.unshared = str(exc)
        if self.unshared is not None:
            self._state = Pacer._local.setdefault((os.getpid(), self.key), [0.0, threading.Lock(), 0])

    @property
    def shared(self):
        return self.unshared is None

    def _open(self):
        """The state file, opened for one turn; ValueError when it may not be trusted."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        handle = os.fdopen(fd, "r+b")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            handle.close()
            raise ValueError("the pacing file %s is not a regular file of this user writable by it alone; it is not "
                             "used" % self.path)
        return handle

    def _unshare(self, why):
        with self._thread_lock:
            if self.unshared is None:
                self.unshared = why
                self._state = Pacer._local.setdefault((os.getpid(), self.key), [0.0, threading.Lock(), 0])

    def _update(self, change, reserve=False):
        """Apply ``change(now, next_turn) -> new next_turn`` under the lock; returns (now, old, new).
        ``reserve``: the change reserves a turn (counted until the queue is empty again)."""
        if self.unshared is None:
            try:
                return self._update_file(change, reserve)
            except (OSError, IOError, ValueError) as exc:
                # the file was fine when the pacer was made, and has been replaced since (by a symbolic link,
                # a directory, a file others may write), removed with its directory, or cannot be written (a
                # full disk): this process paces its own requests from now on, rather than fail the request
                self._unshare("the pacing file cannot be used any more: %s" % exc)
        with self._state[1]:
            now = time.monotonic()
            old, count = self._sane(self._state[0], now, self._state[2])
            self._state[0] = new = change(now, old)
            self._state[2] = min(count + 1, _MAX_RESERVATIONS) if reserve else count
            return now, old, new

    def _update_file(self, change, reserve=False):
        handle = self._open()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            now = time.monotonic()
            handle.seek(0)
            try:
                fields = (handle.read(64).decode("ascii").split() or ["0"]) + ["0"]
                old, count = float(fields[0]), int(fields[1])
            except (ValueError, UnicodeDecodeError):
                old, count = 0.0, 0
            old, count = self._sane(old, now, count)
            new = change(now, old)
            count = min(count + 1, _MAX_RESERVATIONS) if reserve else count
            handle.seek(0)
            handle.truncate()
            handle.write(("%.6f %d\n" % (new, count)).encode("ascii"))
            handle.flush()
            return now, old, new
        finally:
            handle.close()  # releases the lock

    def _sane(self, value, now, count=0):
        """(next turn, reservations counted) as read, or (now, 0) when the queue is empty or the value garbage."""
        if math.isnan(value) or value <= now or not 0 <= count <= _MAX_RESERVATIONS:
            return now, 0
        if value > now + RETRY_AFTER_MAX + (count + 1) * self.interval:
            return now, 0
        return value, count

    def take(self):
        """Wait for this request's turn; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        now, old, _new = self._update(lambda now, nxt: max(now, nxt) + self.interval, reserve=True)
        wait = max(0.0, old - now)
        if wait > 0:
            time.sleep(wait)
            with self._thread_lock:
                self.waited += wait
        return wait

    def hold(self, seconds):
        """No turn before ``seconds`` from now (at most RETRY_AFTER_MAX)."""
        if self.rate <= 0 or not seconds or math.isnan(seconds):
            return
        seconds = min(max(0.0, float(seconds)), RETRY_AFTER_MAX)
        self._update(lambda now, nxt: max(nxt, now + seconds))
