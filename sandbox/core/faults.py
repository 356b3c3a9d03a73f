"""Fault injection and request counting for the APIs the sandbox emulates.

Faults apply to the emulated APIs only (never to /_sandbox/ itself), so a test can always reset
them. Every API request is also counted, so tests can prove a page makes a fixed number of
upstream calls.
"""

import random
import threading
import time
from collections import Counter

from django.http import HttpResponse, JsonResponse

from . import knobs

_count_lock = threading.Lock()
request_counts: Counter[str] = Counter()


def count_snapshot() -> dict[str, int]:
    with _count_lock:
        return dict(request_counts)


def count_reset() -> None:
    with _count_lock:
        request_counts.clear()


class FaultMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        api = path.strip("/").split("/", 1)[0]
        if api not in {"nexical", "nexustoken"}:
            return self.get_response(request)

        with _count_lock:
            request_counts[f"{request.method} {path}"] += 1

        scope = knobs.get("scope")
        if scope and scope != api:
            return self.get_response(request)

        latency = knobs.get("latency_ms") + random.uniform(0, knobs.get("jitter_ms"))
        if latency:
            time.sleep(latency / 1000)
        if knobs.get("hang_path") in path and knobs.take("hang"):
            # A hung request answers normally when it wakes: by then its client has long given up,
            # and it must not use up a fault that a later request (or test) was meant to get.
            time.sleep(knobs.get("hang_seconds"))
            return self.get_response(request)
        if knobs.take("force_429"):
            retry_after = knobs.get("retry_after")
            body: dict[str, object] = {
                "error": "rate_limited",
                "code": "rate_limited",
                "message": "Too many requests.",
            }
            if api == "nexustoken":
                body = {"detail": "Rate limit exceeded"}
            else:
                # Nexical's error shape always carries details (contract §2).
                body.update(details={}, retryAfter=retry_after)
            response = JsonResponse(body, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if knobs.get("error_rate") and random.random() < knobs.get("error_rate"):
            if api == "nexustoken":
                return JsonResponse({"detail": "Injected server error"}, status=500)
            return JsonResponse(
                {
                    "error": "internal_error",
                    "code": "internal_error",
                    "message": "Injected server error.",
                    "details": {},
                },
                status=500,
            )
        if knobs.take("malformed"):
            return HttpResponse(b'{"this is": not json', content_type="application/json")
        return self.get_response(request)
