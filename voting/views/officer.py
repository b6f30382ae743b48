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
from pb_platform.once import submitted_once
from pb_platform.policies import PolicyDenied
from pb_platform.text import query_text
from proposals.models import BudgetRound, ResidentProfile, RoundArea
from proposals.selectors import resident_list
from voting import permissions, policies, selectors
from voting.forms import BallotForm, WalkInVoterForm
from voting.services.ballots import paper_ballot_record, walk_in_voter_register

PAGE_SIZE = 25


@require(permissions.can_record_paper_ballots)
def paper_voters(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    now = timezone.now()
    search, search_problem = query_text(request, "q")
    page = Paginator(resident_list(search=search), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "profile": row.profile,
            "areas": [
                {
                    "status": status,
                    # Only asked where there is no ballot yet: a ballot is shown as such.
                    "decision": None
                    if status.channel
                    else policies.can_record_paper_ballot(
                        request.user, row.profile, status.round_area, now=now
                    ),
                }
                for status in row.areas
            ],
        }
        for row in selectors.paper_voter_rows(budget_round=budget_round, profiles=page.object_list)
    ]
    return render(
        request,
        "voting/officer/paper_voters.html",
        {
            "round": budget_round,
            "page": page,
            "rows": rows,
            "search": search,
            "search_problem": search_problem,
            "voting": policies.round_voting_open(budget_round, now=now),
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
        ResidentProfile.objects.select_related("user", "area", "pending_area"), pk=profile_pk
    )
    existing = selectors.voter_area_ballot(voter=profile.user, round_area=round_area)
    form = BallotForm(
        request.POST or None,
        ballot_proposals=selectors.area_ballot_proposals(round_area=round_area),
        declare_age=round_area.budget_round.minimum_age
        if policies.age_declaration_needed(profile, round_area.budget_round)
        else None,
        declared_by_officer=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            ballot = paper_ballot_record(
                officer=request.user,
                voter=profile.user,
                round_area=round_area,
                proposal_ids=form.proposal_ids(),
                now=timezone.now(),
                age_declared=form.age_is_declared(),
            )
        except PolicyDenied as denied:
            form.add_error(None, denied.decision.reason)
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
            "decision": policies.can_record_paper_ballot(
                request.user, profile, round_area, now=timezone.now(), existing_ballot=existing
            ),
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
@submitted_once
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
                reference=form.cleaned_data["register_reference"],
                budget_round=budget_round,
                now=timezone.now(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _after_walk_in(request, budget_round, profile)
    return render(
        request,
        "voting/officer/walk_in.html",
        {
            "round": budget_round,
            "form": form,
            "voting": policies.round_voting_open(budget_round, now=timezone.now()),
        },
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
