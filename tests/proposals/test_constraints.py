"""The database itself guards the round's invariants, whatever code writes to it."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from proposals.models import BudgetRound, RoundArea
from tests.factories import AreaFactory, BudgetRoundFactory, RoundAreaFactory


def test_phases_out_of_order_are_refused_by_the_database(db):
    budget_round = BudgetRoundFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetRound.objects.filter(pk=budget_round.pk).update(
            voting_ends=budget_round.voting_starts
        )


def test_an_area_appears_once_per_round(db):
    round_area = RoundAreaFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoundArea.objects.create(
            budget_round=round_area.budget_round, area=round_area.area, budget=Decimal("1.00")
        )


def test_non_positive_money_is_refused_by_the_database(db):
    round_area = RoundAreaFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoundArea.objects.filter(pk=round_area.pk).update(budget=Decimal("-1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetRound.objects.filter(pk=round_area.budget_round_id).update(total_budget=0)


def _check_deferred_constraints_now() -> None:
    # The trigger is deferred to commit; tests run inside a transaction that never
    # commits, so ask PostgreSQL to check now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgresql
def test_postgresql_refuses_area_budgets_over_the_round_total(db):
    budget_round = BudgetRoundFactory(total_budget=Decimal("100.00"))
    RoundAreaFactory(budget_round=budget_round, budget=Decimal("60.00"))

    with pytest.raises(IntegrityError, match="more than its total budget"), transaction.atomic():
        RoundArea.objects.create(
            budget_round=budget_round, area=AreaFactory(), budget=Decimal("40.01")
        )
        _check_deferred_constraints_now()

    assert RoundArea.objects.filter(budget_round=budget_round).count() == 1


@pytest.mark.postgresql
def test_postgresql_refuses_lowering_the_total_below_the_area_budgets(db):
    budget_round = BudgetRoundFactory(total_budget=Decimal("100.00"))
    RoundAreaFactory(budget_round=budget_round, budget=Decimal("60.00"))

    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetRound.objects.filter(pk=budget_round.pk).update(total_budget=Decimal("59.99"))
        _check_deferred_constraints_now()

    budget_round.refresh_from_db()
    assert budget_round.total_budget == Decimal("100.00")


@pytest.mark.postgresql
def test_postgresql_allows_raising_total_and_areas_together_in_one_transaction(db):
    budget_round = BudgetRoundFactory(total_budget=Decimal("100.00"))
    round_area = RoundAreaFactory(budget_round=budget_round, budget=Decimal("100.00"))

    with transaction.atomic():
        RoundArea.objects.filter(pk=round_area.pk).update(budget=Decimal("150.00"))
        BudgetRound.objects.filter(pk=budget_round.pk).update(total_budget=Decimal("150.00"))
        _check_deferred_constraints_now()

    round_area.refresh_from_db()
    assert round_area.budget == Decimal("150.00")
