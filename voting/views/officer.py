"""Officer pages for voting: find a resident, record their paper ballot, register a walk-in
voter, see turnout. They show whether a person has voted, never what they chose."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from proposals.models import BudgetRound, ResidentProfile, RoundArea
from proposals.phases import Phase
from proposals.selectors import resident_list
from voting import permissions, selectors
from voting.forms import BallotForm, WalkInVoterForm
from voting.services.ballots import paper_ballot_record, walk_in_voter_register

PAGE_SIZE = 25


def _voting_is_open(budget_round: BudgetRound) -> bool:
    """For the notice on the page only; the services decide whether a ballot is taken."""
    return budget_round.phase_at(timezone.now()) == Phase.VOTING and not budget_round.is_imported


@require(permissions.can_record_paper_ballots)
def paper_voters(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    search = request.GET.get("q", "")[:200]
    page = Paginator(resident_list(search=search), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.paper_voter_rows(budget_round=budget_round, profiles=page.object_list)
    return render(
        request,
        "voting/officer/paper_voters.html",
        {
            "round": budget_round,
            "page": page,
            "rows": rows,
            "search": search,
            "voting_open": _voting_is_open(budget_round),
        },
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_record_paper_ballots)
def paper_ballot(request: HttpRequest, slug: str, profile_pk: int, area_slug: str) -> HttpResponse:
    round_area = get_object_or_404(
        RoundArea.objects.select_related("area", "budget_round"),
        budget_round__slug=slug,
        area__slug=area_slug,
    )
    profile = get_object_or_404(
        ResidentProfile.objects.select_related("user", "area"), pk=profile_pk
    )
    existing = selectors.voter_area_ballot(voter=profile.user, round_area=round_area)
    form = BallotForm(
        request.POST or None,
        ballot_proposals=selectors.area_ballot_proposals(round_area=round_area),
    )
    if request.method == "POST" and form.is_valid():
        try:
            ballot = paper_ballot_record(
                officer=request.user,
                voter=profile.user,
                round_area=round_area,
                proposal_ids=form.proposal_ids(),
                now=timezone.now(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("The paper ballot of %(name)s for %(area)s was recorded.")
                % {"name": profile.display_name, "area": round_area.area.name},
            )
            return redirect("voting:paper_ballot_done", slug=slug, ballot_pk=ballot.pk)
    return render(
        request,
        "voting/officer/paper_ballot.html",
        {
            "round": round_area.budget_round,
            "round_area": round_area,
            "profile": profile,
            "existing": existing,
            "form": form,
            "chosen": form.chosen_ids(),
            "voting_open": _voting_is_open(round_area.budget_round),
        },
    )


@require(permissions.can_record_paper_ballots)
def paper_ballot_done(request: HttpRequest, slug: str, ballot_pk: int) -> HttpResponse:
    """What the officer hands over: whose ballot was recorded and its receipt code. Only
    the officer who recorded it sees it, and never with the choices."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    ballot = get_object_or_404(
        selectors.paper_receipts_of(officer=request.user, budget_round=budget_round),
        pk=ballot_pk,
    )
    return render(
        request,
        "voting/officer/paper_ballot_done.html",
        {"round": budget_round, "ballot": ballot, "profile": ballot.voter.resident_profile},
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_record_paper_ballots)
def walk_in(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    form = WalkInVoterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = walk_in_voter_register(
                officer=request.user,
                name=form.cleaned_data["name"],
                area=form.cleaned_data["area"],
                date_of_birth=form.cleaned_data["date_of_birth"],
                today=timezone.localdate(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _after_walk_in(request, budget_round, profile)
    return render(
        request,
        "voting/officer/walk_in.html",
        {"round": budget_round, "form": form, "voting_open": _voting_is_open(budget_round)},
    )


def _after_walk_in(
    request: HttpRequest, budget_round: BudgetRound, profile: ResidentProfile
) -> HttpResponse:
    """Straight on to their ballot for their home area (or the council-wide one if their
    area has no share of this round)."""
    round_areas = selectors.voter_round_areas(profile=profile, budget_round=budget_round)
    if not round_areas:
        messages.warning(
            request,
            _("%(name)s is registered in %(area)s, which has no ballot in this round.")
            % {"name": profile.display_name, "area": profile.area.name},
        )
        return redirect("voting:paper_voters", slug=budget_round.slug)
    messages.success(request, _("%s is registered.") % profile.display_name)
    return redirect(
        "voting:paper_ballot",
        slug=budget_round.slug,
        profile_pk=profile.pk,
        area_slug=round_areas[0].area.slug,
    )


@require(permissions.can_view_turnout)
def turnout(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    rows = [
        {"turnout": area_turnout, "percent": selectors.turnout_percent(area_turnout)}
        for area_turnout in selectors.round_turnout(budget_round=budget_round)
    ]
    return render(request, "voting/officer/turnout.html", {"round": budget_round, "rows": rows})


urlpatterns = [
    path("officer/rounds/<slug:slug>/paper/", paper_voters, name="paper_voters"),
    path(
        "officer/rounds/<slug:slug>/paper/<int:profile_pk>/<slug:area_slug>/",
        paper_ballot,
        name="paper_ballot",
    ),
    path(
        "officer/rounds/<slug:slug>/paper/receipts/<int:ballot_pk>/",
        paper_ballot_done,
        name="paper_ballot_done",
    ),
    path("officer/rounds/<slug:slug>/walk-in/", walk_in, name="walk_in"),
    path("officer/rounds/<slug:slug>/turnout/", turnout, name="turnout"),
]
