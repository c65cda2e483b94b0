"""Faults made real (issue 6): a killed API server, a fault-injecting proxy, a role switch under
load, two owners purging side by side.

Everything here runs on a PRIVATE cluster (``fault-1``, or ``fault-<xdist worker>``) that this
module starts and stops (also when a test fails): the API server is killed and restarted, and
the load would disturb tests running on vmo-1..3 in parallel. The modules run through
ansible-playbook; outcomes are checked through the API, SubjectAccessReviews, the audit log and
the fault proxy's own log (tests/helpers/faultproxy.py), never through what the module says alone.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.controlplane import controlplane as cp
from tests.helpers.ansible import BIN, ansible_env, failed, ok, run_module, run_playbook
from tests.helpers.access_poller import AccessPoller, wait_until_allowed
from tests.helpers.faultproxy import Fault, FaultProxy, Rule
from tests.helpers import kube
from tests.helpers.kube import audit_ts, binding_manifest

# One xdist worker runs them all (`make test-integration` uses --dist loadgroup): one private cluster.
pytestmark = pytest.mark.xdist_group("faults")

MODULE = "vmo.rbac.vmo_role_binding"
VALIDATE = "vmo.rbac.vmo_rbac_validate"
RBAC_GROUP = "rbac.authorization.k8s.io"
CRB, RB = "ClusterRoleBinding", "RoleBinding"
VMO_ROLES = {"admin": "spectro-vm-admin", "power-user": "spectro-vm-power-user",
             "user": "spectro-vm-user", "viewer": "spectro-vm-viewer"}
KUBERNETES_ROLES = {"admin": "cluster-admin", "power-user": "admin", "user": "edit", "viewer": "view"}
AUTOMATION_ROLE = cp.ROOT / "files" / "automation-clusterrole.yaml"
CALLBACKS = cp.ROOT / "tests" / "helpers" / "callback_plugins"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


# --------------------------------------------------------------------------- the cluster


def _private_name():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return "fault-1" if not worker else "fault-" + worker


@pytest.fixture(scope="module")
def fault(workdir, request):
    """A private cluster of this module (never vmo-1..3 or vmo-bare): stopped and removed at the end,
    whatever happens."""
    name = _private_name()
    request.addfinalizer(lambda: cp.down([name]))
    try:
        running, _started = cp.up([name], owned=True)
    except cp.ControlPlaneError as exc:
        pytest.fail("the private cluster %s could not start: %s" % (name, exc))
    handle = kube.TestCluster.from_controlplane(running[0], workdir)
    handle.apply_manifest(kube.KUBEVIRT_CRDS)
    handle.apply_manifest(kube.REFERENCE_ROLES)
    handle.apply_manifest(AUTOMATION_ROLE)
    handle.install_kubevirt()
    return handle


@pytest.fixture
def fault_namespaces(fault, uid):
    made = []

    def make(*names, labels=None):
        out = []
        for n in names:
            full = "%s-%s" % (n, uid)
            fault.namespace(full, labels)
            made.append(full)
            out.append(full)
        return out

    yield make
    for n in made:
        fault.delete_namespace(n)


@pytest.fixture
def automation_sa(fault, uid):
    """A ServiceAccount token bound to the shipped least-privilege ClusterRole (what a real
    deployment uses, and the only kind of credential the fault proxy can forward)."""
    ns = fault.namespace("bot-" + uid)
    sa = fault.service_account(ns, "vmo-rbac")
    name = "it-automation-" + uid
    fault.rbac().create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "vmo-rbac-automation"},
        "subjects": [{"kind": "ServiceAccount", "name": "vmo-rbac", "namespace": ns}]})
    yield sa
    fault.rbac().delete_cluster_role_binding(name)
    fault.delete_namespace(ns)


@pytest.fixture
def proxy(fault, workdir):
    with FaultProxy(fault.server, fault.ca, fault.pki, workdir) as p:
        yield p


# ------------------------------------------------------------------------------ helpers


def subjects_of(obj):
    return tuple(sorted((s["kind"], s["name"], s.get("namespace") or "") for s in obj.get("subjects") or []))


def declared(owner, entries, role_set="vmo"):
    """{key: subjects} a simple declaration (persona + groups/users [+ namespaces]) stands for;
    computed by hand from the naming rule <owner>-<role>, not by the code under test."""
    roles = VMO_ROLES if role_set == "vmo" else KUBERNETES_ROLES
    out = {}
    for e in entries:
        subj = set(("Group", g, "") for g in e.get("groups", [])) | set(("User", u, "") for u in e.get("users", []))
        role = roles[e["persona"]]
        for ns in e.get("namespaces") or [""]:
            key = (RB if ns else CRB, ns, "%s-%s" % (owner, role))
            out.setdefault(key, set()).update(subj)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def assert_exact_or_absent(cluster, owner, *declarations):
    """Every binding this owner holds is one of the declared ones, with exactly the subjects of one
    of the declarations (never a mix of two, never a half-written list). Returns the held ones."""
    held = cluster.bindings(owner)
    for key, obj in held.items():
        allowed = [d[key] for d in declarations if key in d]
        assert allowed, "%s is held but was never declared" % (key,)
        assert subjects_of(obj) in allowed, "%s holds %s, declared %s" % (key, subjects_of(obj), allowed)
    return held


def local_snapshot(cluster, uid, nss):
    """{key: (resourceVersion, roleRef, subjects, labels)} of every binding in the test's namespaces
    and every ClusterRoleBinding whose name carries the test's uid."""
    out = {}
    for k, v in cluster.bindings().items():
        if k[1] in nss or (k[0] == CRB and uid in k[2]):
            out[k] = (v["metadata"]["resourceVersion"], v["roleRef"], v.get("subjects"), v["metadata"].get("labels"))
    return out


def writes(events):
    return [e for e in events if e["verb"] in WRITE_VERBS
            and (e.get("objectRef") or {}).get("resource") not in ("subjectaccessreviews", "selfsubjectreviews",
                                                                    "tokenreviews")]


