# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The Palette credential and the cluster's connection from Palette, options of every module that
    talks to a cluster (argument spec: module_utils/_palette/connection.py)."""

    DOCUMENTATION = r"""
options:
  palette_kubeconfig:
    description:
      - Connect to the cluster with its kubeconfig from Spectro Cloud Palette, downloaded when the module
        first needs the connection (one request per module run) and kept in memory; it is never written to
        a file, logged or returned, and every credential in it is masked in the module's output.
      - V(admin), the cluster's admin kubeconfig (C(/assets/adminKubeconfig)), what unattended automation uses;
        V(frp), the reverse-proxy kubeconfig (C(/assets/kubeconfig?frp=true)), which may need an OIDC login
        (an exec plugin, run by the official kubernetes client).
      - This is how a fleet inventory from Palette reaches its clusters in AWX, where the inventory update and
        the job run apart; the inventory plugin P(vmo.rbac.palette#inventory) sets C(vmo_rbac_palette_kubeconfig),
        which the C(vmo.rbac.vmo_rbac) role passes here.
      - Needs O(palette_cluster_uid) and the Palette credential, and replaces the connection options O(kubeconfig),
        O(context), O(host), O(api_key), O(client_cert), O(client_key) and O(ca_cert); any of them given too (also
        through a E(K8S_AUTH_*) environment variable) fails the module before any request, naming it.
    type: str
    choices: [admin, frp]
    version_added: 0.2.0
  palette_host:
    description:
      - The Palette API endpoint, a host name or an C(https://) URL with an optional port.
      - Can also be set with the E(SPECTROCLOUD_HOST) environment variable (the Spectro Cloud Terraform
        provider's); the default is C(api.spectrocloud.com).
    type: str
  palette_api_key:
    description:
      - A Palette API key, required with O(palette_kubeconfig) and with the palette backend
        (O(vmo.rbac.vmo_role_binding#module:backend=palette)). Never logged or returned.
      - Can also be set with the E(SPECTROCLOUD_APIKEY) environment variable.
    type: str
  palette_project_uid:
    description:
      - The uid of the cluster's project (sent as the C(ProjectUid) header); omit it for a tenant-scope
        cluster. The inventory plugin P(vmo.rbac.palette#inventory) sets C(palette_project_uid) per host.
    type: str
  palette_cluster_uid:
    description:
      - The uid of the cluster in Palette, required with O(palette_kubeconfig) and with the palette backend
        (O(vmo.rbac.vmo_role_binding#module:backend=palette)). The
        inventory plugin sets C(palette_cluster_uid) per host.
    type: str
  palette_validate_certs:
    description: Verify Palette's TLS certificate. Leave it on outside of tests.
    type: bool
    default: true
  palette_ca_cert:
    description:
      - A CA certificate file to verify Palette's certificate with (instead of the system's), for a self-hosted Palette.
      - Can also be set with the E(VMO_RBAC_PALETTE_CA_CERT) environment variable (the collection's AWX credential
        type injects it).
    type: path
  palette_rate_limit:
    description:
      - Palette's requests per second, at most, from this run (Palette's published limit is 10 per second per
        source IP; a burst above it is answered C(429 Too Many Requests)). Requests are spaced 1/rate apart.
        Unset, V(9), just under the limit. V(0) turns the pacing off (a 429 is still retried, honouring
        C(Retry-After) up to 10 s). V(0), or a number from V(0.1) (one request every 10 s) to V(1000).
      - Every fork of one C(ansible-playbook) run shares the pacing with the others and with the
        P(vmo.rbac.palette#inventory) inventory (a file in the run's private temporary directory, locked for each
        request); a module run as a module process (C(vmo_rbac_execution=module), a connection other than C(local),
        C(become), C(async), another C(ansible_python_interpreter)) paces its own requests only.
      - Can also be set with the E(VMO_RBAC_PALETTE_RATE_LIMIT) environment variable.
    type: float
    version_added: 0.3.0
"""
