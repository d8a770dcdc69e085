-- The change feed: events of committed changes with a gapless cursor per project,
-- NOTIFY (ids and the cursor only), changes_since and retention
-- (docs/reference/feed.md, src/pg/feed.cpp).

-- The CHECK of change_feeds, one C call (src/pg/feed.cpp): every numbering
-- statement plans its table's CHECK expressions again. Internal: only the
-- extension owner (who runs every write) executes it.
CREATE FUNCTION concurrent_edit._feed_cursors_ok(last_cursor bigint, pruned_through bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_feed_cursors_ok' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit._feed_cursors_ok(bigint, bigint) IS
    'Internal: the CHECK of change_feeds (change_feeds_cursor_check): last_cursor >= 0, pruned_through >= 0, pruned_through <= last_cursor. NULL arguments pass. Not part of the API.';
CREATE TABLE concurrent_edit.change_feeds (
    project_id     uuid   NOT NULL,
    last_cursor    bigint NOT NULL,
    pruned_through bigint NOT NULL DEFAULT 0,
    CONSTRAINT change_feeds_pkey PRIMARY KEY (project_id),
    CONSTRAINT change_feeds_cursor_check CHECK (concurrent_edit._feed_cursors_ok(last_cursor, pruned_through))
);
COMMENT ON TABLE concurrent_edit.change_feeds IS
    'Per-project cursor of the change feed: the last cursor handed out, and the cursor up to which old events were pruned. Its row lock serializes the sequencing of a project.';
COMMENT ON COLUMN concurrent_edit.change_feeds.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_feeds.last_cursor IS 'Cursor of the newest sequenced event of the project.';
COMMENT ON COLUMN concurrent_edit.change_feeds.pruned_through IS 'Events with a cursor up to this one were pruned; changes_since() refuses older cursors.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_feeds', '');
CREATE SEQUENCE concurrent_edit.change_pending_id_seq;
COMMENT ON SEQUENCE concurrent_edit.change_pending_id_seq IS 'Order of pending change events (before they get a cursor).';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending_id_seq', '');
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
    'Events waiting for their cursor: those of REPEATABLE READ, SERIALIZABLE and prepared transactions, of a commit that found its project''s feed row busy, and those after a transaction''s first 1,000 (the others are numbered at commit from the backend''s memory). The sequencer (the background worker, or the on-demand sequencer without it) moves them into change_log with consecutive cursors and sends NOTIFY.';
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
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending', '');
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
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending_locks', '');
-- Pending events that could not be sequenced (a row no API call would write, e.g.
-- inserted by hand): set aside, one by one, so the project's other events and all
-- other projects keep flowing. Logged with a WARNING when set aside.
CREATE TABLE concurrent_edit.change_pending_rejected (
    project_id  uuid        NOT NULL,
    id          bigint      NOT NULL,
    event       jsonb       NOT NULL,
    error       text        NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT change_pending_rejected_pkey PRIMARY KEY (project_id, id)
);
COMMENT ON TABLE concurrent_edit.change_pending_rejected IS
    'Pending change events the sequencer could not move into change_log (their data violated a constraint), set aside with the error so that the feed of their project and of every other project keeps flowing.';
COMMENT ON COLUMN concurrent_edit.change_pending_rejected.project_id IS 'Project of the event; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_pending_rejected.id IS 'Its arrival order in change_pending.';
COMMENT ON COLUMN concurrent_edit.change_pending_rejected.event IS 'The pending row, as JSON.';
COMMENT ON COLUMN concurrent_edit.change_pending_rejected.error IS 'Why it could not be sequenced.';
COMMENT ON COLUMN concurrent_edit.change_pending_rejected.rejected_at IS 'When it was set aside.';
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_pending_rejected', '');

-- The kinds of change events, and an event's details: domains rather than table
-- CHECKs, so their checks are compiled once per backend instead of at every
-- statement that writes change_log (one per event).
CREATE DOMAIN concurrent_edit.event_kind AS text
    CONSTRAINT change_log_event_check CHECK (VALUE IN (
        'created', 'version', 'deleted', 'renamed', 'conflict', 'conflict_resolved', 'conflict_discarded',
        'lock_acquired', 'lock_released', 'lock_expired', 'lock_forced',
        'session_joined', 'session_idle', 'session_left',
        'file_opened', 'file_closed', 'draft_saved', 'draft_discarded'));
