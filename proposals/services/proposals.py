"""Writes for proposals: residents submit and refine ideas, officers review them.

Who may act is checked with ``proposals.permissions``; when they may act is checked
here against the round's phase, read from the clock (``now``), never from a flag.
Every status change appends a ``ProposalEvent``; officers' decisions are emailed to
the author after commit (see ``proposals.notifications``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from pb_platform.money import money_format, money_quantize
from proposals import permissions
from proposals.models import (
    AUTHOR_EDITABLE_STATUSES,
    REVIEWABLE_STATUSES,
    BudgetRound,
    Category,
    Proposal,
    ProposalEvent,
    ProposalStatus,
    RoundArea,
)
from proposals.models.proposals import (
    DESCRIPTION_MAX_LENGTH,
    IMAGE_EXTENSIONS,
    IMAGE_MAX_BYTES,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from proposals.notifications import notify_author_after_commit
from proposals.phases import Phase

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}


@dataclass(frozen=True)
class ProposalContent:
    """What the author writes. ``image`` None keeps the current image."""

    title: str
    description: str
    round_area: RoundArea
    category: Category | None
    estimated_cost: Decimal
    location: str = ""
    image: UploadedFile | None = None
    image_description: str = ""
    remove_image: bool = False


def _phase_error(budget_round: BudgetRound, allowed: str, now: datetime) -> ValidationError:
    return ValidationError(
        _("This can only be done during %(phase)s. “%(round)s” is now in: %(now)s.")
        % {
            "phase": allowed,
            "round": budget_round.name,
            # The phase at the moment the check was made, not at a second reading of the clock.
            "now": budget_round.phase_at(now).label,
        }
    )


def _require_phase(budget_round: BudgetRound, now: datetime, *phases: Phase) -> None:
    if budget_round.phase_at(now) not in phases:
        names = _(" or ").join(str(phase.label).lower() for phase in phases)
        raise _phase_error(budget_round, names, now)


def _image_problem(image: UploadedFile) -> str | None:
    if image.size is None or image.size > IMAGE_MAX_BYTES:
        return _("The image must be %(mb)d MB or smaller.") % {"mb": IMAGE_MAX_BYTES // 2**20}
    try:
        image.seek(0)
        with Image.open(image) as opened:
            image_format = opened.format
            opened.verify()
    # A few bytes of header can announce billions of pixels: refuse those before decoding.
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return _("The file is not an image we can read. Use a JPEG, PNG or WebP photo.")
    finally:
        image.seek(0)
    # The stored name keeps the uploaded extension, and the web server picks the content
    # type from it: a valid PNG named "x.html" or "x.svg" must not be stored as such.
    extension = os.path.splitext(image.name or "")[1].lower().lstrip(".")
    if image_format not in IMAGE_FORMATS or extension not in IMAGE_EXTENSIONS:
        return _("Use a JPEG, PNG or WebP image.")
    return None


def _cost_problem(cost: object, round_area: RoundArea) -> str | None:
    """Why a cost cannot stand for a proposal in this area, or None if it can."""
    if not isinstance(cost, Decimal) or not cost.is_finite() or cost <= 0:
        return _("The cost must be more than zero.")
    # Compare before rounding: quantizing an absurd number (1e30) would raise.
    if cost > round_area.budget:
        return _("The cost cannot be more than the area's budget of %(budget)s.") % {
            "budget": money_format(round_area.budget, round_area.budget_round.currency)
        }
    if cost != money_quantize(cost):
        return _("Use at most two decimal places.")
    return None


def proposal_content_validate(*, budget_round: BudgetRound, content: ProposalContent) -> None:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not content.title.strip():
        add("title", _("Give your idea a short title."))
    elif len(content.title) > TITLE_MAX_LENGTH:
        add("title", _("Keep the title to %(n)d characters or fewer.") % {"n": TITLE_MAX_LENGTH})
    elif any(char in content.title.strip() for char in "\r\n"):
        # The title becomes an email subject, where a line break is refused outright.
        add("title", _("Keep the title on one line."))
    if not content.description.strip():
        add("description", _("Describe your idea."))
    elif len(content.description) > DESCRIPTION_MAX_LENGTH:
        add(
            "description",
            _("Keep the description to %(n)d characters or fewer.") % {"n": DESCRIPTION_MAX_LENGTH},
        )
    if len(content.location) > 200:
        add("location", _("Keep the location to 200 characters or fewer."))
    if content.round_area.budget_round_id != budget_round.pk:
        add("round_area", _("Choose one of this round's areas."))
    if content.category is not None and content.category.budget_round_id != budget_round.pk:
        add("category", _("Choose one of this round's categories."))
    if (problem := _cost_problem(content.estimated_cost, content.round_area)) is not None:
        add("estimated_cost", problem)
    if content.image is not None:
        if (problem := _image_problem(content.image)) is not None:
            add("image", problem)
        if not content.image_description.strip():
            add("image_description", _("Describe the image for people who cannot see it."))
    if len(content.image_description) > 200:
        add("image_description", _("Keep the description to 200 characters or fewer."))
    if errors:
        raise ValidationError(errors)


def _event(
    proposal: Proposal,
    *,
    actor: AbstractBaseUser,
    kind: str,
    from_status: str = "",
    to_status: str | None = None,
    reason: str = "",
    as_officer: bool = False,
    now: datetime,
) -> ProposalEvent:
    event = ProposalEvent.objects.create(
        proposal=proposal,
        actor=actor,
        actor_is_officer=as_officer,
        at=now,
        kind=kind,
        from_status=from_status,
        to_status=proposal.status if to_status is None else to_status,
        official_cost=proposal.official_cost,
        reason=reason,
    )
    # Tell the author about every officer's decision, including those that keep the status
    # (a review may change only the cost, a duplicate only its original). The outbox sweep
    # sends any unsent officer event, so skipping one here would only delay it.
    if as_officer:
        notify_author_after_commit(event)
    return event


def _apply_content(proposal: Proposal, content: ProposalContent) -> None:
    proposal.title = content.title.strip()
    proposal.description = content.description.strip()
    proposal.round_area = content.round_area
    proposal.category = content.category
    proposal.estimated_cost = money_quantize(content.estimated_cost)
    proposal.location = content.location.strip()
    if content.remove_image:
        proposal.image = ""
        proposal.image_description = ""
    if content.image is not None:
        proposal.image = content.image
    if proposal.image:
        proposal.image_description = content.image_description.strip()


def proposal_create(
    *,
    author: AbstractBaseUser,
    budget_round: BudgetRound,
    content: ProposalContent,
    submit: bool,
    now: datetime,
) -> Proposal:
    """Save a resident's idea as a draft, or submit it for review."""
    if not permissions.is_verified_resident(author):
        raise PermissionDenied(_("Only residents with a verified email can submit proposals."))
    _require_phase(budget_round, now, Phase.SUBMISSION)
    proposal_content_validate(budget_round=budget_round, content=content)
    with transaction.atomic():
        proposal = Proposal(budget_round=budget_round, author=author, created_at=now)
        _apply_content(proposal, content)
        proposal.status = ProposalStatus.SUBMITTED if submit else ProposalStatus.DRAFT
        proposal.submitted_at = now if submit else None
        proposal.save()
        _event(
            proposal,
            actor=author,
            kind=ProposalEvent.Kind.CREATED,
            to_status=ProposalStatus.DRAFT,
            now=now,
        )
        if submit:
            _event(
                proposal,
                actor=author,
                kind=ProposalEvent.Kind.SUBMITTED,
                from_status=ProposalStatus.DRAFT,
                now=now,
            )
    return proposal


