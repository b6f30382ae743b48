"""Writes to the ledger. Every entry is appended to its round's hash chain under a lock on
the round, in a transaction; nothing here updates or deletes an entry.

Who may write is decided by ``ledgers.policies`` and enforced here, whoever calls: only
officers, only against submitted, funded proposals (those with an allocation) of rounds
run on this site. Amounts go through ``money_parse``, texts through ``text_clean`` and
dates through ``happened_check`` (nothing dated in the future or implausibly long before
the round). Spending beyond the allocation, and commitments beyond it, need a reason; a
reversal names an entry of the same proposal that is not itself a reversal, an
allocation, or already reversed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ledgers import chain, policies
from ledgers.models import (
    MILESTONE_TITLE_MAX,
    DeliveryFollower,
    DeliveryStatus,
    DeliveryUpdate,
    EntryKind,
    LedgerEntry,
    LedgerExport,
    Milestone,
    MilestoneChange,
    MilestoneChangeKind,
)
from ledgers.notifications import notify_followers
from pb_platform import jobs
from pb_platform.dates import date_check, happened_check, years_before
from pb_platform.images import image_problem, image_reencoded
from pb_platform.money import money_format, money_parse
from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import User
from proposals.models import BudgetRound, Proposal
from voting.models import ResultLine

ZERO = Decimal("0.00")
# Limits of the stored texts (the columns' lengths).
SUPPLIER_MAX = 200
REFERENCE_MAX = 100
DESCRIPTION_MAX = 500
REASON_MAX = 500
NOTE_MAX = 2000
PHOTO_ALT_MAX = 200


def entry_canonical_fields(entry: LedgerEntry, *, reverses_sequence: int | None) -> dict[str, Any]:
    return {
        "round": entry.budget_round_id,
        "sequence": entry.sequence,
        "proposal": entry.proposal_id,
        "kind": entry.kind,
        "amount": chain.money_text(entry.amount),
        "currency": entry.currency,
        "allocated_delta": chain.money_text(entry.allocated_delta),
        "committed_delta": chain.money_text(entry.committed_delta),
        "spent_delta": chain.money_text(entry.spent_delta),
        "supplier": entry.supplier,
        "reference": entry.reference,
        "document_date": chain.date_text(entry.document_date),
        "description": entry.description,
        "reason": entry.reason,
        "reverses": reverses_sequence,
        "recorded_by": entry.recorded_by_id,
        "recorded_at": chain.timestamp_text(entry.recorded_at),
    }


def round_lock(budget_round_id: int) -> None:
    """The round's row is its ledger's lock: one append (and one balance check before it)
    at a time per round; assessment uses it too, to store the round's criteria once.
    Held until the transaction ends."""
    BudgetRound.objects.select_for_update().filter(pk=budget_round_id).values_list("pk").get()


def _append(*, budget_round_id: int, entry: LedgerEntry) -> LedgerEntry:
    """Add ``entry`` at the end of its round's chain. Call inside a transaction."""
    round_lock(budget_round_id)
    last = (
        LedgerEntry.objects.filter(budget_round_id=budget_round_id)
        .order_by("-sequence")
        .values_list("sequence", "entry_hash")
        .first()
    )
    sequence, previous_hash = last if last else (0, chain.GENESIS_HASH)
    entry.budget_round_id = budget_round_id
    entry.sequence = sequence + 1
    entry.previous_hash = previous_hash
    entry.recorded_at = chain.recorded_time(entry.recorded_at)
    reverses_sequence = entry.reverses.sequence if entry.reverses is not None else None
    canonical = chain.canonical_json(
        entry_canonical_fields(entry, reverses_sequence=reverses_sequence)
    )
    entry.entry_hash = chain.entry_hash(previous_hash, canonical)
    entry.save()
    return entry


# Which balance each kind of entry moves, and in which direction. A reversal moves the
# original's balance back, so it negates the original's deltas instead.
MOVES: dict[str, tuple[str, int]] = {
    EntryKind.ALLOCATION: ("allocated_delta", 1),
    EntryKind.RELEASE: ("allocated_delta", -1),
    EntryKind.COMMITMENT: ("committed_delta", 1),
    EntryKind.SPEND: ("spent_delta", 1),
}


