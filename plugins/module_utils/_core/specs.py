# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every argument spec of the collection, in one place.

Plain data in Ansible's argument spec format (pure: no network; Ansible only for ``env_fallback``).
The modules take their ``argument_spec()`` from ``module_arg_spec``, the parsers read the keys and
defaults from here (declaration.py, options.py, whocan.py, cluster_roles.py), the event source
validates its connection options with ``CLUSTER_CONNECTION_ARG_SPEC`` (plugin_utils/eda_config.py),
and tests/unit/test_schema.py holds the doc fragments, the modules' DOCUMENTATION and the role's
meta/argument_specs.yml to them.

Each spec, what it holds, where it is documented, and who takes it:

- ``DECLARATION_ARG_SPEC``: the declaration (``bindings`` and the options around it); fragment ``bindings``;
  vmo_role_binding, vmo_rbac_validate.
- ``ENFORCE_ARG_SPEC``: ``state``, ``require_roles``, ``if_active``; the module; vmo_role_binding.
- ``VALIDATE_ARG_SPEC``: what validate checks and audits; the module; vmo_rbac_validate.
- ``ACCESS_ARG_SPEC``: the capability matrix, ``concurrency``, ``platform_subjects``, ``kubevirt_version``;
  fragment ``access``; vmo_role_binding, vmo_rbac_validate.
- ``CONNECTION_ARG_SPEC``: the Kubernetes connection (kubernetes.core's names and ``K8S_AUTH_*``); fragment
  ``connection``; every module, the event source.
- ``PALETTE_CONNECTION_ARG_SPEC``: the Palette credential and ``palette_kubeconfig`` (the cluster's
  kubeconfig from Palette); fragment ``palette_connection``; every module, the event source.
- ``BACKEND_ARG_SPEC``: ``backend``; fragment ``palette``. ``PALETTE_ARG_SPEC`` is it with
  ``PALETTE_CONNECTION_ARG_SPEC``: vmo_role_binding, vmo_rbac_validate.
- ``WAIT_ARG_SPEC``: ``wait`` (the palette backend); the module; vmo_role_binding.
- ``ACCESS_INFO_ARG_SPEC``: what vmo_rbac_access_info asks; the module.
- ``CLUSTER_ROLES_ARG_SPEC``: ``roles``, ``state``; the module; vmo_cluster_roles.
- ``CLUSTER_CONNECTION_ARG_SPEC``: ``CONNECTION_ARG_SPEC`` with ``PALETTE_CONNECTION_ARG_SPEC``; the event
  source. ``EDA_CLUSTER_ARG_SPEC``: the ``name`` and ``owner`` of an item of its ``clusters`` list.
- ``FLEET_REPORT_ARG_SPEC``: the fleet report's ``title``, ``formats``, ``dest``, ``slice``;
  plugins/modules/vmo_rbac_fleet_report.py; the action vmo_rbac_fleet_report.

The limits of the options are not here: ``options.LIMITS`` holds them, checked with every other check
before the first request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.vmo.rbac.plugins.module_utils._core import personas


def _env(*names):
    return (env_fallback, list(names))


# ----------------------------------------------------------------------------- the declaration
# Documented in plugins/doc_fragments/bindings.py; declaration.py parses what these accept.

SUBJECT_KINDS = ("User", "Group", "ServiceAccount")
SUBJECT_OPTIONS = dict(
    kind=dict(type="str", required=True, choices=list(SUBJECT_KINDS)),
    name=dict(type="str", required=True),
    namespace=dict(type="str"),
    api_group=dict(type="str"),
)
BINDING_OPTIONS = dict(
    persona=dict(type="str", choices=list(personas.PERSONAS)),
    cluster_role=dict(type="str"),
    role=dict(type="str"),
    name=dict(type="str"),
    users=dict(type="list", elements="str"),
    groups=dict(type="list", elements="str"),
    service_accounts=dict(type="list", elements="str"),
    subjects=dict(type="list", elements="dict", options=SUBJECT_OPTIONS),
    namespaces=dict(type="list", elements="str"),
    namespace_regex=dict(type="raw"),
    namespace_selector=dict(type="raw"),
    console_access=dict(type="bool"),
    expires=dict(type="str"),
    reason=dict(type="str"),
)
DEFAULT_PROTECTED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"]
DECLARATION_ARG_SPEC = dict(
    bindings=dict(type="list", elements="dict", default=[], options=BINDING_OPTIONS),
    role_set=dict(type="str", default="vmo", choices=sorted(personas.ROLE_SETS)),
    oidc_user_prefix=dict(type="str", default=""),
    oidc_group_prefix=dict(type="str", default=""),
    owner=dict(type="str", default="vmo-rbac"),
    legacy_dashboard_bindings=dict(type="bool", default=False),
    allow_privileged=dict(type="bool", default=False),
    console_access=dict(type="bool", default=False),
    protected_namespaces=dict(type="list", elements="str", default=DEFAULT_PROTECTED_NAMESPACES),
    golden_image_namespaces=dict(type="list", elements="str", default=[]),
    strict_scopes=dict(type="bool", default=False),
    purge=dict(type="bool", default=False),
    allow_empty_purge=dict(type="bool", default=False),
    wait_for_roles=dict(type="int", default=0),
    wait_for_api_server=dict(type="int", default=0),
    max_duration=dict(type="str"),
)

# ----------------------------------------------------------------------------- the other options of a run
# options.py parses them.

ENFORCE_ARG_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    require_roles=dict(type="bool", default=True),
    # a declared time-limited grant that is in force already: replace (as declared), refuse, extend (later only)
    if_active=dict(type="str", default="replace", choices=["replace", "refuse", "extend"]),
)

