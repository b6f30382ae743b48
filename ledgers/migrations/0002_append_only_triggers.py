"""The database itself refuses to change or delete a ledger entry.

PostgreSQL: a BEFORE UPDATE OR DELETE row trigger that raises; it stops every role's
plain UPDATE and DELETE, the superuser's included (only disabling the trigger, which is
itself logged DDL, gets past it). TRUNCATE is left alone: only the table's owner can
run it, and the test runner empties tables with it between tests.

SQLite (development only): a trigger refuses UPDATE. DELETE is refused by the model
(and by PROTECT foreign keys) but not by a trigger, because Django's test runner empties
SQLite tables with DELETE.
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE FUNCTION ledgers_entry_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: record a reversal instead (entry %%)', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledgers_entry_append_only
    BEFORE UPDATE OR DELETE ON ledgers_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION ledgers_entry_is_append_only();
"""
POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS ledgers_entry_append_only ON ledgers_ledgerentry;
DROP FUNCTION IF EXISTS ledgers_entry_is_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER ledgers_entry_no_update BEFORE UPDATE ON ledgers_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: record a reversal instead'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS ledgers_entry_no_update;",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledgers", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
