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

# The golden-image role the collection ships: bound in each of golden_image_namespaces for every
# namespace-restricted grant of a persona that may deploy VMs from templates (template.deploy).
GOLDEN_IMAGE_ROLE = "vmo-rbac-golden-image"

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
# Capabilities: what "can do" means in API terms, one per distinct power over a VM. Each check is
# (verb, api group, resource, subresource). A capability is held when every check is allowed and
# denied when every check is denied: its checks are every path to that power the API offers (a
# persona expected to be denied it must be denied each of them). "namespaced" capabilities are
# asked inside a namespace (or across all namespaces for cluster-wide grants), "cluster" ones only
# at cluster scope, "golden-image" ones in the golden-image namespaces (golden_image_namespaces).
# ``why`` says how the power reaches a VM (docs/personas.md prints it).

TEMPLATE_GROUP = "spectrocloud.com"
TEMPLATE_RESOURCE = "vmtemplates"

_SUB = "subresources.kubevirt.io"
_KV = "kubevirt.io"
_POOL = "pool.kubevirt.io"
_CDI = "cdi.kubevirt.io"


def _vmi(verb, *subresources):
    return [(verb, _SUB, "virtualmachineinstances", s) for s in subresources]


def _vm(verb, *subresources):
    return [(verb, _SUB, "virtualmachines", s) for s in subresources]


