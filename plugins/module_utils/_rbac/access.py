# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capability matrix -> access checks -> verdicts.

Pure: no Ansible, no network. ``build_checks`` expands the declared grants into one
SubjectAccessReview question per subject x capability check x scope, each with the
answer the matrix expects; the module asks the API server; ``evaluate`` compares.

Who is asked:
- a User subject as that user (plus ``system:authenticated``, which every real user has);
- a Group subject by its groups alone, without a user (that group plus ``system:authenticated``), so
  the answer is what membership in the group grants and no binding of a user name can answer for it;
- a ServiceAccount as ``system:serviceaccount:<ns>:<name>`` with the groups the API server
  gives every ServiceAccount.
Names are the bound names, so OIDC prefixes are checked exactly as the enforcer wrote them.

Where: namespace-restricted grants are asked inside each scoped namespace and outside the
scope: in one namespace (``default`` if possible) and in every namespace where a RoleBinding
names the subject or a group its identity carries, where only cluster-wide grants may allow
anything (scope leakage); cluster-wide grants are asked across all namespaces (namespace ""), which RBAC
answers from ClusterRoleBindings alone; cluster-scoped capabilities are asked once at
cluster scope, where only cluster-wide grants count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import holders
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError, subject_label

AUTHENTICATED = "system:authenticated"
OUTSIDE_FALLBACK = "vmo-rbac-outside-scope"
SCOPE_ALL = "all-namespaces"
SCOPE_CLUSTER = "cluster"
SCOPE_NAMESPACE = "namespace"
SCOPE_OUTSIDE = "outside"

CAPABILITY_KEYS = ("scope", "description", "checks", "expect", "enabled")
# An expectation that either answer satisfies (console access through the spectro-vm-* roles).
OPTIONAL = "optional"
CONSOLE_HINT = ("console access through the %s role alone is optional (Palette cautions that the spectro-vm-* roles "
                "may not carry it); set console_access: true on the grant to bind %s in the same scope"
                % ("persona", personas.CONSOLE_ROLE))
CHECK_KEYS = ("verb", "group", "resource", "subresource")

# note: why a check without an expectation is unchecked, when that is not "a custom role" (the KubeVirt
# release could not be read). name: the object asked about ("": any object); see named_checks.
Check = namedtuple(
    "Check",
    "subject capability verb group resource subresource namespace scope expected personas note name",
    defaults=(None, ""),
)
RELEASE_UNKNOWN = ("unchecked: what %s needs here changed between KubeVirt releases, and what is known of the "
                   "cluster's release (%s: %s) does not decide it; set kubevirt_version")


# ----------------------------------------------------------------------- the matrix


