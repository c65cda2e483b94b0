# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A light callback for the benchmarks: which actions ran on which host (skipped tasks do not
count), written as JSON to the file VMO_BENCH_COUNT names at the end of the run. Unlike a JSON
stdout callback it never serializes a result, so it costs the run next to nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: vmo_bench_count
type: aggregate
short_description: Count the actions that ran per host (benchmarks only)
description: Writes the actions of the tasks that ran (ok or failed) per host, as JSON, to the file VMO_BENCH_COUNT names.
"""

import json
import os
from collections import defaultdict

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "vmo_bench_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display)
        self.ran = defaultdict(list)

    def _ran(self, result):
        self.ran[result._host.get_name()].append(result._task.action)

    def v2_runner_on_ok(self, result, **kwargs):
        self._ran(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._ran(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("VMO_BENCH_COUNT")
        if path:
            with open(path, "w") as f:
                json.dump({"ran": self.ran, "failures": {h: stats.summarize(h)["failures"] for h in stats.processed}},
                          f)
