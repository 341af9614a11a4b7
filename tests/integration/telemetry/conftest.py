"""Telemetry integration fixtures: the dispatch fixtures the closed-loop tests use."""

from tests.integration.dispatch.conftest import clock, db, publisher

__all__ = ["clock", "db", "publisher"]