def build_matrix(role_set, overrides=None, require_expect=True):
    """The shipped matrix for ``role_set`` with the user's ``capabilities`` overrides.

    An override may change a capability's checks (for example the VM template resource,
    which is an assumption), its expectations per persona or per role name, disable it
    (``enabled: false``), or add a new capability (``checks`` and ``expect`` required;
    ``expect`` only where expectations are compared: not for vmo_rbac_access_info).
    """
    m = personas.default_matrix(role_set)
    m["role_set"] = role_set
    m["expect_roles"] = {personas.CONSOLE_ROLE: dict(personas.CONSOLE_EXPECTED),
                         personas.GOLDEN_IMAGE_ROLE: dict(personas.GOLDEN_IMAGE_EXPECTED)}
    m["optional"] = dict((p, set(caps)) for p, caps in personas.OPTIONAL[role_set].items())
    # The KubeVirt release line of the cluster (kubevirt_release): None until read; the cells of
    # personas.KUBEVIRT_CHANGES follow it, unless an override said what to expect ("pinned").
    m["release"] = None
    m["pinned"] = set()
    if overrides is None:
        return m
    if not isinstance(overrides, dict):
        raise SpecError("capabilities", "expected a mapping of capability name to its definition")
    for name, spec in overrides.items():
        path = "capabilities.%s" % name
        if not isinstance(name, str) or not name:
            raise SpecError("capabilities", "capability names must be non-empty strings")
        if not isinstance(spec, dict):
            raise SpecError(path, "expected a mapping (checks, expect, scope, description, enabled)")
        for key in spec:
            if key not in CAPABILITY_KEYS:
                raise SpecError("%s.%s" % (path, key), "unknown option; expected one of %s" % ", ".join(CAPABILITY_KEYS))
        if spec.get("enabled") is False:
            m["capabilities"].pop(name, None)
            continue
        cap = m["capabilities"].get(name)
        if cap is None:
            if "checks" not in spec or (require_expect and "expect" not in spec):
                raise SpecError(path, "a new capability needs checks and expect" if require_expect
                                else "a new capability needs checks")
            cap = m["capabilities"][name] = {"scope": "namespaced", "description": name, "checks": []}
        if "scope" in spec:
            if spec["scope"] not in personas.SCOPES:
                raise SpecError(path + ".scope", "expected %s, got %r" % (" or ".join(personas.SCOPES),
                                                                          spec["scope"]))
            cap["scope"] = spec["scope"]
        if "description" in spec:
            cap["description"] = str(spec["description"])
        if "checks" in spec:
            cap["checks"] = _parse_checks(path + ".checks", spec["checks"])
        if "expect" in spec:
            expect = spec["expect"]
            if not isinstance(expect, dict) or not expect:
                raise SpecError(path + ".expect", "expected a mapping of persona (or role name) to true/false")
            for who, allowed in expect.items():
                if not isinstance(allowed, bool):
                    raise SpecError("%s.expect.%s" % (path, who), "expected true or false, got %r" % (allowed,))
                if who in personas.PERSONAS:
                    m["expect"].setdefault(who, {})[name] = allowed
                    m["optional"].get(who, set()).discard(name)  # said explicitly: required either way
                    m["pinned"].add((who, name))  # and whatever the KubeVirt release
                else:
                    m["expect_roles"].setdefault(who, {})[name] = allowed
    return m


def _parse_checks(path, checks):
    if not isinstance(checks, list) or not checks:
        raise SpecError(path, "expected a non-empty list of {verb, group, resource, subresource}")
    out = []
    for i, c in enumerate(checks):
        cpath = "%s[%d]" % (path, i)
        if not isinstance(c, dict):
            raise SpecError(cpath, "expected a mapping with verb, group, resource")
        for key in c:
            if key not in CHECK_KEYS:
                raise SpecError("%s.%s" % (cpath, key), "unknown option; expected one of %s" % ", ".join(CHECK_KEYS))
        for key in ("verb", "resource"):
            if not isinstance(c.get(key), str) or not c.get(key):
                raise SpecError("%s.%s" % (cpath, key), "required (a non-empty string)")
        for key in ("group", "subresource"):
            if c.get(key) is not None and not isinstance(c.get(key), str):
                raise SpecError("%s.%s" % (cpath, key), "expected a string")
        out.append({"verb": c["verb"], "group": c.get("group") or "", "resource": c["resource"],
                    "subresource": c.get("subresource") or ""})
    return out


def with_release(matrix, release):
    """The matrix for a cluster on a KubeVirt release line: ``release`` is (lowest, highest) version
    tuples (lowest inclusive, highest exclusive, None unbounded), or None when it is unknown."""
    out = dict(matrix)
    out["release"] = release
    return out


# --------------------------------------------------------------- KubeVirt release line

_VERSION = re.compile(r"^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?:[-+.].*)?$")


def parse_kubevirt_version(text, path=None):
    """``v1.6.0`` (or ``1.6.0``, ``v1.6.0-rc.1``, ``1.6``) -> the release line (lowest, highest): an exact
    release covers its patch level, ``1.6`` every 1.6.x. None when the text is not a version (a SpecError
    naming ``path`` when ``path`` is given: an option)."""
    m = _VERSION.match(text.strip()) if isinstance(text, str) and len(text) <= 64 else None
    if not m:
        if path:
            got = "%r" % (text,) if isinstance(text, str) and len(text) <= 64 else (
                "a text of %d characters" % len(text) if isinstance(text, str) else "a %s" % type(text).__name__)
            raise SpecError(path, "expected a KubeVirt release such as v1.6.0 or 1.6, got %s" % got)
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    if m.group(3) is None:
        return (major, minor, 0), (major, minor + 1, 0)
    patch = int(m.group(3))
    return (major, minor, patch), (major, minor, patch + 1)


