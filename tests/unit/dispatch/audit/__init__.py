"""Tests of dispatch.audit."""
