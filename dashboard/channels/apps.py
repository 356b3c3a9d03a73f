from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "dashboard.channels"
    label = "channels"
    verbose_name = "Team notification channels"
