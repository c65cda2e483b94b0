# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who can: the flow of vmo_rbac_access_info and of vmo_rbac_validate's exclusive audit.

    options (parsed first: bad input fails before the first request)
      -> 5 LISTs (ClusterRoles, Roles, ClusterRoleBindings, RoleBindings; APIServices: where KubeVirt and
         CDI run, whose namespaces' ServiceAccounts are then the platform's)
      -> holders.py: local evaluation (whom to ask, and through which bindings)
      -> SubjectAccessReviews: one per check of each finding (deduplicated, concurrent)
      -> only what the API server confirms is reported; the rest is ``unconfirmed``

The exclusive audit compares the confirmed holders with what the declaration grants (the
resolved bindings of engine.observe_plan and the capability matrix): every holder the
declaration does not grant, and that is not an identity of the platform itself, is a violation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils import access, holders, transport
from ansible_collections.vmo.rbac.plugins.module_utils.cluster import ApiError
from ansible_collections.vmo.rbac.plugins.module_utils.declaration import SpecError, is_dns_label

ACCESS_INFO_ARG_SPEC = dict(
    capabilities=dict(type="dict", default={}),
    only_capabilities=dict(type="list", elements="str", default=[]),
    namespaces=dict(type="list", elements="str", default=[]),
    platform_subjects=dict(type="list", elements="str", default=[]),
    concurrency=dict(type="int", default=16),
)

AccessInfoOptions = namedtuple("AccessInfoOptions", "matrix only namespaces platform concurrency")


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
    return AccessInfoOptions(matrix, set(only), sorted(set(namespaces)) or None,
                             holders.parse_platform_subjects(params.get("platform_subjects")),
                             16 if concurrency is None else concurrency)


# ---------------------------------------------------------------------- holders


def find_holders(cluster, matrix, only=None, namespaces=None, platform=(), concurrency=16):
    """The confirmed holders of every capability (of ``only``) in every place (``namespaces``, or
    every namespace holding a RoleBinding, plus every namespace / cluster scope together).

    Returns (holders, unconfirmed, stats). Requests: 5 LISTs, then one SubjectAccessReview per
    distinct check of the findings; nothing else. ``platform``: the platform patterns (parsed);
    the ServiceAccounts of the namespaces KubeVirt and CDI run in (their APIServices) are added."""
    requests_before = cluster.requests
    started = time.monotonic()
    cluster_roles = cluster.list_cluster_roles(metadata_only=False)
    roles = cluster.list_roles(metadata_only=False)
    crbs = cluster.list_cluster_role_bindings()
    rbs = cluster.list_role_bindings()
    components, warnings = running_components(cluster)
    platform = list(platform) + holders.component_patterns(components)
    listed = time.monotonic()
    capabilities = holders.matrix_checks(matrix, only)
    checks = [c for _n, _s, cs in capabilities for c in cs]
    index = holders.RbacIndex(cluster_roles, roles, crbs, rbs, checks)
    ev = holders.Evaluation(index, capabilities, namespaces)
    specs, where = [], {}
    for f in ev.findings:
        keys = []
        for spec in f.pop("_reviews"):
            k = holders.review_key(spec)
            if k not in where:
                where[k] = len(specs)
                specs.append(spec)
            keys.append(k)
        f["_keys"] = keys
    evaluated = time.monotonic()
    statuses = cluster.subject_access_reviews(specs, concurrency=concurrency)
    reviewed = time.monotonic()
    confirmed, unconfirmed = [], []
    for f in ev.findings:
        answers = [statuses[where[k]] for k in f.pop("_keys")]
        f["confirmed"] = all(bool(a.get("allowed")) for a in answers)
        if not f["confirmed"]:
            f["reason"] = "; ".join(sorted(set(a.get("reason") or a.get("evaluationError") or "no RBAC rule "
                                               "allows it" for a in answers if not a.get("allowed"))))
        f["platform"] = holders.is_platform(f, platform)
        (confirmed if f["confirmed"] else unconfirmed).append(f)
    stats = {
        "questions": ev.questions,
        "principals": ev.principal_count,
        "evaluated": ev.evaluated,
        "bindings": len(crbs) + len(rbs),
        "roles": len(cluster_roles) + len(roles),
        "holders": len(confirmed),
        "everyone": sum(1 for f in confirmed if f["everyone"]),
        "partial": sum(1 for f in confirmed if f["partial"]),
        "membership": sum(1 for f in confirmed if f["through"] == "membership"),
        "platform": sum(1 for f in confirmed if f["platform"]),
        "unconfirmed": len(unconfirmed),
        "lists": 5,
        "platform_components": components,
        "warnings": warnings,
        "reviews": len(specs),
        "requests": cluster.requests - requests_before,
        "list_seconds": round(listed - started, 3),
        "evaluation_seconds": round(evaluated - listed, 3),
        "review_seconds": round(reviewed - evaluated, 3),
    }
    return confirmed, unconfirmed, dict(stats, namespaces=ev.namespaces)


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


