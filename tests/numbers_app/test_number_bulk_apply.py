"""services.number_bulk_apply — the one bulk service behind POST /api/v1/numbers/bulk and the
dashboard's bulk bar."""

import pytest
from django.core.exceptions import ValidationError

from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import TEST_ACTOR


def test_it_resolves_the_items_and_changes_the_found_numbers(account, other_account, make_number):
    mine = make_number(account, number="+15550000001")
    theirs = make_number(other_account, number="+15550000002")

    outcome = services.number_bulk_apply(
        actor=TEST_ACTOR, account=account, action="deactivate", numbers=["+1 555 000 0001", "+15550000002", "x"]
    )

    assert outcome.changed == 1
    assert [(item["id"], item["result"]) for item in outcome.results] == [
        (mine.id, "ok"),
        (None, "not_found"),
        (None, "error"),
    ]
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("inactive", "active")


def test_it_assigns_by_id_and_counts_only_what_changed(account, make_number, make_trunk):
    trunk = make_trunk(account)
    already, other = make_number(account, trunk=trunk), make_number(account)

    outcome = services.number_bulk_apply(
        actor=TEST_ACTOR, account=account, action="assign", ids=[already.id, other.id], assignments={"trunk": trunk}
    )

    assert outcome.changed == 1
    assert set(PhoneNumber.objects.filter(trunk=trunk).values_list("id", flat=True)) == {already.id, other.id}
    assert list(NumberEvent.objects.values_list("number_id", "action")) == [(other.id, "assigned")]


def test_it_deletes_each_number_once(account, make_number):
    number = make_number(account)

    outcome = services.number_bulk_apply(actor=TEST_ACTOR, account=account, action="delete", ids=[number.id] * 2)

    assert outcome.changed == 1
    assert not PhoneNumber.objects.exists()


def test_it_rejects_a_foreign_trunk_and_changes_nothing(account, other_account, make_number, make_trunk):
    number, foreign = make_number(account), make_trunk(other_account)

    with pytest.raises(ValidationError):
        services.number_bulk_apply(
            actor=TEST_ACTOR, account=account, action="assign", ids=[number.id], assignments={"trunk": foreign}
        )

    number.refresh_from_db()
    assert number.trunk_id is None
    assert not NumberEvent.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"action": "archive", "ids": [1]}, ValueError),
        ({"action": "activate"}, TypeError),
        ({"action": "activate", "ids": [1], "numbers": ["+15550000001"]}, TypeError),
        ({"action": "assign", "ids": [1]}, TypeError),
        ({"action": "activate", "ids": [1], "assignments": {"trunk": None}}, TypeError),
        ({"action": "assign", "ids": [1], "assignments": {"status": "active"}}, TypeError),
    ],
)
def test_it_refuses_a_call_that_does_not_say_one_thing(account, arguments, error):
    with pytest.raises(error):
        services.number_bulk_apply(actor=TEST_ACTOR, account=account, **arguments)
