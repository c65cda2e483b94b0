"""Contract tests: the collection's Palette client against the stand-in, which validates every request
and response against the pinned specification (tests/fixtures/palette/palette-api-subset.json).

The stand-in listens on 127.0.0.1 only; no cluster is needed. The ``palette_standin`` fixture fails a
test when any request or response left the specification, so every test here is also a contract test
of the calls it makes. The last tests are tests of the test: a deliberate break in a request, and one in
a response, must be caught.
"""

from __future__ import annotations

import textwrap
import time

import pytest
import yaml

from ansible_collections.vmo.rbac.plugins.inventory.palette import has_pack
from ansible_collections.vmo.rbac.plugins.module_utils._palette import client as palette_api
from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import PaletteClient, PaletteError
from tests.helpers.palette_standin import load_spec, load_spec_dict

pytest_plugins = ["pytester"]


def client(standin, project=None, **kw):
    kw.setdefault("retries", 2)
    return PaletteClient(standin.url, standin.api_key, project_uid=project, ca_cert=standin.ca_cert, **kw)


def test_the_pinned_specification_is_valid_swagger_2_after_the_documented_normalisation():
    """bravado-core's full validation of the document (swagger-spec-validator): only the three
    top-level fields load_spec_dict() removes keep the published file from passing."""
    spec = load_spec(validate_spec=True)
    ops = sorted(op.operation_id for res in spec.resources.values() for op in res.operations.values())
    assert len(ops) == 11 and "v1SpectroClustersUidConfigRbacsUpdate" in ops
    raw = load_spec_dict()
    assert "basePath" not in raw and raw["swagger"] == "2.0"


def test_search_reads_every_page_of_130_clusters(palette_standin):
    project = palette_standin.add_project("fleet")
    for i in range(130):
        palette_standin.add_cluster(project, "vmo-%03d" % i)
    other = palette_standin.add_project("elsewhere")
    palette_standin.add_cluster(other, "not-mine")
    c = client(palette_standin, project)
    started = time.monotonic()
    items = c.search_clusters()
    assert len(items) == 130 and len({i["metadata"]["uid"] for i in items}) == 130
    assert c.requests == 3  # 50 + 50 + 30, following continue tokens
    searches = palette_standin.calls(op="v1SpectroClustersSearchFilterSummary")
    assert [s["query"].get("continue") is None for s in searches] == [True, False, False]
    assert all(s["query"]["limit"] == "50" and s["project"] == project for s in searches)
    assert time.monotonic() - started < 5


def test_tenant_scope_sends_no_project_header(palette_standin):
    a, b = palette_standin.add_project("a"), palette_standin.add_project("b")
    palette_standin.add_cluster(a, "one")
    palette_standin.add_cluster(b, "two")
    items = client(palette_standin).search_clusters()
    assert sorted(i["specSummary"]["projectMeta"]["name"] for i in items) == ["a", "b"]
    assert palette_standin.calls()[0]["project"] == ""


def test_cluster_profiles_kubeconfigs_and_project(palette_standin):
    project = palette_standin.add_project("fleet")
    plain = palette_standin.add_cluster(project, "plain")
    encoded = palette_standin.add_cluster(project, "encoded", base64_kubeconfig=True, packs=["other"])
    c = client(palette_standin, project)
    assert c.get_project(project)["metadata"]["name"] == "fleet"
    assert c.get_cluster(plain.uid)["metadata"]["name"] == "plain"
    assert has_pack(c.get_profiles(plain.uid), "virtual-machine-orchestrator")
    assert not has_pack(c.get_profiles(encoded.uid), "virtual-machine-orchestrator")
    for kind in ("admin", "frp"):
        for cl in (plain, encoded):
            doc = yaml.safe_load(c.get_kubeconfig(cl.uid, kind))
            assert doc["clusters"][0]["name"] == cl.name
    frp = palette_standin.calls(op="v1SpectroClustersUidKubeConfig")
    assert frp and all(r["query"] == {"frp": "true"} for r in frp)


