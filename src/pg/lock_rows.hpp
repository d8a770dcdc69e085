// The rows of a lock cycle read and written from C (locks.cpp): what
// acquire_lock looks at (the file, the session, the holders in the way), its
// file_locks row, and the row release_lock deletes, with the lock event's row in
// change_pending_locks. The statements they stand for were half of an
// uncontended lock cycle, most of it setting up their plans. Anything the C path
// does not do as the statement would (REPEATABLE READ or SERIALIZABLE, a shared
// lock, tables changed from what the extension made) is left to the statement:
// `done` false, before anything is changed. Also: acquire_lock's refusal, built
// from the holders in the way, and the worker's sweep for expired locks.
#pragma once

#include <string>
#include <vector>

#include "pg/sessions.hpp"

namespace ce::pg {

// A lock in the way of a request, or expired.
struct LockInWay {
    pg_uuid_t session_id{}, holder{};
    std::string lock_type, expires_json;  // expires_json: as to_json(expires_at)::text
    int64 expires_at = 0;                 // TimestampTz
    bool expired = false;                 // expires_at <= clock_timestamp()
};

// What acquire_lock looks at, read with the latest snapshot.
struct LockLook {
    SessionRow session{};
    bool file_found = false;
    pg_uuid_t project_id{}, updated_by{};
    int32 head_version = 0;
    bool deleted = false;
    std::string normalized_path, head_hash, updated_at_json;
    // The file's locks that are expired (anyone's) or, of other sessions, in the
    // way of a request of this type; soonest expiry first.
    std::vector<LockInWay> in_way;
};
// What a look reads: the session's row and the file's (before any lock of the
// file is taken), the file's and its holders' (the session already checked), or
// all three.
enum class LockLookFor { session_and_file, file_and_holders, everything };
LockLook look_at_lock(const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool exclusive,
                      LockLookFor what = LockLookFor::everything);

// The holders in the way, as the JSON array of acquire_lock's refusal.
std::string holders_json(const std::vector<LockInWay>& hs);

// What kept an acquire_lock call out until its wait was over.
enum class HeldUpBy {
    holders,                  // the holders in its way (listed)
    acquisition_in_progress,  // another transaction acquiring a lock on the file, not ended
    exclusive_waiting,        // an exclusive acquirer waiting ahead of it (lock_queue.hpp)
    lock_in_change,           // an expired lock another transaction is extending or releasing, not ended
    write_in_progress,        // a write of the file (exclusive or require_version), not ended
};
// acquire_lock's refusal when its wait is over (55P03, counted in stats).
[[noreturn]] void throw_lock_timeout(const pg_uuid_t& file_id, const std::string& type,
                                     const std::vector<LockInWay>& holders, HeldUpBy by, int64 wait_us);

// acquire_lock's row: inserted, or this session's row updated (its id kept; its
// acquired_at kept when the type is the same). With `pending_path`, the
// lock_acquired event goes into change_pending_locks with that path.
struct LockTaken {
    bool done = false;
    pg_uuid_t lock_id{};
    int64 expires_at = 0, acquired_at = 0;  // TimestampTz
    std::string details;                    // the event's details, as jsonb's text
};
LockTaken take_lock_row(const pg_uuid_t& project_id, const pg_uuid_t& file_id, const pg_uuid_t& session_id,
                        const pg_uuid_t& holder, bool exclusive, int64 expires_at, const std::string* pending_path);

// release_lock's delete: the session's row (by id) and, in its project, the lock
// of the file, deleted when the file's row is there, with its lock_released event
// in change_pending_locks when `pending`.
struct LockDropped {
    bool done = false;
    SessionRow session{};
    bool deleted = false;
    pg_uuid_t holder{};
    std::string path, details;  // the file's key, the event's details
};
LockDropped drop_lock_row(const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool pending);

// One lock of a file as scan_file_locks() reads it.
struct FileLockSeen {
    pg_uuid_t session_id, holder;
    bool exclusive;
    int64 expires_at;  // TimestampTz
    bool being_updated;  // another transaction (in progress, or committed since the snapshot) updated it (extend_lock)
};
// Plain C, run inside pg_call(): calls `each(arg, lock)` for every row of
// file_locks of (project, file) that `snapshot` sees, by its primary key, with
// interrupts checked between rows (a row with a NULL in a NOT NULL column is
// passed over). The one scan of a file's locks, for acquire_lock's look and a
// writer's look at the file (file_head.cpp).
void scan_file_locks(Oid nsp, const pg_uuid_t& project, const pg_uuid_t& file, Snapshot snapshot,
                     void (*each)(void* arg, const FileLockSeen& lock), void* arg);
template <typename Each>
void scan_file_locks(Oid nsp, const pg_uuid_t& project, const pg_uuid_t& file, Snapshot snapshot, Each& each) {
    scan_file_locks(nsp, project, file, snapshot,
                    [](void* a, const FileLockSeen& lock) { (*static_cast<Each*>(a))(lock); }, &each);
}

// The worker's sweep of file_locks (locks.cpp): every row version of a dirty
// snapshot, so that the locks of transactions in progress count too. `ctids`:
// the array (as text) of the versions expired at `now`, `expired` of them;
// `soonest`: the soonest expiry of the others (PG_INT64_MAX: none). At `most`
// expired versions the sweep stops at the next one (`cut`, `soonest` then
// unknown): the rest is for the next sweep.
struct LockSweep {
    int64 expired = 0;
    bool cut = false;
    int64 soonest = 0;  // TimestampTz
    std::string ctids;
};
LockSweep sweep_lock_rows(int64 now, int64 most);

}  // namespace ce::pg