COMMENT ON DOMAIN concurrent_edit.event_kind IS
    'The kind of a change event (change_log.event): created, version, deleted, renamed, conflict, conflict_resolved, conflict_discarded, lock_acquired, lock_released, lock_expired, lock_forced, session_joined, session_idle, session_left, file_opened, file_closed, draft_saved, draft_discarded.';
CREATE DOMAIN concurrent_edit.json_object AS jsonb
    CONSTRAINT json_object_check CHECK (pg_catalog.jsonb_typeof(VALUE) = 'object');
COMMENT ON DOMAIN concurrent_edit.json_object IS 'A jsonb value that is an object (change_log.details).';
CREATE TABLE concurrent_edit.change_log (
    project_id   uuid        NOT NULL,
    cursor       bigint      NOT NULL,
    event        concurrent_edit.event_kind NOT NULL,
    file_id      uuid,
    path         text,
    version      integer,
    content_hash text,
    session_id   uuid,
    author       uuid,
    details      concurrent_edit.json_object NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT change_log_pkey PRIMARY KEY (project_id, cursor)
);
COMMENT ON TABLE concurrent_edit.change_log IS
    'Durable change feed: every committed change of a project with a gapless cursor (1, 2, 3...), in the order it was sequenced. The same events are sent with NOTIFY; changes_since() replays them. Ids only, never content.';
COMMENT ON COLUMN concurrent_edit.change_log.project_id IS 'Project; distribution key.';
COMMENT ON COLUMN concurrent_edit.change_log.cursor IS 'Position in the project''s feed: consecutive, never reused.';
COMMENT ON COLUMN concurrent_edit.change_log.event IS 'What happened (created, version, deleted, renamed, conflict, conflict_resolved, conflict_discarded, lock_*, session_*, file_opened/closed, draft_*).';
COMMENT ON COLUMN concurrent_edit.change_log.file_id IS 'File concerned, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.path IS 'Path of the file at the time of the event.';
COMMENT ON COLUMN concurrent_edit.change_log.version IS 'Version written, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.content_hash IS 'content_hash of that version.';
COMMENT ON COLUMN concurrent_edit.change_log.session_id IS 'Session that made the change, if any.';
COMMENT ON COLUMN concurrent_edit.change_log.author IS 'User who made the change, if known.';
COMMENT ON COLUMN concurrent_edit.change_log.details IS 'Further ids of the event (conflict_id, lock_id, old_path...).';
COMMENT ON COLUMN concurrent_edit.change_log.created_at IS 'Time of the transaction that made the change.';
-- No index on created_at: prune_changes finds each project's cut through the
-- primary key (its oldest events first), and an index kept up to date by every
-- event that nothing reads only costs the writers (1.0 had one).
SELECT pg_catalog.pg_extension_config_dump('concurrent_edit.change_log', '');
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
COMMENT ON TYPE concurrent_edit.change_event IS 'An event of the change feed (a row of changes_since()). The NOTIFY payload carries only its event, cursor, project_id and file_id.';
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
CREATE FUNCTION concurrent_edit.channel_name(project_id uuid)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ce_channel_name'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.channel_name(uuid) IS
    'NOTIFY channel of a project: concurrent_edit_<32 hex digits>. LISTEN on it to receive the project''s change events (JSON payload with ids only).';
CREATE FUNCTION concurrent_edit.changes_since(project_id uuid, cursor bigint, max_events integer DEFAULT NULL)
    RETURNS SETOF concurrent_edit.change_event
    AS 'MODULE_PATHNAME', 'ce_changes_since'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.changes_since(uuid, bigint, integer) IS
    'Events of a project after a cursor, in order (the same events NOTIFY sent): a client that was disconnected catches up from the last cursor it saw (0 for all). VC012 if that cursor was pruned.';
CREATE FUNCTION concurrent_edit.feed_position(project_id uuid)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ce_feed_position'
    LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.feed_position(uuid) IS
    'Cursor of the newest sequenced event of a project''s change feed (0 when there is none): where a client that has just read the files it needs continues with changes_since() and LISTEN. Needs read on the project.';
CREATE FUNCTION concurrent_edit.prune_changes(older_than interval DEFAULT '30 days', project_id uuid DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'ce_prune_changes'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.prune_changes(interval, uuid) IS
    'Administrators: deletes change feed events older than older_than (of one project or all) and records up to which cursor the feed was pruned; changes_since() then refuses older cursors with VC012. Returns how many events were deleted.';
