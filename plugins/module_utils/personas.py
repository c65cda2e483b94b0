# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VMO personas, the role sets, the capability matrix and the reference roles.

Pure data and pure functions: no Ansible, no network. This file is the single
source of truth for what a persona is allowed to do (``docs/personas.md`` and
``files/reference-roles.yaml`` are generated from it and checked by the unit tests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

PERSONAS = ("admin", "power-user", "user", "viewer")

ROLE_SETS = {
    # The ClusterRoles the VMO pack installs, one per persona.
    "vmo": {
        "admin": "spectro-vm-admin",
        "power-user": "spectro-vm-power-user",
        "user": "spectro-vm-user",
        "viewer": "spectro-vm-viewer",
    },
    # The standard Kubernetes roles, in the order the VMO documentation lists them.
    # KubeVirt adds VM rules to admin/edit/view through ClusterRole aggregation.
    "kubernetes": {
        "admin": "cluster-admin",
        "power-user": "admin",
        "user": "edit",
        "viewer": "view",
    },
}

# Older VMO / VM Dashboard releases needed these two cluster-wide bindings for every user.
LEGACY_DASHBOARD_ROLES = ("spectro-list-namespaces", "spectro-list-vmtemplates")

# The least-privilege console role the collection ships (console_access binds it in a grant's scope):
# Palette's docs caution that the spectro-vm-* roles may not carry console rights on the host cluster.
CONSOLE_ROLE = "vmo-rbac-vm-console"

# Subjects a grant to which reaches many identities, or identities of the platform itself; refused
# unless allow_privileged is true. Every name under the reserved "system:" prefix is one of them:
# the API server and its authenticators assign these names, people and identity providers do not.
PRIVILEGED_GROUPS = ("system:authenticated", "system:unauthenticated", "system:serviceaccounts")
PRIVILEGED_USERS = ("system:anonymous",)
PRIVILEGED_CLUSTER_ROLES = ("cluster-admin",)
_GROUP_REACH = {
    "system:authenticated": "every authenticated user",
    "system:unauthenticated": "every unauthenticated request",
    "system:serviceaccounts": "every ServiceAccount in the cluster",
    "system:nodes": "every node (kubelet)",
    "system:bootstrappers": "every bootstrap token",
    "system:masters": "the cluster's superusers",
    "system:monitoring": "the API server's monitoring identities",
}
_USER_REACH = {
    "system:anonymous": "every unauthenticated request",
    "system:kube-proxy": "the kube-proxy of every node",
    "system:kube-controller-manager": "the controller manager",
    "system:kube-scheduler": "the scheduler",
}


def privileged_reach(kind, name):
    """Whom a grant to this User or Group reaches, when that is many identities or the platform's own
    (the reason it is refused without allow_privileged); None for an ordinary subject."""
    if not name.startswith("system:"):
        return None
    table = _GROUP_REACH if kind == "Group" else _USER_REACH
    if name in table:
        return table[name]
    if kind == "Group" and name.startswith("system:serviceaccounts:"):
        return "every ServiceAccount in namespace %r, present and future" % name.split(":", 2)[2]
    if kind == "Group" and name.startswith("system:bootstrappers:"):
        return "every bootstrap token of group %r" % name
    if kind == "User" and name.startswith("system:node:"):
        return "the kubelet of node %r" % name.split(":", 2)[2]
    return "an identity the API server itself assigns (names under system: are reserved for Kubernetes)"


# --------------------------------------------------------------------------------------
# Capabilities: what "can do" means in API terms. Each check is
# (verb, api group, resource, subresource). "namespaced" capabilities are asked inside a
# namespace (or across all namespaces for cluster-wide grants), "cluster" capabilities
# only at cluster scope.

TEMPLATE_GROUP = "spectrocloud.com"
TEMPLATE_RESOURCE = "vmtemplates"

CAPABILITIES = {
    "vm.view": {
        "scope": "namespaced",
        "description": "See virtual machines and their running instances",
        "checks": [
            ("get", "kubevirt.io", "virtualmachines", ""),
            ("list", "kubevirt.io", "virtualmachines", ""),
            ("get", "kubevirt.io", "virtualmachineinstances", ""),
        ],
    },
    "vm.console": {
        "scope": "namespaced",
        "description": "Open the serial console and the VNC display of a VM",
        "checks": [
            ("get", "subresources.kubevirt.io", "virtualmachineinstances", "console"),
            ("get", "subresources.kubevirt.io", "virtualmachineinstances", "vnc"),
        ],
    },
    "vm.power": {
        "scope": "namespaced",
        "description": "Start, stop and restart VMs",
        "checks": [
            ("update", "subresources.kubevirt.io", "virtualmachines", "start"),
            ("update", "subresources.kubevirt.io", "virtualmachines", "stop"),
            ("update", "subresources.kubevirt.io", "virtualmachines", "restart"),
        ],
    },
    "vm.create": {
        "scope": "namespaced",
        "description": "Launch new VMs",
        "checks": [("create", "kubevirt.io", "virtualmachines", "")],
    },
    "vm.clone": {
        "scope": "namespaced",
        "description": "Clone VMs",
        "checks": [("create", "clone.kubevirt.io", "virtualmachineclones", "")],
    },
    "vm.delete": {
        "scope": "namespaced",
        "description": "Delete VMs",
        "checks": [("delete", "kubevirt.io", "virtualmachines", "")],
    },
    "vm.migrate": {
        "scope": "namespaced",
        "description": "Live-migrate VMs between nodes",
        "checks": [
            ("create", "kubevirt.io", "virtualmachineinstancemigrations", ""),
            ("update", "subresources.kubevirt.io", "virtualmachines", "migrate"),
        ],
    },
    "vm.snapshot": {
        "scope": "namespaced",
        "description": "Take VM snapshots",
        "checks": [("create", "snapshot.kubevirt.io", "virtualmachinesnapshots", "")],
    },
    "template.manage": {
        "scope": "namespaced",
        "description": "Create, update and delete VM templates",
        "checks": [
            ("create", TEMPLATE_GROUP, TEMPLATE_RESOURCE, ""),
            ("update", TEMPLATE_GROUP, TEMPLATE_RESOURCE, ""),
            ("delete", TEMPLATE_GROUP, TEMPLATE_RESOURCE, ""),
        ],
    },
    "cluster.manage": {
        "scope": "cluster",
        "description": "Manage the cluster: namespaces, nodes, cluster roles",
        "checks": [
            ("create", "", "namespaces", ""),
            ("update", "", "nodes", ""),
            ("create", "rbac.authorization.k8s.io", "clusterroles", ""),
        ],
    },
}

CAPABILITY_ORDER = tuple(CAPABILITIES)


def _row(*allowed):
    return dict(zip(CAPABILITY_ORDER, allowed))


#                          view  console power create clone delete migrate snap  tmpl  cluster
_VMO_EXPECTED = {
    "admin": _row(True, True, True, True, True, True, True, True, True, True),
    "power-user": _row(True, True, True, True, True, True, True, True, False, False),
    "user": _row(True, True, True, False, False, False, False, False, False, False),
    "viewer": _row(True, False, False, False, False, False, False, False, False, False),
}
_KUBERNETES_EXPECTED = {
    "admin": _row(True, True, True, True, True, True, True, True, True, True),
    "power-user": _row(True, True, True, True, True, True, True, True, False, False),
    "user": _row(True, True, True, True, True, True, True, True, False, False),
    "viewer": _row(True, False, False, False, False, False, False, False, False, False),
}

EXPECTED = {"vmo": _VMO_EXPECTED, "kubernetes": _KUBERNETES_EXPECTED}

# What the console role allows: finding a VM and opening its console, nothing more.
CONSOLE_EXPECTED = _row(True, True, False, False, False, False, False, False, False, False)

# Console access through the spectro-vm-* roles alone is not required: Palette's "VM User Roles and
# Permissions" page cautions that those roles cover the VM management APIs, and that the console needs
# permissions on the host cluster as well. Validation accepts either answer for these personas (and
# says how to get console access when it is denied); console_access: true makes it required.
CONSOLE_OPTIONAL = {"vmo": ("admin", "power-user", "user"), "kubernetes": ()}


def persona_for_role(role_set, role_name):
    """Return the persona whose role in ``role_set`` is ``role_name``, or None."""
    for persona, name in ROLE_SETS[role_set].items():
        if name == role_name:
            return persona
    return None


def default_matrix(role_set):
    """The shipped capability matrix for a role set, as plain data (a deep copy).

    Returns ``{"capabilities": {name: {scope, description, checks}}, "expect": {persona:
    {capability: bool}}}``; checks are dicts with verb, group, resource, subresource.
    """
    caps = {}
    for name, cap in CAPABILITIES.items():
        caps[name] = {
            "scope": cap["scope"],
            "description": cap["description"],
            "checks": [
                {"verb": v, "group": g, "resource": r, "subresource": s} for (v, g, r, s) in cap["checks"]
            ],
        }
    return {"capabilities": caps, "expect": copy.deepcopy(EXPECTED[role_set])}


# --------------------------------------------------------------------------------------
# Reference ClusterRoles. They satisfy the VMO matrix above exactly (the unit tests
# evaluate these rules with an RBAC rule matcher, and the integration tests ask the API
# server). On a VMO cluster the pack owns the real roles; these are for tests, for
# plain KubeVirt clusters (opt-in), and as the yardstick validation compares against.

_READ = ["get", "list", "watch"]
_WRITE = ["create", "update", "patch", "delete", "deletecollection"]

_VM_RESOURCES = [
    "virtualmachines",
    "virtualmachineinstances",
    "virtualmachineinstancemigrations",
    "virtualmachineinstancepresets",
    "virtualmachineinstancereplicasets",
    "virtualmachinepools",
]
_VM_READ = [
    {"apiGroups": ["kubevirt.io"], "resources": _VM_RESOURCES, "verbs": _READ},
    {"apiGroups": ["snapshot.kubevirt.io"],
     "resources": ["virtualmachinesnapshots", "virtualmachinesnapshotcontents", "virtualmachinerestores"],
     "verbs": _READ},
    {"apiGroups": ["clone.kubevirt.io"], "resources": ["virtualmachineclones"], "verbs": _READ},
    {"apiGroups": ["instancetype.kubevirt.io"],
     "resources": ["virtualmachineinstancetypes", "virtualmachineclusterinstancetypes",
                   "virtualmachinepreferences", "virtualmachineclusterpreferences"],
     "verbs": _READ},
    {"apiGroups": ["cdi.kubevirt.io"], "resources": ["datavolumes", "datasources"], "verbs": _READ},
    {"apiGroups": [TEMPLATE_GROUP], "resources": [TEMPLATE_RESOURCE], "verbs": _READ},
    {"apiGroups": ["subresources.kubevirt.io"],
     "resources": ["virtualmachineinstances/guestosinfo", "virtualmachineinstances/filesystemlist",
                   "virtualmachineinstances/userlist"],
     "verbs": ["get"]},
]
_VM_USE = [
    {"apiGroups": ["subresources.kubevirt.io"],
     "resources": ["virtualmachineinstances/console", "virtualmachineinstances/vnc",
                   "virtualmachineinstances/vnc/screenshot"],
     "verbs": ["get"]},
    {"apiGroups": ["subresources.kubevirt.io"],
     "resources": ["virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart",
                   "virtualmachineinstances/pause", "virtualmachineinstances/unpause",
                   "virtualmachineinstances/softreboot"],
     "verbs": ["update"]},
]
_VM_MANAGE = [
    {"apiGroups": ["kubevirt.io"], "resources": _VM_RESOURCES, "verbs": _WRITE},
    {"apiGroups": ["subresources.kubevirt.io"],
     "resources": ["virtualmachines/migrate", "virtualmachines/expand-spec",
                   "virtualmachineinstances/addvolume", "virtualmachineinstances/removevolume",
                   "virtualmachineinstances/portforward"],
     "verbs": ["get", "update"]},
    {"apiGroups": ["snapshot.kubevirt.io"],
     "resources": ["virtualmachinesnapshots", "virtualmachinerestores"], "verbs": _WRITE},
    {"apiGroups": ["clone.kubevirt.io"], "resources": ["virtualmachineclones"], "verbs": _WRITE},
    {"apiGroups": ["cdi.kubevirt.io"], "resources": ["datavolumes"], "verbs": _WRITE},
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": _READ + _WRITE},
]
_ADMIN_EXTRA = [
    {"apiGroups": [TEMPLATE_GROUP], "resources": [TEMPLATE_RESOURCE], "verbs": _WRITE},
    {"apiGroups": ["instancetype.kubevirt.io"],
     "resources": ["virtualmachineinstancetypes", "virtualmachineclusterinstancetypes",
                   "virtualmachinepreferences", "virtualmachineclusterpreferences"],
     "verbs": _WRITE},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": _READ + _WRITE},
    {"apiGroups": [""], "resources": ["nodes"], "verbs": _READ + ["update", "patch"]},
    {"apiGroups": ["rbac.authorization.k8s.io"],
     "resources": ["clusterroles", "clusterrolebindings", "roles", "rolebindings"],
     "verbs": _READ + _WRITE},
]

REFERENCE_LABELS = {
    "app.kubernetes.io/part-of": "vmo-rbac-reference",
    "app.kubernetes.io/managed-by": "vmo.rbac",
}


def _cluster_role(name, rules, description):
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": dict(REFERENCE_LABELS),
            "annotations": {"vmo.rbac/description": description},
        },
        "rules": copy.deepcopy(rules),
    }


