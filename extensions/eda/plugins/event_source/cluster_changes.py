# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vmo.rbac.cluster_changes: an event when something on a cluster changes who may access its VMs.

An ansible-rulebook event source. On each cluster it watches (LIST, then WATCH with bookmarks,
resumed from the last resourceVersion, relisted after 410 Gone, reconnected with backoff):

- namespaces: added, or their labels changed (a namespace_regex or namespace_selector grant may
  now apply to them);
- the ClusterRoleBindings and RoleBindings this owner owns: deleted, or changed by someone other
  than vmo.rbac (drift to repair).

Bursts are coalesced: changes on one cluster become one event once the cluster is quiet for
``debounce`` seconds (at the latest ``max_delay`` after the first change), and at most one event
per ``min_interval`` seconds per cluster. An event names the cluster and why::

    {"vmo_rbac": {"cluster": "prod-east", "reason": "50 namespaces added (web-app-1, ...)",
                  "changes": {"namespace_added": 50}, "samples": {...}, "seq": 3,
                  "coalesced_seconds": 0.9, "source": "vmo.rbac.cluster_changes"},
     "meta": {"hosts": "prod-east"}}

``meta.hosts`` makes ansible-rulebook's run_playbook limit the run to that cluster's inventory
host. The source only reads: it needs list and watch on namespaces, clusterrolebindings and
rolebindings, nothing else (files/eda-watcher-clusterrole.yaml). It never writes.

Its arguments are documented in DOCUMENTATION below, the way the ansible.eda event sources
document theirs (options with types and defaults, EXAMPLES); tests/unit/extensions/eda/test_source_doc.py
holds the documentation to what plugins/plugin_utils/eda_config.py accepts, and docs/eda.md shows it.
"""

import asyncio
import json
import logging
import os
import sys
import threading
import time


DOCUMENTATION = r"""
---
short_description: An event when something on a cluster changes who may access its VMs.
description:
  - An ansible-rulebook event source plugin. On each cluster it watches the namespaces (added, labels
    changed) and the ClusterRoleBindings and RoleBindings of one owner (deleted, or changed by someone
    other than vmo.rbac), with LIST then WATCH from the list's resourceVersion, bookmarks, a relist after
    410 Gone and reconnects with capped exponential backoff and jitter.
  - Changes on one cluster are coalesced into one event, C(vmo_rbac) (C(cluster), C(reason), C(changes),
    C(samples), C(seq), C(coalesced_seconds)) with C(meta.hosts) set to the cluster's inventory host, so
    that C(run_playbook) and C(run_job_template) limit the run to it.
  - The clusters come from the Ansible inventory the enforce playbook runs with (O(inventory), O(group)),
    each reached with its C(vmo_rbac_*) connection variables and watched for its C(vmo_rbac_owner), as the
    role reaches it; or from O(clusters).
  - Connection options given here are defaults for every cluster (a cluster's own value first, then these,
    then the C(K8S_AUTH_*) environment variables). They are the options of the modules (doc fragment
    C(vmo.rbac.connection)), with the same aliases and environment variables.
  - The source only reads, list and watch on namespaces, clusterrolebindings and rolebindings, what
    C(files/eda-watcher-clusterrole.yaml) grants. A wrong argument stops the rulebook at start with a
    message that names it, never a credential's value.
