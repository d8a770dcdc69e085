-- Benchmark helper of test/bench/vclock.sh (psql variables: pairs, reps, sizes).
--
-- For each clock size it builds, in a temp table, :pairs pairs of clocks in both
-- forms (vclock and jsonb): 1/2 concurrent, 1/4 before (a bumped counter or a new
-- node), 1/8 after, 1/8 equal. It then times, on the same rows and in this one
-- session, the count of concurrent pairs with
--   * concurrent_edit.vclock_compare(a, b) and the || operator, and
--   * the seed's VectorClockManager.compare in PL/pgSQL over jsonb (missing nodes
--     count as 0), written two ways (a key loop and a set-based join),
-- :reps times each (the best time is reported: the machine is shared, and other
-- load only ever adds time), next to a bare scan of the table.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;  -- one core per query, for both sides
SET jit = off;                            -- no JIT compilation time in either figure
SET temp_buffers = '3GB';                 -- the pairs stay in memory: no I/O in the figures

-- The seed's compare (relation only) over jsonb objects, in PL/pgSQL, two ways;
-- the faster of the two is the peer of each size.
-- 1. A loop: each node of c1 against c2, then c2's nodes missing from c1 (missing
--    nodes count as 0). "|| '{}'" decompresses each jsonb once: without it every
--    ->> decompresses a toasted value again (11x slower at 128 entries).
CREATE FUNCTION pg_temp.seed_compare_loop(c1 jsonb, c2 jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    k text;
    v text;
    v2 bigint;
    c1_greater boolean := false;
    c2_greater boolean := false;
BEGIN
    c1 := c1 || '{}';
    c2 := c2 || '{}';
    FOR k, v IN SELECT key, value FROM jsonb_each_text(c1) LOOP
        v2 := coalesce((c2 ->> k)::bigint, 0);
        IF v::bigint > v2 THEN
            c1_greater := true;
        ELSIF v2 > v::bigint THEN
            c2_greater := true;
        END IF;
    END LOOP;
    IF NOT c2_greater THEN
        FOR k, v IN SELECT key, value FROM jsonb_each_text(c2) LOOP
            IF NOT c1 ? k AND v::bigint > 0 THEN
                c2_greater := true;
                EXIT;
            END IF;
        END LOOP;
    END IF;
    RETURN CASE WHEN c1_greater AND c2_greater THEN 'concurrent'
                WHEN c1_greater THEN 'after'
                WHEN c2_greater THEN 'before'
                ELSE 'equal' END;
END $$;

-- 2. Set-based: the union of the nodes as a FULL JOIN of the two objects' entries.
CREATE FUNCTION pg_temp.seed_compare_join(c1 jsonb, c2 jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    c1_greater boolean;
    c2_greater boolean;
BEGIN
    SELECT coalesce(bool_or(v1 > v2), false), coalesce(bool_or(v2 > v1), false)
      INTO c1_greater, c2_greater
      FROM (SELECT coalesce(x.value::bigint, 0) AS v1, coalesce(y.value::bigint, 0) AS v2
              FROM jsonb_each_text(c1) x FULL JOIN jsonb_each_text(c2) y ON x.key = y.key) s;
    RETURN CASE WHEN c1_greater AND c2_greater THEN 'concurrent'
                WHEN c1_greater THEN 'after'
                WHEN c2_greater THEN 'before'
                ELSE 'equal' END;
END $$;

-- The merge of many clocks (pointwise maximum) over jsonb, in SQL: the peer of
-- vclock_merge_agg.
CREATE FUNCTION pg_temp.seed_merge(s jsonb, c jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT coalesce(jsonb_object_agg(k, greatest(coalesce((s ->> k)::bigint, 0), coalesce((c ->> k)::bigint, 0))), '{}')
    FROM (SELECT jsonb_object_keys(s) UNION SELECT jsonb_object_keys(c)) x(k) $$;
CREATE AGGREGATE pg_temp.seed_merge_agg(jsonb) (SFUNC = pg_temp.seed_merge, STYPE = jsonb, INITCOND = '{}');

-- Best wall time (ms) of `reps` executions of a query returning one bigint, and
-- that bigint (identical in every execution).
CREATE FUNCTION pg_temp.time_ms(q text, reps int, OUT ms double precision, OUT result bigint)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    times double precision[] := '{}';
    r bigint;
BEGIN
    FOR i IN 1 .. reps LOOP
        t0 := clock_timestamp();
        EXECUTE q INTO r;
        times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000)::double precision;
        IF result IS NOT NULL AND r <> result THEN
            RAISE EXCEPTION 'query gave % then %: %', result, r, q;
        END IF;
        result := r;
    END LOOP;
    SELECT min(t) INTO ms FROM unnest(times) t;
END $$;

CREATE TEMP TABLE results (entries int, pairs int, concurrent bigint, scan_ms float8, vclock_compare_ms float8,
                           concurrent_op_ms float8, loop_ms float8, join_ms float8, table_mb numeric,
                           merged int, merge_agg_ms float8, peer_merge_ms float8);

CREATE FUNCTION pg_temp.run(n int, pairs int, reps int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tbl text := 'vclock_pairs_' || n;
    scan record;
    native record;
    op record;
    loop_t record;
    join_t record;
    merge_t record;
    peer_merge_t record;
    merged int := least(pairs, 5000);
    wrong bigint;
BEGIN
    EXECUTE format($q$
        CREATE TEMP TABLE %1$I AS
        WITH r AS (SELECT i, i %% 8 AS kind, (i * 7919) %% %2$s + 1 AS x FROM generate_series(1, %3$s) i),
        t AS (
            SELECT i, kind,
                (SELECT '{' || string_agg('"n' || k || '": ' || ((i * 31 + k * 17) %% 1000 + 1
                        + CASE WHEN k = x AND kind IN (0, 1, 2, 3, 6) THEN 1 ELSE 0 END), ', ') || '}'
                 FROM generate_series(1, %2$s) k) AS a,
                (SELECT '{' || string_agg('"n' || k || '": ' || ((i * 31 + k * 17) %% 1000 + 1
                        + CASE WHEN (kind IN (0, 1, 2, 3) AND k = x %% %2$s + 1) OR (kind = 4 AND k = x) THEN 1 ELSE 0 END), ', ')
                        || CASE WHEN kind = 5 THEN ', "x-new": 1' ELSE '' END || '}'
                 FROM generate_series(1, %2$s) k) AS b
            FROM r)
        SELECT i, kind, a::concurrent_edit.vclock AS a, b::concurrent_edit.vclock AS b, a::jsonb AS aj, b::jsonb AS bj
        FROM t$q$, tbl, n, pairs);

    -- Both implementations agree on every relation (checked on the first 4000 pairs).
    EXECUTE format($q$SELECT count(*) FROM %I WHERE i <= 4000 AND (concurrent_edit.vclock_compare(a, b)
                      IS DISTINCT FROM pg_temp.seed_compare_loop(aj, bj)
                      OR concurrent_edit.vclock_compare(a, b) IS DISTINCT FROM pg_temp.seed_compare_join(aj, bj)
                      OR (a OPERATOR(concurrent_edit.||) b) IS DISTINCT FROM (concurrent_edit.vclock_compare(a, b) = 'concurrent')
                      OR concurrent_edit.vclock_compare(a, b) <> CASE kind WHEN 6 THEN 'after' WHEN 7 THEN 'equal'
                          WHEN 4 THEN 'before' WHEN 5 THEN 'before' ELSE 'concurrent' END)$q$, tbl) INTO wrong;
    IF wrong <> 0 THEN
        RAISE EXCEPTION '% pairs of % entries compare differently', wrong, n;
    END IF;

    EXECUTE format('SELECT count(*) FROM %I', tbl);  -- warm up
    scan := pg_temp.time_ms(format('SELECT count(*) FROM %I', tbl), reps);
    native := pg_temp.time_ms(format($q$SELECT count(*) FILTER (WHERE concurrent_edit.vclock_compare(a, b) = 'concurrent') FROM %I$q$, tbl), reps);
    op := pg_temp.time_ms(format($q$SELECT count(*) FILTER (WHERE a OPERATOR(concurrent_edit.||) b) FROM %I$q$, tbl), reps);
    loop_t := pg_temp.time_ms(format($q$SELECT count(*) FILTER (WHERE pg_temp.seed_compare_loop(aj, bj) = 'concurrent') FROM %I$q$, tbl), reps);
    join_t := pg_temp.time_ms(format($q$SELECT count(*) FILTER (WHERE pg_temp.seed_compare_join(aj, bj) = 'concurrent') FROM %I$q$, tbl), reps);
    IF native.result <> loop_t.result OR op.result <> loop_t.result OR join_t.result <> loop_t.result THEN
        RAISE EXCEPTION 'concurrent pairs: vclock_compare %, ||: %, PL/pgSQL loop %, join %',
            native.result, op.result, loop_t.result, join_t.result;
    END IF;
    -- Both merges of the first `merged` clocks a (the second side b, too: twice
    -- as many rows), compared by their result's length.
    merge_t := pg_temp.time_ms(format($q$SELECT length(concurrent_edit.vclock_merge_agg(x)::text)
        FROM (SELECT a FROM %1$I WHERE i <= %2$s UNION ALL SELECT b FROM %1$I WHERE i <= %2$s) s(x)$q$, tbl, merged), reps);
    peer_merge_t := pg_temp.time_ms(format($q$SELECT length(pg_temp.seed_merge_agg(x)::concurrent_edit.vclock::text)
        FROM (SELECT aj FROM %1$I WHERE i <= %2$s UNION ALL SELECT bj FROM %1$I WHERE i <= %2$s) s(x)$q$, tbl, merged), 1);
    IF merge_t.result <> peer_merge_t.result THEN
        RAISE EXCEPTION 'merges differ: vclock_merge_agg % characters, PL/pgSQL %', merge_t.result, peer_merge_t.result;
    END IF;
    INSERT INTO results VALUES (n, pairs, native.result, scan.ms, native.ms, op.ms, loop_t.ms, join_t.ms,
                                round(pg_total_relation_size(tbl::regclass) / 1048576.0, 1),
                                2 * merged, merge_t.ms, peer_merge_t.ms);
    EXECUTE format('DROP TABLE %I', tbl);
END $$;

\o /dev/null
SELECT pg_temp.run(n::int, :pairs, :reps) FROM unnest(string_to_array(:'sizes', ' ')) n;
\o

\pset footer off
SELECT entries, pairs, concurrent AS "concurrent pairs", table_mb AS "table MB",
       round(scan_ms::numeric, 1) AS "scan only ms",
       round(vclock_compare_ms::numeric, 1) AS "vclock_compare ms",
       round(concurrent_op_ms::numeric, 1) AS "|| ms",
       round(loop_ms::numeric, 1) AS "PL/pgSQL loop ms",
       round(join_ms::numeric, 1) AS "PL/pgSQL join ms",
       round((least(loop_ms, join_ms) / vclock_compare_ms)::numeric, 1) AS "ratio",
       round(((least(loop_ms, join_ms) - scan_ms) / (vclock_compare_ms - scan_ms))::numeric, 1) AS "ratio net of scan"
FROM results ORDER BY entries;
\echo ratio: the faster PL/pgSQL peer / vclock_compare; net of scan: both minus the bare scan

SELECT entries, merged AS "clocks merged", round(merge_agg_ms::numeric, 1) AS "vclock_merge_agg ms",
       round(peer_merge_ms::numeric, 1) AS "SQL merge over jsonb ms",
       round((peer_merge_ms / merge_agg_ms)::numeric, 1) AS "ratio"
FROM results ORDER BY entries;
\echo merge ratio: the SQL aggregate over jsonb (one run) / vclock_merge_agg (best of the runs)