def read_audit(path, offset, user=None):
    """Complete audit events after ``offset`` (robust to a line cut short by a killed API server)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    out = []
    for line in data.split(b"\n"):
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("stage") == "ResponseComplete" and (user is None or ev.get("user", {}).get("username") == user):
            out.append(ev)
    return out


class AuditTrigger(threading.Thread):
    """Follows the audit log and calls ``action`` once ``user`` has made ``n`` successful creates."""

    def __init__(self, path, user, n, action, timeout=300):
        super().__init__(daemon=True)
        self.path, self.user, self.n, self.action = path, user, n, action
        self.offset = path.stat().st_size
        self.deadline = time.monotonic() + timeout
        self.fired_at = None
        self.seen = 0
        self._halt = threading.Event()

    def run(self):
        buf = b""
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            while not self._halt.is_set() and time.monotonic() < self.deadline:
                chunk = fh.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    if (ev.get("stage") == "ResponseComplete" and ev.get("verb") == "create"
                            and ev.get("user", {}).get("username") == self.user
                            and (ev.get("responseStatus") or {}).get("code") == 201):
                        self.seen += 1
                        if self.seen >= self.n:
                            self.action()
                            self.fired_at = time.monotonic()
                            return

    def stop(self):
        self._halt.set()
        self.join(10)


# ---------------------------------------------------------------- the API server is killed


def test_api_server_killed_mid_run_fails_clearly_then_the_next_run_converges(fault, fault_namespaces, uid):
    """164 bindings; the kube-apiserver process is SIGKILLed right after the 30th create the API
    server has answered. The run fails within its retry budget naming the API server, the retries
    and the writes made; what was written has exactly the declared subjects. After a restart the
    next run creates the rest, and the run after that writes nothing. Bindings of another owner
    and hand-made ones in the same namespaces are never written to (audit log, resourceVersions)."""
    owner, other = "kill-" + uid, "other-" + uid
    nss = fault_namespaces(*["k%02d" % i for i in range(40)])
    me = fault.identity("fault-kill-" + uid)
    them = fault.identity("fault-other-" + uid)
    bindings = []
    for p in VMO_ROLES:
        bindings.append({"persona": p, "groups": ["%s-all-%s" % (p, uid)]})
        bindings.append({"persona": p, "groups": ["%s-ns-%s" % (p, uid)], "users": ["%s-u-%s" % (p, uid)],
                         "namespaces": nss})
    want = declared(owner, bindings)
    assert len(want) == 164

    # Foreign objects in the same namespaces: another owner's grants, hand-made ones (one of them
    # even carrying this collection's labels for the other owner).
    ok(run_module(MODULE, dict(them.params, owner=other, bindings=[
        {"persona": "viewer", "groups": ["theirs-" + uid], "namespaces": nss},
        {"persona": "user", "users": ["theirs-" + uid]}])))
    rbac = fault.rbac()
    for ns in nss[:5]:
        rbac.create_namespaced_role_binding(
            ns, binding_manifest(RB, "hand-made-" + uid, "spectro-vm-admin", "h-" + uid, ns))
    rbac.create_namespaced_role_binding(nss[5], binding_manifest(
        RB, "labelled-" + uid, "spectro-vm-user", "l-" + uid, nss[5],
        labels={"app.kubernetes.io/managed-by": "vmo.rbac", "vmo.rbac/owner": other}))
    rbac.create_cluster_role_binding(binding_manifest(CRB, "hand-made-" + uid, "spectro-vm-viewer", "h-" + uid))
    foreign_before = local_snapshot(fault, uid, nss)
    assert len(foreign_before) == 40 + 1 + 5 + 1 + 1

    audit_offset = fault.audit_log.stat().st_size
    pid = json.loads((cp.STATE_DIR / fault.name / "state.json").read_text())["pids"]["kube-apiserver"]
    trigger = AuditTrigger(fault.audit_log, me.user, 30, lambda: os.kill(pid, signal.SIGKILL))
    trigger.start()
    try:
        t0 = time.monotonic()
        res = run_module(MODULE, dict(me.params, owner=owner, bindings=bindings))
        t_end = time.monotonic()
    finally:
        trigger.stop()
        # Whatever happened, bring the API server back for the rest of the module.
        cp.restart_apiserver(fault.name, owned=True)
    assert trigger.fired_at is not None, "the run never made 30 creates (%d seen)" % trigger.seen

    msg = failed(res)
    assert fault.server in msg, msg
    assert re.search(r"after \d+ retries", msg), msg
    m = re.search(r"\((\d+) of 164 planned writes were made before this failure", msg)
    assert m, msg
    made = int(m.group(1))
    # The audit event of the 30th create is written when the API server has answered; the kill can
    # land before the answer's bytes reach the module, so the module may have heard of fewer (at most
    # the writes in flight, 16 by default, fewer). What the API server answered is in etcd (below).
    assert 30 - 16 <= made < 164, msg
    assert res["changed"] is True and len(res["actions"]) == made
    assert "api_key" not in msg and "PRIVATE KEY" not in res["_stdout"]
    # Bounded: api_retries=5 with backoff 0+0.5+1+2+4 s against a refused port, plus Ansible's own time.
    after_kill = t_end - trigger.fired_at
    assert after_kill < 45, "the module took %.1fs to give up after the kill" % after_kill
    print("\nkill: fired after the %dth create, %.1fs into the run; the module failed %.1fs later; "
          "%d of 164 writes reported made" % (trigger.seen, trigger.fired_at - t0, after_kill, made))
    print("message: " + msg)

    # What is there has exactly the declared subjects; at most the writes in flight (16, the
    # default concurrency) were persisted without the module hearing about it.
    held = assert_exact_or_absent(fault, owner, want)
    assert len(held) >= trigger.seen, (trigger.seen, len(held))  # every create answered 201 was persisted
    assert made <= len(held) <= made + 16, (made, len(held))  # + the creates in flight whose answer was lost
    assert {(a["kind"], a.get("namespace", ""), a["name"]) for a in res["actions"]} <= set(held)

    # After the restart: the next run converges, the one after writes nothing.
    second = ok(run_module(MODULE, dict(me.params, owner=owner, bindings=bindings)))
    assert second["changed"] is True
    assert second["summary"] == {"created": 164 - len(held), "updated": 0, "replaced": 0, "deleted": 0,
                                 "unchanged": len(held)}
    held = assert_exact_or_absent(fault, owner, want)
    assert set(held) == set(want)
    offset = fault.audit_log.stat().st_size
    third = ok(run_module(MODULE, dict(me.params, owner=owner, bindings=bindings)))
    assert third["changed"] is False and third["summary"]["unchanged"] == 164
    assert writes(read_audit(fault.audit_log, offset, me.user)) == []

    # Nothing foreign was touched: same objects, same resourceVersions; and every write this
    # identity made, in all three runs, went to a name of its own owner.
    assert {k: v for k, v in local_snapshot(fault, uid, nss).items() if k not in want} == foreign_before
    mine = writes(read_audit(fault.audit_log, audit_offset, me.user))
    # (a create in flight when the API server was killed may be stored without its audit event: up to 16)
    assert len(mine) >= 164 - 16 and {e["verb"] for e in mine} == {"create"}, (len(mine), {e["verb"] for e in mine})
    stray = [e["objectRef"] for e in mine if not (e["objectRef"].get("name") or "").startswith(owner + "-")]
    assert stray == [], stray
    print("after restart: %d created by the second run, third run 0 writes; %d foreign bindings unchanged"
          % (second["summary"]["created"], len(foreign_before)))


# ------------------------------------------------------------------------- the fault proxy


def run_task(module, args, timeout=240):
    """One task through ansible-playbook (json callback), with a hard time limit: a run that would
    hang fails the test, and its whole process group (ansible-playbook, its workers, the module)
    is killed."""
    with tempfile.TemporaryDirectory(prefix="vmo-fault-play-") as tmp:
        play = Path(tmp) / "play.yml"
        play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False,
                                         "tasks": [{"name": "task", module: args, "ignore_errors": True}]}]))
        env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "vmo_json",
                           "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS)})
        t0 = time.monotonic()
        proc = subprocess.Popen([str(BIN / "ansible-playbook"), str(play), "-i", "localhost,", "-c", "local"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail("the task did not finish within %ds (killed)\n%s" % (timeout, err[-2000:]))
        elapsed = time.monotonic() - t0
    try:
        doc = json.loads(out[out.index("{"):])
        res = doc["plays"][0]["tasks"][-1]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        pytest.fail("no result (rc=%s)\n%s\n%s" % (proc.returncode, out[-3000:], err[-3000:]))
    return dict(res, _stdout=out, _stderr=err), elapsed


def assert_retries_explained(proxy, timeout):
    """Every retry in the proxy's log follows an attempt that met a fault, or one the API server
    itself took longer than request_timeout to answer (a loaded machine); returns the count."""
    seq = proxy.attempts()
    key = lambda e: (e["method"], e["path"], e["body"])  # noqa: E731
    retried = [a for a, b in zip(seq, seq[1:]) if key(a) == key(b)]
    unexplained = [a for a in retried if not a["fault"] and a["t_end"] is not None
                   and a["t_end"] - a["t"] < 0.9 * timeout]
    assert unexplained == [], unexplained
    return len(retried)


def via(proxy, sa, **options):
    """Connection params that reach the cluster through the proxy, as the ServiceAccount."""
    return dict(host=proxy.url, ca_cert=sa.params["ca_cert"], api_key=sa.params["api_key"], **options)


def layout(uid, nss, extra_user=False):
    """13 bindings: admin cluster-wide, three personas in each namespace."""
    entries = [{"persona": "admin", "groups": ["admins-" + uid]}]
    for p in ("power-user", "user", "viewer"):
        e = {"persona": p, "groups": ["%s-%s" % (p, uid)], "namespaces": list(nss)}
        if extra_user:
            e["users"] = ["%s-extra-%s" % (p, uid)]
        entries.append(e)
    if extra_user:
        entries[0]["users"] = ["admin-extra-" + uid]
    return entries


def test_transient_faults_are_retried_within_bounds_and_the_runs_converge(fault, fault_namespaces, automation_sa,
                                                                         proxy, uid):
    """Through the proxy, as the least-privilege ServiceAccount: 503, 429 (Retry-After: 1), 500,
    connection resets before and after the write reached the API server, replies held beyond
    request_timeout, on LISTs, creates, updates and deletes. Every fault costs exactly one retry
    (counted in the proxy's log), writes that happened behind a lost answer are recognised (409 on
    the retried create: adopted; on the retried update: re-read; 404 on the retried delete: done),
    both runs converge, a clean run after them changes nothing, and at no point does an owned
    binding hold anything but the declared subjects."""
    owner = "tr-" + uid
    nss = fault_namespaces("tr-a", "tr-b", "tr-c", "tr-d")
    # one request after the other (concurrency 1), so that each rule hits the request it names;
    # test_concurrent_writes_under_a_persistent_fault covers the writes sent together
    conn = via(proxy, automation_sa, request_timeout=3, api_retries=5, concurrency=1)
    v1, v2 = layout(uid, nss), layout(uid, nss[:3], extra_user=True)
    want1, want2 = declared(owner, v1), declared(owner, v2)
    figures = []

    # Run 1: 13 creates.
    proxy.schedule(
        Rule(Fault.status(503), methods=("GET",), times=1),
        Rule(Fault.reset(), methods=("GET",), skip=3, times=1),
        Rule(Fault.status(429, retry_after=1), methods=("POST",), times=1),
        Rule(Fault.status(500), methods=("POST",), skip=2, times=1),
        Rule(Fault.reset(), methods=("POST",), skip=4, times=1),
        Rule(Fault.reset(after=True), methods=("POST",), skip=6, times=1),
        Rule(Fault.slow(8), methods=("POST",), skip=8, times=1),
        Rule(Fault.status(503, after=True), methods=("POST",), skip=10, times=1),
    )
    res, elapsed = run_task(MODULE, dict(conn, owner=owner, bindings=v1))
    ok(res)
    assert res["summary"]["created"] == 13
    held = assert_exact_or_absent(fault, owner, want1)
    assert set(held) == set(want1)
    faulted, attempts = proxy.faulted(), proxy.attempts()
    assert len(faulted) == 8, proxy.summary()
    retries = assert_retries_explained(proxy, 3)
    assert retries >= len(faulted), proxy.summary()  # exactly one retry per fault (more only if the host lags)
    assert len(attempts) == res["api_requests"] + retries, (proxy.summary(), res["api_requests"])
    # The writes that happened behind a lost answer: the retried create met 409 and was adopted (one GET each).
    assert sum(1 for e in attempts if e["method"] == "POST" and e["upstream_status"] == 409) == 3
    # Retry-After: 1 was honoured: the retry of the 429 came at least a second later.
    i = next(n for n, e in enumerate(attempts) if e["fault"] and e["fault"].startswith("429"))
    assert attempts[i + 1]["t"] - attempts[i]["t_end"] >= 0.9
    # The held reply cost one request_timeout, not more.
    j = next(n for n, e in enumerate(attempts) if e["fault"] and e["fault"].startswith("slow"))
    assert 2.5 <= attempts[j + 1]["t"] - attempts[j]["t"] <= 3 + 4 + 2
    figures.append("creates: %s; api_requests %d; %.1fs" % (proxy.summary(), res["api_requests"], elapsed))

    # Run 2: 10 updates (a subject added everywhere) and 3 purge deletes (one namespace dropped).
    proxy.schedule(
        Rule(Fault.status(500, after=True), methods=("PUT",), times=1),
        Rule(Fault.reset(), methods=("PUT",), skip=4, times=1),
        Rule(Fault.slow(8), methods=("PUT",), skip=7, times=1),
        Rule(Fault.reset(after=True), methods=("DELETE",), times=1),
        Rule(Fault.status(503), methods=("DELETE",), skip=2, times=1),
    )
    res, elapsed = run_task(MODULE, dict(conn, owner=owner, bindings=v2, purge=True))
    ok(res)
    assert res["summary"] == {"created": 0, "updated": 10, "replaced": 0, "deleted": 3, "unchanged": 0}
    held = assert_exact_or_absent(fault, owner, want2)
    assert set(held) == set(want2)
    faulted, attempts = proxy.faulted(), proxy.attempts()
    assert len(faulted) == 5, proxy.summary()
    retries = assert_retries_explained(proxy, 3)
    assert retries >= len(faulted), proxy.summary()
    assert len(attempts) == res["api_requests"] + retries, (proxy.summary(), res["api_requests"])
    assert sum(1 for e in attempts if e["method"] == "PUT" and e["upstream_status"] == 409) == 2  # re-read, re-applied
    assert sum(1 for e in attempts if e["method"] == "DELETE" and e["upstream_status"] == 404) == 1  # already gone
    figures.append("updates/deletes: %s; api_requests %d; %.1fs" % (proxy.summary(), res["api_requests"], elapsed))

    # Run 3, no faults: nothing left to do.
    proxy.schedule()
    res, _ = run_task(MODULE, dict(conn, owner=owner, bindings=v2, purge=True))
    assert ok(res)["changed"] is False and not any(e["method"] != "GET" for e in proxy.attempts())
    conn["concurrency"] = 16  # the default: the validation's reviews 16 at a time

    # The validation's SubjectAccessReviews (16 in flight) through 503s, 429s, resets and a held reply.
    sar = "subjectaccessreviews"
    proxy.schedule(
        Rule(Fault.status(503), methods=("POST",), path=sar, times=3),
        Rule(Fault.status(429, retry_after=1), methods=("POST",), path=sar, skip=10, times=2),
        Rule(Fault.reset(), methods=("POST",), path=sar, skip=20, times=2),
        Rule(Fault.slow(8), methods=("POST",), path=sar, skip=30, times=1),
    )
    res, elapsed = run_task(VALIDATE, dict(conn, owner=owner, bindings=v2, purge=True))
    ok(res)
    assert res["passed"] is True, res["msg"]
    assert len(proxy.faulted()) == 8, proxy.summary()
    # The reviews go pipelined (module_utils/_k8s/pipeline.py): a fault ends that connection's window,
    # and every review without a 2xx answer (the faulted one, those behind it on the connection) is
    # asked again the ordinary way, with urllib3's retries. So: every review the proxy saw was in
    # the end answered by the API server without a fault, each faulted one included; the module
    # counted every request it wrote (a request still unread when its connection was reset never
    # reached the proxy: those are the only difference), and nothing was asked more than needed.
    sars = [e for e in proxy.attempts() if sar in e["path"]]
    answered = {e["body"] for e in sars if not e["fault"] and e["status"] == 201}
    assert {e["body"] for e in sars} == answered, proxy.summary()
    assert {e["body"] for e in proxy.faulted()} <= answered
    window = 16 // 2  # concurrency 16 over cluster.PIPELINES (2) connections
    assert len(proxy.attempts()) <= res["summary"]["requests"] <= len(proxy.attempts()) + 3 * window, \
        (proxy.summary(), res["summary"]["requests"])
    assert len(sars) <= len(answered) + 3 * (window + 1) + 8, (len(sars), len(answered))
    figures.append("validate: %d requests written, %d reached the proxy, %d reviews asked again (after %s), "
                   "%d checks; %.1fs" % (res["summary"]["requests"], len(proxy.attempts()), len(sars) - len(answered),
                                         ", ".join(sorted(set(e["fault"] for e in proxy.faulted()))),
                                         res["summary"]["checks"], elapsed))
    print("\n" + "\n".join(figures))



def test_interim_and_misordered_answers_are_never_taken_as_proof(fault, fault_namespaces, automation_sa, proxy, uid):
    """Issue 19, item 6: a middlebox between the module and the API server sends 103 Early Hints before
    answers, delivers one answer after the next one (out of order) and rewrites two answers into
    answers to another question (user and decision flipped). Before, an interim response was read as
    the final answer of one review and shifted every later answer on the connection, and a rewritten
    answer was taken as it came: a false proof. Now the validation through the proxy gives exactly the
    answers of the same validation asked directly: interim responses are read past (pipelined and
    the ordinary way), and an answer that does not echo its question is never taken; that review and
    the ones behind it on the connection are asked again."""
    owner = "ia-" + uid
    nss = fault_namespaces("ia-a", "ia-b")
    entries = layout(uid, nss)
    direct = dict(automation_sa.params, concurrency=16)
    ok(run_task(MODULE, dict(direct, owner=owner, bindings=entries))[0])
    # a hand-made leak, so that the answers are a mix of yes and no that a flipped or shifted one would change
    leak = "ia-leak-" + uid
    fault.rbac().create_namespaced_role_binding(nss[0], {
        "metadata": {"name": leak},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "spectro-vm-admin"},
        "subjects": [{"kind": "Group", "name": "viewer-" + uid, "apiGroup": RBAC_GROUP}]})
    try:
        base, _t = run_task(VALIDATE, dict(direct, owner=owner, bindings=entries, fail_on_drift=False))
        ok(base)

        def answers(res):
            return sorted((r["subject"], r["capability"], r["verb"], r["group"], r["resource"], r["subresource"],
                           r["namespace"], r["scope"], r["allowed"]) for r in res["access"])

        assert base["passed"] is False and {r["allowed"] for r in base["access"]} == {True, False}
        sar = "subjectaccessreviews"
        conn = dict(via(proxy, automation_sa, concurrency=16, request_timeout=5), owner=owner, bindings=entries,
                    fail_on_drift=False)
        # 1. one answer out of order, two answers to other questions (before: taken as they came)
        proxy.schedule(Rule(Fault.hold(), methods=("POST",), path=sar, skip=9, times=1),
                       Rule(Fault.foreign(), methods=("POST",), path=sar, skip=40, times=2))
        res, _t = run_task(VALIDATE, conn)
        ok(res)
        assert sorted(set(e["fault"] for e in proxy.faulted())) == ["foreign", "hold"], proxy.summary()
        assert answers(res) == answers(base)
        # the rewritten and the held answers were not taken: their reviews were asked again
        reasked = [e for e in proxy.faulted() if e["fault"] in ("foreign", "hold")]
        bodies = [e["body"] for e in proxy.attempts() if sar in e["path"]]
        assert all(bodies.count(e["body"]) >= 2 for e in reasked), proxy.summary()
        first = proxy.summary()
        # 2. a 103 before every answer, two before one of them (before: the run failed, or answers shifted)
        proxy.schedule(Rule(Fault.interim(2), methods=("POST",), path=sar, skip=60, times=1),
                       Rule(Fault.interim(1), methods=("POST",), path=sar, times=None))
        res, _t = run_task(VALIDATE, conn)
        ok(res)
        assert sorted(set(e["fault"] for e in proxy.faulted())) == ["1 x 103", "2 x 103"], proxy.summary()
        assert answers(res) == answers(base)
        assert (res["passed"], res["summary"]["failed"]) == (base["passed"], base["summary"]["failed"])
        print("\nvalidate through a proxy answering out of order and for other questions (%s), then sending 103s "
              "(%s): %d checks, the same answers as directly" % (first, proxy.summary(), res["summary"]["checks"]))
    finally:
        fault.rbac().delete_namespaced_role_binding(leak, nss[0])
        fault.delete_bindings(owner)


def _who_else_keys(res):
    return sorted((f["subject"], f["capability"], f["namespace"] or "", f["scope"]) for f in res.get("who_else") or [])


def test_a_list_answered_in_pages_or_of_another_shape_is_never_taken_for_the_whole(fault, fault_namespaces,
                                                                                     automation_sa, proxy, uid):
    """Attack on issue 21's snapshot: the RoleBindings LIST of a validation with the exclusive audit is answered
    by a middlebox (or an API server that pages on its own) with its first page only and a continue token, the
    continue is refused (410 Gone), or the answer is a 200 of another shape (``{}``, a Status). Before, the first
    page was taken for the whole list (``items`` read, ``metadata.continue`` ignored) and an answer without
    ``items`` for an empty list: a hand-made RoleBinding granting an undeclared user beyond the first page was not
    seen, and the audit said nobody else holds it there. Now the pages are followed (the same who-else findings
    as a run without the middlebox), and a refused continue or an answer of another shape fails the run, never
    a verdict on what was not seen."""
    owner = "pg-" + uid
    nss = fault_namespaces("pg-a")
    entries = [{"persona": "viewer", "groups": ["viewer-" + uid], "namespaces": nss}]
    direct = dict(automation_sa.params, concurrency=8)
    ok(run_task(MODULE, dict(direct, owner=owner, bindings=entries))[0])
    leak, intruder = "pg-leak-" + uid, "pg-intruder-" + uid
    fault.rbac().create_namespaced_role_binding(nss[0], {
        "metadata": {"name": leak},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "spectro-vm-admin"},
        "subjects": [{"kind": "User", "name": intruder, "apiGroup": RBAC_GROUP}]})
    try:
        fault.wait_until_can(intruder, "delete", "virtualmachines", group="kubevirt.io", namespace=nss[0], groups=[])
        args = dict(via(proxy, automation_sa, concurrency=8, api_retries=1), owner=owner, bindings=entries,
                    audit_exclusive=True, fail_on_drift=False)
        base, _t = run_task(VALIDATE, args)
        ok(base)
        assert any(f["subject"] == "User " + intruder and f["namespace"] == nss[0] for f in base["who_else"]), \
            base["who_else"]

        def first_page():
            """The API server's own first page of every RoleBinding (limit 1) and its continue token."""
            resp = fault.rbac().list_role_binding_for_all_namespaces(limit=1, _preload_content=False)
            page = json.loads(resp.data)
            assert page["metadata"].get("continue") and page["items"][0]["metadata"]["name"] != leak
            return page

        listing = r"/rolebindings\??$"  # the LIST without a query (the module may end its path with "?")
        # 1. the first page only, with its continue token: followed to the end (before: taken for the whole list)
        proxy.schedule(Rule(Fault.answer(200, json.dumps(first_page()).encode()), methods=("GET",), path=listing))
        paged, _t = run_task(VALIDATE, args)
        ok(paged)
        assert len(proxy.faulted()) == 1, proxy.summary()
        assert _who_else_keys(paged) == _who_else_keys(base)
        assert any("continue=" in e["path"] for e in proxy.attempts() if "rolebindings" in e["path"]), proxy.summary()
        assert paged["passed"] is base["passed"] is False
        # 2. the continue refused (410 Gone): the run fails, saying so, and gives no verdict
        expired = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
                              "code": 410, "message": "The provided continue parameter is too old"}).encode()
        proxy.schedule(Rule(Fault.answer(200, json.dumps(first_page()).encode()), methods=("GET",), path=listing),
                       Rule(Fault.answer(410, expired), methods=("GET",), path=r"/rolebindings\?.*continue="))
        gone, _t = run_task(VALIDATE, args)
        msg = failed(gone)
        assert "410" in msg and "not taken as the whole list" in msg and gone["passed"] is False, msg
        assert "who_else" not in gone and "summary" not in gone, sorted(gone)
        # 3. a 200 of another shape: never an empty list (before: no RoleBinding at all, so nobody else)
        for body in (b"{}", json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Success"}).encode(),
                     json.dumps({"kind": "RoleBindingList", "items": {"a": 1}}).encode()):
            proxy.schedule(Rule(Fault.answer(200, body), methods=("GET",), path=listing))
            res, _t = run_task(VALIDATE, args)
            msg = failed(res)
            assert "is not a list" in msg and "not taken as the list" in msg and res["passed"] is False, msg
            assert "who_else" not in res and "summary" not in res, sorted(res)
        print("\npaged: %d who-else findings, as without the middlebox; 410 on continue and 3 shapes: failed, no "
              "verdict" % len(paged["who_else"]))
    finally:
        fault.rbac().delete_namespaced_role_binding(leak, nss[0])
        fault.delete_bindings(owner)


