#include "pg/file_head.hpp"

#include <unordered_map>

#include "concurrent_edit/error.hpp"
#include "pg/advisory.hpp"
#include "pg/feed.hpp"
#include "pg/paths.hpp"

namespace ce::pg {
namespace {

int files_locked_in_xact = 0;

LOCKTAG file_write_tag(const pg_uuid_t& file_id) { return uuid_lock_tag(file_id, LockClass::file_write); }

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
    if (die)
        throw SqlError(ERRCODE_T_R_SERIALIZATION_FAILURE,
                       "could not serialize access: file " + uuid_to_string(file_id) +
                           " is being written by an older transaction",
                       "{\"file_id\": " + json_uuid(file_id) + "}",
                       "This transaction already writes other files; waiting could deadlock. "
                       "Roll back and retry the transaction.");
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

}  // namespace

void register_file_head_callbacks() {
    RegisterXactCallback(files_xact_callback, nullptr);
    RegisterSubXactCallback(files_subxact_callback, nullptr);
}

FileHead lock_file(Spi& spi, const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool with_head_text) {
    static Statement q(
        "SELECT " CE_FILE_COLUMNS ", lk.session_id, lk.holder, to_json(lk.expires_at)::text, f.head_content, "
        "       (SELECT v.depth FROM concurrent_edit.file_versions v WHERE v.project_id = f.project_id "
        "          AND v.file_id = f.id AND v.version = f.head_version) "
        "FROM concurrent_edit.files f "
        "LEFT JOIN LATERAL (SELECT l.session_id, l.holder, l.expires_at FROM concurrent_edit.file_locks l "
        "   WHERE l.project_id = f.project_id AND l.file_id = f.id AND l.lock_type = 'exclusive' "
        "     AND l.expires_at > clock_timestamp() AND l.session_id IS DISTINCT FROM $2 "
        "   ORDER BY l.expires_at DESC LIMIT 1) lk ON true "
        "WHERE f.id = $1 FOR NO KEY UPDATE OF f",
        {UUIDOID, UUIDOID}, Scans::by_key);
    take_file_write_lock(file_id);
    Rows r = q.run(spi, {uuid_datum(file_id), uuid_datum(session_id)}, uuid_is_null(session_id) ? " n" : "  ");
    if (r.empty()) throw_file_not_found(file_id);
    FileHead h = head_from(r, file_id);
    h.locked_by_other = !r.isnull(0, 12);
    if (h.locked_by_other) {
        h.lock_session = r.uuid(0, 12);
        h.lock_holder = r.uuid(0, 13);
        h.lock_expires_json = r.text(0, 14);
    }
    if (with_head_text && !r.isnull(0, 15) && !r.isnull(0, 16)) {
        h.head_text = r.text(0, 15);  // detoasted only here
        h.head_depth = r.int4(0, 16);
    }
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
    uint32 h1 = hash_bytes(project_id.data, UUID_LEN);
    uint32 h2 = hash_bytes(reinterpret_cast<const unsigned char*>(normalized.data()), normalized.size(), h1 * 31u + 7u);
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, h1, h2, static_cast<uint16>(LockClass::path));
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
