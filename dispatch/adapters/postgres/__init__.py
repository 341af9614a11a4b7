"""PostgreSQL: the unit of work, databases and migrations, one repository per subdomain.

The only modules of ``dispatch`` that import psycopg.
"""
