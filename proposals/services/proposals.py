"""Writes for proposals: residents submit and refine ideas, officers review them.

Who may act, when, and on what state is decided by ``proposals.policies``; every
service here enforces it for whoever calls (a view, a command, a test), inside the row
lock where the state matters. Every stored text goes through ``text_clean`` and every
amount through ``money_parse``. Every status change appends a ``ProposalEvent``;
officers' decisions are emailed to the author after commit (``proposals.notifications``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pb_platform.images import image_pixels_problem as image_pixels_problem  # re-exported
from pb_platform.images import image_problem, image_reencoded
from pb_platform.money import money_format, money_parse
from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import User
from proposals import policies
from proposals.models import (
    DECIDED_STATUSES,
    BudgetRound,
    Category,
    Proposal,
    ProposalEvent,
    ProposalStatus,
    ProposalVersion,
    RoundArea,
    VersionKind,
)
from proposals.models.proposals import (
    DESCRIPTION_MAX_LENGTH,
    IMAGE_MAX_BYTES,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from proposals.notifications import notify_author_after_commit
from proposals.services.versions import version_record

LOCATION_MAX_LENGTH = 200
IMAGE_DESCRIPTION_MAX_LENGTH = 200
CATEGORY_NAME_MAX_LENGTH = 80


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


def _cost(value: object, round_area: RoundArea, *, field: str) -> Decimal:
    """An amount for a proposal in this area, parsed by ``money_parse``, or a
    ``ValidationError`` on ``field``."""
    # A finite number above the area's budget gets the message that helps most, before
    # ``money_parse`` can call it too large for the column (1e30).
    if isinstance(value, Decimal) and value.is_finite() and value > round_area.budget:
        raise ValidationError({field: [_over_budget(round_area)]})
    amount = money_parse(value, field=field)  # type: ignore[arg-type]
    if amount > round_area.budget:
        raise ValidationError({field: [_over_budget(round_area)]})
    return amount


def _over_budget(round_area: RoundArea) -> str:
    return _("The cost cannot be more than the area's budget of %(budget)s.") % {
        "budget": money_format(round_area.budget, round_area.budget_round.currency)
    }


def _text(
    value: str,
    *,
    field: str,
    max_length: int,
    multiline: bool = False,
    required_message: str | None = None,
) -> str:
    """``text_clean``, except that a text of nothing but spaces and line breaks counts
    as empty (so it gets "required", not "keep it on one line")."""
    if required_message is not None and isinstance(value, str) and not value.strip():
        raise ValidationError({field: [required_message]})
    return text_clean(
        value,
        field=field,
        max_length=max_length,
        multiline=multiline,
        required_message=required_message,
    )


def proposal_content_validate(
    *, budget_round: BudgetRound, content: ProposalContent
) -> ProposalContent:
    """Every problem with ``content`` at once (``ValidationError`` keyed by field), or
    the content cleaned: texts trimmed and checked, the cost parsed and rounded."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}

    def check(field: str, parse: object) -> None:
        try:
            cleaned[field] = parse()  # type: ignore[operator]
        except ValidationError as error:
            for message in error.message_dict.get(field, error.messages):
                errors.setdefault(field, []).append(message)

    check(
        "title",
        lambda: _text(
            content.title,
            field="title",
            max_length=TITLE_MAX_LENGTH,
            required_message=_("Give your idea a short title."),
        ),
    )
    check(
        "description",
        lambda: _text(
            content.description,
            field="description",
            max_length=DESCRIPTION_MAX_LENGTH,
            multiline=True,
            required_message=_("Describe your idea."),
        ),
    )
    check(
        "location",
        lambda: text_clean(content.location, field="location", max_length=LOCATION_MAX_LENGTH),
    )
    check(
        "image_description",
        lambda: text_clean(
            content.image_description,
            field="image_description",
            max_length=IMAGE_DESCRIPTION_MAX_LENGTH,
        ),
    )
    if content.round_area.budget_round_id != budget_round.pk:
        errors.setdefault("round_area", []).append(_("Choose one of this round's areas."))
    else:
        check(
            "estimated_cost",
            lambda: _cost(content.estimated_cost, content.round_area, field="estimated_cost"),
        )
    if content.category is not None and content.category.budget_round_id != budget_round.pk:
        errors.setdefault("category", []).append(_("Choose one of this round's categories."))
    if content.image is not None:
        if (problem := image_problem(content.image, max_bytes=IMAGE_MAX_BYTES)) is not None:
            errors.setdefault("image", []).append(problem)
        if not cleaned.get("image_description") and "image_description" not in errors:
            errors.setdefault("image_description", []).append(
                _("Describe the image for people who cannot see it.")
            )
    if errors:
        raise ValidationError(errors)
    return dataclasses.replace(content, **cleaned)  # type: ignore[arg-type]


