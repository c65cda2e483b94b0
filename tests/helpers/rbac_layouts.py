"""Random RBAC layouts (hypothesis): the input of the who-can property and differential tests.

A layout is what a cluster's RBAC could hold: ClusterRoles and Roles with random rules (wildcards
``*`` and ``*/subresource``, resourceNames, non-resource URLs, rules shaped like the persona
roles), aggregated ClusterRoles and the roles that feed them by label, and bindings to Users,
Groups and ServiceAccounts across namespaces, including the everyone groups, the persona roles,
the standard roles and roles that do not exist. Every subject of the pool appears in some binding.

``layouts(prefix, namespaces)`` draws one layout whose object names start with ``prefix`` (so that
the integration tests can create and delete it on a cluster); ``aggregate(layout, roles)`` fills the
aggregated ClusterRoles' rules as the controller manager would, for the pure tests. ``brute_force``
is an independent RBAC authorizer written the way the Kubernetes one is, for the unit tests.
"""

from __future__ import annotations

import copy
import re

from hypothesis import strategies as st

RBAC = "rbac.authorization.k8s.io"

VERBS = ["get", "list", "create", "update", "delete", "patch", "watch", "*"]
GROUPS = ["kubevirt.io", "subresources.kubevirt.io", "clone.kubevirt.io", "snapshot.kubevirt.io",
          "spectrocloud.com", "", RBAC, "apps", "*"]
RESOURCES = [
    "virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations",
    "virtualmachineinstances/console", "virtualmachineinstances/vnc", "virtualmachines/start",
    "virtualmachines/stop", "virtualmachines/restart", "virtualmachines/migrate", "virtualmachineclones",
    "virtualmachinesnapshots", "vmtemplates", "namespaces", "nodes", "clusterroles", "pods", "*",
    "*/console", "*/vnc", "*/start", "*/stop", "*/restart", "*/migrate", "virtualmachines/*",
    "pods/log", "*/log",
]
NAMES = [["vm-a"], ["vm-a", "vm-b"], ["tmpl-1"]]


def _matrix_resources():
    """Every API group and resource[/subresource] the capability matrix asks about (the matrix is data:
    capabilities added to it reach the random rules too), in matrix order."""
    from ansible_collections.vmo.rbac.plugins.module_utils._core import personas

    groups, resources = [], []
    for cap in personas.default_matrix("vmo")["capabilities"].values():
        for c in cap["checks"]:
            res = c["resource"] + ("/" + c["subresource"] if c["subresource"] else "")
            if c["group"] not in groups:
                groups.append(c["group"])
            if res not in resources:
                resources.append(res)
    return groups, resources


for _g in _matrix_resources()[0]:
    if _g not in GROUPS:
        GROUPS.insert(-1, _g)
for _r in _matrix_resources()[1]:
    if _r not in RESOURCES:
        RESOURCES.append(_r)

