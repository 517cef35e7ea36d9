import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor, Channel
from numbers_app.imports import ImportFileError, Totals, decode, dry_run, number_import, read_rows
from numbers_app.models import ImportJobRow


class ProgressBar:
    """`[#######.............]  35%  35,000/100,000 rows` on one line of stderr."""

    WIDTH = 30

    def __init__(self, stream, total: int, label: str):
        self.stream, self.total, self.label = stream, total, label

    def update(self, done: int) -> None:
        filled = self.WIDTH * done // self.total if self.total else self.WIDTH
        percent = 100 * done // self.total if self.total else 100
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {percent:3d}%  {done:,}/{self.total:,} rows", ending="")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("")


class Command(BaseCommand):
    help = (
        "Import numbers from a CSV file (number,provider,voice_agent,text_agent,trunk,status; agents and "
        "trunks by name or id). Without --apply: a dry run showing what each row would do, then (at a "
        "terminal) a prompt to import. With --apply: imports, showing what each row did."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file; - reads standard input.")
        parser.add_argument("--account", required=True, help="The account's name.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", dest="only_dry_run", help="Only show what would happen.")
        mode.add_argument("--apply", action="store_true", help="Import straight away (after a dry run you have read).")

    def handle(self, *args, file: str, account: str, only_dry_run: bool, apply: bool, verbosity: int, **options):
        found = Account.objects.filter(name__iexact=account.strip()).first()
        if found is None:
            raise CommandError(f"No account is named {account!r}.")
        try:
            data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            text = decode(data)
            total, rows = read_rows(text)
        except ImportFileError as error:
            raise CommandError(str(error)) from None

        if not apply:
            self.stdout.write(f"Dry run of {_rows(total)} for account {found.name!r}:")
            totals = self._run(dry_run(account=found, rows=rows), total, verbosity, applied=False)
            if only_dry_run:
                return
            if totals.create + totals.update == 0:
                self.stdout.write("Nothing to import.")
                return
            if not sys.stdin.isatty() or file == "-":
                self.stdout.write("Dry run only. Run again with --apply to import.")
                return
            if input("Import these changes? [y/N] ").strip().lower() not in ("y", "yes"):
                self.stdout.write("Nothing imported.")
                return
            _, rows = read_rows(text)

        # Each batch is checked again as it is written: what the database holds then decides.
        self.stdout.write(f"Importing {_rows(total)} into account {found.name!r}:")
        actor = Actor.for_command("importnumbers", Channel.IMPORT)
        self._run(number_import(actor=actor, account=found, rows=rows), total, verbosity, applied=True)

    def _run(self, batches, total: int, verbosity: int, *, applied: bool) -> Totals:
        """Report each row that does something (every row with -v 2), then the totals."""
        totals = Totals()
        bar = ProgressBar(self.stderr, total, "Importing" if applied else "Checking ") if verbosity else None
        for results in batches:
            totals.add(results)
            if bar:
                bar.update(totals.rows)
            for result in results:
                if result.outcome != ImportJobRow.Outcome.UNCHANGED or verbosity > 1:
                    self.stdout.write(
                        f"line {result.line}: {result.number or '-'}: {result.outcome} {result.message}".rstrip()
                    )
        if bar:
            bar.finish()
        create, update = ("created", "updated") if applied else ("to create", "to update")
        self.stdout.write(
            f"{totals.create:,} {create}, {totals.update:,} {update}, {totals.unchanged:,} unchanged, "
            f"{totals.error:,} with errors (skipped)."
        )
        return totals


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"
