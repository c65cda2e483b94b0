"""Truth (issues 12 and 19): vmo_rbac_access_info and vmo_rbac_validate against the API server, and
vmo_rbac_access_info against kubectl-who-can.

Hypothesis draws RBAC layouts (tests/helpers/rbac_layouts.py: random ClusterRoles and Roles with
wildcards, subresources, resourceNames, single checks of capabilities and aggregation labels, Roles named
like ClusterRoles; bindings to Users, Groups and ServiceAccounts across namespaces in every form a subject
can take: a ServiceAccount without a namespace, a ServiceAccount named as a User, a Group named like a
ServiceAccount, a User named like a node, names differing in case, apiGroup left out, the everyone groups).
Each layout is created on a private cluster with KubeVirt's roles as KubeVirt's own code generates them
for one release (tests/helpers/kubevirt_roles.py; the releases rotate over the layouts), a random
declaration (personas and custom roles, aggregated and KubeVirt's included) is enforced, the controller
manager's aggregation is waited for, and then:

1. Who-can differential. For every subject named in any binding of the cluster (the layout's and the
   cluster's own), every capability, every place (every namespace together, and each of the layout's
   namespaces) and every check of the capability: what the module says the subject holds (the union of
   what it and the everyone groups it is in are listed with there and in every namespace, full and
   partial holders) must equal the API server's SubjectAccessReviews, without a name and, for a check
   denied without one, for every object a rule names. 0 disagreements. Only the layout's subjects and
   the shipped capabilities count towards the minimum of capability questions. The cluster's own
   subjects (controllers, system:masters) are asked on the first layout with
   VMO_WHOCAN_CLUSTER_SUBJECTS=1, as the soak run does (on every layout with VMO_WHOCAN_EVERY_SUBJECT=1).

2. Validate differential. vmo_rbac_validate with audit_exclusive on the same cluster and declaration:
   every access row's answer is the API server's to the same question; every object a rule names that
   a declared subject may touch where it must be denied makes a failed check; and the exclusive audit is
   exact: every undeclared holder it reports holds what it says (the API server's answers) and more than
   the declaration gives it (an independent reading of the personas and of the custom roles' live
   rules), and every subject that may do anything the declaration does not give it is reported, itself
   or an everyone group it is in.

3. Peer. For the same capabilities and places, kubectl-who-can (built from its Go module,
   tests/peers) is asked every check; its subject set for a capability is the intersection over the
   checks. Every difference with the module's subject set must fall into a documented class
   (docs/validate.md, "Compared with kubectl-who-can"), checked here, none unexplained.

A fixed layout with one case of each kind of peer difference comes first. VMO_WHOCAN_LAYOUTS
(default 1) sets the number of random layouts, VMO_WHOCAN_PEER_LAYOUTS (default 2) how many of all
are compared with kubectl-who-can (the ten capabilities of the first matrix and pods/log unless
VMO_WHOCAN_PEER_ALL=1); `make test-whocan-soak` runs 10 (SOAK_LAYOUTS), at least 20,000 capability
questions, with the cluster's own subjects and every capability compared with kubectl-who-can. The
counts, per class of question, are printed and written to reports/whocan-differential.json
(docs/validate.md holds the last ones).
"""

from __future__ import annotations

import fnmatch
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

from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access, holders
from tests.helpers import kube, kubevirt_roles
from tests.helpers import rbac_layouts as lay
from tests.helpers.ansible import ok, run_module
from tests.helpers.private_clusters import private_cluster

pytestmark = pytest.mark.xdist_group("whocan")

