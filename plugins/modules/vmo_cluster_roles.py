#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmo_cluster_roles
short_description: Create and keep up to date the ClusterRoles the collection ships (console, golden-image and reference persona roles)
version_added: 0.2.0
description:
  - Reconciles the collection's own ClusterRoles the way C(kubectl auth reconcile) does, idempotently,
    with check and diff mode.
  - V(console) is C(vmo-rbac-vm-console), the least-privilege role that
    O(vmo.rbac.vmo_role_binding#module:bindings[].console_access) binds, find VMs and open their serial
    console and VNC display, nothing else.
  - V(golden-image) is C(vmo-rbac-golden-image), the least-privilege role that
    O(vmo.rbac.vmo_role_binding#module:golden_image_namespaces) binds in each golden-image namespace, to clone the
    golden images VM templates deploy from (CDI's C(datavolumes/source)) and list their DataSources, nothing else.
  - V(personas) are reference definitions of the four C(spectro-vm-*) persona roles, for plain KubeVirt
    clusters without the Virtual Machine Orchestrator pack; V(legacy) the two C(spectro-list-*) roles of
    older VM Dashboard releases. They satisfy the collection's capability matrix exactly.
  - A missing role is created with the labels C(app.kubernetes.io/managed-by=vmo.rbac) and
    C(app.kubernetes.io/part-of=vmo-rbac-reference). A role carrying them whose rules differ gets the
    shipped rules (extra rules are removed). A role of the same name without them, such as the real
    C(spectro-vm-*) roles that a VMO pack installs, is never modified or deleted, only reported (a warning).
  - Creating or updating a ClusterRole needs every permission it grants, or the C(escalate) verb on it;
    C(files/automation-roles-clusterrole.yaml) is the least-privilege ClusterRole for this module.
author:
  - vmo.rbac contributors (@vmo-rbac)
extends_documentation_fragment:
  - vmo.rbac.connection
  - vmo.rbac.palette_connection
options:
  roles:
    description:
      - Which of the shipped ClusterRoles to reconcile.
      - V(console) is C(vmo-rbac-vm-console); V(golden-image) C(vmo-rbac-golden-image); V(personas) the four
        C(spectro-vm-*) reference roles; V(legacy) C(spectro-list-namespaces) and C(spectro-list-vmtemplates).
    type: list
    elements: str
    default: [console]
    choices: [personas, legacy, console, golden-image]
  state:
    description:
      - V(present) creates missing roles and updates the rules of the ones the collection owns.
      - V(absent) deletes the ones the collection owns (roles of the same name it did not create stay).
    type: str
    default: present
    choices: [present, absent]
attributes:
  check_mode:
    support: full
    description: Reports what it would create, update or delete, and writes nothing.
  diff_mode:
    support: full
    description: Shows each changed role's rules before and after.
seealso:
  - module: vmo.rbac.vmo_role_binding
  - name: Least-privilege automation identity
    description: The escalate and bind permissions this module needs, and why.
    link: https://github.com/vmo-rbac/vmo.rbac/blob/main/docs/security.md
"""

EXAMPLES = r"""
- name: Day 0 on any cluster, before granting console_access
  vmo.rbac.vmo_cluster_roles:
    context: prod-east
    roles: [console]

- name: A plain KubeVirt cluster without the VMO pack - the reference persona roles too
  vmo.rbac.vmo_cluster_roles:
    context: lab
    roles: [personas, legacy, console]

- name: Before binding golden_image_namespaces - the golden-image role
  vmo.rbac.vmo_cluster_roles:
    context: prod-east
    roles: [console, golden-image]

- name: Remove the roles the collection created (roles it did not create stay)
  vmo.rbac.vmo_cluster_roles:
    context: lab
    roles: [personas, legacy, console]
    state: absent
"""

RETURN = r"""
api_server:
  description:
    - Which API server the module reached, so that two inventory hosts that reach the same one can be told apart
      (the fleet report flags them, see docs/security.md). Its URL in one spelling, the fingerprint of the CA
      certificates it trusts (V(system trust store) without a CA file, V(not verified) with
      O(validate_certs=false)), and an C(id) of both. Never a credential.
  returned: when the module connected to the API server
  type: dict
  contains:
    url:
      description: The API server's URL (scheme and host in lower case, no default port, no trailing slash).
      type: str
      sample: https://10.0.0.1:6443
    ca:
      description: The SHA-256 of the CA certificates (their DER), or how the certificate is (not) verified.
      type: str
      sample: sha256:3f5a0c1e9b7d2a4c6e8f0a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d
    id:
      description: The first 16 hexadecimal digits of the SHA-256 of the URL and the CA fingerprint.
      type: str
      sample: 9c1d0e7a52b4f3a1
changed:
  description: Whether a role was (or, in check mode, would be) created, updated or deleted.
  returned: always
  type: bool
roles:
  description: Each role of the chosen sets and what was done about it.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The ClusterRole's name.
      type: str
      sample: vmo-rbac-vm-console
    action:
      description: >-
        V(create), V(update), V(delete), V(unchanged), or V(foreign) (a role of that name the collection did
        not create; left alone).
      type: str
      sample: create
    reason:
      description: >-
        Why, for example V(missing) or V(rules: 2 permission(s\) to add, 0 to remove).
      type: str
  sample:
    - {name: vmo-rbac-vm-console, action: create, reason: missing}
    - {name: spectro-vm-user, action: foreign, reason: "exists and was not made by vmo.rbac (for example by the VMO pack); left alone"}
actions:
  description: On a failure part-way, the writes that were made before it.
  returned: on failure
  type: list
  elements: dict
status:
  description: On a failure the API server answered, its HTTP status (403 when the identity may not escalate).
  returned: on failure reported by the API server
  type: int
  sample: 403
field:
  description: On invalid input, the option that is wrong.
  returned: on failure caused by the input
  type: str
  sample: roles
api_requests:
  description: How many HTTP requests the module sent to the API server (retries not counted).
  returned: always
  type: int
  sample: 2
palette_requests:
  description: With O(palette_kubeconfig), how many requests the module sent to Palette (1, the kubeconfig; also on failure).
  returned: with O(palette_kubeconfig)
  type: int
  sample: 1
"""

from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.module_utils._flows import cluster_roles
from ansible_collections.vmo.rbac.plugins.module_utils._flows.module_runner import run_module


def argument_spec():
    return specs.module_arg_spec("vmo_cluster_roles")


def main(runtime=None):
    run_module(argument_spec(), cluster_roles.run, component="vmo_cluster_roles", failure=dict(changed=False),
               parse=cluster_roles.parse_options, runtime=runtime)


if __name__ == "__main__":
    main()
