"""Writes for areas, budget rounds and resident profiles.

Every function here is called alike by views, management commands and tests. They
check the caller with the app's policies (``enforce``: a ``PolicyDenied`` for the wrong
role), then validate with clear messages (``ValidationError`` keyed by field) before
touching the database; database constraints and triggers guarantee the same rules
underneath.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils import formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from pb_platform.money import CURRENCY_CODES, money_format, money_parse, money_quantize
from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import User
from proposals import policies
from proposals.models import (
    Area,
    BallotType,
    BudgetRound,
    CountingRule,
    RoundArea,
    RoundChange,
    VerificationRequired,
)
from proposals.phases import (
    BOUNDARIES,
    PHASE_ORDER,
    PRIORITIES_BOUNDARY,
    Phase,
    Timeline,
    phase_rank,
)

NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000
REASON_MAX_LENGTH = 500

# A round's dates must be plausible when it is set up: a round planned up to ten years
# ahead (councils plan multi-year programmes), and one entered after the fact up to a
# year back (a round run on paper and recorded here later). Anything outside that is
# almost certainly a typo (2062 for 2026), and year 1 or 9999 would break date sums.
EARLIEST_START = timedelta(days=365)
LATEST_START = timedelta(days=3653)
# The form's date fields hold minutes: the current minute, typed as "now", is not past.
MINUTE_INPUT = timedelta(minutes=1)

# The boundaries are date fields (not relations), so each has a verbose name.
BOUNDARY_LABELS = {
    name: cast(models.DateTimeField, BudgetRound._meta.get_field(name)).verbose_name
    for name, _p in (PRIORITIES_BOUNDARY, *BOUNDARIES)
}


@dataclass(frozen=True)
class RoundConfig:
    """Everything an officer sets on a round apart from the area budgets."""

    name: str
    description: str
    currency: str
    total_budget: Decimal
    counting_rule: str
    ballot_type: str
    max_choices: int | None
    timeline: Timeline
    verification_required: str = VerificationRequired.NONE
    minimum_age: int | None = None
    asks_equality_questions: bool = False

    def as_model_fields(self) -> dict[str, object]:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "timeline"}
        values["total_budget"] = money_quantize(self.total_budget)
        if self.ballot_type != BallotType.K_APPROVAL:
            values["max_choices"] = None
        for name, _phase, at in self.timeline.boundaries():
            values[name] = at
        # Empty when the round has no priorities stage (or an officer removed it).
        values[PRIORITIES_BOUNDARY[0]] = self.timeline.priorities_starts
        return values


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def round_config_validate(
    *,
    config: RoundConfig,
    area_budgets: Mapping[Area, Decimal],
    exclude_pk: int | None = None,
) -> tuple[RoundConfig, dict[Area, Decimal]]:
    """The config and area budgets cleaned (text trimmed, money rounded), or
    ``ValidationError`` keyed by field if the round could not be saved as given."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    def take(error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            for message in messages:
                add(field, message)

    name, description, total = config.name, config.description, config.total_budget
    try:
        name = text_clean(
            config.name,
            field="name",
            max_length=NAME_MAX_LENGTH,
            required_message=_("Give the round a name."),
        )
    except ValidationError as error:
        take(error)
    else:
        taken = BudgetRound.objects.filter(name__iexact=name)
        if exclude_pk is not None:
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            add("name", _name_taken(name))
    try:
        description = text_clean(
            config.description,
            field="description",
            max_length=DESCRIPTION_MAX_LENGTH,
            multiline=True,
        )
    except ValidationError as error:
        take(error)
    if config.currency not in CURRENCY_CODES:
        add("currency", _("Choose a currency from the list."))
    try:
        total = money_parse(config.total_budget, field="total_budget")
    except ValidationError as error:
        take(error)
    if config.counting_rule not in CountingRule.values:
        add("counting_rule", _("Choose a counting rule from the list."))
    if config.ballot_type not in BallotType.values:
        add("ballot_type", _("Choose a ballot type from the list."))
    elif config.ballot_type == BallotType.K_APPROVAL and (
        config.max_choices is None or config.max_choices < 1
    ):
        add("max_choices", _("Say how many proposals each voter may choose (at least 1)."))

    if config.verification_required not in VerificationRequired.values:
        add("verification_required", _("Choose an eligibility check from the list."))
    if config.minimum_age is not None and not 1 <= config.minimum_age <= 120:
        add("minimum_age", _("Give a minimum age between 1 and 120, or none."))

    previous_label = None
    wrong = set(config.timeline.out_of_order())
    for boundary, _phase, _at in config.timeline.boundaries():
        if boundary in wrong:
            add(
                boundary,
                _("This must be later than “%(previous)s”.")
                % {"previous": str(previous_label).capitalize()},
            )
        previous_label = BOUNDARY_LABELS[boundary]

    budgets: dict[Area, Decimal] = {}
    if not area_budgets:
        add("area_budgets", _("Give at least one area a budget."))
    for area, budget in area_budgets.items():
        try:
            budgets[area] = money_parse(budget, field="area_budgets")
        except ValidationError as error:
            for message in error.message_dict["area_budgets"]:
                add("area_budgets", f"{area.name}: {message}")
    if "total_budget" not in errors and "area_budgets" not in errors:
        area_total = sum(budgets.values(), Decimal(0))
        if area_total > total:
            add(
                "area_budgets",
                _("The area budgets add up to %(areas)s, more than the total budget of %(total)s.")
                % {
                    "areas": money_format(area_total, config.currency),
                    "total": money_format(total, config.currency),
                },
            )
    if errors:
        raise ValidationError(errors)
    return replace(config, name=name, description=description, total_budget=total), budgets


