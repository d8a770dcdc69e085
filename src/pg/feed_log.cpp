// Events numbered into change_log from C (feed_sequencer.hpp): one local event
// at commit (log_local_event, the common case of sequence_local), and a
// project's pending events moved by a sequencer (move_pending, the common case
// of sequence_project). Both need the project's feed row, and change_feeds,
// change_log and the pending tables as the extension made them. The statements
// they stand for took about an eighth of a 1 kB write (a third of that setting up
// the plan) and most of the worker's round. Anything else goes back to the
// statement (`done` false), before anything is changed.
#include <cstring>

#include "pg/feed_sequencer.hpp"
#include "pg/tables.hpp"

namespace ce::pg {
namespace {

// Whether any row of `project` waits in the pending table `relid` (its primary key
// starts with project_id).
bool any_pending(Oid relid, const pg_uuid_t& project, Snapshot snapshot) {
    Relation rel = table_open(relid, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&project));
    SysScanDesc scan = systable_beginscan(rel, primary_key_of(rel, {"project_id", "id"}), true, snapshot, 1, &key);
    bool found = HeapTupleIsValid(systable_getnext(scan));
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return found;
}

// change_feeds and change_log opened for writing, when they are as the extension
// made them: change_feeds keyed by project_id with an int8 last_cursor and its
// own CHECK only (last_cursor only grows here, which keeps it true), change_log
// with exactly kLogColumns and no CHECK but its domains and NOT NULLs (checked
// in insert_log_row), both plain.
struct FeedTables {
    Relation feeds = nullptr, log = nullptr;
    AttrNumber last_att = InvalidAttrNumber;
    int map[kPendingColumnCount];  // change_log's attribute index of each of kLogColumns
};

bool open_feed_tables(Oid feeds_id, Oid log_id, FeedTables* t) {
    Relation feeds = table_open(feeds_id, RowExclusiveLock);
    Relation log = table_open(log_id, RowExclusiveLock);
    TupleDesc fdesc = RelationGetDescr(feeds);
    AttrNumber last_att = InvalidAttrNumber, project_att = InvalidAttrNumber, pruned_att = InvalidAttrNumber;
    for (int i = 0; i < fdesc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(fdesc, i);
        if (a->attisdropped) continue;
        if (strcmp(NameStr(a->attname), "last_cursor") == 0 && a->atttypid == INT8OID) last_att = a->attnum;
        if (strcmp(NameStr(a->attname), "project_id") == 0 && a->atttypid == UUIDOID) project_att = a->attnum;
        if (strcmp(NameStr(a->attname), "pruned_through") == 0) pruned_att = a->attnum;
    }
    TupleConstr* fc = fdesc->constr;
    // Its CHECK recognised by the C function it calls; a stored generated column
    // would keep a value computed from the old row (modified_row computes none).
    static CheckSeen feeds_check;
    const int check_args[2] = {last_att - 1, pruned_att - 1};
    bool feeds_as_made = last_att != InvalidAttrNumber && pruned_att != InvalidAttrNumber &&
                         (fc == nullptr || !fc->has_generated_stored) &&
                         (checks_are(feeds, {}) || own_check(feeds, "change_feeds_cursor_check", "ce_feed_cursors_ok",
                                                             check_args, 2, &feeds_check));
    if (!feeds_as_made || project_att != 1 || !map_columns(log, kLogColumns, kPendingColumnCount, t->map) ||
        !columns_typed(log, t->map, kPendingTypes, kPendingColumnCount, true) || !checks_are(log, {}) ||
        !plain_relation(feeds) || !plain_relation(log)) {
        table_close(log, RowExclusiveLock);
        table_close(feeds, RowExclusiveLock);
        return false;
    }
    t->feeds = feeds;
    t->log = log;
    t->last_att = last_att;
    return true;
}

// The change_log row of values `lv` / nulls `ln` in the order of kLogColumns,
// with its columns' NOT NULL and domain checks.
void insert_log_row(FeedTables& t, const Datum* lv, const bool* ln) {
    insert_row(t.log, form_row(t.log, t.map, lv, ln, kPendingColumnCount, true));
}

// The feed row, found by key under `snapshot` and locked as FOR UPDATE (SKIP
// LOCKED with `skip`), in `slot`: TM_Ok, TM_WouldBlock, or anything else when
// there is no row to lock.
TM_Result lock_feed_row_c(FeedTables& t, const pg_uuid_t* project, Snapshot snapshot, bool skip, TupleTableSlot* slot) {
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(project));
    if (!first_by_key(t.feeds, primary_key_of(t.feeds, {"project_id"}), snapshot, &key, 1, slot)) return TM_Invisible;
    ItemPointerData tid = slot->tts_tid;
    TM_FailureData failure;
    return table_tuple_lock(t.feeds, &tid, snapshot, slot, GetCurrentCommandId(true), LockTupleExclusive,
                            skip ? LockWaitSkip : LockWaitBlock,
                            TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS | TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &failure);
}

