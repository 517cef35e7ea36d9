"""The admin's numbers changelist at scale (issue 15 item 4): its count from NumberTally when
the filters allow, a search of digits through the digits' index, pages read from the nearer
end, and no full count."""

import pytest
from django.contrib import admin
from django.http import QueryDict

from numbers_app.admin import _tally_count
from numbers_app.models import PhoneNumber

URL = "/admin/numbers_app/phonenumber/"


@pytest.fixture
def numbers(account, other_account, make_number, make_voice_agent, make_trunk):
    sales = make_voice_agent(account, "Sales")
    trunk = make_trunk(account, "Main")
    return {
        "sales": sales,
        "trunk": trunk,
        "rows": [
            make_number(account, "+14155550101", status="active", voice_agent=sales, trunk=trunk),
            make_number(account, "+14155550102", status="inactive", voice_agent=sales),
            make_number(account, "+14155550103", status="active", provider="twilio"),
            make_number(other_account, "+442071838750", status="active"),
            make_number(other_account, "+14155550199", status="inactive", trunk=None),
        ],
    }


def shown(response) -> list[str]:
    return [number.number for number in response.context["cl"].result_list]


def test_the_changelist_counts_from_the_tally_whatever_the_filters(staff_client, account, other_account, numbers):
    queries = [
        "",
        "status__exact=active",
        f"account__id__exact={account.pk}",
        f"account__id__exact={other_account.pk}&status__exact=inactive",
        f"voice_agent__id__exact={numbers['sales'].pk}&status__exact=active",
        "voice_agent__isnull=True",
        "trunk__isnull=True&provider__exact=manual",
        f"trunk__id__exact={numbers['trunk'].pk}&o=2",
        "q=&status__exact=inactive",
    ]
    for query in queries:
        response = staff_client.get(f"{URL}?{query}")

        assert response.status_code == 200, query
        expected = response.context["cl"].queryset.count()
        assert _tally_count(response.wsgi_request.GET) == expected, query
        assert response.context["cl"].result_count == expected, query
        assert len(shown(response)) == expected, query


@pytest.mark.parametrize(
    "query",
    [
        "q=555",
        "voice_agent__isnull=False",
        "voice_agent__id__exact=abc",
        "voice_agent=1",
        "_facets=True",
        "trunk__name=Main",
    ],
)
def test_what_the_tally_cannot_answer_is_counted(query):
    assert _tally_count(QueryDict(query)) is None


def test_the_changelist_shows_no_count_of_every_number(staff_client, numbers):
    response = staff_client.get(f"{URL}?q=0101")

    assert response.status_code == 200
    assert response.context["cl"].show_full_result_count is False
    assert response.context["cl"].full_result_count is None


@pytest.mark.parametrize(
    "search, expected",
    [
        ("555", ["+14155550199", "+14155550103", "+14155550102", "+14155550101"]),
        ("(415) 555-0102", ["+14155550102"]),
        ("+44 20", ["+442071838750"]),
        ("0199", ["+14155550199"]),
    ],
)
def test_a_search_of_digits_finds_the_numbers_containing_them(staff_client, numbers, search, expected):
    response = staff_client.get(URL, {"q": search})

    assert response.status_code == 200
    assert sorted(shown(response)) == sorted(expected)
    assert response.context["cl"].result_count == len(expected)


def test_a_search_of_digits_uses_the_digits_expression_of_the_index(staff_client, numbers):
    model_admin = admin.site._registry[PhoneNumber]
    queryset, may_have_duplicates = model_admin.get_search_results(None, PhoneNumber.objects.all(), "555")

    assert may_have_duplicates is False
    # The expression migration 0007's trigram index is on, not a LIKE over the joined names.
    sql = str(queryset.query).upper()
    assert "SUBSTR" in sql
    assert "NAME" not in sql


def test_a_search_of_words_still_finds_names(staff_client, numbers):
    response = staff_client.get(URL, {"q": "Sales"})

    assert response.status_code == 200
    assert sorted(shown(response)) == ["+14155550101", "+14155550102"]


@pytest.mark.parametrize("ordering", [None, "1", "-1"])
def test_every_page_holds_its_own_rows_read_from_either_end(staff_client, numbers, monkeypatch, ordering):
    query = {"o": ordering} if ordering else {}
    everything = shown(staff_client.get(URL, query))
    assert len(everything) == 5
    monkeypatch.setattr(admin.site._registry[PhoneNumber], "list_per_page", 2)

    pages = [shown(staff_client.get(URL, {**query, "p": page})) for page in (1, 2, 3)]

    # Page 3 (past the middle) is read backwards from the end and put back in order.
    assert pages == [everything[0:2], everything[2:4], everything[4:]]
