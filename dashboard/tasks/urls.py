from django.urls import path

from . import webhooks
from .views import detail, listing, new

urlpatterns = [
    path("tasks/", listing.task_list, name="task_list"),
    path("tasks/new/", new.task_new, name="task_new"),
    path("tasks/webhooks/<str:token>/", webhooks.receive, name="task_webhook"),
    path("tasks/<str:task_id>/", detail.task_detail, name="task_detail"),
    path("tasks/<str:task_id>/result.json", detail.task_result, name="task_result"),
]
