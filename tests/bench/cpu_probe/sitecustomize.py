"""CPU probe for bench_fleet.py --breakdown (put this directory on PYTHONPATH, set VMO_CPU_PROBE).

Every Python process that starts with this directory on its path and the variable set appends one
JSON line to the file VMO_CPU_PROBE names when it exits normally: its kind (the ansible-playbook
main process, a module process), its own CPU seconds (user + system) and those of the children it
waited for. Ansible's forked workers leave with os._exit and write nothing: their CPU is what the
main process's children used minus the module processes; with VMO_CPU_PROBE_WORKERS set, each
worker also writes a line (task name, host, its CPU) as it ends. With VMO_CPU_PROFILE set to a
directory, the main process and each worker are profiled (cProfile, timed by the process's CPU clock,
so that waiting for the network costs nothing) into ``playbook-PID.prof`` and ``worker-PID-TASK.prof``.
"""

import os
import sys

if os.environ.get("VMO_CPU_PROBE"):
    import atexit
    import json
    import resource
    import time

    _T0 = time.monotonic()

    def _kind():
        argv0 = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        if argv0 == "ansible-playbook":
            return "playbook"
        if argv0.startswith("AnsiballZ_"):
            return "module:" + argv0[len("AnsiballZ_"):-3]
        return None

    _KIND = _kind()
    _PID = os.getpid()

    def _report():
        if os.getpid() != _PID:
            return
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = json.dumps({"kind": _KIND, "pid": _PID, "self": me.ru_utime + me.ru_stime,
                           "children": kids.ru_utime + kids.ru_stime, "wall": time.monotonic() - _T0})
        with open(os.environ["VMO_CPU_PROBE"], "a") as f:
            f.write(line + "\n")

    if _KIND:
        atexit.register(_report)

    _PROFILE_DIR = os.environ.get("VMO_CPU_PROFILE")
    _PROFILER = [None]

    def _start_profile():
        import cProfile

        _PROFILER[0] = cProfile.Profile(time.process_time)
        _PROFILER[0].enable()

    def _dump_profile(name):
        prof = _PROFILER[0]
        if prof is not None:
            prof.disable()
            prof.dump_stats(os.path.join(_PROFILE_DIR, name))

    if _KIND == "playbook" and _PROFILE_DIR:
        _start_profile()
        atexit.register(lambda: os.getpid() == _PID and _dump_profile("playbook-%d.prof" % _PID))

    if _KIND == "playbook" and os.environ.get("VMO_CPU_PROBE_WORKERS"):
        import multiprocessing
        import multiprocessing.util as _mu

        class _Hook(object):
            pass

        _HOOK = _Hook()

        def _worker_report():
            proc = multiprocessing.current_process()
            task, host = getattr(proc, "_task", None), getattr(proc, "_host", None)
            me = resource.getrusage(resource.RUSAGE_SELF)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            line = json.dumps({"kind": "worker", "task": task.get_name() if task is not None else None,
                               "action": getattr(task, "action", None), "host": str(host),
                               "self": me.ru_utime + me.ru_stime, "children": kids.ru_utime + kids.ru_stime})
            with open(os.environ["VMO_CPU_PROBE"], "a") as f:
                f.write(line + "\n")
            if _PROFILE_DIR:
                import re

                _dump_profile("worker-%d-%s.prof" % (os.getpid(), re.sub(r"[^A-Za-z0-9]+", "_", str(
                    task.get_name() if task is not None else None))[:60]))

        def _after_fork(_hook):
            if _PROFILE_DIR:
                if _PROFILER[0] is not None:
                    _PROFILER[0].disable()  # the main process's, inherited by the fork
                _start_profile()
            _mu.Finalize(None, _worker_report, exitpriority=0)

        _mu.register_after_fork(_HOOK, _after_fork)
