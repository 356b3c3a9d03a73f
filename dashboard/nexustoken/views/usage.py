"""Usage: this month's spend against the budget, the budget settings, and the charts.

Everything here is the dashboard's own record (tasks posted through it), so the page needs no
upstream call and works while NexusToken is down.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse

from dashboard.audit import record
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.sections import menu_section

from .. import budgets, charts
from ..forms.credits import BudgetForm
from ..models import Budget


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
        budget = Budget.objects.filter(user=request.user).first() or Budget(user=request.user)
        initial = {
            "monthly_limit": budget.monthly_limit,
            "thresholds": ", ".join(map(str, budget.thresholds)),
        }
        form = BudgetForm(initial=initial)

    spend = budgets.month_spend(request.user)
    context = {
        "form": form,
        "spend": spend,
        "overrides": budgets.overrides(request.user),
        "spend_chart": charts.spend_chart(request.user, limit=spend.limit),
        "status_chart": charts.status_chart(request.user),
        "price_chart": charts.price_chart(request.user),
    }
    return pages.page(request, "nexustoken/usage.html", context, status=status)
