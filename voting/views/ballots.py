"""Residents' pages for voting online: choose an area, fill in the ballot, see the receipt.

A resident sees their own choices only on their own ballot form (so they can change it);
no other page shows them.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pb_platform.forms import form_add_service_errors
from proposals.models import BallotType, BudgetRound, ResidentProfile, RoundArea
from proposals.phases import Phase
from voting import permissions, selectors
from voting.forms import BallotForm
from voting.models import BallotChannel
from voting.services.ballots import ballot_submit


def _voting_round(slug: str) -> BudgetRound:
    return get_object_or_404(BudgetRound.objects.filter(is_imported=False), slug=slug)


def _round_area(budget_round: BudgetRound, area_slug: str) -> RoundArea:
    return get_object_or_404(
        RoundArea.objects.select_related("area", "budget_round"),
        budget_round=budget_round,
        area__slug=area_slug,
    )


def _profile(request: HttpRequest) -> ResidentProfile | None:
    return ResidentProfile.objects.select_related("area").filter(user=request.user).first()


@login_required
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    """Where a resident starts: the areas they may vote in, and whether they have."""
    budget_round = _voting_round(slug)
    profile = _profile(request)
    may_vote = permissions.can_vote_online(request.user)
    areas = []
    if profile is not None:
        ballots = selectors.voter_ballots(voter=request.user, budget_round=budget_round)
        areas = [
            {"round_area": round_area, "ballot": ballots.get(round_area.pk)}
            for round_area in selectors.voter_round_areas(
                profile=profile, budget_round=budget_round
            )
        ]
    return render(
        request,
        "voting/vote.html",
        {
            "round": budget_round,
            "phase": budget_round.phase_at(timezone.now()),
            "profile": profile,
            "may_vote": may_vote,
            "areas": areas,
        },
    )


def _ballot_totals(round_area: RoundArea, form: BallotForm, chosen: set[int]) -> dict[str, object]:
    costs = {p.pk: p.official_cost for p in form.ballot_proposals}
    spent = sum((costs[pk] for pk in chosen if pk in costs), Decimal(0))
    return {
        "count": len([pk for pk in chosen if pk in costs]),
        "spent": spent,
        "left": round_area.budget - spent,
        "over": spent > round_area.budget,
    }


@login_required
@require_http_methods(["GET", "POST"])
def ballot(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    """The ballot for one area. "Check my total" recounts without saving (no JavaScript
    needed); "Save my vote" casts or changes the ballot."""
    budget_round = _voting_round(slug)
    round_area = _round_area(budget_round, area_slug)
    if not permissions.can_vote_online(request.user):
        return redirect("voting:vote", slug=slug)
    profile = _profile(request)
    eligible = selectors.voter_round_areas(profile=profile, budget_round=budget_round)
    if round_area.pk not in {ra.pk for ra in eligible}:
        messages.error(
            request,
            _("You live in %(home)s, so you cannot vote on proposals for %(area)s.")
            % {"home": profile.area.name, "area": round_area.area.name},
        )
        return redirect("voting:vote", slug=slug)
    now = timezone.now()
    if budget_round.phase_at(now) != Phase.VOTING:
        return redirect("voting:vote", slug=slug)

    existing = selectors.voter_ballots(voter=request.user, budget_round=budget_round).get(
        round_area.pk
    )
    if existing is not None and existing.channel != BallotChannel.ONLINE:
        messages.info(
            request,
            _("An officer recorded your paper ballot for %(area)s. It counts as it is.")
            % {"area": round_area.area.name},
        )
        return redirect("voting:vote", slug=slug)
    initial = {"proposals": selectors.ballot_choice_ids(ballot=existing)} if existing else {}
    ballot_proposals = selectors.area_ballot_proposals(round_area=round_area)
    form = BallotForm(request.POST or None, initial=initial, ballot_proposals=ballot_proposals)
    checked = False
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "check":
            checked = True
        else:
            try:
                ballot_submit(
                    voter=request.user,
                    round_area=round_area,
                    proposal_ids=form.proposal_ids(),
                    now=timezone.now(),
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Your vote was changed. Only your latest vote counts.")
                    if existing
                    else _("Your vote was saved."),
                )
                return redirect("voting:vote_receipt", slug=slug, area_slug=area_slug)
    chosen = form.chosen_ids()
    return render(
        request,
        "voting/ballot.html",
        {
            "round": budget_round,
            "round_area": round_area,
            "form": form,
            "chosen": chosen,
            "totals": _ballot_totals(round_area, form, chosen),
            "checked": checked,
            "existing": existing,
            "within_budget": budget_round.ballot_type == BallotType.APPROVAL_WITHIN_BUDGET,
        },
    )


@login_required
def vote_receipt(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    budget_round = _voting_round(slug)
    round_area = _round_area(budget_round, area_slug)
    existing = selectors.voter_ballots(voter=request.user, budget_round=budget_round).get(
        round_area.pk
    )
    if existing is None:
        raise Http404("No ballot of yours here")
    return render(
        request,
        "voting/receipt.html",
        {
            "round": budget_round,
            "round_area": round_area,
            "ballot": existing,
            "may_change": budget_round.phase_at(timezone.now()) == Phase.VOTING
            and existing.channel == BallotChannel.ONLINE,
        },
    )


@login_required
def my_ballots(request: HttpRequest) -> HttpResponse:
    return render(
        request, "voting/my_ballots.html", {"ballots": selectors.my_ballots(voter=request.user)}
    )


urlpatterns = [
    path("rounds/<slug:slug>/vote/", vote, name="vote"),
    path("rounds/<slug:slug>/vote/<slug:area_slug>/", ballot, name="ballot"),
    path("rounds/<slug:slug>/vote/<slug:area_slug>/receipt/", vote_receipt, name="vote_receipt"),
    path("my/ballots/", my_ballots, name="my_ballots"),
]
