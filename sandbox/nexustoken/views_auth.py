"""Accounts and keys: register, rotate, recover, the device flow, simulated GitHub OAuth, heartbeat."""

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from sandbox.core import knobs

from . import schemas
from .api import ApiError, auth_failure, body, hash_key, issue_key
from .ledger import signup_credits
from .lifecycle import iso
from .models import Account, ApiKey, DeviceCode, RecoveryCode

logger = logging.getLogger(__name__)

RECOVERY_TTL = timedelta(seconds=300)
DEVICE_TTL = timedelta(seconds=600)
USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words, no 0/O mix-ups
OAUTH_SALT = "nexustoken.github"
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9-]{1,100}")


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def heartbeat(request: HttpRequest, account):
    minimum = knobs.get("nexustoken_min_sdk")
    return {"status": "ok", "min_sdk_version": minimum, "latest_sdk_version": "0.6.6", "announcement": ""}


def health(request: HttpRequest, account):
    return {"status": "ok", "service": "nexustoken-sandbox"}


def create_account(email: str, source: str = "", credits: int | None = None) -> Account:
    return Account.objects.create(
        email=email,
        source=source,
        credits_balance=signup_credits() if credits is None else credits,
        webhook_secret=new_webhook_secret(),
    )


def register(request, account):
    data = body(request, schemas.Register)
    try:
        with transaction.atomic():
            account = create_account(data.email, data.source)
            api_key = issue_key(account, "register")
    except IntegrityError:
        raise ApiError(409, "An account with this email already exists") from None
    return {
        "account_id": str(account.id),
        "api_key": api_key,
        "webhook_secret": account.webhook_secret,
        "credits_balance": account.credits_balance,
    }, 201


def rotate_key(request, account):
    with transaction.atomic():
        ApiKey.objects.filter(key_hash=request.key_hash).delete()
        api_key = issue_key(account, "rotated")
    return {"account_id": str(account.id), "api_key": api_key}


def recover(request, account):
    data = body(request, schemas.Email)
    found = Account.objects.filter(email=data.email).first()
    if found is not None:
        code = f"{secrets.randbelow(1_000_000):06d}"
        RecoveryCode.objects.create(account=found, code=code, expires_at=timezone.now() + RECOVERY_TTL)
        # The vendor's V1 hands the code out through its server logs; so does the emulator.
        logger.info("NexusToken recovery code for %s: %s", data.email, code)
    # The same answer whether or not the email exists, so it cannot be used to probe accounts.
    return {"message": "Verification code generated", "expires_in": int(RECOVERY_TTL.total_seconds())}


def verify_recover(request, account):
    data = body(request, schemas.VerifyRecover)
    with transaction.atomic():
        code = (
            RecoveryCode.objects.select_for_update()
            .filter(account__email=data.email, used=False, expires_at__gt=timezone.now())
            .order_by("-created_at")
            .first()
        )
        if code is None or not secrets.compare_digest(code.code.encode(), data.code.strip().encode()):
            raise auth_failure(request, 400, "Invalid or expired verification code")
        code.used = True
        code.save(update_fields=["used"])
        # Recovery invalidates every old key of the account at once.
        ApiKey.objects.filter(account=code.account).delete()
        api_key = issue_key(code.account, "recovered")
    return {"account_id": str(code.account_id), "api_key": api_key}


# --- Device flow (contract §4: outcomes are HTTP statuses, not RFC 8628 error strings) ----------------


def verification_url() -> str:
    return settings.NEXUSTOKEN_VERIFICATION_URL or f"{settings.SANDBOX_PUBLIC_URL}/nexustoken/device"


def _user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_LETTERS) for _ in range(4))
    return f"{letters}-{secrets.randbelow(10_000):04d}"


def device_authorize(request, account):
    data = body(request, schemas.DeviceAuthorize)
    device_code = secrets.token_urlsafe(32)
    interval = knobs.get("nexustoken_device_interval")
    for _ in range(5):
        try:
            grant = DeviceCode.objects.create(
                device_code_hash=hash_key(device_code),
                user_code=_user_code(),
                client_name=data.client_name,
                interval=interval,
                expires_at=timezone.now() + DEVICE_TTL,
            )
            break
        except IntegrityError:
            continue  # that user code is taken: draw another
    else:
        raise ApiError(503, "Could not allocate a user code, try again")
    url = verification_url()
    return {
        "device_code": device_code,
        "user_code": grant.user_code,
        "verification_url": url,
        "verification_url_complete": f"{url}?user_code={grant.user_code}",
        "expires_in": int(DEVICE_TTL.total_seconds()),
        "interval": interval,
    }


