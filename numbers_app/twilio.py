"""Import from Twilio: an account's stored Twilio credentials, and the sync that lists the
Twilio account's incoming phone numbers and creates the missing ones here.

The listing goes through the official `twilio` package and its paging.
settings.TWILIO_API_BASE_URL points the package at another server, such as the tests' fake
of Twilio's REST API."""

import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from kalem_site.accounts.crypto import CredentialsUnavailable, encrypt
from kalem_site.accounts.models import Account, TwilioCredentials
from kalem_site.actors import Actor

from .models import PhoneNumber
from .phone import parse_e164
from .services import number_create

logger = logging.getLogger(__name__)

ACCOUNT_SID_RE = re.compile(r"AC[0-9a-f]{32}")
ACCOUNT_SID_MESSAGE = "Enter the Account SID: AC followed by 32 hexadecimal digits (Twilio Console, Account Info)."
AUTH_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,128}")
AUTH_TOKEN_MESSAGE = "Enter the auth token (Twilio Console, Account Info): up to 128 characters, no spaces."
NO_CREDENTIALS_MESSAGE = "Store the Twilio credentials of the account first."

# Twilio's largest page: the fewest requests for a big account. Twilio may serve smaller pages;
# the client follows `next_page_uri` either way.
PAGE_SIZE = 1000
# Numbers looked up per query, well under every database's limit on query parameters.
LOOKUP_BATCH = 500


class TwilioSyncError(Exception):
    """The sync could not ask Twilio, or Twilio would not answer. Nothing was written; the
    message says why, in words for the people who can fix it."""


@dataclass
class TwilioSyncReport:
    """What a sync found, each list of E.164 numbers sorted."""

    # In Twilio, missing here: now numbers of the account with provider twilio.
    created: list[str] = field(default_factory=list)
    # In Twilio and already a number of the account (whatever its provider): left alone.
    already_here: list[str] = field(default_factory=list)
    # Numbers of the account with provider twilio that the Twilio account does not list.
    only_here: list[str] = field(default_factory=list)
    # In Twilio, but registered here by another account: a number has one owner, so not created.
    taken_by_other_account: list[str] = field(default_factory=list)
    # What Twilio listed that is not a possible E.164 number, as Twilio wrote it.
    invalid: list[str] = field(default_factory=list)

    SECTIONS = (
        ("created", "Created here"),
        ("already_here", "Already here"),
        ("taken_by_other_account", "In Twilio, registered by another account (not created)"),
        ("only_here", "Here only: provider Twilio, not in the Twilio account"),
        ("invalid", "In Twilio, not an E.164 number (skipped)"),
    )

    @property
    def listed(self) -> int:
        """How many numbers the Twilio account lists."""
        return len(self.created) + len(self.already_here) + len(self.taken_by_other_account) + len(self.invalid)

    def as_dict(self) -> dict:
        return asdict(self)

    def sections(self) -> list[tuple[str, str, list[str]]]:
        """(key, title, numbers) of each list, in the order pages and the command show them."""
        return [(key, title, getattr(self, key)) for key, title in self.SECTIONS]


@sensitive_variables()
@transaction.atomic
def twilio_credentials_set(*, account: Account, account_sid: str, auth_token: str) -> TwilioCredentials:
    """Store (or replace) the account's Twilio credentials, encrypted."""
    account_sid, auth_token = account_sid.strip(), auth_token.strip()
    errors = {}
    if not ACCOUNT_SID_RE.fullmatch(account_sid):
        errors["account_sid"] = ACCOUNT_SID_MESSAGE
    if not AUTH_TOKEN_RE.fullmatch(auth_token):
        errors["auth_token"] = AUTH_TOKEN_MESSAGE
    if errors:
        raise ValidationError(errors)
    try:
        encrypted = {"account_sid_encrypted": encrypt(account_sid), "auth_token_encrypted": encrypt(auth_token)}
    except CredentialsUnavailable as error:
        raise ValidationError(str(error)) from None
    credentials, _ = TwilioCredentials.objects.update_or_create(account=account, defaults=encrypted)
    return credentials


@transaction.atomic
def twilio_credentials_delete(*, account: Account) -> bool:
    """Forget the account's Twilio credentials. Returns whether there were any."""
    deleted, _ = TwilioCredentials.objects.filter(account=account).delete()
    return deleted > 0


@sensitive_variables()
def twilio_client(*, account_sid: str, auth_token: str) -> Client:
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS))
    if settings.TWILIO_API_BASE_URL:
        # The Api domain makes every URL absolute against its base_url: the first page's and
        # the `next_page_uri` of the following ones.
        client.api.base_url = settings.TWILIO_API_BASE_URL
        # TWILIO_EDGE or TWILIO_REGION in the environment would rewrite the host otherwise.
        client.edge = client.region = None
    return client


def _http_error_message(status: int, code: int | None) -> str:
    detail = f"HTTP {status}" if code in (None, status) else f"HTTP {status}, Twilio error {code}"
    if status == 401:
        return f"Twilio refused the stored credentials ({detail}). Check the Account SID and the auth token."
    if status == 429 or status >= 500:
        return f"Twilio could not list the phone numbers right now ({detail}); try again later."
    return f"Twilio refused to list the phone numbers ({detail})."


