"""Reads of tokens that every API request makes."""

from collections.abc import Sequence

from kalem_site.db import CompiledQuery

from .models import Account, ApiToken

_TOKEN_FIELDS = [field.attname for field in ApiToken._meta.concrete_fields]
_ACCOUNT_FIELDS = [field.attname for field in Account._meta.concrete_fields]


def token_columns(*, token_path: str, account_path: str) -> list[str]:
    """The `.values()` names of a token's columns and then its account's, reached from the
    queried model through `token_path` and `account_path` (both "" or ending in "__"):
    `token_from_columns()` builds the token from those values. A query of another table
    that joins the token (numbers_app.hot_reads) reads it in the same round trip."""
    return [*(token_path + name for name in _TOKEN_FIELDS), *(account_path + name for name in _ACCOUNT_FIELDS)]


def token_from_columns(values: Sequence) -> ApiToken:
    """The token, its account loaded, from the values of `token_columns()`, in their order."""
    split = len(_TOKEN_FIELDS)
    token = ApiToken.from_db("default", _TOKEN_FIELDS, values[:split])
    token.account = Account.from_db("default", _ACCOUNT_FIELDS, values[split:])
    return token


# The token and its account in one query on the unique index of `digest`, compiled once:
# the ORM's select_related(...).first() compiled 14 columns per request and added an ORDER BY
# (and a LIMIT) to a query that can only find one row.
_TOKEN_BY_DIGEST = CompiledQuery(
    lambda digest: ApiToken.objects.filter(digest=digest)
    .order_by()
    .values(*token_columns(token_path="", account_path="account__")),
    digest=str,
)


def token_by_digest(digest: str) -> ApiToken | None:
    """The token with this digest, its account loaded, usable or not; None if there is none."""
    _, rows = _TOKEN_BY_DIGEST.rows(digest=digest)
    return token_from_columns(rows[0]) if rows else None
