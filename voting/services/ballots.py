"""Casting ballots: online by residents, on paper by officers for residents they assist.

Rules, all checked here against the clock (``now``) inside the transaction that writes:

- a ballot is accepted only while the round is in its voting phase and its area has not
  been closed by the count, even if the close job has not run yet;
- a resident votes in their home area and in any area covering the whole council;
- the choices must be proposals on that area's ballot, within the area's budget
  (approval within budget) or at most k of them (k-approval);
- one ballot per person per area, whatever the channel: a unique constraint in the
  database guarantees it; an online voter may change their ballot until voting closes
  (the last one counts), a paper ballot is final.

Counting waits for ballots being written: each ballot transaction holds a shared lock on
its area's row, which the close job's claim (an UPDATE of that row) must wait for.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pb_platform.money import money_format
from proposals.models import Area, BallotType, Proposal, ResidentProfile, RoundArea
from proposals.phases import Phase
from voting.models import Ballot, BallotChannel, BallotChoice
from voting.selectors import area_ballot_proposals
from voting.services.receipts import receipt_enqueue

logger = logging.getLogger(__name__)

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)


def receipt_code_new() -> str:
    """A random code a voter can look for in the published list: 16 characters (80 bits)
    in groups of four."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _when(moment: datetime) -> str:
    """ "24 November 2026, 14:50" in the site's time zone (no trailing "p.m." to clash
    with the sentence's full stop)."""
    return formats.date_format(timezone.localtime(moment), "j F Y, H:i")


