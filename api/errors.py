"""Errors of the API and how every error reaches a client: RFC 9457 problem+json.

::

    ApiError
    ├── Unauthenticated        401  (missing/invalid/expired credentials)
    │   └── RefreshTokenReused  401  (a rotated refresh token again: session revoked)
    ├── Forbidden              403  (authenticated, role not allowed)
    ├── ApiNotFound            404  (route-level: unknown tracking link, user ...)
    ├── ApiConflict            409  (idempotency key reused with another body ...)
    ├── ApiRuleViolation       422
    └── RateLimited            429  (+ Retry-After)

Domain trees (dispatch, telemetry) are mapped by their *base classes*: Starlette
resolves handlers along the exception's MRO, so one entry covers a subtree.
Bodies never carry stack traces, SQL, or patient data; a 500 is generic.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, ClassVar

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.request_context import current_request_id
from api.serialization import dumps

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://rxdispatch.dev/problems/"


class ValidationIssue(BaseModel):
    """One failed field of a request."""

    loc: list[str | int]
    msg: str


class ApiError(Exception):
    """Base of errors raised by the API layer itself."""

    code: ClassVar[str] = "api_error"
    status: ClassVar[int] = 400

    def __init__(
        self,
        detail: str,
        *,
        retry_after_s: int | None = None,
        issues: list[ValidationIssue] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s
        self.issues = issues


class Unauthenticated(ApiError):  # noqa: N818
    """Credentials are missing, malformed, expired or revoked."""

    code = "unauthenticated"
    status = 401


class RefreshTokenReused(Unauthenticated):
    """A refresh token was presented after its rotation; its session is revoked."""

    code = "refresh_token_reused"


class Forbidden(ApiError):  # noqa: N818
    """The caller is known but their role may not use this endpoint."""

    code = "forbidden"
    status = 403


class ApiNotFound(ApiError):  # noqa: N818
    """A resource the API owns (user, tracking link) does not exist."""

    code = "not_found"
    status = 404


class ApiConflict(ApiError):  # noqa: N818
    """The request conflicts with stored state (e.g. idempotency key reuse)."""

    code = "conflict"
    status = 409


class ApiRuleViolation(ApiError):  # noqa: N818
    """Well-formed input that breaks a rule of the API."""

    code = "rule_violation"
    status = 422


class RateLimited(ApiError):  # noqa: N818
    """Too many attempts in the current window."""

    code = "rate_limited"
    status = 429


class Problem(BaseModel):
    """An RFC 9457 problem document, with a stable machine-readable ``code``."""

    type: str = Field(description="URI naming the problem type.")
    title: str = Field(description="Short human summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="Human explanation of this occurrence.")
    code: str = Field(description="Stable snake_case code clients may switch on.")
    instance: str | None = Field(default=None, description="Path of the request.")
    request_id: str | None = Field(default=None, description="Correlation id.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Failed fields (validation errors only)."
    )


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    detail: str,
    errors: list[ValidationIssue] | None = None,
    retry_after_s: int | None = None,
) -> Response:
    """A ``application/problem+json`` response."""
    body = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path if request is not None else None,
        request_id=current_request_id(),
        errors=errors,
    )
    headers = {}
    if retry_after_s is not None:
        headers["Retry-After"] = str(max(1, int(retry_after_s)))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(
        dumps(body.model_dump(exclude_none=True)),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


#: Domain base class name -> (status, Retry-After seconds or None).
DOMAIN_STATUS: dict[str, tuple[int, int | None]] = {
    "NotFound": (404, None),
    "Conflict": (409, None),
    "RuleViolation": (422, None),
    "TooManyAttempts": (429, 60),
    "Unavailable": (503, 5),
    # telemetry's tree has no shared bases; map its classes by name
    "ExcursionNotFound": (404, None),
    "ExcursionTransitionInvalid": (409, None),
    "PayloadRejected": (422, None),
    "StoreUnavailable": (503, 5),
}


def domain_status(exc: BaseException) -> tuple[int, int | None]:
    """Status for a domain error, from the first mapped base class in its MRO."""
    for cls in type(exc).__mro__:
        mapped = DOMAIN_STATUS.get(cls.__name__)
        if mapped is not None:
            return mapped
    return 422, None


def problem_of(request: Request | None, exc: Exception) -> Response:
    """The problem+json answer to an API or domain error (what the handlers send)."""
    if isinstance(exc, ApiError):
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
            retry_after_s=exc.retry_after_s,
            errors=exc.issues,
        )
    status, retry = domain_status(exc)
    retry = getattr(exc, "retry_after_s", None) or retry
    code = str(getattr(exc, "code", "domain_error"))
    field = getattr(exc, "field", None)
    # A domain error naming its input (e.g. outside_service_area) points at it
    # like a validation error does: ``errors[0].loc`` is ``["body", *field]``.
    issues = (
        [ValidationIssue(loc=["body", *filter(None, field.split("."))], msg=str(exc))]
        if isinstance(field, str)
        else None
    )
    # Domain messages are built from ids and rule names, never patient data.
    return problem_response(
        request,
        status=status,
        code=code,
        detail=str(exc),
        retry_after_s=retry,
        errors=issues,
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiError):  # pragma: no cover - registration guarantees it
        return await _unexpected_error(request, exc)
    return problem_of(request, exc)


async def _domain_error(request: Request, exc: Exception) -> Response:
    return problem_of(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        return await _unexpected_error(request, exc)
    issues = [
        ValidationIssue(
            loc=[p for p in e.get("loc", ()) if isinstance(p, str | int)],
            msg=str(e.get("msg", "invalid")),
        )
        for e in exc.errors()
    ]
    return problem_response(
        request,
        status=422,
        code="validation_error",
        detail="The request is not valid.",
        errors=issues,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        return await _unexpected_error(request, exc)
    code = {404: "route_not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "http_error"
    )
    detail = (
        exc.detail
        if isinstance(exc.detail, str)
        else HTTPStatus(exc.status_code).phrase
    )
    return problem_response(request, status=exc.status_code, code=code, detail=detail)


async def _data_error(request: Request, exc: Exception) -> Response:
    # PostgreSQL refused a value (NUL byte, out-of-range number, bad uuid text):
    # the client's input, not a server fault. The database message stays internal.
    log.info("database refused a value: %s", type(exc).__name__)
    return problem_response(
        request,
        status=422,
        code="invalid_input",
        detail="A value in the request cannot be stored or looked up.",
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error(
        "unhandled error on %s %s", request.method, request.url.path, exc_info=exc
    )
    return problem_response(
        request,
        status=500,
        code="internal_error",
        detail="An internal error occurred; quote the request id when reporting it.",
    )


def install_error_handlers(
    app: FastAPI, domain_bases: Iterable[type[Exception]]
) -> None:
    """Register problem+json handlers for API errors and each domain base class."""
    app.add_exception_handler(ApiError, _api_error)
    for base in domain_bases:
        app.add_exception_handler(base, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem+json errors."""
    return {
        s: {"model": Problem, "description": HTTPStatus(s).phrase} for s in statuses
    }
