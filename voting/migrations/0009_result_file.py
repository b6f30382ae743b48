"""The stored Pabulib file of each published result (``ResultFile``), and the database's
guards on it.

PostgreSQL: a BEFORE UPDATE OR DELETE row trigger refuses any change for every role (as
the ledger's append-only trigger does; TRUNCATE, which the test runner uses, is left
alone), and a CHECK makes the stored digest the SHA-256 of the stored text's UTF-8 bytes.

SQLite (development only): a trigger refuses UPDATE; the model refuses DELETE (Django's
test runner empties SQLite tables with DELETE, so no trigger there).
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL_FORWARD = """
CREATE FUNCTION voting_result_file_is_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a stored result file is never changed (result %%)', OLD.result_id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER voting_result_file_immutable
    BEFORE UPDATE OR DELETE ON voting_resultfile
    FOR EACH ROW EXECUTE FUNCTION voting_result_file_is_immutable();

ALTER TABLE voting_resultfile ADD CONSTRAINT result_file_sha256_of_content
    CHECK (sha256 = encode(sha256(convert_to(content, 'UTF8')), 'hex'));
"""
POSTGRESQL_BACKWARD = """
ALTER TABLE voting_resultfile DROP CONSTRAINT IF EXISTS result_file_sha256_of_content;
DROP TRIGGER IF EXISTS voting_result_file_immutable ON voting_resultfile;
DROP FUNCTION IF EXISTS voting_result_file_is_immutable();
"""
SQLITE_FORWARD = """CREATE TRIGGER voting_result_file_no_update BEFORE UPDATE ON voting_resultfile
   BEGIN SELECT RAISE(ABORT, 'a stored result file is never changed'); END;"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS voting_result_file_no_update;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("voting", "0008_result_explanation"),
    ]

    operations = [
        migrations.CreateModel(
            name="ResultFile",
            fields=[
                (
                    "result",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="file",
                        serialize=False,
                        to="voting.arearesult",
                    ),
                ),
                ("content", models.TextField()),
                ("sha256", models.CharField(max_length=64)),
                ("generated_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("sha256__regex", "^[0-9a-f]{64}$")),
                        name="result_file_sha256_hex",
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