options:
  inventory:
    description:
      - The Ansible inventory the enforce playbook uses (a path, or several separated by commas); its hosts
        in O(group) are the clusters.
      - Default, the environment variable C(ANSIBLE_INVENTORY), which ansible-rulebook also reads as its C(-i).
    type: raw
  group:
    description: Host pattern of the clusters in O(inventory) (the playbooks' C(vmo_rbac_target)).
    type: str
    default: vmo_clusters
  clusters:
    description:
      - Instead of an inventory, the clusters to watch, each a kubeconfig context name (also its name), or a
        mapping with C(name) (the inventory host the enforce run is limited to), C(owner) and any connection
        option below.
    type: list
    elements: raw
  owner:
    description: Owner of the watched bindings where a cluster does not say (its C(vmo_rbac_owner)).
    type: str
    default: vmo-rbac
  kubeconfig:
    description: Path to a kubeconfig, or the kubeconfig as a mapping (E(K8S_AUTH_KUBECONFIG)). Never logged.
    type: raw
  context:
    description: The kubeconfig context (E(K8S_AUTH_CONTEXT)).
    type: str
  host:
    description: URL of the API server (E(K8S_AUTH_HOST)).
    type: str
  api_key:
    description: Bearer token (E(K8S_AUTH_API_KEY)). Never logged.
    type: str
  validate_certs:
    description: Verify the API server's certificate (E(K8S_AUTH_VALIDATE_CERTS), E(K8S_AUTH_VERIFY_SSL)).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description: CA certificate file (E(K8S_AUTH_CA_CERT), E(K8S_AUTH_SSL_CA_CERT)).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description: Client certificate file (E(K8S_AUTH_CLIENT_CERT), E(K8S_AUTH_CERT_FILE)).
    type: path
    aliases: [cert_file]
  client_key:
    description: Key of O(client_cert) (E(K8S_AUTH_CLIENT_KEY), E(K8S_AUTH_KEY_FILE)).
    type: path
    aliases: [key_file]
  proxy:
    description: URL of an HTTP(S) or SOCKS proxy to the API server (E(K8S_AUTH_PROXY)).
    type: str
  no_proxy:
    description: Hosts, domains or CIDRs that bypass O(proxy) (E(K8S_AUTH_NO_PROXY)).
    type: str
  proxy_headers:
    description: Headers sent to O(proxy) (C(proxy_basic_auth), C(basic_auth), C(user_agent)).
    type: dict
  persist_config:
    description: Accepted for kubernetes.core compatibility (E(K8S_AUTH_PERSIST_CONFIG)).
    type: bool
  impersonate_user:
    description: Act as this user (E(K8S_AUTH_IMPERSONATE_USER)).
    type: str
  impersonate_groups:
    description: Act as a member of these groups (E(K8S_AUTH_IMPERSONATE_GROUPS)).
    type: list
    elements: str
  request_timeout:
    description: Seconds to wait for the answer of one request that is not a watch.
    type: float
    default: 30
  api_retries:
    description: Retries after connection errors and 429/5xx answers of a request that is not a watch.
    type: int
    default: 5
  debounce:
    description: Quiet seconds that end a burst of changes on one cluster.
    type: float
    default: 0.2
  max_delay:
    description: Seconds after a burst's first change its event goes out at the latest (at least O(debounce)).
    type: float
    default: 1
  min_interval:
    description:
      - Seconds between two events of one cluster, about one reconcile run, so that changes during a run
        collapse into one follow-up run.
    type: float
    default: 3
  startup_event:
    description: One event per cluster once its watches run, to reconcile what changed while nothing watched.
    type: bool
    default: true
  watch_timeout:
    description: Seconds the API server keeps one WATCH open before the source resumes it.
    type: int
    default: 300
  backoff_initial:
    description: First reconnect delay in seconds (doubling, with jitter; greater than 0).
    type: float
    default: 0.5
  backoff_max:
    description: Longest reconnect delay in seconds (at least O(backoff_initial)).
    type: float
    default: 10
  max_namespaces:
    description: Namespaces the source remembers per cluster; beyond, a change it cannot tell apart counts as one.
    type: int
    default: 50000
  max_bindings:
    description: Owned bindings the source remembers per cluster; beyond, a change it cannot tell apart counts as one.
    type: int
    default: 100000
  page_size:
    description: LIST page size.
    type: int
    default: 500
"""

EXAMPLES = r"""
# The clusters of the inventory the enforce playbook runs with (ANSIBLE_INVENTORY), every default.
- vmo.rbac.cluster_changes: {}

# An inventory by path, another group, a longer quiet time.
- vmo.rbac.cluster_changes:
    inventory: inventory/
    group: vmo_prod
    debounce: 1
    max_delay: 5

# Two clusters without an inventory: a kubeconfig context, and an API server with a token from an
# EDA credential (injected as an extra variable), watched for the owner of another team.
- vmo.rbac.cluster_changes:
    clusters:
      - prod-east
      - name: prod-west
        owner: team-west
        host: https://prod-west.example.com:6443
        ca_cert: /etc/vmo/prod-west-ca.crt
        api_key: "{{ prod_west_token }}"
"""


def _collection_on_path():
    """ansible-rulebook loads this file with runpy.run_path, outside Ansible's collection loader.
    The collection's plugin_utils and module_utils are found as plain packages by putting the
    directory that holds ``ansible_collections`` on sys.path (this file's location says where)."""
    try:
        import ansible_collections.vmo.rbac.plugins.plugin_utils.watch  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))  # abspath, not realpath: keep the installed layout
    root = os.path.normpath(os.path.join(here, "..", "..", "..", ".."))
    top = os.path.normpath(os.path.join(root, "..", "..", ".."))
    if os.path.basename(os.path.dirname(os.path.dirname(root))) != "ansible_collections":
        raise ImportError("vmo.rbac.cluster_changes must run from an installed collection "
                          "(.../ansible_collections/vmo/rbac/extensions/eda/...), not from %s" % here)
    sys.path.append(top)


