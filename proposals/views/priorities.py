"""Pages for the priorities stage: residents say what matters most in their area,
suggest a missing theme, and read the results once the stage ends; officers type in
answers from paper and events, decide on suggested themes and say what they will do.

Each page asks ``proposals.policies`` and shows the answer; the services ask again."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from pb_platform.once import submitted_once
from pb_platform.policies import enforce
from proposals import permissions, policies
from proposals import priorities as selectors
from proposals.forms import (
    PrioritiesForm,
    PrioritiesStatementForm,
    ThemeDecisionForm,
    ThemeSuggestionForm,
)
from proposals.models import (
    BudgetRound,
    PriorityResponse,
    RoundArea,
    ThemeStatus,
    ThemeSuggestion,
)
from proposals.services import priorities as services

# The officer page lists the latest needs residents described, newest first.
NEEDS_SHOWN = 100


def _round(slug: str) -> BudgetRound:
    """A round with a priorities stage (404 for one without: the pages do not exist)."""
    budget_round = get_object_or_404(
        BudgetRound.objects.prefetch_related(
            Prefetch(
                "round_areas",
                queryset=RoundArea.objects.select_related("area", "priority_statement"),
            ),
            "categories",
        ),
        slug=slug,
    )
    if budget_round.priorities_starts is None:
        raise Http404
    return budget_round


def _round_area(budget_round: BudgetRound, area_slug: str) -> RoundArea:
    for round_area in budget_round.round_areas.all():
        if round_area.area.slug == area_slug:
            round_area.budget_round = budget_round
            return round_area
    raise Http404


@require_http_methods(["GET", "POST"])
def priorities(request: HttpRequest, slug: str) -> HttpResponse:
    """The round's priorities: where to answer, the suggestion box, the results by area."""
    budget_round = _round(slug)
    now = timezone.now()
    round_areas = list(budget_round.round_areas.all())
    for round_area in round_areas:
        round_area.budget_round = budget_round
    suggest = policies.can_suggest_theme(request.user, budget_round, now=now)
    form = ThemeSuggestionForm(request.POST or None)
    if request.method == "POST":
        enforce(suggest)
        if form.is_valid():
            try:
                services.theme_suggest(
                    resident=request.user,
                    budget_round=budget_round,
                    name=form.cleaned_data["name"],
                    now=now,
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, _("Thank you: an officer will look at your theme."))
                return redirect("proposals:priorities", slug=budget_round.slug)
    mine = (
        ThemeSuggestion.objects.filter(budget_round=budget_round, suggested_by=request.user).first()
        if request.user.is_authenticated
        else None
    )
    return render(
        request,
        "proposals/priorities/round.html",
        {
            "round": budget_round,
            "areas": [
                {
                    "round_area": round_area,
                    "respond": policies.can_respond_priorities(request.user, round_area, now=now),
                }
                for round_area in round_areas
            ],
            "open": policies.priorities_open(budget_round, now=now),
            "published": policies.priorities_results_published(budget_round, now=now),
            "suggest": suggest,
            "form": form,
            "mine": mine,
            "officer": permissions.can_review_proposals(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def priorities_respond(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    budget_round = _round(slug)
    round_area = _round_area(budget_round, area_slug)
    now = timezone.now()
    decision = policies.can_respond_priorities(request.user, round_area, now=now)
    if request.method == "POST":
        enforce(decision)
    themes = list(budget_round.categories.all())
    existing = (
        PriorityResponse.objects.filter(round_area=round_area, resident=request.user)
        .prefetch_related("points")
        .first()
    )
    form = PrioritiesForm(
        request.POST or None, themes=themes, initial=PrioritiesForm.initial_for(existing)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.priorities_respond(
                resident=request.user,
                round_area=round_area,
                points=form.to_points(),
                need=form.cleaned_data["need"],
                now=now,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request, _("Your priorities were saved. You can change them until the stage ends.")
            )
            return redirect("proposals:priorities", slug=budget_round.slug)
    return render(
        request,
        "proposals/priorities/respond.html",
        {
            "round": budget_round,
            "round_area": round_area,
            "form": form,
            "decision": decision,
            "existing": existing,
        },
    )


@require_safe
def priorities_results(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    budget_round = _round(slug)
    round_area = _round_area(budget_round, area_slug)
    now = timezone.now()
    published = policies.priorities_results_published(budget_round, now=now)
    themes = list(budget_round.categories.all())
    statement_decision = policies.can_publish_priorities_statement(
        request.user, round_area, now=now
    )
    statement = getattr(round_area, "priority_statement", None) if published else None
    return render(
        request,
        "proposals/priorities/results.html",
        {
            "round": budget_round,
            "round_area": round_area,
            "published": published,
            "result": selectors.area_priorities(round_area, themes=themes) if published else None,
            "statement": statement,
            "statement_decision": statement_decision,
            "statement_form": PrioritiesStatementForm(
                initial={"text": statement.text if statement else ""}
            )
            if statement_decision
            else None,
        },
    )


@require_safe
def priorities_csv(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    budget_round = _round(slug)
    round_area = _round_area(budget_round, area_slug)
    if not policies.priorities_results_published(budget_round, now=timezone.now()):
        raise Http404
    body = selectors.area_priorities_csv(round_area, themes=list(budget_round.categories.all()))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"priorities-{budget_round.slug}-{round_area.area.slug}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@require(permissions.can_review_proposals)
def officer_priorities_statement(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    budget_round = _round(slug)
    round_area = _round_area(budget_round, area_slug)
    now = timezone.now()
    enforce(policies.can_publish_priorities_statement(request.user, round_area, now=now))
    form = PrioritiesStatementForm(request.POST)
    if form.is_valid():
        try:
            services.priorities_statement_publish(
                officer=request.user, round_area=round_area, text=form.cleaned_data["text"], now=now
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The statement was published."))
            return redirect("proposals:priorities_results", slug=slug, area_slug=area_slug)
    themes = list(budget_round.categories.all())
    return render(
        request,
        "proposals/priorities/results.html",
        {
            "round": budget_round,
            "round_area": round_area,
            "published": policies.priorities_results_published(budget_round, now=now),
            "result": selectors.area_priorities(round_area, themes=themes),
            "statement": getattr(round_area, "priority_statement", None),
            "statement_decision": policies.ALLOW,
            "statement_form": form,
        },
        status=400,
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_review_proposals)
def officer_priorities(request: HttpRequest, slug: str) -> HttpResponse:
    """Suggested themes to decide on, and the needs residents described."""
    budget_round = _round(slug)
    now = timezone.now()
    pending = list(
        ThemeSuggestion.objects.filter(budget_round=budget_round, status=ThemeStatus.PENDING)
        .select_related("budget_round")
        .order_by("created_at", "pk")
    )
    forms = {s.pk: ThemeDecisionForm(prefix=f"s{s.pk}") for s in pending}
    if request.method == "POST":
        suggestion = next((s for s in pending if str(s.pk) == request.POST.get("suggestion")), None)
        if suggestion is None:
            messages.error(request, _("That suggestion has already been decided."))
            return redirect("proposals:officer_priorities", slug=slug)
        enforce(policies.can_moderate_theme(request.user, suggestion, now=now))
        form = forms[suggestion.pk] = ThemeDecisionForm(request.POST, prefix=f"s{suggestion.pk}")
        if form.is_valid():
            try:
                services.theme_moderate(
                    officer=request.user,
                    suggestion=suggestion,
                    approve=form.cleaned_data["decision"] == "approve",
                    reason=form.cleaned_data["reason"],
                    now=now,
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, _("Your decision on “%s” was saved.") % suggestion.name)
                return redirect("proposals:officer_priorities", slug=slug)
    needs = (
        PriorityResponse.objects.filter(round_area__budget_round=budget_round)
        .exclude(need="")
        .select_related("round_area__area")
        .order_by("-updated_at", "-pk")[:NEEDS_SHOWN]
    )
    return render(
        request,
        "proposals/priorities/officer.html",
        {
            "round": budget_round,
            "round_areas": budget_round.round_areas.all(),
            "pending": [(s, forms[s.pk]) for s in pending],
            "decided": ThemeSuggestion.objects.filter(budget_round=budget_round)
            .exclude(status=ThemeStatus.PENDING)
            .order_by("-decided_at", "-pk"),
            "needs": needs,
            "paper": policies.can_enter_paper_priorities(request.user, budget_round, now=now),
        },
    )


@require_http_methods(["GET", "POST"])
@require(permissions.can_review_proposals)
@submitted_once
def officer_priorities_paper(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    budget_round = _round(slug)
    round_area = _round_area(budget_round, area_slug)
    now = timezone.now()
    decision = policies.can_enter_paper_priorities(request.user, budget_round, now=now)
    if request.method == "POST":
        enforce(decision)
    form = PrioritiesForm(
        request.POST or None, themes=list(budget_round.categories.all()), paper=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.priorities_enter_paper(
                officer=request.user,
                round_area=round_area,
                channel=form.cleaned_data["channel"],
                points=form.to_points(),
                need=form.cleaned_data["need"],
                now=now,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The answer was recorded. You can enter the next one."))
            return redirect("proposals:officer_priorities_paper", slug=slug, area_slug=area_slug)
    return render(
        request,
        "proposals/priorities/paper.html",
        {"round": budget_round, "round_area": round_area, "form": form, "decision": decision},
    )
