// Versioned files: create_file, write, delete_file, rename_file, resolve_conflict.
//
// A write locks the file's row (SELECT ... FOR UPDATE), so writers of one file
// serialize; it reads the head under that lock, decides by comparing the base it
// was given with the head, and writes at most one new version. Nothing is written
// for a conflict: the conflict is recorded in conflict_history and returned.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/merge.hpp"
#include "concurrent_edit/path.hpp"
#include "concurrent_edit/sha256.hpp"
#include "concurrent_edit/vclock.hpp"
#include "pg/boundary.hpp"
#include "pg/changes.hpp"
#include "pg/files.hpp"
#include "pg/guc.hpp"
#include "pg/spi.hpp"
#include "pg/vclock.hpp"

extern "C" {
#include "access/transam.h"
#include "access/xact.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/sinvaladt.h"
}

namespace ce::pg {

// ---------------------------------------------------------------------------
// Shared pieces (also used by sessions/locks/drafts code through files.hpp).

UuidArg uuid_arg(FunctionCallInfo fcinfo, int n) {
    UuidArg a;
    if (!PG_ARGISNULL(n)) {
        a.null = false;
        std::memcpy(&a.value, PG_GETARG_UUID_P(n), sizeof(pg_uuid_t));
    }
    return a;
}

const char* strategy_name(Strategy s) {
    switch (s) {
        case Strategy::merge: return "merge";
        case Strategy::fail_fast: return "fail-fast";
        case Strategy::last_write_wins: return "last-write-wins";
        case Strategy::first_write_wins: return "first-write-wins";
        case Strategy::keep_both: return "keep-both";
        case Strategy::timestamp: return "timestamp";
        case Strategy::queue: return "queue";
    }
    return "merge";
}

Strategy parse_strategy(std::string_view s) {
    for (Strategy st : {Strategy::merge, Strategy::fail_fast, Strategy::last_write_wins,
                        Strategy::first_write_wins, Strategy::keep_both, Strategy::timestamp,
                        Strategy::queue})
        if (s == strategy_name(st)) return st;
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "unknown write strategy \"" + std::string(s) + "\"", {},
                   "Valid strategies: merge, fail-fast, last-write-wins, first-write-wins, keep-both, "
                   "timestamp, queue.");
}

namespace {

// A change event about a file, with the fields that file events carry.
ChangeEvent file_event(const char* event, const pg_uuid_t& project, const pg_uuid_t& file, const pg_uuid_t& session,
                       const pg_uuid_t& author, std::string path, int32 version, std::string content_hash,
                       std::string extra = {}) {
    ChangeEvent ev;
    ev.event = event;
    ev.project_id = project;
    ev.file_id = file;
    ev.session_id = session;
    ev.author = author;
    ev.path = std::move(path);
    ev.version = version;
    ev.content_hash = std::move(content_hash);
    ev.extra = std::move(extra);
    return ev;
}


// Writers of one file also serialize on a transaction-scoped heavyweight lock of
// their own advisory tag ("CEFW", hash of the file id), taken before the row lock.
// It lets a transaction that already holds other files apply wait-die: it waits
// only for an older holder, and a younger one gets a retryable 40001 at once, so
// transactions writing several files in different orders never deadlock.
constexpr uint32 kFileWriteTagClass = 0x43454657;  // "CEFW"
int files_locked_in_xact = 0;

LOCKTAG file_write_tag(const pg_uuid_t& file_id) {
    uint32 h = 2166136261u;
    for (unsigned char b : file_id.data) h = (h ^ b) * 16777619u;
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kFileWriteTagClass, h, 2);
    return tag;
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
    if (die)
        throw SqlError(ERRCODE_T_R_SERIALIZATION_FAILURE,
                       "could not serialize access: file " + uuid_to_string(file_id) +
                           " is being written by an older transaction",
                       "{\"file_id\": " + json_uuid(file_id) + "}",
                       "This transaction already writes other files; waiting could deadlock. "
                       "Roll back and retry the transaction.");
    ++files_locked_in_xact;
}

void files_xact_callback(XactEvent event, void*) {
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
        event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
        files_locked_in_xact = 0;
}

}  // namespace

void register_file_callbacks() { RegisterXactCallback(files_xact_callback, nullptr); }

// The file row, locked FOR NO KEY UPDATE (writers serialize; foreign-key checks of
// drafts, locks and versions are not blocked), with the exclusive lock another
// session holds on it.
FileHead lock_file(const pg_uuid_t& file_id, const pg_uuid_t& session_id) {
    static Statement q(
        "SELECT f.project_id, f.head_version, f.head_hash, f.deleted_at IS NOT NULL, f.updated_by, "
        "       to_json(f.updated_at)::text, f.path, f.normalized_path, "
        "       lk.session_id, lk.holder, to_json(lk.expires_at)::text, f.updated_at, "
        "       coalesce(f.head_clock::text, '{}') "
        "FROM concurrent_edit.files f "
        "LEFT JOIN LATERAL (SELECT l.session_id, l.holder, l.expires_at FROM concurrent_edit.file_locks l "
        "   WHERE l.project_id = f.project_id AND l.file_id = f.id AND l.lock_type = 'exclusive' "
        "     AND l.expires_at > clock_timestamp() AND l.session_id IS DISTINCT FROM $2 "
        "   ORDER BY l.expires_at DESC LIMIT 1) lk ON true "
        "WHERE f.id = $1 FOR NO KEY UPDATE OF f",
        {UUIDOID, UUIDOID});
    take_file_write_lock(file_id);
    Rows r = q.run({uuid_datum(file_id), uuid_datum(session_id)}, uuid_is_null(session_id) ? " n" : "  ");
    if (r.empty())
        throw SqlError(CE_ERRCODE_FILE_NOT_FOUND, "file " + uuid_to_string(file_id) + " does not exist");
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
    h.updated_at = r.int8(0, 11);
    h.head_clock = r.text(0, 12);
    h.locked_by_other = !r.isnull(0, 8);
    if (h.locked_by_other) {
        h.lock_session = r.uuid(0, 8);
        h.lock_holder = r.uuid(0, 9);
        h.lock_expires_json = r.text(0, 10);
    }
    return h;
}

