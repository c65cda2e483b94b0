"""The tools users would pick instead of vmo_role_binding, run the way they would run them.

Shared by bench_enforce.py, bench_scaling.py and bench_fleet.py:

- the declaration of the benchmarks (4 personas: one cluster-wide binding each, plus one
  RoleBinding each in every bench namespace) and its manifests, rendered by the collection's
  own planning code (``declaration.from_module_args`` -> ``plan_scopes.resolve`` ->
  ``plan_codec.binding_to_api``): the objects the peers apply are exactly the ones the module
  creates (same names, labels, annotations, roleRef and subjects);
- one ansible-playbook run of vmo_role_binding; a ``kubernetes.core.k8s`` loop over the
  manifests (kubernetes.core from the ``ansible`` package in .venv's site-packages); one
  ``kubectl apply --server-side -f`` of the same manifest as one multi-document file;
- request counting per tool: every tool runs as a client-certificate identity of its own
  (``bench-vmo``, ``bench-kcore``, ``bench-kubectl``), so the audit log tells their requests
  apart by user name whatever user agent a library sends, and the user agents are reported;
- state: deleting the bench bindings between first runs, and counting the objects a run
  really changed (resourceVersion before/after), which tells a no-op write from a real one.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sysconfig
import time
from collections import Counter
from pathlib import Path

import yaml
from kubernetes.client.rest import ApiException

from tests.bench.common import KUBECTL, run_playbook
from tests.helpers.ansible import COLLECTIONS
from tests.helpers.kube import AuditWindow

from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration as decls
from ansible_collections.vmo.rbac.plugins.module_utils._core import options, plan_codec, plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._flows import enforce

OWNER = "bench"
PERSONAS = ("admin", "power-user", "user", "viewer")
TOOLS = ("vmo_role_binding", "kubernetes.core.k8s loop", "kubectl apply --server-side")
TOOL_USERS = {"vmo_role_binding": "bench-vmo", "kubernetes.core.k8s loop": "bench-kcore",
              "kubectl apply --server-side": "bench-kubectl", "kubernetes.core.k8s list": "bench-kcore"}
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])


def namespaces_for(bindings: int) -> int:
    """Namespaces that give ``bindings`` bindings: 4 cluster-wide + 4 per namespace."""
    if (bindings - len(PERSONAS)) % len(PERSONAS):
        raise ValueError("bindings must be 4 + 4 x namespaces, not %d" % bindings)
    return (bindings - len(PERSONAS)) // len(PERSONAS)


def namespace_names(count: int, prefix: str = "bench-ns") -> list[str]:
    return ["%s-%04d" % (prefix, i) for i in range(1, count + 1)]


def declaration(namespaces: list[str]) -> list[dict]:
    """4 personas: each cluster-wide for one group, and in every namespace for another."""
    out = [{"persona": p, "groups": ["bench-%s-everywhere" % p]} for p in PERSONAS]
    out += [{"persona": p, "groups": ["bench-%s" % p], "users": ["%s@bench.example" % p],
             "namespaces": list(namespaces)} for p in PERSONAS]
    return out


def module_params(identity, namespaces: list[str]) -> dict:
    return dict(identity.params, owner=OWNER, bindings=declaration(namespaces))


def render_manifests(namespaces: list[str]) -> list[dict]:
    """The API objects vmo_role_binding creates for this declaration, from its own planning code."""
    decl = decls.from_module_args({"bindings": declaration(namespaces), "owner": OWNER})
    desired = plan_scopes.resolve(decl, {ns: {} for ns in namespaces}, set())
    return [plan_codec.binding_to_api(b) for _key, b in sorted(desired.items())]


def write_manifest(manifests: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    return path


def timed(fn, *args, **kwargs):
    """(wall seconds, (cpu seconds of the child processes, fn's result)).

    CPU time (user + system) of every child process that ran and was waited for, children
    of children included (ansible-playbook's workers, the module processes): unlike wall
    time it hardly depends on what else the machine runs."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, out)


# ------------------------------------------------------------------------ environment


def kcore_env() -> dict:
    """kubernetes.core is found next to vmo.rbac: the ``ansible`` package's collections dir."""
    if not (SITE_PACKAGES / "ansible_collections" / "kubernetes" / "core").is_dir():
        raise SystemExit("bench: kubernetes.core is missing from %s; install the bench requirements "
                         "(make bench does: pip install -c tests/constraints.txt -c tests/constraints-bench.txt "
                         "-r tests/requirements-bench.txt)" % SITE_PACKAGES)
    return {"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(COLLECTIONS), str(SITE_PACKAGES)])}


def kcore_version() -> str:
    manifest = SITE_PACKAGES / "ansible_collections" / "kubernetes" / "core" / "MANIFEST.json"
    import json

    return json.loads(manifest.read_text())["collection_info"]["version"]


def mem_available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    import platform

    from ansible.release import __version__ as core_version

    kver = subprocess.run([str(KUBECTL), "version", "--client", "-o", "yaml"], capture_output=True, text=True)
    kubectl_version = (yaml.safe_load(kver.stdout) or {}).get("clientVersion", {}).get("gitVersion", "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "ansible_core": core_version,
            "kubernetes_core": kcore_version(), "kubectl": kubectl_version,
            "load_average_start": load_average()}


# ------------------------------------------------------------------------ counting


def requests_of(window: AuditWindow, user: str) -> dict:
    """Requests one tool's identity made since the window opened: reads, writes, user agents, verbs."""
    events = window.events(user=user)
    writes = [e for e in events if AuditWindow.is_write(e)]
    agents = Counter(e.get("userAgent") or "?" for e in events)
    verbs = Counter("%s %s" % (e["verb"], (e.get("objectRef") or {}).get("resource", "")) for e in events)
    return {"reads": len(events) - len(writes), "writes": len(writes), "total": len(events),
            "user_agents": dict(agents), "verbs": dict(verbs)}


def versions(cluster) -> dict:
    """{(kind, namespace, name): resourceVersion} of the bench owner's bindings."""
    return {k: v["metadata"]["resourceVersion"] for k, v in cluster.bindings(owner=OWNER).items()}


def changed_objects(before: dict, after: dict) -> int:
    return sum(1 for k in set(before) | set(after) if before.get(k) != after.get(k))


def reset(cluster, namespaces: list[str], timeout: float = 120.0):
    """Delete the bench owner's bindings (so that the next run really creates them)."""
    rbac = cluster.rbac()
    sel = plan_codec.owner_selector(OWNER)
    rbac.delete_collection_cluster_role_binding(label_selector=sel)
    for ns in namespaces:
        try:
            rbac.delete_collection_namespaced_role_binding(ns, label_selector=sel)
        except ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + timeout
    while cluster.bindings(owner=OWNER):
        if time.monotonic() > deadline:
            raise RuntimeError("bench bindings still there after %ss" % timeout)
        time.sleep(0.2)


# ------------------------------------------------------------------------- the tools


def run_vmo(identity, namespaces, check=False, timeout=3600, execution="worker"):
    """One ansible-playbook run with one vmo_role_binding task. Returns (seconds, result).

    ``execution``: where the module's work runs (``vmo_rbac_execution``): ``worker`` (the default
    with connection local: in Ansible's worker process) or ``module`` (a module process)."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "bench", "vmo.rbac.vmo_role_binding": module_params(identity, namespaces)}]}]
    seconds, (cpu, run) = timed(run_playbook, play, check=check, timeout=timeout,
                                extra_vars={"vmo_rbac_execution": execution})
    if run.rc != 0 or not run.results:
        raise RuntimeError("vmo_role_binding failed (rc=%s): %s" % (run.rc, (run.stdout + run.stderr)[-3000:]))
    return seconds, dict(run.results[-1]["result"], _cpu=cpu)


def _kcore_args(identity):
    p = identity.params
    return {"host": p["host"], "ca_cert": p["ca_cert"], "client_cert": p["client_cert"],
            "client_key": p["client_key"], "state": "present"}


def run_kcore_loop(identity, manifests, timeout=7200):
    """One ansible-playbook run: a kubernetes.core.k8s task looped over the manifests.

    Returns (seconds, {"changed": n, "items": n})."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "bench", "kubernetes.core.k8s": dict(_kcore_args(identity), definition="{{ item }}"),
                        "loop": "{{ bench_manifests }}",
                        "loop_control": {"label": "{{ item.kind }} {{ item.metadata.namespace | default('') }}/"
                                                  "{{ item.metadata.name }}"}}]}]
    seconds, (cpu, run) = timed(run_playbook, play, extra_vars={"bench_manifests": manifests}, env=kcore_env(),
                                timeout=timeout)
    if run.rc != 0 or not run.results:
        raise RuntimeError("kubernetes.core.k8s loop failed (rc=%s): %s" % (run.rc, (run.stdout + run.stderr)[-3000:]))
    items = run.results[-1]["result"].get("results") or []
    return seconds, {"items": len(items), "changed": sum(1 for i in items if i.get("changed")), "_cpu": cpu}