CAPABILITIES = {
    # ---- KubeVirt's API
    "vm.view": {
        "scope": "namespaced",
        "description": "See virtual machines and their running instances",
        "why": "names, specs and state of the VMs (the disks, networks and cloud-init they use)",
        "checks": [
            ("get", _KV, "virtualmachines", ""),
            ("list", _KV, "virtualmachines", ""),
            ("get", _KV, "virtualmachineinstances", ""),
        ],
    },
    "vm.guest-info": {
        "scope": "namespaced",
        "description": "Read what the guest agent reports: operating system, logged-in users, filesystems",
        "why": "the inside of a running guest as its agent sees it",
        "checks": _vmi("get", "guestosinfo", "userlist", "filesystemlist"),
    },
    "vm.console": {
        "scope": "namespaced",
        "description": "Open the serial console and the VNC display of a VM",
        "why": "keyboard and screen of the guest: a login prompt, or a session left open",
        "checks": _vmi("get", "console", "vnc"),
    },
    "vm.screenshot": {
        "scope": "namespaced",
        "description": "Take a screenshot of a VM's display",
        "why": "what the guest's screen shows, without a VNC session",
        "checks": _vmi("get", "vnc/screenshot"),
    },
    "vm.power": {
        "scope": "namespaced",
        "description": "Start, stop and restart VMs",
        "why": "the VM's availability: stop it, or restart it into a changed spec",
        "checks": _vm("update", "start", "stop", "restart"),
    },
    "vm.reset": {
        "scope": "namespaced",
        "description": "Hard-reset a running VM",
        "why": "the VM's availability: a reset loses what the guest had not written",
        "checks": _vmi("update", "reset"),
    },
    "vm.guest-power": {
        "scope": "namespaced",
        "description": "Pause, resume and soft-reboot a running VM",
        "why": "the VM's availability: a paused guest runs no code, a reboot ends what it was doing",
        "checks": _vmi("update", "pause", "unpause", "softreboot"),
    },
    "vm.create": {
        "scope": "namespaced",
        "description": "Launch new VMs",
        "why": "a new VM may use any disk (PVC) of the namespace: another VM's data",
        "checks": [
            ("create", _KV, "virtualmachines", ""),
            ("create", _KV, "virtualmachineinstances", ""),
            ("create", _KV, "virtualmachineinstancereplicasets", ""),
            ("create", _POOL, "virtualmachinepools", ""),
        ],
    },
    "vm.edit": {
        "scope": "namespaced",
        "description": "Change VMs, VM instances and VM pools",
        "why": "a new cloud-init key, disk or device in the spec is root in the guest at its next start",
        "checks": [
            (verb, group, resource, "")
            for group, resource in ((_KV, "virtualmachines"), (_KV, "virtualmachineinstances"),
                                    (_POOL, "virtualmachinepools"))
            for verb in ("update", "patch")
        ],
    },
    "vm.delete": {
        "scope": "namespaced",
        "description": "Delete VMs",
        "why": "the VM itself (and the disks it owns through its DataVolume templates)",
        "checks": [
            ("delete", _KV, "virtualmachines", ""),
            ("delete", _KV, "virtualmachineinstances", ""),
            ("delete", _POOL, "virtualmachinepools", ""),
        ],
    },
    "vm.delete-all": {
        "scope": "namespaced",
        "description": "Delete every VM of a namespace in one request",
        "why": "every VM of the namespace at once (deletecollection)",
        "checks": [
            ("deletecollection", _KV, "virtualmachines", ""),
            ("deletecollection", _KV, "virtualmachineinstances", ""),
            ("deletecollection", _POOL, "virtualmachinepools", ""),
        ],
    },
    "vm.clone": {
        "scope": "namespaced",
        "description": "Clone VMs",
        "why": "a copy of the VM with its disks, under the cloner's control",
        "checks": [("create", "clone.kubevirt.io", "virtualmachineclones", "")],
    },
    "vm.migrate": {
        "scope": "namespaced",
        "description": "Live-migrate VMs between nodes",
        "why": "where the VM runs: a node of the migrator's choosing",
        "checks": [
            ("create", _KV, "virtualmachineinstancemigrations", ""),
            ("update", _SUB, "virtualmachines", "migrate"),
        ],
    },
    "vm.snapshot": {
        "scope": "namespaced",
        "description": "Take VM snapshots",
        "why": "a copy of the VM's disks that outlives the VM; a frozen guest writes nothing",
        "checks": [("create", "snapshot.kubevirt.io", "virtualmachinesnapshots", "")] +
        _vmi("update", "freeze", "unfreeze"),
    },
    "vm.restore": {
        "scope": "namespaced",
        "description": "Restore VMs from snapshots",
        "why": "overwrites a VM's disks and spec with a snapshot's",
        "checks": [("create", "snapshot.kubevirt.io", "virtualmachinerestores", "")],
    },
    "vm.export": {
        "scope": "namespaced",
        "description": "Export VMs and their disks for download",
        "why": "the VM's disks (and memory dumps, snapshots) downloaded out of the cluster",
        "checks": [("create", "export.kubevirt.io", "virtualmachineexports", "")],
    },
    "vm.backup": {
        "scope": "namespaced",
        "description": "Back up VMs (KubeVirt's backup.kubevirt.io)",
        "why": "a copy of the VM's disks, written where the backup points",
        "checks": [("create", "backup.kubevirt.io", "virtualmachinebackups", "")],
    },
    "vm.memory-dump": {
        "scope": "namespaced",
        "description": "Dump a running VM's memory",
        "why": "the guest's RAM, keys and passwords included, written to a volume",
        "checks": _vm("update", "memorydump"),
    },
    "vm.port-forward": {
        "scope": "namespaced",
        "description": "Forward a port to a VM (virtctl port-forward, ssh)",
        "why": "a network connection to any port of the guest",
        "checks": _vm("get", "portforward") + _vmi("get", "portforward"),
    },
    "vm.usbredir": {
        "scope": "namespaced",
        "description": "Redirect a USB device into a VM",
        "why": "a device of the client's choosing attached to the guest",
        "checks": _vmi("get", "usbredir"),
    },
    "vm.volumes": {
        "scope": "namespaced",
        "description": "Hot-plug and unplug VM volumes",
        "why": "any disk (PVC) of the namespace attached to a running guest, or taken away from it",
        "checks": _vm("update", "addvolume", "removevolume") + _vmi("update", "addvolume", "removevolume"),
    },
    "vm.sev": {
        "scope": "namespaced",
        "description": "Drive the SEV attestation of a confidential VM (session, launch secret)",
        "why": "the secret a confidential guest is started with (its disk key, for one)",
        "checks": _vmi("update", "sev/setupsession", "sev/injectlaunchsecret"),
    },
    "vm.plugins": {
        "scope": "cluster",
        "description": "Install KubeVirt plugins (hooks into every VM's domain and its node)",
        "why": "a plugin rewrites the libvirt domain of VMs and runs programs on the nodes that host them",
        "checks": [(verb, "plugin.kubevirt.io", "plugins", "") for verb in ("create", "update", "patch")],
    },
    # ---- around KubeVirt's API: the pod that runs the VM, its disks, its secrets
    "vm.pod-exec": {
        "scope": "namespaced",
        "description": "Run commands in a VM's virt-launcher pod",
        "why": "the pod runs the VM: its QEMU process, disks and memory (exec and attach; get is the "
               "websocket form)",
        "checks": [(verb, "", "pods", sub) for sub in ("exec", "attach") for verb in ("create", "get")],
    },
    "vm.console-log": {
        "scope": "namespaced",
        "description": "Read the guest's serial console log (the virt-launcher pod's log)",
        "why": "what the guest wrote to its serial console (boot messages, logins, cloud-init output), kept in "
               "the virt-launcher pod's guest-console-log container",
        "checks": [("get", "", "pods", "log")],
    },
    "vm.pod-debug": {
        "scope": "namespaced",
        "description": "Add a debug container to a VM's virt-launcher pod",
        "why": "an ephemeral container shares the pod that runs the VM",
        "checks": [("update", "", "pods", "ephemeralcontainers"), ("patch", "", "pods", "ephemeralcontainers")],
    },
    "vm.pod-network": {
        "scope": "namespaced",
        "description": "Reach a VM's ports through its pod (port-forward, API server proxy)",
        "why": "a network connection to the guest through the virt-launcher pod or a Service in front of it",
        "checks": [(verb, "", resource, sub)
                   for resource, sub in (("pods", "portforward"), ("pods", "proxy"), ("services", "proxy"))
                   for verb in ("create", "get")],
    },
    "vm.pod-create": {
        "scope": "namespaced",
        "description": "Create pods, directly or through a workload controller",
        "why": "a pod may mount any disk (PVC) of the namespace, a VM's included, and run as any of its "
               "ServiceAccounts",
        "checks": [
            ("create", "", "pods", ""),
            ("create", "", "replicationcontrollers", ""),
            ("create", "apps", "deployments", ""),
            ("create", "apps", "replicasets", ""),
            ("create", "apps", "statefulsets", ""),
            ("create", "apps", "daemonsets", ""),
            ("create", "batch", "jobs", ""),
            ("create", "batch", "cronjobs", ""),
        ],
    },
    "vm.pod-delete": {
        "scope": "namespaced",
        "description": "Delete or evict a VM's virt-launcher pod",
        "why": "the VM's availability: deleting its pod kills the guest, evicting it moves or stops it",
        "checks": [("delete", "", "pods", ""), ("create", "", "pods", "eviction")],
    },
    "vm.pvc-create": {
        "scope": "namespaced",
        "description": "Create volumes (PersistentVolumeClaims)",
        "why": "a new PVC may be a clone of any PVC of the namespace, a VM's disk included (volume cloning)",
        "checks": [("create", "", "persistentvolumeclaims", "")],
    },
    "vm.disk-clone": {
        "scope": "namespaced",
        "description": "Clone the namespace's disks with CDI",
        "why": "a DataVolume, wherever its creator may make one, clones a disk of this namespace (a VM's "
               "included) when its creator may name it as the source (CDI's datavolumes/source); in a "
               "golden-image namespace this is template.deploy",
        "checks": [("create", _CDI, "datavolumes", "source")],
    },
    "vm.secrets": {
        "scope": "namespaced",
        "description": "Read the namespace's secrets",
        "why": "cloud-init user data, SSH keys and export tokens live in secrets",
        "checks": [(verb, "", "secrets", "") for verb in ("get", "list", "watch")],
    },
    "vm.service-accounts": {
        "scope": "namespaced",
        "description": "Act as the namespace's ServiceAccounts",
        "why": "whatever a ServiceAccount of the namespace may do to a VM (a token, or impersonation)",
        "checks": [("create", "", "serviceaccounts", "token"), ("impersonate", "", "serviceaccounts", "")],
    },
    # ---- VM templates and golden images
    "template.deploy": {
        "scope": "golden-image",
        "description": "Deploy VMs from templates: clone the golden images",
        "why": "a VM deployed from a template starts from a clone of a golden-image disk in another "
               "namespace (CDI asks for datavolumes/source there)",
        "checks": [("create", _CDI, "datavolumes", "source")],
    },
    "template.manage": {
        "scope": "namespaced",
        "description": "Create, update and delete VM templates",
        "why": "every VM deployed from a template later starts from what it says",
        "checks": [
            ("create", TEMPLATE_GROUP, TEMPLATE_RESOURCE, ""),
            ("update", TEMPLATE_GROUP, TEMPLATE_RESOURCE, ""),
            ("delete", TEMPLATE_GROUP, TEMPLATE_RESOURCE, ""),
        ],
    },
    "vm.node-proxy": {
        "scope": "cluster",
        "description": "Reach any pod of a node through the kubelet (nodes/proxy)",
        "why": "every VM of the node: the kubelet's API runs commands in, attaches to and forwards ports of its "
               "virt-launcher pod, whatever the pod's namespace",
        "checks": [("get", "", "nodes", "proxy"), ("create", "", "nodes", "proxy")],
    },
    "rbac.escalate": {
        "scope": "cluster",
        "description": "Grant or assume any power: bind or escalate any role, impersonate users and groups",
        "why": "every VM: whoever may bind a role it does not hold, widen one, or act as any user or group holds "
               "every power above (acting as a ServiceAccount is vm.service-accounts)",
        "checks": [
            ("bind", "rbac.authorization.k8s.io", "clusterroles", ""),
            ("escalate", "rbac.authorization.k8s.io", "clusterroles", ""),
            ("impersonate", "", "users", ""),
            ("impersonate", "", "groups", ""),
        ],
    },
    "cluster.manage": {
        "scope": "cluster",
        "description": "Manage the cluster: namespaces, nodes, cluster roles",
        "why": "every VM: the nodes run them, and cluster roles grant any power over them",
        "checks": [
            ("create", "", "namespaces", ""),
            ("update", "", "nodes", ""),
            ("create", "rbac.authorization.k8s.io", "clusterroles", ""),
        ],
    },
}