# Rules shaped like whole capabilities, so that full holders are common, not rare.
SHAPED = [
    {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "virtualmachineinstances"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["subresources.kubevirt.io"],
     "resources": ["virtualmachineinstances/console", "virtualmachineinstances/vnc"], "verbs": ["get"]},
    {"apiGroups": ["subresources.kubevirt.io"],
     "resources": ["virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart"], "verbs": ["update"]},
    {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "virtualmachineinstancemigrations"],
     "verbs": ["create", "delete"]},
    {"apiGroups": ["subresources.kubevirt.io"], "resources": ["*/migrate", "*/console", "*/vnc"],
     "verbs": ["*"]},
    {"apiGroups": ["clone.kubevirt.io", "snapshot.kubevirt.io"],
     "resources": ["virtualmachineclones", "virtualmachinesnapshots"], "verbs": ["create"]},
    {"apiGroups": ["spectrocloud.com"], "resources": ["vmtemplates"], "verbs": ["create", "update", "delete"]},
    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
    {"apiGroups": ["", RBAC], "resources": ["namespaces", "nodes", "clusterroles"], "verbs": ["create", "update"]},
    {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["delete", "get", "list"],
     "resourceNames": ["vm-a"]},
    # halves of capabilities, so that subjects hold some only together with a group's binding
    {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["get", "list"]},
    {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachineinstances"], "verbs": ["get"]},
    {"apiGroups": ["spectrocloud.com"], "resources": ["vmtemplates"], "verbs": ["create", "update"]},
    {"apiGroups": ["spectrocloud.com"], "resources": ["vmtemplates"], "verbs": ["delete"]},
    # pod logs: a subresource discovery knows, granted exactly or through */log
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]},
    # single checks of a capability: partial holders (issue 19)
    {"apiGroups": ["subresources.kubevirt.io"], "resources": ["virtualmachineinstances/console"], "verbs": ["get"]},
    {"apiGroups": ["subresources.kubevirt.io"], "resources": ["virtualmachines/stop"], "verbs": ["update"]},
    {"apiGroups": ["subresources.kubevirt.io"], "resources": ["virtualmachines/start", "virtualmachines/restart"],
     "verbs": ["update"], "resourceNames": ["vm-a", "vm-b"]},
    {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["get", "list"],
     "resourceNames": ["vm-b"]},
]
# Every object name a rule of a layout names, and one that none does (for the per-name questions).
ALL_NAMES = sorted({n for names in NAMES for n in names} | {"vm-a", "vm-b"}) + ["zz-unnamed"]
BUILTIN_ROLES = ["view", "edit", "admin", "cluster-admin", "spectro-vm-viewer", "spectro-vm-user",
                 "spectro-vm-power-user", "spectro-vm-admin",
                 # KubeVirt's own (the release the differential installs; kubevirt.io:migrate only since v1.5.0)
                 "kubevirt.io:view", "kubevirt.io:edit", "kubevirt.io:admin", "kubevirt.io:migrate"]
# Roles may be named like ClusterRoles: a RoleBinding's roleRef says which kind it means.
ROLE_NAMES_LIKE_CLUSTER_ROLES = ["view", "edit", "spectro-vm-admin", "kubevirt.io:edit"]
EVERYONE = ["system:authenticated", "system:serviceaccounts"]
AGG_KEY = "vmo-diff.example/agg-%d-%s"


def subject_pool(prefix, namespaces):
    """The subjects a layout binds: Users, Groups, ServiceAccounts and everyone groups, and every other
    form a subject can take (issue 19): a ServiceAccount named as a User (the same principal as sa0), a
    Group named like a ServiceAccount (singular: nobody's group), a User named like a node, a User
    whose name differs from another's in case only, and a Group named like the nodes' group."""
    ns = namespaces
    pool = [{"kind": "User", "name": "%s-u%d" % (prefix, i)} for i in range(8)]
    pool += [{"kind": "Group", "name": "%s-g%d" % (prefix, i)} for i in range(4)]
    pool += [{"kind": "ServiceAccount", "name": "sa%d" % i, "namespace": ns[i % len(ns)]} for i in range(5)]
    pool += [{"kind": "Group", "name": g} for g in EVERYONE + ["system:serviceaccounts:" + ns[1 % len(ns)]]]
    pool += [{"kind": "User", "name": "system:serviceaccount:%s:sa0" % ns[0]},
             {"kind": "Group", "name": "system:serviceaccount:%s:sa1" % ns[1 % len(ns)]},
             {"kind": "User", "name": "system:node:%s-node0" % prefix},
             {"kind": "User", "name": "%s-U0" % prefix},
             {"kind": "Group", "name": "system:nodes"}]
    return pool


def api_subject(s, omit_api_group=False):
    """A binding subject as the API takes it; ``omit_api_group``: without ``apiGroup`` (the API server
    defaults it: rbac.authorization.k8s.io for User and Group, "" for ServiceAccount)."""
    out = {"kind": s["kind"], "name": s["name"]}
    if s["kind"] == "ServiceAccount":
        if s.get("namespace"):
            out["namespace"] = s["namespace"]
        out["apiGroup"] = ""
    else:
        out["apiGroup"] = RBAC
    if omit_api_group:
        del out["apiGroup"]
    return out


