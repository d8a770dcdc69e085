// The rows of a lock cycle from C (lock_rows.hpp). The functions below named
// *_raw are plain C, run inside pg_call(): what they return is plain data, its
// strings palloc'd in the caller's memory context (the call's SPI context).
#include "pg/lock_rows.hpp"

#include <algorithm>
#include <cstring>

#include "pg/stats.hpp"
#include "pg/tables.hpp"

namespace ce::pg {
namespace {

Oid schema() { return get_namespace_oid("concurrent_edit", false); }

bool is_exclusive(Datum type) {
    text* t = DatumGetTextPP(type);
    return VARSIZE_ANY_EXHDR(t) == 9 && std::memcmp(VARDATA_ANY(t), "exclusive", 9) == 0;
}

// The columns of file_locks, all of them (a row is formed whole).
enum LockCol { L_PROJECT, L_FILE, L_SESSION, L_ID, L_HOLDER, L_TYPE, L_ACQUIRED, L_EXPIRES, kLockCols };
constexpr const char* kLockColumns[kLockCols] = {"project_id", "file_id",   "session_id",  "id",
                                                 "holder",     "lock_type", "acquired_at", "expires_at"};
constexpr Oid kLockTypes[kLockCols] = {UUIDOID, UUIDOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID, TIMESTAMPTZOID,
                                       TIMESTAMPTZOID};

// A new lock id, as gen_random_uuid() makes it (version 4, 122 random bits from
// pg_strong_random), its bytes taken from a pool the backend fills 512 bytes at a
// time: the generator's fixed cost per call was a quarter of an acquisition's
// row work. A forked process (its pid differs) never reuses its parent's pool.
pg_uuid_t new_lock_id() {
    constexpr int kPool = 512;
    static unsigned char pool[kPool];
    static int used = kPool;
    static int owner = 0;
    if (used + UUID_LEN > kPool || owner != MyProcPid) {
        if (!pg_strong_random(pool, kPool))
            ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR), errmsg("could not generate random values")));
        used = 0;
        owner = MyProcPid;
    }
    pg_uuid_t u;
    std::memcpy(u.data, pool + used, UUID_LEN);
    std::memset(pool + used, 0, UUID_LEN);
    used += UUID_LEN;
    u.data[6] = (u.data[6] & 0x0f) | 0x40;  // version 4
    u.data[8] = (u.data[8] & 0x3f) | 0x80;  // RFC 4122 variant
    return u;
}

// The sequence of a column's default when it is nextval('a sequence'), else
// InvalidOid; the default's parse is remembered for the next call.
Oid nextval_default(Relation rel, AttrNumber att) {
    static char* seen = nullptr;
    static Oid seen_seq = InvalidOid;
    TupleConstr* c = RelationGetDescr(rel)->constr;
    const char* bin = nullptr;
    for (int i = 0; c != nullptr && i < c->num_defval; ++i)
        if (c->defval[i].adnum == att) bin = c->defval[i].adbin;
    if (bin == nullptr) return InvalidOid;
    if (seen != nullptr && std::strcmp(seen, bin) == 0) return seen_seq;
    Node* n = static_cast<Node*>(stringToNode(bin));
    Oid seq = InvalidOid;
    if (IsA(n, FuncExpr) && reinterpret_cast<FuncExpr*>(n)->funcid == F_NEXTVAL) {
        List* args = reinterpret_cast<FuncExpr*>(n)->args;
        if (list_length(args) == 1 && IsA(linitial(args), Const) && !static_cast<Const*>(linitial(args))->constisnull)
            seq = DatumGetObjectId(static_cast<Const*>(linitial(args))->constvalue);
    }
    char* copy = MemoryContextStrdup(TopMemoryContext, bin);
    if (seen != nullptr) pfree(seen);
    seen = copy;
    seen_seq = seq;
    return seq;
}

// change_pending_locks opened for one event row, when it is as the extension made
// it (its columns and their types, no CHECK, plain, id from a sequence); else
// rel is nullptr.
struct Pending {
    Relation rel = nullptr;
    Oid seq = InvalidOid;
    int map[kPendingColumnCount];
};

