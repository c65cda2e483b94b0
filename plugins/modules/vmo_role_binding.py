#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmo_role_binding
short_description: Grant VMO personas to users, groups and service accounts, idempotently
version_added: 0.1.0
description:
  - Makes a cluster hold exactly the declared persona grants for Palette Virtual Machine
    Orchestrator (VMO) or KubeVirt virtual machines, as ClusterRoleBindings (cluster-wide) and
    RoleBindings (restricted to namespaces named, matched by a regular expression, or selected by
    labels).
  - One task replaces the Palette UI steps (cluster Settings, RBAC, Add New Binding, Confirm) per
    cluster, and can run every hour against every cluster.
  - Every binding it creates carries the labels C(app.kubernetes.io/managed-by=vmo.rbac) and
    C(vmo.rbac/owner=<owner>), plus C(vmo.rbac/persona) and C(vmo.rbac/scope); the subjects of an
    owned binding are exactly the declared ones. A same-name binding it does not own is never
    modified or deleted; the task fails before any write and names it.
  - A run reads the cluster with a handful of LIST requests (never one per binding), plans, and
    writes only the differences, all creates before any delete. A run with nothing to change
    makes no writes.
  - Bad input, missing namespaces and missing roles fail before the first write, naming the field. So does a
    binding too large for etcd (entries of one role and scope merge into one binding, and every planned object
    is measured before any write, at most 1,400,000 bytes of JSON; etcd refuses requests over 1.5 MiB by default).
  - Time-limited grants (O(bindings[].expires)). Every run ends this O(owner)'s grants whose time has passed,
    declared or not, whatever O(purge) says (the action's reason says V(expired at ...)); check and diff
    mode show it. The time of the run is the controller's clock (tests move it forward with the
    environment variable E(VMO_RBAC_TEST_NOW), which the module warns about).
  - Use M(vmo.rbac.vmo_rbac_validate) to prove what the subjects can actually do.
  - With O(backend=palette) the same declaration is written into the cluster's RBAC settings in Palette
    instead (one GET, and one PUT when something changes, then one GET to read the list back); see
    docs/palette.md. Palette offers no version to refuse a write made from an old list, so the list is read
    back after the write, and when another writer overwrote this owner's grants meanwhile, they are merged
    with what is there now (and the items this run had read that no other O(owner) looks after, such as the
    UI's and Palette's own, are restored) and written again, at most 4 times; then the task fails naming
    what was lost.
author:
  - vmo.rbac contributors (@vmo-rbac)
extends_documentation_fragment:
  - vmo.rbac.bindings
  - vmo.rbac.access
  - vmo.rbac.connection
  - vmo.rbac.palette
  - vmo.rbac.palette_connection