@st.composite
def random_rule(draw, namespaced=False):
    if not namespaced and draw(st.integers(0, 19)) == 0:
        return {"verbs": ["get"], "nonResourceURLs": [draw(st.sampled_from(["/healthz", "/metrics", "*"]))]}
    if draw(st.booleans()):
        return copy.deepcopy(draw(st.sampled_from(SHAPED)))
    rule = {
        "apiGroups": draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True)),
        "resources": draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=4, unique=True)),
        "verbs": draw(st.lists(st.sampled_from(VERBS), min_size=1, max_size=4, unique=True)),
    }
    if draw(st.integers(0, 5)) == 0:
        rule["resourceNames"] = list(draw(st.sampled_from(NAMES)))
    return rule


@st.composite
def layouts(draw, prefix, namespaces):
    """One layout: {cluster_roles, roles, cluster_role_bindings, role_bindings, subjects}."""
    aggregates = draw(st.integers(0, 2))
    cluster_roles = []
    for i in range(draw(st.integers(2, 6))):
        labels = {}
        for k in range(aggregates):
            if draw(st.integers(0, 2)) == 0:
                labels[AGG_KEY % (k, prefix)] = "true"
        if draw(st.integers(0, 9)) == 0:
            labels["rbac.authorization.k8s.io/aggregate-to-%s" % draw(st.sampled_from(["view", "edit"]))] = "true"
        role = {"apiVersion": RBAC + "/v1", "kind": "ClusterRole",
                "metadata": {"name": "%s-cr%d" % (prefix, i), "labels": labels},
                "rules": draw(st.lists(random_rule(), min_size=1, max_size=4))}
        cluster_roles.append(role)
    for k in range(aggregates):
        cluster_roles.append({
            "apiVersion": RBAC + "/v1", "kind": "ClusterRole",
            "metadata": {"name": "%s-agg%d" % (prefix, k), "labels": {}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {AGG_KEY % (k, prefix): "true"}}]},
            "rules": []})
    roles = []
    for ns in namespaces:
        for i in range(draw(st.integers(0, 2))):
            name = "%s-r%d" % (prefix, i)
            if draw(st.integers(0, 3)) == 0:  # a Role named like a ClusterRole
                name = draw(st.sampled_from(ROLE_NAMES_LIKE_CLUSTER_ROLES))
                if any(r["metadata"]["name"] == name and r["metadata"]["namespace"] == ns for r in roles):
                    continue
            roles.append({"apiVersion": RBAC + "/v1", "kind": "Role",
                          "metadata": {"name": name, "namespace": ns},
                          "rules": draw(st.lists(random_rule(namespaced=True), min_size=1, max_size=3))})
    pool = subject_pool(prefix, namespaces)
    cr_names = [r["metadata"]["name"] for r in cluster_roles] + BUILTIN_ROLES + ["%s-missing" % prefix]
    crbs, rbs = [], []
    for i in range(draw(st.integers(8, 20))):
        cluster_wide = draw(st.integers(0, 3)) == 0
        chosen = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=4, unique=True))
        subjects = []
        for j in chosen:
            s = dict(pool[j])
            # a RoleBinding may name a ServiceAccount of its own namespace without a namespace
            if s["kind"] == "ServiceAccount" and not cluster_wide and draw(st.integers(0, 5)) == 0:
                s = dict(s, namespace=None)
            subjects.append(s)
        bare = draw(st.booleans())  # apiGroup left for the API server to default
        if cluster_wide:
            crbs.append({"apiVersion": RBAC + "/v1", "kind": "ClusterRoleBinding",
                         "metadata": {"name": "%s-crb%d" % (prefix, i)},
                         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole",
                                     "name": draw(st.sampled_from(cr_names))},
                         "subjects": [api_subject(s, bare) for s in subjects]})
            continue
        ns = draw(st.sampled_from(namespaces))
        ns_roles = [r["metadata"]["name"] for r in roles if r["metadata"]["namespace"] == ns]
        if ns_roles and draw(st.booleans()):
            ref = {"apiGroup": RBAC, "kind": "Role", "name": draw(st.sampled_from(ns_roles + ["%s-nope" % prefix]))}
        else:
            ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": draw(st.sampled_from(cr_names))}
        fixed = []
        for s in subjects:
            if s["kind"] == "ServiceAccount" and s.get("namespace") is None:
                s = {"kind": "ServiceAccount", "name": s["name"]}  # means: this binding's namespace
            fixed.append(api_subject(s, bare))
        rbs.append({"apiVersion": RBAC + "/v1", "kind": "RoleBinding",
                    "metadata": {"name": "%s-rb%d" % (prefix, i), "namespace": ns},
                    "roleRef": ref, "subjects": fixed})
    # every subject of the pool appears in some binding (to a role without VM rules)
    cluster_roles.append({"apiVersion": RBAC + "/v1", "kind": "ClusterRole",
                          "metadata": {"name": "%s-noop" % prefix, "labels": {}},
                          "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    crbs.append({"apiVersion": RBAC + "/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": "%s-pool" % prefix},
                 "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "%s-noop" % prefix},
                 "subjects": [api_subject(s) for s in pool]})
    return {"cluster_roles": cluster_roles, "roles": roles, "cluster_role_bindings": crbs,
            "role_bindings": rbs, "subjects": pool, "namespaces": list(namespaces)}


