"""May this user do this to this ledger now, and if not, why: the ledgers app's rules.

Each function decides from the user's role (``ledgers.permissions``) and the state of
objects the caller already loaded, and returns a ``pb_platform.policies.Decision``.
Whether a proposal is funded (has an allocation) and whether an entry was reversed come
from annotations (``selectors.ledger_proposals``, ``selectors.proposal_entries``) or
are passed in by a service that checked them under the round's lock, so list pages make
no query per row. Services ``enforce`` these for every caller; views and templates only
show the answer and its reason.
"""

from __future__ import annotations

from datetime import datetime

from allauth.account.models import EmailAddress
from django.utils.translation import gettext as _

from ledgers import permissions
from ledgers.models import EntryKind, LedgerEntry
from pb_platform.policies import ALLOW, Decision, deny
from pb_platform.users import AnyUser
from proposals.models import BudgetRound, Proposal
from proposals.phases import Phase, phase_rank


def proposal_is_funded(proposal: Proposal, funded: bool | None = None) -> bool:
    """``funded`` if given, else the ``is_funded`` annotation of ``selectors``. Refuses
    to guess (a query here would be one per row on list pages)."""
    if funded is not None:
        return funded
    annotated = getattr(proposal, "is_funded", None)
    if annotated is None:
        raise ValueError(
            "Load the proposal with ledgers.selectors.ledger_proposals() or pass funded=."
        )
    return bool(annotated)


def _proposal_takes_money(proposal: Proposal, *, funded: bool | None) -> Decision:
    """The proposal's own state: submitted, in a round run here, and funded."""
    if proposal.submitted_at is None:
        # A draft belongs to its authors alone until it is submitted.
        return deny(_("This proposal has not been submitted."))
    if proposal.budget_round.is_imported:
        return deny(
            _(
                "“%(title)s” belongs to a historical round imported from a file; its money "
                "is not tracked on this site."
            )
            % {"title": proposal.title}
        )
    if not proposal_is_funded(proposal, funded):
        return deny(
            _("“%(title)s” was not funded, so no money can be recorded against it.")
            % {"title": proposal.title}
        )
    return ALLOW


def can_record_entries(
    user: AnyUser, proposal: Proposal, *, now: datetime, funded: bool | None = None
) -> Decision:
    """Commitments, payments and releases against a funded proposal: officers only.

    ``now`` is part of every policy's shape; the ledger opens with the allocation, which
    only a published result makes, so no date limits it further."""
    if not permissions.can_record_ledger_entries(user):
        return deny(_("Only council officers can record money against a proposal."))
    return _proposal_takes_money(proposal, funded=funded)


def can_record_delivery_update(
    user: AnyUser, proposal: Proposal, *, now: datetime, funded: bool | None = None
) -> Decision:
    """Public progress notes on a funded proposal: officers only."""
    if not permissions.can_record_delivery_updates(user):
        return deny(_("Only council officers can publish progress on a proposal."))
    return _proposal_takes_money(proposal, funded=funded)


def can_manage_milestones(
    user: AnyUser, proposal: Proposal, *, now: datetime, funded: bool | None = None
) -> Decision:
    """The delivery plan of a funded proposal (its milestones): officers, as for progress
    notes; the plan and every change to it are public."""
    return can_record_delivery_update(user, proposal, now=now, funded=funded)


def can_follow_delivery(
    user: AnyUser, proposal: Proposal, *, now: datetime, funded: bool | None = None
) -> Decision:
    """Anyone signed in with a verified email follows a funded proposal's delivery
    (emails need an address that is theirs)."""
    if not user.is_authenticated:
        return deny(_("Sign in to follow this proposal's delivery."))
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        return deny(_("Verify your email address first: the news comes by email."))
    return _proposal_takes_money(proposal, funded=funded)


def can_reverse(
    user: AnyUser, entry: LedgerEntry, *, now: datetime, is_reversed: bool | None = None
) -> Decision:
    """Correct an entry by a reversal: an officer, an entry that is neither a reversal nor
    an allocation, and not reversed already. ``is_reversed`` defaults to the entry's
    annotation from ``selectors.proposal_entries``."""
    if not permissions.can_record_ledger_entries(user):
        return deny(_("Only council officers can correct the ledger."))
    if entry.kind == EntryKind.REVERSAL:
        return deny(_("A reversal cannot be reversed. Record the correct entry again instead."))
    if entry.kind == EntryKind.ALLOCATION:
        return deny(
            _("The allocation comes from the published result; release unused money instead.")
        )
    if is_reversed is None:
        # The annotation of selectors.ledger_entries().
        is_reversed = entry.is_reversed  # type: ignore[attr-defined]
    if is_reversed:
        return deny(_("Entry %(n)d has already been reversed.") % {"n": entry.sequence})
    # An entry other than an allocation exists only on a funded proposal.
    return _proposal_takes_money(entry.proposal, funded=True)


def can_audit_ledger(user: AnyUser) -> Decision:
    """Every entry with who recorded it, and the exports: auditors only."""
    if not permissions.can_audit_ledger(user):
        return deny(_("Only auditors can see who recorded each entry and download the ledger."))
    return ALLOW


# --- What the round's pages offer (links to ledger pages) -------------------------------


def round_money_public(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Money is allocated from published results, so "where the money went" has
    something to show once voting has closed."""
    if budget_round.is_imported or phase_rank(budget_round.phase_at(now)) >= phase_rank(
        Phase.RESULTS
    ):
        return ALLOW
    return deny(_("Money is allocated once voting has closed and the results are counted."))


def can_open_round_ledger(user: AnyUser, budget_round: BudgetRound, *, now: datetime) -> Decision:
    """The officers' ledger of a round: from the close of voting on."""
    if not permissions.can_record_ledger_entries(user):
        return deny(_("Only council officers record ledger entries."))
    return round_money_public(budget_round, now=now)
