"""The bad-input catalog (issue 6): malformed inputs to both modules and to the role's variables.

Each case is one input and the field its message must name. Each fails before the first write:
every case runs as an identity of its own (a cluster-admin client certificate, so that RBAC is
never what stops it), and the audit log shows that identity made no write at all. Each input sits
next to a valid grant that would be written if the run went through.

To stay fast, the cases of a module run as the tasks of one ansible-playbook run (each with
ignore_errors), and the role's cases as the hosts of one inventory run through vmo.rbac.enforce
(one host per case, forks=10); the per-case tests then look at their own result.

Values Ansible would convert without a word (a list or a number where a string is expected) are
refused with the field's name: the modules type-check the arguments as written first
(module_utils/_flows/module_runner.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from dataclasses import dataclass, field

import pytest
import yaml

from tests.helpers import leaks
from tests.helpers.ansible import run_playbook

# One xdist worker runs every case (`make test-integration` uses --dist loadgroup), so each batch
# runs once; _shared() below covers other distribution modes.
pytestmark = pytest.mark.xdist_group("bad-input")

# The same in every xdist worker of one run (the batches are shared between workers by _shared()).
UID = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)[:6]
OWNER = "bad-" + UID
VALID = {"persona": "viewer", "groups": ["bad-input-valid-" + UID]}
RB_MODULE = "vmo.rbac.vmo_role_binding"
VALIDATE_MODULE = "vmo.rbac.vmo_rbac_validate"
CLUSTER_ROLES_MODULE = "vmo.rbac.vmo_cluster_roles"

@dataclass
class Case:
    id: str
    args: dict            # module options (or role variables) that make the input bad
    field: str            # the field the message must name
    words: tuple = ()     # more words the message must contain
    marks: tuple = ()
    reaches_cluster: bool = False  # fails after reading (e.g. a named namespace that does not exist)
    extra: dict = field(default_factory=dict)

    def param(self):
        return pytest.param(self, id=self.id, marks=list(self.marks))


def entry(**kw):
    """A binding entry: the valid one, then the bad one (bindings[1])."""
    return {"bindings": [VALID, kw]}


# Credentials the checks must refuse without ever showing them (issue 18, item 3).
BAD_TOKEN = "bad-input-token-%s-7c1e9a3f5b" % UID
leaks.register("the malformed tokens of the bad-input catalog", BAD_TOKEN)
MANY_USERS = ["u%04d-%s" % (i, UID) for i in range(1001)]
MISSING_NAMESPACES = ["missing-%04d-%s" % (i, UID) for i in range(3000)]

ROLE_BINDING_CASES = [
    # ------------------------------------------------------------------------------ types
    Case("bindings-is-a-string", {"bindings": "persona: admin"}, "bindings"),
    Case("binding-is-a-list", {"bindings": [VALID, ["persona", "admin"]]}, "bindings[1]", ("got a list",)),
    Case("namespaces-is-a-mapping", entry(persona="viewer", groups=["g"], namespaces={"team-a": True}),
         "bindings[1].namespaces", ("got a mapping",)),
    Case("purge-is-not-a-boolean", {"purge": "sometimes", **entry(persona="viewer", groups=["g"])}, "purge"),
    Case("wait-for-roles-is-text", {"wait_for_roles": "soon"}, "wait_for_roles"),
    Case("wait-for-roles-is-negative", {"wait_for_roles": -5}, "wait_for_roles"),
    Case("allow-privileged-is-not-a-boolean", {"allow_privileged": "perhaps"}, "allow_privileged"),
    Case("regex-is-a-number", entry(persona="viewer", groups=["g"], namespace_regex=42),
         "bindings[1].namespace_regex", ("a number",)),
    Case("selector-is-a-mapping", entry(persona="viewer", groups=["g"], namespace_selector={"team": "vm"}),
         "bindings[1].namespace_selector", ("a mapping",)),
    Case("user-is-a-list", entry(persona="viewer", users=[["alice"]]), "bindings[1].users[0]"),
    Case("group-is-a-number", entry(persona="viewer", groups=[123]), "bindings[1].groups[0]", ("a number",)),
    Case("oidc-prefix-is-a-list", {"oidc_user_prefix": ["oidc:"]}, "oidc_user_prefix"),
    # ------------------------------------------------------------------------------ names
    Case("namespace-not-dns", entry(persona="viewer", groups=["g"], namespaces=["Team_A"]),
         "bindings[1].namespaces[0]", ("RFC 1123",)),
    Case("namespace-too-long", entry(persona="viewer", groups=["g"], namespaces=["a" * 64]),
         "bindings[1].namespaces[0]"),
    Case("binding-name-with-space", entry(name="My Binding", persona="viewer", groups=["g"]), "bindings[1].name"),
    Case("binding-name-path", entry(name="../x", persona="viewer", groups=["g"]), "bindings[1].name"),
    Case("owner-not-dns", {"owner": "Owner!"}, "owner"),
    Case("owner-empty", {"owner": ""}, "owner"),
    Case("cluster-role-path-traversal", entry(cluster_role="../../secrets", users=["x"]), "bindings[1].cluster_role"),
    Case("role-percent-encoded", entry(role="a%2Fb", users=["x"], namespaces=["default"]), "bindings[1].role"),
    Case("unknown-persona", entry(persona="admn", groups=["g"]), "bindings[1].persona", ("admn", "did you mean 'admin'")),
    Case("unknown-option-in-binding", entry(persona="viewer", grups=["g"]), "bindings[1].grups", ("did you mean 'groups'",)),
    # ------------------------------------------------------------------------------ regexes
    Case("regex-unbalanced", entry(persona="viewer", groups=["g"], namespace_regex="/(team/"),
         "bindings[1].namespace_regex", ("invalid regular expression",)),
    Case("regex-empty-slashes", entry(persona="viewer", groups=["g"], namespace_regex="//"),
         "bindings[1].namespace_regex", ("empty regular expression",)),
    Case("regex-empty-list", entry(persona="viewer", groups=["g"], namespace_regex=[]),
         "bindings[1].namespace_regex", ("empty list",)),
    Case("regex-too-long", entry(persona="viewer", groups=["g"], namespace_regex="a" * 2000),
         "bindings[1].namespace_regex", ("longer than",)),
    Case("regex-second-of-a-list-bad", entry(persona="viewer", groups=["g"], namespace_regex=["^ok", "*bad"]),
         "bindings[1].namespace_regex[1]"),
    # ------------------------------------------------------------------------------ selectors
    Case("selector-unclosed-set", entry(persona="viewer", groups=["g"], namespace_selector="team in (a,b"),
         "bindings[1].namespace_selector", ("invalid label selector",)),
    Case("selector-no-key", entry(persona="viewer", groups=["g"], namespace_selector="=vm"),
         "bindings[1].namespace_selector"),
    Case("selector-shell-injection", entry(persona="viewer", groups=["g"], namespace_selector="team=vm; rm -rf /"),
         "bindings[1].namespace_selector"),
    Case("selector-empty-list", entry(persona="viewer", groups=["g"], namespace_selector=[]),
         "bindings[1].namespace_selector", ("empty list",)),
    # ------------------------------------------------------------------------------ subjects
    Case("no-subjects", entry(persona="viewer"), "bindings[1]", ("no subjects",)),
    Case("service-account-without-namespace", entry(persona="viewer", service_accounts=["ci"]),
         "bindings[1].service_accounts[0]", ("expected namespace/name",)),
    Case("service-account-three-parts", entry(persona="viewer", service_accounts=["a/b/c"]),
         "bindings[1].service_accounts[0]"),
    Case("subject-unknown-kind", entry(persona="viewer", subjects=[{"kind": "Robot", "name": "x"}]),
         "bindings[1].subjects[0].kind", ("Robot",)),
    Case("subject-sa-without-namespace", entry(persona="viewer", subjects=[{"kind": "ServiceAccount", "name": "ci"}]),
         "bindings[1].subjects[0].namespace"),
    Case("subject-user-with-namespace",
         entry(persona="viewer", subjects=[{"kind": "User", "name": "alice", "namespace": "x"}]),
         "bindings[1].subjects[0].namespace"),
    Case("subject-wrong-api-group",
         entry(persona="viewer", subjects=[{"kind": "Group", "name": "g", "api_group": "v1"}]),
         "bindings[1].subjects[0].api_group"),
    Case("user-trailing-space", entry(persona="viewer", users=["alice "]), "bindings[1].users[0]", ("whitespace",)),
    Case("user-zero-width-space", entry(persona="viewer", users=["ali\u200bce"]), "bindings[1].users[0]",
         ("invisible",)),
    Case("user-is-a-service-account", entry(persona="viewer", users=["system:serviceaccount:ns:sa"]),
         "bindings[1].users[0]", ("service_accounts",)),
    Case("user-too-long", entry(persona="viewer", users=["x" * 600]), "bindings[1].users[0]", ("at most 512",)),
    Case("group-system-unauthenticated", entry(persona="viewer", groups=["system:unauthenticated"]),
         "bindings[1].groups[0]", ("allow_privileged",)),
    Case("group-system-serviceaccounts",
         entry(persona="user", groups=["system:serviceaccounts"], namespaces=["default"]),
         "bindings[1].groups[0]", ("allow_privileged",)),
    Case("user-system-anonymous", entry(persona="viewer", users=["system:anonymous"]), "bindings[1].users[0]",
         ("allow_privileged",)),
    # ------------------------------------------------------------------------------ role sets
    Case("role-set-unknown", {"role_set": "openshift"}, "role_set", ("openshift",)),
    Case("cluster-admin-cluster-wide-via-role-set", {"role_set": "kubernetes", **entry(persona="admin", groups=["g"])},
         "bindings[1]", ("cluster-admin", "allow_privileged")),
    # ------------------------------------------------------------------------------ prefixes
    Case("oidc-prefix-with-space", {"oidc_user_prefix": "oidc: "}, "oidc_user_prefix"),
    Case("oidc-prefix-too-long", {"oidc_group_prefix": "x" * 65}, "oidc_group_prefix"),
    Case("oidc-prefix-control-char", {"oidc_group_prefix": "oidc\x07"}, "oidc_group_prefix"),
    # ------------------------------------------------------------------------------ conflicting entries
    Case("persona-and-cluster-role", entry(persona="viewer", cluster_role="view", groups=["g"]), "bindings[1]",
         ("exactly one of persona, cluster_role or role",)),
    Case("same-name-two-roles", {"bindings": [VALID, {"name": "dup-" + UID, "persona": "viewer", "groups": ["g"]},
                                              {"name": "dup-" + UID, "persona": "user", "groups": ["h"]}]},
         "bindings[2]", ("conflicts with bindings[1]",)),
    Case("name-reserved-for-transition", {"bindings": [
        VALID, {"name": "t-" + UID, "persona": "viewer", "groups": ["g"]},
        {"name": "t-%s-transition" % UID, "persona": "user", "groups": ["h"]}]},
        "bindings[2]", ("reserved for the transition binding",)),
    Case("role-without-namespace-scope", entry(role="vm-operator", users=["x"]), "bindings[1].role",
         ("exists in one namespace",)),
    # ------------------------------------------------------------------------------ huge lists
    Case("1001-users-in-one-binding", entry(persona="viewer", users=MANY_USERS), "bindings[1]", ("at most 1000",)),
    Case("3000-long-users-merged-into-one-binding", {"bindings": [VALID] + [
        {"persona": "viewer", "users": ["%s-%04d-%s-%s" % (t, i, UID, "x" * 470) for i in range(1000)]}
        for t in "abc"]}, "bindings[3]", ("merges into ClusterRoleBinding", "with bindings[0], bindings[1], bindings[2]",
                                          "3001 subjects", "more than the 1400000"), reaches_cluster=True),
    Case("300-long-reasons-merged-into-one-binding", {"bindings": [VALID] + [
        {"persona": "viewer", "users": ["r%03d-%s" % (i, UID)], "reason": "R%03d %s" % (i, "x" * 1000)}
        for i in range(300)]}, "bindings[300]", ("merges into ClusterRoleBinding", "its annotations would be",
                                                 "more than the 262144"), reaches_cluster=True),
    Case("3000-namespaces-that-do-not-exist", entry(persona="viewer", groups=["g"], namespaces=MISSING_NAMESPACES),
         "bindings[1].namespaces[0]", ("does not exist", "also"), reaches_cluster=True),
    # ------------------------------------------------------------------------------ unicode, injection
    Case("namespace-unicode", entry(persona="viewer", groups=["g"], namespaces=["t\u00ebam"]),
         "bindings[1].namespaces[0]"),
    Case("binding-name-fullwidth", entry(name="\uff46\uff55\uff4c\uff4c", persona="viewer", groups=["g"]),
         "bindings[1].name"),
    Case("namespace-shell-injection", entry(persona="viewer", groups=["g"],
                                            namespaces=["team-a; kubectl delete ns --all"]),
         "bindings[1].namespaces[0]"),
    Case("cluster-role-yaml-injection", entry(cluster_role="view\n- kind: ClusterRole\n  name: cluster-admin",
                                              users=["x"]), "bindings[1].cluster_role"),
    Case("group-newline", entry(persona="viewer", groups=["ops\nsystem:masters"]), "bindings[1].groups[0]",
         ("control or invisible",)),
    # ------------------------------------------------------------------------------ connection options
    Case("api-retries-too-many", {"api_retries": 50}, "api_retries", ("between 0 and 20",)),
    Case("api-retries-negative", {"api_retries": -1}, "api_retries"),
    Case("request-timeout-zero", {"request_timeout": 0}, "request_timeout"),
    Case("request-timeout-nan", {"request_timeout": float("nan")}, "request_timeout", ("finite number",)),
    Case("wait-for-roles-inf", {"wait_for_roles": float("inf")}, "wait_for_roles", ("finite number",)),
    # attack pass (session 3): Ansible made a boolean 1 or 0 without a word
    Case("concurrency-a-boolean", {"concurrency": True}, "concurrency", ("not a boolean",)),
    Case("api-retries-a-boolean", {"api_retries": False}, "api_retries", ("not a boolean",)),
    Case("client-cert-without-key", {"client_key": None}, "client_key", ("together",)),
    Case("kubeconfig-is-a-number", {"kubeconfig": 42}, "kubeconfig", ("path or a kubeconfig mapping",)),
    Case("kubeconfig-missing-file", {"kubeconfig": "/nonexistent/kubeconfig", "host": None, "client_cert": None,
                                     "client_key": None}, "kubeconfig", ("does not exist",)),
    Case("ca-cert-missing-file", {"ca_cert": "/nonexistent/ca.crt"}, "ca_cert", ("does not exist",)),
    # attack pass 2 (session 3): the key pasted where its path belongs was quoted as the missing file's name, and
    # Ansible's own invocation (module_args, shown at -vvvv and kept in AWX's job events) showed it: client_key is a
    # path, not no_log. A pasted key is now masked as a credential (connection.pasted_key); the check below reads
    # the whole result, invocation included.
    Case("client-key-pasted-key", {"client_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQ" + UID + "\n-----END PRIVATE KEY-----"},
         "client_key", ("no such file", "not shown"), extra={"secret": "MIIEvQ" + UID}),
    # attack pass (session 4): pasted forms the heuristic missed: a PEM body whose line breaks became spaces (a
    # one-line form field), the same JSON-escaped (literal \n), an Ed25519 key's 64-character body
    Case("client-key-pasted-body-one-line", {"client_key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC " * 3 + UID * 4},
         "client_key", ("no such file", "not shown"), extra={"secret": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC " + UID}),
    Case("client-key-pasted-json-escaped", {"client_key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n" * 2 + UID * 12 + "\\n"},
         "client_key", ("no such file", "not shown"), extra={"secret": UID * 12}),
    Case("client-key-pasted-ed25519-body", {"client_key": "MC4CAQAwBQYDK2VwBCIEIHG7nV1mQ3fZ0aW9cX2yL8kP4sT6uR1eJ7dN5bH3gA9q"},
         "client_key", ("no such file", "not shown"), extra={"secret": "HG7nV1mQ3fZ0aW9cX2yL8kP4sT6uR1eJ7dN5bH3gA9q"}),
    Case("validate-certs-not-a-boolean", {"validate_certs": "perhaps"}, "validate_certs"),
    Case("unknown-context", {"context": "no-such-context-" + UID, "host": None, "client_cert": None,
                             "client_key": None, "ca_cert": None, "kubeconfig": "@kubeconfig"},
         "no-such-context-" + UID),
    Case("unknown-module-option", {"purge_all": True}, "purge_all"),
    # ------------------------------------------------------------------------------ issue 18: header values, URLs
    Case("api-key-trailing-newline", {"api_key": BAD_TOKEN + "\n", "client_cert": None, "client_key": None},
         "api_key", ("line break (LF) at its end", "block scalar"), extra={"secret": BAD_TOKEN}),
    Case("api-key-from-k8s-auth-trailing-newline", {"client_cert": None, "client_key": None}, "api_key",
         ("the value from K8S_AUTH_API_KEY contains a line break",),
         extra={"secret": BAD_TOKEN, "env": {"K8S_AUTH_API_KEY": BAD_TOKEN + "\n"}}),
    Case("api-key-not-latin-1", {"api_key": BAD_TOKEN + "\u2603", "client_cert": None, "client_key": None},
         "api_key", ("outside Latin-1",), extra={"secret": BAD_TOKEN}),
    Case("api-key-inner-carriage-return", {"api_key": BAD_TOKEN[:12] + "\r" + BAD_TOKEN[12:], "client_cert": None,
                                           "client_key": None}, "api_key", ("carriage return",),
         extra={"secret": BAD_TOKEN[12:]}),
    Case("kubeconfig-token-not-latin-1", {"kubeconfig": "@inline-token:" + BAD_TOKEN + "\u00e9\u2603", "host": None,
                                          "client_cert": None, "client_key": None, "ca_cert": None},
         "kubeconfig", ("outside Latin-1",), extra={"secret": BAD_TOKEN}),
    Case("impersonate-user-crlf", {"impersonate_user": "bob\r\nImpersonate-Group: system:masters"},
         "impersonate_user", ("carriage return",)),
    Case("impersonate-group-not-latin-1", {"impersonate_groups": ["ops", "\u0431\u043e\u0442"]},
         "impersonate_groups[1]", ("U+0431", "outside Latin-1")),
    Case("proxy-colons", {"proxy": "::::"}, "proxy", ("is not a URL",)),
    Case("host-port-99999", {"host": "https://127.0.0.1:99999"}, "host", ("port must be a number from 1 to 65535",)),
    Case("host-without-scheme", {"host": "127.0.0.1:6443"}, "host", ("no scheme", "https://127.0.0.1:6443")),
    # ------------------------------------------------------------------------------ issue 18: ambiguous connections
    Case("context-with-host-and-token-from-k8s-auth", {"kubeconfig": "@kubeconfig", "context": "@context", "host": None,
                                                       "client_cert": None, "client_key": None, "ca_cert": None},
         "context", ("host and api_key come from the environment (K8S_AUTH_HOST, K8S_AUTH_API_KEY)",),
         extra={"env": {"K8S_AUTH_HOST": "@server", "K8S_AUTH_API_KEY": BAD_TOKEN}, "secret": BAD_TOKEN}),
    Case("host-with-the-token-of-another-k8s-auth-host", {"client_cert": None, "client_key": None}, "host",
         ("api_key comes from the environment (K8S_AUTH_API_KEY)", "K8S_AUTH_HOST https://other.example:6443"),
         extra={"env": {"K8S_AUTH_HOST": "https://other.example:6443", "K8S_AUTH_API_KEY": BAD_TOKEN},
                "secret": BAD_TOKEN}),
    Case("proxy-basic-auth-not-latin-1", {"proxy_headers": {"proxy_basic_auth": "me:" + BAD_TOKEN + "\u2603"}},
         "proxy_headers.proxy_basic_auth", ("outside Latin-1",), extra={"secret": BAD_TOKEN}),
    # ------------------------------------------------------------------------------ issue 9 options
    Case("purge-with-nothing-declared", {"bindings": [], "purge": True}, "bindings", ("allow_empty_purge",)),
    Case("console-access-entry-not-bool", entry(persona="viewer", groups=["g"], console_access="sometimes"),
         "bindings[1].console_access", ("true or false",)),
    Case("console-access-not-bool", {"console_access": "perhaps"}, "console_access"),
    Case("protected-namespace-not-dns", {"protected_namespaces": ["Kube_System"]}, "protected_namespaces[0]",
         ("RFC 1123",)),
    Case("protected-namespaces-a-string", {"protected_namespaces": "kube-system"}, "protected_namespaces",
         ("got a string",)),
    Case("strict-scopes-not-bool", {"strict_scopes": "perhaps"}, "strict_scopes"),
    Case("strict-scopes-rule-matches-nothing",
         {"strict_scopes": True, **entry(persona="viewer", groups=["g"], namespace_regex="^no-such-ns-" + UID)},
         "bindings[1].namespace_regex", ("matched no namespace",), reaches_cluster=True),
    Case("regex-negation-without-slashes", entry(persona="viewer", groups=["g"], namespace_regex="~^kube"),
         "bindings[1].namespace_regex", ("~/regex/",)),
    Case("regex-go-refuses", entry(persona="viewer", groups=["g"], namespace_regex="a\\Cb"),
         "bindings[1].namespace_regex", ("Go does not have",)),
    Case("wait-for-api-server-negative", {"wait_for_api_server": -1}, "wait_for_api_server", ("0 or more",)),
    Case("group-every-sa-of-a-namespace", entry(persona="viewer", groups=["system:serviceaccounts:default"]),
         "bindings[1].groups[0]", ("every ServiceAccount in namespace 'default'", "allow_privileged")),
    Case("group-system-nodes", entry(persona="viewer", groups=["system:nodes"]), "bindings[1].groups[0]",
         ("every node",)),
    Case("user-a-node", entry(persona="viewer", users=["system:node:worker-1"]), "bindings[1].users[0]",
         ("kubelet",)),
    # ------------------------------------------------------------------------------ issue 15: expires
    Case("expires-unparseable", entry(persona="viewer", groups=["g"], expires="next friday"), "bindings[1].expires",
         ("is neither an RFC 3339 time",)),
    Case("expires-without-offset", entry(persona="viewer", groups=["g"], expires="2026-12-05T18:00:00"),
         "bindings[1].expires", ("no time zone offset",)),
    Case("expires-date-only", entry(persona="viewer", groups=["g"], expires="2026-12-05"), "bindings[1].expires",
         ("a date without a time",)),
    Case("expires-impossible-date", entry(persona="viewer", groups=["g"], expires="2026-02-30T10:00:00Z"),
         "bindings[1].expires", ("not a valid time",)),
    Case("expires-a-number", entry(persona="viewer", groups=["g"], expires=3600), "bindings[1].expires",
         ("got a number",)),
    Case("expires-zero", entry(persona="viewer", groups=["g"], expires="0m"), "bindings[1].expires",
         ("no time at all",)),
    Case("expires-in-the-past", entry(persona="viewer", groups=["g"], expires="2020-01-01T00:00:00Z"),
         "bindings[1].expires", ("has passed", "never held it"), reaches_cluster=True),
    Case("expires-over-max-duration", {"max_duration": "4h", **entry(persona="viewer", groups=["g"], expires="8h")},
         "bindings[1].expires", ("8h is longer than max_duration 4h",)),
    # more digits than Python converts to an int: "Exceeds the limit (4300 digits)" before (issue 18 attack pass)
    Case("max-duration-too-many-digits", {"max_duration": "9" * 5000 + "d", **entry(persona="viewer", groups=["g"])},
         "max_duration", ("characters long",)),
    Case("expires-time-beyond-max-duration",
         {"max_duration": "1d", **entry(persona="viewer", groups=["g"], expires="2099-01-01T00:00:00+01:00")},
         "bindings[1].expires", ("longer than max_duration 1d",)),
    Case("expires-over-a-year", entry(persona="viewer", groups=["g"], expires="400d"), "bindings[1].expires",
         ("the longest a time-limited grant may last, 366d",)),
    Case("max-duration-unparseable", {"max_duration": "forever"}, "max_duration", ("not a duration",)),
    Case("max-duration-over-a-year", {"max_duration": "60w"}, "max_duration", ("longer than a time-limited grant",)),
    Case("expiring-and-permanent-share-a-name", {"bindings": [
        VALID, {"name": "x-" + UID, "persona": "viewer", "groups": ["g"]},
        {"name": "x-" + UID, "persona": "viewer", "groups": ["h"], "expires": "8h"}]},
        "bindings[2].expires", ("one binding has one end",)),
    Case("reason-multiline", entry(persona="viewer", groups=["g"], reason="INC-1\nsystem:masters"),
         "bindings[1].reason", ("control or invisible",)),
    Case("reason-too-long", entry(persona="viewer", groups=["g"], reason="x" * 1100), "bindings[1].reason",
         ("at most 1024",)),
    # ------------------------------------------------------------------------------ issue 19
    Case("golden-image-namespace-not-dns", {"golden_image_namespaces": ["Golden_Images"]},
         "golden_image_namespaces[0]", ("RFC 1123",)),
    Case("golden-image-namespaces-a-string", {"golden_image_namespaces": "vmo-golden-images"},
         "golden_image_namespaces", ("got a string",)),
    Case("golden-image-namespace-protected", {"golden_image_namespaces": ["images", "kube-system"]},
         "golden_image_namespaces[1]", ("protected namespace",)),
    Case("golden-image-namespace-missing",
         {"golden_image_namespaces": ["no-such-images-" + UID],
          **entry(persona="power-user", users=["u"], namespaces=["default"])},
         "golden_image_namespaces[0]", ("does not exist",), reaches_cluster=True),
    Case("kubevirt-version-unparseable", {"kubevirt_version": "newest"}, "kubevirt_version", ("v1.6.0",)),
    Case("kubevirt-version-multiline", {"kubevirt_version": "v1.4.0\nv1.9.0"}, "kubevirt_version"),
]

VALIDATE_CASES = [
    Case("capabilities-is-a-string", {"capabilities": "vm.view"}, "capabilities"),
    Case("capability-expect-not-boolean", {"capabilities": {"vm.view": {"expect": {"viewer": "yes"}}}},
         "capabilities.vm.view.expect.viewer", ("true or false",)),
    Case("new-capability-without-checks", {"capabilities": {"vm.teleport": {"description": "x"}}},
         "capabilities.vm.teleport", ("checks and expect",)),
    Case("capability-scope-unknown", {"capabilities": {"vm.view": {"scope": "global"}}}, "capabilities.vm.view.scope"),
    Case("capability-check-without-resource", {"capabilities": {"vm.view": {"checks": [{"verb": "get"}]}}},
         "capabilities.vm.view.checks[0].resource"),
    Case("capability-unknown-option", {"capabilities": {"vm.view": {"bogus": 1}}}, "capabilities.vm.view.bogus"),
    Case("concurrency-zero", {"concurrency": 0}, "concurrency", ("between 1 and 256",)),
    Case("concurrency-huge", {"concurrency": 10000}, "concurrency"),
    Case("check-access-not-boolean", {"check_access": "perhaps"}, "check_access"),
    Case("validate-unknown-persona", entry(persona="superuser", groups=["g"]), "bindings[1].persona",
         ("superuser",)),
    Case("validate-bad-regex", entry(persona="viewer", groups=["g"], namespace_regex="(?P<x"),
         "bindings[1].namespace_regex"),
    Case("validate-api-retries", {"api_retries": 21}, "api_retries"),
    Case("validate-pending-enforce-not-bool", {"pending_enforce": "perhaps"}, "pending_enforce"),
    Case("validate-access-format-unknown", {"access_format": "yaml"}, "access_format", ("list, json",)),
    Case("validate-purge-with-nothing-declared", {"bindings": [], "purge": True}, "bindings",
         ("allow_empty_purge",)),
    # the exclusive audit (who else can)
    Case("audit-exclusive-not-boolean", {"audit_exclusive": "perhaps"}, "audit_exclusive"),
    Case("platform-subject-unknown-kind", {"audit_exclusive": True, "platform_subjects": ["Robot r2d2"]},
         "platform_subjects[0]", ("Robot",)),
    Case("platform-subject-sa-without-namespace",
         {"audit_exclusive": True, "platform_subjects": ["Group ok", "ServiceAccount deployer"]},
         "platform_subjects[1]", ("<namespace>/<name>",)),
    Case("platform-subject-newline", {"platform_subjects": ["User alice\nGroup system:masters"]},
         "platform_subjects[0]", ("control character",)),
    # attack pass (session 3): "Group system:*" took system:authenticated for the platform, and the audit
    # hid what every authenticated user may do
    Case("platform-subject-everyone-glob", {"audit_exclusive": True, "platform_subjects": ["Group system:*"]},
         "platform_subjects[0]", ("system:authenticated", "everyone")),
    Case("platform-subject-any-namespace", {"audit_exclusive": True,
                                            "platform_subjects": ["ServiceAccount ops/*", "ServiceAccount */default"]},
         "platform_subjects[1]", ("any namespace",)),
    Case("validate-expires-unparseable", entry(persona="viewer", groups=["g"], expires="tomorrow"),
         "bindings[1].expires", ("neither an RFC 3339 time",)),
    Case("validate-expires-in-the-past", entry(persona="viewer", groups=["g"], expires="2020-01-01T00:00:00Z"),
         "bindings[1].expires", ("has passed",), reaches_cluster=True),
    Case("validate-api-key-trailing-newline", {"api_key": BAD_TOKEN + "\n", "client_cert": None, "client_key": None},
         "api_key", ("line break",), extra={"secret": BAD_TOKEN}),
    Case("validate-proxy-colons", {"proxy": "::::"}, "proxy", ("is not a URL",)),
    Case("validate-kubevirt-version-unparseable", {"role_set": "kubernetes", "kubevirt_version": "1.x"},
         "kubevirt_version", ("v1.6.0",)),
    Case("validate-golden-image-namespace-protected", {"golden_image_namespaces": ["kube-public"]},
         "golden_image_namespaces[0]", ("protected namespace",)),
]

ACCESS_INFO_MODULE = "vmo.rbac.vmo_rbac_access_info"
ACCESS_INFO_CASES = [
    Case("ai-unknown-capability", {"only_capabilities": ["vm.view", "vm.teleport"]}, "only_capabilities[1]",
         ("vm.teleport",)),
    Case("ai-namespace-not-dns", {"namespaces": ["Team_A"]}, "namespaces[0]", ("RFC 1123",)),
    Case("ai-namespace-shell-injection", {"namespaces": ["ok", "a; kubectl delete ns --all"]}, "namespaces[1]"),
    Case("ai-platform-subject-without-kind", {"platform_subjects": ["system:masters"]}, "platform_subjects[0]"),
    Case("ai-platform-subject-any-user", {"platform_subjects": ["User *"]}, "platform_subjects[0]",
         ("any user name",)),
    Case("ai-concurrency-zero", {"concurrency": 0}, "concurrency", ("between 1 and 256",)),
    Case("ai-confirm-unknown", {"confirm": "everything"}, "confirm", ("sample, all",)),
    Case("ai-confirm-case", {"confirm": "ALL"}, "confirm", ("sample, all",)),
    Case("ai-confirm-a-list", {"confirm": ["all"]}, "confirm"),
    Case("ai-confirm-a-bool", {"confirm": True}, "confirm"),
    Case("ai-new-capability-without-checks", {"capabilities": {"vm.velero": {"description": "x"}}},
         "capabilities.vm.velero", ("needs checks",)),
    Case("ai-check-without-verb", {"capabilities": {"vm.view": {"checks": [{"resource": "virtualmachines"}]}}},
         "capabilities.vm.view.checks[0].verb"),
    Case("ai-capabilities-is-a-string", {"capabilities": "vm.view"}, "capabilities"),
    Case("ai-declaration-option", {"bindings": [VALID]}, "bindings", ("Unsupported parameters",)),
    Case("ai-api-retries", {"api_retries": 21}, "api_retries"),
    Case("ai-client-cert-without-key", {"client_key": None}, "client_key", ("together",)),
    Case("ai-api-key-trailing-newline", {"api_key": BAD_TOKEN + "\n", "client_cert": None, "client_key": None},
         "api_key", ("line break",), extra={"secret": BAD_TOKEN}),
    Case("ai-impersonate-user-lf", {"impersonate_user": "bob\nx"}, "impersonate_user", ("line break",)),
]

CLUSTER_ROLES_CASES = [
    Case("roles-unknown-set", {"roles": ["everything"]}, "roles", ("everything",)),
    Case("roles-empty", {"roles": []}, "roles", ("empty list",)),
    Case("roles-state-unknown", {"state": "gone"}, "state"),
    Case("roles-api-retries", {"api_retries": 99}, "api_retries", ("between 0 and 20",)),
    Case("roles-with-a-declaration-option", {"bindings": [VALID]}, "bindings"),
    Case("roles-api-key-trailing-newline", {"api_key": BAD_TOKEN + "\n", "client_cert": None, "client_key": None},
         "api_key", ("line break",), extra={"secret": BAD_TOKEN}),
    Case("roles-host-port-99999", {"host": "https://127.0.0.1:99999"}, "host", ("port",)),
]


def _module_args(ident, case, base, owner, cluster=None):
    args = dict(ident.params, **base)
    if owner:
        args["owner"] = owner
    for k, v in case.args.items():
        if v is None:
            args.pop(k, None)
        elif v == "@kubeconfig":
            args[k] = str(ident.kubeconfig)
        elif v == "@context":  # the context of the identity's kubeconfig
            args[k] = cluster.name
        elif isinstance(v, str) and v.startswith("@inline-token:"):  # an inline kubeconfig with this token
            args[k] = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
                       "clusters": [{"name": "c", "cluster": {"server": cluster.server,
                                                              "certificate-authority": str(cluster.ca)}}],
                       "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                       "users": [{"name": "u", "user": {"token": v.split(":", 1)[1]}}]}
        else:
            args[k] = v
    return args


def _shared(tmp_path_factory, name, compute):
    """``compute()`` once per test session, also under pytest-xdist (the first worker to get here
    runs it, the others read its JSON); the batches are too slow to run once per worker."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / ("%s.json" % name)
    with open(root / ("%s.lock" % name), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return json.loads(path.read_text())
        data = compute()
        path.write_text(json.dumps(data))
        return data


def _run_batch(cluster, module, cases, base, tmp, owner):
    """Every case of one module in one ansible-playbook run: one inventory host per case (each with
    its own identity and its task arguments in host_vars), forks=12. {case id: (result, events)}."""
    inv = tmp / module.rsplit(".", 1)[-1]
    (inv / "host_vars").mkdir(parents=True)
    idents = {c.id: cluster.identity("bad-%s-%s" % (c.id[:40], UID)) for c in cases}
    for c in cases:
        (inv / "host_vars" / (c.id + ".yml")).write_text(
            yaml.safe_dump({"case_args": _module_args(idents[c.id], c, base, owner, cluster),
                            "case_env": {k: cluster.server if v == "@server" else v
                                         for k, v in c.extra.get("env", {}).items()}}))
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {c.id: {} for c in cases},
                                                           "vars": {"ansible_connection": "local"}}}))
    play = [{"hosts": "all", "gather_facts": False,
             "tasks": [{"name": "case", module: "{{ case_args }}", "environment": "{{ case_env }}",
                        "ignore_errors": True}]}]
    audit = cluster.audit()
    run = run_playbook(play, inventory=inv, args=["-f", "12"], timeout=1200)
    events = audit.events()
    by_host = {r["host"]: r["result"] for r in run.results}
    assert set(by_host) == {c.id for c in cases}, (run.rc, run.stdout[-3000:], run.stderr[-3000:])
    out = {}
    for c in cases:
        user = idents[c.id].user
        out[c.id] = (by_host[c.id], [e for e in events if e.get("user", {}).get("username") == user])
    leaked = sorted(c.id for c in cases if c.extra.get("secret") and c.extra["secret"] in run.stdout + run.stderr)
    assert leaked == [], "the credential of %s is in the output" % leaked
    return out


