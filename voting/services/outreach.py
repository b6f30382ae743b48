"""Outreach recorded against areas: what officers did to reach the people of an area
(a stall, leaflets, a session helping people vote), shown beside the area's
participation on the public "Who took part" page.

Who may record it and when is ``voting.policies.can_record_outreach``, enforced here
whoever calls; the database refuses an unknown kind and an empty description.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import AnyUser, signed_in
from proposals.models import Area, BudgetRound, RoundArea
from voting import policies
from voting.models import OUTREACH_DESCRIPTION_MAX, OutreachAction, OutreachKind


def outreach_earliest_day(budget_round: BudgetRound) -> date:
    """The earliest plausible date of outreach for a round: when it was set up here, or
    when its first stage opened if that was earlier (a round entered after the fact)."""
    first_stage = budget_round.priorities_starts or budget_round.submission_starts
    return min(timezone.localdate(budget_round.created_at), timezone.localdate(first_stage))


def _happened_on_problem(
    happened_on: date, *, budget_round: BudgetRound, today: date
) -> str | None:
    if happened_on > today:
        return _("The date cannot be in the future.")
    earliest = outreach_earliest_day(budget_round)
    if happened_on < earliest:
        return _("The date must be on or after %(day)s, when this round began.") % {
            "day": formats.date_format(earliest, "DATE_FORMAT")
        }
    return None


def outreach_record(
    *,
    officer: AnyUser,
    budget_round: BudgetRound,
    area: Area,
    kind: str,
    happened_on: date,
    description: str,
    now: datetime,
) -> OutreachAction:
    """Record one outreach action of ``budget_round`` in ``area``.

    Raises ``PolicyDenied`` when the officer may not, ``ValidationError`` keyed by field
    (``area``, ``kind``, ``happened_on``, ``description``) when the input is wrong.
    """
    enforce(policies.can_record_outreach(officer, budget_round, now=now))
    recorder = signed_in(officer)
    errors: dict[str, list[str]] = {}
    if not RoundArea.objects.filter(budget_round=budget_round, area=area).exists():
        errors["area"] = [_("Choose one of this round's areas.")]
    if kind not in OutreachKind.values:
        errors["kind"] = [_("Choose what kind of outreach it was.")]
    problem = _happened_on_problem(
        happened_on, budget_round=budget_round, today=timezone.localdate(now)
    )
    if problem is not None:
        errors["happened_on"] = [problem]
    try:
        description = text_clean(
            description,
            field="description",
            max_length=OUTREACH_DESCRIPTION_MAX,
            multiline=True,
            required_message=_("Say what was done, where and for whom."),
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    # One row, no read-modify-write: the transaction only makes the write all or nothing
    # for callers that do more around it.
    with transaction.atomic():
        return OutreachAction.objects.create(
            budget_round=budget_round,
            area=area,
            kind=kind,
            happened_on=happened_on,
            description=description,
            recorded_by=recorder,
            recorded_at=now,
        )
