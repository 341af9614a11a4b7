"""Alembic environment of the API's schemas (``auth``, ``live``)."""
