-- The shard router (docs/scale-out.md): where each project lives, and how a call
-- that names no project finds its shard.
--
-- A project's partition is project_hash(project_id) & (partitions - 1), as
-- PL/Proxy computes it; each partition belongs to one shard. The partitions are
-- the server concurrent_edit_shards (PL/Proxy's SQL/MED cluster), written by
-- router_configure() from the table router_partitions.

-- A server left by an earlier installation of the router (router_configure makes
-- it outside the extension, and DROP EXTENSION leaves it): while no extension
-- guarded it, any role with USAGE (PUBLIC) could create a user mapping naming
-- another user, which PL/Proxy would then use. The router starts unconfigured
-- (router_partitions is new too); router_configure() makes the server again.
DROP SERVER IF EXISTS concurrent_edit_shards CASCADE;

-- The foundation's settings reader is the main extension's internal helper;
-- nothing of the router calls it.
REVOKE ALL ON FUNCTION concurrent_edit._setting(text) FROM PUBLIC;

CREATE TABLE concurrent_edit.router_partitions (
    partition integer NOT NULL PRIMARY KEY CHECK (partition >= 0),
    shard     integer NOT NULL CHECK (shard >= 1),
    conninfo  text    NOT NULL
);
COMMENT ON TABLE concurrent_edit.router_partitions IS
    'The router''s partitions: each is served by one shard (numbered from 1, in the order router_configure() was given them). Readable by everyone, like project_shard(): no password belongs in a conninfo (they go in user mappings or ~/.pgpass).';
COMMENT ON COLUMN concurrent_edit.router_partitions.partition IS 'Partition number, 0 .. partitions - 1: project_hash(project_id) & (partitions - 1).';
COMMENT ON COLUMN concurrent_edit.router_partitions.shard IS 'The shard that serves the partition, numbered from 1.';
COMMENT ON COLUMN concurrent_edit.router_partitions.conninfo IS 'libpq connection string of the shard (without a user: PL/Proxy connects as the calling role).';
GRANT SELECT ON concurrent_edit.router_partitions TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.router_partitions', '');

CREATE TABLE concurrent_edit.router_directory (
    id         uuid        NOT NULL PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('file', 'session', 'conflict')),
    project_id uuid        NOT NULL,
    found_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE concurrent_edit.router_directory IS
    'The project of each file, session and conflict id the router has routed: asked of the shards once (concurrent_edit.owning_project), then kept, since an id never changes project. Written only by _route(); it may be emptied at any time (it fills again).';
COMMENT ON COLUMN concurrent_edit.router_directory.id IS 'A file, session or conflict id.';
COMMENT ON COLUMN concurrent_edit.router_directory.kind IS 'file, session or conflict.';
COMMENT ON COLUMN concurrent_edit.router_directory.project_id IS 'Its project.';
COMMENT ON COLUMN concurrent_edit.router_directory.found_at IS 'When a shard named the project.';

CREATE FUNCTION concurrent_edit.project_hash(project_id uuid) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(project_id::text), 1, 8))::bit(32)::integer;
COMMENT ON FUNCTION concurrent_edit.project_hash(uuid) IS
    'The routing hash of a project: the first 32 bits of the MD5 of its id''s text, as a signed integer. Stable across PostgreSQL versions and computable in any language; its partition is hash & (partitions - 1).';

-- The one place, besides PL/Proxy's RUN ON, where a hash becomes a partition.
CREATE FUNCTION concurrent_edit._partition(partition_hash integer) RETURNS integer
    LANGUAGE sql STABLE STRICT
    RETURN partition_hash OPERATOR(pg_catalog.&)
           ((SELECT pg_catalog.count(*) FROM concurrent_edit.router_partitions)::integer OPERATOR(pg_catalog.-) 1);
COMMENT ON FUNCTION concurrent_edit._partition(integer) IS
    'Internal: the partition of a routing hash, hash & (partitions - 1), as PL/Proxy''s RUN ON computes it. Not part of the API.';

CREATE FUNCTION concurrent_edit.project_shard(project_id uuid,
    OUT shard integer, OUT partition integer, OUT conninfo text) RETURNS record
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT ROW(p.shard, p.partition, p.conninfo)
            FROM concurrent_edit.router_partitions p
            WHERE p.partition = concurrent_edit._partition(concurrent_edit.project_hash(project_id)));
