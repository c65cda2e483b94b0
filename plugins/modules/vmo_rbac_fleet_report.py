#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmo_rbac_fleet_report
short_description: The vmo_rbac role's fleet report, once per run, on the controller
version_added: 0.2.0
description:
  - Used by the role P(vmo.rbac.vmo_rbac#role) as the last step of a run (with C(run_once)); not meant for
    other playbooks, which render reports with the P(vmo.rbac.vmo_rbac_report#filter) filter.
  - Reads each cluster's results as the role left them on its host (C(vmo_rbac_validation),
    C(vmo_rbac_enforce), C(vmo_rbac_failure), C(vmo_rbac_run)) for every host of the play, renders the
    fleet report once per format and writes the files on the controller.
  - A host of the play that has no result and is no longer active (a variable refused by the role's
    argument specification) is reported as failed before the role could check it.
  - Runs in Ansible's worker process on the controller, reading the hosts' variables as stored; a
    validation result (every access check) is large, and templating it in Jinja costs far more than
    rendering the report (docs/performance.md).
  - Writes the files in check mode too (they are output, not managed state) and never reports a change.
  - Flags hosts that reached the same API server (the same URL and CA, from the C(api_server) the modules
    return). Hosts of the same owner there enforced their declarations on one cluster, replacing each other's
    grants; each of them is reported as not validated, with the reason, and the role fails them (RV(same_api_server)).
    Hosts of other owners there keep their results, with a warning.
author:
  - vmo.rbac contributors (@vmo-rbac)
options:
  title:
    description: The report's title; with O(slice), the slice label is added to it.
    type: str
    default: VMO RBAC fleet report
  formats:
    description: The files to write in O(dest) (C(vmo-rbac-report.md), C(.html), C(.xml), C(.json)).
    type: list
    elements: str
    default: [markdown, html, junit]
    choices: [markdown, html, junit, json]
  dest:
    description:
      - The directory on the controller for the files (created if needed); empty writes no files.
      - A directory that cannot be created or written (a read-only or foreign-owned path in an execution
        environment) is a warning with the reason, never a failure; the files that could be written are in
        RV(files), the reason in RV(files_error). The report is output, and this task runs once for the
        whole play; failing it would fail every cluster after its run was made.
    type: str
    default: ""
  slice:
    description:
      - Which part of the fleet this run covers, for example V(2/3) or V(AWX job 1234 of workflow job 1230), when
        the fleet is split into slices (docs/fleet.md). Shown in the title of every format and in RV(fleet)
        (its C(slice)).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: The report files are written in check mode too.
  diff_mode:
    support: none
    description: Nothing to show before and after; the report is output.
  action:
    support: full
    description: The work is done on the controller by the action plugin of the same name (action only).
  bypass_host_loop:
    support: none
    description: Runs once per play (the role sets C(run_once)) and reads every host of the play.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
seealso:
  - plugin: vmo.rbac.vmo_rbac_report
    plugin_type: filter
notes:
  - Action only, the work is done on the controller by the action plugin of the same name.
"""

EXAMPLES = r"""
- name: Report | Print the fleet report and write its files
  vmo.rbac.vmo_rbac_fleet_report:
    title: "{{ vmo_rbac_report_title }}"
    formats: "{{ vmo_rbac_report_formats }}"
    dest: "{{ lookup('ansible.builtin.env', 'AWX_ISOLATED_DATA_DIR') or playbook_dir }}/vmo-rbac-reports"
  run_once: true
"""

RETURN = r"""
msg:
  description: The Markdown report, line by line (printed like a debug message).
  returned: always
  type: list
  elements: str
fleet:
  description:
    - The fleet summary (C(passed), C(clusters), C(clusters_passed), C(clusters_failed), C(clusters_error),
      C(checks), C(failed), C(drift), ...), as in the JSON report, and C(slice) when O(slice) is set.
    - C(same_api_server), only when hosts reached one API server, a list of C(url) and C(hosts).
  returned: always
  type: dict
  sample: {passed: true, clusters: 3, clusters_passed: 3, clusters_failed: 0, clusters_error: 0, checks: 2844}
same_api_server:
  description: The hosts that reached the same API server as another host of the same owner, each with the reason.
  returned: always
  type: dict
  sample: {east: "reaches the same API server as west, https://10.0.0.1:6443 (CA sha256:3f5a...), with the same owner ..."}
files:
  description: The files written.
  returned: always
  type: list
  elements: str
  sample: [/runner/artifacts/1234/vmo-rbac-reports/vmo-rbac-report.md]
files_error:
  description: Why some or all of the files could not be written in O(dest) (also shown as a warning).
  returned: when a file could not be written
  type: str
  sample: "cannot create the directory /var/lib/vmo-rbac/reports/1234: Permission denied"
"""
