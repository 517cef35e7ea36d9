"""Reads of tokens that every API request makes."""

from kalem_site.db import CompiledQuery

from .models import Account, ApiToken

_TOKEN_FIELDS = [field.attname for field in ApiToken._meta.concrete_fields]
_ACCOUNT_FIELDS = [field.attname for field in Account._meta.concrete_fields]

# The token and its account in one query on the unique index of `digest`, compiled once:
# the ORM's select_related(...).first() compiled 14 columns per request and added an ORDER BY
# (and a LIMIT) to a query that can only find one row.
_TOKEN_BY_DIGEST = CompiledQuery(
    lambda digest: ApiToken.objects.filter(digest=digest)
    .order_by()
    .values(*_TOKEN_FIELDS, *(f"account__{name}" for name in _ACCOUNT_FIELDS)),
    digest=str,
)


def token_by_digest(digest: str) -> ApiToken | None:
    """The token with this digest, its account loaded, usable or not; None if there is none."""
    _, rows = _TOKEN_BY_DIGEST.rows(digest=digest)
    if not rows:
        return None
    row = rows[0]
    split = len(_TOKEN_FIELDS)
    token = ApiToken.from_db("default", _TOKEN_FIELDS, row[:split])
    token.account = Account.from_db("default", _ACCOUNT_FIELDS, row[split:])
    return token
