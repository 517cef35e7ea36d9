"""Encryption of the credentials an account stores for other services (its Twilio Account SID
and auth token, its SIP trunks' digest passwords): Fernet, with the key in settings.CREDENTIALS_KEY, so that the database alone
never reveals them."""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

KEY_MISSING_MESSAGE = (
    "Set CREDENTIALS_KEY in the server's environment to store and use Twilio credentials (see README)."
)
WRONG_KEY_MESSAGE = (
    "The stored Twilio credentials were encrypted with another CREDENTIALS_KEY and cannot be read; store them again."
)

TRUNK_KEY_MISSING_MESSAGE = (
    "Set CREDENTIALS_KEY in the server's environment to store and use SIP trunk passwords (see README)."
)
TRUNK_WRONG_KEY_MESSAGE = (
    "The trunk's password was encrypted with another CREDENTIALS_KEY and cannot be read; set it again."
)


class CredentialsUnavailable(Exception):
    """Credentials cannot be encrypted or decrypted with this server's key. The message says
    why, in words for the people who can fix it."""


def _fernet() -> Fernet:
    if not settings.CREDENTIALS_KEY:
        raise CredentialsUnavailable(KEY_MISSING_MESSAGE)
    return Fernet(settings.CREDENTIALS_KEY)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext).decode()
    except InvalidToken:
        raise CredentialsUnavailable(WRONG_KEY_MESSAGE) from None
