"""Figures of the upstream transport for the operators' /metrics (composed by the home app).

Defined once per process, here where they are counted. With PROMETHEUS_MULTIPROC_DIR set, every
process (web workers, the poller) writes its counts to files there and /metrics adds them up.
"""

from prometheus_client import Counter

UPSTREAM_REQUESTS = Counter(
    "dashboard_upstream_requests",
    "HTTP requests sent to an upstream API (every attempt, retries included), by service and the "
    "status of the answer ('network' when none came: a connection error or a timeout).",
    ["service", "status"],
)


def count_request(service: str, status: int | str) -> None:
    UPSTREAM_REQUESTS.labels(service.lower(), str(status)).inc()
