"""POST /numbers/bulk/: activate, deactivate, assign or unassign an agent or trunk, and delete
(after a confirmation page) the selected rows, reporting how many changed. Ids of another
account's numbers are ignored."""

import pytest
from django.test import Client

from numbers_app.models import PhoneNumber
from tests.helpers import assert_login_redirect, flashes, html

URL = "/numbers/bulk/"


@pytest.fixture
def foreign(other_account, make_number) -> PhoneNumber:
    return make_number(other_account, status="active")


def ids(*numbers) -> list[str]:
    return [str(number.pk) for number in numbers]


def refreshed(*numbers) -> list[PhoneNumber]:
    for number in numbers:
        number.refresh_from_db()
    return list(numbers)


# --- status ----------------------------------------------------------------------------------


def test_activate_activates_the_selected_numbers_and_says_how_many_changed(owner_client, account, make_number, foreign):
    a = make_number(account, status="inactive")
    b = make_number(account, status="inactive")
    already = make_number(account, status="active")
    foreign.status = "inactive"
    foreign.save()

    response = owner_client.post(URL, {"action": "activate", "ids": ids(a, b, already, foreign)})

    assert response.status_code == 302
    assert response["Location"] == "/numbers/"
    assert flashes(response) == ["2 numbers activated."]
    assert [n.status for n in refreshed(a, b, already)] == ["active", "active", "active"]
    assert refreshed(foreign)[0].status == "inactive"


def test_deactivate_deactivates_the_selected_numbers_only(owner_client, account, make_number, foreign):
    a = make_number(account, status="active")
    untouched = make_number(account, status="active")

    response = owner_client.post(URL, {"action": "deactivate", "ids": ids(a, foreign)})

    assert response.status_code == 302
    assert flashes(response) == ["1 number deactivated."]
    assert refreshed(a)[0].status == "inactive"
    assert refreshed(untouched)[0].status == "active"
    assert refreshed(foreign)[0].status == "active"


def test_a_teammate_can_use_the_bulk_actions(client, teammate, account, make_number):
    a = make_number(account, status="active")
    client.force_login(teammate)

    response = client.post(URL, {"action": "deactivate", "ids": ids(a)})

    assert response.status_code == 302
    assert flashes(response) == ["1 number deactivated."]
    assert refreshed(a)[0].status == "inactive"


def test_the_outsider_changes_nothing_with_the_accounts_ids(client, outsider, account, make_number):
    a = make_number(account, status="active")
    client.force_login(outsider)

    response = client.post(URL, {"action": "deactivate", "ids": ids(a)})

    assert response.status_code == 302
    assert flashes(response) == ["0 numbers deactivated."]
    assert refreshed(a)[0].status == "active"


# --- assignments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, make, label",
    [
        ("voice_agent", "make_voice_agent", "voice agent"),
        ("text_agent", "make_text_agent", "text agent"),
        ("trunk", "make_trunk", "SIP trunk"),
    ],
)
def test_assign_sets_the_agent_or_trunk_of_the_selected_numbers(
    owner_client, request, account, make_number, foreign, field, make, label
):
    target = request.getfixturevalue(make)(account, "Night shift")
    a = make_number(account)
    b = make_number(account)
    already = make_number(account, **{field: target})
    other = make_number(account)

    response = owner_client.post(
        URL, {"action": f"assign_{field}", field: str(target.pk), "ids": ids(a, b, already, foreign)}
    )

    assert response.status_code == 302
    assert flashes(response) == [f"2 numbers assigned to {label} Night shift."]
    assert [getattr(n, f"{field}_id") for n in refreshed(a, b, already)] == [target.pk] * 3
    assert getattr(refreshed(other)[0], f"{field}_id") is None
    assert getattr(refreshed(foreign)[0], f"{field}_id") is None


@pytest.mark.parametrize(
    "field, make, label",
    [
        ("voice_agent", "make_voice_agent", "voice agent"),
        ("text_agent", "make_text_agent", "text agent"),
        ("trunk", "make_trunk", "SIP trunk"),
    ],
)
def test_set_with_no_choice_is_an_error_and_changes_nothing(
    owner_client, request, account, make_number, field, make, label
):
    target = request.getfixturevalue(make)(account)
    a = make_number(account, **{field: target})

    response = owner_client.post(URL, {"action": f"assign_{field}", field: "", "ids": ids(a)})

    assert response.status_code == 302
    assert flashes(response) == [f"Choose the {label} to set, or choose “Unassign {label}”."]
    assert getattr(refreshed(a)[0], f"{field}_id") == target.pk


