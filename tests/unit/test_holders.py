"""holders.py: the local RBAC evaluation behind vmo_rbac_access_info and the exclusive audit.

The property tests draw random RBAC layouts (tests/helpers/rbac_layouts.py) and compare every
answer the findings give (holders.holds) with a brute-force authorizer written the way the
Kubernetes one is (visit every binding, no index): for every subject named in any binding, every
capability and every place. The integration differential does the same against the API server.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils import access, holders
from ansible_collections.vmo.rbac.plugins.module_utils.declaration import Subject
from tests.helpers import rbac_layouts as lay

NAMESPACES = ["ns0", "ns1", "ns2"]
MATRIX = access.build_matrix("vmo")
CAPS = holders.matrix_checks(MATRIX)
CHECKS = [c for _n, _s, checks in CAPS for c in checks]


def evaluate(layout, namespaces=None):
    crs = lay.aggregate(layout["cluster_roles"])
    index = holders.RbacIndex(crs, layout["roles"], layout["cluster_role_bindings"], layout["role_bindings"], CHECKS)
    return dict(layout, cluster_roles=crs), holders.Evaluation(index, CAPS, namespaces)


def bound_subjects(layout):
    """Every subject named in a binding, normalised as RBAC reads it."""
    out = set()
    for b in layout["cluster_role_bindings"] + layout["role_bindings"]:
        bns = b["metadata"].get("namespace") or ""
        for s in b.get("subjects") or []:
            ns = (s.get("namespace") or bns) if s["kind"] == "ServiceAccount" else ""
            if s["kind"] == "ServiceAccount" and not ns:
                continue
            out.add(Subject(s["kind"], s["name"], ns))
    return sorted(out)


def truth(lists, subject, checks, namespace):
    user, groups = lay.oracle_identity(subject._asdict())
    return all(lay.brute_force(lists, user, groups, c.verb, c.group, c.resource, c.subresource, namespace)
               for c in checks)


# ----------------------------------------------------------------------------- rules


@given(rule=lay.random_rule(), check=st.sampled_from(CHECKS))
def test_rule_grant_is_rbac_semantics(rule, check):
    grant = holders.rule_grant(rule, check)
    plain = lay._rule_allows(rule, check.verb, check.group, check.resource, check.subresource, "")
    named = lay._rule_allows(rule, check.verb, check.group, check.resource, check.subresource, "vm-a")
    if grant is holders.FULL:
        assert plain and named
    elif grant is None:
        assert not plain and not named
    else:
        assert not plain and named == ("vm-a" in grant)


def test_wildcards_and_subresources():
    c = holders.Check("get", "subresources.kubevirt.io", "virtualmachineinstances", "console")
    assert holders.rule_grant({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*/console"]}, c) is holders.FULL
    assert holders.rule_grant({"verbs": ["get"], "apiGroups": ["*"], "resources": ["virtualmachineinstances/*"]},
                              c) is None  # RBAC has no resource/* wildcard
    assert holders.rule_grant({"verbs": ["get"], "apiGroups": ["subresources.kubevirt.io"],
                               "resources": ["virtualmachineinstances"]}, c) is None
    assert holders.rule_grant({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/console"],
                               "resourceNames": ["vm-a"]}, c) == frozenset(["vm-a"])
    assert holders.rule_grant({"verbs": ["get"], "nonResourceURLs": ["*"]}, c) is None


# ------------------------------------------------------------------ the property


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layout=lay.layouts("p", NAMESPACES))
def test_findings_answer_every_question_as_rbac_does(layout):
    lists, ev = evaluate(layout)
    subjects = bound_subjects(lists)
    assert subjects
    asked = 0
    for s in subjects:
        for cap, scope, checks in CAPS:
            for ns in [""] if scope == "cluster" else [""] + NAMESPACES:
                want = truth(lists, s, checks, ns)
                got = holders.holds(ev.findings, s, cap, ns)
                assert got == want, (s, cap, ns, want, [f for f in ev.findings if f["capability"] == cap])
                asked += 1
    assert asked >= len(subjects) * 10
    # each holder once per capability and place
    keys = [(f["capability"], f["namespace"], f["subject"]) for f in ev.findings]
    assert len(keys) == len(set(keys))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layout=lay.layouts("p", NAMESPACES))
def test_every_finding_is_what_its_reviews_ask(layout):
    """Each finding's SubjectAccessReviews (what whocan.py sends to confirm it) are allowed; a partial
    finding holds for its named objects and not in general; a finding lists the bindings through
    which it holds, and those bindings name it or a group its identity carries."""
    lists, ev = evaluate(layout)
    for f in ev.findings:
        for r in f["_reviews"]:
            a = r["resourceAttributes"]
            assert lay.brute_force(lists, r["user"], r["groups"], a["verb"], a["group"], a["resource"],
                                   a.get("subresource", ""), a.get("namespace", ""), a.get("name", "")), (f, r)
        subject = holders.subject_of(f)
        checks = [c for n, _s, cs in CAPS if n == f["capability"] for c in cs]
        assert truth(lists, subject, checks, f["namespace"]) is (not f["partial"])
        assert f["via"], f
        if f["through"] == "own":
            assert any(v["own"] for v in f["via"]), f
        if f["partial"]:
            assert f["resource_names"]
        assert (f["everyone"] != "") == (subject.kind == "Group" and holders.is_everyone(subject.name))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layout=lay.layouts("p", NAMESPACES), pick=st.lists(st.sampled_from(NAMESPACES), max_size=2, unique=True))
def test_namespaces_asked_for(layout, pick):
    """Answering for some namespaces only gives the same answers there."""
    lists, ev = evaluate(layout, pick)
    for s in bound_subjects(lists):
        for cap, scope, checks in CAPS:
            for ns in [""] if scope == "cluster" else [""] + pick:
                assert holders.holds(ev.findings, s, cap, ns) == truth(lists, s, checks, ns)
    assert all(f["namespace"] in [""] + pick for f in ev.findings)


# ------------------------------------------------------------------ worked cases


def crb(name, role, *subjects):
    return {"metadata": {"name": name}, "roleRef": {"kind": "ClusterRole", "name": role},
            "subjects": list(subjects)}


def rb(ns, name, role, *subjects, kind="ClusterRole"):
    return {"metadata": {"name": name, "namespace": ns}, "roleRef": {"kind": kind, "name": role},
            "subjects": list(subjects)}


def user(n):
    return {"kind": "User", "name": n}


def group(n):
    return {"kind": "Group", "name": n}


def cr(name, rules, labels=None, aggregation=None):
    out = {"metadata": {"name": name, "labels": labels or {}}, "rules": rules}
    if aggregation:
        out["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregation}]}
    return out


ADMIN = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
VIEW = [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "virtualmachineinstances"],
         "verbs": ["get", "list"]}]


def run(crs, crbs=(), rbs=(), roles=(), namespaces=None):
    index = holders.RbacIndex(crs, list(roles), list(crbs), list(rbs), CHECKS)
    return holders.Evaluation(index, CAPS, namespaces).findings


def find(findings, cap, ns, subject):
    return [f for f in findings if f["capability"] == cap and f["namespace"] == ns and f["subject"] == subject]


def test_leaky_everyone_binding_is_reported_as_everyone_with_the_binding():
    findings = run([cr("spectro-vm-admin", ADMIN), cr("spectro-vm-viewer", VIEW)],
                   rbs=[rb("team1", "viewers", "spectro-vm-viewer", user("bob")),
                        rb("leaky", "oops", "spectro-vm-admin", group("system:authenticated"))])
    (f,) = find(findings, "vm.delete", "leaky", "Group system:authenticated")
    assert f["everyone"] == "every authenticated user" and f["through"] == "own"
    assert [(v["kind"], v["namespace"], v["name"], v["role_name"]) for v in f["via"]] == \
        [("RoleBinding", "leaky", "oops", "spectro-vm-admin")]
    # bob is not listed for leaky: everyone is; his answer follows from the population
    assert not find(findings, "vm.delete", "leaky", "User bob")
    assert holders.holds(findings, Subject("User", "bob", ""), "vm.delete", "leaky")
    assert not holders.holds(findings, Subject("User", "bob", ""), "vm.delete", "team1")
    assert find(findings, "vm.view", "team1", "User bob")


def test_own_binding_listed_even_when_everyone_holds_it():
    findings = run([cr("a", ADMIN)], rbs=[rb("x", "all", "a", group("system:authenticated")),
                                          rb("x", "ci", "a", user("ci-bot"))])
    assert find(findings, "vm.delete", "x", "User ci-bot")[0]["through"] == "own"
    assert find(findings, "vm.delete", "x", "Group system:authenticated")


def test_membership_holder():
    """alice may vm.view only with her own binding (get/list VMs) and everyone's (get VMIs) together."""
    findings = run([cr("vms", [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"],
                                "verbs": ["get", "list"]}]),
                    cr("vmis", [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachineinstances"],
                                 "verbs": ["get"]}])],
                   rbs=[rb("x", "a", "vms", user("alice")), rb("x", "b", "vmis", group("system:authenticated"))])
    (f,) = find(findings, "vm.view", "x", "User alice")
    assert f["through"] == "membership"
    assert sorted(v["name"] for v in f["via"]) == ["a", "b"]
    assert not find(findings, "vm.view", "x", "Group system:authenticated")