int64 last_cursor_of(FeedTables& t, TupleTableSlot* slot) {
    bool isnull;
    int64 last = DatumGetInt64(slot_getattr(slot, t.last_att, &isnull));
    if (isnull || last == PG_INT64_MAX)
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("bigint out of range")));
    return last;
}

// The locked feed row in `slot` advanced to `last`.
void advance_feed_row(FeedTables& t, TupleTableSlot* slot, int64 last) {
    int column = t.last_att - 1;
    Datum value = Int64GetDatum(last);
    HeapTuple updated = modified_row(t.feeds, slot, &column, &value, 1);
    ItemPointerData at = slot->tts_tid;
    update_row(t.feeds, &at, updated);
}

void close_feed_tables(FeedTables& t) {
    table_close(t.log, NoLock);
    table_close(t.feeds, NoLock);
}

struct Numbered {
    bool done, held, numbered, pending;
    int64 cursor;
};

Numbered number_event(const Datum* args, const char* nulls, bool first, bool worker) {
    Numbered out{false, false, false, false, 0};
    if (IsolationUsesXactSnapshot()) return out;  // local events are made in READ COMMITTED only
    Oid nsp = get_namespace_oid("concurrent_edit", false);
    Oid feeds_id = own_table(nsp, "change_feeds", true), log_id = own_table(nsp, "change_log", true),
        pending_id = own_table(nsp, "change_pending", true), pending_locks_id = own_table(nsp, "change_pending_locks", true);
    if (!OidIsValid(feeds_id) || !OidIsValid(log_id) || !OidIsValid(pending_id) || !OidIsValid(pending_locks_id))
        return out;  // the statement names what is missing
    FeedTables t;
    if (!open_feed_tables(feeds_id, log_id, &t)) return out;

    Snapshot snapshot = push_statement_snapshot();
    const pg_uuid_t* project = DatumGetUUIDP(args[0]);
    bool waiting = (first || !worker) &&
                   (any_pending(pending_id, *project, snapshot) || any_pending(pending_locks_id, *project, snapshot));

    // The feed row: by its key, then locked as FOR UPDATE (SKIP LOCKED with the
    // worker: a busy row sends the events to it).
    TupleTableSlot* slot = table_slot_create(t.feeds, nullptr);
    TM_Result r = lock_feed_row_c(t, project, snapshot, worker, slot);
    if (r == TM_WouldBlock) {
        out.done = true;  // busy: not held
    } else if (r == TM_Ok) {
        out.done = out.held = true;
        out.pending = !worker && waiting;
        if (!(first && waiting)) {
            int64 cursor = last_cursor_of(t, slot) + 1;
            advance_feed_row(t, slot, cursor);
            // The event's change_log row.
            Datum lv[kPendingColumnCount];
            bool ln[kPendingColumnCount];
            for (int k = 0; k < kPendingColumnCount; ++k) ln[k] = false;
            lv[P_PROJECT] = args[0];
            lv[P_ID] = Int64GetDatum(cursor);
            for (int k = P_EVENT; k <= P_AUTHOR; ++k) {  // event_args $2..$8
                lv[k] = args[k - 1];
                ln[k] = nulls[k - 1] == 'n';
            }
            lv[P_DETAILS] = DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(DatumGetTextPP(args[8]))));
            lv[P_CREATED] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
            insert_log_row(t, lv, ln);
            out.numbered = true;
            out.cursor = cursor;
        }
    } else {
        out.done = false;  // no feed row yet, or it went away: the statement makes it
    }
    ExecDropSingleTupleTableSlot(slot);
    PopActiveSnapshot();
    close_feed_tables(t);
    return out;
}

