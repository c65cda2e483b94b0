"""Event-driven reconcile (issue 14): ansible-rulebook runs the collection's rulebook
vmo.rbac.reconcile for real, with the event source vmo.rbac.cluster_changes watching real API
servers and the enforce playbook limited to the cluster that changed.

Everything runs on two PRIVATE clusters (``eda-a``/``eda-b``, suffixed per xdist worker) that this
module starts and stops: the source watches every namespace of a cluster, so namespaces made by
tests running in parallel on vmo-1..3 would start runs here, and one API server is restarted.
The inventory names them ``east`` and ``west``; the rulebook reads the clusters and their
connections from that inventory (ANSIBLE_INVENTORY), as docs/eda.md tells users to run it.

The measurements live in tests/helpers/eda.py, shared with `make bench BENCH_ARGS=--only=eda`
(20 trials, the figures of docs/eda.md); here VMO_EDA_TRIALS trials (default 2) keep make test
short, and the end-to-end limits leave headroom for a loaded shared machine (see SOURCE_LIMIT).
"""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest

from tests.controlplane import controlplane as cp
from tests.helpers import eda, leaks
from tests.helpers.ansible import run_playbook
from tests.helpers.eda import MIN_INTERVAL, Rulebook, bind, kubectl, time_until

pytestmark = pytest.mark.xdist_group("eda")

TRIALS = int(os.environ.get("VMO_EDA_TRIALS", "2"))
# Seconds. End to end, a reconcile is one ansible-playbook run, whose start-up is CPU-bound: on this
# shared 2-core machine its wall time follows the load (about 3 s quiet, 20 s at a load average
# of 17). The end-to-end limits are therefore far from the 5 s target and far below the hourly
# schedule; `make bench BENCH_ARGS=--only=eda` measures the target with the load recorded. The
# source's own share (change -> event) does not depend on the load and is held tight.
SOURCE_LIMIT = 2.0
MEDIAN_LIMIT = float(os.environ.get("VMO_EDA_MEDIAN_LIMIT", "30"))
MAX_LIMIT = 60.0
IDLE_CPU_LIMIT = 0.05  # of one core: the whole ansible-rulebook process (its JVM included) while idle


def _names():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    suffix = "" if not worker else "-" + worker
    return ["eda-a" + suffix, "eda-b" + suffix]


@pytest.fixture(scope="module")
def fleet(workdir, request):
    problem = eda.java_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    names = _names()
    request.addfinalizer(lambda: cp.down(names))
    try:
        return eda.start_fleet(names, workdir)
    except cp.ControlPlaneError as exc:
        pytest.fail("the private clusters %s could not start: %s" % (names, exc))


@pytest.fixture(scope="module")
def reconciler(fleet, workdir):
    rb = eda.start_reconciler(fleet, workdir)
    yield rb
    rb.stop()


