"""Phone number parsing. Numbers are stored and returned in E.164 (`+15551234567`)."""

import functools
import re

from django.core.exceptions import ValidationError
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException, is_possible_number

# A plus, a country code that does not start with 0, at most 15 digits in all.
E164_REGEX = r"^\+[1-9][0-9]{1,14}$"
_E164_RE = re.compile(E164_REGEX)

E164_MESSAGE = "Enter a phone number in E.164 format, e.g. +15551234567."

# What people type around digits: ignored by searches and by lenient lookups.
_PUNCTUATION_RE = re.compile(r"[\s+\-.()]")


# A batch of the CSV import parses each of its numbers twice, when planning and in the
# service that writes them (numbers_create_many): remembered, the second parse is free.
@functools.lru_cache(maxsize=4096)
def _possible_or_error(value: str) -> str:
    try:
        parsed = PhoneNumber.from_string(value)
    except NumberParseException:
        raise ValidationError(E164_MESSAGE, code="invalid") from None
    if not is_possible_number(parsed):
        raise ValidationError(
            f"{value} is not a possible phone number for country code +{parsed.country_code}.",
            code="impossible",
        )
    return parsed.as_e164


def parse_e164(value: object) -> str:
    """Accept exactly an E.164 string that is a possible number for its country."""
    if not isinstance(value, str) or not _E164_RE.fullmatch(value):
        raise ValidationError(E164_MESSAGE, code="invalid")
    return _possible_or_error(value)


def normalize_number(value: object) -> str:
    """Accept common formatting of an international number (`+1 (555) 123-4567`, `+1.555…`,
    or `00` for the `+`) and return its E.164 form."""
    if not isinstance(value, str):
        raise ValidationError(E164_MESSAGE, code="invalid")
    value = value.strip()
    if value.startswith("00"):
        value = "+" + value[2:]
    compact = _PUNCTUATION_RE.sub("", value)
    if not value.startswith("+") or not compact.isascii() or not compact.isdigit():
        raise ValidationError(E164_MESSAGE, code="invalid")
    return parse_e164("+" + compact)


# What a search may contain: digits, and the punctuation it ignores.
SEARCH_REGEX = r"^[0-9 +\-.()]*$"
_SEARCH_RE = re.compile(SEARCH_REGEX)


def search_digits(value: str) -> str:
    """The digits of a search query; `+`, spaces, dashes, dots and parentheses are ignored.

    Raises ValidationError when the query has any other character."""
    if not _SEARCH_RE.fullmatch(value):
        raise ValidationError(
            "Search by digits; only +, spaces, dashes, dots and parentheses may surround them.",
            code="invalid",
        )
    return re.sub(r"[^0-9]", "", value)