def access_info(decl, opts, cluster, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """vmo_rbac_access_info: every holder of every capability, confirmed by the API server (no
    declaration: ``decl`` is None; read-only, so check and diff mode change nothing)."""
    started = time.monotonic()
    found, unconfirmed, stats = find_holders(cluster, opts.matrix, opts.only, opts.namespaces, opts.platform,
                                             opts.concurrency)
    name = cluster.params.get("context") or transport.scrub(cluster.host)  # without user information
    for f in found + unconfirmed:
        f["cluster"] = name
    namespaces = stats.pop("namespaces")
    warnings = stats.pop("warnings")
    stats["seconds"] = round(time.monotonic() - started, 3)
    stats["requests"] = cluster.requests
    result = {
        "changed": False,
        "cluster": name,
        "holders": found,
        "unconfirmed": unconfirmed,
        "capabilities": [n for n in opts.matrix["capabilities"] if not opts.only or n in opts.only],
        "namespaces": namespaces,
        "summary": stats,
    }
    undeclared = "%d held by everyone groups, %d partial (resourceNames), %d platform identities" % (
        stats["everyone"], stats["partial"], stats["platform"])
    result["msg"] = "%d holders of %d capabilities in %d places on %s (%s); %d requests: %d LISTs and %d " \
                    "SubjectAccessReviews" % (stats["holders"], len(result["capabilities"]), 1 + len(namespaces),
                                              name, undeclared, stats["requests"], stats["lists"], stats["reviews"])
    if unconfirmed:
        warnings.append("%d finding(s) of the local evaluation were not confirmed by the API server (the "
                        "RBAC objects changed during the run, or another authorizer decides): see "
                        "'unconfirmed'" % len(unconfirmed))
    if warnings:
        result["warnings"] = warnings
    return result


# ------------------------------------------------------------ the exclusive audit

def declared_capabilities(desired, matrix):
    """{Subject: {place: capabilities}}: what the declaration grants, place "" meaning everywhere.
    A grant declares every capability its persona (or role) is not expected to be denied."""
    out = {}
    for b in desired.values():
        caps = set(c for c in matrix["capabilities"]
                   if access.expectation(matrix, b.role_name, b.persona, c) is not False)
        for s in b.subjects:
            out.setdefault(s, {}).setdefault(b.namespace or "", set()).update(caps)
    return out


def is_declared(declared, finding):
    """Whether the declaration grants the finding's capability there, to the holder or to an everyone
    group it is in (then its own binding adds nothing the declaration does not give everyone)."""
    subject = holders.subject_of(finding)
    cap = finding["capability"]
    for s in [subject] + holders.populations(subject):
        places = declared.get(s) or {}
        if cap in places.get("", ()) or (finding["namespace"] and cap in places.get(finding["namespace"], ())):
            return True
    return False


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


def exclusive_audit(result, platform, cluster, desired, matrix, concurrency):
    """Add the "who else can" findings to a vmo_rbac_validate result (and fail it when any).

    ``result["who_else"]``: every confirmed holder the declaration does not grant and that is not a
    platform identity, with the bindings to remove. Counts: each capability x place is one check;
    a check fails when it has an undeclared holder."""
    found, unconfirmed, stats = find_holders(cluster, matrix, platform=platform, concurrency=concurrency)
    result.setdefault("warnings", []).extend(stats["warnings"])
    declared = declared_capabilities(desired, matrix)
    who_else = []
    for f in found:
        if f["platform"] or is_declared(declared, f):
            continue
        f = dict(f)
        f["remove"], f["fix"] = remedy(f)
        who_else.append(f)
    failed_questions = len(set((f["capability"], f["namespace"]) for f in who_else))
    summary = result["summary"]
    summary["checks"] += stats["questions"]
    summary["passed"] += stats["questions"] - failed_questions
    summary["failed"] += failed_questions
    summary["who_else"] = len(who_else)
    result["who_else"] = who_else
    result["who_else_summary"] = {
        "questions": stats["questions"], "holders": stats["holders"], "undeclared": len(who_else),
        "platform": stats["platform"], "declared": stats["holders"] - stats["platform"] - len(who_else),
        "unconfirmed": len(unconfirmed), "reviews": stats["reviews"], "namespaces": stats["namespaces"],
        "evaluation_seconds": stats["evaluation_seconds"],
        "platform_subjects": ["%s %s" % p for p in platform],
        # the components found running (their namespaces' ServiceAccounts are the platform's), read in this run
        "platform_components": stats["platform_components"],
    }
    if who_else:
        result["passed"] = False
    return result


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
    what = ", ".join(x["capability"] + (" (only %s)" % ", ".join(x["resource_names"]) if x["partial"] else "")
                     for x in findings)
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
