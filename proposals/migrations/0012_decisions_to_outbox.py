"""Officers' decisions not yet emailed move to the platform's outbox; the sent ones stay
sent (see ``pb_platform.outbox_moves``). ``notified_at`` stays, as history."""

from django.db import migrations

from pb_platform.outbox_moves import outbox_items_from_events


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0011_resident_pending_area_moves"),
        ("pb_platform", "0005_outbox"),
    ]

    operations = [
        migrations.RunPython(outbox_items_from_events, migrations.RunPython.noop),
        # The old sweep's index; nothing looks for unsent events any more.
        migrations.RemoveIndex(model_name="proposalevent", name="proposal_event_to_notify"),
    ]
