# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation results -> reports: JSON, Markdown, JUnit XML and a standalone HTML matrix.

Controller-side: the filter plugin ``vmo.rbac.vmo_rbac_report`` renders with this package.
Pure: plain data in, text out; no Ansible, no network, no clock. The output is deterministic:
the same input gives byte-identical text; pass ``generated_at`` to stamp a report.

- ``model``: the results normalized (clusters, matrix cells, fleet counts) and the vocabulary
  every format shares; ``model.SECTIONS`` names the parts of a cluster a report shows.
- ``json_format``, ``markdown_format``, ``junit_format``, ``html_format`` (with its style sheet
  in ``html_style``): one ``render(results, title=None, generated_at=None)`` each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmo.rbac.plugins.plugin_utils.report import (
    html_format,
    json_format,
    junit_format,
    markdown_format,
)
from ansible_collections.vmo.rbac.plugins.plugin_utils.report.model import ReportError

RENDERERS = {
    "json": json_format.render,
    "markdown": markdown_format.render,
    "junit": junit_format.render,
    "html": html_format.render,
}
FORMATS = tuple(RENDERERS)
ALIASES = {"md": "markdown", "xml": "junit", "junit-xml": "junit", "htm": "html"}


def render(results, fmt="markdown", title=None, generated_at=None):
    """Render ``results`` in ``fmt`` (json | markdown | junit | html); returns text."""
    if not isinstance(fmt, str):
        raise ReportError("format", "expected one of %s, got %s" % (", ".join(FORMATS), type(fmt).__name__))
    key = ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
    if key not in RENDERERS:
        raise ReportError("format", "unknown format %r; expected one of %s" % (fmt, ", ".join(FORMATS)))
    if title is not None and not isinstance(title, str):
        raise ReportError("title", "expected a string, got %s" % type(title).__name__)
    return RENDERERS[key](results, title=title, generated_at=generated_at)
