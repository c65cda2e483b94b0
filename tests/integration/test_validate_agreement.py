"""Agreement: every verdict of vmo_rbac_validate equals `kubectl auth can-i` for the same question.

Several binding layouts (VMO roles, the standard roles with KubeVirt aggregation, OIDC
prefixes, ServiceAccounts, legacy dashboard bindings, a side grant that creates violations)
are enforced on the local control plane; the module's access rows are then re-asked one by
one with kubectl's impersonation (`--as`, `--as-group`), which goes through the API
server's authentication, impersonation and RBAC path instead of a SubjectAccessReview.

A Group is asked by its groups alone (no user); impersonation needs a user, so kubectl asks its rows as a user
of this test's own that no binding names (``nobody``), in those groups: what that user may do is what the
groups give.
"""

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.ansible import run_module

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
KUBECONFIG = ROOT / ".controlplane" / "kubeconfig"
ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"


def kubectl_can_i(context, row, cache_dir, nobody):
    resource = row["resource"] + ("." + row["group"] if row["group"] else "")
    assert row["as_user"] or row["subject_kind"] == "Group", row  # only a Group is asked without a user
    cmd = [str(KUBECTL), "--kubeconfig", str(KUBECONFIG), "--context", context, "--cache-dir", str(cache_dir),
           "auth", "can-i", row["verb"], resource, "--as", row["as_user"] or nobody]
    for g in row["as_groups"]:
        cmd += ["--as-group", g]
    if row["subresource"]:
        cmd += ["--subresource", row["subresource"]]
    cmd += ["-n", row["namespace"]] if row["namespace"] else ["-A"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    answer = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert answer in ("yes", "no"), (cmd, proc.stdout, proc.stderr)
    return answer == "yes"


def layouts(uid, ns):
    return [
        dict(role_set="vmo", legacy_dashboard_bindings=True, bindings=[
            {"persona": "admin", "groups": ["ag-admins-" + uid]},
            {"persona": "power-user", "users": ["ag-pu-" + uid], "namespaces": [ns[0]]},
            {"persona": "user", "service_accounts": ["%s/ag-robot" % ns[0]], "namespaces": [ns[0], ns[1]]},
            {"persona": "viewer", "groups": ["ag-view-" + uid], "namespace_regex": "^ag[12]-" + uid},
        ]),
        dict(role_set="kubernetes", allow_privileged=True, bindings=[
            {"persona": "admin", "groups": ["ag-k-admins-" + uid]},
            {"persona": "power-user", "users": ["ag-k-pu-" + uid], "namespaces": [ns[1]]},
            {"persona": "user", "groups": ["ag-k-edit-" + uid], "namespaces": [ns[0], ns[2]]},
            {"persona": "viewer", "users": ["ag-k-view-" + uid]},
        ]),
        dict(role_set="vmo", oidc_user_prefix="oidc:", oidc_group_prefix="oidc:", bindings=[
            {"persona": "user", "users": ["ag-o-" + uid], "groups": ["ag-o-g-" + uid], "namespaces": [ns[2]]},
            {"persona": "viewer", "users": ["ag-o-v-" + uid], "namespace_selector": "agreement=" + uid},
        ]),
    ]


@pytest.mark.slow  # started first (tests/conftest.py)
def test_module_verdicts_equal_kubectl_auth_can_i(cluster, namespaces, uid, owner, admin_identity, tmp_path):
    ns = namespaces("ag1", "ag2", "ag3")
    cluster.core().patch_namespace(ns[1], {"metadata": {"labels": {"agreement": uid}}})
    # A side grant outside any declaration, so some verdicts are violations (agreement must still hold).
    cluster.rbac().create_namespaced_role_binding(ns[2], {
        "metadata": {"name": "ag-side"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "User", "name": "oidc:ag-o-v-" + uid, "apiGroup": "rbac.authorization.k8s.io"}],
    })
    rows = []
    for i, lay in enumerate(layouts(uid, ns)):
        args = dict(admin_identity.params, owner="%s-%d" % (owner, i), **lay)
        res = run_module(ENFORCE, args)
        assert not res.get("failed"), res.get("msg")
        res = run_module(VALIDATE, dict(args, fail_on_drift=False))
        assert "access" in res, res.get("msg")
        rows += [r for r in res["access"] if r["allowed"] is not None]
    assert len(rows) >= 300, len(rows)
    assert any(r["ok"] is False for r in rows), "the side grant should have produced violations"
    assert any(r["allowed"] for r in rows) and any(not r["allowed"] for r in rows)

    assert any(r["as_user"] == "" for r in rows) and any(r["as_user"] for r in rows)
    nobody = "ag-nobody-" + uid  # bound nowhere: as it, kubectl asks what the groups alone give
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda r: kubectl_can_i(cluster.name, r, tmp_path / "kube-cache", nobody), rows))
    disagreements = [(r["subject"], r["verb"], r["group"], r["resource"], r["subresource"], r["namespace"],
                      r["allowed"], kubectl) for r, kubectl in zip(rows, answers) if r["allowed"] != kubectl]
    assert disagreements == [], "%d of %d verdicts differ from kubectl auth can-i: %s" % (
        len(disagreements), len(rows), disagreements[:10])

    for i, lay in enumerate(layouts(uid, ns)):
        run_module(ENFORCE, dict(admin_identity.params, owner="%s-%d" % (owner, i), state="absent", **lay))
