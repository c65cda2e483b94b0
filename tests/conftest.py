"""Shared pytest fixtures.

The local control plane is started once per run, by the pytest process that owns the run
(the xdist controller when tests run in parallel, else the only process), before any test,
and only when integration tests are selected; clusters already running (``make
cluster-up``) are reused. At the end of the run it stops only what it started. Its
processes carry a parent-death signal, so a crashed or killed test run leaves no orphans.
A missing Go toolchain or control plane is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".build" / "collections"
if not (COLLECTIONS / "ansible_collections" / "vmo" / "rbac").exists():
    raise RuntimeError("the collection is not linked at %s; run the tests through `make test` "
                       "(or `make collection` once)" % COLLECTIONS)
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(ROOT))

from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers import leaks  # noqa: E402
from tests.helpers.kube import CONSOLE_ROLE, GOLDEN_IMAGE_ROLE, KUBEVIRT_CRDS, REFERENCE_ROLES, TestCluster  # noqa: E402

CLUSTER_COUNT = int(os.environ.get("VMO_TEST_CLUSTERS", "3"))

# The Palette API stand-in's fixtures (palette_standin, palette_spec): tests/helpers/palette_fixtures.py.
pytest_plugins = ["tests.helpers.palette_fixtures"]


@pytest.fixture(autouse=True)
def _no_collection_finder_left_behind():
    """A test that reaches init_plugin_loader (the event source reading an inventory, in this process)
    installs Ansible's collection finder over the plain package ansible_collections that the tests
    import; left in place, every collection import after it in the process fails ("this loader requires
    exactly one path to search"), and runpy (which runs the event source as ansible-rulebook does) takes
    a file for a package. Each test leaves the import machinery as it found it."""
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    before = AnsibleCollectionConfig.collection_finder
    yield
    if before is None and AnsibleCollectionConfig.collection_finder is not None:
        _AnsibleCollectionFinder._remove()  # pylint: disable=protected-access


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("vmo")


BARE = "vmo-bare"
_STARTED = []


def _is_xdist_worker(config):
    return hasattr(config, "workerinput")


def _wants_clusters(config):
    """True when the run selects integration tests, the compatibility check (tests/compat), or everything."""
    args = [a for a in config.args if not a.startswith("-")]
    return not args or any("integration" in a or "compat" in a for a in args)


_UNGROUPED = set()  # nodeids of xdist_group tests that --dist loadgroup failed to group


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Tests that share a cluster's state rely on --dist loadgroup to run on one worker. If the
    grouping does not take effect (pytest 9.2 with pytest-xdist 3.8 drops it without a word:
    pytest-dev/pytest-xdist#1386), those tests fail at set-up instead of racing each other.

    The tests marked ``slow`` (a call of half a minute or more) come first, so that xdist hands them out
    before the short ones: started last, a 150 s test keeps one worker busy while the others have nothing
    left to do (docs/development.md, "How long make test takes"). Only tests outside an xdist group move:
    a group's tests keep their order, and --dist loadgroup hands out the groups first anyway (the largest
    first). The order changes nothing else: every test sets up what it needs."""
    items.sort(key=lambda i: not (i.get_closest_marker("slow") and not i.get_closest_marker("xdist_group")))
    if _is_xdist_worker(config) and config.getvalue("loadgroup"):
        _UNGROUPED.update(i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.nodeid in _UNGROUPED:
        pytest.fail("pytest-xdist's --dist loadgroup did not group this test (pytest %s): tests that share a "
                    "cluster would run at the same time; install the versions of tests/constraints.txt "
                    "(make venv)" % pytest.__version__, pytrace=False)


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin made the session's temporary directory
def pytest_configure(config):
    """No credential in any output (tests/helpers/leaks.py): the process that owns the run keeps the
    registry of credentials and outputs in its temporary directory (the xdist workers, and every
    process the tests start, inherit VMO_LEAK_DIR); every process records what the ansible commands
    it runs say."""
    if not _is_xdist_worker(config) and not os.environ.get(leaks.DIR_ENV):
        os.environ[leaks.DIR_ENV] = str(config._tmp_path_factory.getbasetemp() / "leak-check")
        config._vmo_leak_owner = True
    leaks.record_subprocesses()


def pytest_sessionstart(session):
    """Start (or reuse) the clusters once, in the process that owns the run."""
    config = session.config
    if _is_xdist_worker(config) or not _wants_clusters(config):
        return
    try:
        running, started = cp.up(cp.cluster_names(CLUSTER_COUNT) + [BARE], owned=True)
    except cp.ControlPlaneError as exc:
        pytest.exit("the local control plane could not start: %s" % exc, returncode=3)
    _STARTED.extend(c.name for c in started)
    for c in running:
        leaks.register("the admin key of cluster %s" % c.name, (c.pki / "admin.key").read_text())
        h = TestCluster.from_controlplane(c, ROOT / ".build" / "test-setup")
        h.apply_manifest(KUBEVIRT_CRDS)
        h.install_kubevirt()  # KubeVirt's generated roles of kube.KUBEVIRT_VERSION, CDI's, the KubeVirt CR
        if c.name != BARE:
            h.apply_manifest(REFERENCE_ROLES)
            h.apply_manifest(CONSOLE_ROLE)  # as vmo.rbac.vmo_cluster_roles would at day 0
            h.apply_manifest(GOLDEN_IMAGE_ROLE)


def pytest_sessionfinish(session, exitstatus):
    if _STARTED and not _is_xdist_worker(session.config):
        cp.down(list(_STARTED))
    if getattr(session.config, "_vmo_leak_owner", False):
        _check_leaks(session)


def _check_leaks(session):
    """Every test credential looked for in every output of the run (tests/helpers/leaks.py); a leak
    fails the run, naming the credential's kind and the output, never the value."""
    d = leaks.directory()
    if d is None or not (d / "credentials").is_dir():
        return  # nothing registered: a run without clusters (unit tests)
    found, files, size, atoms = leaks.check([session.config._tmp_path_factory.getbasetemp()], d)
    session.config._vmo_leaks = (found, files, size, atoms)
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_TIMELINE = {"start": time.time(), "tests": {}}  # the xdist controller: when each worker ended each test


def pytest_runtest_logreport(report):
    """On the xdist controller: which worker ran each test and when it ended, for the workers' summary."""
    node = getattr(report, "node", None)
    if node is not None and report.when == "teardown":
        _TIMELINE["tests"][report.nodeid] = (node.gateway.id, time.time() - _TIMELINE["start"])


def _workers_summary(terminalreporter):
    """When each xdist worker ran out of work: a long gap between the first and the last is time two
    cores were not both used (a slow test started late). Kept in .build/test-timeline.json."""
    ends = {}
    for worker, end in _TIMELINE["tests"].values():
        ends[worker] = max(ends.get(worker, 0.0), end)
    if len(ends) < 2:
        return
    terminalreporter.section("xdist workers (tests/conftest.py)")
    last = {w: max(((e, n) for n, (w2, e) in _TIMELINE["tests"].items() if w2 == w)) for w in ends}
    for worker in sorted(ends):
        terminalreporter.write_line("%s: last test ended at %.0f s (%s)" % (worker, ends[worker], last[worker][1]))
    out = Path(__file__).resolve().parents[1] / ".build" / "test-timeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({n: {"worker": w, "ended": round(e, 1)} for n, (w, e) in _TIMELINE["tests"].items()},
                              indent=0, sort_keys=True))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    _workers_summary(terminalreporter)
    result = getattr(config, "_vmo_leaks", None)
    if result is None:
        return
    found, files, size, atoms = result
    terminalreporter.section("no credential in any output (tests/helpers/leaks.py)")
    for what, where in found:
        terminalreporter.write_line("LEAK: %s in %s" % (what, where), red=True)
    terminalreporter.write_line("%d output files (%.1f MB) searched for %d credential atoms: %s" % (
        files, size / 1e6, atoms, "%d leaks" % len(found) if found else "no credential found"))