def _movement(kind: str, amount: Decimal) -> dict[str, Decimal]:
    """The three delta fields of an entry of ``kind`` for ``amount``."""
    field, sign = MOVES[kind]
    deltas = {"allocated_delta": ZERO, "committed_delta": ZERO, "spent_delta": ZERO}
    deltas[field] = sign * amount
    return deltas


@dataclass(frozen=True)
class Balance:
    """A proposal's money: what was allocated (less releases), committed by contracts and
    orders, and spent in payments, each net of reversals.

    ``remaining`` is allocated − spent (the money not yet paid out); ``uncommitted`` is
    allocated − committed (the money no contract or order has promised yet). Either can
    be negative: that is the overspending or over-commitment the pages flag.
    """

    allocated: Decimal
    committed: Decimal
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        """Allocated − spent."""
        return self.allocated - self.spent

    @property
    def uncommitted(self) -> Decimal:
        """Allocated − committed."""
        return self.allocated - self.committed

    @property
    def overspent(self) -> bool:
        return self.spent > self.allocated

    @property
    def overcommitted(self) -> bool:
        return self.committed > self.allocated


def proposal_balance(*, proposal: Proposal) -> Balance:
    """The proposal's balances, summed in the database."""
    sums = LedgerEntry.objects.filter(proposal=proposal).aggregate(
        allocated=Sum("allocated_delta"), committed=Sum("committed_delta"), spent=Sum("spent_delta")
    )
    return Balance(
        allocated=sums["allocated"] or ZERO,
        committed=sums["committed"] or ZERO,
        spent=sums["spent"] or ZERO,
    )


def _has_allocation(proposal: Proposal) -> bool:
    return LedgerEntry.objects.filter(proposal=proposal, kind=EntryKind.ALLOCATION).exists()


def _may_record(officer: User, proposal: Proposal, *, now: datetime) -> None:
    """Refuse (``PolicyDenied``) before looking at the input. Being funded never ends (an
    allocation is never deleted nor reversed), so this holds without the round's lock."""
    enforce(
        policies.can_record_entries(officer, proposal, now=now, funded=_has_allocation(proposal))
    )


def _today(now: datetime, today: date | None) -> date:
    return today if today is not None else timezone.localdate(now)


def _document_date(value: date, proposal: Proposal, *, field: str, today: date) -> date:
    return happened_check(
        value, field=field, round_starts=proposal.budget_round.submission_starts, today=today
    )


def _one_line(value: str, field: str, limit: int, required_message: str | None = None) -> str:
    return text_clean(value, field=field, max_length=limit, required_message=required_message)


def _multi_line(value: str, field: str, limit: int, required_message: str | None = None) -> str:
    return text_clean(
        value, field=field, max_length=limit, multiline=True, required_message=required_message
    )


# --- Allocation on publication -----------------------------------------------------------


# The allocation job's items in ``pb_platform.jobs``: one per funded proposal.
ALLOCATION_JOB = "ledgers.allocate_published_results"


def allocations_for_published_results(*, now: datetime) -> int:
    """Allocate each winning proposal of every published result its official cost, once.

    Idempotent: proposals that already have an allocation are skipped, and a unique
    constraint in the database refuses a second one even if two runs race. Each proposal
    is a job item: one whose allocation fails is recorded and retried with a back-off
    (then waits for an officer) while the others are allocated.
    """
    pending = list(
        ResultLine.objects.filter(funded=True, result__published_at__isnull=False)
        .exclude(proposal__ledger_entries__kind=EntryKind.ALLOCATION)
        .select_related("proposal__budget_round")
        .order_by("proposal__budget_round_id", "selection_order", "pk")
    )
    run = jobs.run_items(
        job=ALLOCATION_JOB,
        items=[
            jobs.JobItemRun(
                key=f"proposal:{line.proposal_id}",
                label=_("Allocating “%(proposal)s” in %(round)s")
                % {"proposal": line.proposal.title, "round": line.proposal.budget_round.name},
                run=partial(_allocation_record, line=line, now=now),
            )
            for line in pending
        ],
        now=now,
    )
    return sum(1 for made in run.results.values() if made)


