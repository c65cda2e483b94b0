# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Palette's namespace rules, meaning exactly what they mean in Palette.

Palette (written in Go) matches a namespace rule with Go's ``regexp`` (RE2 syntax, searched
anywhere in the name like ``MatchString``) and writes it three ways:

- ``/^web-app/``: the namespaces whose name matches;
- ``^web-app``: the same, without the slashes;
- ``~/^(kube|cluster|capi|jet|cert)[-].+/``: every namespace whose name does NOT match.

Matching uses RE2 itself (the ``google-re2`` package, the C++ library Go's ``regexp`` was
modelled on): linear time whatever the pattern, POSIX classes such as ``[[:alpha:]]``, and a
pattern RE2 refuses is refused here before any request. Where Go's parser is stricter than
C++ RE2 (the ``\\C`` escape), the pattern is refused too, so that it means the same thing here as in Palette;
tests/unit/plugins/module_utils/_core/test_namespace_regex.py
compares both engines on generated patterns.

Pure: no Ansible, no network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

try:
    import re2
except ImportError as exc:  # pragma: no cover - reported when a regex is declared
    re2 = None
    RE2_IMPORT_ERROR = exc
else:
    RE2_IMPORT_ERROR = None

MAX_LENGTH = 1024

# source: the rule's canonical text (the pattern, or ~/pattern/ when negated: what results and the
# binding's granted-by annotation show); pattern: the RE2 pattern; negate: a ~/.../ rule
Rule = namedtuple("Rule", "source pattern negate compiled")


class RegexError(ValueError):
    """The rule is not valid; the message says why (without the field, which the caller adds)."""


# What Go's regexp/syntax refuses although C++ RE2 accepts it: the \C escape (any byte).
# (Both refuse lookarounds, backreferences, possessive and nested repetitions.)


def _go_refuses(pattern):
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            if pattern[i + 1] == "C":
                return "\\C (any byte), which Go does not have"
            if pattern[i + 1] == "Q":
                end = pattern.find("\\E", i + 2)
                i = len(pattern) if end < 0 else end + 2
                continue
            i += 2
            continue
        i += 1
    return None


def _options():
    opts = re2.Options()
    opts.log_errors = False  # RE2 would print each refused pattern on stderr
    return opts


def parse(value):
    """A Rule from Palette's notation; raises RegexError."""
    if not isinstance(value, str) or not value:
        raise RegexError("expected a regular expression (non-empty string)")
    if len(value) > MAX_LENGTH:
        raise RegexError("regular expression longer than %d characters" % MAX_LENGTH)
    negate = value.startswith("~")
    body = value[1:] if negate else value
    if negate and not body.startswith("/"):
        raise RegexError("%r: a negated rule is written ~/regex/ (a namespace name never contains '~')" % (value,))
    if body.startswith("/"):
        if len(body) < 2 or not body.endswith("/"):
            raise RegexError("%r starts like a Palette-style /regex/ but does not end with '/' (flags such as /i "
                             "are not supported; write (?i) inside)" % (value,))
        body = body[1:-1]
    if not body:
        raise RegexError("empty regular expression")
    if re2 is None:
        raise RegexError("matching namespaces by regular expression needs the Python package google-re2 "
                         "(pip install google-re2): %s" % RE2_IMPORT_ERROR)
    why = _go_refuses(body)
    if why:
        raise RegexError("invalid regular expression %r: %s (Palette matches with Go's regexp)" % (value, why))
    try:
        compiled = re2.compile(body, options=_options())
    except re2.error as exc:
        text = exc.args[0] if exc.args else exc
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        raise RegexError("invalid regular expression %r: %s" % (value, text))
    return Rule("~/%s/" % body if negate else body, body, negate, compiled)


def matches(rule, name):
    """Does namespace ``name`` fall under the rule (Go's MatchString, negated for ~/.../)?"""
    return (rule.compiled.search(name) is not None) != rule.negate
