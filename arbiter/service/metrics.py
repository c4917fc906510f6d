"""Prometheus metrics: requests by route and status, latency, decisions by action, the queue.

Each app has its own registry (tests build many apps in one process). With several
worker processes `arbiter serve` sets PROMETHEUS_MULTIPROC_DIR, and /metrics then
adds up every worker's counters from there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arbiter.store import Store
from arbiter.store.database import reading
from arbiter.store.records import StoredDecision
from arbiter.store.schema import reviews

CONTENT_TYPE = CONTENT_TYPE_LATEST
disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series only double the size of a scrape
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _StoreGauges(Collector):
    """Figures read from the store (or the process) when /metrics is scraped."""

    def __init__(self, store: Store, extra: Callable[[], dict[str, float]]):
        self.store = store
        self.extra = extra

    def collect(self) -> Iterator[Metric]:
        try:
            with reading(self.store.engine) as connection:
                depth = connection.execute(
                    select(reviews.c.reason, func.count())
                    .where(reviews.c.status == "open")
                    .group_by(reviews.c.reason)
                ).all()
        except Exception:  # an unreachable database shows in /readyz, not as a failed scrape
            depth = None
        if depth is not None:
            gauge = GaugeMetricFamily(
                "arbiter_review_queue_depth", "Open reviews, by why they wait.", labels=["reason"]
            )
            counts = {"rule": 0, "sample": 0, "appeal": 0} | {r: int(n) for r, n in depth}
            for reason, count in sorted(counts.items()):
                gauge.add_metric([reason], count)
            yield gauge
        for name, value in self.extra().items():
            yield GaugeMetricFamily(f"arbiter_{name}", name.replace("_", " ") + ".", value=value)


class Metrics:
    """The service's metrics and their exposition."""

    def __init__(self, store: Store, extra: Callable[[], dict[str, float]] = dict):
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        owned = None if self.multiprocess else self.registry
        self.requests = Counter(
            "arbiter_http_requests",
            "HTTP requests, by method, route and status.",
            ["method", "route", "status"],
            registry=owned,
        )
        self.latency = Histogram(
            "arbiter_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=owned,
        )
        self.decisions = Counter(
            "arbiter_decisions",
            "Decisions made through the API, by action and mode.",
            ["action", "mode"],
            registry=owned,
        )
        if self.multiprocess:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
        self.registry.register(_StoreGauges(store, extra))

    def decided(self, stored: StoredDecision) -> None:
        self.decisions.labels(stored.decision.action, stored.mode).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware: count and time every HTTP request by its route's template."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
