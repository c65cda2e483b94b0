# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the values a client will send, made before the first request, and the scrubbing of text.

Pure: no network, no Ansible. ``text_problem`` says why a value cannot travel as an HTTP header value
(control characters, text outside Latin-1) in words that never quote it, ``check_rate_limit`` reads a
rate limit option, ``scrub`` removes user information in URLs and known secrets from a text. The
option checks of a run (options.py, palette_checks.py) use them without importing an HTTP client;
``_http/transport.py`` offers them to the clients under the same names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import FieldError

# What scrub() removes from URLs, as a regular expression (tests/unit/plugins/module_utils/_http/test_transport_scrub.py holds
# _scrub_userinfo to it): ``scheme://userinfo@`` -> ``scheme://***@``. Not applied as such: Python's
# backtracking engine tries every start in a run of scheme characters, quadratic in the text's length
# (a 200,000-character error body took 139 s); _scrub_userinfo finds the same matches in one pass.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _scrub_userinfo(text):
    r"""``_URL_USERINFO.sub(r"\g<scheme>***@", text)`` in time linear in the text: for each ``://``, the
    user information runs to the first ``/``, ``@`` or white space and must end with ``@``; the scheme is
    the run of scheme characters before it, from its first letter."""
    out, pos, n = [], 0, len(text)
    i = text.find("://")
    while i != -1:
        k = i + 3
        while k < n and text[k] not in "/@" and not text[k].isspace():
            k += 1
        if k < n and text[k] == "@" and k > i + 3:
            start = i
            while start > pos and text[start - 1] in _SCHEME_CHARS:
                start -= 1
            while start < i and text[start] not in _LETTERS:
                start += 1
            if start < i:
                out.append(text[pos:i])
                out.append("://***@")
                pos = k + 1
                i = text.find("://", pos)
                continue
        i = text.find("://", i + 1)
    out.append(text[pos:])
    return "".join(out)


def scrub(text, secrets=()):
    """``text`` without user information in URLs and without any of ``secrets`` (4 characters or more)."""
    text = _scrub_userinfo(str(text))
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


# ----------------------------------------------------------------------------- values sent as headers
# Checked before the first request by every client (cluster.py, palette.py, the inventory plugin and
# the event source through them), and again for what a client computes itself (a token an exec
# plugin refreshed): a value http.client refuses makes it raise "Invalid header value b'<the value>'",
# which would put a credential into an error. Messages name the option, never the value.

# C0 controls (CR and LF among them), DEL and C1 controls: never part of a credential or a name.
_CONTROL = re.compile(u"[\x00-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {u"\n": "a line break (LF)", u"\r": "a carriage return (CR)", u"\t": "a tab",
                  u"\x00": "a NUL character"}


class BadValue(FieldError):
    """An option whose value cannot be used as given. ``path`` names the option (as SpecError does);
    the message says what is wrong and never quotes a secret's value."""


def _kind(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a %s" % type(value).__name__


def text_problem(value, secret=True):
    """Why ``value`` cannot be sent as an HTTP header value (``contains a line break (LF) at its end``),
    or None. In words that never quote the value; for a value that is not secret (``secret=False``) the
    offending character is named."""
    if not isinstance(value, str):
        return "is %s, not text" % _kind(value)
    m = _CONTROL.search(value)
    if m:
        what = _CONTROL_NAMES.get(m.group(0), "a control character" if secret else
                                  "a control character (U+%04X)" % ord(m.group(0)))
        stripped = value.strip(u"".join(set(_CONTROL.findall(value))) + u" ")
        if stripped and not _CONTROL.search(stripped):
            where = "at its end" if value.startswith(stripped) else "at its start" if value.endswith(stripped) \
                else "around it"
            hint = (" (a YAML '|' block scalar or a pasted credential keeps its trailing newline: write it with "
                    "'>-' or '|-', or strip it)" if value.startswith(stripped) and "\n" in value[len(stripped):]
                    else "; remove it")
            return "contains %s %s%s" % (what, where, hint)
        return "contains %s; HTTP header values cannot carry control characters" % what
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        if secret:
            return "contains a character outside Latin-1; HTTP header values carry Latin-1 text only"
        return "contains %r (U+%04X), outside Latin-1; HTTP header values carry Latin-1 text only" % (
            value[exc.start], ord(value[exc.start]))
    return None


# ------------------------------------------------------------------------------ rate limit

# The longest Retry-After honoured, in seconds (transport.py's retries and pacers): a longer one (a
# misbehaving proxy or server asking for an hour) is cut to this, so that every retry stays bounded.
# urllib3 itself would sleep up to 6 hours per attempt (1.26: without any limit).
RETRY_AFTER_MAX = 10.0
# The highest rate_limit accepted, in requests per second (above it pacing means nothing).
RATE_LIMIT_MAX = 1000.0
# The lowest rate_limit above 0 accepted: one turn every RETRY_AFTER_MAX seconds, the longest any retry
# waits. Below it a turn came after hours or never (1e-9: 31 years between two requests; 5e-324: 1/rate
# is infinite), a run that looked hung.
RATE_LIMIT_MIN = 1.0 / RETRY_AFTER_MAX


def check_rate_limit(option, value):
    """``value`` as a float of requests per second (0: no pacing); raises BadValue naming ``option``
    for anything else than 0 or a finite number from RATE_LIMIT_MIN to RATE_LIMIT_MAX (NaN passes every
    comparison, a negative rate would make every wait negative, a tiny one every wait endless)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value) if isinstance(value, str) and value.strip() else None
        except ValueError:
            value = None
        if value is None:
            raise BadValue(option, "expected a number of requests per second (0: no pacing)")
    if math.isnan(value) or not (value == 0 or RATE_LIMIT_MIN <= value <= RATE_LIMIT_MAX):
        raise BadValue(option, "must be a number of requests per second from %g to %g, or 0 (no pacing)"
                       % (RATE_LIMIT_MIN, RATE_LIMIT_MAX))
    return float(value) + 0.0  # -0.0 -> 0.0


def not_a_number(raw, argument_spec, prefix=""):
    """(option, message) of the first option of ``argument_spec`` whose value in ``raw`` (as written, before
    Ansible's conversion) is a boolean where a number is expected, or .nan or .inf; None when there is none.
    Ansible's conversion turns a boolean into 1 or 0 without a word (``palette_rate_limit: true`` paced at one
    request per second), .nan passes every range check, and converting .inf to an int raises an OverflowError.
    ``prefix`` goes before the option's name in both (``vmo_rbac_`` for the role's variables)."""
    for name, option in argument_spec.items():
        if option.get("type") not in ("int", "float"):
            continue
        for key in [name] + list(option.get("aliases") or []):
            value = raw.get(key)
            if isinstance(value, bool):
                return prefix + name, "%s%s: expected a number, not a boolean (%s)" % (
                    prefix, name, "true" if value else "false")
            if isinstance(value, float) and not math.isfinite(value):
                return prefix + name, "%s%s: must be a finite number, not %s" % (prefix, name, value)
    return None
