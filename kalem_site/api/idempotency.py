"""`Idempotency-Key` on API POSTs, as Stripe does it.

The first request with a key claims it (a row insert, unique per account and key) and its
response is stored. A retry with the same key and the same request gets that response again
(with `Idempotent-Replayed: true`) and changes nothing; the same key with a different request
is a 422; a retry while the first is still running is a 409. Records live 24 hours (then a
periodic task purges them). Keys are
per account: another account's identical key is a different key.

The first request holds its key by a lease (`locked_until`) that its process renews every
few seconds while it runs: a request that died with its worker (killed, out of memory)
stops renewing, and a retry may take the key over once the lease has run out.
"""

import hashlib
import logging
import os
import re
import threading
import time
from collections import Counter

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, connections, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from kalem_site.accounts.models import IDEMPOTENCY_LEASE, IDEMPOTENCY_RETENTION, IdempotencyRecord

from .authentication import MalformedHeader, token_from_header
from .errors import error_body
from .patterns import IDEMPOTENCY_KEY_REGEX

HEADER = "HTTP_IDEMPOTENCY_KEY"
RETENTION = IDEMPOTENCY_RETENTION
# How often a process renews the leases of the first requests it is running: well inside
# IDEMPOTENCY_LEASE, so a slow request that is alive never loses its key.
RENEW_EVERY_SECONDS = IDEMPOTENCY_LEASE.total_seconds() / 4

logger = logging.getLogger("kalem_site.api")
_VALID_KEY = re.compile(IDEMPOTENCY_KEY_REGEX)


def _fingerprint(request, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.rstrip("/").encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.status_code, content_type="application/json")
    if record.location:
        response["Location"] = record.location
    response["Idempotent-Replayed"] = "true"
    return response


class _LeaseRenewer:
    """One daemon thread per process that renews the leases of the records held by the
    requests it is running. Started on first use (after gunicorn forked the worker)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: Counter[int] = Counter()
        self._pid = None

    def hold(self, record_id: int) -> None:
        with self._lock:
            self._held[record_id] += 1
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="idempotency-lease", daemon=True).start()

    def release(self, record_id: int) -> None:
        with self._lock:
            self._held[record_id] -= 1
            if self._held[record_id] <= 0:
                del self._held[record_id]

    def renew(self) -> int:
        """Push the lease of every held record forward; returns how many were renewed."""
        with self._lock:
            held = list(self._held)
        if not held:
            return 0
        return IdempotencyRecord.objects.filter(pk__in=held, status_code__isnull=True).update(
            locked_until=timezone.now() + IDEMPOTENCY_LEASE
        )

    def _run(self) -> None:
        while True:
            time.sleep(RENEW_EVERY_SECONDS)
            try:
                if self.renew():
                    connections.close_all()  # this thread keeps no connection between renewals
            except Exception as error:  # the database is down: the requests themselves will fail
                connections.close_all()
                logger.warning("Could not renew Idempotency-Key leases: %s", error)


lease_renewer = _LeaseRenewer()


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            token = token_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        except MalformedHeader:
            token = None
        if token is None or token.read_only:
            return self.get_response(request)  # the view answers 401 or 403 and stores nothing
        if not _VALID_KEY.fullmatch(key):
            fields = {"Idempotency-Key": ["Use 1 to 255 visible ASCII characters, e.g. a UUID."]}
            return JsonResponse(error_body(422, fields=fields), status=422)
        try:
            body = request.body
        except RequestDataTooBig:
            return JsonResponse(error_body(413), status=413)
        record, conflict = self._claim(token.account, key, _fingerprint(request, body))
        if conflict is not None:
            return conflict
        lease_renewer.hold(record.pk)
        try:
            response = self.get_response(request)
        finally:
            lease_renewer.release(record.pk)
        if response.status_code >= 500 or response.status_code == 429:
            record.delete()  # not an answer worth replaying: let the retry run
        else:
            record.status_code = response.status_code
            # A response that shows a secret once (a webhook's create) offers a copy without it
            # to store: the secret is never kept in plain text, not even for a replay.
            record.response_body = getattr(response, "replay_content", response.content)
            record.location = response.get("Location", "")
            record.save(update_fields=["status_code", "response_body", "location"])
        return response

    @staticmethod
    def _claim(account, key: str, fingerprint: str) -> tuple[IdempotencyRecord | None, HttpResponse | None]:
        now = timezone.now()
        # This key's expired record, so the key can be used again; the others are purged by
        # a periodic task (kalem_site.accounts.tasks).
        IdempotencyRecord.objects.filter(account=account, key=key, created_at__lt=now - RETENTION).delete()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(account=account, key=key, fingerprint=fingerprint), None
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(account=account, key=key).first()
        if existing is None:  # expired and purged by a concurrent request: try once more
            with transaction.atomic():
                return IdempotencyRecord.objects.create(account=account, key=key, fingerprint=fingerprint), None
        if existing.fingerprint != fingerprint:
            message = "This Idempotency-Key was already used with a different request."
            return None, JsonResponse(error_body(422, message, {"Idempotency-Key": [message]}), status=422)
        if existing.status_code is None:
            # The first attempt's lease ran out (it died with its worker): this retry takes the
            # key over, unless a concurrent retry just did.
            taken_over = IdempotencyRecord.objects.filter(
                pk=existing.pk, status_code__isnull=True, locked_until__lte=now
            ).update(created_at=now, locked_until=now + IDEMPOTENCY_LEASE)
            if not taken_over:
                return None, JsonResponse(
                    error_body(409, "A request with this Idempotency-Key is still running."), status=409
                )
            return existing, None
        return None, _replay(existing)
