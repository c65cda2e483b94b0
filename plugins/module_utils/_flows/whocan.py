# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who can: the flow of vmo_rbac_access_info and of vmo_rbac_validate's exclusive audit.

    options (parsed first: bad input fails before the first request)
      -> 5 LISTs, together (ClusterRoles, Roles, ClusterRoleBindings, RoleBindings: an RBAC snapshot,
         snapshot.py, vmo_rbac_validate's own when it has one; APIServices: where KubeVirt and CDI run, whose
         namespaces' ServiceAccounts are then the platform's)
      -> holders.py: local evaluation (whom to ask, and through which bindings)
      -> SubjectAccessReviews: one per check of each finding asked (deduplicated, concurrent); access_info
         asks every finding (confirm: all) or the everyone groups' and a sample of the rest, and every finding
         when the sample disagrees (confirm: sample); the exclusive audit every violation it would report and
         a sample of the rest
      -> what the API server does not confirm is ``unconfirmed``, never a holder; a holder not asked says so
         (``confirmed`` None)

The exclusive audit compares the confirmed holders with what the declaration grants (the
resolved bindings of observe.observe_plan and the capability matrix): every holder the
declaration does not grant, and that is not an identity of the platform itself, is a violation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core import verdict
from ansible_collections.vmo.rbac.plugins.module_utils._flows import snapshot
from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._rbac import access, holders
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError, is_dns_label

# vmo_rbac_access_info's options (their argument spec: specs.ACCESS_INFO_ARG_SPEC), typed
AccessInfoOptions = namedtuple("AccessInfoOptions", "matrix only namespaces platform concurrency confirm")

# vmo_rbac_access_info's ``confirm``: which findings the API server is asked to confirm (docs/validate.md, "Which
# holders are confirmed"): every one, or the everyone groups' and a sample of the others (SAMPLE)
CONFIRM_CHOICES = ("sample", "all")


# ---------------------------------------------------------------------- options


def parse_options(params):
    """vmo_rbac_access_info's options, typed and checked before any request; every error names its
    field (module_runner.start_module checks the limits of concurrency, request_timeout and
    api_retries and the connection options first, with options.py)."""
    matrix = access.build_matrix("vmo", params.get("capabilities") or None, require_expect=False)
    only = params.get("only_capabilities") or []
    for i, name in enumerate(only):
        if name not in matrix["capabilities"]:
            raise SpecError("only_capabilities[%d]" % i, "unknown capability %r; the matrix has %s" % (
                name, ", ".join(matrix["capabilities"])))
    namespaces = params.get("namespaces") or []
    for i, ns in enumerate(namespaces):
        if not isinstance(ns, str) or not is_dns_label(ns):
            raise SpecError("namespaces[%d]" % i, "%r is not a namespace name (an RFC 1123 label)" % (ns,))
    concurrency = params.get("concurrency")
    confirm = params.get("confirm") or "sample"
    if confirm not in CONFIRM_CHOICES:  # the argument spec's choices say so first; the flow called directly too
        raise SpecError("confirm", "must be one of %s" % ", ".join(CONFIRM_CHOICES))
    return AccessInfoOptions(matrix, set(only), sorted(set(namespaces)) or None,
                             holders.parse_platform_subjects(params.get("platform_subjects")),
                             16 if concurrency is None else concurrency, confirm)


# ---------------------------------------------------------------------- holders


def read_rbac(cluster, concurrency=4):
    """(the four RBAC lists, whole (ClusterRoles and Roles with their rules), the running components): the 4
    LISTs of one snapshot (snapshot.py) and the LIST of the APIServices (running_components), sent together."""
    snap = snapshot.RbacSnapshot(cluster, snapshot.RBAC_KINDS, concurrency,
                                 extra=[("components", lambda: running_components(cluster))])
    return snap.lists(), snap.extras["components"]