@pytest.mark.parametrize(
    "field, make, label",
    [
        ("voice_agent", "make_voice_agent", "voice agent"),
        ("text_agent", "make_text_agent", "text agent"),
        ("trunk", "make_trunk", "SIP trunk"),
    ],
)
def test_unassign_first_shows_a_confirmation_with_the_count_and_the_numbers(
    owner_client, request, account, other_account, make_number, field, make, label
):
    factory = request.getfixturevalue(make)
    target = factory(account)
    a = make_number(account, **{field: target})
    b = make_number(account, **{field: target})
    foreign = make_number(other_account, **{field: factory(other_account)})

    response = owner_client.post(
        URL, {"action": f"unassign_{field}", field: str(target.pk), "ids": ids(a, b, foreign), "next": "/numbers/?x=1"}
    )

    assert response.status_code == 200
    body = html(response)
    assert f"Unassign the {label} of 2 numbers?" in body
    assert a.number in body and b.number in body and foreign.number not in body
    assert f'<input type="hidden" name="action" value="unassign_{field}">' in body
    assert f'<input type="hidden" name="ids" value="{a.pk}">' in body
    assert f'<input type="hidden" name="ids" value="{foreign.pk}">' not in body
    assert '<input type="hidden" name="confirm" value="yes">' in body
    assert '<button type="submit" class="danger">Yes, unassign 2</button>' in body
    assert '<a href="/numbers/?x=1">Cancel</a>' in body
    assert [getattr(n, f"{field}_id") for n in refreshed(a, b)] == [target.pk, target.pk]


@pytest.mark.parametrize(
    "field, make, label",
    [
        ("voice_agent", "make_voice_agent", "voice agent"),
        ("text_agent", "make_text_agent", "text agent"),
        ("trunk", "make_trunk", "SIP trunk"),
    ],
)
def test_unassign_once_confirmed_unassigns_the_selected_numbers_only(
    owner_client, request, account, other_account, make_number, field, make, label
):
    factory = request.getfixturevalue(make)
    target = factory(account)
    a = make_number(account, **{field: target})
    b = make_number(account, **{field: target})
    kept = make_number(account, **{field: target})
    foreign = make_number(other_account, **{field: factory(other_account)})

    response = owner_client.post(URL, {"action": f"unassign_{field}", "confirm": "yes", "ids": ids(a, b, foreign)})

    assert response.status_code == 302
    assert flashes(response) == [f"2 numbers unassigned from their {label}."]
    assert [getattr(n, f"{field}_id") for n in refreshed(a, b)] == [None, None]
    assert getattr(refreshed(kept)[0], f"{field}_id") == target.pk
    assert getattr(refreshed(foreign)[0], f"{field}_id") is not None


def test_set_and_status_changes_of_the_selection_need_no_confirmation(owner_client, account, make_number, make_trunk):
    trunk = make_trunk(account, "Edge")
    a = make_number(account)

    response = owner_client.post(URL, {"action": "assign_trunk", "trunk": str(trunk.pk), "ids": ids(a)})

    assert response.status_code == 302
    assert flashes(response) == ["1 number assigned to SIP trunk Edge."]


@pytest.mark.parametrize(
    "field, make", [("voice_agent", "make_voice_agent"), ("text_agent", "make_text_agent"), ("trunk", "make_trunk")]
)
def test_assigning_another_accounts_agent_or_trunk_is_refused(
    owner_client, request, account, other_account, make_number, field, make
):
    theirs = request.getfixturevalue(make)(other_account)
    a = make_number(account)

    response = owner_client.post(URL, {"action": f"assign_{field}", field: str(theirs.pk), "ids": ids(a)})

    assert response.status_code == 302
    assert flashes(response) == ["Select a valid choice. That choice is not one of the available choices."]
    assert getattr(refreshed(a)[0], f"{field}_id") is None


# --- delete ----------------------------------------------------------------------------------


def test_delete_first_shows_a_confirmation_page_and_deletes_nothing(owner_client, account, make_number, foreign):
    a = make_number(account)
    b = make_number(account)

    response = owner_client.post(
        URL, {"action": "delete", "ids": ids(a, b, foreign), "next": "/numbers/?status=active"}
    )

    assert response.status_code == 200
    body = html(response)
    assert "Delete 2 numbers?" in body
    assert a.number in body and b.number in body
    assert foreign.number not in body
    assert f'<input type="hidden" name="ids" value="{foreign.pk}">' not in body
    assert '<input type="hidden" name="confirm" value="yes">' in body
    assert '<input type="hidden" name="next" value="/numbers/?status=active">' in body
    assert flashes(response) == []
    assert PhoneNumber.objects.filter(pk__in=[a.pk, b.pk, foreign.pk]).count() == 3