_CONSOLE_RULES = [
    {"apiGroups": ["kubevirt.io"], "resources": ["virtualmachines", "virtualmachineinstances"], "verbs": _READ},
    {"apiGroups": ["subresources.kubevirt.io"],
     "resources": ["virtualmachineinstances/console", "virtualmachineinstances/vnc",
                   "virtualmachineinstances/vnc/screenshot"],
     "verbs": ["get"]},
]


def console_cluster_role():
    """The console role: what virtctl console/vnc and the VM dashboard need to find a VM and open its
    console or VNC display (no power, create, delete or migrate)."""
    return _cluster_role(CONSOLE_ROLE, _CONSOLE_RULES,
                         "VM console: find VMs and open their serial console and VNC display; nothing else")


def reference_cluster_roles():
    """The four spectro-vm-* persona roles and the two legacy dashboard roles."""
    return [
        _cluster_role("spectro-vm-admin", _VM_READ + _VM_USE + _VM_MANAGE + _ADMIN_EXTRA,
                      "VMO admin: manage the cluster, VMs and VM templates"),
        _cluster_role("spectro-vm-power-user", _VM_READ + _VM_USE + _VM_MANAGE,
                      "VMO power user: most VM operations; no cluster or VM template management"),
        _cluster_role("spectro-vm-user", _VM_READ + _VM_USE,
                      "VMO user: use VMs that others created; no launch, clone, delete or migrate"),
        _cluster_role("spectro-vm-viewer", _VM_READ, "VMO viewer: view only"),
        _cluster_role("spectro-list-namespaces",
                      [{"apiGroups": [""], "resources": ["namespaces"], "verbs": _READ}],
                      "Legacy VM Dashboard: list namespaces"),
        _cluster_role("spectro-list-vmtemplates",
                      [{"apiGroups": [TEMPLATE_GROUP], "resources": [TEMPLATE_RESOURCE], "verbs": _READ}],
                      "Legacy VM Dashboard: list VM templates"),
    ]


