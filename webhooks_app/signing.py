"""Endpoint secrets and message signatures, with the `standardwebhooks` library (Standard
Webhooks 1.0): no hand-written HMAC. Secrets are stored encrypted with the key of the Twilio
credentials (kalem_site.accounts.crypto) and never logged."""

import base64
import secrets
from datetime import datetime, timedelta

from standardwebhooks.webhooks import Webhook

from kalem_site.accounts import crypto

from .models import WebhookEndpoint

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the contract allows 24 to 64
# For this long after a rotation the previous secret signs too.
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a message sent now: the current one, and the previous one during
    the 24 hours after a rotation."""
    current = [crypto.decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and endpoint.rotated_at and now < endpoint.rotated_at + ROTATION_OVERLAP:
        current.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return current


def signature_header(secrets_: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """`webhook-signature`: `v1,<base64>` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets_)
