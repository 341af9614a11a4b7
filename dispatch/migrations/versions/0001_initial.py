"""dispatch schema: catalogue, stock, fleet, orders, holds, proof, audit, plans.

Revision ID: dispatch_0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

revision = "dispatch_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS dispatch;

CREATE TABLE dispatch.temperature_profile (
    code text PRIMARY KEY,
    min_c double precision NOT NULL,
    max_c double precision NOT NULL,
    max_single_excursion_s integer NOT NULL CHECK (max_single_excursion_s >= 0),
    cumulative_excursion_budget_s integer NOT NULL CHECK (cumulative_excursion_budget_s >= 0),
    max_transit_s integer CHECK (max_transit_s > 0),
    CONSTRAINT temperature_profile_range_ck CHECK (min_c < max_c)
);
INSERT INTO dispatch.temperature_profile VALUES
    ('ambient', 15, 25, 3600, 7200, NULL),
    ('refrigerated', 2, 8, 900, 3600, 7200),
    ('frozen', -25, -15, 600, 1800, 5400);

CREATE TABLE dispatch.pharmacy (
    id text PRIMARY KEY,
    name text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    licence_number text NOT NULL UNIQUE,
    opening_hours jsonb NOT NULL DEFAULT '[]',
    timezone text NOT NULL DEFAULT 'Europe/Malta'
);

CREATE TABLE dispatch.product (
    sku text PRIMARY KEY,
    name text NOT NULL,
    storage_class text NOT NULL REFERENCES dispatch.temperature_profile (code),
    prescription_only boolean NOT NULL DEFAULT false,
    controlled_schedule text,
    min_shelf_life_days integer NOT NULL DEFAULT 30 CHECK (min_shelf_life_days >= 0)
);

CREATE TABLE dispatch.stock_lot (
    id bigserial PRIMARY KEY,
    pharmacy_id text NOT NULL REFERENCES dispatch.pharmacy (id),
    sku text NOT NULL REFERENCES dispatch.product (sku),
    lot_number text NOT NULL,
    expiry_date date NOT NULL,
    quantity_on_hand integer NOT NULL CHECK (quantity_on_hand >= 0),
    quantity_reserved integer NOT NULL DEFAULT 0 CHECK (quantity_reserved >= 0),
    CONSTRAINT stock_lot_no_overallocation_ck CHECK (quantity_reserved <= quantity_on_hand),
    CONSTRAINT stock_lot_uq UNIQUE (pharmacy_id, sku, lot_number)
);
CREATE INDEX stock_lot_fefo_ix ON dispatch.stock_lot (sku, pharmacy_id, expiry_date, id);

CREATE TABLE dispatch.rider (
    id text PRIMARY KEY,
    name text NOT NULL,
    vehicle_type text NOT NULL CHECK (vehicle_type IN ('bike', 'scooter', 'car')),
    cold_box_slots integer NOT NULL DEFAULT 0 CHECK (cold_box_slots >= 0),
    skills text[] NOT NULL DEFAULT '{}',
    shift_start_at timestamptz,
    shift_end_at timestamptz,
    lat double precision,
    lon double precision,
    position_at timestamptz,
    status text NOT NULL DEFAULT 'off_shift'
        CHECK (status IN ('off_shift', 'available', 'on_break', 'offline')),
    version integer NOT NULL DEFAULT 0
);

CREATE TABLE dispatch.cold_box (
    id text PRIMARY KEY,
    profile_code text NOT NULL REFERENCES dispatch.temperature_profile (code),
    rider_id text REFERENCES dispatch.rider (id)
);

CREATE TABLE dispatch.customer_order (
    id uuid PRIMARY KEY,
    patient_ref text NOT NULL,
    contact_enc bytea NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    window_start_at timestamptz NOT NULL,
    window_end_at timestamptz NOT NULL,
    priority text NOT NULL CHECK (priority IN ('urgent', 'standard')),
    proof_level text NOT NULL CHECK (proof_level IN ('otp', 'otp_id_signature')),
    idempotency_key text NOT NULL UNIQUE,
    fingerprint text NOT NULL,
    replacement_of uuid REFERENCES dispatch.customer_order (id),
    status text NOT NULL CHECK (status IN ('created', 'sourced', 'assigned',
        'picked_up', 'delivered', 'failed', 'cancelled', 'on_hold')),
    held_from text,
    pharmacy_id text REFERENCES dispatch.pharmacy (id),
    rider_id text REFERENCES dispatch.rider (id),
    candidate_pharmacy_ids text[] NOT NULL DEFAULT '{}',
    unassigned_reason text,
    created_at timestamptz NOT NULL,
    picked_up_at timestamptz,
    version integer NOT NULL DEFAULT 0,
    CONSTRAINT customer_order_window_ck CHECK (window_start_at < window_end_at)
);
CREATE INDEX customer_order_open_ix ON dispatch.customer_order (status)
    WHERE status NOT IN ('delivered', 'failed', 'cancelled');

CREATE TABLE dispatch.order_line (
    order_id uuid NOT NULL REFERENCES dispatch.customer_order (id),
    sku text NOT NULL REFERENCES dispatch.product (sku),
    quantity integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku)
);

CREATE TABLE dispatch.reservation (
    id bigserial PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES dispatch.customer_order (id),
    lot_id bigint NOT NULL REFERENCES dispatch.stock_lot (id),
    quantity integer NOT NULL CHECK (quantity > 0),
    status text NOT NULL CHECK (status IN ('held', 'picked', 'released',
        'consumed', 'restocked', 'written_off')),
    created_at timestamptz NOT NULL,
    closed_at timestamptz
);
CREATE INDEX reservation_order_ix ON dispatch.reservation (order_id);

CREATE TABLE dispatch.order_transition (
    id bigserial PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES dispatch.customer_order (id),
    from_status text,
    to_status text NOT NULL,
    actor text NOT NULL,
    at timestamptz NOT NULL,
    lat double precision,
    lon double precision,
    reason text NOT NULL DEFAULT ''
);
CREATE INDEX order_transition_order_ix ON dispatch.order_transition (order_id, id);

CREATE TABLE dispatch.hold (
    id bigserial PRIMARY KEY,
    reason text NOT NULL,
    box_id text,
    excursion_ref text,
    placed_by text NOT NULL,
    placed_at timestamptz NOT NULL,
    decision text CHECK (decision IN ('released', 'rejected')),
    decided_by text,
    decided_at timestamptz,
    note text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX hold_excursion_uq ON dispatch.hold (excursion_ref)
    WHERE excursion_ref IS NOT NULL;

CREATE TABLE dispatch.hold_order (
    hold_id bigint NOT NULL REFERENCES dispatch.hold (id),
    order_id uuid NOT NULL REFERENCES dispatch.customer_order (id),
    replacement_order_id uuid REFERENCES dispatch.customer_order (id),
    PRIMARY KEY (hold_id, order_id)
);

CREATE TABLE dispatch.otp (
    order_id uuid PRIMARY KEY REFERENCES dispatch.customer_order (id),
    code_hash text NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    used_at timestamptz,
    locked_at timestamptz
);

CREATE TABLE dispatch.notification_outbox (
    id bigserial PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES dispatch.customer_order (id),
    kind text NOT NULL,
    body_enc bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    sent_at timestamptz
);
CREATE INDEX notification_outbox_order_ix ON dispatch.notification_outbox (order_id, id);

CREATE TABLE dispatch.proof_of_delivery (
    order_id uuid PRIMARY KEY REFERENCES dispatch.customer_order (id),
    method text NOT NULL,
    delivered_at timestamptz NOT NULL,
    rider_id text REFERENCES dispatch.rider (id),
    lat double precision,
    lon double precision,
    distance_m double precision,
    flagged boolean NOT NULL DEFAULT false,
    id_document_type text,
    id_last_digits text,
    signature text,
    temperature_record jsonb,
    temperature_attached_at timestamptz
);

CREATE TABLE dispatch.audit_entry (
    seq bigint PRIMARY KEY,
    recorded_at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    subject_type text NOT NULL,
    subject_id text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}',
    prev_hash text NOT NULL,
    entry_hash text NOT NULL
);

CREATE TABLE dispatch.audit_head (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq bigint NOT NULL,
    last_hash text NOT NULL
);
INSERT INTO dispatch.audit_head VALUES (true, 0, repeat('0', 64));

CREATE FUNCTION dispatch.audit_entry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dispatch.audit_entry is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE OR DELETE ON dispatch.audit_entry
    FOR EACH ROW EXECUTE FUNCTION dispatch.audit_entry_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON dispatch.audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION dispatch.audit_entry_append_only();

CREATE TABLE dispatch.plan (
    version integer PRIMARY KEY,
    created_at timestamptz NOT NULL,
    status text NOT NULL,
    cost bigint NOT NULL,
    solve_time_s double precision NOT NULL,
    trigger_reasons text[] NOT NULL DEFAULT '{}',
    routes jsonb NOT NULL,
    unassigned jsonb NOT NULL
);
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
