"""Health, Prometheus metrics and structured (JSON) logs, shared by every service."""

from __future__ import annotations

import inspect
import logging
import sys
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter

HTTP_REQUESTS = Counter("ccdr_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "ccdr_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def configure_logging(service: str, site: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "asctime": "time"},
            static_fields={"service": service, "site": site},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kazoo", "uvicorn.access", "mail.log"):  # mail.log: every health check
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _route_template(request: Request) -> str:
    """Label by route template (/v1/tickets/{code}), never by raw path: bounded cardinality."""
    route = request.scope.get("route")  # set by the router once it matched
    return getattr(route, "path", "unmatched")


def readiness_route(app: FastAPI, path: str, ready: Callable[[], str | Awaitable[str | None] | None]) -> None:
    """200 when `ready()` says None, else 503 with the reason (HAProxy routes by these)."""

    @app.get(path, include_in_schema=False)
    async def readyz() -> Response:
        outcome = ready()
        reason = await outcome if inspect.isawaitable(outcome) else outcome
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)


def install(app: FastAPI, service: str, ready: Callable[[], str | Awaitable[str | None] | None]) -> None:
    """`ready()` returns (or, if async, resolves to) None when ready, else why not (HAProxy routes
    by /readyz)."""

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(service, request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    readiness_route(app, "/readyz", ready)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
