"""Release hygiene: one place holds the version, the supported ansible-core range is said the same
everywhere and is the one `make compat` tests, version_added is the release a plugin first shipped
in, every requirements list names the same packages, the role's argument specs have no dangling
reference and every entry point is validated, the docs are listed for Galaxy and Automation Hub."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
VERSION = GALAXY["version"]
CHANGES = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())
ARGSPECS = yaml.safe_load((ROOT / "roles" / "vmo_rbac" / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / p for p in out.split("\0") if p]


def requirements_txt():
    reqs = [Requirement(line.strip()) for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    return {r.name.lower(): r for r in reqs}


# ------------------------------------------------------------------------------------- version

# Where the version may appear: galaxy.yml holds it; version.py is generated from it (make generated,
# tests/unit/test_generated.py); the changelog records releases.
VERSION_MAY_APPEAR = {"galaxy.yml", "plugins/module_utils/_http/version.py", "CHANGELOG.rst",
                      "changelogs/changelog.yaml", "changelogs/.plugin-cache.yaml"}


def test_galaxy_yml_is_the_one_place_that_holds_the_version():
    """No tracked file but the generated and changelog ones repeats the version, and nothing names a
    versioned tarball or image (vmo-rbac-0.2.0.tar.gz, vmo-rbac-ee:0.2.0) that goes stale at the next
    release (ee-collections/README.md named a 0.1.0 tarball long after 0.2.0)."""
    stray = []
    versioned_artifact = re.compile(r"vmo-rbac(?:-ee|-de)?[-:]\d+\.\d+\.\d+")
    this_version = re.compile(r"(?<![\w.])%s(?![\w.])" % re.escape(VERSION))
    for path in tracked_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in VERSION_MAY_APPEAR or rel.startswith(("tests/controlplane/", "tests/peers/", "tests/compat/",
                                                        "changelogs/")):
            continue
        if path.suffix in (".png", ".sum") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if re.match(r"\s*version_added:", line) or rel == "tests/unit/test_release.py":
                continue
            if versioned_artifact.search(line) or this_version.search(line):
                stray.append("%s:%d: %s" % (rel, n, line.strip()))
    assert stray == [], "the version belongs in galaxy.yml only:\n" + "\n".join(stray)


def test_galaxy_yml_names_the_next_release():
    """After a release (make changelog) galaxy.yml moves on, so that fragments added later go to
    the next release and never into one that is out (antsibull-changelog would add them to it)."""
    released = [Version(v) for v in CHANGES["releases"]]
    assert Version(VERSION) > max(released), (VERSION, sorted(map(str, released)))


def test_the_built_tarball_installs_under_the_name_the_environments_use(tmp_path):
    """ee-requirements.yml installs ee-collections/vmo-rbac.tar.gz (no version in its name), which
    `make ee-collection` copies from the build; ansible-galaxy reads the version from the tarball."""
    reqs = yaml.safe_load((ROOT / "ee-requirements.yml").read_text())["collections"]
    assert [r["name"] for r in reqs] == ["/tmp/vmo-rbac-collections/vmo-rbac.tar.gz"]
    make = (ROOT / "Makefile").read_text()
    assert "cp .build/vmo-rbac-$(VERSION).tar.gz ee-collections/vmo-rbac.tar.gz" in make
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path),
                           str(ROOT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / ("vmo-rbac-%s.tar.gz" % VERSION)).rename(tmp_path / "vmo-rbac.tar.gz")
    req = tmp_path / "requirements.yml"
    req.write_text(yaml.safe_dump({"collections": [{"name": str(tmp_path / "vmo-rbac.tar.gz"), "type": "file"}]}))
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "-r", str(req), "-p",
                           str(tmp_path / "cols")], capture_output=True, text=True, check=False,
                          env={"ANSIBLE_HOME": str(tmp_path / "home"), "PATH": str(BIN)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "vmo.rbac:%s was installed successfully" % VERSION in proc.stdout


# ------------------------------------------------------------------------ supported ansible-core

def compat_pin(name):
    text = (ROOT / "tests" / "compat" / ("%s.txt" % name)).read_text()
    return Version(re.search(r"^# pin: ansible-core==(\S+)$", text, re.M).group(1))


def minor(v):
    return Version("%d.%d" % (v.major, v.minor))


def test_requires_ansible_says_what_readme_says_and_make_compat_tests():
    spec = SpecifierSet(yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"])
    readme = (ROOT / "README.md").read_text()
    low, high = (Version(v) for v in re.search(r"needs ansible-core (\d+\.\d+) to (\d+\.\d+)", readme).groups())
    oldest, newest = compat_pin("oldest"), compat_pin("newest")
    # make compat tests the oldest and the newest minor release the collection claims
    assert minor(oldest) == low and minor(newest) == high, (oldest, newest, low, high)
    assert oldest in spec and newest in spec
    # and the range is exactly those minors: nothing older, nothing newer that was never tested
    assert Version("%d.%d.0" % (low.major, low.minor)) in spec
    assert Version("%d.%d.999" % (high.major, high.minor)) in spec
    assert Version("%d.%d.99" % (low.major, low.minor - 1)) not in spec
    assert Version("%d.%d.0" % (high.major, high.minor + 1)) not in spec
    assert Version("%d.%d.0rc1" % (high.major, high.minor + 1)) not in spec
    # the environments and the role say the same
    for definition in ("execution-environment.yml", "decision-environment.yml"):
        pip = yaml.safe_load((ROOT / definition).read_text())["dependencies"]["ansible_core"]["package_pip"]
        assert Requirement(pip).specifier == SpecifierSet(">=%s,<%d.%d" % (low, high.major, high.minor + 1)), definition
    role_meta = yaml.safe_load((ROOT / "roles" / "vmo_rbac" / "meta" / "main.yml").read_text())
    assert Version(role_meta["galaxy_info"]["min_ansible_version"]) == low


# ----------------------------------------------------------------------------- version_added

def plugin_docs():
    """(kind, name) -> version_added of every module and plugin."""
    out = {}
    for path in sorted((ROOT / "plugins").glob("*/*.py")):
        kind = path.parent.name
        if kind in ("module_utils", "plugin_utils", "doc_fragments", "action") or path.name == "__init__.py":
            continue
        m = re.search(r"^version_added: ['\"]?([\d.]+)", path.read_text(), re.M)
        out[("module" if kind == "modules" else kind, path.stem)] = m.group(1) if m else None
    return out


def released_in():
    """(kind, name) -> the first release whose changelog lists it as new."""
    first = {}
    for version in sorted(CHANGES["releases"], key=Version):
        rel = CHANGES["releases"][version]
        for mod in rel.get("modules", []):
            first.setdefault(("module", mod["name"]), version)
        for kind, plugins in (rel.get("plugins") or {}).items():
            for plugin in plugins:
                first.setdefault((kind, plugin["name"]), version)
    return first


def test_version_added_is_the_release_a_plugin_first_shipped_in():
    """0.1.0 shipped vmo_role_binding, vmo_rbac_validate and the vmo_rbac_report filter (its changelog,
    written at that release, lists them); everything else came later. A plugin not yet in any
    release says the version galaxy.yml names (the next release)."""
    docs = plugin_docs()
    first = released_in()
    assert {k for k, v in first.items() if v == "0.1.0"} == {
        ("module", "vmo_role_binding"), ("module", "vmo_rbac_validate"), ("filter", "vmo_rbac_report")}
    wrong = {}
    for key, added in docs.items():
        expected = first.get(key, VERSION)
        if added != expected:
            wrong[key] = (added, expected)
    assert wrong == {}, "version_added (documented, expected): %s" % wrong


# ----------------------------------------------------------------------------- requirements

PACKAGES = ("kubernetes", "urllib3", "pyyaml", "google-re2")


def test_every_requirements_list_names_the_same_packages():
    reqs = requirements_txt()
    assert sorted(reqs) == sorted(PACKAGES)
    # the collection tells ansible-builder its requirements with requirements.txt itself
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"]["python"] == "requirements.txt"
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert ee["dependencies"]["python"] == "requirements.txt"
    # the decision environment adds ansible-rulebook; the collection's own come from its meta (introspection)
    de = yaml.safe_load((ROOT / "decision-environment.yml").read_text())
    assert [Requirement(r).name for r in de["dependencies"]["python"]] == ["ansible-rulebook"]
    # the modules' documented requirements (the connection doc fragment) are requirements.txt's
    from ansible_collections.vmo.rbac.plugins.doc_fragments import connection  # pylint: disable=import-outside-toplevel

    documented = yaml.safe_load(connection.ModuleDocFragment.DOCUMENTATION)["requirements"]
    named = {}
    for entry in documented:
        name, _, rest = entry.partition(" ")
        if name != "python":
            named[name.lower()] = SpecifierSet(rest.replace(" ", ""))
    assert named == {n: r.specifier for n, r in reqs.items()}


def doc_paragraphs():
    for path in [ROOT / "README.md", ROOT / "roles" / "vmo_rbac" / "README.md", ROOT / "examples" / "README.md",
                 *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name in ("development.md", "performance.md"):  # version tables of the test matrix, not requirements
            continue
        for n, para in enumerate(re.split(r"\n\s*\n", path.read_text())):
            yield "%s (paragraph %d)" % (path.relative_to(ROOT), n + 1), para


def test_the_docs_name_the_same_python_requirements():
    """A paragraph that lists the Python requirements (it names two of them) names all four, and a
    minimum it states is requirements.txt's."""
    reqs = requirements_txt()
    names = {"kubernetes": "kubernetes", "urllib3": "urllib3", "pyyaml": "PyYAML", "google-re2": "google-re2"}
    wrong = []
    for where, para in doc_paragraphs():
        lowered = para.lower()
        mentioned = [p for p in PACKAGES if re.search(r"(?<![\w.-])%s(?![\w-])" % re.escape(p), lowered)]
        if len(mentioned) >= 2 and mentioned != list(PACKAGES):
            wrong.append("%s names %s, not all of %s" % (where, mentioned, [names[p] for p in PACKAGES]))
        for pkg, minimum in re.findall(r"(kubernetes|urllib3|PyYAML|google-re2) *>= *(\d+(?:\.\d+)*)", para):
            if Version(minimum) != Version(str(next(iter(reqs[pkg.lower()].specifier)).version)):
                wrong.append("%s: %s >= %s, requirements.txt says %s" % (where, pkg, minimum, reqs[pkg.lower()]))
    assert wrong == [], "\n".join(wrong)


