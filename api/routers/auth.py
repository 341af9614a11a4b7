"""Login, refresh and logout, the caller's identity, staff users and rider
device tokens.

A browser session: ``POST /auth/token`` returns a short-lived access token and a
refresh token; ``POST /auth/refresh`` exchanges the refresh token (single use,
rotated) for a new pair; ``POST /auth/logout`` revokes the session. A refresh
token presented again after its rotation revokes its whole session (reuse
detection). Tokens never reach the logs: only user and session ids do.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, status

from api.auth import custody
from api.auth.access import ADMIN, DISPATCH, PUBLIC
from api.auth.actor import actor_of
from api.auth.credentials import issue_access_token, verify_password
from api.auth.principals import Principal
from api.auth.store import RefreshDenied, RefreshGrant, RefreshRefusal
from api.deps import AdminUser, ClientIp, Dispatcher, ServicesDep, StaffUser
from api.errors import (
    ApiNotFound,
    RefreshTokenReused,
    Unauthenticated,
    error_responses,
)
from api.schemas.auth import (
    DeviceTokenCreate,
    DeviceTokenInfoRead,
    DeviceTokenRead,
    LoginRequest,
    PrincipalRead,
    RefreshRequest,
    RevokedRead,
    SessionEnded,
    TokenRead,
    UserCreate,
    UserRead,
)
from api.schemas.common import ENTITY_ID
from api.services import Services
from dispatch.dev_secrets import reveal

log = logging.getLogger(__name__)

router = APIRouter(tags=["auth"])

RiderPath = Annotated[str, Path(pattern=ENTITY_ID)]


def _tokens(services: Services, grant: RefreshGrant) -> TokenRead:
    """A fresh access token for the grant's user (role as stored now) and the
    grant's refresh token."""
    api = services.settings.api
    user = grant.user
    token, expires_at = issue_access_token(
        secret=reveal(api.jwt_secret, "API_JWT_SECRET"),
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        ttl_s=api.access_token_ttl_s,
    )
    return TokenRead(
        access_token=token,
        expires_at=expires_at,
        role=user.role,
        refresh_token=grant.refresh_token,
        refresh_expires_at=grant.expires_at,
    )


@router.post(
    "/auth/token",
    response_model=TokenRead,
    dependencies=[Depends(PUBLIC)],
    responses=error_responses(401, 422, 429),
)
def login(body: LoginRequest, services: ServicesDep, ip: ClientIp) -> TokenRead:
    """Exchange a staff username and password for a short-lived bearer token and
    a refresh token that starts a session (``API_SESSION_MAX_S`` at most).
    ``API_LOGIN_ATTEMPTS_PER_MIN`` failures from one address for one username
    answer 429 for that pair only; successes are not counted."""
    username = body.username.lower()
    # Failures only, per source and username: a guesser elsewhere cannot lock
    # the user out, a success is never counted (and clears its source's count),
    # and a lockout only slows guessing from that source.
    key = f"ip:{ip}|user:{username}"
    services.login_limiter.check(key)
    user = services.auth.user_by_name(username)
    ok = verify_password(
        user.password_hash if user else None, body.password.get_secret_value()
    )
    if user is None or not ok or not user.active:
        services.login_limiter.record(key)
        services.metrics.inc("auth_login_failed_total")
        reason = (
            "unknown_user"
            if user is None
            else "wrong_password"
            if not ok
            else "inactive"
        )
        custody.record(
            services.db,
            actor=custody.ANONYMOUS,
            action="auth.login_failed",
            subject_type="user",
            subject_id=user.user_id if user else username,
            details={"username": username, "reason": reason},
        )
        raise Unauthenticated("Unknown username or wrong password.")
    services.login_limiter.reset(key)
    api = services.settings.api
    grant = services.auth.start_session(
        user.user_id, ttl_s=api.refresh_token_ttl_s, session_max_s=api.session_max_s
    )
    custody.record(
        services.db,
        actor=f"{user.role.value}:{user.username}",
        action="auth.login",
        subject_type="user",
        subject_id=user.user_id,
        details={"session": grant.family_id},
    )
    log.info("login: user %s started session %s", user.user_id, grant.family_id)
    return _tokens(services, grant)


@router.post(
    "/auth/refresh",
    response_model=TokenRead,
    dependencies=[Depends(PUBLIC)],
    responses=error_responses(401, 422),
)
def refresh(body: RefreshRequest, services: ServicesDep) -> TokenRead:
    """Exchange a refresh token for a new access token and the next refresh
    token; the presented one stops working. Presenting a refresh token again
    after it was exchanged revokes the whole session (401
    ``refresh_token_reused``): the client logs in again."""
    outcome = services.auth.rotate_refresh_token(
        body.refresh_token.get_secret_value(),
        ttl_s=services.settings.api.refresh_token_ttl_s,
    )
    if isinstance(outcome, RefreshDenied):
        services.metrics.inc(f"auth_refresh_refused_{outcome.reason.value}_total")
        if outcome.reason is RefreshRefusal.reuse:
            custody.record(
                services.db,
                actor=custody.ANONYMOUS,
                action="auth.refresh_reuse",
                subject_type="user",
                subject_id=outcome.user_id or "-",
                details={"session": outcome.family_id},
            )
            log.warning(
                "refresh token reuse: session %s of user %s revoked",
                outcome.family_id,
                outcome.user_id,
            )
            raise RefreshTokenReused(
                "This refresh token was already used; the session has been "
                "revoked. Log in again."
            )
        log.info(
            "refresh refused (%s): session %s",
            outcome.reason.value,
            outcome.family_id or "-",
        )
        raise Unauthenticated("The refresh token is not valid or has expired.")
    log.info(
        "refresh: user %s, session %s rotated", outcome.user.user_id, outcome.family_id
    )
    return _tokens(services, outcome)