Pending open_pending(Oid nsp) {
    Pending p;
    Oid relid = own_table(nsp, "change_pending_locks", true);
    if (!OidIsValid(relid)) return p;
    Relation rel = table_open(relid, RowExclusiveLock);
    if (pending_table_as_made(rel, p.map)) p.seq = nextval_default(rel, static_cast<AttrNumber>(p.map[P_ID] + 1));
    if (!OidIsValid(p.seq)) {
        table_close(rel, RowExclusiveLock);
        return p;
    }
    p.rel = rel;
    return p;
}

// The event's row, as the lock statements insert it: version and content_hash
// NULL, created_at now(), the id from the table's sequence. Closes the table.
void insert_pending(Pending& p, const char* event, const pg_uuid_t* project, const pg_uuid_t* file, RowText path,
                    const pg_uuid_t* session, const pg_uuid_t* author, const char* details) {
    Datum v[kPendingColumnCount];
    bool n[kPendingColumnCount];
    for (int k = 0; k < kPendingColumnCount; ++k) n[k] = false;
    v[P_PROJECT] = UUIDPGetDatum(project);
    v[P_ID] = Int64GetDatum(nextval_internal(p.seq, true));
    v[P_EVENT] = PointerGetDatum(cstring_to_text(event));
    v[P_FILE] = UUIDPGetDatum(file);
    n[P_PATH] = path.data == nullptr;
    v[P_PATH] = n[P_PATH] ? Datum(0) : PointerGetDatum(cstring_to_text_with_len(path.data, path.len));
    n[P_VERSION] = n[P_HASH] = true;
    v[P_VERSION] = v[P_HASH] = Datum(0);
    v[P_SESSION] = UUIDPGetDatum(session);
    v[P_AUTHOR] = UUIDPGetDatum(author);
    v[P_DETAILS] = DirectFunctionCall1(jsonb_in, CStringGetDatum(details));
    v[P_CREATED] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
    insert_row(p.rel, form_row(p.rel, p.map, v, n, kPendingColumnCount, false));
    table_close(p.rel, NoLock);
    p.rel = nullptr;
}

// file_locks opened for writing, when it is as the extension made it (its
// columns and their types, plain, and for an insert or update `with_checks`, its
// two CHECKs, recognised by their expressions, which take_raw keeps, and the
// defaults of the columns take_raw fills itself); else nullptr.
Relation open_locks(Oid nsp, int* map, bool with_checks) {
    Relation rel = table_open(own_table(nsp, "file_locks"), RowExclusiveLock);
    bool ok = map_columns(rel, kLockColumns, kLockCols, map) && columns_typed(rel, map, kLockTypes, kLockCols) &&
              plain_relation(rel);
    if (ok && with_checks)  // a delete keeps any CHECK
        ok = (checks_are(rel, {}) ||
              checks_are(rel, {{"file_locks_type_check", "(lock_type = ANY (ARRAY['exclusive'::text, 'shared'::text]))"},
                               {"file_locks_expiry_check", "(expires_at > acquired_at)"}})) &&
             default_is(rel, static_cast<AttrNumber>(map[L_ID] + 1), "gen_random_uuid()") &&
             default_is(rel, static_cast<AttrNumber>(map[L_ACQUIRED] + 1), "now()");
    if (!ok) {
        table_close(rel, RowExclusiveLock);
        return nullptr;
    }
    return rel;
}

// file_locks (open_locks) and, `with_pending`, change_pending_locks (open_pending
// into `pending`): file_locks, or nullptr with neither open.
Relation open_lock_tables(Oid nsp, int* map, bool with_checks, bool with_pending, Pending* pending) {
    Relation rel = open_locks(nsp, map, with_checks);
    if (rel == nullptr || !with_pending) return rel;
    *pending = open_pending(nsp);
    if (pending->rel != nullptr) return rel;
    table_close(rel, RowExclusiveLock);
    return nullptr;
}