@pytest.fixture(scope="module")
def role_binding_batch(cluster, tmp_path_factory):
    yield _shared(tmp_path_factory, "bad-input-role-binding", lambda: _run_batch(
        cluster, RB_MODULE, ROLE_BINDING_CASES, {"bindings": [VALID]}, tmp_path_factory.mktemp("bad-rb"), OWNER))
    cluster.delete_bindings(OWNER)


@pytest.fixture(scope="module")
def cluster_roles_batch(cluster, tmp_path_factory):
    return _shared(tmp_path_factory, "bad-input-cluster-roles", lambda: _run_batch(
        cluster, CLUSTER_ROLES_MODULE, CLUSTER_ROLES_CASES, {}, tmp_path_factory.mktemp("bad-roles"), None))


@pytest.fixture(scope="module")
def validate_batch(cluster, tmp_path_factory):
    return _shared(tmp_path_factory, "bad-input-validate", lambda: _run_batch(
        cluster, VALIDATE_MODULE, VALIDATE_CASES, {"bindings": [VALID]}, tmp_path_factory.mktemp("bad-validate"),
        OWNER + "-v"))


@pytest.fixture(scope="module")
def access_info_batch(cluster, tmp_path_factory):
    return _shared(tmp_path_factory, "bad-input-access-info", lambda: _run_batch(
        cluster, ACCESS_INFO_MODULE, ACCESS_INFO_CASES, {}, tmp_path_factory.mktemp("bad-access-info"), None))


