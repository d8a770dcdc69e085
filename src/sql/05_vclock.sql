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