def test_a_shipped_role_whose_create_answer_was_lost_is_adopted_not_a_conflict(fault, automation_sa, proxy, uid):
    """Attack on issue 21's one transport (retries of non-idempotent writes): vmo_cluster_roles' POST of a ClusterRole
    reaches the API server, whose answer is replaced by a 500 (or lost): the transport sends it again and meets 409
    AlreadyExists, the role its own first attempt made. Before, the run failed with "ClusterRole ... changed during the
    run; run again" (a false explanation, and an empty role left behind); now a role of the collection that is there
    is given its rules, as an update, and the run converges in one go. A foreign role of that name still fails."""
    name = "vmo-rbac-golden-image"
    fault.apply_manifest(cp.ROOT / "files" / "automation-roles-clusterrole.yaml")
    binding = "it-automation-roles-" + uid
    fault.rbac().create_cluster_role_binding({
        "metadata": {"name": binding},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "vmo-rbac-automation-roles"},
        "subjects": [{"kind": "ServiceAccount", "name": "vmo-rbac", "namespace": automation_sa.user.split(":")[2]}]})

    def delete_role():
        try:
            fault.rbac().delete_cluster_role(name)
        except kube.ApiException as exc:
            if exc.status != 404:
                raise

    try:
        delete_role()
        fault.wait_until_can(automation_sa.user, "create", "clusterroles", RBAC_GROUP, groups=list(automation_sa.groups))
        args = dict(via(proxy, automation_sa, api_retries=2), roles=["golden-image"])
        proxy.schedule(Rule(Fault.status(500, after=True), methods=("POST",), path=r"/clusterroles\??$", times=1))
        res, _t = run_task("vmo.rbac.vmo_cluster_roles", args)
        ok(res)
        posts = [e for e in proxy.attempts() if e["method"] == "POST" and "clusterroles" in e["path"]]
        assert [e["fault"] for e in posts] == ["500 after-forward", None] and posts[1]["status"] == 409, \
            proxy.summary()
        assert res["changed"] is True and [r["action"] for r in res["roles"]] == ["create"]
        live = fault.admin.sanitize_for_serialization(fault.rbac().read_cluster_role(name))
        assert live["rules"] and live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "vmo.rbac"
        again, _t = run_task("vmo.rbac.vmo_cluster_roles", args)
        assert ok(again)["changed"] is False
        # a foreign role of that name made between the plan and the create (the POST held 5 s by the proxy) is
        # still a conflict, never taken over
        delete_role()
        proxy.schedule(Rule(Fault.slow(5, after=False), methods=("POST",), path=r"/clusterroles\??$", times=1))

        def make_foreign():
            deadline = time.monotonic() + 120
            while not any(e["method"] == "POST" and "clusterroles" in e["path"] for e in proxy.attempts()):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)
            fault.rbac().create_cluster_role({"metadata": {"name": name}, "rules": []})

        racer = threading.Thread(target=make_foreign, daemon=True)
        racer.start()
        res, _t = run_task("vmo.rbac.vmo_cluster_roles", args)
        racer.join(10)
        msg = failed(res)
        assert "changed during the run" in msg, msg
        live = fault.admin.sanitize_for_serialization(fault.rbac().read_cluster_role(name))
        assert not (live["metadata"].get("labels") or {}) and not live.get("rules"), live  # left as its owner made it
    finally:
        fault.rbac().delete_cluster_role_binding(binding)
        delete_role()


