"""Public results pages and downloads. Only published results are shown; nothing here
reads a ballot's voter, so no page or file can say who voted for what."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from pb_platform.access import require
from pb_platform.forms import form_add_service_errors
from pb_platform.once import submitted_once
from pb_platform.policies import enforce
from pb_platform.text import csv_cell
from pb_platform.version import commonpurse_version
from proposals.models import BudgetRound, RoundArea
from voting import participation, permissions, policies, rules, selectors
from voting.charts import (
    daily_ballots_chart,
    money_sources_chart,
    satisfaction_chart,
    votes_chart,
)
from voting.forms import OutreachForm
from voting.models import AreaResult, ResultLine
from voting.result_insights import result_insights
from voting.services.outreach import outreach_record
from voting.services.pabulib_io import round_area_export_pabulib
from voting.services.results import CountDelay, count_delays

RECEIPT_INPUT_MAX = 64


@require_safe
def round_results(request: HttpRequest, slug: str) -> HttpResponse:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    areas = selectors.round_results_summary(budget_round=budget_round)
    now = timezone.now()
    delays = count_delays(
        voting_ends=budget_round.voting_ends,
        unpublished_ids=[row.round_area.pk for row in areas if row.result is None],
        now=now,
    )
    return render(
        request,
        "voting/results/round.html",
        {
            "round": budget_round,
            # Each area's summary with its count's delay, if its count is late.
            "rows": [(row, delays.get(row.round_area.pk)) for row in areas],
            # For the notice when no area is published yet: which are late, and the worst why.
            "delayed_area_names": ", ".join(
                row.round_area.area.name for row in areas if row.round_area.pk in delays
            ),
            "round_delay": CountDelay(
                failing=any(delay.failing for delay in delays.values()),
                needs_officer=any(delay.needs_officer for delay in delays.values()),
                next_try_at=None,
            ),
            "any_published": any(area.result for area in areas),
            "voting_over": budget_round.voting_ends <= now,
        },
    )


@require_safe
def area_results(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    round_area = get_object_or_404(selectors.results_round_area(slug=slug, area_slug=area_slug))
    budget_round = round_area.budget_round
    result = selectors.round_area_published_result(round_area=round_area)
    now = timezone.now()
    context: dict[str, object] = {
        "round": budget_round,
        "round_area": round_area,
        "area": round_area.area,
        "voting_over": budget_round.voting_ends <= now,
    }
    if result is None:
        delays = count_delays(
            voting_ends=budget_round.voting_ends, unpublished_ids=[round_area.pk], now=now
        )
        context["delay"] = delays.get(round_area.pk)
        return render(request, "voting/results/area_unpublished.html", context)
    detail = selectors.published_result_detail(round_area=round_area, result=result)
    explanation = selectors.result_explanation_data(result=result)
    insights = result_insights(rule=result.rule, data=explanation, lines=detail.lines)
    typed = request.GET.get("receipt", "").strip()[:RECEIPT_INPUT_MAX]
    code = selectors.receipt_code_normalise(typed) if typed else None
    context.update(
        detail=detail,
        result=result,
        result_file=selectors.published_result_file(result=result),
        reasons=selectors.result_line_reasons(explanation),
        insights=insights,
        sources_chart=money_sources_chart(insights.money_sources),
        satisfaction_chart=(
            satisfaction_chart(insights.fairness.bands) if insights.fairness else None
        ),
        software_version=commonpurse_version(),
        pabutools_version=rules.PABUTOOLS_VERSION,
        chart=votes_chart(detail.lines),
        receipt_typed=typed,
        receipt_code=code,
        receipt_counted=code is not None
        and selectors.area_receipt_counted(round_area=round_area, code=code),
    )
    return render(request, "voting/results/area.html", context)


def _published_round_area(slug: str, area_slug: str) -> tuple[RoundArea, AreaResult]:
    """The area and its published result, or 404: unpublished results have no files."""
    round_area = get_object_or_404(selectors.results_round_area(slug=slug, area_slug=area_slug))
    result = selectors.round_area_published_result(round_area=round_area)
    if result is None:
        raise Http404("These results are not published yet.")
    return round_area, result


def _attachment(content: str, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _filename(round_area: RoundArea, suffix: str) -> str:
    # Slugs are [-a-zA-Z0-9_] only, so the name needs no quoting in the header.
    return f"{round_area.budget_round.slug}-{round_area.area.slug}-{suffix}"


def result_csv_rows(lines: Iterable[ResultLine]) -> Iterable[list[str]]:
    yield ["project_id", "title", "votes", "cost", "funded", "selection_order"]
    for line in lines:
        yield [
            csv_cell(cell)
            for cell in (
                line.proposal.pabulib_id,
                line.proposal.title,
                line.votes,
                line.cost,  # a Decimal with two places: "1500.00"
                "yes" if line.funded else "no",
                "" if line.selection_order is None else line.selection_order,
            )
        ]


@require_safe
def area_results_csv(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    round_area, result = _published_round_area(slug, area_slug)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(result_csv_rows(selectors.result_lines(result=result)))
    return _attachment(
        buffer.getvalue(),
        content_type="text/csv; charset=utf-8",
        filename=_filename(round_area, "results.csv"),
    )


@require_safe
def area_results_pabulib(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    round_area, _result = _published_round_area(slug, area_slug)
    buffer = io.StringIO()
    round_area_export_pabulib(round_area=round_area, stream=buffer)
    return _attachment(
        buffer.getvalue(),
        content_type="text/plain; charset=utf-8",
        filename=_filename(round_area, "ballots.pb"),
    )


@require_safe
def area_receipts(request: HttpRequest, slug: str, area_slug: str) -> HttpResponse:
    round_area, _result = _published_round_area(slug, area_slug)
    codes = selectors.area_receipt_codes(round_area=round_area)
    return _attachment(
        "".join(f"{code}\n" for code in codes),
        content_type="text/plain; charset=utf-8",
        filename=_filename(round_area, "receipts.txt"),
    )


def _participation_page(
    request: HttpRequest, budget_round: BudgetRound, *, form: OutreachForm | None = None
) -> HttpResponse:
    now = timezone.now()
    decision = policies.participation_public(budget_round, now=now)
    data = (
        participation.round_participation(budget_round=budget_round, today=timezone.localdate(now))
        if decision
        else None
    )
    equality = policies.equality_figures_public(budget_round, now=now)
    can_record = policies.can_record_outreach(request.user, budget_round, now=now)
    if can_record and form is None:
        form = OutreachForm(budget_round=budget_round)
    return render(
        request,
        "voting/participation.html",
        {
            "round": budget_round,
            "decision": decision,
            "participation": data,
            "daily_chart": daily_ballots_chart(data.days) if data and data.days else None,
            "outreach_form": form if can_record else None,
            "equality": participation.round_equality(budget_round=budget_round)
            if equality
            else None,
            "equality_decision": equality,
        },
    )


@require_safe
def round_participation(request: HttpRequest, slug: str) -> HttpResponse:
    """Who took part, per area: ballots against population, by channel, proposals, and
    the areas under-represented (small counts hidden, see ``voting.participation``); the
    ballots per day of the vote; each area's outreach, and for officers a form to add it."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    return _participation_page(request, budget_round)


