"""SIP trunk names unique within an account (issue 15.5), as agent names are: the CSV import
and export refer to trunks by name, and two trunks of one name made a re-import of the
export fail.

Existing duplicates are renamed first: the oldest trunk of a name keeps it, the others become
`Primary Trunk (2)`, `Primary Trunk (3)`, … (a suffix no trunk of the account has yet, the
name shortened to fit 100 characters). Each rename is on the timeline of the trunk's numbers,
as a rename in the dashboard would be, by `migrate` (no webhook message is sent for it).
Reversing drops the constraint and keeps the new names."""

from collections import defaultdict

from django.db import migrations, models
from django.utils import timezone

NAME_MAX_LENGTH = 100
BATCH = 1000
# Who the renames' events name: frozen here, as kalem_site.actors spells a command today.
ACTOR = {"actor_type": "system", "actor_name": "migrate", "channel": "command"}


def numbered(name: str, n: int) -> str:
    suffix = f" ({n})"
    return name[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix


def rename_duplicates(apps, schema_editor):
    SipTrunk = apps.get_model("numbers_app", "SipTrunk")
    PhoneNumber = apps.get_model("numbers_app", "PhoneNumber")
    NumberEvent = apps.get_model("numbers_app", "NumberEvent")
    db = schema_editor.connection.alias

    # Trunks are few (a handful per account): read them all, grouped by account and name.
    trunks = defaultdict(list)
    for trunk in SipTrunk.objects.using(db).order_by("account_id", "id"):
        trunks[trunk.account_id].append(trunk)
    now = timezone.now()
    for account_id, account_trunks in trunks.items():
        taken = {trunk.name for trunk in account_trunks}
        by_name = defaultdict(list)
        for trunk in account_trunks:
            by_name[trunk.name].append(trunk)
        for name, same in by_name.items():
            n = 1
            for trunk in same[1:]:  # the oldest keeps its name
                n += 1
                while numbered(name, n) in taken:
                    n += 1
                trunk.name = numbered(name, n)
                taken.add(trunk.name)
                trunk.save(update_fields=["name"])
                before, after = {"id": trunk.pk, "name": name}, {"id": trunk.pk, "name": trunk.name}
                numbers = PhoneNumber.objects.using(db).filter(trunk_id=trunk.pk).order_by("id")
                events = [
                    NumberEvent(
                        account_id=account_id,
                        number_id=number_id,
                        number=e164,
                        action="renamed",
                        field="trunk",
                        before=before,
                        after=after,
                        occurred_at=now,
                        **ACTOR,
                    )
                    for number_id, e164 in numbers.values_list("id", "number").iterator(chunk_size=BATCH)
                ]
                NumberEvent.objects.using(db).bulk_create(events, batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("numbers_app", "0011_number_event_days"),
    ]

    operations = [
        migrations.RunPython(rename_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="siptrunk",
            constraint=models.UniqueConstraint(fields=("account", "name"), name="siptrunk_name_unique_per_account"),
        ),
    ]
