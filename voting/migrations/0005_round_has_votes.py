"""On PostgreSQL, tell the proposals app's frozen-round triggers whether a round has
ballots or results (``proposals_round_has_votes``, a stub answering false until now).

A round whose stored state has not yet caught up with the clock (the beat task moves it
within ``PHASE_TICK_SECONDS``) is still frozen as soon as one ballot is cast in it, so
no update can slip in between voting opening and the state being recorded.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION proposals_round_has_votes(round_id bigint) RETURNS boolean AS $$
    SELECT EXISTS (
        SELECT 1 FROM voting_ballot b
        JOIN proposals_roundarea ra ON ra.id = b.round_area_id
        WHERE ra.budget_round_id = round_id
    ) OR EXISTS (
        SELECT 1 FROM voting_arearesult r
        JOIN proposals_roundarea ra ON ra.id = r.round_area_id
        WHERE ra.budget_round_id = round_id
    );
$$ LANGUAGE sql STABLE;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION proposals_round_has_votes(round_id bigint) RETURNS boolean AS $$
    SELECT false;
$$ LANGUAGE sql STABLE;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0004_receipts_to_outbox"),
        ("proposals", "0010_frozen_rounds"),
    ]

    operations = [migrations.RunPython(forward, backward)]
