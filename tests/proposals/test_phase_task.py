"""The beat task moves each round's stored state to the clock's phase, once."""

from datetime import timedelta

from django.utils import timezone

from proposals.models import RoundChange
from proposals.phases import Phase
from proposals.services import rounds_advance_phases
from proposals.tasks import advance_round_phases
from tests.factories import BudgetRoundFactory


def test_task_advances_stored_state_and_records_the_move(db):
    budget_round = BudgetRoundFactory(phase=Phase.VOTING)  # stored state still "upcoming"

    assert advance_round_phases() == 1

    budget_round.refresh_from_db()
    assert budget_round.state == Phase.VOTING
    change = RoundChange.objects.get(budget_round=budget_round, action="phase")
    assert change.changed_by is None
    assert change.changes == {"state": ["upcoming", "voting"]}


def test_running_the_task_twice_changes_nothing_the_second_time(db):
    budget_round = BudgetRoundFactory(phase=Phase.REVIEW)
    now = timezone.now()

    first = rounds_advance_phases(now=now)
    second = rounds_advance_phases(now=now)

    assert [(pk, new) for pk, _old, new in first] == [(budget_round.pk, Phase.REVIEW)]
    assert second == []
    assert RoundChange.objects.filter(action="phase").count() == 1


def test_a_run_that_lost_the_race_records_nothing(db):
    """Two runs read the same old state; the conditional update lets only one record it."""
    budget_round = BudgetRoundFactory(phase=Phase.SUBMISSION)
    type(budget_round).objects.filter(pk=budget_round.pk).update(state=Phase.SUBMISSION)

    assert rounds_advance_phases(now=timezone.now()) == []
    assert RoundChange.objects.count() == 0


def test_rounds_not_yet_open_stay_upcoming(db):
    budget_round = BudgetRoundFactory(phase=Phase.UPCOMING)
    assert rounds_advance_phases(now=timezone.now()) == []
    budget_round.refresh_from_db()
    assert budget_round.state == Phase.UPCOMING


def test_state_never_moves_backwards_when_the_clock_reads_earlier(db):
    budget_round = BudgetRoundFactory(phase=Phase.VOTING)
    rounds_advance_phases(now=timezone.now())

    assert rounds_advance_phases(now=timezone.now() - timedelta(days=30)) == []
    budget_round.refresh_from_db()
    assert budget_round.state == Phase.VOTING
