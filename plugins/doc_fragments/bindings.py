# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The persona declaration shared by vmo_role_binding and vmo_rbac_validate
    (argument spec: module_utils/_core/specs.py DECLARATION_ARG_SPEC;
    tests/unit/test_schema.py holds this fragment to it)."""

    DOCUMENTATION = r"""
options:
  bindings:
    description:
      - The grants to hold, each one role for some subjects in some scope.
      - Entries that grant the same role in the same scope merge into one binding holding all
        their subjects, as Palette does.
      - Without O(bindings[].namespaces), O(bindings[].namespace_regex) or
        O(bindings[].namespace_selector) a grant is cluster-wide (a ClusterRoleBinding);
        with them it is one RoleBinding in each matched namespace.
      - "Names, personas and prefixes must be strings as written. A list or a number where a string
        is expected (C(users: [[alice]]), or C(groups: [0123]) which YAML reads as the number 83) is
        refused with the field's path, never turned into its text."
    type: list
    elements: dict
    default: []
    suboptions:
      persona:
        description:
          - The VMO persona to grant; O(role_set) decides which ClusterRole that is.
          - Give exactly one of O(bindings[].persona), O(bindings[].cluster_role) or O(bindings[].role).
        type: str
        choices: [admin, power-user, user, viewer]
      cluster_role:
        description:
          - Grant any ClusterRole instead of a persona.
        type: str
      role:
        description:
          - Grant a namespaced Role of this name, in each namespace of the scope (which must be given).
        type: str
      name:
        description:
          - The binding's name, instead of the generated C(<owner>-<role>) (for example
            C(vmo-rbac-spectro-vm-admin)). Must be a DNS subdomain name.
          - When the role of a named binding changes, a short-lived C(<name>-transition) binding holds
            the new role while the old binding is deleted and recreated, so access never lapses.
        type: str
      users:
        description:
          - User names (O(oidc_user_prefix) is added).
        type: list
        elements: str
      groups:
        description:
          - Group names (O(oidc_group_prefix) is added).
        type: list
        elements: str
      service_accounts:
        description:
          - ServiceAccounts as C(namespace/name).
        type: list
        elements: str
      subjects:
        description:
          - Subjects in the general form, merged with O(bindings[].users), O(bindings[].groups) and
            O(bindings[].service_accounts).
        type: list
        elements: dict
        suboptions:
          kind:
            description: The subject kind.
            type: str
            required: true
            choices: [User, Group, ServiceAccount]
          name:
            description: The user, group or ServiceAccount name.
            type: str
            required: true
          namespace:
            description: The ServiceAccount's namespace (required for, and only for, ServiceAccounts).
            type: str
          api_group:
            description:
              - Optional; if given it must be the subject kind's own API group
                (V(rbac.authorization.k8s.io) for users and groups, empty for ServiceAccounts).
            type: str
      namespaces:
        description:
          - Restrict the grant to these namespaces. Each must exist (the task fails before any write,
            naming the missing one).
        type: list
        elements: str
      namespace_regex:
        description:
          - Restrict the grant to every namespace whose name matches this regular expression (or list
            of them), written as in Palette, C(/^web-app/) or plain C(^web-app); searched anywhere in the
            name unless anchored.
          - C(~/regex/) means every namespace whose name does B(not) match, as in Palette (for example
            C(~/^(kube|cluster|capi|jet|cert\)[-].+/) for every namespace but the system ones).
          - Matched against the namespaces that exist at run time, so a scheduled run picks up new ones.
          - The syntax is RE2's, the syntax of Go's C(regexp) that Palette uses, and it is matched with RE2
            itself (the C(google-re2) Python package), so a rule means here exactly what it means in
            Palette, POSIX classes such as C([[:alpha:]]) included, and matching takes linear time
            whatever the pattern. What RE2 refuses (lookarounds, backreferences) is refused before any
            request.
          - Never matches a namespace of O(protected_namespaces).
        type: raw
      namespace_selector:
        description:
          - Restrict the grant to every namespace whose labels match this label selector (or list of
            them), for example V(team=vm) or V(tier in (gold,silver\),!legacy).
          - Matched at run time, like O(bindings[].namespace_regex), and never matches a namespace of
            O(protected_namespaces).
        type: raw
      console_access:
        description:
          - Also bind the collection's console role C(vmo-rbac-vm-console) (find VMs, open their serial
            console and VNC display, nothing else) to the same subjects in the same scope.
          - Palette cautions that the C(spectro-vm-*) roles cover the VM management APIs and that opening
            a console needs permissions on the host cluster as well; this grants exactly that, where
            granting C(edit) would also let a user or viewer create and delete VMs.
          - Defaults to O(console_access). The role must exist (see M(vmo.rbac.vmo_cluster_roles)).
        type: bool
      expires:
        description:
          - Make the grant time-limited, until this RFC 3339 time with an offset (V(2026-12-05T18:00:00+01:00),
            V(2026-12-05T17:00:00Z); a time without an offset is refused), or for this duration (V(8h), V(90m),
            V(1d12h), V(2w); units C(w), C(d), C(h), C(m), C(s)) counted from the run that first made the grant
            time-limited.
          - The grant gets a binding of its own, C(<owner>-<role>-expiring) unless O(bindings[].name) is given,
            labelled C(vmo.rbac/time-limited=true) and annotated with C(vmo.rbac/granted-at) and
            C(vmo.rbac/expires) (UTC). Two entries share a binding only when they end at the same time; a
            time-limited and a permanent grant never do.
          - Every run of M(vmo.rbac.vmo_role_binding) ends the grants of its O(owner) whose time has passed,
            declared or not, whatever O(purge) says (the plan says V(expired)). The binding of an entry that is
            still declared stays without subjects, the record that its time is over (so a duration does not start
            again); one that nobody declares any more is deleted.
          - Changing O(bindings[].expires) moves the end in place (a duration keeps counting from the recorded
            C(granted-at)); a later end grants an expired entry again.
          - Refused before any write, naming this field, when it cannot be read, when it is longer than
            O(max_duration) (or a year), and when the time has passed and the cluster never held the grant.
          - A grant ends at the first run after its time, so how late depends on how often the runs come (see the
            expiry documentation, docs/expiry.md).
          - Not with O(backend=palette), whose RBAC settings cannot record an end (refused).
        type: str
      reason:
        description:
          - Why the grant exists (a ticket, an incident), one line of at most 1024 characters, recorded on its
            bindings as the annotation C(vmo.rbac/reason) and shown in the results and the reports.
        type: str
  role_set:
    description:
      - Which ClusterRoles the personas map to.
      - V(vmo) maps admin, power-user, user, viewer to C(spectro-vm-admin), C(spectro-vm-power-user),
        C(spectro-vm-user), C(spectro-vm-viewer) (installed by the VMO pack).
      - V(kubernetes) maps them to C(cluster-admin), C(admin), C(edit), C(view); KubeVirt adds its VM
        rules to the last three by ClusterRole aggregation.
    type: str
    default: vmo
    choices: [kubernetes, vmo]
  oidc_user_prefix:
    description:
      - Prefix the API server adds to OIDC user names (its C(--oidc-username-prefix)), for example
        V(oidc:). Added to every User subject that does not already start with it or with C(system:).
      - V(-) means no prefix, as C(--oidc-username-prefix=-) does for the API server. Empty is no prefix too;
        with that flag unset the API server prefixes user names from claims other than C(email) with the issuer
        URL and C(#), which is then the prefix to give here.
    type: str
    default: ''
  oidc_group_prefix:
    description:
      - Prefix the API server adds to OIDC groups (its C(--oidc-groups-prefix)). Added to every Group
        subject that does not already start with it or with C(system:).
      - V(-) is a prefix like any other here, as for the API server, whose C(--oidc-groups-prefix=-) names every
        group C(-<group>). Only C(--oidc-username-prefix) gives V(-) the meaning "no prefix".
    type: str
    default: ''
  owner:
    description:
      - Who owns the bindings this declaration manages, stored in the C(vmo.rbac/owner) label and used
        as the prefix of generated names. Several owners can manage the same cluster side by side;
        none ever changes or deletes another's bindings.
      - An RFC 1123 label (lowercase alphanumerics and C(-), at most 63 characters).
    type: str
    default: vmo-rbac
  legacy_dashboard_bindings:
    description:
      - Also bind every subject cluster-wide to C(spectro-list-namespaces) and
        C(spectro-list-vmtemplates), which older VMO / VM Dashboard releases require.
    type: bool
    default: false
  allow_privileged:
    description:
      - Allow grants that are refused by default, because they hand out the whole cluster or reach
        many identities at once or the platform's own, C(cluster-admin) cluster-wide, and any grant to
        a user or group under the reserved C(system:) prefix, among them C(system:authenticated),
        C(system:unauthenticated), C(system:serviceaccounts), C(system:serviceaccounts:<namespace>)
        (every ServiceAccount of a namespace), C(system:nodes), C(system:bootstrappers), and the users
        C(system:anonymous), C(system:node:<name>) and C(system:kube-proxy).
    type: bool
    default: false
  console_access:
    description:
      - The default of O(bindings[].console_access) for every grant.
    type: bool
    default: false
  protected_namespaces:
    description:
      - Namespaces that O(bindings[].namespace_regex) and O(bindings[].namespace_selector) never match, so
        that a broad rule such as C(/.*/) never grants a persona inside the cluster's system namespaces.
      - A namespace named in O(bindings[].namespaces) is still granted.
      - The results list what each rule skipped.
    type: list
    elements: str
    default: [kube-system, kube-public, kube-node-lease]
  golden_image_namespaces:
    description:
      - Namespaces that hold the golden images VM templates clone (VMO's default is C(vmo-golden-images)).
        Deploying a VM from a template clones a golden-image disk into the VM's namespace, and CDI allows
        that only to whoever may create C(cdi.kubevirt.io/datavolumes/source) in the golden-image namespace.
      - M(vmo.rbac.vmo_role_binding) binds the collection's golden-image role C(vmo-rbac-golden-image)
        (clone the golden images and list their DataSources, nothing else) in each of these namespaces to
        the subjects of every namespace-restricted grant whose persona may launch VMs and deploy from
        templates (C(admin), C(power-user); with O(role_set=kubernetes) also C(user)), as one RoleBinding
        C(<owner>-golden-image) per namespace. A cluster-wide grant needs none. The namespaces must exist
        when such a grant is enforced, and the role must exist (see M(vmo.rbac.vmo_cluster_roles)).
      - M(vmo.rbac.vmo_rbac_validate) asks the capability C(template.deploy) in each of them, for every
        subject, and probes them as outside the scope of a namespace-restricted subject (everything but
        cloning the golden images must be denied there).
      - Every volume of a golden-image namespace becomes a clone source for those subjects, so name only
        namespaces that hold golden images and nothing else. A namespace of O(protected_namespaces) is refused.
      - Empty (the default) asks nothing there and binds nothing.
    type: list
    elements: str
    default: []
  strict_scopes:
    description:
      - Fail, before any write, when a O(bindings[].namespace_regex) or O(bindings[].namespace_selector)
        matches no namespace. When false, such a grant is a warning (it applies to matching namespaces
        created later) and M(vmo.rbac.vmo_rbac_validate) reports it as unchecked, never as proven.
    type: bool
    default: false
  purge:
    description:
      - Also delete this owner's bindings that the declaration no longer contains. Bindings of other
        owners, and bindings not made by this collection, are never touched.
      - For M(vmo.rbac.vmo_rbac_validate), such leftovers are reported as drift only when V(true), so
        that drift is exactly what M(vmo.rbac.vmo_role_binding) would do with the same options.
    type: bool
    default: false
  allow_empty_purge:
    description:
      - With O(purge=true) and nothing declared in O(bindings), every binding of this O(owner) would be
        deleted. That is refused unless this is V(true), so that an inventory whose variables failed to
        load, or a misspelled variable name, cannot wipe a cluster's grants.
    type: bool
    default: false
  wait_for_roles:
    description:
      - Seconds to wait for missing referenced roles to appear before failing (day-0 runs, when the
        VMO pack may still be installing). V(0) checks once.
      - M(vmo.rbac.vmo_rbac_validate) waits the same way before reporting missing roles.
    type: int
    default: 0
  max_duration:
    description:
      - The longest a time-limited grant may last, a duration such as V(8h) or V(3d). An entry whose
        O(bindings[].expires) is a longer duration, or a time further from now, is refused before any write.
      - Without it, a time-limited grant may last at most a year (366 days).
    type: str
  wait_for_api_server:
    description:
      - Seconds to wait for the API server to answer C(/readyz) before the first request (at day 0 a
        cluster being born refuses connections for minutes). Connection errors and 5xx answers are
        waited out, rejected credentials fail at once. V(0) does not wait (requests are still retried,
        see O(api_retries)).
    type: int
    default: 0
"""
