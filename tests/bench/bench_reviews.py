"""How many SubjectAccessReviews one validation sends, and how long it takes, with the collection of a
given tree, on one cluster that two trees can share (docs/performance.md, "The capability model of issue
19"). The cluster h19m-measure is started in VMO_CONTROLPLANE_DIR (set it to the same directory for both
trees) and stopped with --down:

    VMO_CONTROLPLANE_DIR=/tmp/cp .venv/bin/python tests/bench/bench_reviews.py /path/to/other/tree 3
    VMO_CONTROLPLANE_DIR=/tmp/cp .venv/bin/python tests/bench/bench_reviews.py . 3 --down

Prints one JSON object per run: checks, SubjectAccessReviews in the audit log, requests, seconds."""
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve()
RUNS = int(sys.argv[2])
sys.path[:0] = [str(ROOT / ".build" / "collections"), str(ROOT)]
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".build" / "collections")

from tests.controlplane import controlplane as cp  # noqa: E402
from tests.helpers import kube  # noqa: E402
from tests.helpers.ansible import run_module  # noqa: E402

running, _ = cp.up(["h19m-measure"], owned=False)
c = kube.TestCluster.from_controlplane(running[0], ROOT / ".build" / "measure-work")
c.apply_manifest(kube.KUBEVIRT_CRDS)
c.apply_manifest(kube.REFERENCE_ROLES)
c.install_kubevirt("v1.9.0")
admin = c.identity("measure-admin")
uid = uuid.uuid4().hex[:6]
ns_a, ns_b = c.namespace("va-" + uid), c.namespace("vb-" + uid)
bindings = [
    {"persona": "admin", "groups": ["admins-" + uid]},
    {"persona": "power-user", "users": ["pu-%s@example.com" % uid], "namespaces": [ns_a]},
    {"persona": "user", "service_accounts": ["%s/robot" % ns_a], "namespaces": [ns_a, ns_b]},
    {"persona": "viewer", "groups": ["auditors-" + uid], "namespace_regex": "/^(va|vb)-%s$/" % uid},
]
common = dict(admin.params, owner="m-" + uid, bindings=bindings)
assert not run_module("vmo.rbac.vmo_role_binding", common).get("failed")
out = []
for _ in range(RUNS):
    audit = c.audit()
    t0 = time.monotonic()
    res = run_module("vmo.rbac.vmo_rbac_validate", common)
    wall = time.monotonic() - t0
    events = audit.events(user=admin.user)
    sars = sum(1 for e in events if e["requestURI"].startswith("/apis/authorization.k8s.io/v1/subjectaccessreviews"))
    out.append({"passed": res.get("passed"), "checks": res["summary"]["checks"], "requests": res["summary"]["requests"],
                "reviews_in_audit_log": sars, "module_seconds": res["summary"]["seconds"],
                "playbook_seconds": round(wall, 2)})
run_module("vmo.rbac.vmo_role_binding", dict(common, state="absent"))
c.delete_namespace(ns_a)
c.delete_namespace(ns_b)
print(json.dumps(out))
if "--down" in sys.argv:
    cp.down(["h19m-measure"])
