"""Namespace rules mean exactly what they mean in Palette: a differential test against Go's regexp.

Palette is written in Go and matches a namespace rule with Go's ``regexp`` (MatchString). The oracle
is that engine itself: tests/tools/goregexp, a few lines of Go built with the local toolchain (the
same one that builds the control plane). For every generated (rule, namespace) pair, this
collection's answer (namespace_regex.parse + matches, RE2 through google-re2) must equal Go's, and a
pattern must be refused here exactly when Go refuses it. ``~/re/`` (negation) is Palette's
notation around the pattern: Go is asked about the pattern, and the answer is negated.

The default run compares at least 10,000 pairs (hypothesis, derandomized so CI is repeatable);
VMO_REGEX_EXAMPLES raises the count for a soak run.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._core import namespace_regex

ROOT = Path(__file__).resolve().parents[5]
SOURCE = ROOT / "tests" / "tools" / "goregexp"
BINARY = ROOT / ".build" / "goregexp"
EXAMPLES = int(os.environ.get("VMO_REGEX_EXAMPLES", "2000"))
NAMES_PER_RULE = 8
COMPARED = {"pairs": 0, "rules": 0, "refused": 0}


def _build():
    if BINARY.exists() and BINARY.stat().st_mtime >= max(p.stat().st_mtime for p in SOURCE.iterdir()):
        return
    go = shutil.which("go")
    assert go, "the Go toolchain is needed for the regex oracle (the same one that builds the control plane)"
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([go, "build", "-o", str(BINARY), "."], cwd=str(SOURCE), check=True, timeout=600,
                   env=dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local"))


class GoRegexp:
    """A running goregexp: one JSON line in, one JSON line out."""

    def __init__(self):
        _build()
        self.proc = subprocess.Popen([str(BINARY)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)

    def ask(self, pattern, names):
        self.proc.stdin.write(json.dumps({"pattern": pattern, "names": names}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def go():
    oracle = GoRegexp()
    yield oracle
    oracle.close()
    print("\nregex differential: %(pairs)d (rule, namespace) pairs over %(rules)d rules, %(refused)d rules "
          "refused by both, 0 differences" % COMPARED)
    assert COMPARED["pairs"] >= 10000 or EXAMPLES < 2000


# ------------------------------------------------------------------------ generators

LITERALS = list("abcdekmstw0129-.") + ["web", "app", "kube", "team", "-app", "sys"]
ESCAPES = [r"\.", r"\-", r"\d", r"\D", r"\w", r"\W", r"\s", r"\b", r"\B", r"\pL", r"\p{Greek}", r"\PN", r"\x61",
           r"\Qa.b\E", r"\z", r"\A", r"\C", r"\1", r"\Z", r"\e", r"\/"]
CLASSES = ["[a-z]", "[^0-9]", "[[:alpha:]]", "[[:digit:]-]", "[[:^alpha:]]", "[[:word:]]", "[a-f0-9]",
           "[-a]", "[]a]", "[^]a]", "[[:alnum:]_.]", "[[:punct:]]", "[[:lower:]]", "[[:upper:]]", "[\\d-]",
           "[a-]", "[z-a]", "[[:bogus:]]", "[[:alpha:]"]
ANCHORS = ["^", "$", "\\A", "\\z"]
BROKEN = ["(", ")", "[", "*", "+", "?", "{2}", "{,3}", "(?=a)", "(?!a)", "(?<=a)", "(?>a)", "a++", "a**",
          "(?P=x)", "(?P<x>", "(?i", "{", "}", "a{2,1}", "a{1001}", "\\", "(?<n>a)", "(?s:.)", "(?U)a*"]
QUANTIFIERS = ["*", "+", "?", "{2}", "{1,}", "{0,3}", "*?", "+?", "??", "{1,2}?"]


@st.composite
def patterns(draw, depth=0):
    def atom():
        kind = draw(st.sampled_from(["lit", "lit", "lit", "esc", "class", "dot", "group", "anchor"]
                                    if depth < 2 else ["lit", "lit", "esc", "class", "dot", "anchor"]))
        if kind == "lit":
            return draw(st.sampled_from(LITERALS))
        if kind == "esc":
            return draw(st.sampled_from(ESCAPES))
        if kind == "class":
            return draw(st.sampled_from(CLASSES))
        if kind == "dot":
            return "."
        if kind == "anchor":
            return draw(st.sampled_from(ANCHORS))
        inner = draw(patterns(depth=depth + 1))
        opener = draw(st.sampled_from(["(", "(?:", "(?i:", "(?P<g%d>" % depth, "(?i)("]))
        return opener + inner + ")"

    parts = []
    for _ in range(draw(st.integers(1, 4))):
        piece = atom()
        if draw(st.integers(0, 3)) == 0:
            piece += draw(st.sampled_from(QUANTIFIERS))
        parts.append(piece)
    text = "".join(parts)
    if draw(st.integers(0, 4)) == 0:
        text += "|" + draw(patterns(depth=depth + 1)) if depth < 2 else "|" + draw(st.sampled_from(LITERALS))
    if depth == 0 and draw(st.integers(0, 9)) == 0:
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.sampled_from(BROKEN)) + text[pos:]
    return text


NAME_ALPHABET = "abcdekmstw0129-"
names = st.one_of(
    st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=20),
    st.sampled_from(["web-app", "web-app-7", "kube-system", "kube-public", "cert-manager", "team-a", "default",
                     "a]-app", "app", "1", "a.b", "axb", "sys-1"]),
    st.text(min_size=1, max_size=8),  # anything, unicode included: RE2 and Go must still agree
)


@st.composite
def rules(draw):
    pattern = draw(patterns())
    form = draw(st.sampled_from(["slashes", "bare", "negated"]))
    if form == "slashes":
        written = "/%s/" % pattern
    elif form == "negated":
        written = "~/%s/" % pattern
    else:
        written = pattern
    return written, pattern, form == "negated"


# ------------------------------------------------------------------------------ tests


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(rule=rules(), namespaces=st.lists(names, min_size=NAMES_PER_RULE, max_size=NAMES_PER_RULE))
def test_matching_equals_go_regexp(go, rule, namespaces):
    written, pattern, negated = rule
    answer = go.ask(pattern, namespaces)
    try:
        ours = namespace_regex.parse(written)
    except namespace_regex.RegexError as exc:
        assert answer.get("error"), "refused here but Go accepts %r: %s" % (pattern, exc)
        COMPARED["refused"] += 1
        COMPARED["rules"] += 1
        return
    assert not answer.get("error"), "accepted here but Go refuses %r: %s" % (pattern, answer["error"])
    want = [m != negated for m in answer["matches"]]
    got = [namespace_regex.matches(ours, n) for n in namespaces]
    assert got == want, (written, namespaces, got, want)
    COMPARED["pairs"] += len(namespaces)
    COMPARED["rules"] += 1


@pytest.mark.parametrize("written, name, expected", [
    ("^[[:alpha:]]+-app", "web-app", True),
    ("^[[:alpha:]]+-app", "a]-app", False),
    ("~/^(kube|cluster|capi|jet|cert)[-].+/", "kube-system", False),
    ("~/^(kube|cluster|capi|jet|cert)[-].+/", "web-app", True),
    ("/^web-app/", "web-app-9", True),
    ("/^web-app/", "my-web-app", False),
    ("app", "my-web-app", True),
])
def test_documented_examples(go, written, name, expected):
    rule = namespace_regex.parse(written)
    assert namespace_regex.matches(rule, name) is expected
    answer = go.ask(rule.pattern, [name])
    assert (answer["matches"][0] != rule.negate) is expected
