"""Fixtures of the Twilio import suite: a fake of Twilio's REST API the app is pointed at,
and the account's credentials for it."""

import socket

import pytest

from kalem_site.accounts.models import TwilioCredentials
from numbers_app.twilio import twilio_credentials_set

from .fake import FakeTwilio

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f3a1c9e2b7d64a0e9c8b5d2f1a0e7c6b"


@pytest.fixture
def fake_twilio(settings):
    """Twilio, as far as the import asks it: an empty Twilio account until a test fills
    `fake_twilio.numbers`."""
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as fake:
        settings.TWILIO_API_BASE_URL = fake.base_url
        yield fake


@pytest.fixture
def credentials(account) -> TwilioCredentials:
    return twilio_credentials_set(account=account, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)


@pytest.fixture
def twilio_down(settings) -> None:
    """Twilio's address refuses connections: a port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"
