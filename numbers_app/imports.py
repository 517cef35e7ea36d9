"""CSV import of numbers: `number,provider,voice_agent,text_agent,trunk,status`, the columns
the export writes, so that an exported file imports back as "unchanged".

One planner decides, row by row, what a row would do (create, update, unchanged, or an error
with its reason). The dry run only plans; applying plans each batch again inside its own
transaction, with the batch's existing numbers locked, and writes the creates and updates of
that batch through the services (numbers_create_many, numbers_update_many), which check them
as number_create and number_update do and record their audit events. The planner's own checks
give each row its message; the rules are the services'. A batch is all or nothing; rows with errors are
skipped and reported. Used by the dashboard's import page and the `importnumbers` command.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor

from . import services
from .models import ASSIGNMENTS, ImportJobRow, PhoneNumber
from .phone import normalize_number
from .selectors import CSV_COLUMNS
from .services import ASSIGNMENT_FIELDS, DUPLICATE_NUMBER_MESSAGE, NUMBER_CHOICES

BATCH_SIZE = 1000
# The largest file the import takes; a million rows of this format are about 60 MB.
MAX_ROWS = 1_000_000


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not UTF-8 text, no `number` column…)."""


@dataclass
class RowResult:
    line: int
    number: str
    outcome: str
    # What changes ("status: active → inactive; trunk: none → Edge"), or the error.
    message: str = ""
    # For a create: every field; for an update: the changed fields. Agents and trunks as objects.
    values: dict = field(default_factory=dict)
    existing: PhoneNumber | None = None


@dataclass
class Totals:
    create: int = 0
    update: int = 0
    unchanged: int = 0
    error: int = 0

    def add(self, results: Iterable[RowResult]) -> None:
        for result in results:
            outcome = str(result.outcome)
            setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def rows(self) -> int:
        return self.create + self.update + self.unchanged + self.error

    def as_dict(self) -> dict:
        return {outcome: getattr(self, outcome) for outcome in ImportJobRow.Outcome.values}


# Reading the file