def aggregate(cluster_roles):
    """The ClusterRoles with their aggregated rules filled in, as the controller manager does
    (to a fixed point, for roles that aggregate aggregated roles)."""
    roles = copy.deepcopy(cluster_roles)
    for _ in range(5):
        changed = False
        for r in roles:
            selectors = (r.get("aggregationRule") or {}).get("clusterRoleSelectors")
            if not selectors:
                continue
            rules = []
            for other in roles:
                if other is r:
                    continue
                labels = other["metadata"].get("labels") or {}
                if any(all(labels.get(k) == v for k, v in (s.get("matchLabels") or {}).items()) for s in selectors):
                    for rule in other.get("rules") or []:
                        if rule not in rules:
                            rules.append(rule)
            if rules != r.get("rules"):
                r["rules"] = rules
                changed = True
        if not changed:
            break
    return roles


# ---------------------------------------------------------------- a brute-force authorizer


def _rule_allows(rule, verb, group, resource, subresource, name, star_subresource=True):
    if not any(v in ("*", verb) for v in rule.get("verbs") or []):
        return False
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False
    if not any(g in ("*", group) for g in rule.get("apiGroups") or []):
        return False
    combined = resource + ("/" + subresource if subresource else "")
    ok = False
    for r in rule.get("resources") or []:
        if r == "*" or r == combined:
            ok = True
        elif star_subresource and subresource and len(r) == len(subresource) + 2 and r.startswith("*/") \
                and r.endswith(subresource):
            ok = True
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    return not names or name in names


def _applies(subject, user, groups, binding_namespace):
    kind = subject.get("kind")
    if kind == "User":
        return subject.get("name") == user
    if kind == "Group":
        return subject.get("name") in groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return bool(ns) and user == "system:serviceaccount:%s:%s" % (ns, subject.get("name"))
    return False


def brute_force(lists, user, groups, verb, group, resource, subresource="", namespace="", name="",
                star_subresource=True):
    """What the RBAC authorizer answers, visiting every binding (no index, no cache).
    ``star_subresource=False``: as if rules had no ``*/subresource`` wildcard (kubectl-who-can's view)."""
    crs = {r["metadata"]["name"]: r for r in lists["cluster_roles"]}
    rs = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in lists["roles"]}
    candidates = [(b, "") for b in lists["cluster_role_bindings"]]
    if namespace:
        candidates += [(b, b["metadata"]["namespace"]) for b in lists["role_bindings"]
                       if b["metadata"]["namespace"] == namespace]
    for b, bns in candidates:
        if not any(_applies(s, user, groups, bns) for s in b.get("subjects") or []):
            continue
        ref = b["roleRef"]
        if ref["kind"] == "ClusterRole":
            role = crs.get(ref["name"])
        elif bns:
            role = rs.get((bns, ref["name"]))
        else:
            role = None
        if role and any(_rule_allows(r, verb, group, resource, subresource, name, star_subresource)
                        for r in role.get("rules") or []):
            return True
    return False


