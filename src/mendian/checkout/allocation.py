"""Spreading an amount over lines exactly: the largest-remainder method in minor units.

Every discount of an order is allocated to its lines so that refunds of some units give back what
those units really cost. The shares are proportional to the lines' weights (their amounts still
payable), rounded down, and the fen left over go one each to the largest fractional remainders
(ties: the earlier line). The shares sum to the amount exactly and no share exceeds its line.
"""

from collections.abc import Sequence


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split over `weights` (non-negative integers) in proportion, summing to `amount`.

    Raises ValueError when `amount` is negative or larger than the sum of the weights (a discount
    can never exceed what it discounts), or when a weight is negative.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError("amount must be a non-negative integer")
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for w in weights):
        raise ValueError("weights must be non-negative integers")
    total = sum(weights)
    if amount > total:
        raise ValueError(f"cannot allocate {amount} over lines worth {total}")
    if amount == 0:
        return [0] * len(weights)
    shares = []
    remainders = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(amount * weight, total)
        shares.append(share)
        remainders.append((-remainder, index))
    left = amount - sum(shares)
    # `left` < number of lines with a remainder: each such line gets at most one more fen, and only a
    # line whose exact share had a fraction (so share + 1 ≤ its weight).
    for _, index in sorted(remainders)[:left]:
        shares[index] += 1
    return shares


def prorate(total: int, part: int, whole: int) -> int:
    """The floor of `total * part / whole`: with cumulative parts, `prorate(t, k, n) - prorate(t, j, n)`
    is what units j+1..k of n are worth, and all n units are worth exactly `total`."""
    if whole <= 0:
        raise ValueError("whole must be positive")
    return total * part // whole
