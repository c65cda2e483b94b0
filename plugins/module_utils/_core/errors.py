# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one base class of every failure the collection expects, and what each adds to a failed result.

A module maps every ``VmoError`` to ``fail_json`` the same way (module_runner.run_module):
``msg`` is ``str(error)``, safe to show (it never holds a credential), and ``error.failure()`` gives the
other keys of the failed result (the field of a bad input, the HTTP status, what was written before
the failure). Anything else that escapes a flow is a bug, reported as "unexpected" with its
traceback scrubbed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class VmoError(Exception):
    """A failure the collection expects; ``str(error)`` is its message."""

    def failure(self):
        """The keys the module's failed result carries besides ``msg``."""
        return {}


class FieldError(VmoError, ValueError):
    """An input that cannot be used as given. ``path`` names the field or option
    (``bindings[1].namespaces[0]``, ``api_key``); the message never quotes a secret's value."""

    def __init__(self, path, message):
        self.path = path
        self.message = message
        super(FieldError, self).__init__("%s: %s" % (path, message) if path else message)

    def failure(self):
        return {"field": self.path}