def test_rbac_settings_round_trip_and_404_means_none_yet(palette_standin):
    project = palette_standin.add_project("fleet")
    cl = palette_standin.add_cluster(project, "one")
    c = client(palette_standin, project)
    assert c.get_rbacs(cl.uid) == []  # 404 for the settings, but the cluster exists
    assert [r["status"] for r in palette_standin.calls()] == [404, 200]
    body = [{"metadata": {"name": "vmo-rbac.x.clusterrolebindings", "labels": {"vmo.rbac/owner": "x"}},
             "spec": {"isSystem": False, "bindings": [
                 {"type": "ClusterRoleBinding", "role": {"kind": "ClusterRole", "name": "view"},
                  "subjects": [{"type": "Group", "name": "g"}, {"type": "ServiceAccount", "name": "ci",
                                                                "namespace": "ops"}]}]}}]
    c.put_rbacs(cl.uid, body)
    items = c.get_rbacs(cl.uid)
    assert len(items) == 1 and items[0]["metadata"]["labels"] == {"vmo.rbac/owner": "x"}
    assert items[0]["spec"]["bindings"] == body[0]["spec"]["bindings"]
    assert palette_api.is_uid(items[0]["metadata"]["uid"])


def test_a_wrong_cluster_uid_is_an_error_not_an_empty_list(palette_standin):
    project = palette_standin.add_project("fleet")
    with pytest.raises(PaletteError) as err:
        client(palette_standin, project).get_rbacs("0" * 24)
    assert err.value.status == 404 and "no cluster" in err.value.message


@pytest.mark.parametrize("status, words", [
    (401, ["rejected the API key", "SPECTROCLOUD_APIKEY"]),
    (403, ["403 Forbidden", "lacks the permission"]),
    (404, ["404 Not Found"]),
])
def test_errors_name_the_request_and_never_the_key(palette_standin, status, words):
    project = palette_standin.add_project("fleet")
    cl = palette_standin.add_cluster(project, "one")
    palette_standin.fault(status, path="/profiles$")
    c = client(palette_standin, project)
    with pytest.raises(PaletteError) as err:
        c.get_profiles(cl.uid)
    assert err.value.status == status
    for w in words:
        assert w in err.value.message
    assert "/v1/spectroclusters/%s/profiles" % cl.uid in err.value.message
    assert palette_standin.api_key not in err.value.message


def test_a_wrong_key_is_401_and_the_message_does_not_echo_it(palette_standin):
    project = palette_standin.add_project("fleet")
    wrong = "wrong-" + palette_standin.api_key[6:]
    c = PaletteClient(palette_standin.url, wrong, project_uid=project, ca_cert=palette_standin.ca_cert)
    with pytest.raises(PaletteError) as err:
        c.search_clusters()
    assert err.value.status == 401 and wrong not in err.value.message and wrong not in str(err.value)


def test_429_and_5xx_are_retried_with_backoff_and_a_bounded_retry_after(palette_standin):
    project = palette_standin.add_project("fleet")
    cl = palette_standin.add_cluster(project, "one")
    palette_standin.fault(429, path="/profiles$", retry_after="1")
    palette_standin.fault(503, path="/profiles$")
    c = client(palette_standin, project, retries=3)
    started = time.monotonic()
    assert has_pack(c.get_profiles(cl.uid), "virtual-machine-orchestrator")
    assert [r["status"] for r in palette_standin.calls()] == [429, 503, 200]
    assert 1.0 <= time.monotonic() - started < 5
    assert c.requests == 1  # one request for the caller, retried underneath


def test_retries_give_up_and_say_so(palette_standin):
    project = palette_standin.add_project("fleet")
    cl = palette_standin.add_cluster(project, "one")
    palette_standin.fault(500, path="/profiles$", times=10)
    with pytest.raises(PaletteError) as err:
        client(palette_standin, project, retries=1).get_profiles(cl.uid)
    assert err.value.status == 500 and "kept failing (500)" in err.value.message and "after 1 retries" in err.value.message


def test_tls_is_verified(palette_standin):
    project = palette_standin.add_project("fleet")
    c = PaletteClient(palette_standin.url, palette_standin.api_key, project_uid=project, retries=0)
    with pytest.raises(PaletteError) as err:
        c.search_clusters()  # the stand-in's CA is not in the system's store
    assert "cannot reach Palette" in err.value.message and "CERTIFICATE_VERIFY_FAILED" in err.value.message


@pytest.mark.parametrize("host, problem", [
    ("http://palette.example.com", "only https"),
    ("https://user:pw@palette.example.com", "not a host name"),
    ("https://palette.example.com/v1", "without a path"),
    ("", "expected a host"),
])
def test_hosts_refused_before_any_request(host, problem):
    with pytest.raises(ValueError) as err:
        palette_api.normalize_host(host)
    assert problem in str(err.value) and "pw" not in str(err.value)


