"""The API's hot reads as compiled queries (kalem_site.db.CompiledQuery, numbers_app.hot_reads,
kalem_site.accounts.selectors): the same SQL the ORM writes, the same rows, converted the same
way, whatever the parameters; and a compiled query that cannot be is refused up front."""

import datetime
import re

import pytest
from django.db.models import CharField, Value

from agents_app.models import VoiceAgent
from kalem_site.accounts.models import ApiToken, hash_token
from kalem_site.accounts.selectors import token_by_digest
from kalem_site.accounts.services import token_create
from kalem_site.db import CompiledQuery
from numbers_app.hot_reads import (
    number_page_rows,
    number_row,
    number_row_by_number,
    number_row_by_number_with_token,
    number_row_with_token,
)
from numbers_app.models import PhoneNumber
from numbers_app.selectors import account_assignees
from numbers_app.shapes import NUMBER_COLUMNS
from tests.helpers import queries


@pytest.fixture
def numbers(account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk):
    voice, text, trunk = make_voice_agent(account), make_text_agent(account), make_trunk(account)
    mine = [
        make_number(account, voice_agent=voice if i % 2 else None, text_agent=text if i % 3 else None, trunk=trunk)
        for i in range(7)
    ]
    make_number(other_account)  # never in the account's reads
    return mine


def orm_page(account, offset, size, backwards):
    numbers = PhoneNumber.objects.for_account(account).order_by("-id" if backwards else "id")
    return list(numbers.filter(pk__in=numbers.values("pk")[offset : offset + size]).values(*NUMBER_COLUMNS))


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize(("offset", "size"), [(0, 1), (0, 7), (2, 3), (6, 5), (7, 2)])
def test_a_page_is_the_rows_the_orm_reads(account, numbers, offset, size, backwards):
    rows = number_page_rows(account.id, offset, size, backwards)
    assert rows == orm_page(account, offset, size, backwards)
    assert all(
        isinstance(row["created_at"], datetime.datetime) and row["created_at"].utcoffset() == datetime.timedelta(0)
        for row in rows
    )


def test_a_page_runs_the_sql_the_orm_writes(account, numbers):
    with queries() as compiled:
        number_page_rows(account.id, 2, 3)
    with queries() as orm:
        orm_page(account, 2, 3, False)
    assert len(compiled.statements) == len(orm.statements) == 1
    # The same text but for how the values appear (bound on PostgreSQL's server, inlined by
    # the ORM's client-side binding).
    assert _without_values(compiled.statements[0]) == _without_values(orm.statements[0])


def _without_values(sql: str) -> str:
    return re.sub(r"\$\d+|%s|\b\d+\b", "?", sql)


def test_a_number_by_id_and_by_number_are_the_accounts_only(account, numbers, other_account):
    number = numbers[1]
    expected = PhoneNumber.objects.filter(pk=number.pk).values(*NUMBER_COLUMNS).get()
    assert number_row(account_id=account.id, number_id=number.pk) == expected
    assert number_row_by_number(account_id=account.id, number=number.number) == expected
    assert number_row(account_id=other_account.id, number_id=number.pk) is None
    assert number_row_by_number(account_id=other_account.id, number=number.number) is None
    assert number_row(account_id=account.id, number_id=10**12) is None
    assert number_row_by_number(account_id=account.id, number="+19999999999") is None


def test_the_lookup_is_one_query_on_the_number(account, numbers):
    with queries() as captured:
        number_row_by_number(account_id=account.id, number=numbers[0].number)
    assert len(captured.statements) == 1
    statement = captured.statements[0]
    assert "ORDER BY" not in statement and "LIMIT" not in statement
    # Everything the verdict reads comes back with the row.
    row = number_row_by_number(account_id=account.id, number=numbers[0].number)
    assert {"status", "provider", "voice_agent_id", "text_agent_id", "trunk_id"} <= row.keys()


def test_the_token_is_read_with_its_account_in_one_query_without_order_by(account, owner):
    created = token_create(account=account, name="Compiled", created_by=owner)
    digest = hash_token(created.plaintext)
    with queries() as captured:
        token = token_by_digest(digest)
    assert len(captured.statements) == 1
    assert "ORDER BY" not in captured.statements[0] and "LIMIT" not in captured.statements[0]
    expected = ApiToken.objects.select_related("account").get(digest=digest)
    for field in ApiToken._meta.concrete_fields:
        assert getattr(token, field.attname) == getattr(expected, field.attname), field.name
    with queries() as captured:
        assert token.account == account and token.account.name == "Acme"
    assert captured.statements == []  # loaded, not fetched
    assert token_by_digest(hash_token("klm_unknown")) is None


def _same_token(token, expected):
    for field in ApiToken._meta.concrete_fields:
        assert getattr(token, field.attname) == getattr(expected, field.attname), field.name
    assert token.account == expected.account and token.account.name == expected.account.name
    assert token.account.default_country == expected.account.default_country


