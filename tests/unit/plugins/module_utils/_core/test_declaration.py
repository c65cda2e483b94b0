"""User input -> Declaration: every guard, with the field path in the message."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vmo.rbac.plugins.module_utils._core import declaration as spec
from ansible_collections.vmo.rbac.plugins.module_utils._core import namespace_regex
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError, Subject


def parse(*entries, **kw):
    return spec.parse_declaration(list(entries), **kw)


def grant(entry, **kw):
    return parse(entry, **kw).grants[0]


def refused(entries, **kw):
    """The SpecError for a declaration that must be refused."""
    with pytest.raises(SpecError) as err:
        spec.parse_declaration(entries, **kw)
    return err.value


def ok_entry(**extra):
    entry = {"persona": "viewer", "groups": ["auditors"]}
    entry.update(extra)
    return entry


# ----------------------------------------------------------------- the happy path


def test_issue_example_parses():
    decl = parse(
        {"persona": "power-user", "groups": ["vm-operators"],
         "subjects": [{"kind": "User", "name": "alice@example.com"},
                      {"kind": "ServiceAccount", "name": "ci", "namespace": "automation"}],
         "namespaces": ["team-a", "team-b"]},
        {"cluster_role": "my-custom-role", "namespace_regex": "/^web-app/", "users": ["bob@example.com"]},
        {"persona": "viewer", "namespace_selector": "team=vm", "groups": ["auditors"]},
    )
    pu, custom, viewer = decl.grants
    assert (pu.path, pu.role_kind, pu.role_name, pu.persona) == (
        "bindings[0]", "ClusterRole", "spectro-vm-power-user", "power-user")
    assert pu.subjects == frozenset([
        Subject("Group", "vm-operators", ""), Subject("User", "alice@example.com", ""),
        Subject("ServiceAccount", "ci", "automation")])
    assert pu.scope == spec.Scope(False, ("team-a", "team-b"), (), ())
    assert (custom.role_name, custom.persona) == ("my-custom-role", None)
    assert [r[0] for r in custom.scope.regexes] == ["^web-app"]
    assert viewer.scope.selectors == (("team=vm", (("team", "=", ("vm",)),)),)
    assert (decl.role_set, decl.owner, decl.allow_privileged, decl.legacy_dashboard_bindings) == (
        "vmo", "vmo-rbac", False, False)


@pytest.mark.parametrize("role_set, persona, role", [
    ("vmo", "admin", "spectro-vm-admin"), ("vmo", "power-user", "spectro-vm-power-user"),
    ("vmo", "user", "spectro-vm-user"), ("vmo", "viewer", "spectro-vm-viewer"),
    ("kubernetes", "power-user", "admin"), ("kubernetes", "user", "edit"), ("kubernetes", "viewer", "view"),
])
def test_persona_maps_to_the_role_of_the_role_set(role_set, persona, role):
    g = grant({"persona": persona, "users": ["a"]}, role_set=role_set)
    assert (g.role_kind, g.role_name, g.persona) == ("ClusterRole", role, persona)
    assert g.scope.cluster


def test_cluster_role_of_a_persona_is_recognised():
    assert grant({"cluster_role": "spectro-vm-user", "users": ["a"]}).persona == "user"
    assert grant({"cluster_role": "edit", "users": ["a"]}, role_set="kubernetes").persona == "user"
    assert grant({"cluster_role": "edit", "users": ["a"]}).persona is None


def test_none_and_empty_bindings():
    assert spec.parse_declaration(None).grants == ()
    assert spec.parse_declaration([]).grants == ()


def test_subjects_are_deduplicated_across_shorthand_and_general_form():
    g = grant({"persona": "viewer", "users": ["alice", "alice"],
               "subjects": [{"kind": "User", "name": "alice", "api_group": "rbac.authorization.k8s.io"},
                            {"kind": "ServiceAccount", "name": "ci", "namespace": "ops", "api_group": ""}],
               "service_accounts": ["ops/ci"]})
    assert g.subjects == frozenset([Subject("User", "alice", ""), Subject("ServiceAccount", "ci", "ops")])


def test_duplicate_namespaces_collapse_into_one_binding():
    from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_scopes import resolve

    decl = spec.parse_declaration([ok_entry(namespaces=["a", "b", "a"])])
    # The scope keeps the list as written (so errors name the right index) ...
    assert decl.grants[0].scope.namespaces == ("a", "b", "a")
    # ... and resolving makes one RoleBinding per namespace.
    assert sorted(k[1] for k in resolve(decl, {"a": {}, "b": {}})) == ["a", "b"]


def test_multiple_regexes_and_selectors():
    g = grant(ok_entry(namespace_regex=["^a", "/b$/"], namespace_selector=["x=1", "!y"]))
    assert [r[0] for r in g.scope.regexes] == ["^a", "b$"]
    assert [s[0] for s in g.scope.selectors] == ["x=1", "!y"]
    assert not g.scope.cluster


# --------------------------------------------------------------- guards: structure


@pytest.mark.parametrize("entries, path, fragment", [
    ([ok_entry(), ok_entry(), {"persona": "viewer", "service_accounts": ["ci"]}],
     "bindings[2].service_accounts[0]", "expected namespace/name"),
    ([ok_entry(), ok_entry(), {"persona": "viewer", "service_accounts": ["a/b/c"]}],
     "bindings[2].service_accounts[0]", "expected namespace/name"),
    ([{"persona": "viewer", "service_accounts": ["/ci"]}], "bindings[0].service_accounts[0]",
     "expected namespace/name"),
    ([{"persona": "viewer", "service_accounts": ["ops/"]}], "bindings[0].service_accounts[0]",
     "expected namespace/name"),
    ([{"persona": "viewer", "service_accounts": [7]}], "bindings[0].service_accounts[0]",
     "expected namespace/name"),
    ([{"persona": "viewer", "service_accounts": ["Ops/ci"]}], "bindings[0].service_accounts[0]",
     "not a valid namespace name"),
    ([{"persona": "viewer", "service_accounts": ["ops/CI"]}], "bindings[0].service_accounts[0]",
     "not a valid ServiceAccount name"),
    ([ok_entry(), {"persona": "admni", "users": ["a"]}], "bindings[1].persona",
     "unknown persona 'admni' (did you mean 'admin'?)"),
    ([{"persona": "operator", "users": ["a"]}], "bindings[0].persona", "unknown persona 'operator'"),
    ([{"persona": "viewer", "cluster_role": "view", "users": ["a"]}], "bindings[0]",
     "give exactly one of persona, cluster_role or role (got persona and cluster_role)"),
    ([{"persona": "viewer", "role": "r", "users": ["a"], "namespaces": ["a"]}], "bindings[0]",
     "got persona and role"),
    ([{"users": ["a"]}], "bindings[0]", "give exactly one of persona, cluster_role or role (got none)"),
    ([ok_entry(), {"persona": "viewer"}], "bindings[1]", "no subjects"),
    ([{"persona": "viewer", "users": [], "groups": None}], "bindings[0]", "no subjects"),
    ([{"persona": "viewer", "users": "alice"}], "bindings[0].users", "expected a list, got a string (write ['alice'])"),
    ([{"persona": "viewer", "groups": {"a": 1}}], "bindings[0].groups", "expected a list, got a mapping"),
    ([{"persona": "viewer", "subjects": [{"kind": "ServiceAccount", "name": "ci"}]}],
     "bindings[0].subjects[0].namespace", "a ServiceAccount subject needs its namespace"),
    ([{"persona": "viewer", "subjects": [{"kind": "User", "name": "a", "namespace": "ops"}]}],
     "bindings[0].subjects[0].namespace", "only ServiceAccount subjects have a namespace"),
    ([{"persona": "viewer", "subjects": [{"kind": "user", "name": "a"}]}],
     "bindings[0].subjects[0].kind", "unknown subject kind 'user'"),
    ([{"persona": "viewer", "subjects": [{"name": "a"}]}], "bindings[0].subjects[0].kind",
     "unknown subject kind None"),
    ([{"persona": "viewer", "subjects": ["alice"]}], "bindings[0].subjects[0]", "expected a mapping"),
    ([{"persona": "viewer", "subjects": [{"kind": "User"}]}], "bindings[0].subjects[0].name",
     "expected a name (string), got nothing (null)"),
    ([{"persona": "viewer", "subjects": [{"kind": "Group", "name": "g", "api_group": ""}]}],
     "bindings[0].subjects[0].api_group", "a Group subject has apiGroup 'rbac.authorization.k8s.io'"),
    ([{"persona": "viewer", "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ops",
                                          "api_group": "rbac.authorization.k8s.io"}]}],
     "bindings[0].subjects[0].api_group", "a ServiceAccount subject has apiGroup ''"),
    (["viewer"], "bindings[0]", "expected a mapping"),
    ([{"role": "vm-operator", "users": ["a"]}], "bindings[0].role", "a Role exists in one namespace"),
    ([{"cluster_role": "a/b", "users": ["a"]}], "bindings[0].cluster_role", "not a valid role name"),
    ([{"cluster_role": "..", "users": ["a"]}], "bindings[0].cluster_role", "not a valid role name"),
    ([{"cluster_role": "", "users": ["a"]}], "bindings[0].cluster_role", "non-empty string"),
    ([{"role": "50%", "users": ["a"], "namespaces": ["a"]}], "bindings[0].role", "not a valid role name"),
    ([{"cluster_role": 5, "users": ["a"]}], "bindings[0].cluster_role", "got a number"),
])
def test_structural_guards(entries, path, fragment):
    err = refused(entries)
    assert err.path == path
    assert fragment in err.message
    assert str(err).startswith(path + ": ")


def test_bindings_must_be_a_list():
    err = refused({"persona": "viewer"})
    assert (err.path, err.message) == ("bindings", "expected a list of grants, got a mapping")


def test_unknown_role_set_and_owner():
    err = refused([], role_set="kubernets")
    assert err.path == "role_set" and "did you mean 'kubernetes'?" in err.message
    err = refused([], owner="Team_A")
    assert err.path == "owner" and "not a valid owner name" in err.message
    err = refused([], owner="o" * 64)
    assert err.path == "owner"


@pytest.mark.parametrize("key, suggestion", [
    ("namespace", "namespaces"), ("user", "users"), ("persona_", "persona"),
    ("serviceaccounts", "service_accounts"), ("namespace_regexp", "namespace_regex"),
    ("clusterrole", "cluster_role"),
])
def test_unknown_option_suggests_the_close_one(key, suggestion):
    err = refused([ok_entry(**{key: "x"})])
    assert err.path == "bindings[0].%s" % key
    assert "unknown option (did you mean %r?)" % suggestion in err.message


def test_unknown_option_without_a_close_match_lists_the_options():
    err = refused([ok_entry(zzz=1)])
    assert err.path == "bindings[0].zzz"
    assert "did you mean" not in err.message
    assert "expected one of persona, cluster_role, role, name" in err.message


def test_unknown_subject_key_suggests():
    err = refused([{"persona": "viewer", "subjects": [{"kind": "User", "nmae": "a"}]}])
    assert err.path == "bindings[0].subjects[0].nmae"
    assert "did you mean 'name'?" in err.message


# ------------------------------------------------------------------ names and scopes


@pytest.mark.parametrize("bad", [
    "Team-A", "team_a", "-team", "team-", "team.a", "a" * 64, "", "team-a\n", "\nteam-a", "t\u00e9am", " team",
])
def test_invalid_namespace_names(bad):
    err = refused([ok_entry(namespaces=["ok", bad])])
    assert err.path == "bindings[0].namespaces[1]"
    assert "not a valid namespace name" in err.message


def test_namespace_name_types_and_empty_lists():
    err = refused([ok_entry(namespaces=[3])])
    assert (err.path, err.message) == ("bindings[0].namespaces[0]", "expected a namespace name (string), got a number")
    err = refused([ok_entry(namespaces="team-a")])
    assert err.path == "bindings[0].namespaces" and "got a string" in err.message
    err = refused([ok_entry(namespaces=[])])
    assert err.path == "bindings[0].namespaces" and "empty list" in err.message


@pytest.mark.parametrize("key", ["namespace_regex", "namespace_selector"])
def test_empty_scope_list_is_not_cluster_wide(key):
    # An empty list of regexes/selectors used to fall through to "no scope" = a cluster-wide
    # ClusterRoleBinding: the opposite of what the user restricted.
    err = refused([ok_entry(**{key: []})])
    assert err.path == "bindings[0].%s" % key
    assert "empty list" in err.message


@pytest.mark.parametrize("name", ["my-binding", "a", "team.a.viewers", "a" * 253])
def test_valid_binding_names(name):
    assert grant(ok_entry(name=name)).name == name


@pytest.mark.parametrize("name", ["My-Binding", "a_b", "-a", "a-", "a" * 254, "", "ok\n", "a/b", 5])
def test_invalid_binding_names(name):
    err = refused([ok_entry(name=name)])
    assert err.path == "bindings[0].name"


@pytest.mark.parametrize("raw, source", [
    ("/^web-app/", "^web-app"),
    ("^web-app", "^web-app"),
    ("web", "web"),
    ("/web/", "web"),
    ("/^a|b$/", "^a|b$"),
])
def test_palette_style_regex_with_and_without_slashes(raw, source):
    (rule,) = grant(ok_entry(namespace_regex=raw)).scope.regexes
    assert (rule.source, rule.pattern, rule.negate) == (source, source, False)


def test_regex_is_searched_not_anchored():
    (rule,) = grant(ok_entry(namespace_regex="/app/")).scope.regexes
    assert namespace_regex.matches(rule, "web-app-1") and not namespace_regex.matches(rule, "web")


def test_negated_palette_rule_matches_what_does_not_match():
    (rule,) = grant(ok_entry(namespace_regex="~/^(kube|cluster|capi|jet|cert)[-].+/")).scope.regexes
    assert rule.negate and rule.pattern == "^(kube|cluster|capi|jet|cert)[-].+"
    assert rule.source == "~/^(kube|cluster|capi|jet|cert)[-].+/"
    assert namespace_regex.matches(rule, "web-app") and namespace_regex.matches(rule, "kube")
    assert not namespace_regex.matches(rule, "kube-system") and not namespace_regex.matches(rule, "cert-manager")


def test_posix_classes_mean_what_they_mean_in_go():
    """Python's re read [[:alpha:]] as a class of '[:alph' followed by ']'; RE2, like Go, as letters."""
    (rule,) = grant(ok_entry(namespace_regex="^[[:alpha:]]+-app")).scope.regexes
    assert namespace_regex.matches(rule, "web-app") and not namespace_regex.matches(rule, "a]-app")