std::string head_detail(const FileHead& h, std::optional<int32> expected_version,
                        const std::optional<std::string>& expected_hash) {
    std::string d = "{\"file_id\": " + json_uuid(h.id);
    d += ", \"expected_version\": " + (expected_version ? std::to_string(*expected_version) : "null");
    if (expected_hash) {
        d += ", \"expected_hash\": ";
        append_json_string(d, *expected_hash);
    }
    d += ", \"current_version\": " + std::to_string(h.head_version);
    d += ", \"current_hash\": \"" + h.head_hash + "\"";
    d += ", \"last_modified_by\": " + json_uuid(h.updated_by);
    d += ", \"last_modified_at\": " + (h.updated_at_json.empty() ? "null" : h.updated_at_json);
    d += "}";
    return d;
}

SessionInfo check_session(const pg_uuid_t& session_id, const pg_uuid_t& project_id, bool touch) {
    static Statement q(
        "SELECT s.project_id, s.user_id, s.status, s.last_active_at < now() - interval '1 second', "
        "       s.last_active_at < now() - make_interval(secs => $2) "
        "FROM concurrent_edit.edit_sessions s WHERE s.id = $1",
        {UUIDOID, INT4OID});
    static Statement q_touch(
        "UPDATE concurrent_edit.edit_sessions SET last_active_at = now(), status = 'active' "
        "WHERE project_id = $1 AND id = $2",
        {UUIDOID, UUIDOID});
    Rows r = q.run({uuid_datum(session_id), Int32GetDatum(guc_session_close_s)});
    std::string sid = uuid_to_string(session_id);
    if (r.empty())
        throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + sid + " does not exist",
                       "{\"session_id\": \"" + sid + "\"}");
    SessionInfo s;
    s.project_id = r.uuid(0, 0);
    s.user_id = r.uuid(0, 1);
    s.status = r.text(0, 2);
    bool stale_activity = r.boolean(0, 3);
    if (s.status != "closed" && r.boolean(0, 4))
        throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + sid + " timed out",
                       "{\"session_id\": \"" + sid + "\", \"status\": \"" + s.status + "\"}",
                       "It was inactive for longer than concurrent_edit.session_close_timeout; open a new session.");
    if (s.status == "closed")
        throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + sid + " is closed",
                       "{\"session_id\": \"" + sid + "\", \"status\": \"closed\"}",
                       "Open a new session with open_session().");
    if (!uuid_is_null(project_id) && std::memcmp(&s.project_id, &project_id, sizeof(pg_uuid_t)) != 0)
        throw SqlError(CE_ERRCODE_SESSION_INVALID,
                       "session " + sid + " belongs to another project",
                       "{\"session_id\": \"" + sid + "\", \"session_project_id\": \"" +
                           uuid_to_string(s.project_id) + "\", \"project_id\": \"" +
                           uuid_to_string(project_id) + "\"}");
    // Activity keeps the session active; written at most once a second.
    if (touch && (stale_activity || s.status != "active"))
        q_touch.run({uuid_datum(s.project_id), uuid_datum(session_id)});
    return s;
}

pg_uuid_t resolve_author(const UuidArg& author, const UuidArg& session, const pg_uuid_t& project_id,
                         std::optional<SessionInfo>* session_out) {
    if (!session.null) {
        SessionInfo s = check_session(session.value, project_id, true);
        if (!author.null && std::memcmp(&author.value, &s.user_id, sizeof(pg_uuid_t)) != 0)
            throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                           "author does not match the user of session " + uuid_to_string(session.value),
                           "{\"author\": \"" + uuid_to_string(author.value) + "\", \"session_user_id\": \"" +
                               uuid_to_string(s.user_id) + "\"}",
                           "Pass either the session (the author is its user) or the author.");
        if (session_out) *session_out = s;
        return s.user_id;
    }
    if (author.null)
        throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "an author or a session_id is required",
                       {}, "Every version records who wrote it.");
    return author.value;
}

namespace {

struct VersionText {
    std::string content;
    std::string hash;
};

std::optional<VersionText> fetch_version(const pg_uuid_t& project_id, const pg_uuid_t& file_id, int32 version) {
    static Statement q(
        "SELECT v.content, v.content_hash FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 AND v.version = $3",
        {UUIDOID, UUIDOID, INT4OID});
    Rows r = q.run({uuid_datum(project_id), uuid_datum(file_id), Int32GetDatum(version)});
    if (r.empty()) return std::nullopt;
    return VersionText{r.text(0, 0), r.text(0, 1)};
}

// Newest version whose content has this hash (the base named by an ETag).
std::optional<int32> version_with_hash(const FileHead& h, const std::string& hash) {
    static Statement q(
        "SELECT max(v.version) FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 AND v.content_hash = $3",
        {UUIDOID, UUIDOID, TEXTOID});
    Rows r = q.run({uuid_datum(h.project_id), uuid_datum(h.id), text_datum(hash)});
    if (r.isnull(0, 0)) return std::nullopt;
    return r.int4(0, 0);
}

// Newest version whose clock the given clock dominates (the base of an offline edit).
std::optional<int32> version_dominated_by(const FileHead& h, const std::string& clock) {
    static Statement q(
        "SELECT max(v.version) FROM concurrent_edit.file_versions v "
        "WHERE v.project_id = $1 AND v.file_id = $2 "
        "  AND v.vector_clock OPERATOR(concurrent_edit.<=) $3::concurrent_edit.vclock",
        {UUIDOID, UUIDOID, TEXTOID});
    Rows r = q.run({uuid_datum(h.project_id), uuid_datum(h.id), text_datum(clock)});
    if (r.isnull(0, 0)) return std::nullopt;
    return r.int4(0, 0);
}

}  // namespace

