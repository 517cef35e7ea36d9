"""Settings for the kalem numbers service.

One file, driven by the environment (see README "Configuration"). The defaults are safe
for production except where `DEBUG=1` is set explicitly.
"""

import base64
import datetime
import hashlib
import os
import sys
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from kalem_site.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# pytest-django reads these settings before any conftest runs, so the test run is
# recognised here rather than through an environment variable.
TESTING = "pytest" in sys.modules

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for a throwaway development key).")
    SECRET_KEY = "insecure-key-for-development-and-tests-only"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "kalem_site.accounts",
    "numbers_app",
    "agents_app",
    "webhooks_app",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "kalem_site.tasks",
]

MIDDLEWARE = [
    "kalem_site.middleware.RequestIdMiddleware",
    # /api/ leaves here for API_MIDDLEWARE (below): the rest serve the dashboard and admin.
    "kalem_site.api.middleware.ApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out sign-in (dashboard or admin) into the 429 page.
    "axes.middleware.AxesMiddleware",
]
# The API's lean stack (kalem_site.api.middleware): no session, CSRF, user, messages, static
# files or sign-in lockout, which do nothing there.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Counted before any work is done, then replays of Idempotency-Key retries.
    "kalem_site.api.ratelimit.RateLimitMiddleware",
    "kalem_site.api.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "kalem_site.urls"
WSGI_APPLICATION = "kalem_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: a SQLite file by default, PostgreSQL (or anything dj-database-url knows) via
# DATABASE_URL. SQLite is tuned so that several gunicorn workers can write at once: WAL lets
# readers and a writer work together, the busy timeout waits for the lock instead of failing,
# and IMMEDIATE transactions take the write lock up front so two writers never deadlock on a
# lock upgrade.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Bounded waits on PostgreSQL (kalem_site/postgresql): connecting gives up after
# DB_CONNECT_TIMEOUT seconds, a statement after DB_STATEMENT_TIMEOUT (the server cancels it,
# and the client stops waiting shortly after, should the server be frozen). Management
# commands (imports, syncs, migrations, and so the `worker` that runs the background tasks)
# get DB_STATEMENT_TIMEOUT_LONG.
DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", "3"))
DB_STATEMENT_TIMEOUT = float(os.environ.get("DB_STATEMENT_TIMEOUT", "5"))
DB_STATEMENT_TIMEOUT_LONG = float(os.environ.get("DB_STATEMENT_TIMEOUT_LONG", "600"))
MANAGEMENT_COMMAND = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] != ["runserver"]
# The API's hot queries (kalem_site.db.CompiledQuery) are bound on the server and prepared
# from their second run on each connection. Behind a PgBouncer in transaction pooling mode
# (before its max_prepared_statements), set DB_PREPARED_STATEMENTS=0: a prepared statement
# lives in one server connection, which the next transaction may not get.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "kalem_site.postgresql"
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": DB_CONNECT_TIMEOUT,
        "prepare_threshold": 2 if DB_PREPARED_STATEMENTS else None,
    }
    DATABASES["default"]["STATEMENT_TIMEOUT"] = (
        DB_STATEMENT_TIMEOUT_LONG if MANAGEMENT_COMMAND else DB_STATEMENT_TIMEOUT
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Cache: Redis when REDIS_URL is set (shared by every worker and host), otherwise local memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Short timeouts: a Redis that is down or frozen costs a request a fraction of a second (the
# rate limit then lets it through), never a hung worker.
REDIS_CONNECT_TIMEOUT = float(os.environ.get("REDIS_CONNECT_TIMEOUT", "0.5"))
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.5"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": REDIS_CONNECT_TIMEOUT, "socket_timeout": REDIS_SOCKET_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Requests per token (or per client address without one): "1000/hour", "60/minute", or "off".
# Counted in Redis when REDIS_URL is set, otherwise in a database table: never per process.
# The test suite turns it off unless asked (its own tests switch it on), so that query counts
# measure the endpoints themselves.
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "off" if TESTING else "1000/hour")
try:
    parse_rate(API_RATE_LIMIT)
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

if TESTING:
    # Hashing passwords slowly is a defence in production and only a cost in tests.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed sign-ins (the dashboard's /login/ and the admin's) are throttled by django-axes:
# after LOGIN_FAILURE_LIMIT failures for one username (from any address), or from one client
# address (for any usernames), within LOGIN_COOLOFF_MINUTES, sign-ins for it are answered 429
# until that many minutes have passed since the last failure, even with the right password.
# Failures are kept in the database (shared by every worker); each is logged, without the
# password, by kalem_site.accounts.throttle. The API's bearer tokens are not sign-ins.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, loading the user's account in the same query.
    "kalem_site.accounts.backends.AccountUserBackend",
]
try:
    LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
    LOGIN_COOLOFF_MINUTES = int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15"))
