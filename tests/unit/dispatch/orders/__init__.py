"""Tests of dispatch.orders."""