CAPABILITY_ORDER = tuple(CAPABILITIES)
SCOPES = ("namespaced", "cluster", "golden-image")

# What each persona may do (every other capability: must be denied).
_VM_USE = ("vm.view", "vm.guest-info", "vm.console", "vm.screenshot", "vm.power", "vm.reset", "vm.guest-power",
           "vm.port-forward", "vm.usbredir")
_VM_MANAGE = _VM_USE + ("vm.create", "vm.edit", "vm.delete", "vm.delete-all", "vm.clone", "vm.migrate",
                        "vm.snapshot", "vm.restore", "vm.export", "vm.backup", "vm.memory-dump", "vm.volumes", "vm.sev",
                        "vm.pvc-create", "vm.disk-clone", "template.deploy")
_AROUND = ("vm.console-log", "vm.pod-exec", "vm.pod-debug", "vm.pod-network", "vm.pod-create", "vm.pod-delete", "vm.secrets",
           "vm.service-accounts")


def _allowed(*capabilities):
    return dict((c, c in capabilities) for c in CAPABILITY_ORDER)


# The VMO role set, as VMO documents its personas: admin manages the cluster, VMs and templates;
# power-user "most VM operations" but no infrastructure (the pods, secrets and ServiceAccounts
# around a VM), no cluster, no template management; user "uses VMs that others created" (no launch,
# clone, delete or migrate); viewer views.
_VMO_EXPECTED = {
    "admin": _allowed(*[c for c in CAPABILITY_ORDER if c not in ("vm.node-proxy", "rbac.escalate")]),
    "power-user": _allowed(*_VM_MANAGE),
    "user": _allowed(*_VM_USE),
    "viewer": _allowed("vm.view", "vm.guest-info"),
}
# The kubernetes role set: what cluster-admin, admin, edit and view grant with the aggregated roles
# of KubeVirt's newest release the collection knows (see KUBEVIRT_CHANGES for older ones) and of
# CDI, and Kubernetes' own rules for pods, secrets and ServiceAccounts.
_KUBERNETES_EXPECTED = {
    "admin": _allowed(*CAPABILITY_ORDER),
    # admin: since KubeVirt v1.5.0 no migration; Kubernetes' admin adds no ephemeral containers; since
    # v1.9.0 KubeVirt's admin creates plugins (cluster-scoped: only a cluster-wide grant has them)
    "power-user": _allowed(*[c for c in _VM_MANAGE + _AROUND + ("vm.plugins",)
                             if c not in ("vm.migrate", "vm.pod-debug")]),
    # edit: no deletecollection of VMs, and since v1.9.0 no VNC screenshot either
    "user": _allowed(*[c for c in _VM_MANAGE + _AROUND
                       if c not in ("vm.migrate", "vm.pod-debug", "vm.delete-all", "vm.screenshot")]),
    # view: CDI's view role lets whoever may view a namespace clone its disks (datavolumes/source), and
    # Kubernetes' view reads pod logs (the guest's serial console log)
    "viewer": _allowed("vm.view", "vm.guest-info", "vm.console-log", "vm.disk-clone", "template.deploy"),
}

