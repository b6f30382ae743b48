"""The platform's roles. Each is a Django group; each app's migrations give the groups
that app's permissions, and each app's ``permissions.py`` asks about permissions, never
about group names, so the admin can adjust what a role may do."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

RESIDENT = "resident"
OFFICER = "officer"
AUDITOR = "auditor"
ROLES = (RESIDENT, OFFICER, AUDITOR)
# Roles an administrator hands out; residents get theirs by signing up.
GRANTABLE_ROLES = (OFFICER, AUDITOR)


class UnknownRole(ValueError):
    pass


def role_grant(*, user: AbstractBaseUser, role: str) -> bool:
    """Put the user in the role's group. Returns False if they already had it."""
    if role not in ROLES:
        raise UnknownRole(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    with transaction.atomic():
        group = Group.objects.get(name=role)
        if user.groups.filter(pk=group.pk).exists():
            return False
        user.groups.add(group)
    return True


def role_revoke(*, user: AbstractBaseUser, role: str) -> bool:
    """Take the user out of the role's group. Returns False if they did not have it."""
    if role not in ROLES:
        raise UnknownRole(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    with transaction.atomic():
        group = Group.objects.get(name=role)
        if not user.groups.filter(pk=group.pk).exists():
            return False
        user.groups.remove(group)
    return True


def roles_of(user: AbstractBaseUser) -> list[str]:
    if not user.is_authenticated:
        return []
    return sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
