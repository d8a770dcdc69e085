#include "pg/file_head.hpp"

#include <limits>
#include <unordered_map>

#include "concurrent_edit/error.hpp"
#include "pg/advisory.hpp"
#include "pg/feed.hpp"
#include "pg/lock_rows.hpp"
#include "pg/paths.hpp"
#include "pg/tables.hpp"

namespace ce::pg {
namespace {

int files_locked_in_xact = 0;

LOCKTAG file_write_tag(const pg_uuid_t& file_id) { return uuid_lock_tag(file_id, LockClass::file_write); }

// Wait-die: a transaction that already holds other files' write locks does not
// wait for an older one (which may wait for it), it is refused.
[[noreturn]] void throw_older_writer(const pg_uuid_t& file_id) {
    throw SqlError(ERRCODE_T_R_SERIALIZATION_FAILURE,
                   "could not serialize access: file " + uuid_to_string(file_id) +
                       " is being written by an older transaction",
                   "{\"file_id\": " + json_uuid(file_id) + "}",
                   "This transaction already writes other files; waiting could deadlock. "
                   "Roll back and retry the transaction.");
}

// True when a holder of `tag` is an older transaction than ours.
bool older_transaction_holds(const LOCKTAG& tag) {
    TransactionId mine = GetTopTransactionIdIfAny();
    if (!TransactionIdIsValid(mine)) return false;
    int n = 0;
    VirtualTransactionId* vxids = GetLockConflicts(&tag, ExclusiveLock, &n);
    for (int i = 0; i < n && VirtualTransactionIdIsValid(vxids[i]); ++i) {
        PGPROC* proc = BackendIdGetProc(vxids[i].backendId);
        if (proc == nullptr) continue;
        TransactionId theirs = proc->xid;
        if (TransactionIdIsValid(theirs) && TransactionIdPrecedes(theirs, mine)) return true;
    }
    return false;
}

void take_file_write_lock(const pg_uuid_t& file_id) {
    LOCKTAG tag = file_write_tag(file_id);
    bool die = pg_call([&tag] {
        if (LockHeldByMe(&tag, ExclusiveLock)) return false;
        if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL) return false;
        if (files_locked_in_xact > 0 && older_transaction_holds(tag)) return true;
        (void)LockAcquire(&tag, ExclusiveLock, false, false);
        return false;
    });
    if (die) throw_older_writer(file_id);
    ++files_locked_in_xact;
}

// A rolled-back subtransaction (ROLLBACK TO SAVEPOINT, an exception block,
// preview_write, write_many without its writes) released the file locks it took:
// the count goes back to what it was when the subtransaction started. Plain C
// (no allocation): a fixed stack; deeper nesting keeps the higher count, which only
// makes wait-die stricter.
constexpr int kSubxactDepth = 64;
struct {
    SubTransactionId id;
    int count;
} subxact_counts[kSubxactDepth];
int subxact_depth = 0;

// The project of each file seen (project_of_file). A file never moves to another
// project; what a rolled-back (sub)transaction saw is forgotten, since the file may
// not exist and its id may later be created in another project.
struct UuidHash {
    std::size_t operator()(const pg_uuid_t& u) const {
        uint32 h = 2166136261u;
        for (unsigned char b : u.data) h = (h ^ b) * 16777619u;
        return h;
    }
};
struct UuidEq {
    bool operator()(const pg_uuid_t& a, const pg_uuid_t& b) const { return uuid_eq(a, b); }
};
std::unordered_map<pg_uuid_t, pg_uuid_t, UuidHash, UuidEq>* file_projects = nullptr;

void forget_file_projects() noexcept {
    if (file_projects != nullptr) file_projects->clear();
}

void files_xact_callback(XactEvent event, void*) {
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
        event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) {
        files_locked_in_xact = 0;
        subxact_depth = 0;
    }
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) forget_file_projects();
}