// Appends version head+1 and moves the head. Returns the new version number.
int32 append_version(const FileHead& h, std::string_view content, const std::string& hash,
                     const pg_uuid_t& author, const pg_uuid_t& session_id, const std::string* client_clock,
                     std::string* clock_out) {
    static Statement q(
        "WITH v AS (INSERT INTO concurrent_edit.file_versions "
        "    (project_id, file_id, version, content, content_hash, created_by, session_id, vector_clock) "
        "    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::concurrent_edit.vclock) RETURNING version) "
        "UPDATE concurrent_edit.files SET head_version = $3, head_hash = $5, head_clock = $8::concurrent_edit.vclock, "
        "    updated_by = $6, updated_at = now() "
        "WHERE project_id = $1 AND id = $2",
        {UUIDOID, UUIDOID, INT4OID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, TEXTOID});
    int32 version = h.head_version + 1;
    // The writing actor is server-side (the session, else the author), not the
    // client's device, so clocks stay small.
    ce::VClock clock = ce::VClock::parse(h.head_clock.empty() ? "{}" : h.head_clock);
    if (client_clock != nullptr) clock.merge(ce::VClock::parse(*client_clock));
    clock.increment(uuid_to_string(uuid_is_null(session_id) ? author : session_id));
    std::string clock_text = clock.to_text();
    q.run({uuid_datum(h.project_id), uuid_datum(h.id), Int32GetDatum(version), text_datum(content),
           text_datum(hash), uuid_datum(author), uuid_datum(session_id), text_datum(clock_text)},
          uuid_is_null(session_id) ? "      n " : "");
    queue_change(file_event("version", h.project_id, h.id, session_id, author, h.normalized_path, version, hash));
    if (clock_out != nullptr) *clock_out = std::move(clock_text);
    return version;
}

namespace {

std::string regions_json(const std::vector<ce::ConflictRegion>& regions) {
    std::string s = "[";
    for (std::size_t i = 0; i < regions.size(); ++i) {
        const auto& r = regions[i];
        if (i) s += ", ";
        s += "{\"base_start\": " + std::to_string(r.base_start) + ", \"base_count\": " + std::to_string(r.base_count) +
             ", \"ours_start\": " + std::to_string(r.ours_start) + ", \"ours_count\": " + std::to_string(r.ours_count) +
             ", \"theirs_start\": " + std::to_string(r.theirs_start) +
             ", \"theirs_count\": " + std::to_string(r.theirs_count) + "}";
    }
    return s + "]";
}

}  // namespace

pg_uuid_t record_conflict(const FileHead& h, const char* kind, int32 base_version, std::string_view theirs,
                          const char* strategy, const std::string& details, const pg_uuid_t& author,
                          const pg_uuid_t& session_id) {
    static Statement q(
        "INSERT INTO concurrent_edit.conflict_history (project_id, file_id, kind, base_version, ours_version, "
        "    theirs_content, strategy, details, session_id, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10) RETURNING id",
        {UUIDOID, UUIDOID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID});
    std::string nulls(10, ' ');
    if (uuid_is_null(session_id)) nulls[8] = 'n';
    Rows r = q.run({uuid_datum(h.project_id), uuid_datum(h.id), text_datum(kind), Int32GetDatum(base_version),
                    Int32GetDatum(h.head_version), text_datum(theirs), text_datum(strategy), text_datum(details),
                    uuid_datum(session_id), uuid_datum(author)},
                   nulls);
    pg_uuid_t id = r.uuid(0, 0);
    queue_change(file_event("conflict", h.project_id, h.id, session_id, author, h.normalized_path, h.head_version,
                            h.head_hash,
                            "\"conflict_id\": \"" + uuid_to_string(id) + "\", \"kind\": \"" + kind + "\""));
    return id;
}

// ---------------------------------------------------------------------------
// write()