def test_reconcile_mode_is_the_enforce_step_alone(fleet, tmp_path):
    """vmo.rbac.enforce with vmo_rbac_mode=reconcile (what the rulebook runs): the role's argument
    validation and one vmo_role_binding call, nothing else (no preflight, validation, report),
    on the --limit host only, in Ansible's worker process (no module process leaves an AnsiballZ
    file behind); a failing enforce step fails the host with the module's message."""
    east, west = fleet.clusters["east"].audit(), fleet.clusters["west"].audit()
    reports, remote = tmp_path / "reports", tmp_path / "remote"
    remote.mkdir()
    run = run_playbook("vmo.rbac.enforce", inventory=fleet.inventory, limit="east",
                       extra_vars={"vmo_rbac_mode": "reconcile", "vmo_rbac_report_dir": str(reports)},
                       env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote)})
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert not [f for _d, _s, files in os.walk(remote) for f in files if f.startswith("AnsiballZ_vmo_")]
    tasks = [r["task"].split(" : ", 1)[-1] for r in run.results]  # without the "vmo.rbac.vmo_rbac : " prefix
    assert tasks[-1] == "Reconcile | Make the cluster hold exactly the declared bindings", tasks
    assert not [t for t in tasks if t.split(" | ")[0] in ("Preflight", "Enforce", "Validate", "Report")], tasks
    assert run.last["changed"] and run.last["summary"]["created"] == 1  # the cluster-wide grant
    agents = {e.get("userAgent", "").split(" ", 1)[-1] for e in east.events(user=fleet.bots["east"].user)}
    assert agents == {"(vmo_role_binding)"}, agents  # one module, no vmo_rbac_validate
    assert west.events(user=fleet.bots["west"].user) == [] and not reports.exists()

    writes = fleet.clusters["east"].audit()
    failed = run_playbook("vmo.rbac.enforce", inventory=fleet.inventory, limit="east", extra_vars={
        "vmo_rbac_mode": "reconcile", "vmo_rbac_extra_bindings": [{"cluster_role": "no-such-role", "groups": ["g"]}]})
    assert failed.rc != 0 and "missing role" in failed.last["msg"] and "no-such-role" in failed.last["msg"], \
        failed.stdout[-3000:]
    assert writes.writes(user=fleet.bots["east"].user) == []


def test_a_new_namespace_gets_access_within_seconds_on_that_cluster_only(fleet, reconciler):
    """`kubectl create namespace web-app-N` -> the declared viewer may list VMs there, per a
    SubjectAccessReview, seconds later; the run is limited to the cluster that changed."""
    got = eda.measure_new_namespaces(fleet, reconciler, TRIALS, timeout=MAX_LIMIT)
    print("\nnew namespace -> access: %s" % got)
    assert got["where_the_time_goes"]["watch_and_coalescing"] < SOURCE_LIMIT, got
    assert got["latency"]["median"] < MEDIAN_LIMIT, got
    assert got["recaps"] and all(hosts == ["east"] for hosts in got["recaps"]), got["recaps"]
    assert got["runs_on_west"] == 0  # nothing ran on the other cluster


def test_an_owned_binding_deleted_by_hand_is_restored_within_seconds(fleet, reconciler):
    got = eda.measure_restores(fleet, reconciler, TRIALS, timeout=MAX_LIMIT)
    print("\nowned binding deleted -> restored: %s" % got)
    assert got["latency"]["median"] < MEDIAN_LIMIT, got
    # one event per deletion, saying so; the run's own re-creation is not an event
    assert len(got["reasons"]) == TRIALS, got["reasons"]
    assert all("1 owned binding deleted (RoleBinding %s/" % got["namespace"] in r for r in got["reasons"])

    # Changed by hand (kubectl patch): repaired, and the repair (an update by vmo.rbac, as its
    # managedFields entry says) is not taken for another change: one event, one run.
    ns = got["namespace"]
    (name,) = [k[2] for k in fleet.clusters["east"].bindings(fleet.owner) if k[1] == ns]
    events_before = len(reconciler.events())
    kubectl(fleet.admins["east"], "patch", "rolebinding", name, "--namespace", ns, "--type=json",
            "-p", '[{"op": "replace", "path": "/subjects/0/name", "value": "intruder"}]')
    assert time_until(lambda: not fleet.can_view("east", ns), 10) is not None  # the patch took effect
    assert time_until(lambda: fleet.can_view("east", ns), MAX_LIMIT) is not None, reconciler.output()[-5000:]
    reconciler.wait_idle()
    time.sleep(MIN_INTERVAL + 1)
    reconciler.wait_idle()
    reasons = [r for _c, _s, r in reconciler.events()[events_before:]]
    assert reasons == ["1 owned binding changed (RoleBinding %s/%s)" % (ns, name)], reasons


def test_a_burst_of_50_namespaces_leads_to_at_most_3_runs_and_all_get_access(fleet, reconciler):
    got = eda.measure_burst(fleet, reconciler, 50)
    print("\nburst: %s" % got)
    assert 1 <= got["enforce_runs"] <= 3, got
    assert len(got["events"]) == got["enforce_runs"]
    added = [re.match(r"(\d+) namespaces? added", r) for r in got["events"]]
    assert all(added) and sum(int(m.group(1)) for m in added) == 50, got["events"]  # each namespace in an event


