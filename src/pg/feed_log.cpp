// One local event numbered into change_log from C (feed_sequencer.hpp:
// log_local_event), the common case of sequence_local: the project's feed row
// exists, and change_feeds and change_log are as the extension made them. The
// statement it stands for (the pending check, the feed row taken and advanced, the
// change_log row) took about an eighth of a 1 kB write, a third of that setting
// up its plan. Anything else goes back to the statement (`done` false), before
// anything is changed.
#include <cstring>

#include "pg/feed_sequencer.hpp"
#include "pg/tables.hpp"

namespace ce::pg {
namespace {

// The columns of change_log this path fills, in the order of event_args() after
// project_id and the cursor (and created_at last).
constexpr const char* kLogColumns[] = {"project_id", "cursor",     "event",      "file_id",    "path", "version",
                                       "content_hash", "session_id", "author",  "details", "created_at"};
constexpr int kLogColumnCount = 11;

// Whether `rel` is as this path expects: no trigger, no forced row security, and
// indexes on plain columns only, immediate (each kept here with index_insert).
bool plain_relation(Relation rel) {
    if (rel->trigdesc != nullptr || rel->rd_rel->relforcerowsecurity) return false;
    List* indexes = RelationGetIndexList(rel);
    bool plain = true;
    ListCell* lc;
    foreach (lc, indexes) {
        Relation irel = index_open(lfirst_oid(lc), AccessShareLock);
        Form_pg_index ix = irel->rd_index;
        if (!ix->indimmediate || !heap_attisnull(irel->rd_indextuple, Anum_pg_index_indexprs, nullptr) ||
            !heap_attisnull(irel->rd_indextuple, Anum_pg_index_indpred, nullptr) || ix->indisexclusion)
            plain = false;
        index_close(irel, AccessShareLock);
        if (!plain) break;
    }
    list_free(indexes);
    return plain;
}

// Adds the index entries of the heap tuple in `slot` (a new row, or a new version
// that is not heap-only).
void insert_index_entries(Relation rel, TupleTableSlot* slot) {
    List* indexes = RelationGetIndexList(rel);
    ListCell* lc;
    foreach (lc, indexes) {
        Relation irel = index_open(lfirst_oid(lc), RowExclusiveLock);
        IndexInfo* info = BuildIndexInfo(irel);
        Datum values[INDEX_MAX_KEYS];
        bool isnull[INDEX_MAX_KEYS];
        FormIndexDatum(info, slot, nullptr, values, isnull);
        (void)index_insert(irel, values, isnull, &slot->tts_tid, rel,
                           irel->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
        index_close(irel, RowExclusiveLock);
    }
    list_free(indexes);
}

// Whether any row of `project` waits in the pending table `relid` (its primary key
// starts with project_id).
bool any_pending(Oid relid, const pg_uuid_t& project, Snapshot snapshot) {
    Relation rel = table_open(relid, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&project));
    SysScanDesc scan = systable_beginscan(rel, primary_key_of(rel), true, snapshot, 1, &key);
    bool found = HeapTupleIsValid(systable_getnext(scan));
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return found;
}

// The domain check of a change_log column (event_kind, json_object), compiled
// once per backend and domain.
void check_domain(Datum value, Oid type) {
    static void* extra[2] = {nullptr, nullptr};
    static Oid types[2] = {InvalidOid, InvalidOid};
    if (get_typtype(type) != TYPTYPE_DOMAIN) return;
    int slot = types[0] == type || types[0] == InvalidOid ? 0 : 1;
    if (types[slot] != type) extra[slot] = nullptr;
    types[slot] = type;
    domain_check(value, false, type, &extra[slot], TopMemoryContext);
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
    Relation feeds = table_open(feeds_id, RowExclusiveLock);
    Relation log = table_open(log_id, RowExclusiveLock);
    TupleDesc fdesc = RelationGetDescr(feeds), ldesc = RelationGetDescr(log);
    AttrNumber last_att = InvalidAttrNumber, project_att = InvalidAttrNumber;
    for (int i = 0; i < fdesc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(fdesc, i);
        if (a->attisdropped) continue;
        if (strcmp(NameStr(a->attname), "last_cursor") == 0 && a->atttypid == INT8OID) last_att = a->attnum;
        if (strcmp(NameStr(a->attname), "project_id") == 0 && a->atttypid == UUIDOID) project_att = a->attnum;
    }
    // change_log: exactly the columns above, in any order.
    int map[kLogColumnCount];
    int live = 0;
    bool shaped = last_att != InvalidAttrNumber && project_att == 1;
    for (int i = 0; shaped && i < ldesc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(ldesc, i);
        if (a->attisdropped) continue;
        ++live;
        int k = 0;
        while (k < kLogColumnCount && strcmp(NameStr(a->attname), kLogColumns[k]) != 0) ++k;
        if (k == kLogColumnCount) shaped = false;
        else map[k] = i;
    }
    // Constraints: change_feeds' own CHECK only (last_cursor only grows here, which
    // keeps it true), none on change_log but its domains and NOT NULLs (checked
    // below).
    TupleConstr* fc = fdesc->constr;
    TupleConstr* lc = ldesc->constr;
    bool own_check = fc == nullptr || fc->num_check == 0 ||
                     (fc->num_check == 1 && strcmp(fc->check[0].ccname, "change_feeds_cursor_check") == 0);
    if (!shaped || live != kLogColumnCount || !own_check ||
        (lc != nullptr && lc->num_check > 0) || !plain_relation(feeds) || !plain_relation(log)) {
        table_close(log, RowExclusiveLock);
        table_close(feeds, RowExclusiveLock);
        return out;
    }

    CommandCounterIncrement();
    PushActiveSnapshot(GetTransactionSnapshot());
    UpdateActiveSnapshotCommandId();
    Snapshot snapshot = GetActiveSnapshot();
    const pg_uuid_t* project = DatumGetUUIDP(args[0]);
    bool waiting = (first || !worker) &&
                   (any_pending(pending_id, *project, snapshot) || any_pending(pending_locks_id, *project, snapshot));

    // The feed row: by its key, then locked as FOR UPDATE (SKIP LOCKED with the
    // worker: a busy row sends the events to it).
    TupleTableSlot* slot = table_slot_create(feeds, nullptr);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(project));
    bool found = first_by_key(feeds, primary_key_of(feeds), snapshot, &key, 1, slot);
    ItemPointerData tid = slot->tts_tid;
    TM_Result r = TM_Invisible;
    if (found) {
        TM_FailureData failure;
        r = table_tuple_lock(feeds, &tid, snapshot, slot, GetCurrentCommandId(true), LockTupleExclusive,
                             worker ? LockWaitSkip : LockWaitBlock,
                             TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS | TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &failure);
    }
    if (r == TM_WouldBlock) {
        out.done = true;  // busy: not held
    } else if (r == TM_Ok) {
        out.done = out.held = true;
        out.pending = !worker && waiting;
        if (!(first && waiting)) {
            bool isnull;
            int64 last = DatumGetInt64(slot_getattr(slot, last_att, &isnull));
            if (isnull || last == PG_INT64_MAX)
                ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("bigint out of range")));
            int64 cursor = last + 1;
            // The feed row's new version.
            HeapTuple old = ExecFetchSlotHeapTuple(slot, false, nullptr);
            Datum* values = static_cast<Datum*>(palloc(fdesc->natts * sizeof(Datum)));
            bool* isnulls = static_cast<bool*>(palloc(fdesc->natts * sizeof(bool)));
            bool* replace = static_cast<bool*>(palloc0(fdesc->natts * sizeof(bool)));
            values[last_att - 1] = Int64GetDatum(cursor);
            isnulls[last_att - 1] = false;
            replace[last_att - 1] = true;
            HeapTuple updated = heap_modify_tuple(old, fdesc, values, isnulls, replace);
            ItemPointerData at = slot->tts_tid;
            simple_heap_update(feeds, &at, updated);
            if (!HeapTupleIsHeapOnly(updated)) {
                TupleTableSlot* us = MakeSingleTupleTableSlot(fdesc, &TTSOpsHeapTuple);
                ExecStoreHeapTuple(updated, us, false);
                insert_index_entries(feeds, us);
                ExecDropSingleTupleTableSlot(us);
            }
            // The event's change_log row.
            Datum lv[kLogColumnCount];
            bool ln[kLogColumnCount];
            for (int k = 0; k < kLogColumnCount; ++k) ln[k] = false;
            lv[0] = args[0];
            lv[1] = Int64GetDatum(cursor);
            for (int k = 2; k <= 9; ++k) {  // event_args $2..$9
                lv[k] = args[k - 1];
                ln[k] = nulls[k - 1] == 'n';
            }
            lv[9] = DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(DatumGetTextPP(args[8]))));
            ln[9] = false;
            lv[10] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
            Datum row[kLogColumnCount];
            bool rownull[kLogColumnCount];
            for (int k = 0; k < kLogColumnCount; ++k) {
                Form_pg_attribute a = TupleDescAttr(ldesc, map[k]);
                if (ln[k] && a->attnotnull)
                    ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
                                    errmsg("null value in column \"%s\" of relation \"change_log\" violates not-null "
                                           "constraint", NameStr(a->attname))));
                if (!ln[k]) check_domain(lv[k], a->atttypid);
                row[map[k]] = lv[k];
                rownull[map[k]] = ln[k];
            }
            HeapTuple tuple = heap_form_tuple(ldesc, row, rownull);
            simple_heap_insert(log, tuple);
            TupleTableSlot* ls = MakeSingleTupleTableSlot(ldesc, &TTSOpsHeapTuple);
            ExecStoreHeapTuple(tuple, ls, false);
            ls->tts_tid = tuple->t_self;
            insert_index_entries(log, ls);
            ExecDropSingleTupleTableSlot(ls);
            out.numbered = true;
            out.cursor = cursor;
        }
    } else {
        out.done = false;  // no feed row yet, or it went away: the statement makes it
    }
    ExecDropSingleTupleTableSlot(slot);
    PopActiveSnapshot();
    table_close(log, NoLock);
    table_close(feeds, NoLock);
    return out;
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

}  // namespace ce::pg
