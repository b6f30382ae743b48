"""Writes for areas: the parts of the council's territory residents live in."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext as _

from proposals.models import Area


def _area_validate(*, name: str, population: int | None, exclude_pk: int | None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Give the area a name.")]})
    if len(name) > 120:
        raise ValidationError({"name": [_("Keep the name to 120 characters or fewer.")]})
    if Area.objects.exclude(pk=exclude_pk).filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("There is already an area with this name.")]})
    if population is not None and population < 0:
        raise ValidationError({"population": [_("Population cannot be negative.")]})
    return name


def area_create(*, name: str, population: int | None = None, is_city_wide: bool = False) -> Area:
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
    *, area: Area, name: str, population: int | None, is_city_wide: bool = False
) -> Area:
    area.name = _area_validate(name=name, population=population, exclude_pk=area.pk)
    if is_city_wide and not area.is_city_wide and area.residents.exists():
        raise ValidationError(
            {
                "is_city_wide": [
                    _("Residents live in this area, so it cannot become the whole council.")
                ]
            }
        )
    area.population = population
    area.is_city_wide = is_city_wide
    area.save(update_fields=["name", "population", "is_city_wide"])
    return area
