from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/preferences/", views.notification_preferences, name="notification_preferences"),
]
