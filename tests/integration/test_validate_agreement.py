"""Agreement: every verdict of vmo_rbac_validate equals `kubectl auth can-i` for the same question.

Several binding layouts (VMO roles, the standard roles with KubeVirt aggregation, OIDC
prefixes, ServiceAccounts, legacy dashboard bindings, a side grant that creates violations)
are enforced on the local control plane; the module's access rows are then re-asked one by
one with kubectl's impersonation (`--as`, `--as-group`), which goes through the API
server's authentication, impersonation and RBAC path instead of a SubjectAccessReview.

kubectl's own contribution is that request path: impersonation, and discovery's resolution of the
resource, group and subresource a question names. One kubectl process per row made this the slowest
test of the suite (about 250 s for some 2,300 rows on 2 busy cores), so the default run asks kubectl a
stratified sample of the rows (sample_rows): every row class below has at least one row in it, chosen
deterministically (the first in a fixed order, no randomness that could leave a class out), and the
test asserts that it does, so the sample cannot shrink without failing. The classes:

- every question form (verb, group, resource, subresource, named or not) with each answer it got;
- every scope (the row's, and whether kubectl asks in every namespace, -A, or in one) with each answer;
- every subject with each answer it got, and every namespace with each answer;
- every violation row (ok false), each one.

VMO_AGREEMENT_ALL=1 asks kubectl every row, as `make test-whocan-soak` does (docs/development.md).

A Group is asked by its groups alone (no user); impersonation needs a user, so kubectl asks its rows as a user
of this test's own that no binding names (``nobody``), in those groups: what that user may do is what the
groups give.
"""

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.ansible import run_module

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
KUBECONFIG = ROOT / ".controlplane" / "kubeconfig"
ENFORCE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
ALL_ROWS = os.environ.get("VMO_AGREEMENT_ALL") == "1"


def row_classes(row):
    """What a row stands for in the sample: kubectl must be asked at least one row of each class."""
    form = (row["verb"], row["group"], row["resource"], row["subresource"], bool(row.get("name")))
    answer = row["allowed"]
    scope = (row["scope"], not row["namespace"])  # not: asked in every namespace (kubectl -A)
    classes = {("form", form, answer), ("scope", scope, answer), ("subject", row["subject"], answer),
               ("namespace", row["namespace"], answer)}
    if row["ok"] is False:
        classes.add(("violation", row_key(row)))
    return classes


def row_key(row):
    return (row["subject"], row["verb"], row["group"], row["resource"], row["subresource"], row.get("name"),
            row["namespace"], row["scope"], row["capability"], row["allowed"])


def sample_rows(rows):
    """The rows kubectl is asked in the default run: in a fixed order (violations first, then by the row's
    key), each row that stands for a class no row taken before stands for."""
    covered, sample = set(), []
    for row in sorted(rows, key=lambda r: (r["ok"] is not False, repr(row_key(r)))):
        new = row_classes(row) - covered
        if new:
            covered |= new
            sample.append(row)
    return sample


def kubectl_can_i(context, row, cache_dir, nobody):
    resource = row["resource"] + ("." + row["group"] if row["group"] else "")
    assert row["as_user"] or row["subject_kind"] == "Group", row  # only a Group is asked without a user
    if row.get("name"):
        resource += "/" + row["name"]  # asked about this object only (the module's named checks)
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
    started = time.monotonic()
    rows = []
    for i, lay in enumerate(layouts(uid, ns)):
        args = dict(admin_identity.params, owner="%s-%d" % (owner, i), **lay)
        res = run_module(ENFORCE, args)
        assert not res.get("failed"), res.get("msg")
        res = run_module(VALIDATE, dict(args, fail_on_drift=False))
        assert "access" in res, res.get("msg")
        rows += [r for r in res["access"] if r["allowed"] is not None]
    (tmp_path / "rows.json").write_text(json.dumps(rows, indent=1))  # for a look at a failure
    assert len(rows) >= 300, len(rows)
    assert any(r["ok"] is False for r in rows), "the side grant should have produced violations"
    assert any(r["allowed"] for r in rows) and any(not r["allowed"] for r in rows)

    # What the rows must hold for the sample to mean anything: both scopes, and every subject the layouts
    # and the side grant name (each layout's subjects under its own prefix), each asked.
    assert {not r["namespace"] for r in rows} == {True, False}, "cluster-wide and per-namespace rows"
    subjects = {r["subject"] for r in rows}
    assert len(subjects) >= 11, sorted(subjects)
    asked = rows if ALL_ROWS else sample_rows(rows)
    classes = set().union(*map(row_classes, rows))
    missing = classes - set().union(*map(row_classes, asked))
    assert not missing, "the sample leaves out %d row classes: %s" % (len(missing), sorted(missing, key=repr)[:10])
    assert all(r in asked for r in rows if r["ok"] is False)
    assert any(r["as_user"] == "" for r in rows) and any(r["as_user"] for r in rows)
    assert any(r["as_user"] == "" for r in asked), "the sample asks no Group row"
    modules = time.monotonic() - started

    nobody = "ag-nobody-" + uid  # bound nowhere: as it, kubectl asks what the groups alone give
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda r: kubectl_can_i(cluster.name, r, tmp_path / "kube-cache", nobody), asked))
    print("test_validate_agreement: the modules %.0f s; kubectl auth can-i asked %d of %d rows (%d classes, %d "
          "violations) in %.0f s" % (modules, len(asked), len(rows), len(classes),
                                     sum(r["ok"] is False for r in rows), time.monotonic() - started))
    disagreements = [(r["subject"], r["verb"], r["group"], r["resource"], r["subresource"], r.get("name"),
                      r["namespace"], r["allowed"], kubectl) for r, kubectl in zip(asked, answers)
                     if r["allowed"] != kubectl]
    assert disagreements == [], "%d of %d verdicts differ from kubectl auth can-i: %s" % (
        len(disagreements), len(asked), disagreements[:10])

    for i, lay in enumerate(layouts(uid, ns)):
        run_module(ENFORCE, dict(admin_identity.params, owner="%s-%d" % (owner, i), state="absent", **lay))