ROOT = Path(__file__).resolve().parents[2]
PEERS_BIN = Path(os.environ.get("VMO_PEERS_BIN") or ROOT / ".tools-peers" / "bin")
WHO_CAN = PEERS_BIN / "kubectl-who-can"
LAYOUTS = int(os.environ.get("VMO_WHOCAN_LAYOUTS", "1"))
MIN_QUESTIONS = int(os.environ.get("VMO_WHOCAN_MIN_QUESTIONS", "300"))
EVERY_SUBJECT_EVERY_LAYOUT = os.environ.get("VMO_WHOCAN_EVERY_SUBJECT") == "1"
# Layouts (the worked one first) also compared with kubectl-who-can: one process per check and place
# makes it the slowest part, so the default run compares two and the soak run every one.
PEER_LAYOUTS = int(os.environ.get("VMO_WHOCAN_PEER_LAYOUTS", "2"))
# The default run keeps its time near what it was before issue 19 (the integration suite runs it): the
# cluster's own subjects (controllers, system:masters, ...) are asked only with
# VMO_WHOCAN_CLUSTER_SUBJECTS=1 (on the first layout; on every one with VMO_WHOCAN_EVERY_SUBJECT=1), and
# kubectl-who-can is asked the ten capabilities of the first matrix and the test's pods/log one unless
# VMO_WHOCAN_PEER_ALL=1 (one process per check and place). `make test-whocan-soak` sets both.
CLUSTER_SUBJECTS = os.environ.get("VMO_WHOCAN_CLUSTER_SUBJECTS") == "1" or EVERY_SUBJECT_EVERY_LAYOUT
PEER_ALL = os.environ.get("VMO_WHOCAN_PEER_ALL") == "1"
PEER_DEFAULT_CAPABILITIES = ("vm.view", "vm.console", "vm.power", "vm.create", "vm.clone", "vm.delete",
                             "vm.migrate", "vm.snapshot", "template.manage", "cluster.manage", "debug.logs")
REPORT = ROOT / "reports" / "whocan-differential.json"
# The shipped matrix, plus a capability of the test's own on a subresource that discovery knows
# (pods/log), so that kubectl-who-can can be asked about a subresource at all (see below).
EXTRA = {"debug.logs": {"description": "Read pod logs", "checks": [
    {"verb": "get", "group": "", "resource": "pods", "subresource": "log"}]}}
MATRIX = access.build_matrix("vmo", EXTRA, require_expect=False)
SHIPPED = set(access.build_matrix("vmo")["capabilities"])
CAPS = holders.matrix_checks(MATRIX)
RBAC = "rbac.authorization.k8s.io"
# KubeVirt's releases, one per layout in turn (the worked layout keeps the cluster's, the newest): the
# last whose admin and edit migrate, the one that split migration out, the newest, then the others of
# kubevirt_roles.VERSIONS.
RELEASES = ("v1.4.0", "v1.5.0", "v1.9.0", "v1.3.0", "v1.6.0", "v1.8.0")
VMO = access.build_matrix("vmo")
# The platform's identities, written out (the module's default allow-list): not reported by the audit.
PLATFORM = [("Group", "system:masters"), ("User", "system:kube-controller-manager"), ("User", "system:kube-scheduler"),
            ("ServiceAccount", "kube-system/*"), ("ServiceAccount", "kubevirt/*"), ("ServiceAccount", "cdi/*"),
            ("ServiceAccount", "vm-dashboard/*")]


# ------------------------------------------------------------------------- the cluster


class Reviewer:
    """SubjectAccessReviews with the cluster's admin certificate over one urllib3 pool (the test's
    own transport, independent of the collection's cluster.py); each question asked once per layout."""

    def __init__(self, cluster):
        self.url = cluster.server + "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        self.pool = urllib3.PoolManager(maxsize=16, cert_reqs="CERT_REQUIRED", ca_certs=str(cluster.ca),
                                        cert_file=str(cluster.pki / "admin.crt"),
                                        key_file=str(cluster.pki / "admin.key"))
        self.sent = 0
        self.reasons = {}
        self.cache = {}

    def forget(self):
        self.cache, self.reasons = {}, {}

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
            status = json.loads(r.data)["status"]
            return bool(status.get("allowed")), status.get("reason") or ""

        keys = sorted(set(keys))
        todo = [k for k in keys if k not in self.cache]
        self.sent += len(todo)
        with ThreadPoolExecutor(max_workers=16) as pool:
            for k, (allowed, reason) in zip(todo, pool.map(one, todo)):
                self.cache[k] = allowed
                self.reasons[k] = reason
        return dict((k, self.cache[k]) for k in keys)


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
    return "", (subject["name"],)  # by the group alone, as the module asks a Group: no user


# --------------------------------------------------------------- KubeVirt's releases


def install_kubevirt_release(cluster, version):
    """KubeVirt's ClusterRoles and ClusterRoleBindings of ``version``, as its cluster.go generates them
    (tests/helpers/kubevirt_roles.py; kube.TestCluster.install_kubevirt also deletes the kubevirt.io
    roles the release does not make and waits for the aggregation). The one hook for KubeVirt's roles."""
    cluster.install_kubevirt(version)


