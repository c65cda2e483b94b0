"""Credentials and header values (issue 18, item 3): every value a client sends in a header or uses
as a URL is checked before the first request, failing with the option's name and never the value;
and every message leaves through one scrubber (module_utils/_http/transport.py) that knows every form a
secret takes in a message (as given, stripped, as Python escapes it, its long lines)."""

from __future__ import annotations

import logging
import runpy
from pathlib import Path

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._http import transport
from ansible_collections.vmo.rbac.plugins.module_utils._k8s import connection
from ansible_collections.vmo.rbac.plugins.module_utils._palette import client as palette
from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import Cluster

TOKEN = "tok-3f9a1c7e5b2d4a6c8e0f1a2b3c4d5e6f"
SOURCE = Path(__file__).resolve().parents[5] / "extensions" / "eda" / "plugins" / "event_source" / "cluster_changes.py"


# --------------------------------------------------------------------------- header values


@pytest.mark.parametrize("value, words", [
    (TOKEN + "\n", ("a line break (LF) at its end", "'|' block scalar")),
    (TOKEN + "\r\n", ("at its end",)),
    ("\n" + TOKEN, ("at its start",)),
    (TOKEN[:10] + "\n" + TOKEN[10:], ("a line break (LF)", "cannot carry control characters")),
    (TOKEN + "\x00", ("a NUL character",)),
    (TOKEN + "\x85", ("a control character",)),  # C1: Latin-1, but a control character
    (TOKEN + "\u2603", ("outside Latin-1",)),
    (42, ("a number, not text",)),
])
def test_a_credential_that_cannot_be_a_header_is_refused_without_its_value(value, words):
    with pytest.raises(transport.BadValue) as exc:
        transport.check_header("api_key", value)
    assert exc.value.path == "api_key" and str(exc.value).startswith("api_key: ")
    for w in words:
        assert w in exc.value.message, exc.value.message
    assert TOKEN not in str(exc.value) and TOKEN[:10] not in str(exc.value) and "\u2603" not in str(exc.value)


@pytest.mark.parametrize("value", [TOKEN, "Bearer " + TOKEN, "caf\u00e9-token", "a b\tc".replace("\t", " ")])
def test_what_http_can_carry_passes(value):
    assert transport.text_problem(value) is None
    transport.check_header("api_key", value)


def test_a_name_that_is_not_secret_is_described():
    with pytest.raises(transport.BadValue) as exc:
        transport.check_header("impersonate_groups[1]", "\u0431\u043e\u0442", secret=False)
    assert "'\u0431' (U+0431), outside Latin-1" in exc.value.message and exc.value.path == "impersonate_groups[1]"


@pytest.mark.parametrize("value, words", [
    ("::::", ("'::::' is not a URL",)),
    ("https://127.0.0.1:99999", ("the port must be a number from 1 to 65535",)),
    ("https://127.0.0.1:0", ("the port must be a number from 1 to 65535",)),
    ("https://api.example.com:x", ("the port must be",)),
    ("127.0.0.1:6443", ("has no scheme: write it as https://127.0.0.1:6443",)),
    ("localhost:6443", ("has no scheme",)),  # urllib3 would read the scheme "localhost"
    ("ftp://api.example.com", ("the scheme must be https or http",)),
    ("https://", ("has no host",)),
    ("https://api.example.com\r\nX: y", ("control character",)),
    (["https://a"], ("expected a URL, got a list",)),
])
def test_a_url_that_cannot_be_used_is_refused(value, words):
    with pytest.raises(transport.BadValue) as exc:
        transport.check_url("host", value)
    assert exc.value.path == "host"
    for w in words:
        assert w in exc.value.message, exc.value.message


def test_a_urls_user_information_is_never_shown():
    with pytest.raises(transport.BadValue) as exc:
        transport.check_url("proxy", "http://me:s3cr3t-pass@proxy:99999", schemes=("http", "https"))
    assert "s3cr3t-pass" not in str(exc.value) and "***@proxy" in str(exc.value)


@pytest.mark.parametrize("url", ["https://127.0.0.1:6443", "https://[::1]:6443/", "http://a.example/k8s/clusters/c-1",
                                 "https://api.example.com"])
def test_good_urls_pass(url):
    transport.check_url("host", url)


# --------------------------------------------------------------------- connection options


def test_every_connection_value_is_checked_naming_the_option():
    base = {"host": "https://a.example:6443", "api_key": TOKEN}
    cases = {
        "api_key": dict(base, api_key=TOKEN + "\n"),
        "impersonate_user": dict(base, impersonate_user="bob\r\nImpersonate-Group: system:masters"),
        "impersonate_groups[1]": dict(base, impersonate_groups=["ops", "\u0431\u043e\u0442"]),
        "proxy": dict(base, proxy="::::"),
        "host": dict(base, host="https://a.example:99999"),
        "no_proxy": dict(base, no_proxy="a.example\nb.example"),
        "proxy_headers.proxy_basic_auth": dict(base, proxy_headers={"proxy_basic_auth": "me:p\u2603ss"}),
        "proxy_headers.basic_auth": dict(base, proxy_headers={"basic_auth": "me:pass\n"}),
    }
    for option, params in cases.items():
        with pytest.raises(transport.BadValue) as exc:
            connection.check_values(params)
        assert exc.value.path == option, (option, str(exc.value))
        assert TOKEN not in str(exc.value) and "p\u2603ss" not in str(exc.value)
    connection.check_values(dict(base, impersonate_user="bob", impersonate_groups=["ops"], proxy="http://p:3128",
                                 no_proxy="a,b", proxy_headers={"basic_auth": "me:pass"}))


