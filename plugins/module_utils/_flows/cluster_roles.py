# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ClusterRoles the collection ships, reconciled the way ``kubectl auth reconcile`` does.

Sets (``ROLE_SETS``): ``personas`` (the four spectro-vm-* reference roles, for plain KubeVirt
clusters without the VMO pack), ``legacy`` (spectro-list-namespaces, spectro-list-vmtemplates)
``console`` (vmo-rbac-vm-console, which console_access binds) and ``golden-image``
(vmo-rbac-golden-image, which golden_image_namespaces binds).

A missing role is created, carrying the labels that say the collection owns it (first without
rules, then updated with them: see ``_apply``); an owned role
whose rules differ gets the shipped rules (the collection is authoritative for its own roles,
so extra rules are removed, as ``kubectl auth reconcile --remove-extra-permissions`` would); a
role of the same name that the collection does not own, such as the real spectro-vm-* roles of
a VMO pack, is never touched, only reported. ``state: absent`` deletes the owned ones only.
Planned first (pure), then applied; check mode plans only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas, specs
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import ApiError, ClusterError
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError
from ansible_collections.vmo.rbac.plugins.module_utils._flows.enforce import PartialApplyError

ROLE_SETS = specs.CLUSTER_ROLE_SETS  # the options: specs.CLUSTER_ROLES_ARG_SPEC

RoleAction = namedtuple("RoleAction", "name action reason desired observed")
RolesOptions = namedtuple("RolesOptions", "roles state concurrency")


def parse_options(params):
    roles = params.get("roles")
    roles = ["console"] if roles is None else roles
    if not roles:
        raise SpecError("roles", "empty list; give one or more of %s" % ", ".join(ROLE_SETS))
    return RolesOptions(tuple(dict.fromkeys(roles)), params.get("state") or "present", 4)


def shipped_roles(sets):
    """The ClusterRole objects of the chosen sets, in a stable order."""
    out = []
    if "personas" in sets or "legacy" in sets:
        for role in personas.reference_cluster_roles():
            legacy = role["metadata"]["name"] in personas.LEGACY_DASHBOARD_ROLES
            if ("legacy" if legacy else "personas") in sets:
                out.append(role)
    if "console" in sets:
        out.append(personas.console_cluster_role())
    if "golden-image" in sets:
        out.append(personas.golden_image_cluster_role())
    return out


def is_owned(obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in personas.REFERENCE_LABELS.items())


def plan(wanted, live, state="present"):
    """Actions for the shipped roles ``wanted`` against ``live`` ({name: ClusterRole dict})."""
    actions = []
    for role in wanted:
        name = role["metadata"]["name"]
        current = live.get(name)
        if state == "absent":
            if current is not None and is_owned(current):
                actions.append(RoleAction(name, "delete", "state=absent", None, current))
            elif current is not None:
                actions.append(RoleAction(name, "foreign", "not made by vmo.rbac; left alone", None, current))
            continue
        if current is None:
            actions.append(RoleAction(name, "create", "missing", role, None))
        elif not is_owned(current):
            actions.append(RoleAction(name, "foreign", "exists and was not made by vmo.rbac (for example by the VMO "
                                                       "pack); left alone", None, current))
        else:
            have = set(personas.normalize_rules(current.get("rules")))
            want = set(personas.normalize_rules(role["rules"]))
            meta = current.get("metadata") or {}
            ann = (role["metadata"].get("annotations") or {})
            if have != want:
                actions.append(RoleAction(name, "update", "rules: %d permission(s) to add, %d to remove"
                                          % (len(want - have), len(have - want)), role, current))
            elif any((meta.get("annotations") or {}).get(k) != v for k, v in ann.items()):
                actions.append(RoleAction(name, "update", "annotations", role, current))
    return actions


def _body(role, current=None):
    body = dict(role, metadata=dict(role["metadata"]))
    if current is not None:
        meta = current.get("metadata") or {}
        body["metadata"]["labels"] = dict(meta.get("labels") or {}, **role["metadata"]["labels"])
        body["metadata"]["annotations"] = dict(meta.get("annotations") or {}, **role["metadata"]["annotations"])
        body["metadata"]["resourceVersion"] = meta.get("resourceVersion")
    return body


def _summary(role):
    if role is None:
        return ""
    import yaml  # PyYAML is a requirement of ansible-core itself

    return yaml.safe_dump({"name": role["metadata"]["name"], "rules": role.get("rules") or []},
                          default_flow_style=False, sort_keys=True)


def _apply(cluster, a):
    try:
        if a.action == "create":
            # Created without rules, then given them: RBAC's escalation check for a create cannot see
            # the role's name (a POST to the collection), so 'escalate' limited by resourceNames (the
            # least-privilege ClusterRole) only works for the update. An empty role grants nothing.
            empty = _body(a.desired)
            empty["rules"] = []
            try:
                made = cluster.create_cluster_role(empty)
            except ApiError as exc:
                # 409 AlreadyExists: this run's own create, retried after its answer was lost (a 5xx or a reset
                # after the API server made it), or another run of the collection at the same time: a role of
                # ours is given the rules as any update would; a foreign one is still a conflict
                if exc.status != 409:
                    raise
                # found by a LIST of its own (the least-privilege identity may list ClusterRoles, not get one)
                made = next((r for r in cluster.list_cluster_roles(metadata_only=False)
                             if (r.get("metadata") or {}).get("name") == a.name), None)
                if made is None or not is_owned(made):
                    raise
            cluster.replace_cluster_role(_body(a.desired, made))
        elif a.action == "update":
            cluster.replace_cluster_role(_body(a.desired, a.observed))
        else:
            cluster.delete_cluster_role(a.name, (a.observed.get("metadata") or {}).get("uid"))
    except ApiError as exc:
        if not (exc.status == 404 and a.action == "delete"):
            raise


def run(decl, opts, cluster, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Reconcile the chosen shipped ClusterRoles. ``decl`` is unused (this module declares roles, not
    grants). Returns the module result."""
    wanted = shipped_roles(opts.roles)
    names = set(r["metadata"]["name"] for r in wanted)
    live = dict((r["metadata"]["name"], r) for r in cluster.list_cluster_roles(metadata_only=False)
                if r["metadata"]["name"] in names)
    actions = plan(wanted, live, opts.state)
    writes = [a for a in actions if a.action in ("create", "update", "delete")]
    result = {
        "changed": bool(writes),
        "roles": [{"name": a.name, "action": a.action, "reason": a.reason} for a in actions]
        + [{"name": n, "action": "unchanged", "reason": ""} for n in sorted(names)
           if n not in set(a.name for a in actions) and (opts.state == "present" or n in live)],
        "warnings": ["ClusterRole %s %s" % (a.name, a.reason) for a in actions if a.action == "foreign"],
    }
    if diff:
        result["diff"] = [{"before_header": "ClusterRole %s" % a.name, "after_header": "ClusterRole %s (%s: %s)"
                           % (a.name, a.action, a.reason), "before": _summary(a.observed) if a.action != "create"
                           else "", "after": _summary(a.desired)} for a in writes]
    done = []
    for a in writes if not check_mode else []:
        try:
            _apply(cluster, a)
        except ClusterError as exc:
            message = exc.message
            if exc.status == 409:
                message = "ClusterRole %s changed during the run; run again to converge" % a.name
            raise PartialApplyError("%s (%d of %d planned writes were made before this failure)"
                                    % (message, len(done), len(writes)), done, exc.status)
        done.append({"name": a.name, "action": a.action, "reason": a.reason})
    result["api_requests"] = cluster.requests
    return result
