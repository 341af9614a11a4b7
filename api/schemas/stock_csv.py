"""Parse a stock CSV (``sku,lot_number,expiry_date,quantity``) into lots.

Every row is validated before anything is written; the import is all-or-nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from pydantic import ValidationError

from api.schemas.catalogue import ImportRowError, LotCreate

REQUIRED_COLUMNS = ("sku", "lot_number", "expiry_date", "quantity")
MAX_ROWS = 10_000


def parse_stock_csv(text: str) -> tuple[list[LotCreate], list[ImportRowError]]:
    """Valid lots and the errors of the invalid rows (line numbers 1-based)."""
    try:
        return _parse(text)
    except csv.Error as exc:
        return [], [ImportRowError(line=0, code="malformed_csv", detail=str(exc))]


def _parse(text: str) -> tuple[list[LotCreate], list[ImportRowError]]:
    if "\x00" in text:
        return [], [
            ImportRowError(
                line=0, code="malformed_csv", detail="the file contains NUL bytes"
            )
        ]
    reader = csv.DictReader(io.StringIO(text))
    header = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [
            ImportRowError(
                line=1,
                code="missing_columns",
                detail="missing column(s): " + ", ".join(missing),
            )
        ]
    lots: list[LotCreate] = []
    errors: list[ImportRowError] = []
    for index, row in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            errors.append(
                ImportRowError(
                    line=index, code="too_many_rows", detail=f"at most {MAX_ROWS} rows"
                )
            )
            break
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        try:
            lots.append(
                LotCreate(
                    sku=clean["sku"],
                    lot_number=clean["lot_number"],
                    expiry_date=date.fromisoformat(clean["expiry_date"]),
                    quantity=int(clean["quantity"]),
                )
            )
        except (ValueError, ValidationError) as exc:
            detail = (
                exc.errors()[0]["msg"]
                if isinstance(exc, ValidationError)
                else "expiry_date must be YYYY-MM-DD and quantity an integer"
            )
            errors.append(ImportRowError(line=index, code="invalid_row", detail=detail))
    return lots, errors
