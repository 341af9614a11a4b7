"""Tests of dispatch.delivery."""
