-- Waits (at most 10 s) until a row conflict of the table is recorded: the
-- conflict recorder imports it after the refused transaction rolled back.
CREATE FUNCTION pg_temp.wait_for_row_conflict(relation text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        IF EXISTS (SELECT FROM concurrent_edit.conflict_history WHERE row_relation = relation) THEN RETURN true; END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END $$;