_collection_on_path()

# pylint: disable=wrong-import-position
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, Cluster, ClusterError  # noqa: E402
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.connection import secret_values  # noqa: E402
# imported now, not when cluster.py first reads a kubeconfig: in ansible-rulebook's process a later import of
# the collection's code from a worker thread fails ("collection metadata was not loaded for collection vmo.rbac")
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import kubeconfig as _kubeconfig  # noqa: E402,F401 pylint: disable=unused-import
from ansible_collections.vmo.rbac.plugins.module_utils._http.transport import BadValue, ScrubLog, Secrets  # noqa: E402
from ansible_collections.vmo.rbac.plugins.module_utils._palette import connection as palette_connection
from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import PaletteError  # noqa: E402
from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_codec import owner_selector  # noqa: E402
from ansible_collections.vmo.rbac.plugins.plugin_utils import eda_config  # noqa: E402
from ansible_collections.vmo.rbac.plugins.plugin_utils.coalesce import Coalescer, event_of  # noqa: E402
from ansible_collections.vmo.rbac.plugins.plugin_utils.watch import (  # noqa: E402
    STARTED, Backoff, BindingTracker, Change, Expired, LineSplitter, LineTooLong, ListWatch, NamespaceTracker,
    StreamError, binding_digest, namespace_digest,
)

SOURCE = "vmo.rbac.cluster_changes"
RESOURCES = ("namespaces", "clusterrolebindings", "rolebindings")
READ_TIMEOUT_MARGIN = 30  # seconds beyond the watch's own timeout before a silent stream counts as dead

logger = logging.getLogger(SOURCE)


# Every record of this source without any credential the source knows (its clusters' options, the tokens
# their kubeconfigs gave): the modules' log filter (message, arguments, a traceback however formatted).
ScrubSecrets = ScrubLog


