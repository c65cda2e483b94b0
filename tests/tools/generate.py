#!/usr/bin/env python3
"""Generate the files that are derived from plugins/module_utils/_core/personas.py and galaxy.yml.

    files/reference-roles.yaml        the spectro-vm-* and legacy dashboard ClusterRoles
    files/console-role.yaml           the VM console role
    plugins/module_utils/_http/version.py   the collection's version (galaxy.yml holds it; the modules
                                      cannot read galaxy.yml, which is not shipped, at run time)
    docs/eda.md (a marked section)    the event source's options, from its DOCUMENTATION
    docs/docsite/rst/guides.rst,      the guides for a docsite built with antsibull-docs (extra docs)
    docs/docsite/links.yml            and its links, from README.md's list of docs/*.md
    files/golden-image-role.yaml      the golden-image role
    docs/personas.md                  the capability table (between its generated markers)

``make generated`` writes them; ``--check`` (used by the unit tests) fails when a
committed file differs from what the code says, so data and docs never drift apart.
"""

import argparse
import ast
import difflib
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build" / "collections"))

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def dump_all(docs):
    return yaml.dump_all(docs, Dumper=_NoAliases, sort_keys=False, explicit_start=True, width=100)


def reference_roles():
    return (
        "# Generated from plugins/module_utils/_core/personas.py by `make generated`; do not edit.\n"
        "# Reference definitions of the VMO persona ClusterRoles (spectro-vm-*) and of the legacy\n"
        "# VM Dashboard roles (spectro-list-*). They satisfy the capability matrix of docs/personas.md\n"
        "# exactly. On a VMO cluster the pack owns the real roles: apply these only on plain KubeVirt,\n"
        "# with the vmo.rbac.vmo_cluster_roles module (roles: [personas, legacy]), which never touches a\n"
        "# role it did not create, or by hand: kubectl apply -f files/reference-roles.yaml\n"
        + dump_all(personas.reference_cluster_roles())
    )


def console_role():
    return (
        "# Generated from plugins/module_utils/_core/personas.py by `make generated`; do not edit.\n"
        "# The least-privilege VM console role that console_access binds in a grant's scope: find VMs\n"
        "# and open their serial console and VNC display, nothing else. Apply it with the\n"
        "# vmo.rbac.vmo_cluster_roles module (roles: [console]), or: kubectl apply -f files/console-role.yaml\n"
        + dump_all([personas.console_cluster_role()])
    )


def version_module():
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    return (
        "# -*- coding: utf-8 -*-\n"
        "# Copyright: (c) 2026, vmo.rbac contributors\n"
        "# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)\n"
        '"""The collection\'s version, sent as the User-Agent.\n'
        "\n"
        "Generated from galaxy.yml (the one place that holds the version) by `make generated`; do not edit.\n"
        '"""\n'
        "\n"
        "from __future__ import absolute_import, division, print_function\n"
        "\n"
        "__metaclass__ = type\n"
        "\n"
        '__version__ = "%s"\n' % version
    )


EVENT_SOURCE = ROOT / "extensions" / "eda" / "plugins" / "event_source" / "cluster_changes.py"
OPTIONS_BEGIN = "<!-- generated from the event source's DOCUMENTATION by `make generated`; do not edit -->"
OPTIONS_END = "<!-- end of generated options -->"


def event_source_doc():
    """DOCUMENTATION and EXAMPLES of the event source, read without running it (it is not importable
    outside an installed collection)."""
    tree = ast.parse(EVENT_SOURCE.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", "") in (
                "DOCUMENTATION", "EXAMPLES"):
            out[node.targets[0].id] = node.value.value
    return yaml.safe_load(out["DOCUMENTATION"]), out["EXAMPLES"]


def _markup_to_markdown(text):
    # Ansible markup -> Markdown code spans; a small regex rather than antsibull-docs-parser's Markdown
    # writer, whose output (HTML <code> tags, every punctuation mark escaped) is hard to read in the
    # source of a doc that people edit around.
    text = re.sub(r"\b[OCEVM]\(([^()]*)\)", lambda m: "`%s`" % m.group(1), text)
    return text.replace("|", "\\|")


