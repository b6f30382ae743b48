"""Explaining published results: computed once per area after publication, stored with
the result (``ResultExplanation``), each area its own job item so that a failure here
never delays or undoes a result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pb_platform.version import commonpurse_version
from proposals.models import CountingRule, RoundArea
from voting import explain, fairness, rules
from voting.models import AreaResult, ResultExplanation
from voting.selectors import area_ballot_proposals
from voting.services.results import area_ballots, published_results_where

# The explain job's items in ``pb_platform.jobs``: one per published area result.
EXPLAIN_JOB = "voting.explain_published_results"


class ExplanationMismatch(RuntimeError):
    """The explanation's winners are not the published ones: never store it."""


def software_version() -> str:
    return f"commonpurse {commonpurse_version() or '(not installed)'}"


# The parts an explanation has had from the start; one stored before ``FAIRNESS_KEY``
# existed is completed by the same job (it has everything but the fairness panel).
FAIRNESS_KEY = "fairness"


def results_to_explain() -> list[AreaResult]:
    """Published results without an explanation yet, or with one stored before the
    fairness figures existed, oldest first (this is also the backfill of results
    published before explanations existed)."""
    return published_results_where(
        Q(explanation__isnull=True) | ~Q(explanation__data__has_key=FAIRNESS_KEY)
    )


def result_explain_job_label(result: AreaResult) -> str:
    round_area = result.round_area
    return _("Explaining the result of %(area)s in %(round)s") % {
        "area": round_area.area.name,
        "round": round_area.budget_round.name,
    }


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
    """The rule's part of the stored explanation (``"rule"``, and under Equal Shares
    each step's payers, ``"step_payers"``), and the winners it explains, in order."""
    if CountingRule(rule) == CountingRule.MES:
        mes = explain.mes_explanation(projects, ballots, budget)
        payers = [
            [step.project, step.payers, step.paid_in_full]
            for step in explain.step_payers(mes, ballots)
        ]
        return {"rule": {"kind": "mes", **mes.to_dict()}, "step_payers": payers}, list(mes.winners)
    greedy = explain.greedy_explanation(projects, ballots, budget)
    winners = [rank.project for rank in greedy.ranks if rank.funded]
    return {"rule": {"kind": "greedy", **greedy.to_dict()}}, winners


def outcome_fairness_data(
    *,
    rule: str,
    projects: list[rules.Project],
    ballots: list[set[str]],
    winners: list[str],
    budget: Any,
) -> dict[str, Any]:
    """The fairness panel's figures as stored: the published outcome's and what the
    other rule would have funded on the same ballots, with its figures."""
    published = fairness.outcome_fairness(projects, ballots, winners, budget)
    other = fairness.other_rule_comparison(
        "mes" if CountingRule(rule) == CountingRule.MES else "greedy", projects, ballots, budget
    )
    return {"published": published.to_dict(), "other": other.to_dict()}


def result_explain(*, result_id: int, now: datetime) -> ResultExplanation | None:
    """Compute and store one published result's explanation; None if it already has a
    complete one.

    The computation runs outside any transaction (on the largest areas it takes seconds
    and must not hold locks); the insert is the claim: the one-to-one key lets a second,
    concurrent run store nothing (an explanation stored before the fairness figures
    existed is completed by an update that only applies while they are missing). An
    explanation whose winners differ from the published result is refused (the item
    fails, loudly), never stored.
    """
    result = AreaResult.objects.select_related("round_area").get(pk=result_id)
    stored = ResultExplanation.objects.filter(result=result).first()
    if result.published_at is None or (stored is not None and FAIRNESS_KEY in stored.data):
        return None
    projects, ballots, _proposal_of = area_rule_input(round_area=result.round_area)
    rule_parts, winners = rule_explanation(
        rule=result.rule, projects=projects, ballots=ballots, budget=result.budget
    )
    if winners != published_winners(result):
        raise ExplanationMismatch(
            f"the explanation funds {winners}, the published result {published_winners(result)}"
        )
    data: dict[str, Any] = {
        **rule_parts,
        FAIRNESS_KEY: outcome_fairness_data(
            rule=result.rule,
            projects=projects,
            ballots=ballots,
            winners=winners,
            budget=result.budget,
        ),
    }
    fields = {"data": data, "software_version": software_version(), "computed_at": now}
    if stored is not None:
        completed = (
            ResultExplanation.objects.filter(pk=stored.pk)
            .exclude(data__has_key=FAIRNESS_KEY)
            .update(**fields)
        )
        return ResultExplanation.objects.get(pk=stored.pk) if completed else None
    try:
        with transaction.atomic():
            return ResultExplanation.objects.create(result=result, **fields)
    except IntegrityError:
        return None  # another run stored it first
