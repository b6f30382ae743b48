"""You said, we did: one public page per round that follows it from what residents
said matters (the priorities stage, if the round had one) through who took part and
what was funded, to what it cost, how its delivery went and how the people who use it
judged it. Every figure comes from the selectors its own page uses, so the two always
agree; a fixed number of queries whatever the size of the round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q

from ledgers import selectors
from ledgers.models import Milestone
from ledgers.selectors import AssessmentResult
from proposals import policies as proposal_policies
from proposals.models import BudgetRound, PriorityStatement, Proposal, RoundArea
from proposals.priorities import AreaPriorities, areas_priorities
from voting.participation import AreaParticipation, RoundParticipation, round_participation


@dataclass(frozen=True)
class FundedStory:
    proposal: Proposal  # with allocated, spent, delivery_status (selectors.funded_proposals)
    milestones: int
    milestones_reached: int
    milestones_late: int
    assessment: AssessmentResult


@dataclass(frozen=True)
class AreaStory:
    round_area: RoundArea
    priorities: AreaPriorities | None  # None: the round had no published priorities
    statement: PriorityStatement | None
    participation: AreaParticipation | None
    funded: list[FundedStory]

    @property
    def allocated(self) -> Decimal:
        return sum((f.proposal.allocated for f in self.funded), Decimal(0))  # type: ignore[attr-defined]

    @property
    def spent(self) -> Decimal:
        return sum((f.proposal.spent for f in self.funded), Decimal(0))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RoundStory:
    budget_round: BudgetRound
    has_priorities: bool
    participation: RoundParticipation
    areas: list[AreaStory]
    total: dict[str, Decimal]

    @property
    def funded_count(self) -> int:
        return sum(len(area.funded) for area in self.areas)

    @property
    def delivered_count(self) -> int:
        return len(
            [
                f
                for area in self.areas
                for f in area.funded
                if f.proposal.delivery_status == "delivered"  # type: ignore[attr-defined]
            ]
        )

    @property
    def assessments_count(self) -> int:
        return sum(f.assessment.count for area in self.areas for f in area.funded)


def round_story(*, budget_round: BudgetRound, now: datetime, today: date) -> RoundStory:
    """The whole round in one read (about fifteen queries, whatever its size)."""
    round_areas = list(
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area")
        .order_by("area__name")
    )
    has_priorities = bool(proposal_policies.priorities_results_published(budget_round, now=now))
    priorities: dict[int, AreaPriorities] = {}
    statements: dict[int, PriorityStatement] = {}
    if has_priorities:
        themes = list(budget_round.categories.all())
        priorities = {
            figures.round_area.pk: figures
            for figures in areas_priorities(round_areas, themes=themes)
        }
        statements = {
            statement.round_area_id: statement
            for statement in PriorityStatement.objects.filter(round_area__in=round_areas)
        }
    participation = round_participation(budget_round=budget_round, today=today)
    by_area_participation = {row.round_area.pk: row for row in participation.areas}
    funded = list(selectors.funded_proposals(budget_round=budget_round))
    ids = [p.pk for p in funded]
    plans = {
        row["proposal_id"]: row
        for row in Milestone.objects.filter(proposal_id__in=ids)
        .values("proposal_id")
        .annotate(
            total=Count("pk"),
            reached=Count("pk", filter=Q(done_on__isnull=False)),
            late=Count("pk", filter=Q(done_on__isnull=True, planned_on__lt=today)),
        )
        .order_by()
    }
    criteria = selectors.assessment_criteria(budget_round=budget_round)
    results = selectors.assessment_results(proposal_ids=ids, criteria=criteria)
    stories: dict[int, list[FundedStory]] = {ra.pk: [] for ra in round_areas}
    for proposal in funded:
        plan = plans.get(proposal.pk, {})
        stories[proposal.round_area_id].append(
            FundedStory(
                proposal=proposal,
                milestones=plan.get("total", 0),
                milestones_reached=plan.get("reached", 0),
                milestones_late=plan.get("late", 0),
                assessment=results[proposal.pk],
            )
        )
    return RoundStory(
        budget_round=budget_round,
        has_priorities=has_priorities,
        participation=participation,
        areas=[
            AreaStory(
                round_area=round_area,
                priorities=priorities.get(round_area.pk),
                statement=statements.get(round_area.pk),
                participation=by_area_participation.get(round_area.pk),
                funded=stories[round_area.pk],
            )
            for round_area in round_areas
        ],
        total=selectors.round_balance(budget_round=budget_round),
    )
