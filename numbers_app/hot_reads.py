"""The reads of numbers that the API makes on nearly every request (a page of the list, one
number by id, the lookup of a number), as queries compiled once (kalem_site.db.CompiledQuery):
the same SQL the ORM writes for them, without the ORM's work per request. Rows come back as
`.values(*NUMBER_COLUMNS)` dicts, which numbers_app.shapes turns into the Number object.

The lookup's row holds everything its verdict (selectors.number_routing) reads: status,
provider and the three assignments, in one query on the unique index of `number`.

The get and the lookup read their row together with the request's token (`…_with_token`),
joined through the number's account: one round trip instead of two, on the API's most
frequent requests (kalem_site.api.authentication, NumberViewSet.read_with_token)."""

from kalem_site.accounts.models import ApiToken
from kalem_site.accounts.selectors import token_columns, token_from_columns
from kalem_site.db import CompiledQuery

from .models import PhoneNumber
from .shapes import NUMBER_COLUMNS


def _page(*, account_id: int, offset: int, size: int, backwards: bool):
    # As kalem_site.api.pagination does it for any list: the page's ids from the narrow
    # (account, id) index first, then the rows and their joins for those ids alone.
    numbers = PhoneNumber.objects.filter(account_id=account_id).order_by("-id" if backwards else "id")
    return numbers.filter(pk__in=numbers.values("pk")[offset : offset + size]).values(*NUMBER_COLUMNS)


_PAGE = {
    backwards: CompiledQuery(
        lambda account_id, offset, size, backwards=backwards: _page(
            account_id=account_id, offset=offset, size=size, backwards=backwards
        ),
        sliced=True,
        account_id=int,
    )
    for backwards in (False, True)
}

_BY_ID = CompiledQuery(
    lambda account_id, number_id: PhoneNumber.objects.filter(account_id=account_id, pk=number_id)
    .order_by()
    .values(*NUMBER_COLUMNS),
    account_id=int,
    number_id=int,
)

_BY_NUMBER = CompiledQuery(
    lambda account_id, number: PhoneNumber.objects.filter(account_id=account_id, number=number)
    .order_by()
    .values(*NUMBER_COLUMNS),
    account_id=int,
    number=str,
)


# The token whose digest is given, joined through the number's account: a number of another
# account never matches, and neither does an unknown token.
_TOKEN_COLUMNS = token_columns(token_path="account__api_tokens__", account_path="account__")


def _number_with_token(field: str, kind: type) -> CompiledQuery:
    """The number whose `field` is the given value, with the token whose digest is given."""
    return CompiledQuery(
        lambda digest, value: PhoneNumber.objects.filter(account__api_tokens__digest=digest, **{field: value})
        .order_by()
        .values(*NUMBER_COLUMNS, *_TOKEN_COLUMNS),
        digest=str,
        value=kind,
    )


_BY_ID_WITH_TOKEN = _number_with_token("pk", int)
_BY_NUMBER_WITH_TOKEN = _number_with_token("number", str)


def _row_and_token(query: CompiledQuery, **values) -> tuple[dict, ApiToken] | None:
    names, rows = query.rows(**values)
    if not rows:
        return None
    split = len(NUMBER_COLUMNS)
    return dict(zip(names[:split], rows[0][:split], strict=True)), token_from_columns(rows[0][split:])


def number_page_rows(account_id: int, offset: int, size: int, backwards: bool = False) -> list[dict]:
    """`size` numbers of the account from `offset` on, in id order (from its end, newest
    first, when `backwards`): the unfiltered list's page."""
    return _PAGE[backwards].dicts(account_id=account_id, offset=offset, size=size)


def number_row(*, account_id: int, number_id: int) -> dict | None:
    """The account's number with this id, or None (another account's is None too)."""
    rows = _BY_ID.dicts(account_id=account_id, number_id=number_id)
    return rows[0] if rows else None


def number_row_by_number(*, account_id: int, number: str) -> dict | None:
    """The account's number `number` (E.164), or None."""
    rows = _BY_NUMBER.dicts(account_id=account_id, number=number)
    return rows[0] if rows else None


def number_row_with_token(*, digest: str, number_id: int) -> tuple[dict, ApiToken] | None:
    """The number with this id and the token with this digest (usable or not), when the number
    is of the token's account; None when there is no such pair (no such token, or no such
    number in its account)."""
    return _row_and_token(_BY_ID_WITH_TOKEN, digest=digest, value=number_id)


def number_row_by_number_with_token(*, digest: str, number: str) -> tuple[dict, ApiToken] | None:
    """As number_row_with_token(), for the number `number` (E.164)."""
    return _row_and_token(_BY_NUMBER_WITH_TOKEN, digest=digest, value=number)
