"""Commonpurse settings: one module, configured entirely from the environment.

Every variable is documented in ``.env.example`` and the README. Malformed values
raise ``ImproperlyConfigured`` at start-up (see ``pb_platform/env.py``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from pb_platform.env import (
    env_bool,
    env_database,
    env_file_load,
    env_int,
    env_list,
    env_optional_database,
    env_rate,
    env_redis_url,
    env_str,
    env_time_zone,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# The development settings `make run` writes (git-ignored), read before anything else so
# every manage.py command, Celery and the web server agree. Variables already in the
# environment win. ENV_FILE names another file (relative to the project); ENV_FILE set
# but empty reads none: the test suite and the production units in deploy/ do that.
ENV_FILE = os.environ.get("ENV_FILE", ".env")
if ENV_FILE:
    env_file_load(BASE_DIR / ENV_FILE)

VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------------------

# Off unless asked for: a forgotten variable must never expose debug pages publicly.
DEBUG = env_bool("DEBUG", False)

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-only-key-do-not-deploy")
else:
    try:
        SECRET_KEY = env_str("SECRET_KEY")
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is false (generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        ) from None
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for production: use at least 50 random characters."
        )

if DEBUG:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
else:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must be set when DEBUG is false (e.g. pb.example-council.gov.uk)."
        )
# The key of the keyed hashes (HMAC-SHA256) the resident register is kept as: without it
# a leaked database cannot be matched against a list of reference numbers. Changing it
# makes every stored entry unmatchable (re-import the register after a change).
if DEBUG:
    REGISTER_HMAC_KEY = env_str("REGISTER_HMAC_KEY", "development-only-register-key-do-not-deploy")
else:
    try:
        REGISTER_HMAC_KEY = env_str("REGISTER_HMAC_KEY")
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "REGISTER_HMAC_KEY must be set when DEBUG is false (generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        ) from None
    if len(REGISTER_HMAC_KEY) < 32 or REGISTER_HMAC_KEY.startswith("development-only-"):
        raise ImproperlyConfigured(
            "REGISTER_HMAC_KEY is too weak for production: use at least 32 random characters."
        )

# Days the resident register is kept after the last round's voting closed; then
# `manage.py register_purge` deletes it (a council re-imports it before the next round).
REGISTER_RETENTION_DAYS = env_int("REGISTER_RETENTION_DAYS", 90, minimum=0)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The public address, for links in emails sent by background jobs (no request there).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://, not {SITE_URL!r}.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # The public API (pb_platform/api.py); listed for Swagger UI's own static files.
    "ninja",
    "pb_platform",
    # Dependencies point one way: proposals <- voting <- ledgers.
    "proposals",
    "voting",
    "ledgers",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id (pb_platform/logs.py).
    "pb_platform.logs.RequestIdMiddleware",
    # The API's ETag, conditional GET, CORS and caching (pb_platform/api.py), around
    # everything else so that it sees each answer as sent.
    "pb_platform.api.ApiHttpMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy (pb_platform/headers.py).
    "pb_platform.headers.SecurityHeadersMiddleware",
    # 413 from Content-Length before the body is read (pb_platform/request_size.py).
    "pb_platform.request_size.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: private, no-store for signed-in people; needs request.user.
    "pb_platform.headers.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

# The public API (pb_platform/api.py): requests per client address (django-ninja's
# "N/s", "N/min", "N/h" or "N/d"; over it: 429 with Retry-After), and how long its
# answers may be cached.
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "120/min")
API_MAX_AGE_SECONDS = 60
# The licence the site's open data (the API, the downloads) is published under.
OPEN_DATA_LICENCE = env_str(
    "OPEN_DATA_LICENCE",
    "Open Government Licence v3.0 "
    "(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/)",
)

# Largest request body accepted, from its Content-Length, before anything is read
# (pb_platform/request_size.py). A 5 MB photo plus the rest of the form fits.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 6 * 1024 * 1024, minimum=1024 * 1024)

ROOT_URLCONF = "pb_platform.urls"
WSGI_APPLICATION = "pb_platform.wsgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------

DATABASES = {
    "default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so a Celery worker started by a test can see the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # make run's web server, worker and beat write to one file. A transaction that read
    # first and then writes cannot wait for another writer (SQLite answers "database is
    # locked" at once, to avoid a deadlock); taking the write lock at BEGIN makes every
    # writer queue for up to `timeout` seconds instead.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# An optional read replica of the primary: anonymous visitors' page views read from it,
# everything else (signed-in people, form posts, Celery, commands, migrations) uses the
# primary. Who reads where, and why replica lag never shows a visitor a page older than
# what they just did: pb_platform/db_router.py.
_replica = env_optional_database("DATABASE_REPLICA_URL")
# Seconds after a browser sends a form during which its pages read the primary; keep it
# above the replica's normal lag.
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10, minimum=1)
if _replica is not None:
    if _replica["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must use the same database engine as DATABASE_URL "
            f"({DATABASES['default']['ENGINE']}), not {_replica['ENGINE']}."
        )
    _replica["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    _replica["ATOMIC_REQUESTS"] = False
    # Tests run on the primary's test database alone: the replica is the same database
    # there (Django creates no second test database for a mirror).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["pb_platform.db_router.ReplicaRouter"]
    # Before anything reads the database; after the request id, which reads nothing.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("pb_platform.logs.RequestIdMiddleware") + 1,
        "pb_platform.db_router.ReplicaReadsMiddleware",
    )

# --- Cache and Celery -------------------------------------------------------------------

REDIS_URL = env_redis_url("REDIS_URL")

# The cache holds sign-in rate limits, so it must be shared by every process: Redis when
# configured (falling back to the database cache while Redis is unreachable, rather
# than failing every sign-in with a 500), otherwise the database cache. Both are
# described in pb_platform/cache.py.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "pb_platform.cache.RedisWithDatabaseFallback",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "commonpurse",
            # A Redis that does not answer must not hold a sign-in for long.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "pb_cache",
            "KEY_PREFIX": "commonpurse",
        }
    }
    # kombu's filesystem transport needs no server. Both folders must be the same
    # existing directory, or the worker reads from where nobody writes and tasks
    # silently never run.
    CELERY_BROKER_DIR = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "celery-broker")))
    (CELERY_BROKER_DIR / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        # Broadcast messages (worker control) go beside the queues, not into the cwd.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        # How often the worker looks for new messages: a listdir, cheap; the default
        # second made a backlog drain at one message per worker process per second.
        "polling_interval": 0.1,
    }

# The queue beat sends to and the worker consumes. Give a unique name to keep workers
# sharing one Redis apart (the real-worker test does, so a developer's `make run`
# worker never takes its tasks, nor it theirs).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "commonpurse")

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# How often the phase clock ticks. Phases are always derived from the clock when a
# page is shown; this only bounds how late the stored state and phase-end work run.
PHASE_TICK_SECONDS = env_int("PHASE_TICK_SECONDS", 30, minimum=1)

# Every periodic job lives here, one entry each, so the schedule can be read at a glance.
CELERY_BEAT_SCHEDULE = {
    # pb_platform: proof for /readyz that beat schedules and a worker runs, each tick.
    "pb-platform-beat-heartbeat": {
        "task": "pb_platform.tasks.beat_heartbeat",
        "schedule": float(PHASE_TICK_SECONDS),
    },
    # proposals: move each round's stored state to the phase the clock says it is in.
    "proposals-advance-round-phases": {
        "task": "proposals.tasks.advance_round_phases",
        "schedule": float(PHASE_TICK_SECONDS),
    },
    # voting: close, count and publish every area whose voting phase the clock has ended.
    "voting-close-count-publish": {
        "task": "voting.tasks.close_count_publish",
        "schedule": float(PHASE_TICK_SECONDS),
    },
    # voting: explain each published result (why each proposal won or lost), once.
    "voting-explain-published-results": {
        "task": "voting.tasks.explain_published_results",
        "schedule": float(PHASE_TICK_SECONDS),
    },
    # voting: email the voters who asked that their area's result is published.
    "voting-notify-published-results": {
        "task": "voting.tasks.notify_published_results",
        "schedule": float(PHASE_TICK_SECONDS),
    },
    # ledgers: allocate each winning proposal of a published result its official cost.
    "ledgers-allocate-published-results": {
        "task": "ledgers.tasks.allocate_published_results",
        "schedule": float(PHASE_TICK_SECONDS),
    },
    # pb_platform: the outbox sweep. Sends every email the on-commit fast path did not:
    # broker down, a failed send whose back-off has passed, a sender that died holding a
    # lease that has since expired. The shortest back-off is a minute, hence the period.
    "pb-platform-sweep-outbox": {
        "task": "pb_platform.tasks.sweep_outbox",
        "schedule": 60.0,
    },
    # proposals: a resident moved to another area while they could vote moves when that
    # voting has closed (until then the move is pending, so nobody votes in two areas).
    "proposals-apply-due-area-moves": {
        "task": "proposals.tasks.apply_due_area_moves",
        "schedule": float(PHASE_TICK_SECONDS),
    },
}

# --- Accounts ---------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SIGNUP_FORM_CLASS = "proposals.forms.ResidentSignupForm"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Commonpurse] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# allauth's emails (verification, reset, sign-in codes, security notices) go through
# our outbox, so a mail server that is down never fails the page (pb_platform/account_emails.py);
# addresses that could not be written to (control characters, a domain that does not
# convert to ASCII) are refused before anything is stored or sent (pb_platform/accounts.py).
ACCOUNT_ADAPTER = "pb_platform.account_emails.AccountAdapter"
# Sign in with a code sent by email: how the owner of an account gets in while someone
# else is hammering their password (the password limit below is per account and address).
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# A reset asked for an address nobody has sends nothing (no mail to strangers' inboxes).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Rate limits, in allauth's syntax (amount/period/per; merged over allauth's defaults,
# e.g. 20 sign-ups and 20 resets a minute per address). Wrong passwords: 10 a minute from
# one address, and 5 in 5 minutes for one account from one address: the "key" is the
# account AND the client's address together (AccountAdapter._get_login_attempts_cache_key),
# so a stranger's wrong passwords lock out only the stranger, never the account's owner.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
}

# Two-factor sign-in (TOTP apps, with recovery codes) for anyone who turns it on; when
# MFA_REQUIRED_FOR_STAFF is true, officers' and auditors' pages send those without it
# to set it up first (pb_platform/access.py).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Commonpurse"
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", False)

# --- Email ------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Commonpurse <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# Seconds each SMTP operation may take. An outbox claim (lease) lasts four times this, so
# a slow send is not taken over by a second sender.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
if DEBUG and not env_str("EMAIL_HOST", ""):
    # In development, emails (including verification links) are printed to the console.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

# --- Internationalisation ---------------------------------------------------------------

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en-gb")
# Each language's name is written in that language, as the switcher shows it. Adding one:
# README, "Adding a language".
LANGUAGES = [("en-gb", "English"), ("pl", "Polski")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers as each language writes them (pb_platform/formats/<locale>/formats.py,
# then Django's own for a language we have none for).
FORMAT_MODULE_PATH = ["pb_platform.formats"]
# The language is chosen by a cookie, not by a prefix in every address: a link in an
# email, on a poster or a paper ballot's QR code, and every API address stay the same in
# every language, and open in the reader's own (their choice, else their browser's).
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_time_zone("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# --- Money ------------------------------------------------------------------------------

# One place for money precision: 14 digits with 2 decimals holds up to 999,999,999,999.99.
MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 2

# --- Static and media -------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Where uploads (proposal images) are kept: "filesystem" (MEDIA_ROOT, served by the app
# itself under MEDIA_URL, pb_platform/media.py) or "s3" (a bucket of any S3-compatible
# object store, through django-storages; its own addresses, signed per page view).
# Origins other than the site's that images are shown from (the CSP's img-src).
UPLOAD_ORIGINS: list[str] = []
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "filesystem").strip().lower()
if MEDIA_STORAGE not in {"filesystem", "s3"}:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {MEDIA_STORAGE!r}.")
if MEDIA_STORAGE == "s3":
    try:
        AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "AWS_STORAGE_BUCKET_NAME must be set when MEDIA_STORAGE is s3."
        ) from None
    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            "MEDIA_STORAGE=s3 needs django-storages: pip install -e '.[s3]'."
        )
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", "")
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL", "").rstrip("/")
    if AWS_S3_ENDPOINT_URL:
        # Another provider than Amazon (MinIO, Scaleway, OVH...): boto3 addresses the
        # bucket as a path under the endpoint.
        endpoint = urlsplit(AWS_S3_ENDPOINT_URL)
        if endpoint.scheme not in {"http", "https"} or not endpoint.netloc:
            raise ImproperlyConfigured(
                f"AWS_S3_ENDPOINT_URL must be an http(s):// URL, not {AWS_S3_ENDPOINT_URL!r}."
            )
        UPLOAD_ORIGINS = [f"{endpoint.scheme}://{endpoint.netloc}"]
    else:
        # Amazon: the bucket's own host name, global or regional.
        UPLOAD_ORIGINS = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]
        if AWS_S3_REGION_NAME:
            UPLOAD_ORIGINS.append(
                f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{AWS_S3_REGION_NAME}.amazonaws.com"
            )
    # Credentials are not settings: boto3 reads AWS_ACCESS_KEY_ID and
    # AWS_SECRET_ACCESS_KEY from the environment (or the machine's role) itself.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            # Unset: boto3's own default (AWS_DEFAULT_REGION, or the provider's).
            "region_name": AWS_S3_REGION_NAME or None,
            "endpoint_url": AWS_S3_ENDPOINT_URL or None,
            # The backend overwrites by default: two residents' "photo.jpg" uploaded in
            # one month would become one picture. Django's suffix keeps both.
            "file_overwrite": False,
            # Objects stay private (the bucket's own policy; no ACL sent, which buckets
            # with ACLs disabled refuse) and each image address on a page is signed for
            # an hour: a draft's image is seen only where its author's pages show it,
            # as /media/ does for files on disk.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 3600,
        },
    }

# --- Security ---------------------------------------------------------------------------

SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (pb_platform/headers.py). No inline script or style anywhere:
# behaviour lives in static/js, looks in static/css, so an injected <script> or
# style="" does nothing. data: images are for browsers' own form-control icons; uploads
# in an object store come from its origin (UPLOAD_ORIGINS).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", *UPLOAD_ORIGINS],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}
# The Django admin (a tool for superusers only) has its scripts in files too, but
# admin/change_list.html writes a <style> element when a list has no actions, so
# styles there may be inline. Scripts stay 'self' only.
CONTENT_SECURITY_POLICY_ADMIN_PREFIX = "/admin/"
CONTENT_SECURITY_POLICY_ADMIN = {
    **CONTENT_SECURITY_POLICY,
    "style-src": ["'self'", "'unsafe-inline'"],
}
# Browser features no page uses, switched off for the site and anything it embeds
# (Permissions-Policy: camera=(), ...).
PERMISSIONS_POLICY_DENIED = [
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
]
if env_bool("BEHIND_HTTPS_PROXY", False):
    # Trust the proxy's header only when told a TLS-terminating proxy sits in front.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Whose address the sign-in limits count (allauth reads these two). Unset, it is
# REMOTE_ADDR: behind a proxy that is the proxy's, and every visitor would share its
# limits. With N trusted proxies in front (deploy/nginx: 1), the address N hops from
# the right of X-Forwarded-For is the client's; or a header a trusted edge sets alone.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env_str("TRUSTED_CLIENT_IP_HEADER", "") or None

# --- Logging ----------------------------------------------------------------------------

# "text" for people, "json" for log collectors: one JSON object per line, each with the
# request's id (pb_platform/logs.py), and one line per request.
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "pb_platform.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "pb_platform.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# Celery's workers keep the same handlers, so their lines are JSON too when asked.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "text"
