"""`manage.py importnumbers FILE --account NAME [--dry-run | --apply]`: the CSV import from a
shell. A dry run says what each row would do and writes nothing; --apply writes, with audit
events naming the command; an exported file imports back as unchanged."""

import builtins
import csv
import io
import re
import sys

import pytest
from django.core.management import CommandError, call_command

from numbers_app import imports
from numbers_app.models import NumberEvent, PhoneNumber
from tests.audit import events_of
from tests.contract import E164_MESSAGE
from tests.helpers import IMPORT_HEADER, MIXED_CSV, assert_mixed_import_applied, assert_mixed_import_not_applied

NOT_INTERACTIVE = "Dry run only. Run again with --apply to import."


class Stdin(io.TextIOWrapper):
    """Standard input holding `data`, a terminal or not."""

    def __init__(self, data: bytes, *, tty: bool = False):
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def run(*args) -> tuple[str, str]:
    """Run the command; its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("importnumbers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def lines(output: str) -> list[str]:
    return output.splitlines()


@pytest.fixture
def write_csv(tmp_path):
    def write(text: str, name: str = "numbers.csv") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(b""))


def test_a_dry_run_shows_each_row_and_the_totals_and_writes_nothing(write_csv, mixed_import, account):
    out, _ = run(write_csv(MIXED_CSV), "--account", "Acme", "--dry-run")

    assert lines(out) == [
        "Dry run of 4 rows for account 'Acme':",
        "line 2: +14155550100: create twilio, active, voice agent Sales, trunk Edge",
        "line 3: +15550000001: update status: active → inactive; trunk: Edge → none",
        f"line 5: not-a-number: error number: {E164_MESSAGE}",
        "1 to create, 1 to update, 1 unchanged, 1 with errors (skipped).",
    ]
    assert_mixed_import_not_applied(mixed_import)


def test_apply_creates_and_updates_and_records_events_naming_the_command(write_csv, mixed_import, account):
    out, _ = run(write_csv(MIXED_CSV), "--account", "Acme", "--apply")

    assert lines(out) == [
        "Importing 4 rows into account 'Acme':",
        "line 2: +14155550100: create twilio, active, voice agent Sales, trunk Edge",
        "line 3: +15550000001: update status: active → inactive; trunk: Edge → none",
        f"line 5: not-a-number: error number: {E164_MESSAGE}",
        "1 created, 1 updated, 1 unchanged, 1 with errors (skipped).",
    ]
    assert_mixed_import_applied(account, mixed_import, ("system", "importnumbers", "import"))
    assert NumberEvent.objects.filter(account=account).count() == 3


def test_the_progress_bar_goes_to_stderr(write_csv, mixed_import):
    path = write_csv(MIXED_CSV)

    out, err = run(path, "--account", "Acme", "--dry-run")

    assert "[" not in out
    assert err == f"\rChecking  [{'#' * 30}] 100%  4/4 rows\n"

    _, err = run(path, "--account", "Acme", "--apply")

    assert err == f"\rImporting [{'#' * 30}] 100%  4/4 rows\n"


def test_the_progress_bar_moves_batch_by_batch(write_csv, account, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    path = write_csv(IMPORT_HEADER + "".join(f"+1555000100{i},,,,,\n" for i in range(5)))

    _, err = run(path, "--account", "Acme", "--apply")

    assert re.findall(r"\r(Importing \[[#.]+\]\s+\d+%\s+[\d/]+ rows)", err) == [
        f"Importing [{'#' * 12}{'.' * 18}]  40%  2/5 rows",
        f"Importing [{'#' * 24}{'.' * 6}]  80%  4/5 rows",
        f"Importing [{'#' * 30}] 100%  5/5 rows",
    ]
    assert PhoneNumber.objects.filter(account=account).count() == 5


def test_verbosity_0_shows_no_progress_bar(write_csv, mixed_import):
    out, err = run(write_csv(MIXED_CSV), "--account", "Acme", "--dry-run", "-v", "0")

    assert err == ""
    assert lines(out)[-1] == "1 to create, 1 to update, 1 unchanged, 1 with errors (skipped)."


def test_verbosity_2_also_lists_the_unchanged_rows(write_csv, mixed_import):
    out, _ = run(write_csv(MIXED_CSV), "--account", "Acme", "--dry-run", "-v", "2")

    assert "line 4: +15550000002: unchanged" in lines(out)
    assert len(lines(out)) == 6


def test_unchanged_rows_are_not_listed_by_default(write_csv, mixed_import):
    out, _ = run(write_csv(MIXED_CSV), "--account", "Acme", "--dry-run")

    assert "+15550000002" not in out


def test_a_dash_reads_standard_input(mixed_import, account, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(MIXED_CSV.encode()))

    out, _ = run("-", "--account", "Acme", "--apply")

    assert lines(out)[-1] == "1 created, 1 updated, 1 unchanged, 1 with errors (skipped)."
    assert PhoneNumber.objects.get(number="+14155550100").account == account


def test_standard_input_is_never_prompted_even_at_a_terminal(mixed_import, monkeypatch):
    # The file came through stdin, so stdin cannot also answer a prompt.
    monkeypatch.setattr(sys, "stdin", Stdin(MIXED_CSV.encode(), tty=True))
    monkeypatch.setattr(builtins, "input", lambda prompt="": pytest.fail("prompted"))

    out, _ = run("-", "--account", "Acme")

    assert lines(out)[-1] == NOT_INTERACTIVE
    assert not PhoneNumber.objects.filter(number="+14155550100").exists()


def test_without_flags_and_without_a_terminal_it_only_dry_runs(write_csv, mixed_import, not_a_terminal):
    out, _ = run(write_csv(MIXED_CSV), "--account", "Acme")

    assert lines(out)[-2:] == ["1 to create, 1 to update, 1 unchanged, 1 with errors (skipped).", NOT_INTERACTIVE]
    assert_mixed_import_not_applied(mixed_import)


def test_at_a_terminal_it_asks_and_imports_on_yes(write_csv, mixed_import, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(b"", tty=True))
    prompts = []
    monkeypatch.setattr(builtins, "input", lambda prompt="": prompts.append(prompt) or "y")

    out, _ = run(write_csv(MIXED_CSV), "--account", "Acme")

    assert prompts == ["Import these changes? [y/N] "]
    assert "Importing 4 rows into account 'Acme':" in lines(out)
    assert lines(out)[-1] == "1 created, 1 updated, 1 unchanged, 1 with errors (skipped)."
    assert PhoneNumber.objects.filter(number="+14155550100").exists()


def test_at_a_terminal_anything_but_yes_imports_nothing(write_csv, mixed_import, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(b"", tty=True))
    monkeypatch.setattr(builtins, "input", lambda prompt="": "")

    out, _ = run(write_csv(MIXED_CSV), "--account", "Acme")

    assert lines(out)[-1] == "Nothing imported."
    assert not PhoneNumber.objects.filter(number="+14155550100").exists()
    assert not NumberEvent.objects.exists()


def test_a_file_with_nothing_to_do_says_so(write_csv, mixed_import, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Stdin(b"", tty=True))
    monkeypatch.setattr(builtins, "input", lambda prompt="": pytest.fail("prompted"))

    out, _ = run(write_csv(IMPORT_HEADER + "+15550000002,,,,,\n"), "--account", "Acme")

    assert lines(out)[-2:] == ["0 to create, 0 to update, 1 unchanged, 0 with errors (skipped).", "Nothing to import."]


def test_the_account_name_is_case_insensitive(write_csv, account, other_account):
    out, _ = run(write_csv(IMPORT_HEADER + "+14155550100,,,,,\n"), "--account", " aCmE ", "--apply")

    assert lines(out)[0] == "Importing 1 row into account 'Acme':"
    assert PhoneNumber.objects.get(number="+14155550100").account == account


def test_an_unknown_account_is_an_error(write_csv, account):
    with pytest.raises(CommandError, match=r"^No account is named 'Nope'\.$"):
        run(write_csv(IMPORT_HEADER + "+14155550100,,,,,\n"), "--account", "Nope", "--apply")

    assert not PhoneNumber.objects.exists()


def test_a_missing_file_is_an_error(tmp_path, account):
    path = tmp_path / "missing.csv"

    with pytest.raises(CommandError, match=rf"^Cannot read {re.escape(str(path))}: No such file or directory\.$"):
        run(str(path), "--account", "Acme", "--apply")


def test_a_file_not_in_utf8_is_an_error(tmp_path, account):
    path = tmp_path / "latin1.csv"
    path.write_bytes((IMPORT_HEADER + "+14155550100,,Café,,,\n").encode("latin-1"))

    with pytest.raises(CommandError, match=r"^The file must be UTF-8 text \(CSV\)\.$"):
        run(str(path), "--account", "Acme", "--apply")

    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "The file is empty."),
        ("provider,status\nmanual,active\n", "The file needs a header line with a number column: "),
        ("number,phone\n+14155550100,x\n", "Unknown column(s): phone. The columns are: "),
        ("number,status,Status\n+14155550100,active,active\n", "A column appears twice in the header."),
    ],
)
def test_a_bad_header_is_an_error(write_csv, account, text, message):
    with pytest.raises(CommandError) as raised:
        run(write_csv(text), "--account", "Acme", "--apply")

    assert str(raised.value).startswith(message)
    assert not PhoneNumber.objects.exists()


def test_a_byte_order_mark_and_a_partial_header_are_fine(tmp_path, account, make_number, make_trunk):
    edge = make_trunk(account, "Edge")
    kept = make_number(account, "+15550000001", provider="twilio", trunk=edge)
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffNumber,Status\r\n+15550000001,Inactive\r\n0014155550100,\r\n".encode())

    out, _ = run(str(path), "--account", "Acme", "--apply")

    assert lines(out)[1:] == [
        "line 2: +15550000001: update status: active → inactive",
        "line 3: +14155550100: create manual, active",
        "1 created, 1 updated, 0 unchanged, 0 with errors (skipped).",
    ]
    kept.refresh_from_db()
    # Absent columns keep what the number had.
    assert (kept.provider, kept.status, kept.trunk) == ("twilio", "inactive", edge)


def test_applying_twice_changes_nothing_the_second_time(write_csv, mixed_import, account):
    path = write_csv(MIXED_CSV)
    run(path, "--account", "Acme", "--apply")
    events = NumberEvent.objects.count()
    numbers = list(PhoneNumber.objects.order_by("number").values())

    out, _ = run(path, "--account", "Acme", "--apply")

    assert lines(out)[1:] == [
        f"line 5: not-a-number: error number: {E164_MESSAGE}",
        "0 created, 0 updated, 3 unchanged, 1 with errors (skipped).",
    ]
    assert NumberEvent.objects.count() == events
    assert list(PhoneNumber.objects.order_by("number").values()) == numbers


def test_good_rows_are_applied_and_bad_rows_reported_with_line_and_reason(
    write_csv, account, other_account, make_number, make_voice_agent, make_trunk
):
    sales = make_voice_agent(account, "Sales")
    make_voice_agent(other_account, "Globex voice")
    theirs = make_number(other_account, "+15550000009")
    text = (
        IMPORT_HEADER + "+14155550100,,Sales,,,\n"  # line 2: good
        "+1555abc,,,,,\n"  # 3
        "+14155550101,,Nobody,,,\n"  # 4
        "+14155550102,,Globex voice,,,\n"  # 5: another account's agent
        "+14155550103,sip,,,,paused\n"  # 6
        "+1 415.555.0100,,,,,\n"  # 7: line 2's number again
        "+15550000009,,,,,\n"  # 8: another account's number
        "+14155550104,manual\n"  # 9
        "\n"  # 10: a blank line is no row
        f"0014155550105,,{sales.pk},,,inactive\n"  # 11: good, the agent by id
    )

    out, _ = run(write_csv(text), "--account", "Acme", "--apply")

    assert lines(out)[1:] == [
        "line 2: +14155550100: create manual, active, voice agent Sales",
        f"line 3: +1555abc: error number: {E164_MESSAGE}",
        "line 4: +14155550101: error voice_agent: Voice agent “Nobody” does not exist (give its name or id).",
        "line 5: +14155550102: error voice_agent: Voice agent “Globex voice” does not exist (give its name or id).",
        "line 6: +14155550103: error provider: “sip” is not one of manual, twilio. "
        "status: “paused” is not one of active, inactive.",
        "line 7: +14155550100: error The number is also on line 2.",
        "line 8: +15550000009: error This number is already registered.",
        # A row that cannot be read into columns shows the number it starts with.
        "line 9: +14155550104: error Expected 6 values, found 2.",
        "line 11: +14155550105: create manual, inactive, voice agent Sales",
        "2 created, 0 updated, 0 unchanged, 7 with errors (skipped).",
    ]
    assert set(PhoneNumber.objects.filter(account=account).values_list("number", "voice_agent", "status")) == {
        ("+14155550100", sales.pk, "active"),
        ("+14155550105", sales.pk, "inactive"),
    }
    theirs.refresh_from_db()
    assert theirs.account == other_account
    assert events_of(theirs.pk) == []


@pytest.fixture
def exported_account(account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk):
    """Numbers with every kind of value the export writes, and names CSV must quote."""
    sales = make_voice_agent(account, 'Sales, "East"')
    chat = make_text_agent(account, "Chat, 24/7")
    edge = make_trunk(account, 'Edge "primary"')
    make_voice_agent(account, "12")  # a name that looks like an id
    make_number(account, "+15550000001", voice_agent=sales, text_agent=chat, trunk=edge)
    make_number(account, "+15550000002", provider="twilio", status="inactive", trunk=edge)
    make_number(account, "+15550000003", status="inactive", text_agent=chat)
    make_number(account, "+15550000004", provider="twilio")
    make_number(other_account, "+15550000005")
    return account


def exported_text(response) -> str:
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def assert_round_trip(write_csv, text: str) -> None:
    assert len(list(csv.reader(io.StringIO(text)))) == 5
    before = list(PhoneNumber.objects.order_by("number").values())

    out, _ = run(write_csv(text), "--account", "Acme", "--dry-run", "-v", "2")

    assert lines(out)[-1] == "0 to create, 0 to update, 4 unchanged, 0 with errors (skipped)."
    assert [line.split(": ")[-1] for line in lines(out)[1:-1]] == ["unchanged"] * 4
    assert list(PhoneNumber.objects.order_by("number").values()) == before


def test_the_dashboards_export_imports_back_as_unchanged(write_csv, client, owner, exported_account):
    client.force_login(owner)

    assert_round_trip(write_csv, exported_text(client.get("/numbers/export.csv")))


def test_the_apis_export_imports_back_as_unchanged(write_csv, api, exported_account):
    assert_round_trip(write_csv, exported_text(api.get("/api/v1/numbers/export.csv")))