// The row of (project, file, session) in file_locks visible to `snapshot`, locked
// as an UPDATE or DELETE of READ COMMITTED locks it (waiting for a writer; the
// newest version of a row updated meanwhile), in `slot`. False when there is none
// (or it was deleted meanwhile).
bool lock_own_row(Relation rel, Snapshot snapshot, const pg_uuid_t* project, const pg_uuid_t* file,
                  const pg_uuid_t* session, LockTupleMode mode, TupleTableSlot* slot) {
    ScanKeyData keys[3];
    ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(project));
    ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(file));
    ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(session));
    if (!first_by_key(rel, primary_key_of(rel, {"project_id", "file_id", "session_id"}), snapshot, keys, 3, slot)) return false;
    ItemPointerData tid = slot->tts_tid;
    TM_FailureData failure;
    TM_Result r = table_tuple_lock(rel, &tid, snapshot, slot, GetCurrentCommandId(true), mode, LockWaitBlock,
                                   TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS | TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
                                   &failure);
    return r == TM_Ok;
}

}  // namespace

// Whether another transaction, in progress or committed since the snapshot, has
// updated the row version in `slot` (not deleted it, not only locked it): an
// expired lock being extended (or refreshed).
static bool updated_by_another(TupleTableSlot* slot) {
    bool should_free = false;
    HeapTuple tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);
    HeapTupleHeader h = tuple->t_data;
    bool updated = false;
    if (!(h->t_infomask & HEAP_XMAX_INVALID) && !HEAP_XMAX_IS_LOCKED_ONLY(h->t_infomask) &&
        !ItemPointerEquals(&h->t_ctid, &tuple->t_self)) {
        TransactionId xmax = HeapTupleHeaderGetUpdateXid(h);
        updated = TransactionIdIsValid(xmax) && !TransactionIdIsCurrentTransactionId(xmax) &&
                  (TransactionIdIsInProgress(xmax) || TransactionIdDidCommit(xmax));
    }
    if (should_free) heap_freetuple(tuple);
    return updated;
}

void scan_file_locks(Oid nsp, const pg_uuid_t& project, const pg_uuid_t& file, Snapshot snapshot,
                     void (*each)(void* arg, const FileLockSeen& lock), void* arg) {
    Relation locks = table_open(own_table(nsp, "file_locks"), AccessShareLock);
    TupleTableSlot* slot = table_slot_create(locks, nullptr);
    AttrNumber type_att = column_of(locks, "lock_type"), expires_att = column_of(locks, "expires_at"),
               session_att = column_of(locks, "session_id"), holder_att = column_of(locks, "holder");
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&project));
    ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&file));
    scan_by_key(locks, primary_key_of(locks, {"project_id", "file_id", "session_id"}), snapshot, keys, 2, slot, [&] {
        bool null_type, null_expires, null_session;
        Datum type = attr(slot, type_att, &null_type);
        Datum expires = attr(slot, expires_att, &null_expires);
        Datum session = attr(slot, session_att, &null_session);
        if (null_type || null_expires || null_session) return true;  // NOT NULL columns
        FileLockSeen l;
        l.session_id = uuid_of(session, false);
        l.holder = uuid_at(slot, holder_att);
        l.exclusive = is_exclusive(type);
        l.expires_at = DatumGetTimestampTz(expires);
        l.being_updated = updated_by_another(slot);
        each(arg, l);
        CHECK_FOR_INTERRUPTS();
        return true;
    });
    ExecDropSingleTupleTableSlot(slot);
    table_close(locks, NoLock);
}

