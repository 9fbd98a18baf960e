"""Largest-remainder allocation: exact sums, never more than a line, fair rounding."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mendian.checkout.allocation import allocate, prorate


@given(st.data())
def test_allocations_sum_to_the_discount_and_never_exceed_a_line(data):
    weights = data.draw(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=50))
    amount = data.draw(st.integers(min_value=0, max_value=sum(weights)))

    shares = allocate(amount, weights)

    assert sum(shares) == amount
    assert len(shares) == len(weights)
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=30), st.data())
def test_each_share_is_within_one_fen_of_its_exact_proportion(weights, data):
    amount = data.draw(st.integers(min_value=0, max_value=sum(weights)))

    shares = allocate(amount, weights)

    total = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share * total - amount * weight) < total  # |share - exact| < 1 fen


def test_largest_remainders_get_the_odd_fen_and_ties_go_to_the_earlier_line():
    assert allocate(100, [100, 100, 100]) == [34, 33, 33]
    assert allocate(10, [600, 550]) == [5, 5]
    assert allocate(7, [300, 300, 550]) == [2, 2, 3]
    assert allocate(1000, [1000, 0, 3000]) == [250, 0, 750]


def test_the_whole_amount_and_nothing():
    assert allocate(1150, [600, 550]) == [600, 550]
    assert allocate(0, [600, 550]) == [0, 0]
    assert allocate(0, []) == []


@pytest.mark.parametrize(
    ("amount", "weights"), [(-1, [5]), (6, [5]), (1, [-1, 3]), (1.5, [5]), (True, [5]), (1, [])]
)
def test_impossible_allocations_are_refused(amount, weights):
    with pytest.raises(ValueError):
        allocate(amount, weights)


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=1, max_value=99))
def test_prorating_unit_by_unit_gives_back_exactly_the_total(total, units):
    parts = [prorate(total, k + 1, units) - prorate(total, k, units) for k in range(units)]

    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
