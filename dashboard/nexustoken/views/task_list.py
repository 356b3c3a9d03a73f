"""/tasks/: the user's tasks (the dashboard's own record), and adding one posted with the SDK."""

from contextlib import suppress
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db import IntegrityError
from django.db.models import Q, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse

from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.core.sections import menu_section
from dashboard.services import nexustoken as nt
from dashboard.services.errors import APIError, UpstreamError

from .. import exports
from ..forms.tasks import AddTaskForm, ListFilters
from ..models import Origin, Task
from ..recording import acreate_record

PER_PAGE = 20
TEMPLATE = "nexustoken/tasks.html"


def _filtered(user: User, filters: ListFilters) -> QuerySet[Task]:
    """The user's tasks the list's filters keep (the page and its CSV export show the same ones)."""
    tasks = Task.objects.filter(user=user)
    if filters.is_valid():
        if filters.cleaned_data["status"]:
            tasks = tasks.filter(status=filters.cleaned_data["status"])
        if query := filters.cleaned_data["q"].strip():
            tasks = tasks.filter(
                Q(task_id__icontains=query) | Q(input_data__icontains=query) | Q(task_type__icontains=query)
            )
    return tasks.order_by("-created_at", "-pk")


@sync_to_async
def _listing(user: User, filters: ListFilters, number: str | None) -> Page[Task]:
    page = Paginator(_filtered(user, filters), PER_PAGE).get_page(number)
    page.object_list = list(page.object_list)  # fetched here: the template renders in async code
    return page


async def _render(request: AuthenticatedRequest, add_form: AddTaskForm, status: int = 200) -> HttpResponse:
    filters = ListFilters(request.GET)
    page_obj = await _listing(request.user, filters, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page_obj": page_obj,
        "filters": filters,
        "add_form": add_form,
        "query": query.urlencode(),
        "export_query": _filters_query(filters),
    }
    return pages.page(request, TEMPLATE, context, status=status)


async def _add(request: AuthenticatedRequest, api: nt.NexusTokenAPI) -> HttpResponse:
    form = AddTaskForm(request.POST)
    if not form.is_valid():
        return await _render(request, form, 400)
    task_id = form.cleaned_data["task_id"]
    if await Task.objects.filter(user=request.user, task_id=task_id).aexists():
        return pages.go(request, reverse("nexustoken:task_detail", args=[task_id]), same_page=False)
    try:
        upstream = await nt.task_get(api, task_id=task_id)
    except UpstreamError as error:
        await pages.record_failure(request, error)
        missing = isinstance(error, APIError) and error.is_not_found
        form.add_error(
            "task_id", "NexusToken has no task with that id." if missing else pages.error_message(error)
        )
        return await _render(request, form, pages.error_status(error))
    if upstream.is_mine is False:
        form.add_error("task_id", "That task was posted by another NexusToken account, not yours.")
        return await _render(request, form, 404)
    with suppress(IntegrityError):  # added twice at once: the other request recorded it
        await acreate_record(request.user, upstream, origin=Origin.ADDED)
    return pages.go(request, reverse("nexustoken:task_detail", args=[upstream.id]), same_page=False)


@menu_section("tasks")
@pages.nexustoken_page
async def task_list(request: AuthenticatedRequest, api: nt.NexusTokenAPI) -> HttpResponse:
    if request.method == "POST" and pages.action_name(request, "add"):
        return await _add(request, api)
    return await _render(request, AddTaskForm())


def _filters_query(filters: ListFilters) -> str:
    """The filters as the export link carries them (only valid ones: the list ignores the others)."""
    if not filters.is_valid():
        return ""
    kept = {name: value for name, value in filters.cleaned_data.items() if value}
    return urlencode(kept)


@login_required
async def task_export(request: AuthenticatedRequest) -> StreamingHttpResponse:
    """The tasks the list shows with the same filters, every page of them, as CSV."""
    tasks = _filtered(request.user, ListFilters(request.GET))
    return exports.csv_download(exports.task_rows(tasks), "tasks.csv")
