"""May this person vote here now, and if not, why: the voting app's rules.

Each function decides from the user's role (``voting.permissions``), the round's phase at
``now`` and the state of objects the caller already loaded (the round area with its round
and area, the resident's profile, their ballot there), and returns a ``Decision``. The
services ``enforce`` them whoever calls (a page, the demo command, a test); pages only
show the answer and its reason.

Eligibility (a rule of participatory budgeting as this council runs it): a resident votes
in their home area and in any area covering the whole council. A change of home area
made while they may vote is only *pending* (``ResidentProfile.pending_area``) until that
voting has closed, so nobody can vote in one area, be moved, and vote in another.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from pb_platform.policies import ALLOW, Decision, deny, first_denial
from pb_platform.users import AnyUser
from proposals.models import BudgetRound, ResidentProfile, RoundArea
from proposals.phases import Phase
from voting import permissions
from voting.models import Ballot, BallotChannel


def when_shown(moment: datetime) -> str:
    """ "24 November 2026, 14:50" in the site's time zone (no "p.m." to clash with the
    sentence's full stop)."""
    return formats.date_format(timezone.localtime(moment), "j F Y, H:i")


def profile_of(user: AnyUser) -> ResidentProfile | None:
    """The user's resident profile (cached on the user once loaded), or None."""
    if not user.is_authenticated:
        return None
    try:
        return user.resident_profile  # type: ignore[union-attr]
    except ObjectDoesNotExist:
        return None


# --- The round and the area -------------------------------------------------------------


def round_voting_open(budget_round: BudgetRound, *, now: datetime) -> Decision:
    """Whether the clock says the round is taking ballots."""
    if budget_round.is_imported:
        return deny(
            _("“%(round)s” is a past round kept for the record; nobody votes in it here.")
            % {"round": budget_round.name}
        )
    if budget_round.phase_at(now) == Phase.VOTING:
        return ALLOW
    if now < budget_round.voting_starts:
        return deny(
            _("Voting in “%(round)s” opens on %(when)s.")
            % {"round": budget_round.name, "when": when_shown(budget_round.voting_starts)}
        )
    return deny(
        _("Voting in “%(round)s” closed on %(when)s.")
        % {"round": budget_round.name, "when": when_shown(budget_round.voting_ends)}
    )


def area_voting_open(round_area: RoundArea, *, now: datetime) -> Decision:
    """The round takes ballots and this area has not been closed by the count (the
    count may run a moment before a page thinks voting is over)."""
    return first_denial(
        round_voting_open(round_area.budget_round, now=now),
        ALLOW
        if round_area.voting_closed_at is None
        else deny(
            _("Voting in %(area)s has closed and the votes have been counted.")
            % {"area": round_area.area.name}
        ),
    )


# --- Who votes where ----------------------------------------------------------------------


def _lives_in(profile: ResidentProfile, round_area: RoundArea, *, officer: bool) -> Decision:
    """Home area or a whole-council area; a pending move does not count yet."""
    if round_area.area.is_city_wide or round_area.area_id == profile.area_id:
        return ALLOW
    values = {
        "name": profile.display_name,
        "home": profile.area.name,
        "area": round_area.area.name,
        "round": round_area.budget_round.name,
        "when": when_shown(round_area.budget_round.voting_ends),
    }
    if profile.pending_area_id is not None and profile.pending_area_id == round_area.area_id:
        if officer:
            message = _(
                "The move of %(name)s from %(home)s to %(area)s is pending while voting is "
                "open (in “%(round)s” until %(when)s), so they still vote for %(home)s."
            )
        else:
            message = _(
                "Your move to %(area)s is pending while voting is open (in “%(round)s” "
                "until %(when)s): until it takes effect you vote for %(home)s, not %(area)s."
            )
        return deny(message % values)
    if officer:
        message = _(
            "%(name)s lives in %(home)s, so cannot vote on proposals for %(area)s. "
            "If the home area is wrong, an officer can change it."
        )
    else:
        message = _(
            "You live in %(home)s, so you cannot vote on proposals for %(area)s. "
            "If you have moved, ask a council officer to change your area."
        )
    return deny(message % values)


def voter_standing(user: AnyUser) -> Decision:
    """Whether this account may vote online at all, whatever the round."""
    if not user.is_authenticated:
        return deny(_("Sign in to vote."))
    if profile_of(user) is None:
        return deny(_("Only registered residents can vote. Staff accounts cannot vote."))
    if not permissions.has_resident_role(user):
        return deny(
            _("This account cannot vote online. Ask a council officer if you think it should.")
        )
    if not permissions.has_verified_email(user):
        return deny(
            _(
                "Before you can vote, confirm your email address: follow the link in the "
                "email we sent you."
            )
        )
    return ALLOW


def _no_paper_ballot(ballot: Ballot | None, round_area: RoundArea) -> Decision:
    if ballot is None or ballot.channel == BallotChannel.ONLINE:
        return ALLOW
    return deny(
        _(
            "An officer recorded your paper ballot for %(area)s. It counts as it is. It "
            "cannot be changed online."
        )
        % {"area": round_area.area.name}
    )


def can_vote(
    user: AnyUser, round_area: RoundArea, *, now: datetime, ballot: Ballot | None = None
) -> Decision:
    """May this resident cast (or change) their online ballot for this area now?

    ``ballot`` is their ballot there, if any (a paper ballot is final).
    """
    standing = voter_standing(user)
    if not standing:
        return standing
    profile = profile_of(user)
    if profile is None:  # voter_standing checked it; this tells the type checker
        return deny(_("Only registered residents can vote."))
    return first_denial(
        area_voting_open(round_area, now=now),
        _lives_in(profile, round_area, officer=False),
        _no_paper_ballot(ballot, round_area),
    )


def _not_voted_yet(
    profile: ResidentProfile, round_area: RoundArea, ballot: Ballot | None
) -> Decision:
    if ballot is None:
        return ALLOW
    values = {
        "name": profile.display_name,
        "area": round_area.area.name,
        "when": when_shown(ballot.cast_at),
    }
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
    return deny(message % values)


def polling_officer(user: AnyUser) -> Decision:
    """An officer who may take paper ballots (whatever the round or the voter)."""
    if permissions.can_record_paper_ballots(user):
        return ALLOW
    return deny(_("Only council officers record paper ballots."))


def can_record_paper_ballot(
    officer: AnyUser,
    voter_profile: ResidentProfile,
    round_area: RoundArea,
    *,
    now: datetime,
    existing_ballot: Ballot | None = None,
) -> Decision:
    """May this officer record a paper ballot of this person for this area now?

    ``existing_ballot`` is the person's ballot there, if any: each person votes once.
    """
    return first_denial(
        polling_officer(officer),
        area_voting_open(round_area, now=now),
        _lives_in(voter_profile, round_area, officer=True),
        _not_voted_yet(voter_profile, round_area, existing_ballot),
    )


def can_register_walk_in(user: AnyUser) -> Decision:
    """Officers at a polling place register people who have no account."""
    if permissions.can_record_paper_ballots(user):
        return ALLOW
    return deny(_("Only council officers register walk-in voters."))


def can_view_turnout(user: AnyUser) -> Decision:
    if permissions.can_view_turnout(user):
        return ALLOW
    return deny(_("Only council officers and auditors see turnout."))
