"""Label selectors in string form: parsing, validation and matching.

The expected values are those of Kubernetes' own implementation,
k8s.io/apimachinery/pkg/labels (selector.go: Lexer, Parser, Requirement.Matches), which
is what the API server applies to a ``labelSelector``. Where this collection is
deliberately stricter than apimachinery (an empty selector, ``in ()``), the test says so.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._core import selector as sel
from ansible_collections.vmo.rbac.plugins.module_utils._core.selector import SelectorError


def match(text, labels):
    return sel.matches(sel.parse(text), labels)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("text, expected", [
    ("team=vm", (("team", "=", ("vm",)),)),
    ("team==vm", (("team", "=", ("vm",)),)),                       # '==' is a synonym of '='
    ("team!=vm", (("team", "!=", ("vm",)),)),
    ("team", (("team", "exists", ()),)),
    ("!team", (("team", "!", ()),)),
    ("! team", (("team", "!", ()),)),                              # the lexer skips blanks
    ("tier in (a,b)", (("tier", "in", ("a", "b")),)),
    ("tier notin (a)", (("tier", "notin", ("a",)),)),
    ("tier in ( a , b )", (("tier", "in", ("a", "b")),)),
    ("n>3", (("n", ">", ("3",)),)),
    ("n < -2", (("n", "<", ("-2",)),)),
    ("team=", (("team", "=", ("",)),)),                            # Go: parseExactValue -> ""
    ("team=,x", (("team", "=", ("",)), ("x", "exists", ()))),
    ("example.com/team=vm", (("example.com/team", "=", ("vm",)),)),
    ("a=1, b!=2 ,!c,d", (("a", "=", ("1",)), ("b", "!=", ("2",)), ("c", "!", ()), ("d", "exists", ()))),
    # 'in' and 'notin' are keywords only in operator position (Go's consume(Values) turns
    # them back into identifiers), so they work as keys and values: apimachinery's own
    # test has expectMatch("notin=in", Set{"notin": "in"}).
    ("notin=in", (("notin", "=", ("in",)),)),
    ("in in (notin)", (("in", "in", ("notin",)),)),
    # Empty items of a value list are the empty value, as in parseIdentifiersList.
    ("x in (foo,,baz)", (("x", "in", ("foo", "", "baz")),)),
    ("x notin (a,)", (("x", "notin", ("a", "")),)),
    ("x in (,)", (("x", "in", ("",)),)),
    ("x in (a,a)", (("x", "in", ("a",)),)),                        # a set in Go
])
def test_parse(text, expected):
    assert sel.parse(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("", "empty selector"),
    ("   ", "empty selector"),
    ("team=vm,", "trailing ','"),
    (",team=vm", "unexpected ','"),
    ("team=vm team=x", "expected ','"),
    ("x=a||y=b", "invalid label value"),                          # apimachinery testBadStrings
    ("x==a==b", "expected ','"),
    ("!x=a", "expected ','"),
    ("x<a", "needs a (64-bit) integer"),
    ("x>", "ends too early"),
    ("x>1.5", "integer"),
    ("x>99999999999999999999", "integer"),                        # ParseInt(.., 64) overflows
    ("x in a", "expected '('"),
    ("x in (a", "ends too early"),
    ("x in (a b)", "expected ',' or ')'"),                        # Go: "found 'b', expected: ',' or ')'"
    ("x in (a=b)", "unexpected '='"),
    ("x in ()", "needs at least one value"),                      # stricter: Go reads () as {""}
    ("x notin ()", "needs at least one value"),
    ("x (", "unexpected '('"),
    ("!", "ends too early"),
    ("!=x", "unexpected '!='"),
    ("Team_=x", "invalid label key"),
    ("-team=x", "invalid label key"),
    ("a/b/c=x", "invalid label key prefix"),
    ("/team=x", "invalid label key prefix"),
    ("Example.com/team=x", "invalid label key prefix"),
    ("%s=x" % ("k" * 64), "invalid label key"),
    ("team=%s" % ("v" * 64), "invalid label value"),
    ("team=-vm", "invalid label value"),
    ("team=vm-", "invalid label value"),
    ("team in (ok,bad!)", "unexpected '!'"),
    ("team in (ok,-bad)", "invalid label value"),
    ("team=v\u00e9", "invalid label value"),                      # ASCII only
])
def test_parse_rejects(text, fragment):
    with pytest.raises(SelectorError) as err:
        sel.parse(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize("value", [None, 3, ["team=vm"], {"team": "vm"}])
def test_parse_rejects_non_strings(value):
    with pytest.raises(SelectorError, match="expected a string"):
        sel.parse(value)


def test_label_key_limits():
    sel.validate_label_key("k" * 63)
    sel.validate_label_key("a" * 63 + "." + "b" * 63 + "/" + "k" * 63)
    with pytest.raises(SelectorError):
        sel.validate_label_key("k" * 64)
    with pytest.raises(SelectorError):
        sel.validate_label_key(("a" * 63 + ".") * 4 + "b/k")          # prefix longer than 253
    with pytest.raises(SelectorError):
        sel.validate_label_key("team\n")                               # not a '$' trap
    sel.validate_label_value("")
    with pytest.raises(SelectorError):
        sel.validate_label_value("vm\n")


# --------------------------------------------------------------------------- matching

# (selector, labels, expected) as apimachinery's Requirement.Matches decides.
GO_TABLE = [
    # from apimachinery's TestSelectorMatches
    ("x=y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x>1", {"x": "2"}, True),
    ("x<1", {"x": "0"}, True),
    ("x=z", {}, False),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
    ("x>1", {"x": "0"}, False),
    ("x<1", {"x": "2"}, False),
    # Equals / In need the key; NotEquals / NotIn match an absent key (selection.NotEquals,
    # selection.NotIn: "if !ls.Has(r.key) { return true }").
    ("x!=y", {}, True),
    ("x notin (a,b)", {}, True),
    ("x notin (a,b)", {"x": "c"}, True),
    ("x notin (a,b)", {"x": "a"}, False),
    ("x in (a,b)", {}, False),
    ("x in (a,b)", {"x": "b"}, True),
    ("x in (a,b)", {"x": "c"}, False),
    ("x==y", {"x": "y"}, True),
    # the empty value is a value: 'x=' needs the key with an empty value
    ("x=", {"x": ""}, True),
    ("x=", {}, False),
    ("x!=", {"x": ""}, False),
    ("x!=", {"x": "a"}, True),
    ("x", {"x": ""}, True),
    ("x in (a,)", {"x": ""}, True),
    ("x notin (a,)", {"x": ""}, False),
    # gt/lt need the key and an integer value (strconv.ParseInt(v, 10, 64))
    ("x>1", {}, False),
    ("x<1", {}, False),
    ("x>1", {"x": "abc"}, False),
    ("x>5", {"x": "1_0"}, False),           # Python's int() reads 10; Go's ParseInt fails
    ("x<10", {"x": "09"}, True),            # leading zeros are fine in ParseInt
    ("x>-1", {"x": "0"}, True),
    ("x>1", {"x": "1"}, False),
    ("x<1", {"x": "1"}, False),
    ("x>1", {"x": "99999999999999999999"}, False),   # out of int64 range: ParseInt fails
    ("x>+1", {"x": "2"}, True),             # ParseInt accepts a '+' sign
    # requirements are ANDed; keys are case-sensitive
    ("x=y,!z", {"x": "y", "z": "1"}, False),
    ("x=y,!z", {"x": "y"}, True),
    ("X=y", {"x": "y"}, False),
    ("example.com/x=y", {"example.com/x": "y"}, True),
    ("example.com/x=y", {"x": "y"}, False),
]


@pytest.mark.parametrize("text, labels, expected", GO_TABLE)
def test_matches_like_apimachinery(text, labels, expected):
    assert match(text, labels) is expected


def test_matches_none_labels_as_empty():
    assert match("!x", None) is True
    assert match("x", None) is False


# --------------------------------------------------------------------------- properties


KEYS = st.sampled_from(["a", "b", "example.com/c", "in"])
VALUES = st.sampled_from(["", "x", "y", "z1", "-3", "0", "7", "1_0"])
LABELS = st.dictionaries(KEYS, VALUES, max_size=4)


def _go_int(text):
    # An independent reading of strconv.ParseInt(text, 10, 64).
    body = text[1:] if text[:1] in "+-" else text
    if not body or any(ch not in "0123456789" for ch in body):
        return None
    n = int(body) * (-1 if text.startswith("-") else 1)
    return n if -(2 ** 63) <= n <= 2 ** 63 - 1 else None


def _go_matches(req, labels):
    """apimachinery's Requirement.Matches, transcribed."""
    key, op, values = req
    has = key in labels
    if op in ("=", "in"):
        return has and labels[key] in values
    if op in ("!=", "notin"):
        return not has or labels[key] not in values
    if op == "exists":
        return has
    if op == "!":
        return not has
    if not has:
        return False
    lv, rv = _go_int(labels[key]), _go_int(values[0])
    if lv is None:
        return False
    return lv > rv if op == ">" else lv < rv


