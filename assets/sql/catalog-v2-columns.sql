-- Catalog v2: three new nullable columns on service_operations.
-- Idempotent: safe to run again. golive runs the whole file in one transaction
-- (with psql, use `psql -1 -v ON_ERROR_STOP=1 -f`).
--
-- Nullable columns without a default are a catalog change only: ALTER TABLE holds its ACCESS
-- EXCLUSIVE lock for milliseconds and rewrites nothing. The backfill (catalog-v2-backfill.sql)
-- and the index (CREATE INDEX CONCURRENTLY) run afterwards, outside this lock.
ALTER TABLE service_operations ADD COLUMN IF NOT EXISTS internal_code text;
ALTER TABLE service_operations ADD COLUMN IF NOT EXISTS subcategory text;
ALTER TABLE service_operations ADD COLUMN IF NOT EXISTS display_order integer;
