"""Rate limits of the API: per token, counted where every gunicorn worker and every app host
sees the same number: in Redis when REDIS_URL is set, otherwise in a database table.

Fixed windows aligned to the clock: with `1000/hour`, each token may make 1000 requests
between 10:00:00 and 10:59:59, and so on. The counter is one atomic increment per request.
Requests without a (well-formed) token are counted per client address.
"""

import logging
import threading
import time

import redis
from django.conf import settings
from django.db import connections, router
from django.http import JsonResponse

from kalem_site.accounts.models import RateLimitCounter, hash_token
from kalem_site.rates import parse_rate

from .authentication import MalformedHeader, bearer_token
from .errors import error_body

logger = logging.getLogger("kalem_site.api")

# While the counter store is down, one warning per this many seconds (with the number of
# requests let through since the last one), not one per request.
OUTAGE_LOG_INTERVAL_SECONDS = 60


class _OutageLog:
    """Logs that the counter store is unavailable at most once per interval, for the whole
    process (all its threads)."""

    def __init__(self, interval: float):
        self.interval = interval
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._missed = 0

    def failed(self, error: Exception) -> None:
        with self._lock:
            self._missed += 1
            now = time.monotonic()
            if now - self._last < self.interval:
                return
            self._last, missed, self._missed = now, self._missed, 0
        logger.warning(
            "Rate limit counter unavailable (%s: %s); %d request(s) not counted since the last warning.",
            type(error).__name__,
            error,
            missed,
        )


outage_log = _OutageLog(OUTAGE_LOG_INTERVAL_SECONDS)

_redis_client: redis.Redis | None = None
_redis_lock = threading.Lock()


def redis_client() -> redis.Redis:
    """One client per process (a thread-safe connection pool), with the settings' short
    timeouts, so a down or frozen Redis costs a request at most about a second."""
    global _redis_client
    if _redis_client is None:
        with _redis_lock:
            if _redis_client is None:
                _redis_client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
                    socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                )
    return _redis_client


def client_identity(request) -> str:
    """The bearer token (as its digest: the cache never sees a plaintext token), or the
    client's address when there is none, or no well-formed one. However the header is spelt
    (`bearer`, extra spaces), one token is one budget."""
    try:
        plaintext = bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
    except MalformedHeader:
        plaintext = None
    if plaintext:
        return "t:" + hash_token(plaintext)
    return "a:" + request.META.get("REMOTE_ADDR", "")


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rate = parse_rate(settings.API_RATE_LIMIT)
        if rate is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        now = time.time()
        window_start = int(now // rate.period * rate.period)
        reset_at = window_start + rate.period
        count = self._count(client_identity(request), window_start, rate.period)
        if count is not None and count > rate.limit:
            retry_after = max(1, int(reset_at - now + 0.999))
            response = JsonResponse(error_body(429, f"Rate limit of {rate.limit} requests exceeded."), status=429)
            response["Retry-After"] = str(retry_after)
        else:
            response = self.get_response(request)
        response["X-RateLimit-Limit"] = str(rate.limit)
        response["X-RateLimit-Remaining"] = str(max(0, rate.limit - (count or 0)))
        response["X-RateLimit-Reset"] = str(reset_at)
        return response

    @staticmethod
    def _count(identity: str, window_start: int, period: int) -> int | None:
        """This request's number in the window, or None if the counter store is down (then
        the request is served: an outage of the cache must not take the API down with it)."""
        try:
            if settings.REDIS_URL:
                return _count_in_cache(f"ratelimit:{identity}:{window_start}", period)
            return _count_in_database(identity, window_start)
        except Exception as error:
            outage_log.failed(error)
            return None


def _count_in_cache(key: str, period: int) -> int:
    """Redis: INCR is atomic, and the key expires with its window. One round trip: the
    increment and the expiry (set only by the first request of the window) go together."""
    count, _ = redis_client().pipeline(transaction=False).incr(key).expire(key, period + 1, nx=True).execute()
    return count


def _count_in_database(identity: str, window_start: int) -> int:
    """One atomic upsert (SQLite and PostgreSQL both have ON CONFLICT … RETURNING). Django's
    DatabaseCache cannot do this: its incr is a read then a write, which loses counts when
    workers race."""
    connection = connections[router.db_for_write(RateLimitCounter)]
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (identity, window_start, count) VALUES (%s, %s, 1)
                ON CONFLICT (identity) DO UPDATE SET
                    count = CASE WHEN {table}.window_start = excluded.window_start
                                 THEN {table}.count + 1 ELSE 1 END,
                    window_start = excluded.window_start
                RETURNING count""",
            [identity, window_start],
        )
        # Counters of ended windows are purged by a periodic task (kalem_site.accounts.tasks).
        return cursor.fetchone()[0]
