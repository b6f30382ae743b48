"""On PostgreSQL, guarantee in the database that a round's area budgets never add up to
more than its total budget. A CHECK constraint cannot see other rows, so this is a
constraint trigger, deferred to commit so a service may change the total and the area
budgets in one transaction in any order. SQLite relies on the service's check."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION proposals_area_budgets_within_total() RETURNS trigger AS $$
DECLARE
    round_id bigint;
    round_total numeric;
    areas_total numeric;
BEGIN
    IF TG_TABLE_NAME = 'proposals_budgetround' THEN
        round_id := NEW.id;
    ELSE
        round_id := NEW.budget_round_id;
    END IF;
    SELECT total_budget INTO round_total FROM proposals_budgetround WHERE id = round_id;
    IF round_total IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(SUM(budget), 0) INTO areas_total
        FROM proposals_roundarea WHERE budget_round_id = round_id;
    IF areas_total > round_total THEN
        RAISE EXCEPTION 'area budgets of round % add up to %, more than its total budget %',
            round_id, areas_total, round_total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER round_area_budgets_within_total
    AFTER INSERT OR UPDATE ON proposals_roundarea
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION proposals_area_budgets_within_total();

CREATE CONSTRAINT TRIGGER round_total_covers_area_budgets
    AFTER UPDATE OF total_budget ON proposals_budgetround
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION proposals_area_budgets_within_total();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS round_total_covers_area_budgets ON proposals_budgetround;
DROP TRIGGER IF EXISTS round_area_budgets_within_total ON proposals_roundarea;
DROP FUNCTION IF EXISTS proposals_area_budgets_within_total();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0002_role_permissions")]
    operations = [migrations.RunPython(forward, backward)]