def _check(case, res, events):
    assert res.get("failed"), "%s did not fail: %s" % (case.id, {k: v for k, v in res.items() if k != "invocation"})
    if case.extra.get("secret"):
        assert case.extra["secret"] not in json.dumps(res), "%s: the credential is in the result" % case.id
    msg = res["msg"]
    assert case.field in msg, "%s: the message does not name %r: %s" % (case.id, case.field, msg)
    if "field" in res:  # a SpecError: the module also returns the field path on its own
        assert res["field"] == case.field, (case.id, res["field"], msg)
    for w in case.words:
        assert w in msg, "%s: %r not in: %s" % (case.id, w, msg)
    writes = [(e["verb"], e.get("objectRef", {}).get("resource"), e.get("objectRef", {}).get("name")) for e in events
              if e["verb"] in ("create", "update", "patch", "delete", "deletecollection")
              and e.get("objectRef", {}).get("resource") not in ("subjectaccessreviews", "selfsubjectreviews")]
    assert writes == [], "%s: writes before failing: %s" % (case.id, writes)
    if case.reaches_cluster:
        assert events, "%s: expected reads before failing" % case.id
    else:
        assert events == [], "%s: expected no request at all: %s" % (case.id, [e["requestURI"] for e in events])
    assert res.get("changed") is False


