from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from kalem_site.accounts.services import account_get_or_create, operator_create_or_update


class Command(BaseCommand):
    help = "Create a dashboard user of an account (created if missing), or set an existing user's password."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, account: str, username: str, password: str, **options):
        if not account.strip() or not username.strip() or not password:
            raise CommandError("--account, --username and --password must not be empty.")
        try:
            # One transaction: a refusal must not leave a new, empty account behind.
            with transaction.atomic():
                user, created = operator_create_or_update(
                    account=account_get_or_create(name=account), username=username.strip(), password=password
                )
        except ValueError as error:
            raise CommandError(str(error)) from None
        verb = "Created" if created else "Updated the password of"
        self.stdout.write(f"{verb} operator {user.username!r} of account {user.account.name!r}.")