def test_the_latency_model_charges_round_trips_as_a_link_does(fault, automation_sa, workdir, uid):
    """FaultProxy(latency=...) as the latency benchmark uses it, 200 ms away: a client that waits
    for each answer pays a round trip per request; a pipelining client (the validation's reviews)
    a round trip per window it sends, not per request, because the proxy times each request from
    when its bytes arrived and sends the answers back on a delay line while the next request is
    forwarded. The answers are the API server's, in order."""
    from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster as cluster_mod

    rtt = 0.2
    specs = [{"user": "lat-%s-%d" % (uid, i), "groups": ["system:authenticated"],
              "resourceAttributes": {"verb": "get", "resource": "virtualmachines", "namespace": "default"}}
             for i in range(48)]
    got = {}
    with FaultProxy(fault.server, fault.ca, fault.pki, workdir, latency=rtt) as proxy:
        for mode, asked, concurrency in (("one at a time", specs[:12], 1), ("pipelined", specs, 16)):
            proxy.schedule()
            client = cluster_mod.Cluster(via(proxy, automation_sa, request_timeout=10.0), component="latency-test",
                                         pool_size=concurrency)
            client.pipelining = mode == "pipelined"
            t0 = time.monotonic()
            statuses = client.subject_access_reviews(asked, concurrency=concurrency)
            got[mode] = {"seconds": time.monotonic() - t0, "trips": proxy.sequential_round_trips("vmo.rbac/"),
                         "connections": proxy.connections, "requests": len(proxy.attempts()),
                         "allowed": [s.get("allowed") for s in statuses]}
    one, piped = got["one at a time"], got["pipelined"]
    assert one["allowed"] == [False] * 12 and piped["allowed"] == [False] * 48  # nobody may, and every one answered
    assert one["requests"] == 12 and piped["requests"] == 48
    # 12 requests one after the other and a connection set-up (two round trips)
    assert one["trips"] >= 12 + 2 and one["seconds"] >= 14 * rtt, one
    # 48 reviews, 16 in flight over 2 connections (windows of 8, refilled 4 at a time): each
    # connection writes 5 times; with the two set-ups about 8 round trips, not 24 or more
    assert piped["connections"] == 2 and piped["trips"] <= 12, piped
    assert piped["seconds"] < 12 * rtt + 4, piped  # about 8 round trips; the old model needed 26 (5.2 s)
    print("\n%.0f ms away: one at a time %d reviews %.2f s, %d round trips; pipelined %d reviews %.2f s, %d round "
          "trips" % (rtt * 1000, 12, one["seconds"], one["trips"], 48, piped["seconds"], piped["trips"]))


