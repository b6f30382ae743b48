"""Merging similar proposals: an officer proposes it with the merged text; the writers
of both proposals agree or decline; the merge happens when both sides agreed.

Who may act and when is decided by ``proposals.policies`` and enforced here for every
caller, again once both proposals are locked (always in primary-key order, so two
merges touching the same proposals cannot deadlock). The continuing proposal's text
changes through ``proposal_content_record``, as every change of text does.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.users import AnyUser, User, signed_in
from proposals import policies
from proposals.models import (
    CoauthorStatus,
    MergeStatus,
    Proposal,
    ProposalCoauthor,
    ProposalEvent,
    ProposalMerge,
    ProposalStatus,
    ProposalSupport,
    VersionKind,
)
from proposals.models.proposals import DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH, TITLE_MAX_LENGTH
from proposals.notifications import (
    notify_merge_answered,
    notify_merge_proposed,
    proposal_authors,
)
from proposals.services.proposals import (
    ProposalContent,
    _clean_reason,
    _cost,
    _event,
    _lock,
    _text,
    proposal_content_record,
    proposal_content_validate,
)


def _lock_both(first: Proposal, second: Proposal) -> tuple[Proposal, Proposal]:
    """Lock both rows in primary-key order; return them in the order given."""
    ordered = sorted([first, second], key=lambda p: p.pk)
    locked = {p.pk: _lock(p) for p in ordered}
    return locked[first.pk], locked[second.pk]


def _open_merge_of(proposal: Proposal) -> ProposalMerge | None:
    return (
        ProposalMerge.objects.filter(status=MergeStatus.PROPOSED)
        .filter(Q(into=proposal) | Q(absorbed=proposal))
        .first()
    )


def merge_propose(
    *,
    into: Proposal,
    absorbed: Proposal,
    officer: AnyUser,
    title: str,
    description: str,
    estimated_cost: Decimal | str,
    reason: str,
    now: datetime,
) -> ProposalMerge:
    """Propose merging ``absorbed`` into ``into`` with this merged text; the writers of
    both are emailed. A proposal already in an open merge is refused on the field."""
    enforce(policies.can_propose_merge(officer, into, absorbed, now=now))
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}
    checks = {
        "title": lambda: _text(
            title,
            field="title",
            max_length=TITLE_MAX_LENGTH,
            required_message=_("Give the merged proposal a title."),
        ),
        "description": lambda: _text(
            description,
            field="description",
            max_length=DESCRIPTION_MAX_LENGTH,
            multiline=True,
            required_message=_("Write the merged description."),
        ),
        "estimated_cost": lambda: _cost(estimated_cost, into.round_area, field="estimated_cost"),
        "reason": lambda: _clean_reason(reason, required=True),
    }
    for field, check in checks.items():
        try:
            cleaned[field] = check()
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    by = signed_in(officer)
    busy = ValidationError(
        {"absorbed": [_("One of these proposals is already in a merge waiting for answers.")]}
    )
    try:
        with transaction.atomic():
            locked_into, locked_absorbed = _lock_both(into, absorbed)
            enforce(policies.can_propose_merge(by, locked_into, locked_absorbed, now=now))
            if _open_merge_of(locked_into) or _open_merge_of(locked_absorbed):
                raise busy
            merge = ProposalMerge.objects.create(
                officer=by, into=locked_into, absorbed=locked_absorbed, created_at=now, **cleaned
            )
            notify_merge_proposed(merge)
    except IntegrityError:  # the database keeps one open merge per proposal and side
        raise busy from None
    return merge


def _locked_merge(merge: ProposalMerge) -> tuple[ProposalMerge, Proposal, Proposal]:
    into, absorbed = _lock_both(merge.into, merge.absorbed)
    locked = ProposalMerge.objects.select_for_update().get(pk=merge.pk)
    locked.into, locked.absorbed = into, absorbed
    return locked, into, absorbed


def merge_agree(*, merge: ProposalMerge, writer: AnyUser, now: datetime) -> ProposalMerge:
    """Record that this writer's side (or both, for someone writing both) agrees; once
    both sides agreed, the merge happens in the same transaction."""
    enforce(policies.can_answer_merge(writer, merge, now=now))
    by: User = signed_in(writer)
    with transaction.atomic():
        merge, into, absorbed = _locked_merge(merge)
        enforce(policies.can_answer_merge(by, merge, now=now))
        for side in policies.merge_sides_of(by, merge):
            setattr(merge, f"{side}_agreed_by", by)
            setattr(merge, f"{side}_agreed_at", now)
        if merge.into_agreed_at is not None and merge.absorbed_agreed_at is not None:
            _merge(merge, into, absorbed, by=by, now=now)
            merge.status = MergeStatus.MERGED
            merge.closed_at = now
        merge.save()
        if merge.status == MergeStatus.MERGED:
            notify_merge_answered(merge)
    return merge


def _merge(
    merge: ProposalMerge, into: Proposal, absorbed: Proposal, *, by: User, now: datetime
) -> None:
    """``into`` takes the merged text (a new version, credited to the absorbed
    proposal's author; a decided proposal goes back for a new decision); the absorbed
    proposal's writers become co-authors of ``into``; its supporters support ``into``;
    it leaves the ballot as "merged into" ``into``."""
    absorbed_writers = proposal_authors(absorbed)
    content = proposal_content_validate(
        budget_round=into.budget_round,
        content=ProposalContent(
            title=merge.title,
            description=merge.description,
            round_area=into.round_area,
            category=into.category,
            estimated_cost=merge.estimated_cost,
            location=into.location,
            image_description=into.image_description,
        ),
    )
    proposal_content_record(
        into,
        content=content,
        actor=by,
        kind=ProposalEvent.Kind.MERGED,
        from_status=into.status,
        to_status=into.status,
        version_kind=VersionKind.MERGE,
        reason=merge.reason,
        credited_to=absorbed.author,
        reopens_decision=True,
        now=now,
    )
    into_writer_ids = {user.pk for user in proposal_authors(into)}
    for person in absorbed_writers:
        if person.pk in into_writer_ids:
            continue
        ProposalCoauthor.objects.update_or_create(
            proposal=into,
            email=person.email.lower(),
            defaults={
                "status": CoauthorStatus.ACCEPTED,
                "user": person,
                "token_hash": "",
                "invited_by": merge.officer,
                "invited_at": now,
                "answered_at": now,
            },
        )
        into_writer_ids.add(person.pk)
    already = set(into.supports.values_list("user_id", flat=True)) | into_writer_ids
    ProposalSupport.objects.bulk_create(
        ProposalSupport(proposal=into, user_id=support.user_id, created_at=now)
        for support in absorbed.supports.all()
        if support.user_id not in already
    )
    before = absorbed.status
    absorbed.status = ProposalStatus.MERGED
    absorbed.duplicate_of = into
    absorbed.official_cost = None
    absorbed.status_reason = merge.reason
    absorbed.save(
        update_fields=["status", "duplicate_of", "official_cost", "status_reason", "updated_at"]
    )
    _event(
        absorbed,
        actor=by,
        kind=ProposalEvent.Kind.MERGED_INTO,
        from_status=before,
        to_status=ProposalStatus.MERGED,
        reason=merge.reason,
        now=now,
    )


def merge_decline(
    *, merge: ProposalMerge, writer: AnyUser, reply: str, now: datetime
) -> ProposalMerge:
    """One side's writer refuses, saying why: the merge closes and nothing changes."""
    enforce(policies.can_answer_merge(writer, merge, now=now))
    reply = _text(
        reply,
        field="reply",
        max_length=REASON_MAX_LENGTH,
        multiline=True,
        required_message=_("Say why you decline: the officer and the other authors read it."),
    )
    by: User = signed_in(writer)
    with transaction.atomic():
        merge, _into, _absorbed = _locked_merge(merge)
        enforce(policies.can_answer_merge(by, merge, now=now))
        merge.status = MergeStatus.DECLINED
        merge.declined_by = by
        merge.reply = reply
        merge.closed_at = now
        merge.save()
        notify_merge_answered(merge)
    return merge


def merge_withdraw(*, merge: ProposalMerge, officer: AnyUser, now: datetime) -> ProposalMerge:
    enforce(policies.can_withdraw_merge(officer, merge, now=now))
    with transaction.atomic():
        merge, _into, _absorbed = _locked_merge(merge)
        enforce(policies.can_withdraw_merge(officer, merge, now=now))
        merge.status = MergeStatus.WITHDRAWN
        merge.closed_at = now
        merge.save(update_fields=["status", "closed_at"])
    return merge


def merges_lapse(*, now: datetime) -> int:
    """Close the merges still open when their round's review ended (voting opened)."""
    return ProposalMerge.objects.filter(
        status=MergeStatus.PROPOSED, into__budget_round__voting_starts__lte=now
    ).update(status=MergeStatus.LAPSED, closed_at=now)