void files_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId, void*) {
    if (event == SUBXACT_EVENT_START_SUB) {
        if (subxact_depth < kSubxactDepth) subxact_counts[subxact_depth] = {mySubid, files_locked_in_xact};
        ++subxact_depth;
    } else if (event == SUBXACT_EVENT_COMMIT_SUB || event == SUBXACT_EVENT_ABORT_SUB) {
        if (event == SUBXACT_EVENT_ABORT_SUB) forget_file_projects();
        if (subxact_depth == 0) return;
        --subxact_depth;
        if (event == SUBXACT_EVENT_ABORT_SUB && subxact_depth < kSubxactDepth &&
            subxact_counts[subxact_depth].id == mySubid)
            files_locked_in_xact = subxact_counts[subxact_depth].count;
    }
}

#define CE_FILE_COLUMNS                                                                             \
    "f.project_id, f.head_version, f.head_hash, f.deleted_at IS NOT NULL, f.updated_by, "          \
    "to_json(f.updated_at)::text, f.path, f.normalized_path, f.updated_at, "                        \
    "coalesce(f.head_clock::text, '{}'), f.deleted_by, f.renamed_at_version"

// A file's row by id, read-only (the calling statement's snapshot); when it is not
// there, again with the latest snapshot: a call that waited (for a file, a session
// row) before looking must see a file committed meanwhile, not answer VC007.
Rows latest_if_missing(Statement& q, Spi& spi, const pg_uuid_t& file_id) {
    Rows r = q.run(spi, {uuid_datum(file_id)}, {}, true);
    if (r.empty()) r = q.run_latest(spi, {uuid_datum(file_id)}, {}, true);
    if (r.empty()) throw_file_not_found(file_id);
    return r;
}

FileHead head_from(const Rows& r, const pg_uuid_t& file_id) {
    FileHead h;
    h.id = file_id;
    h.project_id = r.uuid(0, 0);
    h.head_version = r.int4(0, 1);
    h.head_hash = r.text(0, 2);
    h.deleted = r.boolean(0, 3);
    h.updated_by = r.uuid(0, 4);
    h.updated_at_json = r.text(0, 5);
    h.path = r.text(0, 6);
    h.normalized_path = r.text(0, 7);
    h.updated_at = r.int8(0, 8);
    h.head_clock = r.text(0, 9);
    h.deleted_by = r.uuid(0, 10);
    if (!r.isnull(0, 11)) h.renamed_at_version = r.int4(0, 11);
    return h;
}

// The file row locked for writing, read from C: the statement that did it (the
// row FOR NO KEY UPDATE, with the other session's exclusive lock and the head's
// chain depth in subqueries) took about an eighth of a 1 kB write, half of it
// setting up its plan. Plain C, run inside pg_call(); every string is palloc'd
// in the caller's memory context (the call's SPI context).
struct LockedRow {
    pg_uuid_t project_id, updated_by, deleted_by, lock_session, lock_holder;
    int32 head_version, renamed_at_version, head_depth;
    bool deleted, has_renamed_at, locked_by_other;
    TimestampTz updated_at;
    RowText head_hash, path, normalized_path, head_clock, updated_at_json, head_text, lock_expires_json;
};

