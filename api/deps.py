"""``Annotated`` dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.auth.access import (
    ADMIN,
    ANY_STAFF,
    DISPATCH,
    PATIENT,
    PHARMACIST,
    PHARMACY,
    RIDER,
    RIDER_OR_DISPATCH,
)
from api.auth.principals import Principal
from api.services import Services


def get_services(request: Request) -> Services:
    """The composed services of the running app."""
    services: Services = request.app.state.services
    return services


def client_ip(request: Request) -> str:
    """The peer address (rate-limit key); no proxy headers are trusted."""
    return request.client.host if request.client else "unknown"


ServicesDep = Annotated[Services, Depends(get_services)]
ClientIp = Annotated[str, Depends(client_ip)]
AdminUser = Annotated[Principal, Depends(ADMIN)]
StaffUser = Annotated[Principal, Depends(ANY_STAFF)]
Dispatcher = Annotated[Principal, Depends(DISPATCH)]
PharmacyUser = Annotated[Principal, Depends(PHARMACY)]
Pharmacist = Annotated[Principal, Depends(PHARMACIST)]
RiderDevice = Annotated[Principal, Depends(RIDER)]
RiderOrDispatcher = Annotated[Principal, Depends(RIDER_OR_DISPATCH)]
Patient = Annotated[Principal, Depends(PATIENT)]