def _lock_area_for_voting(round_area: RoundArea) -> datetime | None:
    """Hold a shared lock on the area's row until the transaction ends, so the close
    job's claim waits for this ballot; returns when the area was closed, if it was.

    SQLite (development only) has no row locks; its single writer serialises instead.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT voting_closed_at FROM proposals_roundarea WHERE id = %s FOR SHARE",
                [round_area.pk],
            )
            return cursor.fetchone()[0]
    return RoundArea.objects.values_list("voting_closed_at", flat=True).get(pk=round_area.pk)


def _require_open(round_area: RoundArea, now: datetime) -> None:
    budget_round = round_area.budget_round
    phase = budget_round.phase_at(now)
    if phase != Phase.VOTING or budget_round.is_imported:
        if now < budget_round.voting_starts:
            message = _("Voting in “%(round)s” opens on %(when)s.")
            when = budget_round.voting_starts
        else:
            message = _("Voting in “%(round)s” closed on %(when)s. Your choice was not saved.")
            when = budget_round.voting_ends
        raise ValidationError(message % {"round": budget_round.name, "when": _when(when)})
    if _lock_area_for_voting(round_area) is not None:
        raise ValidationError(
            _("Voting in %(area)s has closed and the votes have been counted.")
            % {"area": round_area.area.name}
        )


def _require_eligible(profile: ResidentProfile, round_area: RoundArea) -> None:
    if round_area.area.is_city_wide or round_area.area_id == profile.area_id:
        return
    raise ValidationError(
        _(
            "%(name)s lives in %(home)s, so cannot vote on proposals for %(area)s. "
            "If the home area is wrong, an officer can change it."
        )
        % {"name": profile.display_name, "home": profile.area.name, "area": round_area.area.name}
    )


def ballot_choices_check(*, round_area: RoundArea, proposal_ids: Collection[int]) -> list[Proposal]:
    """The chosen proposals, or a ValidationError saying plainly what is wrong."""
    chosen_ids = set(proposal_ids)
    if not chosen_ids:
        raise ValidationError(_("Choose at least one proposal."))
    on_ballot = {proposal.pk: proposal for proposal in area_ballot_proposals(round_area=round_area)}
    if not chosen_ids <= on_ballot.keys():
        raise ValidationError(
            _(
                "Some of your choices are not on the ballot for %(area)s (they may have been "
                "withdrawn or belong to another area). Please choose again from the list."
            )
            % {"area": round_area.area.name}
        )
    chosen = [on_ballot[pk] for pk in sorted(chosen_ids)]
    budget_round = round_area.budget_round
    limit = budget_round.max_choices
    if limit and len(chosen) > limit:
        raise ValidationError(
            ngettext(
                "You chose %(count)d proposals; you may choose up to %(limit)d proposal.",
                "You chose %(count)d proposals; you may choose up to %(limit)d proposals.",
                limit,
            )
            % {"count": len(chosen), "limit": limit}
        )
    if budget_round.ballot_type == BallotType.APPROVAL_WITHIN_BUDGET:
        total = sum((proposal.official_cost for proposal in chosen), Decimal(0))
        if total > round_area.budget:
            currency = budget_round.currency
            raise ValidationError(
                _(
                    "Your choices cost %(total)s, which is %(over)s more than the %(budget)s "
                    "available for %(area)s. Untick some proposals and try again."
                )
                % {
                    "total": money_format(total, currency),
                    "over": money_format(total - round_area.budget, currency),
                    "budget": money_format(round_area.budget, currency),
                    "area": round_area.area.name,
                }
            )
    return chosen


def _choices_replace(ballot: Ballot, chosen: list[Proposal]) -> None:
    BallotChoice.objects.filter(ballot=ballot).delete()
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot=ballot, proposal=proposal) for proposal in chosen
    )


def _profile_of(voter: AbstractBaseUser) -> ResidentProfile:
    profile = ResidentProfile.objects.select_related("area").filter(user=voter).first()
    if profile is None:
        raise ValidationError(_("Only registered residents can vote."))
    return profile


def ballot_submit(
    *, voter: AbstractBaseUser, round_area: RoundArea, proposal_ids: Collection[int], now: datetime
) -> Ballot:
    """Cast or change the voter's online ballot for an area. The last one counts.

    Safe under concurrent submissions by the same voter: the unique constraint lets one
    insert win, the others wait for it and then replace its choices under a row lock, so
    the stored choices are exactly one of the submitted sets.
    """
    profile = _profile_of(voter)
    _require_eligible(profile, round_area)
    chosen = ballot_choices_check(round_area=round_area, proposal_ids=proposal_ids)
    with transaction.atomic():
        _require_open(round_area, now)
        ballot, created = Ballot.objects.select_for_update().get_or_create(
            round_area=round_area,
            voter=voter,
            defaults={
                "channel": BallotChannel.ONLINE,
                "receipt_code": receipt_code_new(),
                "cast_at": now,
                "changed_at": now,
            },
        )
        if ballot.channel != BallotChannel.ONLINE:
            raise ValidationError(
                _(
                    "An officer recorded your paper ballot for %(area)s on %(when)s. It "
                    "counts, and it cannot be changed online."
                )
                % {"area": round_area.area.name, "when": _when(ballot.cast_at)}
            )
        if not created:
            ballot.changed_at = now
            ballot.save(update_fields=["changed_at"])
        _choices_replace(ballot, chosen)
        _receipt_email_after_commit(ballot)
    return ballot


def paper_ballot_record(
    *,
    officer: AbstractBaseUser,
    voter: AbstractBaseUser,
    round_area: RoundArea,
    proposal_ids: Collection[int],
    now: datetime,
) -> Ballot:
    """Record a paper (or assisted) ballot an officer took for a resident. Final: a
    person who already has a ballot for the area, online or on paper, is refused."""
    profile = _profile_of(voter)
    _require_eligible(profile, round_area)
    if Ballot.objects.filter(round_area=round_area, voter=voter).exists():
        raise _already_voted_error(profile, round_area)  # before any complaint about choices
    chosen = ballot_choices_check(round_area=round_area, proposal_ids=proposal_ids)
    try:
        with transaction.atomic():
            _require_open(round_area, now)
            if Ballot.objects.filter(round_area=round_area, voter=voter).exists():
                raise _already_voted_error(profile, round_area)
            ballot = Ballot.objects.create(
                round_area=round_area,
                voter=voter,
                channel=BallotChannel.PAPER,
                recorded_by=officer,
                receipt_code=receipt_code_new(),
                cast_at=now,
                changed_at=now,
            )
            _choices_replace(ballot, chosen)
            # Walk-in voters have no email: nothing is queued; the officer hands it over.
            _receipt_email_after_commit(ballot)
    except IntegrityError:
        # The voter's own online ballot (or a colleague's entry) arrived in the meantime.
        raise _already_voted_error(profile, round_area) from None
    return ballot


def _already_voted_error(profile: ResidentProfile, round_area: RoundArea) -> ValidationError:
    """The refusal of a second ballot, naming the channel of the first."""
    ballot = (
        Ballot.objects.filter(round_area=round_area, voter_id=profile.user_id)
        .only("channel", "cast_at")
        .first()
    )
    values = {"name": profile.display_name, "area": round_area.area.name}
    if ballot is None:
        return ValidationError(_("%(name)s already has a ballot for %(area)s.") % values)
    values["when"] = _when(ballot.cast_at)
    if ballot.channel == BallotChannel.ONLINE:
        message = _(
            "%(name)s already voted online for %(area)s on %(when)s, so a paper ballot "
            "cannot be added. Their online vote counts."
        )
    else:
        message = _(
            "A paper ballot for %(name)s in %(area)s was already recorded on %(when)s. "
            "Each person votes once."
        )
    return ValidationError(message % values)


def walk_in_voter_register(
    *, officer: AbstractBaseUser, name: str, area: Area, date_of_birth: date, today: date
) -> ResidentProfile:
    """Register a person who came to a polling place without an account, so an officer
    can record their paper ballot. They get no login; the officer saw proof of address."""
    name = " ".join(name.split())
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Enter the voter's full name.")]
    elif len(name) > 80:
        errors["name"] = [_("Keep the name to 80 characters or fewer.")]
    if area.is_city_wide:
        errors["area"] = [_("Choose the area where the voter lives, not the whole council.")]
    if date_of_birth > today:
        errors["date_of_birth"] = [_("The date of birth cannot be in the future.")]
    elif date_of_birth.year < 1900:
        errors["date_of_birth"] = [_("Check the year of birth.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        duplicate = ResidentProfile.objects.filter(
            display_name__iexact=name, date_of_birth=date_of_birth, area=area
        ).exists()
        if duplicate:
            raise ValidationError(
                _(
                    "%(name)s, born %(born)s, is already registered in %(area)s. Find them "
                    "in the list and record their ballot there."
                )
                % {"name": name, "born": formats.date_format(date_of_birth), "area": area.name}
            )
        user = get_user_model()(username=f"walk-in-{secrets.token_hex(8)}", email="")
        user.set_unusable_password()
        user.save()
        return ResidentProfile.objects.create(
            user=user,
            display_name=name,
            area=area,
            date_of_birth=date_of_birth,
            registered_by=officer,
        )


# --- Receipt emails (queued in the ballot's transaction, sent after it commits) ---------


def _receipt_email_after_commit(ballot: Ballot) -> None:
    receipt_enqueue(ballot, now=ballot.changed_at)
