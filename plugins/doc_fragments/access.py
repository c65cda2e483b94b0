# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The access options of both modules (argument spec: module_utils/_core/specs.py ACCESS_ARG_SPEC)."""

    DOCUMENTATION = r"""
options:
  capabilities:
    description:
      - Overrides and additions to the shipped capability matrix (see the personas documentation), keyed
        by capability name.
      - Each value may set C(checks) (a list of C(verb), C(group), C(resource), C(subresource)),
        C(expect) (a mapping of persona, or of role name for custom roles, to V(true) or V(false)),
        C(scope) (V(namespaced), V(cluster), or V(golden-image), asked in each of O(golden_image_namespaces)),
        C(description), or C(enabled=false) to drop it.
      - A new capability needs C(checks) and C(expect).
      - For example, when your VMO release names the VM template resource differently,
        override the checks of C(template.manage).
      - M(vmo.rbac.vmo_rbac_validate) proves access with this matrix. M(vmo.rbac.vmo_role_binding) only
        checks it, before its first write, so that a playbook (such as the role) that hands the same
        value to both modules fails before anything is changed when the matrix is wrong.
    type: dict
    default: {}
  concurrency:
    description:
      - How many requests one task has in flight at once against the API server.
      - M(vmo.rbac.vmo_rbac_validate) asks its SubjectAccessReviews this many at a time.
        M(vmo.rbac.vmo_role_binding) sends its independent LIST requests together and its writes this many
        at a time, in the planned order (every create before any delete).
      - What it saves is waiting, one round trip after another, for a far away API server. The writes and
        LISTs in flight each use a connection. The SubjectAccessReviews are pipelined (HTTP/1.1), this many
        in flight over at most 2 connections, sent a window at a time, which costs the API server and
        the module much less per review than a request per connection; a review without a 2xx answer
        is asked again on its own, with the retries of O(api_retries). V(1) sends one request after the
        other.
    type: int
    default: 16
  platform_subjects:
    description:
      - With O(vmo.rbac.vmo_rbac_validate#module:audit_exclusive), subjects of the platform itself that may
        hold VM capabilities, added to the
        default list C(Group system:masters), C(User system:kube-controller-manager),
        C(User system:kube-scheduler), C(ServiceAccount kube-system/*) (the controllers), and every
        ServiceAccount of the namespace KubeVirt and its CDI run in, where their APIService (read in the same
        run) says they do. A namespace merely named C(kubevirt) or C(cdi) is not trusted (anyone who may create
        namespaces can make one); VMO's dashboard shows no such proof, so add its namespace here
        (C(ServiceAccount vm-dashboard/*)).
      - Each is C(User <name>), C(Group <name>) or C(ServiceAccount <namespace>/<name>); names may use
        shell wildcards.
      - A pattern that covers everyone is refused (the audit would hide what everyone may do), one that matches
        an everyone group (C(Group system:*) matches C(system:authenticated)), C(system:anonymous), any user name
        (C(User *)) or ServiceAccounts of any namespace (C(ServiceAccount */default)).
      - Used by M(vmo.rbac.vmo_rbac_validate). M(vmo.rbac.vmo_role_binding) only checks it, before its first
        write, like O(capabilities).
    type: list
    elements: str
    default: []
  kubevirt_version:
    description:
      - With O(role_set=kubernetes), the KubeVirt release whose aggregated roles C(admin), C(edit) and C(view)
        carry, such as V(v1.6.0) (or V(1.6) for every 1.6.x). What they grant changed between releases (since
        v1.5.0 C(admin) and C(edit) no longer migrate; usbredir came in v1.4.0, reset in v1.5.0, backups in
        v1.8.0; in v1.9.0 C(edit) lost the VNC screenshot), and the expected matrix follows the release.
      - Unset (the default), M(vmo.rbac.vmo_rbac_validate) reads it from the cluster in the same run, from the
        status of the KubeVirt custom resource (C(observedKubeVirtVersion) and C(targetKubeVirtVersion)),
        else KubeVirt's own ClusterRoles (C(kubevirt.io:migrate) exists since v1.5.0). When neither tells,
        the checks that depend on the release are reported as unchecked, never as passed, and a warning says
        so. The result's C(kubevirt) says which release was used and where it was read.
      - Unused with O(role_set=vmo). M(vmo.rbac.vmo_role_binding) only checks it, like O(capabilities).
    type: str
"""
