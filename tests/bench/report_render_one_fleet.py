#!/usr/bin/env python3
"""The fleet report's rendering in-process, as vmo_rbac_fleet_report makes it (the Markdown output, the fleet
counts, the JSON file), for 8 results in the compact form (access_json) of 4,512 rows each (the rows' shape,
every check passed): the way before (each result normalized for each of the three, ``json.dumps`` with an
indent) and now (``model.prepare`` once, ``json_format.dumps``), checking that both give the same bytes; CPU
per host of each, twice, alternating. Needs this checkout's .build/collections (make collection).

    PYTHONPATH=.build/collections .venv/bin/python tests/bench/report_render_one_fleet.py
"""
import json
import time

from ansible_collections.vmo.rbac.plugins.plugin_utils import report
from ansible_collections.vmo.rbac.plugins.plugin_utils.report import json_format, model

HOSTS = 8


def rows(host):
    return [{"subject": "Group g%d-%s" % (i % 12, host), "subject_kind": "Group", "subject_name": "g%d" % (i % 12),
             "as_user": "u", "as_groups": ["g%d" % (i % 12), "system:authenticated"], "personas": ["viewer"],
             "capability": "cap%d" % (i % 96), "verb": "get", "group": "kubevirt.io", "resource": "virtualmachines",
             "subresource": "", "namespace": "ns%d" % (i % 6), "scope": "namespace", "expected": True,
             "allowed": True, "ok": True, "reason": ""} for i in range(4512)]


RESULTS = [{"cluster": "h%d" % h, "passed": True, "changed": False,
            "summary": {"checks": 4512, "failed": 0, "drift": 0, "unchecked": 0},
            "access": [], "access_json": json.dumps(rows(h))} for h in range(HOSTS)]


def before():
    markdown = report.render(RESULTS, "markdown", title="t")
    model.fleet([model.normalize(i, hint, r) for i, (hint, r) in enumerate(model.unwrap(RESULTS))])
    pairs = model.unwrap(RESULTS)
    doc = {"title": "t", "fleet": model.fleet([model.normalize(i, hint, r) for i, (hint, r) in enumerate(pairs)]),
           "clusters": [r for _hint, r in pairs]}
    return markdown, json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False,
                                default=json_format._json_default, separators=(",", ": ")) + "\n"  # pylint: disable=protected-access


def now():
    prepared = model.prepare(RESULTS)
    markdown = report.render(prepared, "markdown", title="t")
    model.fleet(prepared.norm)
    return markdown, report.render(prepared, "json", title="t")


if __name__ == "__main__":
    assert before() == now()
    for fn in (before, now, before, now):
        t0 = time.process_time()
        fn()
        print("%-6s %.3f CPU-s per host" % (fn.__name__, (time.process_time() - t0) / HOSTS))
