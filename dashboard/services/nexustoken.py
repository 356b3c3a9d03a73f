"""Typed async client for the NexusToken marketplace (contract: shared/contracts/nexustoken.md).

Every path sits under `{NEXUSTOKEN_API_URL}/api/v1` (the SDK's layout), except `/health`. Requests
carry the account's `X-API-Key`; the endpoints the seed marks "no auth" take no `NexusTokenAPI`.
Bodies are bare JSON (objects or arrays) with snake_case keys; errors are FastAPI's `{"detail"}`.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from . import http
from .errors import APIError, DeviceFlowError, DevicePending, RateLimitError

UPSTREAM = http.NEXUSTOKEN_UPSTREAM
# /health sits at the root of the service, outside /api/v1.
ROOT = http.Upstream(UPSTREAM.name, UPSTREAM.url_setting)


@dataclass(frozen=True)
class NexusTokenAPI:
    """A NexusToken account's API key (64 hex characters)."""

    api_key: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}


# ---------------------------------------------------------------------------------------------
# Models (wire names are snake_case already; unknown keys are ignored)

TaskStatus = Literal["BIDDING", "PENDING_POOL", "AWARDED", "SETTLED", "EXPIRED", "CANCELLED"]
TASK_FINISHED: frozenset[str] = frozenset({"SETTLED", "EXPIRED", "CANCELLED"})
TASK_CANCELLABLE: frozenset[str] = frozenset({"BIDDING", "PENDING_POOL"})
QualityPreference = Literal["best", "balanced", "cheapest"]


class _Model(BaseModel):
    # Counts and flags are strict: "100", 1.0 or True as a balance, or "yes" as is_frozen, is a broken
    # answer to report (ContractError), not something to coerce into a number the user acts on.
    model_config = ConfigDict(frozen=True, extra="ignore")


class TaskEvent(_Model):
    at: AwareDatetime | None = None
    type: str
    detail: str = ""


class Task(_Model):
    id: str
    status: TaskStatus
    task_type: str
    max_budget_credits: StrictInt
    max_execution_seconds: StrictInt
    input_data: str | None = None  # the full text: only for the creator and the awardee
    input_data_preview: str | None = None
    validation_schema: dict[str, Any] = Field(default_factory=dict)
    validation_rules: list[Any] = Field(default_factory=list)
    example_output: dict[str, Any] | None = None
    input_file_ids: list[str] = Field(default_factory=list)
    quality_preference: str | None = None
    min_skill_rating: StrictInt | None = None
    callback_url: str | None = None
    is_mine: StrictBool | None = None
    awarded_to: str | None = None
    awarded_price: StrictInt | None = None
    fee_credits: StrictInt | None = None
    retries_left: StrictInt | None = None
    result_data: dict[str, Any] | None = None
    events: list[TaskEvent] = Field(default_factory=list)
    created_at: AwareDatetime | None = None
    awarded_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in TASK_FINISHED

    @property
    def is_cancellable(self) -> bool:
        return self.status in TASK_CANCELLABLE


class Balance(_Model):
    credits_balance: StrictInt  # spendable; frozen budgets are not included
    credits_frozen: StrictInt
    credits_available: StrictInt | None = None
    credit_line: StrictInt | None = None
    debt: StrictInt | None = None
    purchasing_power: StrictInt | None = None
    added: StrictInt | None = None  # top-up answers
    repaid: StrictInt | None = None  # repay answers


class NextRating(_Model):
    name: str
    credit_line: StrictInt
    min_tasks: StrictInt | None = None
    min_counterparties: StrictInt | None = None
    min_honeypots: StrictInt | None = None
    min_success_rate: float | None = None


class CreditInfo(_Model):
    rating: str
    stars: StrictInt | None = None
    credit_line: StrictInt
    debt: StrictInt = 0
    debt_since: AwareDatetime | None = None
    days_in_debt: StrictInt = 0
    suspended: StrictBool = False
    purchasing_power: StrictInt | None = None
    task_count: StrictInt | None = None
    counterparties: StrictInt | None = None
    success_rate: float | None = None
    honeypots_passed: StrictInt | None = None
    github_login: str | None = None
    github_credit_score: StrictInt | None = None
    next_rating: NextRating | None = None


class Reputation(_Model):
    reputation: StrictInt
    task_count: StrictInt
    is_frozen: StrictBool
    account_id: str | None = None
    email: str | None = None
    tasks_succeeded: StrictInt | None = None
    tasks_failed: StrictInt | None = None
    success_rate: float | None = None
    cooldown_until: AwareDatetime | None = None
    rating: str | None = None


