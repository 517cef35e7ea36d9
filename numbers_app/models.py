"""Phone numbers (DIDs) and the SIP trunks that carry their calls."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.crypto import (
    TRUNK_KEY_MISSING_MESSAGE,
    TRUNK_WRONG_KEY_MESSAGE,
    WRONG_KEY_MESSAGE,
    CredentialsUnavailable,
    decrypt,
    encrypt,
)
from kalem_site.accounts.models import Account
from kalem_site.actors import ActorType, Channel

from .phone import E164_REGEX
from .validators import validate_host, validate_host_port


class SipTrunkQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> "SipTrunkQuerySet":
        return self.filter(account=account)

    def with_numbers_count(self) -> "SipTrunkQuerySet":
        return self.annotate(numbers_count=models.Count("numbers"))


class SipTrunk(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class AuthType(models.TextChoices):
        IP = "ip", "IP address"
        DIGEST = "digest", "Digest (username and password)"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    auth_type = models.CharField(max_length=6, choices=AuthType.choices)
    host = models.CharField(max_length=253, blank=True, validators=[validate_host])
    port = models.PositiveIntegerField(default=5060, validators=[MinValueValidator(1), MaxValueValidator(65535)])
    username = models.CharField(max_length=100, blank=True)
    # The digest password, Fernet-encrypted with CREDENTIALS_KEY (as Twilio credentials are);
    # empty when there is none. Write-only: set `password`, read it for the SIP side with
    # sip_password(); no API response, page, export, log or event shows it.
    password_encrypted = models.TextField(blank=True, editable=False)
    outbound_server = models.CharField(max_length=260, blank=True, validators=[validate_host_port])
    registered = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SipTrunkQuerySet.as_manager()

    # Human-readable names of the kind, for messages ("SIP trunk 3 does not exist.").
    kind_label = "SIP trunk"
    kind_title = "SIP trunk"

    class Meta:
        ordering = ["id"]
        verbose_name = "SIP trunk"
        constraints = [
            # The CSV import and export name trunks, as they name agents: a name is one trunk.
            models.UniqueConstraint(fields=["account", "name"], name="siptrunk_name_unique_per_account"),
            models.CheckConstraint(condition=~Q(name=""), name="siptrunk_name_not_empty"),
            models.CheckConstraint(condition=Q(direction__in=["inbound", "outbound"]), name="siptrunk_direction_valid"),
            models.CheckConstraint(condition=Q(auth_type__in=["ip", "digest"]), name="siptrunk_auth_type_valid"),
            models.CheckConstraint(condition=Q(port__gte=1, port__lte=65535), name="siptrunk_port_range"),
            models.CheckConstraint(
                condition=~Q(direction="inbound", auth_type="ip", host=""),
                name="siptrunk_inbound_ip_has_host",
            ),
            models.CheckConstraint(
                condition=~Q(auth_type="digest") | (~Q(username="") & ~Q(password_encrypted="")),
                name="siptrunk_digest_has_credentials",
            ),
            models.CheckConstraint(
                condition=~Q(direction="outbound", outbound_server=""),
                name="siptrunk_outbound_has_server",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sip_uri(self) -> str | None:
        return f"sip:{self.host}@{settings.SIP_DOMAIN}" if self.host else None

    PASSWORD_MAX_LENGTH = 128

    def _get_password(self):
        raise AttributeError("The trunk password is write-only; the SIP side reads it with sip_password().")

    def _set_password(self, plaintext: str | None) -> None:
        """Store the digest password encrypted; "" or None clears it. Raises ValidationError
        (on `password`) when it is too long or this server has no CREDENTIALS_KEY."""
        plaintext = plaintext or ""
        if len(plaintext) > self.PASSWORD_MAX_LENGTH:
            raise ValidationError({"password": f"Ensure this value has at most {self.PASSWORD_MAX_LENGTH} characters."})
        try:
            self.password_encrypted = encrypt(plaintext) if plaintext else ""
        except CredentialsUnavailable:
            raise ValidationError({"password": TRUNK_KEY_MISSING_MESSAGE}) from None

    # Write-only: `trunk.password = "…"` (or SipTrunk(password="…")) encrypts; reading it fails.
    password = property(_get_password, _set_password)

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    def sip_password(self) -> str:
        """The digest password in plaintext, for authenticating to the trunk ("" when none).
        Raises CredentialsUnavailable when this server's key cannot decrypt it."""
        if not self.password_encrypted:
            return ""
        try:
            return decrypt(self.password_encrypted)
        except CredentialsUnavailable as error:
            if str(error) == WRONG_KEY_MESSAGE:
                raise CredentialsUnavailable(TRUNK_WRONG_KEY_MESSAGE) from None
            raise CredentialsUnavailable(TRUNK_KEY_MISSING_MESSAGE) from None

    def clean(self) -> None:
        """The conditional rules of the contract, as field errors (the constraints above hold
        the same rules in the database)."""
        errors = {}
        if self.direction == self.Direction.INBOUND and self.auth_type == self.AuthType.IP and not self.host:
            errors["host"] = "A host is required for an inbound trunk with IP authentication."
        if self.auth_type == self.AuthType.DIGEST:
            if not self.username:
                errors["username"] = "A username is required for digest authentication."
            if not self.password_encrypted:
                errors["password"] = "A password is required for digest authentication."
        if self.direction == self.Direction.OUTBOUND and not self.outbound_server:
            errors["outbound_server"] = "An outbound server is required for an outbound trunk."
        if errors:
            raise ValidationError(errors)


