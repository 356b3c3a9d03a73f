"""Settings of the dashboard: one file, read from the environment with django-environ.

With no environment at all it runs in development mode on SQLite against the sandbox. With
DEBUG=false it is production mode and refuses to start without real secrets.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

# Development defaults. Production mode (DEBUG=false) must not run with any of them.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
DEV_TOKEN_ENCRYPTION_KEY = "ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZCE="

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Fernet keys (urlsafe base64, 32 bytes) for the upstream tokens users store. The first key encrypts;
# all of them decrypt, so a key is rotated by putting a new one first and running `rotate_token_keys`.
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[DEV_TOKEN_ENCRYPTION_KEY])


def _check_fernet_keys(keys: list[str]) -> None:
    """Refuse to start on a key Fernet cannot use: otherwise the first stored token would be a 500.

    The message names the variable and the key's position, never the key itself.
    """
    from cryptography.fernet import Fernet

    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"TOKEN_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key "
                "(32 bytes, url-safe base64). Generate one with `make key`."
            ) from None


_check_fernet_keys(TOKEN_ENCRYPTION_KEYS)

if not DEBUG:
    missing = []
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        missing.append("SECRET_KEY (at least 32 random characters)")
    if not ALLOWED_HOSTS:
        missing.append("ALLOWED_HOSTS")
    if not TOKEN_ENCRYPTION_KEYS or DEV_TOKEN_ENCRYPTION_KEY in TOKEN_ENCRYPTION_KEYS:
        missing.append("TOKEN_ENCRYPTION_KEYS (generate one with `make key`)")
    if missing:
        raise ImproperlyConfigured("Production mode (DEBUG=false) needs: " + ", ".join(missing))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "dashboard.core",
    "dashboard.accounts",
    "dashboard.connections",
    "dashboard.orchestrator",
    "dashboard.notifications",
    "dashboard.nexustoken",
    "dashboard.tracking",
    "dashboard.home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dashboard.core.middleware.resolve_user",
    "dashboard.notifications.middleware.unread_count",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.core.middleware.sign_in_responses",
    "dashboard.core.deadlines.upstream_budget",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.core.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the poller share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_POOL", default=True
):
    # A pool per process (psycopg-pool): opening a PostgreSQL connection costs a few ms of CPU on both
    # sides, and under ASGI every request would otherwise open its own. Each web worker and each poller
    # holds up to DATABASE_POOL_MAX_SIZE connections: keep workers x that + pollers x that below the
    # server's max_connections. Connections go back to the pool at the end of each request (hence
    # CONN_MAX_AGE 0, which Django requires with a pool).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        # Seconds a request waits for a free connection before failing (a 500 beats hanging forever).
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Tokens are pasted into forms even in development: hide sensitive POST fields and locals from the
# error page whatever DEBUG says (Django's own filter only does so with DEBUG off).
DEFAULT_EXCEPTION_REPORTER_FILTER = "dashboard.core.debug.AlwaysSafeExceptionReporterFilter"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home:home"
LOGOUT_REDIRECT_URL = "login"
# Open sign-up is off unless an operator turns it on.
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where `collectstatic` puts the files production mode serves (hashed names, compressed copies).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Fixed here rather than left to follow DEBUG, which the test runner turns off after settings load:
# in development static files come straight from the source folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "dashboard.core.static.ModuleManifestStorage"
    },
}

# Password-reset mail goes to the console in development and through SMTP in production.
MAILERS = {
    "default": {
        "BACKEND": env.str(
            "EMAIL_BACKEND",
            default="django.core.mail.backends.console.EmailBackend"
            if DEBUG
            else "django.core.mail.backends.smtp.EmailBackend",
        ),
    }
}
if not DEBUG and MAILERS["default"]["BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=587),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": env.str("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=True),
        "timeout": 10,
    }
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Nexus Dashboard <noreply@localhost>")

# Upstream APIs. The defaults point at the sandbox that `make run` starts.
NEXICAL_API_URL = env.str("NEXICAL_API_URL", default="http://127.0.0.1:8001/nexical")
NEXUSTOKEN_API_URL = env.str("NEXUSTOKEN_API_URL", default="http://127.0.0.1:8001/nexustoken")
# Where browsers and upstreams reach this dashboard: links in emails, NexusToken's webhook callbacks.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000")
# The upstream's "simulated in dev" top-up (credits without payment): offered only with DEBUG, unless set.
NEXUSTOKEN_DEV_TOPUP = env.bool("NEXUSTOKEN_DEV_TOPUP", default=DEBUG)
# Seconds: connecting, and waiting for a whole answer.
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=3.0)
UPSTREAM_TIMEOUT = env.float("UPSTREAM_TIMEOUT", default=10.0)
# GETs are retried on network errors and 5xx this many times, with jittered backoff.
UPSTREAM_GET_RETRIES = env.int("UPSTREAM_GET_RETRIES", default=2)
# Seconds before the first of those retries (jittered); each further one waits twice as long.
UPSTREAM_RETRY_BACKOFF = env.float("UPSTREAM_RETRY_BACKOFF", default=0.2)
# The longest Retry-After we wait out inside one request before giving the 429 to the user.
UPSTREAM_MAX_RETRY_AFTER = env.float("UPSTREAM_MAX_RETRY_AFTER", default=2.0)
# Seconds a web request may wait on one upstream in all, retries included: past it the page says
# the upstream is unreachable rather than keep the user waiting (dashboard.services.budget).
UPSTREAM_PAGE_BUDGET = env.float("UPSTREAM_PAGE_BUDGET", default=8.0)
# The circuit breaker (dashboard.services.breaker): this many attempts in a row without an answer,
# within this many seconds, and the upstream is treated as down for the cool-down (calls fail at once,
# then one trial call decides).
UPSTREAM_BREAKER_FAILURES = env.int("UPSTREAM_BREAKER_FAILURES", default=3)
UPSTREAM_BREAKER_WINDOW = env.float("UPSTREAM_BREAKER_WINDOW", default=30.0)
UPSTREAM_BREAKER_COOLDOWN = env.float("UPSTREAM_BREAKER_COOLDOWN", default=20.0)

# The poller (manage.py runpoller): a claimed job or task stays leased this many seconds; a poller
# that dies holds its work no longer than that. Longer than a slow pass, and renewed during one, so a
# live poller never loses its own.
POLLER_LEASE_SECONDS = env.float("POLLER_LEASE_SECONDS", default=60.0)
# Due jobs (and due tasks) one poller claims per pass (their branches' other jobs come along); the
# rest wait for the next pass, or for another poller.
POLLER_CLAIM_BATCH = env.int("POLLER_CLAIM_BATCH", default=200)
# Live pages say "Live updates paused: the tracker has not run since 12:04" once the newest poller
# pass is older than this: many passes (at most 1 s apart) and a slow one, not a single late pass.
POLLER_STALE_SECONDS = env.float("POLLER_STALE_SECONDS", default=30.0)
# Seconds between the task poller's calls with one NexusToken key: the upstream allows 10 requests/s
# per key, and the pages of the same user share the key, so the poller leaves them room.
TASK_POLL_SPACING = env.float("TASK_POLL_SPACING", default=0.2)
# Seconds a team's member list, as Nexical last gave it, decides who may see the team's tracked jobs
# before it is read again: a member removed upstream loses the live pages within this time.
TEAM_ROSTER_SECONDS = env.float("TEAM_ROSTER_SECONDS", default=60.0)
# Seconds one upstream call of the pollers may take in all, retries included: a hung upstream or
# token delays a pass by about this much, never a minute.
POLLER_CALL_BUDGET = env.float("POLLER_CALL_BUDGET", default=6.0)

# The bearer token Prometheus sends to read /metrics; without it there is no /metrics page (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Django 6's built-in Content Security Policy: everything is served by the app itself.
SECURE_CSP = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:", "https:"],
    "style-src": ["'self'"],
    "script-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # A load balancer probes the app over plain HTTP, without X-Forwarded-Proto: a 301 would read as
    # "unhealthy" to most of them. The health check says nothing secret.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Request paths may hold a webhook receiver's secret token: masked before any handler sees them.
    "filters": {"hide_webhook_tokens": {"()": "dashboard.nexustoken.logfilters.HideWebhookTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # httpx logs every request URL at INFO; keep it quiet so nothing upstream-specific leaks by default.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The loggers that write request paths. Naming a logger here replaces the handlers it had
        # (uvicorn's, or Django's for runserver), so those two get ours and still do not propagate.
        "uvicorn.access": {"handlers": ["console"], "filters": ["hide_webhook_tokens"], "propagate": False},
        "django.request": {"filters": ["hide_webhook_tokens"]},
        "django.server": {"handlers": ["console"], "filters": ["hide_webhook_tokens"], "propagate": False},
    },
}