@pytest.mark.parametrize("raw, path, fragment", [
    ("/(/", "bindings[0].namespace_regex", "invalid regular expression '/(/'"),
    ("[a-", "bindings[0].namespace_regex", "invalid regular expression"),
    ("//", "bindings[0].namespace_regex", "empty regular expression"),
    ("", "bindings[0].namespace_regex", "non-empty string"),
    (5, "bindings[0].namespace_regex", "got a number"),
    ("a" * 1025, "bindings[0].namespace_regex", "longer than 1024"),
    (["^a", "*"], "bindings[0].namespace_regex[1]", "invalid regular expression"),
])
def test_invalid_regex(raw, path, fragment):
    err = refused([ok_entry(namespace_regex=raw)])
    assert err.path == path and fragment in err.message


@pytest.mark.parametrize("raw, path, fragment", [
    ("team in vm", "bindings[0].namespace_selector", "invalid label selector 'team in vm'"),
    ("", "bindings[0].namespace_selector", "empty selector"),
    ("Team_=x", "bindings[0].namespace_selector", "invalid label key"),
    (["team=vm", "a,"], "bindings[0].namespace_selector[1]", "trailing ','"),
    ({"team": "vm"}, "bindings[0].namespace_selector", "expected a label selector string"),
    ([{"team": "vm"}], "bindings[0].namespace_selector[0]", "expected a label selector string"),
])
def test_invalid_label_selector(raw, path, fragment):
    err = refused([ok_entry(namespace_selector=raw)])
    assert err.path == path and fragment in err.message


