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

import calendar
from datetime import date, datetime

from allauth.account.models import EmailAddress
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ledgers import permissions
from ledgers.models import Assessment, AssessmentInvitation, EntryKind, LedgerEntry
from pb_platform.policies import ALLOW, Decision, deny, first_denial
from pb_platform.users import AnyUser
from proposals import permissions as proposal_permissions
from proposals import policies as proposal_policies
from proposals.models import BudgetRound, Proposal, VerificationRequired
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


# --- Assessment by the people who use what was built ------------------------------------


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def assessment_closes_on(delivered_on: date, window_months: int) -> date:
    """The last day a proposal delivered on ``delivered_on`` can be assessed."""
    return _add_months(delivered_on, window_months)


def assessment_open(
    proposal: Proposal, *, today: date, delivered_on: date | None, window_months: int
) -> Decision:
    """Whether a funded proposal takes assessments now, whoever asks: from the day the
    council marks it delivered, for the round's window (``delivered_on`` is the date of
    its latest progress note when that says "delivered", else None)."""
    if delivered_on is None:
        return deny(_("Assessment opens once the council marks this proposal delivered."))
    closes_on = assessment_closes_on(delivered_on, window_months)
    if today > closes_on:
        return deny(
            _("Assessment of this proposal closed on %(date)s.")
            % {"date": date_format(closes_on, "DATE_FORMAT")}
        )
    return ALLOW


def _is_staff_role(user: AnyUser) -> bool:
    return permissions.can_record_delivery_updates(user) or permissions.can_audit_ledger(user)


def can_assess(
    user: AnyUser,
    proposal: Proposal,
    *,
    today: date,
    delivered_on: date | None,
    window_months: int,
    invited: bool,
) -> Decision:
    """Verified residents of the proposal's area (eligibility-verified too where the
    round's vote asked for it), and anyone who took up an officer's invitation to assess
    it (``invited``); not council staff, who answer assessments."""
    if not user.is_authenticated:
        return deny(_("Sign in to assess this proposal."))
    if _is_staff_role(user):
        return deny(_("Council officers and auditors reply to assessments; they do not assess."))
    decision = first_denial(
        _proposal_takes_money(proposal, funded=True),
        assessment_open(
            proposal, today=today, delivered_on=delivered_on, window_months=window_months
        ),
    )
    if not decision or invited:
        return decision
    if not proposal_permissions.is_verified_resident(user):
        return deny(
            _(
                "Only residents with a verified email and a home area, and people the "
                "council invited, can assess this proposal."
            )
        )
    if not proposal_policies.lives_in(user, proposal.round_area):
        return deny(
            _(
                "Only residents of %(area)s, and people the council invited, can assess "
                "this proposal."
            )
            % {"area": proposal.round_area.area.name}
        )
    if proposal.budget_round.verification_required != VerificationRequired.NONE:
        profile = getattr(user, "resident_profile", None)
        if profile is None or not profile.is_eligibility_verified:
            return deny(
                _(
                    "In “%(round)s” only eligibility-verified residents assess, as only "
                    "they voted. Confirm it under “Your account”."
                )
                % {"round": proposal.budget_round.name}
            )
    return ALLOW


def can_invite_assessor(
    user: AnyUser, proposal: Proposal, *, today: date, delivered_on: date | None, window_months: int
) -> Decision:
    """Officers invite service users to assess a delivered proposal while it is open."""
    if not permissions.can_record_delivery_updates(user):
        return deny(_("Only council officers can invite people to assess a proposal."))
    return first_denial(
        _proposal_takes_money(proposal, funded=True),
        assessment_open(
            proposal, today=today, delivered_on=delivered_on, window_months=window_months
        ),
    )


def can_take_up_invitation(
    user: AnyUser, invitation: AssessmentInvitation, *, now: datetime
) -> Decision:
    """An invitation works once, before it expires, for someone signed in who is not
    council staff."""
    if invitation.used_at is not None:
        return deny(_("This invitation has already been used. Each link works once."))
    if now >= invitation.expires_at:
        return deny(
            _("This invitation expired on %(date)s. Ask the council for a new one.")
            % {"date": date_format(invitation.expires_at, "DATE_FORMAT")}
        )
    if not user.is_authenticated:
        return deny(_("Sign in, or create an account, to take up this invitation."))
    if _is_staff_role(user):
        return deny(_("Council officers and auditors cannot assess proposals."))
    return ALLOW


def can_reply_to_assessment(user: AnyUser, assessment: Assessment) -> Decision:
    """The council's public answer to an assessment: officers."""
    if not permissions.can_record_delivery_updates(user):
        return deny(_("Only council officers can reply to assessments."))
    return ALLOW


def can_hide_assessment(user: AnyUser, assessment: Assessment) -> Decision:
    """Moderation, as for comments: officers hide a comment that breaks the rules."""
    if not proposal_permissions.can_moderate_comments(user):
        return deny(_("Only council officers can hide assessments."))
    if assessment.is_hidden:
        return deny(_("This assessment's comment is already hidden."))
    if not assessment.comment:
        return deny(_("This assessment has no comment to hide."))
    return ALLOW


def can_flag_assessment(user: AnyUser, assessment: Assessment) -> Decision:
    """Anyone who may report a comment may report an assessment's, but not their own."""
    if not user.is_authenticated:
        return deny(_("Sign in to report an assessment."))
    if not proposal_permissions.can_flag_comments(user):
        return deny(_("Your account cannot report assessments."))
    if assessment.assessor_id == user.pk:
        return deny(_("You cannot report your own assessment."))
    if assessment.is_hidden:
        return deny(_("This assessment's comment is already hidden."))
    if not assessment.comment:
        return deny(_("This assessment has no comment to report."))
    return ALLOW


def can_set_up_assessment(user: AnyUser, budget_round: BudgetRound) -> Decision:
    """Officers set how long delivered proposals stay open and what they are rated on."""
    if not permissions.can_record_delivery_updates(user):
        return deny(_("Only council officers can set up assessment."))
    if budget_round.is_imported:
        return deny(_("Proposals of a historical round imported from a file are not assessed."))
    return ALLOW


def assessment_criteria_changeable(*, has_assessments: bool) -> Decision:
    """Criteria are fixed from the round's first assessment: every score of a criterion
    must answer the same question."""
    if has_assessments:
        return deny(
            _(
                "People have already assessed this round's proposals, so its criteria "
                "can no longer change."
            )
        )
    return ALLOW


def can_read_assessment_report(user: AnyUser) -> Decision:
    """The per-round report (printable and CSV): officers and auditors."""
    if not _is_staff_role(user):
        return deny(_("Only council officers and auditors can download the assessment report."))
    return ALLOW
