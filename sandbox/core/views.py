"""The sandbox's own admin endpoints, guarded by SANDBOX_ADMIN_TOKEN."""

import json
import secrets

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import faults, knobs


def _is_admin(request) -> bool:
    header = request.headers.get("Authorization", "")
    return secrets.compare_digest(header, f"Bearer {settings.SANDBOX_ADMIN_TOKEN}")


def _forbidden():
    return JsonResponse(
        {"error": "unauthorized", "code": "unauthorized", "message": "Send the sandbox admin token."},
        status=401,
    )


@csrf_exempt
def knobs_view(request):
    """GET shows the knobs, POST sets some ({"latency_ms": 50, ...}), DELETE resets them all."""
    if not _is_admin(request):
        return _forbidden()
    if request.method == "POST":
        try:
            values = json.loads(request.body or b"{}")
            if not isinstance(values, dict):
                raise ValueError("expected an object")
            return JsonResponse(knobs.update(values))
        except knobs.FrozenError:
            message = "This sandbox serves from several processes: set knobs with SANDBOX_* variables."
            return JsonResponse({"error": "conflict", "message": message}, status=409)
        except KeyError as exc:
            return JsonResponse({"error": "validation_error", "message": f"Unknown knob {exc}."}, status=400)
        except (ValueError, TypeError, OverflowError) as exc:
            return JsonResponse({"error": "validation_error", "message": str(exc)}, status=400)
    if request.method == "DELETE":
        knobs.reset()  # back to the environment's values, the same in every process
    return JsonResponse(knobs.snapshot())


@csrf_exempt
def requests_view(request):
    """GET counts the API requests served since the last DELETE, as {"GET /nexical/teams": 2}."""
    if not _is_admin(request):
        return _forbidden()
    if request.method == "DELETE":
        faults.count_reset()
    return JsonResponse(faults.count_snapshot())


def health(request):
    return JsonResponse({"status": "ok"})
