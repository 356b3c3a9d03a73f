from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.core import backends

from ..forms import SignupForm


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    # Closed sign-up must look like no sign-up at all, not like a forbidden one.
    if not settings.SIGNUP_OPEN:
        raise Http404("Sign-up is closed.")
    if request.user.is_authenticated:
        return redirect("home:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend=backends.PATH)
        messages.success(request, "Welcome! Connect your Nexical and NexusToken accounts to get started.")
        return redirect("connections:connections")
    return render(request, "registration/signup.html", {"form": form})