// Locks the row of `file_id` as SELECT ... FOR NO KEY UPDATE does (waiting for a
// writer; in READ COMMITTED the newest version of a row updated meanwhile, in
// REPEATABLE READ and SERIALIZABLE 40001) and reads it, with the newest unexpired
// exclusive lock of another session than `session_id` and, with `with_head_text`,
// the head's text and the depth of its delta chain. nullptr when there is no
// such file. The snapshot is taken as for a statement.
const LockedRow* lock_file_row(const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool with_head_text) {
    PreventCommandIfReadOnly("SELECT FOR NO KEY UPDATE");  // 25006, as the statement got (a standby too)
    Snapshot snapshot = push_statement_snapshot();  // this call's earlier statements seen
    Oid nsp = get_namespace_oid("concurrent_edit", false);
    Relation files = table_open(own_table(nsp, "files"), RowShareLock);
    TupleTableSlot* slot = table_slot_create(files, nullptr);

    // The row by id (files_id_idx), then its lock.
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&file_id));
    bool found = first_by_key(files, own_index(files, nsp, "files_id_idx", {"id"}), snapshot, &key, 1, slot);
    ItemPointerData tid = slot->tts_tid;
    if (found) {
        TM_FailureData failure;
        bool xact_snapshot = IsolationUsesXactSnapshot();
        TM_Result r = table_tuple_lock(files, &tid, snapshot, slot, GetCurrentCommandId(true),
                                       LockTupleNoKeyExclusive, LockWaitBlock,
                                       TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS |
                                           (xact_snapshot ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION),
                                       &failure);
        switch (r) {
            case TM_Ok:
                break;
            case TM_Updated:
            case TM_Deleted:
                if (xact_snapshot) {
                    const char* id = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&file_id)));
                    ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                                    errmsg("could not serialize access due to concurrent update"),
                                    errdetail("{\"file_id\": \"%s\"}", id),
                                    errhint("The file changed after this transaction's snapshot was taken. "
                                            "Roll back and retry the transaction.")));
                }
                found = false;  // deleted meanwhile (READ COMMITTED)
                break;
            default:  // TM_SelfModified, TM_Invisible: not a row this statement can lock
                found = false;
                break;
        }
    }
    LockedRow* row = nullptr;
    if (found) {
        row = static_cast<LockedRow*>(palloc0(sizeof(LockedRow)));
        bool isnull;
        Datum d;
        d = attr(slot, column_of(files, "project_id"), &isnull);
        row->project_id = uuid_of(d, isnull);
        row->head_version = DatumGetInt32(attr(slot, column_of(files, "head_version"), &isnull));
        d = attr(slot, column_of(files, "head_hash"), &isnull);
        row->head_hash = text_of(d, isnull);
        (void)attr(slot, column_of(files, "deleted_at"), &isnull);
        row->deleted = !isnull;
        d = attr(slot, column_of(files, "updated_by"), &isnull);
        row->updated_by = uuid_of(d, isnull);
        d = attr(slot, column_of(files, "updated_at"), &isnull);
        row->updated_at = isnull ? 0 : DatumGetTimestampTz(d);
        row->updated_at_json = json_time(d, isnull);
        d = attr(slot, column_of(files, "path"), &isnull);
        row->path = text_of(d, isnull);
        d = attr(slot, column_of(files, "normalized_path"), &isnull);
        row->normalized_path = text_of(d, isnull);
        AttrNumber clock = column_of(files, "head_clock");
        d = attr(slot, clock, &isnull);
        if (!isnull) {  // as head_clock::text: the type's output function
            Oid out;
            bool varlena;
            getTypeOutputInfo(TupleDescAttr(RelationGetDescr(files), clock - 1)->atttypid, &out, &varlena);
            char* text = OidOutputFunctionCall(out, d);
            row->head_clock.data = text;
            row->head_clock.len = static_cast<int>(strlen(text));
        }
        d = attr(slot, column_of(files, "deleted_by"), &isnull);
        row->deleted_by = uuid_of(d, isnull);
        d = attr(slot, column_of(files, "renamed_at_version"), &isnull);
        row->has_renamed_at = !isnull;
        row->renamed_at_version = isnull ? 0 : DatumGetInt32(d);
        row->head_depth = -1;
        if (with_head_text) {
            d = attr(slot, column_of(files, "head_content"), &isnull);
            row->head_text = text_of(d, isnull);
        }
    }
    ExecDropSingleTupleTableSlot(slot);
    table_close(files, NoLock);  // the row lock's table lock is kept to the end of the transaction

    if (row != nullptr) {
        // The newest unexpired exclusive lock of another session (or an expired
        // one that a transaction in progress is extending: it counts as held,
        // or a write could commit under the extended lock).
        TimestampTz now = GetCurrentTimestamp(), newest = 0;
        auto each = [&](const FileLockSeen& l) {
            bool other = std::memcmp(&l.session_id, &session_id, sizeof(pg_uuid_t)) != 0;
            bool held = l.expires_at > now || l.being_updated;
            if (l.exclusive && held && other && (!row->locked_by_other || l.expires_at > newest)) {
                row->locked_by_other = true;
                newest = l.expires_at;
                row->lock_session = l.session_id;
                row->lock_holder = l.holder;
                row->lock_expires_json = json_time(TimestampTzGetDatum(l.expires_at), false);
            }
        };
        // Lock rows are leases: read as they are now (the latest snapshot), as
        // acquire_lock reads them, whatever the isolation level (a REPEATABLE READ
        // writer ignored an exclusive lock committed after its snapshot).
        Snapshot latest = RegisterSnapshot(GetLatestSnapshot());
        scan_file_locks(nsp, row->project_id, file_id, latest, each);
        UnregisterSnapshot(latest);

        if (with_head_text && row->head_text.data != nullptr) {  // the head version's chain depth
            Relation versions = table_open(own_table(nsp, "file_versions"), AccessShareLock);
            TupleTableSlot* vs = table_slot_create(versions, nullptr);
            AttrNumber depth_att = column_of(versions, "depth");
            ScanKeyData vkeys[3];
            ScanKeyInit(&vkeys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&row->project_id));
            ScanKeyInit(&vkeys[1], 2, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&file_id));
            ScanKeyInit(&vkeys[2], 3, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(row->head_version));
            scan_by_key(versions, primary_key_of(versions, {"project_id", "file_id", "version"}), snapshot, vkeys, 3, vs, [&] {
                bool null_depth;
                Datum depth = attr(vs, depth_att, &null_depth);
                if (!null_depth) row->head_depth = DatumGetInt32(depth);
                return false;
            });
            ExecDropSingleTupleTableSlot(vs);
            table_close(versions, AccessShareLock);
        }
    }
    PopActiveSnapshot();
    return row;
}

}  // namespace