WriteOutcome write_file(const WriteRequest& req) {
    FileHead h = lock_file(req.file_id, req.session.null ? pg_uuid_t{} : req.session.value);
    pg_uuid_t author = resolve_author(req.author, req.session, h.project_id, nullptr);
    pg_uuid_t session_id = req.session.null ? pg_uuid_t{} : req.session.value;
    const char* sname = strategy_name(req.strategy);

    WriteOutcome out;
    out.file_id = h.id;
    out.head_version = h.head_version;
    out.strategy = sname;
    out.vector_clock = h.head_clock;  // replaced when a version is written

    if (h.deleted) {
        if (req.strategy == Strategy::fail_fast)
            throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(h.id) + " was deleted",
                           head_detail(h, req.base_version, req.expected_hash));
        int32 base = req.base_version.value_or(h.head_version);
        if (base < 1 || base > h.head_version) base = h.head_version;
        std::string details = "{\"reason\": \"the file was deleted\", \"head_version\": " +
                              std::to_string(h.head_version) + "}";
        out.status = "conflict";
        out.conflict_id = record_conflict(h, "delete", base, req.content, sname, details, author, session_id);
        out.has_conflict_id = true;
        out.version = h.head_version;
        out.content = std::string(req.content);
        out.content_hash = sha256_hex(req.content);
        out.conflicts = 1;
        out.base_version = base;
        return out;
    }

    if (h.locked_by_other)
        throw SqlError(CE_ERRCODE_FILE_LOCKED,
                       "file " + uuid_to_string(h.id) + " is locked exclusively by another session",
                       "{\"file_id\": " + json_uuid(h.id) + ", \"lock_session_id\": " + json_uuid(h.lock_session) +
                           ", \"holder\": " + json_uuid(h.lock_holder) + ", \"expires_at\": " + h.lock_expires_json +
                           "}",
                       "Wait for the lock to be released or to expire.");

    // Which version is the base?
    std::optional<int32> base = req.base_version;
    if (base && (*base < 1 || *base > h.head_version))
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "base version " + std::to_string(*base) + " of file " + uuid_to_string(h.id) +
                           " does not exist",
                       head_detail(h, req.base_version, req.expected_hash));
    if (req.expected_hash && !ce::is_sha256_hex(*req.expected_hash))
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "expected_hash is not a SHA-256 hex digest",
                       {}, "Use the content_hash returned by read() or write(): 64 lowercase hex digits.");
    bool current;
    if (req.expected_hash) {
        current = *req.expected_hash == h.head_hash && (!base || *base == h.head_version);
        if (!current && !base) base = version_with_hash(h, *req.expected_hash);
    } else if (base) {
        current = *base == h.head_version;
    } else {
        // Only the client's clock: a clock that dominates the head's fast-forwards;
        // otherwise the base is the newest version the client's clock dominates.
        ce::Relation rel = ce::compare(ce::VClock::parse(*req.client_clock),
                                       ce::VClock::parse(h.head_clock.empty() ? "{}" : h.head_clock));
        current = ce::dominates(rel);
        if (!current) base = version_dominated_by(h, *req.client_clock);
        if (!current && !base)
            throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                           "no version of file " + uuid_to_string(h.id) + " precedes the client's clock",
                           head_detail(h, std::nullopt, std::nullopt),
                           "Pass the vector_clock of the version the edit started from (read() returns it).");
    }
    const std::string* client_clock = req.client_clock ? &*req.client_clock : nullptr;

    std::string new_hash = sha256_hex(req.content);
    out.base_version = base.value_or(0);

    // The proposed text becomes the head as it is ("unchanged" when it already is).
    auto store_as_is = [&](const char* status) {
        if (new_hash == h.head_hash) {
            out.status = "unchanged";
            out.version = h.head_version;
        } else {
            out.status = status;
            out.version = append_version(h, req.content, new_hash, author, session_id, client_clock,
                                         &out.vector_clock);
        }
        out.content = std::string(req.content);
        out.content_hash = new_hash;
    };

    if (current) {
        out.base_version = h.head_version;
        store_as_is("written");
        return out;
    }

    // Stale.
    if (req.strategy == Strategy::fail_fast)
        throw SqlError(CE_ERRCODE_STALE_VERSION,
                       "file " + uuid_to_string(h.id) + " was modified by another writer",
                       head_detail(h, req.base_version, req.expected_hash),
                       "Read the head version, reapply your change, and write again.");

    if (req.strategy == Strategy::first_write_wins) {
        auto head = fetch_version(h.project_id, h.id, h.head_version);
        out.status = "rejected";
        out.version = h.head_version;
        out.content = head ? head->content : std::string();
        out.content_hash = h.head_hash;
        return out;
    }

    if (req.strategy == Strategy::last_write_wins) {
        store_as_is("overwritten");
        return out;
    }

    if (!base)
        throw SqlError(CE_ERRCODE_STALE_VERSION,
                       "expected_hash of file " + uuid_to_string(h.id) + " matches none of its versions",
                       head_detail(h, req.base_version, req.expected_hash),
                       "Without a known base the change cannot be merged: read the head, reapply your change, "
                       "and write again (or use strategy last-write-wins).");

    auto base_text = fetch_version(h.project_id, h.id, *base);
    auto head_text = fetch_version(h.project_id, h.id, h.head_version);
    if (!base_text)
        throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND,
                       "base version " + std::to_string(*base) + " of file " + uuid_to_string(h.id) +
                           " is no longer in the history",
                       head_detail(h, req.base_version, req.expected_hash),
                       "History cleanup removed it; read the head and write again.");
    if (!head_text) throw SqlError(CE_ERRCODE_INTERNAL, "head version of file " + uuid_to_string(h.id) + " is missing");

    ce::MergeOptions opts;
    opts.ours_label = "version " + std::to_string(h.head_version);
    opts.base_label = "version " + std::to_string(*base);
    opts.theirs_label = "proposed";
    opts.style = conflict_style();
    opts.algorithm = diff_algorithm();
    switch (req.strategy) {
        case Strategy::keep_both: opts.favor = ce::MergeFavor::union_; break;
        case Strategy::queue: opts.favor = ce::MergeFavor::theirs; break;
        case Strategy::timestamp:
            // Conflicting hunks go to the newer side: the head's last change or the
            // client's edit (edited_at, default now).
            opts.favor = (!req.edited_at || *req.edited_at > h.updated_at) ? ce::MergeFavor::theirs
                                                                             : ce::MergeFavor::ours;
            break;
        default: break;
    }
    ce::MergeResult m = ce::merge3(base_text->content, head_text->content, req.content, opts);

    if (!m.clean) {
        std::string details = "{\"conflicts\": " + std::to_string(m.conflicts) +
                              ", \"regions\": " + regions_json(m.regions) +
                              ", \"labels\": {\"ours\": \"" + opts.ours_label + "\", \"base\": \"" +
                              opts.base_label + "\", \"theirs\": \"proposed\"}, \"proposed_hash\": \"" +
                              new_hash + "\"}";
        out.status = "conflict";
        out.conflict_id = record_conflict(h, "content", *base, req.content, sname, details, author, session_id);
        out.has_conflict_id = true;
        out.version = h.head_version;
        out.conflicts = m.conflicts;
        out.content = std::move(m.content);
        out.content_hash = sha256_hex(out.content);
        return out;
    }
    out.conflicts = m.favored;  // conflicting regions the strategy resolved (keep-both, timestamp, queue)
    std::string merged_hash = sha256_hex(m.content);
    if (merged_hash == h.head_hash) {
        out.status = "unchanged";
        out.version = h.head_version;
    } else {
        out.status = "merged";
        out.version = append_version(h, m.content, merged_hash, author, session_id, client_clock,
                                     &out.vector_clock);
    }
    out.content = std::move(m.content);
    out.content_hash = merged_hash;
    return out;
}

