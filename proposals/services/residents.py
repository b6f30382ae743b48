"""Writes for resident profiles."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from pb_platform.roles import RESIDENT, role_grant
from proposals.models import Area, ResidentAreaChange, ResidentProfile


def _require_home_area(area: Area) -> None:
    if area.is_city_wide:
        raise ValidationError(
            {"area": [_("Choose the area where the resident lives, not the whole council.")]}
        )


@transaction.atomic
def resident_register(*, user: AbstractBaseUser, display_name: str, area: Area) -> ResidentProfile:
    """Record a newly signed-up person as a resident of an area."""
    display_name = display_name.strip()
    if not display_name:
        raise ValidationError({"display_name": [_("Tell us the name to show publicly.")]})
    _require_home_area(area)
    profile = ResidentProfile.objects.create(user=user, display_name=display_name, area=area)
    role_grant(user=user, role=RESIDENT)
    return profile


def resident_change_area(
    *, profile: ResidentProfile, area: Area, changed_by: AbstractBaseUser, reason: str
) -> ResidentAreaChange:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the resident is moving area.")]})
    if len(reason) > 500:
        raise ValidationError({"reason": [_("Keep the reason to 500 characters or fewer.")]})
    _require_home_area(area)
    with transaction.atomic():
        locked = ResidentProfile.objects.select_for_update().get(pk=profile.pk)
        if locked.area_id == area.pk:
            raise ValidationError({"area": [_("The resident already lives in %s.") % area.name]})
        change = ResidentAreaChange.objects.create(
            profile=locked,
            from_area_id=locked.area_id,
            to_area=area,
            changed_by=changed_by,
            reason=reason,
        )
        locked.area = area
        locked.save(update_fields=["area", "updated_at"])
    profile.refresh_from_db()
    return change