def _allocation_record(*, line: ResultLine, now: datetime) -> bool:
    """The allocation of one funded line; False if another run made it first."""
    with transaction.atomic():
        proposal = line.proposal
        # Checked again under the round's lock, in case another run got here first.
        round_lock(proposal.budget_round_id)
        if LedgerEntry.objects.filter(proposal=proposal, kind=EntryKind.ALLOCATION).exists():
            return False
        _append(
            budget_round_id=proposal.budget_round_id,
            entry=LedgerEntry(
                proposal=proposal,
                kind=EntryKind.ALLOCATION,
                amount=line.cost,
                currency=proposal.budget_round.currency,
                **_movement(EntryKind.ALLOCATION, line.cost),
                description=_("Funded by the published result (position %(n)d).")
                % {"n": line.selection_order},
                recorded_at=now,
            ),
        )
    return True


# --- Officers' entries ---------------------------------------------------------------------


def commitment_record(
    *,
    officer: User,
    proposal: Proposal,
    amount: Decimal | str,
    supplier: str,
    reference: str,
    document_date: date,
    description: str = "",
    reason: str = "",
    now: datetime,
    today: date | None = None,
) -> LedgerEntry:
    """A contract or purchase order against a funded proposal. Commitments beyond the
    allocation (allocated − committed, net of this one, below zero) need a reason."""
    _may_record(officer, proposal, now=now)
    value = money_parse(amount)
    supplier = _one_line(supplier, "supplier", SUPPLIER_MAX, _("Name the supplier."))
    reference = _one_line(
        reference, "reference", REFERENCE_MAX, _("Give the contract or order number.")
    )
    description = _one_line(description, "description", DESCRIPTION_MAX)
    reason = _multi_line(reason, "reason", REASON_MAX)
    document_date = _document_date(
        document_date, proposal, field="document_date", today=_today(now, today)
    )
    with transaction.atomic():
        # The balance is read and the entry appended under one lock, so two commitments
        # at once cannot both fit in the same uncommitted money.
        round_lock(proposal.budget_round_id)
        balance = proposal_balance(proposal=proposal)
        if balance.committed + value > balance.allocated and not reason:
            currency = proposal.budget_round.currency
            raise ValidationError(
                {
                    "reason": [
                        _(
                            "This commitment takes commitments to %(committed)s, over the "
                            "%(allocated)s allocated (%(uncommitted)s is uncommitted). Say why "
                            "committing more is justified."
                        )
                        % {
                            "committed": money_format(balance.committed + value, currency),
                            "allocated": money_format(balance.allocated, currency),
                            "uncommitted": money_format(balance.uncommitted, currency),
                        }
                    ]
                }
            )
        return _append(
            budget_round_id=proposal.budget_round_id,
            entry=LedgerEntry(
                proposal=proposal,
                kind=EntryKind.COMMITMENT,
                amount=value,
                currency=proposal.budget_round.currency,
                **_movement(EntryKind.COMMITMENT, value),
                supplier=supplier,
                reference=reference,
                document_date=document_date,
                description=description,
                reason=reason,
                recorded_by=officer,
                recorded_at=now,
            ),
        )


def spend_record(
    *,
    officer: User,
    proposal: Proposal,
    amount: Decimal | str,
    supplier: str,
    reference: str,
    document_date: date,
    description: str,
    reason: str = "",
    now: datetime,
    today: date | None = None,
) -> LedgerEntry:
    """A payment against an invoice, dated no later than today. Spending beyond the
    allocation needs a reason."""
    _may_record(officer, proposal, now=now)
    value = money_parse(amount)
    supplier = _one_line(supplier, "supplier", SUPPLIER_MAX, _("Name the supplier."))
    reference = _one_line(reference, "reference", REFERENCE_MAX, _("Give the invoice number."))
    description = _one_line(
        description, "description", DESCRIPTION_MAX, _("Say what was paid for.")
    )
    reason = _multi_line(reason, "reason", REASON_MAX)
    # A payment dated in the future has not happened: it would count as spent too early.
    document_date = _document_date(
        document_date, proposal, field="document_date", today=_today(now, today)
    )
    with transaction.atomic():
        round_lock(proposal.budget_round_id)
        balance = proposal_balance(proposal=proposal)
        if balance.spent + value > balance.allocated and not reason:
            currency = proposal.budget_round.currency
            raise ValidationError(
                {
                    "reason": [
                        _(
                            "This payment takes spending to %(spent)s, over the %(allocated)s "
                            "allocated. Say why the extra spending is justified."
                        )
                        % {
                            "spent": money_format(balance.spent + value, currency),
                            "allocated": money_format(balance.allocated, currency),
                        }
                    ]
                }
            )
        return _append(
            budget_round_id=proposal.budget_round_id,
            entry=LedgerEntry(
                proposal=proposal,
                kind=EntryKind.SPEND,
                amount=value,
                currency=proposal.budget_round.currency,
                **_movement(EntryKind.SPEND, value),
                supplier=supplier,
                reference=reference,
                document_date=document_date,
                description=description,
                reason=reason,
                recorded_by=officer,
                recorded_at=now,
            ),
        )


