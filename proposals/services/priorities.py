"""Writes for the priorities stage: residents' answers, answers officers type in from
paper or events, suggested themes and the council's statement per area.

Each function enforces its policy (``proposals.policies``) for every caller, validates
with messages keyed by form field, and writes in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import User
from proposals import policies
from proposals.models import (
    BudgetRound,
    Category,
    PriorityChannel,
    PriorityPoints,
    PriorityResponse,
    PriorityStatement,
    RoundArea,
    ThemeStatus,
    ThemeSuggestion,
)
from proposals.models.priorities import (
    NEED_MAX_LENGTH,
    POINTS_TOTAL,
    STATEMENT_MAX_LENGTH,
    THEME_NAME_MAX_LENGTH,
)
from proposals.notifications import notify_theme_decided
from proposals.services.proposals import category_create

REASON_MAX_LENGTH = 500


def priority_points_validate(
    *, budget_round: BudgetRound, points: Mapping[int, int]
) -> dict[Category, int]:
    """Points keyed by category id, checked: themes of this round only, whole numbers from
    0 to 100, adding up to exactly 100. Themes left out get 0."""
    themes = {category.pk: category for category in budget_round.categories.all()}
    if not themes:
        raise ValidationError({"points": [_("This round has no themes to give points to yet.")]})
    unknown = set(points) - set(themes)
    if unknown:
        raise ValidationError({"points": [_("Give points only to the themes listed.")]})
    if any(
        not isinstance(value, int) or not 0 <= value <= POINTS_TOTAL for value in points.values()
    ):
        raise ValidationError(
            {"points": [_("Each theme takes a whole number of points from 0 to 100.")]}
        )
    total = sum(points.values())
    if total != POINTS_TOTAL:
        raise ValidationError(
            {
                "points": [
                    _(
                        "Your points add up to %(total)s: spread exactly 100 (take %(diff)s "
                        "away somewhere)."
                    )
                    % {"total": total, "diff": total - POINTS_TOTAL}
                    if total > POINTS_TOTAL
                    else _(
                        "Your points add up to %(total)s: spread exactly 100 (%(diff)s still "
                        "to give)."
                    )
                    % {"total": total, "diff": POINTS_TOTAL - total}
                ]
            }
        )
    return {category: points.get(pk, 0) for pk, category in themes.items()}


def _need_clean(need: str) -> str:
    return text_clean(need, field="need", max_length=NEED_MAX_LENGTH, multiline=True)


def _points_write(response: PriorityResponse, points: Mapping[Category, int]) -> None:
    response.points.all().delete()
    PriorityPoints.objects.bulk_create(
        PriorityPoints(response=response, category=category, points=value)
        for category, value in sorted(points.items(), key=lambda item: item[0].pk)
    )


def priorities_respond(
    *,
    resident: User,
    round_area: RoundArea,
    points: Mapping[int, int],
    need: str = "",
    now: datetime,
) -> PriorityResponse:
    """A resident's answer for their area: saved, or replaced while the stage runs."""
    enforce(policies.can_respond_priorities(resident, round_area, now=now))
    cleaned = priority_points_validate(budget_round=round_area.budget_round, points=points)
    need = _need_clean(need)
    with transaction.atomic():
        # Lock the resident's existing answer so two tabs saving at once leave one set of
        # points (the unique constraint turns a simultaneous first save into an error).
        response = (
            PriorityResponse.objects.select_for_update()
            .filter(round_area=round_area, resident=resident)
            .first()
        )
        if response is None:
            response = PriorityResponse.objects.create(
                round_area=round_area,
                resident=resident,
                channel=PriorityChannel.ONLINE,
                need=need,
                created_at=now,
                updated_at=now,
            )
        else:
            response.need, response.updated_at = need, now
            response.save(update_fields=["need", "updated_at"])
        _points_write(response, cleaned)
    return response


def priorities_enter_paper(
    *,
    officer: User,
    round_area: RoundArea,
    channel: str,
    points: Mapping[int, int],
    need: str = "",
    now: datetime,
) -> PriorityResponse:
    """An answer collected on paper or at an event, typed in by an officer and recorded
    as such (no resident account is attached)."""
    enforce(policies.can_enter_paper_priorities(officer, round_area.budget_round, now=now))
    if channel not in (PriorityChannel.PAPER, PriorityChannel.EVENT):
        raise ValidationError(
            {"channel": [_("Say whether it was collected on paper or at an event.")]}
        )
    cleaned = priority_points_validate(budget_round=round_area.budget_round, points=points)
    need = _need_clean(need)
    with transaction.atomic():
        response = PriorityResponse.objects.create(
            round_area=round_area,
            channel=channel,
            entered_by=officer,
            need=need,
            created_at=now,
            updated_at=now,
        )
        _points_write(response, cleaned)
    return response


def theme_suggest(
    *, resident: User, budget_round: BudgetRound, name: str, now: datetime
) -> ThemeSuggestion:
    """A resident asks for one more theme; officers decide (``theme_moderate``)."""
    enforce(policies.can_suggest_theme(resident, budget_round, now=now))
    name = text_clean(
        name,
        field="name",
        max_length=THEME_NAME_MAX_LENGTH,
        required_message=_("Give the theme a name."),
    )
    if budget_round.categories.filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("That theme is already on the list.")]})
    once = ValidationError(
        {"name": [_("You have already suggested a theme for this round (one each).")]}
    )
    if ThemeSuggestion.objects.filter(budget_round=budget_round, suggested_by=resident).exists():
        raise once
    try:
        with transaction.atomic():
            return ThemeSuggestion.objects.create(
                budget_round=budget_round, suggested_by=resident, name=name, created_at=now
            )
    except IntegrityError:  # a second tab sent one at the same moment
        raise once from None


def theme_moderate(
    *, officer: User, suggestion: ThemeSuggestion, approve: bool, reason: str = "", now: datetime
) -> ThemeSuggestion:
    """Add a suggested theme (it becomes a category everyone can give points to and file
    ideas under) or turn it down, saying why."""
    reason = text_clean(reason, field="reason", max_length=REASON_MAX_LENGTH, multiline=True)
    if not approve and not reason:
        raise ValidationError(
            {"reason": [_("Say why the theme is not added: the resident sees it.")]}
        )
    with transaction.atomic():
        # Lock the suggestion so two officers deciding at once record one decision.
        locked = (
            ThemeSuggestion.objects.select_for_update()
            .select_related("budget_round")
            .get(pk=suggestion.pk)
        )
        enforce(policies.can_moderate_theme(officer, locked, now=now))
        if approve:
            locked.category = category_create(
                budget_round=locked.budget_round, name=locked.name, officer=officer, now=now
            )
        locked.status = ThemeStatus.APPROVED if approve else ThemeStatus.REJECTED
        locked.reason, locked.decided_by, locked.decided_at = reason, officer, now
        locked.save()
        notify_theme_decided(locked)
    return locked


def priorities_statement_publish(
    *, officer: User, round_area: RoundArea, text: str, now: datetime
) -> PriorityStatement:
    """The council's "what we will do with this" for one area (a correction replaces it)."""
    enforce(policies.can_publish_priorities_statement(officer, round_area, now=now))
    text = text_clean(
        text,
        field="text",
        max_length=STATEMENT_MAX_LENGTH,
        multiline=True,
        required_message=_("Say what the council will do with these priorities."),
    )
    statement, _created = PriorityStatement.objects.update_or_create(
        round_area=round_area,
        defaults={"text": text, "published_by": officer, "published_at": now},
    )
    return statement