Datum write_result_datum(FunctionCallInfo fcinfo, const WriteOutcome& o) {
    TupleDesc desc = pg_call([fcinfo] {
        TupleDesc d;
        if (get_call_result_type(fcinfo, nullptr, &d) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("write_result type expected")));
        return BlessTupleDesc(d);
    });
    Datum values[11];
    bool nulls[11] = {false};
    values[0] = text_datum(o.status);
    values[1] = Int32GetDatum(o.version);
    values[2] = text_datum(o.content_hash);
    values[3] = text_datum(o.content);
    if (o.has_conflict_id) values[4] = uuid_datum(o.conflict_id); else nulls[4] = true;
    values[5] = Int32GetDatum(o.conflicts);
    values[6] = uuid_datum(o.file_id);
    if (o.base_version > 0) values[7] = Int32GetDatum(o.base_version); else nulls[7] = true;
    values[8] = Int32GetDatum(o.head_version);
    values[9] = text_datum(o.strategy);
    if (o.vector_clock.empty()) {
        nulls[10] = true;
    } else {
        values[10] = vclock_datum(ce::VClock::parse(o.vector_clock).encode());
    }
    Datum* v = values;
    bool* n = nulls;
    return pg_call([desc, v, n] { return HeapTupleGetDatum(heap_form_tuple(desc, v, n)); });
}

}  // namespace ce::pg

using namespace ce::pg;

// write(file_id, content, base_version, author, session_id, strategy, expected_hash)
CE_FUNCTION(ce_write) {
    require_arg(fcinfo, 0, "file_id");
    UuidArg file_id = uuid_arg(fcinfo, 0);
    TextArg content = text_arg(fcinfo, 1, "content", max_input_bytes());
    bool has_base = !PG_ARGISNULL(2);
    int32 base_version = has_base ? PG_GETARG_INT32(2) : 0;
    UuidArg author = uuid_arg(fcinfo, 3);
    UuidArg session = uuid_arg(fcinfo, 4);
    TextArg strategy = text_arg(fcinfo, 5, "strategy", 64);
    TextArg expected_hash = text_arg(fcinfo, 6, "expected_hash", 256, true);
    bool has_edited_at = PG_NARGS() > 7 && !PG_ARGISNULL(7);
    int64 edited_at = has_edited_at ? PG_GETARG_TIMESTAMPTZ(7) : 0;
    const char* clock_data = nullptr;
    std::size_t clock_len = 0;
    if (PG_NARGS() > 8 && !PG_ARGISNULL(8)) {
        struct varlena* v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(8));
        clock_data = VARDATA_ANY(v);
        clock_len = VARSIZE_ANY_EXHDR(v);
    }
    if (!has_base && expected_hash.isnull && clock_data == nullptr)
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("base_version, expected_hash or client_clock is required"),
                        errhint("Pass the version (or the content_hash, or the vector clock) your edit started from.")));
    return guard([&]() -> Datum {
        WriteRequest req;
        req.file_id = file_id.value;
        req.content = content.view();
        if (has_base) req.base_version = base_version;
        req.author = author;
        req.session = session;
        req.strategy = parse_strategy(strategy.view());
        if (!expected_hash.isnull) req.expected_hash = std::string(expected_hash.view());
        if (has_edited_at) req.edited_at = edited_at;
        if (clock_data != nullptr)
            req.client_clock = ce::VClock::decode(std::string_view(clock_data, clock_len)).to_text();
        Spi spi;
        WriteOutcome o = write_file(req);
        spi.finish();
        return write_result_datum(fcinfo, o);
    });
}

// ---------------------------------------------------------------------------
// create_file, delete_file, rename_file, resolve_conflict

