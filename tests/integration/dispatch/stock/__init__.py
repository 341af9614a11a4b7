"""Integration tests of dispatch.stock."""