def test_the_watch_resumes_after_an_apiserver_restart_and_nothing_spins(fleet, reconciler):
    """west's API server stops for 6 s and comes back: the source backs off (CPU measured during
    the outage), resumes its watches, and a namespace created after the restart gets access. The
    CPU of the idle source is measured too (the whole ansible-rulebook process, JVM included)."""
    got = eda.measure_restart(fleet, reconciler, idle_seconds=6, outage_seconds=6)
    print("\nAPI server restart: %s" % got)
    assert got["idle_cpu_fraction"] < IDLE_CPU_LIMIT, got
    assert got["outage_cpu_fraction"] < 2 * IDLE_CPU_LIMIT, got
    assert got["source_lists_after_restart"] <= 3, got  # at most one relist per watched resource
    assert got["access_after_restart_seconds"] < MAX_LIMIT, got


def test_the_source_needs_only_list_and_watch_and_never_shows_a_credential(fleet, reconciler, workdir):
    """The source as an EDA controller activation would configure it: clusters from the rulebook
    variable vmo_rbac_eda_clusters, each with an identity of its own. east: an identity bound to
    vmo-rbac-eda-watcher only (list and watch): enough, and every request it made was a 2xx list
    or watch. west: a wrong token: the source says so, never shows the token, and east keeps working."""
    reconciler.stop()  # this test runs its own rulebook; two would both reconcile east
    east, west = fleet.clusters["east"], fleet.clusters["west"]
    watcher = east.identity("eda-watcher-" + fleet.uid, groups=["watchers-" + fleet.uid])
    bind(east, "watchers-" + fleet.uid, "vmo-rbac-eda-watcher", "watchers-" + fleet.uid)
    token = "bogus-%s-token" % uuid.uuid4().hex
    leaks.register("a wrong token given to the event source", token)
    audit = east.audit()
    rb = Rulebook(workdir / ("rulebook-watcher-" + fleet.uid), fleet.inventory, variables={"vmo_rbac_eda_clusters": [
        {"name": "east", "owner": fleet.owner, **watcher.params},
        {"name": "west", "owner": fleet.owner, "host": west.server, "ca_cert": str(west.ca), "api_key": token}]}).start()
    try:
        rb.wait_for(lambda: any(c == "east" and "watch started" in r for c, _s, r in rb.events()),
                    eda.START_TIMEOUT, "the source to watch east")
        assert "cluster east: watching namespaces and the bindings of owner %r" % fleet.owner in rb.output()
        rb.wait_for(lambda: "cluster west: namespaces: the API server at %s rejected the credentials (401 "
                    "Unauthorized; bearer token)" % west.server in rb.output(), 60, "the 401 of west to be reported")
        rb.wait_idle()
        ns = "web-app-watcher-" + fleet.uid
        kubectl(fleet.admins["east"], "create", "namespace", ns)
        assert time_until(lambda: fleet.can_view("east", ns), 60) is not None, rb.output()[-5000:]
        rb.wait_idle()
        time.sleep(0.5)
    finally:
        rb.stop()
    assert token not in rb.output()
    assert rb.recaps() and all(hosts == ["east"] for hosts in rb.recaps()), rb.recaps()
    requests = audit.events(user=watcher.user, stage="ResponseStarted") + audit.events(user=watcher.user, settle=0)
    made = {(e["verb"], (e.get("objectRef") or {}).get("resource"), e["responseStatus"]["code"]) for e in requests}
    allowed = {(v, r) for v in ("list", "watch") for r in ("namespaces", "clusterrolebindings", "rolebindings")}
    assert made and {(v, r) for v, r, _c in made} <= allowed, made
    assert all(200 <= code < 300 for _v, _r, code in made), made
