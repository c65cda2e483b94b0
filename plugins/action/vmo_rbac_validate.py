# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of vmo.rbac.vmo_rbac_validate: with connection local, the module's own code runs in Ansible's
worker process (no module process); otherwise the module runs as usual (plugin_utils/in_worker.py). With
``access_format: json`` the result's access rows are one JSON text (plugin_utils/access_rows.py), made here
from the result as the module returned it (masked), on either path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmo.rbac.plugins.plugin_utils import access_rows
from ansible_collections.vmo.rbac.plugins.plugin_utils.in_worker import action_for


def shape(action, returned):
    """``access_format: json`` (a value the module refused failed the task: no rows to shape)."""
    if action._task.args.get(access_rows.OPTION) == "json":  # pylint: disable=protected-access
        return access_rows.compact(returned)
    return returned


ActionModule = action_for("vmo_rbac_validate", shape=shape)
