"""RFC 9457 problem details: the only place where errors become HTTP responses."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    CcdrError,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    field_errors,
)

PROBLEM_BASE = "https://ccdr.dev/problems/"
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_S = 5  # a Patroni failover takes ~20 s: a few retries


def problem_response(error: CcdrError, instance: str | None = None) -> JSONResponse:
    body: dict[str, object] = {
        "type": PROBLEM_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        **error.extensions(),
    }
    if instance:
        body["instance"] = instance
    headers = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="ccdr"'
    if isinstance(error, (Unavailable, TooManyRequests)):
        headers["Retry-After"] = str(error.retry_after_s)
    return JSONResponse(body, status_code=error.status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(CcdrError)
    async def _ccdr(request: Request, exc: CcdrError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("request failed", extra={"path": request.url.path, "problem": exc.code, "detail": exc.detail})
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors(), skip_prefix=("body",))
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem_response(InvalidInput(detail, errors), request.url.path)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        # The primary is failing over (or this site is cut off): a client retry will succeed.
        detail = f"the database is not reachable right now ({type(exc).__name__}); retry shortly"
        return await _ccdr(request, Unavailable(detail, DATABASE_RETRY_AFTER_S))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        error = CcdrError("an internal error; it has been logged with this path and time")
        error.code, error.title = "internal-error", "Internal error"
        return problem_response(error, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return problem_response(NotFound(f"no such resource: {request.url.path}"), request.url.path)
        error = CcdrError(str(exc.detail))
        error.status, error.code, error.title = exc.status_code, f"http-{exc.status_code}", str(exc.detail)
        return problem_response(error, request.url.path)
