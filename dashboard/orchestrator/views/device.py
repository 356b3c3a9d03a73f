"""Device approval: a CLI or worker shows a code, the signed-in user approves or denies it here.

Before the decision the page says which client asks (the orchestrator's lookup extension), so a
user tricked into typing someone else's code can see it is not their own CLI.
"""

from collections.abc import Awaitable
from typing import Any

from django.http import HttpResponse

from dashboard.accounts.models import Service
from dashboard.audit import Audit
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import Outcome, action_name, nexical_page, page, refusal
from dashboard.services import nexical
from dashboard.services.errors import APIError, UpstreamError
from dashboard.services.nexical import DeviceLookup, NexicalAPI

from ..forms import DeviceCodeForm

# What the orchestrator says about a code it will not decide on, in the user's words.
CODE_REFUSALS = {
    404: "This code is unknown or has expired. Start the sign-in again on your device.",
    409: "This code was already approved or denied.",
}


@nexical_page
async def device_verify(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    step = "enter"
    outcome: Outcome[Any] = Outcome(ok=True)
    client_id = ""
    lookup: DeviceLookup | None = None
    data = request.POST if request.method == "POST" else None
    form = DeviceCodeForm(data, initial={"user_code": request.GET.get("user_code", "")})
    action = action_name(request, "review", "approve", "deny")

    if action and form.is_valid():
        user_code = form.cleaned_data["user_code"]
        if action == "review":
            outcome, lookup = await _look_up(request, api, user_code, form)
            if outcome.ok:
                step = "confirm"
        else:
            call: Awaitable[str | None]  # approving names the client; denying returns nothing
            if action == "approve":
                call = nexical.device_approve(api, user_code=user_code)
            else:
                call = nexical.device_deny(api, user_code=user_code)
            audit = Audit(f"device.{action}", from_result=lambda client: {"target": client or ""})
            outcome = await _decide(request, call, form, audit)
            if outcome.ok:
                step = "approved" if action == "approve" else "denied"
                client_id = outcome.value or ""
    elif action:
        outcome = Outcome(ok=False, status=400)

    connection = request.connections[Service.NEXICAL]
    context = {
        "form": form,
        "step": step,
        "client_id": client_id,
        "lookup": lookup,
        "account": connection.account_label,
        "error": outcome.message,
    }
    return page(request, "orchestrator/device.html", context, status=outcome.status)


async def _look_up(
    request: AuthenticatedRequest, api: NexicalAPI, user_code: str, form: DeviceCodeForm
) -> tuple[Outcome[None], DeviceLookup | None]:
    """Which client asks: (ok, its lookup), (ok, None) when the orchestrator cannot say, or a refusal."""
    try:
        lookup = await nexical.device_lookup(api, user_code=user_code)
    except APIError as error:
        if error.status == 404 and await nexical.device_lookup_supported(api):
            form.add_error("user_code", CODE_REFUSALS[404])
            return Outcome(ok=False, status=400), None
        if error.is_missing_endpoint:
            return Outcome(ok=True), None
        return await refusal(request, error, form=form), None
    except UpstreamError as error:
        return await refusal(request, error, form=form), None
    if lookup.status != "pending":
        form.add_error("user_code", CODE_REFUSALS[409])
        return Outcome(ok=False, status=400), None
    return Outcome(ok=True), lookup


async def _decide(
    request: AuthenticatedRequest, call: Awaitable[str | None], form: DeviceCodeForm, audit: Audit
) -> Outcome[str | None]:
    """Approve or deny; a code the orchestrator will not decide on is a mistake in the code field."""
    try:
        client = await call
    except UpstreamError as error:
        await audit.not_done(request, error)
        if isinstance(error, APIError) and error.status in CODE_REFUSALS:
            form.add_error("user_code", CODE_REFUSALS[error.status])
            return Outcome(ok=False, status=400)
        return await refusal(request, error, form=form)
    await audit.done(request, client)
    return Outcome(ok=True, value=client)
