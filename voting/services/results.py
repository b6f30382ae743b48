"""Counting an area's ballots by the round's declared rule and storing the result."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pb_platform.jobs import job_items_recorded
from pb_platform.models import JobItemStatus
from pb_platform.money import money_quantize
from proposals.models import CountingRule, Proposal, RoundArea
from voting import rules
from voting.models import AreaResult, BallotChoice, ResultFile, ResultLine
from voting.pabulib import parse_pabulib
from voting.selectors import area_ballot_proposals
from voting.services.pabulib_io import round_area_pabulib_text

RULES = {
    CountingRule.GREEDY: rules.greedy,
    CountingRule.MES: rules.method_of_equal_shares,
}


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


def due_round_area_ids(*, now: datetime) -> list[int]:
    """Areas whose voting has ended by the clock and which are not yet counted."""
    return list(
        RoundArea.objects.filter(budget_round__voting_ends__lte=now, voting_closed_at__isnull=True)
        .order_by("budget_round__voting_ends", "pk")
        .values_list("pk", flat=True)
    )


# The close job's items in ``pb_platform.jobs``: one per round area.
CLOSE_JOB = "voting.close_count_publish"


def round_area_job_key(round_area_id: int) -> str:
    return f"round_area:{round_area_id}"


# --- Jobs that follow publication (explanations, emails): one item per published result


def published_results_where(condition: Q) -> list[AreaResult]:
    """Published results matching ``condition`` (what a follow-up job has not done yet),
    oldest first, with the area and round its job label names."""
    return list(
        AreaResult.objects.filter(condition, published_at__isnull=False)
        .select_related("round_area__area", "round_area__budget_round")
        .order_by("published_at", "pk")
    )


def area_result_job_key(result: AreaResult) -> str:
    return f"area_result:{result.pk}"


def round_area_job_label(round_area: RoundArea) -> str:
    """What the close job's item is, for officers (needs area and round loaded)."""
    return _("Counting %(area)s in %(round)s") % {
        "area": round_area.area.name,
        "round": round_area.budget_round.name,
    }


def due_round_areas(*, now: datetime) -> list[RoundArea]:
    """As ``due_round_area_ids``, with each area and round loaded for the job's labels."""
    return list(
        RoundArea.objects.filter(budget_round__voting_ends__lte=now, voting_closed_at__isnull=True)
        .select_related("area", "budget_round")
        .order_by("budget_round__voting_ends", "pk")
    )


def area_close_count_publish(*, round_area_id: int, now: datetime) -> AreaResult | None:
    """Close an area whose voting has ended, count it by the round's rule, store and
    publish the result, all in one transaction. Returns None if there was nothing to do.

    The work is claimed with a conditional update (``voting_closed_at`` empty -> now):
    a second run, concurrent or later, updates no row and does nothing. On PostgreSQL
    the claim also waits for ballots still being written (they hold a shared lock on the
    row), so none is missed. If the run fails midway, the transaction undoes the claim
    with everything else and the next run counts the area from scratch; the count is
    deterministic, so that gives the same result.
    """
    round_area = RoundArea.objects.select_related("budget_round").get(pk=round_area_id)
    if round_area.budget_round.voting_ends > now:
        return None  # still open: never count early
    with transaction.atomic():
        claimed = RoundArea.objects.filter(pk=round_area_id, voting_closed_at__isnull=True).update(
            voting_closed_at=now
        )
        if not claimed:
            return None
        rule = round_area.budget_round.counting_rule
        outcome, proposals, votes = area_count(round_area=round_area, rule=rule)
        order = {pabulib_id: index for index, pabulib_id in enumerate(outcome.winners, start=1)}
        result = AreaResult.objects.create(
            round_area=round_area,
            rule=rule,
            ballots_counted=round_area.ballots.count(),
            budget=round_area.budget,
            budget_used=money_quantize(outcome.cost),
            counted_at=now,
            published_at=now,
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
        # Last, so that a file that does not recount to this result undoes it all.
        result_file_store(
            result=result, rule=rule, winners=outcome.winners, cost=outcome.cost, now=now
        )
    return result


# --- The stored Pabulib file ---------------------------------------------------------------


class RecountMismatchError(Exception):
    """The Pabulib file generated for a result does not recount to that result."""


def pabulib_recount(*, content: str, rule: str) -> rules.Outcome:
    """Count a Pabulib file's ballots by ``rule``, as anyone with the file can."""
    data = parse_pabulib(content.splitlines(keepends=True))
    return RULES[CountingRule(rule)](data.rule_projects(), data.ballots(), data.budget)


def result_file_store(
    *, result: AreaResult, rule: str, winners: tuple[str, ...], cost: Decimal, now: datetime
) -> ResultFile:
    """Generate the result's anonymised Pabulib file, recount it with our own reader and
    rule, and store it only if it funds exactly ``winners`` (in that order) for ``cost``.

    The file is what residents download to check the count; one that recounts
    differently (a bug in the writer, the reader or the count) must never be published,
    so this raises ``RecountMismatchError`` and the caller's transaction is undone.
    """
    content = round_area_pabulib_text(round_area=result.round_area)
    recount = pabulib_recount(content=content, rule=rule)
    if recount.winners != tuple(winners) or recount.cost != cost:
        raise RecountMismatchError(
            f"recounting the generated Pabulib file funds {list(recount.winners)} for "
            f"{recount.cost}, the count funds {list(winners)} for {cost}; not published"
        )
    return ResultFile.objects.create(
        result=result,
        content=content,
        sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
        generated_at=now,
    )


# --- Counts that are late ------------------------------------------------------------------

# The close job runs every beat tick; a count not published a few ticks after voting
# ended is late even if no failure was recorded (the worker or beat may be down).
COUNT_LATE_AFTER_TICKS = 3
COUNT_LATE_AFTER_MINIMUM = timedelta(minutes=2)


def count_late_after() -> timedelta:
    return max(
        timedelta(seconds=COUNT_LATE_AFTER_TICKS * settings.PHASE_TICK_SECONDS),
        COUNT_LATE_AFTER_MINIMUM,
    )


@dataclass(frozen=True)
class CountDelay:
    """Why an area's count, due by now, is not published."""

    # The close job recorded failures for this area (it is retried, or waits for an
    # officer); otherwise the count is simply later than it should be.
    failing: bool
    needs_officer: bool
    next_try_at: datetime | None


def count_delays(
    *, voting_ends: datetime, unpublished_ids: Iterable[int], now: datetime
) -> dict[int, CountDelay]:
    """Which of a round's unpublished areas (by id) have a delayed count, and why.

    A count is delayed when the round's voting has ended and the close job recorded a
    failure for the area, or the count is more than a few ticks late. At most one
    query, whatever the number of areas.
    """
    if voting_ends > now:
        return {}
    ids = list(unpublished_ids)
    records = job_items_recorded(
        job=CLOSE_JOB, keys=[round_area_job_key(round_area_id) for round_area_id in ids]
    )
    late = now - voting_ends > count_late_after()
    delays: dict[int, CountDelay] = {}
    for round_area_id in ids:
        record = records.get(round_area_job_key(round_area_id))
        if record is not None and record.status != JobItemStatus.OK:
            delays[round_area_id] = CountDelay(
                failing=True,
                needs_officer=record.status == JobItemStatus.NEEDS_OFFICER,
                next_try_at=record.next_try_at,
            )
        elif late:
            delays[round_area_id] = CountDelay(failing=False, needs_officer=False, next_try_at=None)
    return delays
