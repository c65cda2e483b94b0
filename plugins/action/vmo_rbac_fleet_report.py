# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report of the vmo_rbac role, once per run, on the controller (documentation:
plugins/modules/vmo_rbac_fleet_report.py).

Python rather than Jinja on purpose: a validation result is about 0.5 MB (every access check),
and ansible-core's templating of one such value costs 0.4 to 0.8 s of CPU, per host and per use.
Here each cluster's result is read once from the host's variables as stored (no templating),
every format is rendered once, and the files are written directly: the report's cost is the
rendering, not Ansible's handling of the data (docs/performance.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.vmo.rbac.plugins.module_utils._core import access_rows
from ansible_collections.vmo.rbac.plugins.module_utils._core import specs
from ansible_collections.vmo.rbac.plugins.plugin_utils import report
from ansible_collections.vmo.rbac.plugins.plugin_utils.report import model

# one file per format of specs.REPORT_FORMATS
FILES = {"markdown": "vmo-rbac-report.md", "html": "vmo-rbac-report.html", "junit": "vmo-rbac-report.xml",
         "json": "vmo-rbac-report.json"}
# Keys of a validation result that the fleet report does not carry (the module's own bookkeeping;
# ``cluster`` becomes ``endpoint``: the report's cluster is the inventory name).
DROPPED = ("invocation", "changed", "failed", "cluster")
NOT_CHECKED = "failed before the vmo_rbac role could check it (see this host in the play output)"


def cluster_result(host, variables):
    """What the report shows for one host, from the role's per-host results (docs/role.md); None
    for a host the role has no result for (a step skipped by --tags, a later serial batch)."""
    failure = variables.get("vmo_rbac_failure") or {}
    if failure:
        return {"cluster": host, "failed": True,
                "msg": "%s failed: %s" % (to_text(failure.get("step")), to_text(failure.get("msg")))}
    validation = variables.get("vmo_rbac_validation") or {}
    if "passed" not in validation:
        return None
    run = variables.get("vmo_rbac_run") or {}
    enforce = variables.get("vmo_rbac_enforce") or {}
    out = dict((k, v) for k, v in validation.items() if k not in DROPPED)
    try:  # the role registers the access rows as one JSON text (access_format json): the report reads them once
        out = access_rows.expand(out)
    except access_rows.BadForm as exc:
        return {"cluster": host, "failed": True, "msg": "validate: its result cannot be read: %s" % exc}
    out.update(cluster=host, endpoint=validation.get("cluster"), mode=run.get("mode"),
               check_mode=run.get("check_mode"),
               enforce={"changed": enforce.get("changed"), "summary": enforce.get("summary"),
                        "actions": enforce.get("actions") or []} if "summary" in enforce else {})
    return out


def reached(variables):
    """(the ``api_server`` record, the owner) of a host's validation or enforce result, or (None, None)."""
    for key in ("vmo_rbac_validation", "vmo_rbac_enforce"):
        result = variables.get(key) or {}
        record = result.get("api_server") if isinstance(result, dict) else None
        if isinstance(record, dict) and record.get("id"):
            return record, result.get("owner")
    return None, None


def shared_api_servers(hosts, raw_vars):
    """The API servers that more than one host reached: [{"url", "ca", "hosts", "owners"}], in the
    order of the hosts (``owners``: {host: owner})."""
    groups, order = {}, []
    for host in hosts:
        record, owner = reached(raw_vars(host))
        if record is None:
            continue
        if record["id"] not in groups:
            groups[record["id"]] = {"url": to_text(record.get("url")), "ca": to_text(record.get("ca")), "hosts": [],
                                    "owners": {}}
            order.append(record["id"])
        groups[record["id"]]["hosts"].append(host)
        groups[record["id"]]["owners"][host] = to_text(owner) if owner is not None else None
    return [groups[i] for i in order if len(groups[i]["hosts"]) > 1]


def _others(group, host):
    return ", ".join(h for h in group["hosts"] if h != host)


def shared_problems(groups):
    """({host: why its result is not about a cluster of its own}, {host: warning}) of the hosts that share an
    API server: with another host of the same owner (or an unknown one), the declarations replaced each
    other on one cluster (a purge deletes the other's grants): the host's result is refused; with other
    owners only, their grants coexist there, and the host's result gets a warning."""
    refused, warned = {}, {}
    for g in groups:
        where = "%s (CA %s)" % (g["url"], g["ca"])
        for host in g["hosts"]:
            owner = g["owners"][host]
            same = [h for h in g["hosts"] if h != host and (owner is None or g["owners"][h] in (owner, None))]
            if same:
                refused[host] = (
                    "reaches the same API server as %s, %s, with the same owner %s: their declarations were enforced "
                    "on that one cluster and replace each other (a purge deletes the other's grants), so this result "
                    "is not about a cluster of its own. Give each host its own connection (a context, a kubeconfig, or "
                    "host and credential; with AWX's Kubernetes credential, one cluster per job: docs/awx.md)"
                    % (", ".join(same), where, repr(owner) if owner is not None else "(unknown)"))
            else:
                warned[host] = ("this host reaches the same API server as %s, %s, with other owners (%s): their grants "
                                "coexist there, and their results are about one cluster" % (
                                    _others(g, host), where,
                                    ", ".join("%s: %s" % (h, g["owners"][h]) for h in g["hosts"] if h != host)))
    return refused, warned