def _lock_for_author(proposal: Proposal, author: AbstractBaseUser, now: datetime) -> Proposal:
    if not permissions.is_author(author, proposal):
        raise PermissionDenied(_("Only the author can change this proposal."))
    # Lock the row: an officer returning or marking it at the same moment must not
    # interleave with the author's edit.
    locked = Proposal.objects.select_for_update().select_related("budget_round").get(pk=proposal.pk)
    if locked.status not in AUTHOR_EDITABLE_STATUSES:
        raise ValidationError(
            _("This proposal is “%(status)s” and can no longer be changed.")
            % {"status": locked.get_status_display()}
        )
    _require_phase(locked.budget_round, now, Phase.SUBMISSION)
    return locked


def proposal_update(
    *,
    proposal: Proposal,
    author: AbstractBaseUser,
    content: ProposalContent,
    submit: bool,
    now: datetime,
) -> Proposal:
    """The author edits their idea (and may submit it) while submission is open."""
    if not permissions.is_author(author, proposal):
        raise PermissionDenied(_("Only the author can change this proposal."))
    proposal_content_validate(budget_round=proposal.budget_round, content=content)
    with transaction.atomic():
        locked = _lock_for_author(proposal, author, now)
        # The validation above only sees a new upload; a kept image needs its text too
        # (the database refuses an image without one).
        keeps_image = locked.image and content.image is None and not content.remove_image
        if keeps_image and not content.image_description.strip():
            raise ValidationError(
                {"image_description": [_("Describe the image for people who cannot see it.")]}
            )
        before = locked.status
        _apply_content(locked, content)
        if submit and before != ProposalStatus.SUBMITTED:
            locked.status = ProposalStatus.SUBMITTED
            locked.submitted_at = now
            locked.status_reason = ""
        locked.save()
        _event(
            locked,
            actor=author,
            kind=ProposalEvent.Kind.EDITED,
            from_status=before,
            to_status=before,
            now=now,
        )
        if locked.status != before:
            _event(
                locked,
                actor=author,
                kind=ProposalEvent.Kind.SUBMITTED,
                from_status=before,
                now=now,
            )
    return locked


