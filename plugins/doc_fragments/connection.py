# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options of every vmo.rbac module (argument spec: module_utils/_k8s/connection.py)."""

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a mapping.
      - When neither O(kubeconfig), O(context) nor O(host) with credentials is given, the
        in-cluster service account is used if one is mounted, else C(KUBECONFIG) or
        C(~/.kube/config).
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use (one context per cluster in a fleet inventory).
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://10.0.0.1:6443), with its scheme and a port from 1
        to 65535 (checked before the first request).
      - With O(api_key), or with O(client_cert) and O(client_key), no kubeconfig is read.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable (AWX's Kubernetes
        bearer-token credential injects it).
    type: str
  api_key:
    description:
      - Bearer token used to authenticate with the API server.
      - Never logged or returned. A token with a control character (the trailing newline of a YAML C(|) block
        scalar) or a character outside Latin-1 cannot be sent in a header and is refused before the first
        request, naming the option and never showing the value.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Leave it on outside of tests.
      - Can also be set with the E(K8S_AUTH_VALIDATE_CERTS) or E(K8S_AUTH_VERIFY_SSL)
        environment variable.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA certificate used to verify the API server.
      - Can also be set with the E(K8S_AUTH_CA_CERT) or E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate used to authenticate with the API server.
      - Can also be set with the E(K8S_AUTH_CLIENT_CERT) or E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_CLIENT_KEY) or E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP(S) or SOCKS proxy to reach the API server through.
      - Can also be set with the E(K8S_AUTH_PROXY) environment variable.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains or CIDRs that bypass O(proxy).
      - Can also be set with the E(K8S_AUTH_NO_PROXY) environment variable.
    type: str
  proxy_headers:
    description:
      - Headers sent to O(proxy).
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy. Never logged.
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) environment variable.
        type: str
      basic_auth:
        description:
          - C(user:password) sent as an Authorization header. Never logged.
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH) environment variable.
        type: str
      user_agent:
        description:
          - User-Agent sent to the proxy.
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) environment variable.
        type: str
  persist_config:
    description:
      - Whether refreshed kubeconfig tokens (exec or OIDC auth providers) are written back to the file.
      - Can also be set with the E(K8S_AUTH_PERSIST_CONFIG) environment variable.
    type: bool
  impersonate_user:
    description:
      - Act as this user (Impersonate-User header). The connecting identity needs the
        C(impersonate) verb.
      - Can also be set with the E(K8S_AUTH_IMPERSONATE_USER) environment variable.
    type: str
  impersonate_groups:
    description:
      - Act as a member of these groups (one Impersonate-Group header each).
      - Can also be set with the E(K8S_AUTH_IMPERSONATE_GROUPS) environment variable (comma-separated).
    type: list
    elements: str
  request_timeout:
    description:
      - Seconds to wait for the API server to answer one request.
    type: float
    default: 30
  api_retries:
    description:
      - How often a request is retried after a connection error, a timeout, or an answer of
        429, 500, 502, 503 or 504, with exponential backoff (0.25 s doubling, at most 4 s between
        attempts, honouring C(Retry-After) up to 10 s). V(0) disables retries.
      - A request therefore takes at most (O(api_retries) + 1) x O(request_timeout) plus the waits
        between attempts; then the task fails, naming the API server and the writes made so far.
    type: int
    default: 5
notes:
  - An exec credential plugin of the kubeconfig (C(users[].user.exec)) runs without a terminal and has 60
    seconds to answer; then its whole process group is killed and the task fails naming the command's file
    name (never what it wrote, nor its arguments or environment). Log in beforehand (an OIDC login plugin
    keeps its token in a cache) or use a plugin that needs no prompt.
  - The connection options, their aliases and their C(K8S_AUTH_*) environment variables are the
    ones of M(kubernetes.core.k8s), so AWX Kubernetes credentials (which inject C(K8S_AUTH_*)) work
    unchanged, and connection settings written for kubernetes.core can be reused as they are.
  - C(module_defaults) for C(group/kubernetes.core.k8s) do not reach vmo.rbac modules (they are not
    in that group); set them for C(group/vmo.rbac.vmo_rbac) (M(vmo.rbac.vmo_role_binding) and
    M(vmo.rbac.vmo_rbac_validate)), for example with the same connection dictionary under both
    groups.
  - Requires the C(kubernetes) Python package on the host that runs the module (usually the
    controller, with C(connection=local)).
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - urllib3 >= 1.26
  - PyYAML >= 5.4
  - google-re2 >= 1.1
"""