def _event(
    proposal: Proposal,
    *,
    actor: User,
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
    """Copy content already cleaned by ``proposal_content_validate``."""
    proposal.title = content.title
    proposal.description = content.description
    proposal.round_area = content.round_area
    proposal.category = content.category
    proposal.estimated_cost = content.estimated_cost
    proposal.location = content.location
    if content.remove_image:
        proposal.image = ""
        proposal.image_description = ""
    if content.image is not None:
        proposal.image = image_reencoded(content.image)
    if proposal.image:
        proposal.image_description = content.image_description


def proposal_content_commit(
    locked: Proposal,
    *,
    made_by: User,
    kind: str,
    now: datetime,
    as_officer: bool = False,
    credited_to: User | None = None,
    note: str = "",
    reopens_decision: bool = True,
) -> ProposalVersion | None:
    """Save a change of ``locked``'s text (already applied to it, row locked or just
    created) and keep it as a version. Every content change goes through here.

    A change after an officer decided (feasible or not) undoes the decision: the
    officer decided on another text, so the proposal is "submitted" again and waits
    for a new decision, with an event saying why (not when ``reopens_decision`` is
    false: an officer's co-design the authors accepted is the decision). Returns the
    version, or None when nothing in the text changed (then nothing else happens
    either)."""
    locked.save()
    version = version_record(
        proposal=locked,
        made_by=made_by,
        kind=kind,
        now=now,
        as_officer=as_officer,
        credited_to=credited_to,
        note=note,
    )
    if version is not None and reopens_decision and locked.status in DECIDED_STATUSES:
        before = locked.status
        locked.status = ProposalStatus.SUBMITTED
        locked.status_reason = ""
        locked.official_cost = None
        locked.save(update_fields=["status", "status_reason", "official_cost", "updated_at"])
        _event(
            locked,
            actor=made_by,
            kind=ProposalEvent.Kind.SUBMITTED,
            from_status=before,
            reason=_(
                "The text changed after the officer's decision (version %(number)d), "
                "so it needs a new decision."
            )
            % {"number": version.number},
            as_officer=as_officer,
            now=now,
        )
    return version


def proposal_create(
    *,
    author: User,
    budget_round: BudgetRound,
    content: ProposalContent,
    submit: bool,
    now: datetime,
) -> Proposal:
    """Save a resident's idea as a draft, or submit it for review, in an area they may
    propose in (their home area or a whole-council one)."""
    enforce(policies.can_create_proposal(author, budget_round, now=now))
    content = proposal_content_validate(budget_round=budget_round, content=content)
    enforce(policies.can_propose_in(author, content.round_area))
    with transaction.atomic():
        proposal = Proposal(budget_round=budget_round, author=author, created_at=now)
        _apply_content(proposal, content)
        proposal.status = ProposalStatus.SUBMITTED if submit else ProposalStatus.DRAFT
        proposal.submitted_at = now if submit else None
        proposal_content_commit(proposal, made_by=author, kind=VersionKind.CREATED, now=now)
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


def _lock(proposal: Proposal) -> Proposal:
    # Lock the row: an officer returning or marking it at the same moment as the author's
    # edit (or another officer's decision) must not interleave with it.
    return (
        Proposal.objects.select_for_update()
        .select_related("budget_round", "round_area__area")
        .get(pk=proposal.pk)
    )


def proposal_content_record(
    locked: Proposal,
    *,
    content: ProposalContent,
    actor: User,
    kind: str,
    from_status: str,
    to_status: str,
    version_kind: str,
    reason: str = "",
    credited_to: User | None = None,
    reopens_decision: bool = True,
    now: datetime,
) -> ProposalVersion | None:
    """The one path by which a proposal's text changes after creation: apply content
    cleaned by ``proposal_content_validate`` to a proposal locked by ``_lock`` (with any
    other field changes already set on it), append the event, then save and keep the
    version (``proposal_content_commit``). Used by the writers' edits and by an accepted
    co-design, so whatever is recorded about a change of text is recorded for both. The
    caller has enforced its policy."""
    _apply_content(locked, content)
    _event(
        locked,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        now=now,
    )
    return proposal_content_commit(
        locked,
        made_by=actor,
        kind=version_kind,
        credited_to=credited_to,
        reopens_decision=reopens_decision,
        now=now,
    )


def proposal_update(
    *,
    proposal: Proposal,
    author: User,
    content: ProposalContent,
    submit: bool,
    now: datetime,
) -> Proposal:
    """The author or a co-author (``author``: whoever writes) changes the idea while its
    text may change (``policies.text_changeable``), and may submit a draft. Each change
    is kept as a version; a change after an officer's decision asks for a new one."""
    # Refuse a stranger before telling them anything about the content they sent.
    enforce(policies.can_edit_proposal(author, proposal, now=now))
    content = proposal_content_validate(budget_round=proposal.budget_round, content=content)
    with transaction.atomic():
        locked = _lock(proposal)
        enforce(policies.can_edit_proposal(author, locked, now=now))
        # An author whose home area changed keeps the idea where it is; moving it is a
        # new choice, allowed only into an area they may propose in now.
        if content.round_area.pk != locked.round_area_id:
            enforce(policies.can_propose_in(author, content.round_area))
        # The validation above only sees a new upload; a kept image needs its text too
        # (the database refuses an image without one).
        keeps_image = locked.image and content.image is None and not content.remove_image
        if keeps_image and not content.image_description:
            raise ValidationError(
                {"image_description": [_("Describe the image for people who cannot see it.")]}
            )
        before = locked.status
        if submit and before in (ProposalStatus.DRAFT, ProposalStatus.RETURNED):
            locked.status = ProposalStatus.SUBMITTED
            locked.submitted_at = now
            locked.status_reason = ""
        proposal_content_record(
            locked,
            content=content,
            actor=author,
            kind=ProposalEvent.Kind.EDITED,
            from_status=before,
            to_status=before,
            version_kind=VersionKind.EDIT,
            now=now,
        )
        if locked.status != before and before not in DECIDED_STATUSES:
            _event(
                locked,
                actor=author,
                kind=ProposalEvent.Kind.SUBMITTED,
                from_status=before,
                now=now,
            )
    return locked


def proposal_withdraw(*, proposal: Proposal, author: User, now: datetime) -> Proposal:
    enforce(policies.can_withdraw_proposal(author, proposal, now=now))
    with transaction.atomic():
        locked = _lock(proposal)
        enforce(policies.can_withdraw_proposal(author, locked, now=now))
        before = locked.status
        locked.status = ProposalStatus.WITHDRAWN
        locked.save(update_fields=["status", "updated_at"])
        _event(locked, actor=author, kind=ProposalEvent.Kind.WITHDRAWN, from_status=before, now=now)
    return locked


def _clean_reason(reason: str, *, required: bool, field: str = "reason") -> str:
    return _text(
        reason,
        field=field,
        max_length=REASON_MAX_LENGTH,
        multiline=True,
        required_message=_("Give a reason; it is shown publicly.") if required else None,
    )


def _record_decision(
    locked: Proposal,
    *,
    officer: User,
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
    *, proposal: Proposal, officer: User, message: str, now: datetime
) -> Proposal:
    """Send a submitted idea back to its author to improve, while submission is open."""
    enforce(policies.can_return_proposal(officer, proposal, now=now))
    message = _clean_reason(message, required=True)
    with transaction.atomic():
        locked = _lock(proposal)
        enforce(policies.can_return_proposal(officer, locked, now=now))
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
    officer: User,
    feasible: bool,
    reason: str,
    official_cost: Decimal | str | None,
    now: datetime,
) -> Proposal:
    """Decide feasibility (with a public reason) and set the official cost.

    Only feasible proposals with an official cost go on the ballot. A decision may be
    corrected during the review phase; each one is kept in the history.
    """
    enforce(policies.can_review_proposal(officer, proposal, now=now))
    reason = _clean_reason(reason, required=not feasible)
    with transaction.atomic():
        locked = _lock(proposal)
        enforce(policies.can_review_proposal(officer, locked, now=now))
        cost = None
        if feasible:
            if official_cost is None or official_cost == "":
                raise ValidationError(
                    {"official_cost": [_("Feasible proposals need an official cost.")]}
                )
            cost = _cost(official_cost, locked.round_area, field="official_cost")
        _record_decision(
            locked,
            officer=officer,
            kind=ProposalEvent.Kind.REVIEWED,
            status=ProposalStatus.FEASIBLE if feasible else ProposalStatus.NOT_FEASIBLE,
            reason=reason,
            official_cost=cost,
            duplicate_of=None,
            now=now,
        )
    return locked


