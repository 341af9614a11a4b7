"""Put a world into the system the way its staff would: through the API.

Products, pharmacies (the real OSM ones) and their stock (one CSV import per
pharmacy), riders with their cold boxes, and a device token for each rider's
phone. Re-running is
harmless: existing products, pharmacies and riders are kept (409), stock is only
imported into pharmacies created by this run.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from simulator.client import ApiClient
from simulator.scenario import StorageClass
from simulator.world import World

__all__ = ["Registry", "pharmacy_id", "register_world"]

log = logging.getLogger(__name__)

_STORAGE = {
    StorageClass.ROOM: "ambient",
    StorageClass.REFRIGERATED: "refrigerated",
    StorageClass.FROZEN: "frozen",
}


def pharmacy_id(osm_ref: str) -> str:
    """The API id of an OSM pharmacy (``node/123`` -> ``osm-node-123``)."""
    return "osm-" + osm_ref.replace("/", "-")


@dataclass(frozen=True)
class Registry:
    """What set-up produced: device tokens per rider index."""

    device_tokens: dict[int, str]
    pharmacies_created: int
    lots_imported: int


async def register_world(client: ApiClient, token: str, world: World) -> Registry:
    """Register products, pharmacies with stock, and riders; issue device tokens."""
    for product in world.scenario.products:
        await client.create_product(
            token,
            sku=product.sku,
            name=product.name,
            storage_class=_STORAGE[product.storage],
            controlled_schedule=product.schedule,
        )
    lots_by_pharmacy: dict[str, list[tuple[str, str, date, int]]] = defaultdict(list)
    for lot in world.stock:
        lots_by_pharmacy[lot.pharmacy_ref].append(
            (lot.sku, lot.lot_code, lot.expires_on, lot.units)
        )
    created = imported = 0
    for pharmacy in world.pharmacies:
        new = await client.create_pharmacy(
            token,
            pharmacy_id=pharmacy_id(pharmacy.osm_ref),
            name=pharmacy.name,
            lat=pharmacy.lat,
            lon=pharmacy.lon,
        )
        if new:
            created += 1
            rows = lots_by_pharmacy.get(pharmacy.osm_ref, [])
            if rows:
                imported += await client.import_stock(
                    token, pharmacy_id(pharmacy.osm_ref), rows
                )
    tokens = await asyncio.gather(
        *(_rider(client, token, world, index) for index in range(len(world.riders)))
    )
    log.info(
        "world registered: %d pharmacies created, %d lots, %d riders",
        created,
        imported,
        len(tokens),
    )
    return Registry(dict(enumerate(tokens)), created, imported)


async def _rider(client: ApiClient, token: str, world: World, index: int) -> str:
    rider = world.riders[index]
    await client.create_rider(
        token,
        rider_id=rider.ref,
        name=f"Rider {index:03d}",
        vehicle=rider.vehicle.value,
        cold_box_slots=rider.cold_box_slots,
        skills=("controlled",) if rider.controlled else (),
    )
    if rider.box_ref is not None:
        await client.create_cold_box(token, box_id=rider.box_ref, rider_id=rider.ref)
    return await client.issue_device_token(token, rider.ref)