@st.composite
def requirements(draw):
    key = draw(KEYS)
    op = draw(st.sampled_from(["=", "!=", "in", "notin", "exists", "!", ">", "<"]))
    if op in ("=", "!="):
        return key, op, (draw(VALUES.filter(lambda v: "_" not in v and not v.startswith("-"))),)
    if op in ("in", "notin"):
        vals = draw(st.lists(st.sampled_from(["x", "y", "z1", "0"]), min_size=1, max_size=3, unique=True))
        return key, op, tuple(vals)
    if op in (">", "<"):
        return key, op, (str(draw(st.integers(-5, 10))),)
    return key, op, ()


def render(req):
    key, op, values = req
    if op == "exists":
        return key
    if op == "!":
        return "!" + key
    if op in ("in", "notin"):
        return "%s %s (%s)" % (key, op, ",".join(values))
    return "%s%s%s" % (key, op, values[0])


@settings(max_examples=150, deadline=None)
@given(reqs=st.lists(requirements(), min_size=1, max_size=4), labels=LABELS)
def test_parse_render_roundtrip_and_matching_agree_with_go(reqs, labels):
    text = ", ".join(render(r) for r in reqs)
    parsed = sel.parse(text)
    assert parsed == tuple(reqs)
    assert sel.matches(parsed, labels) == all(_go_matches(r, labels) for r in reqs)
