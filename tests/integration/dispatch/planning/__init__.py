"""Integration tests of dispatch.planning."""
