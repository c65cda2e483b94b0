"""The benchmarks' watch over a module run (tests/bench/common.py run_watched): a run that makes progress is
left to finish however long the machine's load makes it; a run that sends nothing for ``stall`` seconds is a hang
and is stopped, and so is one past its limit (scaled by the load)."""

from __future__ import annotations

import sys
import time

import pytest

from tests.bench import common


def sleeper(seconds):
    return [sys.executable, "-c", "import time; time.sleep(%s)" % seconds]


def test_a_run_that_makes_progress_finishes_past_the_stall_time():
    rc, wall, _usage = common.run_watched(sleeper(1.5), stall=0.5, timeout=30, progressed=lambda: True, poll=0.1)
    assert rc == 0 and wall >= 1.5


def test_a_run_that_sends_nothing_is_stopped_as_hung():
    t0 = time.monotonic()
    with pytest.raises(common.Hung) as err:
        common.run_watched(sleeper(60), stall=0.5, timeout=30, progressed=lambda: False, poll=0.1)
    assert "no request of its own" in str(err.value) and time.monotonic() - t0 < 10


def test_a_run_past_its_limit_is_stopped_even_when_it_makes_progress():
    with pytest.raises(common.Hung) as err:
        common.run_watched(sleeper(60), stall=0.5, timeout=1, progressed=lambda: True, poll=0.1)
    assert "still running after" in str(err.value)


def test_the_limit_scales_with_the_load_per_core():
    assert common.run_limit(600, load=0.5, cores=2) == 600
    assert common.run_limit(600, load=20, cores=2) == 6000
    assert common.run_limit(600, load=30, cores=2) == 9000


def test_progress_is_a_request_of_that_user_in_the_audit_log(tmp_path):
    log = tmp_path / "audit.log"
    log.write_text('{"user":{"username":"bench-a"}}\n')
    seen = common.requests_of(log, "bench-a")
    assert seen() is False  # what was there before does not count
    with open(log, "a") as fh:
        fh.write('{"user":{"username":"someone-else"}}\n')
    assert seen() is False
    with open(log, "a") as fh:
        fh.write('{"user":{"userna')
    assert seen() is False
    with open(log, "a") as fh:  # the needle split between two reads
        fh.write('me":"bench-a"}}\n')
    assert seen() is True and seen() is False
    with open(log, "a") as fh:  # a read that ends with the whole needle counts once, not at every call after it
        fh.write('{"user":{"username":"bench-a"')
    assert seen() is True and seen() is False


def test_a_module_s_max_rss_is_its_own_not_the_benchmark_s(tmp_path):
    """Linux keeps a process's max RSS across exec from the memory it had before: a child of a benchmark process
    grown to 300 MB (the audit events it parsed) reported 300 MB whatever it used. run_module_process starts the
    module from a small launcher and reports the module's own."""
    big = bytearray(300 * 1024 * 1024)
    for i in range(0, len(big), 4096):
        big[i] = 1
    modules = tmp_path / "plugins" / "modules"
    modules.mkdir(parents=True)
    (tmp_path / ".build" / "collections").mkdir(parents=True)
    (modules / "grows.py").write_text("b = bytearray(40 * 1024 * 1024)\nfor i in range(0, len(b), 4096):\n"
                                      "    b[i] = 1\nprint('{\"ok\": true}')\n")
    _wall, rss, _cpu, result = common.run_module_process(tmp_path, "grows", {}, timeout=120, stall=0)
    assert result == {"ok": True} and 40 <= rss < 150, rss
    del big
