"""json_format.dumps writes the bytes json.dumps writes with the JSON report's options (sorted keys, 2-space
indent, ensure_ascii off, the report's default), faster: odd values, the types json tries in its order, keys
that are not strings and cycles (left to json.dumps), rows of scalars and lists at every depth."""

import decimal
import json
from collections import OrderedDict

import pytest

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import json_format


def reference(doc):
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, default=json_format._json_default,  # pylint: disable=protected-access
                      separators=(",", ": "))


class Text(str):
    pass


class Number(int):
    pass


ODD = [
    float("nan"), float("inf"), -float("inf"), 1e16, -0.0, 0.1, 2 ** 70, -1, True, False, None, "",
    "\ud800\u2028\x00\"\\\n\t\u00e9 \U0001f600", Text("sub"), Number(7), {3: 1}, {"a": {1.5: 2}, "b": 1},
    {"s": {3, 1, 2}}, frozenset(["b", "a"]), (1, "two"), [], {}, [[]], [{}], {"z": [], "a": {}},
    decimal.Decimal("1.10"), OrderedDict([("b", 1), ("a", [1, "x", None])]),
    {"row": {"subject": "Group g", "as_groups": ["g", "system:authenticated"], "ok": True, "allowed": None,
             "n": 3, "f": 1.5, "nested": [{"k": [1, [2, {"x": "y,\n]"}]]}]}},
]


@pytest.mark.parametrize("value", ODD, ids=[repr(v)[:30] for v in ODD])
def test_the_same_bytes_as_json_dumps(value):
    for doc in (value, [value], {"k": value}, {"k": [value, {"x": value}], "a": [[value]]}):
        assert json_format.dumps(doc) == reference(doc)


def test_a_cycle_is_refused_as_json_dumps_refuses_it():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        json_format.dumps({"a": loop})


def test_mixed_keys_are_refused_as_json_dumps_refuses_them():
    with pytest.raises(TypeError):
        reference({"a": 1, 2: 3})
    with pytest.raises(TypeError):
        json_format.dumps({"a": 1, 2: 3})
