# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How every vmo.rbac module runs: parse once, connect, run a flow, exit or fail.

``start_module`` does every check that needs no cluster, in this order:

1. The declaration, parsed once, from the arguments as the user wrote them
   (``_load_params``, before Ansible converts anything): Ansible turns a list or a number
   given to a ``type: str`` option into its text without a word (``users: [[alice]]`` would
   bind the User ``"['alice']"``, ``groups: [0123]`` the Group ``"83"``), and its message for
   a string where ``bindings`` (a list of mappings) is expected names no option. Both become
   an error that names the field. Its two booleans are converted by Ansible's own rules.
2. ``AnsibleModule`` with the real argument spec (types, choices, no_log, env fallbacks).
3. The kubernetes library, then the time of the run (the one place that reads the clock:
   ``expiry.run_time``; the core takes it as ``Options.now``), then the other options, typed,
   with their limits (options.py).

``run_module`` then connects, calls the flow with the Declaration and the Options, and maps
every failure to ``fail_json`` in one place: the field of a bad input, the HTTP status of an
API answer, the writes made before a failure part-way.

Where the arguments come from and which ``AnsibleModule`` reads them is the runtime's business:
``PROCESS`` (a module process, the arguments from Ansible's payload) unless the caller passes
another. The collection's action plugins pass one that runs this same code in Ansible's worker
process (plugins/plugin_utils/in_worker.py): same argument spec, same checks, same result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import traceback

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.vmo.rbac.plugins.module_utils._core import access_rows, declaration, expiry, options, values
from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import connection
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import KUBERNETES_IMPORT_ERROR, Cluster
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError
from ansible_collections.vmo.rbac.plugins.module_utils._core.errors import VmoError


class ProcessRuntime(object):
    """A module process: the arguments Ansible sent, read by ``AnsibleModule`` itself."""

    def raw_params(self):
        """The arguments as the user wrote them, before AnsibleModule converts anything."""
        return _load_params()

    def module(self, argument_spec):
        return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)


PROCESS = ProcessRuntime()


class LazyCluster(object):
    """A Cluster made on first use: a flow that never talks to the API server (the palette backend
    with a cluster-wide declaration) needs no Kubernetes connection configured at all, nor (with
    palette_kubeconfig) a kubeconfig from Palette. ``palette``: the run's Palette client, or None; the
    palette backend uses it too, so that one client counts every Palette request of the run."""

    def __init__(self, make, palette=None):
        self._make = make
        self._cluster = None
        self._error = None  # what making it raised: raised again, never made twice (an exec plugin run again)
        self._lock = threading.Lock()  # the flows send independent requests from several threads
        self.palette = palette

    @property
    def requests(self):
        return self._cluster.requests if self._cluster is not None else 0

    def __getattr__(self, name):
        if self._cluster is None:
            with self._lock:
                if self._error is not None:
                    raise self._error
                if self._cluster is None:
                    try:
                        self._cluster = self._make()
                    except Exception as exc:  # pylint: disable=broad-exception-caught
                        self._error = exc
                        raise
        return getattr(self._cluster, name)


def permissive_spec(argument_spec):
    """The same options (names, aliases, no_log) accepting any value: a module to fail with."""
    out = {}
    for name, option in argument_spec.items():
        loose = dict(type="raw")
        for key in ("aliases", "no_log"):
            if key in option:
                loose[key] = option[key]
        out[name] = loose
    return out


def _flags(raw):
    """The declaration's booleans by Ansible's rules, or None if one is not a boolean (then
    AnsibleModule refuses it, naming the option)."""
    out = {}
    for name in declaration.FLAG_OPTIONS:
        value = raw.get(name)
        try:
            out[name] = False if value is None else boolean(value, strict=True)
        except TypeError:
            return None
    return out


def _check_library(module):
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(KUBERNETES_IMPORT_ERROR))
    module.no_log_values = connection.unmask_kubeconfig_names(module.no_log_values, module.params)


