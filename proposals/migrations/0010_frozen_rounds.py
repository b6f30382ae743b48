"""Round names unique ignoring case, and, on PostgreSQL, a round's rules frozen once its
voting has opened, guarded by the database as the ledger is.

``proposals_budgetround``: a BEFORE UPDATE trigger refuses a change of the counting
rule, the ballot type and its limit, the currency, the total budget and the dates of
phases already begun, once the row's stored state is voting or later or the round was
imported. The voting deadline may then only move later (extensions are allowed, with a
reason the service records), and not at all once results began. Being imported cannot
be undone.

``proposals_roundarea``: a BEFORE INSERT/UPDATE/DELETE trigger refuses adding or removing
a round's areas, or changing their budget or area, once the round's stored state is
voting or later. Other columns (``voting_closed_at``, set by the close job) stay free.

Both decide from the stored state (OLD.state), never from now(): the beat task moves
the state at each boundary, and the services check the clock as well. The Pabulib import
creates a round already past voting: it inserts the round's area while the round is
still "upcoming" and sets the state at the end of the same transaction (see
``voting.services.pabulib_io``), so these triggers need no exception for it and need not
look at voting's tables. SQLite (development only) relies on the services.
"""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION proposals_round_rules_frozen() RETURNS trigger AS $$
DECLARE
    voting_reached boolean := OLD.is_imported
        OR OLD.state IN ('voting', 'results', 'delivery', 'closed');
BEGIN
    IF OLD.is_imported AND NOT NEW.is_imported THEN
        RAISE EXCEPTION 'round %: an imported round stays imported', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF voting_reached AND (
        NEW.counting_rule IS DISTINCT FROM OLD.counting_rule
        OR NEW.ballot_type IS DISTINCT FROM OLD.ballot_type
        OR NEW.max_choices IS DISTINCT FROM OLD.max_choices
        OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.total_budget IS DISTINCT FROM OLD.total_budget
        OR NEW.submission_starts IS DISTINCT FROM OLD.submission_starts
        OR NEW.review_starts IS DISTINCT FROM OLD.review_starts
        OR NEW.voting_starts IS DISTINCT FROM OLD.voting_starts
        OR NEW.voting_ends < OLD.voting_ends
    ) THEN
        RAISE EXCEPTION 'round %: voting has opened, so its rules, money and passed dates '
            'cannot change, and voting may only be extended', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (OLD.state IN ('results', 'delivery', 'closed')
            AND NEW.voting_ends IS DISTINCT FROM OLD.voting_ends)
        OR (OLD.state IN ('delivery', 'closed')
            AND NEW.delivery_starts IS DISTINCT FROM OLD.delivery_starts)
        OR (OLD.state = 'closed' AND NEW.delivery_ends IS DISTINCT FROM OLD.delivery_ends)
    THEN
        RAISE EXCEPTION 'round %: the dates of phases that have begun cannot change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER proposals_round_rules_frozen
    BEFORE UPDATE ON proposals_budgetround
    FOR EACH ROW EXECUTE FUNCTION proposals_round_rules_frozen();

CREATE OR REPLACE FUNCTION proposals_round_areas_frozen() RETURNS trigger AS $$
DECLARE
    round_ids bigint[];
    frozen_id bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        round_ids := ARRAY[NEW.budget_round_id];
    ELSIF TG_OP = 'DELETE' THEN
        round_ids := ARRAY[OLD.budget_round_id];
    ELSIF NEW.budget IS NOT DISTINCT FROM OLD.budget
            AND NEW.area_id IS NOT DISTINCT FROM OLD.area_id
            AND NEW.budget_round_id IS NOT DISTINCT FROM OLD.budget_round_id THEN
        RETURN NEW;  -- e.g. the close job setting voting_closed_at
    ELSE
        round_ids := ARRAY[OLD.budget_round_id, NEW.budget_round_id];
    END IF;
    SELECT id INTO frozen_id FROM proposals_budgetround
        WHERE id = ANY(round_ids) AND state IN ('voting', 'results', 'delivery', 'closed')
        LIMIT 1;
    IF frozen_id IS NOT NULL THEN
        RAISE EXCEPTION 'round %: voting has opened, so its areas and their budgets cannot '
            'change', frozen_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER proposals_round_areas_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON proposals_roundarea
    FOR EACH ROW EXECUTE FUNCTION proposals_round_areas_frozen();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS proposals_round_areas_frozen ON proposals_roundarea;
DROP FUNCTION IF EXISTS proposals_round_areas_frozen();
DROP TRIGGER IF EXISTS proposals_round_rules_frozen ON proposals_budgetround;
DROP FUNCTION IF EXISTS proposals_round_rules_frozen();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0009_round_names_unique_and_change_reason"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="budgetround",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="round_name_unique_ignoring_case",
                violation_error_message="There is already a round with this name.",
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