namespace {

// ---- acquire_lock's look

struct HolderRaw {
    pg_uuid_t session_id, holder;
    bool exclusive, expired;
    TimestampTz expires_at;
    RowText expires_json;
};
struct LookRaw {
    SessionRow session;
    bool file_found, deleted;
    pg_uuid_t project_id, updated_by;
    int32 head_version;
    RowText normalized_path, head_hash, updated_at_json;
    HolderRaw* holders;
    int n;
};

void look_raw(const pg_uuid_t* file_id, const pg_uuid_t* session_id, bool exclusive, LockLookFor what,
              LookRaw* out) {
    *out = LookRaw{};
    Snapshot snapshot = push_statement_snapshot(true);
    Oid nsp = schema();
    if (what != LockLookFor::file_and_holders) out->session = read_session_row(nsp, *session_id, snapshot);

    Relation files = table_open(own_table(nsp, "files"), AccessShareLock);
    TupleTableSlot* slot = table_slot_create(files, nullptr);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(file_id));
    out->file_found = first_by_key(files, own_index(files, nsp, "files_id_idx", {"id"}), snapshot, &key, 1, slot);
    if (out->file_found) {
        bool isnull;
        Datum d;
        out->project_id = uuid_at(slot, column_of(files, "project_id"));
        d = attr(slot, column_of(files, "head_version"), &isnull);
        out->head_version = isnull ? 0 : DatumGetInt32(d);
        (void)attr(slot, column_of(files, "deleted_at"), &isnull);
        out->deleted = !isnull;
        out->normalized_path = text_at(slot, column_of(files, "normalized_path"));
        out->head_hash = text_at(slot, column_of(files, "head_hash"));
        out->updated_by = uuid_at(slot, column_of(files, "updated_by"));
        d = attr(slot, column_of(files, "updated_at"), &isnull);
        out->updated_at_json = json_time(d, isnull);
    }
    ExecDropSingleTupleTableSlot(slot);
    table_close(files, NoLock);

    if (out->file_found && what != LockLookFor::session_and_file) {
        TimestampTz now = GetCurrentTimestamp();  // clock_timestamp()
        int cap = 0;
        auto each = [&](const FileLockSeen& l) {
            bool expired = l.expires_at <= now;
            bool other = std::memcmp(&l.session_id, session_id, sizeof(pg_uuid_t)) != 0;
            if (!expired && !(other && (exclusive || l.exclusive))) return;
            if (out->n == cap) {
                cap = cap == 0 ? 4 : cap * 2;
                out->holders = static_cast<HolderRaw*>(out->holders == nullptr
                                                           ? palloc(cap * sizeof(HolderRaw))
                                                           : repalloc(out->holders, cap * sizeof(HolderRaw)));
            }
            HolderRaw& h = out->holders[out->n++];
            h.session_id = l.session_id;
            h.holder = l.holder;
            h.exclusive = l.exclusive;
            h.expired = expired;
            h.expires_at = l.expires_at;
            h.expires_json = json_time(TimestampTzGetDatum(l.expires_at), false);
        };
        scan_file_locks(nsp, out->project_id, *file_id, snapshot, each);
    }
    PopActiveSnapshot();
}

// ---- acquire_lock's row

struct TakeRaw {
    bool done;
    pg_uuid_t lock_id;
    TimestampTz acquired_at;
    char* details;
};

