"""The suite's leak check itself (tests/helpers/leaks.py): it finds a registered credential in every
form an output may show it, names the credential's kind and the output, and stays quiet about what is
not secret (a JWT header every ServiceAccount token shares, text that merely looks like a token)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
import yaml

from tests.helpers import leaks

JWT_HEADER = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkV4YW1wbGVLZXlJZCJ9"
TOKEN_A = JWT_HEADER + ".eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YTp4In0.c2lnbmF0dXJlLW9mLXRva2VuLWEtMTIzNDU2"
TOKEN_B = JWT_HEADER + ".eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Yjp5In0.c2lnbmF0dXJlLW9mLXRva2VuLWItNjU0MzIx"
KEY_LINES = ["MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgq3bH1w8Xc0nQ7rR2",
             "oUQDQgAEzZ4kUe6s5pX2mJv8tYyQw0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1w"]
KEY = "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % "\n".join(KEY_LINES)


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv(leaks.DIR_ENV, str(tmp_path / "registry"))
    leaks.register("token a", TOKEN_A)
    leaks.register("token b", TOKEN_B)
    leaks.register("the key", KEY)
    leaks.register("too short", "abc")
    return tmp_path


def scan(tmp_path, name, text):
    out = tmp_path / "run" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    found, files, _size, _atoms = leaks.check([tmp_path / "run"])
    out.unlink()
    return found, files


@pytest.mark.parametrize("text, what", [
    ("Authorization: Bearer %s" % TOKEN_A, "token a"),
    ("Invalid header value b'Bearer %s\\n'" % TOKEN_B, "token b"),                 # repr of a token with a newline
    (json.dumps({"msg": "x", "args": {"key": KEY}}), "the key"),                    # JSON: "\nMIGH..." joins the n
    ("client-key-data: %s" % base64.b64encode(KEY.encode()).decode(), "the key"),   # base64, as in a kubeconfig
    ("only the signature: %s" % TOKEN_A.rsplit(".", 1)[1], "token a"),              # a part of a token
    ("a line of it: ...%s..." % KEY_LINES[1], "the key"),
])
def test_a_credential_is_found_in_every_form(registry, text, what):
    found, files = scan(registry, "ansible.log", text)
    assert files == 1 and [w for w, _where in found] == [what], found


@pytest.mark.parametrize("text", [
    "the JWT header every token of the issuer shares: %s" % JWT_HEADER,
    "the ASN.1 prefix of every P-256 key: %s" % KEY_LINES[0][:40],
    "abc and VALUE_SPECIFIED_IN_NO_LOG_PARAMETER and ********",
    "sha256:3f5a0c1e9b7d2a4c6e8f0a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d",
])
def test_what_is_not_secret_is_not_a_leak(registry, text):
    found, files = scan(registry, "vmo-rbac-report.md", text)
    assert files == 1 and found == []


def test_inputs_are_not_outputs(registry):
    """An inventory, a kubeconfig, ansible-runner's env/ hold credentials by design: not searched."""
    for name in ("inventory/host_vars/h.yml", "kubeconfig", "pdd/env/envvars", "identities/x/tls.key"):
        found, files = scan(registry, name, TOKEN_A + "\n" + KEY)
        assert (found, files) == ([], 0), name
    found, files = scan(registry, "pdd/artifacts/1a2b/job_events/3-abc.json", json.dumps({"stdout": TOKEN_A}))
    assert files == 1 and found


def test_recorded_outputs_and_the_command_line(registry, tmp_path):
    leaks.record("ansible-playbook play.yml", "ok", TOKEN_B.encode())
    found, files, _size, _atoms = leaks.check([tmp_path / "registry"])
    assert files == 1 and [w for w, _where in found] == ["token b"]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({"users": [{"name": "u", "user": {
        "client-key-data": base64.b64encode(KEY.encode()).decode(), "token": TOKEN_A}}]}))
    (tmp_path / "molecule.log").write_text("PLAY [all]\n" + KEY_LINES[1])
    proc = subprocess.run([sys.executable, "-m", "tests.helpers.leaks", "check", "--dir", str(tmp_path / "cli"),
                           "--kubeconfig", str(kubeconfig), str(tmp_path / "molecule.log")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "LEAK: kubeconfig %s: client key in %s" % (kubeconfig, tmp_path / "molecule.log") \
        in proc.stdout, proc.stdout + proc.stderr
    assert KEY_LINES[1] not in proc.stdout + proc.stderr
