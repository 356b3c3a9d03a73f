"""The operators' /metrics page: Prometheus's text format, composed from every app's figures.

The counters and gauges live where they are counted (services, tracking, nexustoken) and register
themselves with prometheus_client as their modules load. By default each process reports its own:
a scrape sees the web process that answered it. With PROMETHEUS_MULTIPROC_DIR set (the same empty
folder for every web worker and the poller, emptied before they start), each process writes its
figures to files there and this page adds up all of them, the poller's upstream calls included.
The poller's lag and pass time are read from its heartbeat rows at every scrape, so they are right
in either mode.
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dashboard.tracking.metrics import PollerFigures

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NOT_YET = float("nan")  # Prometheus's "no value": no poller has completed a pass


class _Pollers(Collector):
    def __init__(self, figures: PollerFigures):
        self.figures = figures

    def collect(self):  # type: ignore[no-untyped-def]  # prometheus_client's own signature
        lag, took = self.figures.lag, self.figures.pass_seconds
        yield GaugeMetricFamily(
            "dashboard_poller_lag_seconds",
            "Seconds since any poller completed a pass (live pages go stale as this grows).",
            value=NOT_YET if lag is None else lag,
        )
        yield GaugeMetricFamily(
            "dashboard_poller_pass_seconds",
            "How long the last pass took, the longest among the pollers active in the last 5 minutes.",
            value=NOT_YET if took is None else took,
        )
        yield GaugeMetricFamily(
            "dashboard_pollers_active",
            "Pollers that completed a pass in the last 5 minutes.",
            value=self.figures.active,
        )


def exposition(pollers: PollerFigures) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    read_now = CollectorRegistry()
    read_now.register(_Pollers(pollers))
    return generate_latest(counted) + generate_latest(read_now)
