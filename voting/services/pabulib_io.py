"""Pabulib interoperability: import a historical election as a round, export a round's
area as an anonymised ``.pb`` file (random voter ids, no timestamps)."""

from __future__ import annotations

import io
import random
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from pb_platform.money import CURRENCY_CODES, money_quantize
from pb_platform.users import User
from proposals.models import (
    Area,
    BallotType,
    BudgetRound,
    CountingRule,
    Proposal,
    ProposalStatus,
    RoundArea,
)
from proposals.phases import Phase
from voting.models import AreaResult, Ballot, BallotChannel, BallotChoice, ResultFile
from voting.pabulib import PabulibFile, PabulibProject, write_pabulib
from voting.services.ballots import receipt_code_new

BATCH = 5_000


def _unique_name(model: type[Area] | type[BudgetRound], base: str, limit: int) -> str:
    """``base``, or ``base (2)``, ``(3)``…: names are unique whatever their case."""
    base = base[:limit].strip() or "Imported"
    name, n = base, 1
    while model.objects.filter(name__iexact=name).exists():
        n += 1
        suffix = f" ({n})"
        name = base[: limit - len(suffix)] + suffix
    return name


def _money(value: Decimal, what: str) -> Decimal:
    if value != money_quantize(value):
        raise ValidationError(f"{what} {value} has more than two decimal places.")
    return money_quantize(value)


def round_import_pabulib(
    *,
    data: PabulibFile,
    rule: str,
    title: str,
    currency: str | None,
    now: datetime,
    imported_by: User | None = None,
) -> BudgetRound:
    """Create a round, already past voting, holding the file's projects and its ballots
    exactly as recorded (limits are not re-checked: this is historical data)."""
    if rule not in CountingRule.values:
        raise ValidationError(
            f"Unknown rule {rule!r}; use one of {', '.join(CountingRule.values)}."
        )
    currency = (currency or data.meta.get("currency", "")).upper()
    if currency not in CURRENCY_CODES:
        raise ValidationError(
            f"Currency {currency or '(none in the file)'!r} is not supported; "
            f"pass --currency with one of {', '.join(CURRENCY_CODES)}."
        )
    budget = _money(data.budget, "The budget")
    costs = {
        project.id: _money(project.cost, f"The cost of {project.id}") for project in data.projects
    }
    max_length = data.meta.get("max_length", "").strip()
    k = int(max_length) if max_length.isdigit() and int(max_length) > 0 else None

    with transaction.atomic():
        area = Area.objects.create(
            name=_unique_name(Area, title, 120), slug=_free_slug(Area, title), population=None
        )
        budget_round = BudgetRound.objects.create(
            name=_unique_name(BudgetRound, title, 200),
            slug=_free_slug(BudgetRound, title),
            description=data.meta.get("description", "")[:10_000],
            currency=currency,
            total_budget=budget,
            counting_rule=rule,
            ballot_type=BallotType.K_APPROVAL if k else BallotType.APPROVAL_WITHIN_BUDGET,
            max_choices=k,
            submission_starts=now - timedelta(days=4),
            review_starts=now - timedelta(days=3),
            voting_starts=now - timedelta(days=2),
            voting_ends=now - timedelta(days=1),
            delivery_starts=now + timedelta(days=30),
            delivery_ends=now + timedelta(days=395),
            # "Upcoming" while its area is added: on PostgreSQL a trigger refuses to
            # add areas to a round whose stored state has reached voting. The state is
            # set below, in the same transaction.
            state=Phase.UPCOMING,
            is_imported=True,
            created_by=imported_by,
        )
        round_area = RoundArea.objects.create(budget_round=budget_round, area=area, budget=budget)
        proposals = Proposal.objects.bulk_create(
            Proposal(
                budget_round=budget_round,
                round_area=round_area,
                external_id=project.id,
                title=(project.name or project.id)[:150],
                description=project.extra.get("description", "") or project.name or project.id,
                estimated_cost=costs[project.id],
                official_cost=costs[project.id],
                status=ProposalStatus.FEASIBLE,
                created_at=now,
                submitted_at=now,
            )
            for project in data.projects
        )
        proposal_ids = {p.external_id: p.pk for p in proposals}
        _import_ballots(round_area, data, proposal_ids, now)
        BudgetRound.objects.filter(pk=budget_round.pk).update(
            state=Phase.RESULTS, state_changed_at=now
        )
        budget_round.state, budget_round.state_changed_at = Phase.RESULTS, now
    return budget_round


