"""``Annotated`` dependency aliases shared by the routers, and the unit-of-work type.

Routers pass a :data:`Tx` to dispatch functions; they never import dispatch's
adapters themselves (an import-linter contract keeps it so).
"""

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
from dispatch.adapters.postgres.unit_of_work import Tx

__all__ = [
    "AdminUser",
    "ClientIp",
    "Dispatcher",
    "Patient",
    "Pharmacist",
    "PharmacyUser",
    "RiderDevice",
    "RiderOrDispatcher",
    "ServicesDep",
    "StaffUser",
    "Tx",
    "client_ip",
    "get_services",
]


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
