"""Every web request gets a time budget per upstream (UPSTREAM_PAGE_BUDGET seconds, retries
included), read by the service layer (dashboard.services.budget): a hung upstream costs a page a
few seconds and the sentence, never half a minute.

Opened here, around the view, so that every view is bounded, whether it goes through the page
layer (dashboard.core.pages) or calls upstream on its own (the connections cards, the webhook
receiver, /healthz). A streamed body is sent after the view returns and calls no upstream.
"""

from django.conf import settings
from django.http.response import HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from dashboard.services.budget import upstream_budget as _budget

from .http import DashboardRequest
from .middleware import GetResponse, is_async


@sync_and_async_middleware
def upstream_budget(get_response: GetResponse) -> GetResponse:
    if is_async(get_response):

        async def async_middleware(request: DashboardRequest) -> HttpResponseBase:
            with _budget(settings.UPSTREAM_PAGE_BUDGET):
                return await get_response(request)

        return async_middleware

    def middleware(request: DashboardRequest) -> HttpResponseBase:
        with _budget(settings.UPSTREAM_PAGE_BUDGET):
            return get_response(request)

    return middleware
