"""Who may do what in the voting app. Views and templates both ask here; when (the
phase) and where (the voter's areas) are rules checked by the services."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from proposals.permissions import has_home_area_and_verified_email

User = AbstractBaseUser | AnonymousUser


def can_vote_online(user: User) -> bool:
    """A signed-in resident with a verified email and a home area."""
    return user.has_perm("voting.cast_ballot") and has_home_area_and_verified_email(user)


def can_record_paper_ballots(user: User) -> bool:
    """Officers at a polling place: register walk-in voters and record paper ballots."""
    return user.is_authenticated and user.has_perm("voting.record_paper_ballot")


def can_view_turnout(user: User) -> bool:
    return user.is_authenticated and user.has_perm("voting.view_turnout")
