"""numbers_create_many and numbers_update_many (the CSV import's writes) keep the rules of
number_create and number_update and record the same events."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from numbers_app import services
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import TEST_ACTOR, events_of

ACTOR = ("system", "tests", "command")


def test_it_creates_numbers_with_their_created_events(account, make_voice_agent, make_trunk):
    sales, edge = make_voice_agent(account, "Sales"), make_trunk(account, "Edge")
    ids = services.numbers_create_many(
        actor=TEST_ACTOR,
        account=account,
        numbers=[
            {"number": "+14155550100"},
            {"number": "+14155550101", "status": "inactive", "voice_agent": sales, "trunk": edge},
        ],
    )

    assert set(ids) == {"+14155550100", "+14155550101"}
    second = PhoneNumber.objects.get(pk=ids["+14155550101"])
    assert (second.account, second.provider, second.status, second.voice_agent, second.trunk) == (
        account,
        "manual",
        "inactive",
        sales,
        edge,
    )
    assert events_of(second.id) == [
        (
            "created",
            "",
            None,
            {
                "status": "inactive",
                "provider": "manual",
                "voice_agent": {"id": sales.id, "name": "Sales"},
                "text_agent": None,
                "trunk": {"id": edge.id, "name": "Edge"},
            },
            *ACTOR,
        )
    ]
    assert events_of(ids["+14155550100"])[0][3]["status"] == "active"


@pytest.mark.parametrize(
    "values, errors",
    [
        ({"number": "14155550100"}, {"number": ["Enter a phone number in E.164 format, e.g. +15551234567."]}),
        ({"number": "+14155550100", "provider": "sip"}, {"provider": ["Choose manual or twilio."]}),
        ({"number": "+14155550100", "status": "paused"}, {"status": ["Choose active or inactive."]}),
    ],
)
def test_it_checks_what_number_create_checks(account, values, errors):
    with pytest.raises(ValidationError) as raised:
        services.numbers_create_many(actor=TEST_ACTOR, account=account, numbers=[{"number": "+14155550199"}, values])
    assert raised.value.message_dict == errors
    assert not PhoneNumber.objects.exists()
    assert not NumberEvent.objects.exists()


def test_it_refuses_another_accounts_agent(account, other_account, make_voice_agent):
    foreign = make_voice_agent(other_account)
    with pytest.raises(ValidationError) as raised:
        services.numbers_create_many(
            actor=TEST_ACTOR, account=account, numbers=[{"number": "+14155550100", "voice_agent": foreign}]
        )
    assert raised.value.message_dict == {"voice_agent": [f"Voice agent {foreign.id} does not exist."]}
    assert not PhoneNumber.objects.exists()


def test_a_registered_number_is_an_integrity_error(account, other_account, make_number):
    make_number(other_account, "+14155550100")
    with pytest.raises(IntegrityError):
        services.numbers_create_many(actor=TEST_ACTOR, account=account, numbers=[{"number": "+14155550100"}])


def test_it_updates_each_number_its_own_way_with_events(account, make_number, make_voice_agent, make_trunk):
    sales, support, edge = make_voice_agent(account, "Sales"), make_voice_agent(account, "Support"), make_trunk(account)
    first, second = make_number(account, voice_agent=sales), make_number(account)
    # A stale copy changes nothing: the rows are compared as they are now.
    PhoneNumber.objects.filter(pk=second.pk).update(status="inactive")

    changed = services.numbers_update_many(
        actor=TEST_ACTOR,
        account=account,
        changes={
            first.id: {"voice_agent": support, "status": "active"},
            second.id: {"status": "inactive", "trunk": edge},
        },
    )

    assert changed == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.voice_agent, first.status, second.status, second.trunk) == (support, "active", "inactive", edge)
    assert events_of(first.id) == [
        ("assigned", "voice_agent", {"id": sales.id, "name": "Sales"}, {"id": support.id, "name": "Support"}, *ACTOR)
    ]
    assert events_of(second.id) == [("assigned", "trunk", None, {"id": edge.id, "name": edge.name}, *ACTOR)]


def test_an_update_to_the_current_values_changes_nothing(account, make_number):
    number = make_number(account)
    before = PhoneNumber.objects.get(pk=number.pk).updated_at
    assert (
        services.numbers_update_many(actor=TEST_ACTOR, account=account, changes={number.id: {"status": "active"}}) == 0
    )
    assert PhoneNumber.objects.get(pk=number.pk).updated_at == before
    assert not NumberEvent.objects.exists()


def test_it_refuses_another_accounts_number_and_agent(account, other_account, make_number, make_voice_agent):
    mine, theirs = make_number(account), make_number(other_account)
    # The batches have no savepoint of their own: a caller that goes on after an error while
    # writing (here, finding the rows) gives them one.
    with pytest.raises(PhoneNumber.DoesNotExist), transaction.atomic():
        services.numbers_update_many(actor=TEST_ACTOR, account=account, changes={theirs.id: {"status": "inactive"}})
    foreign = make_voice_agent(other_account)
    with pytest.raises(ValidationError) as raised:
        services.numbers_update_many(actor=TEST_ACTOR, account=account, changes={mine.id: {"voice_agent": foreign}})
    assert raised.value.message_dict == {"voice_agent": [f"Voice agent {foreign.id} does not exist."]}
    with pytest.raises(ValidationError):
        services.numbers_update_many(actor=TEST_ACTOR, account=account, changes={mine.id: {"provider": "sip"}})
    assert PhoneNumber.objects.get(pk=theirs.pk).status == "active"
    assert PhoneNumber.objects.get(pk=mine.pk).voice_agent is None
    assert not NumberEvent.objects.exists()