def _name_taken(name: str) -> str:
    return _(
        "There is already a round called “%(name)s” (names are compared without regard to "
        "capitals). Choose another name, such as one with the year."
    ) % {"name": name}


def _dates_plausible(
    timeline: Timeline, *, now: datetime, names: list[str] | None = None
) -> dict[str, list[str]]:
    """Errors for boundaries (all, or only ``names``) outside the plausible window."""
    earliest, latest = now - EARLIEST_START, now + LATEST_START
    errors: dict[str, list[str]] = {}
    for name, _phase, at in timeline.boundaries():
        if names is not None and name not in names:
            continue
        if not earliest <= at <= latest:
            errors[name] = [
                _("Choose a time between %(earliest)s and %(latest)s.")
                % {"earliest": _when(earliest), "latest": _when(latest)}
            ]
    return errors


def _unique_slug(name: str) -> str:
    base = slugify(name)[:200] or "round"
    slug, n = base, 1
    existing = set(BudgetRound.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    while slug in existing:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _display(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


def round_create(
    *,
    created_by: User,
    config: RoundConfig,
    area_budgets: Mapping[Area, Decimal],
    now: datetime | None = None,
) -> BudgetRound:
    """Set up a round. Its address (slug) is made from the name once, here, and never
    changes, so links to the round keep working whatever it is renamed to later."""
    enforce(policies.can_create_round(created_by))
    now = now or timezone.now()
    config, budgets = round_config_validate(config=config, area_budgets=area_budgets)
    if errors := _dates_plausible(config.timeline, now=now):
        raise ValidationError(errors)
    values = config.as_model_fields()
    try:
        with transaction.atomic():
            budget_round = BudgetRound.objects.create(
                slug=_unique_slug(config.name), created_by=created_by, **values
            )
            RoundArea.objects.bulk_create(
                RoundArea(budget_round=budget_round, area=area, budget=budget)
                for area, budget in sorted(budgets.items(), key=lambda item: item[0].pk)
            )
            changes = {name: ["", _display(value)] for name, value in values.items()}
            changes.update({f"area:{area.name}": ["", _display(b)] for area, b in budgets.items()})
            RoundChange.objects.create(
                budget_round=budget_round, changed_by=created_by, action="created", changes=changes
            )
    except IntegrityError:
        # Another officer created a round with this name a moment ago (the unique
        # constraint on the lower-cased name caught it): say so on the field.
        if BudgetRound.objects.filter(name__iexact=config.name).exists():
            raise ValidationError({"name": [_name_taken(config.name)]}) from None
        raise
    return budget_round


def _frozen_refusal(reason: str) -> str:
    return _("This can no longer be changed. %(reason)s") % {"reason": reason}


def _round_update_errors(
    locked: BudgetRound,
    *,
    values: Mapping[str, object],
    timeline: Timeline,
    current: Mapping[int, RoundArea],
    wanted: Mapping[int, tuple[Area, Decimal]],
    reason: str,
    now: datetime,
) -> dict[str, list[str]]:
    """Everything that forbids this change of an existing round, keyed by field."""
    errors: dict[str, list[str]] = {}
    frozen = policies.round_frozen_fields(locked, now=now)
    for name, why in frozen.items():
        if name in values and values[name] != getattr(locked, name):
            errors[name] = [_frozen_refusal(why)]
    if "voting_ends" not in frozen and not (
        decision := policies.round_voting_deadline_change(
            locked, timeline.voting_ends, reason=reason, now=now
        )
    ):
        # Extending without a reason: ask for the reason; bringing it forward: refuse.
        key = "reason" if timeline.voting_ends > locked.voting_ends else "voting_ends"
        errors[key] = [decision.reason]
    budgets_now = {pk: ra.budget for pk, ra in current.items()}
    budgets_wanted = {pk: budget for pk, (_a, budget) in wanted.items()}
    if policies.AREA_BUDGETS in frozen and budgets_now != budgets_wanted:
        errors["area_budgets"] = [_frozen_refusal(frozen[policies.AREA_BUDGETS])]
    # A date still to come may move, but not into the past (the phase would have begun
    # unannounced) and not beyond the plausible window.
    moved = [
        name
        for name, _phase, at in timeline.boundaries()
        if name not in frozen and at != getattr(locked, name)
    ]
    for name, _phase, at in timeline.boundaries():
        if name in moved and at < now - MINUTE_INPUT:
            errors.setdefault(name, []).append(
                _("Choose a time from now on: a date still to come cannot be moved into the past.")
            )
    for name, messages in _dates_plausible(timeline, now=now, names=moved).items():
        errors.setdefault(name, []).extend(messages)
    for area_id, round_area in current.items():
        if area_id not in wanted and round_area.proposals.exists():
            errors[f"area_{area_id}"] = [
                _(
                    "%(area)s has proposals in this round, so it cannot leave it. Give it a "
                    "budget, or move or withdraw its proposals first."
                )
                % {"area": round_area.area.name}
            ]
    return errors


def round_update(
    *,
    budget_round: BudgetRound,
    changed_by: User,
    config: RoundConfig,
    area_budgets: Mapping[Area, Decimal],
    now: datetime,
    reason: str = "",
) -> BudgetRound:
    """Change a round's configuration, within what its phase still allows
    (``policies.round_frozen_fields``): once voting opens the rules, money and areas
    stay; a date that has passed never moves; the voting deadline may only be extended,
    with a ``reason`` kept in the round's history. The address (slug) never changes.

    Errors about one area are keyed ``area_<pk>`` (the round form's field for it).
    """
    enforce(policies.can_edit_round(changed_by, budget_round, now=now))
    config, budgets = round_config_validate(
        config=config, area_budgets=area_budgets, exclude_pk=budget_round.pk
    )
    reason = text_clean(reason, field="reason", max_length=REASON_MAX_LENGTH, multiline=True)
    with transaction.atomic():
        # Lock the round so two officers saving at once cannot together break the
        # "area budgets within the total" rule that each checked alone, and so the
        # phase we check against cannot move (the beat task also locks it) meanwhile.
        locked = BudgetRound.objects.select_for_update().get(pk=budget_round.pk)
        values = config.as_model_fields()
        current = {ra.area_id: ra for ra in locked.round_areas.select_related("area")}
        wanted = {area.pk: (area, budget) for area, budget in budgets.items()}
        errors = _round_update_errors(
            locked,
            values=values,
            timeline=config.timeline,
            current=current,
            wanted=wanted,
            reason=reason,
            now=now,
        )
        if errors:
            raise ValidationError(errors)
        reached = max(phase_rank(locked.state), phase_rank(locked.timeline.phase_at(now)))
        new_phase = config.timeline.phase_at(now)
        if phase_rank(new_phase) < reached:
            raise ValidationError(
                {
                    "__all__": [
                        _(
                            "These dates would move the round back to “%(new)s”, but it has "
                            "already reached “%(reached)s”. Dates of phases that have ended "
                            "cannot be moved into the future."
                        )
                        % {"new": new_phase.label, "reached": PHASE_ORDER[reached].label}
                    ]
                }
            )
        changes = {
            name: [_display(getattr(locked, name)), _display(value)]
            for name, value in values.items()
            if getattr(locked, name) != value
        }
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()

        for area_id, round_area in current.items():
            if area_id not in wanted:
                changes[f"area:{round_area.area.name}"] = [_display(round_area.budget), ""]
                try:
                    with transaction.atomic():
                        round_area.delete()
                except ProtectedError:
                    # A proposal (or ballot) arrived after the check above.
                    raise ValidationError(
                        {
                            f"area_{area_id}": [
                                _("%(area)s has proposals in this round, so it cannot leave it.")
                                % {"area": round_area.area.name}
                            ]
                        }
                    ) from None
        for area_id, (area, budget) in sorted(wanted.items()):
            existing = current.get(area_id)
            if existing is None:
                RoundArea.objects.create(budget_round=locked, area=area, budget=budget)
                changes[f"area:{area.name}"] = ["", _display(budget)]
            elif existing.budget != budget:
                changes[f"area:{area.name}"] = [_display(existing.budget), _display(budget)]
                existing.budget = budget
                existing.save(update_fields=["budget"])
        if changes:
            RoundChange.objects.create(
                budget_round=locked,
                changed_by=changed_by,
                changed_at=now,
                action="updated",
                changes=changes,
                reason=reason,
            )
    return locked


def rounds_advance_phases(*, now: datetime) -> list[tuple[int, Phase, Phase]]:
    """Move every round's stored state forward to the phase the clock says it is in.

    Safe to run any number of times, concurrently too: each move is claimed with a
    conditional update on the old state, so only one run records it.
    """
    moved: list[tuple[int, Phase, Phase]] = []
    candidates = BudgetRound.objects.exclude(state=Phase.CLOSED).only(
        "pk", "state", *(name for name, _p in (PRIORITIES_BOUNDARY, *BOUNDARIES))
    )
    for budget_round in candidates:
        old = Phase(budget_round.state)
        new = budget_round.timeline.phase_at(now)
        if phase_rank(new) <= phase_rank(old):
            continue
        with transaction.atomic():
            claimed = BudgetRound.objects.filter(pk=budget_round.pk, state=old).update(
                state=new, state_changed_at=now
            )
            if claimed != 1:
                continue
            RoundChange.objects.create(
                budget_round_id=budget_round.pk,
                changed_by=None,
                changed_at=now,
                action="phase",
                changes={"state": [old.value, new.value]},
            )
        moved.append((budget_round.pk, old, new))
    return moved
