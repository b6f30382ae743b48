"""Public pages: where a round's money went, proposal by proposal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from ledgers import selectors
from ledgers.charts import money_chart
from proposals.models import BudgetRound


def round_money(request: HttpRequest, slug: str) -> HttpResponse:
    """Allocated, committed, spent and remaining (allocated − spent) per proposal, per area
    and in total, with a chart of allocated against spent. Four queries whatever the
    number of entries."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    proposals = list(selectors.funded_proposals(budget_round=budget_round))
    return render(
        request,
        "ledgers/round_money.html",
        {
            "round": budget_round,
            "proposals": proposals,
            "areas": list(selectors.area_balances(budget_round=budget_round)),
            "total": selectors.round_balance(budget_round=budget_round),
            "chart": money_chart(proposals),
        },
    )


urlpatterns = [path("rounds/<slug:slug>/money/", round_money, name="round_money")]