def test_delete_with_confirmation_deletes_the_selected_numbers_only(owner_client, account, make_number, foreign):
    a = make_number(account)
    b = make_number(account)
    kept = make_number(account)

    response = owner_client.post(
        URL, {"action": "delete", "confirm": "yes", "ids": ids(a, b, foreign), "next": "/numbers/?page=2"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/numbers/?page=2"
    assert flashes(response) == ["2 numbers deleted."]
    assert not PhoneNumber.objects.filter(pk__in=[a.pk, b.pk]).exists()
    assert PhoneNumber.objects.filter(pk__in=[kept.pk, foreign.pk]).count() == 2


def test_the_outsider_cannot_delete_the_accounts_numbers(client, outsider, account, make_number):
    a = make_number(account)
    client.force_login(outsider)

    response = client.post(URL, {"action": "delete", "confirm": "yes", "ids": ids(a)})

    assert response.status_code == 302
    assert flashes(response) == ["0 numbers deleted."]
    assert PhoneNumber.objects.filter(pk=a.pk).exists()


# --- errors and redirects --------------------------------------------------------------------


def test_no_selection_says_to_select_numbers_first(owner_client, account, make_number):
    a = make_number(account, status="active")

    response = owner_client.post(URL, {"action": "deactivate"})

    assert response.status_code == 302
    assert flashes(response) == ["Select one or more numbers first."]
    assert refreshed(a)[0].status == "active"


@pytest.mark.parametrize("bad_ids", [["abc"], ["-1"], ["0"], ["99999999999999999999999"], [""]])
def test_a_malformed_selection_is_refused(owner_client, account, make_number, bad_ids):
    a = make_number(account, status="active")

    response = owner_client.post(URL, {"action": "deactivate", "ids": [str(a.pk), *bad_ids]})

    assert response.status_code == 302
    assert flashes(response) == ["The selection is not valid."]
    assert refreshed(a)[0].status == "active"


def test_an_unknown_action_is_refused(owner_client, account, make_number):
    a = make_number(account)

    response = owner_client.post(URL, {"action": "explode", "ids": ids(a)})

    assert response.status_code == 302
    assert flashes(response) == ["Select a valid choice. explode is not one of the available choices."]
    assert PhoneNumber.objects.filter(pk=a.pk).exists()


def test_it_returns_to_the_list_view_it_came_from(owner_client, account, make_number):
    a = make_number(account, status="inactive")

    response = owner_client.post(
        URL, {"action": "activate", "ids": ids(a), "next": "/numbers/?status=inactive&per_page=50&page=2"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/numbers/?status=inactive&per_page=50&page=2"


def test_it_never_redirects_to_another_site(owner_client, account, make_number):
    a = make_number(account, status="inactive")

    response = owner_client.post(URL, {"action": "activate", "ids": ids(a), "next": "https://evil.example/numbers/"})

    assert response.status_code == 302
    assert response["Location"] == "/numbers/"


def test_get_is_not_allowed_and_changes_nothing(owner_client, account, make_number):
    a = make_number(account, status="active")

    response = owner_client.get(URL, {"action": "deactivate", "ids": ids(a)})

    assert response.status_code == 405
    assert refreshed(a)[0].status == "active"


def test_anonymous_visitors_are_sent_to_sign_in(client, account, make_number):
    a = make_number(account, status="active")

    response = client.post(URL, {"action": "deactivate", "ids": ids(a)})

    assert_login_redirect(response, URL)
    assert refreshed(a)[0].status == "active"


def test_a_post_without_the_csrf_token_is_refused(owner, account, make_number):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    a = make_number(account, status="active")

    response = csrf_client.post(URL, {"action": "delete", "confirm": "yes", "ids": ids(a)})

    assert response.status_code == 403
    assert refreshed(a)[0].status == "active"


def test_a_post_with_the_csrf_token_of_the_list_page_is_accepted(owner, account, make_number):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    a = make_number(account, status="active")
    csrf_client.get("/numbers/")

    response = csrf_client.post(
        URL,
        {"action": "deactivate", "ids": ids(a), "csrfmiddlewaretoken": csrf_client.cookies["csrftoken"].value},
    )

    assert response.status_code == 302
    assert refreshed(a)[0].status == "inactive"


def test_the_list_page_submits_the_bulk_form_to_this_url(owner_client, account, make_number):
    make_number(account)

    body = html(owner_client.get("/numbers/"))

    assert '<form id="bulk" method="post" action="/numbers/bulk/">' in body
    for value in ("activate", "deactivate", "delete"):
        assert f'<option value="{value}">' in body
    for field, label in (("voice_agent", "voice agent"), ("text_agent", "text agent"), ("trunk", "SIP trunk")):
        assert f'<option value="assign_{field}">Set {label}</option>' in body
        assert f'<option value="unassign_{field}">Unassign {label}</option>' in body
