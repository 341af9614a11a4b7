"""Schemas of login, users and device tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.auth.principals import Role


class LoginRequest(BaseModel):
    """Username and password of a staff user."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=256)


class TokenRead(BaseModel):
    """A short-lived bearer token and the refresh token that renews it."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_at: datetime
    role: Role
    refresh_token: str | None = Field(
        default=None,
        description="Single use: exchange it at ``POST /auth/refresh`` before it "
        "expires for a new access token and the next refresh token. Keep it out "
        "of URLs and logs.",
    )
    refresh_expires_at: datetime | None = Field(
        default=None, description="When the refresh token stops working."
    )


class RefreshRequest(BaseModel):
    """The refresh token of a session (from login or the last refresh)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: SecretStr = Field(min_length=1, max_length=256)


class SessionEnded(BaseModel):
    """Whether a live session was ended by this logout."""

    ended: bool


class PrincipalRead(BaseModel):
    """Who the caller is."""

    role: Role
    subject_id: str
    display_name: str


class UserCreate(BaseModel):
    """A new staff user."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._@-]{2,63}$")
    password: SecretStr = Field(min_length=12, max_length=256)
    role: Literal[Role.admin, Role.dispatcher, Role.pharmacist]


class UserRead(BaseModel):
    """A staff user (never the hash)."""

    user_id: str
    username: str
    role: Role
    active: bool


class DeviceTokenCreate(BaseModel):
    """Label of a rider's new device (e.g. phone model)."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=64)


class DeviceTokenRead(BaseModel):
    """A device token, shown exactly once, and when it stops working."""

    rider_id: str
    device_token: str
    token_id: str = Field(description="Names the token to list or revoke it.")
    expires_at: datetime


class DeviceTokenInfoRead(BaseModel):
    """A rider's device token: metadata only, never the token."""

    token_id: str
    label: str
    created_at: datetime
    expires_at: datetime
    issued_by: str = Field(description="Who issued it (audit actor).")
    revoked_at: datetime | None
    revoked_by: str | None
    live: bool = Field(description="Neither revoked nor expired.")


class RevokedRead(BaseModel):
    """How many tokens were revoked."""

    revoked: int
