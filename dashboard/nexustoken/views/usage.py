"""Usage: this month's spend against the budget, the budget settings, the charts over a chosen date
range, and the spend of that range as a CSV download.

Everything here is the dashboard's own record (tasks posted through it), so the page needs no
upstream call and works while NexusToken is down.
"""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

from dashboard.audit import record
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.core.sections import menu_section

from .. import budgets, charts, exports, usage_range
from ..forms.credits import BudgetForm


def _save_budget(request: AuthenticatedRequest, form: BudgetForm) -> None:
    with transaction.atomic():
        budget = budgets.budget_for(request.user)
        before = budget.monthly_limit
        budget.monthly_limit = form.cleaned_data["monthly_limit"]
        budget.thresholds = form.cleaned_data["thresholds"]
        budget.save(update_fields=["monthly_limit", "thresholds", "updated_at"])
        detail = {
            "from": None if before is None else str(before),
            "to": None if budget.monthly_limit is None else str(budget.monthly_limit),
            "thresholds": [str(threshold) for threshold in budget.thresholds],
        }
        record(request, "budget.change", detail=detail)
    if budget.monthly_limit:
        messages.success(request, f"Monthly limit set to {budget.monthly_limit} NC.")
    else:
        messages.success(request, "Monthly limit removed: tasks are no longer checked against a budget.")


@menu_section("credits")
@login_required
def usage(request: AuthenticatedRequest) -> HttpResponse:
    status = 200
    if request.method == "POST" and pages.action_name(request, "save_budget"):
        form = BudgetForm(request.POST)
        if form.is_valid():
            _save_budget(request, form)
            return pages.go(request, reverse("nexustoken:credits_usage"))
        status = 400
    else:
        # Reading the page creates nothing: a user without a row sees the defaults.
        budget = budgets.saved_budget(request.user)
        initial = {
            "monthly_limit": budget.monthly_limit,
            "thresholds": ", ".join(map(str, budget.thresholds)),
        }
        form = BudgetForm(initial=initial)

    range_form = usage_range.RangeForm(request.GET)
    period = usage_range.chosen(range_form)
    if range_form.errors and status == 200:
        status = 400  # the page still shows, with the default range and the sentence
    spend = budgets.month_spend(request.user)
    settled = charts.settled_tasks(request.user)  # read once for the three spend charts
    context = {
        "form": form,
        "spend": spend,
        "overrides": budgets.overrides(request.user),
        "range_form": range_form,
        "period": period,
        # The radio the person picked stays picked, even when the range it asked for was refused.
        "selected_range": range_form.data.get("range") or period.key,
        "export_query": _range_query(period),
        "spend_chart": charts.spend_chart(
            request.user, limit=spend.limit, first=period.first, today=period.last, settled=settled
        ),
        "type_chart": charts.spend_by_type(request.user, period.start(), period.end(), settled),
        "status_chart": charts.status_chart(request.user),
        "price_chart": charts.price_chart(request.user, settled),
    }
    return pages.page(request, "nexustoken/usage.html", context, status=status)


def _range_query(period: usage_range.Range) -> str:
    if period.key == "custom":
        return f"range=custom&start={period.first.isoformat()}&end={period.last.isoformat()}"
    return f"range={period.key}"


@login_required
async def usage_export(request: AuthenticatedRequest) -> HttpResponseBase:
    """The chosen range's spend, one row per task, as CSV. A bad range gets the sentence, not a file."""
    range_form = usage_range.RangeForm(request.GET)
    if not range_form.is_valid():
        problems = " ".join(str(error) for errors in range_form.errors.values() for error in errors)
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    period = usage_range.chosen(range_form)
    rows = exports.spend_rows(usage_range.spend_tasks(request.user, period))
    return exports.csv_download(rows, f"spend_{period.filename_part}.csv")