_SA_USER = re.compile(r"^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$")


def oracle_principal(subject):
    """The principal a pool subject is (written out independently of holders.canonical): a User named
    system:serviceaccount:<ns>:<name> is that ServiceAccount, and its token carries that user name."""
    if subject["kind"] == "User":
        m = _SA_USER.match(subject["name"])
        if m and len(m.group(1)) <= 63:
            return {"kind": "ServiceAccount", "name": m.group(3), "namespace": m.group(1)}
    return subject


def oracle_identity(subject):
    """(user, groups) of a pool subject, written out independently of holders.identity."""
    subject = oracle_principal(subject)
    kind, name = subject["kind"], subject["name"]
    if kind == "ServiceAccount":
        ns = subject["namespace"]
        return "system:serviceaccount:%s:%s" % (ns, name), [
            "system:authenticated", "system:serviceaccounts", "system:serviceaccounts:" + ns]
    if kind == "User":
        return name, ["system:authenticated"]
    if name == "system:authenticated":
        return "", ["system:authenticated"]
    if name == "system:serviceaccounts":
        return "", ["system:authenticated", "system:serviceaccounts"]
    if name.startswith("system:serviceaccounts:"):
        return "", ["system:authenticated", "system:serviceaccounts", name]
    return "", sorted(["system:authenticated", name])


def oracle_populations(subject):
    """The everyone groups a subject's identity carries, as group subjects (written out
    independently of holders.populations): whoever is in them holds what they hold."""
    user, groups = oracle_identity(subject)
    if subject["kind"] == "Group":
        groups = [g for g in groups if g != subject["name"]]
    return [{"kind": "Group", "name": g} for g in groups
            if g in ("system:authenticated", "system:serviceaccounts") or g.startswith("system:serviceaccounts:")]


def label(subject):
    subject = oracle_principal(subject)
    if subject["kind"] == "ServiceAccount":
        return "ServiceAccount %s/%s" % (subject["namespace"], subject["name"])
    return "%s %s" % (subject["kind"], subject["name"])