void register_file_head_callbacks() {
    RegisterXactCallback(files_xact_callback, nullptr);
    RegisterSubXactCallback(files_subxact_callback, nullptr);
}

void refuse_if_older_writer(const pg_uuid_t& file_id) {
    LOCKTAG tag = file_write_tag(file_id);
    bool die = pg_call([&tag] {
        if (files_locked_in_xact == 0 || LockHeldByMe(&tag, ExclusiveLock)) return false;
        if (lock_is_free(tag, ShareLock)) return false;
        return older_transaction_holds(tag);
    });
    if (die) throw_older_writer(file_id);
}

FileHead lock_file(Spi& spi, const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool with_head_text) {
    (void)spi;  // the row is read from C (lock_file_row), in the owner's context of the call
    take_file_write_lock(file_id);
    // The row is read into a context of its own, deleted once its strings are
    // copied: in the call's SPI context, the head's detoasted text stayed to the
    // end of the call, once per lock_file() (write_many: 100 writes of a 4 MB file
    // kept 400 MB). After an error the context goes with the call's.
    MemoryContext memory = own_context("concurrent_edit file row", true);
    const LockedRow* row =
        run_in(memory, [&file_id, &session_id, with_head_text] { return lock_file_row(file_id, session_id, with_head_text); });
    if (row == nullptr) {
        drop_context(memory);
        throw_file_not_found(file_id);
    }
    FileHead h;
    h.id = file_id;
    h.project_id = row->project_id;
    h.head_version = row->head_version;
    h.head_hash = row_string(row->head_hash);
    h.deleted = row->deleted;
    h.updated_by = row->updated_by;
    h.updated_at_json = row_string(row->updated_at_json);
    h.path = row_string(row->path);
    h.normalized_path = row_string(row->normalized_path);
    h.updated_at = row->updated_at;
    h.head_clock = row->head_clock.data == nullptr ? std::string("{}") : row_string(row->head_clock);
    h.deleted_by = row->deleted_by;
    if (row->has_renamed_at) h.renamed_at_version = row->renamed_at_version;
    h.locked_by_other = row->locked_by_other;
    if (h.locked_by_other) {
        h.lock_session = row->lock_session;
        h.lock_holder = row->lock_holder;
        h.lock_expires_json = row_string(row->lock_expires_json);
    }
    if (with_head_text && row->head_text.data != nullptr && row->head_depth >= 0) {
        h.head_text = row_string(row->head_text);
        h.head_depth = row->head_depth;
    }
    drop_context(memory);
    return h;
}

