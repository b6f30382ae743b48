"""Who may do what in the proposals app. Views and templates both ask here."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress

from pb_platform.users import AnyUser
from proposals.models import CoauthorStatus, ProposalCoauthor, ResidentProfile

# Kept for callers that imported it from here; new code uses ``pb_platform.users``.
User = AnyUser


def can_manage_rounds(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.change_budgetround")


def can_manage_areas(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.change_area")


def can_view_residents(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.view_residentprofile")


def can_change_resident_area(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.change_resident_area")


def can_audit_rounds(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.audit_round")


def can_manage_register(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.manage_register")


def can_view_register_log(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.view_registerimport")


def can_use_officer_pages(user: User) -> bool:
    return can_manage_rounds(user) or can_manage_areas(user) or can_view_residents(user)


# --- Proposals --------------------------------------------------------------------------
# These say who (the role); ``proposals.policies`` adds when (the phase) and the state.


def has_home_area_and_verified_email(user: User) -> bool:
    """A signed-in person with a resident profile and a verified email (whatever the
    role): what taking part online needs. Apps add the permission they require."""
    return (
        user.is_authenticated
        and ResidentProfile.objects.filter(user=user).exists()
        and EmailAddress.objects.filter(user=user, verified=True).exists()
    )


def is_verified_resident(user: User) -> bool:
    """Signed in, in the resident role, with a verified email and a home area."""
    return user.has_perm("proposals.add_proposal") and has_home_area_and_verified_email(user)


def can_review_proposals(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.review_proposal")


def can_manage_categories(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.change_category")


def can_moderate_comments(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.change_comment")


def can_see_officer_identities(user: User) -> bool:
    """Officers and auditors see who did what; the public sees "an officer"."""
    return user.is_authenticated and user.has_perm("proposals.view_proposalevent")


def can_see_hidden_comments(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.view_comment")


def can_flag_comments(user: User) -> bool:
    return user.is_authenticated and user.has_perm("proposals.add_commentflag")


def can_see_proposal(user: User, proposal: Any) -> bool:
    """What was never submitted (a draft, or a draft withdrawn) is its writers' alone;
    everything submitted stays public, whatever became of it."""
    return proposal.submitted_at is not None or is_writer(user, proposal)


def is_author(user: User, proposal: Any) -> bool:
    return user.is_authenticated and proposal.author_id == user.pk


def coauthor_user_ids(proposal: Any) -> frozenset[int]:
    """The accounts that accepted an invitation to write ``proposal``. Read from the
    page's prefetch (``live_coauthors``, see ``selectors.proposal_detail``) when there,
    else with one query; remembered on the object either way."""
    known = proposal.__dict__.get("_coauthor_user_ids")
    if known is None:
        live = proposal.__dict__.get("live_coauthors")
        if live is not None:
            known = frozenset(c.user_id for c in live if c.status == CoauthorStatus.ACCEPTED)
        else:
            known = frozenset(
                ProposalCoauthor.objects.filter(
                    proposal_id=proposal.pk, status=CoauthorStatus.ACCEPTED
                ).values_list("user_id", flat=True)
            )
        proposal.__dict__["_coauthor_user_ids"] = known
    return known


def is_coauthor(user: User, proposal: Any) -> bool:
    return user.is_authenticated and user.pk in coauthor_user_ids(proposal)


def is_writer(user: User, proposal: Any) -> bool:
    """The author or an accepted co-author: those who write the proposal's text."""
    return is_author(user, proposal) or is_coauthor(user, proposal)


def has_verified_email(user: User, email: str) -> bool:
    """Whether ``email`` (any case) is one of the account's verified addresses."""
    return (
        user.is_authenticated
        and EmailAddress.objects.filter(user=user, verified=True, email__iexact=email).exists()
    )
