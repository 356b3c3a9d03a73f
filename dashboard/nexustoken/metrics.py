"""NexusToken figures for the operators' /metrics (composed by the home app)."""

from prometheus_client import Counter

WEBHOOK_DELIVERIES = Counter(
    "dashboard_webhook_deliveries",
    "NexusToken webhook deliveries received, by outcome: recorded (a status change), unchanged, "
    "duplicate (a retry of a body already handled), unconfirmed (NexusToken could not confirm it: "
    "the sender retries), bad_signature, bad_body, unknown_task, unknown_endpoint.",
    ["outcome"],
)
