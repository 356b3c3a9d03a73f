"""The device flow (contract §4, RFC 8628 style): the API under /device/* and the sandbox's own
verification page at /nexical/device, where a sandbox user signs in and approves or denies."""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ..access import require_user
from ..auth import Caller, hash_token, mint_token
from ..http import ApiError, conflict, invalid, not_found, read_json
from ..models import DeviceCode, Token, User
from ..serializers import iso

CODE_LIFETIME = timedelta(seconds=900)
SESSION_LIFETIME = timedelta(days=30)
INTERVAL = 5
SLOW_DOWN_STEP = 5
# No 0/O, 1/I/L: easy to read aloud and to type.
USER_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SESSION_KEY = "nexical_device_user"


def verification_uri() -> str:
    return settings.NEXICAL_VERIFICATION_URI or f"{settings.SANDBOX_PUBLIC_URL}/nexical/device"


def normalize_user_code(raw: str) -> str:
    return raw.replace("-", "").replace(" ", "").upper()


def display_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def well_formed(user_code: str) -> bool:
    """Eight letters or digits once the dash and spaces are gone (ours use a smaller alphabet)."""
    return re.fullmatch(r"[A-Z0-9]{8}", normalize_user_code(user_code)) is not None


def _live_flow(user_code: str) -> DeviceCode | None:
    """The flow behind a typed code, or None if the code is ill-formed, unknown or expired."""
    if not well_formed(user_code):
        return None
    flow = DeviceCode.objects.filter(user_code=normalize_user_code(user_code)).first()
    if flow is None or flow.expires_at <= timezone.now():
        return None
    return flow