namespace {

bool is_live_path_violation(const PgError& e) {
    ErrorData* ed = e.edata();
    return ed->sqlerrcode == ERRCODE_UNIQUE_VIOLATION && ed->constraint_name != nullptr &&
           std::strcmp(ed->constraint_name, "files_live_path_key") == 0;
}

[[noreturn]] void throw_path_conflict(const pg_uuid_t& project_id, const std::string& path,
                                      const std::string& normalized, const std::optional<pg_uuid_t>& existing) {
    std::string d = "{\"project_id\": " + json_uuid(project_id) + ", \"path\": ";
    append_json_string(d, path);
    d += ", \"normalized_path\": ";
    append_json_string(d, normalized);
    d += ", \"existing_file_id\": " + (existing ? json_uuid(*existing) : std::string("null")) + "}";
    throw SqlError(CE_ERRCODE_PATH_CONFLICT, "a live file already exists at path \"" + normalized + "\"", d,
                   "Choose another path, or delete or rename the existing file first.");
}

std::optional<pg_uuid_t> live_file_at(const pg_uuid_t& project_id, const std::string& normalized,
                                      const pg_uuid_t& except) {
    static Statement q(
        "SELECT f.id FROM concurrent_edit.files f WHERE f.project_id = $1 AND f.normalized_path = $2 "
        "AND f.deleted_at IS NULL AND f.id IS DISTINCT FROM $3",
        {UUIDOID, TEXTOID, UUIDOID});
    Rows r = q.run({uuid_datum(project_id), text_datum(normalized), uuid_datum(except)},
                   uuid_is_null(except) ? "  n" : "");
    if (r.empty()) return std::nullopt;
    return r.uuid(0, 0);
}

Datum uuid_array_datum(const std::vector<pg_uuid_t>& ids) {
    std::vector<Datum> elems;
    for (const auto& u : ids) elems.push_back(uuid_datum(u));
    Datum* e = elems.data();
    int n = static_cast<int>(elems.size());
    return pg_call([e, n] {
        return PointerGetDatum(construct_array(e, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
    });
}

std::vector<pg_uuid_t> uuid_list(Rows r) {
    std::vector<pg_uuid_t> v;
    for (uint64 i = 0; i < r.size(); ++i) v.push_back(r.uuid(i, 0));
    return v;
}

Datum row_datum(FunctionCallInfo fcinfo, std::vector<Datum> values, std::vector<bool> nulls) {
    Datum* v = values.data();
    std::unique_ptr<bool[]> n(new bool[nulls.size()]);
    for (std::size_t i = 0; i < nulls.size(); ++i) n[i] = nulls[i];
    bool* np = n.get();
    return pg_call([fcinfo, v, np] {
        TupleDesc d;
        if (get_call_result_type(fcinfo, nullptr, &d) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("composite result expected")));
        d = BlessTupleDesc(d);
        return HeapTupleGetDatum(heap_form_tuple(d, v, np));
    });
}

}  // namespace

// create_file(project_id, path, content, author, session_id) RETURNS uuid
CE_FUNCTION(ce_create_file) {
    require_arg(fcinfo, 0, "project_id");
    UuidArg project = uuid_arg(fcinfo, 0);
    TextArg path = text_arg(fcinfo, 1, "path", ce::kMaxPathBytes);
    TextArg content = text_arg(fcinfo, 2, "content", max_input_bytes());
    UuidArg author = uuid_arg(fcinfo, 3);
    UuidArg session = uuid_arg(fcinfo, 4);
    UuidArg wanted_id = uuid_arg(fcinfo, 5);
    return guard([&]() -> Datum {
        std::string normalized = ce::normalize_path(path.view());
        std::string hash = ce::sha256_hex(content.view());
        Spi spi;
        pg_uuid_t who = resolve_author(author, session, project.value, nullptr);
        if (auto existing = live_file_at(project.value, normalized, pg_uuid_t{}))
            throw_path_conflict(project.value, std::string(path.view()), normalized, existing);
        static Statement ins(
            "INSERT INTO concurrent_edit.files (project_id, id, path, head_version, head_hash, created_by, updated_by) "
            "VALUES ($1, coalesce($5, gen_random_uuid()), $2, 1, $3, $4, $4) RETURNING id",
            {UUIDOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID});
        if (!wanted_id.null) {
            static Statement exists("SELECT 1 FROM concurrent_edit.files f WHERE f.id = $1", {UUIDOID});
            if (!exists.run({uuid_datum(wanted_id.value)}).empty())
                throw SqlError(ERRCODE_UNIQUE_VIOLATION, "file " + uuid_to_string(wanted_id.value) + " already exists",
                               "{\"file_id\": " + json_uuid(wanted_id.value) + "}",
                               "Choose another id, or omit file_id to have one generated.");
        }
        static Statement ins_v(
            "WITH v AS (INSERT INTO concurrent_edit.file_versions (project_id, file_id, version, content, "
            "    content_hash, created_by, session_id, vector_clock) "
            "    VALUES ($1, $2, 1, $3, $4, $5, $6, $7::concurrent_edit.vclock) RETURNING 1) "
            "UPDATE concurrent_edit.files SET head_clock = $7::concurrent_edit.vclock WHERE project_id = $1 AND id = $2",
            {UUIDOID, UUIDOID, TEXTOID, TEXTOID, UUIDOID, UUIDOID, TEXTOID});
        pg_uuid_t id{};
        try {
            Rows r = ins.run({uuid_datum(project.value), text_datum(path.view()), text_datum(hash), uuid_datum(who),
                              uuid_datum(wanted_id.value)},
                             wanted_id.null ? "    n" : "");
            id = r.uuid(0, 0);
        } catch (const PgError& e) {
            // Another transaction created the path concurrently: report it as the
            // path conflict it is (the transaction aborts either way).
            if (is_live_path_violation(e))
                throw_path_conflict(project.value, std::string(path.view()), normalized, std::nullopt);
            throw;
        }
        ce::VClock clock;
        clock.increment(uuid_to_string(session.null ? who : session.value));
        ins_v.run({uuid_datum(project.value), uuid_datum(id), text_datum(content.view()), text_datum(hash),
                   uuid_datum(who), uuid_datum(session.value), text_datum(clock.to_text())},
                  session.null ? "     n " : "");
        queue_change(file_event("created", project.value, id, session.null ? pg_uuid_t{} : session.value, who,
                                normalized, 1, hash));
        spi.finish();
        return uuid_datum(id);
    });
}

// delete_file(file_id, author, session_id, force, base_version)
//   RETURNS TABLE (status, version, open_sessions, draft_sessions)
CE_FUNCTION(ce_delete_file) {
    require_arg(fcinfo, 0, "file_id");
    UuidArg file_id = uuid_arg(fcinfo, 0);
    UuidArg author = uuid_arg(fcinfo, 1);
    UuidArg session = uuid_arg(fcinfo, 2);
    bool force = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
    bool has_base = !PG_ARGISNULL(4);
    int32 base_version = has_base ? PG_GETARG_INT32(4) : 0;
    return guard([&]() -> Datum {
        Spi spi;
        pg_uuid_t sid = session.null ? pg_uuid_t{} : session.value;
        FileHead h = lock_file(file_id.value, sid);
        pg_uuid_t who = resolve_author(author, session, h.project_id, nullptr);
        if (h.deleted)
            throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(h.id) + " is already deleted",
                           head_detail(h, std::nullopt, std::nullopt));
        if (has_base && base_version != h.head_version)
            throw SqlError(CE_ERRCODE_STALE_VERSION,
                           "file " + uuid_to_string(h.id) + " was modified after version " +
                               std::to_string(base_version),
                           head_detail(h, base_version, std::nullopt),
                           "Read the head version before deleting, or omit base_version.");
        if (h.locked_by_other)
            throw SqlError(CE_ERRCODE_FILE_LOCKED,
                           "file " + uuid_to_string(h.id) + " is locked exclusively by another session",
                           "{\"file_id\": " + json_uuid(h.id) + ", \"lock_session_id\": " +
                               json_uuid(h.lock_session) + ", \"holder\": " + json_uuid(h.lock_holder) +
                               ", \"expires_at\": " + h.lock_expires_json + "}");
        static Statement q_open(
            "SELECT s.session_id FROM concurrent_edit.session_files s JOIN concurrent_edit.edit_sessions e "
            "  ON e.project_id = s.project_id AND e.id = s.session_id AND e.status <> 'closed' "
            "WHERE s.project_id = $1 AND s.file_id = $2 AND s.session_id IS DISTINCT FROM $3 ORDER BY 1",
            {UUIDOID, UUIDOID, UUIDOID});
        static Statement q_drafts(
            "SELECT p.session_id FROM concurrent_edit.pending_changes p "
            "WHERE p.project_id = $1 AND p.file_id = $2 AND p.session_id IS DISTINCT FROM $3 ORDER BY 1",
            {UUIDOID, UUIDOID, UUIDOID});
        const char* nulls = session.null ? "  n" : "";
        std::vector<pg_uuid_t> open = uuid_list(q_open.run({uuid_datum(h.project_id), uuid_datum(h.id), uuid_datum(sid)}, nulls));
        std::vector<pg_uuid_t> drafts = uuid_list(q_drafts.run({uuid_datum(h.project_id), uuid_datum(h.id), uuid_datum(sid)}, nulls));
        bool others = !open.empty() || !drafts.empty();
        std::string status = "deleted";
        if (others && !force) {
            status = "conflict";
        } else {
            static Statement del(
                "UPDATE concurrent_edit.files SET deleted_at = now(), deleted_by = $3, updated_by = $3, "
                "updated_at = now() WHERE project_id = $1 AND id = $2",
                {UUIDOID, UUIDOID, UUIDOID});
            del.run({uuid_datum(h.project_id), uuid_datum(h.id), uuid_datum(who)});
            std::string extra = "\"open_sessions\": [";
            for (std::size_t i = 0; i < open.size(); ++i) extra += (i ? ", " : "") + json_uuid(open[i]);
            extra += "], \"draft_sessions\": [";
            for (std::size_t i = 0; i < drafts.size(); ++i) extra += (i ? ", " : "") + json_uuid(drafts[i]);
            extra += "]";
            queue_change(file_event("deleted", h.project_id, h.id, sid, who, h.normalized_path, h.head_version,
                                    h.head_hash, std::move(extra)));
        }
        spi.finish();  // frees SPI's memory: the result is built after it
        Datum open_d = uuid_array_datum(open);
        Datum drafts_d = uuid_array_datum(drafts);
        return row_datum(fcinfo, {text_datum(status), Int32GetDatum(h.head_version), open_d, drafts_d},
                         {false, false, false, false});
    });
}

