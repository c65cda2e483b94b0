"""plan_scopes: a declaration's grants resolved into bindings for the namespaces that exist now.

The resolving semantics (merging, naming, protected namespaces, golden images, legacy lists) are pinned down
in test_planning.py and test_declaration.py; here each step of ``resolve_scopes`` is checked on its own
words: which error comes first, what a grant's rules matched, and that the steps together give what one
entry gives alone.
"""

from __future__ import annotations

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._core import plan_scopes
from ansible_collections.vmo.rbac.plugins.module_utils._core.declaration import SpecError
from tests.unit.plugins.module_utils._core.test_planning import NS, declare


def test_rules_match_and_say_what_they_matched_and_skipped():
    d = declare({"persona": "viewer", "users": ["alice"], "namespace_regex": "/^(team|kube)-/"},
                {"persona": "user", "users": ["bob"], "namespace_selector": "tier=gold"},
                {"persona": "admin", "users": ["carol"], "namespace_selector": "nothing=here"})
    desired, scopes = plan_scopes.resolve_scopes(d, dict(NS, **{"kube-system": {}}))
    assert [(m.entry, m.namespaces, m.skipped, m.empty) for m in scopes] == [
        ("bindings[0].namespace_regex", ["team-a", "team-b"], ["kube-system"], False),
        ("bindings[1].namespace_selector", ["team-b"], [], False),
        ("bindings[2].namespace_selector", [], [], True)]
    assert sorted(ns for _k, ns, _n in desired) == ["team-a", "team-b", "team-b"]
    with pytest.raises(SpecError) as err:
        plan_scopes.resolve_scopes(d._replace(strict_scopes=True), NS)
    assert err.value.path == "bindings[2].namespace_selector"


def test_the_first_missing_namespace_is_named_with_the_others():
    d = declare({"persona": "viewer", "users": ["alice"], "namespaces": ["gone", "team-a", "also-gone"]})
    with pytest.raises(SpecError) as err:
        plan_scopes.resolve_scopes(d, NS, terminating={"team-a"})
    assert err.value.path == "bindings[0].namespaces[0]"
    assert "namespace 'gone' does not exist (also bindings[0].namespaces[1]=team-a, " \
           "bindings[0].namespaces[2]=also-gone)" in err.value.message
    desired, _scopes = plan_scopes.resolve_scopes(d, NS, terminating={"team-a"}, missing_ok=True)
    assert desired == {}


def test_merging_refuses_two_roles_for_one_name():
    d = declare({"persona": "viewer", "users": ["alice"], "name": "shared"},
                {"persona": "admin", "users": ["bob"], "name": "shared"})
    with pytest.raises(SpecError) as err:
        plan_scopes.resolve_scopes(d)
    assert err.value.path == "bindings[1]" and "conflicts with bindings[0]" in err.value.message


def test_grants_resolve_alone_as_they_do_together():
    one = {"persona": "viewer", "users": ["alice"], "namespaces": ["team-a"], "console_access": True}
    two = {"persona": "user", "groups": ["ops"]}
    both = plan_scopes.resolve(declare(one, two), NS)
    alone = dict(plan_scopes.resolve(declare(one), NS))
    alone.update(plan_scopes.resolve(declare(two), NS))
    assert sorted(both) == sorted(alone)
    assert all(both[k]._replace(sources=()) == alone[k]._replace(sources=()) for k in both)
    assert both[("ClusterRoleBinding", "", "vmo-rbac-spectro-vm-user")].sources == ("bindings[1]",)
