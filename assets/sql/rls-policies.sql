-- Phase 2 row-level security: one tenant-isolation policy per tenant table, DORMANT.
--
-- This file only defines the policies: it does not enable row-level security, so it changes
-- nothing for the build that serves (a policy on a table without RLS enabled is not applied).
-- The Phase 1 build never sets app.tenant_id, and would see zero rows under enabled policies:
-- rls-enable.sql turns them on, after the Phase 2 build (which sets the tenant) is live.
--
-- Idempotent: PostgreSQL has no CREATE POLICY IF NOT EXISTS (15 through 18), so each policy is
-- dropped if present and created again. golive runs this whole file in ONE transaction, so a
-- concurrent session never sees a table without its policy (with psql: `psql -1 -f`).
--
-- Fail-closed: with no tenant context, current_setting('app.tenant_id', true) is NULL on a fresh
-- connection and '' on a pooled one after SET LOCAL ended or RESET; NULLIF turns '' into NULL, and
-- `tenant_id = NULL` is never true, so the application role sees zero rows and gets no error.
-- (Without NULLIF, ''::uuid raises 22P02 on a reused connection.)


DROP POLICY IF EXISTS tenant_isolation ON customers;
CREATE POLICY tenant_isolation ON customers
    AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

DROP POLICY IF EXISTS tenant_isolation ON vehicles;
CREATE POLICY tenant_isolation ON vehicles
    AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

DROP POLICY IF EXISTS tenant_isolation ON appointments;
CREATE POLICY tenant_isolation ON appointments
    AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

DROP POLICY IF EXISTS tenant_isolation ON services;
CREATE POLICY tenant_isolation ON services
    AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

DROP POLICY IF EXISTS tenant_isolation ON service_operations;
CREATE POLICY tenant_isolation ON service_operations
    AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The policies now defined (the step expects 5).
SELECT count(*) FROM pg_policies
 WHERE schemaname = 'public' AND policyname = 'tenant_isolation'
   AND tablename IN ('customers', 'vehicles', 'appointments', 'services', 'service_operations')
   AND qual LIKE '%NULLIF%' AND with_check LIKE '%NULLIF%';
