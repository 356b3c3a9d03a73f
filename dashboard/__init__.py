"""The dashboard project: settings, URLs and ASGI entry point; its apps are the packages here."""