// The pending tables opened for writing, when they are as the extension made
// them (pending_table_as_made, each column of the type of change_log's column or
// its domain's base); else both nullptr.
struct PendingTables {
    Relation rel[2] = {nullptr, nullptr};
    int map[2][kPendingColumnCount];
};

bool open_pending_tables(const Oid* ids, FeedTables& t, PendingTables* p) {
    TupleDesc ldesc = RelationGetDescr(t.log);
    bool ok = true;
    for (int k = 0; k < 2; ++k) {
        p->rel[k] = table_open(ids[k], RowExclusiveLock);
        TupleDesc desc = RelationGetDescr(p->rel[k]);
        ok = ok && pending_table_as_made(p->rel[k], p->map[k]);
        for (int col = P_EVENT; ok && col < kPendingColumnCount; ++col) {
            Oid theirs = TupleDescAttr(desc, p->map[k][col])->atttypid;
            Oid log_type = TupleDescAttr(ldesc, t.map[col])->atttypid;
            ok = theirs == log_type || theirs == getBaseType(log_type);
        }
    }
    if (!ok) {
        for (Relation rel : p->rel) table_close(rel, RowExclusiveLock);
        p->rel[0] = p->rel[1] = nullptr;
    }
    return ok;
}

// One pending table's rows of a project in id order (its primary key), under
// the statement's snapshot.
struct PendingScan {
    Relation rel = nullptr, index = nullptr;
    IndexScanDesc scan = nullptr;
    TupleTableSlot* slot = nullptr;
    bool have = false;
    int64 id = 0;
    AttrNumber id_att = InvalidAttrNumber;

    void next() {
        have = index_getnext_slot(scan, ForwardScanDirection, slot);
        if (have) {
            bool isnull;
            id = DatumGetInt64(slot_getattr(slot, id_att, &isnull));
        }
    }
};

struct MovedRaw {
    bool done, taken;
    int n;
    int64* cursors;
    char** events;
    pg_uuid_t* files;
};

