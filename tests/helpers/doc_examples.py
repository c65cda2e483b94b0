"""The YAML examples of the documentation, as a reader sees them, for the examples test.

Every fenced ``yaml`` block of README.md, docs/*.md, roles/vmo_rbac/README.md and examples/README.md
is an example. What the test does with it is said by an HTML comment on the line before the fence,
which renders as nothing (GitHub hides it; Galaxy and Automation Hub strip comments):

    <!-- example: KIND [key=value ...] [-- why, for a partial one] -->

A list of plays needs no comment: it is a ``playbook``. The kinds (tests/integration/test_doc_examples.py
runs or checks each):

``playbook``   run with ansible-playbook against local clusters whose kubeconfig contexts carry the
               names the docs use (prod-east, prod-west, dev-lab, vmo-1..3); ``inventory=<path>``
               runs it over that inventory (a path in the repository), ``file=<name>`` is the file
               name the prose gives it (a later block may import it), ``syntax-check`` only checks it
               (the example needs what only AWX gives, such as a survey's answers).
``tasks``      tasks, run in a play on localhost; ``vars=baseline`` gives the play the fleet baseline
               of examples/inventory as ``vmo_rbac_bindings``, enforced on the cluster first.
``bindings``   a list of binding entries: granted (vmo_role_binding) and proven (vmo_rbac_validate)
               on prod-east.
``vars``       inventory variables of one cluster (``host=<name>``, default prod-east; host_vars and
               group_vars alike): the playbook vmo.rbac.enforce runs the role with them; with
               ``check-only`` the role's argument validation checks them instead (for variables that
               need something only a real Palette or AWX has).
``options``    module options (``module=<fqcn>``): the module runs with them in check mode, with the
               connection and the baseline's bindings, so that every option is validated by it.
``palette-inventory``  an inventory file of the vmo.rbac.palette plugin: ansible-inventory reads it
               against the Palette stand-in (tests/helpers/palette_standin.py), whose projects and
               clusters carry the names the docs use, backed by local clusters.
``awx-credential-type``  an AWX custom credential type (inputs and injectors): every injector
               template renders from the declared inputs, as AWX applies them.
``vars-file``  a file of a project (``file=<path>``: an inventory, group_vars): an inventory is read
               by ansible-inventory, variables are checked by the role's argument validation; a page
               that uses the file runs it (docs/from-zero.md: tests/integration/test_from_zero.py).
``awx-job-template``, ``awx-schedule``, ``awx-activation``  AWX / EDA controller objects in the
               fields of their API: each refers to what its page defines (the playbook file, the job
               template, the rulebook) and a schedule's rrule parses as AWX parses it; the page's
               own test (tests/integration/test_from_zero.py) launches them as AWX would.
``partial``    a piece shown to explain (an event, an object as stored): it must parse as YAML; the
               text after ``--`` says why it does not run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("playbook", "tasks", "bindings", "vars", "vars-file", "options", "palette-inventory", "awx-credential-type",
         "awx-job-template", "awx-schedule", "awx-activation", "partial")
MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<body>.*?)\s*-->\s*$", re.S)


def documents():
    """The Markdown files whose YAML blocks are examples, in a stable order."""
    files = [ROOT / "README.md", ROOT / "roles" / "vmo_rbac" / "README.md", ROOT / "examples" / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    return files


@dataclass
class Example:
    path: Path
    line: int  # 1-based line of the opening fence
    text: str
    kind: str
    args: dict = field(default_factory=dict)
    why: str = ""
    marked: bool = False

    @property
    def id(self):
        return "%s:%d" % (self.path.relative_to(ROOT).as_posix(), self.line)

    @property
    def data(self):
        return yaml.safe_load(self.text)


class MarkerError(ValueError):
    pass


def parse_marker(body: str):
    """``KIND [key=value | flag ...] [-- why]`` -> (kind, args, why)."""
    body, _, why = body.partition("--")
    words = shlex.split(body)
    if not words:
        raise MarkerError("an example marker names its kind")
    kind, args = words[0], {}
    if kind == "shell":  # a shell step of a page (steps_of); not a YAML example
        kind = "shell"
    elif kind not in KINDS:
        raise MarkerError("unknown example kind %r (known: %s)" % (kind, ", ".join(KINDS)))
    for word in words[1:]:
        key, eq, value = word.partition("=")
        args[key] = value if eq else True
    why = " ".join(why.split())
    if kind == "partial" and not why:
        raise MarkerError("a partial example says why it does not run (<!-- example: partial -- why -->)")
    return kind, args, why


def is_playbook(data):
    return isinstance(data, list) and data and all(
        isinstance(p, dict) and ("hosts" in p or "ansible.builtin.import_playbook" in p or "import_playbook" in p)
        for p in data)


def examples_of(path: Path):
    tokens = MarkdownIt("commonmark").parse(path.read_text())
    out = []
    for i, tok in enumerate(tokens):
        if tok.type != "fence" or (tok.info.strip().split() or [""])[0] not in ("yaml", "yml"):
            continue
        line = tok.map[0] + 1
        prev = tokens[i - 1] if i else None
        marker = MARKER.match(prev.content) if prev is not None and prev.type == "html_block" else None
        where = "%s:%d" % (path.relative_to(ROOT).as_posix(), line)
        if marker:
            try:
                kind, args, why = parse_marker(marker.group("body"))
            except MarkerError as exc:
                raise MarkerError("%s: %s" % (where, exc)) from None
            out.append(Example(path, line, tok.content, kind, args, why, marked=True))
            continue
        try:
            data = yaml.safe_load(tok.content)
        except yaml.YAMLError:
            data = None
        out.append(Example(path, line, tok.content, "playbook" if is_playbook(data) else "", marked=False))
    return out


def steps_of(path: Path):
    """{step name: (language, text)} of every fenced block (YAML or not) whose marker has step=NAME,
    for a page whose test follows it step by step."""
    tokens = MarkdownIt("commonmark").parse(path.read_text())
    out = {}
    for i, tok in enumerate(tokens):
        if tok.type != "fence" or not i or tokens[i - 1].type != "html_block":
            continue
        marker = MARKER.match(tokens[i - 1].content)
        if marker:
            _kind, args, _why = parse_marker(marker.group("body"))
            if args.get("step"):
                out[args["step"]] = ((tok.info.strip().split() or [""])[0], tok.content)
    return out


def files_of(path: Path):
    """{file name: text} of the blocks of a page that say file=NAME (a project's files)."""
    return {e.args["file"]: e.text for e in examples_of(path) if e.args.get("file")}


def all_examples():
    out = []
    for path in documents():
        out += examples_of(path)
    return out
