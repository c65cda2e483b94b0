# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON stdout callback for the tests (the shape of ansible.posix.json).

ansible-core ships no JSON stdout callback (``ansible.builtin.json`` does not exist and
ansible.posix is not a test dependency), so tests/helpers/ansible.py loads this one from
ANSIBLE_CALLBACK_PLUGINS. Output: {"plays": [{"play": {...}, "tasks": [{"task": {...},
"hosts": {host: result}}]}], "stats": {...}}.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: vmo_json
type: stdout
short_description: Ansible screen output as JSON (tests only)
description: Prints the results of a playbook run as one JSON document at the end.
"""

import json

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase


def _result(res):
    r = getattr(res, "result", None)  # ansible-core >= 2.19
    if r is None:
        r = res._result
    return dict(r)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "vmo_json"

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display)
        self.results = []

    def v2_playbook_on_play_start(self, play):
        self.results.append({"play": {"name": play.get_name(), "id": str(play._uuid)}, "tasks": []})

    def _task_start(self, task):
        self.results[-1]["tasks"].append({"task": {"name": task.get_name(), "id": str(task._uuid)}, "hosts": {}})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task)

    def _record(self, res, **extra):
        out = _result(res)
        out["action"] = res._task.action
        out.update(extra)
        self.results[-1]["tasks"][-1]["hosts"][res._host.get_name()] = out

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.results, "stats": summary},
                                         cls=AnsibleJSONEncoder, indent=2, sort_keys=True))
