"""A resident's personal data: download it (JSON) and close the account.

Closing anonymises rather than deletes: the user row stays (inactive) because ballots,
proposals, comments and the ledger point at it, and a ballot must stay counted (and
secret) after its voter leaves. What goes: the email address (the account's and
allauth's rows, and the address kept on queued and sent emails), the name shown
publicly, the date of birth, email choices, the password. Staff accounts (officers,
auditors) are only deactivated: what they did must stay attributable to them.

Who may do what is decided in ``pb_platform.policies``; the services here enforce it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext as _

from pb_platform import outbox
from pb_platform.models import EmailLanguage, EmailPreference, OutboxEmail
from pb_platform.policies import can_close_account, can_download_personal_data, enforce
from pb_platform.roles import AUDITOR, OFFICER, roles_of
from pb_platform.users import AnyUser, User, signed_in

# What a closed resident's proposals and comments are shown as by. Stored in the
# profile's ``display_name`` so every page that names an author shows it unchanged.
FORMER_RESIDENT = "A former resident"
CLOSED_CANCEL_REASON = "account closed"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def personal_data_export(*, user: AnyUser) -> dict[str, Any]:
    """Everything the platform holds about ``user``, for ``user``, as plain JSON values.

    Ballots are listed by their existence and receipt code only, never their choices:
    the ballot's secrecy holds against everyone, the voter's own download included (a
    file showing how someone voted could be demanded of them).
    """
    enforce(can_download_personal_data(user))
    person = signed_in(user)
    # Imported here: pb_platform is below the apps, which import it at load time.
    from ledgers.models import Assessment, AssessmentFlag, DeliveryFollower
    from proposals.models import (
        CommentFlag,
        ProposalCoauthor,
        ProposalSupport,
        ProposalVersion,
        ResidentProfile,
    )
    from voting.models import Ballot

    profile = (
        ResidentProfile.objects.select_related("area", "pending_area").filter(user=person).first()
    )
    data: dict[str, Any] = {
        "account": {
            "email": person.email,
            "email_addresses": [
                {"email": row.email, "verified": row.verified, "primary": row.primary}
                for row in EmailAddress.objects.filter(user=person).order_by("pk")
            ],
            "joined_at": _when(person.date_joined),
            "last_sign_in_at": _when(person.last_login),
            "roles": roles_of(person),
        },
        "profile": None,
        "area_history": [],
        "proposals": [
            {
                "id": proposal.pk,
                "round": proposal.budget_round.name,
                "area": proposal.round_area.area.name,
                "title": proposal.title,
                "description": proposal.description,
                "location": proposal.location,
                "estimated_cost": str(proposal.estimated_cost),
                "status": proposal.status,
                "image": proposal.image.name or None,
                "image_description": proposal.image_description,
                "created_at": _when(proposal.created_at),
                "submitted_at": _when(proposal.submitted_at),
            }
            for proposal in person.proposals.select_related(
                "budget_round", "round_area__area"
            ).order_by("pk")
        ],
        # Proposals others wrote with them: the invitation they accepted, and each
        # version of a text they made (the texts themselves are the proposals').
        "coauthorships": [
            {
                "proposal_id": coauthor.proposal_id,
                "invited_at": _when(coauthor.invited_at),
                "answered_at": _when(coauthor.answered_at),
                "status": coauthor.status,
            }
            for coauthor in ProposalCoauthor.objects.filter(user=person).order_by("pk")
        ],
        "proposal_versions": [
            {"proposal_id": proposal_id, "number": number, "at": _when(at)}
            for proposal_id, number, at in ProposalVersion.objects.filter(made_by=person)
            .order_by("pk")
            .values_list("proposal_id", "number", "at")
        ],
        "comments": [
            {
                "id": comment.pk,
                "proposal_id": comment.proposal_id,
                "body": comment.body,
                "created_at": _when(comment.created_at),
                "hidden": comment.hidden_at is not None,
            }
            for comment in person.proposal_comments.order_by("pk")
        ],
        "comment_flags": [
            {"comment_id": flag.comment_id, "created_at": _when(flag.created_at)}
            for flag in CommentFlag.objects.filter(flagged_by=person).order_by("pk")
        ],
        "proposals_supported": [
            {"proposal_id": support.proposal_id, "created_at": _when(support.created_at)}
            for support in ProposalSupport.objects.filter(user=person).order_by("pk")
        ],
        # Which areas the person voted in, how and when, and the receipt code to find
        # their ballot among those counted. Never what they chose.
        "ballots": [
            {
                "round": ballot.round_area.budget_round.name,
                "area": ballot.round_area.area.name,
                "channel": ballot.channel,
                "receipt_code": ballot.receipt_code,
                "cast_at": _when(ballot.cast_at),
                "changed_at": _when(ballot.changed_at),
            }
            for ballot in Ballot.objects.filter(voter=person)
            .select_related("round_area__budget_round", "round_area__area")
            .order_by("pk")
        ],
        # Their assessments of delivered proposals as they stand, and how many versions
        # each had (every version is kept, and shown to them on its page).
        "assessments": [
            {
                "proposal_id": assessment.proposal_id,
                "as": assessment.kind,
                "scores": {score.criterion.name: score.score for score in assessment.scores.all()},
                "comment": assessment.comment,
                "versions": assessment.revision,
                "first_given_at": _when(assessment.created_at),
                "last_changed_at": _when(assessment.updated_at),
            }
            for assessment in Assessment.objects.filter(assessor=person)
            .prefetch_related("scores__criterion")
            .order_by("pk")
        ],
        "assessments_reported": [
            {"assessment_id": flag.assessment_id, "created_at": _when(flag.created_at)}
            for flag in AssessmentFlag.objects.filter(flagged_by=person).order_by("pk")
        ],
        "deliveries_followed": [
            {"proposal_id": row.proposal_id, "since": _when(row.created_at)}
            for row in DeliveryFollower.objects.filter(user=person).order_by("pk")
        ],
        "email_preferences": {
            kind.name: enabled for kind, enabled in outbox.email_preferences_of(person)
        },
        "email_language": outbox.recipient_language(person),
        "emails_sent_or_queued": [
            {
                "kind": item.kind,
                "queued_at": _when(item.created_at),
                "sent_at": _when(item.sent_at),
                "cancelled_at": _when(item.cancelled_at),
            }
            for item in OutboxEmail.objects.filter(recipient=person).order_by("pk")
        ],
    }
    if profile is not None:
        data["profile"] = {
            "name_shown_publicly": profile.display_name,
            "area": profile.area.name,
            "moving_to": profile.pending_area.name if profile.pending_area else None,
            "date_of_birth": profile.date_of_birth.isoformat() if profile.date_of_birth else None,
            "registered_in_person_by_an_officer": profile.registered_by_id is not None,
            # How and when the council verified that the person may vote (never the
            # register's data: it keeps only keyed hashes).
            "eligibility_verified_by": profile.eligibility_method or None,
            "eligibility_verified_at": _when(profile.eligibility_verified_at),
            "created_at": _when(profile.created_at),
        }
        data["area_history"] = [
            {
                "from": change.from_area.name,
                "to": change.to_area.name,
                "changed_at": _when(change.changed_at),
                "reason": change.reason,
                "took_effect_at": _when(change.effective_at),
                "cancelled_at": _when(change.cancelled_at),
            }
            for change in profile.area_changes.select_related("from_area", "to_area").order_by(
                "changed_at", "pk"
            )
        ]
    return data


def is_staff_account(user: User) -> bool:
    """Officers, auditors and admins: their actions must stay attributable to them."""
    return user.is_superuser or user.is_staff or bool({OFFICER, AUDITOR} & set(roles_of(user)))


def account_close(*, user: AnyUser, password: str, now: datetime) -> str:
    """Close the signed-in person's account; returns ``"anonymised"`` or
    ``"deactivated"`` (staff). A wrong password raises ``ValidationError`` on
    ``password`` and changes nothing.

    Either way the account can no longer sign in and its pending emails are cancelled.
    A resident's account is also anonymised: see the module's docstring.
    """
    enforce(can_close_account(user))
    person = signed_in(user)
    if not password or not check_password(password, person.password):
        raise ValidationError({"password": [_("That is not your password.")]})
    from proposals.models import ProposalCoauthor, ResidentProfile

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=person.pk)
        enforce(can_close_account(locked))
        OutboxEmail.objects.filter(
            recipient=locked,
            sent_at__isnull=True,
            gave_up_at__isnull=True,
            cancelled_at__isnull=True,
        ).update(cancelled_at=now, cancel_reason=CLOSED_CANCEL_REASON, claimed_until=None)
        locked.is_active = False
        if is_staff_account(locked):
            locked.save(update_fields=["is_active"])
            return "deactivated"
        # A new random unusable password also ends every session of the account
        # (Django checks the session's hash of the password).
        locked.set_unusable_password()
        locked.email = ""
        locked.first_name = ""
        locked.last_name = ""
        locked.username = f"closed-{locked.pk}"
        locked.save(
            update_fields=[
                "is_active",
                "password",
                "email",
                "first_name",
                "last_name",
                "username",
            ]
        )
        EmailAddress.objects.filter(user=locked).delete()
        EmailPreference.objects.filter(user=locked).delete()
        EmailLanguage.objects.filter(user=locked).delete()
        OutboxEmail.objects.filter(recipient=locked).update(to_email="")
        # The profile stays: its area counts the ballots, and its eligibility (how and
        # when the council verified the person) stays with the register's link to the
        # account (``RegisterEntry.verified_account``, ``VerificationCode.used_by``),
        # untouched here: a register entry verifies one account only, so nobody can
        # close an account, sign up again and vote a second time.
        from allauth.mfa.models import Authenticator

        Authenticator.objects.filter(user=locked).delete()
        ResidentProfile.objects.filter(user=locked).update(
            display_name=FORMER_RESIDENT, date_of_birth=None, updated_at=now
        )
        # Co-authorships keep who wrote what, not the address the invitation went to
        # (one placeholder per row: an address is invited once per proposal).
        ProposalCoauthor.objects.filter(user=locked).update(
            email=Concat(Value("closed-"), Cast("pk", CharField()), Value("@closed.invalid"))
        )
        # Likewise an invitation to assess they took up; their assessments stay, shown as
        # a former resident's (or an invited service user's). No more delivery news.
        from ledgers.models import AssessmentInvitation, DeliveryFollower

        AssessmentInvitation.objects.filter(used_by=locked).update(
            email=Concat(Value("closed-"), Cast("pk", CharField()), Value("@closed.invalid"))
        )
        DeliveryFollower.objects.filter(user=locked).delete()
    return "anonymised"
