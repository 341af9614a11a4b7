"""Tests of api.live."""
