-- Emergency rollback: row-level security off on every tenant table.
-- The policies stay defined (dormant), so re-enabling is `rls-policies.sql` again.
-- This removes tenant isolation in the database: the application's own tenant filter is all
-- that is left. Run only with the application's Phase 2 middleware disabled or rolled back.

ALTER TABLE customers NO FORCE ROW LEVEL SECURITY;
ALTER TABLE customers DISABLE ROW LEVEL SECURITY;
ALTER TABLE vehicles NO FORCE ROW LEVEL SECURITY;
ALTER TABLE vehicles DISABLE ROW LEVEL SECURITY;
ALTER TABLE appointments NO FORCE ROW LEVEL SECURITY;
ALTER TABLE appointments DISABLE ROW LEVEL SECURITY;
ALTER TABLE services NO FORCE ROW LEVEL SECURITY;
ALTER TABLE services DISABLE ROW LEVEL SECURITY;
ALTER TABLE service_operations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE service_operations DISABLE ROW LEVEL SECURITY;
