"""Integration tests of dispatch.delivery."""