PERSISTENT = {
    # name: (rules(K), state to start from, expected words in the message)
    "503 on every create": (lambda k: [Rule(Fault.status(503), methods=("POST",), skip=k, times=None)],
                            "empty", ["kept failing (503", "after 2 retries"]),
    "429 Retry-After: 3600 on every create": (
        lambda k: [Rule(Fault.status(429, retry_after=3600), methods=("POST",), skip=k, times=None)],
        "empty", ["kept failing (429", "after 2 retries"]),
    "reset on every create": (lambda k: [Rule(Fault.reset(), methods=("POST",), skip=k, times=None)],
                              "empty", ["cannot reach the API server", "after 2 retries"]),
    "every reply held beyond request_timeout": (
        lambda k: [Rule(Fault.slow(6), skip=6 + k, times=None)],
        "empty", ["cannot reach the API server", "after 2 retries", "timed out"]),
    "500 after every update reached the API server": (
        lambda k: [Rule(Fault.status(500, after=True), methods=("PUT",), skip=k, times=None)],
        "v1", ["kept failing (500", "after 2 retries"]),
}


@pytest.mark.parametrize("case", list(PERSISTENT))
def test_persistent_faults_fail_clearly_within_a_bounded_time(fault, fault_namespaces, automation_sa, proxy, uid,
                                                              case):
    """After 4 writes go through, every further write (or every request) meets the same fault. With
    api_retries=2 and request_timeout=2 the task fails: the message names the API server, what kept
    failing, the retries, and how many planned writes were made; the failing request was tried
    exactly 3 times (proxy log); the time from the first fault to the end is bounded by
    3 x request_timeout + the capped backoff; every owned binding holds exactly the subjects of a
    declaration (the old or the new one), never a mix."""
    rules, start, words = PERSISTENT[case]
    owner = "pf-" + uid
    nss = fault_namespaces("pf-a", "pf-b", "pf-c", "pf-d")
    v1, v2 = layout(uid, nss), layout(uid, nss, extra_user=True)
    if start == "v1":
        ok(run_module(MODULE, dict(automation_sa.params, owner=owner, bindings=v1)))
        target, total = v2, 13  # 13 updates
    else:
        target, total = v1, 13  # 13 creates
    k = 4
    timeout, retries = 2.0, 2
    proxy.schedule(*rules(k))
    # one write after the other, so that exactly k writes go through before the fault
    # (test_concurrent_writes_under_a_persistent_fault: the writes sent together)
    res, elapsed = run_task(MODULE, dict(via(proxy, automation_sa, request_timeout=timeout, api_retries=retries,
                                             concurrency=1), owner=owner, bindings=target))
    msg = failed(res)
    assert proxy.url in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    assert "%d of %d planned writes were made before this failure" % (k, total) in msg, msg
    assert res["changed"] is True and len(res["actions"]) == k

    attempts = proxy.attempts()
    last = attempts[-1]
    same = [e for e in attempts if (e["method"], e["path"], e["body"]) == (last["method"], last["path"], last["body"])]
    assert len(same) == retries + 1 and all(e["fault"] for e in same), proxy.summary()
    first_fault = next(e for e in attempts if e["fault"])
    backoff = 4.0 + 10.0  # urllib3 backoff (0, 0.5 s) and Retry-After, capped at 10 s each
    bound = (retries + 1) * (timeout if "held" in case else 0.5) + retries * backoff + 5
    took = (last["t_end"] or last["t"]) - first_fault["t"]
    assert took <= bound, "%.1fs from the first fault to the last attempt; bound %.1fs" % (took, bound)
    assert elapsed <= bound + 90, "the task took %.1fs" % elapsed
    if "3600" in case:
        gaps = [b["t"] - a["t_end"] for a, b in zip(same, same[1:])]
        assert all(1.0 <= g <= 10.0 + 1.5 for g in gaps), gaps

    held = assert_exact_or_absent(fault, owner, declared(owner, v1), declared(owner, target))
    if start == "empty":
        assert k <= len(held) <= k + 1, len(held)  # +1: a write whose answer was lost
    else:
        new = [key for key, obj in held.items() if subjects_of(obj) == declared(owner, v2)[key]]
        assert k <= len(new) <= k + 1 and len(held) == 13, (len(new), len(held))
    print("\n%s: failed after %.1fs (%.1fs from the first fault; bound %.1fs); %s\n  %s"
          % (case, elapsed, took, bound, proxy.summary(), msg))


