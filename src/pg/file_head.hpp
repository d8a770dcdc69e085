// The file row: what every capability that touches a file shares (a floor below
// write, versions, conflicts, drafts and locks).
#pragma once

#include <optional>
#include <string>

#include "pg/spi.hpp"

namespace ce::pg {

struct FileHead {
    pg_uuid_t project_id{}, id{};
    int32 head_version = 0;
    std::string head_hash;
    bool deleted = false;
    pg_uuid_t deleted_by{};
    pg_uuid_t updated_by{};
    std::string updated_at_json;  // JSON string literal (quoted ISO 8601)
    int64 updated_at = 0;         // TimestampTz
    std::string path, normalized_path;
    std::string head_clock;        // vclock text of the head version ("{}" when unknown)
    std::optional<int32> renamed_at_version;  // head version at the last rename
    bool locked_by_other = false;  // an unexpired exclusive lock of another session
    pg_uuid_t lock_session{}, lock_holder{};
    std::string lock_expires_json;
    // With lock_file(..., with_head_text): the head's text (files.head_content) and
    // the depth of the head version's delta chain; head_depth -1 when not read.
    std::string head_text;
    int32 head_depth = -1;
};

// Locks the file for writing and reads its row: first a transaction-scoped lock
// of the file's own advisory tag with wait-die (a transaction that already writes
// other files waits only for an older holder; a younger one gets a retryable 40001
// at once, so transactions writing several files in any order never deadlock),
// then the row FOR NO KEY UPDATE (writers serialize; foreign-key checks of drafts,
// locks and versions are not blocked). VC007 when it does not exist. `session_id`
// is the caller's: its own lock is not "other".
// With `with_head_text`, also the head's text and chain depth (a writer's base
// for the delta it stores: no second statement).
FileHead lock_file(Spi& spi, const pg_uuid_t& file_id, const pg_uuid_t& session_id, bool with_head_text = false);
// The wait-die rule of lock_file(), for a request about to wait for the file's
// write lock in share mode (acquire_lock): 40001 when this transaction already
// holds other files' write locks and an older transaction holds this one's.
void refuse_if_older_writer(const pg_uuid_t& file_id);
// Reads the file row without locking it (reads). VC007 when it does not exist.
FileHead find_file(Spi& spi, const pg_uuid_t& file_id);
// The project of a file (VC007 when there is none), without locking anything:
// callers check the caller's right on it before they lock the file.
pg_uuid_t project_of_file(Spi& spi, const pg_uuid_t& file_id);

// JSON DETAIL of refusals about the head: file_id, expected_version,
// current_version, current_hash, last_modified_by, last_modified_at.
std::string head_detail(const FileHead& h, std::optional<int32> expected_version,
                        const std::optional<std::string>& expected_hash);
// VC004: another session holds an exclusive lock on the file.
[[noreturn]] void throw_file_locked(const FileHead& h, const char* hint = nullptr);
// VC007 for an unknown file id.
[[noreturn]] void throw_file_not_found(const pg_uuid_t& file_id);

// Paths (keys per project: paths.hpp). Locks the project's path options against
// change for this transaction: shared here, exclusive for set_project_options,
// which recomputes the keys of the project's files.
void lock_project_paths(const pg_uuid_t& project_id, bool exclusive);

// Claims `path` in the project for this transaction and returns its key under the
// project's options: a lock on the key (two creations or renames to one key
// serialize), then a check with the latest snapshot that no other live file has it:
// VC003 naming that file and its path.
std::string claim_path(Spi& spi, const pg_uuid_t& project_id, const std::string& path, const pg_uuid_t& except_file);

// The details of a "renamed" event: old_path (the old key), spelling and
// old_spelling (the paths as given).
std::string renamed_details(const std::string& old_key, const std::string& spelling, const std::string& old_spelling);

// Moves the (locked, live) file to `path`: claims the path, updates the row (the
// path as given and its key) and queues the "renamed" event. Nothing happens when
// the path is the same. Returns the key.
std::string move_file(Spi& spi, const FileHead& h, const std::string& path, const pg_uuid_t& author,
                      const pg_uuid_t& session_id);

// VC001: a rename conflict's resolution with 'theirs' finds the file renamed
// since the conflict was recorded, at `was` (conflicts.cpp).
[[noreturn]] void throw_renamed_since(const FileHead& h, const std::string& conflict_id, const std::string& was,
                                      const std::string& proposed);

void register_file_head_callbacks();  // _PG_init: the wait-die bookkeeping

}  // namespace ce::pg