EXPECTED = {"vmo": _VMO_EXPECTED, "kubernetes": _KUBERNETES_EXPECTED}

# KubeVirt releases that changed what its aggregated roles give admin and edit (the kubernetes role
# set's power-user and user), as KubeVirt's own cluster.go of each release generates them
# (tests/tools/kubevirtroles; docs/development.md lists every change): capability -> (release,
# personas, allowed from that release on; before it, the opposite). EXPECTED holds the newest line.
KUBEVIRT_CHANGES = {
    "vm.usbredir": ((1, 4, 0), ("power-user", "user"), True),
    "vm.migrate": ((1, 5, 0), ("power-user", "user"), False),
    "vm.reset": ((1, 5, 0), ("power-user", "user"), True),
    "vm.backup": ((1, 8, 0), ("power-user", "user"), True),
    "vm.screenshot": ((1, 9, 0), ("user",), False),
    "vm.plugins": ((1, 9, 0), ("power-user",), True),
}
# The release line the collection knows best: expectations for later releases are those of this one.
NEWEST_KUBEVIRT = (1, 9, 0)


def kubevirt_expectation(role_set, persona, capability, release):
    """What ``persona`` of ``role_set`` may do for ``capability`` on a KubeVirt release line.

    ``release``: (lowest, highest) version tuples the cluster's KubeVirt lies in (lowest inclusive,
    highest exclusive, None unbounded); an exact version v is (v, v + patch 1). Returns True/False, or
    None when the line does not decide it (a change between lowest and highest)."""
    base = EXPECTED[role_set][persona][capability]
    change = KUBEVIRT_CHANGES.get(capability) if role_set == "kubernetes" else None
    if change is None or persona not in change[1]:
        return base
    since, _who, after = change
    lowest, highest = release if release else (None, None)
    if lowest is not None and lowest >= since:
        return after
    if highest is not None and highest <= since:
        return not after
    return None