void take_raw(const pg_uuid_t* project, const pg_uuid_t* file, const pg_uuid_t* session, const pg_uuid_t* holder,
              TimestampTz expires_at, const char* pending_path, TakeRaw* out) {
    *out = TakeRaw{};
    // READ COMMITTED only: INSERT ... ON CONFLICT of the other levels fails on a
    // row it cannot see, and takes predicate locks.
    if (IsolationUsesXactSnapshot()) return;
    PreventCommandIfReadOnly("INSERT");  // 25006, as the statement
    Oid nsp = schema();
    int map[kLockCols];
    Pending pending;
    Relation rel = open_lock_tables(nsp, map, true, pending_path != nullptr, &pending);
    if (rel == nullptr) return;
    Snapshot snapshot = push_statement_snapshot();
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    const char* type = "exclusive";
    TimestampTz now = GetCurrentTransactionStartTimestamp();  // now(), the default of acquired_at
    Datum v[kLockCols];
    bool n[kLockCols] = {false, false, false, false, false, false, false, false};
    v[L_HOLDER] = UUIDPGetDatum(holder);
    v[L_TYPE] = PointerGetDatum(cstring_to_text(type));
    v[L_EXPIRES] = TimestampTzGetDatum(expires_at);
    if (lock_own_row(rel, snapshot, project, file, session, LockTupleNoKeyExclusive, slot)) {
        // ON CONFLICT DO UPDATE: holder, lock_type and expires_at replaced; the id
        // kept, and acquired_at when the type is the same.
        bool type_null, acquired_null;
        Datum old_type = attr(slot, map[L_TYPE] + 1, &type_null);
        Datum old_acquired = attr(slot, map[L_ACQUIRED] + 1, &acquired_null);
        out->acquired_at =
            !type_null && !acquired_null && is_exclusive(old_type) ? DatumGetTimestampTz(old_acquired) : now;
        out->lock_id = uuid_at(slot, map[L_ID] + 1);
        v[L_ACQUIRED] = TimestampTzGetDatum(out->acquired_at);
        int columns[] = {map[L_HOLDER], map[L_TYPE], map[L_EXPIRES], map[L_ACQUIRED]};
        Datum values[] = {v[L_HOLDER], v[L_TYPE], v[L_EXPIRES], v[L_ACQUIRED]};
        HeapTuple updated = modified_row(rel, slot, columns, values, 4);
        ItemPointerData at = slot->tts_tid;
        if (!(expires_at > out->acquired_at))
            ereport(ERROR, (errcode(ERRCODE_CHECK_VIOLATION),
                            errmsg("new row for relation \"file_locks\" violates check constraint "
                                   "\"file_locks_expiry_check\"")));
        update_row(rel, &at, updated);
    } else {
        out->lock_id = new_lock_id();
        Datum id = UUIDPGetDatum(&out->lock_id);
        out->acquired_at = now;
        v[L_PROJECT] = UUIDPGetDatum(project);
        v[L_FILE] = UUIDPGetDatum(file);
        v[L_SESSION] = UUIDPGetDatum(session);
        v[L_ID] = id;
        v[L_ACQUIRED] = TimestampTzGetDatum(now);
        if (!(expires_at > now))
            ereport(ERROR, (errcode(ERRCODE_CHECK_VIOLATION),
                            errmsg("new row for relation \"file_locks\" violates check constraint "
                                   "\"file_locks_expiry_check\"")));
        insert_row(rel, form_row(rel, map, v, n, kLockCols, false));
    }
    ExecDropSingleTupleTableSlot(slot);
    // The details as jsonb_build_object('lock_id', .., 'lock_type', .., 'expires_at', ..)::text.
    char uuid[UUID_LEN * 2 + 5];
    RowText exp = json_time(TimestampTzGetDatum(expires_at), false);
    std::strcpy(uuid, DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&out->lock_id))));
    out->details = psprintf("{\"lock_id\": \"%s\", \"lock_type\": \"%s\", \"expires_at\": %s}", uuid, type, exp.data);
    if (pending_path != nullptr) {
        RowText path{pending_path, static_cast<int>(std::strlen(pending_path))};
        insert_pending(pending, "lock_acquired", project, file, path, session, holder, out->details);
    }
    PopActiveSnapshot();
    table_close(rel, NoLock);
    out->done = true;
}

// ---- release_lock's delete

struct DropRaw {
    bool done, deleted;
    SessionRow session;
    pg_uuid_t holder;
    RowText path;
    char* details;
};

void drop_raw(const pg_uuid_t* file, const pg_uuid_t* session, bool with_pending, DropRaw* out) {
    *out = DropRaw{};
    if (IsolationUsesXactSnapshot()) return;  // as take_raw
    PreventCommandIfReadOnly("DELETE");
    Oid nsp = schema();
    int map[kLockCols];
    Pending pending;
    Relation rel = open_lock_tables(nsp, map, false, with_pending, &pending);
    if (rel == nullptr) return;
    Snapshot snapshot = push_statement_snapshot();
    out->session = read_session_row(nsp, *session, snapshot);
    pg_uuid_t project = out->session.project_id;
    if (out->session.found) {
        // The file's key (the event's path); no row, no delete (the statement's join).
        Relation files = table_open(own_table(nsp, "files"), AccessShareLock);
        TupleTableSlot* fs = table_slot_create(files, nullptr);
        ScanKeyData keys[2];
        ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&project));
        ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(file));
        bool file_found = first_by_key(files, primary_key_of(files, {"project_id", "id"}), snapshot, keys, 2, fs);
        if (file_found) out->path = text_at(fs, column_of(files, "normalized_path"));
        ExecDropSingleTupleTableSlot(fs);
        table_close(files, NoLock);
        TupleTableSlot* slot = table_slot_create(rel, nullptr);
        if (file_found && lock_own_row(rel, snapshot, &project, file, session, LockTupleExclusive, slot)) {
            pg_uuid_t id = uuid_at(slot, map[L_ID] + 1);
            out->holder = uuid_at(slot, map[L_HOLDER] + 1);
            ItemPointerData at = slot->tts_tid;
            simple_heap_delete(rel, &at);
            out->deleted = true;
            out->details = psprintf("{\"lock_id\": \"%s\"}",
                                    DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&id))));
        }
        ExecDropSingleTupleTableSlot(slot);
    }
    if (with_pending) {
        if (out->deleted)
            insert_pending(pending, "lock_released", &project, file, out->path, session, &out->holder, out->details);
        else
            table_close(pending.rel, RowExclusiveLock);
    }
    PopActiveSnapshot();
    table_close(rel, NoLock);
    out->done = true;
}