def fleet_results(play_hosts_all, play_hosts, raw_vars, refused=None, warned=None):
    """Every host of the play with a result, plus the hosts that failed before they had one (a
    variable refused by the role's argument specification); ``raw_vars(host)``: its variables.
    ``refused`` / ``warned`` (shared_problems): a host whose result is refused becomes a cluster that
    could not be validated, with the reason; a warning joins the host's result's warnings."""
    refused, warned = refused or {}, warned or {}
    out = []
    for host in play_hosts_all:
        result = cluster_result(host, raw_vars(host))
        if host in refused and result is not None:
            record, _owner = reached(raw_vars(host))
            result = {"cluster": host, "failed": True, "msg": refused[host], "api_server": record}
        elif host in warned and result is not None and not result.get("failed"):
            result = dict(result, warnings=list(result.get("warnings") or []) + [warned[host]])
        if result is not None:
            out.append(result)
        elif host not in play_hosts:
            out.append({"cluster": host, "failed": True, "msg": NOT_CHECKED})
    return out


def write(path, text):
    """Write ``text`` to ``path`` (mode 0644) through a temporary file, so a reader never sees half a report."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".vmo-rbac-report-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_files(dest, rendered):
    """Write each (format, text) of ``rendered`` into the directory ``dest`` (created if needed).

    Returns (paths written, None) or (paths written, why the others could not be): a directory that
    cannot be created or written (an execution environment's read-only or foreign-owned path) is the
    caller's warning, never an exception. Every format is tried, so one bad file name (a directory
    in the way) does not cost the others."""
    if not dest or not rendered:
        return [], None
    control = sorted(set(c for c in dest if ord(c) < 0x20 or ord(c) == 0x7f))
    if control:
        # a NUL made os.makedirs raise ValueError ("embedded null byte"), which failed the run_once task, and so
        # the play for every host, after the writes; a line break would make a directory nobody meant
        return [], "the path %s contains the control character%s %s" % (
            ascii(dest), "s" if len(control) > 1 else "", ", ".join("U+%04X" % ord(c) for c in control))
    try:
        os.makedirs(dest, mode=0o755, exist_ok=True)
    except (OSError, ValueError) as exc:
        return [], "cannot create the directory %s: %s" % (dest, getattr(exc, "strerror", None) or exc)
    files, failed, reasons = [], [], []
    for fmt, text in rendered:
        path = os.path.join(dest, FILES[fmt])
        try:
            write(path, text)
        except OSError as exc:
            failed.append(FILES[fmt])
            reason = exc.strerror or str(exc)
            if reason not in reasons:
                reasons.append(reason)
            continue
        files.append(path)
    if failed:
        return files, "cannot write %s in %s: %s" % (", ".join(failed), dest, "; ".join(reasons))
    return files, None


class ActionModule(ActionBase):

    _supports_check_mode = True  # the report is output, not managed state: written under --check too
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        for name in ("title", "dest", "slice"):  # as written: the argument spec would turn a list into its text
            value = self._task.args.get(name)
            if value is not None and not isinstance(value, str):
                kind = "list" if isinstance(value, (list, tuple)) else "mapping" if isinstance(value, dict) else \
                    "number" if isinstance(value, (int, float)) else type(value).__name__
                raise AnsibleActionFail("vmo.rbac fleet report: %s: must be a string, not a %s" % (name, kind))
        _validation, args = self.validate_argument_spec(specs.FLEET_REPORT_ARG_SPEC)
        hostvars = task_vars["hostvars"]
        play_hosts_all = task_vars.get("ansible_play_hosts_all") or []
        shared = shared_api_servers(play_hosts_all, hostvars.raw_get)
        refused, warned = shared_problems(shared)
        results = fleet_results(play_hosts_all, task_vars.get("ansible_play_hosts") or [], hostvars.raw_get,
                                refused, warned)
        title = args["title"] + (" (%s)" % args["slice"] if args["slice"] else "")
        try:
            prepared = model.prepare(results)  # each result expanded and normalized once, for every format
            markdown = report.render(prepared, "markdown", title=title)
            fleet = model.fleet(prepared.norm)
            rendered = [(fmt, markdown if fmt == "markdown" else report.render(prepared, fmt, title=title))
                        for fmt in args["formats"]] if args["dest"] else []
        except model.ReportError as exc:
            raise AnsibleActionFail("vmo.rbac fleet report: %s" % exc)
        files, problem = write_files(args["dest"], rendered)
        if problem:
            # The report is output, not the job's purpose: the run has made its writes and proven its
            # access by now, and a failed run_once task would fail the play for every host. The
            # Markdown report is printed below and its summary exported with set_stats anyway.
            result["warnings"] = ["vmo.rbac fleet report: dest: %s; the report printed in this task's output is "
                                  "complete (set vmo_rbac_report_dir to a writable directory, or to '' for no "
                                  "files)" % problem]
        if args["slice"]:
            fleet["slice"] = args["slice"]
        if shared:  # only then: a fleet of distinct clusters has no such key
            fleet["same_api_server"] = [{"url": g["url"], "hosts": g["hosts"]} for g in shared]
        result.update(changed=False, msg=markdown.splitlines(), fleet=fleet, files=files,
                      same_api_server=refused, _ansible_verbose_always=True)
        if problem:
            result["files_error"] = problem
        return result
