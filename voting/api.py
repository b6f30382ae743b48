"""The API's published results and who took part (``pb_platform/api.py``), from the
selectors and policies the results and participation pages use: a result is there
only once published, and counts of people only as the disclosure helper lets them out.
"""

# No "from __future__ import annotations": django-ninja reads the annotations at import.

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from pb_platform.api_schemas import ERRORS, Problem, money
from proposals.api import Slug
from proposals.models import BudgetRound
from voting import participation, policies, selectors

router = Router(tags=["Results and participation"])


class Line(Schema):
    proposal_id: int
    title: str
    votes: int
    cost: str
    funded: bool
    selection_order: int | None = Field(
        description="The order the rule chose the funded proposals in; null if not funded"
    )


class AreaResult(Schema):
    area: str = Field(description="The area's slug")
    rule: str
    budget: str
    budget_used: str
    ballots_counted: int
    published_at: str
    lines: list[Line]


class RoundResults(Schema):
    round: str
    currency: str
    areas: list[AreaResult] = Field(description="Areas whose result is published")


@router.get(
    "rounds/{slug}/results/",
    response={200: RoundResults, **ERRORS},
    summary="A round's published results, per area, line by line",
)
def round_results(request: HttpRequest, slug: Slug) -> Status[object]:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    summaries = selectors.round_results_summary(budget_round=budget_round)
    lines = selectors.round_published_lines(budget_round=budget_round)
    areas = [
        AreaResult(
            area=summary.round_area.area.slug,
            rule=summary.result.rule,
            budget=money(summary.result.budget),
            budget_used=money(summary.result.budget_used),
            ballots_counted=summary.result.ballots_counted,
            published_at=summary.result.published_at.isoformat()
            if summary.result.published_at
            else "",
            lines=[
                Line(
                    proposal_id=line.proposal_id,
                    title=line.proposal.title,
                    votes=line.votes,
                    cost=money(line.cost),
                    funded=line.funded,
                    selection_order=line.selection_order,
                )
                for line in lines.get(summary.result.pk, [])
            ],
        )
        for summary in summaries
        if summary.result is not None
    ]
    return Status(
        200, RoundResults(round=budget_round.slug, currency=budget_round.currency, areas=areas)
    )


class AreaParticipation(Schema):
    area: str
    population: int | None
    ballots: int | None = Field(
        description="null: fewer than 5, or hidden so none can be worked out"
    )
    online: int | None
    paper: int | None
    proposals: int | None
    turnout_percent: str | None
    under_represented: bool


class RoundParticipation(Schema):
    round: str
    ballots: int | None
    turnout_percent: str | None
    areas: list[AreaParticipation]


@router.get(
    "rounds/{slug}/participation/",
    response={200: RoundParticipation, **ERRORS},
    summary="Who took part, per area (public from the opening of the vote)",
)
def round_participation(request: HttpRequest, slug: Slug) -> Status[object]:
    budget_round = get_object_or_404(BudgetRound, slug=slug)
    now = timezone.now()
    decision = policies.participation_public(budget_round, now=now)
    if not decision:
        return Status(404, Problem(detail=decision.reason))
    data = participation.round_participation(
        budget_round=budget_round, today=timezone.localdate(now)
    )
    return Status(
        200,
        RoundParticipation(
            round=budget_round.slug,
            ballots=data.ballots,
            turnout_percent=str(data.turnout) if data.turnout is not None else None,
            areas=[
                AreaParticipation(
                    area=row.round_area.area.slug,
                    population=row.population,
                    ballots=row.ballots,
                    online=row.channels.get("online"),
                    paper=row.channels.get("paper"),
                    proposals=row.proposals,
                    turnout_percent=str(row.turnout) if row.turnout is not None else None,
                    under_represented=row.under_represented,
                )
                for row in data.areas
            ],
        ),
    )