class CheckoutSession(_Model):
    session_id: str
    checkout_url: str
    status: str | None = None  # open, paid, cancelled, expired
    amount_credits: StrictInt | None = None
    created_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None  # unpaid by then, the session expires (24 h, as Stripe's)
    paid_at: AwareDatetime | None = None


class Registration(_Model):
    """An API key handed out by register, rotate-key or verify-recover: shown to the user once."""

    account_id: str
    api_key: str = Field(repr=False)
    webhook_secret: str | None = Field(default=None, repr=False)
    credits_balance: StrictInt | None = None


class KeyRecovery(_Model):
    message: str
    expires_in: StrictInt | None = None


class Capability(_Model):
    id: str
    name: str
    category: str
    input_mode: str
    output_mode: str
    price_nc: StrictInt
    validation_mode: str | None = None
    description: str = ""
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    file_types: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    version: str | None = None
    is_available: StrictBool = True
    account_id: str | None = None
    created_at: AwareDatetime | None = None


class CapabilityStats(_Model):
    capability_id: str
    name: str | None = None
    tasks_completed: StrictInt = 0
    tasks_failed: StrictInt = 0
    tasks_in_progress: StrictInt = 0
    success_rate: float = 0.0
    first_try_rate: float | None = None
    avg_execution_seconds: float | None = None
    skill_score: StrictInt | None = None
    skill_tier: str | None = None


class Bid(_Model):
    bid_id: str | None = None
    task_id: str | None = None
    bid_credits: StrictInt | None = None
    status: str | None = None
    auction_closes_at: AwareDatetime | None = None


class Submission(_Model):
    submission_id: str | None = None
    error_code: str | None = None  # None: the result passed validation
    error_detail: str | None = None
    retries_left: StrictInt = 0
    status: str | None = None
    awarded_price: StrictInt | None = None

    @property
    def passed(self) -> bool:
        return self.error_code is None


class DeviceAuthorization(_Model):
    device_code: str = Field(repr=False)
    user_code: str
    verification_url: str
    verification_url_complete: str | None = None
    expires_in: StrictInt | None = None
    interval: StrictInt = 5


class DeviceGrant(_Model):
    api_key: str = Field(repr=False)
    webhook_secret: str | None = Field(default=None, repr=False)
    account_id: str | None = None


class DeviceDecision(_Model):
    user_code: str
    client_name: str | None = None
    state: str | None = None


class WebhookSecret(_Model):
    webhook_secret: str = Field(repr=False)
    previous_secret_expires_at: AwareDatetime | None = None


class Heartbeat(_Model):
    status: str | None = None
    min_sdk_version: str | None = None
    latest_sdk_version: str | None = None
    announcement: str | None = None


class Health(_Model):
    status: str


class GithubAuthorization(_Model):
    authorize_url: str
    state: str | None = None


class GithubLink(_Model):
    linked: StrictBool = False
    github_login: str | None = None
    github_credit_score: StrictInt | None = None
    refreshed_at: AwareDatetime | None = None


# ---------------------------------------------------------------------------------------------
# Plumbing


async def _call[M: BaseModel](
    api: NexusTokenAPI | None,
    method: str,
    path: str,
    model: type[M],
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    upstream: http.Upstream = UPSTREAM,
) -> M:
    headers = api.headers if api else None
    response = await http.request(upstream, method, path, headers=headers, json=json, params=params)
    return http.validate(upstream, model, response.body, where=f"{method} {path}")


async def _list[M: BaseModel](
    api: NexusTokenAPI, path: str, model: type[M], *, params: dict[str, Any] | None = None
) -> list[M]:
    response = await http.request(UPSTREAM, "GET", path, headers=api.headers, params=params)
    return http.validate_list(UPSTREAM, model, response.body, where=f"GET {path}")


# ---------------------------------------------------------------------------------------------
# System and accounts


# GET /api/v1/heartbeat (no auth)
async def heartbeat() -> Heartbeat:
    return await _call(None, "GET", "/heartbeat", Heartbeat)


# GET /health (no auth)
async def health() -> Health:
    return await _call(None, "GET", "/health", Health, upstream=ROOT)


# POST /api/v1/auth/register (no auth)
async def account_register(*, email: str, source: str = "dashboard") -> Registration:
    return await _call(None, "POST", "/auth/register", Registration, json={"email": email, "source": source})


# POST /api/v1/auth/rotate-key: the old key stops working at once
async def key_rotate(api: NexusTokenAPI) -> Registration:
    return await _call(api, "POST", "/auth/rotate-key", Registration)


