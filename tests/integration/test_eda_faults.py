"""The event source under odd answers (issue 18, item 10): the watch stream of the real API server
replaced, by the fault proxy (tests/helpers/faultproxy.py) sitting between the source and vmo-1, with
what a broken server or a middlebox may send: a 410 inside every watch stream, an event whose object's
metadata is a string. Its LISTs are the real API server's. The source runs as ansible-rulebook runs it
(its ``main(queue, args)``, loaded from the installed collection with runpy), in this process so that
six seconds are six seconds of the source and not of a JVM's start-up.

The source used to reset its backoff whenever a watch opened, before any event: a 410 in the stream
gave a LIST and a WATCH every 0.25 to 0.5 s per resource (46 LISTs in 6 s), and an object of the wrong
shape a traceback per retry (48 in 6 s). The backoff now starts over only after a good event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import runpy

import pytest
from kubernetes.client.rest import ApiException

from tests.helpers import leaks
from tests.helpers.ansible import COLLECTIONS
from tests.helpers.faultproxy import Fault, FaultProxy, Rule
from tests.integration.test_palette import secrets_of

pytestmark = pytest.mark.xdist_group("eda-faults")

SOURCE_FILE = COLLECTIONS / "ansible_collections" / "vmo" / "rbac" / "extensions" / "eda" / "plugins" / \
    "event_source" / "cluster_changes.py"
WATCHER_ROLE = COLLECTIONS / "ansible_collections" / "vmo" / "rbac" / "files" / "eda-watcher-clusterrole.yaml"
RESOURCES = ("namespaces", "clusterrolebindings", "rolebindings")
SECONDS = 6.0


def run_source(args, seconds=SECONDS):
    """The source's main(queue, args) for ``seconds`` (or until it raises): (events, log text, exception)."""
    # the file itself, not its path under the collections directory: where Ansible's collection finder is installed
    # (as in every Ansible process) it answers for that path, and runpy looks for a __main__ module in it
    source = runpy.run_path(str(SOURCE_FILE.resolve()))
    logger = logging.getLogger("vmo.rbac.cluster_changes")
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.DEBUG
    queue = asyncio.Queue()
    error = None

    async def go():
        try:
            await asyncio.wait_for(source["main"](queue, args), seconds)
        except asyncio.TimeoutError:
            pass

    try:
        asyncio.run(go())
    except Exception as exc:  # noqa: BLE001 - what ansible-rulebook would report
        error = exc
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    leaks.record("eda-source-in-process", *lines)
    return events, "\n".join(lines), error


@pytest.fixture
def watcher(cluster, namespaces, uid):
    """A ServiceAccount token bound to vmo-rbac-eda-watcher (the fault proxy forwards bearer tokens only)."""
    ns = namespaces("eda-faults")
    sa = cluster.service_account(ns, "watcher")
    cluster.apply_manifest(WATCHER_ROLE)
    name = "eda-faults-" + uid
    cluster.rbac().create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "vmo-rbac-eda-watcher"},
        "subjects": [{"kind": "ServiceAccount", "name": "watcher", "namespace": ns}]})
    yield sa
    try:
        cluster.rbac().delete_cluster_role_binding(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def proxy(cluster, workdir):
    with FaultProxy(cluster.server, cluster.ca, cluster.pki, workdir) as p:
        yield p


def per_resource(attempts, watch):
    """{resource: how many LISTs (watch=False) or WATCHes (watch=True) the source sent}."""
    out = dict.fromkeys(RESOURCES, 0)
    for e in attempts:
        if ("watch=1" in e["path"]) != watch:
            continue
        resource = e["path"].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if resource in out:
            out[resource] += 1
    return out


def args_for(proxy, cluster, sa, owner):
    return {"clusters": [{"name": "east", "owner": owner, "host": proxy.url, "ca_cert": str(cluster.ca),
                          "api_key": sa.params["api_key"]}]}


# Within 6 s the backoff (0.5 s initial, doubling, jitter up to half) allows at most: the first LIST, an
# immediate relist after the first 410, then one after each wait (at least 0.25 + 0.5 + 1 + 2 s before
# the sixth). Reset by every opened watch, it allowed one every 0.25 to 0.5 s (12 to 24).
MOST = 6


def started(events):
    """The watch-started events of a source, sorted. vmo-1 is shared: what other tests change there meanwhile
    (namespaces added, bindings) is events of the source too, not what these tests are about (one failed so,
    with 8 namespaces another test added)."""
    return sorted(e["vmo_rbac"]["reason"] for e in events if " watch started (" in e["vmo_rbac"]["reason"])


def test_a_410_inside_every_watch_stream_backs_off_instead_of_relisting_in_a_loop(cluster, watcher, proxy, owner):
    gone = {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
                                        "message": "too old resource version: 1 (2)", "code": 410}}
    proxy.schedule(Rule(Fault.answer(200, (json.dumps(gone) + "\n").encode()), methods=("GET",), path=r"watch=1",
                        times=None))
    events, log, error = run_source(args_for(proxy, cluster, watcher, owner))
    assert error is None, error
    lists = per_resource(proxy.attempts("vmo.rbac/"), watch=False)
    print("\nLISTs in %gs with a 410 in every watch stream: %s" % (SECONDS, lists))
    assert all(1 <= n <= MOST for n in lists.values()), (lists, log[-3000:])
    assert "resourceVersion too old (410 Gone: too old resource version: 1 (2)); relisting" in log
    assert started(events) == ["1 watch started (east)"], events  # the LISTs worked: one start


