#!/usr/bin/env python3
"""`make demo`: the collection's main job, end to end, against local clusters.

Run after `make cluster-up` (the Makefile's demo target does both). It points the example
inventory (examples/inventory: three clusters, a fleet baseline in group_vars, per-cluster
additions in host_vars) at three running local clusters and then does what a user does:

1. installs the reference spectro-vm-* roles on each cluster where they are missing (a VMO
   cluster gets them from the VMO pack; these local clusters are plain Kubernetes);
2. creates the namespaces the example grants refer to (team-a, team-b, web-app-*, ...);
3. runs `ansible-playbook vmo.rbac.enforce` over the example inventory, then
   `ansible-playbook vmo.rbac.validate` (read-only; non-zero on drift);
4. prints the fleet report and the path of the HTML access matrix, and says whether the
   enforce run changed anything. A second `make demo` reports no changes.

The example inventory names its clusters prod-east, prod-west and dev-lab and reaches them
through kubeconfig contexts of those names. The demo writes .build/demo/kubeconfig, whose
contexts of those names lead to the local clusters, and hands it to the playbooks as
K8S_AUTH_KUBECONFIG, the way AWX hands over credentials: the inventory is used unchanged.

Environment: VMO_DEMO_CLUSTERS (default vmo-1,vmo-2,vmo-3) picks other local clusters.
Exit status: non-zero when a step or a playbook fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import kubernetes.client as k8s
import yaml
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.controlplane import controlplane as cp  # noqa: E402

INVENTORY = ROOT / "examples" / "inventory"
REFERENCE_ROLES = ROOT / "files" / "reference-roles.yaml"
DEMO_DIR = ROOT / ".build" / "demo"
REPORT_DIR = DEMO_DIR / "reports"
BIN = Path(sys.executable).parent

# The namespaces the example grants refer to, per example cluster (labels in the value).
NAMESPACES = {
    "*": {"team-a": {}, "team-b": {}, "monitoring": {}},
    "prod-west": {"web-app-frontend": {}, "web-app-backend": {}, "shop-payments": {}},
    "dev-lab": {"lab-sandbox": {"env": "lab"}, "lab-perf": {"env": "lab"}},
}


def say(text=""):
    print(text, flush=True)


def banner(text):
    say()
    say("=" * 78)
    say(text)
    say("=" * 78)


def example_hosts() -> list[str]:
    """The cluster hosts of the example inventory, in file order."""
    data = yaml.safe_load((INVENTORY / "hosts.yml").read_text())
    return list(data["all"]["children"]["vmo_clusters"]["hosts"])


def local_clusters(names: list[str]) -> list[cp.Cluster]:
    out = []
    for name in names:
        c = cp.Cluster(name)
        if not (c.load() and c.running()):
            raise SystemExit("demo: the local cluster %s is not running; start it with `make cluster-up` "
                             "(or run `make demo`, which does)" % name)
        out.append(c)
    return out


def admin_client(c: cp.Cluster) -> k8s.ApiClient:
    cfg = k8s.Configuration()
    cfg.host = c.server
    cfg.ssl_ca_cert = str(c.ca_file)
    cfg.cert_file, cfg.key_file = str(c.pki / "admin.crt"), str(c.pki / "admin.key")
    return k8s.ApiClient(cfg)


def install_reference_roles(host: str, api: k8s.ApiClient) -> list[str]:
    """Create the reference ClusterRoles that are missing; never touch existing ones."""
    rbac = k8s.RbacAuthorizationV1Api(api)
    present = {r.metadata.name for r in rbac.list_cluster_role().items}
    created = []
    for doc in yaml.safe_load_all(REFERENCE_ROLES.read_text()):
        if doc and doc["kind"] == "ClusterRole" and doc["metadata"]["name"] not in present:
            rbac.create_cluster_role(doc)
            created.append(doc["metadata"]["name"])
    say("  %-10s reference roles: %s" % (host, "installed " + ", ".join(created) if created else "present"))
    return created


def create_namespaces(host: str, api: k8s.ApiClient) -> list[str]:
    core = k8s.CoreV1Api(api)
    wanted = dict(NAMESPACES["*"])
    wanted.update(NAMESPACES.get(host, {}))
    existing = {n.metadata.name: n for n in core.list_namespace().items}
    created = []
    for name, labels in sorted(wanted.items()):
        ns = existing.get(name)
        if ns is None:
            try:
                core.create_namespace({"metadata": {"name": name, "labels": labels}})
                created.append(name)
            except ApiException as exc:
                if exc.status != 409:
                    raise
        elif ns.status.phase == "Terminating":
            raise SystemExit("demo: namespace %s on %s is being deleted; run the demo again in a moment"
                             % (name, host))
        elif any((ns.metadata.labels or {}).get(k) != v for k, v in labels.items()):
            core.patch_namespace(name, {"metadata": {"labels": labels}})
            created.append(name + " (labels)")
    say("  %-10s namespaces: %s" % (host, "created " + ", ".join(created) if created
                                    else "present (%s)" % ", ".join(sorted(wanted))))
    return created


def write_kubeconfig(mapping: dict[str, cp.Cluster]) -> Path:
    """A kubeconfig whose contexts carry the example's cluster names."""
    cfg = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [],
           "current-context": next(iter(mapping))}
    for host, c in mapping.items():
        cfg["clusters"].append({"name": host, "cluster": {"server": c.server,
                                                          "certificate-authority": str(c.ca_file)}})
        cfg["users"].append({"name": host + "-admin", "user": {
            "client-certificate": str(c.pki / "admin.crt"), "client-key": str(c.pki / "admin.key")}})
        cfg["contexts"].append({"name": host, "context": {"cluster": host, "user": host + "-admin"}})
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    path = DEMO_DIR / "kubeconfig"
    cp.write_atomically(path, yaml.safe_dump(cfg, sort_keys=False))
    return path


RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)")


def run_playbook(playbook: str, kubeconfig: Path) -> tuple[int, dict, float]:
    """Run one of the collection's playbooks over the example inventory; stream its output.

    Returns (exit status, {host: recap counts}, seconds)."""
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    env.setdefault("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "false")
    env.setdefault("ANSIBLE_HOME", str(ROOT / ".build" / "ansible-home"))
    env.setdefault("ANSIBLE_LOCAL_TEMP", str(ROOT / ".build" / "ansible-tmp"))
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "false"
    for k in [k for k in env if k.startswith("K8S_AUTH_")]:
        del env[k]  # only the demo's own credentials
    env["K8S_AUTH_KUBECONFIG"] = str(kubeconfig)
    cmd = [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), playbook,
           "-e", "vmo_rbac_report_dir=%s" % REPORT_DIR]
    say("$ K8S_AUTH_KUBECONFIG=%s ansible-playbook -i %s %s -e vmo_rbac_report_dir=%s" % (
        os.path.relpath(kubeconfig, ROOT), os.path.relpath(INVENTORY, ROOT), playbook,
        os.path.relpath(REPORT_DIR, ROOT)))
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    recap = {}
    for line in proc.stdout:
        sys.stdout.write(line)
        m = RECAP.match(line)
        if m:
            recap[m.group("host")] = {k: int(v) for k, v in m.groupdict().items() if k != "host"}
    rc = proc.wait()
    return rc, recap, time.monotonic() - start


def main() -> int:
    names = [n for n in os.environ.get("VMO_DEMO_CLUSTERS", "vmo-1,vmo-2,vmo-3").split(",") if n]
    hosts = example_hosts()
    if len(names) != len(hosts):
        raise SystemExit("demo: the example inventory has %d clusters (%s), VMO_DEMO_CLUSTERS names %d"
                         % (len(hosts), ", ".join(hosts), len(names)))
    mapping = dict(zip(hosts, local_clusters(names)))

    banner("vmo.rbac demo: the example inventory (examples/inventory) on local clusters")
    for host, c in mapping.items():
        say("  %-10s -> %s (%s)" % (host, c.name, c.server))
    say()
    roles_made, namespaces_made = 0, 0
    for host, c in mapping.items():
        api = admin_client(c)
        roles_made += len(install_reference_roles(host, api))
        namespaces_made += len(create_namespaces(host, api))
    kubeconfig = write_kubeconfig(mapping)

    banner("1/2  ansible-playbook vmo.rbac.enforce  (grant the personas, prove them, report)")
    rc_enforce, recap_enforce, t_enforce = run_playbook("vmo.rbac.enforce", kubeconfig)
    banner("2/2  ansible-playbook vmo.rbac.validate  (read-only drift detection)")
    rc_validate, recap_validate, t_validate = run_playbook("vmo.rbac.validate", kubeconfig)

    banner("Fleet report (%s)" % os.path.relpath(REPORT_DIR / "vmo-rbac-report.md", ROOT))
    md = REPORT_DIR / "vmo-rbac-report.md"
    say(md.read_text() if md.exists() else "(not written)")

    banner("Summary")
    changed = {h: r["changed"] for h, r in recap_enforce.items() if h in mapping}
    total = sum(changed.values())
    say("enforce:  exit %d in %.1fs; %s" % (
        rc_enforce, t_enforce,
        "NO CHANGES: every cluster already held exactly the declared bindings" if total == 0 and recap_enforce
        else "changed on " + ", ".join("%s (%d task%s)" % (h, n, "" if n == 1 else "s")
                                       for h, n in changed.items() if n)))
    verdict = "every cluster passed" if rc_validate == 0 else "FAILED (see above)"
    say("validate: exit %d in %.1fs; %s" % (rc_validate, t_validate, verdict))
    if roles_made or namespaces_made:
        say("prepared: %d reference role(s) and %d namespace(s) created for the example (not by Ansible)"
            % (roles_made, namespaces_made))
    html = REPORT_DIR / "vmo-rbac-report.html"
    say("HTML access matrix: %s" % html)
    say("JUnit XML:          %s" % (REPORT_DIR / "vmo-rbac-report.xml"))
    say("Run `make demo` again: the enforce step reports no changes.")
    say("The clusters %s are still running (kubeconfig: %s); `make cluster-down` stops them and removes "
        "their state." % (", ".join(c.name for c in mapping.values()), os.path.relpath(kubeconfig, ROOT)))
    summary = {"enforce": {"rc": rc_enforce, "seconds": round(t_enforce, 1), "changed": changed},
               "validate": {"rc": rc_validate, "seconds": round(t_validate, 1)}}
    (DEMO_DIR / "last-run.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return 0 if rc_enforce == 0 and rc_validate == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
