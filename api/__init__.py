"""The composition root: the HTTP API, websockets, the CLI and the demo.

``app.create_app()`` builds the FastAPI app; its lifespan starts what the process
needs (embedded PostgreSQL and broker when their URLs are unset, the re-planner,
the ingest worker). Routes live in :mod:`api.routers` (thin: they call dispatch
functions), response and request shapes per audience in :mod:`api.schemas`,
credentials and roles in :mod:`api.auth`, live fan-out in :mod:`api.live`, the
commands in :mod:`api.cli`, and ``rxdispatch demo`` in :mod:`api.demo`. Nothing
is re-exported: import from the module that holds a name.
"""
