#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmo_rbac_access_info
short_description: Who can open consoles, power, create or delete VMs, and through which binding
version_added: 0.2.0
description:
  - For each VM capability of the matrix (C(vm.view), C(vm.console), C(vm.power), C(vm.create), C(vm.clone),
    C(vm.delete), C(vm.migrate), C(vm.snapshot), C(template.manage), C(cluster.manage), and any capability
    added with O(capabilities)) and each place, every subject that holds it, and the bindings and roles
    through which. Read-only; it needs no declaration.
  - 'Places: every namespace together (only ClusterRoleBindings count there; for C(cluster.manage), cluster
    scope), then each namespace of O(namespaces), by default every namespace that holds a RoleBinding
    (anywhere else the answer is the one for every namespace).'
  - Reads ClusterRoles, Roles, ClusterRoleBindings and RoleBindings with one LIST request each and
    evaluates the rules locally as the RBAC authorizer does (C(*) and C(*/subresource) wildcards,
    aggregated ClusterRoles with their rules as stored, a RoleBinding's roleRef to a Role of its
    namespace).
  - Holding any check of a capability is holding part of it. A subject that may do some of a capability's
    checks (only C(virtualmachineinstances/console) of C(vm.console), only C(virtualmachines/stop) of
    C(vm.power)), or some only for objects named by C(resourceNames), is a partial holder, reported with
    RV(holders[].partial), exactly what it holds (RV(holders[].holds)) and what it lacks
    (RV(holders[].lacks)).
  - The API server is the judge of what it is asked. A finding asked is confirmed with SubjectAccessReviews; each
    check it holds must be allowed (for a partial holder limited to named objects, for each of them) and, for a
    partial holder, each check it lacks or holds for named objects only must be denied without a name. A finding
    the API server does not allow is returned under RV(unconfirmed), never as a holder; a holder the API server
    allows more than the RBAC objects give is reported with RV(holders[].beyond_rbac). Nothing else is requested.
  - Which findings are asked is O(confirm). With V(sample) (the default), every finding of an everyone group or of
    the anonymous user, and a sample of at most 200 of the others, spread over them; each holder says whether it
    was asked (RV(holders[].confirmed) true, or null for a holder as the local evaluation found it), and
    C(asked) and C(confirmed) of RV(summary) count them. When the sample disagrees with the local evaluation
    (a finding not confirmed, or allowed more than the RBAC objects give), every other finding is asked too
    (C(escalated) in RV(summary)). With V(all), every finding is asked and every holder is confirmed. The reviews prove
    what a finding claims; they cannot find a holder the local evaluation missed (see docs/validate.md, "Which
    holders are confirmed").
  - Everyone groups are reported as such, never expanded to the users one happens to know
    (C(system:authenticated) is every authenticated user, C(system:serviceaccounts) every ServiceAccount,
    C(system:serviceaccounts:<ns>) every ServiceAccount of a namespace, C(system:unauthenticated) every
    anonymous request). A subject that holds a capability only because a group it is in does is not
    listed; one that holds it through its own bindings is, even when everyone also does.
  - Users, Groups and ServiceAccounts are asked as M(vmo.rbac.vmo_rbac_validate) asks them (a Group as a
    SubjectAccessReview of that group alone, without a user, a ServiceAccount with the groups the API server gives it).
  - Every form a subject can take is one principal. A ServiceAccount bound as C(ServiceAccount <ns>/<name>),
    as a C(ServiceAccount) without a namespace in a RoleBinding of its namespace, or as
    C(User system:serviceaccount:<ns>:<name>) is one holder, C(ServiceAccount <ns>/<name>), with every binding
    of every form (and those of C(system:serviceaccounts:<ns>), C(system:serviceaccounts) and
    C(system:authenticated), which it is in). Names are compared as RBAC compares them (case-sensitive);
    a User named like a node (C(system:node:<name>)) is a User.
  - Identities of the platform itself (C(system:masters), the controllers, KubeVirt's and VMO's service
    accounts, and O(platform_subjects)) are reported, marked RV(holders[].platform).
  - The answer has the same shape for every cluster (each holder carries its RV(holders[].cluster)), so the
    results of a fleet concatenate into one list. M(vmo.rbac.vmo_rbac_validate) with
    O(vmo.rbac.vmo_rbac_validate#module:audit_exclusive) compares the same holders with the declaration.
  - Sees RBAC only. What another authorizer (a webhook, the Node authorizer, which gives a kubelet's
    identity C(system:node:<name>) in group C(system:nodes) what its pods need, for example creating pods
    and updating its Node) allows is not found, as no binding says it; the confirming reviews show it
    (RV(holders[].beyond_rbac)) only for holders found through RBAC.
author:
  - vmo.rbac contributors (@vmo-rbac)
extends_documentation_fragment:
  - vmo.rbac.connection
  - vmo.rbac.palette_connection
options:
  capabilities:
    description:
      - Overrides and additions to the capability matrix, as in M(vmo.rbac.vmo_rbac_validate), keyed by
        capability name. Only C(checks), C(scope), C(description) and C(enabled) matter here; a new
        capability needs C(checks) (C(expect) is accepted and ignored).
    type: dict
    default: {}
  only_capabilities:
    description:
      - Answer for these capabilities only (names of the matrix). Empty means all.
    type: list
    elements: str
    default: []
  namespaces:
    description:
      - The namespaces to answer for, besides every namespace together. Empty means every namespace that
        holds a RoleBinding.
    type: list
    elements: str
    default: []
  platform_subjects:
    description:
      - Subjects of the platform, added to the default list (C(Group system:masters),
        C(User system:kube-controller-manager), C(User system:kube-scheduler),
        C(ServiceAccount kube-system/*), and the ServiceAccounts of the namespace KubeVirt and CDI run in where
        their APIService says so; see O(vmo.rbac.vmo_rbac_validate#module:platform_subjects)). Their findings are
        marked RV(holders[].platform).
      - Each is C(User <name>), C(Group <name>) or C(ServiceAccount <namespace>/<name>); names may use
        shell wildcards (C(ServiceAccount monitoring/*)). A pattern that covers everyone (an everyone group, any
        user name, ServiceAccounts of any namespace) is refused.
    type: list
    elements: str
    default: []
  concurrency:
    description:
      - How many SubjectAccessReviews are in flight at once.
    type: int
    default: 16
  confirm:
    description:
      - Which holders the API server is asked to confirm with SubjectAccessReviews.
      - V(sample), every holder that is an everyone group (C(system:authenticated), C(system:serviceaccounts),
        C(system:serviceaccounts:<ns>), C(system:unauthenticated)) or the anonymous user (C(User system:anonymous)),
        and a sample of at most 200 of the others, spread
        over them; the other holders are returned as the local evaluation found them, with
        RV(holders[].confirmed) null. If any finding asked is not confirmed, or the API server allows it more than
        the RBAC objects give, every finding is asked (C(escalated) in RV(summary)). On a cluster with few holders,
        every one is asked.
      - V(all), every holder is asked and returned only when confirmed (one review per check of each finding; at
        2,000 bindings tens of thousands of reviews, see docs/performance.md).
    type: str
    choices: [sample, all]
    default: sample
    version_added: 0.3.0
attributes:
  check_mode:
    support: full
    description: The module never writes.
  diff_mode:
    support: none
    description: Nothing changes, so there is no difference to show.
seealso:
  - module: vmo.rbac.vmo_rbac_validate
  - name: Who else can, and how it compares with kubectl-who-can
    description: What the audit reports, and every difference with kubectl-who-can.
    link: https://github.com/vmo-rbac/vmo.rbac/blob/main/docs/validate.md
"""

EXAMPLES = r"""
- name: Who can open consoles or delete VMs in prod-east, and through which binding?
  vmo.rbac.vmo_rbac_access_info:
    context: prod-east
    only_capabilities: [vm.console, vm.delete]
  register: who

- name: Show them, one line each
  ansible.builtin.debug:
    msg: >-
      {{ item.subject }}{{ ' (' ~ item.everyone ~ ')' if item.everyone else '' }} may {{ item.capability }}
      {{ 'in ' ~ item.namespace if item.namespace else 'everywhere' }}
      via {{ item.via | map(attribute='name') | join(', ') }}
  loop: "{{ who.holders | rejectattr('platform') }}"
  loop_control:
    label: "{{ item.subject }} {{ item.capability }} {{ item.namespace }}"

- name: The whole fleet in one list (one inventory host per cluster)
  vmo.rbac.vmo_rbac_access_info:
    context: "{{ inventory_hostname }}"
    namespaces: [prod-east, prod-west]
    platform_subjects:
      - ServiceAccount monitoring/*
  register: fleet_who

- name: A capability of your own
  vmo.rbac.vmo_rbac_access_info:
    capabilities:
      vm.export:
        description: Export VM disks
        checks:
          - {verb: get, group: subresources.kubevirt.io, resource: virtualmachineexports, subresource: download}
    only_capabilities: [vm.export]
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
cluster:
  description: The cluster (the kubeconfig context, or the API server URL).
  returned: always
  type: str
  sample: prod-east
holders:
  description:
    - One entry per capability, place and holder, confirmed by the API server (RV(holders[].confirmed) true), or,
      with O(confirm=sample), not asked and as the local evaluation found it (RV(holders[].confirmed) null).
  returned: always
  type: list
  elements: dict
  contains:
    cluster:
      description: The cluster, as in RV(cluster) (so that the lists of a fleet concatenate).
      type: str
    capability:
      description: The capability held.
      type: str
      sample: vm.delete
    namespace:
      description: The namespace; empty for every namespace together (namespaced capabilities) or cluster scope.
      type: str
      sample: leaky
    scope:
      description: V(namespace), V(all-namespaces) or V(cluster).
      type: str
    subject:
      description: The holder, for example C(Group system:authenticated) or C(ServiceAccount ci/deployer).
      type: str
    subject_kind:
      description: V(User), V(Group) or V(ServiceAccount).
      type: str
    subject_name:
      description: The subject's name.
      type: str
    subject_namespace:
      description: The ServiceAccount's namespace.
      type: str
      returned: for ServiceAccounts
    everyone:
      description: For an everyone group, whom it stands for (C(every authenticated user)); empty otherwise.
      type: str
    through:
      description: V(own) when bindings naming the holder itself grant the capability; V(membership) when it
        holds it only together with bindings of groups it is in.
      type: str
    partial:
      description: True when it holds part of the capability only (some of its checks, or some only for the
        objects that rules limited by C(resourceNames) name).
      type: bool
    resource_names:
      description: For a partial holder, the names of the objects it is limited to (every check together).
      type: list
      elements: str
    holds:
      description: For a partial holder, each check of the capability it holds, with C(check) (for example
        C(update subresources.kubevirt.io/virtualmachines/stop)) and C(resource_names) (empty for any object).
      type: list
      elements: dict
      returned: for partial holders
    lacks:
      description: For a partial holder, the checks of the capability it may not do on any object.
      type: list
      elements: str
      returned: for partial holders
    beyond_rbac:
      description: Checks the API server allowed the holder that the RBAC objects do not give it (another
        authorizer, or RBAC changed during the run); it may do at least these too.
      type: list
      elements: str
      returned: when the API server allowed more
    as_user:
      description: The user the SubjectAccessReviews asked as; empty for a Group, asked by its groups alone
        (C(system:vmo-rbac:group-probe) in earlier releases).
      type: str
    as_groups:
      description: The groups they asked with.
      type: list
      elements: str
    via:
      description:
        - The bindings through which it holds the capability (at that place or wider), each with C(kind),
          C(namespace), C(name), C(role_kind), C(role_name), C(subject) (the binding subject that applies),
          C(own) (that subject is the holder itself), C(subjects) (how many the binding has), C(grants)
          (the capability's checks it grants, when not all of them), C(resource_names) and, for an
          aggregated ClusterRole, C(aggregated_from) (the ClusterRoles whose labels put the rule there).
      type: list
      elements: dict
    platform:
      description: True for an identity of the platform (the default list and O(platform_subjects)).
      type: bool
    confirmed:
      description: True when the API server was asked and allowed every check it holds (and denied, for a partial
        holder, what it lacks); null when it was not asked (O(confirm=sample)), the holder as the local evaluation
        found it. Never false here (see RV(unconfirmed)).
      type: bool
unconfirmed:
  description: Findings of the local evaluation the API server did not confirm (the objects changed during
    the run, or another authorizer decides), same shape as RV(holders) with C(confirmed=false) and the API
    server's C(reason). Normally empty.
  returned: always
  type: list
  elements: dict
capabilities:
  description: The capabilities answered for, in matrix order.
  returned: always
  type: list
  elements: str
namespaces:
  description: The namespaces answered for, besides every namespace together.
  returned: always
  type: list
  elements: str
summary:
  description:
    - C(holders), C(everyone), C(partial), C(membership), C(platform), C(beyond_rbac) and C(unconfirmed)
      findings;
      C(confirm), the O(confirm) in force; C(asked), the findings asked of the API server (holders and
      unconfirmed), of which C(confirmed) holders; C(sampled), those asked as the sample (besides the everyone
      groups and the anonymous user); C(escalated), true when the sample disagreed and every finding was then asked;
      C(questions) (capability x place), C(principals) evaluated, C(bindings) and C(roles) read;
      C(requests) sent (C(lists), always 5, the RBAC objects and the APIServices, plus C(reviews)); C(seconds) in
      all, of which C(list_seconds), C(evaluation_seconds) (the local work) and C(review_seconds).
    - C(platform_components), the components found running (C(component), C(namespace), C(api_service)), whose
      namespaces' ServiceAccounts are the platform's.
  returned: always
  type: dict
  sample: {holders: 42, everyone: 1, partial: 2, membership: 0, platform: 12, beyond_rbac: 0, unconfirmed: 0,
           confirm: sample, asked: 42, confirmed: 42, sampled: 41, escalated: false, questions: 64,
           principals: 80, bindings: 120, roles: 90, lists: 5, reviews: 61, requests: 66, seconds: 0.41,
           list_seconds: 0.05, evaluation_seconds: 0.02, review_seconds: 0.3}
field:
  description: On invalid input, the option that is wrong, for example C(platform_subjects[0]).
  returned: on failure caused by the input
  type: str
status:
  description: On a failure the API server answered, its HTTP status (403 when the identity may not list
    RBAC objects or create SubjectAccessReviews).
  returned: on failure reported by the API server
  type: int
msg:
  description: A one-line summary.
  returned: always
  type: str
palette_requests:
  description: With O(palette_kubeconfig), how many requests the module sent to Palette (1, the kubeconfig; also on failure).
  returned: with O(palette_kubeconfig)
  type: int
  sample: 1
"""

from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.module_utils._flows import whocan
from ansible_collections.vmo.rbac.plugins.module_utils._flows.module_runner import run_module


def argument_spec():
    return specs.module_arg_spec("vmo_rbac_access_info")


def main(runtime=None):
    run_module(argument_spec(), whocan.access_info, component="vmo_rbac_access_info", failure=dict(holders=[]),
               parse=whocan.parse_options, runtime=runtime)


if __name__ == "__main__":
    main()
