"""Reads for ledgers. Balances are SUMs in the database, never Python loops over entries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from ledgers import chain, policies
from ledgers.models import (
    ASSESSMENT_WINDOW_MONTHS_DEFAULT,
    SCORE_MAX,
    SCORE_MIN,
    Assessment,
    AssessmentCriterion,
    AssessmentInvitation,
    AssessmentScore,
    AssessmentSetup,
    AssessorKind,
    DeliveryStatus,
    DeliveryUpdate,
    EntryKind,
    LedgerEntry,
    Milestone,
    MilestoneChange,
)
from ledgers.policies import assessment_closes_on
from pb_platform.policies import Decision
from proposals.models import BudgetRound, Proposal, RoundArea

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))


def _sum(field: str, prefix: str = "ledger_entries__") -> Coalesce:
    return Coalesce(Sum(prefix + field), ZERO)


def _allocation_exists() -> Exists:
    return Exists(LedgerEntry.objects.filter(proposal=OuterRef("pk"), kind=EntryKind.ALLOCATION))


def ledger_proposals() -> QuerySet[Proposal]:
    """Proposals as the ledger pages load them: submitted ones only (a draft belongs to
    its authors alone), with their round and area, and ``is_funded`` for the policies."""
    return (
        Proposal.objects.filter(submitted_at__isnull=False)
        .select_related("budget_round", "round_area__area")
        .annotate(is_funded=_allocation_exists())
    )


def funded_proposals(*, budget_round: BudgetRound) -> QuerySet[Proposal]:
    """The round's funded proposals with allocated, committed, spent and remaining
    (allocated − spent), and their latest delivery status, in one query."""
    latest_update = DeliveryUpdate.objects.filter(proposal=OuterRef("pk")).order_by(
        "-happened_on", "-recorded_at", "-pk"
    )
    return (
        Proposal.objects.filter(budget_round=budget_round, submitted_at__isnull=False)
        .filter(_allocation_exists())
        .select_related("round_area__area")
        .annotate(
            allocated=_sum("allocated_delta"),
            committed=_sum("committed_delta"),
            spent=_sum("spent_delta"),
            delivery_status=Subquery(latest_update.values("status")[:1]),
        )
        .annotate(remaining=F("allocated") - F("spent"))
        .order_by("round_area__area__name", "title")
    )


def area_balances(*, budget_round: BudgetRound) -> QuerySet[RoundArea]:
    """Each area's allocated, committed, spent and remaining (allocated − spent)."""
    entries = "proposals__ledger_entries__"
    return (
        RoundArea.objects.filter(budget_round=budget_round)
        .select_related("area")
        .annotate(
            allocated=_sum("allocated_delta", entries),
            committed=_sum("committed_delta", entries),
            spent=_sum("spent_delta", entries),
        )
        .annotate(remaining=F("allocated") - F("spent"))
        .order_by("area__name")
    )


def round_balance(*, budget_round: BudgetRound) -> dict[str, Decimal]:
    """The round's allocated, committed, spent and remaining (allocated − spent)."""
    sums = LedgerEntry.objects.filter(budget_round=budget_round).aggregate(
        allocated=Coalesce(Sum("allocated_delta"), ZERO),
        committed=Coalesce(Sum("committed_delta"), ZERO),
        spent=Coalesce(Sum("spent_delta"), ZERO),
    )
    sums["remaining"] = sums["allocated"] - sums["spent"]
    return sums


def ledger_entries() -> QuerySet[LedgerEntry]:
    """Entries as the officers' pages load them: of submitted proposals only, with their
    proposal and round, and ``is_reversed`` for the policies."""
    return (
        LedgerEntry.objects.filter(proposal__submitted_at__isnull=False)
        .select_related("proposal__budget_round")
        .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk"))))
    )


def proposal_entries(*, proposal: Proposal) -> QuerySet[LedgerEntry]:
    """The proposal's entries in chain order, each with ``is_reversed``."""
    return (
        ledger_entries()
        .filter(proposal=proposal)
        .select_related("reverses", "recorded_by")
        .order_by("sequence")
    )


