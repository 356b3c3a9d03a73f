"""The credits page (balance, credit line, debt, rating, top-up, repay, GitHub credit) and the
page Stripe checkout returns to."""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.csp import build_policy
from django_htmx.http import HttpResponseClientRedirect

from dashboard.audit import Audit
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.sections import menu_section
from dashboard.services import nexustoken
from dashboard.services.nexustoken import Balance, GithubLink, NexusTokenAPI

from .. import purchases
from ..forms.credits import TOP_UP_PRESETS, DevTopUpForm, GithubLinkForm, RepayForm, TopUpForm
from ..models import SUSPENSION_DAYS, Purchase, dollars

BAD_CHECKOUT_LINK = "NexusToken answered with a payment link the dashboard will not open. Try again later."


@dataclass
class CreditForms:
    """Every form of the page: the one that was posted comes back bound, with its errors."""

    top_up: TopUpForm = field(default_factory=TopUpForm)
    repay: RepayForm = field(default_factory=lambda: RepayForm(prefix="repay"))
    dev: DevTopUpForm = field(default_factory=lambda: DevTopUpForm(prefix="dev"))
    github: GithubLinkForm = field(default_factory=lambda: GithubLinkForm(prefix="github"))


def dev_top_up_allowed() -> bool:
    allowed: bool = settings.NEXUSTOKEN_DEV_TOPUP
    return allowed


# Hosted NexusToken sends payers to Stripe's checkout; the sandbox serves its fake one itself.
STRIPE_CHECKOUT = "https://checkout.stripe.com"


def checkout_origins() -> list[str]:
    """Where the top-up form's redirect may lead: Stripe, or the upstream's own checkout page."""
    parts = urlsplit(settings.NEXUSTOKEN_API_URL)
    return [f"{parts.scheme}://{parts.netloc}", STRIPE_CHECKOUT]


def allow_checkout_redirect(response: HttpResponse) -> HttpResponse:
    # Browsers apply CSP form-action to the redirect a form post answers with: the top-up form's
    # 302 to the checkout page would be blocked under the site-wide 'self'.
    form_action = [*settings.SECURE_CSP["form-action"], *checkout_origins()]
    response.headers["Content-Security-Policy"] = build_policy(
        {**settings.SECURE_CSP, "form-action": form_action}
    )
    return response


async def _checkout(
    request: AuthenticatedRequest, api: NexusTokenAPI, forms: CreditForms
) -> pages.ActionResult:
    forms.top_up = form = TopUpForm(request.POST)
    if not form.is_valid():
        return pages.INVALID
    amount = form.cleaned_data["amount_credits"]
    back = request.build_absolute_uri(reverse("nexustoken:credits_checkout"))
    call = nexustoken.credits_checkout_create(
        api, amount_credits=amount, success_url=back, cancel_url=f"{back}?cancelled=1"
    )
    audit = Audit("credits.checkout", target=f"{amount} NC", detail={"amount_credits": amount})
    outcome = await pages.attempt(request, call, form=form, audit=audit)
    if not outcome.ok:
        return outcome
    session = outcome.result
    if urlsplit(session.checkout_url).scheme not in ("http", "https"):
        return pages.Outcome(ok=False, message=BAD_CHECKOUT_LINK, status=502)
    await purchases.start_checkout(request.user, session, amount)
    if request.htmx:
        return HttpResponseClientRedirect(session.checkout_url)
    return redirect(session.checkout_url)


async def _repay(
    request: AuthenticatedRequest, api: NexusTokenAPI, forms: CreditForms
) -> pages.Outcome[Balance]:
    forms.repay = form = RepayForm(request.POST, prefix="repay")
    if not form.is_valid():
        return pages.INVALID
    amount = form.cleaned_data["amount_credits"]
    audit = Audit("credits.repay", target=f"{amount} NC", detail={"amount_credits": amount})
    call = nexustoken.credits_repay(api, amount_credits=amount)
    outcome = await pages.attempt(request, call, form=form, audit=audit)
    if outcome.ok:
        messages.success(
            request, f"Repaid {outcome.result.repaid} NC. Remaining debt: {outcome.result.debt or 0} NC."
        )
    return outcome


