"""Co-production before the vote: residents show support for ideas; officers offer the
authors a revised scope or cost during review, which the authors accept or decline.

Who may act and when is decided by ``proposals.policies`` and enforced here for every
caller. An accepted offer changes the proposal through ``proposal_content_record``,
the same path as the author's own edits, so the change is recorded the same way.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.users import AnyUser, User, signed_in
from proposals import policies
from proposals.models import (
    CoDesignOffer,
    CoDesignStatus,
    Proposal,
    ProposalEvent,
    ProposalStatus,
    ProposalSupport,
    VersionKind,
)
from proposals.models.proposals import DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH
from proposals.notifications import notify_codesign_answered, notify_codesign_offered
from proposals.services.proposals import (
    ProposalContent,
    _clean_reason,
    _cost,
    _lock,
    _text,
    proposal_content_record,
    proposal_content_validate,
)

# --- Support ----------------------------------------------------------------------------


def proposal_support_add(*, proposal: Proposal, user: AnyUser, now: datetime) -> bool:
    """Record this resident's support; False if they already supported it (the
    database keeps one per person and proposal, whatever the timing of two clicks)."""
    enforce(policies.can_support(user, proposal, now=now))
    try:
        with transaction.atomic():
            ProposalSupport.objects.create(proposal=proposal, user=signed_in(user), created_at=now)
    except IntegrityError:
        return False
    return True


def proposal_support_withdraw(*, proposal: Proposal, user: AnyUser, now: datetime) -> bool:
    """Withdraw this person's support; False if they had none."""
    enforce(policies.can_withdraw_support(user, proposal, now=now))
    deleted, _kinds = ProposalSupport.objects.filter(
        proposal=proposal, user=signed_in(user)
    ).delete()
    return deleted > 0


# --- Co-design --------------------------------------------------------------------------


def _open_offer(proposal: Proposal) -> CoDesignOffer | None:
    return CoDesignOffer.objects.filter(proposal=proposal, status=CoDesignStatus.PROPOSED).first()


