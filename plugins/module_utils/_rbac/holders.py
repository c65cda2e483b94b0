# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who holds each VM capability: the local RBAC evaluation behind vmo_rbac_access_info and the
exclusive audit of vmo_rbac_validate.

Pure: no Ansible, no network. In: the four RBAC lists as the API server returns them
(ClusterRoles, Roles, ClusterRoleBindings, RoleBindings) and the capability matrix. Out: for each
capability and each place, the principals that hold it, through which bindings, and the
SubjectAccessReviews that confirm each finding. The API server is the judge (whocan.py sends the
reviews and keeps only what it confirms); this evaluation only says whom to ask.

RBAC semantics, as the API server's RBAC authorizer applies them (``rbac.go``, ``rbacv1helpers``):

- a rule matches a verb, an API group and a resource if each list holds ``*`` or the exact value;
  a subresource request ``virtualmachineinstances/console`` matches the resource
  ``virtualmachineinstances/console``, ``*`` or ``*/console`` (there is no ``resource/*``);
- a rule with ``resourceNames`` matches only requests for those names: a holder through such a
  rule is reported as *partial*, never as holding the capability;
- ClusterRoles are evaluated with their rules as stored: for an aggregated role (``aggregationRule``)
  those are the rules the controller manager merged in, exactly what the authorizer reads; the
  ClusterRoles whose labels select them are named as ``aggregated_from``;
- a ClusterRoleBinding applies everywhere; a RoleBinding in its namespace only, with its roleRef a
  ClusterRole or a Role of that namespace; a ServiceAccount subject of a RoleBinding without a
  namespace means the binding's namespace; a binding to a role that does not exist grants nothing.

Principals. Every subject named in any binding, asked as ``identity()`` says (a User with
``system:authenticated``; a Group by its groups alone, without a user (what membership in that group
and ``system:authenticated`` grants, with no user name a binding could name); a ServiceAccount with
the three groups the API server gives it), and the *everyone* groups, which are reported as such
(``system:authenticated``: every authenticated user; ``system:serviceaccounts``: every
ServiceAccount; ``system:serviceaccounts:<ns>``: every ServiceAccount of a namespace;
``system:unauthenticated``: every anonymous request), never expanded to the users one happens to
know. Each principal belongs to the next wider everyone group (its *population*): a User to
``system:authenticated``, a ServiceAccount to ``system:serviceaccounts:<ns>``, that one to
``system:serviceaccounts``, that one to ``system:authenticated``.

Places. ``""`` is cluster scope for cluster-scoped capabilities and "in every namespace" for
namespaced ones (where only ClusterRoleBindings count, as for a SubjectAccessReview without a
namespace); then each namespace asked for (by default every namespace that holds a RoleBinding:
anywhere else the answer is the ``""`` one).

Which principal is listed where (so that each holder appears once, with the bindings to remove):
principal P is listed for capability C at place N when P may do C at N and either

- nothing wider explains it: its population may not do C at N and (N being a namespace) P may not
  do C in every namespace; or
- its own bindings, those that name P itself, grant C at N together (``through: own``) and, N
  being a namespace, not already in every namespace, or its own RoleBindings in N alone grant it
  (so that a RoleBinding is named even when a ClusterRoleBinding grants the same).

A principal listed only by the first reason holds C through its own bindings together with those
of groups it belongs to (``through: membership``). Whether any subject S may do C at N follows
from the list (``holds``): S, or a population S belongs to, is listed at N or at ``""``. The unit
tests prove this against a brute-force evaluator, the integration tests against the API server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import (
    SpecError, Subject, is_dns_label, is_dns_subdomain, subject_label,
)
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import CRB, RB

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
SERVICEACCOUNTS = "system:serviceaccounts"
SA_GROUP_PREFIX = "system:serviceaccounts:"
SA_USER_PREFIX = "system:serviceaccount:"
ANONYMOUS = "system:anonymous"
# The user a Group is asked as: none. A SubjectAccessReview whose spec has groups and no user is valid (the
# API server requires a user or at least one group) and answers what membership in those groups grants; no
# binding can name the empty user (the API server requires a subject's name), so nothing answers for it.
NO_USER = ""

ALL = ""  # the place "every namespace" (namespaced capabilities) or cluster scope

SCOPE_CLUSTER = "cluster"
SCOPE_ALL = "all-namespaces"
SCOPE_NAMESPACE = "namespace"

FULL = True  # a check granted without resourceNames; otherwise a frozenset of resource names

# One binding, normalised: subjects is a tuple of Subject as written (a RoleBinding's ServiceAccount
# without a namespace takes the binding's), principals the same subjects as principals (canonical());
# grants maps a check to FULL or the names it is limited to.
Bind = namedtuple("Bind", "kind namespace name role_kind role_name subjects grants role_key principals")

Check = namedtuple("Check", "verb group resource subresource")


# --------------------------------------------------------------------- subjects


def is_everyone(group):
    """True for the groups every user (or every ServiceAccount, or every anonymous request) is in."""
    return group in (AUTHENTICATED, UNAUTHENTICATED, SERVICEACCOUNTS) or group.startswith(SA_GROUP_PREFIX)


def everyone_label(subject):
    """What an everyone group stands for ("every authenticated user"), or ''."""
    if subject.kind != "Group" or not is_everyone(subject.name):
        return ""
    if subject.name == AUTHENTICATED:
        return "every authenticated user"
    if subject.name == UNAUTHENTICATED:
        return "every unauthenticated (anonymous) request"
    if subject.name == SERVICEACCOUNTS:
        return "every ServiceAccount"
    return "every ServiceAccount in namespace %s" % subject.name[len(SA_GROUP_PREFIX):]


def sa_username(namespace, name):
    return "%s%s:%s" % (SA_USER_PREFIX, namespace, name)


def split_sa_username(name):
    """(namespace, name) of a ServiceAccount's user name ``system:serviceaccount:<ns>:<name>``, or None:
    as the API server's serviceaccount.SplitUsername (two parts, a namespace name and a ServiceAccount
    name). Only such a name is ever a ServiceAccount's: a token of that ServiceAccount carries it."""
    if not isinstance(name, str) or not name.startswith(SA_USER_PREFIX):
        return None
    parts = name[len(SA_USER_PREFIX):].split(":")
    if len(parts) != 2 or not is_dns_label(parts[0]) or not is_dns_subdomain(parts[1]):
        return None
    return parts[0], parts[1]


def canonical(subject):
    """The principal a subject stands for: every form a subject can take is one principal. A User named
    ``system:serviceaccount:<ns>:<name>`` is that ServiceAccount (RBAC matches a ServiceAccount subject by
    exactly that user name, and the API server gives it the ServiceAccount's groups); every other
    subject is itself (names are case-sensitive; a User named like a node, ``system:node:<name>``, is a
    User: see docs/validate.md for what the Node authorizer gives kubelets besides RBAC)."""
    if subject.kind == "User":
        sa = split_sa_username(subject.name)
        if sa is not None:
            return Subject("ServiceAccount", sa[1], sa[0])
    return subject


def identity(subject):
    """(user, groups) a SubjectAccessReview asks as for a subject: what every real member carries.

    A Group is asked by its groups alone (user NO_USER, ``""``): the group and ``system:authenticated``
    (every member of a group an authenticator gives is authenticated); ``system:serviceaccounts:<ns>`` also
    carries ``system:serviceaccounts`` (every member does). ``system:unauthenticated`` (and the user
    ``system:anonymous``) are asked as the anonymous user, without ``system:authenticated``: every member is
    that user. A User named like a ServiceAccount is that ServiceAccount (canonical()).
    """
    subject = canonical(subject)
    kind, name = subject.kind, subject.name
    if kind == "ServiceAccount":
        ns = subject.namespace
        return sa_username(ns, name), (AUTHENTICATED, SERVICEACCOUNTS, SA_GROUP_PREFIX + ns)
    if kind == "User":
        if name == ANONYMOUS:
            return ANONYMOUS, (UNAUTHENTICATED,)
        return name, (AUTHENTICATED,)
    if name == UNAUTHENTICATED:
        return ANONYMOUS, (UNAUTHENTICATED,)
    if name == AUTHENTICATED:
        return NO_USER, (AUTHENTICATED,)
    if name == SERVICEACCOUNTS:
        return NO_USER, (AUTHENTICATED, SERVICEACCOUNTS)
    if name.startswith(SA_GROUP_PREFIX):
        return NO_USER, (AUTHENTICATED, SERVICEACCOUNTS, name)
    return NO_USER, tuple(sorted((AUTHENTICATED, name)))


def population(subject):
    """The next wider everyone group the subject is in (a Group Subject), or None at the top."""
    subject = canonical(subject)
    kind, name = subject.kind, subject.name
    if kind == "ServiceAccount":
        return Subject("Group", SA_GROUP_PREFIX + subject.namespace, "")
    if kind == "User":
        return Subject("Group", UNAUTHENTICATED if name == ANONYMOUS else AUTHENTICATED, "")
    if name in (AUTHENTICATED, UNAUTHENTICATED):
        return None
    if name == SERVICEACCOUNTS:
        return Subject("Group", AUTHENTICATED, "")
    if name.startswith(SA_GROUP_PREFIX):
        return Subject("Group", SERVICEACCOUNTS, "")
    return Subject("Group", AUTHENTICATED, "")


def populations(subject):
    """The subject's populations, narrowest first."""
    out = []
    p = population(subject)
    while p is not None:
        out.append(p)
        p = population(p)
    return out


def _keys(user, groups):
    """The match keys of an identity: what binding subjects it answers to (no user: its groups only)."""
    return ((("u", user),) if user else ()) + tuple(("g", g) for g in groups)


def binding_subject(s, namespace=""):
    """A binding's subject (a dict from the API) as RBAC reads it in a binding of ``namespace`` (``""``
    for a ClusterRoleBinding): a ServiceAccount without a namespace is one of the binding's namespace.
    The kind is kept as written: RBAC matches ``User``, ``Group`` and ``ServiceAccount`` only, exactly
    (the API server refuses other kinds, and defaults ``apiGroup``, which the authorizer never reads)."""
    kind = s.get("kind") or ""
    sns = (s.get("namespace") or "") if kind == "ServiceAccount" else ""
    if kind == "ServiceAccount" and not sns:
        sns = namespace
    return Subject(kind, s.get("name") or "", sns)


def subject_key(subject):
    """The match key of a binding subject (a ServiceAccount is its user name), or None."""
    return _subject_key(subject)


def principal_keys(principal):
    """The match keys of the bindings that apply to a principal: its identity's (_keys); a Group's are its
    groups alone (identity asks it without a user)."""
    return _keys(*identity(principal))


def identity_keys(subject):
    """The match keys a subject's identity answers to (its user name and every group it carries)."""
    user, groups = identity(subject)
    return set(_keys(user, groups))


def _subject_key(subject):
    """The match key of a binding subject (a ServiceAccount is its user name), or None."""
    if subject.kind == "User":
        return ("u", subject.name)
    if subject.kind == "Group":
        return ("g", subject.name)
    if subject.kind == "ServiceAccount" and subject.namespace and subject.name:
        return ("u", sa_username(subject.namespace, subject.name))
    return None


# ------------------------------------------------------------------------ rules


def rule_grant(rule, check):
    """What one PolicyRule grants for a check: FULL, a frozenset of resourceNames, or None."""
    verbs = rule.get("verbs") or ()
    if "*" not in verbs and check.verb not in verbs:
        return None
    groups = rule.get("apiGroups") or ()
    if "*" not in groups and check.group not in groups:
        return None
    combined = check.resource + "/" + check.subresource if check.subresource else check.resource
    star_sub = "*/" + check.subresource if check.subresource else None
    for res in rule.get("resources") or ():
        if res == "*" or res == combined or (star_sub is not None and res == star_sub):
            break
    else:
        return None
    names = rule.get("resourceNames") or ()
    return FULL if not names else frozenset(names)


def merge(a, b):
    """Two grants of one check together."""
    if a is None:
        return b
    if b is None or a is FULL:
        return a
    if b is FULL:
        return b
    return a | b


def rules_grants(rules, checks):
    """{check: FULL or names} for the checks some rule grants."""
    out = {}
    for rule in rules or ():
        for c in checks:
            if out.get(c) is FULL:
                continue
            g = rule_grant(rule, c)
            if g is not None:
                out[c] = merge(out.get(c), g)
    return out


def selector_matches(selector, labels):
    """A metav1.LabelSelector (a dict) against labels; an empty selector matches everything."""
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or ():
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or ()
        if op == "In" and (key not in labels or labels[key] not in values):
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ----------------------------------------------------------------------- matrix


def matrix_checks(matrix, only=None):
    """[(capability, scope, (Check, ...))] in matrix order; ``only``: capability names to keep."""
    out = []
    for name, cap in matrix["capabilities"].items():
        if only and name not in only:
            continue
        if cap["scope"] == "golden-image":
            continue  # asked in the golden-image namespaces only, where it is vm.disk-clone (held as that)
        checks = tuple(Check(c["verb"], c["group"], c["resource"], c["subresource"]) for c in cap["checks"])
        out.append((name, cap["scope"], checks))
    return out


# ------------------------------------------------------------------------ index


class RbacIndex(object):
    """The four RBAC lists, evaluated once for every check of the matrix."""

    def __init__(self, cluster_roles, roles, cluster_role_bindings, role_bindings, checks):
        self.checks = tuple(sorted(set(checks)))
        self.cluster_roles = {}
        self.role_grants = {}
        for r in cluster_roles or ():
            name = (r.get("metadata") or {}).get("name")
            self.cluster_roles[name] = r
            self.role_grants[("ClusterRole", "", name)] = rules_grants(r.get("rules"), self.checks)
        for r in roles or ():
            meta = r.get("metadata") or {}
            self.role_grants[("Role", meta.get("namespace") or "", meta.get("name"))] = \
                rules_grants(r.get("rules"), self.checks)
        self._sources = {}       # aggregated ClusterRole -> the ClusterRoles its selectors match
        self._from = {}          # (aggregated ClusterRole, checks) -> the sources that grant one
        self.binds = []
        self.subjects = set()
        self.by_key = {}        # place -> match key -> [bind index] (only binds that grant something)
        self.by_subject = {}    # place -> Subject -> [bind index]   (literal subjects, idem)
        self.key_places = {}    # match key -> places where some bind grants it something
        self.places = set()     # namespaces holding a RoleBinding
        for kind, items in ((CRB, cluster_role_bindings), (RB, role_bindings)):
            for b in items or ():
                self._add(kind, b)

    def _add(self, kind, obj):
        meta = obj.get("metadata") or {}
        ns = (meta.get("namespace") or "") if kind == RB else ""
        ref = obj.get("roleRef") or {}
        role_kind, role_name = ref.get("kind") or "", ref.get("name") or ""
        if role_kind == "ClusterRole":
            role_key = ("ClusterRole", "", role_name)
        elif role_kind == "Role" and kind == RB:
            role_key = ("Role", ns, role_name)
        else:
            role_key = None
        grants = self.role_grants.get(role_key) or {}
        subjects, principals = [], []
        for s in obj.get("subjects") or ():
            subj = binding_subject(s, ns)
            subjects.append(subj)
            principals.append(canonical(subj))
            if subj.kind in ("User", "Group") or (subj.kind == "ServiceAccount" and subj.namespace):
                self.subjects.add(principals[-1])
        if ns:
            self.places.add(ns)
        idx = len(self.binds)
        self.binds.append(Bind(kind, ns, meta.get("name") or "", role_kind, role_name, tuple(subjects), grants,
                               role_key, tuple(principals)))
        if not grants:
            return
        for subj, principal in zip(subjects, principals):
            key = _subject_key(subj)
            if key is None:
                continue
            self.by_key.setdefault(ns, {}).setdefault(key, []).append(idx)
            self.by_subject.setdefault(ns, {}).setdefault(principal, []).append(idx)
            self.key_places.setdefault(key, set()).add(ns)

    # ------------------------------------------------------------- grants

    def grants_at(self, keys, place):
        """{check: grant} of the binds at one place (not the wider ones) that apply to match keys."""
        table = self.by_key.get(place) or {}
        out = {}
        seen = set()
        for k in keys:
            for i in table.get(k, ()):
                if i in seen:
                    continue
                seen.add(i)
                for c, g in self.binds[i].grants.items():
                    out[c] = merge(out.get(c), g)
        return out

    def literal_at(self, subject, place):
        """{check: grant} of the binds at one place that name the subject itself."""
        out = {}
        for i in (self.by_subject.get(place) or {}).get(subject, ()):
            for c, g in self.binds[i].grants.items():
                out[c] = merge(out.get(c), g)
        return out

    def applying(self, keys, places):
        """Indexes of the binds at these places that apply to match keys (each once, in order)."""
        out, seen = [], set()
        for place in places:
            table = self.by_key.get(place) or {}
            for k in keys:
                for i in table.get(k, ()):
                    if i not in seen:
                        seen.add(i)
                        out.append(i)
        return sorted(out)

    def aggregated_from(self, role_key, checks):
        """The ClusterRoles an aggregated ClusterRole selects whose rules grant one of the checks."""
        if not role_key or role_key[0] != "ClusterRole":
            return []
        sources = self._sources.get(role_key[2])
        if sources is None:
            role = self.cluster_roles.get(role_key[2]) or {}
            selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            sources = self._sources[role_key[2]] = [
                name for name, r in sorted(self.cluster_roles.items()) if name != role_key[2] and selectors
                and any(selector_matches(sel, (r.get("metadata") or {}).get("labels")) for sel in selectors)]
        key = (role_key[2], tuple(checks))
        if key not in self._from:
            self._from[key] = [name for name in sources
                               if any(c in self.role_grants[("ClusterRole", "", name)] for c in checks)]
        return list(self._from[key])


def _union(*grant_maps):
    out = {}
    for m in grant_maps:
        for c, g in m.items():
            out[c] = merge(out.get(c), g)
    return out


def _full(grants, checks):
    return all(grants.get(c) is FULL for c in checks)


def _atleast(grants, checks):
    return all(grants.get(c) is not None for c in checks)


def _some(grants, checks):
    return any(grants.get(c) is not None for c in checks)


def covers(wider, grants, checks):
    """Whether ``wider`` grants every check of ``checks`` that ``grants`` grants, for at least the same
    objects (FULL covers any names)."""
    for c in checks:
        g = grants.get(c)
        if g is None:
            continue
        w = wider.get(c)
        if w is None or (w is not FULL and (g is FULL or not g <= w)):
            return False
    return True


# ---------------------------------------------------------------------- holders


class Evaluation(object):
    """Who holds what, from an RbacIndex: ``findings`` (listed principals) and ``questions``."""

    def __init__(self, index, capabilities, namespaces=None):
        """``capabilities``: matrix_checks(); ``namespaces``: the places to answer for, besides
        ``""`` (None: every namespace holding a RoleBinding)."""
        self.index = index
        self.capabilities = capabilities
        self.namespaces = sorted(index.places if namespaces is None else set(namespaces))
        self._ns = set(self.namespaces)
        self._level = {}
        self.findings = []
        self.questions = sum(1 if scope == "cluster" else 1 + len(self.namespaces) for _n, scope, _c in capabilities)
        self.evaluated = 0
        self._run()

    # grants of a principal's identity at one place only (cached)
    def _at(self, principal, place):
        key = (principal, place)
        if key not in self._level:
            self._level[key] = self.index.grants_at(principal_keys(principal), place)
        return self._level[key]

    def grants(self, principal, place):
        """{check: FULL or names}: what the principal's identity may do at the place (local evaluation)."""
        if principal is None:
            return {}
        if place == ALL:
            return self._at(principal, ALL)
        return _union(self._at(principal, ALL), self._at(principal, place))

    def holds_full(self, principal, place, checks):
        """Whether the principal's identity may do every check at the place (local evaluation)."""
        return principal is not None and _full(self.grants(principal, place), checks)

    def principals(self):
        """Every subject named in a binding (as a principal: canonical()), and every everyone group (sorted)."""
        out = set(self.index.subjects)
        for s in list(out):
            out.update(populations(s))
        out.add(Subject("Group", AUTHENTICATED, ""))
        return sorted(out)

    def _places(self, principal):
        """Where this principal could be listed: "" and the namespaces where keys of its own (not
        of its populations) have grants; its populations' namespaces too when it has grants of its
        own in every namespace (their combination may hold in a namespace). None when keys of its
        own grant nothing anywhere: then whatever it may do, its populations may do."""
        keys = set(principal_keys(principal))
        pop = population(principal)
        if pop is not None:
            own = keys - set(principal_keys(pop))
        else:
            own = keys
        places = set()
        for k in own:
            places.update(self.index.key_places.get(k, ()))
        if not places:
            return None  # only its populations grant it anything: they are listed, not it
        if ALL in places:
            for k in keys - own:
                places.update(self.index.key_places.get(k, ()))
        places.discard(ALL)
        return [ALL] + sorted(p for p in places if p in self._ns)

    def _run(self):
        """Principal P is listed for capability C at place N:

        - holding every check of C (FULL): when nothing wider explains it (its population may not do C
          at N and, N being a namespace, P may not in every namespace), or its own bindings grant C there
          (so that the binding to remove is named even when an everyone group holds the same);
        - holding part of C (some checks, or some only for named objects: *partial*): when what it holds
          there is more than its population holds there and it holds in every namespace together, or
          its own bindings at that place grant part of C.
        Whatever a subject may do of C at N is then the union of what the findings of it and of its
        populations at N and at "" hold (``held``); the unit tests prove it against a brute-force
        authorizer, the integration tests against the API server."""
        self.principal_count = 0
        for principal in self.principals():
            places = self._places(principal)
            if places is None:
                continue
            self.principal_count += 1
            pop = population(principal)
            literal_all = self.index.literal_at(principal, ALL)
            at_all = self._at(principal, ALL)
            for place in places:
                if place == ALL:
                    full, literal, literal_here = at_all, literal_all, literal_all
                else:
                    full = _union(at_all, self._at(principal, place))
                    literal_here = self.index.literal_at(principal, place)
                    literal = _union(literal_all, literal_here)
                for cap, scope, checks in self.capabilities:
                    if scope == "cluster" and place != ALL:
                        continue
                    self.evaluated += 1
                    if _full(full, checks):
                        own = _full(literal, checks)
                        if place == ALL:
                            listed = own or not self.holds_full(pop, ALL, checks)
                        else:
                            wider = _full(at_all, checks) or self.holds_full(pop, place, checks)
                            listed = not wider or (own and not _full(literal_all, checks)) or \
                                _full(literal_here, checks)
                        if listed:
                            self.findings.append(self._finding(principal, cap, scope, checks, place, full, own))
                    elif _some(full, checks):
                        wider = _union(self.grants(pop, place), at_all if place != ALL else {})
                        if not covers(wider, full, checks) or _some(literal_here, checks):
                            own = covers(literal, full, checks)
                            self.findings.append(self._finding(principal, cap, scope, checks, place, full, own,
                                                               partial=True))

    def _finding(self, principal, cap, scope, checks, place, full, own, partial=False):
        user, groups = identity(principal)
        keys = principal_keys(principal)
        places = [ALL] if place == ALL else [ALL, place]
        via = []
        for i in self.index.applying(keys, places):
            b = self.index.binds[i]
            granted = [c for c in checks if c in b.grants]
            if not granted:
                continue
            named = [s for s, p in zip(b.subjects, b.principals) if p == principal]
            matched = named or [s for s in b.subjects if _subject_key(s) in keys]
            entry = {
                "kind": b.kind, "name": b.name, "role_kind": b.role_kind, "role_name": b.role_name,
                "subject": subject_label(matched[0]) if matched else "",
                "own": bool(named),
                "subjects": len(b.subjects),
            }
            if len(granted) < len(checks):
                entry["grants"] = [check_label(c) for c in granted]
            if b.namespace:
                entry["namespace"] = b.namespace
            names = sorted(set(n for c in granted if b.grants[c] is not FULL for n in b.grants[c]))
            if names:
                entry["resource_names"] = names
            agg = self.index.aggregated_from(b.role_key, granted)
            if agg:
                entry["aggregated_from"] = agg
            via.append(entry)
        out = {
            "capability": cap,
            "namespace": place,
            "scope": SCOPE_CLUSTER if scope == "cluster" else (SCOPE_ALL if place == ALL else SCOPE_NAMESPACE),
            "subject": subject_label(principal),
            "subject_kind": principal.kind,
            "subject_name": principal.name,
            "everyone": everyone_label(principal),
            "through": "own" if own else "membership",
            "partial": partial,
            "resource_names": [],
            "as_user": user,
            "as_groups": list(groups),
            "via": via,
        }
        if principal.kind == "ServiceAccount":
            out["subject_namespace"] = principal.namespace
        # the questions that confirm it, each with the answer the finding stands for: every check it
        # holds is allowed (for each object it is limited to); partial: a check it holds for named
        # objects only, or does not hold, is denied without a name
        reviews = []
        for c in checks:
            g = full.get(c)
            if g is FULL:
                reviews.append((review_spec(user, groups, c, place), True))
                continue
            reviews.append((review_spec(user, groups, c, place), False))
            for n in sorted(g or ()):
                reviews.append((review_spec(user, groups, c, place, n), True))
        if partial:
            out["resource_names"] = sorted(set(n for c in checks if full.get(c) not in (None, FULL) for n in full[c]))
            out["holds"] = [held_entry(c, full[c]) for c in checks if full.get(c) is not None]
            out["lacks"] = [check_label(c) for c in checks if full.get(c) is None]
        out["_reviews"] = reviews
        return out


def held_entry(check, grant):
    """What a partial holder holds of one check: ``{"check": label, "resource_names": [...]}`` (no names:
    any object)."""
    return {"check": check_label(check), "resource_names": [] if grant is FULL else sorted(grant)}


# ------------------------------------------------------------------- questions


def check_label(c):
    res = c.resource + ("/" + c.subresource if c.subresource else "")
    return "%s %s%s" % (c.verb, (c.group + "/") if c.group else "", res)


def spec_label(spec):
    """A review's question as a check label: ``delete kubevirt.io/virtualmachines`` (`` (only vm-a)`` with a name)."""
    a = spec["resourceAttributes"]
    label = check_label(Check(a.get("verb", ""), a.get("group", ""), a.get("resource", ""), a.get("subresource", "")))
    return label + (" (only %s)" % a["name"] if a.get("name") else "")


def holds_text(finding):
    """What a partial holder holds, in words: ``only update subresources.kubevirt.io/virtualmachines/stop``,
    ``only delete kubevirt.io/virtualmachines vm-a``; ``only vm-a`` for a result without ``holds``."""
    if finding.get("holds"):
        return "only " + "; ".join(h["check"] + (" " + ", ".join(h["resource_names"]) if h["resource_names"] else "")
                                   for h in finding["holds"])
    return "only " + ", ".join(finding.get("resource_names") or ["some objects"])


def review_spec(user, groups, check, namespace, name=None):
    attrs = {"verb": check.verb, "group": check.group, "resource": check.resource}
    if check.subresource:
        attrs["subresource"] = check.subresource
    if namespace:
        attrs["namespace"] = namespace
    if name:
        attrs["name"] = name
    return with_identity(user, groups, attrs)


def with_identity(user, groups, attrs, kind="resourceAttributes"):
    """A SubjectAccessReview spec asking as (user, groups): without a user (a Group's identity), the spec has
    no ``user`` at all, as the API server echoes it."""
    spec = {"user": user} if user else {}
    spec["groups"] = list(groups)
    spec[kind] = attrs
    return spec


def review_key(spec):
    a = spec["resourceAttributes"]
    return (spec.get("user", NO_USER), tuple(spec["groups"]), a.get("verb"), a.get("group"), a.get("resource"),
            a.get("subresource", ""), a.get("namespace", ""), a.get("name", ""))


def holds(findings, subject, capability, namespace):
    """Whether ``subject`` may do ``capability`` at ``namespace`` (``""``: every namespace, or cluster
    scope), from the listed findings alone: the subject or one of its populations is listed there or
    in every namespace. Partial findings do not count (they hold for named objects only)."""
    who = set([subject_label(canonical(subject))] + [subject_label(p) for p in populations(subject)])
    places = (ALL,) if not namespace else (ALL, namespace)
    for f in findings:
        if f["capability"] == capability and f["namespace"] in places and not f["partial"] and f["subject"] in who:
            return True
    return False


def held(findings, subject, capability, namespace, checks):
    """What ``subject`` may do of ``capability`` (whose checks are ``checks``) at ``namespace``, from the
    listed findings alone:
    {check label: True (any object) or a frozenset of the object names it is limited to}, the union of
    what the findings of the subject and of its populations there and in every namespace hold."""
    who = set([subject_label(canonical(subject))] + [subject_label(p) for p in populations(subject)])
    places = (ALL,) if not namespace else (ALL, namespace)
    out = {}
    for f in findings:
        if f["capability"] != capability or f["namespace"] not in places or f["subject"] not in who:
            continue
        if not f["partial"]:
            for c in checks:
                out[check_label(c)] = True
            continue
        for h in f["holds"]:
            g = True if not h["resource_names"] else frozenset(h["resource_names"])
            prev = out.get(h["check"])
            out[h["check"]] = True if prev is True or g is True else (prev or frozenset()) | g
    return out


def subject_of(finding):
    """The Subject of a finding."""
    return Subject(finding["subject_kind"], finding["subject_name"], finding.get("subject_namespace") or "")


# -------------------------------------------------------------------- platform

# The identities of the platform itself: they hold VM capabilities by design, and the exclusive
# audit does not report them. ``platform_subjects`` adds to this list (docs/validate.md). Only names
# nobody but the platform can hold: kube-system exists on every cluster; a namespace that merely
# carries a component's usual name (kubevirt, cdi) can be created by anyone who may create
# namespaces, so those are trusted only where the component is there (PLATFORM_COMPONENTS).
PLATFORM_SUBJECTS = (
    "Group system:masters",                 # cluster-admin, by the API server's bootstrap policy
    "User system:kube-controller-manager",  # the controller manager (without per-controller identities)
    "User system:kube-scheduler",
    "ServiceAccount kube-system/*",         # the controllers: namespace, garbage collector, ...
)

# Components whose ServiceAccounts are the platform's in the namespace the component runs in, and the API
# group it serves through an APIService (apiregistration.k8s.io) backed by a Service of that namespace. An
# APIService is cluster-scoped: only a cluster administrator makes one, and the API server sends the
# component's API (KubeVirt: every VM's console and VNC) to that namespace, so trusting it adds nothing. A
# namespace tenant can create a namespace named "cdi", and in its own namespace a Deployment of any name or
# even a KubeVirt custom resource (kubevirt.io:operator aggregates to admin): neither is proof.
PLATFORM_COMPONENTS = (
    ("KubeVirt", "subresources.kubevirt.io"),   # virt-api: virt-operator, virt-controller, virt-handler, virt-api
    ("CDI", "upload.cdi.kubevirt.io"),          # cdi-api: KubeVirt's Containerized Data Importer
)


def platform_components(api_services):
    """[{component, namespace, api_service}] of the PLATFORM_COMPONENTS an APIService shows running in a
    namespace (its spec.service), from the APIServices as the API server lists them. Local APIServices (no
    service: a built-in group, or one a CRD serves) prove nothing. Pure."""
    groups = dict((group, name) for name, group in PLATFORM_COMPONENTS)
    out = []
    for item in api_services or []:
        spec = (item or {}).get("spec") or {}
        service = spec.get("service") or {}
        component = groups.get(spec.get("group"))
        ns = service.get("namespace") if isinstance(service, dict) else None
        if component and isinstance(ns, str) and ns:
            out.append({"component": component, "namespace": ns,
                        "api_service": ((item.get("metadata") or {}).get("name") or "")})
    seen, unique = set(), []
    for c in sorted(out, key=lambda c: (c["component"], c["namespace"], c["api_service"])):
        if (c["component"], c["namespace"]) not in seen:
            seen.add((c["component"], c["namespace"]))
            unique.append(c)
    return unique


def component_patterns(components):
    """The platform patterns (kind, glob) of the components found running: every ServiceAccount of their
    namespaces."""
    return [("ServiceAccount", glob_escape(c["namespace"]) + "/*") for c in components]


def glob_escape(text):
    """``text`` as an fnmatch pattern that matches only itself."""
    return "".join("[%s]" % ch if ch in "*?[" else ch for ch in text)


KINDS = ("User", "Group", "ServiceAccount")
MAX_PATTERNS = 1000


def parse_platform_subjects(patterns, path="platform_subjects"):
    """The default allow-list plus the user's patterns, as (kind, glob) pairs.

    A pattern is ``User <name>``, ``Group <name>`` or ``ServiceAccount <namespace>/<name>``; the
    name parts may use shell wildcards (``ServiceAccount monitoring/*``)."""
    if patterns is None:
        patterns = []
    if not isinstance(patterns, list):
        raise SpecError(path, "expected a list of 'User <name>', 'Group <name>' or 'ServiceAccount <ns>/<name>'")
    if len(patterns) > MAX_PATTERNS:
        raise SpecError(path, "at most %d patterns" % MAX_PATTERNS)
    out = []
    for i, p in enumerate(list(PLATFORM_SUBJECTS) + list(patterns)):
        here = "%s[%d]" % (path, i - len(PLATFORM_SUBJECTS))
        if not isinstance(p, str):
            raise SpecError(here, "expected a string such as 'Group ops' or 'ServiceAccount monitoring/*'")
        kind, _sep, name = p.partition(" ")
        if kind not in KINDS or not name.strip() or name != name.strip():
            raise SpecError(here, "expected 'User <name>', 'Group <name>' or 'ServiceAccount <namespace>/<name>', "
                                  "got %r" % (p,))
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise SpecError(here, "contains a control character")
        if kind == "ServiceAccount" and name.count("/") != 1:
            raise SpecError(here, "a ServiceAccount pattern is 'ServiceAccount <namespace>/<name>', got %r" % (p,))
        if i >= len(PLATFORM_SUBJECTS):
            wide = _everyone_pattern(kind, name)
            if wide:
                raise SpecError(here, "%r %s: everyone would be taken for the platform, and the audit would hide "
                                      "what everyone may do; name the platform's own identities" % (p, wide))
        out.append((kind, name))
    return out


# Names nobody chose: a pattern that matches them matches any name (``User *``, ``ServiceAccount */*``).
_PROBE_NAME = "vmo-rbac-probe-7f3a@example.invalid"
_PROBE_NAMESPACE = "vmo-rbac-probe-7f3a"


def _everyone_pattern(kind, glob):
    """Why the platform pattern (kind, glob) covers everyone, or None: it matches an everyone group (a
    platform identity is never everyone), any user name, or ServiceAccounts of any namespace (a namespace
    anyone may create: the reason a component's namespace is trusted only with its APIService)."""
    def matches(name):
        return fnmatch.fnmatchcase(name, glob)

    if kind == "Group":
        for group in (AUTHENTICATED, UNAUTHENTICATED, SERVICEACCOUNTS):
            if matches(group):
                return "matches the group %s (%s)" % (group, everyone_label(Subject("Group", group, "")))
        if matches(SA_GROUP_PREFIX + _PROBE_NAMESPACE):
            return "matches %s<namespace> of every namespace (every ServiceAccount)" % SA_GROUP_PREFIX
        return None
    if kind == "User":
        if matches(_PROBE_NAME):
            return "matches any user name"
        if matches(ANONYMOUS):
            return "matches %s (every unauthenticated request)" % ANONYMOUS
        return None
    namespace, name = glob.split("/", 1)
    if fnmatch.fnmatchcase(_PROBE_NAMESPACE, namespace):
        if fnmatch.fnmatchcase(_PROBE_NAMESPACE, name):
            return "matches any ServiceAccount of any namespace"
        return "matches ServiceAccounts of any namespace (a namespace anyone who may create one chooses the name of)"
    return None


def is_platform(finding, patterns):
    kind = finding["subject_kind"]
    name = finding["subject_name"]
    if kind == "ServiceAccount":
        name = "%s/%s" % (finding.get("subject_namespace") or "", name)
    return any(k == kind and fnmatch.fnmatchcase(name, glob) for k, glob in patterns)