def test_cluster_wide_holder_listed_once():
    findings = run([cr("a", ADMIN)], crbs=[crb("ops", "a", group("ops"))], rbs=[rb("x", "other", "a", user("z"))])
    assert find(findings, "vm.delete", "", "Group ops") and not find(findings, "vm.delete", "x", "Group ops")
    (c,) = find(findings, "cluster.manage", "", "Group ops")
    assert c["scope"] == "cluster"
    assert not find(findings, "cluster.manage", "", "User z")  # a RoleBinding never grants cluster scope


def test_own_namespace_binding_listed_even_when_cluster_wide_too():
    findings = run([cr("a", ADMIN)], crbs=[crb("ops", "a", user("u"))], rbs=[rb("x", "extra", "a", user("u"))])
    assert [v["name"] for v in find(findings, "vm.delete", "x", "User u")[0]["via"]] == ["ops", "extra"]


def test_resource_names_are_partial():
    rules = [{"apiGroups": ["export.kubevirt.io"], "resources": ["virtualmachineexports"], "verbs": ["create"],
              "resourceNames": ["prod-db"]}]
    findings = run([cr("one", rules)], rbs=[rb("x", "b", "one", user("u"))])
    (f,) = find(findings, "vm.export", "x", "User u")
    assert f["partial"] and f["resource_names"] == ["prod-db"]
    assert f["_reviews"][0]["resourceAttributes"]["name"] == "prod-db"
    assert not holders.holds(findings, Subject("User", "u", ""), "vm.export", "x")


