"""Prometheus metrics of the server: requests, errors by kind, latency histogram, requests in flight.

One registry per app (tests build several apps in one process). With ``--workers N`` the CLI sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start, and ``/metrics`` then sums every worker's
figures (prometheus_client's multiprocess mode) whichever worker answers the scrape.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

disable_created_metrics()  # no *_created series: a timestamp per label set that nobody graphs
CONTENT_TYPE = CONTENT_TYPE_LATEST
ROUTES = ("/predict", "/predict/batch", "/healthz", "/metrics", "/model", "/model.int8.onnx")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        shared = multiprocess_dir() is not None
        kw = {"registry": None if shared else self.registry}  # multiprocess: values live in files, not here
        self.requests = Counter(
            "mnist_edge_http_requests", "HTTP requests answered, by route and status.", ["route", "status"], **kw
        )
        self.errors = Counter(
            "mnist_edge_http_errors",
            "Requests answered with an error, by kind (bad_image, too_large, unsupported_type, busy, timeout, "
            "not_found, server_error, ...).",
            ["kind"],
            **kw,
        )
        self.latency = Histogram(
            "mnist_edge_http_request_duration_seconds",
            "Time from the request's headers to the end of the response, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            **kw,
        )
        gauge_kw = dict(kw, multiprocess_mode="livesum") if shared else kw
        self.in_flight = Gauge(
            "mnist_edge_http_requests_in_flight", "Requests being handled now (all routes).", **gauge_kw
        )
        if shared:
            _multiprocess.MultiProcessCollector(self.registry)
        self._counters = {}  # (route, status) -> the labelled child: labels() is the slow part of inc()
        self._histograms = {route: self.latency.labels(route) for route in (*ROUTES, "other")}

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = self.requests.labels(route, str(status))
        child.inc()
        self._histograms[route].observe(seconds)

    def error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)