def test_role_needs_a_namespace_scope_and_accepts_any():
    for scope in ({"namespaces": ["a"]}, {"namespace_regex": "^a"}, {"namespace_selector": "a"}):
        entry = {"role": "vm-operator", "users": ["a"]}
        entry.update(scope)
        g = grant(entry)
        assert (g.role_kind, g.role_name, g.persona) == ("Role", "vm-operator", None)


# ----------------------------------------------------------------- privilege guards


def test_cluster_admin_cluster_wide_refused_without_allow_privileged():
    err = refused([{"persona": "admin", "groups": ["admins"]}], role_set="kubernetes")
    assert err.path == "bindings[0]"
    assert "cluster-admin cluster-wide (role_set kubernetes maps persona admin to it)" in err.message
    assert "allow_privileged" in err.message
    err = refused([{"cluster_role": "cluster-admin", "groups": ["admins"]}])
    assert err.path == "bindings[0]" and "granting cluster-admin cluster-wide is refused" in err.message


def test_cluster_admin_allowed_with_allow_privileged_or_in_namespaces():
    g = grant({"persona": "admin", "groups": ["admins"]}, role_set="kubernetes", allow_privileged=True)
    assert (g.role_name, g.scope.cluster) == ("cluster-admin", True)
    g = grant({"persona": "admin", "groups": ["admins"], "namespaces": ["team-a"]}, role_set="kubernetes")
    assert (g.role_name, g.scope.cluster) == ("cluster-admin", False)
    # the VMO admin persona is not cluster-admin
    assert grant({"persona": "admin", "groups": ["admins"]}).role_name == "spectro-vm-admin"


