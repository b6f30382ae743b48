"""The database cache's table (pb_platform/cache.py): sign-in rate limits live there when
Redis is not configured, and while a configured Redis is down. Created here rather than
by a separate `createcachetable` step so every setup and test database has it."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "pb_cache"  # pb_platform.cache.DATABASE_CACHE_TABLE, frozen here


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("pb_platform", "0006_heartbeat")]

    operations = [migrations.RunPython(create, drop)]