def _running(name):
    c = cp.Cluster(name)
    if not (c.load() and c.running()):
        pytest.exit("cluster %s is not running; run integration tests through `make test-integration` or "
                    "start the clusters with `make cluster-up`" % name, returncode=3)
    return c


@pytest.fixture(scope="session")
def clusters(workdir):
    """All local clusters (vmo-1..N), each with KubeVirt-like CRDs and aggregated roles, the
    reference spectro-vm-* roles (as the VMO pack would install them) and the console role."""
    handles = [TestCluster.from_controlplane(_running(n), workdir) for n in cp.cluster_names(CLUSTER_COUNT)]
    for h in handles:
        h.wait_for_aggregation()
    return handles


@pytest.fixture(scope="session")
def bare_cluster(workdir):
    """A cluster without the VMO roles (a plain KubeVirt cluster, or day-0 before the pack).

    Only the KubeVirt-like CRDs and aggregated roles are installed. Tests that change what it
    holds share one xdist group ("bare"), so they never run at the same time.
    """
    return TestCluster.from_controlplane(_running(BARE), workdir)


@pytest.fixture(scope="session")
def cluster(clusters):
    """The first local cluster (vmo-1)."""
    return clusters[0]


@pytest.fixture
def uid():
    """A short unique suffix for names a test creates."""
    return uuid.uuid4().hex[:6]


@pytest.fixture
def owner(uid):
    """A unique owner label value, so tests never see each other's bindings."""
    return "t-" + uid


@pytest.fixture
def namespaces(cluster, uid):
    """Factory: make namespaces with a test-unique prefix; they are deleted afterwards."""
    made = []

    def make(*names, labels=None):
        out = []
        for n in names:
            full = "%s-%s" % (n, uid)
            cluster.namespace(full, labels)
            made.append(full)
            out.append(full)
        return out if len(out) != 1 else out[0]

    yield make
    for n in made:
        cluster.delete_namespace(n)


@pytest.fixture
def admin_identity(cluster, uid):
    """A cluster-admin identity of its own, so this test's requests stand apart in the audit log."""
    return cluster.identity("it-admin-" + uid)
