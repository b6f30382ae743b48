"""Writes for areas, budget rounds and resident profiles.

Every function here is called alike by views, management commands and tests. They
validate with clear messages (``ValidationError`` keyed by field) before touching the
database; database constraints guarantee the same rules underneath.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from pb_platform.money import CURRENCY_CODES, money_format, money_quantize
from proposals.models import (
    Area,
    BallotType,
    BudgetRound,
    CountingRule,
    RoundArea,
    RoundChange,
)
from proposals.phases import BOUNDARIES, PHASE_ORDER, Phase, Timeline, phase_rank

NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000
MONEY_LIMIT = Decimal(10) ** (settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES)

BOUNDARY_LABELS = {name: BudgetRound._meta.get_field(name).verbose_name for name, _p in BOUNDARIES}


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

    def as_model_fields(self) -> dict[str, object]:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "timeline"}
        values["total_budget"] = money_quantize(self.total_budget)
        if self.ballot_type != BallotType.K_APPROVAL:
            values["max_choices"] = None
        for name, _phase, at in self.timeline.boundaries():
            values[name] = at
        return values


def _money_error(amount: Decimal) -> str | None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return _("Enter an amount of money, such as 25000 or 25000.50.")
    if amount <= 0:
        return _("The amount must be more than zero.")
    if amount >= MONEY_LIMIT:
        return _("The amount is too large.")
    if amount != money_quantize(amount):
        return _("Use at most two decimal places.")
    return None


def round_config_validate(*, config: RoundConfig, area_budgets: Mapping[Area, Decimal]) -> None:
    """Raise ``ValidationError`` (keyed by field) if the round could not be saved as given."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not config.name.strip():
        add("name", _("Give the round a name."))
    elif len(config.name) > NAME_MAX_LENGTH:
        add("name", _("Keep the name to %(n)d characters or fewer.") % {"n": NAME_MAX_LENGTH})
    if len(config.description) > DESCRIPTION_MAX_LENGTH:
        add(
            "description",
            _("Keep the description to %(n)d characters or fewer.") % {"n": DESCRIPTION_MAX_LENGTH},
        )
    if config.currency not in CURRENCY_CODES:
        add("currency", _("Choose a currency from the list."))
    if (problem := _money_error(config.total_budget)) is not None:
        add("total_budget", problem)
    if config.counting_rule not in CountingRule.values:
        add("counting_rule", _("Choose a counting rule from the list."))
    if config.ballot_type not in BallotType.values:
        add("ballot_type", _("Choose a ballot type from the list."))
    elif config.ballot_type == BallotType.K_APPROVAL and (
        config.max_choices is None or config.max_choices < 1
    ):
        add("max_choices", _("Say how many proposals each voter may choose (at least 1)."))

    previous_label = None
    items = config.timeline.boundaries()
    wrong = set(config.timeline.out_of_order())
    for name, _phase, _at in items:
        if name in wrong:
            add(
                name,
                _("This must be later than “%(previous)s”.")
                % {"previous": str(previous_label).capitalize()},
            )
        previous_label = BOUNDARY_LABELS[name]

    if not area_budgets:
        add("area_budgets", _("Give at least one area a budget."))
    for area, budget in area_budgets.items():
        if (problem := _money_error(budget)) is not None:
            add("area_budgets", f"{area.name}: {problem}")
    if "total_budget" not in errors and "area_budgets" not in errors:
        area_total = sum(area_budgets.values(), Decimal(0))
        if area_total > config.total_budget:
            add(
                "area_budgets",
                _("The area budgets add up to %(areas)s, more than the total budget of %(total)s.")
                % {
                    "areas": money_format(area_total, config.currency),
                    "total": money_format(config.total_budget, config.currency),
                },
            )
    if errors:
        raise ValidationError(errors)


def _unique_slug(name: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:200] or "round"
    slug, n = base, 1
    taken = BudgetRound.objects.exclude(pk=exclude_pk).filter(slug__startswith=base)
    existing = set(taken.values_list("slug", flat=True))
    while slug in existing:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _display(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


@transaction.atomic
def round_create(
    *, created_by: AbstractBaseUser, config: RoundConfig, area_budgets: Mapping[Area, Decimal]
) -> BudgetRound:
    round_config_validate(config=config, area_budgets=area_budgets)
    values = config.as_model_fields()
    budget_round = BudgetRound.objects.create(
        slug=_unique_slug(config.name), created_by=created_by, **values
    )
    RoundArea.objects.bulk_create(
        RoundArea(budget_round=budget_round, area=area, budget=money_quantize(budget))
        for area, budget in sorted(area_budgets.items(), key=lambda item: item[0].pk)
    )
    changes = {name: ["", _display(value)] for name, value in values.items()}
    changes.update(
        {f"area:{area.name}": ["", _display(money_quantize(b))] for area, b in area_budgets.items()}
    )
    RoundChange.objects.create(
        budget_round=budget_round, changed_by=created_by, action="created", changes=changes
    )
    return budget_round


def round_update(
    *,
    budget_round: BudgetRound,
    changed_by: AbstractBaseUser,
    config: RoundConfig,
    area_budgets: Mapping[Area, Decimal],
    now: datetime,
) -> BudgetRound:
    """Change a round's configuration. A change may not send the round back to a phase
    that has already ended (that would reopen, say, voting after it closed)."""
    round_config_validate(config=config, area_budgets=area_budgets)
    with transaction.atomic():
        # Lock the round so two officers saving at once cannot together break the
        # "area budgets within the total" rule that each checked alone.
        locked = BudgetRound.objects.select_for_update().get(pk=budget_round.pk)
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
        values = config.as_model_fields()
        changes = {
            name: [_display(getattr(locked, name)), _display(value)]
            for name, value in values.items()
            if getattr(locked, name) != value
        }
        for name, value in values.items():
            setattr(locked, name, value)
        if config.name != budget_round.name:
            locked.slug = _unique_slug(config.name, exclude_pk=locked.pk)
        locked.save()

        current = {ra.area_id: ra for ra in locked.round_areas.select_related("area")}
        wanted = {area.pk: (area, money_quantize(budget)) for area, budget in area_budgets.items()}
        for area_id, round_area in current.items():
            if area_id not in wanted:
                changes[f"area:{round_area.area.name}"] = [_display(round_area.budget), ""]
                round_area.delete()
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
                budget_round=locked, changed_by=changed_by, action="updated", changes=changes
            )
    return locked


def rounds_advance_phases(*, now: datetime) -> list[tuple[int, Phase, Phase]]:
    """Move every round's stored state forward to the phase the clock says it is in.

    Safe to run any number of times, concurrently too: each move is claimed with a
    conditional update on the old state, so only one run records it.
    """
    moved: list[tuple[int, Phase, Phase]] = []
    candidates = BudgetRound.objects.exclude(state=Phase.CLOSED).only(
        "pk", "state", *(name for name, _p in BOUNDARIES)
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
