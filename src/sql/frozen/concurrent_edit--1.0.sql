-- concurrent_edit 1.0: generated from src/sql/*.sql by make; edit those files.
\echo Use "CREATE EXTENSION concurrent_edit" to load this file. \quit

-- ---- src/sql/00_foundation.sql ----
-- Foundation: helper functions used by the tables, and internal diagnostics.
--
-- Security rules for this script (docs/architecture.md#security):
--   * no CREATE OR REPLACE and no IF NOT EXISTS: a pre-existing object with one of
--     our names makes CREATE EXTENSION fail instead of adopting it;
--   * every reference is schema-qualified; functions that run SQL pin
--     search_path = pg_catalog, pg_temp;
--   * every object has a COMMENT.

-- The script creates the schema itself, so it is a member of the extension: a
-- schema "concurrent_edit" that already exists (whoever made it could have planted
-- objects in it) makes CREATE EXTENSION fail, and DROP EXTENSION removes it.
CREATE SCHEMA concurrent_edit;
COMMENT ON SCHEMA concurrent_edit IS
    'concurrent_edit: versioned files, three-way merge, vector clocks, locks and edit sessions (extension schema)';

GRANT USAGE ON SCHEMA concurrent_edit TO PUBLIC;

CREATE FUNCTION concurrent_edit.normalize_path(path text) RETURNS text
    AS 'MODULE_PATHNAME', 'ce_normalize_path'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.normalize_path(text) IS
    'Normalizes a project-relative path: backslashes to "/", repeated, leading and trailing slashes and "." segments removed, ".." resolved. Case is kept. Errors: 22023 (empty, escapes the root, control character), 54000 (over 4096 bytes).';

CREATE FUNCTION concurrent_edit.content_hash(content text) RETURNS text
    AS 'MODULE_PATHNAME', 'ce_content_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.content_hash(text) IS
    'Lowercase hex SHA-256 of the text''s bytes in the database encoding; the hash stored as content_hash and head_hash, and accepted as expected_hash (ETag) by write().';

CREATE FUNCTION concurrent_edit._setting(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'ce_setting'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit._setting(text) IS
    'Internal: current value of a concurrent_edit.* setting, as current_setting() gives it; calling it loads the library that defines the settings (the PL/pgSQL functions read settings through it). Not part of the API.';

CREATE FUNCTION concurrent_edit._boundary_probe(kind text, arg integer DEFAULT 0) RETURNS bigint
    AS 'MODULE_PATHNAME', 'ce_boundary_probe'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION concurrent_edit._boundary_probe(text, integer) IS
    'Internal diagnostics: raises each kind of C++ exception and PostgreSQL error through the C++/PostgreSQL boundary (used by the regression tests). Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._boundary_probe(text, integer) FROM PUBLIC;

-- ---- src/sql/05_vclock.sql ----
-- Vector clocks: the type concurrent_edit.vclock (before the tables, which use it),
-- its functions, the aggregate, the operators and a hash operator class.
-- Reference: docs/reference/vclock.md. Implementation: src/core/vclock.cpp (pure
-- C++ core) and src/pg/vclock.cpp (glue). All C functions are pure: no SET clause.
--
-- There is deliberately no btree operator class: vector clocks are only partially
-- ordered (two clocks can be concurrent), and a btree needs a total order in which
-- exactly one of a < b, a = b, a > b holds. ORDER BY, merge joins, btree indexes and
-- count(DISTINCT ...) are therefore unavailable for vclock; DISTINCT, GROUP BY, UNION,
-- hash joins and hash indexes work through the hash operator class.

CREATE TYPE concurrent_edit.vclock;

CREATE FUNCTION concurrent_edit.vclock_in(cstring) RETURNS concurrent_edit.vclock
    AS 'MODULE_PATHNAME', 'ce_vclock_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_in(cstring) IS
    'Input function of vclock: a JSON object of node id -> counter, e.g. {"node-a": 3, "node-b": 1}. Errors: 22P02 (syntax), 22003 (negative or above 9223372036854775807), 22030 (duplicate node), 54000 (over 1024 entries or a node id over 256 bytes).';

CREATE FUNCTION concurrent_edit.vclock_out(concurrent_edit.vclock) RETURNS cstring
    AS 'MODULE_PATHNAME', 'ce_vclock_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_out(concurrent_edit.vclock) IS
    'Output function of vclock: canonical JSON text, nodes sorted bytewise, no zero counters, so equal clocks print equally.';

CREATE FUNCTION concurrent_edit.vclock_recv(internal) RETURNS concurrent_edit.vclock
    AS 'MODULE_PATHNAME', 'ce_vclock_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_recv(internal) IS
    'Binary input function of vclock: the canonical encoding sent by vclock_send, strictly validated (22P03 otherwise).';

CREATE FUNCTION concurrent_edit.vclock_send(concurrent_edit.vclock) RETURNS bytea
    AS 'MODULE_PATHNAME', 'ce_vclock_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_send(concurrent_edit.vclock) IS
    'Binary output function of vclock: the canonical encoding (version byte, entry count, then per entry node length, node bytes, counter; see docs/reference/vclock.md).';

CREATE TYPE concurrent_edit.vclock (
    INPUT = concurrent_edit.vclock_in,
    OUTPUT = concurrent_edit.vclock_out,
    RECEIVE = concurrent_edit.vclock_recv,
    SEND = concurrent_edit.vclock_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE concurrent_edit.vclock IS
    'Vector clock: node id (1 to 256 bytes of UTF-8) -> counter (0 to 9223372036854775807), at most 1024 entries; missing nodes count as 0. Text form is a JSON object. Partially ordered: <, <=, >, >=, =, <>, || (concurrent); hashable (DISTINCT, GROUP BY) but not sortable.';

CREATE FUNCTION concurrent_edit.vclock_recv(bytea) RETURNS concurrent_edit.vclock
    AS 'MODULE_PATHNAME', 'ce_vclock_recv_bytea'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_recv(bytea) IS
    'The vclock whose binary form (as returned by vclock_send) is the bytea; validated like binary input (22P03).';

-- jsonb casts through the text forms (the canonical output is valid JSON, and jsonb's
-- output is valid vclock input). AS ASSIGNMENT: a jsonb value can be stored in a
-- vclock column (and back) without a cast; in expressions the cast is explicit.
CREATE CAST (concurrent_edit.vclock AS pg_catalog.jsonb) WITH INOUT AS ASSIGNMENT;
COMMENT ON CAST (concurrent_edit.vclock AS pg_catalog.jsonb) IS
    'vclock -> jsonb: the JSON object of node id -> counter (assignment cast).';
CREATE CAST (pg_catalog.jsonb AS concurrent_edit.vclock) WITH INOUT AS ASSIGNMENT;
COMMENT ON CAST (pg_catalog.jsonb AS concurrent_edit.vclock) IS
    'jsonb -> vclock: the jsonb must be an object of node id -> non-negative integer; errors as for vclock input (22P02, 22003, 54000). Assignment cast.';

-- ---------------------------------------------------------------------------
-- Functions

CREATE FUNCTION concurrent_edit.vclock_increment(clock concurrent_edit.vclock, node text)
    RETURNS concurrent_edit.vclock
    AS 'MODULE_PATHNAME', 'ce_vclock_increment'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_increment(concurrent_edit.vclock, text) IS
    'The clock with node''s counter increased by 1 (an absent node starts at 1): the result always happens after the argument. Errors: 22023 (empty node), 54000 (node over 256 bytes, or a 1025th entry), 22003 (counter already 9223372036854775807).';

CREATE FUNCTION concurrent_edit.vclock_merge(a concurrent_edit.vclock, b concurrent_edit.vclock)
    RETURNS concurrent_edit.vclock
    AS 'MODULE_PATHNAME', 'ce_vclock_merge'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_merge(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'Pointwise maximum of two clocks: the least clock that happens after or equals both. Commutative, associative, idempotent. Error 54000 when the union has more than 1024 nodes.';

CREATE AGGREGATE concurrent_edit.vclock_merge_agg(concurrent_edit.vclock) (
    SFUNC = concurrent_edit.vclock_merge,
    STYPE = concurrent_edit.vclock,
    COMBINEFUNC = concurrent_edit.vclock_merge,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE concurrent_edit.vclock_merge_agg(concurrent_edit.vclock) IS
    'Merge (pointwise maximum) of all non-NULL clocks; NULL over no rows. Parallel safe.';

CREATE FUNCTION concurrent_edit.vclock_compare(a concurrent_edit.vclock, b concurrent_edit.vclock)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ce_vclock_compare'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_compare(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'Causal relation of a to b: before (a happened before b), after, equal or concurrent. Missing nodes count as 0.';

CREATE FUNCTION concurrent_edit.vclock_divergent_nodes(a concurrent_edit.vclock, b concurrent_edit.vclock)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'ce_vclock_divergent_nodes'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_divergent_nodes(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'Nodes whose counters differ between a and b (in either direction), sorted bytewise; empty exactly when the clocks are equal.';

CREATE FUNCTION concurrent_edit.vclock_prune(clock concurrent_edit.vclock, max_entries integer)
    RETURNS concurrent_edit.vclock
    AS 'MODULE_PATHNAME', 'ce_vclock_prune'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_prune(concurrent_edit.vclock, integer) IS
    'Keeps the max_entries entries with the highest counters (ties: the bytewise smaller node id stays); deterministic. Pruning forgets causality: concurrent clocks can compare as ordered afterwards. Error 22023 when max_entries < 0.';

CREATE FUNCTION concurrent_edit.vclock_get(clock concurrent_edit.vclock, node text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'ce_vclock_get'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_get(concurrent_edit.vclock, text) IS
    'Counter of node in the clock, 0 when absent. Errors: 22023 (empty node), 54000 (node over 256 bytes).';

CREATE FUNCTION concurrent_edit.vclock_nodes(clock concurrent_edit.vclock) RETURNS text[]
    AS 'MODULE_PATHNAME', 'ce_vclock_nodes'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_nodes(concurrent_edit.vclock) IS
    'Node ids of the clock (those with a non-zero counter), sorted bytewise.';

-- ---------------------------------------------------------------------------
-- Operators

CREATE FUNCTION concurrent_edit.vclock_lt(a concurrent_edit.vclock, b concurrent_edit.vclock) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_vclock_lt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_lt(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'a happened before b (implements <).';
CREATE FUNCTION concurrent_edit.vclock_gt(a concurrent_edit.vclock, b concurrent_edit.vclock) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_vclock_gt'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_gt(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'b happened before a (implements >).';
CREATE FUNCTION concurrent_edit.vclock_le(a concurrent_edit.vclock, b concurrent_edit.vclock) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_vclock_le'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_le(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'a happened before or equals b (implements <=).';
CREATE FUNCTION concurrent_edit.vclock_ge(a concurrent_edit.vclock, b concurrent_edit.vclock) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_vclock_ge'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_ge(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'a dominates b: b happened before or equals a (implements >=).';
CREATE FUNCTION concurrent_edit.vclock_eq(a concurrent_edit.vclock, b concurrent_edit.vclock) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_vclock_eq'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_eq(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'Same clock (implements =).';
CREATE FUNCTION concurrent_edit.vclock_ne(a concurrent_edit.vclock, b concurrent_edit.vclock) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_vclock_ne'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_ne(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'Different clocks: before, after or concurrent (implements <>).';
CREATE FUNCTION concurrent_edit.vclock_concurrent(a concurrent_edit.vclock, b concurrent_edit.vclock) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_vclock_concurrent'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_concurrent(concurrent_edit.vclock, concurrent_edit.vclock) IS
    'Neither clock happened before the other and they differ (implements ||).';

CREATE FUNCTION concurrent_edit.vclock_sel(internal, oid, internal, integer) RETURNS double precision
    AS 'MODULE_PATHNAME', 'ce_vclock_sel'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_sel(internal, oid, internal, integer) IS
    'Planner restriction selectivity of the vclock operators <, >, <=, >=, ||: the operator applied to the column''s most common values, 1/3 for the rest (or without statistics).';

-- No NEGATOR for <, >, <=, >=: in a partial order NOT (a < b) is not a >= b.
CREATE OPERATOR concurrent_edit.< (
    LEFTARG = concurrent_edit.vclock, RIGHTARG = concurrent_edit.vclock,
    FUNCTION = concurrent_edit.vclock_lt,
    COMMUTATOR = OPERATOR(concurrent_edit.>),
    RESTRICT = concurrent_edit.vclock_sel, JOIN = pg_catalog.scalarltjoinsel
);
COMMENT ON OPERATOR concurrent_edit.< (concurrent_edit.vclock, concurrent_edit.vclock) IS
    'happened before';
CREATE OPERATOR concurrent_edit.> (
    LEFTARG = concurrent_edit.vclock, RIGHTARG = concurrent_edit.vclock,
    FUNCTION = concurrent_edit.vclock_gt,
    COMMUTATOR = OPERATOR(concurrent_edit.<),
    RESTRICT = concurrent_edit.vclock_sel, JOIN = pg_catalog.scalargtjoinsel
);
COMMENT ON OPERATOR concurrent_edit.> (concurrent_edit.vclock, concurrent_edit.vclock) IS
    'happened after';
CREATE OPERATOR concurrent_edit.<= (
    LEFTARG = concurrent_edit.vclock, RIGHTARG = concurrent_edit.vclock,
    FUNCTION = concurrent_edit.vclock_le,
    COMMUTATOR = OPERATOR(concurrent_edit.>=),
    RESTRICT = concurrent_edit.vclock_sel, JOIN = pg_catalog.scalarlejoinsel
);
COMMENT ON OPERATOR concurrent_edit.<= (concurrent_edit.vclock, concurrent_edit.vclock) IS
    'happened before or equal';
CREATE OPERATOR concurrent_edit.>= (
    LEFTARG = concurrent_edit.vclock, RIGHTARG = concurrent_edit.vclock,
    FUNCTION = concurrent_edit.vclock_ge,
    COMMUTATOR = OPERATOR(concurrent_edit.<=),
    RESTRICT = concurrent_edit.vclock_sel, JOIN = pg_catalog.scalargejoinsel
);
COMMENT ON OPERATOR concurrent_edit.>= (concurrent_edit.vclock, concurrent_edit.vclock) IS
    'dominates: happened after or equal';
CREATE OPERATOR concurrent_edit.= (
    LEFTARG = concurrent_edit.vclock, RIGHTARG = concurrent_edit.vclock,
    FUNCTION = concurrent_edit.vclock_eq,
    COMMUTATOR = OPERATOR(concurrent_edit.=), NEGATOR = OPERATOR(concurrent_edit.<>),
    RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
    HASHES
);
COMMENT ON OPERATOR concurrent_edit.= (concurrent_edit.vclock, concurrent_edit.vclock) IS
    'same clock';
CREATE OPERATOR concurrent_edit.<> (
    LEFTARG = concurrent_edit.vclock, RIGHTARG = concurrent_edit.vclock,
    FUNCTION = concurrent_edit.vclock_ne,
    COMMUTATOR = OPERATOR(concurrent_edit.<>), NEGATOR = OPERATOR(concurrent_edit.=),
    RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
COMMENT ON OPERATOR concurrent_edit.<> (concurrent_edit.vclock, concurrent_edit.vclock) IS
    'different clocks';
CREATE OPERATOR concurrent_edit.|| (
    LEFTARG = concurrent_edit.vclock, RIGHTARG = concurrent_edit.vclock,
    FUNCTION = concurrent_edit.vclock_concurrent,
    COMMUTATOR = OPERATOR(concurrent_edit.||),
    RESTRICT = concurrent_edit.vclock_sel, JOIN = pg_catalog.scalarltjoinsel
);
COMMENT ON OPERATOR concurrent_edit.|| (concurrent_edit.vclock, concurrent_edit.vclock) IS
    'concurrent: neither happened before the other';

-- ---------------------------------------------------------------------------
-- Hashing: DISTINCT, GROUP BY, UNION, hash joins and hash indexes.

CREATE FUNCTION concurrent_edit.vclock_hash(concurrent_edit.vclock) RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_vclock_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_hash(concurrent_edit.vclock) IS
    'Hash of a vclock (of its canonical encoding); support function 1 of vclock_hash_ops.';
CREATE FUNCTION concurrent_edit.vclock_hash_extended(concurrent_edit.vclock, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'ce_vclock_hash_extended'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.vclock_hash_extended(concurrent_edit.vclock, bigint) IS
    'Seeded 64-bit hash of a vclock; support function 2 of vclock_hash_ops (hash partitioning).';

CREATE OPERATOR CLASS concurrent_edit.vclock_hash_ops
    DEFAULT FOR TYPE concurrent_edit.vclock USING hash AS
        OPERATOR 1 concurrent_edit.= (concurrent_edit.vclock, concurrent_edit.vclock),
        FUNCTION 1 concurrent_edit.vclock_hash(concurrent_edit.vclock),
        FUNCTION 2 concurrent_edit.vclock_hash_extended(concurrent_edit.vclock, bigint);
COMMENT ON OPERATOR CLASS concurrent_edit.vclock_hash_ops USING hash IS
    'Default hash operator class of vclock: equality is sameness of clocks. There is no btree class because clocks are only partially ordered.';
COMMENT ON OPERATOR FAMILY concurrent_edit.vclock_hash_ops USING hash IS
    'Hash operator family of vclock.';

-- ---- src/sql/10_tables.sql ----
-- The data model. Every table carries project_id and every primary and unique key
-- starts with it, so all tables can be distributed by project_id and colocated
-- (Citus). Session ids are uuid everywhere, with foreign keys (file_locks: triggers).
--
-- Fixes over the seed schema: shared locks can have several holders (the seed's
-- UNIQUE(file_id) allowed one lock per file); session_id is a uuid (a foreign key or,
-- in file_locks, triggers; it was VARCHAR there); enumerated columns have CHECKs;
-- NOT NULL timestamps; a file's live path is unique per project.

CREATE TABLE concurrent_edit.files (
    project_id      uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    path            text        NOT NULL,
    normalized_path text        NOT NULL
        GENERATED ALWAYS AS (concurrent_edit.normalize_path(path)) STORED,
    head_version    integer     NOT NULL DEFAULT 1,
    head_hash       text        NOT NULL,
    head_clock      concurrent_edit.vclock,
    deleted_at      timestamptz,
    deleted_by      uuid,
    created_by      uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_by      uuid        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT files_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT files_head_version_check CHECK (head_version >= 1),
    CONSTRAINT files_head_hash_check CHECK (head_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT files_deleted_check CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);
COMMENT ON TABLE concurrent_edit.files IS
    'One row per file: its path and head (latest) version. Writers of a file serialize on this row. Rows are soft-deleted (deleted_at) so history stays readable.';
COMMENT ON COLUMN concurrent_edit.files.project_id IS 'Project (tenant) the file belongs to; distribution key.';
COMMENT ON COLUMN concurrent_edit.files.id IS 'File id, referenced by every API call.';
COMMENT ON COLUMN concurrent_edit.files.path IS 'Path as the client spelled it.';
COMMENT ON COLUMN concurrent_edit.files.normalized_path IS 'normalize_path(path); unique per project among live files.';
COMMENT ON COLUMN concurrent_edit.files.head_version IS 'Latest version number (file_versions.version).';
COMMENT ON COLUMN concurrent_edit.files.head_hash IS 'content_hash of the head version: the ETag for expected_hash.';
COMMENT ON COLUMN concurrent_edit.files.head_clock IS 'Vector clock of the head version (a copy of its file_versions.vector_clock).';
COMMENT ON COLUMN concurrent_edit.files.deleted_at IS 'When the file was deleted; NULL while live.';
COMMENT ON COLUMN concurrent_edit.files.deleted_by IS 'Who deleted the file.';
COMMENT ON COLUMN concurrent_edit.files.created_by IS 'Author of version 1.';
COMMENT ON COLUMN concurrent_edit.files.created_at IS 'When the file was created.';
COMMENT ON COLUMN concurrent_edit.files.updated_by IS 'Author of the latest change (last_modified_by in errors).';
COMMENT ON COLUMN concurrent_edit.files.updated_at IS 'Time of the latest change (last_modified_at in errors).';

CREATE UNIQUE INDEX files_live_path_key
    ON concurrent_edit.files (project_id, normalized_path) WHERE deleted_at IS NULL;
COMMENT ON INDEX concurrent_edit.files_live_path_key IS 'At most one live file per normalized path in a project.';
CREATE INDEX files_id_idx ON concurrent_edit.files (id);
COMMENT ON INDEX concurrent_edit.files_id_idx IS 'Lookup of a file by id alone (API calls name the file, not the project).';

CREATE TABLE concurrent_edit.file_versions (
    project_id   uuid        NOT NULL,
    file_id      uuid        NOT NULL,
    version      integer     NOT NULL,
    content      text        NOT NULL,
    content_hash text        NOT NULL,
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    session_id   uuid,
    vector_clock concurrent_edit.vclock,
    CONSTRAINT file_versions_pkey PRIMARY KEY (project_id, file_id, version),
    CONSTRAINT file_versions_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    CONSTRAINT file_versions_version_check CHECK (version >= 1),
    CONSTRAINT file_versions_content_hash_check CHECK (content_hash ~ '^[0-9a-f]{64}$')
);
COMMENT ON TABLE concurrent_edit.file_versions IS
    'Immutable history: the full content of every version of every file. The base of every three-way merge comes from here.';
COMMENT ON COLUMN concurrent_edit.file_versions.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.file_versions.file_id IS 'The file.';
COMMENT ON COLUMN concurrent_edit.file_versions.version IS 'Version number, 1 for the first, unique per file.';
COMMENT ON COLUMN concurrent_edit.file_versions.content IS 'Full text of this version.';
COMMENT ON COLUMN concurrent_edit.file_versions.content_hash IS 'content_hash(content): lowercase hex SHA-256.';
COMMENT ON COLUMN concurrent_edit.file_versions.created_by IS 'Author of this version.';
COMMENT ON COLUMN concurrent_edit.file_versions.created_at IS 'When this version was written.';
COMMENT ON COLUMN concurrent_edit.file_versions.session_id IS 'Edit session that wrote it, if any.';
COMMENT ON COLUMN concurrent_edit.file_versions.vector_clock IS 'Vector clock of this version.';
CREATE INDEX file_versions_created_at_idx ON concurrent_edit.file_versions (created_at);
COMMENT ON INDEX concurrent_edit.file_versions_created_at_idx IS 'History retention and time-ordered listings.';

CREATE TABLE concurrent_edit.edit_sessions (
    project_id     uuid        NOT NULL,
    id             uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id        uuid        NOT NULL,
    sandbox_id     text,
    status         text        NOT NULL DEFAULT 'active',
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_active_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_at      timestamptz,
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT edit_sessions_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT edit_sessions_status_check CHECK (status IN ('active', 'idle', 'closed')),
    CONSTRAINT edit_sessions_closed_check CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CONSTRAINT edit_sessions_sandbox_check CHECK (pg_catalog.length(sandbox_id) BETWEEN 1 AND 200),
    CONSTRAINT edit_sessions_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object')
);
COMMENT ON TABLE concurrent_edit.edit_sessions IS
    'Edit sessions (a user, tab, agent or sandbox working on a project): presence, locks and drafts hang off them. Status moves active -> idle -> closed with inactivity.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.project_id IS 'Project the session works on; distribution key.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.id IS 'Session id.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.user_id IS 'User (or agent) behind the session; the author of its writes.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.sandbox_id IS 'Optional sandbox / workspace identifier of the client.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.status IS 'active, idle or closed.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.created_at IS 'When the session was opened.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.last_active_at IS 'Last heartbeat or activity.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.closed_at IS 'When the session was closed; NULL unless status = closed.';
COMMENT ON COLUMN concurrent_edit.edit_sessions.metadata IS 'Free-form client data (a JSON object).';
CREATE INDEX edit_sessions_id_idx ON concurrent_edit.edit_sessions (id);
COMMENT ON INDEX concurrent_edit.edit_sessions_id_idx IS 'Lookup of a session by id alone.';
CREATE INDEX edit_sessions_user_idx ON concurrent_edit.edit_sessions (user_id);
COMMENT ON INDEX concurrent_edit.edit_sessions_user_idx IS 'Sessions of a user.';
CREATE INDEX edit_sessions_open_idx ON concurrent_edit.edit_sessions (project_id, last_active_at)
    WHERE status <> 'closed';
COMMENT ON INDEX concurrent_edit.edit_sessions_open_idx IS 'Open sessions of a project (presence) and inactivity cleanup.';

-- A lock is a lease, not data: file_locks is UNLOGGED, like PostgreSQL's own
-- heavyweight and advisory locks it does not survive a crash (a clean restart
-- keeps it), and a lock cycle commits without waiting for a WAL flush. No edit
-- depends on a lock for its safety: writes are versioned and merged whether or not
-- a lock was held. For the same reason there are no foreign keys (their checks
-- would lock and WAL-log the file and session rows on every acquire): the deletion
-- of a file or session deletes its locks through triggers (see 50_sessions.sql),
-- and acquire_lock checks both rows itself.
CREATE UNLOGGED TABLE concurrent_edit.file_locks (
    project_id  uuid        NOT NULL,
    file_id     uuid        NOT NULL,
    session_id  uuid        NOT NULL,
    id          uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    holder      uuid        NOT NULL,
    lock_type   text        NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at  timestamptz NOT NULL,
    CONSTRAINT file_locks_pkey PRIMARY KEY (project_id, file_id, session_id),
    CONSTRAINT file_locks_type_check CHECK (lock_type IN ('exclusive', 'shared')),
    CONSTRAINT file_locks_expiry_check CHECK (expires_at > acquired_at)
);
COMMENT ON TABLE concurrent_edit.file_locks IS
    'Advisory file locks held by edit sessions: one exclusive holder, or any number of shared holders. A lock past expires_at is ignored even before cleanup deletes it. Unlogged: locks are leases that a crash (not a clean restart) clears, and they are not replicated to standbys.';
COMMENT ON COLUMN concurrent_edit.file_locks.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.file_locks.file_id IS 'Locked file.';
COMMENT ON COLUMN concurrent_edit.file_locks.session_id IS 'Session holding the lock (one lock per session and file).';
COMMENT ON COLUMN concurrent_edit.file_locks.id IS 'Lock id (in results and events; a new id when a released lock is acquired again).';
COMMENT ON COLUMN concurrent_edit.file_locks.holder IS 'User behind the holding session.';
COMMENT ON COLUMN concurrent_edit.file_locks.lock_type IS 'exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.file_locks.acquired_at IS 'When the lock was (re)acquired.';
COMMENT ON COLUMN concurrent_edit.file_locks.expires_at IS 'When the lock lapses unless extended.';
-- The primary key is the only index: every lock cycle maintains it, and the
-- locks of a session are found among its project's (release_session_locks).

CREATE TABLE concurrent_edit.pending_changes (
    project_id   uuid        NOT NULL,
    session_id   uuid        NOT NULL,
    file_id      uuid        NOT NULL,
    base_version integer     NOT NULL,
    content      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT pending_changes_pkey PRIMARY KEY (project_id, session_id, file_id),
    CONSTRAINT pending_changes_session_fkey FOREIGN KEY (project_id, session_id)
        REFERENCES concurrent_edit.edit_sessions (project_id, id) ON DELETE CASCADE,
    CONSTRAINT pending_changes_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    -- The base version of a draft must stay available for its three-way merge.
    CONSTRAINT pending_changes_base_fkey FOREIGN KEY (project_id, file_id, base_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT pending_changes_base_version_check CHECK (base_version >= 1)
);
COMMENT ON TABLE concurrent_edit.pending_changes IS
    'Unsaved drafts (autosave): at most one per session and file, deleted with their session. The base version is protected from history cleanup by a foreign key.';
COMMENT ON COLUMN concurrent_edit.pending_changes.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.pending_changes.session_id IS 'Session that owns the draft.';
COMMENT ON COLUMN concurrent_edit.pending_changes.file_id IS 'Drafted file.';
COMMENT ON COLUMN concurrent_edit.pending_changes.base_version IS 'Version the draft was edited from (the merge base when it is committed).';
COMMENT ON COLUMN concurrent_edit.pending_changes.content IS 'Draft text.';
COMMENT ON COLUMN concurrent_edit.pending_changes.created_at IS 'First save of the draft.';
COMMENT ON COLUMN concurrent_edit.pending_changes.updated_at IS 'Latest save of the draft.';
CREATE INDEX pending_changes_file_idx ON concurrent_edit.pending_changes (project_id, file_id);
COMMENT ON INDEX concurrent_edit.pending_changes_file_idx IS 'Drafts of a file (warnings on open, delete conflicts).';

CREATE TABLE concurrent_edit.conflict_history (
    project_id     uuid        NOT NULL,
    id             uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    file_id        uuid,
    row_relation   text,
    row_key        jsonb,
    kind           text        NOT NULL DEFAULT 'content',
    base_version   integer     NOT NULL,
    ours_version   integer     NOT NULL,
    theirs_version integer,
    theirs_content text,
    strategy       text        NOT NULL,
    details        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    session_id     uuid,
    created_by     uuid,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    resolved_by    uuid,
    resolved_at    timestamptz,
    resolution_version integer,
    CONSTRAINT conflict_history_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT conflict_history_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE,
    -- Versions an open conflict needs for its merge stay available.
    CONSTRAINT conflict_history_base_fkey FOREIGN KEY (project_id, file_id, base_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT conflict_history_ours_fkey FOREIGN KEY (project_id, file_id, ours_version)
        REFERENCES concurrent_edit.file_versions (project_id, file_id, version),
    CONSTRAINT conflict_history_kind_check CHECK (kind IN ('content', 'delete', 'row')),
    CONSTRAINT conflict_history_subject_check CHECK (
        (kind <> 'row' AND file_id IS NOT NULL AND row_relation IS NULL AND row_key IS NULL)
        OR (kind = 'row' AND file_id IS NULL AND row_relation IS NOT NULL AND row_key IS NOT NULL)),
    CONSTRAINT conflict_history_strategy_check CHECK (strategy IN
        ('merge', 'fail-fast', 'last-write-wins', 'first-write-wins', 'keep-both', 'timestamp', 'queue',
         'trigger-merge')),
    CONSTRAINT conflict_history_resolved_check CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
    CONSTRAINT conflict_history_theirs_check CHECK (theirs_version IS NOT NULL OR theirs_content IS NOT NULL OR kind <> 'content'),
    CONSTRAINT conflict_history_details_check CHECK (pg_catalog.jsonb_typeof(details) = 'object')
);
COMMENT ON TABLE concurrent_edit.conflict_history IS
    'Every real conflict: the base, ours (the head it met) and theirs (the proposed text), the conflict regions in details, and who resolved it and when.';
COMMENT ON COLUMN concurrent_edit.conflict_history.project_id IS 'Project of the file; distribution key.';
COMMENT ON COLUMN concurrent_edit.conflict_history.id IS 'Conflict id (returned by write() as conflict_id).';
COMMENT ON COLUMN concurrent_edit.conflict_history.file_id IS 'File in conflict (NULL for a row conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_history.row_relation IS 'For a row conflict (kind row, OCC trigger in merge mode): the table, schema-qualified.';
COMMENT ON COLUMN concurrent_edit.conflict_history.row_key IS 'For a row conflict: the primary key of the row (JSON object).';
COMMENT ON COLUMN concurrent_edit.conflict_history.kind IS 'content (overlapping edits of a file), delete (a write to a deleted file) or row (a stale UPDATE under the OCC trigger that could not be merged).';
COMMENT ON COLUMN concurrent_edit.conflict_history.base_version IS 'Common ancestor version (of the file, or of the row).';
COMMENT ON COLUMN concurrent_edit.conflict_history.ours_version IS 'Head version the write met (of the file, or of the row).';
COMMENT ON COLUMN concurrent_edit.conflict_history.theirs_version IS 'Version holding the other side, when it was stored as a version.';
COMMENT ON COLUMN concurrent_edit.conflict_history.theirs_content IS 'The proposed text that could not be merged (not stored as a version).';
COMMENT ON COLUMN concurrent_edit.conflict_history.strategy IS 'Strategy of the write that met the conflict.';
COMMENT ON COLUMN concurrent_edit.conflict_history.details IS 'Conflict regions and other details (JSON object).';
COMMENT ON COLUMN concurrent_edit.conflict_history.session_id IS 'Session of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_history.created_by IS 'Author of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_history.created_at IS 'When the conflict was recorded.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolved_by IS 'Who resolved it.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolved_at IS 'When it was resolved; NULL while open.';
COMMENT ON COLUMN concurrent_edit.conflict_history.resolution_version IS 'Version written by the resolution.';
CREATE INDEX conflict_history_open_idx ON concurrent_edit.conflict_history (project_id, file_id)
    WHERE resolved_at IS NULL;
COMMENT ON INDEX concurrent_edit.conflict_history_open_idx IS 'Open conflicts of a file.';
CREATE INDEX conflict_history_file_idx ON concurrent_edit.conflict_history (project_id, file_id, created_at);
COMMENT ON INDEX concurrent_edit.conflict_history_file_idx IS 'Conflict history of a file, newest last.';
CREATE INDEX conflict_history_id_idx ON concurrent_edit.conflict_history (id);
COMMENT ON INDEX concurrent_edit.conflict_history_id_idx IS 'Lookup of a conflict by id alone (resolve_conflict).';

CREATE TABLE concurrent_edit.session_files (
    project_id uuid        NOT NULL,
    session_id uuid        NOT NULL,
    file_id    uuid        NOT NULL,
    opened_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT session_files_pkey PRIMARY KEY (project_id, session_id, file_id),
    CONSTRAINT session_files_session_fkey FOREIGN KEY (project_id, session_id)
        REFERENCES concurrent_edit.edit_sessions (project_id, id) ON DELETE CASCADE,
    CONSTRAINT session_files_file_fkey FOREIGN KEY (project_id, file_id)
        REFERENCES concurrent_edit.files (project_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE concurrent_edit.session_files IS
    'Presence: which session has which file open (open_file / close_file). Rows go with their session.';
COMMENT ON COLUMN concurrent_edit.session_files.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.session_files.session_id IS 'Session that has the file open.';
COMMENT ON COLUMN concurrent_edit.session_files.file_id IS 'The open file.';
COMMENT ON COLUMN concurrent_edit.session_files.opened_at IS 'When the session opened it.';
CREATE INDEX session_files_file_idx ON concurrent_edit.session_files (project_id, file_id);
COMMENT ON INDEX concurrent_edit.session_files_file_idx IS 'Sessions that have a file open (file_editors, delete conflicts).';

-- pg_dump / pg_restore keep the rows of every user-data table.
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.files', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.file_versions', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.edit_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.file_locks', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.pending_changes', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.conflict_history', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.session_files', '');

-- ---- src/sql/20_merge.sql ----
-- Merge engine: three-way merge with git merge-file's semantics, conflict regions,
-- unified diff, overlap check and resolution strategies (docs/reference/merge.md).
-- Pure C functions: no SQL is executed, so no SET search_path clause.

CREATE FUNCTION concurrent_edit.merge3(
    base text, ours text, theirs text,
    style text DEFAULT 'merge', favor text DEFAULT 'none',
    ours_label text DEFAULT 'ours', base_label text DEFAULT 'base', theirs_label text DEFAULT 'theirs',
    marker_size integer DEFAULT 7,
    OUT content text, OUT clean boolean, OUT conflicts integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_merge3'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.merge3(text, text, text, text, text, text, text, text, integer) IS
    'Three-way merge of base, ours and theirs exactly as git merge-file -p does it: content is the merged text with conflict markers where conflicts remain; clean is true when none remain; conflicts counts them (git''s exit status). style: merge, diff3, zdiff3; favor: none, ours, theirs, union (conflicts resolved in content, conflicts = 0); marker_size 1..100. STRICT. Errors: 22023 (unknown style or favor, bad marker_size, label with a line break), 54000 (input over concurrent_edit.max_input_size), 57014 (cancel, statement_timeout).';

CREATE FUNCTION concurrent_edit.merge_conflicts(
    base text, ours text, theirs text,
    OUT conflict integer,
    OUT base_start integer, OUT base_count integer,
    OUT ours_start integer, OUT ours_count integer,
    OUT theirs_start integer, OUT theirs_count integer,
    OUT base text, OUT ours text, OUT theirs text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'ce_merge_conflicts'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION concurrent_edit.merge_conflicts(text, text, text) IS
    'One row per conflict region that merge3(base, ours, theirs) leaves (style merge, favor none), numbered from 1: the 1-based start line and line count of the region in base, ours and theirs (an empty range starts at the line it sits before), and the three texts, line ends included. No rows when the merge is clean. STRICT. Errors: 54000, 57014.';

CREATE FUNCTION concurrent_edit.diff(
    old text, new text, context integer DEFAULT 3,
    old_label text DEFAULT 'a', new_label text DEFAULT 'b')
    RETURNS text
    AS 'MODULE_PATHNAME', 'ce_diff'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.diff(text, text, integer, text, text) IS
    'Unified diff from old to new with the hunks git diff prints (Myers, no indent heuristic), headed "--- old_label" and "+++ new_label"; accepted by patch and git apply (with context 0, git apply needs --unidiff-zero). Empty string when the texts are equal. STRICT. Errors: 22023 (negative context, label with a line break), 54000, 57014.';

CREATE FUNCTION concurrent_edit.diff_stat(old text, new text,
    OUT lines_added integer, OUT lines_removed integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_diff_stat'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.diff_stat(text, text) IS
    'Lines added and removed by the line diff from old to new (the counts git diff --numstat reports). STRICT. Errors: 54000, 57014.';

CREATE FUNCTION concurrent_edit.changes_overlap(base text, current text, proposed text,
    OUT base_start integer, OUT base_count integer,
    OUT current_start integer, OUT current_count integer,
    OUT proposed_start integer, OUT proposed_count integer)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'ce_changes_overlap'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION concurrent_edit.changes_overlap(text, text, text) IS
    'Where the edit base->current and the edit base->proposed overlap, computed with a real line diff: one row per region git would report as a conflict (edits that touch included; identical edits excluded), with 1-based start and count in base, current and proposed. No rows when the edits are independent (an insertion above an edit is independent). STRICT. Errors: 54000, 57014.';

CREATE FUNCTION concurrent_edit.resolve(strategy text, base text, ours text, theirs text,
    ours_at timestamptz DEFAULT NULL, theirs_at timestamptz DEFAULT NULL,
    OUT content text, OUT strategy text, OUT auto_resolved boolean,
    OUT manual_intervention_required boolean, OUT conflicts integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_resolve'
    LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.resolve(text, text, text, text, timestamptz, timestamptz) IS
    'Resolves concurrent edits (ours = current, first written; theirs = incoming, later) with a strategy: last-write-wins (theirs), first-write-wins (ours), merge-with-markers and smart-merge (merge3; markers where conflicts remain; smart-merge reports smart-merge-auto or smart-merge-manual), keep-both (union merge), timestamp (the side with the later *_at; a tie goes to theirs). Not strict: strategy, base, ours and theirs must not be NULL (22004); the timestamps are needed by timestamp only (22004). Errors: 22023 (unknown strategy), 54000, 57014.';

-- ---- src/sql/30_json_merge.sql ----
-- JSON three-way merge (issue #7): the engine the optimistic-concurrency trigger uses
-- for jsonb columns, exposed as a function. Semantics: docs/reference/json-merge.md.

CREATE FUNCTION concurrent_edit.jsonb_merge3(
        base jsonb, ours jsonb, theirs jsonb, array_mode text DEFAULT 'auto',
        OUT content jsonb, OUT clean boolean, OUT conflicts jsonb)
    RETURNS record
    AS 'MODULE_PATHNAME', 'ce_jsonb_merge3'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.jsonb_merge3(jsonb, jsonb, jsonb, text) IS
    'Three-way merge of jsonb documents: objects key by key, arrays by element id, as sequences or atomically (array_mode auto, id, sequence, atomic). Returns the merged content (ours at conflicting positions), clean, and conflicts: [{"path", "kind", "base", "ours", "theirs"}], a side''s key absent when it has no value there. base NULL = no common ancestor. Errors: 22004 (ours, theirs or array_mode NULL), 22023 (unknown array_mode), 54000 (input over concurrent_edit.max_input_size or nested over 1000 levels).';

-- ---- src/sql/40_files.sql ----
-- Versioned files: create, write (optimistic concurrency with three-way merge),
-- read, history, delete, rename, the conflict workflow and the change feed.
--
-- Functions that change data are SECURITY DEFINER (the tables are not writable
-- by applications, so every change goes through these functions and keeps the
-- invariants); EXECUTE is revoked from PUBLIC and granted with
-- concurrent_edit.grant_access(role).

CREATE TABLE concurrent_edit.change_feeds (
    project_id     uuid   NOT NULL,
    last_cursor    bigint NOT NULL,
    pruned_through bigint NOT NULL DEFAULT 0,
    CONSTRAINT change_feeds_pkey PRIMARY KEY (project_id),
    CONSTRAINT change_feeds_cursor_check CHECK (last_cursor >= 0 AND pruned_through >= 0 AND pruned_through <= last_cursor)
);
COMMENT ON TABLE concurrent_edit.change_feeds IS
    'Per-project cursor of the change feed: the last cursor handed out, and the cursor up to which old events were pruned. Its row lock serializes the sequencing of a project.';
COMMENT ON COLUMN concurrent_edit.change_feeds.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_feeds.last_cursor IS 'Cursor of the newest sequenced event of the project.';
COMMENT ON COLUMN concurrent_edit.change_feeds.pruned_through IS 'Events with a cursor up to this one were pruned; changes_since() refuses older cursors.';

CREATE SEQUENCE concurrent_edit.change_pending_id_seq;
COMMENT ON SEQUENCE concurrent_edit.change_pending_id_seq IS 'Order of pending change events (before they get a cursor).';

CREATE TABLE concurrent_edit.change_pending (
    project_id   uuid        NOT NULL,
    id           bigint      NOT NULL DEFAULT pg_catalog.nextval('concurrent_edit.change_pending_id_seq'),
    event        text        NOT NULL,
    file_id      uuid,
    path         text,
    version      integer,
    content_hash text,
    session_id   uuid,
    author       uuid,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT change_pending_pkey PRIMARY KEY (project_id, id)
);
COMMENT ON TABLE concurrent_edit.change_pending IS
    'Events of committed (or committing) transactions not yet sequenced into change_log. API calls insert here, without any lock; the sequencer (the background worker, or the committing transaction itself without the worker) moves them into change_log with consecutive cursors and sends NOTIFY.';
COMMENT ON COLUMN concurrent_edit.change_pending.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_pending.id IS 'Arrival order.';
COMMENT ON COLUMN concurrent_edit.change_pending.event IS 'What happened.';
COMMENT ON COLUMN concurrent_edit.change_pending.file_id IS 'File concerned, if any.';
COMMENT ON COLUMN concurrent_edit.change_pending.path IS 'Path of the file at the time of the event.';
COMMENT ON COLUMN concurrent_edit.change_pending.version IS 'Version written, if any.';
COMMENT ON COLUMN concurrent_edit.change_pending.content_hash IS 'content_hash of that version.';
COMMENT ON COLUMN concurrent_edit.change_pending.session_id IS 'Session that made the change, if any.';
COMMENT ON COLUMN concurrent_edit.change_pending.author IS 'User who made the change, if known.';
COMMENT ON COLUMN concurrent_edit.change_pending.details IS 'Further ids of the event.';
COMMENT ON COLUMN concurrent_edit.change_pending.created_at IS 'Time of the transaction that made the change.';

-- Lock events wait in an unlogged twin of change_pending, because the locks
-- themselves are unlogged (file_locks): a lock cycle then writes no WAL and commits
-- without a flush. The sequencer moves both tables into change_log in one order.
-- (LIKE: the same columns in the same order, which the sequencer's UNION relies
-- on; the same id sequence, so both tables share one arrival order.)
CREATE UNLOGGED TABLE concurrent_edit.change_pending_locks
    (LIKE concurrent_edit.change_pending INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES
                                         INCLUDING COMMENTS);
COMMENT ON TABLE concurrent_edit.change_pending_locks IS
    'Lock events (lock_acquired, lock_released, lock_expired, lock_forced) not yet sequenced into change_log: change_pending for the unlogged file_locks. Unlogged like file_locks, so a crash clears both together (a clean restart keeps them).';

CREATE TABLE concurrent_edit.change_log (
    project_id   uuid        NOT NULL,
    cursor       bigint      NOT NULL,
    event        text        NOT NULL,
    file_id      uuid,
    path         text,
    version      integer,
    content_hash text,
    session_id   uuid,
    author       uuid,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT change_log_pkey PRIMARY KEY (project_id, cursor),
    CONSTRAINT change_log_event_check CHECK (event IN (
        'created', 'version', 'deleted', 'renamed', 'conflict', 'conflict_resolved',
        'lock_acquired', 'lock_released', 'lock_expired', 'lock_forced',
        'session_joined', 'session_idle', 'session_left',
        'file_opened', 'file_closed', 'draft_saved', 'draft_discarded')),
    CONSTRAINT change_log_details_check CHECK (pg_catalog.jsonb_typeof(details) = 'object')
);
COMMENT ON TABLE concurrent_edit.change_log IS
    'Durable change feed: every committed change of a project with a gapless cursor (1, 2, 3...), in the order it was sequenced. The same events are sent with NOTIFY; changes_since() replays them. Ids only, never content.';
COMMENT ON COLUMN concurrent_edit.change_log.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_log.cursor IS 'Position in the project''s feed: consecutive, never reused.';
COMMENT ON COLUMN concurrent_edit.change_log.event IS 'What happened (created, version, deleted, renamed, conflict, conflict_resolved, lock_*, session_*, file_opened/closed, draft_*).';
COMMENT ON COLUMN concurrent_edit.change_log.file_id IS 'File concerned, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.path IS 'Path of the file at the time of the event.';
COMMENT ON COLUMN concurrent_edit.change_log.version IS 'Version written, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.content_hash IS 'content_hash of that version.';
COMMENT ON COLUMN concurrent_edit.change_log.session_id IS 'Session that made the change, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.author IS 'User who made the change, if known.';
COMMENT ON COLUMN concurrent_edit.change_log.details IS 'Further ids of the event (conflict_id, lock_id, old_path...).';
COMMENT ON COLUMN concurrent_edit.change_log.created_at IS 'Time of the transaction that made the change.';
CREATE INDEX change_log_created_at_idx ON concurrent_edit.change_log (created_at);
COMMENT ON INDEX concurrent_edit.change_log_created_at_idx IS 'Retention (prune_changes).';

CREATE FUNCTION concurrent_edit._emit(project_id uuid, event text, file_id uuid DEFAULT NULL,
                                      session_id uuid DEFAULT NULL, author uuid DEFAULT NULL,
                                      path text DEFAULT NULL, version integer DEFAULT NULL,
                                      content_hash text DEFAULT NULL, details jsonb DEFAULT '{}')
    RETURNS void
    AS 'MODULE_PATHNAME', 'ce_emit'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit._emit(uuid, text, uuid, uuid, uuid, text, integer, text, jsonb) IS
    'Internal: records a change event of the current transaction (sequenced into change_log and sent with NOTIFY after commit). Used by the API functions; not executable by PUBLIC.';
REVOKE ALL ON FUNCTION concurrent_edit._emit(uuid, text, uuid, uuid, uuid, text, integer, text, jsonb) FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_feeds', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending_locks', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_log', '');

CREATE TYPE concurrent_edit.write_result AS (
    status       text,
    version      integer,
    content_hash text,
    content      text,
    conflict_id  uuid,
    conflicts    integer,
    file_id      uuid,
    base_version integer,
    head_version integer,
    strategy     text,
    vector_clock concurrent_edit.vclock
);
COMMENT ON TYPE concurrent_edit.write_result IS
    'Result of write(): status written | unchanged | merged | conflict | overwritten | rejected, the version now at the head (or the head that was met), its hash and content (the marked-up text for a conflict), the conflict id and count.';
COMMENT ON COLUMN concurrent_edit.write_result.status IS 'written, unchanged, merged, conflict, overwritten or rejected.';
COMMENT ON COLUMN concurrent_edit.write_result.version IS 'The new version; for unchanged, conflict and rejected the head version.';
COMMENT ON COLUMN concurrent_edit.write_result.content_hash IS 'content_hash of content.';
COMMENT ON COLUMN concurrent_edit.write_result.content IS 'The text now at the head; for a conflict the text with conflict markers; for rejected the head text.';
COMMENT ON COLUMN concurrent_edit.write_result.conflict_id IS 'conflict_history id when status is conflict.';
COMMENT ON COLUMN concurrent_edit.write_result.conflicts IS 'Number of conflict regions (0 unless status is conflict).';
COMMENT ON COLUMN concurrent_edit.write_result.file_id IS 'The file.';
COMMENT ON COLUMN concurrent_edit.write_result.base_version IS 'The version the write was based on (resolved from expected_hash when needed).';
COMMENT ON COLUMN concurrent_edit.write_result.head_version IS 'The head version the write met.';
COMMENT ON COLUMN concurrent_edit.write_result.strategy IS 'Strategy used.';
COMMENT ON COLUMN concurrent_edit.write_result.vector_clock IS 'Vector clock of version (keep it to write offline from this version with client_clock).';

CREATE FUNCTION concurrent_edit.channel_name(project_id uuid) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN 'concurrent_edit_' || pg_catalog.replace(project_id::text, '-', '');
COMMENT ON FUNCTION concurrent_edit.channel_name(uuid) IS
    'NOTIFY channel of a project: concurrent_edit_<32 hex digits>. LISTEN on it to receive the project''s change events (JSON payload with ids only).';

CREATE FUNCTION concurrent_edit.create_file(project_id uuid, path text, content text, author uuid,
                                            session_id uuid DEFAULT NULL, file_id uuid DEFAULT NULL) RETURNS uuid
    AS 'MODULE_PATHNAME', 'ce_create_file'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.create_file(uuid, text, text, uuid, uuid, uuid) IS
    'Creates a file with version 1 and returns its id (file_id when the client chose one, e.g. an offline client). A live file at the same normalized path in the project is an error (VC003). With a session, the author is the session''s user.';

CREATE FUNCTION concurrent_edit.write(file_id uuid, content text, base_version integer,
                                      author uuid DEFAULT NULL, session_id uuid DEFAULT NULL,
                                      strategy text DEFAULT 'merge', expected_hash text DEFAULT NULL,
                                      edited_at timestamptz DEFAULT NULL,
                                      client_clock concurrent_edit.vclock DEFAULT NULL)
    RETURNS concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_write'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.write(uuid, text, integer, uuid, uuid, text, text, timestamptz, concurrent_edit.vclock) IS
    'Writes a new version based on base_version (and/or expected_hash, an ETag). Current base: written. Stale base: handled by strategy merge (three-way merge: merged, or conflict recorded and returned), fail-fast (VC001), last-write-wins, first-write-wins, keep-both, timestamp or queue. edited_at (default now) is when the client made the edit, compared with the head by strategy timestamp. client_clock (instead of a base version): the vector clock the edit descends from; the base is the newest version it dominates, a clock dominating the head fast-forwards. See docs/reference/files.md.';

CREATE TYPE concurrent_edit.read_result AS (
    content      text,
    version      integer,
    content_hash text,
    created_by   uuid,
    created_at   timestamptz,
    path         text,
    deleted_at   timestamptz,
    vector_clock concurrent_edit.vclock
);
COMMENT ON TYPE concurrent_edit.read_result IS 'Result of read(): a version of a file.';
COMMENT ON COLUMN concurrent_edit.read_result.vector_clock IS 'Vector clock of the version (pass it as write(client_clock) to write from it offline).';
COMMENT ON COLUMN concurrent_edit.read_result.content IS 'Text of the version.';
COMMENT ON COLUMN concurrent_edit.read_result.version IS 'Version number.';
COMMENT ON COLUMN concurrent_edit.read_result.content_hash IS 'content_hash(content), the ETag for write(expected_hash).';
COMMENT ON COLUMN concurrent_edit.read_result.created_by IS 'Author of the version.';
COMMENT ON COLUMN concurrent_edit.read_result.created_at IS 'When the version was written.';
COMMENT ON COLUMN concurrent_edit.read_result.path IS 'Current path of the file.';
COMMENT ON COLUMN concurrent_edit.read_result.deleted_at IS 'When the file was deleted; NULL while live.';

CREATE FUNCTION concurrent_edit.read(file_id uuid, version integer DEFAULT NULL)
    RETURNS SETOF concurrent_edit.read_result ROWS 1
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
BEGIN
    IF file_id IS NULL THEN
        RAISE EXCEPTION 'argument "file_id" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = read.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', read.file_id USING ERRCODE = 'VC007';
    END IF;
    RETURN QUERY
        SELECT v.content, v.version, v.content_hash, v.created_by, v.created_at, f.path, f.deleted_at, v.vector_clock
        FROM concurrent_edit.file_versions v
        WHERE v.project_id = f.project_id AND v.file_id = f.id
          AND v.version = coalesce(read.version, f.head_version);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of file % does not exist', read.version, read.file_id
            USING ERRCODE = 'VC006',
                  DETAIL = pg_catalog.format('The head version is %s.', f.head_version);
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit.read(uuid, integer) IS
    'Content and metadata of a version of a file (the head when version is NULL). Deleted files stay readable (deleted_at is set). Errors: VC007 unknown file, VC006 unknown version.';

CREATE FUNCTION concurrent_edit.history(file_id uuid)
    RETURNS TABLE (version integer, content_hash text, created_by uuid, created_at timestamptz,
                   session_id uuid, bytes integer, is_head boolean, vector_clock concurrent_edit.vclock)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
BEGIN
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = history.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', history.file_id USING ERRCODE = 'VC007';
    END IF;
    RETURN QUERY
        SELECT v.version, v.content_hash, v.created_by, v.created_at, v.session_id,
               pg_catalog.octet_length(v.content), v.version = f.head_version, v.vector_clock
        FROM concurrent_edit.file_versions v
        WHERE v.project_id = f.project_id AND v.file_id = f.id
        ORDER BY v.version;
END
$$;
COMMENT ON FUNCTION concurrent_edit.history(uuid) IS
    'Versions of a file, oldest first, without their content (use read(file_id, version)).';

CREATE FUNCTION concurrent_edit.diff_versions(file_id uuid, from_version integer, to_version integer)
    RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
    a text;
    b text;
BEGIN
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = diff_versions.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', diff_versions.file_id USING ERRCODE = 'VC007';
    END IF;
    SELECT v.content INTO a FROM concurrent_edit.file_versions v
     WHERE v.project_id = f.project_id AND v.file_id = f.id AND v.version = diff_versions.from_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of file % does not exist', from_version, diff_versions.file_id USING ERRCODE = 'VC006';
    END IF;
    SELECT v.content INTO b FROM concurrent_edit.file_versions v
     WHERE v.project_id = f.project_id AND v.file_id = f.id AND v.version = diff_versions.to_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'version % of file % does not exist', to_version, diff_versions.file_id USING ERRCODE = 'VC006';
    END IF;
    RETURN concurrent_edit.diff(a, b, 3, 'a/' || f.normalized_path, 'b/' || f.normalized_path);
END
$$;
COMMENT ON FUNCTION concurrent_edit.diff_versions(uuid, integer, integer) IS
    'Unified diff between two versions of a file, labelled a/<path> and b/<path> (git apply and patch -p1 accept it).';

CREATE FUNCTION concurrent_edit.delete_file(file_id uuid, author uuid DEFAULT NULL, session_id uuid DEFAULT NULL,
                                            force boolean DEFAULT false, base_version integer DEFAULT NULL)
    RETURNS TABLE (status text, version integer, open_sessions uuid[], draft_sessions uuid[])
    AS 'MODULE_PATHNAME', 'ce_delete_file'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.delete_file(uuid, uuid, uuid, boolean, integer) IS
    'Soft-deletes a file (history stays readable). When other sessions have it open or hold drafts of it, status is conflict and nothing is deleted unless force => true (then deleted, and the sessions are still reported). base_version, when given, must be the head (else VC001).';

CREATE FUNCTION concurrent_edit.rename_file(file_id uuid, new_path text, author uuid DEFAULT NULL,
                                            session_id uuid DEFAULT NULL)
    RETURNS TABLE (path text, normalized_path text, old_path text)
    AS 'MODULE_PATHNAME', 'ce_rename_file'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.rename_file(uuid, text, uuid, uuid) IS
    'Moves a file to another path in its project. A live file at the target''s normalized path is a rename conflict (VC003, DETAIL names it); a deleted file cannot be renamed (VC002).';

CREATE TYPE concurrent_edit.conflict_info AS (
    conflict_id        uuid,
    file_id            uuid,
    path               text,
    kind               text,
    base_version       integer,
    ours_version       integer,
    strategy           text,
    conflicts          integer,
    created_by         uuid,
    created_at         timestamptz,
    resolved_by        uuid,
    resolved_at        timestamptz,
    resolution_version integer,
    details            jsonb,
    row_relation       text,
    row_key            jsonb
);
COMMENT ON TYPE concurrent_edit.conflict_info IS 'A row of list_conflicts().';
COMMENT ON COLUMN concurrent_edit.conflict_info.row_relation IS 'For a row conflict: the table.';
COMMENT ON COLUMN concurrent_edit.conflict_info.row_key IS 'For a row conflict: the row''s primary key.';
COMMENT ON COLUMN concurrent_edit.conflict_info.conflict_id IS 'Conflict id (for resolve_conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_info.file_id IS 'File in conflict.';
COMMENT ON COLUMN concurrent_edit.conflict_info.path IS 'Current path of the file (NULL for a row conflict).';
COMMENT ON COLUMN concurrent_edit.conflict_info.kind IS 'content, delete or rename.';
COMMENT ON COLUMN concurrent_edit.conflict_info.base_version IS 'Common ancestor version.';
COMMENT ON COLUMN concurrent_edit.conflict_info.ours_version IS 'Head version the write met.';
COMMENT ON COLUMN concurrent_edit.conflict_info.strategy IS 'Strategy of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_info.conflicts IS 'Number of conflict regions.';
COMMENT ON COLUMN concurrent_edit.conflict_info.created_by IS 'Author of the conflicting write.';
COMMENT ON COLUMN concurrent_edit.conflict_info.created_at IS 'When the conflict was recorded.';
COMMENT ON COLUMN concurrent_edit.conflict_info.resolved_by IS 'Who resolved it.';
COMMENT ON COLUMN concurrent_edit.conflict_info.resolved_at IS 'When it was resolved.';
COMMENT ON COLUMN concurrent_edit.conflict_info.resolution_version IS 'Version written by the resolution.';
COMMENT ON COLUMN concurrent_edit.conflict_info.details IS 'Regions and labels of the conflict (JSON).';

CREATE FUNCTION concurrent_edit.list_conflicts(file_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL,
                                               include_resolved boolean DEFAULT false)
    RETURNS SETOF concurrent_edit.conflict_info
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF list_conflicts.file_id IS NULL AND list_conflicts.project_id IS NULL THEN
        RAISE EXCEPTION 'list_conflicts needs a file_id or a project_id' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN QUERY
        SELECT c.id, c.file_id, f.path, c.kind, c.base_version, c.ours_version, c.strategy,
               CASE WHEN jsonb_typeof(c.details -> 'conflicts') = 'array' THEN jsonb_array_length(c.details -> 'conflicts')
                    ELSE coalesce((c.details ->> 'conflicts')::integer, 0) END,
               c.created_by, c.created_at, c.resolved_by, c.resolved_at, c.resolution_version, c.details,
               c.row_relation, c.row_key
        FROM concurrent_edit.conflict_history c
        LEFT JOIN concurrent_edit.files f ON f.project_id = c.project_id AND f.id = c.file_id
        WHERE (list_conflicts.file_id IS NULL OR c.file_id = list_conflicts.file_id)
          AND (list_conflicts.project_id IS NULL OR c.project_id = list_conflicts.project_id)
          AND (list_conflicts.include_resolved OR c.resolved_at IS NULL)
          -- Row conflicts carry row data: only for who may read the table.
          AND (c.kind <> 'row'
               OR pg_catalog.has_table_privilege(session_user, pg_catalog.to_regclass(c.row_relation), 'SELECT'))
        ORDER BY c.created_at, c.id;
END
$$;
COMMENT ON FUNCTION concurrent_edit.list_conflicts(uuid, uuid, boolean) IS
    'Conflicts of a file or of a project, oldest first; unresolved only unless include_resolved. Row conflicts (OCC trigger; project_id is the nil uuid unless enable_occ named a project column) are listed only to roles that may SELECT the table (checked for session_user).';

CREATE FUNCTION concurrent_edit.resolve_conflict(conflict_id uuid, content text, resolved_by uuid)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_resolve_conflict'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.resolve_conflict(uuid, text, uuid) IS
    'Writes the resolution of an open conflict on top of the current head (merging again if the head moved since the conflict), marks the conflict resolved by resolved_by, and returns the new version. VC008 if the conflict is unknown or already resolved; VC001 if the head moved and the resolution conflicts with it. A row conflict (OCC trigger) takes content NULL: it is resolved by updating the row, this only closes the record (returns NULL).';

CREATE TYPE concurrent_edit.change_event AS (
    cursor       bigint,
    event        text,
    file_id      uuid,
    path         text,
    version      integer,
    content_hash text,
    session_id   uuid,
    author       uuid,
    details      jsonb,
    created_at   timestamptz
);
COMMENT ON TYPE concurrent_edit.change_event IS 'An event of the change feed (a row of changes_since(); the NOTIFY payload has the same fields).';
COMMENT ON COLUMN concurrent_edit.change_event.cursor IS 'Position in the project''s feed.';
COMMENT ON COLUMN concurrent_edit.change_event.event IS 'What happened.';
COMMENT ON COLUMN concurrent_edit.change_event.file_id IS 'File concerned, if any.';
COMMENT ON COLUMN concurrent_edit.change_event.path IS 'Path of the file at the time.';
COMMENT ON COLUMN concurrent_edit.change_event.version IS 'Version written, if any.';
COMMENT ON COLUMN concurrent_edit.change_event.content_hash IS 'Hash of that version.';
COMMENT ON COLUMN concurrent_edit.change_event.session_id IS 'Session that made the change.';
COMMENT ON COLUMN concurrent_edit.change_event.author IS 'User who made the change.';
COMMENT ON COLUMN concurrent_edit.change_event.details IS 'Further ids of the event.';
COMMENT ON COLUMN concurrent_edit.change_event.created_at IS 'Time of the change''s transaction.';

CREATE FUNCTION concurrent_edit.changes_since(project_id uuid, cursor bigint, max_events integer DEFAULT NULL)
    RETURNS SETOF concurrent_edit.change_event
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pruned bigint;
BEGIN
    IF changes_since.project_id IS NULL OR changes_since.cursor IS NULL THEN
        RAISE EXCEPTION 'project_id and cursor must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT fe.pruned_through INTO pruned FROM concurrent_edit.change_feeds fe
     WHERE fe.project_id = changes_since.project_id;
    IF changes_since.cursor < coalesce(pruned, 0) THEN
        RAISE EXCEPTION 'cursor % is older than the retained change feed', changes_since.cursor
            USING ERRCODE = 'VC012',
                  DETAIL = pg_catalog.format('Events up to cursor %s were pruned.', pruned),
                  HINT = 'Re-read the files you need, then continue from the newest cursor.';
    END IF;
    RETURN QUERY
        SELECT l.cursor, l.event, l.file_id, l.path, l.version, l.content_hash, l.session_id, l.author,
               l.details, l.created_at
        FROM concurrent_edit.change_log l
        WHERE l.project_id = changes_since.project_id AND l.cursor > changes_since.cursor
        ORDER BY l.cursor
        LIMIT changes_since.max_events;
END
$$;
COMMENT ON FUNCTION concurrent_edit.changes_since(uuid, bigint, integer) IS
    'Events of a project after a cursor, in order (the same events NOTIFY sent): a client that was disconnected catches up from the last cursor it saw (0 for all). VC012 if that cursor was pruned.';

CREATE FUNCTION concurrent_edit.prune_changes(older_than interval DEFAULT '30 days', project_id uuid DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n bigint := 0;
    k bigint;
BEGIN
    IF prune_changes.older_than IS NULL OR prune_changes.older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR r IN
        SELECT f.project_id, max(l.cursor) AS upto
        FROM concurrent_edit.change_feeds f
        JOIN concurrent_edit.change_log l ON l.project_id = f.project_id
        WHERE (prune_changes.project_id IS NULL OR f.project_id = prune_changes.project_id)
          AND l.created_at < now() - prune_changes.older_than
        GROUP BY f.project_id
        ORDER BY f.project_id
    LOOP
        -- The feed row lock keeps sequencers of the project out while we cut.
        PERFORM 1 FROM concurrent_edit.change_feeds f WHERE f.project_id = r.project_id FOR UPDATE;
        DELETE FROM concurrent_edit.change_log l WHERE l.project_id = r.project_id AND l.cursor <= r.upto;
        GET DIAGNOSTICS k = ROW_COUNT;
        UPDATE concurrent_edit.change_feeds f SET pruned_through = greatest(f.pruned_through, r.upto)
        WHERE f.project_id = r.project_id;
        n := n + k;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION concurrent_edit.prune_changes(interval, uuid) IS
    'Administrators: deletes change feed events older than older_than (of one project or all) and records up to which cursor the feed was pruned; changes_since() then refuses older cursors with VC012. Returns how many events were deleted.';

-- ---- src/sql/50_sessions.sql ----
-- Edit sessions, presence, drafts and file locks.

CREATE TYPE concurrent_edit.lock_info AS (
    lock_id     uuid,
    lock_type   text,
    expires_at  timestamptz,
    acquired_at timestamptz
);
COMMENT ON TYPE concurrent_edit.lock_info IS 'Result of acquire_lock(): the lock now held.';
COMMENT ON COLUMN concurrent_edit.lock_info.lock_id IS 'Lock id (file_locks.id).';
COMMENT ON COLUMN concurrent_edit.lock_info.lock_type IS 'exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.lock_info.expires_at IS 'When the lock lapses unless extended.';
COMMENT ON COLUMN concurrent_edit.lock_info.acquired_at IS 'When this session first took the lock (of this type).';

CREATE TYPE concurrent_edit.lock_holder AS (
    lock_id     uuid,
    session_id  uuid,
    holder      uuid,
    lock_type   text,
    acquired_at timestamptz,
    expires_at  timestamptz
);
COMMENT ON TYPE concurrent_edit.lock_holder IS 'A row of lock_status(): a lock currently held on a file.';
COMMENT ON COLUMN concurrent_edit.lock_holder.lock_id IS 'Lock id.';
COMMENT ON COLUMN concurrent_edit.lock_holder.session_id IS 'Session holding it.';
COMMENT ON COLUMN concurrent_edit.lock_holder.holder IS 'User behind that session.';
COMMENT ON COLUMN concurrent_edit.lock_holder.lock_type IS 'exclusive or shared.';
COMMENT ON COLUMN concurrent_edit.lock_holder.acquired_at IS 'When it was taken.';
COMMENT ON COLUMN concurrent_edit.lock_holder.expires_at IS 'When it lapses.';

CREATE FUNCTION concurrent_edit.acquire_lock(file_id uuid, session_id uuid, lock_type text DEFAULT 'exclusive',
                                             ttl interval DEFAULT NULL, wait interval DEFAULT '0',
                                             require_version integer DEFAULT NULL)
    RETURNS concurrent_edit.lock_info
    AS 'MODULE_PATHNAME', 'ce_acquire_lock'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.acquire_lock(uuid, uuid, text, interval, interval, integer) IS
    'Takes an exclusive or shared lock on a file for a session, for ttl (default concurrent_edit.lock_ttl). Shared locks coexist; an exclusive lock excludes every other. Re-acquiring refreshes (or converts) the session''s own lock. Waits up to wait (default 0) without polling; then 55P03 with a JSON DETAIL naming the holders. require_version: lock only if that is the head version (else VC001).';

CREATE FUNCTION concurrent_edit.release_lock(file_id uuid, session_id uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_release_lock'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.release_lock(uuid, uuid) IS
    'Releases the session''s lock on a file: true if it held one, false otherwise (another session''s lock is never touched).';

CREATE FUNCTION concurrent_edit.extend_lock(file_id uuid, session_id uuid, ttl interval DEFAULT NULL)
    RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'ce_extend_lock'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.extend_lock(uuid, uuid, interval) IS
    'Moves the expiry of the session''s unexpired lock to now + ttl and returns it. VC013 when the session holds no unexpired lock on the file.';

CREATE FUNCTION concurrent_edit.lock_status(file_id uuid) RETURNS SETOF concurrent_edit.lock_holder
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.id, l.session_id, l.holder, l.lock_type, l.acquired_at, l.expires_at
    FROM concurrent_edit.files f
    JOIN concurrent_edit.file_locks l ON l.project_id = f.project_id AND l.file_id = f.id
    WHERE f.id = $1 AND l.expires_at > pg_catalog.clock_timestamp()
    ORDER BY l.acquired_at, l.id
$$;
COMMENT ON FUNCTION concurrent_edit.lock_status(uuid) IS 'Unexpired locks of a file.';

CREATE FUNCTION concurrent_edit.release_session_locks(session_id uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_release_session_locks'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.release_session_locks(uuid) IS
    'Releases every lock of a session; returns how many.';

CREATE FUNCTION concurrent_edit.force_release_lock(file_id uuid, reason text) RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_force_release_lock'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.force_release_lock(uuid, text) IS
    'Administrators only: removes every lock on a file and notifies the holders (event lock_forced with the reason). Returns how many.';

CREATE FUNCTION concurrent_edit.cleanup_expired_locks() RETURNS integer
    AS 'MODULE_PATHNAME', 'ce_cleanup_expired_locks'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.cleanup_expired_locks() IS
    'Deletes expired locks (lock_expired events) and locks whose session is closed or gone (lock_released); returns how many. The background worker runs it every concurrent_edit.worker_interval; expired locks block no one even before it runs.';

-- ---------------------------------------------------------------------------
-- Sessions

CREATE FUNCTION concurrent_edit.open_session(user_id uuid, project_id uuid, sandbox_id text DEFAULT NULL,
                                             metadata jsonb DEFAULT '{}') RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sid uuid;
BEGIN
    IF open_session.user_id IS NULL OR open_session.project_id IS NULL THEN
        RAISE EXCEPTION 'user_id and project_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF open_session.metadata IS NOT NULL AND jsonb_typeof(open_session.metadata) <> 'object' THEN
        RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF open_session.sandbox_id IS NOT NULL AND length(open_session.sandbox_id) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'sandbox_id must have 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO concurrent_edit.edit_sessions (project_id, user_id, sandbox_id, metadata)
    VALUES (open_session.project_id, open_session.user_id, open_session.sandbox_id,
            coalesce(open_session.metadata, '{}'))
    RETURNING id INTO sid;
    PERFORM concurrent_edit._emit(open_session.project_id, 'session_joined', NULL, sid, open_session.user_id);
    RETURN sid;
END
$$;
COMMENT ON FUNCTION concurrent_edit.open_session(uuid, uuid, text, jsonb) IS
    'Opens an edit session of a user (or agent) in a project and returns its id (event session_joined).';

CREATE FUNCTION concurrent_edit._session(session_id uuid, lock_row boolean DEFAULT false)
    RETURNS concurrent_edit.edit_sessions
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions;
BEGIN
    IF _session.session_id IS NULL THEN
        RAISE EXCEPTION 'argument "session_id" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lock_row THEN
        SELECT * INTO s FROM concurrent_edit.edit_sessions x WHERE x.id = _session.session_id FOR UPDATE;
    ELSE
        SELECT * INTO s FROM concurrent_edit.edit_sessions x WHERE x.id = _session.session_id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % does not exist', _session.session_id
            USING ERRCODE = 'VC005', DETAIL = json_build_object('session_id', _session.session_id)::text;
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION concurrent_edit._session(uuid, boolean) IS 'Internal: the session row, or VC005.';
REVOKE ALL ON FUNCTION concurrent_edit._session(uuid, boolean) FROM PUBLIC;

CREATE FUNCTION concurrent_edit._active_session(session_id uuid) RETURNS concurrent_edit.edit_sessions
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions;
BEGIN
    s := concurrent_edit._session(_active_session.session_id);
    IF s.status = 'closed' THEN
        RAISE EXCEPTION 'session % is closed', s.id
            USING ERRCODE = 'VC005', HINT = 'Open a new session with open_session().',
                  DETAIL = json_build_object('session_id', s.id, 'status', 'closed')::text;
    END IF;
    IF s.last_active_at < now() - concurrent_edit._setting('concurrent_edit.session_close_timeout')::interval THEN
        RAISE EXCEPTION 'session % timed out', s.id
            USING ERRCODE = 'VC005', HINT = 'It was inactive for longer than concurrent_edit.session_close_timeout; open a new session.',
                  DETAIL = json_build_object('session_id', s.id, 'status', s.status)::text;
    END IF;
    -- Activity keeps the session active (written at most once a second).
    IF s.status <> 'active' OR s.last_active_at < now() - interval '1 second' THEN
        UPDATE concurrent_edit.edit_sessions SET status = 'active', last_active_at = now()
        WHERE project_id = s.project_id AND id = s.id;
        s.status := 'active';
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION concurrent_edit._active_session(uuid) IS
    'Internal: the session row after recording activity; VC005 if it does not exist or is closed.';
REVOKE ALL ON FUNCTION concurrent_edit._active_session(uuid) FROM PUBLIC;

CREATE FUNCTION concurrent_edit.touch_session(session_id uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (concurrent_edit._active_session(touch_session.session_id)).status;
END
$$;
COMMENT ON FUNCTION concurrent_edit.touch_session(uuid) IS
    'Heartbeat: records activity (an idle session becomes active again) and returns the status. VC005 for a closed or unknown session.';

CREATE FUNCTION concurrent_edit.close_session(session_id uuid, discard_drafts boolean DEFAULT false)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions;
BEGIN
    s := concurrent_edit._session(close_session.session_id, true);
    IF s.status = 'closed' THEN
        RETURN false;
    END IF;
    PERFORM concurrent_edit.release_session_locks(s.id);
    DELETE FROM concurrent_edit.session_files f WHERE f.project_id = s.project_id AND f.session_id = s.id;
    IF coalesce(close_session.discard_drafts, false) THEN
        DELETE FROM concurrent_edit.pending_changes p WHERE p.project_id = s.project_id AND p.session_id = s.id;
    END IF;
    UPDATE concurrent_edit.edit_sessions SET status = 'closed', closed_at = now()
    WHERE project_id = s.project_id AND id = s.id;
    PERFORM concurrent_edit._emit(s.project_id, 'session_left', NULL, s.id, s.user_id);
    RETURN true;
END
$$;
COMMENT ON FUNCTION concurrent_edit.close_session(uuid, boolean) IS
    'Closes a session: releases all its locks, closes its files, and keeps its drafts (readable with session_drafts(), still reported as unsaved work to nobody) unless discard_drafts. Returns false if it was already closed.';

CREATE FUNCTION concurrent_edit.cleanup_inactive_sessions() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    idle_after interval := concurrent_edit._setting('concurrent_edit.session_idle_timeout')::interval;
    close_after interval := concurrent_edit._setting('concurrent_edit.session_close_timeout')::interval;
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        SELECT s.project_id, s.id FROM concurrent_edit.edit_sessions s
        WHERE s.status <> 'closed' AND s.last_active_at < now() - close_after
        ORDER BY s.project_id, s.id
        FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM concurrent_edit.close_session(r.id);
        n := n + 1;
    END LOOP;
    FOR r IN
        UPDATE concurrent_edit.edit_sessions s SET status = 'idle'
        WHERE s.status = 'active' AND s.last_active_at < now() - idle_after
        RETURNING s.project_id, s.id, s.user_id
    LOOP
        PERFORM concurrent_edit._emit(r.project_id, 'session_idle', NULL, r.id, r.user_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION concurrent_edit.cleanup_inactive_sessions() IS
    'Moves sessions inactive for concurrent_edit.session_idle_timeout to idle, and closes those inactive for concurrent_edit.session_close_timeout (releasing their locks). Returns how many changed. The background worker runs it every concurrent_edit.worker_interval.';

-- ---------------------------------------------------------------------------
-- Presence

CREATE TYPE concurrent_edit.presence_warning AS (
    kind       text,
    message    text,
    session_id uuid,
    user_id    uuid,
    since      timestamptz,
    until      timestamptz
);
COMMENT ON TYPE concurrent_edit.presence_warning IS 'A warning open_file() returns for the editor to show.';
COMMENT ON COLUMN concurrent_edit.presence_warning.kind IS 'locked, unsaved_changes or deleted.';
COMMENT ON COLUMN concurrent_edit.presence_warning.message IS 'Human-readable text.';
COMMENT ON COLUMN concurrent_edit.presence_warning.session_id IS 'The other session concerned, if any.';
COMMENT ON COLUMN concurrent_edit.presence_warning.user_id IS 'Its user (or who deleted the file).';
COMMENT ON COLUMN concurrent_edit.presence_warning.since IS 'Since when (lock taken, draft saved, file deleted).';
COMMENT ON COLUMN concurrent_edit.presence_warning.until IS 'Until when (lock expiry), if known.';

CREATE FUNCTION concurrent_edit._file(file_id uuid) RETURNS concurrent_edit.files
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files;
BEGIN
    IF _file.file_id IS NULL THEN
        RAISE EXCEPTION 'argument "file_id" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO f FROM concurrent_edit.files x WHERE x.id = _file.file_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'file % does not exist', _file.file_id USING ERRCODE = 'VC007';
    END IF;
    RETURN f;
END
$$;
COMMENT ON FUNCTION concurrent_edit._file(uuid) IS 'Internal: the file row, or VC007.';
REVOKE ALL ON FUNCTION concurrent_edit._file(uuid) FROM PUBLIC;

CREATE FUNCTION concurrent_edit._same_project(s concurrent_edit.edit_sessions, f concurrent_edit.files) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF s.project_id <> f.project_id THEN
        RAISE EXCEPTION 'session % belongs to another project than file %', s.id, f.id
            USING ERRCODE = 'VC005',
                  DETAIL = json_build_object('session_id', s.id, 'session_project_id', s.project_id,
                                             'file_id', f.id, 'project_id', f.project_id)::text;
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit._same_project(concurrent_edit.edit_sessions, concurrent_edit.files) IS
    'Internal: VC005 unless the session and the file belong to one project.';
REVOKE ALL ON FUNCTION concurrent_edit._same_project(concurrent_edit.edit_sessions, concurrent_edit.files) FROM PUBLIC;

CREATE FUNCTION concurrent_edit.open_file(session_id uuid, file_id uuid)
    RETURNS SETOF concurrent_edit.presence_warning
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._active_session(open_file.session_id);
    f concurrent_edit.files := concurrent_edit._file(open_file.file_id);
BEGIN
    PERFORM concurrent_edit._same_project(s, f);
    INSERT INTO concurrent_edit.session_files (project_id, session_id, file_id)
    VALUES (f.project_id, s.id, f.id) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        PERFORM concurrent_edit._emit(f.project_id, 'file_opened', f.id, s.id, s.user_id, f.normalized_path);
    END IF;
    IF f.deleted_at IS NOT NULL THEN
        RETURN NEXT ROW('deleted', 'the file was deleted', NULL::uuid, f.deleted_by, f.deleted_at,
                        NULL::timestamptz)::concurrent_edit.presence_warning;
    END IF;
    RETURN QUERY
        SELECT 'locked', 'the file is locked exclusively by another session', l.session_id, l.holder,
               l.acquired_at, l.expires_at
        FROM concurrent_edit.file_locks l
        WHERE l.project_id = f.project_id AND l.file_id = f.id AND l.session_id <> s.id
          AND l.lock_type = 'exclusive' AND l.expires_at > clock_timestamp();
    RETURN QUERY
        SELECT 'unsaved_changes', 'another session has unsaved changes to the file', p.session_id, o.user_id,
               p.updated_at, NULL::timestamptz
        FROM concurrent_edit.pending_changes p
        JOIN concurrent_edit.edit_sessions o ON o.project_id = p.project_id AND o.id = p.session_id
        WHERE p.project_id = f.project_id AND p.file_id = f.id AND p.session_id <> s.id AND o.status <> 'closed'
        ORDER BY p.updated_at, p.session_id;
END
$$;
COMMENT ON FUNCTION concurrent_edit.open_file(uuid, uuid) IS
    'Records that the session has the file open (event file_opened) and returns the warnings an editor should show: locked (by whom, until when), unsaved_changes (other sessions'' drafts), deleted.';

CREATE FUNCTION concurrent_edit.close_file(session_id uuid, file_id uuid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._session(close_file.session_id);
    path text;
BEGIN
    DELETE FROM concurrent_edit.session_files x USING concurrent_edit.files f
    WHERE x.project_id = s.project_id AND x.session_id = s.id AND x.file_id = close_file.file_id
      AND f.project_id = x.project_id AND f.id = x.file_id
    RETURNING f.normalized_path INTO path;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM concurrent_edit._emit(s.project_id, 'file_closed', close_file.file_id, s.id, s.user_id, path);
    RETURN true;
END
$$;
COMMENT ON FUNCTION concurrent_edit.close_file(uuid, uuid) IS
    'Records that the session closed the file (event file_closed); false if it did not have it open.';

CREATE TYPE concurrent_edit.file_editor AS (
    session_id     uuid,
    user_id        uuid,
    sandbox_id     text,
    status         text,
    opened_at      timestamptz,
    last_active_at timestamptz,
    has_draft      boolean,
    lock_type      text
);
COMMENT ON TYPE concurrent_edit.file_editor IS 'A row of file_editors(): a session that has the file open.';
COMMENT ON COLUMN concurrent_edit.file_editor.session_id IS 'The session.';
COMMENT ON COLUMN concurrent_edit.file_editor.user_id IS 'Its user.';
COMMENT ON COLUMN concurrent_edit.file_editor.sandbox_id IS 'Its sandbox, if any.';
COMMENT ON COLUMN concurrent_edit.file_editor.status IS 'active or idle.';
COMMENT ON COLUMN concurrent_edit.file_editor.opened_at IS 'When it opened the file.';
COMMENT ON COLUMN concurrent_edit.file_editor.last_active_at IS 'Its last activity.';
COMMENT ON COLUMN concurrent_edit.file_editor.has_draft IS 'Whether it holds an unsaved draft of the file.';
COMMENT ON COLUMN concurrent_edit.file_editor.lock_type IS 'Its unexpired lock on the file, if any.';

CREATE FUNCTION concurrent_edit.file_editors(file_id uuid) RETURNS SETOF concurrent_edit.file_editor
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.sandbox_id, s.status, o.opened_at, s.last_active_at,
           EXISTS (SELECT 1 FROM concurrent_edit.pending_changes p
                   WHERE p.project_id = o.project_id AND p.session_id = s.id AND p.file_id = o.file_id),
           (SELECT l.lock_type FROM concurrent_edit.file_locks l
             WHERE l.project_id = o.project_id AND l.session_id = s.id AND l.file_id = o.file_id
               AND l.expires_at > clock_timestamp())
    FROM concurrent_edit.session_files o
    JOIN concurrent_edit.edit_sessions s ON s.project_id = o.project_id AND s.id = o.session_id
    WHERE o.file_id = $1 AND s.status <> 'closed'
    ORDER BY o.opened_at, s.id
$$;
COMMENT ON FUNCTION concurrent_edit.file_editors(uuid) IS 'Sessions (not closed) that have the file open, with their draft and lock.';

CREATE TYPE concurrent_edit.session_info AS (
    session_id     uuid,
    user_id        uuid,
    sandbox_id     text,
    status         text,
    created_at     timestamptz,
    last_active_at timestamptz,
    open_files     integer,
    drafts         integer,
    locks          integer,
    metadata       jsonb
);
COMMENT ON TYPE concurrent_edit.session_info IS 'A row of project_sessions().';
COMMENT ON COLUMN concurrent_edit.session_info.session_id IS 'The session.';
COMMENT ON COLUMN concurrent_edit.session_info.user_id IS 'Its user.';
COMMENT ON COLUMN concurrent_edit.session_info.sandbox_id IS 'Its sandbox, if any.';
COMMENT ON COLUMN concurrent_edit.session_info.status IS 'active or idle.';
COMMENT ON COLUMN concurrent_edit.session_info.created_at IS 'When it was opened.';
COMMENT ON COLUMN concurrent_edit.session_info.last_active_at IS 'Its last activity.';
COMMENT ON COLUMN concurrent_edit.session_info.open_files IS 'Files it has open.';
COMMENT ON COLUMN concurrent_edit.session_info.drafts IS 'Unsaved drafts it holds.';
COMMENT ON COLUMN concurrent_edit.session_info.locks IS 'Unexpired locks it holds.';
COMMENT ON COLUMN concurrent_edit.session_info.metadata IS 'Its client metadata.';

CREATE FUNCTION concurrent_edit.project_sessions(project_id uuid) RETURNS SETOF concurrent_edit.session_info
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.sandbox_id, s.status, s.created_at, s.last_active_at,
           (SELECT count(*)::integer FROM concurrent_edit.session_files o
             WHERE o.project_id = s.project_id AND o.session_id = s.id),
           (SELECT count(*)::integer FROM concurrent_edit.pending_changes p
             WHERE p.project_id = s.project_id AND p.session_id = s.id),
           coalesce(l.locks, 0),
           s.metadata
    FROM concurrent_edit.edit_sessions s
    -- The project's locks counted once (file_locks is keyed by project and file).
    LEFT JOIN (SELECT l.session_id, count(*)::integer AS locks FROM concurrent_edit.file_locks l
               WHERE l.project_id = $1 AND l.expires_at > clock_timestamp() GROUP BY l.session_id) l
           ON l.session_id = s.id
    WHERE s.project_id = $1 AND s.status <> 'closed'
    ORDER BY s.created_at, s.id
$$;
COMMENT ON FUNCTION concurrent_edit.project_sessions(uuid) IS 'Open (active or idle) sessions of a project, with their files, drafts and locks.';

-- ---------------------------------------------------------------------------
-- Drafts

CREATE FUNCTION concurrent_edit.save_draft(session_id uuid, file_id uuid, base_version integer, content text)
    RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._active_session(save_draft.session_id);
    f concurrent_edit.files := concurrent_edit._file(save_draft.file_id);
    saved timestamptz;
BEGIN
    PERFORM concurrent_edit._same_project(s, f);
    IF save_draft.content IS NULL OR save_draft.base_version IS NULL THEN
        RAISE EXCEPTION 'base_version and content must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF octet_length(save_draft.content) > pg_catalog.pg_size_bytes(concurrent_edit._setting('concurrent_edit.max_input_size')) THEN
        RAISE EXCEPTION 'argument "content" is too large' USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM concurrent_edit.file_versions v
                   WHERE v.project_id = f.project_id AND v.file_id = f.id AND v.version = save_draft.base_version) THEN
        RAISE EXCEPTION 'version % of file % does not exist', save_draft.base_version, f.id
            USING ERRCODE = 'VC006', DETAIL = format('The head version is %s.', f.head_version);
    END IF;
    INSERT INTO concurrent_edit.pending_changes AS p (project_id, session_id, file_id, base_version, content)
    VALUES (f.project_id, s.id, f.id, save_draft.base_version, save_draft.content)
    ON CONFLICT ON CONSTRAINT pending_changes_pkey DO UPDATE
        SET base_version = EXCLUDED.base_version, content = EXCLUDED.content, updated_at = clock_timestamp()
    RETURNING p.updated_at INTO saved;
    PERFORM concurrent_edit._emit(f.project_id, 'draft_saved', f.id, s.id, s.user_id, f.normalized_path,
                                  save_draft.base_version);
    RETURN saved;
END
$$;
COMMENT ON FUNCTION concurrent_edit.save_draft(uuid, uuid, integer, text) IS
    'Autosave: upserts the session''s unsaved draft of a file (edited from base_version) and keeps the session active (event draft_saved, no content). Returns when it was saved.';

CREATE FUNCTION concurrent_edit.discard_draft(session_id uuid, file_id uuid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s concurrent_edit.edit_sessions := concurrent_edit._session(discard_draft.session_id);
    path text;
BEGIN
    DELETE FROM concurrent_edit.pending_changes p USING concurrent_edit.files f
    WHERE p.project_id = s.project_id AND p.session_id = s.id AND p.file_id = discard_draft.file_id
      AND f.project_id = p.project_id AND f.id = p.file_id
    RETURNING f.normalized_path INTO path;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM concurrent_edit._emit(s.project_id, 'draft_discarded', discard_draft.file_id, s.id, s.user_id, path);
    RETURN true;
END
$$;
COMMENT ON FUNCTION concurrent_edit.discard_draft(uuid, uuid) IS 'Deletes the session''s draft of a file (event draft_discarded); false if there was none.';

CREATE FUNCTION concurrent_edit.commit_draft(session_id uuid, file_id uuid, strategy text DEFAULT 'merge')
    RETURNS concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_commit_draft'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.commit_draft(uuid, uuid, text) IS
    'Turns the session''s draft into a write() from its base version with the given strategy; the draft is removed when the result is written, merged, overwritten or unchanged, and kept on a conflict or rejection. VC014 if there is no draft.';

CREATE TYPE concurrent_edit.draft_info AS (
    file_id      uuid,
    path         text,
    base_version integer,
    head_version integer,
    bytes        integer,
    updated_at   timestamptz
);
COMMENT ON TYPE concurrent_edit.draft_info IS 'A row of session_drafts().';
COMMENT ON COLUMN concurrent_edit.draft_info.file_id IS 'Drafted file.';
COMMENT ON COLUMN concurrent_edit.draft_info.path IS 'Its path.';
COMMENT ON COLUMN concurrent_edit.draft_info.base_version IS 'Version the draft was edited from.';
COMMENT ON COLUMN concurrent_edit.draft_info.head_version IS 'The file''s head version now.';
COMMENT ON COLUMN concurrent_edit.draft_info.bytes IS 'Size of the draft.';
COMMENT ON COLUMN concurrent_edit.draft_info.updated_at IS 'Last save.';

CREATE FUNCTION concurrent_edit.session_drafts(session_id uuid) RETURNS SETOF concurrent_edit.draft_info
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.file_id, f.path, p.base_version, f.head_version, octet_length(p.content), p.updated_at
    FROM concurrent_edit.pending_changes p
    JOIN concurrent_edit.files f ON f.project_id = p.project_id AND f.id = p.file_id
    WHERE p.session_id = $1
    ORDER BY p.updated_at, p.file_id
$$;
COMMENT ON FUNCTION concurrent_edit.session_drafts(uuid) IS 'Drafts a session holds (also after it was closed), with the head they may need merging onto.';

CREATE FUNCTION concurrent_edit.prune_history(file_id uuid, keep_versions integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f concurrent_edit.files := concurrent_edit._file(prune_history.file_id);
    n integer;
BEGIN
    IF prune_history.keep_versions IS NULL OR prune_history.keep_versions < 1 THEN
        RAISE EXCEPTION 'keep_versions must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM concurrent_edit.file_versions v
    WHERE v.project_id = f.project_id AND v.file_id = f.id
      AND v.version <= f.head_version - prune_history.keep_versions
      AND NOT EXISTS (SELECT 1 FROM concurrent_edit.pending_changes p
                      WHERE p.project_id = v.project_id AND p.file_id = v.file_id AND p.base_version = v.version)
      AND NOT EXISTS (SELECT 1 FROM concurrent_edit.conflict_history c
                      WHERE c.project_id = v.project_id AND c.file_id = v.file_id
                        AND v.version IN (c.base_version, c.ours_version));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION concurrent_edit.prune_history(uuid, integer) IS
    'History cleanup: deletes versions older than the newest keep_versions, except every version a draft or a recorded conflict needs as its base (those are protected by foreign keys as well). Returns how many were deleted.';

-- file_locks has no foreign keys (see 10_tables.sql): deleting files or sessions
-- deletes their locks here, once per statement.
CREATE FUNCTION concurrent_edit._drop_locks_of_files() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM concurrent_edit.file_locks l USING gone g WHERE l.project_id = g.project_id AND l.file_id = g.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION concurrent_edit._drop_locks_of_files() IS 'Internal trigger: deleted files lose their locks.';
REVOKE ALL ON FUNCTION concurrent_edit._drop_locks_of_files() FROM PUBLIC;
CREATE TRIGGER files_drop_locks AFTER DELETE ON concurrent_edit.files
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION concurrent_edit._drop_locks_of_files();
COMMENT ON TRIGGER files_drop_locks ON concurrent_edit.files IS 'Deletes the locks of deleted files (file_locks has no foreign key).';

CREATE FUNCTION concurrent_edit._drop_locks_of_sessions() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM concurrent_edit.file_locks l USING gone g WHERE l.project_id = g.project_id AND l.session_id = g.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION concurrent_edit._drop_locks_of_sessions() IS 'Internal trigger: deleted sessions lose their locks.';
REVOKE ALL ON FUNCTION concurrent_edit._drop_locks_of_sessions() FROM PUBLIC;
CREATE TRIGGER edit_sessions_drop_locks AFTER DELETE ON concurrent_edit.edit_sessions
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION concurrent_edit._drop_locks_of_sessions();
COMMENT ON TRIGGER edit_sessions_drop_locks ON concurrent_edit.edit_sessions IS 'Deletes the locks of deleted sessions (file_locks has no foreign key).';

-- ---- src/sql/60_ops.sql ----
-- Deterministic ordering and conflict handling for concurrent structural operations
-- of block editors (split, join, convert, ... text edits). Reference:
-- docs/reference/operations.md. Implementation: src/core/ops*.cpp (pure C++ core)
-- and src/pg/ops.cpp (glue). The functions are pure C (no SQL, no SET clause),
-- IMMUTABLE and PARALLEL SAFE. They are not declared STRICT because priorities has
-- DEFAULT NULL (meaning the seed's table); a NULL ops (or policy) still gives NULL,
-- or no rows.

CREATE FUNCTION concurrent_edit.order_operations(ops jsonb, priorities jsonb DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ce_order_operations'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.order_operations(jsonb, jsonb) IS
    'The operations of the JSON array ops, sorted by the order key (blockId bytewise, priority of opCode, timestamp: Lamport integer or vector clock), then replicaId, then the remaining fields: the same order for any permutation and on every node. priorities (object opCode -> integer) overrides or extends the seed''s table (OP_BLOCK_SPLIT 1 ... OP_IMMUTABLE_REWRITE 9); NULL means the table. NULL ops gives NULL. Errors: VC010 (invalid operation), VC011 (dependency cycle), 22023 (mixed timestamp kinds, bad priorities), 54000 (over 1,000,000 operations or concurrent_edit.max_input_size).';

CREATE FUNCTION concurrent_edit.detect_operation_conflicts(ops jsonb, priorities jsonb DEFAULT NULL)
    RETURNS TABLE(conflict_type text, block_id text, first_op jsonb, second_op jsonb, reason text, outcome text)
    AS 'MODULE_PATHNAME', 'ce_detect_operation_conflicts'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION concurrent_edit.detect_operation_conflicts(jsonb, jsonb) IS
    'The conflicts among the operations of ops, in the order resolve_operations(ops, ''fail-closed'') meets them: direct (incompatible operations on one block), cascading (an operation naming a block that a split or join replaced: outcome remapped when it could be moved onto the new block, else rejected) and dependency (an operation that does not come after what it depends on). first_op stands, second_op is rejected or remapped. NULL ops gives no rows. Errors as for order_operations.';

CREATE FUNCTION concurrent_edit.resolve_operations(ops jsonb, policy text DEFAULT 'fail-closed',
                                                   priorities jsonb DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'ce_resolve_operations'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.resolve_operations(jsonb, text, jsonb) IS
    'Resolves concurrent operations: {"policy", "applied": [operations in application order, with mappedBlockId / mappedOffset / mappedTargetBlockId where they were moved], "rejected": [{"op", "reason", "conflict_type", "conflicting_op"}], "mapping": {original block id: [{"block_id", "from", "to", "at"}]}, "blocks": [blocks produced]}. fail-closed (default) rejects the later of two conflicting operations and remaps operations onto split or joined blocks; merge also follows a split by a join and a join by a split. NULL ops or policy gives NULL. Errors as for order_operations, and 22023 for an unknown policy.';

-- ---- src/sql/70_occ.sql ----
-- Optimistic concurrency control for any user table: a C trigger checks the
-- version an UPDATE was based on, and in merge mode three-way merges a stale
-- UPDATE column by column against the version the client read.

CREATE TABLE concurrent_edit.occ_row_versions (
    project_id uuid        NOT NULL,
    relation   text        NOT NULL,
    row_key    jsonb       NOT NULL,
    version    bigint      NOT NULL,
    row_data   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT occ_row_versions_pkey PRIMARY KEY (project_id, relation, row_key, version)
);
COMMENT ON TABLE concurrent_edit.occ_row_versions IS
    'Row images kept by the OCC trigger in merge mode: the base of a stale UPDATE is the image of the version the client read. The newest concurrent_edit.occ_history_versions images of each row are kept.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.project_id IS 'Value of the table''s project column (enable_occ(project_column)), else the nil uuid; distribution key.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.relation IS 'The table, schema-qualified.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.row_key IS 'Primary key of the row (JSON object).';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.version IS 'Value of the version column for this image.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.row_data IS 'to_jsonb() of the row at that version.';
COMMENT ON COLUMN concurrent_edit.occ_row_versions.created_at IS 'When the image was kept.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.occ_row_versions', '');

CREATE FUNCTION concurrent_edit._occ_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ce_occ_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION concurrent_edit._occ_trigger() IS
    'Internal: the BEFORE UPDATE row trigger installed by enable_occ() (its arguments carry the configuration).';

CREATE FUNCTION concurrent_edit._occ_after() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ce_occ_after'
    LANGUAGE C;
COMMENT ON FUNCTION concurrent_edit._occ_after() IS
    'Internal: the AFTER INSERT OR UPDATE row trigger installed by enable_occ(): keeps row images (merge mode) and sends change notifications (notify).';

CREATE FUNCTION concurrent_edit.occ_channel(tbl regclass) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN 'concurrent_edit_occ_' || tbl::oid::text;
COMMENT ON FUNCTION concurrent_edit.occ_channel(regclass) IS
    'NOTIFY channel of a table under optimistic concurrency with notify => true: payload {"table", "key", "version"} (ids only).';

CREATE FUNCTION concurrent_edit._occ_reset(tbl regclass, version_column name, pk text[], project_column name,
                                           keep_images boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Only for tables the logged-in user owns (this runs as the extension owner).
    IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = tbl), 'MEMBER') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM concurrent_edit.occ_row_versions WHERE relation = tbl::text;
    IF keep_images THEN
        -- The current version of every existing row is a possible merge base.
        EXECUTE format(
            'INSERT INTO concurrent_edit.occ_row_versions (project_id, relation, row_key, version, row_data) '
            'SELECT %s, %L, (SELECT jsonb_object_agg(k, to_jsonb(t) -> k) FROM unnest(%L::text[]) k), '
            '       t.%I, to_jsonb(t) FROM %s t WHERE t.%I IS NOT NULL',
            CASE WHEN project_column IS NULL THEN '''00000000-0000-0000-0000-000000000000''::uuid'
                 ELSE format('t.%I::uuid', project_column) END,
            tbl::text, pk, version_column, tbl, version_column);
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit._occ_reset(regclass, name, text[], name, boolean) IS
    'Internal: drops the kept row images of a table and, for merge mode, keeps the current image of every row. Only for the table''s owner.';

CREATE FUNCTION concurrent_edit._occ_drop_triggers(tbl regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t name;
BEGIN
    -- Only the triggers that exist (DROP TRIGGER IF EXISTS would print a NOTICE for the others).
    FOR t IN SELECT tgname FROM pg_trigger
             WHERE tgrelid = tbl AND tgname IN ('concurrent_edit_occ', 'concurrent_edit_occ_after') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t, tbl);
    END LOOP;
END
$$;
COMMENT ON FUNCTION concurrent_edit._occ_drop_triggers(regclass) IS
    'Internal: drops the OCC triggers of a table (those that exist).';

CREATE FUNCTION concurrent_edit.enable_occ(tbl regclass, version_column name DEFAULT 'version',
                                           mode text DEFAULT 'reject', merge_columns name[] DEFAULT NULL,
                                           modified_by_column name DEFAULT NULL,
                                           modified_at_column name DEFAULT NULL,
                                           refuse_blind_writes boolean DEFAULT false, notify boolean DEFAULT false,
                                           project_column name DEFAULT NULL,
                                           array_mode text DEFAULT 'auto')
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    vtype regtype;
    pk text[];
    c name;
    cols text := '';
    kept bigint;
BEGIN
    IF tbl IS NULL OR version_column IS NULL OR mode IS NULL THEN
        RAISE EXCEPTION 'tbl, version_column and mode must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF mode NOT IN ('reject', 'merge', 'strict') THEN
        RAISE EXCEPTION 'unknown optimistic concurrency mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Valid modes: reject, merge, strict (reject, and refuse UPDATEs that do not set the version column).';
    END IF;
    IF mode = 'strict' THEN
        refuse_blind_writes := true;  -- strict = reject + refuse blind writes
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT atttypid::regtype INTO vtype FROM pg_attribute
     WHERE attrelid = tbl AND attname = version_column AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of % does not exist', version_column, tbl USING ERRCODE = 'undefined_column';
    END IF;
    IF vtype NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'version column "%" of % must be smallint, integer or bigint, not %', version_column, tbl, vtype
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    SELECT array_agg(a.attname::text ORDER BY k.ord) INTO pk
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = tbl AND i.indisprimary;
    IF pk IS NULL THEN
        RAISE EXCEPTION '% has no primary key', tbl
            USING ERRCODE = 'invalid_table_definition', HINT = 'The trigger names rows by their primary key (single or composite).';
    END IF;
    FOREACH c IN ARRAY coalesce(merge_columns, '{}') || ARRAY[modified_by_column, modified_at_column, project_column] LOOP
        IF c IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute
                                         WHERE attrelid = tbl AND attname = c AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'column "%" of % does not exist', c, tbl USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    IF modified_at_column IS NOT NULL AND (SELECT atttypid FROM pg_attribute WHERE attrelid = tbl AND attname = modified_at_column)
       NOT IN ('timestamptz'::regtype, 'timestamp'::regtype) THEN
        RAISE EXCEPTION 'column "%" must be timestamptz or timestamp', modified_at_column USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF merge_columns IS NOT NULL AND (version_column = ANY (merge_columns) OR merge_columns && pk::name[]) THEN
        RAISE EXCEPTION 'merge_columns must not include the version column or the primary key' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM concurrent_edit.jsonb_merge3('{}', '{}', '{}', array_mode);  -- validates array_mode
    IF merge_columns IS NOT NULL THEN
        cols := array_to_string(merge_columns, ',');
    END IF;

    PERFORM concurrent_edit._occ_drop_triggers(tbl);
    EXECUTE format('CREATE TRIGGER concurrent_edit_occ BEFORE UPDATE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION concurrent_edit._occ_trigger(%L, %L, %L, %L, %L, %L, %L, %L, %L, %L)',
                   tbl, version_column, mode, coalesce(refuse_blind_writes, false), cols, coalesce(modified_by_column, ''),
                   coalesce(modified_at_column, ''), notify, coalesce(project_column, ''), array_mode,
                   array_to_string(pk, ','));
    IF mode = 'merge' OR notify THEN
        EXECUTE format('CREATE TRIGGER concurrent_edit_occ_after AFTER INSERT OR UPDATE ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION concurrent_edit._occ_after(%L, %L, %L, %L, %L)',
                       tbl, version_column, mode, notify, coalesce(project_column, ''), array_to_string(pk, ','));
    END IF;
    PERFORM concurrent_edit._occ_reset(tbl, version_column, pk, project_column, mode = 'merge');
END
$$;
COMMENT ON FUNCTION concurrent_edit.enable_occ(regclass, name, text, name[], name, name, boolean, boolean, name, text) IS
    'Puts a table under optimistic concurrency: an UPDATE must set the version column to the version it read; current: the version becomes read + 1 and modified-by/at are filled; stale: mode reject raises VC001 (JSON DETAIL: table, key, expected_version, current_version, last_modified_by, last_modified_at), mode merge three-way merges column by column (jsonb key by key, text with merge3) and raises VC001 with the conflicting paths only on a real conflict (recorded in conflict_history). refuse_blind_writes (or mode strict) refuses UPDATEs that do not set the version column (VC009). notify sends ids on occ_channel(tbl). Calling it again reconfigures.';

CREATE FUNCTION concurrent_edit.disable_occ(tbl regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'argument "tbl" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM concurrent_edit._occ_drop_triggers(tbl);
    PERFORM concurrent_edit._occ_reset(tbl, NULL, NULL, NULL, false);
END
$$;
COMMENT ON FUNCTION concurrent_edit.disable_occ(regclass) IS
    'Removes the optimistic concurrency triggers of a table and its kept row images.';

CREATE FUNCTION concurrent_edit.occ_tables()
    RETURNS TABLE (tbl regclass, version_column name, mode text, refuse_blind_writes boolean, merge_columns name[],
                   modified_by_column name, modified_at_column name, notify boolean, project_column name,
                   array_mode text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tgrelid::regclass, a[1]::name, a[2], a[3]::boolean,
           CASE WHEN a[4] = '' THEN NULL ELSE string_to_array(a[4], ',')::name[] END,
           nullif(a[5], '')::name, nullif(a[6], '')::name, a[7]::boolean, nullif(a[8], '')::name, a[9]
    FROM pg_trigger t
    CROSS JOIN LATERAL (SELECT string_to_array(rtrim(encode(t.tgargs, 'escape'), '\000'), '\000') AS a) x
    WHERE t.tgname = 'concurrent_edit_occ' AND t.tgfoid = 'concurrent_edit._occ_trigger'::regproc
    ORDER BY 1::text
$$;
COMMENT ON FUNCTION concurrent_edit.occ_tables() IS 'Tables under optimistic concurrency and their configuration.';

-- ---- src/sql/90_privileges.sql ----
-- Privileges. The data API functions are SECURITY DEFINER and write tables that
-- applications cannot write directly, so every change keeps the invariants
-- (versions, hashes, change feed). They are not executable by PUBLIC: grant them
-- with grant_access(role); administration (forced lock release, cleanup, history
-- pruning) is a separate privilege, granted with grant_admin(role). Pure
-- functions (merge, diff, vector clocks...) stay executable by everyone.

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prosecdef
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

CREATE FUNCTION concurrent_edit._admin_functions() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    RETURN ARRAY['force_release_lock', 'cleanup_expired_locks', 'cleanup_inactive_sessions', 'prune_history',
                 'prune_changes'];
COMMENT ON FUNCTION concurrent_edit._admin_functions() IS 'Internal: names of the administration functions (granted by grant_admin only).';

CREATE FUNCTION concurrent_edit.grant_access(role regrole, read_tables boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f regprocedure;
BEGIN
    IF grant_access.role IS NULL THEN
        RAISE EXCEPTION 'argument "role" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prosecdef
               AND NOT p.proname = ANY (concurrent_edit._admin_functions())
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', f, grant_access.role);
    END LOOP;
    IF grant_access.read_tables THEN
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA concurrent_edit TO %s', grant_access.role);
        -- Row images of tables under OCC are copies of other tables' rows: never granted here.
        EXECUTE format('REVOKE SELECT ON concurrent_edit.occ_row_versions FROM %s', grant_access.role);
    END IF;
END
$$;
COMMENT ON FUNCTION concurrent_edit.grant_access(regrole, boolean) IS
    'Lets a role use the data API (files, writes, conflicts, change feed, sessions, drafts, locks), and with read_tables read the tables directly. Run it as a superuser.';

CREATE FUNCTION concurrent_edit.grant_admin(role regrole) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f regprocedure;
BEGIN
    PERFORM concurrent_edit.grant_access(grant_admin.role, true);
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'concurrent_edit'::regnamespace AND p.prosecdef
               AND p.proname = ANY (concurrent_edit._admin_functions())
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', f, grant_admin.role);
    END LOOP;
END
$$;
COMMENT ON FUNCTION concurrent_edit.grant_admin(regrole) IS
    'grant_access plus the administration functions (force_release_lock, cleanup_*, prune_history, prune_changes). Run it as a superuser.';
REVOKE ALL ON FUNCTION concurrent_edit.grant_access(regrole, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION concurrent_edit.grant_admin(regrole) FROM PUBLIC;

-- enable_occ()/disable_occ() run as the caller (creating triggers needs the table's
-- ownership); the kept row images are written by this definer helper, which checks
-- that ownership itself.
GRANT EXECUTE ON FUNCTION concurrent_edit._occ_reset(regclass, name, text[], name, boolean) TO PUBLIC;
