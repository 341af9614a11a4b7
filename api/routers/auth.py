"""Login, the caller's identity, staff users and rider device tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from api.auth.access import ADMIN, DISPATCH, PUBLIC
from api.auth.credentials import issue_access_token, verify_password
from api.auth.principals import Principal
from api.deps import AdminUser, ClientIp, Dispatcher, ServicesDep, StaffUser
from api.errors import Unauthenticated, error_responses
from api.schemas.auth import (
    DeviceTokenCreate,
    DeviceTokenRead,
    LoginRequest,
    PrincipalRead,
    RevokedRead,
    TokenRead,
    UserCreate,
    UserRead,
)
from dispatch.dev_secrets import reveal

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/token",
    response_model=TokenRead,
    dependencies=[Depends(PUBLIC)],
    responses=error_responses(401, 422, 429),
)
def login(body: LoginRequest, services: ServicesDep, ip: ClientIp) -> TokenRead:
    """Exchange a staff username and password for a short-lived bearer token."""
    username = body.username.lower()
    keys = (f"user:{username}", f"ip:{ip}")
    services.login_limiter.hit(*keys)
    user = services.auth.user_by_name(username)
    ok = verify_password(
        user.password_hash if user else None, body.password.get_secret_value()
    )
    if user is None or not ok or not user.active:
        services.metrics.inc("auth_login_failed_total")
        raise Unauthenticated("Unknown username or wrong password.")
    services.login_limiter.reset(keys[0])
    api = services.settings.api
    token, expires_at = issue_access_token(
        secret=reveal(api.jwt_secret, "API_JWT_SECRET"),
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        ttl_s=api.access_token_ttl_s,
    )
    return TokenRead(access_token=token, expires_at=expires_at, role=user.role)


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
def create_user(body: UserCreate, services: ServicesDep, _: AdminUser) -> UserRead:
    """Create a staff user (admin only)."""
    user_id = services.auth.add_user(
        username=body.username,
        role=body.role,
        password=body.password.get_secret_value(),
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
    rider_id: str, body: DeviceTokenCreate, services: ServicesDep, _: Dispatcher
) -> DeviceTokenRead:
    """Issue a device token for a rider's phone; it is shown only in this answer."""
    token = services.auth.issue_device_token(rider_id=rider_id, label=body.label)
    return DeviceTokenRead(rider_id=rider_id, device_token=token)


@router.delete(
    "/riders/{rider_id}/device-tokens",
    response_model=RevokedRead,
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403),
)
def revoke_device_tokens(rider_id: str, services: ServicesDep) -> RevokedRead:
    """Revoke every device token of a rider (lost phone)."""
    return RevokedRead(revoked=services.auth.revoke_device_tokens(rider_id))