def _body(
    request: HttpRequest, keys: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> dict[str, str]:
    """Read snake_case keys, also accepting their camelCase spellings (contract §4)."""
    data = read_json(request)
    if not isinstance(data, dict):
        raise invalid({"body": ["Expected a JSON object."]})
    known = {alias for aliases in keys.values() for alias in aliases}
    errors = {key: ["Unknown field."] for key in data if key not in known}
    values: dict[str, str] = {}
    for key, aliases in keys.items():
        present = [data[alias] for alias in aliases if alias in data]
        if not present or present[0] is None:
            if key in required:
                errors[key] = ["This field is required."]
            continue
        if not isinstance(present[0], str) or not present[0].strip() or len(present[0]) > 200:
            errors[key] = ["Must be a non-empty string."]
            continue
        values[key] = present[0].strip()
    if errors:
        raise invalid(errors)
    return values


def _grant_error(error: str, description: str) -> JsonResponse:
    return JsonResponse(
        {"error": error, "error_description": description, "code": error, "message": description}, status=400
    )


def device_code(request: HttpRequest, caller: None) -> JsonResponse:
    # seed: POST /device/* (authenticateDevice) step 1: start a flow
    data = _body(request, {"client_id": ("client_id", "clientId"), "scope": ("scope",)}, ("client_id",))
    raw = secrets.token_urlsafe(32)
    for _ in range(10):
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        if not DeviceCode.objects.filter(user_code=user_code).exists():
            break
    DeviceCode.objects.create(
        device_code_hash=hash_token(raw),
        user_code=user_code,
        client_id=data["client_id"],
        scope=data.get("scope", ""),
        interval=INTERVAL,
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    shown = display_user_code(user_code)
    return JsonResponse(
        {
            "device_code": raw,
            "user_code": shown,
            "verification_uri": verification_uri(),
            "verification_uri_complete": f"{verification_uri()}?user_code={shown}",
            "expires_in": int(CODE_LIFETIME.total_seconds()),
            "interval": INTERVAL,
        }
    )


def device_token(request: HttpRequest, caller: None) -> JsonResponse:
    # seed: POST /device/* step 2: the device polls until the user decides
    data = _body(
        request,
        {
            "device_code": ("device_code", "deviceCode"),
            "client_id": ("client_id", "clientId"),
            "grant_type": ("grant_type", "grantType"),
        },
        ("device_code",),
    )
    now = timezone.now()
    with transaction.atomic():
        flow = DeviceCode.objects.filter(device_code_hash=hash_token(data["device_code"])).first()
        if flow is None or ("client_id" in data and data["client_id"] != flow.client_id):
            # The contract's grant errors have no "unknown code"; like an expired one, it means
            # the device must start again.
            return _grant_error("expired_token", "Unknown device code.")
        if flow.status == DeviceCode.Status.CONSUMED or flow.expires_at <= now:
            return _grant_error("expired_token", "The device code has expired or was already used.")
        if flow.status == DeviceCode.Status.DENIED:
            return _grant_error("access_denied", "The user denied the request.")
        if flow.status == DeviceCode.Status.PENDING:
            too_fast = flow.last_polled_at is not None and now - flow.last_polled_at < timedelta(
                seconds=flow.interval
            )
            flow.last_polled_at = now
            if too_fast:
                flow.interval += SLOW_DOWN_STEP
                flow.save(update_fields=["last_polled_at", "interval"])
                return _grant_error("slow_down", f"Poll at most every {flow.interval} seconds.")
            flow.save(update_fields=["last_polled_at"])
            return _grant_error("authorization_pending", "The user has not decided yet.")
        # Approved: hand out one session token, once.
        flow.status = DeviceCode.Status.CONSUMED
        flow.save(update_fields=["status"])
        _, raw = mint_token(
            Token.Kind.SESSION,
            "nxs_",
            name=f"device login ({flow.client_id})",
            user=flow.user,
            expires_at=now + SESSION_LIFETIME,
        )
    return JsonResponse(
        {"access_token": raw, "token_type": "Bearer", "expires_in": int(SESSION_LIFETIME.total_seconds())}
    )


def _decide(user: User, user_code: str, approve: bool) -> DeviceCode:
    """Approve or deny a pending flow for this user; 404 unknown or expired, 409 already decided."""
    with transaction.atomic():
        flow = _live_flow(user_code)
        if flow is None:
            raise not_found("Device code")
        if flow.status != DeviceCode.Status.PENDING:
            raise conflict("This code was already decided.")
        flow.status = DeviceCode.Status.APPROVED if approve else DeviceCode.Status.DENIED
        flow.user = user
        flow.save(update_fields=["status", "user"])
    return flow


def approve(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: POST /device/* step 3 (by the signed-in user): approve
    user = require_user(caller)
    data = _body(request, {"user_code": ("user_code", "userCode")}, ("user_code",))
    flow = _decide(user, data["user_code"], approve=True)
    return JsonResponse({"success": True, "client_id": flow.client_id})


def deny(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: POST /device/* step 3 (by the signed-in user): deny
    user = require_user(caller)
    data = _body(request, {"user_code": ("user_code", "userCode")}, ("user_code",))
    _decide(user, data["user_code"], approve=False)
    return JsonResponse({"success": True})


def lookup(request: HttpRequest, caller: Caller) -> JsonResponse:
    # extension (ours, not in the contract): POST /device/lookup {user_code}, so the dashboard's
    # approval page can show which client asks before the user approves.
    require_user(caller)
    data = _body(request, {"user_code": ("user_code", "userCode")}, ("user_code",))
    if not well_formed(data["user_code"]):
        raise invalid({"user_code": ["Must look like ABCD-1234."]})
    flow = _live_flow(data["user_code"])
    if flow is None:
        raise not_found("Device code")
    # A consumed code was approved; the device has just collected its token since.
    status = "approved" if flow.status == DeviceCode.Status.CONSUMED else flow.status
    return JsonResponse(
        {
            "user_code": display_user_code(flow.user_code),
            "client_id": flow.client_id,
            "scope": flow.scope or None,
            "status": status,
            "expires_at": iso(flow.expires_at),
        }
    )


@require_http_methods(["GET", "POST"])
def device_page(request: HttpRequest) -> HttpResponse:
    """Sign in, look a code up, approve or deny it: the POST's action is the submit button's name."""
    signed_in = request.session.get(SESSION_KEY)
    user = User.objects.filter(pk=signed_in).first() if signed_in else None
    context: dict = {"user": user, "error": None, "done": None, "flow": None}
    code = request.POST.get("user_code") or request.GET.get("user_code") or ""
    context["code"] = code
    if request.method == "POST":
        if "sign_in" in request.POST:
            email = request.POST.get("email", "").strip().lower()
            # PostgreSQL refuses a NUL in a query parameter; no email holds one anyway.
            candidate = User.objects.filter(email=email).first() if "\x00" not in email else None
            if candidate and check_password(request.POST.get("password", ""), candidate.password):
                request.session[SESSION_KEY] = str(candidate.pk)
                return redirect(f"{request.path}?user_code={code}" if code else request.path)
            context["error"] = "Wrong email or password."
        elif "sign_out" in request.POST:
            request.session.pop(SESSION_KEY, None)
            return redirect(request.path)
        elif user and ("approve" in request.POST or "deny" in request.POST):
            try:
                flow = _decide(user, code, approve="approve" in request.POST)
            except ApiError as error:
                context["error"] = error.message
            else:
                verb = "approved" if flow.status == DeviceCode.Status.APPROVED else "denied"
                context["done"] = f"You {verb} the sign-in of {flow.client_id}."
                context["code"] = ""
    if user and context["code"] and not context["done"]:
        live = _live_flow(context["code"])
        if live is None:
            context["error"] = context["error"] or "This code is unknown or has expired."
        elif live.status != DeviceCode.Status.PENDING:
            context["error"] = context["error"] or "This code was already used."
        else:
            context["flow"] = live
            context["code"] = display_user_code(live.user_code)
    return render(request, "nexical/device.html", context)
