"""The checks of the Palette options, made before any request (plugins/module_utils/_core/palette_checks.py):
``palette_kubeconfig`` and what may go with it, the backend options, a Palette uid and host."""

from __future__ import annotations

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import palette_checks as pc
from ansible_collections.vmo.rbac.plugins.module_utils._core import specs

KEY = "pk-secret-0123456789abcdef"
UID = "0123456789abcdef01234567"
GOOD = {"palette_kubeconfig": "admin", "palette_cluster_uid": UID, "palette_api_key": KEY}
BACKEND = {"backend": "palette", "palette_cluster_uid": "a" * 24, "palette_api_key": "k" * 20}


@pytest.mark.parametrize("params, field, words", [
    (dict(GOOD, palette_kubeconfig="client"), "palette_kubeconfig", "expected one of admin, frp"),
    (dict(GOOD, palette_cluster_uid=None), "palette_cluster_uid", "required with palette_kubeconfig"),
    (dict(GOOD, palette_cluster_uid="../x"), "palette_cluster_uid", "is not a Palette uid"),
    (dict(GOOD, palette_project_uid="a/b"), "palette_project_uid", "is not a Palette uid"),
    (dict(GOOD, palette_api_key=""), "palette_api_key", "SPECTROCLOUD_APIKEY"),
    (dict(GOOD, palette_api_key=KEY + "\n"), "palette_api_key", "line break (LF) at its end"),
    (dict(GOOD, palette_api_key=" " + KEY + "\r"), "palette_api_key", "carriage return (CR)"),
    (dict(GOOD, palette_api_key=KEY + "\u2028"), "palette_api_key", "outside Latin-1"),
    (dict(GOOD, palette_host="http://palette.example.com"), "palette_host", "only https"),
    (dict(GOOD, palette_ca_cert="/nonexistent/ca.pem"), "palette_ca_cert", "does not exist"),
    (dict(GOOD, context="prod"), "context", "given with palette_kubeconfig: "),
    (dict(GOOD, host="https://10.0.0.1:6443", api_key="t0ken-value"), "host", "given with palette_kubeconfig (and api_key)"),
    (dict(GOOD, kubeconfig={"apiVersion": "v1"}), "kubeconfig", "remove it, or palette_kubeconfig"),
    (dict(GOOD, ca_cert="/etc/ca.pem"), "ca_cert", "K8S_AUTH_"),
])
def test_problems_are_named_before_any_request(params, field, words):
    got = pc.check_kubeconfig(params)
    assert got is not None and got[0] == field and words in got[1], got
    assert KEY not in got[1] and "t0ken-value" not in got[1]


def test_nothing_to_check_without_palette_kubeconfig_and_what_may_go_with_it():
    assert pc.check_kubeconfig({"host": "https://x", "api_key": "t"}) is None
    assert pc.check_kubeconfig(dict(GOOD, validate_certs=False, impersonate_user="auditor", request_timeout=5)) is None


@pytest.mark.parametrize("change, field", [
    ({"palette_cluster_uid": None}, "palette_cluster_uid"),
    ({"palette_cluster_uid": "../x"}, "palette_cluster_uid"),
    ({"palette_project_uid": "a b"}, "palette_project_uid"),
    ({"palette_api_key": ""}, "palette_api_key"),
    ({"palette_host": "http://x"}, "palette_host"),
    ({"palette_ca_cert": "/nonexistent"}, "palette_ca_cert"),
    ({"backend": "kubernetes", "wait": 5}, "wait"),
])
def test_bad_backend_options_name_the_field(change, field):
    assert pc.check_backend(dict(BACKEND, **change))[0] == field


def test_the_wait_range_is_checked_with_every_other_limit():
    from ansible_collections.vmo.rbac.plugins.module_utils._core import options
    from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError

    for bad in (-1, pc.WAIT_MAX + 1):
        with pytest.raises(SpecError) as err:
            options.check_limits({"wait": bad})
        assert err.value.path == "wait"


def test_good_options_and_the_kubernetes_backend_pass():
    assert pc.check_backend(BACKEND) is None
    assert pc.check_backend({"backend": "kubernetes", "wait": 0}) is None
    assert pc.check_backend({}) is None


def test_the_palette_keys_are_the_backend_options():
    assert pc.PALETTE_KEYS == tuple(specs.PALETTE_ARG_SPEC)
    assert pc.PALETTE_KEYS[0] == "backend" and set(specs.PALETTE_CONNECTION_ARG_SPEC) < set(pc.PALETTE_KEYS)


@pytest.mark.parametrize("host, expected", [
    ("api.spectrocloud.com", "https://api.spectrocloud.com"),
    ("https://palette.example.com:8443/", "https://palette.example.com:8443"),
    (" https://[::1]:8443 ", "https://[::1]:8443"),
])
def test_a_host_is_normalized(host, expected):
    assert pc.normalize_host(host) == expected


@pytest.mark.parametrize("host, words", [
    ("http://palette.example.com", "only https"),
    ("https://me:secret-pw@palette.example.com", "is not a host name"),
    ("https://palette.example.com/v1", "without a path"),
    ("https://palette.example.com:x", "invalid port"),
    ("", "expected a host name"),
])
def test_a_bad_host_is_named_without_its_credential(host, words):
    with pytest.raises(ValueError) as err:
        pc.normalize_host(host)
    assert words in str(err.value) and "secret-pw" not in str(err.value)


@pytest.mark.parametrize("uid, ok", [("0123456789abcdef01234567", True), ("a.b-c_d", True), ("..", False),
                                     (".", False), ("a/b", False), ("", False), (None, False), ("x" * 129, False)])
def test_a_uid_is_one_path_segment(uid, ok):
    assert pc.is_uid(uid) is ok
