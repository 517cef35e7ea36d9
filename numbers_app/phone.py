"""Phone number parsing. Numbers are stored and returned in E.164 (`+15551234567`)."""

import functools
import re

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException, is_possible_number

from kalem_site.accounts.countries import country_name

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


# What people paste around a number besides ASCII punctuation: no-break and thin spaces,
# Unicode hyphens and dashes (web pages and word processors put them there), and the
# invisible direction marks that copying from some apps adds.
_PASTED_LOOKALIKES = str.maketrans(
    {
        **dict.fromkeys(["\u00a0", "\u2007", "\u2009", "\u202f", "\u3000"], " "),
        **dict.fromkeys(["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\ufe63", "\uff0d"], "-"),
        **dict.fromkeys(["\u200b", "\u200e", "\u200f", "\u202a", "\u202c", "\u2060", "\ufeff"], None),
    }
)
TOO_LONG_MESSAGE = "A phone number has at most 15 digits, its country code included."
PASTED_MESSAGE = (
    "Enter a phone number: digits, with +, spaces, dashes, dots or parentheses if you like "
    "(+1 (415) 555-0142, or a national number such as 415-555-0142)."
)
# A pasted number once tidied: `tel:` (a link's address) or not, an optional `+`, then
# digits and what people write between them.
_PASTED_RE = re.compile(r"^(?:tel:)?\s*\+?[0-9 \-.()/]*[0-9][0-9 \-.()/]*$", re.IGNORECASE)


def tidy_pasted(value: str) -> str:
    """`value` with the look-alike spaces and dashes of pasted text made plain ASCII and the
    invisible marks dropped; surrounding whitespace stripped."""
    return value.translate(_PASTED_LOOKALIKES).strip()


def parse_pasted_number(value: object, default_country: str) -> str:
    """A number as people paste it into the dashboard, as E.164: international with or
    without punctuation (`+1 (415) 555-0142`, `00 44 20 7946 0000`, `tel:+14155550142`), or
    national (`415-555-0142`, `020 7946 0000`), read as a number of `default_country`
    (an ISO 3166 code: the account's default country). The API stays strict (parse_e164).

    Raises ValidationError with a message that says what was expected."""
    if not isinstance(value, str):
        raise ValidationError(E164_MESSAGE, code="invalid")
    value = tidy_pasted(value)
    if not _PASTED_RE.fullmatch(value):
        raise ValidationError(PASTED_MESSAGE, code="invalid")
    value = re.sub(r"^tel:", "", value, flags=re.IGNORECASE).strip()
    if value.startswith("00"):
        value = "+" + value[2:]  # the international prefix of most countries, as the CSV import takes it
    international = value.startswith("+")
    try:
        parsed = phonenumbers.parse(value, None if international else default_country)
    except NumberParseException as error:
        if error.error_type == NumberParseException.TOO_LONG:
            message = TOO_LONG_MESSAGE
        elif international:
            message = f"{value} does not start with a country code (+1 415 555 0142, +44 20 7946 0000)."
        else:
            message = f"Enter the number with its country code (+…), or as a number of {country_name(default_country)}."
        raise ValidationError(message, code="invalid") from None
    if not international and (
        phonenumbers.is_possible_number_with_reason(parsed) == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    ):
        # `555-0142` in the US: dialable locally, but which area's is not said.
        raise ValidationError(f"{value} is only a local number; give it with its area code.", code="local_only")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not _E164_RE.fullmatch(e164):
        raise ValidationError(TOO_LONG_MESSAGE, code="invalid")
    if international:
        return _possible_or_error(e164)
    try:
        return _possible_or_error(e164)
    except ValidationError:
        raise ValidationError(
            f"{value} is not a possible phone number of {country_name(default_country)}.", code="impossible"
        ) from None


def pasted_search(value: str, default_country: str) -> str:
    """What the dashboard's number search searches for, given what was typed or pasted.

    Digits are searched as typed (`555 01` finds every number containing 55501), as the API
    searches them. A whole national number whose digits are not in its international form —
    `020 7946 0000` with its trunk prefix 0, in an account whose default country is GB — is
    searched as that number's E.164 instead, so that it finds the number. Look-alike spaces
    and dashes of pasted text count as the plain ones."""
    tidied = tidy_pasted(value)
    try:
        e164 = parse_pasted_number(tidied, default_country)
    except ValidationError:
        return tidied
    typed_digits = re.sub(r"[^0-9]", "", tidied)
    return tidied if typed_digits in e164 else e164
