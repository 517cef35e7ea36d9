"""The CSV import engine (numbers_app/imports.py): what the dry run says of each row, and
what the import writes, batch by batch, with its audit events."""

import pytest
from django.db import connection
from django.db.models import Sum

from numbers_app import imports, services
from numbers_app.audit import EventLog
from numbers_app.imports import ImportFileError, decode, dry_run, number_import, read_rows
from numbers_app.models import ImportJobRow, NumberEvent, NumberTally, PhoneNumber
from numbers_app.selectors import number_csv_rows
from tests.audit import TEST_ACTOR

HEADER = "number,provider,voice_agent,text_agent,trunk,status\n"


def check(account, text: str) -> list:
    """The dry run's results, all batches together."""
    _, rows = read_rows(text)
    return [result for batch in dry_run(account=account, rows=rows) for result in batch]


def apply(account, text: str) -> list:
    _, rows = read_rows(text)
    return [result for batch in number_import(actor=TEST_ACTOR, account=account, rows=rows) for result in batch]


def outcomes(results) -> list[tuple]:
    return [(result.line, result.outcome) for result in results]


@pytest.fixture
def sales(account, make_voice_agent):
    return make_voice_agent(account, "Sales")


@pytest.fixture
def chat(account, make_text_agent):
    return make_text_agent(account, "Chat")


@pytest.fixture
def edge(account, make_trunk):
    return make_trunk(account, "Edge")


# The dry run


