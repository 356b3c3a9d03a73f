"""NexusToken tasks: the local record of every task posted through the dashboard, its pages, webhooks."""