# POST /api/v1/auth/recover (no auth): a verification code goes to the account's owner
async def key_recover(*, email: str) -> KeyRecovery:
    return await _call(None, "POST", "/auth/recover", KeyRecovery, json={"email": email})


# POST /api/v1/auth/verify-recover (no auth): a new key; every old one is invalidated
async def key_verify_recover(*, email: str, code: str) -> Registration:
    body = {"email": email, "code": code}
    return await _call(None, "POST", "/auth/verify-recover", Registration, json=body)


# GET /api/v1/account/reputation
async def reputation(api: NexusTokenAPI) -> Reputation:
    return await _call(api, "GET", "/account/reputation", Reputation)


# POST /api/v1/account/webhook-secret/rotate (extension): the old secret stays valid for a grace period
async def webhook_secret_rotate(api: NexusTokenAPI) -> WebhookSecret:
    return await _call(api, "POST", "/account/webhook-secret/rotate", WebhookSecret)


# ---------------------------------------------------------------------------------------------
# Tasks


# POST /api/v1/tasks (the whole budget is frozen at creation)
async def task_create(
    api: NexusTokenAPI,
    *,
    input_data: str,
    validation_schema: dict[str, Any],
    example_output: dict[str, Any],
    max_budget_credits: int,
    task_type: str = "json_extraction",
    validation_rules: list[Any] | None = None,
    max_execution_seconds: int = 120,
    quality_preference: str = "balanced",
    min_skill_rating: int = 0,
    callback_url: str | None = None,
    pending_pool_hours: int | None = None,
    auto_retry: int | None = None,
) -> Task:
    body: dict[str, Any] = {
        "task_type": task_type,
        "input_data": input_data,
        "validation_schema": validation_schema,
        "validation_rules": validation_rules or [],
        "example_output": example_output,
        "max_budget_credits": max_budget_credits,
        "max_execution_seconds": max_execution_seconds,
        "quality_preference": quality_preference,
        "min_skill_rating": min_skill_rating,
    }
    # Seed-only fields (the SDK never sends them): sent only when chosen, like callback_url.
    optional = {
        "callback_url": callback_url,
        "pending_pool_hours": pending_pool_hours,
        "auto_retry": auto_retry,
    }
    body.update({key: value for key, value in optional.items() if value is not None and value != ""})
    return await _call(api, "POST", "/tasks", Task, json=body)


# GET /api/v1/tasks/available: open tasks of other accounts
async def task_list_available(api: NexusTokenAPI) -> list[Task]:
    return await _list(api, "/tasks/available", Task)


# GET /api/v1/tasks?mine=1 (extension): the account's own tasks, newest first
async def task_list_mine(api: NexusTokenAPI) -> list[Task]:
    return await _list(api, "/tasks", Task, params={"mine": 1})


# GET /api/v1/tasks/{id}
async def task_get(api: NexusTokenAPI, *, task_id: str) -> Task:
    return await _call(api, "GET", f"/tasks/{task_id}", Task)


# DELETE /api/v1/tasks/{id}: only while BIDDING or PENDING_POOL; refunds the budget
async def task_cancel(api: NexusTokenAPI, *, task_id: str) -> Task:
    return await _call(api, "DELETE", f"/tasks/{task_id}", Task)


# POST /api/v1/tasks/{id}/bid
async def task_bid(api: NexusTokenAPI, *, task_id: str, bid_credits: int) -> Bid:
    return await _call(api, "POST", f"/tasks/{task_id}/bid", Bid, json={"bid_credits": bid_credits})


# POST /api/v1/tasks/{id}/submit (a failed validation is a 200 with error_code set)
async def task_submit(api: NexusTokenAPI, *, task_id: str, result_data: dict[str, Any]) -> Submission:
    path = f"/tasks/{task_id}/submit"
    return await _call(api, "POST", path, Submission, json={"result_data": result_data})


# ---------------------------------------------------------------------------------------------
# Credits


# GET /api/v1/credits/balance
async def credits_balance(api: NexusTokenAPI) -> Balance:
    return await _call(api, "GET", "/credits/balance", Balance)


# POST /api/v1/credits/topup (simulated payment)
async def credits_topup(api: NexusTokenAPI, *, amount_credits: int) -> Balance:
    return await _call(api, "POST", "/credits/topup", Balance, json={"amount_credits": amount_credits})


# POST /api/v1/credits/stripe/create-session
async def credits_checkout_create(
    api: NexusTokenAPI, *, amount_credits: int, success_url: str, cancel_url: str
) -> CheckoutSession:
    body = {"amount_credits": amount_credits, "success_url": success_url, "cancel_url": cancel_url}
    return await _call(api, "POST", "/credits/stripe/create-session", CheckoutSession, json=body)