def _check_connection(module, raw, failure):
    """The connection options' values (header values, URLs) and where they come from (a host's own
    cluster must not be overridden by K8S_AUTH_*): checked before the first request, failing with the
    option's name, never a credential's value (connection.check_values, check_unambiguous)."""
    origins = connection.environment_origins(raw)
    try:
        connection.check_values(module.params, origins)
        connection.check_unambiguous(module.params, origins)
    except transport.BadValue as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)


def _not_a_number(raw, argument_spec):
    """(option, message) of the first option whose value as written is .nan, .inf or a boolean where a
    number is expected, or None (values.not_a_number, which the event source uses too)."""
    return values.not_a_number(raw, argument_spec)


def _check_numbers(runtime, argument_spec, raw, failure):
    problem = _not_a_number(raw, argument_spec)
    if problem:
        loose = runtime.module(permissive_spec(argument_spec))
        loose.fail_json(msg=problem[1], field=problem[0], **failure)


def start_module(argument_spec, failure, parse=None, runtime=None):
    """(module, Declaration, Options) of a vmo.rbac module whose input passed every check that
    needs no cluster; otherwise fail_json (with ``failure``'s extra keys) naming the field.

    ``parse``: for a module without a declaration, its options parser (params -> options); the
    Declaration is then None. ``runtime``: see ProcessRuntime (default: a module process)."""
    runtime = runtime or PROCESS
    raw = runtime.raw_params()
    raw = raw if isinstance(raw, dict) else {}
    _check_numbers(runtime, argument_spec, raw, failure)
    if parse is not None:
        module = runtime.module(argument_spec)
        _check_library(module)
        try:
            options.check_limits(module.params)
            options.check_connection(module.params)
        except SpecError as exc:
            module.fail_json(msg=str(exc), field=exc.path, **failure)
        _check_connection(module, raw, failure)
        try:
            return module, None, parse(module.params)
        except SpecError as exc:
            module.fail_json(msg=str(exc), field=exc.path, **failure)
    flags = _flags(raw)
    decl = None
    if flags is not None:
        try:
            decl = declaration.from_module_args(raw, **flags)
        except SpecError as exc:
            loose = runtime.module(permissive_spec(argument_spec))
            loose.fail_json(msg=str(exc), field=exc.path, **failure)
    module = runtime.module(argument_spec)
    if decl is None:  # pragma: no cover - AnsibleModule has refused the boolean already
        module.fail_json(msg="a boolean option could not be read", **failure)
    _check_library(module)
    try:
        options.check_connection(module.params)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    _check_connection(module, raw, failure)
    try:
        now, note = expiry.run_time()
    except expiry.ExpiryError as exc:
        module.fail_json(msg=str(exc), **failure)
    if note:
        module.warn(note)
    try:
        opts = options.parse(module.params, decl, now)
    except SpecError as exc:
        module.fail_json(msg=str(exc), field=exc.path, **failure)
    return module, decl, opts


def access_as_text(module, secrets, result):
    """``access_format: json`` (vmo_rbac_validate): every access row as one JSON text in ``access_json``, and in
    ``access`` only the rows that did not pass (access_rows.py), in place.

    The text is made of the rows as the list form would leave the module: scrubbed (a failure,
    ``fail``) and masked (``exit_json`` and ``fail_json`` mask every ``no_log`` value), so a secret masked in
    a row is masked in the text. Masking a text replaces parts of it, so when masking the text would still
    change it (a secret that spans its syntax: a key, a quote, an escape) the rows stay a list, with a
    warning: never a text that masking would break. ``access`` keeps the rows unmasked: ``exit_json`` masks
    them as it masks the list."""
    rows = result.get("access")
    if not isinstance(rows, list):
        return
    failing = bool(result.get("failed"))
    shown = secrets.scrub_data(rows) if failing else rows
    if module.no_log_values:
        shown = remove_values(shown, module.no_log_values)
    text = access_rows.text_of(shown)
    if (failing and secrets.scrub(text) != text) or \
            (module.no_log_values and remove_values(text, module.no_log_values) != text):
        module.warn("access_format json: a masked value would reach into the text of the access rows; they are "
                    "returned as a list (access), as with access_format list")
        return
    result[access_rows.KEY] = text
    result["access"] = access_rows.not_passed(rows)