# vmo_rbac_fleet_report: the role's fleet report, an action on the controller (no cluster).
FLEET_REPORT_MODULE = "vmo.rbac.vmo_rbac_fleet_report"
FLEET_REPORT_CASES = [
    Case("fr-format-unknown", {"formats": ["markdown", "pdf"]}, "formats", ("pdf",)),
    Case("fr-title-a-mapping", {"title": {"a": 1}}, "title"),
    Case("fr-slice-a-list", {"slice": ["a", "b"]}, "slice"),
    Case("fr-unknown-option", {"formatz": ["json"]}, "formatz"),
]


@pytest.fixture(scope="module")
def fleet_report_batch(tmp_path_factory):
    """Every case as a task of one play on the controller; {case id: (result, [])} (no cluster is asked)."""
    tmp = tmp_path_factory.mktemp("bad-fleet-report")
    (tmp / "a-file").write_text("not a directory\n")
    tasks = []
    for c in FLEET_REPORT_CASES:
        args = {k: (str(tmp / "a-file" / "reports") if v == "@file" else v) for k, v in c.args.items()}
        tasks.append({"name": c.id, FLEET_REPORT_MODULE: args, "ignore_errors": True})
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    return {r["task"]: (r["result"], []) for r in run.results}


@pytest.mark.parametrize("case", [c.param() for c in FLEET_REPORT_CASES])
def test_vmo_rbac_fleet_report_refuses(case, fleet_report_batch):
    res, events = fleet_report_batch[case.id]
    _check(case, res, events)


