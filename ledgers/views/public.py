"""Public pages: where a round's money went, proposal by proposal."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from ledgers import policies, selectors, services
from ledgers.charts import money_chart
from ledgers.round_story import round_story
from ledgers.views.audit import csv_chunks
from proposals.models import BudgetRound
from voting.selectors import round_results_summary


def round_money(request: HttpRequest, slug: str) -> HttpResponse:
    """Allocated, committed, spent and remaining (allocated − spent) per proposal, per area
    and in total, with a chart of allocated against spent, and how the people who use
    each proposal assessed it. Six queries whatever the number of entries."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    proposals = list(selectors.funded_proposals(budget_round=budget_round))
    criteria = selectors.assessment_criteria(budget_round=budget_round)
    results = selectors.assessment_results(
        proposal_ids=[p.pk for p in proposals], criteria=criteria
    )
    for proposal in proposals:
        proposal.assessment = results[proposal.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "ledgers/round_money.html",
        {
            "round": budget_round,
            "proposals": proposals,
            "assessed": any(p.assessment.count for p in proposals),  # type: ignore[attr-defined]
            "areas": list(selectors.area_balances(budget_round=budget_round)),
            "total": selectors.round_balance(budget_round=budget_round),
            "chart": money_chart(proposals),
        },
    )


@require_safe
def you_said_we_did(request: HttpRequest, slug: str) -> HttpResponse:
    """The round from what residents said to what was built and how it was judged: one
    page, public once voting has closed (before then it says when)."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    now = timezone.now()
    decision = policies.round_money_public(budget_round, now=now)
    story = (
        round_story(budget_round=budget_round, now=now, today=timezone.localdate(now))
        if decision
        else None
    )
    return render(
        request,
        "ledgers/you_said_we_did.html",
        {"round": budget_round, "story": story, "decision": decision},
    )


@require_safe
def round_ledger_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The round's whole ledger as open data: the 17 hashed columns, both hashes and the
    reading columns, never who recorded an entry beyond their id; anyone can check the
    chain with the README's checker. Streamed, so any size downloads in constant memory."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    decision = policies.round_money_public(budget_round, now=timezone.now())
    if not decision:
        raise Http404(decision.reason)
    rows = selectors.export_rows(selectors.entries_filtered(round_id=budget_round.pk))
    response = StreamingHttpResponse(
        csv_chunks(rows, columns=selectors.PUBLIC_COLUMNS),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="ledger-{budget_round.slug}.csv"'
    return response


@require_safe
def round_open_data(request: HttpRequest, slug: str) -> HttpResponse:
    """What anyone may download about a round, under which licence, and what each column
    means (a data dictionary and a glossary)."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    now = timezone.now()
    return render(
        request,
        "ledgers/open_data.html",
        {
            "round": budget_round,
            "results": round_results_summary(budget_round=budget_round),
            "money": policies.round_money_public(budget_round, now=now),
            "licence": settings.OPEN_DATA_LICENCE,
            "ledger_columns": selectors.PUBLIC_COLUMNS,
        },
    )


@login_required
@require_POST
def proposal_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a funded proposal's delivery by email, or stop (a form: no JavaScript)."""
    proposal = get_object_or_404(selectors.ledger_proposals(), pk=pk)
    if request.POST.get("action") == "unfollow":
        services.delivery_unfollow(user=request.user, proposal=proposal)
        messages.success(request, _("You no longer follow its delivery."))
    else:
        services.delivery_follow(user=request.user, proposal=proposal, now=timezone.now())
        messages.success(
            request,
            _("You follow its delivery: we email you when a milestone or its status changes."),
        )
    return redirect(f"{proposal.get_absolute_url()}#money-title")


urlpatterns = [
    path("rounds/<slug:slug>/money/", round_money, name="round_money"),
    path("proposals/<int:pk>/follow/", proposal_follow, name="proposal_follow"),
    path("rounds/<slug:slug>/you-said-we-did/", you_said_we_did, name="you_said_we_did"),
    path("rounds/<slug:slug>/ledger.csv", round_ledger_csv, name="round_ledger_csv"),
    path("rounds/<slug:slug>/open-data/", round_open_data, name="round_open_data"),
]