def with_404_ignored(fn, *args):
    try:
        fn(*args)
    except ApiException as exc:
        if exc.status != 404:
            raise


# ------------------------------------------------------------------- the oracle's view


def clabel(c):
    """A check as the module labels it (``update subresources.kubevirt.io/virtualmachines/stop``)."""
    res = c.resource + ("/" + c.subresource if c.subresource else "")
    return "%s %s%s" % (c.verb, c.group + "/" if c.group else "", res)


def merge_grant(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a is True or b is True:
        return True
    return a | b


def covered(have, want):
    """Whether a grant (True or names) covers another."""
    if want is None:
        return True
    if have is None:
        return False
    return have is True or (want is not True and want <= have)


def module_held(listed, labels, cap, ns, checks):
    """What the module's holders say subjects with these labels (a subject and its everyone groups) may
    do of a capability at a place: {check label: True or names}."""
    out = {}
    for h in listed.get((cap, "")) or []:
        _add_holding(out, h, labels, checks)
    if ns:
        for h in listed.get((cap, ns)) or []:
            _add_holding(out, h, labels, checks)
    return out


def _add_holding(out, h, labels, checks):
    if h["subject"] not in labels:
        return
    if not h["partial"]:
        for c in checks:
            out[clabel(c)] = True
        return
    for e in h["holds"]:
        out[e["check"]] = merge_grant(out.get(e["check"]), True if not e["resource_names"] else
                                      frozenset(e["resource_names"]))


def is_platform(label_):
    kind, _sep, name = label_.partition(" ")
    return any(k == kind and fnmatch.fnmatchcase(name, glob) for k, glob in PLATFORM)


def subject_forms(live):
    """{principal label: forms it is bound in}: every way a binding of the cluster writes it."""
    out = {}
    for b, bns in [(b, "") for b in live["cluster_role_bindings"]] + \
            [(b, b["metadata"]["namespace"]) for b in live["role_bindings"]]:
        for s in b.get("subjects") or []:
            kind, name = s["kind"], s["name"]
            if kind == "ServiceAccount":
                if not (s.get("namespace") or bns):
                    continue
                form = "ServiceAccount" if s.get("namespace") else "ServiceAccount without namespace"
                subj = {"kind": kind, "name": name, "namespace": s.get("namespace") or bns}
            else:
                subj = {"kind": kind, "name": name}
                form = kind
                if kind == "User" and lay.oracle_principal(subj) is not subj:
                    form = "ServiceAccount named as a User"
                elif kind == "User" and name.startswith("system:node:"):
                    form = "User named like a node"
                elif kind == "User" and name != name.lower():
                    form = "User (name differs in case)"
                elif kind == "Group" and (name in ("system:authenticated", "system:serviceaccounts",
                                                   "system:unauthenticated")
                                          or name.startswith("system:serviceaccounts:")):
                    form = "everyone group"
                elif kind == "Group" and name.startswith("system:serviceaccount:"):
                    form = "Group named like a ServiceAccount"
            if "apiGroup" not in s:
                out.setdefault(lay.label(subj), set()).add("apiGroup left out")
            out.setdefault(lay.label(subj), set()).add(form)
    return out


def oracle_declared(entries, live):
    """{principal label: {place: {check label: True or names}}}: what a declaration declares, read
    independently of the module: a persona every check of every capability its expectations do not
    deny; a custom role what its live rules grant (an aggregated role as the controller manager merged
    it; a missing one nothing)."""
    crs = {r["metadata"]["name"]: r for r in live["cluster_roles"]}
    rs = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in live["roles"]}
    roles_of = {"viewer": "spectro-vm-viewer", "user": "spectro-vm-user", "power-user": "spectro-vm-power-user",
                "admin": "spectro-vm-admin"}
    persona_of = {v: k for k, v in roles_of.items()}
    out = {}
    for e in entries:
        places = e.get("namespaces") or [""]
        persona = e.get("persona") or persona_of.get(e.get("cluster_role"))
        grants = {}
        for cap, _scope, checks in CAPS:
            if cap not in SHIPPED:
                continue
            if persona:
                if VMO["expect"][persona].get(cap) or cap in VMO["optional"].get(persona, ()):
                    for c in checks:
                        grants[clabel(c)] = True
                continue
            for place in places:
                role = crs.get(e["cluster_role"]) if e.get("cluster_role") else rs.get((place, e["role"]))
                for c in checks:
                    g = lay.rule_grants((role or {}).get("rules"), c.verb, c.group, c.resource, c.subresource)
                    if g is not None:
                        grants.setdefault(place, {})[clabel(c)] = merge_grant(
                            grants.setdefault(place, {}).get(clabel(c)), g)
        subjects = [{"kind": "User", "name": n} for n in e.get("users") or []]
        subjects += [{"kind": "Group", "name": n} for n in e.get("groups") or []]
        subjects += [{"kind": "ServiceAccount", "name": r.split("/")[1], "namespace": r.split("/")[0]}
                     for r in e.get("service_accounts") or []]
        for subj in subjects:
            for place in places:
                mine = grants if persona else grants.get(place, {})
                target = out.setdefault(lay.label(subj), {}).setdefault(place, {})
                for k, g in mine.items():
                    target[k] = merge_grant(target.get(k), g)
    return out