def release_label(release):
    """How a release line reads: ``v1.6.0``, ``v1.5.0 or later``, ``before v1.5.0``, ``unknown``."""
    if release is None:
        return "unknown"
    lowest, highest = release

    def v(t):
        return "v%d.%d.%d" % t
    if lowest is not None and highest is not None:
        if highest == (lowest[0], lowest[1], lowest[2] + 1):
            return v(lowest)
        if highest == (lowest[0], lowest[1] + 1, 0) and lowest[2] == 0:
            return "v%d.%d.x" % lowest[:2]
        return "%s to %s" % (v(lowest), v(highest))
    if lowest is not None:
        return "%s or later" % v(lowest)
    if highest is not None:
        return "before %s" % v(highest)
    return "unknown"


MIGRATE_ROLE = "kubevirt.io:migrate"  # made by KubeVirt since v1.5.0 (personas.KUBEVIRT_CHANGES)
EDIT_ROLE = "kubevirt.io:edit"


def release_from_kubevirts(kubevirts):
    """The release line the KubeVirt CRs' status names (observed and target versions: during an upgrade
    either may be in force), with where it was read; (None, why) when no status names one."""
    versions, where = [], []
    for kv in kubevirts or ():
        meta = kv.get("metadata") or {}
        status = kv.get("status") or {}
        for field in ("observedKubeVirtVersion", "targetKubeVirtVersion"):
            line = parse_kubevirt_version(status.get(field))
            if line is not None:
                versions.append(line)
                # the version as parsed, not as written: the text of a status is the cluster's, not ours
                where.append("KubeVirt %s/%s status.%s %s" % (meta.get("namespace"), meta.get("name"), field,
                                                              release_label(line)))
    if not versions:
        return None, ("no KubeVirt custom resource names its version" if kubevirts else
                      "no KubeVirt custom resource exists")
    release = (min(v[0] for v in versions), max(v[1] for v in versions))
    return release, "; ".join(sorted(set(where)))


def release_from_roles(migrate_role, edit_role):
    """The release line KubeVirt's own roles tell: kubevirt.io:migrate exists since v1.5.0; without it, a
    kubevirt.io:edit says KubeVirt runs a release before v1.5.0. ``migrate_role``/``edit_role``: True,
    False, or None (could not be read)."""
    if migrate_role:
        return (personas.KUBEVIRT_CHANGES["vm.migrate"][0], None), "ClusterRole %s exists" % MIGRATE_ROLE
    if migrate_role is False and edit_role:
        return (None, personas.KUBEVIRT_CHANGES["vm.migrate"][0]), (
            "ClusterRole %s exists without %s" % (EDIT_ROLE, MIGRATE_ROLE))
    return None, "neither the KubeVirt custom resource nor KubeVirt's ClusterRoles tell the release"


def release_dependent(matrix, persona, capability):
    """Whether what ``persona`` may do for ``capability`` follows the KubeVirt release line."""
    change = personas.KUBEVIRT_CHANGES.get(capability)
    return (matrix.get("role_set") == "kubernetes" and change is not None and persona in change[1]
            and (persona, capability) not in matrix.get("pinned", ()))


def expectation(matrix, role_name, persona, capability):
    """What one grant promises for a capability: True, False, OPTIONAL (either answer is right) or
    None (unknown: a custom role without expectations, or a cell of the kubernetes role set that changed
    between KubeVirt releases when the cluster's release is not known)."""
    by_role = matrix["expect_roles"].get(role_name)
    if by_role is not None and capability in by_role:
        return by_role[capability]
    if persona in matrix["expect"]:
        if capability in matrix.get("optional", {}).get(persona, ()):
            return OPTIONAL
        if release_dependent(matrix, persona, capability):
            return personas.kubevirt_expectation(matrix["role_set"], persona, capability, matrix.get("release"))
        return bool(matrix["expect"][persona].get(capability, False))
    if role_name in personas.LEGACY_DASHBOARD_ROLES:
        return False  # the legacy list roles grant no capability of the matrix
    return None


