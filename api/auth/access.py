"""Resolve credentials to principals, and the per-route role declarations.

Every route depends on exactly one :class:`Access` object; the role-matrix test
walks the app's routes and fails on a route without one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.credentials import DEVICE_PREFIX, decode_access_token
from api.auth.principals import Principal, Role
from api.auth.store import AuthStore, LinkScope
from api.errors import ApiNotFound, Forbidden, Unauthenticated
from dispatch.clock import SystemClock
from dispatch.ports import Clock

_bearer = HTTPBearer(auto_error=False, description="User JWT or rider device token.")


class Authenticator:
    """Turns a bearer string or a tracking token into a :class:`Principal`."""

    def __init__(
        self,
        store: AuthStore,
        *,
        jwt_secret: str,
        tracking_grace_s: int,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._clock: Clock = clock or SystemClock()
        self._secret = jwt_secret
        self._grace_s = tracking_grace_s

    def from_bearer(self, token: str) -> Principal:
        """A user (JWT) or rider (device token); raise :class:`Unauthenticated`."""
        return self.authenticate(token)[0]

    def authenticate(self, token: str) -> tuple[Principal, datetime | None]:
        """The principal of a bearer token and when the token expires (a
        device token too: a rider's websocket is closed with 4001 at its
        expiry unless renewed in band); raise :class:`Unauthenticated`."""
        if token.startswith(DEVICE_PREFIX):
            holder = self._store.device_token_holder(token)
            if holder is None:
                raise Unauthenticated("The device token is not valid.")
            return Principal(Role.rider, holder[0]), holder[1]
        claims = decode_access_token(token, secret=self._secret)
        principal = Principal(claims.role, claims.user_id, display_name=claims.username)
        return principal, claims.expires_at

    def from_tracking_token(self, token: str, now: datetime | None = None) -> Principal:
        """The patient a live tracking link stands for; unknown/expired -> 404."""
        link = self._store.tracking_link(token)
        if link is None or not link.usable_at(now or self._clock.now(), self._grace_s):
            raise ApiNotFound("This tracking link does not exist or has expired.")
        return Principal(
            Role.patient,
            link.link_id,
            order_id=link.order_id,
            reads_messages=link.scope == LinkScope.patient,
        )


def _authenticator(request: Request) -> Authenticator:
    services = request.app.state.services
    authenticator: Authenticator = services.authenticator
    return authenticator


class Access:
    """Base of role declarations; ``roles`` empty means public."""

    roles: frozenset[Role] = frozenset()


class Public(Access):
    """The route needs no credentials (health, login)."""

    def __call__(self) -> None:
        return None


class Allow(Access):
    """Only callers holding one of ``roles`` (bearer JWT or device token)."""

    def __init__(self, *roles: Role) -> None:
        if not roles or Role.patient in roles:
            raise ValueError("Allow needs staff/rider roles; patients use TrackingLink")
        self.roles = frozenset(roles)

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise Unauthenticated("Credentials are required.")
        principal = _authenticator(request).from_bearer(credentials.credentials)
        if principal.role not in self.roles:
            raise Forbidden("Your role may not use this endpoint.")
        request.state.principal = principal
        return principal


class TrackingLink(Access):
    """The patient holding the tracking token in the path."""

    roles = frozenset({Role.patient})

    def __call__(self, request: Request, token: str) -> Principal:
        principal = _authenticator(request).from_tracking_token(token)
        request.state.principal = principal
        return principal


PUBLIC = Public()
ANY_STAFF = Allow(Role.admin, Role.dispatcher, Role.pharmacist)
ADMIN = Allow(Role.admin)
DISPATCH = Allow(Role.admin, Role.dispatcher)
PHARMACY = Allow(Role.admin, Role.dispatcher, Role.pharmacist)
PHARMACIST = Allow(Role.admin, Role.pharmacist)
RIDER = Allow(Role.rider)
RIDER_OR_DISPATCH = Allow(Role.rider, Role.admin, Role.dispatcher)
PATIENT = TrackingLink()