// The statement of sequence_project from C: the feed row locked (SKIP LOCKED with
// `skip_locked`), then the project's pending events of both tables (at most
// `limit`, the oldest, when limit > 0) merged in id order, each deleted and
// inserted into change_log numbered after the row's last cursor, and the row
// advanced. The snapshot is taken before the row is locked, as the statement
// takes it.
void move_pending_raw(const pg_uuid_t* project, int64 limit, bool skip_locked, MovedRaw* out) {
    *out = MovedRaw{};
    if (IsolationUsesXactSnapshot()) return;
    Oid nsp = get_namespace_oid("concurrent_edit", false);
    Oid feeds_id = own_table(nsp, "change_feeds", true), log_id = own_table(nsp, "change_log", true);
    Oid pending_ids[2] = {own_table(nsp, "change_pending", true), own_table(nsp, "change_pending_locks", true)};
    if (!OidIsValid(feeds_id) || !OidIsValid(log_id) || !OidIsValid(pending_ids[0]) || !OidIsValid(pending_ids[1]))
        return;
    FeedTables t;
    if (!open_feed_tables(feeds_id, log_id, &t)) return;
    PendingTables p;
    if (!open_pending_tables(pending_ids, t, &p)) {
        table_close(t.log, RowExclusiveLock);
        table_close(t.feeds, RowExclusiveLock);
        return;
    }
    out->done = true;
    Snapshot snapshot = push_statement_snapshot();
    TupleTableSlot* slot = table_slot_create(t.feeds, nullptr);
    if (lock_feed_row_c(t, project, snapshot, skip_locked, slot) == TM_Ok) {
        out->taken = true;
        int64 last = last_cursor_of(t, slot);
        ScanKeyData key;
        ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(project));
        PendingScan scans[2];
        for (int k = 0; k < 2; ++k) {
            PendingScan& s = scans[k];
            s.rel = p.rel[k];
            s.index = index_open(primary_key_of(s.rel, {"project_id", "id"}), AccessShareLock);
            s.scan = index_beginscan(s.rel, s.index, snapshot, 1, 0);
            index_rescan(s.scan, &key, 1, nullptr, 0);
            s.slot = table_slot_create(s.rel, nullptr);
            s.id_att = static_cast<AttrNumber>(p.map[k][P_ID] + 1);
            s.next();
        }
        int cap = 0;
        while ((scans[0].have || scans[1].have) && (limit <= 0 || out->n < limit)) {
            CHECK_FOR_INTERRUPTS();
            int k = !scans[1].have ? 0 : !scans[0].have ? 1 : (scans[0].id <= scans[1].id ? 0 : 1);
            PendingScan& s = scans[k];
            // Deleted first, as the statement's DELETE: an event a committing
            // writer moved after this snapshot was taken (it held the feed row
            // then) is gone, and skipped without using a cursor.
            ItemPointerData tid = s.slot->tts_tid;
            TM_FailureData failure;
            if (heap_delete(s.rel, &tid, GetCurrentCommandId(true), InvalidSnapshot, true, &failure, false) != TM_Ok) {
                s.next();
                continue;
            }
            int64 cursor = last + out->n + 1;
            Datum lv[kPendingColumnCount];
            bool ln[kPendingColumnCount];
            lv[P_PROJECT] = UUIDPGetDatum(project);
            ln[P_PROJECT] = false;
            lv[P_ID] = Int64GetDatum(cursor);
            ln[P_ID] = false;
            for (int col = P_EVENT; col < kPendingColumnCount; ++col)  // the slot's tuple: its data stays as it was
                lv[col] = slot_getattr(s.slot, static_cast<AttrNumber>(p.map[k][col] + 1), &ln[col]);
            insert_log_row(t, lv, ln);
            if (out->n == cap) {
                cap = cap == 0 ? 16 : cap * 2;
                out->cursors = static_cast<int64*>(out->cursors == nullptr ? palloc(cap * sizeof(int64))
                                                                           : repalloc(out->cursors, cap * sizeof(int64)));
                out->events = static_cast<char**>(out->events == nullptr ? palloc(cap * sizeof(char*))
                                                                         : repalloc(out->events, cap * sizeof(char*)));
                out->files = static_cast<pg_uuid_t*>(out->files == nullptr ? palloc(cap * sizeof(pg_uuid_t))
                                                                           : repalloc(out->files, cap * sizeof(pg_uuid_t)));
            }
            out->cursors[out->n] = cursor;
            out->events[out->n] = ln[P_EVENT] ? pstrdup("") : TextDatumGetCString(lv[P_EVENT]);
            out->files[out->n] = uuid_of(lv[P_FILE], ln[P_FILE]);
            ++out->n;
            s.next();
        }
        for (PendingScan& s : scans) {
            index_endscan(s.scan);
            index_close(s.index, AccessShareLock);
            ExecDropSingleTupleTableSlot(s.slot);
        }
        if (out->n > 0) advance_feed_row(t, slot, last + out->n);
    }
    ExecDropSingleTupleTableSlot(slot);
    PopActiveSnapshot();
    for (Relation rel : p.rel) table_close(rel, NoLock);
    close_feed_tables(t);
}

}  // namespace

LocalTaken log_local_event(const ChangeEvent& e, bool first, bool worker) {
    std::vector<Datum> args = event_args(e);
    std::string nulls = event_nulls(e);
    const Datum* a = args.data();
    const char* n = nulls.c_str();
    Numbered r = pg_call([a, n, first, worker] { return number_event(a, n, first, worker); });
    return LocalTaken{r.done, r.numbered, r.held, r.pending, r.cursor};
}

MovedPending move_pending(const pg_uuid_t& project, int64 limit, bool skip_locked) {
    MovedRaw raw;
    pg_call([&] { move_pending_raw(&project, limit, skip_locked, &raw); });
    MovedPending m;
    m.done = raw.done;
    m.taken = raw.taken;
    for (int i = 0; i < raw.n; ++i) m.events.push_back(MovedEvent{raw.cursors[i], raw.events[i], raw.files[i]});
    return m;
}

}  // namespace ce::pg
