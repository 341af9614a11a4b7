"""Tests of dispatch.stock."""
