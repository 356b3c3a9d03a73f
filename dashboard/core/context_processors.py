from django.conf import settings


def site(request):
    return {"SIGNUP_OPEN": settings.SIGNUP_OPEN}