except ValueError:
    LOGIN_FAILURE_LIMIT = LOGIN_COOLOFF_MINUTES = 0
if LOGIN_FAILURE_LIMIT < 1 or LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be whole numbers of at least 1.")
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = datetime.timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kalem_site.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "kalem_site.accounts.throttle.client_address"
# Axes' own log lines repeat what kalem_site.accounts.throttle logs.
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# In development and tests, serve static files straight from static/ without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# Request bodies above this size are refused (413 in the API).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MAX_REQUEST_BYTES", str(1024 * 1024)))

# The largest CSV file the dashboard's import accepts, in bytes.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(64 * 1024 * 1024)))

# Background work (kalem_site/tasks): a task queue in the database, the same one the web
# processes write to, taken by `manage.py worker` processes (any number, on any hosts).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Seconds between two heartbeats of a worker; a worker not seen for TASKS_WORKER_LOST_SECONDS
# is dead (its tasks are taken up again); the job pages say "no worker is running" when none
# was seen for TASKS_NO_WORKER_SECONDS while their task waits.
TASKS_HEARTBEAT_SECONDS = float(os.environ.get("TASKS_HEARTBEAT_SECONDS", "5"))
TASKS_WORKER_LOST_SECONDS = float(os.environ.get("TASKS_WORKER_LOST_SECONDS", "30"))
TASKS_NO_WORKER_SECONDS = float(os.environ.get("TASKS_NO_WORKER_SECONDS", "60"))
# How often each worker checks whether a periodic task is due.
TASKS_SCHEDULE_SECONDS = float(os.environ.get("TASKS_SCHEDULE_SECONDS", "30"))
# How often the reapers look for work whose worker died.
TASKS_REAP_SECONDS = int(os.environ.get("TASKS_REAP_SECONDS", "30"))
# The periodic tasks: name → (period in seconds, task). Each runs once per period, whatever
# the number of workers (kalem_site.tasks.workers.enqueue_periodic).
PERIODIC_TASKS = {
    "purge-idempotency-records": (3600, "kalem_site.accounts.tasks.purge_idempotency_records"),
    "purge-rate-limit-counters": (3600, "kalem_site.accounts.tasks.purge_rate_limit_counters"),
    "purge-import-jobs": (3600, "numbers_app.tasks.purge_import_jobs"),
    "purge-task-results": (3600, "kalem_site.tasks.tasks.purge_task_results"),
    "purge-worker-records": (3600, "kalem_site.tasks.tasks.purge_worker_records"),
    "reap-lost-tasks": (TASKS_REAP_SECONDS, "kalem_site.tasks.tasks.reap_lost_tasks"),
    "reap-jobs": (TASKS_REAP_SECONDS, "numbers_app.tasks.reap_jobs"),
    # Webhook messages whose delivering worker died (their lease ran out), and the log's purge.
    "deliver-webhooks": (TASKS_REAP_SECONDS, "webhooks_app.tasks.deliver_webhooks"),
    "prune-webhook-deliveries": (3600, "webhooks_app.tasks.prune_webhook_deliveries"),
}

# The domain in a trunk's derived `sip_uri` (`sip:<host>@<SIP_DOMAIN>`).
SIP_DOMAIN = os.environ.get("SIP_DOMAIN", "kalem.me")

# How often a token's `last_used_at` is written: at most once per this many seconds, so a
# busy integration does not turn every read into a write.
TOKEN_LAST_USED_RESOLUTION_SECONDS = 60

# The Fernet key that encrypts the credentials accounts store for other services (their Twilio
# Account SID and auth token). Without it, storing and using credentials is refused with a
# message saying so. Development and tests derive one from SECRET_KEY so they work as they are.
CREDENTIALS_KEY = os.environ.get("CREDENTIALS_KEY", "")
if not CREDENTIALS_KEY and (DEBUG or TESTING):
    CREDENTIALS_KEY = base64.urlsafe_b64encode(hashlib.sha256(f"credentials:{SECRET_KEY}".encode()).digest()).decode()