def test_aggregated_role_names_its_sources():
    export = [{"apiGroups": ["export.kubevirt.io"], "resources": ["virtualmachineexports"], "verbs": ["create"]}]
    crs = [cr("team-view", VIEW + export, aggregation={"example.com/agg": "true"}),
           cr("sneaky", export, labels={"example.com/agg": "true"}),
           cr("plain", VIEW, labels={"example.com/agg": "true"})]
    findings = run(crs, rbs=[rb("x", "readers", "team-view", group("pod-readers"))])
    (f,) = find(findings, "vm.export", "x", "Group pod-readers")
    assert f["via"][0]["aggregated_from"] == ["sneaky"]


def test_service_account_without_namespace_in_a_role_binding():
    findings = run([cr("a", ADMIN)], rbs=[rb("x", "b", "a", {"kind": "ServiceAccount", "name": "ci"})])
    (f,) = find(findings, "vm.delete", "x", "ServiceAccount x/ci")
    assert f["as_user"] == "system:serviceaccount:x:ci"


def test_service_account_populations():
    findings = run([cr("a", ADMIN)], rbs=[rb("x", "b", "a", group("system:serviceaccounts:x"),
                                             {"kind": "ServiceAccount", "name": "ci", "namespace": "x"})])
    (f,) = find(findings, "vm.delete", "x", "Group system:serviceaccounts:x")
    assert f["everyone"] == "every ServiceAccount in namespace x"
    assert f["as_groups"] == ["system:authenticated", "system:serviceaccounts", "system:serviceaccounts:x"]
    assert find(findings, "vm.delete", "x", "ServiceAccount x/ci")  # own binding: listed too


def test_role_in_a_role_binding_and_missing_roles():
    roles = [{"metadata": {"name": "r", "namespace": "x"}, "rules": ADMIN}]
    findings = run([], rbs=[rb("x", "b", "r", user("u"), kind="Role"), rb("y", "c", "r", user("v"), kind="Role"),
                            rb("x", "d", "gone", user("w"))], roles=roles)
    assert find(findings, "vm.delete", "x", "User u")
    assert not [f for f in findings if f["subject"] in ("User v", "User w")]


def test_identity_and_population():
    sa = Subject("ServiceAccount", "ci", "x")
    assert holders.identity(sa) == ("system:serviceaccount:x:ci",
                                    ("system:authenticated", "system:serviceaccounts", "system:serviceaccounts:x"))
    assert [p.name for p in holders.populations(sa)] == [
        "system:serviceaccounts:x", "system:serviceaccounts", "system:authenticated"]
    for s in (Subject("Group", "ops", ""), Subject("User", "bob", ""), Subject("ServiceAccount", "ci", "x")):
        user, groups = access.identity(s)  # as vmo_rbac_validate asks
        assert holders.identity(s) == (user, tuple(groups))
    assert holders.identity(Subject("User", "bob", "")) == ("bob", ("system:authenticated",))
    assert holders.identity(Subject("Group", "system:unauthenticated", "")) == (
        "system:anonymous", ("system:unauthenticated",))
