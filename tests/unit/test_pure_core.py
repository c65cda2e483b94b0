"""The pure core stays pure: ``_core`` and ``_rbac`` import nothing of the collection outside ``_core`` and
``_rbac``, and nothing that talks to a network (docs/development.md, "Layout").

Checked twice: by reading every import statement of their files (those inside functions too, which a
lazy import would hide from the second check), and by importing every module of both packages in a fresh
interpreter and looking at what was loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
PURE = ("_core", "_rbac")
PREFIX = "ansible_collections.vmo.rbac.plugins.module_utils."
# What talks to a network (or is the Kubernetes client), at the top level of a module name.
NETWORK = ("urllib3", "kubernetes", "http", "ssl", "requests", "aiohttp", "websocket", "urllib.request")
# Ansible's code the core may use: the env_fallback of the argument specs, and six's collections_abc (what
# Ansible's sanity test asks for instead of collections.abc). Never AnsibleModule (basic).
ANSIBLE_ALLOWED = ("ansible.module_utils.common.parameters", "ansible.module_utils.six.moves.collections_abc")

FILES = sorted(p for pkg in PURE for p in (MODULE_UTILS / pkg).glob("*.py"))


def _imports(path: Path):
    """(line, absolute module name) of every import statement in ``path``."""
    package = PREFIX + path.parent.name
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the file's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = base + ("." + node.module if node.module else "")
            else:
                module = node.module
            yield node.lineno, module
            for alias in node.names:  # from <package> import <module>
                yield node.lineno, module + "." + alias.name


def _problem(module: str):
    if module.startswith("ansible_collections."):
        if not module.startswith(PREFIX):
            return "imports the collection outside module_utils"
        package = module[len(PREFIX):].split(".")[0]
        return None if package in PURE else "imports %s, outside _core and _rbac" % package
    if module == "ansible" or module.startswith("ansible."):
        if any(module == a or module.startswith(a + ".") for a in ANSIBLE_ALLOWED):
            return None
        return "imports Ansible beyond %s" % ", ".join(ANSIBLE_ALLOWED)
    if any(module == n or module.startswith(n + ".") for n in NETWORK):
        return "imports %s, which talks to a network" % module
    return None


def test_the_pure_packages_have_their_files():
    names = {p.stem for p in FILES}
    assert {"declaration", "options", "specs", "palette_checks", "values", "access", "holders"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: "%s/%s" % (p.parent.name, p.name))
def test_no_import_statement_leaves_the_pure_core(path):
    problems = ["line %d: %s" % (line, why) for line, module in _imports(path) for why in [_problem(module)] if why]
    assert problems == [], problems


def test_the_checker_sees_what_it_must_refuse():
    assert _problem(PREFIX + "_palette.backend")
    assert _problem(PREFIX + "_k8s")
    assert _problem(PREFIX + "_http.transport")
    assert _problem("urllib3.util")
    assert _problem("http.client")
    assert _problem("ansible.module_utils.basic")
    assert _problem(PREFIX + "_core.specs") is None and _problem(PREFIX + "_rbac.holders") is None
    assert _problem("collections") is None and _problem("re2") is None


def test_a_relative_import_is_resolved_from_the_files_package(tmp_path):
    probe = tmp_path / "_core" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("from .. import _k8s\nfrom .specs import X\n")
    found = [m for _line, m in _imports(probe)]
    assert PREFIX + "_k8s" in found and PREFIX + "_core.specs" in found
    assert _problem(PREFIX + "_k8s")


def test_importing_the_pure_packages_loads_nothing_else():
    """In a fresh interpreter (nothing imported before by this session's tests), every module of _core and
    _rbac: the collection's modules loaded are theirs alone, and no network library is."""
    code = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
for pkg in %r:
    package = importlib.import_module(%r + pkg)
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(package.__name__ + "." + info.name)
print(json.dumps(sorted(set(sys.modules) - before)))
""" % (PURE, PREFIX)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(ROOT / "tests"), env=_env())
    loaded = json.loads(out.stdout)
    ours = [m for m in loaded if m.startswith("ansible_collections.")]
    assert PREFIX + "_core.specs" in ours and PREFIX + "_rbac.holders" in ours
    outside = [m for m in ours if m.startswith(PREFIX) and m[len(PREFIX):].split(".")[0] not in PURE]
    assert outside == []
    network = [m for m in loaded if any(m == n or m.startswith(n + ".") for n in NETWORK)]
    assert network == []
    assert "ansible.module_utils.basic" not in loaded


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
