"""Settings of the dashboard: one file, read from the environment with django-environ.

With no environment at all it runs in development mode on SQLite against the sandbox. With
DEBUG=false it is production mode and refuses to start without real secrets.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

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
    # Two-factor: TOTP apps, single-use recovery codes, passkeys (dashboard.security).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "dashboard.core",
    "dashboard.accounts",
    "dashboard.audit",
    "dashboard.connections",
    "dashboard.orchestrator",
    "dashboard.notifications",
    "dashboard.nexustoken",
    "dashboard.tracking",
    "dashboard.channels",
    "dashboard.security",
    "dashboard.home",
    # Sign-in throttling; the audit log records its lockouts whichever receiver runs first (audit/signals.py).
    "axes",
]

# Django's deploy checks for its security, clickjacking and CSRF middleware look for its own dotted paths;
# MIDDLEWARE names subclasses of them, which dashboard/core/django_middleware.py checks instead.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

# Django's own middleware, each as a subclass that runs its hooks on the event loop rather than handing
# every one to a thread (dashboard/core/django_middleware.py says why and which still may).
MIDDLEWARE = [
    "dashboard.core.django_middleware.SecurityMiddleware",
    # First to see the finished answer: compresses pages, never streams (dashboard/core/compression.py).
    "dashboard.core.compression.CompressPages",
    "dashboard.core.django_middleware.ContentSecurityPolicyMiddleware",
    "dashboard.core.django_middleware.SessionMiddleware",
    "dashboard.core.django_middleware.CommonMiddleware",
    "dashboard.core.django_middleware.CsrfViewMiddleware",
    "dashboard.core.django_middleware.AuthenticationMiddleware",
    # request.user.is_verified(): which two-factor device, if any, verified this session.
    "django_otp.middleware.OTPMiddleware",
    "dashboard.core.middleware.resolve_user",
    # A half-signed-in session (password done, code not yet) reaches only the second step; sessions
    # are listed in Settings > Security. After resolve_user (the user is loaded), before the bell.
    "dashboard.security.middleware.second_factor",
    "dashboard.notifications.middleware.unread_count",
    "dashboard.core.django_middleware.MessageMiddleware",
    "dashboard.core.django_middleware.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.core.middleware.sign_in_responses",
    "dashboard.core.deadlines.upstream_budget",
    # Last, as django-axes asks: it turns a sign-in that locked an account out into our 429 page.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks the lockout before any password is compared; it must come first.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the signed-in user with one fixed statement.
    "dashboard.core.backends.UserBackend",
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
            # Replaces Django's {% url %} with one that keeps URLs without arguments (fixed_urls.py).
            "builtins": ["dashboard.core.templatetags.fixed_urls"],
        },
    },
]

# Django's form renderer with its widgets' attribute loop done in Python (dashboard/core/forms_renderer.py).
FORM_RENDERER = "dashboard.core.forms_renderer.FormRenderer"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the poller share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Keep each thread's connection between requests: opening one (and its set-up statements) and
    # closing it (the last one to close also checkpoints the WAL) cost about as much CPU as a light
    # page's own queries. Web requests reuse their threads (dashboard/core/request_threads.py).
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=600))
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
# Django's database sessions, read with one plain statement instead of the ORM (core/session_store.py).
SESSION_ENGINE = "dashboard.core.session_store"
# Per process, as Django's default; its async methods skip the thread hand-off (dashboard/core/cache.py).
CACHES = {"default": {"BACKEND": "dashboard.core.cache.InProcessCache"}}
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
# Every user must set up two-factor before using the dashboard (they are sent to Settings > Security).
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=False)
# The name authenticator apps show next to the code.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Nexus Dashboard")
# Sign-in throttling (django-axes): this many wrong passwords for one username from one address lock
# that pair out for AXES_COOLOFF_MINUTES. Per username AND address together, so an attacker cannot
# lock a whole office (one address) out, nor one person out from everywhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Attempts made while locked out neither count nor extend the lock: the time the page gives stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful sign-in forgets that pair's earlier failures; the audit log records it, not axes.
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
# The address as the audit log sees it: X-Forwarded-For only behind TRUSTED_PROXY_COUNT proxies,
# otherwise a client could send a new made-up address with every attempt.
AXES_CLIENT_IP_CALLABLE = "dashboard.audit.recording.client_ip"
# Our own page: the sign-in form again, with when to try again, as a 429.
AXES_LOCKOUT_CALLABLE = "dashboard.core.signin.signin_locked_out"
# Axes would log every failure at WARNING with the username; the audit log keeps them instead.
AXES_VERBOSE = False
# Open sign-up is off unless an operator turns it on.
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The dashboard speaks English only. With translation on, every get_language() (each {% url %}, each
# date or number formatted) reads the active language from a context-local: a few hundred lookups a
# page. Off, Django answers LANGUAGE_CODE at once; the formats are the same English ones.
USE_I18N = False
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
# Seconds between reads of the log of a running job that nobody views (its status is still read every
# few seconds): its lines wait upstream, and the read after the job ends brings every one of them.
POLLER_UNWATCHED_LOG_SECONDS = env.float("POLLER_UNWATCHED_LOG_SECONDS", default=60.0)
# Seconds between the task poller's calls with one NexusToken key: the upstream allows 10 requests/s
# per key, and the pages of the same user share the key, so the poller leaves them room.
TASK_POLL_SPACING = env.float("TASK_POLL_SPACING", default=0.2)
# Nexical calls the job poller makes with one user's token in a minute, at most: Nexical allows 600 a
# minute per token, and the owner's own pages spend the same allowance. Past it, the poller uses the
# job's next follower's token, or waits.
POLLER_TOKEN_CALLS_PER_MINUTE = env.int("POLLER_TOKEN_CALLS_PER_MINUTE", default=300)
# Seconds of nothing new after which the browser's shared live stream sends a `beat` event: it keeps
# proxies from closing the idle connection, and tells the other tabs that the tab holding the stream
# still runs (they poll on their own after three beats missed).
LIVE_KEEPALIVE_SECONDS = env.float("LIVE_KEEPALIVE_SECONDS", default=15.0)
# Seconds a team's member list, as Nexical last gave it, decides who may see the team's tracked jobs
# before it is read again: a member removed upstream loses the live pages within this time.
TEAM_ROSTER_SECONDS = env.float("TEAM_ROSTER_SECONDS", default=60.0)
# Seconds one upstream call of the pollers may take in all, retries included: a hung upstream or
# token delays a pass by about this much, never a minute.
POLLER_CALL_BUDGET = env.float("POLLER_CALL_BUDGET", default=6.0)

# Team notification channels (dashboard.channels). Whether a channel may post to loopback, private or
# link-local addresses: only in development and tests, whose receivers run on this machine; in
# production that would let a team admin make the dashboard call into its own network (SSRF).
CHANNELS_ALLOW_PRIVATE = env.bool("CHANNELS_ALLOW_PRIVATE", default=DEBUG)
# Seconds one post to a channel may take (connecting and answering): a slow receiver holds one sender
# slot this long at most, never a page or the poller's pass.
CHANNELS_TIMEOUT = env.float("CHANNELS_TIMEOUT", default=5.0)
# Seconds before each retry of a failed delivery; after the last, it is marked failed.
CHANNELS_RETRY_DELAYS = [
    float(delay) for delay in env.list("CHANNELS_RETRY_DELAYS", default=[1, 10, 60, 600])
]
# Failed deliveries in a row after which a channel is paused and the team's admins are told.
CHANNELS_PAUSE_AFTER = env.int("CHANNELS_PAUSE_AFTER", default=5)

# Passkeys (django-otp-webauthn) as a second factor, never alone. Browsers refuse an IP address as
# the relying party, so the development default of PUBLIC_URL (127.0.0.1) becomes localhost: open the
# dashboard at http://localhost:8000 to use passkeys in development. Changing WEBAUTHN_RP_ID later
# invalidates every registered passkey.
_public = urlsplit(PUBLIC_URL)
_public_host = "localhost" if _public.hostname in ("127.0.0.1", "::1") else (_public.hostname or "localhost")
_public_origin = f"{_public.scheme}://{_public_host}" + (f":{_public.port}" if _public.port else "")
OTP_WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default=_public_host)
OTP_WEBAUTHN_RP_NAME = "Nexus Dashboard"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=[_public_origin])
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# The audit log (dashboard.audit): rows older than this many days are deleted by `manage.py prune_audit`.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=400)
# A detail key that looks like a secret raises (DEBUG and the tests) rather than being dropped quietly.
AUDIT_STRICT = env.bool("AUDIT_STRICT", default=DEBUG)
# Reverse proxies in front of the dashboard that append the client's address to X-Forwarded-For.
# 0 (the default) trusts no header: the address is the connection's own (REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

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
