"""cluster.no_cyclic_gc: the collector off inside the block, as it was after it (nested, after an error, and
when it was off already), and what the block makes freed by reference counting as before."""

import gc
import weakref

import pytest

from ansible_collections.vmo.rbac.plugins.module_utils._k8s.cluster import no_cyclic_gc


@pytest.fixture(autouse=True)
def _restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_inside_and_on_again_after():
    gc.enable()
    with no_cyclic_gc():
        assert not gc.isenabled()
        with no_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it off: it leaves it off
    assert gc.isenabled()


def test_an_error_inside_leaves_the_collector_as_it_was():
    gc.enable()
    with pytest.raises(ValueError):
        with no_cyclic_gc():
            raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with no_cyclic_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_what_the_block_makes_is_freed_as_before_and_a_cycle_at_the_next_collection():
    class Thing(object):
        pass

    gc.enable()
    with no_cyclic_gc():
        plain = Thing()
        plain_ref = weakref.ref(plain)
        del plain
        assert plain_ref() is None  # reference counting, the collector off
        looped = Thing()
        looped.me = looped
        looped_ref = weakref.ref(looped)
        del looped
        assert looped_ref() is not None  # a cycle waits for the collector
    gc.collect()
    assert looped_ref() is None
