"""Writes for areas: the parts of the council's territory residents live in."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from pb_platform.policies import enforce
from pb_platform.text import text_clean
from pb_platform.users import User
from proposals import policies
from proposals.models import Area, BudgetRound

NAME_MAX_LENGTH = 120
# The population column is a 32-bit integer; no council area comes near it.
POPULATION_MAX = 2**31 - 1


def _area_validate(*, name: str, population: int | None, exclude_pk: int | None) -> str:
    name = text_clean(
        name, field="name", max_length=NAME_MAX_LENGTH, required_message=_("Give the area a name.")
    )
    if Area.objects.exclude(pk=exclude_pk).filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("There is already an area with this name.")]})
    if population is not None and population < 0:
        raise ValidationError({"population": [_("Population cannot be negative.")]})
    if population is not None and population > POPULATION_MAX:
        raise ValidationError(
            {
                "population": [
                    _("That is more people than any area holds: the most is %(max)s.")
                    % {"max": f"{POPULATION_MAX:,}"}
                ]
            }
        )
    return name


def area_create(
    *, created_by: User, name: str, population: int | None = None, is_city_wide: bool = False
) -> Area:
    enforce(policies.can_manage_areas(created_by))
    name = _area_validate(name=name, population=population, exclude_pk=None)
    base = slugify(name)[:100] or "area"
    slug, n = base, 1
    while Area.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return Area.objects.create(
        name=name, slug=slug, population=population, is_city_wide=is_city_wide
    )


def area_update(
    *,
    area: Area,
    changed_by: User,
    name: str,
    population: int | None,
    is_city_wide: bool = False,
    now: datetime | None = None,
) -> Area:
    """Rename an area or change its population; whether it counts as the whole council
    only while no round it takes part in has opened voting."""
    enforce(policies.can_manage_areas(changed_by))
    now = now or timezone.now()
    name = _area_validate(name=name, population=population, exclude_pk=area.pk)
    if is_city_wide != area.is_city_wide:
        area_rounds = BudgetRound.objects.filter(round_areas__area=area).distinct()
        decision = policies.can_change_area_whole_council(
            changed_by, area, area_rounds=area_rounds, now=now
        )
        if not decision:
            raise ValidationError({"is_city_wide": [decision.reason]})
    if is_city_wide and not area.is_city_wide and area.residents.exists():
        raise ValidationError(
            {
                "is_city_wide": [
                    _("Residents live in this area, so it cannot become the whole council.")
                ]
            }
        )
    area.name = name
    area.population = population
    area.is_city_wide = is_city_wide
    area.save(update_fields=["name", "population", "is_city_wide"])
    return area
