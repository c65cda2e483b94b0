# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JSON report: the results as given, plus the fleet counts and the title.

The results pass through unchanged, so a section the validate flow adds to its result appears
here without a change (``scopes``, ``warnings``, ``note``, ``pending``); a count over the fleet
belongs in ``model.fleet`` (``unchecked_entries``, ``pending``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model


def _json_default(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=model.text)
    if model.is_map(value):
        return dict(value)
    return model.text(value)


def render(results, title=None, generated_at=None):
    """The results as given, plus ``fleet`` (counts) and ``title``; sorted keys, 2-space indent."""
    prepared = model.prepare(results)
    doc = {
        "title": title or model.DEFAULT_TITLE,
        "fleet": model.fleet(prepared.norm),
        "clusters": [r for _hint, r in prepared.pairs],
    }
    if generated_at is not None:
        doc["generated_at"] = model.text(generated_at)
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, default=_json_default,
                      separators=(",", ": ")) + "\n"
