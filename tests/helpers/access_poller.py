"""SubjectAccessReview polling while a module writes: is there a moment without access?

``checks`` is ``{label: (user, groups, namespace)}``, each a question "may this subject ``get``
``kubevirt.io/virtualmachines`` in this namespace (None: cluster-wide)". Background threads ask
the API server as fast as it answers and keep every answer with its time.
"""

from __future__ import annotations

import json
import threading
import time

URL = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def review_body(user, groups, namespace):
    return json.dumps({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                       "spec": {"user": user, "groups": list(groups) + ["system:authenticated"],
                                "resourceAttributes": {"verb": "get", "group": "kubevirt.io",
                                                       "resource": "virtualmachines", "namespace": namespace}}
                       }).encode()


def can_get_vms(cluster, user, namespace, groups=()):
    return cluster.can(user, "get", "virtualmachines", "kubevirt.io", namespace=namespace,
                       groups=list(groups) + ["system:authenticated"])


def wait_until_can_get_vms(cluster, user, namespace, groups=(), allowed=True):
    """``can_get_vms`` asked until the answer is ``allowed`` (bounded): right after a write the
    authorizer may not know the binding yet (kube.TestCluster.wait_until_can)."""
    cluster.wait_until_can(user, "get", "virtualmachines", "kubevirt.io", namespace=namespace,
                           groups=list(groups) + ["system:authenticated"], allowed=allowed)


def wait_until_allowed(cluster, checks, timeout=60.0):
    """Wait until every check is allowed (the authorizer's cache trails writes by milliseconds, by seconds at a
    load of 20-30: the bound only catches a binding that never takes effect),
    so that a 'denied' seen later is the module's doing, not the setup's."""
    deadline = time.monotonic() + timeout
    for label, (user, groups, namespace) in checks.items():
        while not can_get_vms(cluster, user, namespace, groups):
            assert time.monotonic() < deadline, "%s never got access" % label
            time.sleep(0.05)


class AccessPoller:
    """``with AccessPoller(cluster, checks) as poller:`` asks every check again and again until
    the block ends (and half a second more). One thread per check, or with ``threads`` that many,
    each asking its share of the checks in turn (for many checks on 2 cores)."""

    def __init__(self, cluster, checks, threads=None):
        self.cluster = cluster
        self.checks = checks
        self.answers = {label: [] for label in checks}  # label -> [(t_sent, t_answered, allowed)]
        self.errors = []
        self._stop = threading.Event()
        labels = list(checks)
        shares = [[label] for label in labels] if threads is None else [labels[i::threads] for i in range(threads)]
        self._threads = [threading.Thread(target=self._poll, args=(share,), daemon=True) for share in shares if share]

    def _poll(self, labels):
        # Raw requests over the admin client's connection pool: a pre-encoded body and a substring
        # test keep each poll to one round trip and little CPU, so the threads ask as often as the
        # API server answers.
        client = self.cluster.admin
        url = client.configuration.host + URL
        pool = client.rest_client.pool_manager
        bodies = [(label, review_body(*self.checks[label])) for label in labels]
        label = None
        try:
            while not self._stop.is_set():
                for label, body in bodies:
                    sent = time.time()
                    resp = pool.request("POST", url, body=body, headers=HEADERS)
                    answered = time.time()
                    if resp.status != 201:
                        raise AssertionError("SubjectAccessReview answered %s: %s" % (resp.status, resp.data[:300]))
                    self.answers[label].append((sent, answered, b'"allowed":true' in resp.data))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append("%s: %r" % (label, exc))

    def __enter__(self):
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + 10
        while not all(self.answers.values()) and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)  # keep asking a little after the run: the authorizer's cache trails the writes
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def denied(self):
        return {label: [a for a in answers if not a[2]] for label, answers in self.answers.items()
                if any(not a[2] for a in answers)}

    def polls_between(self, start, end):
        """Per check, how many answers the API server may have decided within [start, end]."""
        return {label: sum(1 for sent, answered, _ in answers if answered >= start and sent <= end)
                for label, answers in self.answers.items()}

    def interval_ms(self):
        """Median time between two answers of the same check."""
        gaps = sorted(b[1] - a[1] for answers in self.answers.values() for a, b in zip(answers, answers[1:]))
        return 1000 * gaps[len(gaps) // 2] if gaps else float("nan")