# What the console role allows: finding a VM and opening its console, nothing more.
CONSOLE_EXPECTED = _allowed("vm.view", "vm.console", "vm.screenshot")
# What the golden-image role allows: cloning the golden images, nothing more (vm.disk-clone is the same
# power, asked outside golden-image namespaces, where this role is never bound).
GOLDEN_IMAGE_EXPECTED = _allowed("template.deploy", "vm.disk-clone")

# Console access (and the VNC screenshot) through the spectro-vm-* roles alone is not required:
# Palette's "VM User Roles and Permissions" page cautions that those roles cover the VM management
# APIs, and that the console needs permissions on the host cluster as well. Validation accepts either
# answer for these personas (and says how to get console access when it is denied); console_access:
# true makes it required.
CONSOLE_OPTIONAL = {"vmo": ("admin", "power-user", "user"), "kubernetes": ()}
CONSOLE_CAPABILITIES = ("vm.console", "vm.screenshot")

# VMO's admin "manages the cluster"; whether its role also lets it reach every pod through the kubelet
# or grant and assume any power (bind, escalate, impersonate) VMO does not say. Validation accepts either
# answer; the reference spectro-vm-admin grants neither (least privilege: it manages RBAC within what it
# holds). With role_set kubernetes the admin persona is cluster-admin, which holds both.
ESCALATION_CAPABILITIES = ("vm.node-proxy", "rbac.escalate")