def test_a_value_from_the_environment_says_so():
    origins = connection.environment_origins({"host": "https://a"}, {"K8S_AUTH_API_KEY": TOKEN + "\n"})
    assert origins == {"api_key": "K8S_AUTH_API_KEY"}
    with pytest.raises(transport.BadValue) as exc:
        connection.check_values({"host": "https://a", "api_key": TOKEN + "\n"}, origins)
    assert "the value from K8S_AUTH_API_KEY contains a line break" in str(exc.value)


def test_environment_origins_follow_ansibles_fallback_rules():
    env = {"K8S_AUTH_HOST": "https://env", "K8S_AUTH_API_KEY": "x" * 8, "K8S_AUTH_SSL_CA_CERT": "/ca",
           "K8S_AUTH_VERIFY_SSL": "", "K8S_AUTH_CONTEXT": "c"}
    # given by the task (even as null, or under an alias): not from the environment; an empty variable: nothing
    got = connection.environment_origins({"host": None, "verify_ssl": True}, env)
    assert got == {"api_key": "K8S_AUTH_API_KEY", "ca_cert": "K8S_AUTH_SSL_CA_CERT", "context": "K8S_AUTH_CONTEXT"}
    assert connection.environment_origins({"ssl_ca_cert": "/mine", "api_key": "k"}, env) == {
        "host": "K8S_AUTH_HOST", "context": "K8S_AUTH_CONTEXT"}


# ------------------------------------------------------------------------------ the clients


def test_the_cluster_client_checks_before_its_first_request(tmp_path):
    """Cluster() is the last line before the socket: the kubeconfig's token (not an option) too."""
    with pytest.raises(transport.BadValue) as exc:
        Cluster({"host": "https://127.0.0.1:1", "api_key": TOKEN + "\n"})
    assert exc.value.path == "api_key" and TOKEN not in str(exc.value)
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
                  "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                  "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                  "users": [{"name": "u", "user": {"token": TOKEN + "\u2603"}}]}
    with pytest.raises(transport.BadValue) as exc:
        Cluster({"kubeconfig": kubeconfig})
    assert exc.value.path == "kubeconfig" and "outside Latin-1" in str(exc.value) and TOKEN not in str(exc.value)
    with pytest.raises(transport.BadValue) as exc:
        Cluster({"host": "https://127.0.0.1:1", "api_key": TOKEN, "impersonate_groups": ["a", "b\nc"]})
    assert exc.value.path == "impersonate_groups[1]"
    kubeconfig["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:70000"
    kubeconfig["users"][0]["user"]["token"] = TOKEN
    with pytest.raises(transport.BadValue) as exc:
        Cluster({"kubeconfig": kubeconfig})
    assert exc.value.path == "kubeconfig" and "the server of its cluster" in str(exc.value)


def test_the_palette_client_checks_its_key():
    with pytest.raises(palette.PaletteError) as exc:
        palette.PaletteClient("https://palette.example", TOKEN + "\n", key_option="palette_api_key")
    assert str(exc.value).startswith("palette_api_key: ") and "line break" in str(exc.value)
    assert TOKEN not in str(exc.value)


# ------------------------------------------------------------------------------ scrubbing


def test_every_form_of_a_secret_is_scrubbed():
    key_lines = ["MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg" + c * 16 for c in "ab"]
    pem = "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % "\n".join(key_lines)
    secrets = transport.Secrets([TOKEN + "\n", "ab\ncd-efgh", pem, "abc", None, 42])
    texts = {
        "http.client's error": "Invalid header value b'Bearer %s\\n'" % TOKEN,
        "as given": "token %s\n end" % TOKEN,
        "stripped": "token %s." % TOKEN,
        "escaped": "value 'ab\\ncd-efgh'",
        "one line of a key": "the key line %s" % key_lines[1],
        "a URL's user information": "https://me:hunter2@proxy:3128",
    }
    for what, text in texts.items():
        out = secrets.scrub(text)
        assert TOKEN not in out and "ab\\ncd" not in out and key_lines[1] not in out and "hunter2" not in out, \
            (what, out)
    assert secrets.scrub("abc is too short to scrub") == "abc is too short to scrub"
    data = secrets.scrub_data({"msg": TOKEN, "list": [TOKEN, 1, None], "nested": {"x": "a %s" % TOKEN}})
    assert TOKEN not in repr(data) and data["list"][1:] == [1, None]


def test_the_event_sources_log_filter_scrubs_messages_arguments_and_tracebacks():
    source = runpy.run_path(str(SOURCE))  # as ansible-rulebook loads it
    secrets = transport.Secrets([TOKEN + "\n"])
    logger = logging.getLogger("vmo.rbac.test-scrub")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger.addHandler(Keep())
    logger.addFilter(source["ScrubSecrets"](secrets))
    logger.propagate = False
    logger.warning("retrying: %s", ValueError("Invalid header value b'Bearer %s\\n'" % TOKEN))
    try:
        raise ValueError("boom %r" % (TOKEN + "\n"))
    except ValueError:
        logger.exception("cluster x: unexpected error")
    assert len(records) == 2 and all(TOKEN not in r for r in records), records
    assert "Traceback" in records[1] and "boom" in records[1]
