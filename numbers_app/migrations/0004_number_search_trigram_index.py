"""A trigram index for `?search=`: `number LIKE '%555%'` on PostgreSQL finds its rows through
the index instead of reading every number of the account. A no-op on SQLite, which has no
such index (and serves small installations, where a scan is fast anyway)."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS number_search_trgm_idx ON numbers_app_phonenumber USING gin (number gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS number_search_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("numbers_app", "0003_tally_triggers")]

    operations = [migrations.RunPython(create_index, drop_index)]
