"""``rxdispatch serve``: the API (uvicorn, app factory) with the dispatch core."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from api.logging import configure_logging
from api.settings import ApiSettings


def serve_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log each request.")] = True,
) -> None:
    """Serve the HTTP API and live channels (embedded PostgreSQL if DATABASE_URL
    is unset)."""
    settings = ApiSettings()
    level = getattr(logging, log_level.upper(), logging.INFO)
    configure_logging(level)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        log_config=None,
        log_level=level,
        access_log=access_log,
        ws="websockets-sansio",
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        proxy_headers=False,
    )
