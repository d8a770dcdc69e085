-- Test helpers (session-local): show an error's SQLSTATE, message and DETAIL
-- as a value, so expected output does not depend on error formatting.
-- with_detail => false hides a DETAIL that holds generated values; generated
-- ids (uuids) are shown as <uuid>.
CREATE FUNCTION pg_temp.try(q text, with_detail boolean DEFAULT true) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN regexp_replace(st || ' ' || msg || CASE WHEN det <> '' AND with_detail THEN ' | ' || det ELSE '' END,
                          '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;
-- The DETAIL of an error as jsonb (NULL when the statement succeeds or the
-- detail is not JSON), to check the data refusals carry.
CREATE FUNCTION pg_temp.error_detail(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE det text;
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL;
    BEGIN
        RETURN det::jsonb;
    EXCEPTION WHEN OTHERS THEN
        RETURN NULL;
    END;
END $$;
