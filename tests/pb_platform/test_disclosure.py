"""Small counts are hidden, and what is hidden cannot be worked out from the totals."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from pb_platform.disclosure import suppressed_count, suppressed_counts


def test_counts_under_five_zero_included_are_hidden_and_five_is_shown():
    assert suppressed_count(0) is None
    assert suppressed_count(1) is None
    assert suppressed_count(4) is None
    assert suppressed_count(5) == 5


def test_one_small_cell_hides_the_next_smallest_too():
    shown = suppressed_counts({"online": 3, "paper": 12, "event": 7})
    assert shown == {"online": None, "paper": 12, "event": None}


def test_two_small_cells_need_nothing_more():
    shown = suppressed_counts({"online": 3, "paper": 12, "event": 2})
    assert shown == {"online": None, "paper": 12, "event": None}


def test_nothing_small_hides_nothing():
    assert suppressed_counts({"a": 5, "c": 9}) == {"a": 5, "c": 9}


def test_a_zero_is_hidden_like_any_small_count():
    assert suppressed_counts({"a": 5, "b": 0, "c": 9}) == {"a": None, "b": None, "c": 9}


def test_ties_for_the_next_smallest_are_broken_by_name():
    shown = suppressed_counts({"b": 6, "a": 6, "c": 1})
    assert shown == {"a": None, "b": 6, "c": None}


def _consistent(counts: dict[str, int], shown: dict[str, int | None], total: int) -> list[dict]:
    """Every table of counts an onlooker could not tell apart from ``counts``: the same
    shown cells, and hidden cells of anything that adds up to the published total."""
    hidden = [key for key, value in shown.items() if value is None]
    rest = total - sum(value for value in shown.values() if value is not None)
    return [
        dict(zip(hidden, values, strict=True))
        for values in itertools.product(range(rest + 1), repeat=len(hidden))
        if sum(values) == rest
    ]


@given(st.dictionaries(st.sampled_from("abcd"), st.integers(0, 14), min_size=2, max_size=4))
def test_a_hidden_cell_cannot_be_recovered_from_the_published_total(counts):
    total = sum(counts.values())
    shown = suppressed_counts(counts)
    if suppressed_count(total) is None:
        return  # the total is not published either: nothing to subtract from
    options = _consistent(counts, shown, total)
    for key, value in shown.items():
        if value is None:
            # A hidden cell that counts anyone could have held at least two values.
            possible = {option[key] for option in options}
            assert counts[key] in possible
            assert counts[key] == 0 or len(possible) >= 2, (counts, shown)
        else:
            assert value == counts[key]