@require_POST
@require(permissions.can_record_outreach)
@submitted_once
def participation_outreach(request: HttpRequest, slug: str) -> HttpResponse:
    """An officer records outreach in an area; the page comes back with the errors on
    the fields, or redirects to the area's outreach with a message."""
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    # Refused before the form is read (too early, an imported round): the 403 page says
    # why. The service checks again whoever calls it.
    enforce(policies.can_record_outreach(request.user, budget_round, now=timezone.now()))
    form = OutreachForm(request.POST, budget_round=budget_round)
    if form.is_valid():
        try:
            action = outreach_record(
                officer=request.user,
                budget_round=budget_round,
                area=form.cleaned_data["area"],
                kind=form.cleaned_data["kind"],
                happened_on=form.cleaned_data["happened_on"],
                description=form.cleaned_data["description"],
                now=timezone.now(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("The outreach in %(area)s was recorded.") % {"area": action.area.name},
            )
            url = reverse("voting:round_participation", args=[budget_round.slug])
            return redirect(f"{url}#outreach-{action.area.slug}")
    return _participation_page(request, budget_round, form=form)


urlpatterns = [
    path("rounds/<slug:slug>/participation/", round_participation, name="round_participation"),
    path(
        "rounds/<slug:slug>/participation/outreach/",
        participation_outreach,
        name="participation_outreach",
    ),
    path("rounds/<slug:slug>/results/", round_results, name="round_results"),
    path("rounds/<slug:slug>/results/<slug:area_slug>/", area_results, name="area_results"),
    path(
        "rounds/<slug:slug>/results/<slug:area_slug>/results.csv",
        area_results_csv,
        name="area_results_csv",
    ),
    path(
        "rounds/<slug:slug>/results/<slug:area_slug>/ballots.pb",
        area_results_pabulib,
        name="area_results_pabulib",
    ),
    path(
        "rounds/<slug:slug>/results/<slug:area_slug>/receipts.txt",
        area_receipts,
        name="area_receipts",
    ),
]
