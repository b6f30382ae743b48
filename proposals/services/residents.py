"""Writes for resident profiles, and the pending moves between areas.

Eligibility cannot be moved during voting: a resident votes in their home area and in
any area covering the whole council, so an officer's change of home area made while a
round the resident may vote in is taking ballots only becomes *pending*
(``ResidentProfile.pending_area``). It takes effect when every such round has closed
voting (``resident_area_changes_apply_due``, run by a beat task); outside voting it
takes effect at once. Otherwise a resident could vote in Old Town, be moved, and vote
again in Eastgate, and both ballots would count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Prefetch
from django.utils import formats, timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from pb_platform.policies import ALLOW, deny, enforce
from pb_platform.roles import RESIDENT, role_grant
from pb_platform.text import text_clean
from pb_platform.users import AnyUser, User, signed_in
from proposals import permissions
from proposals.models import Area, BudgetRound, ResidentAreaChange, ResidentProfile, RoundArea

logger = logging.getLogger(__name__)

AREA_CHANGE_REASON_MAX = 500
# The column's length (``ResidentProfile.display_name``).
DISPLAY_NAME_MAX_LENGTH = 80


def _require_home_area(area: Area) -> None:
    if area.is_city_wide:
        raise ValidationError(
            {"area": [_("Choose the area where the resident lives, not the whole council.")]}
        )


@transaction.atomic
def resident_register(*, user: User, display_name: str, area: Area) -> ResidentProfile:
    """Record a newly signed-up person as a resident of an area."""
    display_name = text_clean(
        display_name,
        field="display_name",
        max_length=DISPLAY_NAME_MAX_LENGTH,
        required_message=_("Tell us the name to show publicly."),
    )
    _require_home_area(area)
    profile = ResidentProfile.objects.create(user=user, display_name=display_name, area=area)
    role_grant(user=user, role=RESIDENT)
    return profile


# --- Voting open now, and what it holds back --------------------------------------------


@dataclass(frozen=True)
class OpenVoting:
    """A round taking ballots now, and which home areas it concerns."""

    budget_round: BudgetRound
    area_ids: frozenset[int]
    has_city_wide_area: bool

    def concerns(self, home_area_id: int) -> bool:
        """Whether a resident of this home area may vote in the round."""
        return self.has_city_wide_area or home_area_id in self.area_ids


def open_voting_list(*, now: datetime) -> list[OpenVoting]:
    """The rounds whose voting phase the clock says is open at ``now`` (two queries)."""
    rounds = (
        BudgetRound.objects.filter(is_imported=False, voting_starts__lte=now, voting_ends__gt=now)
        .prefetch_related(
            Prefetch("round_areas", queryset=RoundArea.objects.select_related("area"))
        )
        .order_by("voting_ends", "pk")
    )
    return [
        OpenVoting(
            budget_round=budget_round,
            area_ids=frozenset(ra.area_id for ra in budget_round.round_areas.all()),
            has_city_wide_area=any(ra.area.is_city_wide for ra in budget_round.round_areas.all()),
        )
        for budget_round in rounds
    ]


def area_move_blockers(*, home_area_id: int, open_voting: list[OpenVoting]) -> list[BudgetRound]:
    """The rounds whose open voting holds back a move away from this home area."""
    return [item.budget_round for item in open_voting if item.concerns(home_area_id)]


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def area_move_pending_reason(blockers: list[BudgetRound]) -> str:
    """Why a move waits, in words for the resident and the officer."""
    if not blockers:
        return _("Voting has closed; the move takes effect within a few minutes.")
    if len(blockers) == 1:
        return _(
            "Voting in %(round)s is open until %(when)s; the move takes effect when it closes."
        ) % {"round": blockers[0].name, "when": _when(blockers[0].voting_ends)}
    last = max(blockers, key=lambda budget_round: budget_round.voting_ends)
    return _(
        "Voting is open in %(rounds)s; the move takes effect when the last of them "
        "closes, on %(when)s."
    ) % {
        "rounds": get_text_list([budget_round.name for budget_round in blockers], _("and")),
        "when": _when(last.voting_ends),
    }


@dataclass(frozen=True)
class PendingMove:
    to_area: Area
    since: datetime
    reason: str


def pending_moves_of(
    profiles: Iterable[ResidentProfile], *, now: datetime
) -> dict[int, PendingMove]:
    """The pending moves among ``profiles`` by profile id, each with why it waits: no
    query when none is pending, three whatever the number of profiles otherwise."""
    pending = [profile for profile in profiles if profile.pending_area_id is not None]
    if not pending:
        return {}
    areas = Area.objects.in_bulk([profile.pending_area_id for profile in pending])
    open_voting = open_voting_list(now=now)
    return {
        profile.pk: PendingMove(
            to_area=areas[profile.pending_area_id],
            since=profile.pending_since or now,
            reason=area_move_pending_reason(
                area_move_blockers(home_area_id=profile.area_id, open_voting=open_voting)
            ),
        )
        for profile in pending
        if profile.pending_area_id in areas
    }


# --- Moving a resident ------------------------------------------------------------------


def _may_change_area(user: AnyUser) -> None:
    enforce(
        ALLOW
        if permissions.can_change_resident_area(user)
        else deny(_("Only council officers change where a resident lives."))
    )


def _pending_change_of(profile: ResidentProfile) -> ResidentAreaChange | None:
    return (
        ResidentAreaChange.objects.filter(
            profile=profile,
            to_area_id=profile.pending_area_id,
            effective_at__isnull=True,
            cancelled_at__isnull=True,
        )
        .order_by("-changed_at", "-pk")
        .first()
    )


def resident_change_area(
    *,
    profile: ResidentProfile,
    area: Area,
    changed_by: AnyUser,
    reason: str,
    now: datetime,
) -> ResidentAreaChange:
    """Move a resident to another home area: at once, or pending while they may vote.

    Returns the recorded change: ``effective_at`` set when it took effect now, empty while
    it is pending; ``cancelled_at`` set when choosing their current area called off a
    pending move.
    """
    _may_change_area(changed_by)
    reason = text_clean(
        reason,
        field="reason",
        max_length=AREA_CHANGE_REASON_MAX,
        multiline=True,
        required_message=_("Say why the resident is moving area."),
    )
    return resident_area_move(
        profile=profile, area=area, changed_by=signed_in(changed_by), reason=reason, now=now
    )


def resident_area_move(
    *, profile: ResidentProfile, area: Area, changed_by: User, reason: str, now: datetime
) -> ResidentAreaChange:
    """Move a resident, at once or pending while they may vote, with no policy check:
    for callers that enforced their own (an officer's change above, a register import,
    a resident's eligibility verified for another area). ``reason`` is already clean.
    """
    _require_home_area(area)
    with transaction.atomic():
        # The profile's row lock orders this against a ballot being written for the
        # resident (which locks the same row) and against the job applying due moves.
        locked = ResidentProfile.objects.select_for_update().get(pk=profile.pk)
        earlier = _pending_change_of(locked) if locked.pending_area_id else None
        if locked.area_id == area.pk and earlier is None:
            raise ValidationError({"area": [_("The resident already lives in %s.") % area.name]})
        if locked.pending_area_id == area.pk:
            raise ValidationError(
                {"area": [_("A move to %s is already pending for this resident.") % area.name]}
            )
        if earlier is not None:
            earlier.cancelled_at = now
            earlier.save(update_fields=["cancelled_at"])
        if locked.area_id == area.pk and earlier is not None:
            # Back to where they live: the pending move is called off, nothing else.
            locked.pending_area = None
            locked.pending_since = None
            locked.save(update_fields=["pending_area", "pending_since", "updated_at"])
            profile.refresh_from_db()
            return earlier
        blockers = area_move_blockers(
            home_area_id=locked.area_id, open_voting=open_voting_list(now=now)
        )
        change = ResidentAreaChange.objects.create(
            profile=locked,
            from_area_id=locked.area_id,
            to_area=area,
            changed_by=changed_by,
            changed_at=now,
            reason=reason,
            effective_at=None if blockers else now,
        )
        if blockers:
            locked.pending_area = area
            locked.pending_since = now
        else:
            locked.area = area
            locked.pending_area = None
            locked.pending_since = None
        locked.save(update_fields=["area", "pending_area", "pending_since", "updated_at"])
    profile.refresh_from_db()
    return change


def resident_area_changes_apply_due(*, now: datetime) -> int:
    """Apply every pending move whose voting has closed; returns how many took effect.

    One transaction per resident, claimed with a conditional update (the profile still
    has the area and pending move we read), so running twice, or alongside an officer
    changing the move again, applies each move at most once. One failure is logged and
    does not stop the others; the next run retries it.
    """
    open_voting = open_voting_list(now=now)
    candidates = ResidentProfile.objects.filter(pending_area__isnull=False).values_list(
        "pk", "area_id", "pending_area_id"
    )
    applied = 0
    for profile_id, area_id, pending_area_id in list(candidates):
        if area_move_blockers(home_area_id=area_id, open_voting=open_voting):
            continue
        try:
            with transaction.atomic():
                claimed = ResidentProfile.objects.filter(
                    pk=profile_id, area_id=area_id, pending_area_id=pending_area_id
                ).update(
                    area_id=pending_area_id, pending_area=None, pending_since=None, updated_at=now
                )
                if claimed != 1:
                    continue  # changed meanwhile: an officer's new decision stands
                ResidentAreaChange.objects.filter(
                    profile_id=profile_id,
                    to_area_id=pending_area_id,
                    effective_at__isnull=True,
                    cancelled_at__isnull=True,
                ).update(effective_at=now)
        except DatabaseError:
            logger.exception("applying the pending area move of resident %s failed", profile_id)
            continue
        applied += 1
    return applied
