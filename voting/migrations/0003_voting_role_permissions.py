"""Role permissions for voting: residents vote online, officers record paper ballots and
see turnout, auditors see turnout. Nobody is given a view of ballots themselves."""

from django.db import migrations

from pb_platform.migration_helpers import role_permissions_granter

ROLE_PERMISSIONS = {
    "resident": [("ballot", "cast_ballot", "Can vote online")],
    "officer": [
        ("ballot", "record_paper_ballot", "Can record paper ballots and register walk-in voters"),
        ("ballot", "view_turnout", "Can see turnout per area and channel"),
    ],
    "auditor": [("ballot", "view_turnout", "Can see turnout per area and channel")],
}

grant, revoke = role_permissions_granter("voting", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0002_ballot_receipts_and_permissions"),
        ("pb_platform", "0001_roles"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