def test_vmo_rbac_fleet_report_warns_about_a_directory_it_cannot_write(tmp_path):
    """A report directory that cannot be written (here a path under a regular file, which root cannot
    create either) is not bad input: the report is the run's output, printed anyway, and a failed
    run_once task would fail the play for every cluster after its writes were made (issue 20). The task
    succeeds with a warning that names dest and the reason, and writes nothing."""
    (tmp_path / "a-file").write_text("not a directory\n")
    dest = str(tmp_path / "a-file" / "reports")
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "report", FLEET_REPORT_MODULE: {"dest": dest, "formats": ["json", "markdown"]}}]}])
    assert run.rc == 0, run.stdout[-3000:]
    res = run.task("report")
    assert not res.get("failed") and res["changed"] is False and res["files"] == []
    assert res["files_error"] == "cannot create the directory %s: Not a directory" % dest
    assert res["warnings"] == ["vmo.rbac fleet report: dest: %s; the report printed in this task's output is complete "
                               "(set vmo_rbac_report_dir to a writable directory, or to '' for no files)"
                               % res["files_error"]]
    assert res["msg"][0].startswith("# VMO RBAC fleet report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_report_directory_with_a_nul_is_a_warning_not_a_failed_play(cluster, uid, tmp_path):
    """vmo_rbac_report_dir with a NUL (an extra variable pasted with a stray control character): the report task
    raised "embedded null byte" after the cluster's writes, and its run_once failure failed the play for every
    host (attack pass on the merged branches). Now the run passes, the report task warns naming dest, the path
    shown escaped, and no directory is made."""
    ident = cluster.identity("nul-report-" + uid)
    owner = "nul-report-" + uid
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {"hosts": {"nul-a": {}, "nul-b": {}}, "vars": {
        "ansible_connection": "local", "vmo_rbac_owner": owner, **{"vmo_rbac_" + k: v for k, v in ident.params.items()},
        "vmo_rbac_bindings": [{"persona": "viewer", "groups": ["nul-" + uid]}],
        "vmo_rbac_report_dir": str(tmp_path / "reports\x00x")}}}}}))
    try:
        run = run_playbook("vmo.rbac.enforce", inventory=inv, limit="nul-a")
        res = next(r["result"] for r in run.results if r["task"].endswith("Report | Print the fleet report and write its files"))
        assert run.rc == 0 and not res.get("failed"), res.get("msg")
        assert res["files_error"] == "the path %s contains the control character U+0000" % ascii(
            str(tmp_path / "reports\x00x")), res
        assert any("vmo.rbac fleet report: dest: the path" in w for w in res["warnings"]), res["warnings"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yml"]
        assert cluster.bindings(owner)  # the run's writes, which the failed report task used to fail after
    finally:
        cluster.delete_bindings(owner)


# vmo_rbac_expires_at: the filter the break-glass playbook turns a requested duration into an end with.
# args: the value filtered and the filter's keyword arguments, templated by ansible-playbook.
EXPIRES_AT_FILTER_CASES = [
    Case("ea-unreadable", {"value": "soon", "kw": {"name": "vmo_rbac_break_glass_duration"}},
         "vmo_rbac_break_glass_duration", ("soon",)),
    Case("ea-over-the-maximum", {"value": "9h", "kw": {"max_duration": "8h"}}, "_input", ("longer than max_duration 8h",)),
    Case("ea-maximum-unreadable", {"value": "2h", "kw": {"max_duration": "often"}}, "max_duration"),
    Case("ea-in-the-past", {"value": "2000-01-01T00:00:00Z", "kw": {}}, "_input", ("has passed",)),
    Case("ea-longer-than-a-year", {"value": "400d", "kw": {}}, "_input", ("longer than a year",)),
    # a duration longer than a date can count: "Python int too large to convert to C int" before (issue 18 item 11)
    Case("ea-beyond-the-calendar", {"value": "99999999999d", "kw": {"name": "vmo_rbac_break_glass_duration"}},
         "vmo_rbac_break_glass_duration", ("99999999999d is longer than a year",)),
    Case("ea-max-duration-too-many-digits", {"value": "2h", "kw": {"max_duration": "9" * 5000 + "d"}},
         "max_duration", ("characters long",)),
]


@pytest.fixture(scope="module")
def expires_at_batch():
    """Every case as a debug task of one play on the controller; {case id: (result, [])}."""
    tasks = [{"name": c.id, "ansible.builtin.debug": {
        "msg": "{{ value | vmo.rbac.vmo_rbac_expires_at(**kw) }}"},
        "vars": {"value": c.args["value"], "kw": c.args["kw"]}, "ignore_errors": True} for c in EXPIRES_AT_FILTER_CASES]
    run = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    return {r["task"]: (r["result"], []) for r in run.results}


@pytest.mark.parametrize("case", [c.param() for c in EXPIRES_AT_FILTER_CASES])
def test_vmo_rbac_expires_at_refuses(case, expires_at_batch):
    res, events = expires_at_batch[case.id]
    _check(case, res, events)


# The event source vmo.rbac.cluster_changes (issue 18, items 3, 9 and 10): each case is the source's
# arguments (``args``: top level; ``extra["cluster"]``: its one cluster's mapping, a valid connection of
# its own identity otherwise), given to its main(queue, args) as ansible-rulebook calls it. Each must
# refuse to start, naming the option, before any request (the identity's audit log stays empty).
EDA_SOURCE_CASES = [
    Case("eda-debounce-nan", {"debounce": float("nan")}, "debounce", ("finite number",)),
    Case("eda-debounce-inf", {"debounce": float("inf")}, "debounce", ("finite number",)),
    Case("eda-min-interval-negative", {"min_interval": -3}, "min_interval", ("at least 0",)),
    Case("eda-watch-timeout-inf", {"watch_timeout": float("inf")}, "watch_timeout", ("finite number",)),
    Case("eda-page-size-a-boolean", {"page_size": True}, "page_size", ("a boolean",)),
    Case("eda-backoff-max-huge", {"backoff_max": 1e12}, "backoff_max", ("at most",)),
    Case("eda-owner-pasted-into-the-selector", {"owner": "vmo-rbac,app=x"}, "owner", ("RFC 1123",)),
    Case("eda-owner-with-a-space", {"owner": "Vmo Rbac"}, "owner", ("RFC 1123",)),
    Case("eda-cluster-owner-a-selector", {}, "clusters[0]: owner",
         extra={"cluster": {"owner": "team-a in (x)"}}),
    Case("eda-cluster-name-all", {}, "clusters[0]: name", ("not a plain host name",), extra={"cluster": {"name": "all"}}),
    Case("eda-cluster-name-two-hosts", {}, "clusters[0]: name", extra={"cluster": {"name": "east,west"}}),
    Case("eda-request-timeout-nan", {}, "request_timeout", ("finite number",),
         extra={"cluster": {"request_timeout": float("nan")}}),
    Case("eda-proxy-colons", {}, "proxy", ("is not a URL",), extra={"cluster": {"proxy": "::::"}}),
    Case("eda-host-port-99999", {}, "host", ("port",), extra={"cluster": {"host": "https://127.0.0.1:99999"}}),
    Case("eda-api-key-trailing-newline", {}, "api_key", ("line break",),
         extra={"cluster": {"api_key": BAD_TOKEN + "\n", "client_cert": None, "client_key": None},
                "secret": BAD_TOKEN}),
    Case("eda-context-with-k8s-auth-host", {}, "context", ("K8S_AUTH_HOST",),
         extra={"cluster": {"context": "@context", "kubeconfig": "@kubeconfig", "host": None, "client_cert": None,
                            "client_key": None, "ca_cert": None},
                "env": {"K8S_AUTH_HOST": "@server", "K8S_AUTH_API_KEY": BAD_TOKEN}, "secret": BAD_TOKEN}),
]


@pytest.fixture(scope="module")
def eda_source_batch(cluster):
    """Each case through the source's main(), in this process: {case id: (result, events)} where the
    result is {"failed", "msg"} as the tests of the modules read it."""
    import asyncio
    import runpy

    from tests.helpers.ansible import COLLECTIONS

    # the file, not its path under the collections directory: where Ansible's collection finder is installed (as in
    # every Ansible process) it answers for that path, and runpy looks for a __main__ module in it
    source = runpy.run_path(str((COLLECTIONS / "ansible_collections" / "vmo" / "rbac" / "extensions" / "eda" /
                                 "plugins" / "event_source" / "cluster_changes.py").resolve()))
    out = {}
    for c in EDA_SOURCE_CASES:
        ident = cluster.identity("bad-%s-%s" % (c.id[:40], UID))
        entry = dict({"name": "east"}, **ident.params)
        for k, v in c.extra.get("cluster", {}).items():
            if v is None:
                entry.pop(k, None)
            else:
                entry[k] = {"@context": cluster.name, "@kubeconfig": str(ident.kubeconfig)}.get(v, v) \
                    if isinstance(v, str) else v
        env = {k: cluster.server if v == "@server" else v for k, v in c.extra.get("env", {}).items()}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        audit = cluster.audit()
        try:
            asyncio.run(asyncio.wait_for(source["main"](asyncio.Queue(), dict(c.args, clusters=[entry])), 20))
            result = {"failed": False, "msg": "the source started"}
        except asyncio.TimeoutError:
            result = {"failed": False, "msg": "the source ran for 20 s"}
        except ValueError as exc:
            result = {"failed": True, "changed": False, "msg": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a raw error, as ansible-rulebook would print it
            result = {"failed": True, "changed": False, "msg": "raw %s: %s" % (type(exc).__name__, exc)}
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        out[c.id] = (result, audit.events(user=ident.user))
        leaks.record("eda-source-" + c.id, result["msg"])
    return out


@pytest.mark.parametrize("case", [c.param() for c in EDA_SOURCE_CASES])
def test_the_event_source_refuses(case, eda_source_batch):
    res, events = eda_source_batch[case.id]
    assert res["msg"].startswith("vmo.rbac.cluster_changes: "), res
    _check(case, res, events)


def ALL_CASES():  # noqa: N802 - a constant, computed once ROLE_CASES (below) exists
    return (ROLE_BINDING_CASES + VALIDATE_CASES + CLUSTER_ROLES_CASES + ACCESS_INFO_CASES + FLEET_REPORT_CASES
            + EXPIRES_AT_FILTER_CASES + ROLE_CASES + EDA_SOURCE_CASES)


def test_catalog_size():
    assert len(ALL_CASES()) >= 40
    assert len({c.id for c in ALL_CASES()}) == len(ALL_CASES())


@pytest.mark.parametrize("case", [c.param() for c in ROLE_BINDING_CASES])
def test_vmo_role_binding_refuses(case, role_binding_batch):
    res, events = role_binding_batch[case.id]
    _check(case, res, events)


@pytest.mark.parametrize("case", [c.param() for c in VALIDATE_CASES])
def test_vmo_rbac_validate_refuses(case, validate_batch):
    res, events = validate_batch[case.id]
    _check(case, res, events)


@pytest.mark.parametrize("case", [c.param() for c in ACCESS_INFO_CASES])
def test_vmo_rbac_access_info_refuses(case, access_info_batch):
    res, events = access_info_batch[case.id]
    _check(case, res, events)


@pytest.mark.parametrize("case", [c.param() for c in CLUSTER_ROLES_CASES])
def test_vmo_cluster_roles_refuses(case, cluster_roles_batch):
    res, events = cluster_roles_batch[case.id]
    _check(case, res, events)


# ----------------------------------------------------------------------------- role variables

ROLE_CASES = [
    # refused by meta/argument_specs.yml, before any task of the role
    Case("r-audit-exclusive-not-bool", {"vmo_rbac_audit_exclusive": "perhaps"}, "vmo_rbac_audit_exclusive",
         extra={"argspec": True}),
    Case("r-platform-subjects-a-string", {"vmo_rbac_platform_subjects": {"Group": "ops"}},
         "vmo_rbac_platform_subjects", extra={"argspec": True}),
    Case("r-access-format-unknown", {"vmo_rbac_access_format": "yaml"}, "vmo_rbac_access_format",
         extra={"argspec": True}),
    # accepted by the argument specification, refused by the enforce step before its first write
    Case("r-platform-subject-without-kind", {"vmo_rbac_platform_subjects": ["kube-system/*"]},
         "platform_subjects[0]"),
    Case("r-platform-subject-everyone", {"vmo_rbac_platform_subjects": ["Group system:authenticated"]},
         "platform_subjects[0]", ("everyone",)),
    Case("r-bindings-is-a-string", {"vmo_rbac_bindings": "admin"}, "vmo_rbac_bindings", extra={"argspec": True}),
    Case("r-groups-is-a-mapping", {"vmo_rbac_bindings": [{"persona": "viewer", "groups": {"a": 1}}]},
         "groups", extra={"argspec": True}),
    Case("r-unknown-persona", {"vmo_rbac_extra_bindings": [{"persona": "root", "groups": ["g"]}]},
         "vmo_rbac_extra_bindings", ("root",), extra={"argspec": True}),
    Case("r-role-set-unknown", {"vmo_rbac_role_set": "openshift"}, "vmo_rbac_role_set", extra={"argspec": True}),
    Case("r-golden-image-namespaces-a-mapping", {"vmo_rbac_golden_image_namespaces": {"a": 1}},
         "vmo_rbac_golden_image_namespaces", extra={"argspec": True}),
    Case("r-golden-image-namespace-protected", {"vmo_rbac_golden_image_namespaces": ["kube-system"]},
         "golden_image_namespaces[0]", ("protected namespace",)),
    Case("r-kubevirt-version-unparseable", {"vmo_rbac_kubevirt_version": "newest"}, "kubevirt_version"),
    Case("r-wait-for-roles-text", {"vmo_rbac_wait_for_roles": "later"}, "vmo_rbac_wait_for_roles",
         extra={"argspec": True}),
    Case("r-report-format-unknown", {"vmo_rbac_report_formats": ["markdown", "pdf"]}, "vmo_rbac_report_formats",
         ("pdf",), extra={"argspec": True}),
    Case("r-allow-privileged-not-bool", {"vmo_rbac_allow_privileged": "perhaps"}, "vmo_rbac_allow_privileged",
         extra={"argspec": True}),
    Case("r-validate-certs-not-bool", {"vmo_rbac_validate_certs": "perhaps"}, "vmo_rbac_validate_certs",
         extra={"argspec": True}),
    # accepted by the argument specification, refused by the enforce step's checks, before its first write
    Case("r-extra-binding-bad-regex", {"vmo_rbac_extra_bindings": [{"persona": "viewer", "groups": ["g"],
                                                                    "namespace_regex": "/(/"}]},
         "bindings[1].namespace_regex"),
    Case("r-owner-not-dns", {"vmo_rbac_owner": "Team A"}, "owner"),
    Case("r-owner-empty", {"vmo_rbac_owner": ""}, "owner"),
    Case("r-oidc-prefix-space", {"vmo_rbac_oidc_user_prefix": "a b"}, "oidc_user_prefix"),
    Case("r-everyone-as-admin", {"vmo_rbac_extra_bindings": [{"persona": "admin", "groups": ["system:authenticated"]}]},
         "bindings[1].groups[0]", ("allow_privileged",)),
    Case("r-1001-users", {"vmo_rbac_extra_bindings": [{"persona": "viewer", "users": MANY_USERS}]},
         "bindings[1]", ("at most 1000",)),
    Case("r-conflicting-names", {"vmo_rbac_extra_bindings": [
        {"name": "same-" + UID, "persona": "viewer", "groups": ["g"]},
        {"name": "same-" + UID, "persona": "admin", "groups": ["h"]}]}, "bindings[2]", ("conflicts with",)),
    Case("r-api-retries-too-many", {"vmo_rbac_api_retries": 99}, "api_retries"),
    Case("r-request-timeout-negative", {"vmo_rbac_request_timeout": -1}, "request_timeout"),
    Case("r-kubeconfig-number", {"vmo_rbac_kubeconfig": 42}, "kubeconfig"),
    Case("r-client-cert-without-key", {"vmo_rbac_client_key": None}, "client_key"),
    Case("r-api-key-trailing-newline", {"vmo_rbac_api_key": BAD_TOKEN + "\n", "vmo_rbac_client_cert": None,
                                        "vmo_rbac_client_key": None}, "api_key", ("line break",),
         extra={"secret": BAD_TOKEN}),
    Case("r-impersonate-groups-crlf", {"vmo_rbac_impersonate_groups": ["a\r\nb"]}, "impersonate_groups[0]"),
    Case("r-missing-namespace", {"vmo_rbac_extra_bindings": [{"persona": "viewer", "groups": ["g"],
                                                              "namespaces": ["missing-" + UID]}]},
         "bindings[1].namespaces[0]", ("does not exist",), reaches_cluster=True),
    # validation options: the enforce step is given them too, so they fail before it writes
    Case("r-concurrency-zero", {"vmo_rbac_concurrency": 0}, "concurrency"),
    Case("r-capability-bad-scope", {"vmo_rbac_capabilities": {"vm.view": {"scope": "global"}}},
         "capabilities.vm.view.scope"),
    # issue 9 variables
    Case("r-cluster-roles-unknown", {"vmo_rbac_cluster_roles": ["all"]}, "vmo_rbac_cluster_roles", ("all",),
         extra={"argspec": True}),
    Case("r-console-access-not-bool", {"vmo_rbac_console_access": "perhaps"}, "vmo_rbac_console_access",
         extra={"argspec": True}),
    Case("r-wait-for-api-server-text", {"vmo_rbac_wait_for_api_server": "soon"}, "vmo_rbac_wait_for_api_server",
         extra={"argspec": True}),
    Case("r-protected-namespace-bad", {"vmo_rbac_protected_namespaces": ["Kube System"]},
         "protected_namespaces[0]"),
    Case("r-purge-nothing-declared", {"vmo_rbac_purge": True, "vmo_rbac_bindings": []}, "bindings",
         ("allow_empty_purge",)),
    # issue 15 variables
    Case("r-expires-in-the-past", {"vmo_rbac_extra_bindings": [{"persona": "viewer", "groups": ["g"],
                                                                "expires": "2020-01-01T00:00:00Z"}]},
         "bindings[1].expires", ("has passed",), reaches_cluster=True),
    Case("r-expires-over-max", {"vmo_rbac_max_duration": "1h", "vmo_rbac_extra_bindings": [
        {"persona": "viewer", "groups": ["g"], "expires": "2h"}]}, "bindings[1].expires", ("max_duration 1h",)),
    Case("r-expires-unparseable", {"vmo_rbac_extra_bindings": [{"persona": "viewer", "groups": ["g"],
                                                                "expires": "eventually"}]},
         "bindings[1].expires", ("neither an RFC 3339 time",)),
    Case("r-max-duration-bad", {"vmo_rbac_max_duration": "soon"}, "max_duration"),
    Case("r-reason-is-a-list", {"vmo_rbac_extra_bindings": [{"persona": "viewer", "groups": ["g"],
                                                             "reason": ["INC-1"]}]},
         "bindings[1].reason", ("expected a text",)),
]


@pytest.fixture(scope="module")
def role_batch(cluster, tmp_path_factory):
    """One vmo.rbac.enforce run over an inventory with one host per case (all on vmo-1), forks=12."""
    yield _shared(tmp_path_factory, "bad-input-role", lambda: _run_role_batch(cluster, tmp_path_factory))
    cluster.delete_bindings(OWNER + "-r")


def _run_role_batch(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-role")
    inv = tmp / "inventory"
    (inv / "host_vars").mkdir(parents=True)
    idents = {c.id: cluster.identity("bad-%s-%s" % (c.id, UID)) for c in ROLE_CASES}
    hosts = {}
    for c in ROLE_CASES:
        hv = {"vmo_rbac_" + k: v for k, v in idents[c.id].params.items()}
        for k, v in c.args.items():
            if v is None:
                hv.pop(k, None)
            else:
                hv[k] = v
        hosts[c.id] = {}
        (inv / "host_vars" / (c.id + ".yml")).write_text(yaml.safe_dump(hv))
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmo_clusters": {
        "hosts": hosts, "vars": {"ansible_connection": "local", "vmo_rbac_owner": OWNER + "-r",
                                 "vmo_rbac_bindings": [VALID], "vmo_rbac_report_dir": str(tmp / "reports"),
                                 "vmo_rbac_report_formats": ["json"]}}}}}))
    audit = cluster.audit()
    run = run_playbook("vmo.rbac.enforce", inventory=inv, args=["-f", "12"], timeout=1200)
    events = audit.events()
    report = json.loads((tmp / "reports" / "vmo-rbac-report.json").read_text())
    reported = dict((c["cluster"], c) for c in report["clusters"])
    out = {}
    for c in ROLE_CASES:
        user = idents[c.id].user
        mine = [r for r in run.results if r["host"] == c.id]
        out[c.id] = (mine, [e for e in events if e.get("user", {}).get("username") == user], reported.get(c.id))
    return out


