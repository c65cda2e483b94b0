"""CPU probe for bench_fleet.py --breakdown (put this directory on PYTHONPATH, set VMO_CPU_PROBE).

Every Python process that starts with this directory on its path and the variable set appends one
JSON line to the file VMO_CPU_PROBE names when it exits normally: its kind (the ansible-playbook
main process, a module process), its own CPU seconds (user + system) and those of the children it
waited for. Ansible's forked workers leave with os._exit and write nothing: their CPU is what the
main process's children used minus the module processes; with VMO_CPU_PROBE_WORKERS set, each
worker also writes a line (task name, host, its CPU) as it ends.
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

        def _after_fork(_hook):
            _mu.Finalize(None, _worker_report, exitpriority=0)

        _mu.register_after_fork(_HOOK, _after_fork)
