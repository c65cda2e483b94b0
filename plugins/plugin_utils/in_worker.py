# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a vmo.rbac module's own code in Ansible's worker process instead of a module process.

The action plugins of the same name as the modules (plugins/action/vmo_role_binding.py, ...)
are built with ``action_for``. With ``connection: local`` (every fleet run: one inventory host
per cluster, the work done on the controller or the execution node), the module would be a
fresh Python process that imports Ansible's module code and the collection again, about 0.4 s
of CPU before it does anything (docs/performance.md). Here the worker process that Ansible
forked for the task runs the module's ``main()`` itself:

- the same argument spec, checks and messages: ``AnsibleModule`` itself reads the arguments
  (an ``AnsibleModule`` whose parameters are the task's, see ``WorkerRuntime``), and
  module_runner.py runs exactly as in a module process;
- the same arguments: the task's arguments (module_defaults applied) plus Ansible's internal
  ``_ansible_*`` ones (check mode, diff, no_log, verbosity), passed through the JSON encoding
  and decoding a module's arguments go through;
- the same environment: the task's ``environment`` is set in the worker while the module runs
  (connection options fall back to ``K8S_AUTH_*`` as in a module process), then restored;
- the same result: ``exit_json``/``fail_json`` mask the ``no_log`` values as always, and the
  result is encoded and decoded the way a module process's output is (``_parse_returned_data``).

Anything else runs the module as a module process, as Ansible would without this plugin: another
connection than ``local`` (a task delegated to a remote host), ``become``, ``async``, an
``ansible_python_interpreter`` other than the Python that runs Ansible, an ansible-core without
the hooks used here (before 2.19.1), a module that cannot be imported on the controller, or
``vmo_rbac_execution: module``. The reason is shown at ``-vvv``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import importlib
import json
import logging
import os
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import remove_temp_files

try:
    from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
except ImportError:  # pragma: no cover - ansible-core before 2.19: module processes only
    Direction = get_module_decoder = get_module_encoder = None

display = Display()

# Where the variable that chooses the execution is documented: the role's defaults and docs/fleet.md.
EXECUTION_VAR = "vmo_rbac_execution"
EXECUTIONS = ("worker", "module")
# Modules without serialization metadata are run with this profile (ansible-core's default).
PROFILE = "legacy"
HOOKS = get_module_encoder is not None and hasattr(AnsibleModule, "_record_module_result")


class WorkerRuntime(object):
    """module_runner's runtime in the worker: the task's arguments, and an AnsibleModule that reads
    them instead of stdin and records its result instead of printing it."""

    def __init__(self, params):
        self.params = params
        self.result = None

    def raw_params(self):
        return copy.deepcopy(self.params)

    def module(self, argument_spec):
        runtime = self

        class WorkerModule(AnsibleModule):
            def _load_params(self):
                self.params = copy.deepcopy(runtime.params)

            def _record_module_result(self, o):
                if runtime.result is None:
                    runtime.result = o

        return WorkerModule(argument_spec=argument_spec, supports_check_mode=True)


class VmoAction(ActionBase):
    """The action plugin of one vmo.rbac module (``MODULE``: its name in the collection)."""

    MODULE = None
    # The module's code, imported with this plugin (so once, by the process that forks the
    # workers: Ansible's strategy loads the action plugin class first), or why it could not be.
    module = None
    import_error = None
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(VmoAction, self).run(tmp, task_vars)
        del tmp
        reason = self.why_a_module_process(task_vars)
        if reason is None and self.module is None:
            reason = "the module cannot be imported here (%s)" % self.import_error
        if reason is not None:
            display.vvv("vmo.rbac: %s runs as a module process: %s" % (self.MODULE, reason),
                        host=task_vars.get("inventory_hostname"))
            wrap_async = self._task.async_val and not self._connection.has_native_async
            with self._environment_in_process():
                result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        display.vvv("vmo.rbac: %s runs in the worker process" % self.MODULE, host=task_vars.get("inventory_hostname"))
        return merge_hash(result, self.run_in_worker(self.module, task_vars))

    # ------------------------------------------------------------- environment

    _env_in_process = False

    @contextlib.contextmanager
    def _environment_in_process(self):
        """A module process on this machine (connection local, no become) gets the task's ``environment``
        (K8S_AUTH_API_KEY and friends) through this worker's own environment, which it inherits, instead of
        Ansible's ``K8S_AUTH_API_KEY=... python AnsiballZ_...`` command line, which Ansible prints at -vvv
        (and any user may read in the process list). Elsewhere (another host, become) the command line is
        the only way: Ansible's own behaviour, as for any module (docs/security.md)."""
        if getattr(self._connection, "transport", None) != "local" or self._play_context.become:
            yield
            return
        environment = {}
        super(VmoAction, self)._compute_environment_string(environment)
        saved = dict(os.environ)
        os.environ.update((k, to_text(v)) for k, v in environment.items())
        self._env_in_process = True
        try:
            yield
        finally:
            self._env_in_process = False
            os.environ.clear()
            os.environ.update(saved)

    def _compute_environment_string(self, raw_environment_out=None):
        text = super(VmoAction, self)._compute_environment_string(raw_environment_out)
        return "" if self._env_in_process else text

    # ------------------------------------------------------------------ where

    def why_a_module_process(self, task_vars):
        """None when the module can run in this process; otherwise why not."""
        execution = self._templar.template(task_vars.get(EXECUTION_VAR, "worker"))
        if execution not in EXECUTIONS:
            raise ValueError("%s must be one of %s, got %r" % (EXECUTION_VAR, ", ".join(EXECUTIONS), execution))
        if execution == "module":
            return "%s is 'module'" % EXECUTION_VAR
        if not HOOKS:
            return "this ansible-core has no hook to run a module in the worker (2.19.1 or newer has)"
        if getattr(self._connection, "transport", None) != "local":
            return "the connection is %r, not local" % getattr(self._connection, "transport", None)
        if self._play_context.become:
            return "become is set"
        if self._task.async_val:
            return "the task is async"
        interpreter = self._interpreter(task_vars)
        if interpreter and not interpreter.startswith("auto") and \
                same_python_path(os.path.expanduser(interpreter)) != same_python_path(sys.executable):
            return "ansible_python_interpreter is %s, not the Python that runs Ansible (%s)" % (
                interpreter, sys.executable)
        return None

    def _interpreter(self, task_vars):
        variables = task_vars
        if self._task.delegate_to:
            variables = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        value = variables.get("ansible_python_interpreter")
        return to_text(self._templar.template(value)) if value else None

    # ------------------------------------------------------------------- run

    def run_in_worker(self, module, task_vars):
        """The module's main() in this process; its result as _execute_module would return it."""
        own_log_streams()
        module_args = copy.deepcopy(self._task.args)
        self._update_module_args(self._task.action, module_args, task_vars)
        # What the module process would decode: plain JSON types, no controller-side tags.
        encoded = json.dumps(module_args, cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE))
        runtime = WorkerRuntime(json.loads(encoded, cls=get_module_decoder(PROFILE, Direction.CONTROLLER_TO_MODULE)))

        environment = {}
        self._compute_environment_string(environment)
        saved = dict(os.environ)
        os.environ.update((k, to_text(v)) for k, v in environment.items())
        try:
            module.main(runtime)
        except SystemExit:
            pass
        finally:
            os.environ.clear()
            os.environ.update(saved)
            # The certificate and key data of inline kubeconfigs (a kubeconfig mapping, one downloaded
            # from Palette) is handed to urllib3 as files, removed at exit in a module process; this
            # process ends with os._exit, which skips atexit.
            remove_temp_files()
        if runtime.result is None:  # pragma: no cover - main() always ends in exit_json or fail_json
            return {"failed": True, "msg": "vmo.rbac: %s ended without a result" % self.MODULE}
        text = json.dumps(runtime.result, cls=get_module_encoder(PROFILE, Direction.MODULE_TO_CONTROLLER))
        data = self._parse_returned_data({"rc": 0, "stdout": text, "stderr": ""}, PROFILE)
        from ansible.vars.clean import remove_internal_keys

        remove_internal_keys(data)
        return data


