# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of vmo.rbac.vmo_rbac_access_info: with connection local, the module's own code runs in Ansible's
worker process (no module process; its Palette requests share the run's pacing); otherwise the module runs as
usual (plugin_utils/in_worker.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmo.rbac.plugins.plugin_utils.in_worker import action_for

ActionModule = action_for("vmo_rbac_access_info")