def _import_ballots(
    round_area: RoundArea, data: PabulibFile, proposal_ids: dict[str, int], now: datetime
) -> None:
    for start in range(0, len(data.votes), BATCH):
        chunk = data.votes[start : start + BATCH]
        ballots = Ballot.objects.bulk_create(
            Ballot(
                round_area=round_area,
                channel=BallotChannel.IMPORTED,
                receipt_code=receipt_code_new(),
                cast_at=now,
                changed_at=now,
            )
            for _ in chunk
        )
        BallotChoice.objects.bulk_create(
            (
                BallotChoice(ballot=ballot, proposal_id=proposal_ids[project_id])
                for ballot, (_voter, approved) in zip(ballots, chunk, strict=True)
                for project_id in sorted(approved)
            ),
            batch_size=BATCH,
        )


def _free_slug(model: type[Area] | type[BudgetRound], title: str) -> str:
    base = slugify(title)[:100] or "imported"
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def round_area_export_pabulib(*, round_area: RoundArea, stream: TextIO) -> None:
    """Write the area's anonymised Pabulib file: for a result with a stored file (every
    result published since files are stored), that file, byte for byte; otherwise a
    newly generated one (new random voter ids each time)."""
    stored = ResultFile.objects.filter(result__round_area=round_area).first()
    stream.write(
        stored.content if stored is not None else round_area_pabulib_text(round_area=round_area)
    )


def round_area_pabulib_text(*, round_area: RoundArea) -> str:
    """The area's ballot as a new anonymised Pabulib file: proposals on the ballot with
    their official costs and votes, and every ballot with a random voter id, in random
    order, without timestamps. ``selected`` is written when a result is stored.

    Every ballot is written, an empty one too (a ballot whose choices all left the
    ballot): the Method of Equal Shares divides the budget by the number of ballots, so
    a file without them would not recount to the same result. Each call shuffles anew;
    the published file is generated once and stored (``ResultFile``).
    """
    budget_round = round_area.budget_round
    result = AreaResult.objects.filter(round_area=round_area).first()
    if result is not None:
        # Once counted, the ballot is what was counted, whatever has changed since.
        lines = list(result.lines.select_related("proposal").order_by("proposal_id"))
        proposals = [line.proposal for line in lines]
        funded: set[int] | None = {line.proposal_id for line in lines if line.funded}
        cost_of = {line.proposal_id: line.cost for line in lines}  # the cost counted
    else:
        proposals = list(
            Proposal.objects.filter(
                round_area=round_area, status=ProposalStatus.FEASIBLE, official_cost__isnull=False
            ).order_by("pk")
        )
        funded = None
        cost_of = {}
    on_ballot = {p.pk: p.pabulib_id for p in proposals}
    votes_by_ballot: dict[int, list[str]] = {
        ballot_id: [] for ballot_id in round_area.ballots.values_list("pk", flat=True)
    }
    for ballot_id, proposal_id in (
        BallotChoice.objects.filter(ballot__round_area=round_area)
        .values_list("ballot_id", "proposal_id")
        .iterator(chunk_size=10_000)
    ):
        if proposal_id in on_ballot:
            votes_by_ballot.setdefault(ballot_id, []).append(on_ballot[proposal_id])
    approvals = [frozenset(ids) for ids in votes_by_ballot.values()]
    random.SystemRandom().shuffle(approvals)
    counts: dict[str, int] = dict.fromkeys(on_ballot.values(), 0)
    for approved in approvals:
        for project_id in approved:
            counts[project_id] += 1
    meta = {
        "description": f"{budget_round.name}, {round_area.area.name}",
        "unit": budget_round.name,
        "subunit": round_area.area.name,
        "instance": budget_round.slug,
        "budget": str(round_area.budget),
        "vote_type": "approval",
        "rule": "equalshares/add1" if budget_round.counting_rule == CountingRule.MES else "greedy",
        "currency": budget_round.currency,
    }
    if budget_round.ballot_type == BallotType.K_APPROVAL and budget_round.max_choices:
        meta["max_length"] = str(budget_round.max_choices)
    projects = [
        PabulibProject(
            id=p.pabulib_id,
            name=" ".join(p.title.split()),
            cost=cost_of.get(p.pk, p.official_cost),
            extra={
                "votes": str(counts[p.pabulib_id]),
                **({"selected": "1" if p.pk in funded else "0"} if funded is not None else {}),
            },
        )
        for p in proposals
    ]
    voter_ids = _random_voter_ids(len(approvals))
    stream = io.StringIO()
    write_pabulib(
        PabulibFile(
            meta=meta, projects=projects, votes=list(zip(voter_ids, approvals, strict=True))
        ),
        stream,
    )
    return stream.getvalue()


def _random_voter_ids(count: int) -> Iterator[str]:
    seen: set[str] = set()
    while len(seen) < count:
        candidate = secrets.token_hex(8)
        if candidate not in seen:
            seen.add(candidate)
            yield candidate