options:
  state:
    description:
      - V(present) makes the declared grants exist exactly as declared.
      - V(absent) deletes the declared grants (only bindings this O(owner) owns). A grant with a
        O(bindings[].name) of its own is deleted by that name wherever this O(owner) holds it (every
        namespace, or cluster-wide), with its console and legacy bindings, whatever scope the entry gives (the
        name is the grant). A named namespace that does not exist any more is skipped (nothing to delete there).
    type: str
    default: present
    choices: [present, absent]
  if_active:
    description:
      - What to do when a declared time-limited grant (O(bindings[].expires)) is in force already (its binding
        holds subjects and its end has not come) and this run would change it (its end, its reason, its
        subjects).
      - V(replace) changes it as declared (the declaration decides; what the inventory's scheduled runs want).
      - V(refuse) fails before any write, naming the grant, its end and its reason, and never changes it; the
        same request again (nothing to change) passes. What a break-glass request wants by default (a second
        request must not silently shorten or overwrite the first).
      - V(extend) changes it only to a later end (and then its reason too); an earlier end, or ending it, is
        refused.
      - A grant made or changed by another run between this run's read and its write is checked the same way
        (the write meets a conflict, re-reads, and refuses rather than overwrite it).
      - The result's RV(active_changed) lists the grants in force that were changed, with their end and reason
        before.
    type: str
    default: replace
    choices: [replace, refuse, extend]
  wait:
    description:
      - With O(backend=palette), seconds to wait after the write until the declared access is in force
        on the cluster, asked with SubjectAccessReviews through the cluster connection (Palette's agent
        applies the settings asynchronously). For each declared binding and subject, the first rule of
        the bound role is asked. V(0) does not wait.
      - Only grants are waited for; a removed grant may still be allowed through another binding.
      - Only with O(backend=palette); the kubernetes backend's bindings are in force when it returns.
    type: int
    default: 0
  require_roles:
    description:
      - Fail before any write when a referenced ClusterRole or Role does not exist (after waiting
        O(wait_for_roles) seconds). Kubernetes itself accepts bindings to missing roles, which then
        grant nothing.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports exactly the actions it would take, and writes nothing.
  diff_mode:
    support: full
    description: Shows each changed binding before and after (role, subjects, labels).
seealso:
  - module: vmo.rbac.vmo_rbac_validate
  - name: VMO personas and role sets
    description: What each persona may do, and how the two role sets differ.
    link: https://github.com/vmo-rbac/vmo.rbac/blob/main/docs/personas.md
  - name: Least-privilege automation identity
    description: The ClusterRole this module needs, shipped in files/automation-clusterrole.yaml.
    link: https://github.com/vmo-rbac/vmo.rbac/blob/main/docs/security.md
"""

EXAMPLES = r"""
- name: Grant the VMO personas on one cluster
  vmo.rbac.vmo_role_binding:
    context: prod-east
    bindings:
      - persona: admin
        groups: [vmo-admins]
      - persona: power-user
        groups: [vm-operators]
        subjects:
          - {kind: User, name: alice@example.com}
          - {kind: ServiceAccount, name: ci, namespace: automation}
        namespaces: [team-a, team-b]
      - persona: viewer
        namespace_selector: team=vm
        groups: [auditors]

- name: Palette-style regular expression; new matching namespaces are picked up by the next run
  vmo.rbac.vmo_role_binding:
    bindings:
      - cluster_role: my-custom-role
        namespace_regex: /^web-app/
        users: [bob@example.com]

- name: OIDC cluster whose API server prefixes users and groups with "oidc:"
  vmo.rbac.vmo_role_binding:
    oidc_user_prefix: "oidc:"
    oidc_group_prefix: "oidc:"
    bindings:
      - persona: user
        groups: [vm-users]          # bound as oidc:vm-users

- name: Standard Kubernetes roles instead of spectro-vm-* (cluster-admin needs allow_privileged)
  vmo.rbac.vmo_role_binding:
    role_set: kubernetes
    allow_privileged: true
    bindings:
      - persona: admin
        groups: [platform-admins]

- name: Day-0, right after cluster creation; wait for the VMO pack to install its roles
  vmo.rbac.vmo_role_binding:
    wait_for_roles: 600
    bindings: "{{ vmo_rbac_bindings }}"

- name: Scheduled run that also removes grants dropped from the inventory
  vmo.rbac.vmo_role_binding:
    purge: true
    bindings: "{{ vmo_rbac_bindings }}"

- name: Time-limited grants; every later run ends them on time, even while the entries stay here
  vmo.rbac.vmo_role_binding:
    max_duration: 14d
    bindings:
      - persona: power-user
        users: [contractor@example.com]
        namespaces: [migration]
        expires: "2026-12-18T18:00:00+01:00"     # quote it, and give the offset
        reason: CHG-2231 datacenter migration
      - persona: viewer
        groups: [auditors]
        expires: 3d                               # from the run that first grants it

- name: Keep the bindings in Palette (cluster Settings, RBAC); wait until Palette's agent applied them
  vmo.rbac.vmo_role_binding:
    backend: palette
    palette_cluster_uid: "{{ palette_cluster_uid }}"      # set by the vmo.rbac.palette inventory
    palette_project_uid: "{{ palette_project_uid }}"
    kubeconfig: "{{ vmo_rbac_kubeconfig }}"               # namespaces, roles, waiting
    wait: 300
    bindings: "{{ vmo_rbac_bindings }}"
  environment:
    SPECTROCLOUD_APIKEY: "{{ palette_api_key }}"

- name: Withdraw a grant
  vmo.rbac.vmo_role_binding:
    state: absent
    bindings:
      - persona: viewer
        groups: [auditors]
        namespace_selector: team=vm
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
owner:
  description: The owner of the bindings the run is about (O(owner)). With RV(api_server), what the fleet report compares.
  returned: always
  type: str
  sample: vmo-rbac
changed:
  description: Whether anything was (or, in check mode, would be) written.
  returned: always
  type: bool
actions:
  description:
    - The writes made (or, in check mode, planned), in execution order (every create before any delete).
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: V(create), V(update) or V(delete).
      type: str
      sample: create
    kind:
      description: V(ClusterRoleBinding) or V(RoleBinding).
      type: str
      sample: RoleBinding
    namespace:
      description: The namespace of a RoleBinding.
      type: str
      returned: for RoleBindings
      sample: team-a
    name:
      description: The binding's name.
      type: str
      sample: vmo-rbac-spectro-vm-power-user
    reason:
      description: >-
        Why, for example V(missing), V(subjects: add User alice), V(no longer declared (purge\)),
        V(expired at 2026-12-05T17:00:00Z), V(expires 2026-12-05T17:00:00Z -> 2026-12-05T19:00:00Z).
      type: str
      sample: missing
    cause:
      description:
        - Why, as data (O(backend=kubernetes)); the words of RV(actions[].reason) may change, these values do not.
        - >-
          V(missing) (created), V(roleRef) (the role changed, so deleted and created again), V(transition) (the
          short-lived binding that bridges a role change), V(leftover) (a transition binding an interrupted run left),
          V(subjects), V(labels), V(expires) or V(annotations) (updated, the first that differs), V(expired) (a
          time-limited grant whose time has passed), V(moved) (the grant gained or lost its end, and with it its
          name), V(successor) (another binding grants the persona with another role), V(purge), V(absent).
      type: str
      returned: with O(backend=kubernetes)
      sample: missing
  sample:
    - action: create
      kind: RoleBinding
      namespace: team-a
      name: vmo-rbac-spectro-vm-power-user
      reason: missing
      cause: missing
summary:
  description:
    - Counts of bindings C(created), C(updated) (subjects or labels), C(replaced) (deleted because the
      grant moved to another role), C(deleted) (state absent, purge) and C(unchanged).
    - C(expired), only when some grant ended by itself in this run (a time-limited grant whose time has
      passed; its subjects removed or, when nobody declares it any more, the binding deleted).
  returned: always
  type: dict
  sample: {created: 2, updated: 0, replaced: 0, deleted: 0, unchanged: 82}
bindings:
  description: The grants as they are after the run (empty with O(state=absent)).
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(ClusterRoleBinding) or V(RoleBinding).
      type: str
    namespace:
      description: The namespace of a RoleBinding.
      type: str
      returned: for RoleBindings
    name:
      description: The binding's name.
      type: str
    role_ref:
      description: The referenced role, C(kind) and C(name).
      type: dict
    subjects:
      description: The subjects, as in the Kubernetes object (C(kind), C(name), C(namespace), C(apiGroup)).
      type: list
      elements: dict
    persona:
      description: The persona the role stands for, V(custom) for any other role.
      type: str
    labels:
      description: The ownership labels the collection sets.
      type: dict
    granted_at:
      description: A time-limited grant's start (C(vmo.rbac/granted-at)), RFC 3339 in UTC.
      type: str
      returned: for time-limited grants
    expires:
      description: A time-limited grant's end (C(vmo.rbac/expires)), RFC 3339 in UTC.
      type: str
      returned: for time-limited grants
    reason:
      description: Why the grant exists (C(vmo.rbac/reason)).
      type: str
      returned: for grants with a reason
  sample:
    - kind: ClusterRoleBinding
      name: vmo-rbac-spectro-vm-admin
      role_ref: {kind: ClusterRole, name: spectro-vm-admin}
      subjects: [{kind: Group, name: vmo-admins, apiGroup: rbac.authorization.k8s.io}]
      persona: admin
      labels:
        app.kubernetes.io/managed-by: vmo.rbac
        vmo.rbac/owner: vmo-rbac
        vmo.rbac/persona: admin
        vmo.rbac/scope: cluster
scopes:
  description:
    - One entry per grant with O(bindings[].namespace_regex) or O(bindings[].namespace_selector) rules, what
      they matched and which protected namespaces they skipped (see M(vmo.rbac.vmo_rbac_validate)'s RV(vmo.rbac.vmo_rbac_validate#module:scopes)).
    - A grant whose rules matched no namespace is also a warning (an error with O(strict_scopes=true)).
  returned: always
  type: list
  elements: dict
  sample:
    - {entry: "bindings[2].namespace_regex", rules: ["~/^(kube|cluster)[-].+/"], namespaces: [team-a],
       skipped_protected: [], matched_nothing: false}
active_changed:
  description:
    - The time-limited grants in force that this run changed (O(if_active=replace) or O(if_active=extend)), with
      their end and reason before the change and the action's reason.
  returned: when a grant in force was changed
  type: list
  elements: dict
  sample:
    - {kind: RoleBinding, namespace: payments, name: vmo-rbac-break-glass-admin-oncall-3f2a1b9c0d,
       expires: "2026-12-05T17:00:00Z", reason: INC-4711, change: "expires 2026-12-05T17:00:00Z -> 2026-12-05T19:00:00Z"}
field:
  description: On invalid input, the option that is wrong, for example C(bindings[2].service_accounts[0]).
  returned: on failure caused by the input
  type: str
  sample: bindings[2].service_accounts[0]
status:
  description: On a failure the API server answered, its HTTP status (for example 403 when the identity
    may not grant a role, 401 when the credentials are rejected).
  returned: on failure reported by the API server
  type: int
  sample: 403
api_requests:
  description: How many HTTP requests the module sent to the API server (retries not counted).
  returned: always
  type: int
  sample: 4
palette_requests:
  description:
    - With O(backend=palette) or O(palette_kubeconfig), how many requests the module sent to Palette (retries not
      counted), the kubeconfig download included; also on failure.
  returned: with O(backend=palette) or O(palette_kubeconfig)
  type: int
  sample: 2
palette_writes:
  description:
    - With O(backend=palette), how many times the RBAC settings were written (PUT). More than one when another
      writer (another owner, the Palette UI) overwrote this owner's grants while this run wrote them; each time
      the list was read back, merged again and written again (a warning says what was lost). Absent when nothing
      was written.
  returned: with O(backend=palette) when something was written
  type: int
  sample: 1
palette_cluster_uid:
  description: With O(backend=palette), the Palette cluster written to.
  returned: with O(backend=palette)
  type: str
waited:
  description: With O(wait), how long the access took to be in force (C(seconds)), how many access checks
    proved it (C(checks)) and how many rounds were asked (C(rounds)).
  returned: with O(backend=palette) and O(wait) greater than 0, outside check mode
  type: dict
  sample: {seconds: 1.42, checks: 6, rounds: 3}
"""

from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.module_utils._flows import enforce
from ansible_collections.vmo.rbac.plugins.module_utils._flows.module_runner import run_module


def argument_spec():
    return specs.module_arg_spec("vmo_role_binding")


def main(runtime=None):
    run_module(argument_spec(), enforce.run, component="vmo_role_binding", failure=dict(changed=False),
               runtime=runtime)


if __name__ == "__main__":
    main()