class ClusterWatch(object):
    """The three LIST+WATCH streams of one cluster, one thread each, and what they remember."""

    def __init__(self, target, settings, report, stop, secrets=None):
        self.target = target
        self.secrets = secrets if secrets is not None else Secrets(secret_values(target.params))
        self.settings = settings
        self._report = report  # report(cluster name, [Change]) from any thread
        self.stop = stop
        self.cluster = None
        self.connect_lock = threading.Lock()  # the streams make the connection if connect() could not
        self.lock = threading.Lock()  # guards the trackers, which two streams share
        self.namespaces = NamespaceTracker(settings.max_namespaces)
        self.trackers = {
            "namespaces": self.namespaces,
            "clusterrolebindings": BindingTracker("ClusterRoleBinding", None, settings.max_bindings),
            "rolebindings": BindingTracker("RoleBinding", self.namespaces, settings.max_bindings),
        }
        selector = owner_selector(target.owner)
        self.streams = {r: ListWatch(r, None if r == "namespaces" else selector, settings.watch_timeout,
                                     settings.page_size) for r in RESOURCES}
        self.started = set()
        self.threads = []
        self._open = {}

    def connect(self):
        """Load the configuration and credentials (may read a kubeconfig: blocking). Requests are
        not retried inside the client: every failure goes through this source's own backoff.

        A cluster of a Palette inventory (palette_kubeconfig) gets its kubeconfig from Palette, once,
        kept in memory (module_utils/_palette/connection.py), as the modules do. A key Palette refuses
        or a cluster it does not have fails the source at start, naming the cluster; Palette out of
        reach (or answering 429/5xx after its retries) is retried by the streams with their backoff."""
        try:
            self._connect()
        except PaletteError as exc:
            if exc.status is not None and exc.status not in (429, 500, 502, 503, 504):
                raise
            logger.warning("cluster %s: %s; retrying with backoff", self.target.name, exc.message)

    def _connect(self):
        with self.connect_lock:
            if self.cluster is not None:
                return self.cluster
            params = dict(self.target.params)
            if params.get("palette_kubeconfig"):
                palette = palette_connection.client(params, "eda")
                doc = palette_connection.kubeconfig(palette, params["palette_cluster_uid"],
                                                    params["palette_kubeconfig"],
                                                    project=params.get("palette_project_uid") or None)
                params = palette_connection.with_kubeconfig(params, doc)
                self.secrets.add(*palette_connection.secret_values(doc))
            self.cluster = Cluster(dict(params, api_retries=0), component="eda", secrets=self.secrets)
            return self.cluster

    def start(self):
        for resource in RESOURCES:
            t = threading.Thread(target=self._run, args=(resource,), daemon=True,
                                 name="%s %s %s" % (SOURCE, self.target.name, resource))
            t.start()
            self.threads.append(t)

    def close(self):
        for resp in list(self._open.values()):
            resp.close()

    def report(self, changes):
        if changes:
            self._report(self.target.name, changes)

    # ------------------------------------------------------------------ one stream

    def _run(self, resource):
        lw = self.streams[resource]
        backoff = Backoff(self.settings.backoff_initial, self.settings.backoff_max)
        # A server that accepts watches and ends them at once, without a word, is not spun on either.
        quick = Backoff(self.settings.backoff_initial, self.settings.backoff_max)
        failing = None
        expired_in_a_row = 0
        while not self.stop.is_set():
            try:
                if self.cluster is None:
                    self._connect()
                if lw.needs_list:
                    self._list(resource, lw)
                before, began = lw.events + lw.bookmarks, time.monotonic()
                # Failures start over from the initial backoff only after a good event: a watch that
                # opens and then fails (410 in the stream, an event of the wrong shape) backs off.
                self._watch(resource, lw, on_progress=backoff.reset)
                if failing:
                    logger.info("cluster %s: watching %s again", self.target.name, resource)
                    failing = None
                expired_in_a_row = 0
                if lw.events + lw.bookmarks == before and time.monotonic() - began < 1.0:
                    self.stop.wait(quick.next_delay())
                else:
                    quick.reset()
            except Expired as exc:
                expired_in_a_row += 1
                logger.info("cluster %s: %s: resourceVersion too old (410 Gone: %s); relisting",
                            self.target.name, resource, exc)
                if expired_in_a_row > 1:
                    self.stop.wait(backoff.next_delay())
            except (ClusterError, PaletteError, StreamError, LineTooLong, ValueError) as exc:
                failing = self._failed(resource, exc, failing, backoff.next_delay())
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # A bug must not end the watch silently: say so (its traceback once, not per retry),
                # back off, go on.
                if (getattr(exc, "message", None) or str(exc)) != failing:
                    logger.exception("cluster %s: %s: unexpected error", self.target.name, resource)
                failing = self._failed(resource, exc, failing, backoff.next_delay())

    def _failed(self, resource, exc, failing, delay):
        message = getattr(exc, "message", None) or str(exc)
        if self.stop.is_set():
            return failing
        if message != failing:
            logger.warning("cluster %s: %s: %s; retrying in %.1fs (backing off up to %gs while it fails)",
                           self.target.name, resource, message, delay, self.settings.backoff_max)
        else:
            logger.debug("cluster %s: %s: still failing; retrying in %.1fs", self.target.name, resource, delay)
        self.stop.wait(delay)
        return message

    def _list(self, resource, lw):
        digest = namespace_digest if resource == "namespaces" else binding_digest
        digests, token, rv = [], None, None
        while True:
            items, rv, token = lw.read_page(self.cluster.list_page(resource, lw.list_query(token)))
            digests.extend(digest(item) for item in items)
            if not token:
                break
        initial = lw.lists == 0
        why = lw.relist_reason
        with self.lock:
            changes = self.trackers[resource].replace(digests, initial=initial)
        lw.listed(rv)
        if initial:
            self._started(resource)
        else:
            logger.info("cluster %s: %s relisted (%s): %d change%s the watch had not delivered",
                        self.target.name, resource, why, len(changes), "" if len(changes) == 1 else "s")
        self.report(changes)

    def _started(self, resource):
        with self.lock:
            self.started.add(resource)
            complete = len(self.started) == len(RESOURCES)
        if complete:
            logger.info("cluster %s: watching namespaces and the bindings of owner %r",
                        self.target.name, self.target.owner)
            if self.settings.startup_event:
                self.report([Change(STARTED, self.target.name)])

    def _watch(self, resource, lw, on_progress):
        try:
            resp = self.cluster.watch(resource, lw.watch_query(),
                                      read_timeout=self.settings.watch_timeout + READ_TIMEOUT_MARGIN)
        except ApiError as exc:
            lw.on_status(exc.status, exc.message)  # raises Expired (410) or StreamError
        self._open[resource] = resp
        tracker = self.trackers[resource]
        progressed = False
        try:
            if self.stop.is_set():
                return
            splitter = LineSplitter()
            for chunk in resp.chunks():
                for line in splitter.feed(chunk):
                    got = lw.on_event(json.loads(line))
                    if got is not None:
                        with self.lock:
                            change = tracker.apply(*got)
                        if change is not None:
                            self.report([change])
                    if not progressed:  # a good event (or bookmark), read and applied
                        progressed = True
                        on_progress()
                if self.stop.is_set():
                    return
        finally:
            self._open.pop(resource, None)
            resp.close()