@pytest.mark.parametrize("field, name, reach", [
    ("groups", "system:authenticated", "every authenticated user"),
    ("groups", "system:unauthenticated", "every unauthenticated request"),
    ("groups", "system:serviceaccounts", "every ServiceAccount in the cluster"),
    ("users", "system:anonymous", "every unauthenticated request"),
])
def test_grants_to_everyone_are_refused(field, name, reach):
    err = refused([ok_entry(), {"persona": "viewer", field: ["ok", name]}])
    assert err.path == "bindings[1].%s[1]" % field
    assert repr(name) in err.message and reach in err.message and "allow_privileged" in err.message
    # the general subject form is guarded the same way
    kind = "Group" if field == "groups" else "User"
    err = refused([{"persona": "viewer", "subjects": [{"kind": kind, "name": name}]}])
    assert err.path == "bindings[0].subjects[0].name"
    # the OIDC prefix does not launder them (system: names are never prefixed)
    err = refused([{"persona": "viewer", field: [name]}], oidc_user_prefix="oidc:", oidc_group_prefix="oidc:")
    assert err.path == "bindings[0].%s[0]" % field
    # allowed when asked for
    g = grant({"persona": "viewer", field: [name]}, allow_privileged=True)
    assert Subject(kind, name, "") in g.subjects