def codesign_offer(
    *,
    proposal: Proposal,
    officer: AnyUser,
    description: str,
    cost: Decimal | str | None,
    reason: str,
    now: datetime,
) -> CoDesignOffer:
    """An officer offers the authors a revised description, cost or both, with the
    reason (all public). A description identical to the current one changes nothing,
    so it counts as not given."""
    enforce(policies.can_offer_codesign(officer, proposal, now=now, open_offer=None))
    errors: dict[str, list[str]] = {}
    cleaned_description = ""
    cleaned_cost: Decimal | None = None
    cleaned_reason = ""
    try:
        cleaned_description = _text(
            description, field="description", max_length=DESCRIPTION_MAX_LENGTH, multiline=True
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if cleaned_description == proposal.description.strip():
        cleaned_description = ""
    if cost is not None and cost != "":
        try:
            cleaned_cost = _cost(cost, proposal.round_area, field="cost")
        except ValidationError as error:
            errors.update(error.message_dict)
    try:
        cleaned_reason = _clean_reason(reason, required=True)
    except ValidationError as error:
        errors.update(error.message_dict)
    if not errors and not cleaned_description and cleaned_cost is None:
        errors["description"] = [
            _("Suggest a new description, a new cost, or both: this one changes nothing.")
        ]
    if errors:
        raise ValidationError(errors)
    offered_by = signed_in(officer)
    try:
        with transaction.atomic():
            locked = _lock(proposal)
            enforce(
                policies.can_offer_codesign(
                    offered_by, locked, now=now, open_offer=_open_offer(locked)
                )
            )
            offer = CoDesignOffer.objects.create(
                proposal=locked,
                officer=offered_by,
                description=cleaned_description,
                cost=cleaned_cost,
                reason=cleaned_reason,
                created_at=now,
            )
            notify_codesign_offered(offer)
    except IntegrityError:  # another officer's offer saved at the same moment
        raise ValidationError(
            {"reason": [_("Another offer is already waiting for the authors' answer.")]}
        ) from None
    return offer


def _answer(
    offer: CoDesignOffer, *, author: AnyUser, reply: str, accept: bool, now: datetime
) -> CoDesignOffer:
    enforce(policies.can_answer_codesign(author, offer, now=now))
    reply = _text(reply, field="reply", max_length=REASON_MAX_LENGTH, multiline=True)
    answered_by: User = signed_in(author)
    with transaction.atomic():
        # The proposal first, then the offer: the order every writer of both takes.
        locked = _lock(offer.proposal)
        offer = CoDesignOffer.objects.select_for_update().get(pk=offer.pk)
        enforce(policies.can_answer_codesign(answered_by, offer, now=now, proposal=locked))
        if accept:
            _apply(locked, offer, author=answered_by, reply=reply, now=now)
        offer.status = CoDesignStatus.ACCEPTED if accept else CoDesignStatus.DECLINED
        offer.reply = reply
        offer.answered_by = answered_by
        offer.closed_at = now
        offer.save(update_fields=["status", "reply", "answered_by", "closed_at"])
        notify_codesign_answered(offer)
    return offer


def _apply(
    locked: Proposal, offer: CoDesignOffer, *, author: User, reply: str, now: datetime
) -> None:
    """The accepted revision becomes the proposal. A cost is the officer's word that
    the revised idea is feasible at that cost: it becomes the official cost and the
    proposal goes on the ballot, whatever was decided before."""
    content = proposal_content_validate(
        budget_round=locked.budget_round,
        content=ProposalContent(
            title=locked.title,
            description=offer.description or locked.description,
            round_area=locked.round_area,
            category=locked.category,
            estimated_cost=locked.estimated_cost,
            location=locked.location,
            image_description=locked.image_description,
        ),
    )
    before = locked.status
    if offer.cost is not None:
        locked.official_cost = _cost(offer.cost, locked.round_area, field="cost")
        locked.status = ProposalStatus.FEASIBLE
        locked.status_reason = offer.reason
    proposal_content_record(
        locked,
        content=content,
        actor=author,
        kind=ProposalEvent.Kind.CODESIGN_ACCEPTED,
        from_status=before,
        to_status=locked.status,
        version_kind=VersionKind.CO_DESIGN,
        reason=reply,
        credited_to=offer.officer,
        reopens_decision=False,
        now=now,
    )


def codesign_accept(
    *, offer: CoDesignOffer, author: AnyUser, reply: str, now: datetime
) -> CoDesignOffer:
    return _answer(offer, author=author, reply=reply, accept=True, now=now)


def codesign_decline(
    *, offer: CoDesignOffer, author: AnyUser, reply: str, now: datetime
) -> CoDesignOffer:
    """The offer closes; the review goes on and the officer's decision stands."""
    return _answer(offer, author=author, reply=reply, accept=False, now=now)


def codesign_withdraw(*, offer: CoDesignOffer, officer: AnyUser, now: datetime) -> CoDesignOffer:
    """An officer takes back an unanswered offer; it stays on the page as withdrawn, and
    another may be made. Locks as ``_answer`` does, so an author's answer and the
    withdrawal cannot both happen."""
    enforce(policies.can_withdraw_codesign(officer, offer, now=now))
    with transaction.atomic():
        locked = _lock(offer.proposal)
        offer = CoDesignOffer.objects.select_for_update().get(pk=offer.pk)
        enforce(policies.can_withdraw_codesign(officer, offer, now=now, proposal=locked))
        offer.status = CoDesignStatus.WITHDRAWN
        offer.closed_at = now
        offer.save(update_fields=["status", "closed_at"])
    return offer


def codesign_offers_lapse(*, now: datetime) -> int:
    """Close the offers still open when their round's review ended (voting opened).
    A conditional update: running it twice, or alongside an answer, closes each once."""
    return CoDesignOffer.objects.filter(
        status=CoDesignStatus.PROPOSED, proposal__budget_round__voting_starts__lte=now
    ).update(status=CoDesignStatus.LAPSED, closed_at=now)