// ---- the worker's sweep for expired locks

struct SweepRaw {
    int64 expired;
    bool cut;
    TimestampTz soonest;
    StringInfoData ctids;
};

// Every row version of file_locks a dirty snapshot sees (committed, or written by
// a transaction in progress): the tids of those expired at `now`, as an array's
// text, and the soonest expiry of the others. At `most` expired ones, the scan
// stops at the next (`cut`): the rest of the table is for the next sweep.
void sweep_raw(TimestampTz now, int64 most, SweepRaw* out) {
    out->expired = 0;
    out->cut = false;
    out->soonest = PG_INT64_MAX;
    initStringInfo(&out->ctids);
    appendStringInfoChar(&out->ctids, '{');
    Relation rel = table_open(own_table(schema(), "file_locks"), AccessShareLock);
    AttrNumber expires_att = column_of(rel, "expires_at");
    SnapshotData dirty;
    InitDirtySnapshot(dirty);
    TableScanDesc scan = table_beginscan(rel, &dirty, 0, nullptr);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    for (uint64 n = 1; table_scan_getnextslot(scan, ForwardScanDirection, slot); ++n) {
        if (n % 1024 == 0) CHECK_FOR_INTERRUPTS();
        bool isnull;
        Datum d = slot_getattr(slot, expires_att, &isnull);
        if (isnull) continue;  // a NOT NULL column
        TimestampTz e = DatumGetTimestampTz(d);
        if (e > now) {
            out->soonest = std::min(out->soonest, e);
            continue;
        }
        if (out->expired == most) {
            out->cut = true;
            break;
        }
        appendStringInfo(&out->ctids, "%s\"(%u,%u)\"", out->expired++ == 0 ? "" : ",",
                         ItemPointerGetBlockNumber(&slot->tts_tid), ItemPointerGetOffsetNumber(&slot->tts_tid));
    }
    appendStringInfoChar(&out->ctids, '}');
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    table_close(rel, NoLock);
}

}  // namespace

std::string holders_json(const std::vector<LockInWay>& hs) {
    std::string s = "[";
    for (std::size_t i = 0; i < hs.size(); ++i) {
        if (i) s += ", ";
        s += "{\"session_id\": " + json_uuid(hs[i].session_id) + ", \"holder\": " + json_uuid(hs[i].holder) +
             ", \"lock_type\": \"" + hs[i].lock_type + "\", \"expires_at\": " + hs[i].expires_json + "}";
    }
    return s + "]";
}