// rename_file(file_id, new_path, author, session_id) RETURNS TABLE (path, normalized_path, old_path)
CE_FUNCTION(ce_rename_file) {
    require_arg(fcinfo, 0, "file_id");
    UuidArg file_id = uuid_arg(fcinfo, 0);
    TextArg new_path = text_arg(fcinfo, 1, "new_path", ce::kMaxPathBytes);
    UuidArg author = uuid_arg(fcinfo, 2);
    UuidArg session = uuid_arg(fcinfo, 3);
    return guard([&]() -> Datum {
        std::string normalized = ce::normalize_path(new_path.view());
        Spi spi;
        pg_uuid_t sid = session.null ? pg_uuid_t{} : session.value;
        FileHead h = lock_file(file_id.value, sid);
        pg_uuid_t who = resolve_author(author, session, h.project_id, nullptr);
        if (h.deleted)
            throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(h.id) + " was deleted",
                           head_detail(h, std::nullopt, std::nullopt), "A deleted file cannot be renamed.");
        if (h.locked_by_other)
            throw SqlError(CE_ERRCODE_FILE_LOCKED,
                           "file " + uuid_to_string(h.id) + " is locked exclusively by another session",
                           "{\"file_id\": " + json_uuid(h.id) + ", \"lock_session_id\": " +
                               json_uuid(h.lock_session) + ", \"holder\": " + json_uuid(h.lock_holder) +
                               ", \"expires_at\": " + h.lock_expires_json + "}");
        std::string old_path = h.path;
        if (auto existing = live_file_at(h.project_id, normalized, h.id))
            throw_path_conflict(h.project_id, std::string(new_path.view()), normalized, existing);
        if (old_path != new_path.view()) {
            static Statement upd(
                "UPDATE concurrent_edit.files SET path = $3, updated_by = $4, updated_at = now() "
                "WHERE project_id = $1 AND id = $2",
                {UUIDOID, UUIDOID, TEXTOID, UUIDOID});
            try {
                upd.run({uuid_datum(h.project_id), uuid_datum(h.id), text_datum(new_path.view()), uuid_datum(who)});
            } catch (const PgError& e) {
                if (is_live_path_violation(e))
                    throw_path_conflict(h.project_id, std::string(new_path.view()), normalized, std::nullopt);
                throw;
            }
            std::string extra = "\"old_path\": ";
            append_json_string(extra, h.normalized_path);
            queue_change(file_event("renamed", h.project_id, h.id, sid, who, normalized, h.head_version, h.head_hash,
                                    std::move(extra)));
        }
        spi.finish();
        return row_datum(fcinfo, {text_datum(new_path.view()), text_datum(normalized), text_datum(old_path)},
                         {false, false, false});
    });
}

