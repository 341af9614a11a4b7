"""A seeded day of medicine deliveries in Malta, played against rxdispatch as a client.

The simulator imports none of ``api``, ``dispatch``, ``telemetry`` or ``routing``:
it talks to the system only over HTTP (:mod:`simulator.client`), websockets
(:mod:`simulator.live`) and MQTT (:mod:`simulator.sensors`), and has its own map
of the city (:mod:`simulator.city`, © OpenStreetMap contributors, ODbL).

Pure parts: scenarios (:mod:`simulator.scenario`, TOML loader), the seeded world
(:mod:`simulator.world`: pharmacies, stock, fleet, orders, failures), the cold-box
thermal model and ground truth (:mod:`simulator.thermal`, :mod:`simulator.boxes`),
road routing and rider motion (:mod:`simulator.roads`, :mod:`simulator.motion`),
the MQTT wire format (:mod:`simulator.wire`), the KPI report
(:mod:`simulator.runlog`, :mod:`simulator.report`) and the day over time
(:mod:`simulator.timeline` series, drawn by :mod:`simulator.day_chart`). Agents
and the runner (:mod:`simulator.agents`, :mod:`simulator.desk`,
:mod:`simulator.runner`) play a scenario against a live system: ``python -m
simulator run SCENARIO.toml``; :mod:`simulator.watch_file` names one order and
its rider for people watching the run.
"""
