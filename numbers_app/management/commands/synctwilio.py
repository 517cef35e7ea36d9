from django.core.management.base import BaseCommand, CommandError

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor, Channel
from numbers_app.twilio import TwilioSyncError, twilio_sync


class Command(BaseCommand):
    help = (
        "List the incoming phone numbers of an account's Twilio account (with the credentials stored in the "
        "dashboard) and create the missing ones as Twilio numbers; report what differs either way."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account name (any case).")

    def handle(self, *args, account: str, **options):
        found = Account.objects.filter(name__iexact=account.strip()).first() if account.strip() else None
        if found is None:
            raise CommandError(f"No account named {account!r}.")
        try:
            report = twilio_sync(actor=Actor.for_command("synctwilio", Channel.IMPORT), account=found)
        except TwilioSyncError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Twilio lists {report.listed} number(s) for account {found.name!r}.")
        for _key, title, numbers in report.sections():
            self.stdout.write(f"{title}: {len(numbers)}")
            for number in numbers:
                self.stdout.write(f"  {number}")
