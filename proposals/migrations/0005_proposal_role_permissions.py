"""Role permissions for proposals, their history and comments."""

from django.db import migrations

from pb_platform.migration_helpers import role_permissions_granter

ROLE_PERMISSIONS = {
    "resident": [
        ("proposal", "add_proposal", "Can add proposal"),
        ("comment", "add_comment", "Can add comment"),
        ("commentflag", "add_commentflag", "Can add comment flag"),
    ],
    "officer": [
        ("proposal", "view_proposal", "Can view proposal"),
        ("proposal", "review_proposal", "Can review proposals (feasibility and cost)"),
        ("proposalevent", "view_proposalevent", "Can view proposal event"),
        ("category", "add_category", "Can add category"),
        ("category", "change_category", "Can change category"),
        ("category", "view_category", "Can view category"),
        ("comment", "add_comment", "Can add comment"),
        ("comment", "view_comment", "Can view comment"),
        ("comment", "change_comment", "Can change comment"),
        ("commentflag", "add_commentflag", "Can add comment flag"),
        ("commentflag", "view_commentflag", "Can view comment flag"),
    ],
    "auditor": [
        ("proposal", "view_proposal", "Can view proposal"),
        ("proposalevent", "view_proposalevent", "Can view proposal event"),
        ("category", "view_category", "Can view category"),
        ("comment", "view_comment", "Can view comment"),
        ("commentflag", "view_commentflag", "Can view comment flag"),
        ("commentflag", "add_commentflag", "Can add comment flag"),
    ],
}

grant, revoke = role_permissions_granter("proposals", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0004_proposals_comments")]
    operations = [migrations.RunPython(grant, revoke)]