def device_token(request, account):
    data = body(request, schemas.DeviceToken)
    now = timezone.now()
    with transaction.atomic():
        grant = (
            DeviceCode.objects.select_for_update().filter(device_code_hash=hash_key(data.device_code)).first()
        )
        if grant is None or grant.expires_at <= now:
            raise ApiError(410, "The device code is unknown or has expired")
        if grant.state in (DeviceCode.DENIED, DeviceCode.CONSUMED):
            raise ApiError(410, "The request was denied or already used")
        pending = grant.state == DeviceCode.PENDING
        if pending:
            too_soon = grant.last_poll_at and now - grant.last_poll_at < timedelta(
                seconds=grant.interval * 0.8
            )
            grant.last_poll_at = now
            grant.save(update_fields=["last_poll_at"])
        else:
            grant.state = DeviceCode.CONSUMED
            grant.save(update_fields=["state"])
            account = grant.account
            assert account is not None, "an approved code names the account that approved it"
            api_key = issue_key(account, f"device: {grant.client_name}")
    # Raised after the block: the poll time above must be kept, not rolled back.
    if pending:
        raise (
            ApiError(429, "slow_down: poll less often")
            if too_soon
            else ApiError(428, "authorization_pending")
        )
    return {
        "api_key": api_key,
        "webhook_secret": account.webhook_secret,
        "account_id": str(grant.account_id),
    }


def decide_device_code(account: Account, user_code: str, approve: bool) -> DeviceCode:
    """Approve or deny a pending code for this account (API and HTML page share it)."""
    with transaction.atomic():
        grant = DeviceCode.objects.select_for_update().filter(user_code=user_code.strip().upper()).first()
        if grant is None:
            raise ApiError(404, "Unknown code")
        if grant.expires_at <= timezone.now():
            raise ApiError(410, "This code has expired")
        if grant.state != DeviceCode.PENDING:
            raise ApiError(409, "This code was already used")
        grant.state = DeviceCode.APPROVED if approve else DeviceCode.DENIED
        grant.account = account
        grant.save(update_fields=["state", "account"])
    return grant


def device_approve(request, account):
    data = body(request, schemas.DeviceDecision)
    grant = decide_device_code(account, data.user_code, data.approve)
    return {"user_code": grant.user_code, "client_name": grant.client_name, "state": grant.state}


# --- GitHub credit (simulated locally: no GitHub involved) -------------------------------------------


def _credit_score(login: str, salt: str = "") -> int:
    digest = hashlib.sha256(f"{login}:{salt}".encode()).hexdigest()
    return 30 + int(digest, 16) % 66


def _github_json(account: Account) -> dict:
    return {
        "account_id": str(account.id),
        "linked": bool(account.github_login),
        "github_login": account.github_login or None,
        "github_credit_score": account.github_credit_score,
    }


def _link(account: Account, login: str) -> dict:
    account.github_login = login
    account.github_credit_score = _credit_score(login)
    account.save(update_fields=["github_login", "github_credit_score"])
    return _github_json(account)


def github_authorize(request, account):
    state = signing.dumps({"account": str(account.id)}, salt=OAUTH_SALT)
    code = secrets.token_urlsafe(12)
    callback = f"{settings.SANDBOX_PUBLIC_URL}/nexustoken/api/v1/oauth/github/callback"
    return {"authorize_url": f"{callback}?code={code}&state={state}", "state": state}


def github_callback(request, account):
    try:
        claims = signing.loads(request.GET.get("state", ""), salt=OAUTH_SALT, max_age=600)
        account = Account.objects.get(pk=claims["account"])
    except (signing.BadSignature, Account.DoesNotExist, KeyError, ValueError):
        raise ApiError(400, "Invalid or expired OAuth state") from None
    code = request.GET.get("code", "")
    if not code:
        raise ApiError(400, "Missing code")
    login = request.GET.get("login") or f"gh-{hashlib.sha256(code.encode()).hexdigest()[:8]}"
    # The same rule as the link endpoint's github_login (a GitHub login, at most the column's 100 chars).
    if not GITHUB_LOGIN.fullmatch(login):
        raise ApiError(400, "login must be 1-100 letters, digits or hyphens")
    return _link(account, login)


def github_link(request, account):
    data = body(request, schemas.GithubLink)
    login = (
        data.github_login or f"gh-{hashlib.sha256((data.code or str(account.id)).encode()).hexdigest()[:8]}"
    )
    return _link(account, login)


def github_refresh(request, account):
    if not account.github_login:
        raise ApiError(409, "No GitHub account is linked")
    account.github_credit_score = _credit_score(account.github_login, timezone.now().date().isoformat())
    account.save(update_fields=["github_credit_score"])
    return {**_github_json(account), "refreshed_at": iso(timezone.now())}
