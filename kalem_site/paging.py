"""Page sizes and page parameters, the same for the API's lists and the dashboard's."""

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100
# Longer than any page number we could ever serve; parsed as "very large" rather than
# handed to int(), which refuses strings of thousands of digits.
_MAX_DIGITS = 18


def positive_int(value: str | None, *, default: int) -> int:
    """A page parameter's value; absent means the default. Raises ValueError for anything
    but a positive integer (an empty value included)."""
    if value is None:
        return default
    # Leading zeros first, so that "000…0002" is 2 however many zeros it has.
    digits = value.lstrip("0") if value.isascii() and value.isdigit() else ""
    if not digits:
        raise ValueError(value)
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def per_page_or_default(value: str | None) -> int:
    """The rows per page a dashboard list shows: 1 to 999 rows asked, served as at most
    MAX_PER_PAGE; anything else (absent, empty, not a number) is the default, as a page
    ignores bad input rather than refusing it."""
    value = value or ""
    if value.isascii() and value.isdigit() and 0 < len(value) < 4 and int(value) > 0:
        return min(int(value), MAX_PER_PAGE)
    return DEFAULT_PER_PAGE
