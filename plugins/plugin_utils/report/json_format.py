# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JSON report: the results as given, plus the fleet counts and the title.

The results pass through unchanged, so a section the validate flow adds to its result appears
here without a change (``scopes``, ``warnings``, ``note``, ``pending``); a count over the fleet
belongs in ``model.fleet`` (``unchecked_entries``, ``pending``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from json.encoder import c_make_encoder, encode_basestring  # json's C functions where there are (None if not)

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model


def _json_default(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=model.text)
    if model.is_map(value):
        return dict(value)
    return model.text(value)


class _NotPlain(Exception):
    """A value ``_indented`` leaves to ``json.dumps`` (a key that is not a string, a reference cycle)."""


def _indented(value, newline):
    """``value`` as ``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, separators=(",", ": "),
    default=_json_default)`` writes it at the indentation ``newline`` (a newline and the spaces before the
    value's closing bracket), the same bytes: json.dumps with an indent runs Python's pure-Python encoder, a
    generator per level for every value, which cost 0.13 s per cluster of 4,512 access rows; this is one
    join per list or mapping, with json's own C function for the strings. The types are tried in json's
    order (a ``bool`` is an ``int``); a key that is not a string raises ``_NotPlain`` (json.dumps converts
    or refuses it)."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:  # pylint: disable=comparison-with-itself
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = newline + "  "
        if c_make_encoder is not None and all(type(v) in _SCALAR for v in value):
            return "[" + inner + "".join(_flat(inner)(value, 0))[1:-1] + newline + "]"
        return "[" + inner + ("," + inner).join([_SCALAR[type(v)](v) if type(v) in _SCALAR else _indented(v, inner)
                                                 for v in value]) + newline + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        if not all(isinstance(k, str) for k in value):
            raise _NotPlain()
        inner = newline + "  "
        if c_make_encoder is not None and all(type(v) in _SCALAR for v in value.values()):
            return "{" + inner + "".join(_flat(inner)(value, 0))[1:-1] + newline + "}"
        return "{" + inner + ("," + inner).join(
            [encode_basestring(k) + ": " + (_SCALAR[type(v)](v) if type(v) in _SCALAR else _indented(v, inner))
             for k, v in sorted(value.items())]) + newline + "}"
    return _indented(_json_default(value), newline)


_FLAT = {}


def _flat(inner):
    """json's C encoder for a list or mapping of ``_SCALAR`` values at the indentation ``inner``: its item
    separator is the comma, the newline and the indentation that json.dumps puts between the items (a string's
    text never holds a newline), sorted keys, one call for the whole row."""
    encoder = _FLAT.get(inner)
    if encoder is None:
        encoder = _FLAT[inner] = c_make_encoder(None, _json_default, encode_basestring, None, ": ", "," + inner,
                                                True, False, True)
    return encoder


# The exact types whose text needs no indentation (a subclass takes _indented's way, the same text).
_SCALAR = {
    str: encode_basestring,
    bool: lambda v: "true" if v else "false",
    int: int.__repr__,
    type(None): lambda _v: "null",
}


def dumps(doc):
    """``doc`` as JSON, sorted keys, 2-space indent: the bytes of ``json.dumps(doc, sort_keys=True, indent=2,
    ensure_ascii=False, default=..., separators=(",", ": "))``, made faster (``_indented``); what it leaves
    (a key that is not a string, a cycle) is written, or refused, by json.dumps itself."""
    try:
        return _indented(doc, "\n")
    except (_NotPlain, RecursionError):
        return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, default=_json_default,
                          separators=(",", ": "))


def render(results, title=None, generated_at=None):
    """The results as given, plus ``fleet`` (counts) and ``title``; sorted keys, 2-space indent."""
    prepared = model.prepare(results)
    doc = {
        "title": title or model.DEFAULT_TITLE,
        "fleet": model.fleet(prepared.norm),
        "clusters": [r for _hint, r in prepared.pairs],
    }
    if generated_at is not None:
        doc["generated_at"] = model.text(generated_at)
    return dumps(doc) + "\n"
