"""tests/tools/lane.sh, which runs the lanes of `make test`: in a parallel lane the steps really run at
once, every step runs to its end, each step's output is printed whole, and every failed step is named."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANE = ROOT / "tests" / "tools" / "lane.sh"

# Step "waits" ends only once step "signals" has run: one after the other, the lane would time out.
MAKEFILE = """\
waits:
\t@echo waits-begins; for i in $$(seq 300); do [ -f signalled ] && break; sleep 0.1; done; \\
\t  [ -f signalled ] && echo waits-saw-the-signal
signals:
\t@echo signals-begins; sleep 0.5; touch signalled; echo signals-ends
fails:
\t@echo fails-says-why; exit 3
"""


def lane(tmp_path, mode, *steps):
    (tmp_path / "Makefile").write_text(MAKEFILE)
    return subprocess.run([str(LANE), "demo", mode, *steps], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "MAKE": "make"}, check=False)


def test_a_parallel_lane_runs_its_steps_at_once_and_names_every_failure(tmp_path):
    out = lane(tmp_path, "parallel", "waits", "signals", "fails")
    assert out.returncode == 1, out
    assert "waits-saw-the-signal" in out.stdout, out.stdout
    assert "make test: demo lane FAILED: fails" in out.stderr, out.stderr
    # each step's output whole, between its ==> and <== lines, never interleaved with another's
    for step, lines in (("waits", ["waits-begins", "waits-saw-the-signal"]),
                        ("signals", ["signals-begins", "signals-ends"]), ("fails", ["fails-says-why"])):
        text = out.stdout.split("==> make %s\n" % step, 1)[1].split("<== make %s: " % step, 1)[0]
        got = [ln for ln in text.splitlines() if ln]
        assert got[:len(lines)] == lines and all(ln.startswith("make: ***") for ln in got[len(lines):]), (step, got)
    assert "<== make fails: " in out.stdout and ", FAILED" in out.stdout.split("<== make fails: ")[1].splitlines()[0]
    assert (tmp_path / ".build" / "lanes" / "waits.log").read_text().startswith("waits-begins")
    assert "<== demo lane: " in out.stdout and "load average" in out.stdout


def test_a_serial_lane_runs_one_step_after_the_other(tmp_path):
    (tmp_path / "signalled").unlink(missing_ok=True)
    out = lane(tmp_path, "serial", "signals", "waits")
    assert out.returncode == 0, out
    assert out.stdout.index("signals-ends") < out.stdout.index("waits-begins")
    assert out.stdout.rstrip().endswith("make test: demo lane green")


def test_a_green_parallel_lane_is_green(tmp_path):
    out = lane(tmp_path, "parallel", "signals", "waits")
    assert out.returncode == 0, out
    assert "FAILED" not in out.stdout + out.stderr


BURNS = "burns:\n\t@awk 'BEGIN { for (i = 0; i < 100000000; i++) s += i; print \"burnt\" }'\n"


@pytest.mark.parametrize("mode", ["parallel", "serial"])
def test_a_step_s_cpu_time_is_counted(tmp_path, mode):
    """The CPU time of a step's processes is measured (once, `times` ran in a subshell and said 0)."""
    (tmp_path / "Makefile").write_text(MAKEFILE + BURNS)
    out = subprocess.run([str(LANE), "demo", mode, "burns"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin", "MAKE": "make"}, check=False)
    assert out.returncode == 0, out
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("<== make burns: ")][0]
    cpu = int(line.split("(CPU ", 1)[1].split("s", 1)[0])
    assert cpu >= 1, line
    lane_cpu = int(out.stdout.split("<== demo lane: ", 1)[1].split("(CPU ", 1)[1].split("s", 1)[0])
    assert lane_cpu >= cpu, out.stdout


PYTEST_LIKE = """\
pytest-like:
\t@echo '....F.E'; echo 'FAILED tests/test_x.py::test_one - AssertionError: the reason'; \\
\t  echo 'ERROR tests/test_y.py::test_two - TimeoutExpired'; echo 'noise after it'; \\
\t  echo '============ 1 failed, 1 error, 5 passed in 12.5s ============'; exit 1
"""


@pytest.mark.parametrize("mode", ["parallel", "serial"])
def test_a_failed_lane_ends_with_what_failed_in_each_step(tmp_path, mode):
    """A CI log is read from its tail: the failed tests are repeated after every step's output."""
    (tmp_path / "Makefile").write_text(MAKEFILE + PYTEST_LIKE)
    out = subprocess.run([str(LANE), "demo", mode, "pytest-like", "signals"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "MAKE": "make"}, check=False)
    assert out.returncode == 1, out
    tail = out.stdout.split("<== demo lane: ", 1)[1]
    digest = tail.split("==> what failed in make pytest-like", 1)[1]
    assert "FAILED tests/test_x.py::test_one - AssertionError: the reason" in digest, tail
    assert "ERROR tests/test_y.py::test_two - TimeoutExpired" in digest, tail
    assert "1 failed, 1 error, 5 passed in 12.5s" in digest, tail
    assert "noise after it" not in digest and "what failed in make signals" not in tail, tail