def test_kubeconfig_bodies_plain_base64_or_refused():
    text = "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster: {server: 'https://x'}\n"
    import base64
    assert palette_api.decode_kubeconfig(text.encode()) == text
    assert palette_api.decode_kubeconfig(base64.b64encode(text.encode())) == text
    wrapped = base64.encodebytes(text.encode())  # with line breaks
    assert palette_api.decode_kubeconfig(wrapped) == text
    with pytest.raises(ValueError) as err:
        palette_api.decode_kubeconfig(b"token: s3cr3t-value")
    assert "s3cr3t" not in str(err.value)


# ----------------------------------------------------------------------------- tests of the test


def test_the_standin_refuses_a_request_that_leaves_the_specification(palette_standin):
    """A deliberate break: the RBAC PUT with a misspelled enum, and with an undeclared property (a Go
    server generated from the specification would drop it silently)."""
    project = palette_standin.add_project("fleet")
    cl = palette_standin.add_cluster(project, "one")
    c = client(palette_standin, project, retries=0)
    with pytest.raises(PaletteError) as err:
        c.put_rbacs(cl.uid, [{"spec": {"bindings": [{"type": "Rolebinding"}]}}])
    assert err.value.status == 400
    with pytest.raises(PaletteError):
        c.request("PUT", "/v1/spectroclusters/%s/config/rbacs" % cl.uid, body={"rbac": []})
    with pytest.raises(PaletteError):
        c.request("POST", "/v1/dashboard/spectroclusters/search", query={"limit": 51}, body={})
    violations = palette_standin.take_violations()
    assert len(violations) == 3
    assert "'Rolebinding' is not one of" in violations[0]
    assert "do not declare: rbac" in violations[1] or "does not declare: rbac" in violations[1]
    assert "51" in violations[2]
    assert palette_standin.rbac_items(cl.uid) == []  # nothing was stored


def test_the_standin_refuses_to_send_a_response_that_leaves_the_specification(palette_standin):
    project = palette_standin.add_project("fleet")
    palette_standin.add_cluster(project, "one")
    palette_standin.break_responses = True
    with pytest.raises(PaletteError) as err:
        client(palette_standin, project, retries=0).search_clusters()
    assert err.value.status == 500
    assert any("response does not fit" in v and "'many'" in v for v in palette_standin.take_violations())


def test_a_contract_test_fails_when_the_client_leaves_the_specification(pytester):
    """The fixture turns a violation into a failed test: a client that sends ``limit=60`` (the
    specification's maximum is 50) fails its contract test, with the reason."""
    pytester.makepyfile(test_inner=textwrap.dedent("""
        from ansible_collections.vmo.rbac.plugins.module_utils._palette.client import PaletteClient, PaletteError
        from tests.helpers.palette_fixtures import palette_spec, palette_standin  # noqa: F401

        def test_search_with_a_page_too_large(palette_standin):
            project = palette_standin.add_project("fleet")
            c = PaletteClient(palette_standin.url, palette_standin.api_key, project_uid=project,
                              ca_cert=palette_standin.ca_cert, retries=0)
            try:
                c.search_clusters(page_size=60)
            except PaletteError:
                pass  # a client that swallows the 400: the fixture must still fail the test
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*leaves the specification*", "*search*60 is greater than the maximum of 50*"])


def test_palettes_own_words_are_shown_bounded_and_without_control_characters(palette_standin):
    """Attack pass (a middlebox, Palette tenant data): an error body's message is shown in module results,
    warnings and vmo_rbac_inventory_error. A message of 200,000 characters with terminal escape sequences,
    CR, LF and NUL was shown whole; now at most 300 characters of it, control characters as spaces, and the
    API key scrubbed before it is cut (a key across the cut is never shown in part)."""
    project = palette_standin.add_project("fleet")
    cl = palette_standin.add_cluster(project, "one")
    key = palette_standin.api_key
    palette_standin.fault(403, path="/profiles$",
                          message="\x1b[2J\x1b[1;1Hall good\r\n" + "A" * 270 + key + "B" * 200000 + "\x00end")
    c = client(palette_standin, project, retries=0)
    with pytest.raises(PaletteError) as err:
        c.get_profiles(cl.uid)
    said = err.value.message.split("Palette said: ", 1)[1]
    assert said.startswith("[2J [1;1Hall good AAA") and said.endswith("...") and len(said) <= 303
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in err.value.message)
    assert key[:12] not in err.value.message and "***" in said