def test_a_number_read_with_its_token_is_the_row_and_the_token_in_one_query(account, numbers, owner):
    created = token_create(account=account, name="Joined", created_by=owner)
    digest = hash_token(created.plaintext)
    number = numbers[2]
    expected_row = PhoneNumber.objects.filter(pk=number.pk).values(*NUMBER_COLUMNS).get()
    expected_token = ApiToken.objects.select_related("account").get(digest=digest)
    for read in (
        lambda: number_row_with_token(digest=digest, number_id=number.pk),
        lambda: number_row_by_number_with_token(digest=digest, number=number.number),
    ):
        with queries() as captured:
            row, token = read()
        assert len(captured.statements) == 1
        assert "ORDER BY" not in captured.statements[0] and "LIMIT" not in captured.statements[0]
        assert row == expected_row
        _same_token(token, expected_token)
        with queries() as captured:
            assert token.account.name == "Acme"
        assert captured.statements == []  # loaded, not fetched


def test_a_revoked_token_is_read_as_it_is(account, numbers, owner):
    # Whether a token is usable is the authentication's to judge, as with token_by_digest().
    created = token_create(account=account, name="Old", created_by=owner)
    ApiToken.objects.filter(pk=created.token.pk).update(revoked_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    _, token = number_row_with_token(digest=hash_token(created.plaintext), number_id=numbers[0].pk)
    assert token.revoked_at is not None and not token.is_usable


def test_a_number_read_with_a_token_is_of_the_tokens_account_only(account, numbers, other_account, owner):
    mine = hash_token(token_create(account=account, name="Mine", created_by=owner).plaintext)
    theirs = hash_token(token_create(account=other_account, name="Theirs", created_by=None).plaintext)
    number = numbers[0]
    assert number_row_with_token(digest=theirs, number_id=number.pk) is None
    assert number_row_by_number_with_token(digest=theirs, number=number.number) is None
    assert number_row_with_token(digest=hash_token("klm_unknown"), number_id=number.pk) is None
    assert number_row_by_number_with_token(digest=mine, number="+19999999999") is None
    assert number_row_with_token(digest=mine, number_id=10**12) is None


def test_a_parameter_the_lookup_transforms_is_refused_when_compiled(account):
    # `contains` wraps the value in %…%: its place in the SQL's parameters cannot be found.
    query = CompiledQuery(lambda text: PhoneNumber.objects.filter(number__contains=text).values("id"), text=str)
    with pytest.raises(ValueError, match="Parameters not found"):
        query.dicts(text="555")


def test_a_sliced_query_without_its_slice_is_refused(account):
    query = CompiledQuery(
        lambda account_id, offset, size: PhoneNumber.objects.filter(account_id=account_id).values("id"),
        sliced=True,
        account_id=int,
    )
    with pytest.raises(ValueError, match="exactly one"):
        query.dicts(account_id=account.id, offset=0, size=1)


def test_a_lists_total_without_a_search_is_one_compiled_read_of_one_facet_row(account, numbers, other_account):
    from numbers_app.tally import number_total

    unfiltered = PhoneNumber.objects.for_account(account)
    with queries() as captured:
        assert number_total(account=account, filters={}, numbers=unfiltered) == 7
    assert len(captured.statements) == 1 and "numbers_app_numberfacetcount" in captured.statements[0]
    assert number_total(account=account, filters={"status": "active"}, numbers=unfiltered) == 7
    assert number_total(account=account, filters={"status": "inactive"}, numbers=unfiltered) == 0
    assert number_total(account=account, filters={"voice_agent_id": "none"}, numbers=unfiltered) == 4
    trunk = numbers[0].trunk_id
    assert number_total(account=account, filters={"trunk_id": trunk}, numbers=unfiltered) == 7
    assert number_total(account=other_account, filters={}, numbers=unfiltered) == 1
    assert number_total(account=None, filters={}, numbers=unfiltered) == 8  # every account's


def test_the_accounts_agents_and_trunks_are_read_compiled_in_one_query(
    account, other_account, make_voice_agent, make_text_agent, make_trunk
):
    voice = [make_voice_agent(account, name=name) for name in ("b", "a", "c")]
    text = [make_text_agent(account, name="t")]
    make_voice_agent(other_account, name="a")
    make_trunk(other_account)
    for _ in range(2):  # compiled on the first, reused on the second
        with queries() as captured:
            loaded = account_assignees(account)
        assert len(captured.statements) == 1
        by_name_then_id = sorted(voice, key=lambda agent: (agent.name, agent.id))
        assert [(agent.id, agent.name) for agent in loaded["voice_agent"]] == [(a.id, a.name) for a in by_name_then_id]
        assert [(agent.id, agent.name) for agent in loaded["text_agent"]] == [(text[0].id, "t")]
        assert loaded["trunk"] == []
        assert all(agent.account_id == account.id for agent in loaded["voice_agent"])


def test_a_compiled_querys_columns_are_named_in_the_order_values_gave_them(account, make_voice_agent):
    agent = make_voice_agent(account, name="Named")
    query = CompiledQuery(
        lambda account_id: VoiceAgent.objects.filter(account_id=account_id)
        .annotate(kind=Value("voice", output_field=CharField()))
        .values("kind", "id", "name"),
        account_id=int,
    )
    assert query.dicts(account_id=account.id) == [{"kind": "voice", "id": agent.id, "name": "Named"}]