@router.post(
    "/auth/logout",
    response_model=SessionEnded,
    dependencies=[Depends(PUBLIC)],
    responses=error_responses(422),
)
def logout(body: RefreshRequest, services: ServicesDep) -> SessionEnded:
    """End the session of a refresh token: it and every token rotated from the
    same login stop working. Access tokens already issued expire on their own
    (``API_ACCESS_TOKEN_TTL_S``); clients drop theirs."""
    ended = services.auth.end_session(body.refresh_token.get_secret_value())
    if ended is not None:
        custody.record(
            services.db,
            actor=f"{ended.role.value}:{ended.username}",
            action="auth.logout",
            subject_type="user",
            subject_id=ended.user_id,
            details={"session": ended.family_id},
        )
    log.info("logout: session %s", ended.family_id if ended else "- (none live)")
    return SessionEnded(ended=ended is not None)


@router.get(
    "/auth/me", response_model=PrincipalRead, responses=error_responses(401, 403)
)
def me(principal: StaffUser) -> PrincipalRead:
    """The authenticated staff user."""
    return _principal(principal)


def _principal(principal: Principal) -> PrincipalRead:
    return PrincipalRead(
        role=principal.role,
        subject_id=principal.subject_id,
        display_name=principal.display_name,
    )


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
def create_user(body: UserCreate, services: ServicesDep, who: AdminUser) -> UserRead:
    """Create a staff user (admin only); audited with the admin and the role."""
    user_id = custody.create_user(
        services.db,
        services.auth,
        username=body.username,
        role=body.role,
        password=body.password.get_secret_value(),
        actor=actor_of(who),
    )
    return UserRead(
        user_id=user_id, username=body.username, role=body.role, active=True
    )


@router.get(
    "/users",
    response_model=list[UserRead],
    dependencies=[Depends(ADMIN)],
    responses=error_responses(401, 403),
)
def list_users(services: ServicesDep) -> list[UserRead]:
    """Every staff user (admin only)."""
    return [
        UserRead(user_id=u.user_id, username=u.username, role=u.role, active=u.active)
        for u in services.auth.list_users()
    ]


@router.post(
    "/riders/{rider_id}/device-tokens",
    response_model=DeviceTokenRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 422),
)
def issue_device_token(
    rider_id: RiderPath,
    body: DeviceTokenCreate,
    services: ServicesDep,
    who: Dispatcher,
) -> DeviceTokenRead:
    """Issue a device token for a registered rider's phone (404 for an unknown
    rider); it is shown only in this answer and expires after
    ``API_DEVICE_TOKEN_TTL_S``. The issue is audited with the issuer."""
    issued = custody.issue_device_token(
        services.db,
        services.auth,
        rider_id=rider_id,
        label=body.label,
        actor=actor_of(who),
    )
    return DeviceTokenRead(
        rider_id=rider_id,
        device_token=issued.token,
        token_id=issued.token_id,
        expires_at=issued.expires_at,
    )


@router.get(
    "/riders/{rider_id}/device-tokens",
    response_model=list[DeviceTokenInfoRead],
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403, 422),
)
def list_device_tokens(
    rider_id: RiderPath, services: ServicesDep
) -> list[DeviceTokenInfoRead]:
    """A rider's device tokens, newest first (live, expired and revoked): who
    issued and revoked each, never the token itself."""
    now = datetime.now(UTC)
    return [
        DeviceTokenInfoRead(
            token_id=t.token_id,
            label=t.label,
            created_at=t.created_at,
            expires_at=t.expires_at,
            issued_by=t.issued_by,
            revoked_at=t.revoked_at,
            revoked_by=t.revoked_by,
            live=t.revoked_at is None and t.expires_at > now,
        )
        for t in services.auth.list_device_tokens(rider_id)
    ]


@router.delete(
    "/riders/{rider_id}/device-tokens",
    response_model=RevokedRead,
    responses=error_responses(401, 403, 422),
)
def revoke_device_tokens(
    rider_id: RiderPath, services: ServicesDep, who: Dispatcher
) -> RevokedRead:
    """Revoke every live device token of a rider (lost phone); audited."""
    revoked = custody.revoke_device_tokens(
        services.db, services.auth, rider_id=rider_id, actor=actor_of(who)
    )
    return RevokedRead(revoked=len(revoked))


@router.delete(
    "/riders/{rider_id}/device-tokens/{token_id}",
    response_model=RevokedRead,
    responses=error_responses(401, 403, 404, 422),
)
def revoke_device_token(
    rider_id: RiderPath, token_id: UUID, services: ServicesDep, who: Dispatcher
) -> RevokedRead:
    """Revoke one device token of a rider; 404 unless it is theirs and not
    already revoked. Audited."""
    revoked = custody.revoke_device_tokens(
        services.db,
        services.auth,
        rider_id=rider_id,
        token_id=str(token_id),
        actor=actor_of(who),
    )
    if not revoked:
        raise ApiNotFound("This rider has no such live device token.")
    return RevokedRead(revoked=len(revoked))