def _union(values):
    """OR over grants: any True wins; then unknown (None); then OPTIONAL; False only if all are False."""
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    if OPTIONAL in values:
        return OPTIONAL
    return False


# --------------------------------------------------------------------- identities


def identity(subject):
    """(user, groups) that a SubjectAccessReview asks as, for a binding subject: the same as who-can asks
    (holders.identity). A User named ``system:serviceaccount:<ns>:<name>`` is that ServiceAccount and is
    asked with the groups the API server gives it."""
    user, groups = holders.identity(subject)
    return user, list(groups)


# ------------------------------------------------------------------------- checks


def grants_by_subject(desired):
    """{principal: [(namespace or '', role_name, persona)]} from resolved bindings; every form of one
    subject (a ServiceAccount declared as the User ``system:serviceaccount:<ns>:<name>``) is one
    principal (holders.canonical), checked with the grants of every form together."""
    out = {}
    for b in desired.values():
        for s in b.subjects:
            out.setdefault(holders.canonical(s), []).append((b.namespace, b.role_name, b.persona))
    return out


def outside_namespace(scoped, existing):
    """One namespace outside ``scoped`` to probe for leakage: ``default`` if possible."""
    candidates = sorted(set(existing or ()) - set(scoped))
    if "default" in candidates:
        return "default"
    for ns in candidates:
        if not ns.startswith("kube-"):
            return ns
    return candidates[0] if candidates else OUTSIDE_FALLBACK


def bound_elsewhere(bindings, desired):
    """{principal: namespaces} where some RoleBinding (any owner, any role) names the principal in any
    of its forms, or one of the groups its identity carries (``system:authenticated`` and the
    ServiceAccount groups included), outside the principal's declared scope.

    ``bindings`` are RoleBinding dicts from a LIST. A binding subject applies to a principal exactly
    when RBAC would apply it to the principal's identity: its user name (a ServiceAccount subject
    without a namespace is one of the binding's namespace; a User named like the ServiceAccount is
    the ServiceAccount) or one of its groups. These namespaces are probed like the outside-scope
    namespace, so a namespace grant that leaks elsewhere is caught, not only one that leaks into the
    single default probe.
    """
    grants = grants_by_subject(desired)
    scoped = dict((s, set(ns for ns, _r, _p in g if ns)) for s, g in grants.items())
    names = {}
    for s in grants:
        for k in holders.identity_keys(s):
            names.setdefault(k, set()).add(s)
    out = {}
    for b in bindings or []:
        ns = (b.get("metadata") or {}).get("namespace")
        if not ns:
            continue
        for subj in b.get("subjects") or []:
            for s in names.get(holders.subject_key(holders.binding_subject(subj, ns)), ()):
                if ns not in scoped[s]:
                    out.setdefault(s, set()).add(ns)
    return out


