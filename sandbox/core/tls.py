"""One TLS context for the sandbox's own outgoing clients (webhooks, simulated workers and nodes)."""

import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def context() -> ssl.SSLContext:
    """Read the CA bundle once: about 30 ms of CPU that every new client would otherwise pay (one per
    webhook delivery, one per simulated job)."""
    return httpx.create_ssl_context()
