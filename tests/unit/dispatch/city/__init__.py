"""Tests of dispatch.city."""