def build_checks(desired, matrix, existing_namespaces=None, also_outside=None, golden_namespaces=()):
    """Every access question for the declared subjects, with its expected answer.

    ``also_outside``: {Subject: namespaces} probed as outside-scope too (see bound_elsewhere).
    ``golden_namespaces``: the golden-image namespaces (golden_image_namespaces), where the
    capabilities of scope ``golden-image`` are asked (and vm.disk-clone, the same power, is not), and
    which are probed as outside the scope of a subject whose grants do not cover them.
    """
    checks = []
    also_outside = also_outside or {}
    golden = set(golden_namespaces or ())
    for subject, grants in sorted(grants_by_subject(desired).items()):
        cluster_grants = [(role, persona) for ns, role, persona in grants if not ns]
        ns_grants = {}
        for ns, role, persona in grants:
            if ns:
                ns_grants.setdefault(ns, []).append((role, persona))
        persona_names = sorted(set(p for _ns, _r, p in grants if p))
        scopes = []
        if cluster_grants:
            scopes.append(("", SCOPE_ALL))
        for ns in sorted(ns_grants):
            scopes.append((ns, SCOPE_NAMESPACE))
        outside = set(ns for ns in also_outside.get(subject, ()) if ns not in ns_grants)
        if ns_grants:
            outside.add(outside_namespace(ns_grants, existing_namespaces))
            outside.update(ns for ns in golden if ns not in ns_grants)
        for ns in sorted(outside):
            scopes.append((ns, SCOPE_OUTSIDE))
        if cluster_grants:  # the golden-image namespaces are part of "all namespaces": asked there by name
            scopes.extend((ns, SCOPE_NAMESPACE) for ns in sorted(golden) if ns not in ns_grants)
        for cap_name, cap in matrix["capabilities"].items():
            if cap["scope"] == "cluster":
                places = [("", SCOPE_CLUSTER, cluster_grants)]
            elif cap["scope"] == "golden-image":  # namespace-restricted grants: the golden-image binding there
                places = [(ns, kind, cluster_grants + ns_grants.get(ns, [])) for ns, kind in scopes if ns in golden]
            else:
                places = [(ns, kind, cluster_grants + ns_grants.get(ns, [])) for ns, kind in scopes
                          if not (ns in golden and (cap_name in GOLDEN_SAME_POWER
                                                    or (kind == SCOPE_NAMESPACE and not ns_grants.get(ns))))]
            for ns, kind, covering in places:
                expected = _union([expectation(matrix, role, persona, cap_name) for role, persona in covering])
                note = None
                if expected is None and any(release_dependent(matrix, persona, cap_name)
                                            for _role, persona in covering if persona):
                    note = RELEASE_UNKNOWN % (cap_name, release_label(matrix.get("release")),
                                              matrix.get("release_source") or "not read")
                for c in cap["checks"]:
                    checks.append(Check(subject, cap_name, c["verb"], c["group"], c["resource"], c["subresource"],
                                        ns, kind, expected, tuple(persona_names), note))
    return checks


# In a golden-image namespace, cloning its disks is template.deploy: vm.disk-clone is not asked there.
GOLDEN_SAME_POWER = ("vm.disk-clone",)


# The most per-object checks one validation asks (named_checks). Rules naming more objects than that (a
# namespace's Role with a hundred thousand names would otherwise cost every probed subject as many
# reviews) leave those checks not proven: validation fails and says which roles, never passes them.
MAX_NAMED_CHECKS = 20000


class TooManyNamedObjects(Exception):
    """The roles' rules name more objects than validation asks about (MAX_NAMED_CHECKS)."""

    def __init__(self, count, roles):
        super(TooManyNamedObjects, self).__init__(
            "rules name so many objects that proving access to each would take %d SubjectAccessReviews (at most %d "
            "are asked): not proven; the roles that name the most: %s" % (count, MAX_NAMED_CHECKS, ", ".join(roles)))
        self.count = count
        self.roles = roles


