"""The dispatch core: orders, stock (FEFO), riders, holds, OTP proof, audit, plans.

Every command takes a :class:`~dispatch.adapters.postgres.unit_of_work.Tx` from
``Database.transaction()``; the caller owns the unit of work::

    with database.transaction() as tx:
        order = intake.submit_order(tx, request, actor="api:alice")

Import what you use from its subpackage; this package re-exports nothing:

- :mod:`dispatch.orders`: the order, intake, the state machine, fulfilment, reads,
  audited patient data;
- :mod:`dispatch.stock`: catalogue, FEFO rules, reservations, picking, write-offs;
- :mod:`dispatch.delivery`: the OTP and the proof-of-delivery hand-off;
- :mod:`dispatch.holds`: goods in doubt and the pharmacist's decision;
- :mod:`dispatch.planning`: problem building, plan application, the re-planner,
  the greedy baseline;
- :mod:`dispatch.city`: the bundled city (OpenStreetMap);
- :mod:`dispatch.adapters`: PostgreSQL (the only psycopg user), the outbox, the
  solver process pool and in-memory fakes;
- top-level modules shared by all of them: ``domain`` (catalogue, stock and fleet
  types), ``fleet`` (riders and cold boxes), ``audit``, ``clock``, ``context``,
  ``crypto``, ``errors``, ``events``, ``geo``, ``ports``, ``settings``.
"""
