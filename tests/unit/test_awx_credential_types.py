"""The AWX credential types the collection ships (files/awx/), and the test helper that applies them the
way AWX does (tests/helpers/awx.py).

The helper is held to AWX's own expectations first: the cases of AWX's unit tests for custom credential
types (awx/main/tests/unit/test_fields.py, test_cred_type_injectors_schema; awx/main/tests/unit/
test_tasks.py, test_custom_environment_injectors_*), ported. Then the shipped definitions pass AWX's
checks and render what the collection reads. tests/integration/test_awx.py runs them through
ansible-runner.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from tests.helpers import awx

ROOT = Path(__file__).resolve().parents[2]
PALETTE = ROOT / "files" / "awx" / "credential-type-palette.json"
KUBECONFIG = ROOT / "files" / "awx" / "credential-type-kubeconfig.json"


@pytest.fixture
def pdd(tmp_path):
    (tmp_path / "env").mkdir()
    return tmp_path


def some_cloud(fields, injectors):
    return awx.CredentialType("SomeCloud", "cloud", {"fields": fields}, injectors)


def extra_vars(args, pdd):
    """awx's parse_extra_vars: the file of each '-e @file', loaded as AWX's SafeLoader loads it."""
    out = {}

    class Loader(yaml.SafeLoader):
        pass

    class Unsafe(str):
        __UNSAFE__ = True

    Loader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))
    for i, a in enumerate(args):
        if a == "-e" and args[i + 1].startswith("@"):
            out.update(yaml.load(Path(args[i + 1][1:]).read_text(), Loader=Loader))
    return out


# ------------------------------------------------------------- AWX's own cases (test_fields.py)

FIELDS = [{"id": "username", "type": "string", "label": "_"}, {"id": "pass", "type": "string", "label": "_"},
          {"id": "awx_secret", "type": "string", "label": "_"}, {"id": "host", "type": "string", "label": "_"}]


@pytest.mark.parametrize("injectors, valid", [
    ({}, True),
    ({"invalid-injector": {}}, False),
    ({"file": 123}, False),
    ({"file": {}}, True),
    ({"file": {"template": "{{username}}"}}, True),
    ({"file": {"template.username": "{{username}}"}}, True),
    ({"file": {"template.username": "{{username}}", "template.password": "{{pass}}"}}, True),
    ({"file": {"template": "{{username}}", "template.password": "{{pass}}"}}, False),
    ({"env": {"FROM_FILE": "{{tower.filename.cert}}"}}, False),
    ({"env": {"FROM_FILE": "{{tower.filename}}"}}, False),
    ({"env": {"FROM_FILE": "{{tower}}"}}, False),
    ({"file": {"template.cert": "{{awx_secret}}"}, "env": {"FROM_FILE": "{{tower.filename.cert}}"}}, True),
    ({"file": {"template.cert": "{{awx_secret}}"}, "env": {"FROM_FILE": "{{tower.filename}}"}}, False),
    ({"file": {"template": "{{awx_secret}}"}, "env": {"THE_FILENAME": "{{tower.filename}}"}}, True),
    ({"file": {"foo": "bar"}}, False),
    ({"env": 123}, False),
    ({"env": {}}, True),
    ({"env": {"AWX_SECRET": "{{awx_secret}}"}}, True),
    ({"env": {"AWX_SECRET_99": "{{awx_secret}}"}}, True),
    ({"env": {"99": "{{awx_secret}}"}}, False),
    ({"env": {"AWX_SECRET=": "{{awx_secret}}"}}, False),
    ({"env": {"ANSIBLE_SETTING": "{{awx_secret}}"}}, False),
    ({"env": {"DRAGON": "\U0001F409"}}, False),
    ({"env": {"\U0001F409": "DRAGON"}}, False),
    ({"extra_vars": 123}, False),
    ({"extra_vars": {}}, True),
    ({"extra_vars": {"hostname": "{{host}}"}}, True),
    ({"extra_vars": {"hostname_99": "{{host}}"}}, True),
    ({"extra_vars": {"99": "{{host}}"}}, False),
    ({"extra_vars": {"99=": "{{host}}"}}, False),
])
def test_the_helper_checks_injectors_as_awx_does(injectors, valid):
    ctype = some_cloud(FIELDS, injectors)
    if valid:
        ctype.validate()
    else:
        with pytest.raises(awx.CredentialTypeError):
            ctype.validate()


# ------------------------------------------------------------- AWX's own cases (test_tasks.py)


def test_environment_injectors(pdd):
    env = {}
    awx.inject_credential(some_cloud([{"id": "api_token", "label": "API Token", "type": "string"}],
                                     {"env": {"MY_CLOUD_API_TOKEN": "{{api_token}}"}}),
                          {"api_token": "ABC123"}, env, {}, [], str(pdd))
    assert env["MY_CLOUD_API_TOKEN"] == "ABC123"


def test_boolean_env_var(pdd):
    env = {}
    awx.inject_credential(some_cloud([{"id": "turbo_button", "label": "Turbo Button", "type": "boolean"}],
                                     {"env": {"TURBO_BUTTON": "{{turbo_button}}"}}),
                          {"turbo_button": True}, env, {}, [], str(pdd))
    assert env["TURBO_BUTTON"] == str(True)


def test_a_reserved_env_var_is_ignored(pdd):
    env = {"JOB_ID": "31"}
    awx.inject_credential(some_cloud([{"id": "api_token", "label": "API Token", "type": "string"}],
                                     {"env": {"JOB_ID": "reserved"}}), {"api_token": "ABC123"}, env, {}, [], str(pdd))
    assert env["JOB_ID"] == "31"


def test_secret_field_is_hidden_in_the_stored_environment(pdd):
    env, safe_env = {}, {}
    awx.inject_credential(some_cloud([{"id": "password", "label": "Password", "type": "string", "secret": True}],
                                     {"env": {"MY_CLOUD_PRIVATE_VAR": "{{password}}"}}),
                          {"password": "SUPER-SECRET-123"}, env, safe_env, [], str(pdd))
    assert env["MY_CLOUD_PRIVATE_VAR"] == "SUPER-SECRET-123"
    assert safe_env["MY_CLOUD_PRIVATE_VAR"] == awx.HIDDEN_PASSWORD


@pytest.mark.parametrize("fields, injectors, inputs, expected", [
    ([{"id": "api_token", "label": "API Token", "type": "string"}], {"extra_vars": {"api_token": "{{api_token}}"}},
     {"api_token": "ABC123"}, {"api_token": "ABC123"}),
    ([{"id": "turbo_button", "label": "Turbo Button", "type": "boolean"}],
     {"extra_vars": {"turbo_button": "{{turbo_button}}"}}, {"turbo_button": True}, {"turbo_button": "True"}),
    ([{"id": "host", "label": "Host", "type": "string"}], {"extra_vars": {"auth": {"host": "{{host}}"}}},
     {"host": "example.com"}, {"auth": {"host": "example.com"}}),
    ([{"id": "environment", "label": "Environment", "type": "string"}, {"id": "host", "label": "Host", "type": "string"}],
     {"extra_vars": {"{{environment}}_auth": {"host": "{{host}}"}}}, {"environment": "test", "host": "example.com"},
     {"test_auth": {"host": "example.com"}}),
    ([{"id": "turbo_button", "label": "Turbo Button", "type": "boolean"}],
     {"extra_vars": {"turbo_button": "{% if turbo_button %}FAST!{% else %}SLOW!{% endif %}"}}, {"turbo_button": True},
     {"turbo_button": "FAST!"}),
])
def test_extra_vars_injectors(pdd, fields, injectors, inputs, expected):
    args = []
    awx.inject_credential(some_cloud(fields, injectors), inputs, {}, {}, args, str(pdd))
    got = extra_vars(args, pdd)
    assert got == expected
    assert all(getattr(v, "__UNSAFE__", False) for v in got.values() if isinstance(v, str))
    path = Path(args[1][1:])
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IRUSR and path.parent == pdd / "env"


def test_no_extra_vars_in_an_inventory_update(pdd):
    args = []
    awx.inject_credential(some_cloud([{"id": "h", "label": "H", "type": "string"}], {"extra_vars": {"h": "{{h}}"}}),
                          {"h": "x"}, {"INVENTORY_UPDATE_ID": "3"}, {}, args, str(pdd))
    assert args == []


def test_file_injectors(pdd):
    env = {}
    ctype = some_cloud([{"id": "cert", "label": "Certificate", "type": "string"}, {"id": "key", "label": "Key", "type": "string"}],
                       {"file": {"template.cert": "[mycert]\n{{cert}}", "template.key": "[mykey]\n{{key}}"},
                        "env": {"MY_CERT_INI_FILE": "{{tower.filename.cert}}", "MY_KEY_INI_FILE": "{{tower.filename.key}}"}})
    awx.inject_credential(ctype, {"cert": "CERT123", "key": "KEY123"}, env, {}, [], str(pdd))
    assert open(env["MY_CERT_INI_FILE"]).read() == "[mycert]\nCERT123"
    assert open(env["MY_KEY_INI_FILE"]).read() == "[mykey]\nKEY123"
    assert stat.S_IMODE(os.stat(env["MY_KEY_INI_FILE"]).st_mode) == 0o600
    env = {}
    awx.inject_credential(some_cloud([], {"file": {"template": "I\u00f1t\u00ebrn\u00e2ti\u00f4n\u00e0liz\u00e6ti\u00f8n"},
                                          "env": {"MY_CLOUD_INI_FILE": "{{tower.filename}}"}}), {}, env, {}, [], str(pdd))
    assert open(env["MY_CLOUD_INI_FILE"]).read() == "I\u00f1t\u00ebrn\u00e2ti\u00f4n\u00e0liz\u00e6ti\u00f8n"


def test_a_jinja_error_in_an_injector_fails_the_injection(pdd):
    import jinja2

    with pytest.raises(jinja2.exceptions.UndefinedError):
        awx.inject_credential(some_cloud([{"id": "api_token", "label": "API Token", "type": "string"}],
                                         {"env": {"MY_CLOUD_API_TOKEN": "{{api_token.foo()}}"}}),
                              {"api_token": "ABC123"}, {}, {}, [], str(pdd))


# ------------------------------------------------------------- the collection's credential types


def test_the_shipped_definitions_pass_awx_checks():
    palette = awx.CredentialType.load(PALETTE)
    kube = awx.CredentialType.load(KUBECONFIG)
    assert palette.kind == kube.kind == "cloud"
    assert palette.secret_fields == ["api_key"] and kube.secret_fields == ["kubeconfig"]
    assert palette.inputs["required"] == ["api_key"] and kube.inputs["required"] == ["kubeconfig"]


def test_palette_credential_injects_what_the_inventory_and_the_modules_read(pdd):
    """SPECTROCLOUD_HOST/APIKEY/PROJECT (the inventory plugin's and the modules' environment variables) and
    the CA as a file named by VMO_RBAC_PALETTE_CA_CERT; a key pasted with a line break or spaces arrives
    without them (trim in the injector); an empty field injects an empty variable, which both read as unset."""
    from ansible_collections.vmo.rbac.plugins.module_utils._palette import (
        client as palette,
        connection as palette_connection,
    )

    ctype = awx.CredentialType.load(PALETTE)
    env, safe_env, args = {}, {}, []
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    awx.inject_credential(ctype, {"host": " https://palette.example.com:8443\n", "api_key": "  pk-1234567890abcdef\n",
                                  "project": "vm-production", "ca_cert": ca}, env, safe_env, args, str(pdd))
    assert env[palette.HOST_ENV] == "https://palette.example.com:8443"
    assert env[palette.APIKEY_ENV] == "pk-1234567890abcdef"
    assert env["SPECTROCLOUD_PROJECT"] == "vm-production"
    assert open(env[palette_connection.CA_ENV]).read() == ca
    assert safe_env[palette.APIKEY_ENV] == awx.HIDDEN_PASSWORD and args == []
    env = {}
    awx.inject_credential(ctype, {"api_key": "pk-1"}, env, {}, [], str(pdd))
    assert env == {palette.HOST_ENV: "", palette.APIKEY_ENV: "pk-1", "SPECTROCLOUD_PROJECT": "", palette_connection.CA_ENV: ""}
    with pytest.raises(awx.CredentialTypeError, match="api_key is required"):
        awx.inject_credential(ctype, {"host": "x"}, {}, {}, [], str(pdd))


def test_kubeconfig_credential_injects_a_file_named_by_k8s_auth_kubeconfig(pdd):
    ctype = awx.CredentialType.load(KUBECONFIG)
    env, safe_env = {}, {}
    text = "apiVersion: v1\nkind: Config\nclusters: []\n"
    awx.inject_credential(ctype, {"kubeconfig": text}, env, safe_env, [], str(pdd))
    assert list(env) == ["K8S_AUTH_KUBECONFIG"] and open(env["K8S_AUTH_KUBECONFIG"]).read() == text
    assert stat.S_IMODE(os.stat(env["K8S_AUTH_KUBECONFIG"]).st_mode) == 0o600
    assert Path(env["K8S_AUTH_KUBECONFIG"]).parent == pdd / "env"
    assert safe_env == env  # a path, not the secret
