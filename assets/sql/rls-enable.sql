-- Phase 2 row-level security ON: enable and force the tenant-isolation policies that
-- rls-policies.sql defined, on all five tenant tables, in one transaction.
--
-- Run only once the Phase 2 build serves: from this moment a session that does not set
-- app.tenant_id sees zero rows (fail-closed), which is what the Phase 1 build does.
--
-- FORCE makes the policies apply to the tables' owner too; the owner/admin login used for
-- snapshots and migrations needs BYPASSRLS (pg_dump refuses to dump filtered rows).
-- Each ALTER takes ACCESS EXCLUSIVE on its table until the commit: golive's lock_timeout keeps a
-- long-running query from making the application queue behind it.

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
ALTER TABLE vehicles ENABLE ROW LEVEL SECURITY;
ALTER TABLE vehicles FORCE ROW LEVEL SECURITY;
ALTER TABLE appointments ENABLE ROW LEVEL SECURITY;
ALTER TABLE appointments FORCE ROW LEVEL SECURITY;
ALTER TABLE services ENABLE ROW LEVEL SECURITY;
ALTER TABLE services FORCE ROW LEVEL SECURITY;
ALTER TABLE service_operations ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_operations FORCE ROW LEVEL SECURITY;