def proposal_withdraw(*, proposal: Proposal, author: AbstractBaseUser, now: datetime) -> Proposal:
    with transaction.atomic():
        locked = _lock_for_author(proposal, author, now)
        before = locked.status
        locked.status = ProposalStatus.WITHDRAWN
        locked.save(update_fields=["status", "updated_at"])
        _event(locked, actor=author, kind=ProposalEvent.Kind.WITHDRAWN, from_status=before, now=now)
    return locked


def _lock_for_officer(proposal: Proposal, officer: AbstractBaseUser) -> Proposal:
    if not permissions.can_review_proposals(officer):
        raise PermissionDenied(_("Only council officers can review proposals."))
    return (
        Proposal.objects.select_for_update()
        .select_related("budget_round", "round_area")
        .get(pk=proposal.pk)
    )


def _clean_reason(reason: str, *, required: bool, field: str = "reason") -> str:
    reason = reason.strip()
    if required and not reason:
        raise ValidationError({field: [_("Give a reason; it is shown publicly.")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {field: [_("Keep it to %(n)d characters or fewer.") % {"n": REASON_MAX_LENGTH}]}
        )
    return reason


def _record_decision(
    locked: Proposal,
    *,
    officer: AbstractBaseUser,
    kind: str,
    status: str,
    reason: str,
    now: datetime,
    **fields: object,
) -> None:
    """Apply an officer's decision to a locked proposal and append it to the history."""
    before = locked.status
    locked.status = status
    locked.status_reason = reason
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save()
    _event(
        locked,
        actor=officer,
        kind=kind,
        from_status=before,
        reason=reason,
        as_officer=True,
        now=now,
    )


def proposal_return_to_author(
    *, proposal: Proposal, officer: AbstractBaseUser, message: str, now: datetime
) -> Proposal:
    """Send a submitted idea back to its author to improve, while submission is open."""
    message = _clean_reason(message, required=True)
    with transaction.atomic():
        locked = _lock_for_officer(proposal, officer)
        _require_phase(locked.budget_round, now, Phase.SUBMISSION)
        if locked.status != ProposalStatus.SUBMITTED:
            raise ValidationError(_("Only submitted proposals can be sent back to the author."))
        _record_decision(
            locked,
            officer=officer,
            kind=ProposalEvent.Kind.RETURNED,
            status=ProposalStatus.RETURNED,
            reason=message,
            now=now,
        )
    return locked


def proposal_review(
    *,
    proposal: Proposal,
    officer: AbstractBaseUser,
    feasible: bool,
    reason: str,
    official_cost: Decimal | None,
    now: datetime,
) -> Proposal:
    """Decide feasibility (with a public reason) and set the official cost.

    Only feasible proposals with an official cost go on the ballot. A decision may be
    corrected during the review phase; each one is kept in the history.
    """
    reason = _clean_reason(reason, required=not feasible)
    with transaction.atomic():
        locked = _lock_for_officer(proposal, officer)
        _require_phase(locked.budget_round, now, Phase.REVIEW)
        if locked.status not in REVIEWABLE_STATUSES:
            raise ValidationError(
                _("A proposal that is “%(status)s” cannot be reviewed.")
                % {"status": locked.get_status_display()}
            )
        if feasible:
            if official_cost is None:
                raise ValidationError(
                    {"official_cost": [_("Feasible proposals need an official cost.")]}
                )
            if (problem := _cost_problem(official_cost, locked.round_area)) is not None:
                raise ValidationError({"official_cost": [problem]})
        _record_decision(
            locked,
            officer=officer,
            kind=ProposalEvent.Kind.REVIEWED,
            status=ProposalStatus.FEASIBLE if feasible else ProposalStatus.NOT_FEASIBLE,
            reason=reason,
            official_cost=money_quantize(official_cost) if feasible and official_cost else None,
            duplicate_of=None,
            now=now,
        )
    return locked


def proposal_mark_duplicate(
    *,
    proposal: Proposal,
    officer: AbstractBaseUser,
    original: Proposal,
    reason: str,
    now: datetime,
) -> Proposal:
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        locked = _lock_for_officer(proposal, officer)
        _require_phase(locked.budget_round, now, Phase.SUBMISSION, Phase.REVIEW)
        if locked.status not in (*REVIEWABLE_STATUSES, ProposalStatus.RETURNED):
            raise ValidationError(
                _("A proposal that is “%(status)s” cannot be marked as a duplicate.")
                % {"status": locked.get_status_display()}
            )
        if original.pk == locked.pk or original.budget_round_id != locked.budget_round_id:
            raise ValidationError({"original": [_("Choose another proposal of the same round.")]})
        if original.status in (
            ProposalStatus.DRAFT,
            ProposalStatus.WITHDRAWN,
            ProposalStatus.DUPLICATE,
        ):
            raise ValidationError(
                {"original": [_("The original must be a live proposal, not a duplicate itself.")]}
            )
        _record_decision(
            locked,
            officer=officer,
            kind=ProposalEvent.Kind.DUPLICATE,
            status=ProposalStatus.DUPLICATE,
            reason=reason,
            official_cost=None,
            duplicate_of=original,
            now=now,
        )
    return locked


def category_create(*, budget_round: BudgetRound, name: str, officer: AbstractBaseUser) -> Category:
    """Officers define the categories residents file their ideas under, per round."""
    if not permissions.can_manage_categories(officer):
        raise PermissionDenied(_("Only council officers can add categories."))
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Give the category a name.")]})
    if len(name) > 80:
        raise ValidationError({"name": [_("Keep the name to 80 characters or fewer.")]})
    if budget_round.categories.filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("This round already has that category.")]})
    return Category.objects.create(budget_round=budget_round, name=name)
