"""django-otp's own admin pages show a device's TOTP secret (and a QR code of it) and the recovery
codes: secrets are never shown again after their one display, so those pages are taken out.
Two-factor is managed by each user in Settings > Security; a locked-out user's devices can still be
removed from the Django shell (`TOTPDevice.objects.filter(user=...).delete()`)."""

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
