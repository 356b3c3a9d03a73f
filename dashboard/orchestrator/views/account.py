"""Settings pages about the user's own Nexical account: API tokens and profile."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from dashboard.core.pages import Outcome, action_name, attempt, go, nexical_page, page
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI

from ..forms import IdForm, ProfileForm, TokenForm, blank_to_none


@never_cache  # a new token is shown in this response only: no cache may keep it
@nexical_page
async def api_tokens(request: HttpRequest, api: NexicalAPI) -> HttpResponse:
    form = TokenForm()
    outcome = Outcome(ok=True)
    created = None
    action = action_name(request, "generate", "revoke")

    if action == "generate":
        form = TokenForm(request.POST)
        if form.is_valid():
            call = nexical.token_create(
                api,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
            )
            outcome = await attempt(request, call, form=form, conflict_field="name")
            if outcome.ok:
                # The raw token lives only in this response: it is never stored nor shown again.
                created = outcome.value
                form = TokenForm()
        else:
            outcome = Outcome(ok=False, status=400)

    elif action == "revoke":
        id_form = IdForm(request.POST)
        if id_form.is_valid():
            outcome = await attempt(request, nexical.token_revoke(api, token_id=id_form.cleaned_data["id"]))
            if outcome.ok:
                messages.success(request, "Token revoked. Anything using it stops working now.")
                return go(request, reverse("api_tokens"))
        else:
            outcome = Outcome(ok=False, message="That token no longer exists. Reload the page.", status=400)

    tokens = await nexical.token_list(api)
    context = {"tokens": tokens, "form": form, "created": created, "error": outcome.message}
    return page(request, "orchestrator/tokens.html", context, status=outcome.status)


@nexical_page
async def profile(request: HttpRequest, api: NexicalAPI) -> HttpResponse:
    outcome = Outcome(ok=True)
    form = None
    if request.method == "POST" and action_name(request, "save"):
        form = ProfileForm(request.POST)
        if form.is_valid():
            # An emptied field clears it upstream (null); "" would be refused as a malformed URL.
            call = nexical.users_me_update(api, **blank_to_none(form.cleaned_data))
            outcome = await attempt(request, call, form=form)
            if outcome.ok:
                messages.success(request, "Profile saved.")
                return go(request, reverse("profile"))
        else:
            outcome = Outcome(ok=False, status=400)

    me = await nexical.users_me(api)
    if form is None:
        form = ProfileForm(initial={"full_name": me.full_name or "", "avatar_url": me.avatar_url or ""})
    context = {"me": me, "form": form, "error": outcome.message}
    return page(request, "orchestrator/profile.html", context, status=outcome.status)