def named_checks(checks, cluster_roles, roles, limit=MAX_NAMED_CHECKS):
    """``checks`` with, after each check that must be denied, the same check for every object a rule
    that could grant it names (``resourceNames``): a grant limited to named objects is invisible to a
    question without a name (RBAC skips such rules), so a viewer given ``delete virtualmachines`` on
    ``[vm-1]`` by hand answers "no" to "may it delete VMs?" and "yes" to "may it delete vm-1?".

    The names come from the rules of every ClusterRole (any binding may reference one) and, for a
    question in a namespace, of the Roles of that namespace (only a RoleBinding there can use them),
    as the RBAC lists hold them (aggregated ClusterRoles with their merged rules): every object any
    role could grant this check for, whoever it is bound to. Checks that may be allowed (or have no
    expectation) are not asked again: an allowed check is allowed for every object. More than ``limit``
    of them raises TooManyNamedObjects."""
    wanted = set((c.verb, c.group, c.resource, c.subresource) for c in checks if c.expected is False)
    if not wanted:
        return list(checks)
    tuples = [holders.Check(*t) for t in sorted(wanted)]

    def names_in(rules):
        out = {}
        for rule in rules or ():
            if not rule.get("resourceNames"):
                continue
            for t in tuples:
                g = holders.rule_grant(rule, t)
                if g is not None and g is not holders.FULL:
                    out.setdefault(tuple(t), set()).update(g)
        return out

    everywhere, weight = {}, {}
    for r in cluster_roles or ():
        for t, names in names_in(r.get("rules")).items():
            everywhere.setdefault(t, set()).update(names)
            weight["ClusterRole " + ((r.get("metadata") or {}).get("name") or "?")] = len(names)
    per_namespace = {}
    for r in roles or ():
        meta = r.get("metadata") or {}
        ns = meta.get("namespace") or ""
        for t, names in names_in(r.get("rules")).items():
            per_namespace.setdefault(ns, {}).setdefault(t, set()).update(names)
            weight["Role %s/%s" % (ns, meta.get("name") or "?")] = len(names)
    out, added = [], 0
    for c in checks:
        out.append(c)
        if c.expected is not False:
            continue
        t = (c.verb, c.group, c.resource, c.subresource)
        names = set(everywhere.get(t, ()))
        if c.namespace:
            names.update((per_namespace.get(c.namespace) or {}).get(t, ()))
        added += len(names)
        if limit is not None and added > limit:
            heavy = sorted(weight, key=lambda k: (-weight[k], k))[:3]
            raise TooManyNamedObjects(added, ["%s (%d)" % (k, weight[k]) for k in heavy])
        for n in sorted(names):
            out.append(c._replace(name=n))
    return out


def review_spec(check, asked_as=None):
    """The SubjectAccessReview spec for a check (``asked_as``: its subject's identity(), when known)."""
    user, groups = asked_as or identity(check.subject)
    attrs = {"verb": check.verb, "group": check.group, "resource": check.resource}
    if check.subresource:
        attrs["subresource"] = check.subresource
    if check.namespace:
        attrs["namespace"] = check.namespace
    if check.name:
        attrs["name"] = check.name
    return holders.with_identity(user, groups, attrs)


def review_key(spec):
    a = spec["resourceAttributes"]
    return (spec.get("user", holders.NO_USER), tuple(spec["groups"]), a.get("verb"), a.get("group"), a.get("resource"),
            a.get("subresource", ""), a.get("namespace", ""), a.get("name", ""))


def unique_reviews(checks):
    """The distinct review specs to send (checked ones only) and a key per check (None for an unchecked one)."""
    specs, index, keys = [], {}, []
    identities = {}
    for c in checks:
        if c.expected is None:
            keys.append(None)
            continue
        asked_as = identities.get(c.subject)
        if asked_as is None:
            asked_as = identities[c.subject] = identity(c.subject)
        spec = review_spec(c, asked_as)
        k = review_key(spec)
        if k not in index:
            index[k] = len(specs)
            specs.append(spec)
        keys.append(k)
    return specs, index, keys


# A binding written a moment ago is not yet in the API server's authorizer: RBAC learns of it from its informer,
# which lags a write by milliseconds on a quiet server and by seconds on a loaded one (4 of 200 questions asked
# right after a create were denied at a load of 11 to 15 on 2 cores). Enforce followed by validate, the role's
# every run, would report a grant it just made as missing, or one it just revoked as still there. Answers that
# disagree with what is expected are asked again after these pauses (seconds; 3 in all). An answer that agrees
# is never asked again. The authorizer's lag only ever moves an answer one way, to the cluster as it now is: an
# answer that changes to agree is asked once more after the next pause (after the last one, once more after
# it again) and must hold; one that changes back (a binding toggled during the run, which every further ask
# would give one more chance to hide) is reported as the answer that disagrees.
SETTLE_PAUSES = (0.1, 0.2, 0.4, 0.8, 1.5)
# Many disagreeing answers are real violations, not the authorizer's lag: asking every one after each pause cost
# 27,300 of a run's 39,900 reviews at 5,460 violations. While more than this many disagree and no answer has
# changed yet, a round asks a sample of them (spread over them); every one is asked after the last pause, and
# after any round in which an answer changed.
SETTLE_SAMPLE = 200