COMMENT ON FUNCTION concurrent_edit.project_shard(uuid) IS
    'The shard that owns a project: its number, the partition and the shard''s connection string. A client LISTENs for the project''s channel (channel_name) on that shard, and reads changes_since there or through the router. NULL fields before router_configure().';

CREATE FUNCTION concurrent_edit.router_configure(shards text[], partitions integer DEFAULT 16,
                                                 connect_timeout integer DEFAULT 5) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := pg_catalog.cardinality(shards);
    opts text := '';
    p integer;
    conn text;
BEGIN
    -- Checked first: array_position refuses more dimensions with its own error.
    -- (Any lower bound: the shards are numbered from 1 in their order.)
    IF pg_catalog.array_ndims(shards) > 1 THEN
        RAISE EXCEPTION 'shards must be a one-dimensional array of connection strings'
            USING ERRCODE = '22023', DETAIL = pg_catalog.format('{"argument": "shards", "dimensions": %s}',
                                                                pg_catalog.array_ndims(shards));
    END IF;
    shards := ARRAY(SELECT pg_catalog.unnest(shards));
    IF n IS NULL OR n = 0 OR pg_catalog.array_position(shards, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'shards must be a non-empty array of connection strings'
            USING ERRCODE = '22023', DETAIL = '{"argument": "shards"}';
    END IF;
    IF partitions IS NULL OR partitions < n OR partitions > 65536 OR (partitions & (partitions - 1)) <> 0 THEN
        RAISE EXCEPTION 'partitions must be a power of two between the number of shards (%) and 65536', n
            USING ERRCODE = '22023', DETAIL = pg_catalog.format('{"argument": "partitions", "shards": %s}', n);
    END IF;
    IF connect_timeout IS NULL OR connect_timeout < 1 THEN
        RAISE EXCEPTION 'connect_timeout must be at least 1 second'
            USING ERRCODE = '22023', DETAIL = '{"argument": "connect_timeout"}';
    END IF;
    DELETE FROM concurrent_edit.router_partitions;
    FOR p IN 0 .. partitions - 1 LOOP
        conn := shards[(p % n) + 1];
        INSERT INTO concurrent_edit.router_partitions VALUES (p, (p % n) + 1, conn);
        -- Refuses user, password, sslpassword, options...; adds connect_timeout and pins the
        -- shard session's search_path (docs/security.md).
        conn := concurrent_edit._shard_conninfo((p % n) + 1, conn, connect_timeout);
        opts := opts || pg_catalog.format(', p%s %L', p, conn);
    END LOOP;
    -- The cluster is data of the router, not a member of the extension: pg_dump
    -- keeps it with the database, and router_configure() replaces it.
    DROP SERVER IF EXISTS concurrent_edit_shards CASCADE;
    EXECUTE pg_catalog.format('CREATE SERVER concurrent_edit_shards FOREIGN DATA WRAPPER plproxy OPTIONS (%s)',
                              pg_catalog.substr(opts, 3));
    -- No user or password: PL/Proxy connects to a shard as the role that called,
    -- and the shard decides that role's rights on the project. PL/Proxy needs
    -- USAGE for every caller; that also lets a role create its own user mapping
    -- (naming another user), which the event trigger
    -- concurrent_edit_router_mappings refuses to anyone but a superuser.
    CREATE USER MAPPING FOR PUBLIC SERVER concurrent_edit_shards;
    GRANT USAGE ON FOREIGN SERVER concurrent_edit_shards TO PUBLIC;
    RETURN partitions;
END
$$;
COMMENT ON FUNCTION concurrent_edit.router_configure(text[], integer, integer) IS
    'Sets the shards of the router: their libpq connection strings, in order (shard 1, 2, ...), and the number of partitions (a power of two, 16 by default), partition p served by shard (p % shards) + 1. Replaces the PL/Proxy cluster concurrent_edit_shards. Changing the shards or partitions moves projects: their rows must be moved with them (docs/scale-out.md). Superuser or the extension owner. Errors: 22023.';
REVOKE ALL ON FUNCTION concurrent_edit.router_configure(text[], integer, integer) FROM PUBLIC;

-- The connection string PL/Proxy gets for a shard (src/pg/scale_out.cpp).
CREATE FUNCTION concurrent_edit._shard_conninfo(shard integer, conninfo text, connect_timeout integer) RETURNS text
    AS 'MODULE_PATHNAME', 'ce_shard_conninfo'
    LANGUAGE C IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit._shard_conninfo(integer, text, integer) IS
    'Internal: the connection string router_configure() gives PL/Proxy for a shard: the one given (key=value form), refused with 22023 when it names a key that does not say where or how to connect: user, password, sslpassword, service, options, passfile or an unknown key (every caller''s connection uses it, and every role reads it) or is a URI or unparsable; connect_timeout added unless given; options pinning the shard session''s search_path to pg_catalog, pg_temp. Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._shard_conninfo(integer, text, integer) FROM PUBLIC;

-- Every caller has USAGE on the server (PL/Proxy requires it), and USAGE lets a
-- role create a user mapping for itself: one naming another user (user
-- 'postgres') would make PL/Proxy connect to the shards as that user. Only a
-- superuser may create or alter a user mapping of the router's server.
CREATE FUNCTION concurrent_edit._guard_shard_mappings() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT d.objid FROM pg_catalog.pg_event_trigger_ddl_commands() d
             WHERE d.classid = 'pg_catalog.pg_user_mapping'::regclass LOOP
        -- (One without options, as router_configure's for PUBLIC, connects as
        -- the caller: allowed, also to an extension owner that is not a superuser.)
        -- Read through the view pg_user_mappings: the catalog pg_user_mapping is
        -- readable by superusers only, and a mapping of any other server is none
        -- of the router's business. The view hides the options of a mapping for
        -- another role from its creator (the server's owner), who is then refused
        -- whatever the options, as one that may name a user.
        IF EXISTS (SELECT FROM pg_catalog.pg_user_mappings m
                   WHERE m.umid = c.objid AND m.srvname = 'concurrent_edit_shards'
                     AND (m.umoptions IS NOT NULL OR (m.umuser <> 0 AND m.usename IS DISTINCT FROM current_user)))
           AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
            RAISE EXCEPTION 'only a superuser may create or alter a user mapping for the server concurrent_edit_shards'
                USING ERRCODE = '42501', DETAIL = '{"server": "concurrent_edit_shards"}',
                      HINT = 'Each caller connects to the shards as itself; a superuser can give a role a user mapping with its password.';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION concurrent_edit._guard_shard_mappings() IS
    'Internal: the event trigger concurrent_edit_router_mappings: refuses (42501) a user mapping of the server concurrent_edit_shards created or altered by a role that is not a superuser (it could name another user, whose rights PL/Proxy would then use on the shards). Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._guard_shard_mappings() FROM PUBLIC;
CREATE EVENT TRIGGER concurrent_edit_router_mappings ON ddl_command_end
    WHEN TAG IN ('CREATE USER MAPPING', 'ALTER USER MAPPING')
    EXECUTE FUNCTION concurrent_edit._guard_shard_mappings();
COMMENT ON EVENT TRIGGER concurrent_edit_router_mappings IS
    'Refuses user mappings of the server concurrent_edit_shards by roles that are not superusers (concurrent_edit._guard_shard_mappings).';

-- A file, session or conflict id's project, asked of every reachable shard (one
-- after the other, so that one shard down does not hide the others' ids).
CREATE FUNCTION concurrent_edit._px_owning_project(partition_hash integer, kind text, id uuid) RETURNS uuid
    LANGUAGE plproxy AS $$
        CLUSTER 'concurrent_edit_shards';
        RUN ON partition_hash;
        SELECT concurrent_edit.owning_project($2::text, $3::uuid);
$$;
COMMENT ON FUNCTION concurrent_edit._px_owning_project(integer, text, uuid) IS
    'Internal: concurrent_edit.owning_project on one partition (PL/Proxy). Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._px_owning_project(integer, text, uuid) FROM PUBLIC;

-- PL/Proxy relays a shard's error as "fn(pid): [db] REMOTE ERROR: text"; any other
-- error of a PL/Proxy call (SQLSTATE XX000) is its own failure to reach the shard.
CREATE FUNCTION concurrent_edit._remote_message(message text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    RETURN (pg_catalog.regexp_match(message, '^\S+\(\d+\): \[[^]]*\] REMOTE (?:ERROR|FATAL): (.*)$', 's'))[1];
COMMENT ON FUNCTION concurrent_edit._remote_message(text) IS
    'Internal: the shard''s own message when `message` is PL/Proxy''s relay of a shard''s error, else NULL. Not part of the API.';

CREATE FUNCTION concurrent_edit._raise_routed(partition_hash integer, state text, message text, detail text,
                                              hint text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part record;
    remote text := concurrent_edit._remote_message(message);
BEGIN
    -- A shard's error, as PL/Proxy relays it ("fn(pid): [db] REMOTE ERROR: text",
    -- "Remote detail: ..."): raised again as the shard raised it.
    detail := nullif(detail, '');  -- GET STACKED DIAGNOSTICS gives '' for none
    hint := nullif(hint, '');
    IF remote IS NOT NULL THEN
        message := remote;
        detail := regexp_replace(detail, '^Remote detail: ', '');
        hint := regexp_replace(hint, '^Remote hint: ', '');
    ELSIF state = 'XX000' AND partition_hash IS NOT NULL THEN
        -- PL/Proxy's own failure: connection refused, lost or timed out.
        SELECT p.shard, p.partition INTO part FROM concurrent_edit.router_partitions p
        WHERE p.partition = concurrent_edit._partition(partition_hash);
        IF part.shard IS NULL THEN
            RAISE EXCEPTION 'the router has no shards'
                USING ERRCODE = '55000', DETAIL = json_build_object('reason', message)::text,
                      HINT = 'Call concurrent_edit.router_configure() with the shards'' connection strings.';
        END IF;
        state := '08006';
        detail := json_build_object('shard', part.shard, 'partition', part.partition, 'reason', message)::text;
        message := format('shard %s of the router is unreachable', part.shard);
        hint := 'Only the projects of that shard are affected; its connection string is in concurrent_edit.router_partitions.';
    END IF;
    -- RAISE takes no NULL option.
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail, HINT = hint;
END
$$;
COMMENT ON FUNCTION concurrent_edit._raise_routed(integer, text, text, text, text) IS
    'Internal: raises again an error caught by a routed function: a shard''s error as the shard raised it (SQLSTATE, message, JSON detail, hint, without PL/Proxy''s prefixes); PL/Proxy''s own failure to reach the partition''s shard as 08006 naming the shard; any other error unchanged. Not part of the API.';

-- Each shard once, in order, with a partition it serves (its first): a call on
-- that partition reaches the shard. Run as the caller (list_conflicts of the nil
-- project) or the owner (_locate); router_partitions is readable by everyone.
CREATE FUNCTION concurrent_edit._shard_partitions(OUT shard integer, OUT partition integer)
    RETURNS SETOF record
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT p.shard, min(p.partition) FROM concurrent_edit.router_partitions p GROUP BY p.shard ORDER BY p.shard;
END;
COMMENT ON FUNCTION concurrent_edit._shard_partitions() IS
    'Internal: each shard of the router once, in order, with its first partition (a call on that partition reaches the shard). Not part of the API.';

-- Every shard is asked: ids are unique only on each shard (create_file takes a
-- caller's file_id), so an id another shard also claims must not be routed to
-- whichever shard answers first (a role could plant a file with another project's
-- file id on its own shard and receive that file's reads and writes).
CREATE FUNCTION concurrent_edit._locate(kind text, id uuid, OUT project_id uuid, OUT complete boolean,
                                        OUT partition integer)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record;
    found uuid;
    claimed_by integer[] := '{}';
    down integer[] := '{}';
    reason text;
BEGIN
    FOR s IN SELECT sp.partition, sp.shard FROM concurrent_edit._shard_partitions() sp LOOP
        BEGIN
            found := concurrent_edit._px_owning_project(s.partition, kind, id);
        EXCEPTION WHEN internal_error THEN
            IF concurrent_edit._remote_message(SQLERRM) IS NOT NULL THEN RAISE; END IF;
            down := down || s.shard;
            reason := SQLERRM;
            CONTINUE;
        END;
        IF found IS NULL THEN CONTINUE; END IF;
        -- The nil project (a row conflict of a table without a project column)
        -- is on every shard: two shards that claim an id in it claim two
        -- different things, as two projects would.
        IF project_id IS NOT NULL
           AND (project_id IS DISTINCT FROM found OR found = '00000000-0000-0000-0000-000000000000') THEN
            claimed_by := claimed_by || s.shard;
        ELSIF project_id IS NULL THEN
            project_id := found;
            partition := s.partition;
            claimed_by := ARRAY[s.shard];
        END IF;
    END LOOP;
    IF cardinality(claimed_by) > 1 THEN
        RAISE EXCEPTION 'the % % exists in more than one project, on shards %: the router cannot tell which is meant',
                        kind, id, array_to_string(claimed_by, ', ')
            USING ERRCODE = '21000',
                  DETAIL = json_build_object('kind', kind, 'id', id, 'shards', claimed_by)::text,
                  HINT = 'Call the shard that holds the project directly; ids chosen by clients must be unique across shards.';
    END IF;
    complete := cardinality(down) = 0;
    IF project_id IS NULL AND NOT complete THEN
        RAISE EXCEPTION 'the % % was not found on the reachable shards, and shard % is unreachable',
                        kind, id, array_to_string(down, ', ')
            USING ERRCODE = '08006',
                  DETAIL = json_build_object('kind', kind, 'id', id, 'unreachable_shards', down, 'reason', reason)::text;
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit._locate(text, uuid) IS
    'Internal: the project of a file, session or conflict id, asked of every shard, whether every shard answered, and a partition of the shard that has it; NULL when no shard has it; 21000 when shards of different projects claim it; 08006 when it is on none of the reachable shards and one is down. Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._locate(text, uuid) FROM PUBLIC;

-- VOLATILE: an immutable call with constant arguments would be run (and raise)
-- when the expression is planned.
CREATE FUNCTION concurrent_edit._no_route(arguments text[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF cardinality(arguments) = 1 THEN
        RAISE EXCEPTION 'argument "%" must not be NULL', arguments[1]
            USING ERRCODE = '22004', DETAIL = json_build_object('argument', arguments[1])::text;
    END IF;
    RAISE EXCEPTION 'one of the arguments % must not be NULL: the router finds the shard by it',
                    array_to_string(arguments, ', ')
        USING ERRCODE = '22004', DETAIL = json_build_object('arguments', arguments)::text;
END
$$;
COMMENT ON FUNCTION concurrent_edit._no_route(text[]) IS
    'Internal: raises 22004 for a routed call whose routing argument is NULL (the router cannot tell its shard). Not part of the API.';

-- SECURITY DEFINER: the directory is shared by every caller, so only this
-- function writes it, and only with what a shard answered to the extension
-- owner's role (a caller cannot plant a wrong route). docs/security.md.
CREATE FUNCTION concurrent_edit._route(kind text, id uuid) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    project uuid;
    complete boolean;
    part integer;
BEGIN
    IF id IS NULL THEN RETURN NULL; END IF;
    IF kind IS NULL OR kind NOT IN ('file', 'session', 'conflict', 'new_file') THEN
        RAISE EXCEPTION 'unknown kind "%"', kind
            USING ERRCODE = '22023', DETAIL = '{"argument": "kind", "allowed": ["file", "session", "conflict", "new_file"]}';
    END IF;
    -- The file id a caller gives create_file: new on every shard (and in the
    -- directory), or 23505, as one shard refuses an id it has. Else a writer of
    -- one project could make, on its own shard, a file with the id of another
    -- project's file not yet routed, and leave that file's id refused (21000).
    -- While a shard is down that cannot be known: 08006 (_locate).
    IF kind = 'new_file' THEN
        IF EXISTS (SELECT FROM concurrent_edit.router_directory d WHERE d.id = _route.id)
           OR (SELECT l.project_id FROM concurrent_edit._locate('file', id) l) IS NOT NULL THEN
            RAISE EXCEPTION 'file % already exists', id
                USING ERRCODE = '23505', DETAIL = json_build_object('file_id', id)::text,
                      HINT = 'A file id given to create_file must be unique across the router''s shards.';
        END IF;
        RETURN NULL;
    END IF;
    SELECT d.project_id INTO project FROM concurrent_edit.router_directory d
    WHERE d.id = _route.id AND d.kind = _route.kind;
    IF NOT FOUND THEN
        SELECT l.project_id, l.complete, l.partition INTO project, complete, part
        FROM concurrent_edit._locate(kind, id) l;
        -- No shard has it: any shard answers that it does not exist.
        IF project IS NULL THEN RETURN concurrent_edit.project_hash(id); END IF;
        -- A row conflict of a table without a project column (the nil project,
        -- on every shard): the shard that has it, asked again at every call
        -- (the directory keeps projects, and this project names no shard).
        IF project = '00000000-0000-0000-0000-000000000000' THEN RETURN part; END IF;
        -- Kept only when every shard answered: a shard that was down could hold
        -- the same id in another project; and not in a read-only transaction (or
        -- on a standby of the router), where the call still routes.
        -- Nor when another transaction is keeping the same id: its entry, not
        -- yet committed, would make this insert wait for that transaction's
        -- end, and every role may call _route (a role that kept another
        -- project's session id in an open or prepared transaction held every
        -- routed call of it). Each keeper first takes a transaction-level
        -- advisory lock on the id (class 1667571713 = 0x63652001, the router's;
        -- the id's hash): one that cannot get it at once routes without keeping.
        IF complete AND NOT pg_catalog.current_setting('transaction_read_only')::boolean
           AND pg_catalog.pg_try_advisory_xact_lock(1667571713, pg_catalog.uuid_hash(id)) THEN
            INSERT INTO concurrent_edit.router_directory (id, kind, project_id) VALUES (id, kind, project)
                ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN concurrent_edit.project_hash(project);
END
$$;
COMMENT ON FUNCTION concurrent_edit._route(text, uuid) IS
    'Internal: the routing hash of a file, session or conflict id (its project''s), from router_directory or, the first time, from the shards (kept once every shard answered and exactly one project claims it, unless another transaction is keeping the same id: it is then not waited for); for a row conflict of the nil project (a table without a project column, on any shard), a partition of the shard that has it, asked of the shards at every call; for kind new_file (create_file''s file_id), NULL when no shard and no directory entry has the id, else 23505. Not part of the API; executable by everyone because every routed call runs it.';

-- The hash a _px_ function routed by a file, session or conflict id is given,
-- for its RUN ON: NULL names no partition (22004, where PL/Proxy raised XX000).
CREATE FUNCTION concurrent_edit._given_hash(partition_hash integer) RETURNS integer
    LANGUAGE sql VOLATILE
    RETURN coalesce(partition_hash, concurrent_edit._no_route(ARRAY['partition_hash']));
COMMENT ON FUNCTION concurrent_edit._given_hash(integer) IS
    'Internal: the partition hash given to a _px_ function, or 22004 for NULL: the partition PL/Proxy runs the _px_ functions routed by a file, session or conflict id on. Not part of the API; executable by everyone because every such routed call runs it.';

-- The routing hash of a project, for PL/Proxy's RUN ON of the _px_ functions
-- routed by their project (22004 for NULL): computed from the project, not
-- taken from their caller (scripts/gen-router.pl).
CREATE FUNCTION concurrent_edit._project_partition_hash(project_id uuid) RETURNS integer
    LANGUAGE sql VOLATILE
    RETURN coalesce(concurrent_edit.project_hash(project_id), concurrent_edit._no_route(ARRAY['project_id']));
COMMENT ON FUNCTION concurrent_edit._project_partition_hash(uuid) IS
    'Internal: project_hash(project_id), or 22004 for NULL: the partition PL/Proxy runs the _px_ functions routed by a project on, whatever hash their caller gives. Not part of the API; executable by everyone because every such routed call runs it.';

-- write_many's shard: the one of the first element's file. Malformed input names
-- no file: a fixed partition's shard then gives the error the call deserves (the
-- shard checks its argument before anything else), as it would without the router.
CREATE FUNCTION concurrent_edit._write_many_hash(writes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    first uuid;
BEGIN
    IF jsonb_typeof(writes) = 'array' AND jsonb_typeof(writes -> 0) = 'object' THEN
        BEGIN
            first := (writes -> 0 ->> 'file_id')::uuid;
        EXCEPTION WHEN invalid_text_representation THEN
            first := NULL;
        END;
    END IF;
    IF first IS NULL THEN
        RETURN concurrent_edit.project_hash('00000000-0000-0000-0000-000000000000');
    END IF;
    RETURN concurrent_edit._route('file', first);
END
$$;
COMMENT ON FUNCTION concurrent_edit._write_many_hash(jsonb) IS
    'Internal: the routing hash of a write_many call, that of its first element''s file (every file of one call must be on that shard); for input that names no file, a fixed partition, whose shard reports the error. Not part of the API; executable by everyone because every routed write_many runs it.';
