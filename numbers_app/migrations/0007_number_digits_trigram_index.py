"""Move the trigram index of `?search=` from `number` to the number's digits,
`substring(number, 2)`, which is what the search now filters on.

A trigram index on `number` itself also answers `number = …` and `number IN (…)`: before
statistics exist, PostgreSQL chose it for the import's and the Twilio sync's `IN` lists of a
thousand numbers, at seconds per query instead of milliseconds on the unique index. No
equality lookup uses this expression. A no-op on SQLite, as migration 0004 was."""

from django.db import migrations


def move_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS number_search_trgm_idx")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS number_digits_trgm_idx ON numbers_app_phonenumber "
        "USING gin ((substring(number, 2)) gin_trgm_ops)"
    )


def move_index_back(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS number_digits_trgm_idx")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS number_search_trgm_idx ON numbers_app_phonenumber USING gin (number gin_trgm_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("numbers_app", "0006_import_jobs")]

    operations = [migrations.RunPython(move_index, move_index_back)]