async def _dev_top_up(
    request: AuthenticatedRequest, api: NexusTokenAPI, forms: CreditForms
) -> pages.Outcome[Balance]:
    if not dev_top_up_allowed():
        return pages.Outcome(ok=False, message="Free top-ups are turned off on this dashboard.", status=403)
    forms.dev = form = DevTopUpForm(request.POST, prefix="dev")
    if not form.is_valid():
        return pages.INVALID
    amount = form.cleaned_data["amount_credits"]
    audit = Audit(
        "credits.topup", target=f"{amount} NC", detail={"amount_credits": amount, "simulated": True}
    )
    call = nexustoken.credits_topup(api, amount_credits=amount)
    outcome = await pages.attempt(request, call, form=form, audit=audit)
    if outcome.ok:
        messages.success(request, f"Added {outcome.result.added} NC (simulated, no payment).")
    return outcome


async def _github_link(
    request: AuthenticatedRequest, api: NexusTokenAPI, forms: CreditForms
) -> pages.Outcome[GithubLink]:
    forms.github = form = GithubLinkForm(request.POST, prefix="github")
    if not form.is_valid():
        return pages.INVALID
    call = nexustoken.github_link(api, github_login=form.cleaned_data["github_login"])
    audit = Audit("credits.github.link", target=form.cleaned_data["github_login"])
    outcome = await pages.attempt(request, call, form=form, conflict_field="github_login", audit=audit)
    if outcome.ok:
        messages.success(request, f"GitHub account {outcome.result.github_login} linked.")
    return outcome


async def _github_refresh(request: AuthenticatedRequest, api: NexusTokenAPI) -> pages.Outcome[GithubLink]:
    call = nexustoken.github_refresh(api)
    outcome = await pages.attempt(request, call, audit=Audit("credits.github.refresh"))
    if outcome.ok:
        messages.success(request, f"GitHub credit score refreshed: {outcome.result.github_credit_score}.")
    return outcome


@menu_section("credits")
@pages.nexustoken_page
async def credits_page(request: AuthenticatedRequest, api: NexusTokenAPI) -> HttpResponse:
    forms, outcome = CreditForms(), pages.Outcome[Any](ok=True)
    if request.method == "POST":
        action = pages.action_name(request, "checkout", "repay", "dev_topup", "github_link", "github_refresh")
        if action == "checkout":
            result = await _checkout(request, api, forms)
            if isinstance(result, HttpResponse):
                return result  # off to the payment page
            outcome = result
        elif action == "repay":
            outcome = await _repay(request, api, forms)
        elif action == "dev_topup":
            outcome = await _dev_top_up(request, api, forms)
        elif action == "github_link":
            outcome = await _github_link(request, api, forms)
        elif action == "github_refresh":
            outcome = await _github_refresh(request, api)
        if action and outcome.ok:
            return pages.go(request, reverse("nexustoken:credits"))

    # Open checkouts are settled in the same round trip: all reads finish before any error is raised.
    balance, info, _ = await pages.load(
        nexustoken.credits_balance(api),
        nexustoken.credits_info(api),
        purchases.settle_open(api, request.user),
    )
    recent = await sync_to_async(purchases.recent)(request.user, 10)
    context = {
        "balance": balance,
        "info": info,
        "days_left": max(0, SUSPENSION_DAYS - info.days_in_debt) if info.debt else None,
        "forms": forms,
        "presets": [(amount, dollars(amount)) for amount in TOP_UP_PRESETS],
        "purchases": recent,
        "dev_top_up": dev_top_up_allowed(),
        "error": outcome.message,
    }
    response = pages.page(request, "nexustoken/credits.html", context, status=outcome.status)
    return allow_checkout_redirect(response)


@menu_section("credits")
@pages.nexustoken_page
async def checkout_return(request: AuthenticatedRequest, api: NexusTokenAPI) -> HttpResponse:
    """Where checkout sends the browser back: the upstream, not the redirect, says what happened."""
    session_id = request.GET.get("session_id", "")
    purchase = await Purchase.objects.filter(user=request.user, session_id=session_id).afirst()
    if purchase is None:
        # Still a 404 (another user's checkout looks like a made-up one), but a page that says what
        # to do: people land here from the payment page, often signed in as someone else.
        return pages.page(request, "nexustoken/checkout_return.html", {"unknown": True}, status=404)
    session, balance = await pages.load(
        nexustoken.credits_checkout_get(api, session_id=session_id), nexustoken.credits_balance(api)
    )
    recorded = await purchases.record_checkout(purchase, session, balance, request)
    context = {"purchase": recorded.purchase, "newly": recorded.newly, "balance": balance}
    return pages.page(request, "nexustoken/checkout_return.html", context)
