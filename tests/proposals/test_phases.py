"""The current phase is derived from the clock and the round's timeline."""

from datetime import UTC, datetime, timedelta

import pytest

from proposals.phases import Phase, Timeline

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TIMELINE = Timeline(
    submission_starts=T0,
    review_starts=T0 + timedelta(days=10),
    voting_starts=T0 + timedelta(days=20),
    voting_ends=T0 + timedelta(days=30),
    delivery_starts=T0 + timedelta(days=40),
    delivery_ends=T0 + timedelta(days=400),
)


@pytest.mark.parametrize(
    ("moment", "phase"),
    [
        (T0 - timedelta(seconds=1), Phase.UPCOMING),
        (T0, Phase.SUBMISSION),
        (T0 + timedelta(days=10) - timedelta(microseconds=1), Phase.SUBMISSION),
        (T0 + timedelta(days=10), Phase.REVIEW),
        (T0 + timedelta(days=25), Phase.VOTING),
        (T0 + timedelta(days=30), Phase.RESULTS),
        (T0 + timedelta(days=41), Phase.DELIVERY),
        (T0 + timedelta(days=400), Phase.CLOSED),
    ],
)
def test_phase_follows_the_clock_with_each_boundary_starting_its_phase(moment, phase):
    assert TIMELINE.phase_at(moment) == phase


def test_next_deadline_names_what_happens_next_and_when():
    label, at = TIMELINE.next_deadline(T0 + timedelta(days=25))
    assert label == "Voting closes"
    assert at == T0 + timedelta(days=30)
    assert TIMELINE.next_deadline(T0 - timedelta(days=1)) == ("Proposal submission opens", T0)


def test_a_closed_round_has_no_next_deadline():
    assert TIMELINE.next_deadline(T0 + timedelta(days=500)) is None


def test_out_of_order_names_each_boundary_not_after_the_one_before():
    broken = Timeline(
        submission_starts=T0,
        review_starts=T0,  # equal is not "after"
        voting_starts=T0 + timedelta(days=20),
        voting_ends=T0 + timedelta(days=19),
        delivery_starts=T0 + timedelta(days=40),
        delivery_ends=T0 + timedelta(days=400),
    )
    assert broken.out_of_order() == ["review_starts", "voting_ends"]
    assert TIMELINE.out_of_order() == []