# Both modules: vmo_rbac_validate uses the matrix and asks this many reviews at a time;
# vmo_role_binding checks the matrix before its first write and sends this many requests at a time.
ACCESS_ARG_SPEC = dict(
    capabilities=dict(type="dict", default={}),
    concurrency=dict(type="int", default=16),
    # who else can: the platform's own identities (validate's exclusive audit; checked by both)
    platform_subjects=dict(type="list", elements="str", default=[]),
    # the KubeVirt release whose roles role_set kubernetes expects (default: read from the cluster)
    kubevirt_version=dict(type="str"),
)

VALIDATE_ARG_SPEC = dict(
    check_bindings=dict(type="bool", default=True),
    check_access=dict(type="bool", default=True),
    fail_on_drift=dict(type="bool", default=True),
    audit_privileged=dict(type="bool", default=False),
    pending_enforce=dict(type="bool", default=False),
    # who else can (whocan.py): every undeclared holder of a VM capability is a violation
    audit_exclusive=dict(type="bool", default=False),
    # how the result carries the access rows: a list (every row), or json (every row as one JSON text in
    # access_json, and in access only the rows that did not pass). Made by module_runner.access_as_text
    # from the rows as masked (_core/access_rows.py); the flow always makes the list
    access_format=dict(type="str", default="list", choices=["list", "json"]),
)

# ----------------------------------------------------------------------------- the connection to a cluster
# The names, aliases and K8S_AUTH_* environment variables are the ones kubernetes.core uses, so
# module_defaults written for kubernetes.core and AWX's built-in Kubernetes bearer-token credential (which
# injects K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and K8S_AUTH_SSL_CA_CERT) work unchanged.
# Documented in plugins/doc_fragments/connection.py; _k8s/connection.py reads them.

PROXY_HEADERS_SPEC = dict(
    proxy_basic_auth=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH")),
    basic_auth=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_PROXY_HEADERS_BASIC_AUTH")),
    user_agent=dict(type="str", fallback=_env("K8S_AUTH_PROXY_HEADERS_USER_AGENT")),
)

CONNECTION_ARG_SPEC = dict(
    kubeconfig=dict(type="raw", no_log=True, fallback=_env("K8S_AUTH_KUBECONFIG")),
    context=dict(type="str", fallback=_env("K8S_AUTH_CONTEXT")),
    host=dict(type="str", fallback=_env("K8S_AUTH_HOST")),
    api_key=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_API_KEY")),
    validate_certs=dict(type="bool", aliases=["verify_ssl"],
                        fallback=_env("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL")),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=_env("K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT")),
    client_cert=dict(type="path", aliases=["cert_file"],
                     fallback=_env("K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE")),
    client_key=dict(type="path", aliases=["key_file"], no_log=False,
                    fallback=_env("K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE")),
    proxy=dict(type="str", fallback=_env("K8S_AUTH_PROXY")),
    no_proxy=dict(type="str", fallback=_env("K8S_AUTH_NO_PROXY")),
    proxy_headers=dict(type="dict", options=PROXY_HEADERS_SPEC),
    persist_config=dict(type="bool", fallback=_env("K8S_AUTH_PERSIST_CONFIG")),
    impersonate_user=dict(type="str", fallback=_env("K8S_AUTH_IMPERSONATE_USER")),
    impersonate_groups=dict(type="list", elements="str", fallback=_env("K8S_AUTH_IMPERSONATE_GROUPS")),
    request_timeout=dict(type="float", default=30.0),
    api_retries=dict(type="int", default=5),
)

# ----------------------------------------------------------------------------- Palette
# The Palette credential, which the palette backend and the cluster's connection from Palette
# (_palette/connection.py, every module) use; documented in plugins/doc_fragments/palette_connection.py.
# The environment variables are Palette's own tools' (SPECTROCLOUD_*) and the collection's AWX
# credential type's (files/awx/credential-type-palette.json).

PALETTE_HOST_ENV = "SPECTROCLOUD_HOST"
PALETTE_APIKEY_ENV = "SPECTROCLOUD_APIKEY"
PALETTE_CA_ENV = "VMO_RBAC_PALETTE_CA_CERT"
PALETTE_RATE_LIMIT_ENV = "VMO_RBAC_PALETTE_RATE_LIMIT"
# the kubeconfigs Palette offers for a cluster: its admin kubeconfig, and the reverse proxy's (OIDC)
PALETTE_KUBECONFIG_KINDS = ("admin", "frp")

