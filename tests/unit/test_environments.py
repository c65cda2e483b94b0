"""The execution environment (AWX / Automation Controller) and the decision environment (EDA
controller) definitions, checked by ansible-builder's own code: `ansible-builder create` validates a
definition against its v3 schema and writes the build context (no container engine needed), and
`ansible-builder introspect` reads the Python requirements the collection declares for itself, as the
image build does once the collection is installed in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFINITIONS = ("execution-environment.yml", "decision-environment.yml")


def builder(*args, cwd=ROOT):
    return subprocess.run([str(BIN / "ansible-builder"), *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=300)


def context_of(definition, tmp_path):
    ctx = tmp_path / "context"
    proc = builder("create", "-f", str(ROOT / definition), "-c", str(ctx))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = ctx / "Containerfile" if (ctx / "Containerfile").exists() else ctx / "Dockerfile"
    return ctx, containerfile.read_text()


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_ansible_builder_accepts_the_definition_and_writes_its_build_context(definition, tmp_path):
    ctx, containerfile = context_of(definition, tmp_path)
    data = yaml.safe_load((ROOT / definition).read_text())
    assert data["version"] == 3
    # the collection is installed from the tarball `make ee-collection` puts into the build context
    assert "COPY _build/collections/ /tmp/vmo-rbac-collections/" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert (ctx / "_build" / "collections" / "README.md").exists()
    galaxy = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text())
    assert galaxy == yaml.safe_load((ROOT / "ee-requirements.yml").read_text())
    assert "ansible-core>=2.16,<2.20" in containerfile and "ansible-runner" in containerfile


def test_the_decision_environment_carries_ansible_rulebook_and_java(tmp_path):
    ctx, containerfile = context_of("decision-environment.yml", tmp_path)
    assert [Requirement(r).name for r in (ctx / "_build" / "requirements.txt").read_text().split()] == [
        "ansible-rulebook"]
    assert "java-17-openjdk-headless [platform:rpm]" in (ctx / "_build" / "bindep.txt").read_text()


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_ansible_builder_refuses_a_broken_definition(definition, tmp_path):
    """The schema check is real: the same definition with a misspelled section is refused by name."""
    data = yaml.safe_load((ROOT / definition).read_text())
    data["dependecies"] = data.pop("dependencies")
    broken = tmp_path / definition
    broken.write_text(yaml.safe_dump(data))
    proc = builder("create", "-f", str(broken), "-c", str(tmp_path / "ctx"), cwd=ROOT)
    assert proc.returncode != 0
    assert "dependecies" in proc.stdout + proc.stderr


def test_the_installed_collection_declares_its_python_requirements(tmp_path):
    """What ansible-builder adds to an image for vmo.rbac, read from the installed collection
    (meta/execution-environment.yml -> requirements.txt): every package of requirements.txt but
    PyYAML, which ansible-builder leaves out on purpose (ansible-core brings it)."""
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path),
                           str(ROOT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    (tarball,) = tmp_path.glob("vmo-rbac-*.tar.gz")
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p",
                           str(tmp_path / "cols")], capture_output=True, text=True, check=False,
                          env={"ANSIBLE_HOME": str(tmp_path / "home"), "PATH": str(BIN)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = builder("introspect", "--sanitize", str(tmp_path / "cols"))
    assert proc.returncode == 0, proc.stderr
    found = yaml.safe_load(proc.stdout.split("---", 1)[1])["python"]
    declared = sorted(line.split("#")[0].strip() for line in found)
    wanted = sorted(str(Requirement(line)) for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#") and Requirement(line).name.lower() != "pyyaml")
    assert declared == wanted