Settled = namedtuple("Settled", "asked changed flapped")


def _expectations(checks, keys):
    """{review key: the set of answers (True/False) its checks expect}; optional and unchecked checks expect
    nothing."""
    out = {}
    for c, k in zip(checks, keys):
        if k is None or c.expected is None or c.expected == OPTIONAL:
            continue
        out.setdefault(k, set()).add(bool(c.expected))
    return out


def settle(checks, keys, statuses_by_key, specs, index, ask, sleep, pauses=SETTLE_PAUSES, sample=SETTLE_SAMPLE):
    """Ask again, after each pause, the reviews whose answers disagree with their checks' expectations, until
    none does or the pauses are spent; ``statuses_by_key`` is updated in place with the answers to report.
    An answer that changes to agree is asked once more (after the next pause, or after the last pause again)
    and must still agree; if it changes back, that disagreeing answer is the one reported (``flapped``).
    While more than ``sample`` answers disagree and none has changed, a round before the last asks ``sample`` of
    them, spread over them; the last round, and every round after one in which an answer changed, asks all.
    ``ask(specs)``: their statuses, in order (the cluster's subject_access_reviews). Returns Settled(reviews
    asked again, answers (reviews) that changed at least once, answers of those that changed back)."""
    expected = _expectations(checks, keys)

    def agrees(k, status):
        return expected.get(k, set()) == {bool(status.get("allowed"))}

    # key -> False: disagrees, asked again; True: changed to agree, asked once more to see that it holds
    pending = dict((k, False) for k in expected if not agrees(k, statuses_by_key[k]))
    asked, changed, flapped = 0, set(), set()
    for turn in range(len(pauses) + 1):
        holding = sorted(k for k, h in pending.items() if h)
        if turn == len(pauses):  # the pauses are spent: what changed at the last ask is asked once more
            todo, pause = holding, pauses[-1] if pauses else 0
        else:
            todo, pause = sorted(k for k, h in pending.items() if not h), pauses[turn]
            if len(todo) > sample and not changed and turn < len(pauses) - 1:
                todo = _spread(todo, sample)
            todo = sorted(set(todo).union(holding))
        if not todo:
            break
        sleep(pause)
        answers = ask([specs[index[k]] for k in todo])
        asked += len(todo)
        for k, status in zip(todo, answers):
            if bool(status.get("allowed")) != bool(statuses_by_key[k].get("allowed")):
                changed.add(k)
            statuses_by_key[k] = status
            if pending[k]:  # it had changed to agree: it holds, or it changed back and is reported so
                del pending[k]
                if not agrees(k, status):
                    flapped.add(k)
            elif agrees(k, status):
                pending[k] = True
    return Settled(asked, len(changed), len(flapped))


def _spread(items, size):
    """``size`` of ``items``, spread evenly over them (every k-th)."""
    step = float(len(items)) / size
    return [items[int(i * step)] for i in range(size)]