def proposal_mark_duplicate(
    *,
    proposal: Proposal,
    officer: User,
    original: Proposal,
    reason: str,
    now: datetime,
) -> Proposal:
    enforce(policies.can_mark_duplicate(officer, proposal, now=now))
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        locked = _lock(proposal)
        enforce(policies.can_mark_duplicate(officer, locked, now=now))
        if original.pk == locked.pk or original.budget_round_id != locked.budget_round_id:
            raise ValidationError({"original": [_("Choose another proposal of the same round.")]})
        if original.submitted_at is None or original.status in (
            ProposalStatus.DRAFT,
            ProposalStatus.WITHDRAWN,
            ProposalStatus.DUPLICATE,
            ProposalStatus.MERGED,
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


def category_create(
    *, budget_round: BudgetRound, name: str, officer: User, now: datetime
) -> Category:
    """Officers define the categories residents file their ideas under, per round."""
    enforce(policies.can_add_category(officer, budget_round, now=now))
    name = _text(
        name,
        field="name",
        max_length=CATEGORY_NAME_MAX_LENGTH,
        required_message=_("Give the category a name."),
    )
    taken = ValidationError({"name": [_("This round already has that category.")]})
    if budget_round.categories.filter(name__iexact=name).exists():
        raise taken
    try:
        with transaction.atomic():
            return Category.objects.create(budget_round=budget_round, name=name)
    except IntegrityError:  # the same name added at the same moment by someone else
        raise taken from None