def read_rows(text: str) -> tuple[int, Iterator[tuple[int, dict]]]:
    """How many data rows `text` has, and the rows as (line number, {column: value}).

    Raises ImportFileError when the header is unusable or the file is too long."""
    if text.startswith("\ufeff"):
        text = text[1:]  # the byte-order mark spreadsheet programs write
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as error:
        raise ImportFileError(f"Line 1: {error}.") from None
    columns = [name.strip().lower() for name in header]
    unknown = [name for name in columns if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(f"Unknown column(s): {', '.join(unknown)}. The columns are: {','.join(CSV_COLUMNS)}.")
    if "number" not in columns:
        raise ImportFileError(f"The file needs a header line with a number column: {','.join(CSV_COLUMNS)}.")
    if len(set(columns)) != len(columns):
        raise ImportFileError("A column appears twice in the header.")
    total = _count_data_rows(text)
    if total > MAX_ROWS:
        raise ImportFileError(f"The file has {total:,} rows; import at most {MAX_ROWS:,} at a time.")

    def rows() -> Iterator[tuple[int, dict]]:
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
        while True:
            # The line the record starts on (a quoted value may span several lines).
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield line, {"__error__": f"Unreadable CSV: {error}."}
                continue
            if not any(value.strip() for value in values):
                continue  # blank lines are not rows
            if len(values) != len(columns):
                error = f"Expected {len(columns)} values, found {len(values)}."
                yield (
                    line,
                    {
                        "__error__": error,
                        "number": values[columns.index("number")] if len(values) > columns.index("number") else "",
                    },
                )
                continue
            yield line, dict(zip(columns, values, strict=True))

    return total, rows()


def _count_data_rows(text: str) -> int:
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    count = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return count
        except csv.Error:
            values = ["?"]
        count += any(value.strip() for value in values)


def decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFileError("The file must be UTF-8 text (CSV).") from None
    if "\x00" in text:
        # No CSV holds one, and PostgreSQL cannot store text that does.
        raise ImportFileError("The file holds NUL characters; it is not a CSV file.")
    return text


# Planning


class Assignments:
    """The account's agents and trunks, found by name (exactly as written) or, failing
    that, by id: read once per import, not once per row.

    With `lock` (applying a batch; before its numbers are locked), they are locked FOR KEY
    SHARE until the batch commits, as assignment_names() explains: none is renamed or
    deleted meanwhile, so the names the events record are the names they have."""

    def __init__(self, account: Account, *, lock: bool = False):
        self.by_field = {}
        for name, model in ASSIGNMENTS.items():
            queryset = model.objects.for_account(account)
            if lock and connection.features.has_select_for_update:
                sql, params = queryset.query.sql_with_params()
                queryset = model.objects.raw(f"{sql} FOR KEY SHARE", params)
            objects = list(queryset)
            # Names are unique per account and kind (the models' constraints), so a name is
            # one agent or trunk.
            by_name = {obj.name: obj for obj in objects}
            self.by_field[name] = (by_name, {str(obj.pk): obj for obj in objects}, model)

    def find(self, field_name: str, value: str):
        """The agent or trunk a cell names; None for an empty cell (unassigned)."""
        value = value.strip()
        if not value:
            return None
        by_name, by_id, model = self.by_field[field_name]
        found = by_name.get(value) or by_id.get(value.lstrip("#"))
        if found is None:
            raise ValidationError(f"{model.kind_title} “{_quoted(value)}” does not exist (give its name or id).")
        return found


def _quoted(value: str) -> str:
    """A cell as a message quotes it: a cell can be 128 KB long."""
    return value if len(value) <= 60 else value[:57] + "…"


def _parse(row: dict, assignments: Assignments) -> tuple[str, dict]:
    """The row's E.164 number and the fields it sets. Raises ValidationError with every
    problem of the row."""
    if "__error__" in row:
        raise ValidationError(row["__error__"])
    errors, values = [], {}
    number = ""
    try:
        number = normalize_number(row.get("number", ""))
    except ValidationError as error:
        errors.append(f"number: {' '.join(error.messages)}")
    for name, choices in NUMBER_CHOICES.items():
        value = row.get(name, "").strip().lower()
        if not value:
            continue  # absent or empty: kept (defaults for a new number)
        if value not in choices:
            errors.append(f"{name}: “{_quoted(row[name].strip())}” is not one of {', '.join(choices)}.")
        else:
            values[name] = value
    for name in ASSIGNMENT_FIELDS:
        if name not in row:
            continue  # the column is absent: kept
        try:
            values[name] = assignments.find(name, row[name])
        except ValidationError as error:
            errors.append(f"{name}: {' '.join(error.messages)}")
    if errors:
        raise ValidationError(errors)
    return number, values


def _shown(value) -> str:
    if value is None:
        return "none"
    return getattr(value, "name", value)


def plan_batch(
    account: Account, batch: list[tuple[int, dict]], assignments: Assignments, seen: dict[str, int], *, lock: bool
) -> list[RowResult]:
    """What each row of `batch` would do, against the database as it is now. `seen` maps the
    numbers of earlier rows to their line, to refuse a number given twice; `lock` locks the
    batch's existing numbers until the transaction ends (when applying)."""
    parsed = []
    results: list[RowResult] = []
    for line, row in batch:
        try:
            number, values = _parse(row, assignments)
        except ValidationError as error:
            results.append(
                RowResult(line, row.get("number", "").strip(), ImportJobRow.Outcome.ERROR, " ".join(error.messages))
            )
            continue
        if number in seen:
            results.append(
                RowResult(line, number, ImportJobRow.Outcome.ERROR, f"The number is also on line {seen[number]}.")
            )
            continue
        seen[number] = line
        parsed.append((line, number, values))
        results.append(None)  # filled below, keeping file order

    existing_numbers = PhoneNumber.objects.filter(number__in=[number for _, number, _ in parsed])
    if lock:
        # In id order, as numbers_update_many locks them: concurrent writers queue, never deadlock.
        existing_numbers = existing_numbers.select_for_update().order_by("id")
    existing = {number.number: number for number in existing_numbers}

    planned = iter(parsed)
    for index, result in enumerate(results):
        if result is not None:
            continue
        line, number, values = next(planned)
        current = existing.get(number)
        if current is None:
            values = {
                "provider": PhoneNumber.Provider.MANUAL,
                "status": PhoneNumber.Status.ACTIVE,
                **{name: None for name in ASSIGNMENT_FIELDS},
                **values,
            }
            described = ", ".join(
                [values["provider"], values["status"]]
                + [f"{name.replace('_', ' ')} {values[name].name}" for name in ASSIGNMENT_FIELDS if values[name]]
            )
            results[index] = RowResult(line, number, ImportJobRow.Outcome.CREATE, described, values)
        elif current.account_id != account.id:
            results[index] = RowResult(line, number, ImportJobRow.Outcome.ERROR, DUPLICATE_NUMBER_MESSAGE)
        else:
            changes = {}
            for name, value in values.items():
                current_value = getattr(current, f"{name}_id" if name in ASSIGNMENT_FIELDS else name)
                if current_value != getattr(value, "pk", value):
                    changes[name] = value
            if changes:
                described = "; ".join(
                    f"{name}: {_shown(_current(current, name, assignments))} → {_shown(value)}"
                    for name, value in changes.items()
                )
                results[index] = RowResult(line, number, ImportJobRow.Outcome.UPDATE, described, changes, current)
            else:
                results[index] = RowResult(line, number, ImportJobRow.Outcome.UNCHANGED, existing=current)
    return results


def _current(number: PhoneNumber, name: str, assignments: Assignments):
    """A field's current value; an agent or trunk from the ones already read, not a query."""
    if name not in ASSIGNMENT_FIELDS:
        return getattr(number, name)
    pk = getattr(number, f"{name}_id")
    return None if pk is None else assignments.by_field[name][1].get(str(pk))


def _batches(rows: Iterator[tuple[int, dict]]) -> Iterator[list[tuple[int, dict]]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


Record = Callable[[list[RowResult]], None]


def dry_run(
    *, account: Account, rows: Iterator[tuple[int, dict]], seen: dict | None = None, record: Record | None = None
) -> Iterator[list[RowResult]]:
    """What importing `rows` would do, row by row (yielded a batch at a time); writes nothing
    but what `record` writes of each batch's results, in a transaction of its own."""
    assignments, seen = Assignments(account), {} if seen is None else seen
    for batch in _batches(rows):
        results = plan_batch(account, batch, assignments, seen, lock=False)
        if record is not None:
            with transaction.atomic():
                record(results)
        yield results


def number_import(
    *,
    actor: Actor,
    account: Account,
    rows: Iterator[tuple[int, dict]],
    seen: dict | None = None,
    record: Record | None = None,
) -> Iterator[list[RowResult]]:
    """Import `rows`: each batch is planned again and written in its own transaction, with
    its audit events and what `record` writes of its results (a job's rows and progress), so
    that a batch and its record commit together or not at all; rows with errors are skipped.
    Yields each batch's results once it is committed."""
    seen = {} if seen is None else seen
    for batch in _batches(rows):
        yield _apply_batch(actor, account, batch, seen, record)


def remember(*, account: Account, rows: Iterable[tuple[int, dict]], seen: dict) -> None:
    """Fill `seen` as planning `rows` did: for a run resumed after these rows, so that a
    number given again later in the file is still refused as a repeat."""
    assignments = Assignments(account)
    for line, row in rows:
        try:
            number, _ = _parse(row, assignments)
        except ValidationError:
            continue
        seen.setdefault(number, line)


def _apply_batch(actor: Actor, account: Account, batch: list, seen: dict, record: Record | None) -> list[RowResult]:
    # A number created by someone else between planning and writing breaks the unique
    # constraint and rolls the batch back; planned again, that row is then an error or an
    # update, and the rest of the batch goes through. A row the planner let through and a
    # service refuses (they disagree: a bug, never a failed import) rolls the batch back too;
    # it is then written a row at a time, and the refused row becomes an error.
    retried = row_by_row = False
    while True:
        seen_before = dict(seen)
        try:
            with transaction.atomic():
                # The agents and trunks as they are now: one renamed or deleted since the
                # last batch is seen as it is.
                assignments = Assignments(account, lock=True)
                results = plan_batch(account, batch, assignments, seen, lock=True)
                if row_by_row:
                    _write_each(actor, account, results)
                else:
                    _write(actor, account, results)
                if record is not None:
                    record(results)
                return results
        except IntegrityError:
            if retried:
                raise
            retried = True
        except ValidationError:
            if row_by_row:  # _write_each keeps every ValidationError to its row
                raise
            row_by_row = True
        seen.clear()
        seen.update(seen_before)


def _write_each(actor: Actor, account: Account, results: list[RowResult]) -> None:
    """The batch's creates and updates one at a time, each in a savepoint: a row a service
    refuses becomes an error with the service's message, and the others are written."""
    for index, result in enumerate(results):
        if result.outcome not in (ImportJobRow.Outcome.CREATE, ImportJobRow.Outcome.UPDATE):
            continue
        try:
            with transaction.atomic():
                _write(actor, account, [result])
        except ValidationError as error:
            results[index] = RowResult(result.line, result.number, ImportJobRow.Outcome.ERROR, _message(error))


def _message(error: ValidationError) -> str:
    """A service's ValidationError as a row's message: `field: message`, as the planner's."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return " ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())


def _write(actor: Actor, account: Account, results: list[RowResult]) -> None:
    """The batch's creates and updates, through the services' batch functions: the rules and
    events of number_create and number_update in a few statements per batch, not a few per
    row: for the creates, their INSERT (one COPY on PostgreSQL, a few hundred rows per
    statement on SQLite), a query for their ids and their events' INSERT; for the updates,
    the locked rows, a query per kind of agent or trunk they are assigned to, their UPDATE
    (bulk_update) and their events' INSERT."""
    creates = [
        {"number": result.number, **result.values}
        for result in results
        if result.outcome == ImportJobRow.Outcome.CREATE
    ]
    if creates:
        services.numbers_create_many(actor=actor, account=account, numbers=creates)
    updates = {result.existing.pk: result.values for result in results if result.outcome == ImportJobRow.Outcome.UPDATE}
    if updates:
        services.numbers_update_many(actor=actor, account=account, changes=updates)