pg_uuid_t project_of_file(Spi& spi, const pg_uuid_t& file_id) {
    // Kept (bounded, dropped whole when full; forgotten on a rollback). A file
    // purged and its id reused elsewhere is caught by the caller, which compares
    // with the project of the row it locked.
    if (file_projects == nullptr) file_projects = new std::unordered_map<pg_uuid_t, pg_uuid_t, UuidHash, UuidEq>();
    auto* known = file_projects;
    auto it = known->find(file_id);
    if (it != known->end()) return it->second;
    static Statement q("SELECT f.project_id FROM concurrent_edit.files f WHERE f.id = $1", {UUIDOID}, Scans::by_key);
    Rows r = latest_if_missing(q, spi, file_id);
    pg_uuid_t project = r.uuid(0, 0);
    if (known->size() >= 4096) known->clear();
    known->emplace(file_id, project);
    return project;
}

FileHead find_file(Spi& spi, const pg_uuid_t& file_id) {
    static Statement q("SELECT " CE_FILE_COLUMNS " FROM concurrent_edit.files f WHERE f.id = $1", {UUIDOID},
                       Scans::by_key);
    Rows r = latest_if_missing(q, spi, file_id);
    return head_from(r, file_id);
}

void throw_file_not_found(const pg_uuid_t& file_id) {
    throw SqlError(CE_ERRCODE_FILE_NOT_FOUND, "file " + uuid_to_string(file_id) + " does not exist",
                   "{\"file_id\": \"" + uuid_to_string(file_id) + "\"}");
}

std::string head_detail(const FileHead& h, std::optional<int32> expected_version,
                        const std::optional<std::string>& expected_hash) {
    std::string d = "{\"file_id\": " + json_uuid(h.id);
    d += ", \"expected_version\": " + (expected_version ? std::to_string(*expected_version) : "null");
    if (expected_hash) {
        d += ", \"expected_hash\": ";
        append_json_string(d, expected_hash->substr(0, 256));
    }
    d += ", \"current_version\": " + std::to_string(h.head_version);
    d += ", \"current_hash\": \"" + h.head_hash + "\"";
    d += ", \"last_modified_by\": " + json_uuid(h.updated_by);
    d += ", \"last_modified_at\": " + (h.updated_at_json.empty() ? "null" : h.updated_at_json);
    d += "}";
    return d;
}

void throw_file_locked(const FileHead& h, const char* hint) {
    throw SqlError(CE_ERRCODE_FILE_LOCKED, "file " + uuid_to_string(h.id) + " is locked exclusively by another session",
                   "{\"file_id\": " + json_uuid(h.id) + ", \"lock_session_id\": " + json_uuid(h.lock_session) +
                       ", \"holder\": " + json_uuid(h.lock_holder) + ", \"expires_at\": " + h.lock_expires_json + "}",
                   hint ? hint : "");
}

void lock_project_paths(const pg_uuid_t& project_id, bool exclusive) {
    LOCKTAG tag = uuid_lock_tag(project_id, LockClass::project_paths);
    LOCKMODE mode = exclusive ? ExclusiveLock : ShareLock;
    pg_call([&tag, mode] { (void)LockAcquire(&tag, mode, false, false); });
}