@pytest.mark.parametrize("kind, name, reach", [
    ("groups", "system:serviceaccounts:team-a", "every ServiceAccount in namespace 'team-a'"),
    ("groups", "system:nodes", "every node"),
    ("groups", "system:bootstrappers", "every bootstrap token"),
    ("groups", "system:bootstrappers:kubeadm:default-node-token", "every bootstrap token"),
    ("groups", "system:masters", "superusers"),
    ("groups", "system:something-new", "reserved for Kubernetes"),
    ("users", "system:kube-proxy", "kube-proxy"),
    ("users", "system:node:worker-1", "the kubelet of node 'worker-1'"),
    ("users", "system:admin", "reserved for Kubernetes"),
])
def test_every_reserved_system_name_is_guarded(kind, name, reach):
    """Groups that reach many identities and the platform's own identities need allow_privileged."""
    err = refused([{"persona": "viewer", kind: [name], "namespaces": ["team-a"]}])
    assert err.path == "bindings[0].%s[0]" % kind and reach in err.message and "allow_privileged" in err.message
    g = grant({"persona": "viewer", kind: [name], "namespaces": ["team-a"]}, allow_privileged=True)
    assert {s.name for s in g.subjects} == {name}


def test_prefix_that_builds_a_privileged_name_is_caught():
    err = refused([{"persona": "viewer", "groups": ["authenticated"]}], oidc_group_prefix="system:")
    assert err.path == "bindings[0].groups[0]" and "system:authenticated" in err.message


def test_service_account_as_user_is_redirected():
    err = refused([{"persona": "viewer", "users": ["system:serviceaccount:ops:ci"]}])
    assert err.path == "bindings[0].users[0]" and "service_accounts: [namespace/name]" in err.message


# -------------------------------------------------------------------------- OIDC


