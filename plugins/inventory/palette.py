# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: palette
short_description: The fleet of Virtual Machine Orchestrator clusters, from Spectro Cloud Palette
version_added: 0.2.0
description:
  - Lists the clusters of one or more Palette projects with Palette's cluster search (every page), keeps
    those whose profiles hold the Virtual Machine Orchestrator pack (O(vmo_pack)), and makes one host
    per cluster, in the group O(group) (by default C(vmo_clusters), the group the C(vmo.rbac.enforce)
    and C(vmo.rbac.validate) playbooks target), in a group per project and a group per tag.
  - With O(kubeconfig=admin) or O(kubeconfig=frp) each host gets C(vmo_rbac_palette_kubeconfig) (the kind), and
    the collection's modules download the cluster's kubeconfig from Palette when they run, with the same
    Palette credential, and keep it in memory. So C(ansible-playbook -i fleet.palette.yml vmo.rbac.enforce)
    runs the whole fleet without a hand-written inventory, and so does AWX, where the inventory update and
    the job run apart (in separate execution environments) and only the hosts and their variables reach
    the job. No kubeconfig is written anywhere.
  - With O(kubeconfig_files=true) the inventory downloads the kubeconfigs itself into a private directory
    (O(kubeconfig_dir), mode 0700, files 0600) and sets C(vmo_rbac_kubeconfig) to each file's path instead,
    for tools that need the files (C(kubectl)); this works only where the playbook runs on the machine that
    read the inventory, never in AWX.
  - Host variables, C(palette_cluster_uid), C(palette_cluster_name), C(palette_project),
    C(palette_project_uid), C(palette_tags), C(palette_labels), C(palette_cloud_type), C(palette_state) and
    C(palette_health). The group C(all) gets C(palette_inventory_requests), the number of Palette requests
    the inventory made.
  - Every text from Palette (host names, every variable above) is marked unsafe, so that it is never
    templated on the controller, also on ansible-core 2.16 and through O(compose), O(groups) and
    O(keyed_groups); group names are reduced to letters, digits and underscores.
  - A failure confined to one project (for example 403 in a project the API key's user has no role in) or
    to one cluster (a kubeconfig or profile download that fails) never fails the whole inventory. The
    project is left out with a warning; the cluster becomes a host with C(vmo_rbac_inventory_error) set,
    and the C(vmo.rbac.vmo_rbac) role fails that host with this reason. Set O(fail_on_errors) to fail the
    inventory instead.
  - Uses the same credentials as the Spectro Cloud Terraform provider and Palette's own tools, the
    E(SPECTROCLOUD_HOST), E(SPECTROCLOUD_APIKEY) and E(SPECTROCLOUD_PROJECT) environment variables (what
    the collection's AWX credential type injects, files/awx/). The API key never appears in any output or
    message.
  - The configuration file's name must end in C(palette.yml) or C(palette.yaml).
author:
  - vmo.rbac contributors (@vmo-rbac)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; must be V(vmo.rbac.palette).
    type: str
    required: true
    choices: [vmo.rbac.palette]
  host:
    description:
      - The Palette API endpoint, a host name (C(api.spectrocloud.com)) or an C(https://) URL with an
        optional port. Only https is accepted.
    type: str
    default: api.spectrocloud.com
    env:
      - name: SPECTROCLOUD_HOST
  api_key:
    description:
      - A Palette API key (Palette console, Profile, My API Keys). Sent in the C(ApiKey) header; never shown.
      - Keep it out of the file; the E(SPECTROCLOUD_APIKEY) environment variable is the usual place.
    type: str
    env:
      - name: SPECTROCLOUD_APIKEY
  projects:
    description:
      - The projects whose clusters make the inventory, each by name or by uid (24 hexadecimal digits).
      - Empty, every cluster the API key's user can see at tenant scope.
      - A name is resolved from the projects of the clusters listed at tenant scope.
      - Can also be set with the E(SPECTROCLOUD_PROJECT) environment variable (the Spectro Cloud Terraform
        provider's; several separated by commas); the option in the file wins.
    type: list
    elements: str
    default: []
    env:
      - name: SPECTROCLOUD_PROJECT
  vmo_pack:
    description:
      - The name of the Virtual Machine Orchestrator pack in the clusters' profiles. Clusters without it
        are left out. An empty string keeps every cluster.
    type: str
    default: virtual-machine-orchestrator
  kubeconfig:
    description:
      - Which of each cluster's kubeconfigs the playbook connects with, set as C(vmo_rbac_palette_kubeconfig).
        The modules download it from Palette when they run and keep it in memory (module option
        O(vmo.rbac.vmo_role_binding#module:palette_kubeconfig)).
      - V(admin), the cluster's admin kubeconfig (C(/assets/adminKubeconfig)), what unattended automation uses.
      - V(frp), the reverse-proxy kubeconfig (C(/assets/kubeconfig?frp=true)), which may need an OIDC login.
      - V(none), no connection from Palette; set C(vmo_rbac_kubeconfig) or C(vmo_rbac_context) yourself (for
        example with O(compose)).
    type: str
    default: none
    choices: [admin, frp, none]
  kubeconfig_files:
    description:
      - Download the kubeconfigs while reading the inventory and write them into O(kubeconfig_dir); each host
        then gets C(vmo_rbac_kubeconfig), the file's path, instead of C(vmo_rbac_palette_kubeconfig).
      - Only for a playbook that runs on the machine that read the inventory (C(ansible-playbook -i
        fleet.palette.yml ...)) and tools that need the files. Refused in an AWX inventory update (which sets
        E(INVENTORY_UPDATE_ID)); the files would stay in the inventory update's throw-away execution
        environment, and every cluster of the job would fail to connect.
      - The files hold credentials; delete them when you no longer need them.
    type: bool
    default: false
    version_added: 0.2.0
  kubeconfig_dir:
    description:
      - With O(kubeconfig_files=true), the directory the kubeconfigs are written to, created with mode 0700 (an
        existing one must belong to the user running Ansible and is set to 0700); each file has mode 0600.
    type: path
    default: ~/.ansible/vmo_rbac/palette-kubeconfigs
  validate_certs:
    description: Verify Palette's TLS certificate. Leave it on outside of tests.
    type: bool
    default: true
  ca_cert:
    description:
      - A CA certificate file to verify Palette's certificate with (instead of the system's), for a self-hosted
        Palette.
      - Can also be set with the E(VMO_RBAC_PALETTE_CA_CERT) environment variable (the collection's AWX
        credential type injects it); the modules read it too.
    type: path
    env:
      - name: VMO_RBAC_PALETTE_CA_CERT
  request_timeout:
    description: Seconds to wait for one Palette answer, greater than 0 and at most 3600.
    type: float
    default: 30
  api_retries:
    description:
      - How often a request is retried after a connection error, a timeout, or an answer of 429, 500, 502,
        503 or 504, with exponential backoff (0.25 s doubling, at most 4 s between attempts), honouring
        C(Retry-After) up to 10 s.
    type: int
    default: 5
  rate_limit:
    description:
      - Palette's requests per second, at most, from this inventory (Palette's published limit is 10 per second
        per source IP; a burst above it is answered C(429 Too Many Requests)). Requests are spaced 1/rate apart
        whatever O(concurrency) is, so reading N clusters takes at least about (N + N/50) / rate seconds.
      - V(9) by default, just under the limit. V(0) turns the pacing off (a 429 is still retried, honouring
        C(Retry-After) up to 10 s). V(0), or a number from V(0.1) (one request every 10 s) to V(1000).
      - In C(ansible-playbook), the inventory and the forks of the run share the pacing (a file in the run's
        private temporary directory); the modules' option is O(vmo.rbac.vmo_role_binding#module:palette_rate_limit).
    type: float
    default: 9
    env:
      - name: VMO_RBAC_PALETTE_RATE_LIMIT
    version_added: 0.3.0
  concurrency:
    description: How many clusters are read (profiles, kubeconfig) at once.
    type: int
    default: 8
  group:
    description: The group every host joins.
    type: str
    default: vmo_clusters
  group_by_project:
    description: Also put each host in C(palette_project_<project name>).
    type: bool
    default: true
  group_by_tag:
    description:
      - Also put each host in C(palette_tag_<tag>) for each of its Palette tags (C(env:prod) makes
        C(palette_tag_env_prod)).
    type: bool
    default: true
  exclude_states:
    description: Clusters in these states are left out.
    type: list
    elements: str
    default: [Deleted, Deleting]
  fail_on_errors:
    description:
      - Fail the whole inventory when one project or one cluster cannot be read, instead of leaving the
        project out (with a warning) or marking the host (C(vmo_rbac_inventory_error)).
    type: bool
    default: false
notes:
  - Palette's cluster search has no filter for packs; the pack is looked for in each cluster's profiles,
    so an inventory run makes one search request per 50 clusters and one profile request per cluster; with
    O(kubeconfig_files=true), one kubeconfig request per kept cluster too (docs/palette.md). With
    O(kubeconfig=admin) or O(kubeconfig=frp), each module call that talks to a cluster makes one kubeconfig
    request when it runs.
  - Requires the C(urllib3) Python package (it comes with C(kubernetes), a requirement of the collection).
seealso:
  - module: vmo.rbac.vmo_role_binding
  - name: Palette and vmo.rbac
    description: Set-up with a Palette API key, the palette backend, and what was verified only against the specification.
    link: https://github.com/vmo-rbac/vmo.rbac/blob/main/docs/palette.md
"""

EXAMPLES = r"""
# fleet.palette.yml: every VMO cluster of two projects, reached with their admin kubeconfigs
# (downloaded by each module call, in memory; the same in AWX)
plugin: vmo.rbac.palette
projects: [vm-production, 64f0c2a1b2c3d4e5f6a7b8c9]
kubeconfig: admin
# The credentials come from SPECTROCLOUD_HOST and SPECTROCLOUD_APIKEY (in AWX: the credential type
# files/awx/credential-type-palette.json, attached to the inventory source and to the job template).

# Write the bindings into Palette (Settings > RBAC) rather than straight into the clusters, and group
# the hosts by the "env" tag's value:
# compose:
#   vmo_rbac_backend: "'palette'"
# keyed_groups:
#   - key: palette_labels.env | default('none')
#     prefix: env

# Then:
#   ansible-inventory -i fleet.palette.yml --graph
#   ansible-playbook -i fleet.palette.yml vmo.rbac.enforce
"""

import difflib
import hashlib
import math
import os
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.vmo.rbac.plugins.module_utils._palette import client as palette_api
from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._core import values

try:
    from ansible.utils.unsafe_proxy import wrap_var
except ImportError:  # pragma: no cover - an ansible-core without it trusts no inventory value (data tagging)
    def wrap_var(value):
        return value

display = Display()

VALUELESS_TAG = "spectro__tag"  # Palette stores a tag without a value under this label value
CONCURRENCY_MAX = 64
REQUEST_TIMEOUT_MAX = 3600


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "vmo.rbac.palette"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("palette.yml", "palette.yaml"))

    # ------------------------------------------------------------------ options

    def _fail(self, field, message):
        raise AnsibleParserError(self._scrub("vmo.rbac.palette: %s: %s" % (field, message)))

    def _scrub(self, text):
        """Every message of this plugin without the API key (a second line of defence: the key is
        checked before the first request, and the client scrubs its own messages)."""
        secrets = getattr(self, "_secrets", None)
        return secrets.scrub(text) if secrets is not None else transport.scrub(text)

    def _option_definitions(self):
        """{option: its definition (type, ...)} of this plugin, its doc fragments' options included."""
        from ansible import constants as C  # pylint: disable=import-outside-toplevel

        return C.config.get_configuration_definitions("inventory", self._load_name) or {}

    def _settings(self):
        """Every option checked before the first request; errors name the option."""
        s = {}
        try:
            s["host"] = palette_api.normalize_host(self.get_option("host") or palette_api.DEFAULT_HOST)
        except ValueError as exc:
            self._fail("host", str(exc))
        s["api_key"] = self.get_option("api_key")
        if not s["api_key"] or not isinstance(s["api_key"], str):
            self._fail("api_key", "required: set it, or the %s environment variable" % palette_api.APIKEY_ENV)
        self._secrets = transport.Secrets([s["api_key"]])
        problem = transport.text_problem(s["api_key"])
        if problem:  # the ApiKey header: http.client would quote the key in its error
            self._fail("api_key", "the value (of the option, or of %s) %s; it is not shown"
                       % (palette_api.APIKEY_ENV, problem))
        projects, origin = self.get_option_and_origin("projects")
        projects = projects or []
        if isinstance(projects, list) and str(origin).startswith("env:"):
            # SPECTROCLOUD_PROJECT as an AWX credential injects it: an empty field is an empty variable
            projects = [p for p in projects if not isinstance(p, str) or p.strip()]
        if not isinstance(projects, list):
            self._fail("projects", "expected a list of project names or uids")
        for i, p in enumerate(projects):
            if not isinstance(p, str) or not p.strip():
                self._fail("projects[%d]" % i, "expected a project name or uid (a non-empty string), got %r" % (p,))
        s["projects"] = [p.strip() for p in projects]
        pack = self.get_option("vmo_pack")
        if pack is None or not isinstance(pack, str):
            self._fail("vmo_pack", "expected the pack's name (a string)")
        s["vmo_pack"] = pack.strip()
        kind = self.get_option("kubeconfig") or "none"
        if kind not in ("admin", "frp", "none"):
            self._fail("kubeconfig", "expected admin, frp or none, got %r" % (kind,))
        s["kubeconfig"] = kind
        files = self.get_option("kubeconfig_files")
        if not isinstance(files, bool):
            self._fail("kubeconfig_files", "expected true or false")
        s["kubeconfig_files"] = files and kind != "none"
        s["kubeconfig_dir"] = os.path.expanduser(self.get_option("kubeconfig_dir") or "")
        _dir, dir_origin = self.get_option_and_origin("kubeconfig_dir")
        if kind != "none" and not s["kubeconfig_files"] and dir_origin != "default":
            display.warning("vmo.rbac.palette: kubeconfig_dir is used only with kubeconfig_files: true; the modules "
                            "download each cluster's %s kubeconfig when they run and keep it in memory" % kind)
        if s["kubeconfig_files"]:
            if os.environ.get("INVENTORY_UPDATE_ID"):
                self._fail("kubeconfig_files", "true in an AWX inventory update (INVENTORY_UPDATE_ID is set): the "
                                               "files would stay in this update's execution environment and no job "
                                               "would find them; remove kubeconfig_files (the modules then download "
                                               "each cluster's kubeconfig when they run)")
            if not s["kubeconfig_dir"]:
                self._fail("kubeconfig_dir", "required with kubeconfig_files")
            if os.path.exists(s["kubeconfig_dir"]) and not os.path.isdir(s["kubeconfig_dir"]):
                self._fail("kubeconfig_dir", "%s exists and is not a directory" % s["kubeconfig_dir"])
            self._private_dir(s["kubeconfig_dir"])  # before the first request: a directory that cannot be made
        ca = self.get_option("ca_cert") or None  # VMO_RBAC_PALETTE_CA_CERT of a credential without a CA: empty
        if ca and not os.path.isfile(os.path.expanduser(ca)):
            self._fail("ca_cert", "file %s does not exist" % ca)
        s["ca_cert"] = os.path.expanduser(ca) if ca else None
        s["validate_certs"] = self.get_option("validate_certs")
        timeout = self.get_option("request_timeout")
        # .nan passes every comparison and .inf or 1e300 reach the socket: each was a raw error
        if timeout is None or not math.isfinite(timeout) or not 0 < timeout <= REQUEST_TIMEOUT_MAX:
            self._fail("request_timeout", "must be a number of seconds greater than 0 and at most %d"
                       % REQUEST_TIMEOUT_MAX)
        s["request_timeout"] = float(timeout)
        retries = self.get_option("api_retries")
        if retries is None or not 0 <= retries <= 20:
            self._fail("api_retries", "must be between 0 and 20")
        s["api_retries"] = retries
        try:
            s["rate_limit"] = transport.check_rate_limit("rate_limit", self.get_option("rate_limit"))
        except transport.BadValue as exc:
            self._fail("rate_limit", exc.message)
        concurrency = self.get_option("concurrency")
        if concurrency is None or not 1 <= concurrency <= CONCURRENCY_MAX:
            self._fail("concurrency", "must be between 1 and %d" % CONCURRENCY_MAX)
        s["concurrency"] = concurrency
        group = self.get_option("group")
        if not group or not isinstance(group, str):
            self._fail("group", "expected a group name")
        s["group"] = self._sanitize_group_name(group)
        s["exclude_states"] = set(self.get_option("exclude_states") or [])
        return s

    # ------------------------------------------------------------------ parse

    def parse(self, inventory, loader, path, cache=True):
        try:
            self._parse(inventory, loader, path, cache)
        except AnsibleParserError:
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Ansible would print it as a warning: without the API key, whatever raised it.
            raise AnsibleParserError(self._scrub("vmo.rbac.palette: unexpected %s: %s" % (type(exc).__name__, exc)))

    def _parse(self, inventory, loader, path, cache):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        config = self._read_config_data(path)
        unknown = sorted(k for k in config if k not in self._options)
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(self._options), n=1)
            self._fail(unknown[0], "unknown option%s; the options are in "
                                   "`ansible-doc -t inventory vmo.rbac.palette`" % (
                                       " (did you mean %r?)" % close[0] if close else ""))
        # A boolean for a number (rate_limit: true) became 1 or 1.0 in Ansible's conversion without a word, as
        # it does for the modules, which refuse it: read as written, before the conversion.
        # (.nan and .inf are left to _settings, whose messages give the range)
        problem = values.not_a_number(dict((k, v) for k, v in config.items() if isinstance(v, bool)),
                                      self._option_definitions())
        if problem:
            self._fail(problem[0], problem[1].split(": ", 1)[1])
        settings = self._settings()
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        fleet = None
        if use_cache:
            try:
                fleet = self._cache[cache_key]
            except KeyError:
                update_cache = True
            if fleet is not None and (not self._cached_files_present(fleet)
                                      or fleet.get("connection") != self._connection(settings)):
                fleet, update_cache = None, True
        if fleet is None:
            fleet = self._fetch(settings)
            if update_cache:
                self._cache[cache_key] = fleet
        else:
            fleet = dict(fleet, requests=0)  # served from the cache: no request this time
        self._populate(fleet, settings)

    @staticmethod
    def _connection(settings):
        """How the cached hosts connect: a cache made with other kubeconfig options is not used."""
        return [settings["kubeconfig"], settings["kubeconfig_files"]]

    @staticmethod
    def _cached_files_present(fleet):
        try:
            return all(os.path.isfile(h["vars"]["vmo_rbac_kubeconfig"]) for h in fleet["hosts"]
                       if "vmo_rbac_kubeconfig" in h["vars"])
        except (KeyError, TypeError):
            return False

    # ------------------------------------------------------------------ reading Palette

    def _problem(self, settings, text, errors):
        if self.get_option("fail_on_errors"):
            raise AnsibleParserError(self._scrub("vmo.rbac.palette: %s" % text))
        text = self._scrub(text)
        display.warning("vmo.rbac.palette: %s" % text)
        errors.append(text)

    def _fetch(self, settings):
        client = palette_api.PaletteClient(
            settings["host"], settings["api_key"], validate_certs=settings["validate_certs"],
            ca_cert=settings["ca_cert"], timeout=settings["request_timeout"], retries=settings["api_retries"],
            component="inventory", pool_size=max(settings["concurrency"], 2), rate_limit=settings["rate_limit"])
        errors = []
        if client.pacer is not None and client.pacer.path and not client.pacer.shared:
            display.warning("vmo.rbac.palette: rate_limit: %s; this process paces its own requests only"
                            % client.pacer.unshared)
        try:
            scopes = self._project_scopes(client, settings, errors)
            clusters = []
            for project_uid, project_name in scopes:
                try:
                    found = client.search_clusters(project=project_uid)
                except palette_api.PaletteError as exc:
                    self._problem(settings, "project %s: %s; its clusters are left out" % (
                        project_name or project_uid or "(tenant scope)", exc.message), errors)
                    continue
                for summary in found:
                    clusters.append((summary, project_uid, project_name))
            hosts = self._read_clusters(client, settings, clusters, errors)
        except palette_api.PaletteError as exc:
            raise AnsibleParserError(self._scrub("vmo.rbac.palette: %s" % exc.message))
        display.vv("vmo.rbac.palette: %d hosts from %s in %d Palette requests" % (
            len(hosts), settings["host"], client.requests))
        return {"hosts": hosts, "requests": client.requests, "errors": errors, "connection": self._connection(settings)}

    def _project_scopes(self, client, settings, errors):
        """[(project uid or "" for tenant scope, project name)] of the configured projects."""
        if not settings["projects"]:
            return [("", "")]
        scopes, by_name = [], [p for p in settings["projects"] if not palette_api.looks_like_uid(p)]
        names = {}
        if by_name:
            # Project names are resolved from the clusters visible at tenant scope (the specification
            # subset has no project list).
            for summary in client.search_clusters(project=""):
                meta = (summary.get("specSummary") or {}).get("projectMeta") or {}
                if meta.get("name") and meta.get("uid"):
                    names.setdefault(meta["name"], meta["uid"])
        for p in settings["projects"]:
            if palette_api.looks_like_uid(p):
                try:
                    name = ((client.get_project(p).get("metadata") or {}).get("name")) or p
                except palette_api.PaletteError as exc:
                    self._problem(settings, "project %s: %s; its clusters are left out" % (p, exc.message), errors)
                    continue
                scopes.append((p, name))
            elif p in names:
                scopes.append((names[p], p))
            else:
                self._problem(settings, "project %r: no cluster at tenant scope belongs to a project of this name "
                                        "(or the API key's user cannot see it); give its uid" % p, errors)
        seen, out = set(), []
        for uid, name in scopes:
            if uid not in seen:
                seen.add(uid)
                out.append((uid, name))
        return out

    def _read_clusters(self, client, settings, clusters, errors):
        lock = threading.Lock()

        def one(entry):
            host = host_from_summary(*entry)
            uid, scope = host["vars"]["palette_cluster_uid"], host["vars"]["palette_project_uid"]
            if host["vars"]["palette_state"] in settings["exclude_states"]:
                return None
            if not palette_api.is_uid(uid):
                where = host["vars"]["palette_project"]
                with lock:
                    self._problem(settings, "cluster %r%s: Palette's search answer gives it no usable uid; it is left "
                                            "out" % (host["name"] or "(no name)",
                                                     " in project %s" % where if where else ""), errors)
                return None
            problems = []
            if settings["vmo_pack"]:
                try:
                    if not has_pack(client.get_profiles(uid, project=scope), settings["vmo_pack"]):
                        return None
                except palette_api.PaletteError as exc:
                    problems.append("cannot read its profiles (is the %s pack there?): %s" % (
                        settings["vmo_pack"], exc.message))
            if not problems and settings["kubeconfig"] != "none" and not settings["kubeconfig_files"]:
                # The modules download it when they run (module_utils/_palette/connection.py).
                host["vars"]["vmo_rbac_palette_kubeconfig"] = settings["kubeconfig"]
            elif not problems and settings["kubeconfig_files"]:
                try:
                    text = client.get_kubeconfig(uid, settings["kubeconfig"], project=scope)
                    host["vars"]["vmo_rbac_kubeconfig"] = self._write_kubeconfig(settings, uid, text)
                except palette_api.PaletteError as exc:
                    problems.append("cannot download its %s kubeconfig: %s" % (settings["kubeconfig"], exc.message))
                except OSError as exc:
                    raise AnsibleParserError("vmo.rbac.palette: kubeconfig_dir: cannot write %s: %s" % (
                        settings["kubeconfig_dir"], exc.strerror or exc))
            if problems:
                text = self._scrub("cluster %s (%s): %s" % (host["name"], uid, "; ".join(problems)))
                with lock:
                    self._problem(settings, text + "; the host fails in the vmo_rbac role", errors)
                host["vars"]["vmo_rbac_inventory_error"] = text
            return host

        if settings["kubeconfig_files"] and clusters:
            self._private_dir(settings["kubeconfig_dir"])
        with ThreadPoolExecutor(max_workers=settings["concurrency"]) as pool:
            hosts = [h for h in pool.map(one, clusters) if h is not None]
        return unique_host_names(hosts, lambda text: self._problem(settings, text, errors))

    # ------------------------------------------------------------------ kubeconfig files

    @staticmethod
    def _private_dir(path):
        try:
            if not os.path.isdir(path):
                os.makedirs(path, mode=0o700)
            st = os.stat(path)
        except OSError as exc:
            raise AnsibleParserError("vmo.rbac.palette: kubeconfig_dir: cannot create %s: %s"
                                     % (path, exc.strerror or exc))
        if st.st_uid != os.geteuid():
            raise AnsibleParserError("vmo.rbac.palette: kubeconfig_dir: %s belongs to another user; "
                                     "kubeconfigs hold credentials" % path)
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(path, 0o700)

    @staticmethod
    def _write_kubeconfig(settings, uid, text):
        """Write atomically with mode 0600; the file name tells the endpoint, cluster and kind apart."""
        endpoint = hashlib.sha256(settings["host"].encode("utf-8")).hexdigest()[:8]
        path = os.path.join(settings["kubeconfig_dir"], "%s-%s-%s.yaml" % (endpoint, uid, settings["kubeconfig"]))
        fd, tmp = tempfile.mkstemp(dir=settings["kubeconfig_dir"], prefix=".kubeconfig-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    # ------------------------------------------------------------------ populate

    def _populate(self, fleet, settings):
        """Hosts, variables and groups from the fleet (fresh or cached). Every text in it came from
        Palette, where anyone who may name or label a cluster writes it: the host name and every
        variable are marked unsafe (``wrap_var``), so that neither ansible-core 2.16 nor a later
        play templates them (2.19 and later trust no inventory value anyway); group names are
        sanitised to letters, digits and underscores."""
        strict = self.get_option("strict")
        group = self.inventory.add_group(settings["group"])
        self.inventory.set_variable("all", "palette_inventory_requests", fleet.get("requests", 0))
        for h in fleet["hosts"]:
            name = self.inventory.add_host(wrap_var(h["name"]), group=group)
            for k, v in h["vars"].items():
                self.inventory.set_variable(name, k, wrap_var(v))
            if self.get_option("group_by_project") and h["vars"]["palette_project"]:
                g = self.inventory.add_group(self._sanitize_group_name("palette_project_" + h["vars"]["palette_project"]))
                self.inventory.add_child(g, name)
            if self.get_option("group_by_tag"):
                for tag in h["vars"]["palette_tags"]:
                    g = self.inventory.add_group(self._sanitize_group_name("palette_tag_" + tag))
                    self.inventory.add_child(g, name)
            hostvars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)


def unique_host_names(hosts, problem):
    """Host names are cluster names; a name used in more than one project gets the project's name
    (``<name>.<project>``). Names are Palette tenant data: a cluster named ``prod.team`` in another
    project would take the host name of cluster ``prod`` of project ``team``, and with it that
    host's variables, while the other cluster left the fleet without a word. A name still shared
    then is ambiguous: each of its hosts becomes ``<name>.<uid>`` and carries
    ``vmo_rbac_inventory_error`` (the vmo_rbac role fails it before any request), and ``problem``
    is told."""
    counts = {}
    for h in hosts:
        counts[h["name"]] = counts.get(h["name"], 0) + 1
    for h in hosts:
        if counts[h["name"]] > 1:
            h["name"] = "%s.%s" % (h["name"], h["vars"]["palette_project"] or h["vars"]["palette_cluster_uid"])
    while True:  # a name may be chosen to equal a renamed one too; each round adds distinct uids
        shared = {}
        for h in hosts:
            shared.setdefault(h["name"], []).append(h)
        ambiguous = [(name, same) for name, same in sorted(shared.items()) if len(same) > 1]
        if not ambiguous:
            return hosts
        for name, same in ambiguous:
            who = "; ".join("cluster %r of project %r (uid %s)" % (
                h["vars"]["palette_cluster_name"], h["vars"]["palette_project"], h["vars"]["palette_cluster_uid"])
                for h in same)
            text = ("host name %r is ambiguous: %s. Each is the host %s.<uid> and fails in the vmo_rbac role; "
                    "rename one of them in Palette" % (name, who, name))
            problem(text)
            for h in same:
                h["name"] = "%s.%s" % (name, h["vars"]["palette_cluster_uid"])
                h["vars"]["vmo_rbac_inventory_error"] = text


def host_from_summary(summary, project_uid, project_name):
    """The host of a cluster summary of the search (its shape checked by the client,
    palette.SEARCH_SHAPE): {"name", "vars"}; the uid is checked by the caller."""
    meta = summary.get("metadata") or {}
    spec = summary.get("specSummary") or {}
    status = summary.get("status") or {}
    project = spec.get("projectMeta") or {}
    uid = meta.get("uid") or ""
    labels = dict(meta.get("labels") or {})
    return {
        "name": meta.get("name") or uid,
        "vars": {
            "palette_cluster_uid": uid,
            "palette_cluster_name": meta.get("name") or uid,
            "palette_project": project_name or project.get("name") or "",
            "palette_project_uid": project_uid or project.get("uid") or "",
            "palette_labels": labels,
            "palette_tags": sorted(k if v in ("", None, VALUELESS_TAG) else "%s:%s" % (k, v) for k, v in labels.items()),
            "palette_cloud_type": (spec.get("cloudConfig") or {}).get("cloudType") or "",
            "palette_state": status.get("state") or "",
            "palette_health": (status.get("health") or {}).get("state") or "",
        },
    }


def has_pack(profiles, pack):
    """Does any profile of a cluster (v1SpectroClusterProfileList) hold the pack named ``pack``?"""
    for profile in (profiles or {}).get("profiles") or []:
        for p in ((profile or {}).get("spec") or {}).get("packs") or []:
            names = ((p or {}).get("metadata") or {}).get("name"), ((p or {}).get("spec") or {}).get("name")
            if pack in names:
                return True
    return False
