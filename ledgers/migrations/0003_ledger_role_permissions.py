"""Role permissions for ledgers: officers record entries and delivery progress; auditors
read every entry and export. Residents only see the public pages."""

from django.db import migrations

from pb_platform.migration_helpers import role_permissions_granter

ROLE_PERMISSIONS = {
    "officer": [
        (
            "ledgerentry",
            "record_ledger_entry",
            "Can record commitments, spend, releases and reversals",
        ),
        ("deliveryupdate", "record_delivery_update", "Can record delivery progress"),
    ],
    "auditor": [
        (
            "ledgerentry",
            "audit_ledger",
            "Can see every ledger entry with who recorded it, and export",
        ),
    ],
}

grant, revoke = role_permissions_granter("ledgers", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("ledgers", "0002_append_only_triggers"), ("pb_platform", "0001_roles")]
    operations = [migrations.RunPython(grant, revoke)]
