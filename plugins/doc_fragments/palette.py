# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The backend option of vmo_role_binding and vmo_rbac_validate (argument spec:
    module_utils/_core/specs.py, BACKEND_ARG_SPEC); the Palette credential is in palette_connection."""

    DOCUMENTATION = r"""
options:
  backend:
    description:
      - Where the declared bindings live.
      - V(kubernetes), ClusterRoleBindings and RoleBindings written straight into the cluster, owned by
        labels.
      - V(palette), the cluster's RBAC settings in Spectro Cloud Palette (cluster Settings, RBAC), which
        Palette's agent then applies to the cluster under names it chooses. The bindings then show in
        the Palette UI. Items Palette made itself (C(isSystem)) and items this O(owner) did not write
        are kept as they are. The cluster connection options are still used, to read namespaces (for
        namespace scopes), to check the roles, to wait (O(ignore:wait)) and to prove access; with
        O(palette_kubeconfig) they come from Palette too.
      - Needs the Palette credential (O(palette_api_key), O(palette_cluster_uid), ...).
    type: str
    default: kubernetes
    choices: [kubernetes, palette]
"""
