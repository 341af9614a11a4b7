"""Typed access to a TOML table that reports the dotted path of a bad value.

Also parses the product catalogue and the thermal table (the two long lists).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from simulator.errors import ScenarioError
from simulator.scenario import ColdChainRule, Product, StorageClass, ThermalParams

__all__ = ["Fields", "parse_cold_chain", "parse_products", "parse_thermal"]

_S = TypeVar("_S", bound=StrEnum)
_MISSING: Any = object()
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class Fields:
    """One TOML table plus where it sits (``path``) and which file it came from."""

    def __init__(self, data: Mapping[str, Any], path: str, source: str) -> None:
        self._data = data
        self._path = path
        self._source = source

    def error(self, key: str, message: str) -> ScenarioError:
        """A :class:`ScenarioError` about ``key`` in this table."""
        return ScenarioError(message, field=self._full(key), source=self._source)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present."""
        return key in self._data

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        """Refuse keys this table does not define (catches typos)."""
        for key in self._data:
            if key not in set(allowed):
                raise self.error(key, "unknown key")

    def table(self, key: str, *, required: bool = True) -> Fields:
        """A sub-table (an empty one when optional and absent)."""
        raw = self._get(key, {} if not required else _MISSING)
        if not isinstance(raw, Mapping):
            raise self.error(key, "must be a table")
        return Fields(raw, self._full(key), self._source)

    def table_list(self, key: str, *, min_items: int = 0) -> list[Fields]:
        """An array of tables (``[[key]]``)."""
        raw = self._get(key, [] if min_items == 0 else _MISSING)
        if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
            raise self.error(key, "must be an array of tables")
        if len(raw) < min_items:
            raise self.error(key, f"needs at least {min_items} entries")
        return [
            Fields(x, f"{self._full(key)}[{i}]", self._source)
            for i, x in enumerate(raw)
        ]

    def string(self, key: str, *, default: str | None = None) -> str:
        """A non-empty string."""
        raw = self._get(key, _MISSING if default is None else default)
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(key, f"must be a non-empty string, got {raw!r}")
        return raw

    def boolean(self, key: str, *, default: bool | None = None) -> bool:
        """``true`` or ``false``."""
        raw = self._get(key, _MISSING if default is None else default)
        if not isinstance(raw, bool):
            raise self.error(key, f"must be true or false, got {raw!r}")
        return raw

    def integer(
        self,
        key: str,
        *,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        """An integer within ``[minimum, maximum]``."""
        raw = self._get(key, _MISSING if default is None else default)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.error(key, f"must be an integer, got {raw!r}")
        self._check_bounds(key, raw, minimum, maximum)
        return raw

    def number(
        self,
        key: str,
        *,
        default: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        """A finite number within ``[minimum, maximum]``."""
        raw = self._get(key, _MISSING if default is None else default)
        return self._finite(key, raw, minimum, maximum)

    def share(self, key: str, *, default: float | None = None) -> float:
        """A number between 0 and 1."""
        return self.number(key, default=default, minimum=0.0, maximum=1.0)

    def number_list(
        self, key: str, *, length: int, minimum: float | None = None
    ) -> list[float]:
        """A list of exactly ``length`` finite numbers."""
        raw = self._get(key, _MISSING)
        if not isinstance(raw, list) or len(raw) != length:
            raise self.error(key, f"must be a list of {length} numbers")
        return [self._finite(key, value, minimum, None) for value in raw]

    def int_range(
        self, key: str, *, default: tuple[int, int] | None = None, minimum: int = 0
    ) -> tuple[int, int]:
        """``[low, high]`` integers with ``minimum <= low <= high``."""
        raw = self._get(key, _MISSING if default is None else list(default))
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
        ):
            raise self.error(key, f"must be [low, high] integers, got {raw!r}")
        low, high = raw
        if not minimum <= low <= high:
            raise self.error(key, f"needs {minimum} <= low <= high, got {raw!r}")
        return low, high

    def choice(self, key: str, kind: type[_S]) -> _S:
        """One of the values of the StrEnum ``kind``."""
        raw = self.string(key)
        try:
            return kind(raw)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise self.error(key, f"must be one of {allowed}; got {raw!r}") from None

    def clock_minute(self, key: str) -> int:
        """A local time ``"HH:MM"`` (``"24:00"`` allowed) as minutes after midnight."""
        raw = self.string(key)
        match = _CLOCK.match(raw)
        if not match or (match.group(1) == "24" and match.group(2) != "00"):
            raise self.error(key, f'must be a time "HH:MM", got {raw!r}')
        return int(match.group(1)) * 60 + int(match.group(2))

    def _get(self, key: str, default: Any) -> Any:
        if key in self._data:
            return self._data[key]
        if default is _MISSING:
            raise self.error(key, "is required")
        return default

    def _full(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _finite(
        self, key: str, raw: Any, minimum: float | None, maximum: float | None
    ) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise self.error(key, f"must be a number, got {raw!r}")
        if not math.isfinite(raw):
            raise self.error(key, f"must be finite, got {raw!r}")
        self._check_bounds(key, raw, minimum, maximum)
        return float(raw)

    def _check_bounds(
        self, key: str, value: float, minimum: float | None, maximum: float | None
    ) -> None:
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be <= {maximum}, got {value}")


def parse_products(root: Fields) -> tuple[Product, ...]:
    """The ``[[products]]`` catalogue: unique SKUs, positive demand weights."""
    products: list[Product] = []
    seen: set[str] = set()
    for item in root.table_list("products", min_items=1):
        item.reject_unknown(
            {"sku", "name", "category", "storage", "controlled", "weight", "max_qty"}
            | {"schedule"}
        )
        sku = item.string("sku")
        if sku in seen:
            raise item.error("sku", f"duplicate SKU {sku!r}")
        seen.add(sku)
        controlled = item.boolean("controlled", default=False)
        schedule = item.string("schedule", default="II") if controlled else None
        if not controlled and item.has("schedule"):
            raise item.error("schedule", "only controlled products have a schedule")
        products.append(
            Product(
                sku=sku,
                name=item.string("name"),
                category=item.string("category"),
                storage=item.choice("storage", StorageClass),
                controlled=controlled,
                weight=item.number("weight", default=1.0, minimum=0.0),
                max_qty=item.integer("max_qty", default=2, minimum=1, maximum=100),
                schedule=schedule,
            )
        )
    return tuple(products)


def parse_thermal(table: Fields) -> ThermalParams:
    """The ``[thermal]`` table; every value has a physically sensible default."""
    fields = {
        "ua_w_per_k": (0.8, 0.01, 1000.0),
        "heat_capacity_j_per_k": (8000.0, 10.0, 1e8),
        "pcm_latent_kj": (400.0, 0.0, 1e6),
        "pcm_melt_c": (5.0, -30.0, 30.0),
        "pcm_coupling_w_per_k": (40.0, 0.0, 1e5),
        "door_ua_w_per_k": (10.0, 0.0, 1e5),
        "initial_c": (5.0, -30.0, 40.0),
        "ambient_mean_c": (27.0, -30.0, 50.0),
        "ambient_amplitude_c": (5.0, 0.0, 30.0),
        "ambient_peak_hour": (15.0, 0.0, 24.0),
        "seal_failure_factor": (12.0, 1.0, 1000.0),
    }
    table.reject_unknown(fields)
    values = {
        key: table.number(key, default=default, minimum=low, maximum=high)
        for key, (default, low, high) in fields.items()
    }
    return ThermalParams(**values)


def parse_cold_chain(table: Fields) -> ColdChainRule:
    """The ``[cold_chain]`` table; the defaults are the engine's refrigerated
    profile (2-8 °C, 15 min single, 60 min total, 0.5 °C hysteresis)."""
    table.reject_unknown(
        {"low_c", "high_c", "single_event_delay_s", "cumulative_budget_s"}
        | {"hysteresis_c"}
    )
    low = table.number("low_c", default=2.0, minimum=-40.0, maximum=40.0)
    high = table.number("high_c", default=8.0, minimum=-40.0, maximum=40.0)
    if high <= low:
        raise table.error("high_c", "must be above low_c")
    hysteresis = table.number("hysteresis_c", default=0.5, minimum=0.0, maximum=10.0)
    if 2 * hysteresis >= high - low:
        raise table.error("hysteresis_c", "must fit twice inside the range")
    return ColdChainRule(
        low_c=low,
        high_c=high,
        single_event_delay_s=table.number(
            "single_event_delay_s", default=900.0, minimum=0.0, maximum=86400.0
        ),
        cumulative_budget_s=table.number(
            "cumulative_budget_s", default=3600.0, minimum=0.0, maximum=86400.0
        ),
        hysteresis_c=hysteresis,
    )
