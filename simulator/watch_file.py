"""The watch file: what a person needs to follow one order of a run live.

Once an order first reaches a rider's route, the run writes its API id, the
patient's tracking token (as the API gave it to the order's creator) and the
rider's ref to ``--watch-file``: ``rxdispatch demo`` turns them into the
patient's tracking link and the rider's app link. The token is a credential,
so the file is created with mode 0600 and replaced atomically (a reader never
sees half of it).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

__all__ = ["write_watch_file"]


def write_watch_file(
    path: Path, *, order_id: str, tracking_token: str, rider_ref: str
) -> None:
    """Write (or replace) ``path`` with the order and rider to watch."""
    body = {
        "order_id": order_id,
        "tracking_token": tracking_token,
        "rider_ref": rider_ref,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(orjson.dumps(body))
    os.replace(tmp, path)
