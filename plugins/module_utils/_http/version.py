# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's version, sent as the User-Agent.

Generated from galaxy.yml (the one place that holds the version) by `make generated`; do not edit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

__version__ = "0.3.0"
