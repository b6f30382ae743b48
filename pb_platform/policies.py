"""The shape every app's ``policies.py`` answers in: a ``Decision``.

A policy function answers "may this user do this to this object now, and if not, why"
from the user's role, the round's phase and the object's state, using only objects the
caller has already loaded (so list pages keep a constant number of queries). Services
call ``enforce`` on it whoever calls them (view, command, task, test); views and
templates only show the answer (``{% if decision %}`` … ``{{ decision.reason }}``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from pb_platform.roles import AUDITOR, OFFICER
from pb_platform.users import AnyUser, User


@dataclass(frozen=True)
class Decision:
    """Truthy when allowed; otherwise carries the reason shown to the person."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    def __str__(self) -> str:
        return self.reason


ALLOW = Decision(allowed=True)


def deny(reason: str) -> Decision:
    return Decision(allowed=False, reason=str(reason))


def first_denial(*decisions: Decision) -> Decision:
    """The first refusal among ``decisions`` (checked in order), or ``ALLOW``."""
    for decision in decisions:
        if not decision:
            return decision
    return ALLOW


class PolicyDenied(PermissionDenied):
    """A service refused because its policy said no. The 403 page shows the reason."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def enforce(decision: Decision) -> None:
    """Raise ``PolicyDenied`` (a ``PermissionDenied``) unless ``decision`` allows."""
    if not decision:
        raise PolicyDenied(decision)


# --- Jobs (pb_platform.jobs) ---------------------------------------------------------------


def can_retry_job(user: AnyUser) -> Decision:
    """Officers retry an item a periodic job gave up on (after its automatic tries)."""
    if not user.is_authenticated:
        return deny(_("Sign in as a council officer to retry a job."))
    if not user.has_perm("pb_platform.retry_jobitem"):
        return deny(_("Only council officers can retry a job that failed."))
    return ALLOW


def can_view_jobs(user: AnyUser) -> Decision:
    """Officers and auditors see which job items failed, and who retried them."""
    if not user.is_authenticated:
        return deny(_("Sign in as a council officer or auditor to see the jobs' history."))
    if not user.has_perm("pb_platform.view_jobitem"):
        return deny(_("Only council officers and auditors can see the jobs' history."))
    return ALLOW


# --- Signing in (allauth.mfa) --------------------------------------------------------------


def has_two_factor(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def can_use_staff_pages_now(user: AnyUser) -> Decision:
    """With ``MFA_REQUIRED_FOR_STAFF``, officers, auditors and administrators set up
    two-factor sign-in before using their pages: their accounts can change rounds,
    ballots and money, so a guessed or reused password must not be enough."""
    if not (settings.MFA_REQUIRED_FOR_STAFF and isinstance(user, User)):
        return ALLOW
    is_staff_role = user.is_staff or user.groups.filter(name__in=(OFFICER, AUDITOR)).exists()
    if is_staff_role and not has_two_factor(user):
        return deny(
            _(
                "Officers and auditors must turn on two-factor sign-in before using their "
                "pages. Set it up with an authenticator app below."
            )
        )
    return ALLOW


# --- Personal data (pb_platform.privacy) --------------------------------------------------


def can_download_personal_data(user: AnyUser) -> Decision:
    """Everyone signed in downloads what the platform holds about them (never anyone
    else's data: the download is always the signed-in person's own)."""
    if not user.is_authenticated:
        return deny(_("Sign in to download your data."))
    return ALLOW


def can_close_account(user: AnyUser) -> Decision:
    """Everyone signed in may close their own account, except a superuser: closing the
    last one would lock the council out of the admin, so another superuser deactivates it
    there. What closing does depends on the account (``privacy.account_close``)."""
    if not user.is_authenticated:
        return deny(_("Sign in to close your account."))
    if not user.is_active:
        return deny(_("This account is already closed."))
    if user.is_superuser:
        return deny(
            _(
                "A superuser account cannot be closed here: ask another superuser to "
                "deactivate it in the admin."
            )
        )
    return ALLOW
