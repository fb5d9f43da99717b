-- The Phase 1 database the Phase 2 go-live starts from (the rehearsal sandbox and the tests).
-- Run as a superuser in a fresh database. Roles get their passwords from the caller
-- (ALTER ROLE … PASSWORD), never from this file.
--
--   app_owner  owns the tables; BYPASSRLS so snapshots and migrations see every row.
--   app_user   the application's login: NOSUPERUSER NOBYPASSRLS, not the owner, DML only.
--
-- Five tenant tables, each with tenant_id uuid NOT NULL:
--   customers, vehicles, appointments,
--   services            (work done on an appointment: the invoice's line items),
--   service_operations  (the catalog; Catalog v2 adds internal_code, subcategory, display_order).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_owner') THEN
        CREATE ROLE app_owner LOGIN NOSUPERUSER BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_user') THEN
        CREATE ROLE app_user LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
    END IF;
END
$$;

GRANT USAGE, CREATE ON SCHEMA public TO app_owner;
SET ROLE app_owner;

CREATE TABLE customers (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    name        text NOT NULL,
    email       text NOT NULL,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_tenant_idx ON customers (tenant_id);

CREATE TABLE vehicles (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    customer_id  bigint NOT NULL REFERENCES customers (id),
    vin          text NOT NULL,
    make         text NOT NULL,
    model        text NOT NULL,
    year         integer NOT NULL
);
CREATE INDEX vehicles_tenant_idx ON vehicles (tenant_id);

CREATE TABLE appointments (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    vehicle_id    bigint NOT NULL REFERENCES vehicles (id),
    scheduled_at  timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'scheduled'
);
CREATE INDEX appointments_tenant_idx ON appointments (tenant_id);

CREATE TABLE service_operations (
    id                bigserial PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    name              text NOT NULL,
    category          text NOT NULL,
    duration_minutes  integer NOT NULL,
    price_cents       integer NOT NULL
);
CREATE INDEX service_operations_tenant_idx ON service_operations (tenant_id);

CREATE TABLE services (
    id                    bigserial PRIMARY KEY,
    tenant_id             uuid NOT NULL,
    appointment_id        bigint NOT NULL REFERENCES appointments (id),
    service_operation_id  bigint NOT NULL REFERENCES service_operations (id),
    quantity              integer NOT NULL DEFAULT 1,
    price_cents           integer NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX services_tenant_idx ON services (tenant_id);

-- Feature flags the application reads (not tenant data: no tenant_id, no RLS).
CREATE TABLE feature_flags (
    name        text PRIMARY KEY,
    enabled     boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO feature_flags (name, enabled) VALUES
    ('catalog_v2_columns', false), ('catalog_api_v2', false), ('rls_enabled', false);

-- Three tenants of realistic data.
CREATE TEMP TABLE seed_tenants (n int, id uuid, shop text);
INSERT INTO seed_tenants VALUES
    (1, '11111111-1111-4111-8111-111111111111', 'Northside Auto'),
    (2, '22222222-2222-4222-8222-222222222222', 'Harbor Motors'),
    (3, '33333333-3333-4333-8333-333333333333', 'Summit Garage');

INSERT INTO customers (tenant_id, name, email, phone)
SELECT t.id,
       (ARRAY['Ana','Ben','Chloe','Dev','Elif','Femi','Greta','Hugo','Iris','Jon'])[1 + (i % 10)]
         || ' ' || (ARRAY['Silva','Okafor','Novak','Patel','Kim','Larsen','Moreau','Reyes'])[1 + (i % 8)],
       'customer' || i || '@' || lower(replace(t.shop, ' ', '')) || '.example',
       '+1-555-' || lpad((t.n * 1000 + i)::text, 4, '0')
FROM seed_tenants t, generate_series(1, 40) AS i;

INSERT INTO vehicles (tenant_id, customer_id, vin, make, model, year)
SELECT c.tenant_id, c.id,
       upper(substr(md5(c.id::text), 1, 17)),
       (ARRAY['Toyota','Ford','Honda','Volkswagen','Subaru'])[1 + (c.id % 5)::int],
       (ARRAY['Corolla','Focus','Civic','Golf','Outback'])[1 + (c.id % 5)::int],
       2008 + (c.id % 16)::int
FROM customers c;

INSERT INTO appointments (tenant_id, vehicle_id, scheduled_at, status)
SELECT v.tenant_id, v.id,
       timestamptz '2026-11-02 08:00+00' + (v.id % 30) * interval '1 day' + (v.id % 9) * interval '1 hour',
       (ARRAY['scheduled','in_progress','completed'])[1 + (v.id % 3)::int]
FROM vehicles v;

INSERT INTO service_operations (tenant_id, name, category, duration_minutes, price_cents)
SELECT t.id, op.name, op.category, op.minutes, op.cents + t.n * 100
FROM seed_tenants t,
     (VALUES ('Oil change', 'maintenance', 30, 4900),
             ('Tire rotation', 'maintenance', 30, 2900),
             ('Brake pad replacement', 'brakes', 90, 18900),
             ('Brake fluid flush', 'brakes', 45, 8900),
             ('Battery replacement', 'electrical', 30, 15900),
             ('Alternator replacement', 'electrical', 120, 42900),
             ('Wheel alignment', 'suspension', 60, 9900),
             ('Shock absorber replacement', 'suspension', 120, 38900),
             ('Air filter replacement', 'maintenance', 15, 2900),
             ('Cabin filter replacement', 'maintenance', 15, 3400),
             ('Coolant flush', 'engine', 60, 11900),
             ('Spark plug replacement', 'engine', 60, 13900),
             ('Timing belt replacement', 'engine', 240, 64900),
             ('Diagnostic scan', 'diagnostics', 30, 7900),
             ('A/C recharge', 'climate', 45, 12900)) AS op(name, category, minutes, cents);

INSERT INTO services (tenant_id, appointment_id, service_operation_id, quantity, price_cents)
SELECT a.tenant_id, a.id, so.id, 1, so.price_cents
FROM appointments a
JOIN LATERAL (
    SELECT id, price_cents FROM service_operations s
    WHERE s.tenant_id = a.tenant_id
    ORDER BY s.id OFFSET (a.id % 15) LIMIT 1
) so ON true;

RESET ROLE;

GRANT USAGE ON SCHEMA public TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON customers, vehicles, appointments, services, service_operations TO app_user;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO app_user;
GRANT SELECT ON feature_flags TO app_user;
