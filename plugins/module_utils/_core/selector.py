# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes label selectors in their string form (``team=vm,tier in (a,b),!legacy``).

Parsed once, validated with the same rules as the API server (qualified keys, label
values), and matched locally against the labels of listed namespaces, so that one
LIST of namespaces serves every selector of a run.

Hand-written on purpose: no maintained Python package parses this grammar, and the
Kubernetes Python client only passes selector strings through to the server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|>|<|[^\s=!(),<>]+)")


class SelectorError(ValueError):
    """The selector string is not valid; the message says where."""


def validate_label_key(key):
    """Raise SelectorError unless ``key`` is a valid qualified label key."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix):
            raise SelectorError("invalid label key prefix %r (must be a DNS subdomain)" % prefix)
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        raise SelectorError(
            "invalid label key %r (at most 63 characters: alphanumerics, '-', '_', '.', "
            "starting and ending with an alphanumeric)" % key
        )


def validate_label_value(value):
    if value and (len(value) > 63 or not _NAME.fullmatch(value)):
        raise SelectorError(
            "invalid label value %r (at most 63 characters: alphanumerics, '-', '_', '.', "
            "starting and ending with an alphanumeric)" % value
        )


_INT64 = re.compile(r"[+-]?[0-9]+")


def _int64(text):
    """The integer Go's strconv.ParseInt(text, 10, 64) reads, or None where it fails.

    Python's int() is more lenient ('1_000', surrounding spaces, non-ASCII digits), and
    a label value it accepts but Go refuses must not match a gt/lt requirement.
    """
    if not isinstance(text, str) or not _INT64.fullmatch(text):
        return None
    n = int(text)
    return n if -(2 ** 63) <= n < 2 ** 63 else None


def _tokens(text):
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SelectorError("unexpected character %r at position %d" % (text[pos], pos))
        out.append(m.group(1))
        pos = m.end()
    return out


def parse(text):
    """Parse a selector string into a tuple of requirements ``(key, op, values)``.

    ``op`` is one of ``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!``, ``>``, ``<``.
    Raises SelectorError on anything the API server would reject, and on an empty
    selector (which would silently match every namespace).
    """
    if not isinstance(text, str):
        raise SelectorError("expected a string such as 'team=vm'")
    if not text.strip():
        raise SelectorError("empty selector (it would match every namespace; use namespace_regex: '.*' for that)")
    toks = _tokens(text)
    reqs, i = [], 0

    def take():
        nonlocal i
        if i >= len(toks):
            raise SelectorError("selector ends too early")
        i += 1
        return toks[i - 1]

    def is_word(tok):
        return tok not in ("==", "!=", "=", "(", ")", ",", "!", ">", "<")

    while i < len(toks):
        tok = take()
        if tok == "!":
            key = take()
            if not is_word(key):
                raise SelectorError("expected a label key after '!'")
            validate_label_key(key)
            reqs.append((key, "!", ()))
        elif is_word(tok):
            key = tok
            validate_label_key(key)
            nxt = toks[i] if i < len(toks) else ","
            if nxt == ",":
                reqs.append((key, "exists", ()))
            elif nxt in ("=", "==", "!="):
                take()
                value = toks[i] if i < len(toks) and is_word(toks[i]) else ""
                if value:
                    take()
                validate_label_value(value)
                reqs.append((key, "!=" if nxt == "!=" else "=", (value,)))
            elif nxt in (">", "<"):
                take()
                value = take()
                if _int64(value) is None:
                    raise SelectorError("operator %s needs a (64-bit) integer, got %r" % (nxt, value))
                reqs.append((key, nxt, (value,)))
            elif nxt in ("in", "notin"):
                take()
                if take() != "(":
                    raise SelectorError("expected '(' after %r" % nxt)
                # As apimachinery does: the list is split at commas and an empty item is the
                # empty value ('(a,)' is {a, ""}); two values need a comma between them.
                # '()' alone is refused although Go reads it as {""}: write 'key=' for that.
                values, item = [], None
                while True:
                    v = take()
                    if v in (",", ")"):
                        values.append(item if item is not None else "")
                        item = None
                        if v == ")":
                            break
                        continue
                    if not is_word(v):
                        raise SelectorError("unexpected %r in the value list of %r" % (v, key))
                    if item is not None:
                        raise SelectorError("expected ',' or ')' after %r in the value list of %r, got %r"
                                            % (item, key, v))
                    validate_label_value(v)
                    item = v
                if values == [""]:
                    raise SelectorError("'%s %s ()' needs at least one value" % (key, nxt))
                unique = []
                for v in values:
                    if v not in unique:
                        unique.append(v)
                reqs.append((key, nxt, tuple(unique)))
            else:
                raise SelectorError("unexpected %r after label key %r" % (nxt, key))
        else:
            raise SelectorError("unexpected %r" % tok)
        if i < len(toks):
            if toks[i] != ",":
                raise SelectorError("expected ',' between requirements, got %r" % toks[i])
            i += 1
            if i >= len(toks):
                raise SelectorError("trailing ','")
    return tuple(reqs)


def matches(requirements, labels):
    """True if a label dict satisfies every requirement (the API server's semantics)."""
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "exists":
            ok = present
        elif op == "!":
            ok = not present
        elif op == "=":
            ok = present and value == values[0]
        elif op == "!=":
            ok = not present or value != values[0]
        elif op == "in":
            ok = present and value in values
        elif op == "notin":
            ok = not present or value not in values
        elif op in (">", "<"):
            n = _int64(value) if present else None
            if n is None:
                ok = False
            else:
                ok = n > _int64(values[0]) if op == ">" else n < _int64(values[0])
        else:  # pragma: no cover - parse() produces only the operators above
            raise SelectorError("unknown operator %r" % op)
        if not ok:
            return False
    return True
