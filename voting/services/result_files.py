"""Checking published results against their stored Pabulib files, and storing the file of
results published before files were stored.

``result_verify`` is what ``manage.py verify_result`` prints: for one published area it
recounts from the database's ballots and from the stored file, independently, and
compares both with what was published.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from pb_platform.money import money_quantize
from proposals.models import BudgetRound, CountingRule, RoundArea
from voting import rules
from voting.models import AreaResult, ResultFile
from voting.pabulib import PabulibError, parse_pabulib
from voting.services.results import (
    RULES,
    RecountMismatchError,
    area_ballots,
    pabulib_recount,
    result_file_store,
)


@dataclass
class AreaVerification:
    """What ``verify_result`` found for one published area: nothing wrong, or what."""

    round_area: RoundArea
    problems: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def name(self) -> str:
        return f"{self.round_area.budget_round.slug}/{self.round_area.area.slug}"

    def message(self) -> str:
        if self.ok:
            return f"OK: {self.name}: {self.summary}"
        return f"NOT OK: {self.name}: " + "; ".join(self.problems)


def published_round_areas(*, budget_round: BudgetRound, area_slug: str | None) -> list[RoundArea]:
    """The round's areas with a published result (only ``area_slug``'s, when given)."""
    round_areas = (
        RoundArea.objects.filter(budget_round=budget_round, result__published_at__isnull=False)
        .select_related("budget_round", "area", "result")
        .order_by("area__slug")
    )
    if area_slug:
        round_areas = round_areas.filter(area__slug=area_slug)
    return list(round_areas)


def _published_winners(result: AreaResult) -> tuple[tuple[str, ...], dict[int, str]]:
    """The published winners' ids in selection order, and every counted proposal's id."""
    lines = list(result.lines.select_related("proposal").order_by("selection_order", "pk"))
    winners = tuple(line.proposal.pabulib_id for line in lines if line.funded)
    return winners, {line.proposal_id: line.proposal.pabulib_id for line in lines}


def _rule_name(rule: str) -> str:
    return "Equal Shares" if rule == CountingRule.MES else "greedy"


def result_verify(*, round_area: RoundArea) -> AreaVerification:
    """Recount a published area from the database's ballots and from its stored file.

    Checks, in order: the stored file's SHA-256; that the file holds the counted
    proposals at their counted costs and the area's budget; that its ballots are the
    database's (as multisets of approval sets, in the file's project ids); and that
    counting either set of ballots by the result's rule funds exactly the published
    proposals, in order, for the published total.
    """
    verification = AreaVerification(round_area=round_area)
    problems = verification.problems
    result = round_area.result
    stored = ResultFile.objects.filter(result=result).first()
    if stored is None:
        problems.append(
            "no stored file (published before files were stored: run result_files_backfill)"
        )
        return verification
    digest = hashlib.sha256(stored.data).hexdigest()
    if digest != stored.sha256:
        problems.append(f"the stored file's SHA-256 is {digest}, not the recorded {stored.sha256}")
    try:
        data = parse_pabulib(stored.content.splitlines(keepends=True))
    except PabulibError as error:
        problems.append(f"the stored file cannot be read: {error}")
        return verification

    published, id_of = _published_winners(result)
    lines = {
        line.proposal.pabulib_id: line.cost for line in result.lines.select_related("proposal")
    }
    in_file = {project.id: project.cost for project in data.projects}
    if in_file != lines:
        problems.append("the stored file's proposals or costs differ from the counted ones")
    if data.budget != result.budget:
        problems.append(f"the stored file's budget is {data.budget}, not {result.budget}")

    # Choices of proposals that were not on the counted ballot are ignored, as the count does.
    database_ballots = Counter(
        frozenset(id_of[pk] for pk in ballot if pk in id_of)
        for ballot in area_ballots(round_area=round_area)
    )
    file_ballots = Counter(data.ballots())
    if database_ballots != file_ballots:
        only_database = sum((database_ballots - file_ballots).values())
        only_file = sum((file_ballots - database_ballots).values())
        problems.append(
            f"the stored file's ballots differ from the database's: {only_database} "
            f"ballot(s) only in the database, {only_file} only in the file"
        )

    rule_name = _rule_name(result.rule)
    recounts = {
        "the database's ballots": RULES[CountingRule(result.rule)](
            [rules.Project(pabulib_id, cost) for pabulib_id, cost in lines.items()],
            list(database_ballots.elements()),
            result.budget,
        ),
        "the stored file": pabulib_recount(content=stored.content, rule=result.rule),
    }
    for source, outcome in recounts.items():
        if outcome.winners != published:
            problems.append(
                f"recounting {source} by {rule_name} funds {list(outcome.winners)}, "
                f"the published result {list(published)}"
            )
        elif money_quantize(outcome.cost) != result.budget_used:
            problems.append(
                f"recounting {source} by {rule_name} spends {outcome.cost}, "
                f"the published result {result.budget_used}"
            )
    verification.summary = (
        f"{sum(file_ballots.values())} ballots; the stored file (SHA-256 {stored.sha256}) "
        f"holds the database's ballots, and recounting both by {rule_name} funds the "
        f"published {len(published)} proposal(s) {', '.join(published) or '(none)'} "
        f"for {result.budget_used} of {result.budget}"
    )
    return verification


@dataclass(frozen=True)
class BackfillCounts:
    stored: int
    already_stored: int
    mismatched: list[str]  # "round/area" of results whose file would not recount to them


def result_files_backfill(*, now: datetime) -> BackfillCounts:
    """Store the Pabulib file of every published result that has none, once.

    Each file is recounted before it is stored, as at publication; a result whose file
    would recount differently is left without one and named in the counts. Running it
    again stores nothing new.
    """
    missing = list(
        AreaResult.objects.filter(published_at__isnull=False, file__isnull=True)
        .select_related("round_area__budget_round", "round_area__area")
        .order_by("pk")
    )
    already = ResultFile.objects.count()
    stored = 0
    mismatched: list[str] = []
    for result in missing:
        winners, _ids = _published_winners(result)
        try:
            # Its own transaction: a mismatch or a concurrent run (the primary key is the
            # result) undoes only this result's file.
            with transaction.atomic():
                if ResultFile.objects.filter(result=result).exists():
                    continue
                result_file_store(
                    result=result,
                    rule=result.rule,
                    winners=winners,
                    cost=result.budget_used,
                    now=now,
                )
        except RecountMismatchError:
            round_area = result.round_area
            mismatched.append(f"{round_area.budget_round.slug}/{round_area.area.slug}")
            continue
        stored += 1
    return BackfillCounts(stored=stored, already_stored=already, mismatched=mismatched)