def find_holders(cluster, matrix, only=None, namespaces=None, platform=(), concurrency=16, lists=None,
                 components=None, pick=None, escalate=False):
    """The confirmed holders of every capability (of ``only``) in every place (``namespaces``, or
    every namespace holding a RoleBinding, plus every namespace / cluster scope together), partial
    holders (part of a capability's checks, or some only for named objects) included.

    ``lists``: the four RBAC lists (read_rbac) when the caller has read them already (then no LIST is
    sent here for them); ``components``: running_components() when the caller has read it already.
    ``platform``: the platform patterns (parsed); the ServiceAccounts of the namespaces KubeVirt and CDI
    run in (their APIServices) are added. ``pick``: ``pick(findings, index)`` gives the indexes of the
    findings to confirm (None: every one); a finding not asked has ``confirmed`` None and is among the
    holders as the local evaluation found it. ``escalate``: when an asked finding is not confirmed, or the API
    server allows it more than the RBAC objects give (the two disagree on this cluster), every other finding is
    asked too (``stats["escalated"]``). Returns (holders, unconfirmed, stats, index).
    Requests: 4 LISTs (unless given) and 1 LIST of the APIServices, then the SubjectAccessReviews that
    confirm the findings (deduplicated); nothing else."""
    requests_before = cluster.requests
    started = time.monotonic()
    listed_here = lists is None
    if listed_here:
        lists, components = read_rbac(cluster, concurrency)
    components_here = listed_here or components is None
    if components is None:
        components = running_components(cluster)
    components, warnings = components
    platform = list(platform) + holders.component_patterns(components)
    listed = time.monotonic()
    capabilities = holders.matrix_checks(matrix, only)
    checks = [c for _n, _s, cs in capabilities for c in cs]
    index = holders.RbacIndex(lists["cluster_roles"], lists["roles"], lists["cluster_role_bindings"],
                              lists["role_bindings"], checks)
    ev = holders.Evaluation(index, capabilities, namespaces)
    for f in ev.findings:
        f["platform"] = holders.is_platform(f, platform)
    # which findings the API server is asked to confirm: every one, or those the caller picks (the exclusive
    # audit: every one it would report, and a sample of the rest; docs/validate.md)
    asked_at = list(range(len(ev.findings))) if pick is None else sorted(set(pick(ev.findings, index)))
    specs, where, statuses = [], {}, []

    def ask(indexes):
        """Send the reviews of these findings not sent yet (deduplicated, concurrent); their answers join
        ``statuses``."""
        new = []
        for i in indexes:
            for spec, _expect in ev.findings[i]["_reviews"]:
                k = holders.review_key(spec)
                if k not in where:
                    where[k] = len(specs)
                    specs.append(spec)
                    new.append(spec)
        statuses.extend(cluster.subject_access_reviews(new, concurrency=concurrency) if new else [])

    def judge(f):
        """Set ``confirmed`` (and ``reason``, ``beyond_rbac``) of an asked finding from the API server's answers."""
        answers = [(statuses[where[holders.review_key(spec)]], expect, spec) for spec, expect in f["_reviews"]]
        denied = [a for a, expect, _spec in answers if expect and not a.get("allowed")]
        f["confirmed"] = not denied
        if denied:
            f["reason"] = "; ".join(sorted(set(a.get("reason") or a.get("evaluationError") or "no RBAC rule "
                                               "allows it" for a in denied)))
        beyond = [holders.spec_label(spec) for a, expect, spec in answers if not expect and a.get("allowed")]
        if beyond:
            # the API server allows more than the RBAC objects give it (another authorizer, or RBAC
            # changed during the run): still a holder, of at least what was found, and said so
            f["beyond_rbac"] = beyond
        return not denied and not beyond

    if not escalate:  # the questions of the findings not asked are not needed: their memory back before the reviews
        chosen = set(asked_at)
        for i, f in enumerate(ev.findings):
            if i not in chosen:
                f["_reviews"] = ()
    evaluated = time.monotonic()
    ask(asked_at)
    agree = True
    for i in asked_at:  # every asked finding judged, whatever the others' answers
        agree = judge(ev.findings[i]) and agree
    escalated = False
    if escalate and not agree and len(asked_at) < len(ev.findings):
        # the API server and the local evaluation disagree on this cluster (a change during the run, another
        # authorizer): what was not asked cannot be taken as the local evaluation found it, so ask every finding
        chosen = set(asked_at)
        rest = [i for i in range(len(ev.findings)) if i not in chosen]
        ask(rest)
        for i in rest:
            judge(ev.findings[i])
        asked_at = sorted(chosen.union(rest))
        escalated = True
    reviewed = time.monotonic()
    chosen = set(asked_at)
    confirmed, unconfirmed = [], []
    for i, f in enumerate(ev.findings):
        del f["_reviews"]
        if i not in chosen:  # not asked: what the local evaluation found (confirmed stays None)
            f["confirmed"] = None
            confirmed.append(f)
            continue
        (confirmed if f["confirmed"] is not False else unconfirmed).append(f)
    asked = [ev.findings[i] for i in asked_at]
    stats = {
        "questions": ev.questions,
        "principals": ev.principal_count,
        "evaluated": ev.evaluated,
        "bindings": len(lists["cluster_role_bindings"]) + len(lists["role_bindings"]),
        "roles": len(lists["cluster_roles"]) + len(lists["roles"]),
        "holders": len(confirmed),
        "asked": len(asked),
        "confirmed": sum(1 for f in confirmed if f["confirmed"]),
        "escalated": escalated,
        "everyone": sum(1 for f in confirmed if f["everyone"]),
        "partial": sum(1 for f in confirmed if f["partial"]),
        "membership": sum(1 for f in confirmed if f["through"] == "membership"),
        "platform": sum(1 for f in confirmed if f["platform"]),
        "beyond_rbac": sum(1 for f in confirmed if f.get("beyond_rbac")),
        "unconfirmed": len(unconfirmed),
        "lists": (4 if listed_here else 0) + (1 if components_here else 0),
        "platform_components": components,
        "warnings": warnings,
        "reviews": len(specs),
        "requests": cluster.requests - requests_before,
        "list_seconds": round(listed - started, 3),
        "evaluation_seconds": round(evaluated - listed, 3),
        "review_seconds": round(reviewed - evaluated, 3),
    }
    return confirmed, unconfirmed, dict(stats, namespaces=ev.namespaces), index