# What VMO's own description of its personas names (PERSONAS.md: launch, clone, delete, migrate, use,
# view, deploying from templates (asked only with golden_image_namespaces), managing templates, the
# cluster; the matrix the collection shipped first). The exact rules of the VMO pack's roles are not
# public: a capability VMO does not name is required to be denied where the persona may not have it (N),
# and either answer passes where it may ((Y): the reference roles grant it), so that a pack whose roles
# are narrower than the reference ones in a way VMO does not document validates.
VMO_DOCUMENTED = ("vm.view", "vm.console", "vm.power", "vm.create", "vm.clone", "vm.delete", "vm.migrate",
                  "vm.snapshot", "template.deploy", "template.manage", "cluster.manage")

# Per role set and persona, the capabilities either answer satisfies (an override's expect says
# otherwise).
OPTIONAL = {
    "vmo": dict(
        (persona, tuple(c for c in CAPABILITY_ORDER
                        if (EXPECTED["vmo"][persona][c] and c not in VMO_DOCUMENTED)
                        or (c in CONSOLE_CAPABILITIES and persona in CONSOLE_OPTIONAL["vmo"])
                        or (c in ESCALATION_CAPABILITIES and persona == "admin")))
        for persona in PERSONAS),
    "kubernetes": {},
}


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
]
_INSTANCETYPES = ["virtualmachineinstancetypes", "virtualmachineclusterinstancetypes",
                  "virtualmachinepreferences", "virtualmachineclusterpreferences"]
