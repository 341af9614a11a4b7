"""Settings refuse placeholder secrets; errors map to problem+json statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from api.auth.credentials import decode_access_token, issue_access_token
from api.auth.principals import Role
from api.errors import (
    ApiError,
    ApiNotFound,
    Forbidden,
    RateLimited,
    Unauthenticated,
    domain_status,
)
from api.services import AppSettings
from api.settings import ApiSettings
from dispatch import errors as dispatch_errors
from dispatch.settings import DatabaseSettings, DispatchSettings
from telemetry import errors as telemetry_errors
from telemetry.settings import TelemetrySettings

OLD_JWT_PLACEHOLDER = "dev-only-jwt-secret-change-me-00000000000000000"


def test_placeholder_jwt_secret_is_refused_in_production() -> None:
    """Production needs both API secrets set, long and not placeholders."""
    with pytest.raises(ValidationError, match="API_JWT_SECRET"):
        ApiSettings(environment="production")
    with pytest.raises(ValidationError, match="API_JWT_SECRET"):
        ApiSettings(environment="production", jwt_secret=SecretStr("short"))
    with pytest.raises(ValidationError, match="API_TRACKING_LINK_SECRET"):
        ApiSettings(
            environment="production",
            jwt_secret=SecretStr("q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8"),
        )
    with pytest.raises(ValidationError, match="API_PATIENT_CHANNEL=fake"):
        ApiSettings(
            environment="production",
            jwt_secret=SecretStr("q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8"),
            tracking_link_secret=SecretStr("Zq8r1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8"),
        )
    ok = ApiSettings(
        environment="production",
        jwt_secret=SecretStr("q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8"),
        tracking_link_secret=SecretStr("Zq8r1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8"),
        patient_channel="webhook",
        patient_sms_webhook_url="https://sms.example.org/hook",
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


def _production(tmp_path: Path, **secrets: str) -> AppSettings:
    strong = {
        "jwt_secret": "j" + "q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8",
        "tracking_link_secret": "t" + "q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8",
        "data_key": "d" + "q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8",
        "otp_pepper": "o" + "q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8",
        "webhook_secret": "w" + "q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8",
        "audit_key": "a" + "q8Zr1v0hJ3kLm5Nn7Pp9Rr2Tt4Vv6Xx8",
    } | secrets
    return AppSettings(
        api=ApiSettings(
            environment="production",
            patient_channel="webhook",
            patient_sms_webhook_url="https://sms.example.org/hook",
            jwt_secret=SecretStr(strong["jwt_secret"]),
            tracking_link_secret=SecretStr(strong["tracking_link_secret"]),
        ),
        database=DatabaseSettings(data_dir=tmp_path),
        dispatch=DispatchSettings(
            data_key=SecretStr(strong["data_key"]),
            otp_pepper=SecretStr(strong["otp_pepper"]),
            audit_key=SecretStr(strong["audit_key"]),
        ),
        telemetry=TelemetrySettings(webhook_secret=SecretStr(strong["webhook_secret"])),
    )


@pytest.mark.parametrize(
    ("field", "env_var"),
    [
        ("data_key", "DISPATCH_DATA_KEY"),
        ("otp_pepper", "DISPATCH_OTP_PEPPER"),
        ("audit_key", "DISPATCH_AUDIT_KEY"),
        ("webhook_secret", "TELEMETRY_WEBHOOK_SECRET"),
    ],
)
def test_production_checks_every_secret_not_only_the_jwt_one(
    tmp_path: Path, field: str, env_var: str
) -> None:
    """The patient-data key, the OTP pepper, the audit key and the webhook secret
    may not stay placeholders in production either."""
    assert _production(tmp_path).api.environment == "production"
    with pytest.raises(ValidationError, match=env_var):
        _production(tmp_path, **{field: "dev-only-otp-pepper-change-me"})


def test_the_default_app_never_runs_on_a_secret_from_the_source(
    tmp_path: Path,
) -> None:
    """A token signed with the JWT placeholder earlier versions shipped is refused
    by a default (dev) app, whose secrets are random per data folder."""
    settings = AppSettings(database=DatabaseSettings(data_dir=tmp_path))
    resolved = settings.api.jwt_secret
    assert resolved is not None
    assert resolved.get_secret_value() != OLD_JWT_PLACEHOLDER
    forged, _ = issue_access_token(
        secret=OLD_JWT_PLACEHOLDER,
        user_id="u-1",
        username="mallory",
        role=Role.admin,
        ttl_s=300,
    )
    with pytest.raises(Unauthenticated):
        decode_access_token(forged, secret=resolved.get_secret_value())
    again = AppSettings(database=DatabaseSettings(data_dir=tmp_path))
    assert again.api.jwt_secret == resolved
    assert again.dispatch.data_key == settings.dispatch.data_key


def test_business_timezone_must_be_a_known_iana_zone() -> None:
    """The UI's time zone is checked at startup, and the error names the
    setting."""
    assert ApiSettings().business_timezone == "Europe/Malta"
    assert ApiSettings(business_timezone="Asia/Kolkata").business_timezone == (
        "Asia/Kolkata"
    )
    for bad in ("Mars/Olympus", "localtime", ""):
        with pytest.raises(ValidationError, match="API_BUSINESS_TIMEZONE"):
            ApiSettings(business_timezone=bad)
