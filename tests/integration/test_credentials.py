"""Credentials and connections under a careless operator (issue 18, items 3 and 9), on the real
local control plane, through the entry points users take (ansible-playbook, ansible-rulebook,
ansible-runner).

Item 3: a token or key that cannot be an HTTP header value (the trailing newline of a YAML block
scalar, a pasted credential) is refused before the first request, naming the option and never
showing the value; the bad-input catalog (test_bad_input.py, test_palette_bad_input.py) holds one
case per option and client. Here: the event source, which used to print the token on every retry.
"""

from __future__ import annotations

import time
import uuid

import pytest
import yaml

from tests.helpers import eda


@pytest.fixture(scope="module")
def java():
    problem = eda.java_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


def test_the_event_source_refuses_a_token_with_a_newline_at_start_and_never_shows_it(java, cluster, tmp_path):
    """A pasted token with its trailing newline, given to the source of the shipped rulebook (as an EDA
    controller activation gives its clusters): the source refuses to start, naming the cluster and the
    option; it used to start, then fail every request with "Invalid header value b'Bearer <token>\\n'"
    and log that on every retry. No request reaches the API server."""
    token = "eda-newline-token-%s" % uuid.uuid4().hex
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"east": {"ansible_connection": "local"}}}}))
    audit = cluster.audit()
    rb = eda.Rulebook(tmp_path / "rulebook", inventory, variables={"vmo_rbac_eda_clusters": [
        {"name": "east", "host": cluster.server, "ca_cert": str(cluster.ca), "api_key": token + "\n"}]}).start()
    try:
        deadline = time.monotonic() + 120
        while rb.alive() and time.monotonic() < deadline and token not in rb.output():
            time.sleep(0.2)
        time.sleep(1)  # a retry or two more, if it retries
    finally:
        rb.stop()
    out = rb.output()
    assert token not in out, out[-3000:]
    assert "vmo.rbac.cluster_changes: clusters[0] (east): api_key: the value contains a line break (LF) at its end" \
        in out, out[-3000:]
    assert rb.proc.returncode not in (0, None)
    assert not [e for e in audit.events() if "(eda)" in (e.get("userAgent") or "")], "the source reached the cluster"