def evaluate(checks, statuses_by_key, keys=None):
    """Verdict rows and the compact matrix. ``statuses_by_key``: review key -> status dict; ``keys``: each check's
    review key as unique_reviews made them (made here when not given)."""
    rows = []
    cells = {}
    order = []
    identities = {}
    for i, c in enumerate(checks):
        asked_as = identities.get(c.subject)
        if asked_as is None:
            asked_as = identities[c.subject] = identity(c.subject)
        key = None
        if c.expected is not None:
            key = keys[i] if keys is not None else review_key(review_spec(c, asked_as))
        # allowed for any object: the check without a name (its key without the name) says it all
        if c.name and key is not None and statuses_by_key[key[:-1] + ("",)].get("allowed"):
            continue
        user, groups = asked_as
        groups = list(groups)
        row = {
            "subject": subject_label(c.subject),
            "subject_kind": c.subject.kind,
            "subject_name": c.subject.name,
            "as_user": user,
            "as_groups": groups,
            "personas": list(c.personas),
            "capability": c.capability,
            "verb": c.verb,
            "group": c.group,
            "resource": c.resource,
            "subresource": c.subresource,
            "namespace": c.namespace,
            "scope": c.scope,
            "expected": c.expected,
        }
        if c.subject.kind == "ServiceAccount":
            row["subject_namespace"] = c.subject.namespace
        if c.name:
            row["name"] = c.name  # asked about this object only (named_checks)
        if c.expected is None:
            row.update(allowed=None, ok=None, reason=c.note or "unchecked: no expectation for this role; add one "
                                                               "with the capabilities option")
        else:
            status = statuses_by_key[key]
            allowed = bool(status.get("allowed"))
            reason = status.get("reason") or status.get("evaluationError") or (
                "no RBAC rule allows it" if not allowed else "")
            row.update(allowed=allowed, ok=c.expected == OPTIONAL or allowed == c.expected, reason=reason)
            if c.expected == OPTIONAL and not allowed and c.capability in personas.CONSOLE_CAPABILITIES:
                row["note"] = CONSOLE_HINT
        rows.append(row)
        mkey = (row["subject"], c.namespace if c.scope != SCOPE_CLUSTER else "", c.scope)
        if mkey not in cells:
            cells[mkey] = {"subject": row["subject"], "personas": list(c.personas),
                           "scope": scope_label(c.scope, c.namespace), "scope_kind": c.scope,
                           "cells": {}, "allowed": {}, "expected": {}}
            order.append(mkey)
        entry = cells[mkey]
        state = "unchecked" if row["ok"] is None else ("ok" if row["ok"] else "violation")
        prev = entry["cells"].get(c.capability)
        if prev is None or (prev == "ok" and state == "violation") or (prev == "unchecked" and state != "unchecked"):
            entry["cells"][c.capability] = state
        if row["allowed"] is not None:
            entry["allowed"][c.capability] = entry["allowed"].get(c.capability, True) and row["allowed"]
        entry["expected"][c.capability] = c.expected
    return rows, [cells[k] for k in order]


def scope_label(scope, namespace):
    """How a scope reads in the matrix and in every report: ``(cluster)``, ``(all namespaces)``,
    ``default (outside scope)``, ``team-a``."""
    if scope == SCOPE_CLUSTER:
        return "(cluster)"
    if scope == SCOPE_ALL:
        return "(all namespaces)"
    if scope == SCOPE_OUTSIDE:
        return "%s (outside scope)" % namespace
    return namespace


def _where(row):
    if row["scope"] == SCOPE_CLUSTER:
        return "at cluster scope"
    if row["scope"] == SCOPE_ALL:
        return "in all namespaces"
    return "in namespace %s%s" % (row["namespace"], " (outside its scope)" if row["scope"] == SCOPE_OUTSIDE else "")


def summarize_violations(rows):
    """Failed checks grouped per subject and place, one readable line each, e.g.
    ``User bob may vm.delete, vm.create in namespace team-a (expected denied: privilege creep)``; a
    check allowed for named objects only reads ``vm.delete (only vm-1)``."""
    groups, order = {}, []
    named = {}
    for r in rows:
        if r["ok"] is not False:
            continue
        key = (r["subject"], _where(r), r["allowed"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        if r.get("name"):
            named.setdefault((key, r["capability"]), set()).add(r["name"])
        else:
            named.setdefault((key, r["capability"]), set()).add(None)
        if r["capability"] not in groups[key]:
            groups[key].append(r["capability"])
    for key, caps in groups.items():
        for i, cap in enumerate(caps):
            names = named[(key, cap)]
            if None not in names:
                caps[i] = "%s (only %s)" % (cap, ", ".join(sorted(names)))
    out = []
    for subject, where, allowed in order:
        out.append("%s %s %s %s (%s)" % (
            subject, "may" if allowed else "may not", ", ".join(groups[(subject, where, allowed)]), where,
            "expected denied: privilege creep" if allowed else "expected allowed: missing access"))
    return out
