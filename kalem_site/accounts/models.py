"""The tenant (Account), the people who sign in to it (User), its API keys (ApiToken) and the
credentials it stores for other services (TwilioCredentials)."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .countries import validate_phone_country
from .crypto import decrypt


class Account(models.Model):
    """A customer of the service. Every number, agent, trunk and token belongs to one."""

    name = models.CharField(max_length=100)
    # The country a number typed or pasted in the dashboard without its country code is read
    # in (`415-555-0142` is +14155550142 with US). The API always takes E.164.
    default_country = models.CharField(
        max_length=2,
        default="US",
        validators=[validate_phone_country],
        help_text="Numbers typed in the dashboard without a country code (415-555-0142) are numbers of this country.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # `createtoken --account NAME` finds or creates accounts by name, so names are unique
            # regardless of case.
            models.UniqueConstraint(Lower("name"), name="account_name_unique_ci"),
            # A region code as phonenumbers takes it: two capital letters.
            models.CheckConstraint(
                condition=models.Q(default_country__regex=r"^[A-Z]{2}$"), name="account_default_country_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A dashboard user. Staff users may have no account; operators always have one."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users", null=True, blank=True)

    class Meta(AbstractUser.Meta):
        ordering = ["username"]
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.username


TOKEN_PREFIX = "klm_"


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiTokenQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> "ApiTokenQuerySet":
        return self.filter(account=account)


class ApiToken(models.Model):
    """A bearer token of an account. Only the SHA-256 digest of the secret is stored."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the plaintext, shown in lists so people can tell tokens apart.
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired


# How long the first request with an Idempotency-Key holds the key without renewing it. Its
# process renews the lease every few seconds while the request runs (kalem_site.api.idempotency);
# a request whose worker died cannot, so a retry may run a few seconds after the death.
IDEMPOTENCY_LEASE = timedelta(seconds=10)


def idempotency_lease_end():
    return timezone.now() + IDEMPOTENCY_LEASE


# How long a stored response is replayed; older records are purged (kalem_site.accounts.tasks).
IDEMPOTENCY_RETENTION = timedelta(hours=24)


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an `Idempotency-Key` header, kept for 24 hours
    so that a retry with the same key gets the same answer instead of doing the work twice."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is an error.
    fingerprint = models.CharField(max_length=64)
    # Null while the first request is still running.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(blank=True, default=b"")
    location = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # While status_code is null: the first request holds the key until then.
    locked_until = models.DateTimeField(default=idempotency_lease_end)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One record per key and account: the row insert is what makes two concurrent
            # retries see each other.
            models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique_per_account"),
        ]
        indexes = [
            # Purging expired records: WHERE created_at < ?
            models.Index(fields=["created_at"], name="idempotency_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.key}"


class RateLimitCounter(models.Model):
    """Requests of one client (a token digest, or an address) in the current rate-limit
    window, when the counters are kept in the database rather than in Redis.

    One row per client, moved to the new window by the same upsert that counts the request,
    so counting is one atomic statement whatever the number of workers and hosts."""

    identity = models.CharField(max_length=80, primary_key=True)
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["identity"]
        indexes = [
            # Purging counters of ended windows: WHERE window_start < ?
            models.Index(fields=["window_start"], name="ratelimit_window_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.identity}: {self.count} since {self.window_start}"


class TwilioCredentials(models.Model):
    """An account's Twilio Account SID and auth token, with which its numbers are imported
    (numbers_app/twilio.py). Both are stored encrypted (accounts/crypto.py) and are write-only:
    no page, response, admin or log shows them; pages show at most the SID's last 4 characters."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="twilio_credentials")
    account_sid_encrypted = models.TextField(editable=False)
    auth_token_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "Twilio credentials"
        verbose_name_plural = "Twilio credentials"

    def __str__(self) -> str:
        return f"Twilio credentials of {self.account}"

    def get_account_sid(self) -> str:
        """Raises CredentialsUnavailable when this server's key cannot read it."""
        return decrypt(self.account_sid_encrypted)

    def get_auth_token(self) -> str:
        """Raises CredentialsUnavailable when this server's key cannot read it."""
        return decrypt(self.auth_token_encrypted)

    def account_sid_hint(self) -> str:
        """What pages show of the SID: `AC…` and its last 4 characters."""
        return f"AC…{self.get_account_sid()[-4:]}"
