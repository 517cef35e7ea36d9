from django.core.management.base import BaseCommand, CommandError

from kalem_site.accounts.models import Account, ApiToken
from kalem_site.accounts.services import account_get_or_create, token_create, token_expiry_in_days

# A hundred years: far enough for "never" in practice, near enough not to overflow a date.
MAX_EXPIRES_IN_DAYS = 36500


class Command(BaseCommand):
    help = "Create an API token for an account (created if missing). The last line printed is the token."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account name (created if it does not exist).")
        parser.add_argument("--name", required=True, help="A name to recognise the token by.")
        parser.add_argument("--read-only", action="store_true", help="The token may only read.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, account: str, name: str, read_only: bool, expires_in_days: int | None, **options):
        if not account.strip() or not name.strip():
            raise CommandError("--account and --name must not be empty.")
        # Checked here, as PostgreSQL would refuse longer values with a traceback.
        for option, value, model in (("--account", account, Account), ("--name", name, ApiToken)):
            if len(value.strip()) > model._meta.get_field("name").max_length:
                raise CommandError(f"{option} must be at most {model._meta.get_field('name').max_length} characters.")
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS:
            raise CommandError(f"--expires-in-days must be between 1 and {MAX_EXPIRES_IN_DAYS}.")
        issued = token_create(
            account=account_get_or_create(name=account),
            name=name.strip(),
            read_only=read_only,
            expires_at=token_expiry_in_days(expires_in_days),
        )
        token = issued.token
        details = ", read-only" if token.read_only else ""
        if token.expires_at:
            details += f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC"
        self.stdout.write(f"Created token {token.name!r} for account {token.account.name!r}{details}.")
        self.stdout.write("Store it now; it is not shown again:")
        self.stdout.write(issued.plaintext)