def test_oidc_prefixes_apply_to_users_and_groups_only_once_and_not_to_system_names():
    g = grant({"persona": "viewer", "users": ["alice", "oidc:bob", "system:admin"],
               "groups": ["ops", "oidc-g:devs", "system:masters"],
               "subjects": [{"kind": "User", "name": "carol"}, {"kind": "Group", "name": "qa"},
                            {"kind": "ServiceAccount", "name": "ci", "namespace": "ops"}],
               "service_accounts": ["tools/bot"]},
              oidc_user_prefix="oidc:", oidc_group_prefix="oidc-g:", allow_privileged=True)
    assert g.subjects == frozenset([
        Subject("User", "oidc:alice", ""), Subject("User", "oidc:bob", ""), Subject("User", "system:admin", ""),
        Subject("User", "oidc:carol", ""),
        Subject("Group", "oidc-g:ops", ""), Subject("Group", "oidc-g:devs", ""),
        Subject("Group", "system:masters", ""), Subject("Group", "oidc-g:qa", ""),
        Subject("ServiceAccount", "ci", "ops"), Subject("ServiceAccount", "bot", "tools"),
    ])


def test_user_prefix_is_not_the_group_prefix():
    g = grant({"persona": "viewer", "users": ["a"], "groups": ["a"]}, oidc_user_prefix="u:")
    assert g.subjects == frozenset([Subject("User", "u:a", ""), Subject("Group", "a", "")])


def test_prefixed_and_unprefixed_spellings_merge():
    g = grant({"persona": "viewer", "users": ["alice", "oidc:alice"]}, oidc_user_prefix="oidc:")
    assert g.subjects == frozenset([Subject("User", "oidc:alice", "")])


@pytest.mark.parametrize("prefix", ["oidc: ", " oidc:", "oi dc:", "a\tb", "x" * 65, "oidc:\u200b"])
def test_invalid_oidc_prefix(prefix):
    err = refused([], oidc_user_prefix=prefix)
    assert err.path == "oidc_user_prefix" and "not a valid OIDC prefix" in err.message
    err = refused([], oidc_group_prefix=prefix)
    assert err.path == "oidc_group_prefix"


def test_user_prefix_dash_means_no_prefix_as_kube_apiserver_reads_it():
    # --oidc-username-prefix=- means "no prefix": copied into oidc_user_prefix it must not bind "-alice".
    decl = parse({"persona": "viewer", "users": ["alice"], "groups": ["ops"]}, oidc_user_prefix="-")
    assert decl.oidc_user_prefix == ""
    assert decl.grants[0].subjects == frozenset([Subject("User", "alice", ""), Subject("Group", "ops", "")])
    # a name that starts with "-" is a name like any other
    assert grant({"persona": "viewer", "users": ["-bob"]}, oidc_user_prefix="-").subjects == frozenset(
        [Subject("User", "-bob", "")])
    # "-" is a prefix like any other for groups: kube-apiserver's --oidc-groups-prefix=- prefixes every group
    # with "-" (only the user name flag gives "-" a meaning of its own)
    g = grant({"persona": "viewer", "users": ["alice"], "groups": ["ops"]}, oidc_group_prefix="-")
    assert g.subjects == frozenset([Subject("User", "alice", ""), Subject("Group", "-ops", "")])
    # "-" never reaches a system: name either way
    err = refused([{"persona": "viewer", "users": ["system:anonymous"]}], oidc_user_prefix="-")
    assert err.path == "bindings[0].users[0]" and "allow_privileged" in err.message


def test_oidc_prefix_types():
    assert spec.parse_declaration([], oidc_user_prefix=None).oidc_user_prefix == ""
    err = refused([], oidc_group_prefix=["oidc:"])
    assert err.path == "oidc_group_prefix" and "expected a string, got a list" in err.message


# ----------------------------------------------------------- subject names (users, groups)

# The API server accepts any string as a User or Group name (they come from the
# authenticator). The spec accepts what an identity provider can produce -- e-mail
# addresses, DNs, unicode, shell-looking text (it never reaches a shell: it is JSON in a
# request body) -- and refuses what can only be a mistake or a spoof: control and
# invisible characters, leading/trailing whitespace, absurd lengths.