def running_components(cluster):
    """([{component, namespace, api_service}] of the platform components running on the cluster, [warnings]).
    Read in this run, from the APIServices; an identity that may not list them trusts no component's
    namespace (the safe side: their ServiceAccounts are reported), and is told why."""
    try:
        return holders.platform_components(cluster.list_api_services()), []
    except ApiError as exc:
        if exc.status not in (401, 403, 404):
            raise
        return [], ["the APIServices could not be listed (%s): the namespaces KubeVirt and CDI run in are not known, "
                    "so their ServiceAccounts are not taken for the platform's; let the identity list apiservices "
                    "(files/automation-clusterrole.yaml) or list those namespaces in platform_subjects" % exc.status]


def pick_sample(findings, _index=None, size=None):
    """The findings vmo_rbac_access_info asks with ``confirm: sample``: every everyone group's and the anonymous
    user's (the widest claims: every authenticated user, every ServiceAccount, every anonymous request; a few per
    capability and place, is_everyone_finding), and a
    sample of at most ``size`` (SAMPLE) of the others, spread over them (every k-th; the same for the same
    cluster)."""
    everyone = [i for i, f in enumerate(findings) if is_everyone_finding(f)]
    chosen = set(everyone)
    rest = [i for i in range(len(findings)) if i not in chosen]
    return everyone + sample(rest, SAMPLE if size is None else size)


def is_everyone_finding(finding):
    """An everyone group's finding, or the anonymous user's (``User system:anonymous`` is every anonymous
    request, as wide as ``Group system:unauthenticated``): always asked with ``confirm: sample``."""
    return bool(finding["everyone"]) or (finding["subject_kind"] == "User" and
                                         finding["subject_name"] == holders.ANONYMOUS)