def release_record(
    *,
    officer: User,
    proposal: Proposal,
    amount: Decimal | str,
    reason: str,
    now: datetime,
) -> LedgerEntry:
    """Give back allocation that will not be spent (at most the remaining: allocated −
    spent)."""
    _may_record(officer, proposal, now=now)
    value = money_parse(amount)
    reason = _multi_line(reason, "reason", REASON_MAX, _("Say why the money is not needed."))
    with transaction.atomic():
        round_lock(proposal.budget_round_id)
        balance = proposal_balance(proposal=proposal)
        if value > balance.remaining:
            raise ValidationError(
                {
                    "amount": [
                        _("Only %(left)s of the allocation is unspent.")
                        % {"left": money_format(balance.remaining, proposal.budget_round.currency)}
                    ]
                }
            )
        return _append(
            budget_round_id=proposal.budget_round_id,
            entry=LedgerEntry(
                proposal=proposal,
                kind=EntryKind.RELEASE,
                amount=value,
                currency=proposal.budget_round.currency,
                **_movement(EntryKind.RELEASE, value),
                reason=reason,
                recorded_by=officer,
                recorded_at=now,
            ),
        )


def reversal_record(
    *,
    officer: User,
    proposal: Proposal,
    original: LedgerEntry,
    reason: str,
    now: datetime,
) -> LedgerEntry:
    """Correct a mistaken entry by a new one that undoes it; the original stays."""
    # Checked once before reading the input (for the clear refusal), and again under the
    # lock, where "not reversed already" cannot change underneath.
    enforce(
        policies.can_reverse(
            officer,
            original,
            now=now,
            is_reversed=LedgerEntry.objects.filter(reverses=original).exists(),
        )
    )
    if original.proposal_id != proposal.pk:
        raise ValidationError(_("That entry belongs to another proposal."))
    reason = _multi_line(reason, "reason", REASON_MAX, _("Say what was wrong."))
    with transaction.atomic():
        round_lock(proposal.budget_round_id)
        enforce(
            policies.can_reverse(
                officer,
                original,
                now=now,
                is_reversed=LedgerEntry.objects.filter(reverses=original).exists(),
            )
        )
        return _append(
            budget_round_id=proposal.budget_round_id,
            entry=LedgerEntry(
                proposal=proposal,
                kind=EntryKind.REVERSAL,
                amount=original.amount,
                currency=original.currency,
                allocated_delta=-original.allocated_delta,
                committed_delta=-original.committed_delta,
                spent_delta=-original.spent_delta,
                supplier=original.supplier,
                reference=original.reference,
                document_date=original.document_date,
                description=_("Reverses entry %(n)d.") % {"n": original.sequence},
                reason=reason,
                reverses=original,
                recorded_by=officer,
                recorded_at=now,
            ),
        )


def delivery_update_record(
    *,
    officer: User,
    proposal: Proposal,
    status: str,
    note: str,
    happened_on: date,
    today: date,
    now: datetime,
) -> DeliveryUpdate:
    """A public progress note on a funded proposal, dated no later than today."""
    enforce(
        policies.can_record_delivery_update(
            officer, proposal, now=now, funded=_has_allocation(proposal)
        )
    )
    if status not in DeliveryStatus.values:
        raise ValidationError({"status": [_("Choose a delivery status.")]})
    note = _multi_line(note, "note", NOTE_MAX, _("Write what happened, for residents to read."))
    happened_on = _document_date(happened_on, proposal, field="happened_on", today=today)
    with transaction.atomic():
        update = DeliveryUpdate.objects.create(
            proposal=proposal,
            status=status,
            note=note,
            happened_on=happened_on,
            recorded_by=officer,
            recorded_at=now,
        )
        notify_followers(proposal, now=now, update=update)
    return update


