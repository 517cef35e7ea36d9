from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from agents_app.models import TextAgent, VoiceAgent
from agents_app.services import agent_create
from kalem_site.accounts.models import ApiToken
from kalem_site.accounts.services import account_get_or_create, operator_create_or_update, token_create, token_delete
from kalem_site.actors import Actor
from numbers_app.models import PhoneNumber, SipTrunk
from numbers_app.services import number_create, trunk_create

DEMO_ACCOUNT = "Demo"
DEMO_OPERATOR = ("demo", "demo-password")
DEMO_TOKEN_NAME = "Demo token (make run)"


class Command(BaseCommand):
    help = (
        "Create the demo account with agents, trunks and numbers (once; running it again adds "
        "nothing), the demo operator, and a fresh API token, printed last."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        account = account_get_or_create(name=DEMO_ACCOUNT)
        operator, _ = operator_create_or_update(account=account, username=DEMO_OPERATOR[0], password=DEMO_OPERATOR[1])

        if not PhoneNumber.objects.for_account(account).exists():
            self._seed(account)

        # Only the newest demo token is kept: its plaintext cannot be shown again, so each run
        # replaces it instead of piling up tokens nobody can use.
        for token in ApiToken.objects.for_account(account).filter(name=DEMO_TOKEN_NAME):
            token_delete(token=token)
        issued = token_create(account=account, name=DEMO_TOKEN_NAME, created_by=operator)

        self.stdout.write(f"Dashboard: http://127.0.0.1:8000/  (sign in as {DEMO_OPERATOR[0]} / {DEMO_OPERATOR[1]})")
        self.stdout.write("API token for the demo account (Authorization: Bearer <token>):")
        self.stdout.write(issued.plaintext)

    def _seed(self, account) -> None:
        actor = Actor.for_command("seeddemo")

        # Agents and trunks left from an earlier run (its numbers since deleted) are reused:
        # creating them again would break their unique names.
        def reuse_or_create_agent(model, name: str, **fields):
            existing = model.objects.for_account(account).filter(name=name).first()
            return existing or agent_create(model=model, account=account, name=name, **fields)

        def reuse_or_create_trunk(name: str, **fields):
            existing = SipTrunk.objects.for_account(account).filter(name=name).first()
            return existing or trunk_create(account=account, name=name, **fields)

        sales = reuse_or_create_agent(VoiceAgent, "Sales Agent", description="Answers sales lines.")
        support = reuse_or_create_agent(VoiceAgent, "Support Agent")
        sms = reuse_or_create_agent(TextAgent, "SMS Concierge")
        primary = reuse_or_create_trunk("Primary Trunk", direction="inbound", auth_type="ip", host="10.0.0.1")
        # Trunk passwords are stored encrypted with CREDENTIALS_KEY; without one (as `make run`
        # starts) the demo carrier authenticates by IP address instead.
        carrier_auth = (
            {"auth_type": "digest", "username": "kalem_trunk", "password": "change-me"}
            if settings.CREDENTIALS_KEY
            else {"auth_type": "ip"}
        )
        carrier = reuse_or_create_trunk(
            "Carrier Outbound", direction="outbound", outbound_server="sip.carrier.example:5060", **carrier_auth
        )
        plan = [
            (sales, sms, primary),
            (sales, None, primary),
            (support, None, carrier),
            (support, sms, carrier),
            (None, sms, None),
            (None, None, None),
        ]
        for index in range(24):
            voice, text, trunk = plan[index % len(plan)]
            number_create(
                actor=actor,
                account=account,
                number=f"+1555010{index:04d}",
                provider="twilio" if index % 4 == 0 else "manual",
                voice_agent=voice,
                text_agent=text,
                trunk=trunk,
                status="inactive" if index % 5 == 4 else "active",
            )