void throw_lock_timeout(const pg_uuid_t& file_id, const std::string& type, const std::vector<LockInWay>& holders,
                        HeldUpBy by, int64 wait_us) {
    stats::add(stats::lock_timeouts);
    const char* flag = by == HeldUpBy::acquisition_in_progress ? ", \"acquisition_in_progress\": true"
                       : by == HeldUpBy::exclusive_waiting     ? ", \"exclusive_waiting\": true"
                       : by == HeldUpBy::lock_in_change        ? ", \"lock_in_change\": true"
                       : by == HeldUpBy::write_in_progress     ? ", \"write_in_progress\": true"
                                                               : "";
    const char* hint =
        by == HeldUpBy::acquisition_in_progress ? "Another transaction acquiring a lock on the file did not end within the wait."
        : by == HeldUpBy::lock_in_change
            ? "An expired lock of the file was being extended or released by a transaction that did not end within the "
              "wait."
        : by == HeldUpBy::write_in_progress ? "A write of the file by a transaction that did not end within the wait."
        : by == HeldUpBy::exclusive_waiting
            ? (wait_us > 0 ? "An exclusive request that started waiting before this call still waited at the end of "
                             "the wait: locks are granted in turn."
                           : "An exclusive request is waiting for the file: locks are granted in turn. Pass wait => "
                             "interval to wait for your turn, or retry later.")
        : wait_us > 0 ? "The lock was not released within the wait."
                      : "Pass wait => interval to wait for it, or retry later.";
    throw SqlError(ERRCODE_LOCK_NOT_AVAILABLE, "could not acquire " + type + " lock on file " + uuid_to_string(file_id),
                   "{\"file_id\": " + json_uuid(file_id) + ", \"requested\": \"" + type +
                       "\", \"holders\": " + holders_json(holders) + flag + "}",
                   hint);
}

LockSweep sweep_lock_rows(int64 now, int64 most) {
    SweepRaw raw;
    pg_call([&] { sweep_raw(now, most, &raw); });
    LockSweep s;
    s.expired = raw.expired;
    s.cut = raw.cut;
    s.soonest = raw.soonest;
    s.ctids.assign(raw.ctids.data, raw.ctids.len);
    return s;
}

LockLook look_at_lock(const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool exclusive, LockLookFor what) {
    LookRaw raw;
    pg_call([&] { look_raw(&file_id, &session_id, exclusive, what, &raw); });
    LockLook l;
    l.session = raw.session;
    l.file_found = raw.file_found;
    l.project_id = raw.project_id;
    l.updated_by = raw.updated_by;
    l.head_version = raw.head_version;
    l.deleted = raw.deleted;
    l.normalized_path = row_string(raw.normalized_path);
    l.head_hash = row_string(raw.head_hash);
    l.updated_at_json = row_string(raw.updated_at_json);
    for (int i = 0; i < raw.n; ++i) {
        const HolderRaw& h = raw.holders[i];
        l.in_way.push_back(LockInWay{h.session_id, h.holder, h.exclusive ? "exclusive" : "shared",
                                     row_string(h.expires_json), h.expires_at, h.expired});
    }
    std::stable_sort(l.in_way.begin(), l.in_way.end(),
                     [](const LockInWay& a, const LockInWay& b) { return a.expires_at < b.expires_at; });
    return l;
}

LockTaken take_lock_row(const pg_uuid_t& project_id, const pg_uuid_t& file_id, const pg_uuid_t& session_id,
                        const pg_uuid_t& holder, bool exclusive, int64 expires_at, const std::string* pending_path) {
    LockTaken t;
    // Exclusive requests only: an exclusive request inserts its row holding the
    // file's acquisition lock in exclusive mode, so no other transaction inserts
    // the same key meanwhile. Shared requests of one session in two transactions
    // do not exclude each other, and only ON CONFLICT turns the second insert into
    // an update.
    if (!exclusive) return t;
    TakeRaw raw;
    const char* path = pending_path != nullptr ? pending_path->c_str() : nullptr;
    pg_call([&] { take_raw(&project_id, &file_id, &session_id, &holder, expires_at, path, &raw); });
    if (!raw.done) return t;
    t.done = true;
    t.lock_id = raw.lock_id;
    t.expires_at = expires_at;
    t.acquired_at = raw.acquired_at;
    t.details = raw.details;
    return t;
}

LockDropped drop_lock_row(const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool pending) {
    DropRaw raw;
    pg_call([&] { drop_raw(&file_id, &session_id, pending, &raw); });
    LockDropped d;
    if (!raw.done) return d;
    d.done = true;
    d.session = raw.session;
    d.deleted = raw.deleted;
    d.holder = raw.holder;
    d.path = row_string(raw.path);
    if (raw.details != nullptr) d.details = raw.details;
    return d;
}

}  // namespace ce::pg