def run_kcore_list(identity, manifests, timeout=7200):
    """One kubernetes.core.k8s task given every manifest at once (``definition`` as a list)."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "bench",
                        "kubernetes.core.k8s": dict(_kcore_args(identity), definition="{{ bench_manifests }}")}]}]
    seconds, (cpu, run) = timed(run_playbook, play, extra_vars={"bench_manifests": manifests}, env=kcore_env(),
                                timeout=timeout)
    if run.rc != 0 or not run.results:
        raise RuntimeError("kubernetes.core.k8s (list) failed (rc=%s): %s"
                           % (run.rc, (run.stdout + run.stderr)[-3000:]))
    res = run.results[-1]["result"]
    return seconds, {"changed": bool(res.get("changed")), "_cpu": cpu}


def run_kubectl_apply(identity, manifest: Path, timeout=3600):
    """``kubectl apply --server-side -f <one multi-doc file>``: wall time of the kubectl process."""
    cmd = [str(KUBECTL), "--kubeconfig", str(identity.kubeconfig), "apply", "--server-side",
           "--field-manager", "bench-kubectl", "-f", str(manifest)]
    seconds, (cpu, proc) = timed(subprocess.run, cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError("kubectl apply failed: %s" % proc.stderr[-3000:])
    return seconds, {"items": len(proc.stdout.splitlines()), "_cpu": cpu}


def inprocess_enforce(identity, namespaces, check_mode=True):
    """vmo_role_binding's work without Ansible around it: declaration, options, a Cluster, enforce.run.

    What the module does between AnsibleModule() and exit_json(), in this process (the
    imports are already done). Returns (seconds, result)."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster

    params = dict(module_params(identity, namespaces), request_timeout=30.0, api_retries=5, state="present",
                  require_roles=True, purge=False, wait_for_roles=0)
    t0 = time.perf_counter()
    decl = decls.from_module_args(params)
    opts = options.parse(params, decl)
    cluster = Cluster(dict(identity.params, request_timeout=30.0, api_retries=5), component="bench-inprocess")
    result = enforce.run(decl, opts, cluster, check_mode=check_mode)
    return time.perf_counter() - t0, result