# When a number can take calls: active, with a voice or text agent, and — for manual numbers,
# which reach us through a SIP trunk — a trunk (Twilio numbers are routed by Twilio). The
# tally's columns hold the same inputs, so numbers_app.tally counts routable numbers by the
# same rule (ROUTABLE_TALLY_SQL there; tests/numbers_app/test_routable.py holds them equal).
ROUTABLE = (
    Q(status="active")
    & (Q(voice_agent__isnull=False) | Q(text_agent__isnull=False))
    & (Q(provider="twilio") | Q(trunk__isnull=False))
)


class PhoneNumberQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> "PhoneNumberQuerySet":
        return self.filter(account=account)

    def with_assignments(self) -> "PhoneNumberQuerySet":
        """Join what the Number object shows, so a page of numbers is one query."""
        return self.select_related(*ASSIGNMENTS)


class PhoneNumber(models.Model):
    class Provider(models.TextChoices):
        MANUAL = "manual", "Manual"
        TWILIO = "twilio", "Twilio"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    # The composite indexes below lead with these columns, so no single-column index is needed.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    # E.164. Unique across the service: a DID has exactly one owner.
    number = models.CharField(max_length=16, unique=True)
    provider = models.CharField(max_length=6, choices=Provider.choices, default=Provider.MANUAL)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    voice_agent = models.ForeignKey(
        VoiceAgent, on_delete=models.SET_NULL, null=True, blank=True, related_name="numbers", db_index=False
    )
    text_agent = models.ForeignKey(
        TextAgent, on_delete=models.SET_NULL, null=True, blank=True, related_name="numbers", db_index=False
    )
    trunk = models.ForeignKey(
        SipTrunk, on_delete=models.SET_NULL, null=True, blank=True, related_name="numbers", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The routing lookup's verdict (docs/API.md §9, selectors.number_routing gives the reasons),
    # computed and stored by the database on every write, so the list's `routable` filter is
    # an index range and no write path can leave it stale.
    routable = models.GeneratedField(expression=ROUTABLE, output_field=models.BooleanField(), db_persist=True)

    objects = PhoneNumberQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "phone number"
        constraints = [
            models.CheckConstraint(condition=Q(number__regex=E164_REGEX), name="phonenumber_number_e164"),
            models.CheckConstraint(condition=Q(provider__in=["manual", "twilio"]), name="phonenumber_provider_valid"),
            models.CheckConstraint(condition=Q(status__in=["active", "inactive"]), name="phonenumber_status_valid"),
        ]
        indexes = [
            # The unfiltered list and every page of it: WHERE account_id = ? ORDER BY id.
            models.Index(fields=["account", "id"], name="number_account_id_idx"),
            # ?status=…
            models.Index(fields=["account", "status", "id"], name="number_account_status_idx"),
            # ?provider=…
            models.Index(fields=["account", "provider", "id"], name="number_account_provider_idx"),
            # ?voice_agent_id=…, and the agent's numbers_count.
            models.Index(fields=["voice_agent", "id"], name="number_voice_agent_idx"),
            # ?text_agent_id=…, and the agent's numbers_count.
            models.Index(fields=["text_agent", "id"], name="number_text_agent_idx"),
            # ?trunk_id=…, and the trunk's numbers_count.
            models.Index(fields=["trunk", "id"], name="number_trunk_idx"),
            # ?routable=true|false (the home page's not-routable counts link to it).
            models.Index(fields=["account", "routable", "id"], name="number_account_routable_idx"),
        ]

    def __str__(self) -> str:
        return self.number


# What a number is assigned to: PhoneNumber's foreign key → the model it points to, whose
# kind_label and kind_title name it in messages and pages. Every list of the three is this one.
ASSIGNMENTS: dict[str, type[models.Model]] = {"voice_agent": VoiceAgent, "text_agent": TextAgent, "trunk": SipTrunk}


class NumberTally(models.Model):
    """How many numbers an account has for each combination of the list's filters.

    Kept by database triggers on PhoneNumber (migration 0003, now 0014), so it is exact whatever writes
    the numbers, and read instead of COUNT(*) when a list has no search: the total of any
    combination of filters is then a sum over a handful of rows, however many numbers there
    are. Unassigned is 0 rather than NULL, so the unique constraint holds on every database.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(max_length=8)
    provider = models.CharField(max_length=6)
    voice_agent_id = models.BigIntegerField()
    text_agent_id = models.BigIntegerField()
    trunk_id = models.BigIntegerField()
    count = models.BigIntegerField()

    class Meta:
        ordering = ["account", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id"]
        constraints = [
            # The key the triggers upsert on; it leads with the account, which every read filters by.
            models.UniqueConstraint(
                fields=["account", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id"],
                name="numbertally_unique_combination",
            ),
            models.CheckConstraint(condition=models.Q(count__gte=0), name="numbertally_count_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.status}/{self.provider}: {self.count}"


class NumberFacetCount(models.Model):
    """How many numbers of an account one filter value matches on its own: a row per (filter,
    value) of the list (`status`/`active`, `voice_agent_id`/`3`, `trunk_id`/`none`,
    `routable`/`true`, …), plus the account's total (`total`/``). About 45 rows per account
    whatever the number of numbers or of their combinations.

    Kept by the same triggers as NumberTally (migration 0014), from the same changes, so an
    unfiltered list's total and a single filter's count are one row each, and the sidebar's
    counts of an unfiltered list are the account's rows here, not a scan of its thousands of
    combinations. `value` is the filter's query-parameter value as text."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    facet = models.CharField(max_length=14)
    value = models.CharField(max_length=20, blank=True)
    count = models.BigIntegerField()

    class Meta:
        ordering = ["account", "facet", "value"]
        constraints = [
            # The key the triggers upsert on, in the order they lock rows.
            models.UniqueConstraint(fields=["account", "facet", "value"], name="numberfacetcount_unique_value"),
            models.CheckConstraint(condition=models.Q(count__gte=0), name="numberfacetcount_count_not_negative"),
            models.CheckConstraint(
                condition=models.Q(
                    facet__in=["total", "status", "provider", "voice_agent_id", "text_agent_id", "trunk_id", "routable"]
                ),
                name="numberfacetcount_facet_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.facet}={self.value}: {self.count}"


class NumberEventQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> "NumberEventQuerySet":
        return self.filter(account=account)

    def newest_first(self) -> "NumberEventQuerySet":
        return self.order_by("-id")


class NumberEvent(models.Model):
    """One change to a number, for its audit timeline: written by the service that makes the
    change, in the same transaction, so a change and its event stand or fall together.

    A change of several fields at once is one event per field. `before` and `after` hold the
    field's value: a string for status and provider, `{"id", "name"}` of the agent or trunk
    (or null when unassigned) for an assignment; names as they were at the time."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        DELETED = "deleted", "Deleted"
        ASSIGNED = "assigned", "Assigned"
        UNASSIGNED = "unassigned", "Unassigned"
        ACTIVATED = "activated", "Activated"
        DEACTIVATED = "deactivated", "Deactivated"
        PROVIDER_CHANGED = "provider_changed", "Provider changed"
        # The agent or trunk the number is assigned to was renamed.
        RENAMED = "renamed", "Renamed"

    class Field(models.TextChoices):
        PROVIDER = "provider", "Provider"
        STATUS = "status", "Status"
        VOICE_AGENT = "voice_agent", VoiceAgent.kind_title
        TEXT_AGENT = "text_agent", TextAgent.kind_title
        TRUNK = "trunk", SipTrunk.kind_title

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The number's id and E.164 string, not a foreign key: a number's events outlive it.
    number_id = models.BigIntegerField()
    number = models.CharField(max_length=16)
    action = models.CharField(max_length=16, choices=Action.choices)
    # Empty for created and deleted, which are about the whole number.
    field = models.CharField(max_length=11, choices=Field.choices, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # Who (a user's username, a token's name, or the command's name) and through what; copied,
    # so the timeline still says who after the user or token is gone.
    actor_type = models.CharField(max_length=6, choices=ActorType.choices)
    actor_name = models.CharField(max_length=150)
    channel = models.CharField(max_length=9, choices=Channel.choices)
    occurred_at = models.DateTimeField(default=timezone.now)

    objects = NumberEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "number event"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    action__in=[
                        "created",
                        "deleted",
                        "assigned",
                        "unassigned",
                        "activated",
                        "deactivated",
                        "provider_changed",
                        "renamed",
                    ]
                ),
                name="numberevent_action_valid",
            ),
            models.CheckConstraint(
                condition=Q(field__in=["", "provider", "status", "voice_agent", "text_agent", "trunk"]),
                name="numberevent_field_valid",
            ),
            models.CheckConstraint(condition=Q(actor_type__in=ActorType.values), name="numberevent_actor_type_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="numberevent_channel_valid"),
        ]
        indexes = [
            # The account's activity, newest first: WHERE account_id = ? ORDER BY id DESC.
            models.Index(fields=["account", "id"], name="numberevent_account_id_idx"),
            # A number's timeline (GET /numbers/{id}/events), also after the number is deleted.
            models.Index(fields=["account", "number_id", "id"], name="numberevent_number_id_idx"),
            # ?number=+1555… on the account's activity.
            models.Index(fields=["account", "number", "id"], name="numberevent_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.action} {self.field}".rstrip()

    def describe(self) -> str:
        """The change in words, for the dashboard, after the action's name: "Voice agent:
        Sales → Support"; for created and deleted, the number's whole state."""
        if self.action in (self.Action.CREATED, self.Action.DELETED):
            state = self.after if self.action == self.Action.CREATED else self.before
            if not state:
                return ""
            parts = [state["status"], state["provider"]]
            for field, model in ASSIGNMENTS.items():
                if state[field]:
                    parts.append(f"{model.kind_label} {state[field]['name']}")
            return ", ".join(parts)
        return f"{self.get_field_display()}: {_event_value(self.before)} → {_event_value(self.after)}"


class NumberEventDay(models.Model):
    """How many events (changes to numbers) an account had on one day (UTC): the overview's
    chart of changes per day, read as a few rows per day instead of counting the events.

    Kept by database triggers on NumberEvent (migration 0011), as NumberTally is kept on
    PhoneNumber, so it is exact whatever writes the events (a service, an import's COPY). A
    day's count is the sum over its shards: on PostgreSQL each connection adds to its own
    shard (its backend pid modulo 16), so concurrent writers of one account do not queue on a
    single row until they commit; a deletion subtracts from the day's first shard, which may go
    below zero while the day's sum stays exact. SQLite has one shard."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    shard = models.PositiveSmallIntegerField(default=0)
    count = models.BigIntegerField()

    class Meta:
        ordering = ["account", "day", "shard"]
        constraints = [
            # The key the triggers upsert on; the chart reads a range of days of one account by it.
            models.UniqueConstraint(fields=["account", "day", "shard"], name="numbereventday_unique_shard"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.day}/{self.shard}: {self.count}"


def _event_value(value) -> str:
    if value is None:
        return "none"
    return value["name"] if isinstance(value, dict) else str(value)


class ImportJob(models.Model):
    """A CSV file uploaded in the dashboard: its dry run, then (once confirmed) its import.
    Each run is a task of the queue (numbers_app.import_jobs); the page follows its progress."""

    class Phase(models.TextChoices):
        DRY_RUN = "dry_run", "Dry run"
        IMPORT = "import", "Import"

    class State(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKING = "checking", "Dry run running"
        CHECKED = "checked", "Dry run done"
        IMPORTING = "importing", "Import running"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    filename = models.CharField(max_length=255)
    # The file itself, UTF-8 text: kept until the import is applied (or the job purged).
    content = models.TextField()
    state = models.CharField(max_length=9, choices=State.choices, default=State.UPLOADED)
    # The latest run's phase: the rows and totals shown are its.
    phase = models.CharField(max_length=7, choices=Phase.choices, default=Phase.DRY_RUN)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    # Rows per outcome (create, update, unchanged, error) of the latest run.
    totals = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    # Who the import's audit events name (an Actor's fields), set when the import is confirmed.
    actor = models.JSONField(default=dict, blank=True)
    # The task (django_tasks_db's result id) that owns the running run; a superseded task stops.
    task_id = models.CharField(max_length=36, blank=True)
    # How many times the run was taken up again after its worker died.
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["uploaded", "checking", "checked", "importing", "imported", "failed"]),
                name="importjob_state_valid",
            ),
            models.CheckConstraint(condition=Q(phase__in=["dry_run", "import"]), name="importjob_phase_valid"),
        ]
        indexes = [
            # The account's recent imports, and the purge of old ones.
            models.Index(fields=["account", "created_at"], name="importjob_account_created_idx"),
            # The reaper's running jobs.
            models.Index(fields=["state"], name="importjob_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_state_display()})"

    @property
    def running(self) -> bool:
        return self.state in (self.State.CHECKING, self.State.IMPORTING)

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.processed_rows * 100 // self.total_rows)


class ImportJobRow(models.Model):
    """What one row of an import job's file would do (dry run) or did (import)."""

    class Outcome(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        UNCHANGED = "unchanged", "Unchanged"
        ERROR = "error", "Error"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows", db_index=False)
    phase = models.CharField(max_length=7, choices=ImportJob.Phase.choices)
    line = models.PositiveIntegerField()
    number = models.CharField(max_length=64)
    outcome = models.CharField(max_length=9, choices=Outcome.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "phase", "line"]
        constraints = [
            models.CheckConstraint(condition=Q(phase__in=ImportJob.Phase.values), name="importjobrow_phase_valid"),
            models.CheckConstraint(
                condition=Q(outcome__in=["create", "update", "unchanged", "error"]), name="importjobrow_outcome_valid"
            ),
        ]
        indexes = [
            # A page of a job's rows, all or of one outcome, in file order.
            models.Index(fields=["job", "phase", "outcome", "line"], name="importjobrow_outcome_idx"),
            models.Index(fields=["job", "phase", "line"], name="importjobrow_line_idx"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.outcome}"


class TwilioSyncJob(models.Model):
    """A sync from Twilio started in the dashboard: queued, run by a worker
    (numbers_app.twilio_jobs), then its report."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Who the audit events of the created numbers name (an Actor's fields).
    actor = models.JSONField(default=dict)
    state = models.CharField(max_length=7, choices=State.choices, default=State.QUEUED)
    # Progress: how many numbers Twilio has listed so far.
    listed = models.PositiveIntegerField(default=0)
    # The TwilioSyncReport's lists, once done.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=36, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["queued", "running", "done", "failed"]), name="twiliosyncjob_state_valid"
            ),
        ]
        indexes = [
            # The account's recent syncs, and the purge of old ones.
            models.Index(fields=["account", "created_at"], name="twiliosync_account_created_idx"),
            # The reaper's running jobs.
            models.Index(fields=["state"], name="twiliosync_state_idx"),
        ]

    def __str__(self) -> str:
        return f"Twilio sync {self.pk} ({self.get_state_display()})"

    @property
    def running(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class BulkJob(models.Model):
    """A bulk action on every number that matched a filter when it was confirmed, too many to
    change in one request: the matching ids are snapshotted (BulkJobNumber) and a worker
    changes them chunk by chunk (numbers_app.bulk_jobs), each chunk with its audit events,
    webhook messages and the job's progress in one transaction."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Action(models.TextChoices):
        ACTIVATE = "activate", "Activate"
        DEACTIVATE = "deactivate", "Deactivate"
        ASSIGN = "assign", "Assign"
        DELETE = "delete", "Delete"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Who the audit events name (an Actor's fields).
    actor = models.JSONField(default=dict)
    action = models.CharField(max_length=10, choices=Action.choices)
    # For assign: {field of ASSIGNMENTS: id, or null to unassign}.
    assignments = models.JSONField(default=dict, blank=True)
    # The list's filters as given ({"status": "active", ...}): re-applied to each chunk, so a
    # number changed meanwhile to no longer match is left alone (counted as skipped).
    filters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=7, choices=State.choices, default=State.QUEUED)
    # How many numbers matched when the job was confirmed (the snapshot's size).
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    # Of the processed: changed; already as asked (unchanged); no longer matching the
    # filter or deleted meanwhile (skipped).
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # The snapshot is worked through in id order; the last id of the last committed chunk.
    last_number_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=36, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["queued", "running", "done", "failed"]), name="bulkjob_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(action__in=["activate", "deactivate", "assign", "delete"]), name="bulkjob_action_valid"
            ),
            models.CheckConstraint(condition=Q(processed__lte=models.F("total")), name="bulkjob_processed_le_total"),
            models.CheckConstraint(
                condition=Q(processed=models.F("changed") + models.F("unchanged") + models.F("skipped")),
                name="bulkjob_outcomes_add_up",
            ),
        ]
        indexes = [
            # The account's recent bulk jobs (the Jobs page), and the purge of old ones.
            models.Index(fields=["account", "created_at"], name="bulkjob_account_created_idx"),
            # The reaper's running jobs.
            models.Index(fields=["state"], name="bulkjob_state_idx"),
        ]

    def __str__(self) -> str:
        return f"Bulk {self.action} of {self.total} numbers ({self.get_state_display()})"

    @property
    def running(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.processed * 100 // self.total)


class BulkJobNumber(models.Model):
    """One number of a bulk job's snapshot: the ids that matched its filter when it was
    confirmed. Deleted with the job, or once it is done."""

    pk = models.CompositePrimaryKey("job", "number_id")
    # The primary key leads with the job: no index of its own. No constraint either: a
    # million ids are written at once, and a checked foreign key costs a trigger per row;
    # the rows go with their job (once it is done, or by the purge).
    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    # Not a foreign key: a number deleted meanwhile is skipped, not an error.
    number_id = models.BigIntegerField()

    class Meta:
        ordering = ["job_id", "number_id"]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.number_id}"