if CREDENTIALS_KEY:
    try:
        Fernet(CREDENTIALS_KEY)
    except ValueError:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEY is not a Fernet key. Generate one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from None

# Where the Twilio client sends its requests; empty is Twilio itself (https://api.twilio.com).
# The tests point it at a local fake of Twilio's REST API.
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")
# Seconds the Twilio client waits to connect, and then for each answer.
TWILIO_TIMEOUT_SECONDS = 15

# Webhooks (shared/WEBHOOKS.md). WEBHOOK_ALLOW_INSECURE=1 also allows http:// and hosts on
# loopback, private and other non-public addresses: for local development and tests only.
WEBHOOK_ALLOW_INSECURE = env_bool("WEBHOOK_ALLOW_INSECURE", False)
# Seconds one delivery attempt may take in all (connecting, TLS, sending and reading the answer;
# the DNS lookup before it has the system resolver's own timeout).
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "15"))
# The delays before each attempt of a message, in seconds: at once, then 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h; then the message is failed.
try:
    WEBHOOK_RETRY_DELAYS = [
        int(delay) for delay in env_list("WEBHOOK_RETRY_DELAYS", "0,5,300,1800,7200,18000,36000,36000")
    ]
except ValueError:
    raise ImproperlyConfigured("WEBHOOK_RETRY_DELAYS is a comma-separated list of seconds, e.g. 0,1,1,2.") from None
if not WEBHOOK_RETRY_DELAYS or min(WEBHOOK_RETRY_DELAYS) < 0:
    raise ImproperlyConfigured("WEBHOOK_RETRY_DELAYS needs at least one delay, none negative.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["kalem_site.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["kalem_site.api.permissions.TokenPermission"],
    "DEFAULT_PARSER_CLASSES": ["kalem_site.api.parsers.JSONObjectParser"],
    "DEFAULT_RENDERER_CLASSES": ["kalem_site.api.renderers.ORJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "kalem_site.api.negotiation.AlwaysJSON",
    "DEFAULT_PAGINATION_CLASS": "kalem_site.api.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "kalem_site.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_VERSIONING_CLASS": None,
    "URL_FORMAT_OVERRIDE": None,
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_SCHEMA_CLASS": "kalem_site.api.schema.AutoSchema",
}

# The OpenAPI schema at /api/v1/schema and Swagger UI at /api/docs, served from our own
# static files (drf-spectacular-sidecar): no CDN is needed.
SPECTACULAR_SETTINGS = {
    "TITLE": "kalem numbers API",
    "DESCRIPTION": (
        "Phone numbers (DIDs), SIP trunks and voice/text agents of an account. Mirrors the kalem.me "
        'v1 API. Every error uses the envelope `{"error": {"code", "message", "fields"?}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "NumberStatus": "numbers_app.models.PhoneNumber.Status",
        "NumberProvider": "numbers_app.models.PhoneNumber.Provider",
        "TrunkDirection": "numbers_app.models.SipTrunk.Direction",
        "TrunkAuthType": "numbers_app.models.SipTrunk.AuthType",
        "BulkAction": "numbers_app.services.BULK_ACTIONS",
        "BulkJobState": "numbers_app.models.BulkJob.State",
        "WebhookDeliveryStatus": "webhooks_app.models.WebhookMessage.Status",
        "WebhookEventType": "webhooks_app.models.EVENT_TYPES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kalem_site.api.schema.finish_paths",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kalem_site.middleware.RequestIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # Request URLs to Twilio hold the Account SID: its client logs them at INFO, urllib3
        # (under requests) at DEBUG.
        "twilio.http_client": {"level": "WARNING"},
        "urllib3.connectionpool": {"level": "INFO"},
        # Every task started and finished (with the traceback of a failure) is logged.
        "django_tasks": {"level": "INFO"},
        # Webhook deliveries: httpx logs every request's URL at INFO (URLs may hold tokens).
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# HTTPS hardening, switched on by environment in production (see README).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
# Behind the proxy in front (SECURE_PROXY_SSL_HEADER=1): trust its X-Forwarded-Proto, and take
# a sign-in's client address from the X-Forwarded-For entry it appended (the last), not from
# REMOTE_ADDR (the proxy's own address).
BEHIND_PROXY = env_bool("SECURE_PROXY_SSL_HEADER", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