def same_api_server(watches):
    """Why the source refuses to start when two of its clusters with the same owner reach one API server
    (URL and CA, as the modules' ``api_server`` and the fleet report compare them), or None. Their
    reconcile runs would enforce both declarations on that one cluster, each replacing the other's, and each
    write is a change the other's watch reports: runs without end. (Two Palette clusters whose kubeconfigs
    name one API server; two contexts of one cluster.) Different owners coexist: a warning. A cluster not
    connected yet (Palette out of reach at start) is not compared."""
    groups = {}
    for w in watches:
        if w.cluster is not None:
            groups.setdefault(w.cluster.api_server["id"], []).append(w)
    for group in groups.values():
        if len(group) < 2:
            continue
        where = "%s (CA %s)" % (group[0].cluster.api_server["url"], group[0].cluster.api_server["ca"])
        owners = {}
        for w in group:
            owners.setdefault(w.target.owner, []).append(w.target.name)
        for owner, names in owners.items():
            if len(names) > 1:
                return ("clusters %s reach the same API server, %s, with the same owner %r: their reconcile runs "
                        "would enforce each one's declaration on that one cluster, replacing the other's, without end. "
                        "Give each its own connection (a context, a kubeconfig, host and credential, or its own "
                        "Palette cluster), or watch one of them" % (", ".join(names), where, owner))
        logger.warning("clusters %s reach the same API server, %s, with other owners (%s): their grants coexist there",
                       ", ".join(w.target.name for w in group), where,
                       ", ".join("%s: %s" % (w.target.name, w.target.owner) for w in group))
    return None


async def main(queue, args):
    """ansible-rulebook's entry point: watch until cancelled, put one event per coalesced batch."""
    args = {k: v for k, v in (args or {}).items() if k != "eda_feedback_queue"}
    secrets = Secrets()
    scrubber = ScrubSecrets(secrets)
    logger.addFilter(scrubber)
    try:
        await _main(queue, args, secrets)
    finally:
        logger.removeFilter(scrubber)


async def _main(queue, args, secrets):
    try:
        settings, targets = await asyncio.to_thread(eda_config.resolve, args)
    except eda_config.ConfigError as exc:
        raise ValueError("%s: %s" % (SOURCE, exc)) from None
    for t in targets:
        secrets.add(*secret_values(t.params))
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    stop = threading.Event()
    coalescer = Coalescer(settings.debounce, settings.max_delay, settings.min_interval)
    lock = threading.Lock()

    def report(cluster, changes):
        with lock:
            added = coalescer.add(cluster, changes, time.monotonic())
        if added and not stop.is_set():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop closed: ansible-rulebook is shutting down
                pass

    watches = [ClusterWatch(t, settings, report, stop, secrets) for t in targets]
    for w in watches:
        try:
            await asyncio.to_thread(w.connect)
        except (ClusterError, PaletteError, BadValue) as exc:
            raise ValueError(secrets.scrub("%s: cluster %s: %s" % (SOURCE, w.target.name, exc.message))) from None
    shared = same_api_server(watches)
    if shared:
        raise ValueError(secrets.scrub("%s: %s" % (SOURCE, shared)))
    logger.info("%s: watching %d cluster%s: %s", SOURCE, len(watches), "" if len(watches) == 1 else "s",
                ", ".join("%s (owner %s)" % (w.target.name, w.target.owner) for w in watches))
    for w in watches:
        w.start()
    try:
        while True:
            wake.clear()
            with lock:
                batches = coalescer.due(time.monotonic())
                next_due = coalescer.next_due()
            for batch in batches:
                event = event_of(batch, SOURCE)
                logger.info("cluster %s: reconcile #%d: %s", batch.cluster, batch.seq, event["vmo_rbac"]["reason"])
                await queue.put(event)
            timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
            try:
                await asyncio.wait_for(wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass
    finally:
        stop.set()
        for w in watches:
            w.close()


if __name__ == "__main__":
    # Try it without ansible-rulebook: print the events for the clusters of ANSIBLE_INVENTORY.
    class _Print(object):
        async def put(self, event):
            print(json.dumps(event), flush=True)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_Print(), {}))