def test_a_new_number_would_be_created_with_what_its_row_gives(account, sales, chat, edge):
    results = check(account, HEADER + "+1 (415) 555-0100,twilio,Sales,Chat,Edge,inactive\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.CREATE)]
    assert results[0].number == "+14155550100"
    assert results[0].values == {
        "provider": "twilio",
        "status": "inactive",
        "voice_agent": sales,
        "text_agent": chat,
        "trunk": edge,
    }
    assert "twilio" in results[0].message and "Sales" in results[0].message
    assert not PhoneNumber.objects.exists()


def test_empty_provider_and_status_give_a_new_number_the_defaults(account):
    results = check(account, HEADER + "+14155550100,,,,,\n")

    assert results[0].values["provider"] == "manual"
    assert results[0].values["status"] == "active"


def test_a_changed_number_would_be_updated_and_the_message_says_how(account, make_number, sales, edge):
    make_number(account, "+14155550100", status="active", provider="manual", voice_agent=sales)

    results = check(account, HEADER + "+14155550100,manual,,,Edge,inactive\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.UPDATE)]
    assert results[0].values == {"status": "inactive", "voice_agent": None, "trunk": edge}
    assert results[0].message == "status: active → inactive; voice_agent: Sales → none; trunk: none → Edge"


def test_a_number_as_it_is_is_unchanged(account, make_number, sales):
    make_number(account, "+14155550100", status="inactive", provider="twilio", voice_agent=sales)

    results = check(account, HEADER + "+14155550100,twilio,Sales,,,inactive\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.UNCHANGED)]


def test_columns_left_out_keep_their_values(account, make_number, sales):
    make_number(account, "+14155550100", status="inactive", voice_agent=sales)

    results = check(account, "number,status\n+14155550100,active\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.UPDATE)]
    assert results[0].values == {"status": "active"}


def test_agents_and_trunks_are_found_by_name_or_by_id(account, sales, chat, edge):
    results = check(account, HEADER + f"+14155550100,,{sales.id},#{chat.id},Edge,\n")

    assert results[0].values["voice_agent"] == sales
    assert results[0].values["text_agent"] == chat
    assert results[0].values["trunk"] == edge


def test_a_name_wins_over_an_id_that_looks_the_same(account, make_voice_agent):
    first = make_voice_agent(account, "First")
    named_like_an_id = make_voice_agent(account, str(first.id))

    results = check(account, HEADER + f"+14155550100,,{first.id},,,\n")

    assert results[0].values["voice_agent"] == named_like_an_id


def test_agents_and_trunks_of_another_account_do_not_exist(account, other_account, make_voice_agent):
    foreign = make_voice_agent(other_account, "Foreign")

    results = check(account, HEADER + f"+14155550100,,Foreign,,,\n+14155550101,,{foreign.id},,,\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.ERROR), (3, ImportJobRow.Outcome.ERROR)]
    assert "Voice agent “Foreign” does not exist" in results[0].message


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("555-0100,,,,,", "number: Enter a phone number in E.164 format"),
        ("+1555,,,,,", "number: +1555 is not a possible phone number"),
        ("+14155550100,fax,,,,", "provider: “fax” is not one of manual, twilio."),
        ("+14155550100,,,,,paused", "status: “paused” is not one of active, inactive."),
        ("+14155550100,,Nobody,,,", "voice_agent: Voice agent “Nobody” does not exist"),
        ("+14155550100,,,Nobody,,", "text_agent: Text agent “Nobody” does not exist"),
        ("+14155550100,,,,Nowhere,", "trunk: SIP trunk “Nowhere” does not exist"),
        ("+14155550100,manual", "Expected 6 values, found 2."),
    ],
)
def test_a_bad_row_is_an_error_with_its_reason(account, row, message):
    results = check(account, HEADER + row + "\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.ERROR)]
    assert message in results[0].message


def test_every_problem_of_a_row_is_reported_at_once(account):
    results = check(account, HEADER + "bogus,fax,Nobody,,,paused\n")

    message = results[0].message
    positions = [message.index(f"{name}: ") for name in ("number", "provider", "status", "voice_agent")]
    assert positions == sorted(positions)


def test_a_number_given_twice_is_an_error_on_the_later_line(account):
    results = check(account, HEADER + "+14155550100,,,,,\n+1 415 555 0100,,,,,inactive\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.CREATE), (3, ImportJobRow.Outcome.ERROR)]
    assert results[1].message == "The number is also on line 2."


def test_a_number_of_another_account_is_an_error_that_does_not_say_whose(account, other_account, make_number):
    make_number(other_account, "+14155550100")

    results = check(account, HEADER + "+14155550100,,,,,\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.ERROR)]
    assert results[0].message == "This number is already registered."


def test_blank_lines_are_skipped_and_lines_keep_their_numbers(account):
    results = check(account, HEADER + "\n+14155550100,,,,,\n,,,,,\n+14155550101,,,,,\n")

    assert outcomes(results) == [(3, ImportJobRow.Outcome.CREATE), (5, ImportJobRow.Outcome.CREATE)]


def test_a_byte_order_mark_and_header_case_are_accepted(account):
    text = decode(("\ufeffNumber, Status\n+14155550100,inactive\n").encode())

    results = check(account, text)

    assert outcomes(results) == [(2, ImportJobRow.Outcome.CREATE)]
    assert results[0].values["status"] == "inactive"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty."),
        ("provider,status\nmanual,active\n", "The file needs a header line with a number column"),
        ("number,colour\n+14155550100,red\n", "Unknown column(s): colour."),
        ("number,number\n+14155550100,+14155550101\n", "A column appears twice in the header."),
    ],
)
def test_a_file_without_a_usable_header_is_refused_whole(text, message):
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_rows(text)


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(ImportFileError, match="UTF-8"):
        decode("number\n+14155550100,é\n".encode("latin-1"))


def test_a_file_over_the_row_limit_is_refused(monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)

    with pytest.raises(ImportFileError, match="The file has 3 rows; import at most 2 at a time."):
        read_rows(HEADER + "+14155550100\n+14155550101\n+14155550102\n")


def test_the_dry_run_runs_a_fixed_number_of_queries_per_batch(account, sales, django_assert_max_num_queries):
    text = HEADER + "".join(f"+1415555{i:04d},,Sales,,,\n" for i in range(1500))
    _, rows = read_rows(text)

    # The agents and trunks once (3), then one query per batch of 1,000 for its numbers.
    with django_assert_max_num_queries(5):
        results = [result for batch in dry_run(account=account, rows=rows) for result in batch]

    assert len(results) == 1500


# The import


def test_it_creates_numbers_with_their_created_events(account, sales, edge):
    results = apply(account, HEADER + "+14155550100,twilio,Sales,,Edge,inactive\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.CREATE)]
    number = PhoneNumber.objects.get(number="+14155550100")
    assert (number.account, number.provider, number.status) == (account, "twilio", "inactive")
    assert (number.voice_agent, number.text_agent, number.trunk) == (sales, None, edge)
    event = NumberEvent.objects.get(number_id=number.id)
    assert event.action == "created"
    assert event.after == {
        "status": "inactive",
        "provider": "twilio",
        "voice_agent": {"id": sales.id, "name": "Sales"},
        "text_agent": None,
        "trunk": {"id": edge.id, "name": "Edge"},
    }
    assert (event.actor_type, event.actor_name, event.channel) == ("system", "tests", "command")


def test_it_updates_only_what_changed_with_an_event_per_field(account, make_number, sales, edge):
    number = make_number(account, "+14155550100", status="active", provider="manual", voice_agent=sales)
    before = number.updated_at

    apply(account, HEADER + "+14155550100,manual,,,Edge,active\n")

    number.refresh_from_db()
    assert (number.voice_agent, number.trunk, number.status) == (None, edge, "active")
    assert number.updated_at > before
    events = NumberEvent.objects.filter(number_id=number.id).order_by("field")
    assert [(e.action, e.field, e.before, e.after) for e in events] == [
        ("assigned", "trunk", None, {"id": edge.id, "name": "Edge"}),
        ("unassigned", "voice_agent", {"id": sales.id, "name": "Sales"}, None),
    ]


def test_unchanged_rows_and_rows_with_errors_write_nothing(account, make_number):
    number = make_number(account, "+14155550100", status="active", provider="manual")
    before = number.updated_at

    results = apply(account, HEADER + "+14155550100,manual,,,,active\nbogus,,,,,\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.UNCHANGED), (3, ImportJobRow.Outcome.ERROR)]
    number.refresh_from_db()
    assert number.updated_at == before
    assert PhoneNumber.objects.count() == 1
    assert not NumberEvent.objects.exists()


def test_a_second_import_of_the_same_file_changes_nothing(account, sales):
    text = HEADER + "".join(f"+1415555{i:04d},,Sales,,,inactive\n" for i in range(30))
    apply(account, text)

    results = apply(account, text)

    assert {result.outcome for result in results} == {ImportJobRow.Outcome.UNCHANGED}
    assert PhoneNumber.objects.count() == 30
    assert NumberEvent.objects.count() == 30


def test_the_tally_counts_what_an_import_wrote(account, make_number, sales):
    make_number(account, "+14155550100", status="active")
    text = HEADER + "+14155550100,,Sales,,,inactive\n" + "".join(f"+1415555{i:04d},twilio,,,,\n" for i in range(1, 40))

    apply(account, text)

    tallied = NumberTally.objects.filter(account=account).aggregate(total=Sum("count"))["total"]
    assert tallied == PhoneNumber.objects.filter(account=account).count() == 40
    assert NumberTally.objects.get(account=account, status="inactive", voice_agent_id=sales.id).count == 1


def test_batches_are_written_one_transaction_each(account, monkeypatch):
    """A batch that fails leaves nothing of itself, and the batches before it stay."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 10)
    text = HEADER + "".join(f"+1415555{i:04d},,,,,\n" for i in range(25))
    calls = {"count": 0}
    original = EventLog.save

    def save_failing_on_the_second_batch(log):
        calls["count"] += 1
        if calls["count"] == 2:
            raise RuntimeError("the database went away")
        original(log)

    monkeypatch.setattr(EventLog, "save", save_failing_on_the_second_batch)

    with pytest.raises(RuntimeError):
        apply(account, text)

    assert sorted(PhoneNumber.objects.values_list("number", flat=True)) == [f"+1415555{i:04d}" for i in range(10)]
    assert NumberEvent.objects.count() == 10


def test_an_import_over_several_batches_writes_them_all(account, monkeypatch, sales):
    monkeypatch.setattr(imports, "BATCH_SIZE", 7)
    text = HEADER + "".join(f"+1415555{i:04d},,Sales,,,\n" for i in range(30))

    results = apply(account, text)

    assert len(results) == 30
    assert PhoneNumber.objects.filter(account=account, voice_agent=sales).count() == 30
    assert NumberEvent.objects.filter(action="created").count() == 30


def test_a_duplicate_across_batches_is_still_an_error(account, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)

    results = apply(account, HEADER + "+14155550100,,,,,\n+14155550101,,,,,\n+14155550100,,,,,inactive\n")

    assert outcomes(results) == [
        (2, ImportJobRow.Outcome.CREATE),
        (3, ImportJobRow.Outcome.CREATE),
        (4, ImportJobRow.Outcome.ERROR),
    ]
    assert PhoneNumber.objects.get(number="+14155550100").status == "active"


# Round trip


def test_an_exported_file_imports_back_as_all_unchanged(
    account, make_number, make_voice_agent, make_text_agent, make_trunk
):
    tricky = make_voice_agent(account, 'Sales, "West"')
    chat = make_text_agent(account, "Chat")
    edge = make_trunk(account, "Edge, EU")
    make_number(
        account, "+14155550100", status="inactive", provider="twilio", voice_agent=tricky, text_agent=chat, trunk=edge
    )
    make_number(account, "+14155550101", status="active", provider="manual")
    make_number(account, "+442071838750", status="active", provider="manual", trunk=edge)
    exported = "".join(number_csv_rows(PhoneNumber.objects.for_account(account)))

    results = check(account, exported)

    assert [result.outcome for result in results] == [ImportJobRow.Outcome.UNCHANGED] * 3


def test_an_export_of_trunks_that_once_shared_a_name_imports_back_unchanged(
    account, make_number, make_trunk, make_voice_agent
):
    """Trunk names are unique per account (migration 0012 renamed the duplicates, "Edge (2)"),
    so every trunk the export names is one trunk: the file imports back with nothing to do."""
    sales = make_voice_agent(account, "Sales")
    edge, edge_2 = make_trunk(account, "Edge"), make_trunk(account, "Edge (2)")
    make_number(account, "+14155550100", trunk=edge, voice_agent=sales)
    make_number(account, "+14155550101", trunk=edge_2)
    make_number(account, "+14155550102")
    exported = "".join(number_csv_rows(PhoneNumber.objects.filter(account=account)))

    results = check(account, exported)

    assert "Edge (2)" in exported
    assert outcomes(results) == [(line, ImportJobRow.Outcome.UNCHANGED) for line in (2, 3, 4)]
    apply(account, exported)
    assert not NumberEvent.objects.exists()


def test_a_file_holding_nul_characters_is_refused():
    with pytest.raises(ImportFileError, match="NUL"):
        decode(b"number,provider\n+14155550100,man\x00ual\n")


def test_a_batch_that_loses_a_race_for_a_new_number_is_planned_again(account, other_account, monkeypatch):
    """Another account registers a number between this batch's planning and its INSERT: the
    unique constraint rolls the batch back, and the batch is planned again (here the other
    registration, made inside the batch's transaction, is rolled back with it, so the second
    plan creates the number)."""
    original, plans = imports.plan_batch, []

    def plan_then_lose_the_race(*args, **kwargs):
        results = original(*args, **kwargs)
        plans.append(kwargs["lock"])
        if len(plans) == 1:
            PhoneNumber.objects.create(account=other_account, number="+14155550100")
        return results

    monkeypatch.setattr(imports, "plan_batch", plan_then_lose_the_race)

    results = apply(account, HEADER + "+14155550100,,,,,\n+14155550101,,,,,\n")

    assert plans == [True, True]
    assert outcomes(results) == [(2, ImportJobRow.Outcome.CREATE), (3, ImportJobRow.Outcome.CREATE)]
    assert set(PhoneNumber.objects.values_list("number", "account")) == {
        ("+14155550100", account.id),
        ("+14155550101", account.id),
    }
    assert NumberEvent.objects.count() == 2


def test_a_quoted_value_over_several_lines_reports_the_line_its_record_starts_on(account):
    results = check(account, HEADER + '+14155550100,,"Sales\nWest",,,\n+14155550101,,,,,\n')

    assert outcomes(results) == [(2, ImportJobRow.Outcome.ERROR), (4, ImportJobRow.Outcome.CREATE)]


def test_a_long_cell_is_quoted_shortened_in_the_message(account):
    results = check(account, HEADER + "+14155550100,," + "x" * 5000 + ",,,\n")

    assert len(results[0].message) < 200
    assert "…" in results[0].message


def test_an_update_records_the_agent_the_number_had_when_locked_even_one_newer_than_the_import(
    account, sales, make_number, make_voice_agent, monkeypatch
):
    """Between the batch reading the account's agents and locking its numbers, another
    change moved a number to an agent created meanwhile: the event's `before` names that
    agent (issue 11), not none."""
    number = make_number(account, number="+14155550100", voice_agent=sales)
    read_agents = imports.Assignments.__init__
    newer = {}

    def then_move_the_number(self, *args, **kwargs):
        read_agents(self, *args, **kwargs)
        if not newer:
            newer["agent"] = make_voice_agent(account, "Support")
            PhoneNumber.objects.filter(pk=number.pk).update(voice_agent=newer["agent"])

    monkeypatch.setattr(imports.Assignments, "__init__", then_move_the_number)

    results = apply(account, HEADER.replace(",text_agent,trunk,status", "") + "+14155550100,manual,Sales\n")

    assert outcomes(results) == [(2, ImportJobRow.Outcome.UPDATE)]
    event = NumberEvent.objects.get(number_id=number.pk, field="voice_agent")
    assert event.before == {"id": newer["agent"].pk, "name": "Support"}
    assert event.after == {"id": sales.pk, "name": "Sales"}


def test_updates_are_recorded_in_the_files_order(account, make_number):
    """The rows are locked in id order; their events still follow the file."""
    first, second = make_number(account, "+14155550100"), make_number(account, "+14155550101")
    assert first.id < second.id

    apply(account, HEADER + "+14155550101,,,,,inactive\n+14155550100,,,,,inactive\n")

    events = NumberEvent.objects.order_by("id").values_list("number", "field")
    assert list(events) == [("+14155550101", "status"), ("+14155550100", "status")]


def test_a_row_a_service_refuses_is_an_error_and_the_rest_of_the_batch_is_written(account, make_number, monkeypatch):
    """Should the planner ever let through a value the services refuse, that row is an error
    with the service's message, not a failed import."""
    monkeypatch.setattr(
        imports,
        "NUMBER_CHOICES",
        {**services.NUMBER_CHOICES, "provider": (*services.NUMBER_CHOICES["provider"], "sip")},
    )
    make_number(account, "+14155550102", status="active")
    make_number(account, "+14155550104", status="active")

    results = apply(
        account,
        HEADER + "+14155550100,,,,,\n"
        "+14155550101,sip,,,,\n"
        "+14155550102,sip,,,,inactive\n"
        "+14155550103,twilio,,,,\n"
        "+14155550104,,,,,inactive\n",
    )

    assert outcomes(results) == [
        (2, ImportJobRow.Outcome.CREATE),
        (3, ImportJobRow.Outcome.ERROR),
        (4, ImportJobRow.Outcome.ERROR),
        (5, ImportJobRow.Outcome.CREATE),
        (6, ImportJobRow.Outcome.UPDATE),
    ]
    refused = "provider: Choose manual or twilio."
    assert [(result.number, result.message) for result in results[1:3]] == [
        ("+14155550101", refused),
        ("+14155550102", refused),
    ]
    assert dict(PhoneNumber.objects.values_list("number", "status")) == {
        "+14155550100": "active",
        "+14155550102": "active",
        "+14155550103": "active",
        "+14155550104": "inactive",
    }
    events = NumberEvent.objects.order_by("id").values_list("number", "action")
    assert list(events) == [("+14155550100", "created"), ("+14155550103", "created"), ("+14155550104", "deactivated")]
    assert NumberTally.objects.aggregate(total=Sum("count"))["total"] == 4


def test_an_applied_batch_runs_a_fixed_number_of_statements(
    account, make_number, sales, edge, django_assert_num_queries
):
    """Two creates and two updates, every statement counted (savepoints too: the services run
    in the batch's transaction without their own)."""
    make_number(account, "+14155550102", voice_agent=sales)
    make_number(account, "+14155550103")
    text = HEADER + (
        "+14155550100,,Sales,,Edge,\n+14155550101,twilio,,,,\n+14155550102,,,,Edge,inactive\n+14155550103,,Sales,,,\n"
    )
    _, rows = read_rows(text)
    # On PostgreSQL the numbers' INSERT and both events' INSERTs are COPYs, not captured.
    copies = 3 if connection.vendor == "postgresql" else 0

    # The batch's savepoint and its release (2); the agents and trunks (3); the batch's numbers,
    # locked (1); the creates: INSERT, ids, events (3); the updates: the locked rows, the names
    # of the one kind of assignee they have now (voice agents), UPDATE, events (4); the
    # account's webhook endpoints, once for the batch (1).
    with django_assert_num_queries(14 - copies):
        results = [result for batch in number_import(actor=TEST_ACTOR, account=account, rows=rows) for result in batch]

    assert [result.outcome for result in results] == ["create", "create", "update", "update"]
