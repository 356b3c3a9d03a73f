"""/tasks/new/: post a task (checked before it is sent), and the templates to post the same kind again.

One page, several actions picked by the submit button: `post`, `check` (validate and show the seed's
tips without sending), `use_starter` (fill the empty fields from the chosen type's starter; with
`replace_starter` also the ones a person typed, after the page asked), `save_template`,
`post_template` (post a template with its saved input text: one step), `delete_template`.
"""

from contextlib import suppress
from typing import Any

from asgiref.sync import sync_to_async
from django.db import IntegrityError
from django.http import HttpResponse
from django.urls import reverse

from dashboard.accounts.models import Service
from dashboard.audit import Audit
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.sections import menu_section
from dashboard.services import nexustoken as nt
from dashboard.services.errors import APIError, AuthError, RateLimitError, UpstreamError

from .. import starters
from ..budgets import anote_spend, arelease, areserve, month_spend
from ..forms.tasks import MIN_BUDGET, SETTING_NAMES, TaskForm, TemplateForm, worst_case_fee
from ..models import Origin, TaskTemplate
from ..recording import acreate_record
from ..webhooks import acallback_url
from .task_access import task_for_user, template_for_user

TEMPLATE = "nexustoken/task_new.html"
# Upstream's long field names (in its 422 details) -> this form's short ones.
FORM_FIELD = {
    "input_data": "input_data",
    "validation_schema": "schema",
    "schema": "schema",
    "example_output": "example_output",
    "validation_rules": "rules",
    "max_budget_credits": "budget",
    "max_execution_seconds": "max_seconds",
    "quality_preference": "quality_preference",
    "min_skill_rating": "min_skill_rating",
    "pending_pool_hours": "pending_pool_hours",
    "auto_retry": "auto_retry",
    "task_type": "task_type",
}


async def _initial(request: AuthenticatedRequest) -> dict[str, Any]:
    """Prefill from a template (?template=<id>) or from an earlier task (?from=<task id>: post again)."""
    if template_id := request.GET.get("template"):
        template = await template_for_user(request, template_id)
        source = {"schema": template.schema, "example_output": template.example_output}
        return {
            **source,
            "input_data": template.input_data,
            "rules": template.rules,
            "budget": template.default_budget,
            "task_type": template.task_type,
            **template.settings,
        }
    if task_id := request.GET.get("from"):
        task = await task_for_user(request, task_id)
        names = ("task_type", "input_data", "schema", "example_output", "rules", "budget", *SETTING_NAMES)
        return {name: getattr(task, name) for name in names}
    return {}


async def _balance(request: AuthenticatedRequest, api: nt.NexusTokenAPI) -> tuple[nt.Balance | None, str]:
    """The balance beside the budget; a failure is said next to it, and the form stays usable."""
    try:
        return await nt.credits_balance(api), ""
    except UpstreamError as error:
        await pages.record_failure(request, error)
        return None, pages.error_message(error)


def _power(balance: nt.Balance | None) -> int | None:
    if balance is None:
        return None
    return balance.purchasing_power if balance.purchasing_power is not None else balance.credits_balance


def _budget_shown(form: TaskForm) -> int:
    """The budget the cost line is about: what was typed if it is a number, else the default."""
    try:
        return max(MIN_BUDGET, int(form["budget"].value()))
    except (TypeError, ValueError):
        default: int = form.fields["budget"].initial
        return default