# ------------------------------------------------------------------------------ argument specs

def markup_references(value):
    """O(...) references of every description in an argument spec, recursively."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("description", "short_description"):
                for text in (v if isinstance(v, list) else [v]):
                    yield from re.findall(r"O\(([^)=#]+)(?:=[^)]*)?\)", str(text))
            else:
                yield from markup_references(v)
    elif isinstance(value, list):
        for v in value:
            yield from markup_references(v)


def option_paths(options, prefix=""):
    for name, spec in (options or {}).items():
        yield prefix + name
        yield from option_paths(spec.get("options"), prefix + name + ".")


def test_argument_specs_have_no_dangling_reference_and_no_removed_step():
    for entry, spec in ARGSPECS.items():
        known = set(option_paths(spec["options"]))
        # O(name) names an option of this entry point (or, nested, of the enclosing option)
        dangling = sorted({r for r in markup_references(spec) if r not in known
                           and not any(k.endswith("." + r) for k in known)})
        assert dangling == [], (entry, dangling)
    text = (ROOT / "roles" / "vmo_rbac" / "meta" / "argument_specs.yml").read_text()
    assert "preflight" not in text.lower()  # the preflight call is gone (0.2.0)


def test_every_entry_point_is_validated():
    """Each tasks file that is an entry point (tasks_from) has an argument_specs entry point, whose
    options are every role variable the entry point hands to a module, specified as for main."""
    tasks = {p.stem for p in (ROOT / "roles" / "vmo_rbac" / "tasks").glob("*.yml")}
    included = set()
    for p in (ROOT / "roles" / "vmo_rbac" / "tasks").glob("*.yml"):
        included |= set(re.findall(r"import_tasks: (\w+)\.yml", p.read_text()))
    assert set(ARGSPECS) == tasks - included, (sorted(ARGSPECS), sorted(tasks - included))
    vars_main = (ROOT / "roles" / "vmo_rbac" / "vars" / "main.yml").read_text()
    handed = vars_main[vars_main.index("vmo_rbac__declaration:"):vars_main.index("vmo_rbac__module_options:")]
    used = {v for v in re.findall(r"\b(vmo_rbac_[a-z][a-z_]*)\b", handed)} | {"vmo_rbac_execution"}
    # and the role variables the entry point's own tasks read (vmo_rbac_inventory_error: a host the Palette
    # inventory could not prepare fails before any request; reconcile: vmo_rbac_if_active)
    for entry in sorted(set(ARGSPECS) - {"main"}):
        own = (ROOT / "roles" / "vmo_rbac" / "tasks" / ("%s.yml" % entry)).read_text()
        wanted = used | {v for v in re.findall(r"\b(vmo_rbac_[a-z][a-z_]*)\b", own)} & set(ARGSPECS["main"]["options"])
        options = ARGSPECS[entry]["options"]
        assert set(options) == wanted, (entry, sorted(set(options) ^ wanted))
        assert all(options[k] == ARGSPECS["main"]["options"][k] for k in options), entry


@pytest.mark.parametrize("entry", sorted(ARGSPECS))
def test_ansible_doc_renders_every_entry_point(entry):
    env = {"ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".build" / "collections"), "ANSIBLE_HOME": str(ROOT / ".build" /
                                                                                               "ansible-home"),
           "PATH": str(BIN), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run([str(BIN / "ansible-doc"), "-t", "role", "-e", entry, "vmo.rbac.vmo_rbac"],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0 and re.search(r"ENTRY POINT: \W*%s\b" % entry, proc.stdout), proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------------------------- docs listed

def test_every_guide_is_listed_for_galaxy_automation_hub_and_a_docsite():
    """Galaxy and Automation Hub show the Markdown files of docs/ (galaxy-importer reads docs/*.md);
    README.md lists each of them, and a docsite built with antsibull-docs links each (extra-docs.yml
    -> rst/guides.rst, links.yml: generated from README's list, tests/unit/test_generated.py)."""
    sys.path.insert(0, str(ROOT / "tests" / "tools"))
    import generate  # pylint: disable=import-outside-toplevel

    listed = [name for name, _description in generate.guides()]
    assert sorted(listed) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    extra = yaml.safe_load((ROOT / "docs" / "docsite" / "extra-docs.yml").read_text())
    refs = [ref for section in extra["sections"] for ref in section["toctree"]]
    assert all((ROOT / "docs" / "docsite" / "rst" / ("%s.rst" % ref)).is_file() for ref in refs)
    guides = (ROOT / "docs" / "docsite" / "rst" / "guides.rst").read_text()
    links = yaml.safe_load((ROOT / "docs" / "docsite" / "links.yml").read_text())
    for name in listed:
        assert "/docs/%s>" % name in guides
        assert any(link["url"].endswith("/docs/" + name) for link in links["extra_links"])
    # the build ships them (galaxy.yml build_ignore keeps docs/)
    assert not any(p.startswith("docs") for p in GALAXY["build_ignore"])


def test_markup_references_name_what_exists():
    """M(fqcn) names a module of the collection, P(fqcn#type) a plugin or role of it (antsibull-docs
    lint-collection-docs found M(vmo.rbac.vmo_rbac), a role, in vmo_rbac_fleet_report's documentation)."""
    modules = {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py")}
    plugins = {(p.parent.name, p.stem) for p in (ROOT / "plugins").glob("*/*.py")}
    roles = {p.name for p in (ROOT / "roles").iterdir() if p.is_dir()}
    wrong = []
    sources = list((ROOT / "plugins").glob("*/*.py")) + list((ROOT / "roles").glob("*/meta/argument_specs.yml"))
    for path in sources:
        text = path.read_text()
        for name in re.findall(r"\bM\(vmo\.rbac\.([\w]+)\)", text):
            if name not in modules:
                wrong.append("%s: M(vmo.rbac.%s)" % (path.relative_to(ROOT), name))
        for name, kind in re.findall(r"\bP\(vmo\.rbac\.([\w]+)#(\w+)\)", text):
            if not ((kind == "role" and name in roles) or (kind, name) in plugins or
                    (kind == "module" and name in modules)):
                wrong.append("%s: P(vmo.rbac.%s#%s)" % (path.relative_to(ROOT), name, kind))
        for name, kind in re.findall(r"\bO\(vmo\.rbac\.([\w]+)#(\w+):", text):
            if not ((kind == "role" and name in roles) or (kind == "module" and name in modules)):
                wrong.append("%s: O(vmo.rbac.%s#%s:...)" % (path.relative_to(ROOT), name, kind))
    assert wrong == []