@pytest.mark.parametrize("case", ["503 on every create", "500 after every update reached the API server"])
def test_concurrent_writes_under_a_persistent_fault(fault, fault_namespaces, automation_sa, proxy, uid, case):
    """The default concurrency (16): after 4 writes every further one meets the fault, while up to
    16 are in flight. The task fails clearly within the bounded time; the writes it reports as
    made are on the cluster, and nothing else changed but writes whose answer was lost (at most
    one per write in flight); every owned binding holds the subjects of one declaration; no write
    of a later wave was sent; the next run without faults converges and the one after writes nothing."""
    rules, start, words = PERSISTENT[case]
    owner = "pc-" + uid
    nss = fault_namespaces("pc-a", "pc-b", "pc-c", "pc-d")
    v1, v2 = layout(uid, nss), layout(uid, nss, extra_user=True)
    if start == "v1":
        ok(run_module(MODULE, dict(automation_sa.params, owner=owner, bindings=v1)))
    target = v2 if start == "v1" else v1
    timeout, retries, k = 2.0, 2, 4
    proxy.schedule(*rules(k))
    res, elapsed = run_task(MODULE, dict(via(proxy, automation_sa, request_timeout=timeout, api_retries=retries),
                                         owner=owner, bindings=target))
    msg = failed(res)
    assert proxy.url in msg and all(w in msg for w in words), msg
    made = len(res["actions"])
    assert "%d of 13 planned writes were made before this failure" % made in msg, msg
    assert made >= k and res["changed"] is True
    assert elapsed <= (retries + 1) * 0.5 + retries * 14 + 5 + 90, "the task took %.1fs" % elapsed
    held = assert_exact_or_absent(fault, owner, declared(owner, v1), declared(owner, target))
    changed = [key for key, obj in held.items() if subjects_of(obj) == declared(owner, target)[key]]
    done = {(a["kind"], a.get("namespace", ""), a["name"]) for a in res["actions"]}
    assert done <= set(changed), (done, changed)
    if case.startswith("503"):  # refused before it reached the API server: nothing more than reported
        assert set(changed) == done, (done, changed)
    else:  # written, then the answer lost: at most one per write in flight
        assert len(changed) <= made + 16, (made, len(changed))
    assert not [e for e in proxy.attempts() if e["method"] == "DELETE"]  # no later wave
    proxy.schedule()
    again = ok(run_task(MODULE, dict(via(proxy, automation_sa), owner=owner, bindings=target))[0])
    assert set(assert_exact_or_absent(fault, owner, declared(owner, target))) == set(declared(owner, target))
    assert again["changed"] is (len(changed) < 13)
    assert ok(run_task(MODULE, dict(via(proxy, automation_sa), owner=owner, bindings=target))[0])["changed"] is False
    print("\n%s, concurrency 16: failed after %.1fs with %d of 13 writes made (%d changed on the cluster); %s"
          % (case, elapsed, made, len(changed), proxy.summary()))