def _twilio_error_message(error: TwilioException) -> str:
    # Twilio's own messages can quote the request's path, which holds the Account SID: only
    # the status and Twilio's error code are passed on.
    if isinstance(error, TwilioRestException):
        return _http_error_message(error.status, error.code)
    # A page that is not a 200 is TwilioException("Unable to fetch page", response).
    response = error.args[1] if len(error.args) > 1 else None
    if response is None or not hasattr(response, "status_code"):
        return "Twilio's answer could not be read; nothing was imported."
    try:
        code = int(json.loads(response.text)["code"])
    except (ValueError, TypeError, KeyError):
        code = None
    return _http_error_message(response.status_code, code)


@sensitive_variables()
def twilio_list_numbers(
    *, account_sid: str, auth_token: str, on_listed: Callable[[int], None] | None = None
) -> list[str]:
    """The `phone_number` of every incoming phone number of the Twilio account, every page;
    on_listed(count) is called after each page's worth.

    Raises TwilioSyncError when Twilio cannot be reached, refuses, or answers nonsense."""
    client = twilio_client(account_sid=account_sid, auth_token=auth_token)
    host = urlsplit(client.api.base_url).netloc
    listing = client.api.v2010.accounts(account_sid).incoming_phone_numbers
    try:
        numbers = []
        for record in listing.stream(page_size=PAGE_SIZE):
            numbers.append(record.phone_number)
            if on_listed is not None and len(numbers) % PAGE_SIZE == 0:
                on_listed(len(numbers))
        return numbers
    except TwilioException as error:
        message = _twilio_error_message(error)
    except requests.Timeout:
        message = f"Twilio ({host}) did not answer within {settings.TWILIO_TIMEOUT_SECONDS:g} seconds; try again later."
    except requests.ConnectionError:
        message = f"Could not connect to Twilio ({host}); try again later."
    except (requests.RequestException, ValueError):
        message = "Twilio's answer could not be read; nothing was imported."
    finally:
        client.http_client.session.close()
    raise TwilioSyncError(message)


def _owners(numbers: list[str]) -> dict[str, int]:
    """The account id of each of these numbers that is registered here, in any account: a
    number has one owner across the service, so another account's number cannot be created."""
    owners = {}
    for start in range(0, len(numbers), LOOKUP_BATCH):
        batch = numbers[start : start + LOOKUP_BATCH]
        owners.update(PhoneNumber.objects.filter(number__in=batch).values_list("number", "account_id"))
    return owners


@sensitive_variables()
def twilio_sync(
    *,
    actor: Actor,
    account: Account,
    on_listed: Callable[[int], None] | None = None,
    record: Callable[[TwilioSyncReport], None] | None = None,
) -> TwilioSyncReport:
    """List the incoming phone numbers of the account's Twilio account and create the ones
    missing here as provider=twilio numbers of the account (with their audit events).
    Nothing that exists here is changed or deleted; the report says what differs.

    Twilio is asked first, outside any transaction, so that a slow Twilio holds no database
    lock (on_listed follows its progress); the numbers are then created in one transaction,
    which record(report) joins (a job storing its report): a sync interrupted before its
    commit wrote nothing, and running it again is exact. Raises TwilioSyncError, having
    written nothing, when the credentials are missing or unusable or Twilio does not answer."""
    credentials = TwilioCredentials.objects.filter(account=account).first()
    if credentials is None:
        raise TwilioSyncError(NO_CREDENTIALS_MESSAGE)
    try:
        account_sid, auth_token = credentials.get_account_sid(), credentials.get_auth_token()
    except CredentialsUnavailable as error:
        raise TwilioSyncError(str(error)) from None
    try:
        listed = twilio_list_numbers(account_sid=account_sid, auth_token=auth_token, on_listed=on_listed)
    except TwilioSyncError as error:
        logger.warning("Twilio sync of account %s failed: %s", account.pk, error)
        raise

    report = TwilioSyncReport()
    in_twilio = set()
    for value in listed:
        try:
            in_twilio.add(parse_e164(value))
        except ValidationError:
            report.invalid.append(str(value))
    report.invalid.sort()

    with transaction.atomic():
        owners = _owners(sorted(in_twilio))
        for number in sorted(in_twilio):
            owner = owners.get(number)
            if owner == account.pk:
                report.already_here.append(number)
            elif owner is not None:
                report.taken_by_other_account.append(number)
            else:
                try:
                    number_create(actor=actor, account=account, number=number, provider=PhoneNumber.Provider.TWILIO)
                except ValidationError:
                    # Registered in the meantime (number_create's savepoint keeps this
                    # transaction usable): report it by its owner now.
                    if PhoneNumber.objects.for_account(account).filter(number=number).exists():
                        report.already_here.append(number)
                    else:
                        report.taken_by_other_account.append(number)
                else:
                    report.created.append(number)
        here = PhoneNumber.objects.for_account(account).filter(provider=PhoneNumber.Provider.TWILIO)
        report.only_here = sorted(set(here.values_list("number", flat=True)) - in_twilio)
        if record is not None:
            record(report)
    logger.info(
        "Twilio sync of account %s by %s: %d listed, %d created.", account.pk, actor, report.listed, len(report.created)
    )
    return report
