"""Pages for rounds, areas and residents. Each view parses input, checks permission,
calls one service or selector and renders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pb_platform import jobs
from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from pb_platform.once import submitted_once
from pb_platform.policies import can_retry_job, can_view_jobs, enforce
from pb_platform.text import query_text
from proposals import permissions, policies, selectors, services
from proposals.forms import AreaForm, ResidentAreaForm, RoundForm
from proposals.models import Area, ResidentProfile
from proposals.phases import PHASE_ORDER, Phase
from proposals.services.residents import pending_moves_of, resident_change_area

PAGE_SIZE = 25
# The dashboard lists the worst failing job items; the jobs page lists them all.
FAILING_JOBS_SHOWN = 20


def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rounds = [r for r in selectors.round_list() if r.phase_at(now) != Phase.CLOSED]
    return render(request, "proposals/home.html", {"rounds": rounds})


def round_list(request: HttpRequest) -> HttpResponse:
    return render(request, "proposals/round_list.html", {"rounds": selectors.round_list()})


def round_detail(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(selectors.round_detail(slug=slug))
    now = timezone.now()
    current = budget_round.phase_at(now)
    steps = [
        {
            "phase": phase,
            "starts": starts,
            "is_current": phase == current,
            "is_past": PHASE_ORDER.index(phase) < PHASE_ORDER.index(current),
        }
        for _name, phase, starts in budget_round.timeline.boundaries()
        if phase != Phase.CLOSED
    ]
    return render(
        request,
        "proposals/round_detail.html",
        {
            "round": budget_round,
            "phase": current,
            "steps": steps,
            "round_closed": current == Phase.CLOSED,
            "now": now,
            "priorities_published": policies.priorities_results_published(budget_round, now=now),
        },
    )


@require(permissions.can_use_officer_pages)
def officer_dashboard(request: HttpRequest) -> HttpResponse:
    job_view = can_view_jobs(request.user)
    return render(
        request,
        "proposals/officer/dashboard.html",
        {
            "rounds": selectors.round_list(),
            # Counts and allocations that failed: each with its error and a Retry button.
            "failing_jobs": list(jobs.job_items_failing()[:FAILING_JOBS_SHOWN]) if job_view else [],
            "job_view": job_view,
            "retry_decision": can_retry_job(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_rounds)
@submitted_once
def officer_round_create(request: HttpRequest) -> HttpResponse:
    areas = list(Area.objects.order_by("name"))
    form = RoundForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        try:
            budget_round = services.round_create(
                created_by=request.user,
                config=form.to_config(),
                area_budgets=form.to_area_budgets(),
                now=timezone.now(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The round “%s” was created.") % budget_round.name)
            return redirect(budget_round)
    return render(request, "proposals/officer/round_form.html", {"form": form, "round": None})


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_rounds)
def officer_round_edit(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(selectors.round_detail(slug=slug))
    now = timezone.now()
    enforce(policies.can_edit_round(request.user, budget_round, now=now))
    areas = list(Area.objects.order_by("name"))
    form = RoundForm(
        request.POST or None,
        areas=areas,
        initial=RoundForm.initial_for(budget_round),
        frozen=policies.round_frozen_fields(budget_round, now=now),
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            budget_round = services.round_update(
                budget_round=budget_round,
                changed_by=request.user,
                config=form.to_config(),
                area_budgets=form.to_area_budgets(),
                reason=form.cleaned_data["reason"],
                now=now,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("Your changes to “%s” were saved.") % budget_round.name)
            return redirect(budget_round)
    return render(
        request, "proposals/officer/round_form.html", {"form": form, "round": budget_round}
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_areas)
@submitted_once
def officer_areas(request: HttpRequest) -> HttpResponse:
    form = AreaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            area = services.area_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The area “%s” was added.") % area.name)
            return redirect("proposals:officer_areas")
    return render(
        request, "proposals/officer/areas.html", {"form": form, "areas": selectors.area_list()}
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_areas)
def officer_area_edit(request: HttpRequest, pk: int) -> HttpResponse:
    area = get_object_or_404(Area, pk=pk)
    now = timezone.now()
    whole_council = policies.can_change_area_whole_council(
        request.user, area, area_rounds=selectors.area_rounds(area=area), now=now
    )
    form = AreaForm(
        request.POST or None,
        initial={
            "name": area.name,
            "population": area.population,
            "is_city_wide": area.is_city_wide,
        },
        whole_council_frozen=whole_council.reason,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.area_update(area=area, changed_by=request.user, now=now, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The area “%s” was saved.") % area.name)
            return redirect("proposals:officer_areas")
    return render(request, "proposals/officer/area_form.html", {"form": form, "area": area})


@require(permissions.can_view_residents)
def officer_residents(request: HttpRequest) -> HttpResponse:
    search, search_problem = query_text(request, "q")
    page = Paginator(selectors.resident_list(search=search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "proposals/officer/residents.html",
        {"page": page, "search": search, "search_problem": search_problem},
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_change_resident_area)
def officer_resident_area(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(
        ResidentProfile.objects.select_related("user", "area", "pending_area"), pk=pk
    )
    form = ResidentAreaForm(request.POST or None, initial={"area": profile.area_id})
    if request.method == "POST" and form.is_valid():
        try:
            change = resident_change_area(
                profile=profile,
                area=form.cleaned_data["area"],
                changed_by=request.user,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            values = {"name": profile.display_name, "area": change.to_area.name}
            if change.cancelled_at is not None:
                message = _("The move of %(name)s to %(area)s was called off.") % values
            elif change.effective_at is None:
                message = _("The move of %(name)s to %(area)s is pending. %(why)s") % (
                    values
                    | {"why": pending_moves_of([profile], now=timezone.now())[profile.pk].reason}
                )
            else:
                message = _("%(name)s now lives in %(area)s.") % values
            messages.success(request, message)
            return redirect("proposals:officer_residents")
    return render(
        request,
        "proposals/officer/resident_area.html",
        {
            "form": form,
            "profile": profile,
            "pending": pending_moves_of([profile], now=timezone.now()).get(profile.pk),
        },
    )


@require(permissions.can_audit_rounds)
def audit_overview(request: HttpRequest) -> HttpResponse:
    round_changes = Paginator(selectors.round_change_list(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "proposals/audit/overview.html",
        {"round_changes": round_changes, "area_changes": selectors.area_change_list()[:PAGE_SIZE]},
    )


@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    profile = (
        ResidentProfile.objects.select_related("area", "pending_area")
        .filter(user=request.user)
        .first()
    )
    pending = pending_moves_of([profile], now=timezone.now()).get(profile.pk) if profile else None
    return render(request, "proposals/my_account.html", {"profile": profile, "pending": pending})
