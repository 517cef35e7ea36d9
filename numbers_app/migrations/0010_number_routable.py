"""PhoneNumber.routable: the routing lookup's verdict as a column the database computes and
stores (a generated column), with an index for the list's `?routable=` filter.

SQLite cannot add a stored generated column to a table, so Django rebuilds the table, and
the tally triggers of migration 0003 go with the old table; they are created again on the
new one (the rows were copied with no trigger on the new table, so the tally is still exact).
PostgreSQL adds the column in place and keeps its triggers."""

import importlib

from django.db import migrations, models

_TALLY_TRIGGERS = importlib.import_module("numbers_app.migrations.0003_tally_triggers")


def restore_sqlite_tally_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in [*_TALLY_TRIGGERS.SQLITE_BACKWARD, *_TALLY_TRIGGERS.SQLITE_FORWARD]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_idempotency_lease"),
        ("agents_app", "0001_initial"),
        ("numbers_app", "0009_trunk_password_encrypted"),
    ]

    operations = [
        # Unapplying removes the column, which on SQLite rebuilds the table again.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_tally_triggers),
        migrations.AddField(
            model_name="phonenumber",
            name="routable",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Q(
                    ("status", "active"),
                    models.Q(("voice_agent__isnull", False), ("text_agent__isnull", False), _connector="OR"),
                    models.Q(("provider", "twilio"), ("trunk__isnull", False), _connector="OR"),
                ),
                output_field=models.BooleanField(),
            ),
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(fields=["account", "routable", "id"], name="number_account_routable_idx"),
        ),
        migrations.RunPython(restore_sqlite_tally_triggers, migrations.RunPython.noop),
    ]
