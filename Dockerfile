# The dashboard (and, with another command, the sandbox) as one image: Python 3.13, uvicorn, non-root.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 app

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Collect static files in production mode, so they get hashed names and compressed copies. The
# throwaway secrets only let the settings load: the real ones come from the environment at run time.
RUN DEBUG=false \
    ALLOWED_HOSTS=build \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    TOKEN_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/.sandbox \
    && chown app:app /app/.sandbox

USER app
EXPOSE 8000

# /healthz answers 200 while the database is up. The request names an allowed host and says it came
# through the TLS proxy, so neither ALLOWED_HOSTS nor SECURE_SSL_REDIRECT turns it away.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, sys, urllib.request as r; \
host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].lstrip('.').replace('*', 'localhost'); \
req = r.Request('http://127.0.0.1:8000/healthz', headers={'Host': host, 'X-Forwarded-Proto': 'https'}); \
sys.exit(r.urlopen(req, timeout=4).status != 200)"

# Web processes: each has its own event loop, database pool and live-update watcher. Two suit a
# 2-core machine; raise it with the cores (each holds up to DATABASE_POOL_MAX_SIZE connections).
ENV WEB_WORKERS=2

# The check says once, plainly, when the static files were not collected (each worker would
# otherwise fail at import and be restarted over and over). Then, behind a TLS-terminating proxy:
# trust its X-Forwarded-* headers (SECURE_PROXY_SSL_HEADER is set).
CMD ["sh", "-c", "python manage.py check --deploy --tag staticfiles-collected > /dev/null && exec uvicorn dashboard.asgi:application --host 0.0.0.0 --port 8000 --workers \"$WEB_WORKERS\" --timeout-graceful-shutdown 5 --proxy-headers --forwarded-allow-ips '*'"]
