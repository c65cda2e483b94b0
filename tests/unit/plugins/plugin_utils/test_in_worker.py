"""A worker forked while another controller thread was writing Ansible's log (ANSIBLE_LOG_PATH): the log
file object's internal lock stays held in the worker, and the first record a library logs while a module
runs there (urllib3's warning before a retry) waited forever (the whole suite hung at -vvvv in
test_security.py::test_no_secret_in_any_output). in_worker.own_log_streams gives the worker's root file
handlers a file object of its own. The fork is real, in a process of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

SCRIPT = textwrap.dedent("""
    import io, logging, os, signal, sys, threading, time
    sys.path.insert(0, %(collections)r)
    from ansible_collections.vmo.rbac.plugins.plugin_utils import in_worker

    log = sys.argv[1]
    logging.basicConfig(filename=log, level=logging.INFO)  # as Ansible's display does with ANSIBLE_LOG_PATH
    handler = logging.getLogger().handlers[0]

    class Stuck(io.RawIOBase):  # a write that never returns while the buffer's lock is held
        def writable(self):
            return True
        def write(self, b):
            threading.Event().wait()

    handler.stream = io.TextIOWrapper(io.BufferedWriter(Stuck(), buffer_size=16))
    writer = threading.Thread(target=lambda: (handler.stream.write("x" * 100), handler.stream.flush()), daemon=True)
    writer.start()
    time.sleep(0.3)  # the controller thread is inside the write, holding the buffer's lock
    pid = os.fork()
    if pid == 0:  # the worker
        signal.alarm(5)
        if sys.argv[2] == "fixed":
            in_worker.own_log_streams()
        logging.getLogger("urllib3.connectionpool").warning("Retrying after connection broken")
        os._exit(0)
    _pid, status = os.waitpid(pid, 0)
    print("signal" if os.WIFSIGNALED(status) else "exit %%d" %% os.WEXITSTATUS(status))
    os._exit(0)
""") % {"collections": str(ROOT / ".build" / "collections")}


def run(tmp_path, mode):
    log = tmp_path / ("ansible-%s.log" % mode)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(log), mode], capture_output=True, text=True,
                          timeout=60, check=False)
    return proc.stdout.strip(), (log.read_text() if log.exists() else ""), proc.stderr


def test_a_worker_logs_although_the_controller_held_the_log_at_the_fork(tmp_path):
    outcome, _text, err = run(tmp_path, "as-inherited")
    assert outcome == "signal", (outcome, err)  # the deadlock: the worker waited until its alarm
    outcome, text, err = run(tmp_path, "fixed")
    assert outcome == "exit 0", (outcome, err)
    assert "Retrying after connection broken" in text
