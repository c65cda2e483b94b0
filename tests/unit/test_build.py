"""`ansible-galaxy collection build` packs the collection, not the project: no tests (beyond what
ansible-test reads from an installed collection), no local state, no development tooling."""

import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GALAXY = Path(sys.executable).parent / "ansible-galaxy"

# What ansible-test sanity reads from the installed collection may stay under tests/.
ALLOWED_UNDER_TESTS = ("tests", "tests/sanity", "tests/config.yml")


def test_build_ships_the_collection_without_test_clutter(tmp_path):
    proc = subprocess.run([str(GALAXY), "collection", "build", "--force", "--output-path", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    (artifact,) = tmp_path.glob("vmo-rbac-*.tar.gz")
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    tests = [n for n in names if n.startswith("tests/")
             and not n.startswith("tests/sanity/") and n not in ALLOWED_UNDER_TESTS]
    assert tests == []
    local = [n for n in names if n.split("/")[0] in (".venv", ".tools", ".build", ".controlplane", ".ci", ".git",
                                                     "reports", "Makefile", "pytest.ini",
                                                     ".ansible-lint", ".yamllint")]
    assert local == []
    assert not [n for n in names if n.startswith("extensions/molecule")]  # the role's test scenario
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    for needed in ("plugins/modules/vmo_role_binding.py", "plugins/modules/vmo_rbac_validate.py",
                   "plugins/module_utils/_flows/module_runner.py", "roles/vmo_rbac/tasks/main.yml", "playbooks/enforce.yml",
                   "files/reference-roles.yaml", "files/automation-clusterrole.yaml", "meta/runtime.yml",
                   "docs/personas.md", "README.md", "LICENSE", "requirements.txt", "MANIFEST.json",
                   "extensions/eda/plugins/event_source/cluster_changes.py", "extensions/eda/rulebooks/reconcile.yml",
                   "plugins/plugin_utils/watch.py", "files/eda-watcher-clusterrole.yaml"):
        assert needed in names, needed