def declared_for(declared, labels, ns, check):
    out = None
    for who in labels:
        for place in ("", ns) if ns else ("",):
            out = merge_grant(out, ((declared.get(who) or {}).get(place) or {}).get(check))
    return out


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
    classes = Counter()
    wrong = []
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
        layout = data.draw(lay.layouts("d%d-%s" % (n, uid), namespaces))
        declaration = data.draw(lay.declarations(layout, namespaces))
        run_layout(layout, "random-%d" % n, declaration, RELEASES[n % len(RELEASES)])

    def truth_maps(subjects, live, places=None):
        """{(label, cap, ns): {check label: True or names}} from the API server, for every subject,
        capability, place (every namespace together and the layout's, or ``places``) and check; names
        asked where a check is denied without one and some rule names objects for it."""
        keys, named = {}, {}
        places = places or namespaces
        for label_, s in subjects.items():
            user, groups = lay.oracle_identity(s)
            for cap, scope, checks in CAPS:
                for ns in [""] if scope == "cluster" else [""] + list(places):
                    for c in checks:
                        keys[(label_, cap, ns, clabel(c))] = (user, tuple(groups), c.verb, c.group, c.resource,
                                                             c.subresource, ns, "")
        answers = reviewer.ask(keys.values())
        names_of = {}
        for (label_, cap, ns, cl), k in keys.items():
            if answers[k]:
                continue
            c = k[2:6]
            if c not in names_of:
                names_of[c] = lay.named_objects(live, *c)
            for n in names_of[c]:
                named[(label_, cap, ns, cl, n)] = k[:7] + (n,)
        named_answers = reviewer.ask(named.values())
        out = {}
        for (label_, cap, ns, cl), k in keys.items():
            m = out.setdefault((label_, cap, ns), {})
            if answers[k]:
                m[cl] = True
        for (label_, cap, ns, cl, n), k in named.items():
            if named_answers[k]:
                m = out.setdefault((label_, cap, ns), {})
                m[cl] = (m.get(cl) or frozenset()) | frozenset([n])
        totals["name_questions"] += len(named)
        totals["name_allowed"] += sum(1 for v in named_answers.values() if v)
        return out

    def check_layout(layout, name, declaration, owner):
        t0 = time.monotonic()
        res = ok(run_module("vmo.rbac.vmo_rbac_access_info", dict(me.params, namespaces=namespaces,
                                                                  capabilities=EXTRA)))
        t_module = time.monotonic() - t0
        assert res["unconfirmed"] == [], res["unconfirmed"]
        listed = {}
        for h in res["holders"]:
            listed.setdefault((h["capability"], h["namespace"]), []).append(h)
        full_listed = dict(((cap, ns), {h["subject"] for h in hs if not h["partial"]}) for (cap, ns), hs in listed.items())
        live = live_lists(cluster)
        forms = subject_forms(live)
        subjects = bound_subjects(cluster)
        layout_labels = {lay.label(dict(s, namespace=s.get("namespace") or "")) for s in layout["subjects"]}
        layout_labels |= {k for k in subjects if uid in k}
        if (totals["layouts"] or not CLUSTER_SUBJECTS) and not EVERY_SUBJECT_EVERY_LAYOUT:
            # the cluster's own subjects (controllers, system:masters, ...) are asked on the first
            # layout (with VMO_WHOCAN_CLUSTER_SUBJECTS=1); otherwise the layout's subjects (everyone
            # groups included) only
            subjects = {k: v for k, v in subjects.items() if k in layout_labels}

        # 1. who-can: what the module says each subject holds = the API server's answers, check by check
        t_truth = time.monotonic()
        truth = truth_maps(subjects, live)
        t_truth = time.monotonic() - t_truth
        for label_, s in subjects.items():
            labels = [label_] + [lay.label(p) for p in lay.oracle_populations(s)]
            counted = label_ in layout_labels
            for cap, scope, checks in CAPS:
                for ns in [""] if scope == "cluster" else [""] + namespaces:
                    want = truth.get((label_, cap, ns)) or {}
                    got = module_held(listed, labels, cap, ns, checks)
                    if got != want:
                        wrong.append(("who-can", label_, cap, ns, sorted(want.items()), sorted(got.items())))
                    whole = all(want.get(clabel(c)) is True for c in checks)
                    answer = any(who in full_listed.get(p, ()) for p in [(cap, "")] + ([(cap, ns)] if ns else [])
                                 for who in labels)
                    if answer != whole:
                        wrong.append(("who-can whole", label_, cap, ns, whole, answer))
                    if not (counted and cap in SHIPPED):
                        totals["questions_other"] += 1
                        continue
                    totals["questions"] += 1
                    totals["check_questions"] += len(checks)
                    kind = "none" if not want else "whole" if whole else \
                        "part, named objects only" if all(v is not True for v in want.values()) else "part"
                    classes["holds: " + kind] += 1
                    for form in forms.get(label_, ()) or ["(population only)"]:
                        classes["form: " + form] += 1
        totals["allowed"] += sum(1 for hs in full_listed.values() for _h in hs)
        totals["holders"] += len(res["holders"])
        totals["everyone_holders"] += sum(1 for h in res["holders"] if h["everyone"])
        totals["partial_holders"] += sum(1 for h in res["holders"] if h["partial"])
        totals["membership_holders"] += sum(1 for h in res["holders"] if h["through"] == "membership")
        totals["module_reviews"] += res["summary"]["reviews"]
        for k, reason in reviewer.reasons.items():
            if reviewer.cache.get(k):
                via = "ClusterRole" if ' of ClusterRole "' in reason else "Role"
                role = reason.split(' of %s "' % via)[1].split('"')[0] if (' of %s "' % via) in reason else ""
                if role.startswith("kubevirt.io:") or role in ("admin", "edit", "view"):
                    classes["allowed through: KubeVirt's roles (%s) or what aggregates them"
                            % layout.get("release", kube.KUBEVIRT_VERSION)] += 1
                elif via == "Role" and role in lay.ROLE_NAMES_LIKE_CLUSTER_ROLES:
                    classes["allowed through: a Role named like a ClusterRole"] += 1
                elif any(r["metadata"]["name"] == role and r.get("aggregationRule") for r in live["cluster_roles"]):
                    classes["allowed through: an aggregated ClusterRole"] += 1
        totals["layouts"] += 1
        t1 = time.monotonic()

        # 2. validate with the exclusive audit: the same cluster, the declaration enforced
        if declaration is not None:
            check_validate(declaration, owner, live, truth, subjects, layout_labels)
        t2 = time.monotonic()

        # 3. peer: kubectl-who-can's subject sets for the same questions
        if len(layouts_seen) < PEER_LAYOUTS:
            peer(full_listed, subjects)
        layouts_seen.append({"layout": name, "release": layout.get("release", kube.KUBEVIRT_VERSION),
                             "questions": totals["questions"], "module_seconds": round(t1 - t0, 1),
                             "access_info_seconds": round(t_module, 1), "truth_seconds": round(t_truth, 1),
                             "validate_seconds": round(t2 - t1, 1), "peer_seconds": round(time.monotonic() - t2, 1)})

    def check_validate(declaration, owner, live, truth, subjects, layout_labels):
        args = dict(me.params, owner=owner, bindings=declaration, allow_privileged=True)
        res = run_module("vmo.rbac.vmo_rbac_validate", dict(args, audit_exclusive=True, fail_on_drift=False))
        assert "access" in res and "who_else" in res, res.get("msg")
        totals["validations"] += 1
        totals["declared_custom_roles"] += len(res["who_else_summary"].get("custom_roles") or [])
        # a. every access row is the API server's answer to its question
        rows = [r for r in res["access"] if r["allowed"] is not None]
        keys = dict((id(r), (r["as_user"], tuple(r["as_groups"]), r["verb"], r["group"], r["resource"],
                             r["subresource"], r["namespace"], r.get("name", ""))) for r in rows)
        answers = reviewer.ask(keys.values())
        for r in rows:
            if answers[keys[id(r)]] != r["allowed"]:
                wrong.append(("validate row", r["subject"], r["capability"], r["namespace"], r.get("name"),
                              r["allowed"]))
        totals["validate_rows"] += len(rows)
        totals["validate_named_rows"] += sum(1 for r in rows if r.get("name"))
        # b. an object a rule names that a declared subject may touch where it must be denied: a failed check
        failed = {(r["subject"], r["capability"], r["namespace"], r["scope"]) for r in res["access"] if r["ok"] is False}
        probes = {}
        for r in rows:
            if r["expected"] is False and not r.get("name") and not r["allowed"]:
                for n in lay.named_objects(live, r["verb"], r["group"], r["resource"], r["subresource"]):
                    probes[(r["subject"], r["capability"], r["namespace"], r["scope"], n, r["verb"],
                            r["resource"], r["subresource"])] = keys[id(r)][:7] + (n,)
        named = reviewer.ask(probes.values())
        for (subject, cap, ns, scope, n, *_rest), k in probes.items():
            totals["validate_name_questions"] += 1
            if named[k]:
                totals["validate_name_allowed"] += 1
                if (subject, cap, ns, scope) not in failed:
                    wrong.append(("validate misses a named object", subject, cap, ns, n))
        # c. the exclusive audit, exact: what it reports is undeclared and held; whatever is undeclared
        #    and held is reported (for the subject itself or an everyone group it is in)
        declared = oracle_declared(declaration, live)
        who_else = {}
        for f in res["who_else"]:
            who_else.setdefault((f["capability"], f["namespace"]), []).append(f)
            checks = [c for cap, _s, cs in CAPS if cap == f["capability"] for c in cs]
            subj = {"kind": f["subject_kind"], "name": f["subject_name"]}
            if f["subject_kind"] == "ServiceAccount":
                subj["namespace"] = f["subject_namespace"]
            key = (f["subject"], f["capability"], f["namespace"])
            if key not in truth:
                truth.update(truth_maps({f["subject"]: subj}, live, [f["namespace"]] if f["namespace"] else None))
            held_truth = truth.get(key) or {}
            said = {}
            _add_holding(said, f, [f["subject"]], checks)
            if said != held_truth:
                wrong.append(("audit holding", key, sorted(said.items()), sorted(held_truth.items())))
            labels = [f["subject"]] + [lay.label(p) for p in lay.oracle_populations(subj)]
            if all(covered(declared_for(declared, labels, f["namespace"], cl), g) for cl, g in said.items()):
                wrong.append(("audit reports a declared holder", key))
            if is_platform(f["subject"]):
                wrong.append(("audit reports a platform identity", key))
            totals["audit_reported"] += 1
        for label_, s in subjects.items():
            if is_platform(label_):
                continue
            labels = [label_] + [lay.label(p) for p in lay.oracle_populations(s)]
            for cap, scope, checks in CAPS:
                if cap not in SHIPPED:
                    continue
                for ns in [""] if scope == "cluster" else [""] + namespaces:
                    held = truth.get((label_, cap, ns)) or {}
                    totals["audit_questions"] += 1
                    for cl, g in held.items():
                        d = declared_for(declared, labels, ns, cl)
                        if covered(d, g):
                            continue
                        totals["audit_undeclared"] += 1
                        missing = g if d is None or g is True else g - (d if d is not True else g)
                        found = False
                        for f in (who_else.get((cap, ns)) or []) + ((who_else.get((cap, "")) or []) if ns else []):
                            if f["subject"] in labels:
                                said = {}
                                _add_holding(said, f, [f["subject"]], checks)
                                if covered(said.get(cl), missing):
                                    found = True
                        if not found:
                            wrong.append(("audit misses", label_, cap, ns, cl, g, d))

    peer_caps = [(cap, scope, checks) for cap, scope, checks in CAPS if PEER_ALL or cap in PEER_DEFAULT_CAPABILITIES]

    def peer(full_listed, subjects):
        cache = tmp_path / "kube-cache"
        asks = sorted({(c, ns) for _cap, scope, checks in peer_caps for c in checks
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
        for cap, scope, checks in peer_caps:
            for ns in [""] if scope == "cluster" else [""] + namespaces:
                sets = [answers[(c, ns)] for c in checks]
                missing = [(c, why) for c, (got, why) in zip(checks, sets) if got is None]
                if missing:
                    unanswerable[cap] += 1
                    examples.setdefault("unanswerable:" + cap, missing[0][1])
                    continue
                peer_set = set.intersection(*[got for got, _why in sets])
                mine = set(full_listed.get((cap, ""), ())) | (set(full_listed.get((cap, ns), ())) if ns else set())
                totals["peer_questions"] += 1
                totals["peer_holders"] += len(peer_set)
                if peer_set == mine:
                    totals["peer_agree"] += 1
                for s in sorted(peer_set - mine):
                    differences["unexplained: only kubectl-who-can lists it"] += 1
                    examples.setdefault("peer-only", (s, cap, ns))
                for s in sorted(mine - peer_set):
                    pending.append((s, cap, ns, checks))
        # module-only holders: each must hold only through its groups (membership): its own
        # bindings alone do not grant every check, which kubectl-who-can, listing binding
        # subjects per check, cannot see
        for s, cap, ns, checks in pending:
            subj = by_label.get(s)
            if subj is None:
                differences["unexplained: not a bound subject"] += 1
                examples.setdefault("not-bound", (s, cap, ns))
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

    def run_layout(layout, name, declaration=None, release=None):
        owner = "dv-%s-%s" % (name.split("-")[-1], uid)
        apply(cluster, layout)
        try:
            if release:
                install_kubevirt_release(cluster, release)
                layout["release"] = release
                classes["layouts with KubeVirt " + release] += 1
            if declaration is not None:
                ok(run_module("vmo.rbac.vmo_role_binding", dict(me.params, owner=owner, bindings=declaration,
                                                                allow_privileged=True)))
            wait_for_aggregation(cluster)
            reviewer.forget()
            check_layout(layout, name, declaration, owner)
        finally:
            cluster.delete_bindings(owner)
            remove(cluster, layout)
            wait_for_aggregation(cluster)

    try:
        worked = lay.worked_layout("dw-" + uid, namespaces)
        run_layout(worked, "worked", worked["declaration"])
        one_layout()  # pylint: disable=no-value-for-parameter
    finally:
        for ns in namespaces:
            cluster.delete_namespace(ns)
        install_kubevirt_release(cluster, kube.KUBEVIRT_VERSION)  # what the private cluster started with
        wait_for_aggregation(cluster)
    summary = {"layouts": layouts_seen, "totals": dict(totals), "classes": dict(sorted(classes.items())),
               "differences": dict(differences), "disagreements": len(wrong),
               "peer_unanswerable_questions": dict(unanswerable), "examples": {k: str(v) for k, v in examples.items()},
               "sar_sent_by_test": reviewer.sent}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(summary, indent=2, sort_keys=True))
    print("who-can differential: %s" % json.dumps(summary["totals"], sort_keys=True))
    print("classes: %s" % json.dumps(summary["classes"], sort_keys=True))
    print("peer differences: %s; unanswerable by the peer: %s" % (dict(differences), dict(unanswerable)))
    assert wrong == [], "%d disagreements with the API server: %s" % (len(wrong), wrong[:10])
    assert totals["questions"] >= MIN_QUESTIONS, (totals["questions"], "raise VMO_WHOCAN_LAYOUTS")
    assert totals["validations"] == LAYOUTS + 1 and totals["audit_undeclared"] > 0 and totals["validate_rows"] > 0
    assert totals["validate_name_allowed"] >= 1  # the worked layout's viewer who may delete vm-a: caught
    assert differences["membership: holds only with the bindings of groups it is in"] >= 2, differences
    assert differences["star-subresource: granted by a rule */<subresource>"] >= 1, differences
    unexplained = {k: v for k, v in differences.items() if k.startswith("unexplained")}
    assert unexplained == {}, (unexplained, examples)
    assert totals["peer_questions"] > 0 and totals["allowed"] > 0