def entries_filtered(
    *,
    round_id: int | None = None,
    area_slug: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[LedgerEntry]:
    """Entries for auditors, by round, area and the date they were recorded (inclusive),
    in chain order."""
    entries = LedgerEntry.objects.filter(proposal__submitted_at__isnull=False)
    if round_id is not None:
        entries = entries.filter(budget_round_id=round_id)
    if area_slug:
        entries = entries.filter(proposal__round_area__area__slug=area_slug)
    if date_from is not None:
        entries = entries.filter(recorded_at__date__gte=date_from)
    if date_to is not None:
        entries = entries.filter(recorded_at__date__lte=date_to)
    return entries.order_by("budget_round_id", "sequence")


# Columns of the CSV and JSON exports, in order: the canonical fields of the hash chain,
# then the chain itself, then context for reading (not hashed).
EXPORT_COLUMNS = (
    *chain.CANONICAL_FIELDS,
    "previous_hash",
    "entry_hash",
    "round_name",
    "area",
    "proposal_title",
    "recorded_by_email",
)


# The public ledger of a round (open data): the same columns without who recorded each
# entry's email (``recorded_by`` stays the id the hash covers).
PUBLIC_COLUMNS = tuple(name for name in EXPORT_COLUMNS if name != "recorded_by_email")


def export_rows(
    entries: QuerySet[LedgerEntry], *, chunk_size: int = 2000
) -> Iterator[dict[str, Any]]:
    """Each entry as a dict of export columns, streamed from the database in chunks."""
    rows = entries.values_list(
        "budget_round_id",
        "sequence",
        "proposal_id",
        "kind",
        "amount",
        "currency",
        "allocated_delta",
        "committed_delta",
        "spent_delta",
        "supplier",
        "reference",
        "document_date",
        "description",
        "reason",
        "reverses__sequence",
        "recorded_by_id",
        "recorded_at",
        "previous_hash",
        "entry_hash",
        "budget_round__name",
        "proposal__round_area__area__name",
        "proposal__title",
        "recorded_by__email",
    )
    for row in rows.iterator(chunk_size=chunk_size):
        (
            round_id, sequence, proposal_id, kind, amount, currency, allocated, committed,
            spent, supplier, reference, document_date, description, reason, reverses,
            recorded_by, recorded_at, previous_hash, entry_hash, round_name, area, title, email,
        ) = row  # fmt: skip
        yield {
            "round": round_id,
            "sequence": sequence,
            "proposal": proposal_id,
            "kind": kind,
            "amount": chain.money_text(amount),
            "currency": currency,
            "allocated_delta": chain.money_text(allocated),
            "committed_delta": chain.money_text(committed),
            "spent_delta": chain.money_text(spent),
            "supplier": supplier,
            "reference": reference,
            "document_date": chain.date_text(document_date),
            "description": description,
            "reason": reason,
            "reverses": reverses,
            "recorded_by": recorded_by,
            "recorded_at": chain.timestamp_text(recorded_at),
            "previous_hash": previous_hash,
            "entry_hash": entry_hash,
            "round_name": round_name,
            "area": area,
            "proposal_title": title,
            "recorded_by_email": email or "",
        }


def _proposal_sum(field: str) -> Subquery:
    sums = (
        LedgerEntry.objects.filter(proposal=OuterRef("proposal"))
        .order_by()
        .values("proposal")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Subquery(sums, output_field=DecimalField(max_digits=14, decimal_places=2))


def entries_with_proposal_flags(entries: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
    """``entries`` with their proposal's totals as of now (``proposal_allocated``,
    ``proposal_committed``, ``proposal_spent``), so the auditors' page can flag spending
    and commitments beyond the allocation: subqueries in the same query, not one per row."""
    return entries.annotate(
        proposal_allocated=_proposal_sum("allocated_delta"),
        proposal_committed=_proposal_sum("committed_delta"),
        proposal_spent=_proposal_sum("spent_delta"),
    )


def delivery_updates(*, proposal: Proposal) -> QuerySet[DeliveryUpdate]:
    """Public progress notes, newest first (the first one's status is the current one)."""
    return DeliveryUpdate.objects.filter(proposal=proposal).order_by(
        "-happened_on", "-recorded_at", "-pk"
    )


def milestones(*, proposal: Proposal) -> list[Milestone]:
    """The delivery plan in planned order, each with its history (two queries)."""
    changes = MilestoneChange.objects.order_by("changed_at", "pk")
    return list(
        Milestone.objects.filter(proposal=proposal)
        .prefetch_related(Prefetch("changes", queryset=changes))
        .order_by("planned_on", "pk")
    )


@dataclass(frozen=True)
class TimelineItem:
    """One line of a proposal's delivery timeline: a milestone or a progress note."""

    on: date
    milestone: Milestone | None = None
    update: DeliveryUpdate | None = None
    late: bool = False


def delivery_timeline(
    *, milestones: list[Milestone], updates: list[DeliveryUpdate], today: date
) -> list[TimelineItem]:
    """Milestones (at the date reached, else the planned one) and progress notes in one
    history, oldest first, so residents read delivery as one story."""
    items = [
        TimelineItem(on=m.done_on or m.planned_on, milestone=m, late=m.is_late(today))
        for m in milestones
    ] + [TimelineItem(on=u.happened_on, update=u) for u in updates]
    return sorted(items, key=lambda item: (item.on, item.update is not None))


@dataclass(frozen=True)
class LedgerVerification:
    """What ``verify_ledger`` (and ``restore``, after loading a backup) found."""

    entries: int
    broken: chain.ChainBreak | None

    @property
    def message(self) -> str:
        if self.broken is None:
            return f"OK: {self.entries} entries, every hash and link intact."
        return (
            f"BROKEN: round {self.broken.round}, entry {self.broken.sequence}: "
            f"{self.broken.problem}"
        )


def ledger_verify(*, round_id: int | None = None) -> LedgerVerification:
    """Recompute every entry's hash and chain link (one round's, or every round's)."""
    counted = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal counted
        for row in export_rows(entries_filtered(round_id=round_id)):
            counted += 1
            yield row

    broken = chain.verify_chain(rows())
    return LedgerVerification(entries=counted, broken=broken)


@dataclass(frozen=True)
class LedgerHead:
    """A round's last entry. A backup's manifest records each round's, so a restore that
    lost entries at the end of a chain, or holds a chain rewritten and rehashed from some
    entry on, is seen: the chain alone verifies in both cases."""

    round: int
    sequence: int
    entry_hash: str


def ledger_heads() -> list[LedgerHead]:
    """Each round's last entry, by round id."""
    last_sequence = (
        LedgerEntry.objects.filter(budget_round_id=OuterRef("budget_round_id"))
        .order_by("-sequence")
        .values("sequence")[:1]
    )
    heads = (
        LedgerEntry.objects.filter(sequence=Subquery(last_sequence))
        .order_by("budget_round_id")
        .values_list("budget_round_id", "sequence", "entry_hash")
    )
    return [LedgerHead(round=r, sequence=s, entry_hash=h) for r, s, h in heads]


# --- Assessment by the people who use what was built ------------------------------------

# Criteria a round uses until an officer sets its own (stored on the first assessment).
DEFAULT_CRITERIA = (
    gettext_lazy("Meets the need"),
    gettext_lazy("Quality"),
    gettext_lazy("Value for money"),
    gettext_lazy("Accessibility"),
)


def default_criteria(budget_round: BudgetRound) -> list[AssessmentCriterion]:
    """The default criteria, not stored."""
    return [
        AssessmentCriterion(budget_round=budget_round, position=position, name=str(name))
        for position, name in enumerate(DEFAULT_CRITERIA, start=1)
    ]


def assessment_criteria(*, budget_round: BudgetRound) -> list[AssessmentCriterion]:
    """What the round's delivered proposals are rated on, in order (one query)."""
    stored = list(AssessmentCriterion.objects.filter(budget_round=budget_round))
    return stored or default_criteria(budget_round)


def assessment_window_months(*, budget_round: BudgetRound) -> int:
    setup = AssessmentSetup.objects.filter(budget_round=budget_round).first()
    return setup.window_months if setup is not None else ASSESSMENT_WINDOW_MONTHS_DEFAULT


def delivered_on(updates: list[DeliveryUpdate]) -> date | None:
    """The delivery date: the date of the latest progress note (``updates`` newest first,
    as ``delivery_updates`` gives them) when it says "delivered"."""
    if updates and updates[0].status == DeliveryStatus.DELIVERED:
        return updates[0].happened_on
    return None


@dataclass(frozen=True)
class AssessmentState:
    """What the assessment policies need about a proposal and one person."""

    delivered_on: date | None
    window_months: int
    closes_on: date | None
    # The invitation to assess this proposal that the person took up, if any.
    invitation: AssessmentInvitation | None
    # Their current assessment, if any.
    assessment: Assessment | None

    def assess_decision(self, user: Any, proposal: Proposal, *, today: date) -> Decision:
        """``policies.can_assess`` from this state (the person's, as loaded)."""
        return policies.can_assess(
            user,
            proposal,
            today=today,
            delivered_on=self.delivered_on,
            window_months=self.window_months,
            invited=self.invitation is not None,
        )

    def invite_decision(self, user: Any, proposal: Proposal, *, today: date) -> Decision:
        """``policies.can_invite_assessor`` from this state."""
        return policies.can_invite_assessor(
            user,
            proposal,
            today=today,
            delivered_on=self.delivered_on,
            window_months=self.window_months,
        )


def assessment_state(
    *, proposal: Proposal, user: Any, updates: list[DeliveryUpdate] | None = None
) -> AssessmentState:
    """Delivery date, window, and the person's invitation and assessment (four queries,
    three when ``updates`` are given)."""
    if updates is None:
        updates = list(delivery_updates(proposal=proposal)[:1])
    delivered = delivered_on(updates)
    months = assessment_window_months(budget_round=proposal.budget_round)
    invitation = assessment = None
    if user is not None and user.is_authenticated:
        invitation = AssessmentInvitation.objects.filter(proposal=proposal, used_by=user).first()
        assessment = (
            Assessment.objects.filter(proposal=proposal, assessor=user)
            .prefetch_related("scores")
            .first()
        )
    return AssessmentState(
        delivered_on=delivered,
        window_months=months,
        closes_on=_closes_on(delivered, months),
        invitation=invitation,
        assessment=assessment,
    )


def _closes_on(delivered: date | None, months: int) -> date | None:
    return assessment_closes_on(delivered, months) if delivered is not None else None


def proposal_assessments(*, proposal: Proposal) -> list[Assessment]:
    """A proposal's assessments, newest first, with their scores in criterion order,
    the assessor's public name and ``flag_count`` (two queries)."""
    scores = AssessmentScore.objects.select_related("criterion").order_by("criterion__position")
    return list(
        Assessment.objects.filter(proposal=proposal)
        .select_related("assessor__resident_profile")
        .prefetch_related(Prefetch("scores", queryset=scores))
        .annotate(flag_count=Count("flags"))
        .order_by("-updated_at", "-pk")
    )


def reported_assessments(*, proposal_ids: list[int]) -> dict[int, int]:
    """Per proposal, how many of its assessments have a comment someone reported and
    no officer has hidden yet (one query)."""
    return dict(
        Assessment.objects.filter(
            proposal_id__in=proposal_ids, hidden_at__isnull=True, flags__isnull=False
        )
        .values_list("proposal_id")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )


def _mean_score(distributions: Iterable[tuple[int, ...]]) -> Decimal | None:
    """The mean of every score counted in ``distributions`` (each: how many gave 1, 2, 3,
    4 and 5) to one decimal place, half up; None without a score."""
    scores = total = 0
    for distribution in distributions:
        for score, n in enumerate(distribution, start=SCORE_MIN):
            scores += n
            total += score * n
    if not scores:
        return None
    return (Decimal(total) / scores).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's scores from one group: how many gave each score 1..5."""

    criterion: AssessmentCriterion
    distribution: tuple[int, ...]

    @property
    def count(self) -> int:
        return sum(self.distribution)

    @property
    def average(self) -> Decimal | None:
        return _mean_score([self.distribution])


@dataclass(frozen=True)
class GroupResult:
    """Residents' or invited service users' assessments of one proposal."""

    kind: str
    label: str
    count: int
    criteria: list[CriterionResult]

    @property
    def average(self) -> Decimal | None:
        """The mean of all this group's scores on every criterion."""
        return _mean_score(c.distribution for c in self.criteria)


@dataclass(frozen=True)
class AssessmentResult:
    """A proposal's assessment results, residents and invited service users apart."""

    groups: list[GroupResult]

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def average(self) -> Decimal | None:
        """The mean of every score, both groups together."""
        return _mean_score(c.distribution for group in self.groups for c in group.criteria)


def assessment_results(
    *, proposal_ids: list[int], criteria: list[AssessmentCriterion]
) -> dict[int, AssessmentResult]:
    """Each proposal's results, every proposal of ``proposal_ids`` included (one query
    counting scores by proposal, group, criterion and score)."""
    rows = (
        AssessmentScore.objects.filter(assessment__proposal_id__in=proposal_ids)
        .values_list("assessment__proposal_id", "assessment__kind", "criterion__position", "score")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {
        (proposal_id, kind, position, score): n for proposal_id, kind, position, score, n in rows
    }
    results: dict[int, AssessmentResult] = {}
    for proposal_id in proposal_ids:
        groups = []
        for kind, label in AssessorKind.choices:
            criterion_results = [
                CriterionResult(
                    criterion=criterion,
                    distribution=tuple(
                        counts.get((proposal_id, kind, criterion.position, score), 0)
                        for score in range(SCORE_MIN, SCORE_MAX + 1)
                    ),
                )
                for criterion in criteria
            ]
            # Every assessment scores every criterion: a criterion's count is the
            # number of assessments.
            count = max((c.count for c in criterion_results), default=0)
            groups.append(
                GroupResult(kind=kind, label=str(label), count=count, criteria=criterion_results)
            )
        results[proposal_id] = AssessmentResult(groups=groups)
    return results
