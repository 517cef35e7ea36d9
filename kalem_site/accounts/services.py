"""Writes to accounts, users and tokens. Used by the dashboard, the admin and the commands."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Account, ApiToken, User, generate_token, hash_token


@transaction.atomic
def account_get_or_create(*, name: str) -> Account:
    name = name.strip()
    account = Account.objects.filter(name__iexact=name).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(name=name)
    except IntegrityError:  # created by someone else in the meantime
        return Account.objects.get(name__iexact=name)


@transaction.atomic
def account_update_settings(*, account: Account, default_country: str) -> Account:
    """Change the account's settings: the country that national numbers typed in the
    dashboard are read in (an ISO 3166 code whose numbering plan is known)."""
    account.default_country = (default_country or "").strip().upper()
    account.full_clean(exclude=["name", "created_at"], validate_unique=False, validate_constraints=False)
    account.save(update_fields=["default_country"])
    return account


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token with its plaintext, which exists only in this object."""

    token: ApiToken
    plaintext: str


@transaction.atomic
def token_create(
    *,
    account: Account,
    name: str,
    read_only: bool = False,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> IssuedToken:
    plaintext = generate_token()
    token = ApiToken.objects.create(
        account=account,
        name=name,
        prefix=plaintext[:12],
        digest=hash_token(plaintext),
        read_only=read_only,
        expires_at=expires_at,
        created_by=created_by,
    )
    return IssuedToken(token=token, plaintext=plaintext)


def token_expiry_in_days(days: int | None) -> datetime | None:
    return None if days is None else timezone.now() + timedelta(days=days)


@transaction.atomic
def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; revoking a revoked token keeps its first revocation time."""
    # Conditional on the row, not on this copy: a copy loaded before someone else revoked
    # the token must not overwrite their time.
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.revoked_at = ApiToken.objects.values_list("revoked_at", flat=True).get(pk=token.pk)
    return token


@transaction.atomic
def token_delete(*, token: ApiToken) -> None:
    """Delete a token outright (the demo's replaced token); people revoke theirs instead."""
    token.delete()


def token_touch(*, token: ApiToken, resolution_seconds: int) -> None:
    """Record that the token was used, at most once per `resolution_seconds`."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= resolution_seconds:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


@transaction.atomic
def operator_create_or_update(*, account: Account, username: str, password: str) -> tuple[User, bool]:
    """Create a dashboard user of `account`, or set the password of an existing one."""
    user = User.objects.filter(username=username).first()
    created = user is None
    if created:
        user = User(username=username, account=account)
    elif user.account_id != account.id:
        raise ValueError(f"User {username!r} belongs to another account.")
    user.set_password(password)
    user.save()
    return user, created