std::string claim_path(Spi& spi, const pg_uuid_t& project_id, const std::string& path, const pg_uuid_t& except_file) {
    std::string normalized = path_key(path, project_path_options(spi, project_id));
    LOCKTAG tag;
    std::string keyed(reinterpret_cast<const char*>(project_id.data), UUID_LEN);
    keyed += normalized;
    uint32 f2, f3;
    keyed_fields(keyed.data(), keyed.size(), &f2, &f3);
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, f2, f3, static_cast<uint16>(LockClass::path));
    pg_call([&tag] { (void)LockAcquire(&tag, ExclusiveLock, false, false); });
    // Latest snapshot: a creator that waited for the lock sees the file the
    // holder committed, whatever the isolation level.
    static Statement q(
        "SELECT f.id, f.path FROM concurrent_edit.files f WHERE f.project_id = $1 AND f.normalized_path = $2 "
        "AND f.deleted_at IS NULL AND f.id IS DISTINCT FROM $3",
        {UUIDOID, TEXTOID, UUIDOID});
    Rows r = q.run_latest(spi, {uuid_datum(project_id), text_datum(normalized), uuid_datum(except_file)},
                          uuid_is_null(except_file) ? "  n" : "");
    if (r.empty()) return normalized;
    pg_uuid_t existing = r.uuid(0, 0);
    throw SqlError(CE_ERRCODE_PATH_CONFLICT, "a live file already exists at path \"" + ce::excerpt(normalized) + "\"",
                   ce::Detail()
                       .add("project_id", uuid_to_string(project_id))
                       .add("path", path, ce::kMaxPathBytes)
                       .add("normalized_path", normalized, ce::kMaxPathBytes)
                       .add("existing_file_id", uuid_to_string(existing))
                       .add("existing_path", r.text(0, 1), ce::kMaxPathBytes),
                   "Choose another path, or delete or rename the existing file first.");
}

std::string renamed_details(const std::string& old_key, const std::string& spelling, const std::string& old_spelling) {
    std::string extra = "\"old_path\": ";
    append_json_string(extra, old_key);
    extra += ", \"spelling\": ";
    append_json_string(extra, spelling);
    extra += ", \"old_spelling\": ";
    append_json_string(extra, old_spelling);
    return extra;
}

void throw_renamed_since(const FileHead& h, const std::string& conflict_id, const std::string& was,
                         const std::string& proposed) {
    constexpr std::size_t whole = std::numeric_limits<std::size_t>::max();
    throw SqlError(CE_ERRCODE_STALE_VERSION,
                   "file " + uuid_to_string(h.id) + " was renamed since rename conflict " + conflict_id +
                       " was recorded",
                   ce::Detail()
                       .add("conflict_id", conflict_id)
                       .add("file_id", uuid_to_string(h.id))
                       .add("current_path", h.path, whole)
                       .add("conflict_current_path", was, whole)
                       .add("proposed_path", proposed, whole),
                   "Rename the file from its current path (rename_file with expected_path), or resolve with "
                   "choose => 'ours'.");
}

std::string move_file(Spi& spi, const FileHead& h, const std::string& path, const pg_uuid_t& author,
                      const pg_uuid_t& session_id) {
    std::string normalized = claim_path(spi, h.project_id, path, h.id);
    if (h.path == path) return normalized;
    static Statement upd(
        "UPDATE concurrent_edit.files SET path = $3, normalized_path = $5, updated_by = $4, updated_at = now(), "
        "    renamed_at_version = head_version WHERE project_id = $1 AND id = $2",
        {UUIDOID, UUIDOID, TEXTOID, UUIDOID, TEXTOID});
    upd.run(spi, {uuid_datum(h.project_id), uuid_datum(h.id), text_datum(path), uuid_datum(author),
                  text_datum(normalized)});
    queue_change(spi, file_event("renamed", h.project_id, h.id, session_id, author, normalized, h.head_version,
                                 h.head_hash, renamed_details(h.normalized_path, path, h.path)));
    return normalized;
}

}  // namespace ce::pg
