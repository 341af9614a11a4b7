"""Pharmacies, products and stock (including CSV import)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status

from api.auth.access import PHARMACY
from api.auth.actor import actor_of
from api.deps import Pharmacist, ServicesDep, Tx
from api.errors import ApiRuleViolation, ValidationIssue, error_responses
from api.schemas.catalogue import (
    ImportRowError,
    LotCreate,
    LotRead,
    PharmacyCreate,
    PharmacyRead,
    PharmacyUpdate,
    ProductCreate,
    ProductRead,
    StockImportRead,
)
from api.schemas.common import Page
from api.schemas.stock_csv import parse_stock_csv
from dispatch.domain import GeoPoint, StorageClass
from dispatch.errors import DispatchError
from dispatch.stock import catalogue
from dispatch.stock import queries as stock_queries

router = APIRouter(tags=["catalogue"])
MAX_CSV_BYTES = 2_000_000


@router.post(
    "/pharmacies",
    response_model=PharmacyRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
def create_pharmacy(
    body: PharmacyCreate, services: ServicesDep, who: Pharmacist
) -> PharmacyRead:
    """Register a pharmacy (admin or pharmacist)."""
    pharmacy = body.to_domain()
    with services.db.transaction() as tx:
        catalogue.register_pharmacy(tx, pharmacy, actor=actor_of(who))
    return PharmacyRead.of(pharmacy)


@router.get(
    "/pharmacies",
    response_model=list[PharmacyRead],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403),
)
def list_pharmacies(services: ServicesDep) -> list[PharmacyRead]:
    """Every pharmacy."""
    with services.db.transaction() as tx:
        found = stock_queries.list_pharmacies(tx)
    return [PharmacyRead.of(p) for p in found.values()]


@router.get(
    "/pharmacies/{pharmacy_id}",
    response_model=PharmacyRead,
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404),
)
def get_pharmacy(pharmacy_id: str, services: ServicesDep) -> PharmacyRead:
    """One pharmacy."""
    with services.db.transaction() as tx:
        return PharmacyRead.of(stock_queries.get_pharmacy(tx, pharmacy_id))


@router.patch(
    "/pharmacies/{pharmacy_id}",
    response_model=PharmacyRead,
    responses=error_responses(401, 403, 404, 422),
)
def update_pharmacy(
    pharmacy_id: str, body: PharmacyUpdate, services: ServicesDep, who: Pharmacist
) -> PharmacyRead:
    """Edit a pharmacy's name, opening hours, time zone or location (within the
    service area), or deactivate it (``active: false``: no new orders are sourced
    there; orders in flight keep it) or reactivate it. Audited; the same roles as
    registering one (admin or pharmacist)."""
    with services.db.transaction() as tx:
        pharmacy = catalogue.update_pharmacy(
            tx,
            pharmacy_id,
            actor=actor_of(who),
            name=body.name,
            location=(
                GeoPoint(body.location.lat, body.location.lon)
                if body.location is not None
                else None
            ),
            opening_hours=body.intervals(),
            timezone=body.timezone,
            active=body.active,
        )
    return PharmacyRead.of(pharmacy)


@router.post(
    "/products",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
def create_product(
    body: ProductCreate, services: ServicesDep, who: Pharmacist
) -> ProductRead:
    """Add a product to the catalogue (admin or pharmacist)."""
    product = body.to_domain()
    with services.db.transaction() as tx:
        stored = catalogue.register_product(tx, product, actor=actor_of(who))
    return ProductRead.of(stored)


@router.get(
    "/products",
    response_model=Page[ProductRead],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 422),
)
def list_products(
    services: ServicesDep,
    storage_class: StorageClass | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ProductRead]:
    """The product catalogue by SKU, optionally one storage class."""
    with services.db.transaction() as tx:
        products, total = stock_queries.list_products(
            tx, storage_class=storage_class, limit=limit, offset=offset
        )
    return Page[ProductRead](
        items=[ProductRead.of(p) for p in products],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/products/{sku}",
    response_model=ProductRead,
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404),
)
def get_product(sku: str, services: ServicesDep) -> ProductRead:
    """One product by SKU."""
    with services.db.transaction() as tx:
        [product] = stock_queries.get_products(tx, [sku]).values()
    return ProductRead.of(product)


@router.get(
    "/pharmacies/{pharmacy_id}/stock",
    response_model=list[LotRead],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404),
)
def list_stock(
    pharmacy_id: str, services: ServicesDep, sku: str | None = None
) -> list[LotRead]:
    """Stock lots of a pharmacy (optionally of one SKU)."""
    with services.db.transaction() as tx:
        stock_queries.get_pharmacy(tx, pharmacy_id)
        return [
            LotRead.of(lot)
            for lot in stock_queries.list_lots(tx, pharmacy_id=pharmacy_id, sku=sku)
        ]


@router.post(
    "/pharmacies/{pharmacy_id}/stock",
    response_model=LotRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 409, 422),
)
def receive_lot(
    pharmacy_id: str, body: LotCreate, services: ServicesDep, who: Pharmacist
) -> LotRead:
    """Put a received lot on the shelf."""
    with services.db.transaction() as tx:
        lot = catalogue.receive_lot(
            tx,
            pharmacy_id=pharmacy_id,
            sku=body.sku,
            lot_number=body.lot_number,
            expiry_date=body.expiry_date,
            quantity=body.quantity,
            actor=actor_of(who),
        )
    return LotRead.of(lot)


@router.post(
    "/pharmacies/{pharmacy_id}/stock/import",
    response_model=StockImportRead,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def import_stock(
    pharmacy_id: str,
    services: ServicesDep,
    who: Pharmacist,
    csv_text: Annotated[
        str, Body(media_type="text/csv", max_length=MAX_CSV_BYTES)
    ] = "",
) -> StockImportRead:
    """Import lots from CSV (``sku,lot_number,expiry_date,quantity``); either every
    row is imported or none, with the failing rows listed."""
    lots, errors = parse_stock_csv(csv_text)
    if not lots and not errors:
        raise ApiRuleViolation("the CSV holds no rows")
    if not errors:
        try:
            with services.db.transaction() as tx:
                errors = _receive_all(tx, pharmacy_id, lots, actor_of(who))
                if errors:
                    raise _Rollback
        except _Rollback:
            pass
    if errors:
        raise ApiRuleViolation(
            f"{len(errors)} row(s) are invalid; nothing was imported",
            issues=[
                ValidationIssue(loc=["csv", e.line], msg=f"{e.code}: {e.detail}")
                for e in errors
            ],
        )
    return StockImportRead(imported=len(lots), errors=[])


class _Rollback(Exception):  # noqa: N818 - control flow only
    """Abort the import transaction after collecting every row's error."""


def _receive_all(
    tx: Tx, pharmacy_id: str, lots: list[LotCreate], actor: str
) -> list[ImportRowError]:
    errors: list[ImportRowError] = []
    for line, lot in enumerate(lots, start=2):
        try:
            with tx.savepoint():
                catalogue.receive_lot(
                    tx,
                    pharmacy_id=pharmacy_id,
                    sku=lot.sku,
                    lot_number=lot.lot_number,
                    expiry_date=lot.expiry_date,
                    quantity=lot.quantity,
                    actor=actor,
                )
        except DispatchError as exc:
            errors.append(ImportRowError(line=line, code=exc.code, detail=str(exc)))
    return errors