@pytest.mark.parametrize("name", [
    "alice@example.com", "CN=Alice,OU=Ops,DC=example,DC=com", "J\u00fcrgen M\u00fcller", "\u7528\u6237",
    "alice; rm -rf /", "$(reboot)", "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd",
    "a b", "https://idp.example.com#alice", "x" * 512, "{{ lookup('env','HOME') }}", "%s",
])
def test_subject_names_accepted(name):
    g = grant({"persona": "viewer", "users": [name], "groups": [name]})
    assert {s.name for s in g.subjects} == {name}


@pytest.mark.parametrize("name, fragment", [
    (" alice", "leading or trailing whitespace"),
    ("alice ", "leading or trailing whitespace"),
    ("alice\n", "leading or trailing whitespace"),
    ("\u00a0alice", "leading or trailing whitespace"),
    ("ali\nce", "control or invisible"),
    ("ali\tce", "control or invisible"),
    ("alice\x00", "control or invisible"),
    ("alice\x1b[31m", "control or invisible"),
    ("ali\u200bce", "control or invisible"),     # zero-width space
    ("\u202eecila", "control or invisible"),     # right-to-left override
    ("ali\u2028ce", "control or invisible"),     # line separator
    ("", "empty name"),
    ("x" * 513, "at most 512"),
])
def test_subject_names_refused(name, fragment):
    err = refused([{"persona": "viewer", "groups": ["ok", name]}])
    assert err.path == "bindings[0].groups[1]" and fragment in err.message
    err = refused([{"persona": "viewer", "subjects": [{"kind": "User", "name": name}]}])
    assert err.path == "bindings[0].subjects[0].name" and fragment in err.message


@pytest.mark.parametrize("value", [5, None, ["a"], {"a": 1}, True])
def test_subject_name_types(value):
    err = refused([{"persona": "viewer", "users": [value]}])
    assert err.path == "bindings[0].users[0]" and "expected a name (string)" in err.message


def test_too_many_subjects():
    users = ["u%d" % i for i in range(spec.MAX_SUBJECTS_PER_BINDING)]
    assert len(grant({"persona": "viewer", "users": users}).subjects) == spec.MAX_SUBJECTS_PER_BINDING
    err = refused([ok_entry(), {"persona": "viewer", "users": users + ["one-more"]}])
    assert err.path == "bindings[1]" and "1001 subjects; at most 1000" in err.message
    # duplicates do not count twice
    assert len(grant({"persona": "viewer", "users": users + users}).subjects) == spec.MAX_SUBJECTS_PER_BINDING


# ------------------------------------------------------------------------- naming


def test_binding_names():
    assert spec.binding_name("vmo-rbac", "ClusterRole", "spectro-vm-admin") == "vmo-rbac-spectro-vm-admin"
    assert spec.binding_name("vmo-rbac", "ClusterRole", "kubevirt.io:admin") == "vmo-rbac-kubevirt.io-admin"
    assert spec.binding_name("vmo-rbac", "Role", "vm-operator") == "vmo-rbac-role-vm-operator"
    assert spec.binding_name("vmo-rbac", "ClusterRole", "My Role!") == "vmo-rbac-my-role"
    assert spec.binding_name("vmo-rbac", "ClusterRole", "x", override="mine") == "mine"
    assert spec.binding_name("o", "ClusterRole", "!!!") == "o-role"
    # every dot-separated part starts and ends with an alphanumeric (found by the property below)
    assert spec.binding_name("o", "ClusterRole", "0:.0") == "o-0.0"
    assert spec.binding_name("o", "ClusterRole", "team_.admin") == "o-team.admin"
    assert spec.binding_name("o", "ClusterRole", "a..b-") == "o-a.b"


@settings(max_examples=100, deadline=None)
@given(owner=st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
       kind=st.sampled_from(["ClusterRole", "Role"]),
       role=st.text(min_size=1, max_size=300))
def test_generated_binding_names_are_valid_dns_subdomains(owner, kind, role):
    name = spec.binding_name(owner, kind, role)
    assert spec.is_dns_subdomain(name), name
    assert name.startswith(owner)
    assert spec.binding_name(owner, kind, role) == name          # deterministic
    transition = spec.transition_name(name)
    assert spec.is_dns_subdomain(transition) and transition != name
    assert transition.endswith("-transition")


