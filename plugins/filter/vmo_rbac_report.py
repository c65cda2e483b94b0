# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: vmo_rbac_report
short_description: Render vmo_rbac_validate results as JSON, Markdown, JUnit XML or an HTML access matrix
version_added: 0.1.0
author:
  - vmo.rbac maintainers
description:
  - Turns the results of M(vmo.rbac.vmo_rbac_validate), one per cluster, into a fleet report.
  - C(markdown) gives a fleet summary table, then per cluster the missing roles, the drift, the failed
    checks and a compact access matrix (subject x capability); readable in a terminal and on GitHub.
  - C(junit) gives JUnit XML with one C(testsuite) per cluster and one C(testcase) per access check, drift
    item and role check, so that CI systems and AWX show the result natively. A cluster that could not be
    validated is a test suite with one C(error) test case carrying its message.
  - C(html) gives one standalone page (inline CSS, no external resources, no JavaScript) with the fleet
    summary and, per cluster, a matrix of subjects (with personas and scope) by capabilities. Cells say
    allowed or denied; a violation is red and labelled C(EXCESS) (allowed but expected denied) or
    C(MISSING) (denied but expected allowed); unchecked cells are grey.
  - C(json) gives the results as given plus a C(fleet) summary, with sorted keys.
  - Every format shows what is not proof or not a failure, as the result says it. The rule sets of
    C(namespace_regex) and C(namespace_selector) (the results' C(scopes) and
    C(warnings)) in a per-cluster "Namespace rules" section, with a C(NOT PROVEN) line for each rule set that
    matched no namespace and a "Not proven" count per cluster and for the fleet. Checks whose expectation is
    C(optional) read as expected, with their C(note). Drift and failed checks that the enforce step planned
    under C(--check) (C(pending)) are listed apart as pending, never as failures (JUnit C(skipped)).
    C(fleet) gains C(unchecked_entries) and C(pending) when the results carry them.
  - The output is deterministic, the same results give byte-identical text, so a report can be committed
    or compared. No timestamp is added unless O(generated_at) is given.
  - The role renders its fleet report with this filter; the code is C(plugins/plugin_utils/report/).
positional: _input, format, title
options:
  _input:
    description:
      - The validation results, one C(vmo_rbac_validate) result per cluster.
      - Also accepted are a single result, a mapping of cluster name to result, and a registered loop
        result (a dictionary with C(results)).
      - A result that failed before it produced any data (for example an unreachable cluster, or a host
        result with C(unreachable)) is reported as a cluster that could not be validated, with its C(msg).
    type: raw
    required: true
  format:
    description:
      - The output format.
      - C(md), C(xml) and C(htm) are accepted as aliases of C(markdown), C(junit) and C(html).
    type: str
    default: markdown
    choices: [json, markdown, junit, html]
  title:
    description:
      - The report's title (Markdown heading, HTML title, JUnit C(testsuites) name, JSON C(title)).
      - Defaults to C(VMO RBAC validation report).
    type: str
  generated_at:
    description:
      - A timestamp or any text to stamp the report with, for example C(ansible_date_time.iso8601) or a
        job ID. Left out, the report carries no time, which keeps it reproducible.
      - In JUnit XML it becomes each C(testsuite)'s C(timestamp) attribute, so pass an ISO 8601 time there.
    type: str
notes:
  - Write the text with M(ansible.builtin.copy) (C(content)), once per run, for example on C(localhost)
    with C(run_once), gathering each cluster's result from C(hostvars).
seealso:
  - module: vmo.rbac.vmo_rbac_validate
"""

EXAMPLES = r"""
- name: Validate each cluster (one inventory host per cluster)
  vmo.rbac.vmo_rbac_validate:
    bindings: "{{ vmo_rbac_bindings }}"
    fail_on_drift: false
  register: vmo_rbac_result

- name: Print the fleet report once
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts_all | map('extract', hostvars, 'vmo_rbac_result') | list
             | vmo.rbac.vmo_rbac_report('markdown') }}"
  run_once: true

- name: Write the HTML access matrix and the JUnit XML for CI
  ansible.builtin.copy:
    content: "{{ results | vmo.rbac.vmo_rbac_report(item.format, title='Production fleet') }}"
    dest: "reports/vmo-rbac.{{ item.ext }}"
    mode: "0644"
  vars:
    results: "{{ ansible_play_hosts_all | map('extract', hostvars, 'vmo_rbac_result') | list }}"
  loop:
    - {format: html, ext: html}
    - {format: junit, ext: xml}
    - {format: json, ext: json}
  delegate_to: localhost
  run_once: true

- name: Key the results by cluster name (a host that failed has no 'cluster' of its own)
  ansible.builtin.set_fact:
    fleet_report: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'vmo_rbac_result')))
         | vmo.rbac.vmo_rbac_report('json', generated_at=now(utc=true).isoformat()) | from_json }}
  run_once: true

- name: Fail the run if any cluster did not pass
  ansible.builtin.assert:
    that: fleet_report.fleet.passed
    fail_msg: >-
      {{ fleet_report.fleet.clusters_failed }} cluster(s) failed,
      {{ fleet_report.fleet.clusters_error }} not validated
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - The report as text in the requested format.
    - For C(json), a document with C(title), C(fleet) (C(passed), C(clusters), C(clusters_passed),
      C(clusters_failed), C(clusters_error), C(clusters_skipped), C(checks), C(failed), C(drift),
      C(unchecked), C(excess), C(missing)), C(clusters) (the results as given) and, if given,
      C(generated_at). C(fleet.passed) is false when any cluster failed or could not be validated, and
      when there are no results at all.
  type: str
  sample: |
    # VMO RBAC validation report

    **FAILED**: 1 of 3 clusters passed; 1 not validated; 240 checks, 3 failed (1 excess, 1 missing),
    1 drift, 0 unchecked
"""

from ansible.errors import AnsibleFilterError

try:
    from ansible.module_utils.common.text.converters import to_text
except ImportError:  # pragma: no cover
    from ansible.module_utils._text import to_text

from ansible_collections.vmo.rbac.plugins.plugin_utils import report


def vmo_rbac_report(results, format="markdown", title=None, generated_at=None):  # pylint: disable=redefined-builtin
    """Render vmo_rbac_validate results; see DOCUMENTATION."""
    if title is not None:
        title = to_text(title)
    if generated_at is not None:
        generated_at = to_text(generated_at)
    try:
        return report.render(results, fmt=format, title=title, generated_at=generated_at)
    except report.ReportError as exc:
        raise AnsibleFilterError("vmo_rbac_report: argument '%s': %s" % (
            "_input (the results)" if exc.argument == "results" else exc.argument, exc.message))


class FilterModule(object):
    """vmo.rbac report filters."""

    def filters(self):
        return {"vmo_rbac_report": vmo_rbac_report}
