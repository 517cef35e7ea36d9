"""Triggers that keep NumberTally exact: every insert, update and delete of a phone number
moves its count from one combination of (account, status, provider, voice agent, text
agent, trunk) to another, in the same transaction as the change. The SQL lives with the rest
of the tally, in numbers_app/tally.py; existing numbers are counted once when the triggers
are created."""

from django.db import migrations

from numbers_app.tally import create_triggers, drop_triggers


class Migration(migrations.Migration):
    dependencies = [("numbers_app", "0002_number_tally")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
