"""Integration tests of dispatch.orders."""
