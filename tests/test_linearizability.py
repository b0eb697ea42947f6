"""The register linearizability checker the Raft tests use (tests/linearizability.py)."""

import math

from tests.linearizability import Operation, linearizable


def test_a_sequential_history_is_linearizable():
    history = [Operation("put", 1, 0, 1), Operation("get", 1, 2, 3),
               Operation("put", 2, 4, 5), Operation("get", 2, 6, 7)]
    assert linearizable(history)


def test_a_read_of_the_initial_value():
    assert linearizable([Operation("get", None, 0, 1), Operation("put", 1, 2, 3)])
    assert not linearizable([Operation("get", 1, 0, 1), Operation("put", 1, 2, 3)])


def test_concurrent_operations_may_take_effect_in_either_order():
    # the get overlaps both puts: it may see either value, or the initial one
    for seen in (None, 1, 2):
        history = [Operation("put", 1, 0, 10), Operation("put", 2, 1, 11),
                   Operation("get", seen, 2, 12)]
        assert linearizable(history)


def test_a_stale_read_after_a_completed_write_is_rejected():
    history = [Operation("put", 1, 0, 1), Operation("put", 2, 2, 3), Operation("get", 1, 4, 5)]
    assert not linearizable(history)


def test_two_reads_may_not_see_values_in_opposite_orders():
    # both puts are concurrent, but once a read saw 2 then 1, no later read may see 2 again
    history = [Operation("put", 1, 0, 100), Operation("put", 2, 0, 100),
               Operation("get", 2, 1, 2), Operation("get", 1, 3, 4), Operation("get", 2, 5, 6)]
    assert not linearizable(history)


def test_a_put_whose_outcome_is_unknown_may_or_may_not_have_happened():
    unknown = Operation("put", 9, 0, math.inf)
    assert linearizable([unknown, Operation("get", None, 1, 2)])
    assert linearizable([unknown, Operation("get", 9, 1, 2)])
    # but not both ways: once 9 was seen, the register cannot go back to the initial value
    assert not linearizable([unknown, Operation("get", 9, 1, 2), Operation("get", None, 3, 4)])


def test_a_value_never_written_cannot_be_read():
    assert not linearizable([Operation("put", 1, 0, 1), Operation("get", 3, 2, 3)])
