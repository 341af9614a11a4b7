"""Integration tests of dispatch.holds."""