// resolve_conflict(conflict_id, content, resolved_by) RETURNS integer
CE_FUNCTION(ce_resolve_conflict) {
    require_arg(fcinfo, 0, "conflict_id");
    UuidArg conflict_id = uuid_arg(fcinfo, 0);
    TextArg content = text_arg(fcinfo, 1, "content", max_input_bytes(), true);
    bool content_null = PG_ARGISNULL(1);
    require_arg(fcinfo, 2, "resolved_by");
    UuidArg resolved_by = uuid_arg(fcinfo, 2);
    return guard([&]() -> Datum {
        Spi spi;
        static Statement q(
            "SELECT c.project_id, c.file_id, c.kind, c.base_version, c.ours_version, c.resolved_at IS NOT NULL "
            "FROM concurrent_edit.conflict_history c WHERE c.id = $1 FOR UPDATE",
            {UUIDOID});
        Rows c = q.run({uuid_datum(conflict_id.value)});
        std::string cid = uuid_to_string(conflict_id.value);
        if (c.empty())
            throw SqlError(CE_ERRCODE_CONFLICT_NOT_OPEN, "conflict " + cid + " does not exist");
        if (c.boolean(0, 5))
            throw SqlError(CE_ERRCODE_CONFLICT_NOT_OPEN, "conflict " + cid + " is already resolved",
                           "{\"conflict_id\": \"" + cid + "\"}");
        pg_uuid_t file = c.uuid(0, 1);
        std::string kind = c.text(0, 2);
        int32 ours_version = c.int4(0, 4);
        if (kind == "row") {
            // A row is resolved by an UPDATE under the trigger; this only closes the record.
            if (!content_null)
                throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                               "conflict " + cid + " is a row conflict: it takes no content",
                               "", "Update the row (with the version you read), then call resolve_conflict(" + cid +
                                       ", NULL, resolved_by).");
            pg_uuid_t project = c.uuid(0, 0);
            static Statement close_row(
                "UPDATE concurrent_edit.conflict_history SET resolved_by = $3, resolved_at = now() "
                "WHERE project_id = $1 AND id = $2",
                {UUIDOID, UUIDOID, UUIDOID});
            close_row.run({uuid_datum(project), uuid_datum(conflict_id.value), uuid_datum(resolved_by.value)});
            ChangeEvent ev;
            ev.event = "conflict_resolved";
            ev.project_id = project;
            ev.author = resolved_by.value;
            ev.extra = "\"conflict_id\": \"" + cid + "\", \"kind\": \"row\"";
            queue_change(std::move(ev));
            spi.finish();
            fcinfo->isnull = true;  // no file version was written
            return Datum(0);
        }
        if (content_null)
            throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "argument \"content\" must not be NULL");

        FileHead h = lock_file(file, pg_uuid_t{});
        std::string hash = ce::sha256_hex(content.view());
        int32 version = h.head_version;
        if (h.deleted) {
            // Resolving a write to a deleted file restores the file with the resolution.
            if (auto existing = live_file_at(h.project_id, h.normalized_path, h.id))
                throw_path_conflict(h.project_id, h.path, h.normalized_path, existing);
            static Statement undelete(
                "UPDATE concurrent_edit.files SET deleted_at = NULL, deleted_by = NULL "
                "WHERE project_id = $1 AND id = $2",
                {UUIDOID, UUIDOID});
            undelete.run({uuid_datum(h.project_id), uuid_datum(h.id)});
            version = append_version(h, content.view(), hash, resolved_by.value, pg_uuid_t{});
        } else if (h.head_version == ours_version) {
            if (hash != h.head_hash) version = append_version(h, content.view(), hash, resolved_by.value, pg_uuid_t{});
        } else {
            // The head moved since the conflict: merge the resolution onto it.
            auto base = fetch_version(h.project_id, h.id, ours_version);
            auto head = fetch_version(h.project_id, h.id, h.head_version);
            if (!base || !head)
                throw SqlError(CE_ERRCODE_VERSION_NOT_FOUND, "versions needed to merge the resolution are missing");
            ce::MergeOptions opts;
            opts.ours_label = "version " + std::to_string(h.head_version);
            opts.base_label = "version " + std::to_string(ours_version);
            opts.theirs_label = "resolution";
            opts.algorithm = diff_algorithm();
            ce::MergeResult m = ce::merge3(base->content, head->content, content.view(), opts);
            if (!m.clean)
                throw SqlError(CE_ERRCODE_STALE_VERSION,
                               "file " + uuid_to_string(h.id) + " changed since the conflict and the resolution "
                               "conflicts with that change",
                               head_detail(h, ours_version, std::nullopt),
                               "Read the head version, resolve again on top of it, and retry.");
            std::string mh = ce::sha256_hex(m.content);
            if (mh != h.head_hash) version = append_version(h, m.content, mh, resolved_by.value, pg_uuid_t{});
        }
        static Statement done(
            "UPDATE concurrent_edit.conflict_history SET resolved_by = $3, resolved_at = now(), "
            "resolution_version = $4 WHERE project_id = $1 AND id = $2",
            {UUIDOID, UUIDOID, UUIDOID, INT4OID});
        done.run({uuid_datum(h.project_id), uuid_datum(conflict_id.value), uuid_datum(resolved_by.value),
                  Int32GetDatum(version)});
        queue_change(file_event("conflict_resolved", h.project_id, h.id, pg_uuid_t{}, resolved_by.value,
                                h.normalized_path, version, "",
                                "\"conflict_id\": \"" + cid + "\", \"kind\": \"" + kind + "\""));
        spi.finish();
        return Int32GetDatum(version);
    });
}

// commit_draft(session_id, file_id, strategy) RETURNS write_result
CE_FUNCTION(ce_commit_draft) {
    require_arg(fcinfo, 0, "session_id");
    require_arg(fcinfo, 1, "file_id");
    UuidArg session = uuid_arg(fcinfo, 0);
    UuidArg file_id = uuid_arg(fcinfo, 1);
    TextArg strategy = text_arg(fcinfo, 2, "strategy", 64);
    return guard([&]() -> Datum {
        Strategy st = parse_strategy(strategy.view());
        static Statement q(
            "SELECT p.project_id, p.base_version, p.content FROM concurrent_edit.pending_changes p "
            "WHERE p.session_id = $1 AND p.file_id = $2 FOR UPDATE",
            {UUIDOID, UUIDOID});
        static Statement del(
            "DELETE FROM concurrent_edit.pending_changes WHERE project_id = $1 AND session_id = $2 AND file_id = $3",
            {UUIDOID, UUIDOID, UUIDOID});
        Spi spi;
        Rows d = q.run({uuid_datum(session.value), uuid_datum(file_id.value)});
        if (d.empty())
            throw SqlError(CE_ERRCODE_DRAFT_NOT_FOUND,
                           "session " + uuid_to_string(session.value) + " has no draft of file " +
                               uuid_to_string(file_id.value),
                           "{\"session_id\": " + json_uuid(session.value) + ", \"file_id\": " +
                               json_uuid(file_id.value) + "}");
        pg_uuid_t project = d.uuid(0, 0);
        std::string content = d.text(0, 2);
        WriteRequest req;
        req.file_id = file_id.value;
        req.content = content;
        req.base_version = d.int4(0, 1);
        req.session = session;
        req.strategy = st;
        WriteOutcome o = write_file(req);
        if (o.status == "written" || o.status == "merged" || o.status == "unchanged" || o.status == "overwritten")
            del.run({uuid_datum(project), uuid_datum(session.value), uuid_datum(file_id.value)});
        spi.finish();
        return write_result_datum(fcinfo, o);
    });
}
