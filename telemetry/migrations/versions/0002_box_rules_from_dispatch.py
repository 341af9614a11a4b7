"""Box rules: dispatch's cold boxes and profiles win over telemetry's own registry.

The cold box entity and product temperature profiles belong to ``dispatch``
(``dispatch.cold_box``, ``dispatch.temperature_profile``). A box is known to
telemetry when it is a dispatch cold box or registered in ``telemetry.box``
(loggers not yet assigned to a dispatch box, test rigs). Limits, single-event
delay and cumulative budget come from dispatch's profile; telemetry keeps what
dispatch does not model: hysteresis and the cumulative window per profile code
(``telemetry.temperature_profile``) and device settings per box
(``telemetry.box``: report interval, silence, battery, door).

Revision ID: telemetry_0002
Revises: telemetry_0001
Create Date: 2026-11-21
"""

from alembic import op

revision = "telemetry_0002"
down_revision = "telemetry_0001"
branch_labels = None
depends_on = None

SQL = """
INSERT INTO telemetry.temperature_profile VALUES
    ('ambient', 'Ambient / controlled room 15-25 °C', 15, 25, 0.5, 3600, 7200, 2592000)
ON CONFLICT (code) DO NOTHING;

CREATE VIEW telemetry.box_rules AS
SELECT k.box_id,
       coalesce(dp.code, tp.code) AS profile_code,
       coalesce(dp.min_c, tp.low_c) AS low_c,
       coalesce(dp.max_c, tp.high_c) AS high_c,
       coalesce(tune.hysteresis_c, tp.hysteresis_c, 0.5) AS hysteresis_c,
       coalesce(dp.max_single_excursion_s, tp.single_event_delay_s)
           AS single_event_delay_s,
       coalesce(dp.cumulative_excursion_budget_s, tp.cumulative_budget_s)
           AS cumulative_budget_s,
       coalesce(tune.cumulative_window_s, tp.cumulative_window_s, 86400)
           AS cumulative_window_s,
       coalesce(b.low_battery_pct, 15) AS low_battery_pct,
       coalesce(b.door_open_max_s, 120) AS door_open_max_s,
       coalesce(b.report_interval_s, 60) AS report_interval_s,
       coalesce(b.silent_after_intervals, 3) AS silent_after_intervals,
       cb.id IS NOT NULL AS dispatch_box
FROM (
    SELECT box_id FROM telemetry.box WHERE active
    UNION
    SELECT id FROM dispatch.cold_box
) k
LEFT JOIN telemetry.box b ON b.box_id = k.box_id
LEFT JOIN dispatch.cold_box cb ON cb.id = k.box_id
LEFT JOIN dispatch.temperature_profile dp ON dp.code = cb.profile_code
LEFT JOIN telemetry.temperature_profile tune ON tune.code = dp.code
LEFT JOIN telemetry.temperature_profile tp
    ON tp.code = b.profile_code AND cb.id IS NULL;
"""


def upgrade() -> None:
    op.execute(SQL)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
