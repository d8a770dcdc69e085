// The rows of a lock cycle read and written from C (locks.cpp): what
// acquire_lock looks at (the file, the session, the holders in the way), its
// file_locks row, and the row release_lock deletes, with the lock event's row in
// change_pending_locks. The statements they stand for were half of an
// uncontended lock cycle, most of it setting up their plans. Anything the C path
// does not do as the statement would (REPEATABLE READ or SERIALIZABLE, a shared
// lock, tables changed from what the extension made) is left to the statement:
// `done` false, before anything is changed.
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
LockLook look_at_lock(const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool exclusive);

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

}  // namespace ce::pg
