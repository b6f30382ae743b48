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
from pb_platform.policies import PolicyDenied
from proposals.models import BallotType, BudgetRound, ResidentProfile, RoundArea
from proposals.services.residents import pending_moves_of
from voting import policies, selectors
from voting.forms import BallotForm
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
    return (
        ResidentProfile.objects.select_related("area", "pending_area")
        .filter(user=request.user)
        .first()
    )


@login_required
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    """Where a resident starts: the areas they may vote in, and whether they have."""
    budget_round = _voting_round(slug)
    now = timezone.now()
    profile = _profile(request)
    if profile is not None:
        request.user.resident_profile = profile  # the policies read it from the user
    areas = []
    if profile is not None:
        ballots = selectors.voter_ballots(voter=request.user, budget_round=budget_round)
        for round_area in selectors.voter_round_areas(profile=profile, budget_round=budget_round):
            ballot = ballots.get(round_area.pk)
            areas.append(
                {
                    "round_area": round_area,
                    "ballot": ballot,
                    "decision": policies.can_vote(request.user, round_area, now=now, ballot=ballot),
                }
            )
    return render(
        request,
        "voting/vote.html",
        {
            "round": budget_round,
            "profile": profile,
            "voting": policies.round_voting_open(budget_round, now=now),
            "standing": policies.voter_standing(request.user),
            "pending": pending_moves_of([profile], now=now).get(profile.pk) if profile else None,
            "areas": areas,
            # Whether the home area has its own pot here (else only whole-council ones).
            "home_in_round": any(item["round_area"].area_id == profile.area_id for item in areas)
            if profile
            else False,
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
    round_area = selectors.ballot_round_area(round_slug=slug, area_slug=area_slug)
    if round_area is None:
        raise Http404("No such area in a round")
    budget_round = round_area.budget_round
    profile, existing = selectors.ballot_voter(user=request.user, round_area=round_area)
    decision = policies.can_vote(request.user, round_area, now=timezone.now(), ballot=existing)
    if not decision:
        messages.error(request, decision.reason)
        return redirect("voting:vote", slug=slug)

    # The saved choices, to tick on the form (a posted form shows what was posted).
    initial = (
        {"proposals": selectors.ballot_choice_ids(ballot=existing)}
        if existing and request.method != "POST"
        else {}
    )
    ballot_proposals = selectors.area_ballot_proposals(round_area=round_area)
    form = BallotForm(
        request.POST or None,
        initial=initial,
        ballot_proposals=ballot_proposals,
        declare_age=budget_round.minimum_age
        if policies.age_declaration_needed(profile, budget_round)
        else None,
        ask_equality=budget_round.asks_equality_questions and existing is None,
    )
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
                    on_ballot=ballot_proposals,
                    now=timezone.now(),
                    age_declared=form.age_is_declared(),
                    equality=form.equality_answers(),
                )
            except PolicyDenied as denied:
                if "age_declared" in form.fields and not form.age_is_declared():
                    # The declaration is missing: ask for it on the form, keep the choices.
                    form.add_error("age_declared", denied.decision.reason)
                else:
                    # Voting closed (or the area was counted) since the form was opened.
                    messages.error(
                        request, f"{denied.decision.reason} {_('Your choice was not saved.')}"
                    )
                    return redirect("voting:vote", slug=slug)
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
            "change": policies.can_vote(
                request.user, round_area, now=timezone.now(), ballot=existing
            ),
        },
    )


@login_required
def my_ballots(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "voting/my_ballots.html",
        {
            "ballots": selectors.my_ballots(voter=request.user),
            # Their own choices, to them alone (this page needs a signed-in voter).
            "paid_for": selectors.my_ballots_paid_for(voter=request.user),
        },
    )


urlpatterns = [
    path("rounds/<slug:slug>/vote/", vote, name="vote"),
    path("rounds/<slug:slug>/vote/<slug:area_slug>/", ballot, name="ballot"),
    path("rounds/<slug:slug>/vote/<slug:area_slug>/receipt/", vote_receipt, name="vote_receipt"),
    path("my/ballots/", my_ballots, name="my_ballots"),
]