# --------------------------------------------------------------------------------------
# A small RBAC rule evaluator. The API server is the authority (validation always asks
# it); this evaluator exists so that unit tests can prove the reference roles satisfy
# the matrix without a cluster, and so validation can say which rule drifted.


def rule_allows(rule, verb, group, resource, subresource=""):
    """True if one PolicyRule allows the request (resource rules only, as RBAC does)."""
    full = resource + ("/" + subresource if subresource else "")

    def has(values, wanted):
        return "*" in values or wanted in values

    if not has(rule.get("verbs") or [], verb):
        return False
    if not has(rule.get("apiGroups") or [], group):
        return False
    # As ResourceMatches in Kubernetes' rbac/v1 helpers: '*', the exact 'resource[/sub]', or
    # '*/sub' for any resource's subresource. There is no 'resource/*' wildcard in RBAC.
    resources = rule.get("resources") or []
    if not ("*" in resources or full in resources or (subresource and "*/" + subresource in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names


def rules_allow(rules, verb, group, resource, subresource=""):
    return any(rule_allows(r, verb, group, resource, subresource) for r in rules or [])


def normalize_rules(rules):
    """Rules as a sorted tuple of atoms (verb, group, resource, name), for comparison."""
    atoms = set()
    for r in rules or []:
        for v in r.get("verbs") or []:
            for g in r.get("apiGroups") or [""]:
                for res in r.get("resources") or []:
                    for n in r.get("resourceNames") or [""]:
                        atoms.add((v, g, res, n))
        for url in r.get("nonResourceURLs") or []:
            for v in r.get("verbs") or []:
                atoms.add((v, "", "url:" + url, ""))
    return tuple(sorted(atoms))
