"""Several API instances on one database.

Modules: ``bus`` (the cross-instance event bus: PostgreSQL LISTEN/NOTIFY and the
database-numbered dispatch feed), ``wiring`` (what each instance sends and
receives over it: feed frames, live frames and positions, replan requests,
device-token revocations).
"""
