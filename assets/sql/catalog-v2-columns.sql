-- Catalog v2: three new columns on service_operations, and their backfill.
-- Idempotent: safe to run again. golive runs the whole file in one transaction
-- (with psql, use `psql -1 -v ON_ERROR_STOP=1 -f`).
ALTER TABLE service_operations ADD COLUMN IF NOT EXISTS internal_code text;
ALTER TABLE service_operations ADD COLUMN IF NOT EXISTS subcategory text;
ALTER TABLE service_operations ADD COLUMN IF NOT EXISTS display_order integer;

-- Backfill only what is still empty, so a re-run changes nothing.
UPDATE service_operations
   SET internal_code = 'OP-' || lpad(id::text, 6, '0')
 WHERE internal_code IS NULL;

-- display_order stays NULL on purpose: the v2 API sorts NULLS LAST, then by name.

CREATE INDEX IF NOT EXISTS service_operations_catalog_order_idx
    ON service_operations (tenant_id, display_order, name);