@pytest.mark.parametrize("case", [c.param() for c in ROLE_CASES])
def test_role_refuses(case, role_batch):
    results, events, reported = role_batch[case.id]
    assert results, "no result for host %s" % case.id
    failing = [r for r in results if r["result"].get("failed") and not r["result"].get("skipped")]
    assert failing, "%s: nothing failed: %s" % (case.id, [r["task"] for r in results])
    first = failing[0]
    ran = [r["result"].get("action") for r in results if not r["result"].get("skipped")]
    if case.extra.get("argspec"):
        assert first["result"]["action"].endswith("validate_argument_spec"), first["task"]
        assert len(results) == 1, "%s: ran more than the argument validation: %s" % (case.id, ran)
    else:
        # the first call to the cluster is the enforce step; it refuses before its first write
        assert first["task"].endswith("Enforce | Make the cluster hold exactly the declared bindings"), \
            (case.id, first["task"], first["result"].get("msg"))
        assert first["result"]["changed"] is False and not first["result"].get("actions"), first["result"]
    assert "vmo.rbac.vmo_rbac_validate" not in ran, "%s: the validation ran" % case.id
    msg = first["result"]["msg"]
    if case.extra.get("secret"):
        assert case.extra["secret"] not in json.dumps(results) + json.dumps(reported), case.id
    assert case.field in msg, "%s: the message does not name %r: %s" % (case.id, case.field, msg)
    for w in case.words:
        assert w in msg, "%s: %r not in: %s" % (case.id, w, msg)
    writes = [e for e in events if e["verb"] in ("create", "update", "patch", "delete")
              and e.get("objectRef", {}).get("resource") not in ("subjectaccessreviews", "selfsubjectreviews")]
    assert writes == [], "%s: %d writes" % (case.id, len(writes))
    if not case.reaches_cluster:
        assert events == [], "%s: %s" % (case.id, [e["requestURI"] for e in events])
    # The cluster still appears in the fleet report, as failed, with the reason (unless the argument
    # specification stopped it, which the report lists as "failed before the role could check it").
    assert reported is not None and reported["failed"] is True, (case.id, reported)
    if case.extra.get("argspec"):
        assert reported["msg"].startswith("failed before the vmo_rbac role could check it"), reported
    else:
        assert reported["msg"].startswith("enforce failed: ") and case.field in reported["msg"], reported["msg"]
    print("%s: %s" % (case.id, json.dumps(msg)[:200]))