def run_module(argument_spec, flow, component, failure, parse=None, runtime=None):
    """Start the module, connect, run ``flow(decl, opts, cluster, check_mode, diff)`` and exit.

    The flow returns the module result; its ``warnings`` are shown as Ansible warnings and a
    true ``failed`` fails the task with the whole result. ``parse``, ``runtime``: see start_module.

    Every message leaves through ``secrets`` (transport.Secrets: the no_log values, and every
    credential the connection learned, a kubeconfig file's token too), a second line of defence behind
    the checks made before the first request; so does an unexpected exception, as a failure whose
    ``exception`` (the traceback Ansible shows at -vvv) is scrubbed as well."""
    module, decl, opts = start_module(argument_spec, failure, parse, runtime)
    params = connection.connection_params(module.params)
    secrets = transport.Secrets(module.no_log_values)

    def fail(**result):
        module.fail_json(**secrets.scrub_data(result))

    palette = palette_connection = None
    if module.params.get("palette_kubeconfig") or module.params.get("backend") == "palette":
        # Palette's client, imported for a run that talks to Palette only (in Ansible's worker, the action
        # plugin imported it once: plugin_utils/in_worker.py LAZY_IMPORTS)
        from ansible_collections.vmo.rbac.plugins.module_utils._palette import (  # pylint: disable=import-outside-toplevel
            connection as palette_connection,
        )
        from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import (  # pylint: disable=import-outside-toplevel
            PaletteError,
        )
        try:
            palette = palette_connection.client(module.params, component)
        except transport.BadValue as exc:
            fail(msg=str(exc), field=exc.path, **failure)
        except PaletteError as exc:
            fail(msg=exc.message, **failure)

    def make():
        connect = params
        if module.params.get("palette_kubeconfig"):
            # The cluster's kubeconfig from Palette, once per run, in memory (_palette/connection.py);
            # every credential in it is masked in the module's output from here on.
            doc = palette_connection.kubeconfig(palette, module.params["palette_cluster_uid"],
                                                module.params["palette_kubeconfig"],
                                                project=module.params.get("palette_project_uid") or None)
            found = palette_connection.secret_values(doc)
            module.no_log_values.update(found)
            secrets.add(*found)
            connect = palette_connection.with_kubeconfig(params, doc)
        return Cluster(connect, component=component, pool_size=opts.concurrency, secrets=secrets)

    cluster = LazyCluster(make, palette)

    def failed(**extra):
        # Palette requests are counted in failures too (a kubeconfig download that failed, a PUT refused)
        return dict(failure, **extra) if palette is None else dict(failure, palette_requests=palette.requests,
                                                                   **extra)

    try:
        result = flow(decl, opts, cluster, check_mode=module.check_mode, diff=module._diff)
    except VmoError as exc:  # every expected failure, mapped in one way (errors.py)
        fail(msg=str(exc), **dict(failed(), **exc.failure()))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # A bug, or a library's error this code does not expect: it must not print a credential either.
        fail(msg="%s: unexpected %s: %s" % (component, type(exc).__name__, exc), exception=traceback.format_exc(),
             **failed())
    if palette is not None:  # one client for the run: the kubeconfig download and the backend's requests
        result["palette_requests"] = palette.requests
    made = cluster._cluster  # pylint: disable=protected-access
    if made is not None:  # which API server this host reached (never a credential): the fleet report compares them
        result["api_server"] = dict(made.api_server)
    if decl is not None:
        result["owner"] = decl.owner
    for warning in result.pop("warnings", []):
        module.warn(secrets.scrub(warning))
    if module.params.get(access_rows.OPTION) == "json":
        access_as_text(module, secrets, result)
    if result.pop("failed", False):
        fail(**result)
    if "msg" in result:
        result["msg"] = secrets.scrub_data(result["msg"])
    module.exit_json(**result)
