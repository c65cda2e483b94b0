"""Derived files and version strings stay in step with their source."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from ansible_collections.vmo.rbac.plugins.module_utils._http import version

ROOT = Path(__file__).resolve().parents[2]


def test_generated_files_are_up_to_date():
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "tools" / "generate.py"), "--check"],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, "run `make generated`:\n" + proc.stdout + proc.stderr


def test_reference_roles_file_holds_the_reference_roles():
    docs = [d for d in yaml.safe_load_all((ROOT / "files" / "reference-roles.yaml").read_text()) if d]
    assert docs == personas.reference_cluster_roles()
    docs = [d for d in yaml.safe_load_all((ROOT / "files" / "console-role.yaml").read_text()) if d]
    assert docs == [personas.console_cluster_role()]


def test_version_matches_galaxy_yml():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert version.__version__ == galaxy["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version.__version__)
