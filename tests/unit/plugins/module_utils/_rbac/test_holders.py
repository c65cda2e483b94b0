"""holders.py: the local RBAC evaluation behind vmo_rbac_access_info and the exclusive audit.

The property tests draw random RBAC layouts (tests/helpers/rbac_layouts.py) and compare every
answer the findings give (holders.holds) with a brute-force authorizer written the way the
Kubernetes one is (visit every binding, no index): for every subject named in any binding, every
capability and every place. The integration differential does the same against the API server.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access, holders
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import Subject
from tests.helpers import rbac_layouts as lay

NAMESPACES = ["ns0", "ns1", "ns2"]
MATRIX = access.build_matrix("vmo")
CAPS = holders.matrix_checks(MATRIX)
CHECKS = [c for _n, _s, checks in CAPS for c in checks]
CHECKS_OF = dict((n, checks) for n, _s, checks in CAPS)


def evaluate(layout, namespaces=None):
    crs = lay.aggregate(layout["cluster_roles"])
    index = holders.RbacIndex(crs, layout["roles"], layout["cluster_role_bindings"], layout["role_bindings"], CHECKS)
    return dict(layout, cluster_roles=crs), holders.Evaluation(index, CAPS, namespaces)


def bound_subjects(layout):
    """Every subject named in a binding, normalised as RBAC reads it (each form as written)."""
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


def truth_map(lists, subject, checks, namespace):
    """{check label: True or the names}: what the brute-force authorizer allows the subject, per check
    (without a name; else for which of every name a rule can name)."""
    user, groups = lay.oracle_identity(subject._asdict())
    out = {}
    for c in checks:
        if lay.brute_force(lists, user, groups, c.verb, c.group, c.resource, c.subresource, namespace):
            out[holders.check_label(c)] = True
            continue
        names = frozenset(n for n in lay.ALL_NAMES
                          if lay.brute_force(lists, user, groups, c.verb, c.group, c.resource, c.subresource,
                                             namespace, n))
        if names:
            out[holders.check_label(c)] = names
    return out


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


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layout=lay.layouts("p", NAMESPACES))
def test_findings_say_exactly_what_each_subject_holds(layout):
    """Issue 19: holding any check of a capability is holding part of it. For every subject (every form
    it is bound as), capability, place and check: what the findings say it holds (holders.held: the
    union of the findings of it and its populations there and in every namespace, full and partial)
    equals what the brute-force authorizer allows, without a name and for every name a rule names."""
    lists, ev = evaluate(layout)
    asked = 0
    for s in bound_subjects(lists):
        for cap, scope, checks in CAPS:
            for ns in [""] if scope == "cluster" else [""] + NAMESPACES:
                want = truth_map(lists, s, checks, ns)
                got = holders.held(ev.findings, s, cap, ns, checks)
                assert got == want, (s, cap, ns, want, got, [f for f in ev.findings if f["capability"] == cap])
                assert holders.holds(ev.findings, s, cap, ns) is all(want.get(holders.check_label(c)) is True
                                                                     for c in checks)
                asked += 1
    assert asked


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layout=lay.layouts("p", NAMESPACES))
def test_every_finding_is_what_its_reviews_ask(layout):
    """Each finding's SubjectAccessReviews (what whocan.py sends to confirm it) get the answer the
    finding stands for: allowed for every check it holds (for each object a partial one is limited
    to), denied without a name for what a partial one holds for named objects only or not at all; a
    finding lists the bindings through which it holds, and those bindings name it or a group its
    identity carries; a partial finding says what it holds and lacks."""
    lists, ev = evaluate(layout)
    for f in ev.findings:
        for r, expect in f["_reviews"]:
            a = r["resourceAttributes"]
            assert lay.brute_force(lists, r.get("user", ""), r["groups"], a["verb"], a["group"], a["resource"],
                                   a.get("subresource", ""), a.get("namespace", ""), a.get("name", "")) is expect, \
                (f, r, expect)
        subject = holders.subject_of(f)
        checks = [c for n, _s, cs in CAPS if n == f["capability"] for c in cs]
        assert truth(lists, subject, checks, f["namespace"]) is (not f["partial"])
        assert f["via"], f
        if f["through"] == "own":
            assert any(v["own"] for v in f["via"]), f
        if f["partial"]:
            assert f["holds"] and {h["check"] for h in f["holds"]} | set(f["lacks"]) == \
                {holders.check_label(c) for c in checks}
            assert f["resource_names"] == sorted({n for h in f["holds"] for n in h["resource_names"]})
        assert (f["everyone"] != "") == (subject.kind == "Group" and holders.is_everyone(subject.name))
        assert subject == holders.canonical(subject)  # a principal, never a second form of one


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
    # every authenticated user holds part of it (get VMIs): a partial holder (issue 19)
    (everyone,) = find(findings, "vm.view", "x", "Group system:authenticated")
    assert everyone["partial"] and [h["check"] for h in everyone["holds"]] == ["get kubevirt.io/virtualmachineinstances"]


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
    assert f["holds"] == [{"check": "create export.kubevirt.io/virtualmachineexports", "resource_names": ["prod-db"]}]
    assert [(r["resourceAttributes"].get("name"), expect) for r, expect in f["_reviews"]] == [
        (None, False), ("prod-db", True)]
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


# ------------------------------------------------------ partial holders (issue 19, item 2)


SUB = "subresources.kubevirt.io"


def sa(ns, name):
    return {"kind": "ServiceAccount", "name": name, "namespace": ns}


def test_a_service_account_with_only_the_serial_console_is_a_partial_holder():
    """A ClusterRoleBinding of a role with only virtualmachineinstances/console to a ServiceAccount: before,
    nobody held vm.console (it needs console and vnc), so the ServiceAccount was in no list."""
    findings = run([cr("console-only", [{"apiGroups": [SUB], "resources": ["virtualmachineinstances/console"],
                                         "verbs": ["get"]}])],
                   crbs=[crb("serial", "console-only", sa("ci", "robot"))])
    (f,) = find(findings, "vm.console", "", "ServiceAccount ci/robot")
    assert f["partial"] and f["through"] == "own" and f["scope"] == "all-namespaces"
    assert f["holds"] == [{"check": "get subresources.kubevirt.io/virtualmachineinstances/console",
                           "resource_names": []}]
    assert f["lacks"] == ["get subresources.kubevirt.io/virtualmachineinstances/vnc"]
    assert [(v["kind"], v["name"], v["grants"]) for v in f["via"]] == [
        ("ClusterRoleBinding", "serial", ["get subresources.kubevirt.io/virtualmachineinstances/console"])]
    # confirmed by asking: console allowed, vnc denied
    assert [(r["resourceAttributes"]["subresource"], expect) for r, expect in f["_reviews"]] == [
        ("console", True), ("vnc", False)]
    assert not holders.holds(findings, Subject("ServiceAccount", "robot", "ci"), "vm.console", "")
    assert holders.held(findings, Subject("ServiceAccount", "robot", "ci"), "vm.console", "x",
                        [c for n, _s, cs in CAPS if n == "vm.console" for c in cs]) == {
        "get subresources.kubevirt.io/virtualmachineinstances/console": True}
    assert "only get subresources.kubevirt.io/virtualmachineinstances/console" == holders.holds_text(f)


def test_only_stop_is_part_of_vm_power_and_everyone_holding_part_is_reported_once():
    findings = run([cr("stopper", [{"apiGroups": [SUB], "resources": ["virtualmachines/stop"], "verbs": ["update"]}])],
                   rbs=[rb("x", "stop-all", "stopper", group("system:authenticated")),
                        rb("x", "stop-ci", "stopper", user("ci-bot"))])
    (f,) = find(findings, "vm.power", "x", "Group system:authenticated")
    assert f["partial"] and [h["check"] for h in f["holds"]] == ["update subresources.kubevirt.io/virtualmachines/stop"]
    # a user who holds it only because everyone does is not listed; one whose own binding grants it is
    assert not find(findings, "vm.power", "x", "User someone")
    (own,) = find(findings, "vm.power", "x", "User ci-bot")
    assert own["partial"] and own["through"] == "own" and [v["name"] for v in own["via"] if v["own"]] == ["stop-ci"]


def test_parts_from_two_bindings_make_a_partial_then_a_full_holder():
    start = {"apiGroups": [SUB], "resources": ["virtualmachines/start"], "verbs": ["update"]}
    stop = {"apiGroups": [SUB], "resources": ["virtualmachines/stop", "virtualmachines/restart",
                                              "virtualmachineinstances/softreboot"], "verbs": ["update"]}
    findings = run([cr("start", [start]), cr("stop", [stop])],
                   rbs=[rb("x", "a", "start", user("u")), rb("x", "b", "stop", group("ops"))])
    (f,) = find(findings, "vm.power", "x", "User u")
    assert f["partial"] and len(f["holds"]) == 1
    (g,) = find(findings, "vm.power", "x", "Group ops")
    assert g["partial"] and len(g["holds"]) == len(CHECKS_OF["vm.power"]) - 1
    findings = run([cr("start", [start]), cr("stop", [stop])],
                   rbs=[rb("x", "a", "start", user("u")), rb("x", "b", "stop", group("system:authenticated"))])
    (f,) = find(findings, "vm.power", "x", "User u")
    assert not f["partial"] and f["through"] == "membership"


# ---------------------------------------------------------- subject forms (issue 19, item 3)


def test_a_service_account_bound_as_a_user_and_through_its_namespaces_group_is_one_principal():
    """Bound as ``User system:serviceaccount:ci:robot`` (get/list VMs) and through
    ``system:serviceaccounts:ci`` (get VMIs): before, who-can saw a User without the ServiceAccount
    groups and nobody holding vm.view. Now the ServiceAccount holds it, through both bindings."""
    findings = run([cr("vms", [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"],
                                "verbs": ["get", "list"]}]),
                    cr("vmis", [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachineinstances"],
                                 "verbs": ["get"]}])],
                   crbs=[crb("as-user", "vms", user("system:serviceaccount:ci:robot")),
                         crb("ci-sas", "vmis", group("system:serviceaccounts:ci"))])
    (f,) = find(findings, "vm.view", "", "ServiceAccount ci/robot")
    assert not f["partial"] and f["through"] == "membership"
    assert f["as_user"] == "system:serviceaccount:ci:robot" and "system:serviceaccounts:ci" in f["as_groups"]
    assert sorted((v["name"], v["subject"], v["own"]) for v in f["via"]) == [
        ("as-user", "User system:serviceaccount:ci:robot", True),
        ("ci-sas", "Group system:serviceaccounts:ci", False)]
    assert not [x for x in findings if x["subject"].startswith("User system:serviceaccount:")]
    assert holders.holds(findings, Subject("User", "system:serviceaccount:ci:robot", ""), "vm.view", "")


def test_subject_forms_are_principals():
    assert holders.canonical(Subject("User", "system:serviceaccount:ci:robot", "")) == \
        Subject("ServiceAccount", "robot", "ci")
    for name in ("system:serviceaccount:ci", "system:serviceaccount:ci:robot:x", "system:serviceaccount:Ci:robot",
                 "system:serviceaccount::robot", "system:serviceaccounts:ci", "System:serviceaccount:ci:robot",
                 "system:serviceaccount:ci:Robot", "system:node:worker-1"):
        assert holders.canonical(Subject("User", name, "")) == Subject("User", name, ""), name
    group_form = Subject("Group", "system:serviceaccount:ci:robot", "")  # nobody's group: a Group
    assert holders.canonical(group_form) == group_form
    assert holders.identity(Subject("User", "system:serviceaccount:ci:robot", "")) == \
        holders.identity(Subject("ServiceAccount", "robot", "ci"))
    assert holders.identity(Subject("User", "system:node:worker-1", "")) == ("system:node:worker-1",
                                                                           ("system:authenticated",))
    assert holders.binding_subject({"kind": "ServiceAccount", "name": "ci"}, "x") == Subject("ServiceAccount", "ci", "x")
    assert holders.binding_subject({"kind": "ServiceAccount", "name": "ci", "namespace": ""}, "x") == \
        Subject("ServiceAccount", "ci", "x")
    # names are case-sensitive, as RBAC compares them
    findings = run([cr("a", ADMIN)], rbs=[rb("x", "b", "a", user("Alice"))])
    assert find(findings, "vm.delete", "x", "User Alice") and not holders.holds(findings, Subject("User", "alice", ""),
                                                                                 "vm.delete", "x")


def test_a_binding_of_the_old_probe_user_is_that_users_alone():
    """Attack pass (session 4; session 5): a Group was asked as the user system:vmo-rbac:group-probe, and a tenant
    who bound a role to that user in its namespace made every group hold it there. A Group is now asked by its
    groups alone: that name is a user like any other, and so is a user named like a group."""
    old_probe = "system:vmo-rbac:group-probe"
    findings = run([cr("a", ADMIN), cr("v", VIEW)], rbs=[rb("t", "tenant", "a", user(old_probe)),
                                                         rb("t", "named", "a", user("ops")),
                                                         rb("t", "ops", "v", group("ops"))])
    assert not find(findings, "vm.delete", "t", "Group system:authenticated")
    assert not find(findings, "vm.delete", "t", "Group ops")  # ops holds vm.view there, nothing more
    assert find(findings, "vm.view", "t", "Group ops")[0]["through"] == "own"
    (f,) = find(findings, "vm.delete", "t", "User " + old_probe)
    assert [v["name"] for v in f["via"]] == ["tenant"] and not f["everyone"] and f["as_user"] == old_probe
    (f,) = find(findings, "vm.delete", "t", "User ops")
    assert [v["name"] for v in f["via"]] == ["named"]
    (g,) = find(findings, "vm.view", "t", "Group ops")
    assert g["as_user"] == "" and all("user" not in spec for spec, _e in g["_reviews"])