# ------------------------------------------------------------------ role switch under load


def test_role_set_switch_under_load_leaves_no_access_gap(fault, fault_namespaces, uid):
    """122 bindings (three personas in 40 namespaces, two cluster-wide grants) switch from the vmo
    role set to the kubernetes one: 122 creates, then 122 deletes. Eight threads ask the API server
    about every subject in every namespace in turn the whole time; not one answer is 'denied', and
    every one of the 122 checks was asked while the module wrote."""
    owner = "load-" + uid
    nss = fault_namespaces(*["l%02d" % i for i in range(40)])
    sa_ns = nss[0]
    sa_user = "system:serviceaccount:%s:robot" % sa_ns
    admin = fault.identity("fault-load-" + uid)
    bindings = [
        {"persona": "admin", "groups": ["admins-" + uid]},
        {"persona": "viewer", "service_accounts": ["%s/robot" % sa_ns]},
        {"persona": "power-user", "users": ["pu-" + uid], "namespaces": nss},
        {"persona": "user", "groups": ["users-" + uid], "namespaces": nss},
        {"persona": "viewer", "groups": ["viewers-" + uid], "namespaces": nss},
    ]
    res = ok(run_module(MODULE, dict(admin.params, owner=owner, bindings=bindings)))
    assert res["summary"]["created"] == 122
    checks = {"admin@" + nss[1]: ("a-" + uid, ["admins-" + uid], nss[1]),
              "sa@" + nss[2]: (sa_user, ["system:serviceaccounts", "system:serviceaccounts:" + sa_ns], nss[2])}
    for ns in nss:
        checks.update({"power-user@" + ns: ("pu-" + uid, [], ns), "user@" + ns: ("u-" + uid, ["users-" + uid], ns),
                       "viewer@" + ns: ("v-" + uid, ["viewers-" + uid], ns)})
    wait_until_allowed(fault, checks, timeout=30.0)

    offset = fault.audit_log.stat().st_size
    with AccessPoller(fault, checks, threads=8) as poller:
        t0 = time.monotonic()
        res = ok(run_module(MODULE, dict(admin.params, owner=owner, bindings=bindings, role_set="kubernetes",
                                         allow_privileged=True)))
        took = time.monotonic() - t0
    assert not poller.errors, poller.errors
    assert poller.denied() == {}, "access gap: %s" % {k: len(v) for k, v in poller.denied().items()}
    assert res["summary"] == {"created": 122, "updated": 0, "replaced": 122, "deleted": 0, "unchanged": 0}

    events = writes(read_audit(fault.audit_log, offset, admin.user))
    verbs = [e["verb"] for e in events]
    assert verbs == ["create"] * 122 + ["delete"] * 122, verbs
    window = (audit_ts(events[0]["requestReceivedTimestamp"]), audit_ts(events[-1]["stageTimestamp"]))
    during = poller.polls_between(*window)
    total = sum(len(a) for a in poller.answers.values())
    assert all(n >= 1 for n in during.values()), "not asked while the module wrote: %s" % [
        k for k, n in during.items() if n < 1]
    held = fault.bindings(owner)
    assert sorted(set(v["roleRef"]["name"] for v in held.values())) == ["admin", "cluster-admin", "edit", "view"]
    assert len(held) == 122
    print("\nswitch under load: 244 writes in %.1fs (task %.1fs); %d SubjectAccessReviews, %d while writing "
          "(per check: min %d, median %d); 0 denied"
          % (window[1] - window[0], took, total, sum(during.values()), min(during.values()),
             sorted(during.values())[len(during) // 2]))


# ------------------------------------------------------------------ two owners with purge


def _owner_rounds(uid, nss):
    """Owner A manages admin and viewer, owner B power-user and user, in the same 12 namespaces;
    each round moves, adds and drops grants, so that each owner's purge has something to delete."""
    a = [
        [{"persona": "admin", "groups": ["a-admins-" + uid]},
         {"persona": "viewer", "groups": ["a-viewers-" + uid], "namespaces": nss[0:8]}],
        [{"persona": "admin", "groups": ["a-admins-" + uid], "users": ["a-boss-" + uid]},
         {"persona": "viewer", "groups": ["a-viewers-" + uid], "namespaces": nss[4:12]}],
        [{"persona": "viewer", "users": ["a-v-" + uid], "namespaces": nss}],
    ]
    b = [
        [{"persona": "power-user", "groups": ["b-pu-" + uid], "namespaces": nss[0:6]},
         {"persona": "user", "groups": ["b-users-" + uid], "namespaces": nss}],
        [{"persona": "power-user", "groups": ["b-pu-" + uid], "namespaces": nss[6:12]},
         {"persona": "user", "groups": ["b-users-" + uid]}],
        [{"persona": "power-user", "groups": ["b-pu-" + uid], "users": ["b-boss-" + uid], "namespaces": nss}],
    ]
    return a, b


def _owner_sa(fault, ns, name):
    """A ServiceAccount bound to the shipped least-privilege ClusterRole (the proxy forwards tokens)."""
    sa = fault.service_account(ns, name)
    fault.rbac().create_cluster_role_binding({
        "metadata": {"name": "it-%s-%s" % (name, ns)},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "vmo-rbac-automation"},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]})
    return sa


def test_two_owners_with_purge_never_delete_each_others_bindings(fault, fault_namespaces, uid, tmp_path, proxy):
    """Owner A (admin, viewer) and owner B (power-user, user), both with purge: true, in the same
    namespaces: three rounds alternately (A, B, A, B, A, B in one playbook), then three rounds at
    the same time (two hosts, forks=2, through the fault proxy whose gate holds each owner's first
    answer until the other owner's first request reached the API server, so the runs provably
    overlap). After each phase each owner holds exactly its last declaration; in the audit log each
    identity wrote only to its own owner's names; hand-made bindings and a third owner's are
    untouched."""
    nss = fault_namespaces(*["o%02d" % i for i in range(12)])
    bots = fault_namespaces("owners")[0]
    ident = {"a": _owner_sa(fault, bots, "owner-a"), "b": _owner_sa(fault, bots, "owner-b")}
    owners = {"a": "oa-" + uid, "b": "ob-" + uid}
    rounds = dict(zip("ab", _owner_rounds(uid, nss)))
    third = fault.identity("fault-owner-c-" + uid)
    ok(run_module(MODULE, dict(third.params, owner="oc-" + uid, bindings=[
        {"persona": "viewer", "groups": ["c-" + uid], "namespaces": nss}, {"persona": "user", "users": ["c-" + uid]}])))
    rbac = fault.rbac()
    for ns in nss:
        rbac.create_namespaced_role_binding(
            ns, binding_manifest(RB, "hand-made-" + uid, "spectro-vm-viewer", "h-" + uid, ns))
    foreign = {k: v for k, v in local_snapshot(fault, uid, nss).items()
               if not any(k[2].startswith(o + "-") for o in owners.values())}
    assert len(foreign) == 12 + 12 + 1 + 2  # hand-made, third owner, the two owners' own ClusterRoleBindings

    def check(phase, offset):
        for who in "ab":
            held = fault.bindings(owners[who])
            want = declared(owners[who], rounds[who][-1])
            assert {k: subjects_of(v) for k, v in held.items()} == want, (phase, who)
            mine = writes(read_audit(fault.audit_log, offset, ident[who].user))
            stray = [(e["verb"], e["objectRef"].get("namespace"), e["objectRef"].get("name")) for e in mine
                     if not (e["objectRef"].get("name") or "").startswith(owners[who] + "-")]
            assert mine and stray == [], (phase, who, stray)
        assert {k: v for k, v in local_snapshot(fault, uid, nss).items() if k in foreign} == foreign, phase

    # Alternately: A1 B1 A2 B2 A3 B3, each purging.
    offset = fault.audit_log.stat().st_size
    tasks = []
    for r in range(3):
        for who in "ab":
            tasks.append({"name": "%s round %d" % (who, r + 1), "ignore_errors": True, MODULE: dict(
                ident[who].params, owner=owners[who], purge=True, bindings=rounds[who][r])})
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    assert len(run.results) == 6, (run.rc, run.stderr[-2000:])
    deleted = 0
    for t in run.results:
        res = ok(t["result"])
        who = t["task"][0]
        assert all(a["name"].startswith(owners[who] + "-") for a in res["actions"]), (t["task"], res["actions"])
        deleted += res["summary"]["deleted"]
    assert deleted >= 8  # each owner's purge had work to do
    check("alternately", offset)

    # At the same time: two hosts, one per owner, forks=2; the same three rounds again (round 1 undoes
    # most of round 3).
    inv = tmp_path / "owners.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {
        who: {"ansible_connection": "local", "ansible_python_interpreter": str(BIN / "python"),
              "conn": via(proxy, ident[who]), "owner": owners[who], "rounds": rounds[who]} for who in "ab"}}}))
    args = {k: "{{ conn.%s }}" % k for k in ident["a"].params}
    tasks = [{"name": "round %d" % (r + 1), MODULE: dict(args, owner="{{ owner }}", purge=True,
                                                        bindings="{{ rounds[%d] }}" % r)} for r in range(3)]
    offset = fault.audit_log.stat().st_size
    proxy.schedule(Rule(Fault.gate(2), times=None))
    run = run_playbook([{"hosts": "all", "gather_facts": False, "tasks": tasks}], inventory=inv, args=["-f", "2"])
    assert run.rc == 0, (run.stdout[-3000:], run.stderr[-2000:])
    assert len(run.results) == 6
    # Both owners' modules did run at the same time: each one's first answer was held by the gate
    # until the other's first request had been answered by the API server.
    log = proxy.attempts("")
    assert not [e for e in log if "timed out" in (e["fault"] or "")], "the gate timed out"
    firsts = {}
    for e in log:
        firsts.setdefault(e["client"], e)
    assert len(firsts) == 2, firsts
    (a1, b1) = firsts.values()
    assert a1["t"] < b1["t"] < a1["t_end"] or b1["t"] < a1["t"] < b1["t_end"], "the runs did not overlap: %s" % log
    events = read_audit(fault.audit_log, offset)
    seq = [(e["user"]["username"], audit_ts(e["requestReceivedTimestamp"])) for e in events
           if e["user"]["username"] in (ident["a"].user, ident["b"].user)]
    interleaved = sum(1 for x, y, z in zip(seq, seq[1:], seq[2:]) if x[0] == z[0] != y[0] and z[1] - x[1] < 1.0)
    check("concurrently", offset)
    print("\ntwo owners: alternately 6 runs (%d purge deletes), concurrently 3 rounds (%d interleavings in the "
          "audit log); each owner holds exactly its own declaration" % (deleted, interleaved))


