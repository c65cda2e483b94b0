# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The backend options of both modules (argument spec: module_utils/palette_backend.py)."""

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
        namespace scopes), to check the roles, to wait (O(ignore:wait)) and to prove access.
    type: str
    default: kubernetes
    choices: [kubernetes, palette]
  palette_host:
    description:
      - The Palette API endpoint, a host name or an C(https://) URL with an optional port.
      - Can also be set with the E(SPECTROCLOUD_HOST) environment variable (the Spectro Cloud Terraform
        provider's); the default is C(api.spectrocloud.com).
    type: str
  palette_api_key:
    description:
      - A Palette API key, required with O(backend=palette). Never logged or returned.
      - Can also be set with the E(SPECTROCLOUD_APIKEY) environment variable.
    type: str
  palette_project_uid:
    description:
      - The uid of the cluster's project (sent as the C(ProjectUid) header); omit it for a tenant-scope
        cluster. The inventory plugin P(vmo.rbac.palette#inventory) sets C(palette_project_uid) per host.
    type: str
  palette_cluster_uid:
    description:
      - The uid of the cluster in Palette, required with O(backend=palette). The inventory plugin
        sets C(palette_cluster_uid) per host.
    type: str
  palette_validate_certs:
    description: Verify Palette's TLS certificate. Leave it on outside of tests.
    type: bool
    default: true
  palette_ca_cert:
    description: A CA certificate file to verify Palette's certificate with (instead of the system's).
    type: path
"""