PALETTE_CONNECTION_ARG_SPEC = dict(
    palette_host=dict(type="str", fallback=_env(PALETTE_HOST_ENV)),
    palette_api_key=dict(type="str", no_log=True, fallback=_env(PALETTE_APIKEY_ENV)),
    palette_project_uid=dict(type="str"),
    palette_cluster_uid=dict(type="str"),
    palette_validate_certs=dict(type="bool", default=True),
    palette_ca_cert=dict(type="path", fallback=_env(PALETTE_CA_ENV)),
    palette_kubeconfig=dict(type="str", choices=list(PALETTE_KUBECONFIG_KINDS)),
    palette_rate_limit=dict(type="float", fallback=_env(PALETTE_RATE_LIMIT_ENV)),
)

BACKENDS = ("kubernetes", "palette")
# Shared by vmo_role_binding and vmo_rbac_validate (documented in the vmo.rbac.palette and
# vmo.rbac.palette_connection doc fragments): the backend, and the Palette credential.
BACKEND_ARG_SPEC = dict(
    backend=dict(type="str", default="kubernetes", choices=list(BACKENDS)),
)
PALETTE_ARG_SPEC = dict(BACKEND_ARG_SPEC, **PALETTE_CONNECTION_ARG_SPEC)
# vmo_role_binding only (its range: options.LIMITS).
WAIT_ARG_SPEC = dict(
    wait=dict(type="int", default=0),
)

# Every way to reach a cluster: the Kubernetes connection options, or its kubeconfig from Palette (the event
# source's connection options, validated by plugin_utils/eda_config.py).
CLUSTER_CONNECTION_ARG_SPEC = dict(CONNECTION_ARG_SPEC, **PALETTE_CONNECTION_ARG_SPEC)
# A mapping of the event source's ``clusters`` list: the inventory host and the owner (and any option of
# CLUSTER_CONNECTION_ARG_SPEC).
EDA_CLUSTER_ARG_SPEC = dict(
    name=dict(type="str", required=True),
    owner=dict(type="str"),
)

# ----------------------------------------------------------------------------- the modules without a declaration

# vmo_rbac_access_info (whocan.parse_options)
ACCESS_INFO_ARG_SPEC = dict(
    capabilities=dict(type="dict", default={}),
    only_capabilities=dict(type="list", elements="str", default=[]),
    namespaces=dict(type="list", elements="str", default=[]),
    platform_subjects=dict(type="list", elements="str", default=[]),
    concurrency=dict(type="int", default=16),
    confirm=dict(type="str", default="sample", choices=["sample", "all"]),
)

# vmo_cluster_roles (cluster_roles.parse_options): the sets of ClusterRoles the collection ships
CLUSTER_ROLE_SETS = ("personas", "legacy", "console", "golden-image")
CLUSTER_ROLES_ARG_SPEC = dict(
    roles=dict(type="list", elements="str", default=["console"], choices=list(CLUSTER_ROLE_SETS)),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)

# the action vmo_rbac_fleet_report (documented in plugins/modules/vmo_rbac_fleet_report.py): the role's fleet report
REPORT_FORMATS = ("markdown", "html", "junit", "json")
FLEET_REPORT_ARG_SPEC = dict(
    title=dict(type="str", default="VMO RBAC fleet report"),
    formats=dict(type="list", elements="str", default=["markdown", "html", "junit"], choices=list(REPORT_FORMATS)),
    dest=dict(type="str", default=""),
    slice=dict(type="str", default=""),
)

# ----------------------------------------------------------------------------- each module's

# The specs each module takes, in this order (a later spec's option replaces an earlier one's of the
# same name: none do).
MODULES = {
    "vmo_role_binding": (DECLARATION_ARG_SPEC, ENFORCE_ARG_SPEC, ACCESS_ARG_SPEC, CONNECTION_ARG_SPEC,
                         PALETTE_ARG_SPEC, WAIT_ARG_SPEC),
    "vmo_rbac_validate": (DECLARATION_ARG_SPEC, VALIDATE_ARG_SPEC, ACCESS_ARG_SPEC, CONNECTION_ARG_SPEC,
                          PALETTE_ARG_SPEC),
    "vmo_rbac_access_info": (ACCESS_INFO_ARG_SPEC, CONNECTION_ARG_SPEC, PALETTE_CONNECTION_ARG_SPEC),
    "vmo_cluster_roles": (CLUSTER_ROLES_ARG_SPEC, CONNECTION_ARG_SPEC, PALETTE_CONNECTION_ARG_SPEC),
}


def module_arg_spec(module):
    """The argument spec of ``module`` (a name of MODULES), a new dict each call."""
    spec = {}
    for part in MODULES[module]:
        spec.update(part)
    return spec
