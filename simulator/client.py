"""The only module that speaks HTTP to the system under test (httpx, async).

Routes and bodies follow the API's OpenAPI document: staff set-up (pharmacies,
products, stock CSV, riders, device tokens), orders, the rider's device
(shift, route, pickup, delivery, failure), the patient's tracking link, and
the pharmacist's holds. Answers are turned into the simulator's own small
types; errors become :class:`~simulator.errors.ApiError` with the problem
``code`` (RFC 9457 bodies), unreachable servers :class:`ApiUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from simulator.api_types import (
    CreatedOrder,
    HoldView,
    OrderView,
    PatientMessage,
    RouteStop,
    parse_dt,
    parse_route,
)
from simulator.errors import ApiError, ApiUnavailable

__all__ = ["ApiClient"]

log = logging.getLogger(__name__)

_RETRIES = 5


def _point(lat: float, lon: float) -> dict[str, float]:
    return {"lat": round(lat, 7), "lon": round(lon, 7)}


class ApiClient:
    """An async client of the API at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return str(self._http.base_url).rstrip("/")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        content: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One call; retries 429/503 after ``Retry-After``; returns the JSON body."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        for attempt in range(_RETRIES):
            try:
                response = await self._http.request(
                    method, path, json=json, content=content, headers=sent
                )
            except httpx.TransportError as exc:
                raise ApiUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
            if response.status_code in (429, 503) and attempt < _RETRIES - 1:
                await asyncio.sleep(_retry_after_s(response, attempt))
                continue
            if response.is_success:
                return response.json() if response.content else None
            raise _api_error(method, path, response)
        raise ApiUnavailable(f"{method} {path}: still busy after {_RETRIES} tries")

    # -- staff ------------------------------------------------------------------
    async def health(self) -> bool:
        """Whether ``/health`` answers."""
        try:
            await self.request("GET", "/health")
        except ApiError:
            return False
        return True

    async def login(self, username: str, password: str) -> str:
        """A staff bearer token."""
        body = {"username": username, "password": password}
        answer = await self.request("POST", "/auth/token", json=body)
        return str(answer["access_token"])

    async def create_pharmacy(
        self, token: str, *, pharmacy_id: str, name: str, lat: float, lon: float
    ) -> bool:
        """Register a pharmacy; False if it already exists."""
        body = {
            "id": pharmacy_id,
            "name": name,
            "location": _point(lat, lon),
            "licence_number": f"LIC-{pharmacy_id}",
        }
        return await self._create(token, "/pharmacies", body)

    async def create_product(
        self,
        token: str,
        *,
        sku: str,
        name: str,
        storage_class: str,
        controlled_schedule: str | None,
    ) -> bool:
        """Add a product; False if it already exists."""
        body = {
            "sku": sku,
            "name": name,
            "storage_class": storage_class,
            "prescription_only": True,
            "controlled_schedule": controlled_schedule,
            "min_shelf_life_days": 1,
        }
        return await self._create(token, "/products", body)

    async def import_stock(
        self, token: str, pharmacy_id: str, lots: list[tuple[str, str, date, int]]
    ) -> int:
        """Import ``(sku, lot_number, expiry_date, quantity)`` rows (all or none)."""
        rows = ["sku,lot_number,expiry_date,quantity"]
        rows += [
            f"{sku},{lot},{expiry.isoformat()},{qty}" for sku, lot, expiry, qty in lots
        ]
        answer = await self.request(
            "POST",
            f"/pharmacies/{pharmacy_id}/stock/import",
            token=token,
            content="\n".join(rows) + "\n",
            headers={"Content-Type": "text/csv"},
        )
        return int(answer["imported"])

    async def create_rider(
        self,
        token: str,
        *,
        rider_id: str,
        name: str,
        vehicle: str,
        cold_box_slots: int,
        skills: tuple[str, ...] = (),
    ) -> bool:
        """Register a rider (``skills``: e.g. ``controlled``); False if they
        already exist."""
        body = {
            "id": rider_id,
            "name": name,
            "vehicle_type": vehicle,
            "cold_box_slots": cold_box_slots,
            "skills": list(skills),
        }
        return await self._create(token, "/riders", body)

    async def create_cold_box(
        self,
        token: str,
        *,
        box_id: str,
        rider_id: str,
        profile_code: str = "refrigerated",
    ) -> bool:
        """Register a rider's cold box (its sensor publishes as ``box_id``)."""
        body = {"id": box_id, "profile_code": profile_code, "rider_id": rider_id}
        return await self._create(token, "/cold-boxes", body)

    async def issue_device_token(self, token: str, rider_id: str) -> str:
        """A device token for the rider's phone (shown once)."""
        answer = await self.request(
            "POST",
            f"/riders/{rider_id}/device-tokens",
            token=token,
            json={"label": "simulator"},
        )
        return str(answer["device_token"])

    async def create_order(
        self, token: str, body: dict[str, Any], *, idempotency_key: str
    ) -> CreatedOrder:
        """Create an order (``OrderCreate`` body) idempotently."""
        answer = await self.request(
            "POST",
            "/orders",
            token=token,
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return CreatedOrder(
            order_id=str(answer["id"]),
            tracking_token=str(answer["tracking_token"]),
            status=str(answer["status"]),
            pharmacy_id=answer.get("pharmacy_id"),
        )

    async def get_order(self, token: str, order_id: str) -> OrderView:
        """The staff view of one order."""
        answer = await self.request("GET", f"/orders/{order_id}", token=token)
        return OrderView(
            order_id=str(answer["id"]),
            status=str(answer["status"]),
            rider_id=answer.get("rider_id"),
            pharmacy_id=answer.get("pharmacy_id"),
            unassigned_reason=answer.get("unassigned_reason"),
            picked_up_at=parse_dt(answer.get("picked_up_at")),
        )

    async def open_holds(self, token: str) -> list[HoldView]:
        """Holds waiting for a pharmacist."""
        answer = await self.request("GET", "/holds", token=token)
        return [
            HoldView(
                hold_id=int(h["id"]),
                reason=str(h["reason"]),
                box_id=h.get("box_id"),
                placed_at=datetime.fromisoformat(h["placed_at"]),
                order_ids=tuple(str(o) for o in h["order_ids"]),
            )
            for h in answer
        ]

    async def box_quarantines(self, token: str, box_id: str) -> list[datetime]:
        """When the engine took ``box_id`` out of cold service (its excursion
        alarms), from the audit trail (admin only), oldest first."""
        query = urlencode({"subject_id": box_id, "limit": 1000})
        answer = await self.request("GET", f"/audit?{query}", token=token)
        return sorted(
            datetime.fromisoformat(e["recorded_at"])
            for e in answer
            if e["action"] == "cold_box.quarantined" and e["subject_type"] == "cold_box"
        )

    async def decide_hold(self, token: str, hold_id: int, *, release: bool) -> None:
        """Release (goods fine) or reject (written off, replaced) a hold."""
        action = "release" if release else "reject"
        await self.request(
            "POST",
            f"/holds/{hold_id}/{action}",
            token=token,
            json={"note": "simulated pharmacist"},
        )

    async def pick_list(self, token: str, order_id: str) -> list[str]:
        """The label codes of the lots the pharmacist hands over for an order
        (what the rider scans)."""
        answer = await self.request("GET", f"/orders/{order_id}/pick-list", token=token)
        return sorted({str(line["scan_code"]) for line in answer})

    # -- rider device -------------------------------------------------------------
    async def start_shift(
        self, device: str, *, ends_at: datetime, lat: float, lon: float
    ) -> None:
        """Start the rider's shift at a position."""
        body = {"ends_at": ends_at.isoformat(), "position": _point(lat, lon)}
        await self.request("POST", "/riders/me/shift/start", token=device, json=body)

    async def end_shift(self, device: str) -> None:
        """End the rider's shift."""
        await self.request("POST", "/riders/me/shift/end", token=device)

    async def my_route(self, device: str) -> list[RouteStop]:
        """The rider's remaining stops in order."""
        return parse_route(await self.request("GET", "/riders/me/route", token=device))

    async def confirm_pickup(
        self,
        device: str,
        order_id: str,
        *,
        lot_codes: list[str],
        lat: float,
        lon: float,
    ) -> None:
        """Confirm collection with the scanned label codes."""
        body = {"scanned_lot_codes": lot_codes, "position": _point(lat, lon)}
        await self.request(
            "POST", f"/orders/{order_id}/pickup", token=device, json=body
        )

    async def confirm_delivery(
        self,
        device: str,
        order_id: str,
        *,
        otp: str,
        lat: float,
        lon: float,
        id_check: tuple[str, str] | None = None,
        signature: str | None = None,
    ) -> None:
        """Complete the hand-off with the patient's code (and ID attestation and
        signature for medicines that need them)."""
        body: dict[str, Any] = {"otp": otp, "position": _point(lat, lon)}
        if id_check is not None:
            body["id_check"] = {
                "document_type": id_check[0],
                "last_digits": id_check[1],
            }
        if signature is not None:
            body["signature"] = signature
        await self.request(
            "POST", f"/orders/{order_id}/delivery", token=device, json=body
        )

    async def report_failure(
        self, device: str, order_id: str, *, reason: str, lat: float, lon: float
    ) -> None:
        """The delivery could not be completed (e.g. ``patient_absent``)."""
        body = {"reason": reason, "position": _point(lat, lon)}
        await self.request(
            "POST", f"/orders/{order_id}/failure", token=device, json=body
        )

    # -- patient ------------------------------------------------------------------
    async def tracking(self, tracking_token: str) -> dict[str, Any]:
        """The patient's tracking view (status, ETA, rider position)."""
        answer: dict[str, Any] = await self.request("GET", f"/track/{tracking_token}")
        return answer

    async def patient_messages(self, tracking_token: str) -> list[PatientMessage]:
        """The patient's outbox, read through their tracking link."""
        answer = await self.request("GET", f"/track/{tracking_token}/messages")
        return [PatientMessage(str(m["kind"]), str(m["body"])) for m in answer]

    async def patient_texts(self, token: str, order_id: str) -> list[str]:
        """What the server's fake SMS gateway "texted" the patient of an order
        (admin only; dev and test servers): their own tracking link is in it."""
        answer = await self.request("GET", f"/dev/patient-sms/{order_id}", token=token)
        return [str(m["body"]) for m in answer]

    async def _create(self, token: str, path: str, body: dict[str, Any]) -> bool:
        try:
            await self.request("POST", path, token=token, json=body)
        except ApiError as exc:
            if exc.status == 409:
                return False
            raise
        return True


def _retry_after_s(response: httpx.Response, attempt: int) -> float:
    try:
        return min(10.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return min(10.0, 0.2 * 2.0**attempt)


def _api_error(method: str, path: str, response: httpx.Response) -> ApiError:
    code = ""
    detail = response.reason_phrase
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict):
        code = str(problem.get("code", ""))
        detail = str(problem.get("detail") or problem.get("title") or detail)
    return ApiError(
        f"{method} {path}: {response.status_code} {code} {detail}".strip(),
        status=response.status_code,
        problem_code=code,
    )