def worked_layout(prefix, namespaces):
    """A fixed layout with one case of each kind of difference with kubectl-who-can that the random
    layouts find only now and then: holders through membership (a subject's own binding for part
    of vm.view, an everyone group's for the rest; a ServiceAccount likewise with its namespace's
    group) and a grant through ``*/log``; and, for the validate differential, a declared viewer with
    a hand-made grant limited to one named VM."""
    ns0, ns1, ns2 = namespaces[:3]

    def cr(name, rules):
        return {"apiVersion": RBAC + "/v1", "kind": "ClusterRole",
                "metadata": {"name": "%s-%s" % (prefix, name), "labels": {}}, "rules": rules}

    def rb(name, ns, role, subject):
        return {"apiVersion": RBAC + "/v1", "kind": "RoleBinding", "metadata": {"name": "%s-%s" % (prefix, name),
                                                                              "namespace": ns},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "%s-%s" % (prefix, role)},
                "subjects": [api_subject(subject)]}

    alice = {"kind": "User", "name": prefix + "-alice"}
    bob = {"kind": "User", "name": prefix + "-bob"}
    robot = {"kind": "ServiceAccount", "name": "robot", "namespace": ns2}
    everyone = {"kind": "Group", "name": "system:authenticated"}
    sa_group = {"kind": "Group", "name": "system:serviceaccounts:" + ns2}
    return {
        "cluster_roles": [
            cr("vms", [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["get", "list"]}]),
            cr("vmis", [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachineinstances"], "verbs": ["get"]}]),
            cr("logs", [{"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]}]),
            cr("one-vm", [{"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines"], "verbs": ["delete"],
                           "resourceNames": ["vm-a"]}]),
        ],
        "roles": [],
        "cluster_role_bindings": [],
        "role_bindings": [rb("alice", ns0, "vms", alice), rb("everyone", ns0, "vmis", everyone),
                          rb("bob", ns1, "logs", bob), rb("bob-one-vm", ns1, "one-vm", bob),
                          rb("robot", ns2, "vms", robot), rb("robots", ns2, "vmis", sa_group)],
        "subjects": [alice, bob, robot, everyone, sa_group],
        "namespaces": list(namespaces),
        # bob, a viewer in ns1 by the declaration, may delete vm-a there by hand (resourceNames): validate
        # must fail on it (issue 19, item 5)
        "declaration": [{"persona": "viewer", "users": [bob["name"]], "namespaces": [ns1]}],
    }


# ------------------------------------------------------------------- declarations (validate)


@st.composite
def declarations(draw, layout, namespaces):
    """A declaration (vmo_role_binding's ``bindings``) over a layout's subjects, for the validate
    differential: personas of the vmo role set and custom roles (the layout's ClusterRoles, aggregated
    ones included, KubeVirt's, and the layout's Roles), cluster-wide or in
    some namespaces. Subjects in every form a declaration accepts (a ServiceAccount named as a User is
    refused by it; the everyone groups and system: names need allow_privileged, which the test gives)."""
    pool = [s for s in layout["subjects"]
            if not (s["kind"] == "User" and s["name"].startswith("system:serviceaccount:"))]
    crs = [r["metadata"]["name"] for r in layout["cluster_roles"] if not r["metadata"]["name"].endswith("-noop")]
    crs += ["kubevirt.io:view", "kubevirt.io:edit"]  # (a missing role: vmo_role_binding refuses to bind it)
    entries = []
    for _ in range(draw(st.integers(2, 5))):
        kind = draw(st.sampled_from(["persona", "persona", "persona", "cluster_role", "cluster_role", "role"]))
        entry = {}
        if kind == "role":
            if not layout["roles"]:
                continue
            r = draw(st.sampled_from(layout["roles"]))
            entry["role"] = r["metadata"]["name"]
            entry["namespaces"] = [r["metadata"]["namespace"]]
        else:
            if kind == "persona":
                entry["persona"] = draw(st.sampled_from(["viewer", "user", "power-user", "admin"]))
            else:
                entry["cluster_role"] = draw(st.sampled_from(crs))
            if draw(st.integers(0, 2)):
                entry["namespaces"] = draw(st.lists(st.sampled_from(namespaces), min_size=1, max_size=2, unique=True))
        for s in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique_by=label)):
            if s["kind"] == "ServiceAccount":
                entry.setdefault("service_accounts", []).append("%s/%s" % (s["namespace"], s["name"]))
            else:
                entry.setdefault("users" if s["kind"] == "User" else "groups", []).append(s["name"])
        entries.append(entry)
    return entries


def rule_grants(rules, verb, group, resource, subresource):
    """What rules grant for one check, written out with the brute-force matcher: True (any object), the
    frozenset of the object names they are limited to, or None."""
    names = set()
    for rule in rules or []:
        if _rule_allows(rule, verb, group, resource, subresource, ""):
            return True
        for n in rule.get("resourceNames") or []:
            if _rule_allows(rule, verb, group, resource, subresource, n):
                names.add(n)
    return frozenset(names) or None


def named_objects(lists, verb, group, resource, subresource):
    """Every object name some rule of any role names for a check (what a per-object question can find)."""
    out = set()
    for r in lists["cluster_roles"] + lists["roles"]:
        for rule in r.get("rules") or []:
            for n in rule.get("resourceNames") or []:
                if _rule_allows(rule, verb, group, resource, subresource, n):
                    out.add(n)
    return sorted(out)
