"""Counting an area's ballots by the round's declared rule and storing the result."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from pb_platform.money import money_quantize
from proposals.models import CountingRule, Proposal, ProposalStatus, RoundArea
from voting import rules
from voting.models import AreaResult, BallotChoice, ResultLine

RULES = {
    CountingRule.GREEDY: rules.greedy,
    CountingRule.MES: rules.method_of_equal_shares,
}


def area_ballot_proposals(*, round_area: RoundArea) -> list[Proposal]:
    """The proposals on an area's ballot: feasible, with an official cost."""
    return list(
        Proposal.objects.filter(
            round_area=round_area,
            status=ProposalStatus.FEASIBLE,
            official_cost__isnull=False,
        ).order_by("pk")
    )


def area_ballots(*, round_area: RoundArea) -> list[frozenset[int]]:
    """Each ballot of the area as the set of proposal ids it approves (in one query)."""
    approvals: dict[int, set[int]] = {}
    rows = BallotChoice.objects.filter(ballot__round_area=round_area).values_list(
        "ballot_id", "proposal_id"
    )
    for ballot_id in round_area.ballots.values_list("pk", flat=True):
        approvals[ballot_id] = set()
    for ballot_id, proposal_id in rows.iterator(chunk_size=10_000):
        approvals.setdefault(ballot_id, set()).add(proposal_id)
    return [frozenset(chosen) for chosen in approvals.values()]


def area_count(
    *, round_area: RoundArea, rule: str
) -> tuple[rules.Outcome, list[Proposal], Counter[int]]:
    """Run the rule on the area's ballots. Ties are broken on the Pabulib id."""
    proposals = area_ballot_proposals(round_area=round_area)
    ballots = area_ballots(round_area=round_area)
    votes: Counter[int] = Counter()
    for ballot in ballots:
        votes.update(ballot)
    pabulib_id_of = {p.pk: p.pabulib_id for p in proposals}
    outcome = RULES[CountingRule(rule)](
        [rules.Project(p.pabulib_id, p.official_cost) for p in proposals],
        # Choices of proposals no longer on the ballot (should not happen) are ignored.
        [{pabulib_id_of[pk] for pk in ballot if pk in pabulib_id_of} for ballot in ballots],
        round_area.budget,
    )
    return outcome, proposals, votes


def result_store(*, round_area: RoundArea, now: datetime) -> AreaResult:
    """Count the area by its round's rule and store the result, once.

    Running it again returns the stored result unchanged: the one-to-one link between
    an area and its result lets only the first count be stored.
    """
    existing = AreaResult.objects.filter(round_area=round_area).first()
    if existing is not None:
        return existing
    rule = round_area.budget_round.counting_rule
    outcome, proposals, votes = area_count(round_area=round_area, rule=rule)
    order = {pabulib_id: index for index, pabulib_id in enumerate(outcome.winners, start=1)}
    ballots_counted = round_area.ballots.count()
    try:
        with transaction.atomic():
            result = AreaResult.objects.create(
                round_area=round_area,
                rule=rule,
                ballots_counted=ballots_counted,
                budget=round_area.budget,
                budget_used=money_quantize(outcome.cost),
                counted_at=now,
            )
            ResultLine.objects.bulk_create(
                ResultLine(
                    result=result,
                    proposal=proposal,
                    votes=votes[proposal.pk],
                    cost=proposal.official_cost or Decimal(0),
                    funded=proposal.pabulib_id in order,
                    selection_order=order.get(proposal.pabulib_id),
                )
                for proposal in proposals
            )
    except IntegrityError:
        # Another run stored it between our check and our insert: theirs stands.
        return AreaResult.objects.get(round_area=round_area)
    return result