def test_an_object_of_the_wrong_shape_is_a_stream_error_said_once_without_a_traceback(cluster, watcher, proxy, owner):
    bad = {"type": "ADDED", "object": {"kind": "Namespace", "apiVersion": "v1", "metadata": "oops"}}
    proxy.schedule(Rule(Fault.answer(200, (json.dumps(bad) + "\n").encode()), methods=("GET",), path=r"watch=1",
                        times=None))
    _events, log, error = run_source(args_for(proxy, cluster, watcher, owner))
    assert error is None, error
    watches = per_resource(proxy.attempts("vmo.rbac/"), watch=True)
    print("\nWATCHes in %gs with an object whose metadata is a string: %s" % (SECONDS, watches))
    assert "Traceback" not in log and "unexpected error" not in log, log[-3000:]
    for resource in RESOURCES:
        said = [line for line in log.splitlines() if line.startswith("WARNING cluster east: %s: " % resource)]
        assert said == ["WARNING cluster east: %s: a ADDED watch event of %s has metadata that is a string, not a "
                        "mapping; retrying in %s" % (resource, resource, said[0].rsplit("retrying in ", 1)[-1])], log
        assert 1 <= watches[resource] <= MOST, (watches, log[-3000:])


# ------------------------------------------------------- two clusters of the source, one API server (attack pass)


def test_two_palette_clusters_whose_kubeconfigs_reach_one_api_server_are_refused_at_start(cluster, palette_standin, uid,
                                                                                           owner):
    """Two Palette clusters (a cluster imported twice, a record left behind by a re-registration) whose
    kubeconfigs, downloaded at start, name one API server, vmo-1, with the same owner: their reconcile runs
    would enforce each one's declaration on that cluster, replacing the other's, and each write is a change
    the other's watch reports. The modules' runs are caught by the fleet report (same_api_server); reconcile
    mode has no report, and the source used to watch both and start both runs. It refuses at start, naming
    both and the API server, never a credential; with another owner for one of them it starts, with a
    warning."""
    s = palette_standin
    project = s.add_project("eda-" + uid)
    first, second = (s.add_cluster(project, "%s-%s" % (n, uid), backing=cluster, base64_kubeconfig=(n == "west"))
                     for n in ("east", "west"))

    def target(name, record, who):
        return {"name": name, "owner": who, "palette_kubeconfig": "admin", "palette_host": s.url,
                "palette_api_key": s.api_key, "palette_ca_cert": s.ca_cert, "palette_cluster_uid": record.uid,
                "palette_project_uid": project}

    events, log, error = run_source({"clusters": [target("east", first, owner), target("west", second, owner)]},
                                    seconds=20)
    assert error is not None, (events, log[-3000:])
    message = str(error)
    assert message.startswith("vmo.rbac.cluster_changes: clusters east, west reach the same API server, %s (CA sha256:"
                              % cluster.server), message
    assert "with the same owner %r" % owner in message and events == []
    assert [x[:6] for x in secrets_of(s) if x in message + log] == []

    events, log, error = run_source({"clusters": [target("east", first, owner), target("west", second, owner + "-w")]})
    assert error is None, error
    assert "clusters east, west reach the same API server, %s" % cluster.server in log, log[-3000:]
    assert started(events) == ["1 watch started (east)", "1 watch started (west)"], events


def test_the_sources_kubeconfig_downloads_take_their_turns_in_its_pace(cluster, palette_standin, uid, owner):
    """The source downloads each Palette cluster's kubeconfig once, at start, one cluster after the other (its
    requests to one Palette host share one pace in its process, whatever client made them). With
    palette_rate_limit 2 the downloads of 4 clusters are spread over at least 3 turns of 0.5 s, against a
    limiter of 3 per second with a burst of 1: no 429. (It is a process of its own: it cannot share the pace of
    the runs it starts, docs/eda.md.)"""
    s = palette_standin
    project = s.add_project("eda-rate-" + uid)
    records = [s.add_cluster(project, "r%d-%s" % (i, uid), backing=cluster) for i in range(4)]
    clusters = [{"name": "r%d" % i, "owner": "%s-%d" % (owner, i), "palette_kubeconfig": "admin",
                 "palette_cluster_uid": r.uid, "palette_project_uid": project} for i, r in enumerate(records)]
    s.rate_limit(3.0, 1.0)
    mark = s.mark()
    events, log, error = run_source({"clusters": clusters, "palette_host": s.url, "palette_api_key": s.api_key,
                                     "palette_ca_cert": s.ca_cert, "palette_rate_limit": 2, "api_retries": 0},
                                    seconds=8)
    assert error is None, (error, log[-3000:])
    calls = [c for c in s.since(mark) if c["op"] == "v1SpectroClustersUidAdminKubeConfig" or c["status"] == 429]
    assert [c["status"] for c in calls] == [200] * 4, (calls, log[-3000:])
    at = sorted(c["at"] for c in calls)
    assert min(b - a for a, b in zip(at, at[1:])) >= 0.5 - 0.25, at  # turns 0.5 s apart, arrivals jitter
    assert at[-1] - at[0] >= 3 * 0.5 - 0.25, at
    # vmo-1 is shared: what other tests change there meanwhile (namespaces added) is events too, not this test's
    assert started(events) == ["1 watch started (r%d)" % i for i in range(4)], events
