"""Truth (issue 12): vmo_rbac_access_info against the API server, and against kubectl-who-can.

Hypothesis draws RBAC layouts (tests/helpers/rbac_layouts.py: random ClusterRoles and Roles with
wildcards, subresources, resourceNames and aggregation labels; bindings to Users, Groups and
ServiceAccounts across namespaces, the everyone groups included). Each layout is created on a
private cluster, the controller manager's aggregation is waited for, and then:

1. Differential. For every subject named in any binding of the cluster (the layout's and the
   cluster's own), every capability and every place (every namespace together, and each of the
   layout's namespaces), the module's answer (the subject or an everyone group it is in is listed
   there) must equal what the API server answers to SubjectAccessReviews for every check of the
   capability. 0 disagreements. Only the layout's subjects and the shipped capabilities count
   towards the 3,000 questions. The cluster's own subjects (controllers, system:masters) are asked
   on the first layout (on every layout with VMO_WHOCAN_EVERY_SUBJECT=1, as the soak run does).

2. Peer. For the same capabilities and places, kubectl-who-can (built from its Go module,
   tests/peers) is asked every check; its subject set for a capability is the intersection over
   the checks. Every difference with the module's subject set must fall into a documented class
   (docs/validate.md, "Compared with kubectl-who-can"), checked here, none unexplained.

A fixed layout with one case of each kind of peer difference comes first. VMO_WHOCAN_LAYOUTS
(default 4) sets the number of layouts; `make test-whocan-soak` runs 40, asking
every subject on each.
The counts are printed and written to reports/whocan-differential.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import urllib3
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kubernetes.client.rest import ApiException

from ansible_collections.vmo.rbac.plugins.module_utils import access, holders
from tests.helpers import rbac_layouts as lay
from tests.helpers.ansible import ok, run_module
from tests.helpers.private_clusters import private_cluster

pytestmark = pytest.mark.xdist_group("whocan")

ROOT = Path(__file__).resolve().parents[2]
PEERS_BIN = Path(os.environ.get("VMO_PEERS_BIN") or ROOT / ".tools-peers" / "bin")
WHO_CAN = PEERS_BIN / "kubectl-who-can"
LAYOUTS = int(os.environ.get("VMO_WHOCAN_LAYOUTS", "4"))
MIN_QUESTIONS = int(os.environ.get("VMO_WHOCAN_MIN_QUESTIONS", "3000"))
EVERY_SUBJECT_EVERY_LAYOUT = os.environ.get("VMO_WHOCAN_EVERY_SUBJECT") == "1"
REPORT = ROOT / "reports" / "whocan-differential.json"
# The shipped matrix, plus a capability of the test's own on a subresource that discovery knows
# (pods/log), so that kubectl-who-can can be asked about a subresource at all (see below).
EXTRA = {"debug.logs": {"description": "Read pod logs", "checks": [
    {"verb": "get", "group": "", "resource": "pods", "subresource": "log"}]}}
MATRIX = access.build_matrix("vmo", EXTRA, require_expect=False)
SHIPPED = set(access.build_matrix("vmo")["capabilities"])
CAPS = holders.matrix_checks(MATRIX)
PROBE = "system:vmo-rbac:group-probe"
RBAC = "rbac.authorization.k8s.io"


# ------------------------------------------------------------------------- the cluster


class Reviewer:
    """SubjectAccessReviews with the cluster's admin certificate over one urllib3 pool (the test's
    own transport, independent of the collection's cluster.py)."""

    def __init__(self, cluster):
        self.url = cluster.server + "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        self.pool = urllib3.PoolManager(maxsize=16, cert_reqs="CERT_REQUIRED", ca_certs=str(cluster.ca),
                                        cert_file=str(cluster.pki / "admin.crt"),
                                        key_file=str(cluster.pki / "admin.key"))
        self.sent = 0

    def ask(self, keys):
        """{key: allowed} for keys (user, groups, verb, group, resource, subresource, namespace, name)."""
        def one(k):
            user, groups, verb, group, resource, sub, ns, name = k
            attrs = {"verb": verb, "group": group, "resource": resource, "subresource": sub, "namespace": ns,
                     "name": name}
            body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                    "spec": {"user": user, "groups": list(groups), "resourceAttributes": attrs}}
            r = self.pool.request("POST", self.url, body=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"})
            assert r.status == 201, r.data[:300]
            return bool(json.loads(r.data)["status"].get("allowed"))

        keys = sorted(set(keys))
        self.sent += len(keys)
        with ThreadPoolExecutor(max_workers=16) as pool:
            return dict(zip(keys, pool.map(one, keys)))


def _canon(rule):
    return json.dumps({k: sorted(v) for k, v in rule.items() if v}, sort_keys=True)


def wait_for_aggregation(cluster, timeout=60.0):
    """Until every aggregated ClusterRole holds exactly the rules of the roles it selects."""
    rbac = cluster.rbac()
    deadline = time.monotonic() + timeout
    while True:
        live = [cluster.admin.sanitize_for_serialization(r) for r in rbac.list_cluster_role().items]
        want = {r["metadata"]["name"]: r for r in lay.aggregate(live)}
        stale = [r["metadata"]["name"] for r in live if r.get("aggregationRule")
                 and {_canon(x) for x in r.get("rules") or []} != {_canon(x) for x in want[r["metadata"]["name"]].get("rules") or []}]
        if not stale:
            return
        assert time.monotonic() < deadline, "aggregation did not settle: %s" % stale
        time.sleep(0.3)


def apply(cluster, layout):
    rbac = cluster.rbac()
    for r in layout["cluster_roles"]:
        rbac.create_cluster_role(r)
    for r in layout["roles"]:
        rbac.create_namespaced_role(r["metadata"]["namespace"], r)
    for b in layout["cluster_role_bindings"]:
        rbac.create_cluster_role_binding(b)
    for b in layout["role_bindings"]:
        rbac.create_namespaced_role_binding(b["metadata"]["namespace"], b)


def remove(cluster, layout):
    rbac = cluster.rbac()
    calls = [(rbac.delete_namespaced_role_binding, b["metadata"]["name"], b["metadata"]["namespace"])
             for b in layout["role_bindings"]]
    calls += [(rbac.delete_cluster_role_binding, b["metadata"]["name"], None) for b in layout["cluster_role_bindings"]]
    calls += [(rbac.delete_namespaced_role, r["metadata"]["name"], r["metadata"]["namespace"]) for r in layout["roles"]]
    calls += [(rbac.delete_cluster_role, r["metadata"]["name"], None) for r in layout["cluster_roles"]]
    for fn, name, ns in calls:
        try:
            fn(name, ns) if ns else fn(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


def bound_subjects(cluster):
    """Every subject named in any binding of the cluster, as RBAC reads it ({kind, name, namespace})."""
    rbac = cluster.rbac()
    out = {}
    items = [(b, "") for b in rbac.list_cluster_role_binding().items]
    items += [(b, b.metadata.namespace) for b in rbac.list_role_binding_for_all_namespaces().items]
    for b, bns in items:
        for s in b.subjects or []:
            if s.kind == "ServiceAccount":
                ns = s.namespace or bns
                if not ns:
                    continue
                subj = {"kind": s.kind, "name": s.name, "namespace": ns}
            else:
                subj = {"kind": s.kind, "name": s.name}
            out[lay.label(subj)] = subj
    return out


# ------------------------------------------------------------------------- the peer


def who_can(kubeconfig, cache, check, namespace):
    """kubectl-who-can's subjects for one check at one place: a set of labels, or None when it
    cannot ask (its answer on stderr is kept in the reason)."""
    resource = check.resource + ("." + check.group if check.group else "")
    cmd = [str(WHO_CAN), check.verb, resource, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache),
           "-o", "json"]
    if check.subresource:
        cmd += ["--subresource", check.subresource]
    cmd += ["-n", namespace] if namespace else ["-A"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "rc=%d" % proc.returncode
    out = proc.stdout
    data = json.loads(out[out.index("{"):]) if "{" in out else {}
    subjects = set()
    for kind in ("roleBindings", "clusterRoleBindings"):
        for b in data.get(kind) or []:
            for s in b.get("subjects") or []:
                s = dict(s)
                if s["kind"] == "ServiceAccount" and not s.get("namespace"):
                    s["namespace"] = namespace  # a RoleBinding's own namespace (-n mode lists that one only)
                subjects.add(lay.label(s))
    return subjects, ""


def live_lists(cluster):
    """The cluster's RBAC objects as dicts, for the brute-force authorizer."""
    rbac = cluster.rbac()
    dump = cluster.admin.sanitize_for_serialization
    return {"cluster_roles": [dump(r) for r in rbac.list_cluster_role().items],
            "roles": [dump(r) for r in rbac.list_role_for_all_namespaces().items],
            "cluster_role_bindings": [dump(b) for b in rbac.list_cluster_role_binding().items],
            "role_bindings": [dump(b) for b in rbac.list_role_binding_for_all_namespaces().items]}


def own_identity(subject):
    """The identity of a subject without the groups every member carries: what its own bindings grant."""
    if subject["kind"] == "User":
        return subject["name"], ()
    if subject["kind"] == "ServiceAccount":
        return "system:serviceaccount:%s:%s" % (subject["namespace"], subject["name"]), ()
    return PROBE, (subject["name"],)


# ------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def diff_cluster(request, workdir):
    return private_cluster(request, workdir, "whocan")


def test_module_equals_the_api_server_and_every_peer_difference_is_explained(diff_cluster, uid, tmp_path):
    if not WHO_CAN.exists():
        pytest.fail("kubectl-who-can is missing at %s: build it with `make peers` (tests/peers/build.sh, Go "
                    "module proxy); `make test-integration` does" % WHO_CAN)
    cluster = diff_cluster
    namespaces = ["df%d-%s" % (i, uid) for i in range(3)]
    for ns in namespaces:
        cluster.namespace(ns)
    me = cluster.identity("differential-" + uid)
    reviewer = Reviewer(cluster)
    totals = Counter()
    differences = Counter()
    unanswerable = Counter()
    examples = {}
    unresolvable = {}
    layouts_seen = []
    counter = iter(range(10 ** 6))

    @settings(max_examples=LAYOUTS, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_layout(data):
        n = next(counter)
        run_layout(data.draw(lay.layouts("d%d-%s" % (n, uid), namespaces)), "random-%d" % n)

    def check_layout(layout, name):
        t0 = time.monotonic()
        res = ok(run_module("vmo.rbac.vmo_rbac_access_info", dict(me.params, namespaces=namespaces,
                                                                  capabilities=EXTRA)))
        assert res["unconfirmed"] == [], res["unconfirmed"]
        found = [h for h in res["holders"] if not h["partial"]]
        listed = {}
        for h in found:
            listed.setdefault((h["capability"], h["namespace"]), set()).add(h["subject"])
        subjects = bound_subjects(cluster)
        layout_labels = {lay.label(dict(s, namespace=s.get("namespace") or "")) for s in layout["subjects"]}
        layout_labels |= {k for k in subjects if uid in k}
        if totals["layouts"] and not EVERY_SUBJECT_EVERY_LAYOUT:
            # the cluster's own subjects (controllers, system:masters, ...) are asked on the first
            # layout; on the others, the layout's subjects (everyone groups included) only
            subjects = {k: v for k, v in subjects.items() if k in layout_labels}

        # 1. differential: the module's answer for every subject = SubjectAccessReviews
        questions = []
        for label_, s in subjects.items():
            user, groups = lay.oracle_identity(s)
            pops = [lay.label(p) for p in lay.oracle_populations(s)]
            for cap, scope, checks in CAPS:
                for ns in [""] if scope == "cluster" else [""] + namespaces:
                    keys = [(user, tuple(groups), c.verb, c.group, c.resource, c.subresource, ns, "") for c in checks]
                    places = [(cap, "")] + ([(cap, ns)] if ns else [])
                    answer = any(who in listed.get(p, ()) for p in places for who in [label_] + pops)
                    questions.append((label_, cap, ns, keys, answer))
        truth = reviewer.ask(k for q in questions for k in q[3])
        wrong = [(q[0], q[1], q[2], q[4]) for q in questions if all(truth[k] for k in q[3]) != q[4]]
        assert wrong == [], "%d of %d answers differ from the API server: %s" % (len(wrong), len(questions), wrong[:10])
        # counted: the layout's subjects and the shipped matrix (not the test's own debug.logs)
        totals["questions"] += sum(1 for q in questions if q[0] in layout_labels and q[1] in SHIPPED)
        totals["questions_other"] += sum(1 for q in questions if q[0] not in layout_labels or q[1] not in SHIPPED)
        totals["allowed"] += sum(1 for q in questions if q[4])
        totals["holders"] += len(res["holders"])
        totals["everyone_holders"] += sum(1 for h in res["holders"] if h["everyone"])
        totals["partial_holders"] += sum(1 for h in res["holders"] if h["partial"])
        totals["membership_holders"] += sum(1 for h in res["holders"] if h["through"] == "membership")
        totals["module_reviews"] += res["summary"]["reviews"]
        totals["layouts"] += 1
        t1 = time.monotonic()

        # 2. peer: kubectl-who-can's subject sets for the same questions
        cache = tmp_path / "kube-cache"
        asks = sorted({(c, ns) for _cap, scope, checks in CAPS for c in checks
                       for ns in ([""] if scope == "cluster" else [""] + namespaces)})
        # a check kubectl-who-can could not resolve through discovery once is not asked again (the
        # layouts change RBAC, not the API's resources)
        answers = dict(((c, ns), (None, unresolvable[c])) for c, ns in asks if c in unresolvable)
        todo = [a for a in asks if a not in answers]
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers.update(zip(todo, pool.map(lambda a: who_can(me.kubeconfig, cache, a[0], a[1]), todo)))
        for (c, _ns), (got, why) in answers.items():
            if got is None and "doesn't have a resource type" in why:
                unresolvable[c] = why
        by_label = dict(subjects)
        own_keys = {}
        pending = []
        for cap, scope, checks in CAPS:
            for ns in [""] if scope == "cluster" else [""] + namespaces:
                sets = [answers[(c, ns)] for c in checks]
                missing = [(c, why) for c, (got, why) in zip(checks, sets) if got is None]
                if missing:
                    unanswerable[cap] += 1
                    examples.setdefault("unanswerable:" + cap, missing[0][1])
                    continue
                peer = set.intersection(*[got for got, _why in sets])
                mine = set(listed.get((cap, ""), ())) | (set(listed.get((cap, ns), ())) if ns else set())
                totals["peer_questions"] += 1
                totals["peer_holders"] += len(peer)
                if peer == mine:
                    totals["peer_agree"] += 1
                for s in sorted(peer - mine):
                    differences["unexplained: only kubectl-who-can lists it"] += 1
                    examples.setdefault("peer-only", (s, cap, ns))
                for s in sorted(mine - peer):
                    pending.append((s, cap, ns, checks))
        # module-only holders: each must hold only through its groups (membership): its own
        # bindings alone do not grant every check, which kubectl-who-can, listing binding
        # subjects per check, cannot see
        for s, cap, ns, checks in pending:
            subj = by_label.get(s)
            if subj is None:
                differences["unexplained: not a bound subject"] += 1
                continue
            user, groups = own_identity(subj)
            keys = [(user, groups, c.verb, c.group, c.resource, c.subresource, ns, "") for c in checks]
            own_keys[(s, cap, ns)] = keys
        own = reviewer.ask(k for ks in own_keys.values() for k in ks)
        live = live_lists(cluster) if own_keys else None
        for (s, cap, ns), keys in own_keys.items():
            if not all(own[k] for k in keys):
                differences["membership: holds only with the bindings of groups it is in"] += 1
                examples.setdefault("membership", (s, cap, ns))
            elif not all(lay.brute_force(live, k[0], list(k[1]), k[2], k[3], k[4], k[5], k[6], star_subresource=False)
                         for k in keys):
                # its own bindings grant it, but only through a rule `*/<subresource>`, which
                # kubectl-who-can's matcher does not know (it matches `*` or the exact resource)
                differences["star-subresource: granted by a rule */<subresource>"] += 1
                examples.setdefault("star-subresource", (s, cap, ns))
            else:
                differences["unexplained: own bindings grant it, kubectl-who-can misses it"] += 1
                examples.setdefault("unexplained-own", (s, cap, ns))
        layouts_seen.append({"layout": name,
                             "questions": len(questions), "module_seconds": round(t1 - t0, 1),
                             "peer_seconds": round(time.monotonic() - t1, 1), "peer_runs": len(todo)})

    def run_layout(layout, name):
        apply(cluster, layout)
        try:
            wait_for_aggregation(cluster)
            check_layout(layout, name)
        finally:
            remove(cluster, layout)
            wait_for_aggregation(cluster)

    try:
        run_layout(lay.worked_layout("dw-" + uid, namespaces), "worked")
        one_layout()  # pylint: disable=no-value-for-parameter
    finally:
        for ns in namespaces:
            cluster.delete_namespace(ns)
    summary = {"layouts": layouts_seen, "totals": dict(totals), "differences": dict(differences),
               "peer_unanswerable_questions": dict(unanswerable), "examples": {k: str(v) for k, v in examples.items()},
               "sar_sent_by_test": reviewer.sent}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(summary, indent=2, sort_keys=True))
    print("who-can differential: %s" % json.dumps(summary["totals"], sort_keys=True))
    print("peer differences: %s; unanswerable by the peer: %s" % (dict(differences), dict(unanswerable)))
    assert totals["questions"] >= MIN_QUESTIONS, (totals["questions"], "raise VMO_WHOCAN_LAYOUTS")
    assert differences["membership: holds only with the bindings of groups it is in"] >= 2, differences
    assert differences["star-subresource: granted by a rule */<subresource>"] >= 1, differences
    unexplained = {k: v for k, v in differences.items() if k.startswith("unexplained")}
    assert unexplained == {}, (unexplained, examples)
    assert totals["peer_questions"] > 0 and totals["allowed"] > 0
