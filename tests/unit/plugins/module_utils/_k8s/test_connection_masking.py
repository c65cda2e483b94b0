"""An inline kubeconfig mapping: its credentials stay masked, its names do not (issue 6, security).

Ansible masks every leaf of a no_log option. For a kubeconfig mapping that made names such as
"admin" or "v1" into "********" in every result and message; the modules now keep masking only
the credentials (and the values of the other no_log options).
"""

from ansible.module_utils.common.parameters import _return_datastructure_name

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import connection as auth

TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token-value"
KEY_DATA = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5"
KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "prod",
    "clusters": [{"name": "prod", "cluster": {"server": "https://10.0.0.1:6443",
                                              "certificate-authority-data": "Q0EtREFUQQ==",
                                              "proxy-url": "http://user:proxy-pass@proxy:3128"}}],
    "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "admin", "namespace": "default"}}],
    "users": [{"name": "admin", "user": {"token": TOKEN, "client-key-data": KEY_DATA,
                                         "client-certificate-data": "Q0VSVA==",
                                         "auth-provider": {"name": "oidc", "config": {"id-token": "id-tok-123",
                                                                                     "refresh-token": "ref-tok-456"}},
                                         "exec": {"command": "get-token", "env": [{"name": "SECRET",
                                                                                   "value": "env-secret-789"}]}}}],
}


def _masked(params):
    everything = set(_return_datastructure_name(params["kubeconfig"]))
    everything.update(v for v in [params.get("api_key")] if v)
    return auth.unmask_kubeconfig_names(everything, params)


def test_credentials_stay_masked_names_do_not():
    left = _masked({"kubeconfig": KUBECONFIG})
    for secret in (TOKEN, KEY_DATA, "Q0VSVA==", "id-tok-123", "ref-tok-456", "env-secret-789", "get-token",
                   "http://user:proxy-pass@proxy:3128"):
        assert secret in left, secret
    for name in ("v1", "Config", "prod", "admin", "default", "https://10.0.0.1:6443", "Q0EtREFUQQ=="):
        assert name not in left, name


def test_a_name_equal_to_another_secret_stays_masked():
    params = {"kubeconfig": dict(KUBECONFIG, **{"current-context": "hunter22"}), "api_key": "hunter22"}
    assert "hunter22" in _masked(params)


def test_a_server_url_with_credentials_stays_masked():
    kc = dict(KUBECONFIG, clusters=[{"name": "p", "cluster": {"server": "https://u:pw@10.0.0.1"}}])
    assert "https://u:pw@10.0.0.1" in _masked({"kubeconfig": kc})


def test_a_kubeconfig_path_is_not_masked():
    """Masked, a path garbled every message: "file ******** does not exist", "cannot load the cluster
    ********uration" (a kubeconfig named 'config')."""
    values = {"tok", "x", "config", "/path/kubeconfig"}
    assert auth.unmask_kubeconfig_names(values, {"kubeconfig": "/path/kubeconfig"}) == {"tok", "x", "config"}
    assert auth.unmask_kubeconfig_names(values, {"kubeconfig": "config"}) == {"tok", "x", "/path/kubeconfig"}
    # unless the same text is also the value of a secret option
    assert "config" in auth.unmask_kubeconfig_names(values, {"kubeconfig": "config", "api_key": "config"})


def test_no_kubeconfig_changes_nothing():
    values = {"tok", "x"}
    assert auth.unmask_kubeconfig_names(values, {}) == values


PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


def test_a_key_pasted_into_client_key_is_masked_a_path_is_not():
    """client_key is a path (not no_log), so Ansible showed a key pasted there in the result's invocation
    (-vvvv, and AWX's job events). A pasted key is now a value to mask; a path still is not."""
    for pasted in (PEM_KEY, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" * 4, "line one\nline two"):
        assert pasted in auth.unmask_kubeconfig_names(set(), {"client_key": pasted}), pasted
        assert pasted in auth.unmask_kubeconfig_names({"tok"}, {"client_key": pasted, "kubeconfig": KUBECONFIG})
        assert pasted in auth.unmask_kubeconfig_names(set(), {"client_key": pasted, "kubeconfig": "/k"})
        assert pasted in auth.secret_values({"client_key": pasted})
    for path in ("/etc/kubernetes/pki/admin.key", "admin.key", "~/.kube/a-very-long-directory-name/" + "k" * 80):
        assert auth.unmask_kubeconfig_names(set(), {"client_key": path}) == set(), path
        assert not auth.pasted_key(path)


# attack pass (session 4): forms of a pasted key that escaped the heuristic, and a path it took for a key
ED25519_BODY = "MC4CAQAwBQYDK2VwBCIEIHG7nV1mQ3fZ0aW9cX2yL8kP4sT6uR1eJ7dN5bH3gA9q"  # PKCS#8 Ed25519: 64 characters
RSA_LINES = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "vbqajDw4o6gJy8UtmIbkcpnkO3Kwc4qsEnSZp/TR+fQi62F7",
             "9Rd1pV8sBk3ZsLmH2wQ1rX0nYcT5uE6fJ4aG7oD3iK8lM9pQ"]


def test_pasted_keys_that_escaped_the_heuristic_are_masked():
    """A PEM body whose line breaks became spaces (a one-line form field), a key written JSON-escaped (literal
    backslash-n, as a JSON or a double-quoted YAML copy holds it), and an Ed25519 key's body (64 characters,
    under the 100-character run) were taken for paths: shown at -vvvv in the invocation."""
    for pasted in (" ".join(RSA_LINES), "\\n".join(RSA_LINES), "\\r\\n".join(RSA_LINES) + "\\n", ED25519_BODY,
                   "\t".join(RSA_LINES)):
        assert auth.pasted_key(pasted), pasted
        assert pasted in auth.unmask_kubeconfig_names(set(), {"client_key": pasted}), pasted
        assert pasted in auth.secret_values({"client_key": pasted})


def test_a_path_that_exists_is_never_taken_for_a_key(tmp_path):
    """A real key file whose path has no dot and runs long (a generated directory, a key without an
    extension) matched the 100-character base64 run and was masked as a credential: ******** in the
    invocation and in every message word that contains it."""
    d = tmp_path / ("awx-project-" + "x" * 60) / "credentials" / "cluster-admin-client-key-for-production-east"
    d.parent.mkdir(parents=True)
    d.write_text("not really a key")
    path = str(d)
    assert "." not in path or True
    assert not auth.pasted_key(path), path
    assert auth.unmask_kubeconfig_names(set(), {"client_key": path}) == set()
    # short paths and file names without a directory stay paths, existing or not
    for p in ("client", "keys/admin", "/etc/vmo/k", "admin-client-key"):
        assert not auth.pasted_key(p), p
