# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A kubeconfig's exec credential plugin (``users[].user.exec``), run by the kubernetes client, without
anything of what the plugin wrote reaching a message.

The client's ``ExecProvider.run`` raises ``exec: process returned 1. <the plugin's stderr>`` when the plugin
fails, and its kubeconfig loader logs that with ``logging.error`` on the root logger: in Ansible's worker
Python's last-resort handler prints it at every verbosity ("errantly sent data directly to stderr"), Ansible's
log and the event source's log keep it. A plugin's stderr is free text that may hold a credential (an OIDC
login that quotes its client secret or the token it got, a careless wrapper's ``set -x``): the run cannot
know such a value, so no scrubber can remove it, and no rule tells an error message from an opaque token.
So the stderr is never shown; the message says how the plugin ended (exit status or signal), how much it
wrote there, and how to read it (run the command yourself). The same holds for what the plugin printed on
stdout (its answer, with the token): the client quotes an unexpected ``apiVersion`` and an unreadable
``expirationTimestamp``; here they are named, not quoted.

And from kubernetes 26 the client hands the plugin the terminal (stdin, and stderr straight to it) when
its own stdout is one: in Ansible's worker that is ansible-playbook's terminal, so the plugin's stderr
reached the screen unfiltered, and an interactive login would wait for input in the middle of a run. Here
the plugin always runs non-interactively (``spec.interactive: false``), as under AWX: log in beforehand
(kubelogin keeps its token in a cache) or use a plugin that needs no prompt.

And a plugin that never ends (a login waiting for a browser that never opens, a helper stuck on the network)
held the task forever: the client waits for it without a bound. Here it has TIMEOUT seconds (60) to answer;
then its whole process group (the plugin starts one of its own, so every helper it started is in it) is killed
and the task fails naming the plugin's command file name, nothing it wrote and nothing of its environment.

``install(kubernetes)`` puts GuardedExecProvider in the client's loader, once per process;
``failures()`` collects what failed in the calling thread while a kubeconfig loads, for cluster.py to fail
the task with it rather than go on without a credential (the API server's 403 for system:anonymous).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import signal
import subprocess
import sys
import threading

_local = threading.local()
_lock = threading.Lock()

# Seconds an exec credential plugin has to answer (docs/security.md; the connection doc fragment's notes).
TIMEOUT = 60.0


class PluginTimeout(Exception):
    """The plugin did not answer within TIMEOUT: its process group was killed."""


class _BoundedPopen(subprocess.Popen):
    """subprocess.Popen as the client's ExecProvider uses it, for a plugin that may never end: it starts in a
    session (and process group) of its own, and ``communicate()`` waits at most TIMEOUT, then kills the whole
    group (whatever the plugin started too, which may hold its stdout open) and raises PluginTimeout."""

    def __init__(self, *args, **kwargs):
        kwargs["start_new_session"] = True
        super(_BoundedPopen, self).__init__(*args, **kwargs)

    def communicate(self, input=None, timeout=None):  # pylint: disable=redefined-builtin
        try:
            return super(_BoundedPopen, self).communicate(input, TIMEOUT if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise PluginTimeout()
        except BaseException:
            # interrupted (Ctrl-C reaches ansible-playbook's foreground process group, not the plugin's own): the
            # plugin must not outlive the wait for it
            self.kill_group()
            raise

    def kill_group(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)  # its own group: the plugin's pid is the group's id
        except OSError:  # already gone (ProcessLookupError), or not ours to signal
            pass
        try:
            super(_BoundedPopen, self).communicate(timeout=5)  # reap it, close the pipes (output discarded)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            self.kill()


class _BoundedSubprocess(object):
    """``subprocess`` for the client's exec_provider module: everything as ``subprocess`` has it, except Popen
    (_BoundedPopen)."""

    Popen = _BoundedPopen

    def __getattr__(self, name):
        return getattr(subprocess, name)


class _NotATerminal(object):
    """What the client's ExecProvider sees as ``sys.stdout``: never a terminal."""

    @staticmethod
    def isatty():
        return False


class _NonInteractiveSys(object):
    """``sys`` for the client's exec_provider module: everything as ``sys`` has it, except a stdout that is
    no terminal, so that the plugin never gets the terminal (stdin, its stderr straight to the screen)."""

    stdout = _NotATerminal()

    def __getattr__(self, name):
        return getattr(sys, name)


def _lines(text):
    return len([line for line in (text or "").splitlines() if line.strip()])


def command_name(args):
    """The plugin's command as messages name it: its file name only (its directory says nothing more, and
    the arguments may hold a secret, such as an OIDC client secret)."""
    command = args[0] if args else None
    if not isinstance(command, str) or not command.strip():
        return "(no command)"
    return repr(os.path.basename(command.rstrip("/")) or command)


def ended(returncode):
    """``exited with status 3`` / ``was killed by signal 9 (SIGKILL)``."""
    if returncode < 0:
        try:
            name = " (%s)" % signal.Signals(-returncode).name
        except ValueError:
            name = ""
        return "was killed by signal %d%s" % (-returncode, name)
    return "exited with status %d" % returncode


def failure_message(text, args, stderr_lines=None):
    """A message for the client's ``ConfigException`` text ``text`` that holds nothing the plugin wrote."""
    name = command_name(args)
    prefix = "exec: process returned "
    if text.startswith(prefix):
        code = text[len(prefix):].split(".", 1)[0].strip()
        try:
            how = ended(int(code))
        except ValueError:
            how = "failed"
        lines = stderr_lines if stderr_lines is not None else (_lines(text.split(".", 1)[1]) if "." in text else 0)
        return ("exec: the credential plugin %s %s; %s (run the command yourself to read it)"
                % (name, how, "what it wrote on stderr (%d line%s) is not shown: a plugin may write a token or a "
                              "secret there" % (lines, "" if lines == 1 else "s") if lines else "it wrote nothing on "
                              "stderr"))
    if text.startswith("exec: failed to decode process output"):
        # json's message names a position (line, column, char), never the text
        return "exec: the credential plugin %s answered something that is not JSON (%s)" % (
            name, text.split(":", 2)[-1].strip())
    if text.startswith("exec: plugin api version"):
        return ("exec: the credential plugin %s answered with another apiVersion than the kubeconfig's exec.apiVersion"
                % name)
    if text.startswith("exec: malformed response. missing key"):
        return "exec: the credential plugin %s answered %s" % (name, text.split(". ", 1)[1])
    return "exec: the credential plugin %s failed (%s)" % (name, text.split(":", 1)[0][:60])


def _note(message):
    found = getattr(_local, "found", None)
    if found is not None:
        found.append(message)


@contextlib.contextmanager
def failures():
    """The messages of the exec plugins that failed in this thread meanwhile (a list, filled as they fail)."""
    before = getattr(_local, "found", None)
    _local.found = found = []
    try:
        yield found
    finally:
        _local.found = before


def _checked_status(status, name, parse_time):
    """The plugin's ``status`` as the client reads it, or ValueError with a message that quotes none of it."""
    if not isinstance(status, dict):
        raise ValueError("exec: the credential plugin %s answered a status that is not a mapping" % name)
    for key in ("token", "clientCertificateData", "clientKeyData"):
        if key in status and (not isinstance(status[key], str) or not status[key]):
            raise ValueError("exec: the credential plugin %s answered a status.%s that is not a non-empty string"
                             % (name, key))
    if "expirationTimestamp" in status:
        try:
            if not isinstance(status["expirationTimestamp"], str):
                raise ValueError()
            parse_time(status["expirationTimestamp"])
        except (ValueError, TypeError, AttributeError):
            raise ValueError("exec: the credential plugin %s answered a status.expirationTimestamp that is not an "
                             "RFC 3339 time" % name)
    return status


def install(kubernetes):
    """Replace the client's ExecProvider (in its kubeconfig loader, where it is looked up) with
    GuardedExecProvider, and make its exec_provider module see no terminal. Once per process; idempotent."""
    # pylint: disable=import-outside-toplevel
    from kubernetes.config import exec_provider, kube_config

    if getattr(kube_config.ExecProvider, "vmo_rbac_guarded", False):
        return
    with _lock:
        if getattr(kube_config.ExecProvider, "vmo_rbac_guarded", False):
            return
        base = kube_config.ExecProvider
        config_exception = kubernetes.config.ConfigException
        try:
            from kubernetes.config.dateutil import parse_rfc3339
        except ImportError:  # pragma: no cover - every supported series has it
            parse_rfc3339 = None

        class GuardedExecProvider(base):
            """The client's ExecProvider, whose failures quote nothing the plugin wrote (module docstring)."""

            vmo_rbac_guarded = True

            def run(self, *args, **kwargs):  # pylint: disable=signature-differs
                name = command_name(getattr(self, "args", None))
                try:
                    status = super(GuardedExecProvider, self).run(*args, **kwargs)
                    if parse_rfc3339 is not None:
                        _checked_status(status, name, parse_rfc3339)
                    return status
                except PluginTimeout:
                    message = ("exec: the credential plugin %s did not answer within %g seconds: it was stopped (its "
                               "whole process group killed); is it waiting for a login or a prompt? Log in "
                               "beforehand or use a plugin that needs no prompt" % (name, TIMEOUT))
                except config_exception as exc:
                    message = failure_message(str(exc), getattr(self, "args", None))
                except UnicodeDecodeError:  # the client reads the plugin's output as text of the locale
                    message = ("exec: the credential plugin %s wrote something that is not text in this system's "
                               "encoding (on stdout or stderr; neither is shown)" % name)
                except ValueError as exc:
                    message = str(exc) if str(exc).startswith("exec: the credential plugin") else \
                        "exec: the credential plugin %s failed (ValueError)" % name
                except OSError as exc:  # the command cannot be run: its name and why, as the system says it
                    message = "exec: the credential plugin %s cannot be run (%s)" % (
                        name, exc.strerror or type(exc).__name__)
                except Exception as exc:  # pylint: disable=broad-exception-caught
                    message = "exec: the credential plugin %s failed (%s)" % (name, type(exc).__name__)
                _note(message)
                raise config_exception(message)

        kube_config.ExecProvider = GuardedExecProvider
        exec_provider.sys = _NonInteractiveSys()
        exec_provider.subprocess = _BoundedSubprocess()
