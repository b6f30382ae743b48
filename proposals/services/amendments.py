"""Amendments: a resident suggests a change to someone else's proposal; its authors take
it in or decline it, publicly, with a reply.

Who may act and when is decided by ``proposals.policies`` and enforced here for every
caller, again once the rows are locked. An accepted suggestion changes the proposal
through ``proposal_content_record``, the path every change of text takes, as a version
credited to the resident who suggested it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.users import AnyUser, User, signed_in
from proposals import policies, selectors
from proposals.models import (
    AmendmentStatus,
    Proposal,
    ProposalAmendment,
    ProposalEvent,
    VersionKind,
)
from proposals.models.proposals import DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH
from proposals.notifications import notify_amendment_answered, notify_amendment_suggested
from proposals.services.proposals import (
    ProposalContent,
    _clean_reason,
    _cost,
    _lock,
    _text,
    proposal_content_record,
    proposal_content_validate,
)


def amendment_suggest(
    *,
    proposal: Proposal,
    resident: AnyUser,
    description: str,
    estimated_cost: Decimal | str | None,
    reason: str,
    now: datetime,
) -> ProposalAmendment:
    """Record a resident's suggested description (whole) and, optionally, estimate,
    with the reason; the authors are emailed. A suggestion that changes nothing, or a
    second one while the first still waits, is refused on the field."""
    enforce(policies.can_suggest_amendment(resident, proposal, now=now))
    errors: dict[str, list[str]] = {}
    cleaned_description = cleaned_reason = ""
    cleaned_cost: Decimal | None = None
    try:
        cleaned_description = _text(
            description,
            field="description",
            max_length=DESCRIPTION_MAX_LENGTH,
            multiline=True,
            required_message=_("Write the description as you would have it."),
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if estimated_cost is not None and estimated_cost != "":
        try:
            cleaned_cost = _cost(estimated_cost, proposal.round_area, field="estimated_cost")
        except ValidationError as error:
            errors.update(error.message_dict)
    try:
        cleaned_reason = _clean_reason(reason, required=True)
    except ValidationError as error:
        errors.update(error.message_dict)
    if cleaned_cost == proposal.estimated_cost:
        cleaned_cost = None  # the same estimate is no suggestion
    if not errors and cleaned_description == proposal.description.strip() and not cleaned_cost:
        errors["description"] = [
            _("This changes nothing: change the description, the estimate, or both.")
        ]
    if errors:
        raise ValidationError(errors)
    by = signed_in(resident)
    once = ValidationError(
        {"reason": [_("Your earlier suggestion is still waiting for an answer: one at a time.")]}
    )
    try:
        with transaction.atomic():
            locked = _lock(proposal)
            enforce(policies.can_suggest_amendment(by, locked, now=now))
            amendment = ProposalAmendment.objects.create(
                proposal=locked,
                author=by,
                base_version=selectors.latest_version_number(proposal=locked),
                description=cleaned_description,
                estimated_cost=cleaned_cost,
                reason=cleaned_reason,
                created_at=now,
            )
            notify_amendment_suggested(amendment)
    except IntegrityError:  # the database keeps one waiting suggestion per resident
        raise once from None
    return amendment


def _answer(
    amendment: ProposalAmendment, *, writer: AnyUser, reply: str, accept: bool, now: datetime
) -> ProposalAmendment:
    enforce(policies.can_answer_amendment(writer, amendment, now=now))
    reply = _text(
        reply,
        field="reply",
        max_length=REASON_MAX_LENGTH,
        multiline=True,
        required_message=None
        if accept
        else _("Say why you decline it: the resident who suggested it reads your reply."),
    )
    answered_by: User = signed_in(writer)
    with transaction.atomic():
        # The proposal first, then the suggestion: the order every writer of both takes.
        locked = _lock(amendment.proposal)
        amendment = ProposalAmendment.objects.select_for_update().get(pk=amendment.pk)
        enforce(policies.can_answer_amendment(answered_by, amendment, now=now, proposal=locked))
        if accept:
            _apply(locked, amendment, writer=answered_by, reply=reply, now=now)
        amendment.status = AmendmentStatus.ACCEPTED if accept else AmendmentStatus.DECLINED
        amendment.reply = reply
        amendment.answered_by = answered_by
        amendment.closed_at = now
        amendment.save(update_fields=["status", "reply", "answered_by", "closed_at"])
        notify_amendment_answered(amendment)
    return amendment


def _apply(
    locked: Proposal, amendment: ProposalAmendment, *, writer: User, reply: str, now: datetime
) -> None:
    """The suggested description (and estimate) replace the current ones, even if the
    text changed since it was written: the authors saw both before accepting. Like any
    change of text, a decided proposal goes back to "submitted" for a new decision."""
    content = proposal_content_validate(
        budget_round=locked.budget_round,
        content=ProposalContent(
            title=locked.title,
            description=amendment.description,
            round_area=locked.round_area,
            category=locked.category,
            estimated_cost=amendment.estimated_cost or locked.estimated_cost,
            location=locked.location,
            image_description=locked.image_description,
        ),
    )
    proposal_content_record(
        locked,
        content=content,
        actor=writer,
        kind=ProposalEvent.Kind.AMENDMENT_ACCEPTED,
        from_status=locked.status,
        to_status=locked.status,
        version_kind=VersionKind.AMENDMENT,
        reason=reply,
        credited_to=amendment.author,
        reopens_decision=True,
        now=now,
    )


def amendment_accept(
    *, amendment: ProposalAmendment, writer: AnyUser, reply: str, now: datetime
) -> ProposalAmendment:
    return _answer(amendment, writer=writer, reply=reply, accept=True, now=now)


def amendment_decline(
    *, amendment: ProposalAmendment, writer: AnyUser, reply: str, now: datetime
) -> ProposalAmendment:
    """The suggestion closes with the authors' reply (required); the text stays."""
    return _answer(amendment, writer=writer, reply=reply, accept=False, now=now)


def amendment_withdraw(
    *, amendment: ProposalAmendment, resident: AnyUser, now: datetime
) -> ProposalAmendment:
    """Whoever suggested it takes it back while it waits; it stays listed as withdrawn."""
    enforce(policies.can_withdraw_amendment(resident, amendment, now=now))
    with transaction.atomic():
        locked = _lock(amendment.proposal)
        amendment = ProposalAmendment.objects.select_for_update().get(pk=amendment.pk)
        enforce(policies.can_withdraw_amendment(resident, amendment, now=now, proposal=locked))
        amendment.status = AmendmentStatus.WITHDRAWN
        amendment.closed_at = now
        amendment.save(update_fields=["status", "closed_at"])
    return amendment


def amendments_lapse(*, now: datetime) -> int:
    """Close the suggestions still waiting when their round's review ended (voting
    opened). A conditional update: running it twice, or alongside an answer, closes
    each once."""
    return ProposalAmendment.objects.filter(
        status=AmendmentStatus.PROPOSED, proposal__budget_round__voting_starts__lte=now
    ).update(status=AmendmentStatus.LAPSED, closed_at=now)
