"""/credits/purchases/: every Stripe checkout started from the dashboard, and a printable receipt per
paid one. The list is the dashboard's own ledger; the receipt states what NexusToken says about the
session now, not only what the ledger recorded. Another user's purchase is a 404, as a made-up one."""

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponse

from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.sections import menu_section
from dashboard.services import nexustoken
from dashboard.services.nexustoken import NexusTokenAPI

from .. import purchases
from ..models import Purchase

PER_PAGE = 25


@sync_to_async
def _page(user: User, number: str | None) -> Page[Purchase]:
    rows = Purchase.objects.filter(user=user).order_by("-created_at", "-pk")
    page = Paginator(rows, PER_PAGE).get_page(number)
    page.object_list = list(page.object_list)  # fetched here: the template renders in async code
    return page


@menu_section("credits")
@pages.nexustoken_page
async def purchase_list(request: AuthenticatedRequest, api: NexusTokenAPI) -> HttpResponse:
    # Checkouts left open (a closed tab, a declined card) are asked about first, so none shows as
    # waiting for payment after its session ended. A failed question leaves them as they were.
    await purchases.settle_open(api, request.user)
    page_obj = await _page(request.user, request.GET.get("page"))
    return pages.page(request, "nexustoken/purchases.html", {"page_obj": page_obj})


@menu_section("credits")
@pages.nexustoken_page
async def purchase_receipt(
    request: AuthenticatedRequest, api: NexusTokenAPI, purchase_id: int
) -> HttpResponse:
    purchase = await Purchase.objects.filter(
        pk=purchase_id, user=request.user, status=Purchase.Status.PAID
    ).afirst()
    if purchase is None:
        raise Http404("No paid purchase of yours has that number.")
    (session,) = await pages.load(nexustoken.credits_checkout_get(api, session_id=purchase.session_id))
    context = {
        "purchase": purchase,
        "session": session,
        "confirmed": session.status == Purchase.Status.PAID,
        "buyer": request.connections["nexustoken"],
        "seller": "Nexus Dashboard",
    }
    return pages.page(request, "nexustoken/receipt.html", context)
