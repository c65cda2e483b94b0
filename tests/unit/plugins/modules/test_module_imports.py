"""What a module process imports before it knows its arguments: a module process compiles every file of the
collection it imports (Ansible's payload is a zip, nothing is cached between runs), so what only some runs need
is imported by those runs (the Palette client and backend: backend=palette or palette_kubeconfig; the
kubeconfig reader and PyYAML: a kubeconfig), and imported once in Ansible's worker (in_worker.LAZY_IMPORTS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
PREFIX = "ansible_collections.vmo.rbac.plugins."
# imported by the runs that need them only
LAZY = ("module_utils._palette", "module_utils._k8s.kubeconfig")
MODULES = ("vmo_role_binding", "vmo_rbac_validate", "vmo_rbac_access_info", "vmo_cluster_roles")


def _loaded(module: str) -> list:
    code = ("import json, sys; import %s%s; print(json.dumps(sorted(sys.modules)))" % (PREFIX, "modules." + module))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=str(ROOT / "tests"))
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_neither_palette_nor_the_kubeconfig_reader_before_its_run_needs_them(module):
    loaded = _loaded(module)
    assert PREFIX + "modules." + module in loaded and PREFIX + "module_utils._k8s.cluster" in loaded
    lazy = [m for m in loaded if any(m == PREFIX + p or m.startswith(PREFIX + p + ".") for p in LAZY)]
    assert lazy == []
    assert "yaml" not in loaded, "PyYAML is for a kubeconfig file, or a diff: imported when one is read"


def test_enforce_imports_nothing_of_validate_or_who_can():
    loaded = _loaded("vmo_role_binding")
    for name in ("_flows.validate", "_flows.whocan", "_flows.snapshot", "_core.verdict"):
        assert PREFIX + "module_utils." + name not in loaded, name


def test_the_worker_imports_what_the_modules_import_lazily():
    from ansible_collections.vmo.rbac.plugins.plugin_utils import in_worker

    names = {PREFIX + "module_utils." + m for m in in_worker.LAZY_IMPORTS}
    assert {PREFIX + "module_utils._palette.client", PREFIX + "module_utils._palette.backend",
            PREFIX + "module_utils._palette.connection", PREFIX + "module_utils._k8s.kubeconfig"} == names
    code = ("import json, sys; from %splugin_utils import in_worker; in_worker.action_for('vmo_role_binding'); "
            "print(json.dumps(sorted(sys.modules)))" % PREFIX)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=str(ROOT / "tests"))
    assert names <= set(json.loads(out.stdout))
