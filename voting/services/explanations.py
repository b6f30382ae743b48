"""Explaining published results: computed once per area after publication, stored with
the result (``ResultExplanation``), each area its own job item so that a failure here
never delays or undoes a result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from pb_platform.version import commonpurse_version
from proposals.models import CountingRule, RoundArea
from voting import explain, rules
from voting.models import AreaResult, ResultExplanation
from voting.selectors import area_ballot_proposals
from voting.services.results import area_ballots, published_results_where

# The explain job's items in ``pb_platform.jobs``: one per published area result.
EXPLAIN_JOB = "voting.explain_published_results"


class ExplanationMismatch(RuntimeError):
    """The explanation's winners are not the published ones: never store it."""


def software_version() -> str:
    return f"commonpurse {commonpurse_version() or '(not installed)'}"


def results_to_explain() -> list[AreaResult]:
    """Published results without an explanation yet, oldest first (this is also the
    backfill of results published before explanations existed)."""
    return published_results_where(Q(explanation__isnull=True))


def result_explain_job_label(result: AreaResult) -> str:
    round_area = result.round_area
    return f"Explaining the result of {round_area.area.name} in {round_area.budget_round.name}"


def area_rule_input(
    *, round_area: RoundArea
) -> tuple[list[rules.Project], list[set[str]], dict[str, int]]:
    """The rule's input exactly as the count had it (projects by Pabulib id, each ballot
    as the set of ids it approves) and each Pabulib id's proposal id."""
    proposals = area_ballot_proposals(round_area=round_area)
    pabulib_id_of = {p.pk: p.pabulib_id for p in proposals}
    projects = [rules.Project(p.pabulib_id, p.official_cost) for p in proposals]
    ballots = [
        {pabulib_id_of[pk] for pk in ballot if pk in pabulib_id_of}
        for ballot in area_ballots(round_area=round_area)
    ]
    return projects, ballots, {p.pabulib_id: p.pk for p in proposals}


def published_winners(result: AreaResult) -> list[str]:
    lines = result.lines.filter(funded=True).select_related("proposal").order_by("selection_order")
    return [line.proposal.pabulib_id for line in lines]


def rule_explanation(
    *, rule: str, projects: list[rules.Project], ballots: list[set[str]], budget: Any
) -> tuple[dict[str, Any], list[str]]:
    """The rule's explanation as stored, and the winners it explains, in order."""
    if CountingRule(rule) == CountingRule.MES:
        mes = explain.mes_explanation(projects, ballots, budget)
        return {"kind": "mes", **mes.to_dict()}, list(mes.winners)
    greedy = explain.greedy_explanation(projects, ballots, budget)
    winners = [rank.project for rank in greedy.ranks if rank.funded]
    return {"kind": "greedy", **greedy.to_dict()}, winners


def result_explain(*, result_id: int, now: datetime) -> ResultExplanation | None:
    """Compute and store one published result's explanation; None if it already has one.

    The computation runs outside any transaction (on the largest areas it takes seconds
    and must not hold locks); the insert is the claim: the one-to-one key lets a second,
    concurrent run store nothing. An explanation whose winners differ from the published
    result is refused (the item fails, loudly), never stored.
    """
    result = AreaResult.objects.select_related("round_area").get(pk=result_id)
    if result.published_at is None or ResultExplanation.objects.filter(result=result).exists():
        return None
    projects, ballots, _proposal_of = area_rule_input(round_area=result.round_area)
    data, winners = rule_explanation(
        rule=result.rule, projects=projects, ballots=ballots, budget=result.budget
    )
    if winners != published_winners(result):
        raise ExplanationMismatch(
            f"the explanation funds {winners}, the published result {published_winners(result)}"
        )
    try:
        with transaction.atomic():
            return ResultExplanation.objects.create(
                result=result,
                data={"rule": data},
                software_version=software_version(),
                computed_at=now,
            )
    except IntegrityError:
        return None  # another run stored it first
