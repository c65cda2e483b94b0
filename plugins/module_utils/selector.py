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
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix):
            raise SelectorError("invalid label key prefix %r (must be a DNS subdomain)" % prefix)
    if not name or len(name) > 63 or not _NAME.match(name):
        raise SelectorError(
            "invalid label key %r (at most 63 characters: alphanumerics, '-', '_', '.', "
            "starting and ending with an alphanumeric)" % key
        )


def validate_label_value(value):
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise SelectorError(
            "invalid label value %r (at most 63 characters: alphanumerics, '-', '_', '.', "
            "starting and ending with an alphanumeric)" % value
        )


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
                if not re.match(r"^-?[0-9]+$", value):
                    raise SelectorError("operator %s needs an integer, got %r" % (nxt, value))
                reqs.append((key, nxt, (value,)))
            elif nxt in ("in", "notin"):
                take()
                if take() != "(":
                    raise SelectorError("expected '(' after %r" % nxt)
                values = []
                while True:
                    v = take()
                    if v == ")":
                        break
                    if v == ",":
                        continue
                    if not is_word(v):
                        raise SelectorError("unexpected %r in the value list of %r" % (v, key))
                    validate_label_value(v)
                    values.append(v)
                if not values and nxt == "in":
                    raise SelectorError("'%s in ()' needs at least one value" % key)
                reqs.append((key, nxt, tuple(values)))
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
            try:
                n = int(value)
            except (TypeError, ValueError):
                ok = False
            else:
                ok = n > int(values[0]) if op == ">" else n < int(values[0])
        else:  # pragma: no cover - parse() produces only the operators above
            raise SelectorError("unknown operator %r" % op)
        if not ok:
            return False
    return True
