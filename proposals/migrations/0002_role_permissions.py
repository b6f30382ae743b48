"""Give the role groups their permissions on this app's models, explicitly."""

from django.db import migrations

from pb_platform.migration_helpers import role_permissions_granter

# (model, codename, name) per role. Residents need no model permission yet: what they
# may do depends on the round's phase, checked in proposals.permissions.
ROLE_PERMISSIONS = {
    "officer": [
        ("budgetround", "add_budgetround", "Can add budget round"),
        ("budgetround", "change_budgetround", "Can change budget round"),
        ("budgetround", "view_budgetround", "Can view budget round"),
        ("area", "add_area", "Can add area"),
        ("area", "change_area", "Can change area"),
        ("area", "view_area", "Can view area"),
        ("roundarea", "view_roundarea", "Can view round area"),
        ("residentprofile", "view_residentprofile", "Can view resident profile"),
        ("residentprofile", "change_resident_area", "Can move a resident to another area"),
        ("roundchange", "view_roundchange", "Can view round change"),
        ("residentareachange", "view_residentareachange", "Can view resident area change"),
    ],
    "auditor": [
        ("budgetround", "view_budgetround", "Can view budget round"),
        ("budgetround", "audit_round", "Can see the full change history of budget rounds"),
        ("area", "view_area", "Can view area"),
        ("roundarea", "view_roundarea", "Can view round area"),
        ("roundchange", "view_roundchange", "Can view round change"),
        ("residentareachange", "view_residentareachange", "Can view resident area change"),
    ],
}


grant, revoke = role_permissions_granter("proposals", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0001_initial"),
        ("pb_platform", "0001_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