# --- Delivery plan: milestones -----------------------------------------------------------

# How far ahead a milestone may be planned (a typing slip such as 2207 is refused).
MILESTONE_YEARS_AHEAD = 10


def _planned_date(value: date, proposal: Proposal, *, today: date) -> date:
    earliest = years_before(proposal.budget_round.submission_starts.date(), 1)
    latest = today.replace(year=today.year + MILESTONE_YEARS_AHEAD)
    return date_check(value, field="planned_on", earliest=earliest, latest=latest)


def _photo_alt_cleaned(photo_alt: str, errors: dict[str, list[str]]) -> str:
    try:
        return _one_line(photo_alt, "photo_alt", PHOTO_ALT_MAX)
    except ValidationError as error:
        errors.update(error.message_dict)
        return ""


def _photo_check(photo: UploadedFile | None, errors: dict[str, list[str]]) -> None:
    """Checked exactly as proposal images are (``pb_platform.images``)."""
    if photo is not None and (problem := image_problem(photo)) is not None:
        errors["photo"] = [problem]


def _photo_undescribed() -> ValidationError:
    return ValidationError(
        {"photo_alt": [_("Describe what the photo shows for people who cannot see it.")]}
    )


def milestone_add(
    *,
    officer: User,
    proposal: Proposal,
    title: str,
    planned_on: date,
    today: date,
    now: datetime,
    photo: UploadedFile | None = None,
    photo_alt: str = "",
) -> Milestone:
    """A new step in the proposal's public delivery plan, with a photo of the work if
    given (re-encoded; it needs a description for people who cannot see it)."""
    enforce(
        policies.can_manage_milestones(officer, proposal, now=now, funded=_has_allocation(proposal))
    )
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for field, check in (
        ("title", lambda: _one_line(title, "title", MILESTONE_TITLE_MAX, _("Name the step."))),
        ("planned_on", lambda: _planned_date(planned_on, proposal, today=today)),
    ):
        try:
            cleaned[field] = check()
        except ValidationError as error:
            errors.update(error.message_dict)
    photo_alt = _photo_alt_cleaned(photo_alt, errors)
    _photo_check(photo, errors)
    if photo is not None and not photo_alt and "photo_alt" not in errors:
        errors.update(_photo_undescribed().message_dict)
    if errors:
        raise ValidationError(errors)
    if photo is not None:
        # A description without a photo describes nothing: it is not kept.
        cleaned.update(photo=image_reencoded(photo), photo_alt=photo_alt)
    with transaction.atomic():
        milestone = Milestone.objects.create(
            proposal=proposal, created_by=officer, created_at=now, **cleaned
        )
        planned = MilestoneChange.objects.create(
            milestone=milestone,
            kind=MilestoneChangeKind.PLANNED,
            planned_to=milestone.planned_on,
            progress_to=0,
            changed_by=officer,
            changed_at=now,
        )
        notify_followers(proposal, now=now, changes=[planned])
    return milestone


