"""The countries an account's national numbers can be read in (its default country): those
whose numbering plan the phonenumbers library knows, named by django-countries; and the form field that chooses one, which the dashboard's
account settings and the admin share."""

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django_countries import Countries

# Regions that phone numbers are written in but that ISO 3166 does not list.
_PHONE_ONLY_REGIONS = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}


class PhoneCountries(Countries):
    """ISO 3166 countries with a numbering plan (Antarctica has none), plus the regions above."""

    only = [
        (code, _PHONE_ONLY_REGIONS[code]) if code in _PHONE_ONLY_REGIONS else code
        for code in sorted(phonenumbers.SUPPORTED_REGIONS)
    ]


PHONE_COUNTRIES = PhoneCountries()


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every country, by name: for a form's select."""
    return [(country.code, country.name) for country in PHONE_COUNTRIES]


def country_name(code: str) -> str:
    return PHONE_COUNTRIES.name(code) or code


def validate_phone_country(code: str) -> None:
    if code not in PHONE_COUNTRIES:
        raise ValidationError(f"“{code}” is not a country whose phone numbers are known.", code="invalid_choice")


class DefaultCountryField(forms.ChoiceField):
    """The account's default country, chosen by name."""

    def __init__(self, **kwargs):
        super().__init__(choices=country_choices, label="Default country", **kwargs)