def module_process(identity, namespaces, reps=3, workdir=None):
    """The vmo_role_binding module process alone, as Ansible starts it on the target.

    ansible-playbook builds the module's AnsiballZ payload (kept with ANSIBLE_KEEP_REMOTE_FILES);
    that file is then run ``reps`` times with the same Python, which is the module invocation
    without ansible-playbook around it. Returns {"wall": [...], "cpu": [...]}."""
    import glob
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vmo-azk-", dir=workdir) as tmp:
        play = [{"hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": "bench", "vmo.rbac.vmo_role_binding": module_params(identity, namespaces)}]}]
        # a module process (vmo_rbac_execution: module), so that Ansible writes its AnsiballZ payload
        run = run_playbook(play, env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": tmp},
                           extra_vars={"vmo_rbac_execution": "module"})
        if run.rc != 0:
            raise RuntimeError("module_process: %s" % (run.stdout + run.stderr)[-2000:])
        payload = glob.glob(os.path.join(tmp, "**", "AnsiballZ_vmo_role_binding.py"), recursive=True)[0]
        import sys

        walls, cpus = [], []
        for _ in range(reps):
            wall, (cpu, proc) = timed(subprocess.run, [sys.executable, payload], capture_output=True, text=True,
                                      cwd=os.path.dirname(payload), check=False)
            if proc.returncode != 0 or '"changed": false' not in proc.stdout:
                raise RuntimeError("module_process: %s" % (proc.stdout + proc.stderr)[-2000:])
            walls.append(wall)
            cpus.append(cpu)
    return {"wall": walls, "cpu": cpus}
