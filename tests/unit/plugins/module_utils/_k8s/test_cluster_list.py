"""A LIST answer is read as a list only when it is one, and a page is never the whole list (cluster._list;
tests/integration/test_faults.py proves it through a middlebox in front of a real API server)."""

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._k8s import cluster

B = {"metadata": {"name": "b"}}


@pytest.mark.parametrize("body, items, token", [
    ({"kind": "RoleBindingList", "metadata": {"resourceVersion": "7"}, "items": [B]}, [B], None),
    ({"kind": "PartialObjectMetadataList", "metadata": {}, "items": []}, [], None),
    ({"kind": "RoleBindingList", "items": None}, [], None),  # Go's empty slice: an empty list
    ({"kind": "RoleBindingList", "metadata": {"continue": ""}, "items": [B]}, [B], None),
    ({"kind": "RoleBindingList", "metadata": {"continue": "abc", "remainingItemCount": 3}, "items": [B]}, [B], "abc"),
])
def test_a_list_answer_gives_its_items_and_its_continue_token(body, items, token):
    assert cluster.list_page_items(body) == (items, token)


@pytest.mark.parametrize("body", [
    {},  # before: read as an empty list, "nobody"
    [],
    "RoleBindingList",
    None,
    {"kind": "Status", "apiVersion": "v1", "status": "Success"},
    {"kind": "RoleBinding", "metadata": {"name": "x"}},
    {"items": [B]},  # no kind
    {"kind": "RoleBindingList"},  # no items
    {"kind": "RoleBindingList", "items": {"a": B}},
    {"kind": "RoleBindingList", "items": [B, "x"]},
    {"kind": "RoleBindingList", "items": [B], "metadata": {"continue": 5}},
])
def test_an_answer_of_another_shape_is_not_a_list(body):
    items, why = cluster.list_page_items(body)
    assert items is None and why
