"""Assessment by the people who use what was built: writes.

Once the council marks a funded proposal delivered, verified residents of its area, and
people an officer invited by a one-time link (users of a service who may live
elsewhere), rate it from 1 to 5 on the round's criteria and comment, for the round's
window (12 months unless an officer sets another). Each person has one assessment per
proposal (a database constraint); updating it keeps every earlier version. Officers
reply publicly and may hide a comment that breaks the rules, as for comments.

Reads (criteria, summaries, the report) are in ``ledgers.selectors``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ledgers import policies, selectors
from ledgers.models import (
    ASSESSMENT_COMMENT_MAX,
    ASSESSMENT_INVITATION_DAYS,
    ASSESSMENT_WINDOW_MONTHS_MAX,
    SCORE_MAX,
    SCORE_MIN,
    Assessment,
    AssessmentCriterion,
    AssessmentFlag,
    AssessmentInvitation,
    AssessmentRevision,
    AssessmentScore,
    AssessmentSetup,
    AssessorKind,
)
from ledgers.services import round_lock
from pb_platform.outbox import ASSESSMENT_INVITATION, email_enqueue
from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import User
from proposals.models import BudgetRound, Proposal
from proposals.services.coauthors import token_hash

CRITERIA_MAX = 6
CRITERION_NAME_MAX = AssessmentCriterion._meta.get_field("name").max_length or 80


def score_field(criterion: AssessmentCriterion) -> str:
    """The form field (and error key) of one criterion's score."""
    return f"score_{criterion.position}"


# --- Setting up a round ----------------------------------------------------------------


def _criteria_saved(budget_round: BudgetRound) -> list[AssessmentCriterion]:
    """The round's criteria, stored now if it still uses the defaults. Call it with the
    round's row locked, so two first assessments do not both store them."""
    stored = list(AssessmentCriterion.objects.filter(budget_round=budget_round))
    if stored:
        return stored
    return AssessmentCriterion.objects.bulk_create(
        AssessmentCriterion(budget_round=budget_round, position=criterion.position, name=str(name))
        for criterion, name in zip(
            selectors.default_criteria(budget_round),
            selectors.DEFAULT_CRITERIA,
            strict=True,
        )
    )