def milestone_update(
    *,
    officer: User,
    milestone: Milestone,
    progress: int,
    done_on: date | None,
    planned_on: date,
    reason: str,
    today: date,
    now: datetime,
    photo: UploadedFile | None = None,
    photo_alt: str | None = None,
    remove_photo: bool = False,
) -> Milestone:
    """Progress, the date reached, or a new planned date (which needs a public reason);
    each change is kept in the milestone's history. Reaching it means 100 %.

    ``photo`` replaces the photo, ``remove_photo`` takes it away, ``photo_alt`` (None:
    unchanged) describes it; a photo kept or added needs a description. Photo changes
    are not part of the history, which records the plan (dates and progress)."""
    proposal = milestone.proposal
    enforce(
        policies.can_manage_milestones(officer, proposal, now=now, funded=_has_allocation(proposal))
    )
    errors: dict[str, list[str]] = {}
    try:
        reason = _multi_line(reason, "reason", REASON_MAX)
    except ValidationError as error:
        errors.update(error.message_dict)
    if not 0 <= progress <= 100:
        errors["progress"] = [_("Give progress as a percentage from 0 to 100.")]
    try:
        planned_on = _planned_date(planned_on, proposal, today=today)
    except ValidationError as error:
        errors.update(error.message_dict)
    if done_on is not None:
        try:
            done_on = _document_date(done_on, proposal, field="done_on", today=today)
        except ValidationError as error:
            errors.update(error.message_dict)
    if photo_alt is not None:
        photo_alt = _photo_alt_cleaned(photo_alt, errors)
    _photo_check(photo, errors)
    if photo is not None and photo_alt == "" and "photo_alt" not in errors:
        errors.update(_photo_undescribed().message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Milestone.objects.select_for_update().get(pk=milestone.pk)
        if done_on is not None:
            progress = 100
        # Whether it will have a photo (a new one wins over "remove"), and its
        # description: a kept photo needs one too (the database refuses one without).
        had_photo = bool(locked.photo)
        has_photo = photo is not None or (had_photo and not remove_photo)
        alt = (locked.photo_alt if photo_alt is None else photo_alt) if has_photo else ""
        if has_photo and not alt:
            raise _photo_undescribed()
        photo_changed = photo is not None or has_photo != had_photo or alt != locked.photo_alt
        replanned = planned_on != locked.planned_on
        if replanned and not reason:
            raise ValidationError(
                {"reason": [_("Say why the planned date changes: residents read it.")]}
            )
        changes: list[MilestoneChange] = []

        def change(kind: str, **fields: Any) -> None:
            changes.append(
                MilestoneChange(
                    milestone=locked, kind=kind, changed_by=officer, changed_at=now, **fields
                )
            )

        if replanned:
            change(
                MilestoneChangeKind.REPLANNED,
                planned_from=locked.planned_on,
                planned_to=planned_on,
                reason=reason,
            )
        if done_on is not None and locked.done_on != done_on:
            change(MilestoneChangeKind.REACHED, progress_to=100, reason="" if replanned else reason)
        elif progress != locked.progress or done_on != locked.done_on:
            change(MilestoneChangeKind.PROGRESS, progress_to=progress)
        if not changes and not photo_changed:
            raise ValidationError(
                {
                    "progress": [
                        _("Nothing changed: change the progress, a date, the photo or its text.")
                    ]
                }
            )
        locked.planned_on, locked.done_on, locked.progress = planned_on, done_on, progress
        if photo is not None:
            locked.photo = image_reencoded(photo)
        elif not has_photo:
            # Django leaves the file on disk; pb_platform.media no longer serves it.
            locked.photo = ""
        locked.photo_alt = alt
        locked.save(update_fields=["planned_on", "done_on", "progress", "photo", "photo_alt"])
        if changes:
            MilestoneChange.objects.bulk_create(changes)
            notify_followers(proposal, now=now, changes=changes)
    return locked


def delivery_follow(*, user: User, proposal: Proposal, now: datetime) -> bool:
    """Follow the delivery by email; False if already following (kept once by the
    database, whatever the timing of two clicks)."""
    enforce(policies.can_follow_delivery(user, proposal, now=now, funded=_has_allocation(proposal)))
    try:
        with transaction.atomic():
            DeliveryFollower.objects.create(proposal=proposal, user=user, created_at=now)
    except IntegrityError:
        return False
    return True


def delivery_unfollow(*, user: User, proposal: Proposal) -> bool:
    """Stop following; False if they were not following. Always allowed."""
    deleted, _kinds = DeliveryFollower.objects.filter(proposal=proposal, user=user).delete()
    return deleted > 0


# --- Auditors' exports ----------------------------------------------------------------


def ledger_export_record(
    *, auditor: User, file_format: str, filters: dict[str, Any], now: datetime
) -> LedgerExport:
    """Log an export (who, when, which filters) before any of it is sent."""
    enforce(policies.can_audit_ledger(auditor))
    # Durable: its own transaction, committed before the first byte is sent, so the log
    # holds even if the download is cut off, and a caller's transaction can't swallow it.
    with transaction.atomic(durable=True):
        return LedgerExport.objects.create(
            exported_by=auditor,
            exported_at=now,
            file_format=file_format,
            filters=filters,
        )