_VM_READ = [
    {"apiGroups": [_KV], "resources": _VM_RESOURCES, "verbs": _READ},
    {"apiGroups": [_POOL], "resources": ["virtualmachinepools"], "verbs": _READ},
    {"apiGroups": ["snapshot.kubevirt.io"],
     "resources": ["virtualmachinesnapshots", "virtualmachinesnapshotcontents", "virtualmachinerestores"],
     "verbs": _READ},
    {"apiGroups": ["clone.kubevirt.io"], "resources": ["virtualmachineclones"], "verbs": _READ},
    {"apiGroups": ["export.kubevirt.io"], "resources": ["virtualmachineexports"], "verbs": _READ},
    {"apiGroups": ["backup.kubevirt.io"], "resources": ["virtualmachinebackups"], "verbs": _READ},
    {"apiGroups": ["instancetype.kubevirt.io"], "resources": _INSTANCETYPES, "verbs": _READ},
    {"apiGroups": [_CDI], "resources": ["datavolumes", "datasources"], "verbs": _READ},
    {"apiGroups": [TEMPLATE_GROUP], "resources": [TEMPLATE_RESOURCE], "verbs": _READ},
    {"apiGroups": [_SUB],
     "resources": ["virtualmachineinstances/guestosinfo", "virtualmachineinstances/filesystemlist",
                   "virtualmachineinstances/userlist"],
     "verbs": ["get"]},
]
_VM_USE = [
    {"apiGroups": [_SUB],
     "resources": ["virtualmachineinstances/console", "virtualmachineinstances/vnc",
                   "virtualmachineinstances/vnc/screenshot", "virtualmachineinstances/portforward",
                   "virtualmachineinstances/usbredir", "virtualmachines/portforward"],
     "verbs": ["get"]},
    {"apiGroups": [_SUB],
     "resources": ["virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart",
                   "virtualmachineinstances/pause", "virtualmachineinstances/unpause",
                   "virtualmachineinstances/softreboot", "virtualmachineinstances/reset"],
     "verbs": ["update"]},
]
_VM_MANAGE = [
    {"apiGroups": [_KV], "resources": _VM_RESOURCES, "verbs": _WRITE},
    {"apiGroups": [_POOL], "resources": ["virtualmachinepools"], "verbs": _WRITE},
    {"apiGroups": [_SUB],
     "resources": ["virtualmachines/migrate", "virtualmachines/memorydump", "virtualmachines/addvolume",
                   "virtualmachines/removevolume", "virtualmachineinstances/addvolume",
                   "virtualmachineinstances/removevolume", "virtualmachineinstances/freeze",
                   "virtualmachineinstances/unfreeze", "virtualmachineinstances/sev/setupsession",
                   "virtualmachineinstances/sev/injectlaunchsecret"],
     "verbs": ["update"]},
    {"apiGroups": [_SUB], "resources": ["virtualmachines/expand-spec"], "verbs": ["get"]},
    {"apiGroups": ["snapshot.kubevirt.io"],
     "resources": ["virtualmachinesnapshots", "virtualmachinerestores"], "verbs": _WRITE},
    {"apiGroups": ["clone.kubevirt.io"], "resources": ["virtualmachineclones"], "verbs": _WRITE},
    {"apiGroups": ["export.kubevirt.io"], "resources": ["virtualmachineexports"], "verbs": _WRITE},
    {"apiGroups": ["backup.kubevirt.io"], "resources": ["virtualmachinebackups"], "verbs": _WRITE},
    {"apiGroups": [_CDI], "resources": ["datavolumes"], "verbs": _WRITE},
    {"apiGroups": [_CDI], "resources": ["datavolumes/source"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": _READ + _WRITE},
]
_ADMIN_EXTRA = [
    {"apiGroups": [TEMPLATE_GROUP], "resources": [TEMPLATE_RESOURCE], "verbs": _WRITE},
    {"apiGroups": ["instancetype.kubevirt.io"], "resources": _INSTANCETYPES, "verbs": _WRITE},
    {"apiGroups": ["plugin.kubevirt.io"], "resources": ["plugins"], "verbs": _READ + _WRITE},
    # the infrastructure around a VM: its pod, workloads that make pods, secrets, ServiceAccounts
    {"apiGroups": [""], "resources": ["pods", "replicationcontrollers", "secrets"], "verbs": _READ + _WRITE},
    {"apiGroups": [""],
     "resources": ["pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy"],
     "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["update", "patch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods/eviction", "serviceaccounts/token"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"],
     "verbs": _READ + _WRITE},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _READ + _WRITE},
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


_GOLDEN_IMAGE_RULES = [
    {"apiGroups": [_CDI], "resources": ["datavolumes/source"], "verbs": ["create"]},
    {"apiGroups": [_CDI], "resources": ["datasources"], "verbs": _READ},
]


def golden_image_cluster_role():
    """The golden-image role: bound in each golden-image namespace, it lets a persona that may deploy VMs
    from templates clone the golden images there (CDI's datavolumes/source) and see their DataSources;
    nothing else (no VM, no disk of that namespace to read or change)."""
    return _cluster_role(GOLDEN_IMAGE_ROLE, _GOLDEN_IMAGE_RULES,
                         "VM templates: clone the golden images of this namespace into a VM's disk; nothing else")


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