def _default(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "`%s`" % str(value).lower()
    return "`%s`" % value


def eda_options_table():
    doc, _examples = event_source_doc()
    rows = ["| option | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, opt in doc["options"].items():
        kind = opt["type"] + (" of " + opt["elements"] if opt.get("elements") else "")
        if opt.get("aliases"):
            name_cell = "`%s` (%s)" % (name, ", ".join("`%s`" % a for a in opt["aliases"]))
        else:
            name_cell = "`%s`" % name
        desc = opt["description"]
        desc = " ".join(desc) if isinstance(desc, list) else desc
        rows.append("| %s | %s | %s | %s |" % (name_cell, kind, _default(opt.get("default")),
                                              _markup_to_markdown(" ".join(desc.split()))))
    return "\n".join(rows)


def eda_md():
    text = (ROOT / "docs" / "eda.md").read_text()
    head, rest = text.split(OPTIONS_BEGIN + "\n", 1)
    _old, tail = rest.split(OPTIONS_END, 1)
    return head + OPTIONS_BEGIN + "\n" + eda_options_table() + "\n" + OPTIONS_END + tail


def guides():
    """[(file, description)] of README.md's Documentation list: every guide in docs/, in that order."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Documentation"):]
    section = section[:section.index("\n## ", 1)]
    out = []
    for item in re.split(r"\n(?=- )", section):
        m = re.match(r"- \[docs/([\w-]+\.md)\]\(docs/\1\): (.*)", item, re.S)
        if m:
            out.append((m.group(1), " ".join(m.group(2).split())))
    return out


def _repository_url(rel):
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    return "%s/blob/main/%s" % (galaxy["repository"].rstrip("/"), rel)


def _plain(text):
    """Markdown links and code spans of a description, as plain text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return text.replace("`", "")


def docsite_guides():
    lines = [
        ".. Generated from README.md's list of guides by `make generated`; do not edit.",
        "",
        ".. _ansible_collections.vmo.rbac.docsite.guides:",
        "",
        "Guides",
        "======",
        "",
        "The guides of the collection are Markdown files in its ``docs/`` directory, which Ansible Galaxy and",
        "Automation Hub show with the collection. Here they are linked in the collection's repository.",
        "",
    ]
    for name, description in guides():
        lines.append("- `%s <%s>`__: %s" % (name, _repository_url("docs/" + name), _plain(description)))
    return "\n".join(lines) + "\n"


def docsite_links():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    repo = galaxy["repository"].rstrip("/")
    data = {
        "edit_on_github": {"repository": "/".join(repo.split("/")[-2:]), "branch": "main", "path_prefix": ""},
        "issue_tracker": galaxy["issues"],
        "extra_links": [{"description": "%s: %s" % (name, _plain(desc)), "url": _repository_url("docs/" + name)}
                        for name, desc in guides()],
    }
    return ("# Generated from README.md's list of guides and galaxy.yml by `make generated`; do not edit.\n"
            "# Links antsibull-docs shows on the collection's docsite page.\n"
            + yaml.safe_dump(data, sort_keys=False, width=1000, explicit_start=True))


def golden_image_role():
    return (
        "# Generated from plugins/module_utils/_core/personas.py by `make generated`; do not edit.\n"
        "# The least-privilege golden-image role that golden_image_namespaces binds in each golden-image\n"
        "# namespace: clone the golden images VM templates deploy from (CDI's datavolumes/source) and list\n"
        "# their DataSources, nothing else. Apply it with the vmo.rbac.vmo_cluster_roles module\n"
        "# (roles: [golden-image]), or: kubectl apply -f files/golden-image-role.yaml\n"
        + dump_all([personas.golden_image_cluster_role()])
    )


BEGIN = "<!-- BEGIN generated from plugins/module_utils/_core/personas.py by `make generated`: do not edit -->\n"
END = "<!-- END generated -->\n"


def _checks_text(checks):
    """``get, list `kubevirt.io/virtualmachines`; get `.../virtualmachineinstances/{console,vnc}```: the verbs
    of one resource together, the subresources asked with the same verbs together."""
    order, verbs = [], {}
    for verb, group, resource, sub in checks:
        key = (group, resource, sub)
        if key not in verbs:
            order.append(key)
            verbs[key] = []
        verbs[key].append(verb)
    merged, subs = [], {}
    for group, resource, sub in order:
        key = (tuple(verbs[(group, resource, sub)]), group, resource, bool(sub))
        if key not in subs:
            merged.append(key)
            subs[key] = []
        subs[key].append(sub)
    out = []
    for key in merged:
        vs, group, resource, has_sub = key
        path = (group + "/" if group else "") + resource
        if has_sub:
            names = subs[key]
            path += "/" + (names[0] if len(names) == 1 else "{%s}" % ",".join(names))
        out.append("%s `%s`" % (", ".join(vs), path))
    return "; ".join(out)


def _cell(role_set, persona, capability):
    if capability in personas.OPTIONAL[role_set].get(persona, ()):
        if capability in personas.CONSOLE_CAPABILITIES:
            return "Y*"
        return "(Y)" if personas.EXPECTED[role_set][persona][capability] else "(N)"
    now = "Y" if personas.EXPECTED[role_set][persona][capability] else "N"
    change = personas.KUBEVIRT_CHANGES.get(capability)
    if role_set == "kubernetes" and change and persona in change[1]:
        since, _who, after = change
        return "%s (%s before v%d.%d.%d)" % ("Y" if after else "N", "N" if after else "Y", *since)
    return now


def capability_table():
    """The capability table of docs/personas.md: checks, why, cost, expectations of both role sets."""
    head = ("| capability | checks (verb group/resource[/subresource]) | reviews | why it reaches a VM | "
            + " | ".join(personas.PERSONAS) + " | | "
            + " | ".join(personas.ROLE_SETS["kubernetes"][p] for p in personas.PERSONAS) + " |\n")
    sep = "| --- " * (4 + 2 * len(personas.PERSONAS) + 1) + "|\n"
    rows = []
    for name, cap in personas.CAPABILITIES.items():
        where = {"cluster": " (at cluster scope)", "golden-image": " (in each golden-image namespace)"}.get(
            cap["scope"], "")
        rows.append("| `%s` | %s%s | %d | %s | %s | | %s |\n" % (
            name, _checks_text(cap["checks"]), where, len(cap["checks"]), cap["why"],
            " | ".join(_cell("vmo", p, name) for p in personas.PERSONAS),
            " | ".join(_cell("kubernetes", p, name) for p in personas.PERSONAS)))
    namespaced = sum(len(c["checks"]) for c in personas.CAPABILITIES.values() if c["scope"] == "namespaced")
    cluster = sum(len(c["checks"]) for c in personas.CAPABILITIES.values() if c["scope"] == "cluster")
    golden = sum(len(c["checks"]) for c in personas.CAPABILITIES.values() if c["scope"] == "golden-image")
    foot = ("\n%d capabilities. Reviews: the SubjectAccessReviews one subject costs in one place (identical "
            "questions are asked once); %d per namespace (or \"all namespaces\") a subject is checked in, %d at "
            "cluster scope, %d per golden-image namespace.\n" % (len(personas.CAPABILITIES), namespaced, cluster,
                                                                 golden))
    return head + sep + "".join(rows) + foot


def personas_md():
    path = ROOT / "docs" / "personas.md"
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit("docs/personas.md lacks the generated markers")
    before, rest = text.split(BEGIN, 1)
    _old, after = rest.split(END, 1)
    return before + BEGIN + capability_table() + END + after


GENERATED = {
    "files/reference-roles.yaml": reference_roles,
    "files/console-role.yaml": console_role,
    "plugins/module_utils/_http/version.py": version_module,
    "docs/eda.md": eda_md,
    "docs/docsite/rst/guides.rst": docsite_guides,
    "docs/docsite/links.yml": docsite_links,
    "files/golden-image-role.yaml": golden_image_role,
    "docs/personas.md": personas_md,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = ap.parse_args(argv)
    stale = []
    for rel, make in GENERATED.items():
        path = ROOT / rel
        text = make()
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        if args.check:
            stale.append(rel)
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), rel + " (committed)", rel + " (generated)"))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print("wrote " + rel)
    if stale:
        print("out of date: %s; run `make generated`" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
