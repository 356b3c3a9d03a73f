"""Settings of the sandbox: the local emulators of both upstream APIs (dev and test only).

It is its own Django project with its own database, so nothing of it is ever mounted by the
dashboard. `python -m sandbox serve` runs it; every knob has an environment variable.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = False
SECRET_KEY = env.str("SANDBOX_SECRET_KEY", default="sandbox-only-secret-key-not-for-anything-real")
ALLOWED_HOSTS = ["*"]

# The token of the sandbox's Nexical system user, and of its admin endpoints (/_sandbox/*).
SANDBOX_ADMIN_TOKEN = env.str("SANDBOX_ADMIN_TOKEN", default="nx_sandbox_admin_0123456789abcdef")
# Where the sandbox is reached from outside: used in verification and checkout URLs it hands out.
SANDBOX_PUBLIC_URL = env.str("SANDBOX_PUBLIC_URL", default="http://127.0.0.1:8001")
# Device-flow pages: the sandbox serves its own; point these at the dashboard's approval page instead.
NEXICAL_VERIFICATION_URI = env.str("NEXICAL_VERIFICATION_URI", default="")
NEXUSTOKEN_VERIFICATION_URL = env.str("NEXUSTOKEN_VERIFICATION_URL", default="")
# The page an invitation email links to, with `?token=nxi_…` appended: the dashboard's own
# acceptance page at its default address (`make run`), since the sandbox has no web app of its own.
NEXICAL_INVITE_URL = env.str("NEXICAL_INVITE_URL", default="http://127.0.0.1:8000/invites/accept/")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "sandbox.core",
    "sandbox.nexical",
    "sandbox.nexustoken",
]

MIDDLEWARE = [
    "sandbox.core.faults.FaultMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
# The APIs' paths have no trailing slash and must never be redirected.
APPEND_SLASH = False

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
# Cookies are per host, not per port: on 127.0.0.1 the dashboard's `sessionid` and `csrftoken` would
# be replaced by the sandbox's when someone signs in on its device-approval page, signing them out
# of the dashboard. Its own names keep the two apart.
SESSION_COOKIE_NAME = "sandbox_sessionid"
CSRF_COOKIE_NAME = "sandbox_csrftoken"
ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

DATABASES = {
    "default": env.db(
        "SANDBOX_DATABASE_URL", default=f"sqlite:///{BASE_DIR / '.sandbox' / 'sandbox.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Every request runs in its own thread: writers queue for the lock instead of failing, and
    # IMMEDIATE transactions make claims (acquire, bid, award) atomic.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # A kept-alive HTTP connection keeps its thread, and the thread keeps its SQLite connection
    # (closed when the HTTP connection ends): reconnecting on every request costs more than most
    # requests' own work. Not on PostgreSQL, whose server allows only so many connections, and
    # idle kept-alive clients would hold theirs.
    DATABASES["default"]["CONN_MAX_AGE"] = None
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool (psycopg-pool): opening a PostgreSQL connection for every request took about a quarter
    # of the sandbox's time under load. Each request borrows one and gives it back when it ends;
    # event streams give theirs back between polls. Django requires CONN_MAX_AGE 0 with a pool.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("SANDBOX_DATABASE_POOL_MAX_SIZE", default=20),
        "timeout": 10.0,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The tests make hundreds of users with passwords; a real hash costs ~0.3 s of CPU for each.
if env.bool("SANDBOX_FAST_PASSWORD_HASHING", default=False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Bodies over 1 MB are refused with 413 by the APIs.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s sandbox %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("SANDBOX_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": env.str("SANDBOX_ACCESS_LOG_LEVEL", default="WARNING")},
        "httpx": {"level": "WARNING"},
    },
}
