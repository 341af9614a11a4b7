"""Settings refuse placeholder secrets; errors map to problem+json statuses."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from api.errors import (
    ApiError,
    ApiNotFound,
    Forbidden,
    RateLimited,
    Unauthenticated,
    domain_status,
)
from api.settings import ApiSettings
from dispatch import errors as dispatch_errors
from telemetry import errors as telemetry_errors


def test_placeholder_jwt_secret_is_refused_in_production() -> None:
    """The shipped dev secret cannot be used outside dev/test."""
    with pytest.raises(ValidationError, match="API_JWT_SECRET"):
        ApiSettings(environment="production")
    with pytest.raises(ValidationError, match="API_JWT_SECRET"):
        ApiSettings(environment="production", jwt_secret=SecretStr("short"))
    ok = ApiSettings(
        environment="production",
        jwt_secret=SecretStr("q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8"),
    )
    assert ok.environment == "production"


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (dispatch_errors.OrderNotFound("o-1"), 404),
        (dispatch_errors.IllegalTransition("o-1", "created", "delivered"), 409),
        (dispatch_errors.OtpMismatch(3), 422),
        (dispatch_errors.OtpAttemptsExceeded("locked"), 429),
        (dispatch_errors.SolverBusy("busy"), 503),
        (telemetry_errors.StoreUnavailable("down"), 503),
    ],
)
def test_domain_errors_map_by_base_class(exc: Exception, status: int) -> None:
    """The first mapped base class in the MRO decides the status."""
    assert domain_status(exc)[0] == status


def _subclasses(cls: type[Exception]) -> list[type[Exception]]:
    out: list[type[Exception]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_dispatch_error_has_a_unique_code_and_a_client_status() -> None:
    """No dispatch error falls through to 500, and codes are unique."""
    classes = [
        c
        for c in _subclasses(dispatch_errors.DispatchError)
        if not c.__name__.startswith("_")
    ]
    codes = [getattr(c, "code", None) for c in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        status = next(
            (
                s
                for base in cls.__mro__
                if (
                    s := {
                        "NotFound": 404,
                        "Conflict": 409,
                        "RuleViolation": 422,
                        "TooManyAttempts": 429,
                        "Unavailable": 503,
                    }.get(base.__name__)
                )
            ),
            None,
        )
        assert status is not None, cls


def test_api_errors_have_distinct_codes_and_statuses() -> None:
    """Each API error class has its own code and a 4xx status."""
    classes = [Unauthenticated, Forbidden, ApiNotFound, RateLimited]
    assert len({c.code for c in classes}) == len(classes)
    assert all(400 <= c.status < 500 for c in [ApiError, *classes])
