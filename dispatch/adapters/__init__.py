"""Adapters of the dispatch core: PostgreSQL repositories, outbox, solver pool, fakes.

Only modules in this package import psycopg.
"""