# GET /api/v1/credits/stripe/session/{id} (extension): whether the checkout was paid
async def credits_checkout_get(api: NexusTokenAPI, *, session_id: str) -> CheckoutSession:
    return await _call(api, "GET", f"/credits/stripe/session/{session_id}", CheckoutSession)


# GET /api/v1/credits/credit-info
async def credits_info(api: NexusTokenAPI) -> CreditInfo:
    return await _call(api, "GET", "/credits/credit-info", CreditInfo)


# POST /api/v1/credits/repay
async def credits_repay(api: NexusTokenAPI, *, amount_credits: int | None = None) -> Balance:
    body = {} if amount_credits is None else {"amount_credits": amount_credits}
    return await _call(api, "POST", "/credits/repay", Balance, json=body)


# ---------------------------------------------------------------------------------------------
# Capabilities


# POST /api/v1/capabilities (fields: name, category, input_mode, output_mode, price_nc, …)
async def capability_create(api: NexusTokenAPI, **fields: Any) -> Capability:
    return await _call(api, "POST", "/capabilities", Capability, json=fields)


# GET /api/v1/capabilities: the account's own
async def capability_list(api: NexusTokenAPI) -> list[Capability]:
    return await _list(api, "/capabilities", Capability)


# GET /api/v1/capabilities/browse (filters: category, input_mode, output_mode, max_price, tag, page, …)
async def capability_browse(api: NexusTokenAPI, **filters: Any) -> list[Capability]:
    return await _list(api, "/capabilities/browse", Capability, params=filters)


# GET /api/v1/capabilities/{id}/stats
async def capability_stats(api: NexusTokenAPI, *, capability_id: str) -> CapabilityStats:
    return await _call(api, "GET", f"/capabilities/{capability_id}/stats", CapabilityStats)


# PATCH /api/v1/capabilities/{id}/availability
async def capability_set_availability(
    api: NexusTokenAPI, *, capability_id: str, is_available: bool
) -> Capability:
    path = f"/capabilities/{capability_id}/availability"
    return await _call(api, "PATCH", path, Capability, json={"is_available": is_available})


# ---------------------------------------------------------------------------------------------
# OAuth: GitHub credit and the device flow


# GET /api/v1/oauth/github/authorize
async def github_authorize(api: NexusTokenAPI) -> GithubAuthorization:
    return await _call(api, "GET", "/oauth/github/authorize", GithubAuthorization)


# GET /api/v1/oauth/github/callback (no auth): where GitHub sends the browser back after authorize.
# The signed `state` from github_authorize says which account to link; `code` is GitHub's grant.
async def github_callback(*, code: str, state: str) -> GithubLink:
    params = {"code": code, "state": state}
    return await _call(None, "GET", "/oauth/github/callback", GithubLink, params=params)


# POST /api/v1/oauth/github/link (fields: github_login or code)
async def github_link(api: NexusTokenAPI, **fields: Any) -> GithubLink:
    return await _call(api, "POST", "/oauth/github/link", GithubLink, json=fields)


# POST /api/v1/oauth/github/refresh
async def github_refresh(api: NexusTokenAPI) -> GithubLink:
    return await _call(api, "POST", "/oauth/github/refresh", GithubLink)


# POST /api/v1/oauth/device/authorize (no auth)
async def device_authorize(*, client_name: str) -> DeviceAuthorization:
    body = {"client_name": client_name}
    return await _call(None, "POST", "/oauth/device/authorize", DeviceAuthorization, json=body)


# POST /api/v1/oauth/device/token (no auth): 428 pending, 429 slow down, 410 expired or denied
async def device_token(*, device_code: str) -> DeviceGrant:
    body = {"device_code": device_code}
    try:
        return await _call(None, "POST", "/oauth/device/token", DeviceGrant, json=body)
    except RateLimitError:
        raise DevicePending(UPSTREAM.name, slow_down=True) from None
    except APIError as exc:
        if exc.status == 428:
            raise DevicePending(UPSTREAM.name) from None
        if exc.status == 410:
            # 410 covers both "expired" and "denied"; the contract gives no way to tell them apart.
            raise DeviceFlowError(UPSTREAM.name, code="gone") from None
        raise


# POST /api/v1/oauth/device/approve (extension): the signed-in account approves or denies a code
async def device_approve(api: NexusTokenAPI, *, user_code: str, approve: bool = True) -> DeviceDecision:
    body = {"user_code": user_code, "approve": approve}
    return await _call(api, "POST", "/oauth/device/approve", DeviceDecision, json=body)