def _criteria_names(lines: list[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for line in lines:
        name = text_clean(line, field="criteria", max_length=CRITERION_NAME_MAX)
        if not name:
            continue
        if name.casefold() in seen:
            raise ValidationError({"criteria": [_("“%(name)s” is listed twice.") % {"name": name}]})
        seen.add(name.casefold())
        names.append(name)
    if not names:
        raise ValidationError({"criteria": [_("Give at least one criterion, one per line.")]})
    if len(names) > CRITERIA_MAX:
        raise ValidationError(
            {
                "criteria": [
                    _("Keep it to %(max)d criteria: a long form puts people off.")
                    % {"max": CRITERIA_MAX}
                ]
            }
        )
    return names


def assessment_setup_save(
    *,
    officer: User,
    budget_round: BudgetRound,
    window_months: int,
    criteria: list[str],
    now: datetime,
) -> list[AssessmentCriterion]:
    """Set how long delivered proposals stay open for assessment and what they are rated
    on. The criteria cannot change once anyone assessed one of the round's proposals."""
    enforce(policies.can_set_up_assessment(officer, budget_round))
    if not 1 <= window_months <= ASSESSMENT_WINDOW_MONTHS_MAX:
        raise ValidationError(
            {
                "window_months": [
                    _("Choose between 1 and %(max)d months.")
                    % {"max": ASSESSMENT_WINDOW_MONTHS_MAX}
                ]
            }
        )
    names = _criteria_names(criteria)
    with transaction.atomic():
        # The round's row orders setup against first assessments (see _criteria_saved).
        round_lock(budget_round.pk)
        AssessmentSetup.objects.update_or_create(
            budget_round=budget_round,
            defaults={"window_months": window_months, "updated_by": officer, "updated_at": now},
        )
        current = [c.name for c in selectors.assessment_criteria(budget_round=budget_round)]
        stored = AssessmentCriterion.objects.filter(budget_round=budget_round)
        if names == current and stored.exists():
            return list(stored)
        has_assessments = Assessment.objects.filter(proposal__budget_round=budget_round).exists()
        decision = policies.assessment_criteria_changeable(has_assessments=has_assessments)
        if not decision:
            raise ValidationError({"criteria": [decision.reason]})
        stored.delete()
        return AssessmentCriterion.objects.bulk_create(
            AssessmentCriterion(budget_round=budget_round, position=position, name=name)
            for position, name in enumerate(names, start=1)
        )


# --- Assessing --------------------------------------------------------------------------


def _scores(criteria: list[AssessmentCriterion], scores: dict[int, Any]) -> dict[int, int]:
    """{position: score} for every criterion, or ValidationError on each one missing."""
    errors: dict[str, list[str]] = {}
    parsed: dict[int, int] = {}
    for criterion in criteria:
        value = scores.get(criterion.position)
        score: int | None = None
        if value is not None and value != "":
            try:
                score = int(value)
            except (TypeError, ValueError):
                score = None
        if score is None or not SCORE_MIN <= score <= SCORE_MAX:
            errors[score_field(criterion)] = [
                _("Choose a score from %(min)d to %(max)d for “%(name)s”.")
                % {"min": SCORE_MIN, "max": SCORE_MAX, "name": criterion.name}
            ]
        else:
            parsed[criterion.position] = score
    if errors:
        raise ValidationError(errors)
    return parsed


def assessment_submit(
    *, user: User, proposal: Proposal, scores: dict[int, Any], comment: str, now: datetime
) -> Assessment:
    """Save ``user``'s assessment of a delivered proposal (``scores`` maps each
    criterion's position to 1-5), or update the one they gave: the latest counts and the
    earlier version is kept."""
    state = selectors.assessment_state(proposal=proposal, user=user)
    enforce(state.assess_decision(user, proposal, today=timezone.localdate(now)))
    comment = text_clean(
        comment, field="comment", max_length=ASSESSMENT_COMMENT_MAX, multiline=True
    )
    with transaction.atomic():
        # The round's row orders this against the criteria being stored or changed.
        round_lock(proposal.budget_round_id)
        criteria = _criteria_saved(proposal.budget_round)
        parsed = _scores(criteria, scores)
        assessment = (
            Assessment.objects.select_for_update().filter(proposal=proposal, assessor=user).first()
        )
        if assessment is None:
            invited = state.invitation is not None
            assessment = Assessment.objects.create(
                proposal=proposal,
                assessor=user,
                kind=AssessorKind.INVITED if invited else AssessorKind.RESIDENT,
                invitation=state.invitation,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
        else:
            assessment.comment = comment
            assessment.revision += 1
            assessment.updated_at = now
            # A new comment is a new text for moderation to judge.
            assessment.hidden_at, assessment.hidden_by, assessment.hidden_reason = None, None, ""
            assessment.save(
                update_fields=[
                    "comment",
                    "revision",
                    "updated_at",
                    "hidden_at",
                    "hidden_by",
                    "hidden_reason",
                ]
            )
            AssessmentScore.objects.filter(assessment=assessment).delete()
        AssessmentScore.objects.bulk_create(
            AssessmentScore(assessment=assessment, criterion=c, score=parsed[c.position])
            for c in criteria
        )
        AssessmentRevision.objects.create(
            assessment=assessment,
            number=assessment.revision,
            scores={c.name: parsed[c.position] for c in criteria},
            comment=comment,
            saved_at=now,
        )
    return assessment


# --- Officers ---------------------------------------------------------------------------


def assessment_reply(*, officer: User, assessment: Assessment, reply: str, now: datetime) -> None:
    """The council's public answer to an assessment (a new one replaces it)."""
    enforce(policies.can_reply_to_assessment(officer, assessment))
    reply = text_clean(
        reply,
        field="reply",
        max_length=ASSESSMENT_COMMENT_MAX,
        multiline=True,
        required_message=_("Write the reply residents will read."),
    )
    Assessment.objects.filter(pk=assessment.pk).update(
        reply=reply, replied_by=officer, replied_at=now
    )


def assessment_hide(*, officer: User, assessment: Assessment, reason: str, now: datetime) -> None:
    """Hide an assessment's comment that breaks the rules, saying why (the scores still
    count: they are the person's judgement of what was built)."""
    enforce(policies.can_hide_assessment(officer, assessment))
    reason = text_clean(
        reason,
        field="reason",
        max_length=500,
        required_message=_("Say which rule the comment breaks: the reason is shown instead."),
    )
    Assessment.objects.filter(pk=assessment.pk, hidden_at__isnull=True).update(
        hidden_at=now, hidden_by=officer, hidden_reason=reason
    )


def assessment_flag(*, assessment: Assessment, user: User, now: datetime) -> bool:
    """Report an assessment's comment to officers. False if this person already had."""
    enforce(policies.can_flag_assessment(user, assessment))
    try:
        with transaction.atomic():
            AssessmentFlag.objects.create(assessment=assessment, flagged_by=user, created_at=now)
    except IntegrityError:
        return False  # the unique constraint: one report per person per assessment
    return True


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("ledgers:assessment_invitation", kwargs={"token": token})


def assessment_invite(
    *, officer: User, proposal: Proposal, email: str, note: str, now: datetime
) -> AssessmentInvitation:
    """Email someone a one-time link to assess a delivered proposal. Only the token's
    hash is stored; the link works once and for ``ASSESSMENT_INVITATION_DAYS`` days."""
    state = selectors.assessment_state(proposal=proposal, user=None)
    enforce(state.invite_decision(officer, proposal, today=timezone.localdate(now)))
    email = text_clean(
        email,
        field="email",
        max_length=254,
        required_message=_("Enter the email address to send the invitation to."),
    )
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": [_("Enter an email address such as name@example.org.")]}
        ) from None
    note = text_clean(note, field="note", max_length=200)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = AssessmentInvitation.objects.create(
            proposal=proposal,
            token_hash=token_hash(token),
            email=email,
            note=note,
            invited_by=officer,
            created_at=now,
            expires_at=now + timedelta(days=ASSESSMENT_INVITATION_DAYS),
        )
        email_enqueue(
            kind=ASSESSMENT_INVITATION,
            recipient=None,
            address=email,
            params={"invitation_id": invitation.pk, "url": invitation_url(token)},
            now=now,
        )
    invitation.token = token  # type: ignore[attr-defined]
    return invitation


def invitation_take_up(*, user: User, invitation: AssessmentInvitation, now: datetime) -> None:
    """Bind an invitation to the account that opened its link: it works once. The
    person then assesses the proposal like a resident would, counted as invited."""
    enforce(policies.can_take_up_invitation(user, invitation, now=now))
    try:
        with transaction.atomic():
            # Claimed by a conditional update: of two tabs, or two people, using one link
            # at once, exactly one gets it.
            taken = AssessmentInvitation.objects.filter(
                pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
            ).update(used_at=now, used_by=user)
    except IntegrityError:
        raise ValidationError(
            _("You have already taken up an invitation to assess this proposal.")
        ) from None
    if taken != 1:
        raise ValidationError(_("This invitation has already been used. Each link works once."))
