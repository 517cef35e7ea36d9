"""SIP trunk digest passwords encrypted at rest (issue 11): the plaintext `password` column
becomes `password_encrypted`, a Fernet token made with CREDENTIALS_KEY, as for Twilio
credentials. Existing passwords are encrypted here; without a key, migrating a database that
holds any is refused with a message saying what to set (and nothing is changed)."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import migrations, models

BATCH = 500
# Frozen here (a migration must not change with the app's code): the Fernet calls that
# kalem_site.accounts.crypto makes today, with the same key.
KEY_MISSING = "Set CREDENTIALS_KEY in the server's environment to store and use SIP trunk passwords (see README)."


def _fernet() -> Fernet:
    if not settings.CREDENTIALS_KEY:
        raise RuntimeError(f"SIP trunks hold passwords to encrypt. {KEY_MISSING}")
    return Fernet(settings.CREDENTIALS_KEY)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    return _fernet().decrypt(ciphertext).decode()


def encrypt_passwords(apps, schema_editor):
    SipTrunk = apps.get_model("numbers_app", "SipTrunk")
    trunks = SipTrunk.objects.using(schema_editor.connection.alias).exclude(password="").order_by("pk")
    for trunk in trunks.iterator(chunk_size=BATCH):
        trunk.password_encrypted = encrypt(trunk.password)
        trunk.save(update_fields=["password_encrypted"])


def decrypt_passwords(apps, schema_editor):
    SipTrunk = apps.get_model("numbers_app", "SipTrunk")
    trunks = SipTrunk.objects.using(schema_editor.connection.alias).exclude(password_encrypted="").order_by("pk")
    for trunk in trunks.iterator(chunk_size=BATCH):
        trunk.password = decrypt(trunk.password_encrypted)
        trunk.save(update_fields=["password"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_twilio_credentials"),
        ("numbers_app", "0008_background_jobs"),
    ]

    # The old constraint goes first and the new one comes last, so that either direction
    # runs with no constraint on a column that is still being filled.
    operations = [
        migrations.RemoveConstraint(model_name="siptrunk", name="siptrunk_digest_has_credentials"),
        migrations.AddField(
            model_name="siptrunk",
            name="password_encrypted",
            field=models.TextField(blank=True, default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_passwords, decrypt_passwords, elidable=False),
        migrations.RemoveField(model_name="siptrunk", name="password"),
        migrations.AddConstraint(
            model_name="siptrunk",
            constraint=models.CheckConstraint(
                condition=models.Q(("auth_type", "digest"), _negated=True)
                | (~models.Q(username="") & ~models.Q(password_encrypted="")),
                name="siptrunk_digest_has_credentials",
            ),
        ),
    ]