# ------------------------------------------------------------------- day 0: the API server itself


def test_day0_waits_for_the_api_server_then_grants(fault, uid, tmp_path):
    """A cluster being born refuses connections for minutes. With wait_for_api_server the module waits
    for /readyz and then grants; without it, it fails with the API server named (after its retries)."""
    me = fault.identity("day0-" + uid)
    owner = "d0-" + uid
    bindings = [{"persona": "viewer", "users": ["d0-" + uid]}]
    c = cp.Cluster(fault.name)
    assert c.load()
    outcome = {}

    def run_waiting():  # the module waits in this thread; the API server is started from the test's own
        t0 = time.monotonic()  # thread (its parent-death signal follows the thread that starts it)
        outcome["res"] = run_module(MODULE, dict(me.params, owner=owner, bindings=bindings, wait_for_api_server=120,
                                                 api_retries=1))
        outcome["waited"] = time.monotonic() - t0

    waiter = threading.Thread(target=run_waiting)
    c.stop(["kube-apiserver"])
    try:
        down = run_module(MODULE, dict(me.params, owner=owner, bindings=bindings, api_retries=1))
        assert fault.server in failed(down)
        waiter.start()
        time.sleep(8)
    finally:
        c.start_apiserver(owned=True)
        c.wait_ready(time.monotonic() + cp.READY_TIMEOUT)
        if waiter.ident is not None:
            waiter.join()
    res, waited = ok(outcome["res"]), outcome["waited"]
    assert res["changed"] is True and waited >= 8
    fault.wait_until_can("d0-" + uid, "list", "virtualmachines", "kubevirt.io", "default")
    print("\nday 0: the module waited %.1fs for the API server, then granted" % waited)
    fault.delete_bindings(owner)


def test_day0_wait_does_not_hide_rejected_credentials(fault, uid):
    """Waiting mends a server that is not up yet, never credentials it refuses: a 401 fails at once."""
    me = fault.identity("day0-bad-" + uid)
    params = dict(me.params)
    params.pop("client_cert")
    params.pop("client_key")
    params["api_key"] = "not-a-token-" + uid
    t0 = time.monotonic()
    res = run_module(MODULE, dict(params, owner="d0b-" + uid, bindings=[{"persona": "viewer", "users": ["x"]}],
                                  wait_for_api_server=120))
    msg = failed(res)
    assert "401" in msg and time.monotonic() - t0 < 60
    assert "not-a-token-" + uid not in res["_stdout"]
