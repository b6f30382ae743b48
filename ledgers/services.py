"""Writes to the ledger. Every entry is appended to its round's hash chain under a lock on
the round, in a transaction; nothing here updates or deletes an entry.

Rules: amounts are positive with at most two decimal places, in the round's currency;
only funded proposals (those with an allocation) take commitments, spend, releases and
reversals; spend beyond the allocation needs a reason; a reversal names an entry of the
same proposal that is not itself a reversal, an allocation, or already reversed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from ledgers import chain
from ledgers.models import DeliveryStatus, DeliveryUpdate, EntryKind, LedgerEntry, LedgerExport
from pb_platform import jobs
from pb_platform.money import money_format
from proposals.models import BudgetRound, Proposal
from voting.models import ResultLine

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal(10) ** (settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES)


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


def _lock_round(budget_round_id: int) -> None:
    """The round's row is its chain's lock: one append (and one balance check before it)
    at a time per round. Held until the transaction ends."""
    BudgetRound.objects.select_for_update().filter(pk=budget_round_id).values_list("pk").get()


def _append(*, budget_round_id: int, entry: LedgerEntry) -> LedgerEntry:
    """Add ``entry`` at the end of its round's chain. Call inside a transaction."""
    _lock_round(budget_round_id)
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
    reverses_sequence = entry.reverses.sequence if entry.reverses_id else None
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


def _clean_amount(amount: Decimal | str, field: str = "amount") -> Decimal:
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValidationError({field: [_("Enter an amount such as 1250.00.")]}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError({field: [_("The amount must be more than zero.")]})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError({field: [_("Use at most two decimal places (pence or cents).")]})
    if value >= MAX_AMOUNT:
        raise ValidationError({field: [_("The amount is too large.")]})
    return value.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Balance:
    allocated: Decimal
    committed: Decimal
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.allocated - self.spent

    @property
    def overspent(self) -> bool:
        return self.spent > self.allocated


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


def _funded(proposal: Proposal) -> None:
    if not LedgerEntry.objects.filter(proposal=proposal, kind=EntryKind.ALLOCATION).exists():
        raise ValidationError(
            _("“%(title)s” was not funded, so no money can be recorded against it.")
            % {"title": proposal.title}
        )


def _text(value: str, field: str, limit: int, *, required: bool, message: str = "") -> str:
    value = " ".join(value.split())
    if required and not value:
        raise ValidationError({field: [message]})
    if len(value) > limit:
        raise ValidationError(
            {field: [_("Keep it to %(limit)d characters or fewer.") % {"limit": limit}]}
        )
    return value


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
        _lock_round(proposal.budget_round_id)
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
    officer: AbstractBaseUser,
    proposal: Proposal,
    amount: Decimal | str,
    supplier: str,
    reference: str,
    document_date: date,
    description: str = "",
    now: datetime,
) -> LedgerEntry:
    """A contract or purchase order against a funded proposal."""
    value = _clean_amount(amount)
    supplier = _text(supplier, "supplier", 200, required=True, message=_("Name the supplier."))
    reference = _text(
        reference, "reference", 100, required=True, message=_("Give the contract or order number.")
    )
    description = _text(description, "description", 500, required=False)
    with transaction.atomic():
        _funded(proposal)
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
                recorded_by=officer,
                recorded_at=now,
            ),
        )


def spend_record(
    *,
    officer: AbstractBaseUser,
    proposal: Proposal,
    amount: Decimal | str,
    supplier: str,
    reference: str,
    document_date: date,
    description: str,
    reason: str = "",
    now: datetime,
) -> LedgerEntry:
    """A payment against an invoice. Spending beyond the allocation needs a reason."""
    value = _clean_amount(amount)
    supplier = _text(supplier, "supplier", 200, required=True, message=_("Name the supplier."))
    reference = _text(
        reference, "reference", 100, required=True, message=_("Give the invoice number.")
    )
    description = _text(
        description, "description", 500, required=True, message=_("Say what was paid for.")
    )
    reason = _text(reason, "reason", 500, required=False)
    with transaction.atomic():
        _funded(proposal)
        _lock_round(proposal.budget_round_id)
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
    officer: AbstractBaseUser,
    proposal: Proposal,
    amount: Decimal | str,
    reason: str,
    now: datetime,
) -> LedgerEntry:
    """Give back allocation that will not be spent (at most what is left unspent)."""
    value = _clean_amount(amount)
    reason = _text(
        reason, "reason", 500, required=True, message=_("Say why the money is not needed.")
    )
    with transaction.atomic():
        _funded(proposal)
        _lock_round(proposal.budget_round_id)
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
    officer: AbstractBaseUser,
    proposal: Proposal,
    original: LedgerEntry,
    reason: str,
    now: datetime,
) -> LedgerEntry:
    """Correct a mistaken entry by a new one that undoes it; the original stays."""
    reason = _text(reason, "reason", 500, required=True, message=_("Say what was wrong."))
    if original.proposal_id != proposal.pk:
        raise ValidationError(_("That entry belongs to another proposal."))
    if original.kind == EntryKind.REVERSAL:
        raise ValidationError(
            _("A reversal cannot be reversed. Record the correct entry again instead.")
        )
    if original.kind == EntryKind.ALLOCATION:
        raise ValidationError(
            _("The allocation comes from the published result; release unused money instead.")
        )
    with transaction.atomic():
        _lock_round(proposal.budget_round_id)
        if LedgerEntry.objects.filter(reverses=original).exists():
            raise ValidationError(
                _("Entry %(n)d has already been reversed.") % {"n": original.sequence}
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
    officer: AbstractBaseUser,
    proposal: Proposal,
    status: str,
    note: str,
    happened_on: date,
    today: date,
    now: datetime,
) -> DeliveryUpdate:
    if status not in DeliveryStatus.values:
        raise ValidationError({"status": [_("Choose a delivery status.")]})
    note = note.strip()
    if not note:
        raise ValidationError({"note": [_("Write what happened, for residents to read.")]})
    if len(note) > 2000:
        raise ValidationError({"note": [_("Keep the note to 2,000 characters or fewer.")]})
    if happened_on > today:
        raise ValidationError({"happened_on": [_("The date cannot be in the future.")]})
    _funded(proposal)
    return DeliveryUpdate.objects.create(
        proposal=proposal,
        status=status,
        note=note,
        happened_on=happened_on,
        recorded_by=officer,
        recorded_at=now,
    )


# --- Auditors' exports ----------------------------------------------------------------


def ledger_export_record(
    *, auditor: AbstractBaseUser, file_format: str, filters: dict[str, Any], now: datetime
) -> LedgerExport:
    """Log an export (who, when, which filters) before any of it is sent."""
    # Durable: its own transaction, committed before the first byte is sent, so the log
    # holds even if the download is cut off, and a caller's transaction can't swallow it.
    with transaction.atomic(durable=True):
        return LedgerExport.objects.create(
            exported_by=auditor,
            exported_at=now,
            file_format=file_format,
            filters=filters,
        )
