"""Who may do what in the voting app, by role. ``voting.policies`` builds on these and
adds when (the phase) and where (the voter's areas); views and services ask the policies."""

from __future__ import annotations

from allauth.account.models import EmailAddress

from pb_platform.users import AnyUser
from proposals.permissions import has_home_area_and_verified_email

# Where ``has_verified_email`` keeps its answer on the user object for the request, so a
# page that asks about several areas asks the database once (as Django caches perms).
_VERIFIED_CACHE = "_voting_verified_email"


def can_vote_online(user: AnyUser) -> bool:
    """A signed-in resident with a verified email and a home area."""
    return user.has_perm("voting.cast_ballot") and has_home_area_and_verified_email(user)


def has_resident_role(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, _ROLE_CACHE, None)
    return cached if cached is not None else user.has_perm("voting.cast_ballot")


# Where ``resident_role_remember`` keeps the answer on the user object for the request.
_ROLE_CACHE = "_voting_resident_role"


def resident_role_remember(user: AnyUser, *, role: bool, verified_email: bool) -> None:
    """Keep what a read of the voter's profile learnt (whether Django's permission backend
    grants them the role, and whether they have a verified email: see
    ``voting.selectors.ballot_voter``) for ``has_resident_role`` and
    ``has_verified_email``."""
    setattr(user, _ROLE_CACHE, role)
    setattr(user, _VERIFIED_CACHE, verified_email)


def has_verified_email(user: AnyUser) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, _VERIFIED_CACHE, None)
    if cached is None:
        cached = EmailAddress.objects.filter(user=user, verified=True).exists()
        setattr(user, _VERIFIED_CACHE, cached)
    return cached


def can_record_paper_ballots(user: AnyUser) -> bool:
    """Officers at a polling place: register walk-in voters and record paper ballots."""
    return user.is_authenticated and user.has_perm("voting.record_paper_ballot")


def can_view_turnout(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_perm("voting.view_turnout")


def can_record_outreach(user: AnyUser) -> bool:
    """Council officers record what they did to reach an area's residents."""
    return user.is_authenticated and user.has_perm("voting.record_outreach")
