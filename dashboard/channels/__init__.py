"""Team notification channels: webhooks that hear about a team's deploys (see docs/poller.md)."""