def same_python_path(path):
    """``path`` with its directories resolved but not the executable itself: a Python named through a
    symlinked directory (a checkout's .venv linked to another's) is the same Python, while a symlink to
    the executable from another directory is another Python (another virtual environment's, whose
    site-packages come from the directory the link is in)."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


_LOG_STREAMS_OF = []  # the process whose root file handlers have streams of their own


def own_log_streams():
    """Give the root logger's file handlers a file object of this process, once per worker.

    Ansible writes its log (ANSIBLE_LOG_PATH) through a FileHandler on the root logger, opened in the
    controller process, and every worker is a fork of it. When another thread of the controller was
    writing to that file at the moment of the fork, the file object's internal lock stays held in the
    worker for good (logging re-creates its handlers' locks after a fork, not the file's): the first
    record a library logs while the module runs in the worker (urllib3's warning before a retry) waits
    forever, and with it the task and the play (seen in the whole suite at -vvvv). The inherited file
    object is left alone (not flushed, not closed: either could wait on that lock); the log is opened
    again, in append mode, for this process."""
    if _LOG_STREAMS_OF == [os.getpid()]:
        return
    _LOG_STREAMS_OF[:] = [os.getpid()]
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and handler.stream is not None:
            try:
                handler.stream = open(handler.baseFilename, "a", encoding=handler.encoding,  # pylint: disable=consider-using-with
                                      errors=getattr(handler, "errors", None))
            except OSError:
                pass  # the inherited one stays: a log that cannot be opened is no reason to fail the task


# What the modules import only for a run that needs it (Palette's client and backend: a module process of
# the kubernetes backend does not compile them; the kubeconfig reader, which direct credentials do not need),
# imported here once, by the process that forks the workers, so that a task run in the worker does not
# import them again.
LAZY_IMPORTS = ("_palette.client", "_palette.connection", "_palette.backend", "_k8s.kubeconfig")


def action_for(name):
    """The ActionModule class of the module ``name`` of this collection."""
    attrs = {"MODULE": name}
    try:
        attrs["module"] = importlib.import_module("ansible_collections.vmo.rbac.plugins.modules." + name)
    except ImportError as exc:  # e.g. a requirement missing on the controller: the module process may have it
        attrs["import_error"] = str(exc)
    for lazy in LAZY_IMPORTS if attrs.get("module") else ():
        try:
            importlib.import_module("ansible_collections.vmo.rbac.plugins.module_utils." + lazy)
        except ImportError:  # the run that needs it imports it again, and says what is missing
            pass
    return type("ActionModule", (VmoAction,), attrs)
