-- Catalog v2 backfill: internal_code for every operation that has none, 1000 rows per
-- transaction, so no lock is held for long and the application's writes go on between batches.
-- Idempotent: only empty codes are filled, so a re-run (or a run cut short) carries on.
--
-- One statement on purpose: golive runs it with `transaction = false`, and a DO block may COMMIT
-- only when it is the whole query (with psql: `psql -v ON_ERROR_STOP=1 -f`, without -1).
--
-- Codes are 'OP-' and the id padded to at least six digits: ids of seven or more digits keep
-- every digit (lpad to six would cut them and make codes collide).
--
-- display_order stays NULL on purpose: the v2 API sorts NULLS LAST, then by name.
DO $$
DECLARE
    batch bigint;
    total bigint := 0;
BEGIN
    LOOP
        UPDATE service_operations
           SET internal_code = 'OP-' || lpad(id::text, greatest(6, length(id::text)), '0')
         WHERE id IN (SELECT id FROM service_operations
                       WHERE internal_code IS NULL
                       ORDER BY id
                       LIMIT 1000);
        GET DIAGNOSTICS batch = ROW_COUNT;
        EXIT WHEN batch = 0;
        total := total + batch;
        RAISE NOTICE 'backfilled % operations (% in all)', batch, total;
        COMMIT;
    END LOOP;
    RAISE NOTICE 'backfill done: % operations filled', total;
END
$$;