def test_subject_api_round_trip():
    for s in (Subject("User", "alice", ""), Subject("Group", "g", ""), Subject("ServiceAccount", "ci", "ops")):
        assert spec.subject_from_api(spec.subject_to_api(s)) == s
    assert spec.subject_to_api(Subject("ServiceAccount", "ci", "ops")) == {
        "kind": "ServiceAccount", "name": "ci", "namespace": "ops", "apiGroup": ""}
    assert spec.subject_to_api(Subject("User", "a", "")) == {
        "kind": "User", "name": "a", "apiGroup": "rbac.authorization.k8s.io"}
    assert spec.subject_label(Subject("ServiceAccount", "ci", "ops")) == "ServiceAccount ops/ci"
    assert spec.subject_label(Subject("Group", "g", "")) == "Group g"


def test_dns_helpers_refuse_trailing_newline():
    # re.match(r'...$') accepts 'x\n'; the validators must not.
    assert spec.is_dns_label("team-a") and not spec.is_dns_label("team-a\n")
    assert spec.is_dns_subdomain("a.b") and not spec.is_dns_subdomain("a.b\n")
    assert not spec.is_dns_label(None) and not spec.is_dns_subdomain(5)


def test_errors_name_the_first_bad_field_before_anything_else():
    # entry 0 is fine, entry 1 has two problems: the first one met is reported, with its path
    err = refused([ok_entry(), {"persona": "viewer", "users": ["ok"], "namespaces": ["Bad"],
                                "service_accounts": ["nope"]}])
    assert re.match(r"bindings\[1\]\.", err.path)


# --- regular expressions mean the same as in Palette (Go RE2) and cannot hang a run ----------

@pytest.mark.parametrize("regex, why", [
    ("(?=kube)", "invalid perl operator"),
    ("(?!kube-)", "invalid perl operator"),
    ("(?<=a)b", "invalid perl operator"),
    (r"(a)\1", "invalid escape sequence"),
    ("(?P<x>a)(?P=x)", "invalid perl operator"),
    ("(?>a)", "invalid perl operator"),
    ("a++", "bad repetition operator"),
    (r"a\Cb", "which Go does not have"),
    ("/^web", "does not end with '/'"),
    ("/abc/i", "flags such as /i are not supported"),
    ("/", "does not end with '/'"),  # a lone slash: namespace names never contain one
    ("~^kube", "a negated rule is written ~/regex/"),
    ("~/", "does not end with '/'"),
    ("~//", "empty regular expression"),
])
def test_regex_constructs_outside_re2_or_exponential_are_refused(regex, why):
    with pytest.raises(SpecError) as exc:
        spec.parse_declaration([{"persona": "viewer", "users": ["u"], "namespace_regex": regex}])
    assert exc.value.path == "bindings[0].namespace_regex"
    assert why in str(exc.value)


@pytest.mark.parametrize("regex", ["(ab)+", "^(va|vb)-1$", "[a-z]+(-[0-9]+)?$", "(foo){2}", r"\(a+\)+",
                                   "(?:team|web)-[0-9]+", "/^web-app/"])
def test_ordinary_regexes_are_accepted(regex):
    decl = spec.parse_declaration([{"persona": "viewer", "users": ["u"], "namespace_regex": regex}])
    assert decl.grants[0].scope.regexes


@pytest.mark.parametrize("regex", ["(a+)+$", "(x*y)*", "(a|b+){2,}", "^(a|aa)+$"])
def test_nested_repetitions_are_linear_time_with_re2(regex):
    """Refused before RE2 (Python's re backtracks exponentially on them); RE2 matches in linear time."""
    import time

    (rule,) = grant(ok_entry(namespace_regex=regex)).scope.regexes
    started = time.monotonic()
    namespace_regex.matches(rule, "a" * 60 + "!")
    assert time.monotonic() - started < 0.5


def test_missing_namespace_is_named_by_its_own_index_despite_duplicates():
    from ansible_collections.vmo.rbac.plugins.module_utils._core.plan_scopes import resolve

    decl = spec.parse_declaration([{"persona": "viewer", "users": ["u"], "namespaces": ["a", "a", "missing"]}])
    with pytest.raises(SpecError) as exc:
        resolve(decl, {"a": {}})
    assert exc.value.path == "bindings[0].namespaces[2]"
