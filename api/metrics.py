"""The API's Prometheus instruments, defined once so routes, middleware and SSE share them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Labelled by route template ("/threads/{thread_id}/state"), never by raw path: ids would explode cardinality
# and leak identifiers into the metrics.
REQUESTS = Counter("privyloop_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "privyloop_http_request_duration_seconds", "Time to response start (streams: to headers)",
    ["method", "route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ACTIVE_STREAMS = Gauge("privyloop_sse_active_streams", "Open SSE streams", ["kind"])
RUNS = Counter("privyloop_agent_runs_total", "Agent runs streamed", ["status"])
REDIS_UP = Gauge("privyloop_redis_up", "1 when Redis answered the last probe")
