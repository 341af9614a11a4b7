"""Cold-chain telemetry: MQTT ingestion into PostgreSQL, excursion detection, alerts.

Flow (one worker): ``mqtt`` (transport, manual acks) -> ``ingest`` (batches: decode
with ``codec``, write with ``store``, detect with ``monitor``/``excursions`` in the
same transaction, then ack) -> ``notify`` (holds via ``dispatch_link``, events,
``webhooks``). ``service`` composes one worker, ``runtime`` everything a process
runs. The wire format is documented in ``docs/telemetry-wire-contract.md``.
"""
