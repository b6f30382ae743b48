"""Receipts not yet emailed move to the platform's outbox; the sent ones stay sent (see
``pb_platform.outbox_moves``). ``receipt_emailed_at`` stays, as history."""

from django.db import migrations

from pb_platform.outbox_moves import outbox_items_from_ballots


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0003_voting_role_permissions"),
        ("pb_platform", "0005_outbox"),
    ]

    operations = [migrations.RunPython(outbox_items_from_ballots, migrations.RunPython.noop)]
