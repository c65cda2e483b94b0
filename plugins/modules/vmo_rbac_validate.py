#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmo_rbac_validate
short_description: Prove what each VMO persona can do on a cluster, and that it can do nothing more
version_added: 0.1.0
description:
  - Checks one cluster against the same persona declaration that M(vmo.rbac.vmo_role_binding) enforces,
    and reports what is wrong in a form an auditor can read.
  - Roles. Every referenced ClusterRole or Role exists; with O(role_set=vmo) each C(spectro-vm-*) role is
    also compared with the shipped reference definition (a difference is reported as information).
  - Bindings (O(check_bindings)). The declared bindings exist exactly as declared. This is the
    enforcer's own plan computed read-only, so every drift item says what M(vmo.rbac.vmo_role_binding)
    would do about it, missing bindings, missing or extra subjects, a wrong roleRef, a foreign object
    in the way.
  - Access (O(check_access)). For every declared subject and every capability of the matrix, the API
    server itself is asked with SubjectAccessReviews whether the subject may do it, and the answer is
    compared with what its persona allows. The capabilities are every path to a VM the collection knows,
    one per distinct power (the personas documentation lists them with their checks and why each
    reaches a VM). Through KubeVirt's API, seeing VMs and what their guest agent reports, console, VNC
    screenshot, power, reset, pause and soft reboot, launching VMs (VMs, instances, replica sets, pools), changing them
    (update and patch), deleting them one by one or all at once, clone, migrate, snapshot, restore,
    export, backup, memory dump, port-forward, USB redirection, volume hot-plug, SEV attestation and
    KubeVirt plugins; around it, exec, attach and debug containers in the virt-launcher pod, its
    port-forward and proxy, creating pods (directly or through a workload controller) and deleting or
    evicting them, creating volumes, cloning disks with CDI, reading secrets, acting as the namespace's
    ServiceAccounts; and deploying from templates (in O(golden_image_namespaces)), managing templates and
    the cluster. A persona expected to hold a capability must be allowed every check of it, one expected
    not to must be denied every check, so privilege creep by any one path is caught (a viewer given
    C(patch) on VMs, an export or C(pods/exec)). With O(role_set=vmo), a capability VMO does not document
    for a persona that may hold it passes whichever the answer (marked (Y) in the personas documentation;
    an override's C(expect) makes it required); namespace-restricted grants are also checked in one namespace outside their scope, and
    in every namespace where a RoleBinding names the subject in any of its forms (a ServiceAccount without
    a namespace in a RoleBinding of its namespace, or as C(User system:serviceaccount:<ns>:<name>)) or a
    group it is in, where they must grant nothing.
  - Objects named by rules. A grant limited by C(resourceNames) is invisible to a question without a name
    (RBAC skips such rules), so every check that must be denied is asked again for each object that a
    ClusterRole's rule, or a Role's rule in that namespace, names for it (RV(access[].name)); a viewer
    given C(delete virtualmachines) on C([vm-1]) by hand fails validation. At most 20,000 such checks
    are asked per run; rules that name more objects leave them not proven (the validation fails, with a
    warning naming the roles, and C(summary.named_objects_unproven)).
  - With O(role_set=kubernetes) the expectations follow the KubeVirt release the cluster runs, read in
    the same run (O(kubevirt_version) says it instead); what the release line does not decide is
    unchecked, never passed.
  - User subjects are asked as that user, Group subjects by that group alone (a SubjectAccessReview without a
    user, so that no binding of a user answers for a group), ServiceAccounts as C(system:serviceaccount:<namespace>:<name>) with the ServiceAccount
    groups (a User named like a ServiceAccount is that ServiceAccount, asked the same way); each also
    carries C(system:authenticated), as every real identity does. OIDC prefixes are applied exactly as
    the enforcer applies them.
  - What is proven. For each declared subject, at the time of the run, every check of every capability of
    the matrix in each place named above and for each object a rule names, each answer being the API
    server's answer to that very question (it echoes the question asked, or is asked again); with
    O(audit_exclusive), that no subject any binding names holds any check of a capability beyond what the
    declaration gives it.
  - An answer that disagrees with the declaration is asked again after pauses of 0.1 to 1.5 seconds (3 in all),
    because the API server's authorizer learns of a binding a moment after it is written; a run right after
    vmo.rbac.vmo_role_binding could see a fresh grant as missing or a revoked one as still there. An answer that
    changes is asked once more and must hold, and the later answer is reported; one that changes back (a binding
    toggled during the run) is reported as the answer that disagrees. The run warns how many answers changed.
    A run whose answers all agree asks nothing twice.
  - What a SubjectAccessReview cannot see. It answers for the user and groups it is given; the groups an
    identity provider puts into a real person's token are unknown to it, and what another authorizer
    (a webhook, the Node authorizer for C(system:node:<name>) identities) allows is only seen for the
    identity asked. Admission webhooks are not consulted (they may refuse or change a request RBAC
    allows, so allowed means RBAC lets it through). Node-level access (a node's shell, the kubelet's
    credentials, host paths and devices) is outside the API. Credentials outside RBAC are no subject of
    any binding (a client certificate in C(system:masters), cloud IAM mappings, Palette users and API
    keys, the guest's own passwords and SSH keys). An aggregated API server may authorize its own
    requests beyond what it delegates back (KubeVirt's virt-api delegates to the same reviews). A
    ServiceAccount token already minted acts as the ServiceAccount until it expires, and who holds one
    is not seen. A change after the run is seen by the next run. The validation documentation lists
    these, and the personas documentation what the capability model leaves out and why.
  - Time-limited grants (O(bindings[].expires)). Every time-limited grant of the O(owner), declared or not, is
    listed in RV(time_limited) with its time left; one whose time has passed and that still grants is drift
    (C(action=expire)) and fails the validation until M(vmo.rbac.vmo_role_binding) ends it.
  - With O(backend=palette) the bindings are checked in the cluster's Palette RBAC settings (the drift is
    what M(vmo.rbac.vmo_role_binding) with O(backend=palette) would change there), and access is proved
    on the cluster with SubjectAccessReviews as for the other backend, since Palette's agent names the
    bindings it creates.
  - Never writes; works in check mode, so scheduled drift jobs can run with C(--check).
  - Render the result as Markdown, JUnit XML, HTML or JSON with the P(vmo.rbac.vmo_rbac_report#filter) filter.
author:
  - vmo.rbac contributors (@vmo-rbac)
extends_documentation_fragment:
  - vmo.rbac.bindings
  - vmo.rbac.access
  - vmo.rbac.connection
  - vmo.rbac.palette
  - vmo.rbac.palette_connection
options:
  check_bindings:
    description:
      - Report binding drift (the actions M(vmo.rbac.vmo_role_binding) would take with the same options).
    type: bool
    default: true
  check_access:
    description:
      - Ask the API server, for every subject x capability x scope, and compare with the matrix.
    type: bool
    default: true
  fail_on_drift:
    description:
      - Fail the task, with a readable summary, when any check fails. The full result is returned either way.
    type: bool
    default: true
  audit_privileged:
    description:
      - Also list every subject in the cluster bound to C(cluster-admin) or to a role with wildcard
        rules (information for the report, never a failure).
    type: bool
    default: false
  pending_enforce:
    description:
      - Say that the enforce step of this run was a dry run (check mode), as the role does under
        C(--check). The drift that M(vmo.rbac.vmo_role_binding) has planned, and the failed access checks
        of the subjects whose bindings it would change, are then reported as pending (C(pending=true))
        and do not fail the validation. Everything else still does (a missing role, a subject the
        plan does not touch).
    type: bool
    default: false
  audit_exclusive:
    description:
      - Also prove that nobody else can. Every subject that holds a VM capability (of the matrix, in any
        namespace or cluster-wide) which the declaration does not grant it is a violation, reported in
        RV(who_else) with the bindings to remove, except the identities of the platform itself
        (O(platform_subjects)).
      - The holders are found as M(vmo.rbac.vmo_rbac_access_info) finds them (the run's one RBAC snapshot and
        a LIST of the APIServices, a local evaluation), everyone groups included (a RoleBinding of a VM role
        to C(system:authenticated) is a holder of its own, C(every authenticated user)). Every holder reported
        in RV(who_else) is confirmed by SubjectAccessReviews; of the declared and platform holders, which are
        not reported, a sample of at most 200 is confirmed too (C(who_else_summary.sampled)), so that a
        disagreement between the local evaluation and the API server shows as C(unconfirmed).
      - An undeclared holder by the RBAC objects that the API server does not confirm makes its capability and
        place not proven (RV(who_else_unproven)), a failed question, so the cluster does not pass until a run
        finds the RBAC objects and the API server in agreement.
      - A grant declares every capability its persona (or role) is not expected to be denied, in its
        scope. A custom role (O(bindings[].cluster_role), O(bindings[].role)) without an expectation for a
        capability declares what its rules grant of it, evaluated at run time from the same RBAC lists
        (an aggregated ClusterRole with the rules the controller manager merged into it; a role that does
        not exist grants nothing); C(who_else_summary.custom_roles) says what each was found to grant.
        A holder through a group the declaration grants is not reported.
      - Holding any check of a capability is holding part of it. A partial holder (only the serial console,
        only C(virtualmachines/stop), or some objects named by C(resourceNames)) the declaration does not
        grant that part is a violation too, reported with what it holds.
      - Each capability x place is one more check; it fails when the place has an undeclared holder.
    type: bool
    default: false
  access_format:
    description:
      - How the result carries the access rows. V(list), every row in RV(access). V(json), every row as one JSON
        text in RV(access_json) (the same list in the same order, C(access_json | from_json)), and in RV(access)
        only the rows that did not pass (RV(access[].ok) false or null, that is failed, pending or unchecked).
      - V(json) is for fleets. Ansible's main process, one process for the whole run, copies a registered result for
        every callback that takes results and for the register itself, and Ansible walks every value of a result to
        mask secrets; at 24 bindings a cluster's rows are thousands of mappings (0.08 s of CPU per copy, 0.17 s per
        walk), one text costs nothing to copy. The role uses it
        (C(vmo_rbac_access_format)).
      - The P(vmo.rbac.vmo_rbac_report#filter) filter and the role's fleet report read either form, and make the same
        report from both.
      - The text holds the rows as RV(access) would show them with V(list), O(api_key) and every other C(no_log) value
        masked. When a masked value would reach into the text itself (a secret that is also part of its syntax, a
        key such as C(capability)), the rows are returned as a list instead, with a warning.
    type: str
    default: list
    choices: [list, json]
    version_added: 0.3.0
attributes:
  check_mode:
    support: full
    description: The module never writes; check mode changes nothing.
  diff_mode:
    support: none
    description: Validation changes nothing, so there is no difference to show.
seealso:
  - module: vmo.rbac.vmo_role_binding
  - name: Validating by hand with kubectl
    description: The kubectl auth can-i commands that answer the same questions.
    link: https://github.com/vmo-rbac/vmo.rbac/blob/main/docs/validate.md
"""

EXAMPLES = r"""
- name: Prove the personas of one cluster (fails with a summary when anything is off)
  vmo.rbac.vmo_rbac_validate:
    context: prod-east
    bindings: "{{ vmo_rbac_bindings }}"

- name: Scheduled drift job; keep the result, decide later
  vmo.rbac.vmo_rbac_validate:
    bindings: "{{ vmo_rbac_bindings }}"
    fail_on_drift: false
    audit_privileged: true
  register: validation

- name: Write an HTML access matrix and JUnit XML for the CI system
  ansible.builtin.copy:
    content: "{{ [validation] | vmo.rbac.vmo_rbac_report(format=item.format) }}"
    dest: "reports/{{ item.file }}"
    mode: "0644"
  loop:
    - {format: html, file: access-matrix.html}
    - {format: junit, file: rbac-junit.xml}

- name: Prove that nobody else can (undeclared holders of VM capabilities fail the task)
  vmo.rbac.vmo_rbac_validate:
    bindings: "{{ vmo_rbac_bindings }}"
    audit_exclusive: true
    platform_subjects:
      - ServiceAccount monitoring/*

- name: This VMO release calls VM templates "virtualmachinetemplates"
  vmo.rbac.vmo_rbac_validate:
    bindings: "{{ vmo_rbac_bindings }}"
    capabilities:
      template.manage:
        checks:
          - {verb: create, group: spectrocloud.com, resource: virtualmachinetemplates}
          - {verb: update, group: spectrocloud.com, resource: virtualmachinetemplates}
          - {verb: delete, group: spectrocloud.com, resource: virtualmachinetemplates}

- name: Expectations for a custom role
  vmo.rbac.vmo_rbac_validate:
    bindings:
      - cluster_role: vm-operator
        groups: [ops]
        namespaces: [team-a]
    capabilities:
      vm.view: {expect: {vm-operator: true}}
      vm.power: {expect: {vm-operator: true}}
      vm.delete: {expect: {vm-operator: false}}
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
passed:
  description: True when every check passed.
  returned: always
  type: bool
cluster:
  description: The cluster validated (the kubeconfig context, or the API server URL).
  returned: always
  type: str
  sample: prod-east
summary:
  description:
    - C(checks) run, C(passed), C(failed), C(drift) items, C(unchecked) access checks (no expectation
      known), C(subjects) checked, C(requests) sent to the API server, and C(seconds) the module took
      from parsing the declaration to the last answer.
    - With time-limited grants, also C(time_limited) (how many RV(time_limited) lists) and C(overdue) (how
      many of them have expired and still grant).
    - C(unchecked_entries), the grants whose O(bindings[].namespace_regex) or
      O(bindings[].namespace_selector) matched no namespace (nothing proven for them, see RV(warnings)).
    - C(pending), with O(pending_enforce), the drift items and access checks the enforce step's dry run
      planned to fix (not counted as failures).
    - C(who_else_not_proven), with O(audit_exclusive), the capability x place questions that are not proven
      (see RV(who_else_unproven)); counted in C(failed). Only when there is one.
  returned: always
  type: dict
  sample: {checks: 412, passed: 412, failed: 0, drift: 0, unchecked: 0, subjects: 6, requests: 398, seconds: 0.9}
roles:
  description: Each referenced role, whether it exists, and how it compares with the reference definition.
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: ClusterRole, name: spectro-vm-viewer, present: true, persona: viewer, reference: match,
       detail: same rules as the shipped reference role}
drift:
  description: What differs from the declaration, each with what the enforcer would do about it.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(ClusterRoleBinding) or V(RoleBinding).
      type: str
    namespace:
      description: The RoleBinding's namespace.
      type: str
      returned: for RoleBindings
    name:
      description: The binding's name.
      type: str
    problem:
      description: What is wrong.
      type: str
      sample: "subjects: add User bob@example.com"
    fix:
      description: What M(vmo.rbac.vmo_role_binding) would do.
      type: str
      sample: vmo_role_binding would update it
    action:
      description: V(create), V(update), V(delete), V(replace), V(conflict), or V(expire) (a time-limited grant
        whose time has passed still grants).
      type: str
    cause:
      description:
        - >-
          Why, as data (O(backend=kubernetes)), the cause of the enforcer's action (see
          RV(vmo.rbac.vmo_role_binding#module:actions[].cause)), or V(conflict) for a foreign object in the way.
          The words of RV(drift[].problem) may change, these values do not.
      type: str
      returned: with O(backend=kubernetes)
      sample: subjects
kubevirt:
  description:
    - With O(role_set=kubernetes), the KubeVirt release line the expectations followed and where it was read
      (the KubeVirt custom resource's status, KubeVirt's ClusterRoles, or O(kubevirt_version)).
  returned: when O(role_set=kubernetes)
  type: dict
  sample: {release: v1.6.0, source: "KubeVirt kubevirt/kubevirt status.observedKubeVirtVersion v1.6.0"}
  contains:
    release:
      description: C(v1.6.0), C(v1.6.x), C(v1.5.0 or later), C(before v1.5.0), or C(unknown).
      type: str
    source:
      description: Where it was read, or why it could not be.
      type: str
time_limited:
  description:
    - Every time-limited grant of the O(owner), declared or held, soonest end first.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(ClusterRoleBinding) or V(RoleBinding).
      type: str
    namespace:
      description: The RoleBinding's namespace.
      type: str
      returned: for RoleBindings
    name:
      description: The binding's name.
      type: str
    role:
      description: The role it binds.
      type: str
    persona:
      description: The persona the role stands for (V(console), V(legacy-dashboard), V(custom) for the others).
      type: str
    subjects:
      description: Who it grants (declared), or granted, for example C(User alice@example.com).
      type: list
      elements: str
    granted_at:
      description: When the grant was first made time-limited (C(vmo.rbac/granted-at)), RFC 3339 in UTC.
      type: str
    expires:
      description: When it ends (C(vmo.rbac/expires)), RFC 3339 in UTC.
      type: str
    seconds_left:
      description: Seconds from the time of the run to the end; negative once it has passed.
      type: int
    time_left:
      description: The same in words, for example C(2h13m left) or C(expired 5m ago).
      type: str
    state:
      description:
        - V(active) (in force), V(pending) (declared, not granted yet), V(overdue) (its time has passed and it
          still grants, a violation), V(ended) (its time has passed, it grants nothing).
      type: str
    violation:
      description: True when V(overdue).
      type: bool
    declared:
      description: Whether the declaration holds it (a break-glass grant swept with no declaration is not).
      type: bool
    entries:
      description: The binding entries it comes from, for example C(bindings[2]).
      type: list
      elements: str
    reason:
      description: Why it exists (C(vmo.rbac/reason)).
      type: str
      returned: when the grant has a reason
  sample:
    - kind: RoleBinding
      namespace: payments
      name: vmo-rbac-break-glass-admin-oncall-example-com-3f2a1b9c0d
      role: spectro-vm-admin
      persona: admin
      subjects: [User oncall@example.com]
      granted_at: "2026-12-05T15:02:11Z"
      expires: "2026-12-05T17:02:11Z"
      seconds_left: 5400
      time_left: 1h30m left
      state: active
      violation: false
      declared: true
      entries: ["bindings[0]"]
      reason: INC-4711 payments VMs down
access:
  description:
    - One row per access check.
    - With O(access_format=json), only the rows that did not pass (RV(access[].ok) false or null); every row is in
      RV(access_json).
  returned: always
  type: list
  elements: dict
  contains:
    subject:
      description: The subject, for example C(Group vmo-admins) or C(ServiceAccount automation/ci).
      type: str
    as_user:
      description: The user name the SubjectAccessReview asked as; empty for a Group subject, asked by its groups
        alone (C(system:vmo-rbac:group-probe) in earlier releases).
      type: str
    as_groups:
      description: The groups the SubjectAccessReview asked with.
      type: list
      elements: str
    personas:
      description: The personas this subject holds in the declaration.
      type: list
      elements: str
    capability:
      description: The capability this check belongs to.
      type: str
      sample: vm.delete
    verb:
      description: The verb asked.
      type: str
    group:
      description: The API group asked.
      type: str
    resource:
      description: The resource asked.
      type: str
    subresource:
      description: The subresource asked, if any.
      type: str
    namespace:
      description: The namespace asked; empty for all namespaces or cluster scope.
      type: str
    scope:
      description: V(namespace) (in its scope), V(outside) (a namespace outside its scope),
        V(all-namespaces) (cluster-wide grants) or V(cluster) (cluster-scoped capability).
      type: str
    expected:
      description:
        - The answer the matrix expects, V(true) or V(false); null when no expectation is known (unchecked).
        - V(optional) when either answer is right (console access through the C(spectro-vm-*) persona roles
          alone, see the personas documentation); RV(access[].note) then says how to get console access.
      type: raw
    allowed:
      description: The API server's answer.
      type: bool
    ok:
      description: Whether the answer is the expected one.
      type: bool
    reason:
      description: The API server's reason (which binding allowed it), or why the check was not made.
      type: str
    note:
      description: With an V(optional) expectation that was denied, how to get that access.
      type: str
      returned: when there is something to say
    name:
      description: The object asked about, for a check asked again for an object a rule names
        (C(resourceNames)); the check without a name is its own row.
      type: str
      returned: on checks about one object
    pending:
      description: With O(pending_enforce), true for a failed check of a subject whose bindings the enforce
        step's dry run planned to change (not counted as a failure).
      type: bool
      returned: with O(pending_enforce), on such checks
access_json:
  description:
    - With O(access_format=json), every row of RV(access) (those that passed too) as one JSON text, in the same order;
      C(access_json | from_json) is the list RV(access) holds with O(access_format=list).
  returned: with O(access_format=json)
  type: str
  sample: '[{"subject":"Group vmo-admins","capability":"vm.view","verb":"get","ok":true}]'
  version_added: 0.3.0
matrix:
  description: Compact subject x scope x capability view, C(ok), C(violation) or C(unchecked) per cell.
  returned: always
  type: list
  elements: dict
  sample:
    - subject: Group auditors
      personas: [viewer]
      scope: team-a
      scope_kind: namespace
      cells: {vm.view: ok, vm.delete: violation}
      allowed: {vm.view: true, vm.delete: true}
      expected: {vm.view: true, vm.delete: false}
capabilities:
  description: The capability names checked, in matrix order.
  returned: always
  type: list
  elements: str
scopes:
  description: One entry per grant with O(bindings[].namespace_regex) or O(bindings[].namespace_selector) rules.
  returned: always
  type: list
  elements: dict
  contains:
    entry:
      description: The field of the rules, for example C(bindings[3].namespace_regex).
      type: str
    rules:
      description: The rules as matched (a negated regular expression as C(~/.../)).
      type: list
      elements: str
    namespaces:
      description: The namespaces the rules matched.
      type: list
      elements: str
    skipped_protected:
      description: The protected namespaces the rules would have matched (O(protected_namespaces)).
      type: list
      elements: str
    matched_nothing:
      description: True when the rules matched no namespace (the grant is unchecked, not proven).
      type: bool
    warning:
      description: The warning about it when it matched nothing (the same line is in RV(warnings)), else empty.
      type: str
  sample:
    - {entry: "bindings[2].namespace_regex", rules: ["/.*/"], namespaces: [team-a, web-app-1],
       skipped_protected: [kube-node-lease, kube-public, kube-system], matched_nothing: false, warning: ""}
warnings:
  description: One line per grant whose rules matched no namespace (shown as Ansible warnings too).
  returned: always
  type: list
  elements: str
privileged:
  description: With O(audit_privileged), every subject bound to cluster-admin or to wildcard rules.
  returned: always
  type: list
  elements: dict
who_else:
  description:
    - With O(audit_exclusive), who else can, that is every holder of a VM capability that the declaration does not
      grant and that is not a platform identity, one entry per capability, place and holder. Empty otherwise.
    - Each entry has the keys of RV(vmo.rbac.vmo_rbac_access_info#module:holders[]) (C(capability), C(namespace),
      C(scope), C(subject), C(everyone), C(through), C(partial), C(resource_names), C(holds), C(lacks),
      C(via), ...), plus
      C(remove) (the bindings to remove, each with C(kind), C(namespace), C(name), C(subject), C(role_kind),
      C(role_name)) and C(fix) (one readable line).
    - 'For a report: a section "who else can", capability x namespace -> undeclared subjects, each with the
      binding(s) to remove.'
  returned: always
  type: list
  elements: dict
  sample:
    - capability: vm.delete
      namespace: leaky
      scope: namespace
      subject: Group system:authenticated
      everyone: every authenticated user
      through: own
      partial: false
      remove: [{kind: RoleBinding, namespace: leaky, name: everyone-admin, subject: Group system:authenticated,
                role_kind: ClusterRole, role_name: spectro-vm-admin}]
      fix: delete RoleBinding leaky/everyone-admin (ClusterRole spectro-vm-admin)
who_else_summary:
  description:
    - With O(audit_exclusive), what the audit looked at, C(questions) (capability x place), C(holders)
      found, of which C(undeclared), C(declared) and C(platform); C(asked), the findings asked of the API
      server (every undeclared one and C(sampled) others), of which C(confirmed); C(unconfirmed) findings
      (asked and not confirmed, so never reported); C(reviews) sent; C(namespaces) examined;
      C(evaluation_seconds) of local work; the C(platform_subjects) in force and the
      C(platform_components) found running (their namespaces' ServiceAccounts are the platform's);
      C(beyond_rbac), holders the API server allowed more than the RBAC objects give (when any);
      C(not_proven), the questions not proven (when any, see RV(who_else_unproven)).
    - C(custom_roles) (when the declaration has custom roles without expectations), what each declares, as
      its rules were found, with C(role_kind), C(role_name), C(namespace) (a Role), C(found) (false when the role
      does not exist, so it declares nothing), C(capabilities) (every check granted), C(partial) (per
      capability, the checks it grants, C(holds), as in C(who_else[].holds)) and, for an aggregated
      ClusterRole, C(aggregated_from) (per capability, the ClusterRoles whose labels put the rules there).
  returned: when O(audit_exclusive) is true
  type: dict
who_else_unproven:
  description:
    - With O(audit_exclusive), the undeclared holders by the RBAC objects that the API server did not confirm
      (the objects changed during the run, or another authorizer denies); their C(capability) and place
      (C(namespace), empty for every namespace or cluster scope; C(scope)) are not proven, neither passed nor a
      confirmed holder. Each with C(subject), C(everyone), C(through) and C(via) (the bindings, as in
      M(vmo.rbac.vmo_rbac_access_info)'s holders). Run again; a binding another authorizer overrules stays not
      proven until it is removed or its subject declared.
  returned: when a place is not proven
  type: list
  elements: dict
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
msg:
  description: A readable summary (the failure message when O(fail_on_drift) fails the task).
  returned: always
  type: str
palette_requests:
  description:
    - With O(backend=palette) or O(palette_kubeconfig), how many requests the module sent to Palette (retries not
      counted), the kubeconfig download included; also on failure.
  returned: with O(backend=palette) or O(palette_kubeconfig)
  type: int
  sample: 1
"""

from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.module_utils._flows import validate
from ansible_collections.vmo.rbac.plugins.module_utils._flows.module_runner import run_module


def argument_spec():
    return specs.module_arg_spec("vmo_rbac_validate")


def main(runtime=None):
    run_module(argument_spec(), validate.run, component="vmo_rbac_validate", failure=dict(passed=False),
               runtime=runtime)


if __name__ == "__main__":
    main()