def confirmation_text(stats):
    """How far the holders were proven, for the message: ``confirmed by the API server`` only when every one was
    asked and confirmed; otherwise ``205 of them asked of the API server, 205 confirmed; the others as the local
    evaluation found them`` (the exclusive audit's words, plugin_utils/report/model.py). With no holder, what was
    asked: ``no finding, nothing asked of the API server``, or ``3 findings asked of the API server, none
    confirmed``: never "every one confirmed" of none."""
    if not stats["holders"]:
        asked = stats.get("asked", 0)
        if not asked:
            return "no finding, nothing asked of the API server"
        return "%d finding%s asked of the API server, none confirmed (see 'unconfirmed')" % (
            asked, "" if asked == 1 else "s")
    if stats["confirmed"] >= stats["holders"]:
        return "every one confirmed by the API server"
    return "%d of them asked of the API server, %d confirmed; the others as the local evaluation found them" % (
        stats["asked"], stats["confirmed"])


def access_info(decl, opts, cluster, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """vmo_rbac_access_info: every holder of every capability, as the local evaluation finds them; the API server
    confirms every one (``confirm: all``), or the everyone groups' and a sample of the others (``confirm: sample``:
    each holder says whether it was asked, ``confirmed`` true or null, and a disagreement in the sample has every
    holder asked). No declaration: ``decl`` is None; read-only, so check and diff mode change nothing."""
    started = time.monotonic()
    sampling = opts.confirm == "sample"
    picked = {}

    def pick(findings, index):
        out = pick_sample(findings, index)
        picked["sampled"] = len(out) - sum(1 for f in findings if is_everyone_finding(f))
        return out

    found, unconfirmed, stats, _index = find_holders(cluster, opts.matrix, opts.only, opts.namespaces, opts.platform,
                                                     opts.concurrency, pick=pick if sampling else None,
                                                     escalate=sampling)
    name = cluster.params.get("context") or transport.scrub(cluster.host)  # without user information
    for f in found + unconfirmed:
        f["cluster"] = name
    namespaces = stats.pop("namespaces")
    warnings = stats.pop("warnings")
    stats["seconds"] = round(time.monotonic() - started, 3)
    stats["requests"] = cluster.requests
    stats["confirm"] = opts.confirm
    stats["sampled"] = picked.get("sampled", 0) if sampling else 0
    result = {
        "changed": False,
        "cluster": name,
        "holders": found,
        "unconfirmed": unconfirmed,
        "capabilities": [n for n in opts.matrix["capabilities"] if not opts.only or n in opts.only],
        "namespaces": namespaces,
        "summary": stats,
    }
    undeclared = "%d held by everyone groups, %d partial (part of a capability, or named objects only), %d " \
                 "platform identities" % (stats["everyone"], stats["partial"], stats["platform"])
    result["msg"] = "%d holders of %d capabilities in %d places on %s (%s; %s); %d requests: %d LISTs and %d " \
                    "SubjectAccessReviews" % (stats["holders"], len(result["capabilities"]), 1 + len(namespaces),
                                              name, confirmation_text(stats), undeclared, stats["requests"],
                                              stats["lists"], stats["reviews"])
    if stats["escalated"]:
        warnings.append("the sample of holders asked of the API server disagreed with the local evaluation (a "
                        "finding not confirmed, or allowed more than the RBAC objects give): every holder was asked")
    if unconfirmed:
        warnings.append("%d finding(s) of the local evaluation were not confirmed by the API server (the RBAC "
                        "objects changed during the run, or another authorizer decides): see 'unconfirmed'"
                        % len(unconfirmed))
    if stats["beyond_rbac"]:
        warnings.append("%d holder(s) may do more than the RBAC objects give them, by the API server's answers "
                        "(another authorizer, or RBAC changed during the run): see 'beyond_rbac' in 'holders'"
                        % stats["beyond_rbac"])
    if warnings:
        result["warnings"] = warnings
    return result


# ------------------------------------------------------------ the exclusive audit

def declared_grants(desired, matrix, index):
    """What the declaration grants: ({principal: {place: {Check: FULL or names}}}, custom), place ""
    meaning everywhere, each subject as its principal (holders.canonical).

    A grant declares every check of every capability its persona (or role) is not expected to be denied
    (the matrix, with the ``capabilities`` overrides). A custom role (``cluster_role``, ``role``) without
    an expectation for a capability declares what its rules grant of it, as the RBAC lists hold them
    (an aggregated ClusterRole: the rules the controller manager merged in; a role that does not exist
    grants nothing): ``custom`` lists what each custom role was found to declare."""
    caps = holders.matrix_checks(matrix)
    out, custom = {}, {}
    for b in desired.values():
        role_key = ("Role", b.namespace or "", b.role_name) if b.role_kind == "Role" else \
            ("ClusterRole", "", b.role_name)
        rules = index.role_grants.get(role_key)
        grants = {}
        for cap, _scope, checks in caps:
            e = access.expectation(matrix, b.role_name, b.persona, cap)
            if e is None:
                found = dict((c, (rules or {})[c]) for c in checks if c in (rules or {}))
                for c, g in found.items():
                    grants[c] = holders.merge(grants.get(c), g)
                entry = custom.setdefault(role_key, {"role_kind": role_key[0], "role_name": b.role_name,
                                                     "found": rules is not None, "capabilities": [],
                                                     "partial": []})
                if role_key[1]:
                    entry["namespace"] = role_key[1]
                if found and all(found.get(c) is holders.FULL for c in checks):
                    entry["capabilities"].append(cap)
                elif found:
                    entry["partial"].append({"capability": cap, "holds": [holders.held_entry(c, g)
                                                                          for c, g in found.items()]})
                sources = index.aggregated_from(role_key, list(found)) if found else []
                if sources:
                    # an aggregated role declares what the roles its labels select put into it: say which
                    entry.setdefault("aggregated_from", {})[cap] = sources
            elif e is not False:
                for c in checks:
                    grants[c] = holders.FULL
        for s in b.subjects:
            place = out.setdefault(holders.canonical(s), {}).setdefault(b.namespace or "", {})
            for c, g in grants.items():
                place[c] = holders.merge(place.get(c), g)
    return out, [custom[k] for k in sorted(custom)]


def finding_grants(finding, checks):
    """{check label: FULL or names}: what a finding holds (a partial one: its ``holds``; whatever the API
    server allowed beyond the RBAC objects counts as held for any object)."""
    if not finding["partial"]:
        out = dict((holders.check_label(c), holders.FULL) for c in checks)
    else:
        out = dict((h["check"], holders.FULL if not h["resource_names"] else frozenset(h["resource_names"]))
                   for h in finding["holds"])
    for label in finding.get("beyond_rbac") or ():
        out[label.split(" (only ")[0]] = holders.FULL
    return out


def is_declared(declared, finding, checks=None):
    """Whether the declaration grants what the finding holds there (every check it holds, for at least
    its objects), to the holder or to everyone groups it is in, in that place or everywhere.

    ``declared``: declared_grants()[0]; ``checks``: the finding's capability's checks (a full finding
    holds every one)."""
    subject = holders.canonical(holders.subject_of(finding))
    places = ("",) + ((finding["namespace"],) if finding["namespace"] else ())
    have = {}
    for s in [subject] + holders.populations(subject):
        for place in places:
            for c, g in ((declared.get(s) or {}).get(place) or {}).items():
                label = holders.check_label(c)
                have[label] = holders.merge(have.get(label), g)
    need = finding_grants(finding, checks or ())
    return holders.covers(have, need, list(need))


def _binding(v):
    return "%s %s/%s" % (v["kind"], v["namespace"], v["name"]) if v.get("namespace") else "%s %s" % (v["kind"], v["name"])


def remedy(finding):
    """The bindings to remove (those naming the holder itself), and one readable line."""
    own = [v for v in finding["via"] if v["own"]] or finding["via"]
    remove, steps = [], []
    for v in own:
        item = {"kind": v["kind"], "name": v["name"], "subject": v["subject"], "role_kind": v["role_kind"],
                "role_name": v["role_name"]}
        if v.get("namespace"):
            item["namespace"] = v["namespace"]
        remove.append(item)
        step = ("remove %s from %s" % (v["subject"], _binding(v)) if v["subjects"] > 1 else "delete %s" % _binding(v))
        step += " (%s %s)" % (v["role_kind"], v["role_name"])
        if v.get("aggregated_from"):
            step += ", whose rule comes from ClusterRole %s by aggregation (or remove that role's aggregation " \
                    "label)" % ", ".join(v["aggregated_from"])
        steps.append(step)
    return remove, "; ".join(steps)


SAMPLE = 200  # findings asked besides those that must be: the exclusive audit's violations, access_info's everyone groups


def sample(indexes, size):
    """At most ``size`` of ``indexes``, spread evenly over them (every k-th; the same for the same input)."""
    if size >= len(indexes):
        return list(indexes)
    if size <= 0:
        return []
    step = float(len(indexes)) / size
    return [indexes[int(i * step)] for i in range(size)]


def exclusive_audit(result, platform, cluster, desired, matrix, concurrency, lists=None, components=None,
                    sample_size=SAMPLE):
    """Add the "who else can" findings to a vmo_rbac_validate result, and return the audit's part of the verdict
    (verdict.AuditPart, for verdict.tally): each capability x place is one check; a check fails when it has an
    undeclared holder.

    ``result["who_else"]``: every confirmed holder the declaration does not grant and that is not a
    platform identity, with the bindings to remove; ``result["who_else_summary"]``: the audit's counts."""
    checks = dict((name, cs) for name, _scope, cs in holders.matrix_checks(matrix))
    decided = {}

    def violations(findings, index):
        """The findings the audit would report (not declared, not the platform's), every one asked, and a
        sample of the others (SAMPLE), spread over them: the API server confirms each reported violation,
        and the sample shows whether the local evaluation agrees with it on this cluster."""
        decided["declared"], decided["custom"] = declared_grants(desired, matrix, index)
        picked = [i for i, f in enumerate(findings)
                  if not f["platform"] and not is_declared(decided["declared"], f, checks[f["capability"]])]
        chosen = set(picked)
        rest = [i for i in range(len(findings)) if i not in chosen]
        decided["violations"] = len(picked)
        decided["sampled"] = sample(rest, sample_size)
        return picked + decided["sampled"]

    found, unconfirmed, stats, _index = find_holders(cluster, matrix, platform=platform, concurrency=concurrency,
                                                     lists=lists, components=components,
                                                     pick=None if sample_size is None else violations)
    if "declared" not in decided:  # every finding was asked (sample_size None)
        decided["declared"], decided["custom"] = declared_grants(desired, matrix, _index)
        decided["sampled"] = []
    result.setdefault("warnings", []).extend(stats["warnings"])
    declared, custom = decided["declared"], decided["custom"]
    who_else = []
    for f in found:
        if f["platform"] or is_declared(declared, f, checks[f["capability"]]):
            continue
        # every undeclared finding is asked, and confirmed (True) or unconfirmed (in ``unconfirmed``)
        if f["confirmed"] is None:  # cannot happen: never reported unasked
            raise AssertionError("an undeclared holder was not confirmed by the API server")
        f = dict(f)
        f["remove"], f["fix"] = remedy(f)
        who_else.append(f)
    failed_places = set((f["capability"], f["namespace"]) for f in who_else)
    # Undeclared holders by the RBAC objects that the API server did not confirm: the objects grant and the
    # API server says no (they changed during the run, or another authorizer denies). Either answer may be the
    # one that is not the cluster as it is, so their places are not proven, never passed (run again).
    unproven = [f for f in unconfirmed
                if not f["platform"] and not is_declared(declared, f, checks[f["capability"]])]
    unproven_places = set((f["capability"], f["namespace"]) for f in unproven) - failed_places
    failed_questions = len(failed_places) + len(unproven_places)
    result["who_else"] = who_else
    result["who_else_summary"] = {
        "questions": stats["questions"], "holders": stats["holders"], "undeclared": len(who_else),
        "platform": stats["platform"], "declared": stats["holders"] - stats["platform"] - len(who_else),
        "unconfirmed": len(unconfirmed), "reviews": stats["reviews"], "namespaces": stats["namespaces"],
        # confirmed by the API server: every undeclared holder (who_else) and a sample of the others; the
        # declared and platform holders besides are counted as the local evaluation found them
        "asked": stats["asked"], "sampled": len(decided["sampled"]),
        "confirmed": sum(1 for f in found if f["confirmed"]),
        "evaluation_seconds": stats["evaluation_seconds"],
        "platform_subjects": ["%s %s" % p for p in platform],
        # the components found running (their namespaces' ServiceAccounts are the platform's), read in this run
        "platform_components": stats["platform_components"],
    }
    if stats["beyond_rbac"]:
        result["who_else_summary"]["beyond_rbac"] = stats["beyond_rbac"]
        result.setdefault("warnings", []).append(
            "exclusive audit: %d holder(s) may do more than the RBAC objects give them, by the API server's answers "
            "(another authorizer, or RBAC changed during the run): see who_else[].beyond_rbac" % stats["beyond_rbac"])
    if unproven_places:
        result["who_else_summary"]["not_proven"] = len(unproven_places)
        result["who_else_unproven"] = [
            dict((k, f[k]) for k in ("capability", "namespace", "scope", "subject", "everyone", "through", "via")
                 if k in f) for f in unproven]
        result.setdefault("warnings", []).append(
            "exclusive audit: not proven for %d capability and place(s) (%s): the RBAC objects grant %d undeclared "
            "subject(s) there, not confirmed by the API server (the objects changed during the run, or another "
            "authorizer denies): neither passed nor a confirmed holder, see who_else_unproven; run again"
            % (len(unproven_places), ", ".join("%s %s" % (c, _place(n)) for c, n in sorted(unproven_places)[:5])
               + (", ..." if len(unproven_places) > 5 else ""), len(unproven)))
    if len(unconfirmed) > len(unproven):
        result.setdefault("warnings", []).append(
            "exclusive audit: %d finding(s) of the local evaluation were not confirmed by the API server (the RBAC "
            "objects changed during the run, or another authorizer denies them): not counted as holders; run "
            "again" % (len(unconfirmed) - len(unproven)))
    if custom:
        # what each declared custom role was found to grant, and so to declare (its rules as listed)
        result["who_else_summary"]["custom_roles"] = custom
    return verdict.AuditPart(stats["questions"], failed_questions, len(who_else), len(unproven_places))


def _place(namespace):
    return "in namespace %s" % namespace if namespace else "cluster-wide"


def _where(f):
    if f["scope"] == holders.SCOPE_CLUSTER:
        return "at cluster scope"
    if f["scope"] == holders.SCOPE_ALL:
        return "in every namespace"
    return "in namespace %s" % f["namespace"]


def describe(findings):
    """One line for the findings of one holder at one place with one fix: ``Group system:authenticated
    (every authenticated user) may vm.view, vm.delete in namespace leaky (not declared): delete
    RoleBinding leaky/oops (ClusterRole spectro-vm-admin)``."""
    f = findings[0]
    who = f["subject"] + (" (%s)" % f["everyone"] if f["everyone"] else "")
    what = ", ".join(x["capability"] + (" (%s)" % holders.holds_text(x) if x["partial"] else "") for x in findings)
    return "%s may %s %s (not declared): %s" % (who, what, _where(f), f.get("fix") or remedy(f)[1])


def message_lines(result, limit=8):
    """The who-else findings, one line per holder, place and fix (capabilities together)."""
    groups, order = {}, []
    for f in result.get("who_else", []):
        key = (f["subject"], f["scope"], f["namespace"], f.get("fix") or remedy(f)[1])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(f)
    lines = ["Who else can: %s." % describe(groups[k]) for k in order[:limit]]
    if len(order) > limit:
        lines.append("... and %d more undeclared holders (see who_else)." % (len(order) - limit))
    return lines
