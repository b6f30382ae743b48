"""Helpers for data migrations that give role groups their permissions.

Each app grants its own models' permissions in its own migration, so a role's rights are
explicit and versioned. Kept stable: migrations import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# role -> [(model, codename, human name), ...]
RolePermissions = Mapping[str, Sequence[tuple[str, str, str]]]


def role_permissions_granter(
    app_label: str, role_permissions: RolePermissions
) -> tuple[Callable[[Any, Any], None], Callable[[Any, Any], None]]:
    """(forwards, backwards) functions for ``migrations.RunPython``."""

    def grant(apps: Any, schema_editor: Any) -> None:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        ContentType = apps.get_model("contenttypes", "ContentType")
        for role, entries in role_permissions.items():
            group, _ = Group.objects.get_or_create(name=role)
            for model, codename, name in entries:
                content_type, _ = ContentType.objects.get_or_create(
                    app_label=app_label, model=model
                )
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type, codename=codename, defaults={"name": name}
                )
                group.permissions.add(permission)

    def revoke(apps: Any, schema_editor: Any) -> None:
        Group = apps.get_model("auth", "Group")
        for role, entries in role_permissions.items():
            group = Group.objects.filter(name=role).first()
            if group is not None:
                group.permissions.remove(
                    *group.permissions.filter(
                        content_type__app_label=app_label,
                        codename__in=[codename for _model, codename, _name in entries],
                    )
                )

    return grant, revoke