async def _render(
    request: AuthenticatedRequest,
    api: nt.NexusTokenAPI,
    form: TaskForm,
    *,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    balance, balance_error = await _balance(request, api)
    budget = _budget_shown(form)
    templates = [template async for template in TaskTemplate.objects.filter(user=request.user)]
    spend = await sync_to_async(month_spend)(request.user)
    chosen_type = form["task_type"].value() or form.fields["task_type"].initial
    context = {
        "form": form,
        "templates": templates,
        # Named again beside the buttons: on a phone the first error is a long scroll away from them.
        "problems": [form[name] for name in form.errors if name in form.fields],
        # The limit, what is left of it and what the override does are said before posting, not
        # only after a refusal (the override means something only to someone who set a limit).
        "spend_limit": spend.limit,
        "spend": spend,
        "starters": starters.for_page(),
        "starter": starters.STARTERS.get(str(chosen_type)),
        "balance": balance,
        "power": _power(balance),
        "balance_error": balance_error,
        "budget": budget,
        "fee": worst_case_fee(budget),
        "worst_case": budget + worst_case_fee(budget),
        **extra,
    }
    return pages.page(request, TEMPLATE, context, status=status)


def _explain_forbidden(error: AuthError) -> str:
    text = (error.message or "").lower()
    if "frozen" in text:
        return (
            "Your NexusToken account is frozen: its reputation fell below -10, so it may not post "
            "tasks. Contact NexusToken support to have it reviewed."
        )
    if "suspend" in text or "debt" in text:
        return (
            "NexusToken suspended your account: a debt has been unpaid for 7 days or more. Repay it "
            "on the Credits page, then post the task again."
        )
    return pages.error_message(error)


def _place_refusal(form: TaskForm, error: UpstreamError) -> None:
    """Put NexusToken's refusal of the task next to the field it is about, or above the form."""
    if isinstance(error, APIError) and error.status in (400, 409, 422):
        placed = False
        for field, messages in error.field_errors.items():
            form.add_error(FORM_FIELD.get(field.split(".")[0]), messages)
            placed = True
        if not placed:
            form.add_error(None, error.user_message)
    elif isinstance(error, APIError) and error.status == 402:
        form.add_error("budget", error.user_message)
    elif isinstance(error, AuthError) and not error.is_unauthenticated:
        form.add_error(None, _explain_forbidden(error))
    elif isinstance(error, RateLimitError):
        form.add_error(None, f"{error.user_message} NexusToken allows 60 new tasks a minute.")
    else:
        form.add_error(None, f"{pages.error_message(error)} The task was not posted.")


async def _create(request: AuthenticatedRequest, api: nt.NexusTokenAPI, form: TaskForm) -> nt.Task | None:
    data = form.cleaned_data
    call = nt.task_create(
        api,
        task_type=data["task_type"],
        input_data=data["input_data"],
        validation_schema=data["schema"],
        example_output=data["example_output"],
        validation_rules=data["rules"],
        max_budget_credits=data["budget"],
        max_execution_seconds=data["max_seconds"],
        quality_preference=data["quality_preference"],
        min_skill_rating=data["min_skill_rating"],
        pending_pool_hours=data["pending_pool_hours"],
        auto_retry=data["auto_retry"],
        callback_url=await acallback_url(request.connections[Service.NEXUSTOKEN]),
    )
    # The type and budget only: the input text is the user's data, not the log's.
    audit = Audit(
        "task.post",
        detail={"task_type": data["task_type"], "budget": str(data["budget"])},
        from_result=lambda task: {"target": task.id},
    )
    try:
        task = await call
    except UpstreamError as error:
        await audit.not_done(request, error)
        await pages.record_failure(request, error)
        _place_refusal(form, error)
        return None
    await audit.done(request, task)
    return task


async def _post(
    request: AuthenticatedRequest, api: nt.NexusTokenAPI, data: dict[str, Any] | None = None
) -> HttpResponse:
    form = TaskForm(request.POST if data is None else data)
    if not form.is_valid():
        return await _render(request, api, form, status=400)
    budget = form.cleaned_data["budget"]
    balance, _ = await _balance(request, api)
    power = _power(balance)
    if power is not None and budget > power:
        form.add_error(
            "budget",
            f"Your account can pay at most {power} NC now (balance plus credit line). "
            "Lower the budget or top up credits.",
        )
        return await _render(request, api, form, status=400)
    # Set aside before the upstream call, in one step with the decision: see budgets.reserve.
    reserved = await areserve(request.user, budget, override=form.cleaned_data["override_budget"])
    if reserved.reservation is None:
        form.add_error("budget", reserved.verdict.message)
        return await _render(request, api, form, status=400)
    # A post cut short (the browser went away mid-call) may have reached NexusToken: its
    # reservation is kept until it lapses (budgets.RESERVATION_LIFETIME) rather than released.
    upstream = await _create(request, api, form)
    if upstream is None:  # refused or failed upstream: nothing was frozen there
        await arelease(reserved.reservation)
        return await _render(request, api, form, status=400)
    settings = form.settings_values()
    await acreate_record(
        request.user,
        upstream,
        origin=Origin.POSTED,
        reservation=reserved.reservation,
        pending_pool_hours=settings["pending_pool_hours"],
        auto_retry=settings["auto_retry"],
    )
    await anote_spend(request.user)
    return pages.go(request, reverse("nexustoken:task_detail", args=[upstream.id]), same_page=False)


async def _save_template(request: AuthenticatedRequest, api: nt.NexusTokenAPI) -> HttpResponse:
    data = request.POST.copy()
    data["name"], data["default_budget"] = data.get("template_name", ""), data.get("budget", "")
    template_form = TemplateForm(data)
    form = TaskForm(initial=request.POST.dict())  # unbound: saving a template judges no input text
    if not template_form.is_valid():
        return await _render(request, api, form, status=400, template_form=template_form)
    values = template_form.cleaned_data
    fields = {
        "task_type": values["task_type"],
        # The input text is kept too, so the template posts again in one step.
        "input_data": request.POST.get("input_data", ""),
        "schema": values["schema"],
        "example_output": values["example_output"],
        "rules": values["rules"],
        "default_budget": values["default_budget"],
        "settings": template_form.settings_values(),
    }
    # The same name saved twice at once: the other save won, which is what the user asked for too.
    with suppress(IntegrityError):
        await TaskTemplate.objects.aupdate_or_create(user=request.user, name=values["name"], defaults=fields)
    return await _render(request, api, form, saved=values["name"])


async def _use_starter(
    request: AuthenticatedRequest, api: nt.NexusTokenAPI, *, replace: bool
) -> HttpResponse:
    """The no-JS starter: fill only empty fields; name the typed ones and offer to replace them."""
    current = request.POST.dict()
    starter = starters.STARTERS.get(current.get("task_type", ""))
    if starter is None:
        form = TaskForm(request.POST)
        form.is_valid()
        return await _render(request, api, form, status=400)
    filled = starters.fill(current, starter, replace=replace)
    form = TaskForm(initial=filled.values)
    kept = [form[name].label for name in filled.kept]
    return await _render(request, api, form, starter_used=starter, starter_kept=kept)


def _template_post(template: TaskTemplate) -> dict[str, Any]:
    """A template as the form's POST: its input text, schema, example, rules, budget and settings.
    The override is never implied: a template over the limit is refused like a typed task."""
    return {
        "task_type": template.task_type,
        "input_data": template.input_data,
        "schema": template.schema,
        "example_output": template.example_output,
        "rules": template.rules,
        "budget": template.default_budget,
        **template.settings,
    }


@menu_section("tasks")
@pages.nexustoken_page
async def task_new(request: AuthenticatedRequest, api: nt.NexusTokenAPI) -> HttpResponse:
    if request.method != "POST":
        # ?delete_template=<id> is the no-JS confirmation of a delete: the page with its dialog open.
        confirm = request.GET.get("delete_template")
        extra = {"confirm_delete": (await template_for_user(request, confirm)).pk} if confirm else {}
        return await _render(request, api, TaskForm(initial=await _initial(request)), **extra)
    action = pages.action_name(
        request,
        "post",
        "check",
        "use_starter",
        "replace_starter",
        "save_template",
        "post_template",
        "delete_template",
    )
    if action == "post":
        return await _post(request, api)
    if action in ("use_starter", "replace_starter"):
        return await _use_starter(request, api, replace=action == "replace_starter")
    if action == "post_template":
        template = await template_for_user(request, request.POST.get("template_id", ""))
        return await _post(request, api, _template_post(template))
    if action == "save_template":
        return await _save_template(request, api)
    if action == "delete_template":
        template = await template_for_user(request, request.POST.get("template_id", ""))
        await template.adelete()
        return pages.go(request, reverse("nexustoken:task_new"))
    form = TaskForm(request.POST)
    valid = form.is_valid()
    return await _render(request, api, form, status=200 if valid else 400, checked=valid)
