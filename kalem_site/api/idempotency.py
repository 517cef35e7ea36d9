"""`Idempotency-Key` on API POSTs, as Stripe does it.

The first request with a key claims it (a row insert, unique per account and key) and its
response is stored. A retry with the same key and the same request gets that response again
(with `Idempotent-Replayed: true`) and changes nothing; the same key with a different request
is a 422; a retry while the first is still running is a 409. Records live 24 hours. Keys are
per account: another account's identical key is a different key.
"""

import hashlib
import random
import re
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from kalem_site.accounts.models import IdempotencyRecord

from .authentication import MalformedHeader, token_from_header
from .errors import error_body
from .patterns import IDEMPOTENCY_KEY_REGEX

HEADER = "HTTP_IDEMPOTENCY_KEY"
RETENTION = timedelta(hours=24)
# A first request that has not finished after this long is taken to have died with its
# worker; a retry may then run again rather than get 409 for a day.
ABANDONED_AFTER = timedelta(minutes=5)
_VALID_KEY = re.compile(IDEMPOTENCY_KEY_REGEX)
# One claim in a hundred also purges every expired record, so they never pile up.
PURGE_CHANCE = 0.01


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
        response = self.get_response(request)
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
        expired = IdempotencyRecord.objects.filter(created_at__lt=now - RETENTION)
        if random.random() < PURGE_CHANCE:
            expired.delete()  # now and then, every account's expired records
        else:
            expired.filter(account=account, key=key).delete()
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
            if existing.created_at >= now - ABANDONED_AFTER:
                return None, JsonResponse(
                    error_body(409, "A request with this Idempotency-Key is still running."), status=409
                )
            existing.created_at = now  # the first attempt died; this retry takes over
            existing.save(update_fields=["created_at"])
            return existing, None
        return None, _replay(existing)
