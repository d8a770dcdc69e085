// Shared pieces of the versioned-file API (files.cpp) used by the sessions,
// locks and drafts code.
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "pg/pg_headers.hpp"

namespace ce::pg {

struct UuidArg {
    pg_uuid_t value{};
    bool null = true;
};
// Step-1 helper: copies a uuid argument (NULL allowed).
UuidArg uuid_arg(FunctionCallInfo fcinfo, int n);

enum class Strategy { merge, fail_fast, last_write_wins, first_write_wins, keep_both, timestamp, queue };
Strategy parse_strategy(std::string_view s);  // 22023 with the valid values as HINT
const char* strategy_name(Strategy s);


struct FileHead {
    pg_uuid_t project_id{}, id{};
    int32 head_version = 0;
    std::string head_hash;
    bool deleted = false;
    pg_uuid_t updated_by{};
    std::string updated_at_json;  // JSON string literal (quoted ISO 8601)
    int64 updated_at = 0;         // TimestampTz
    std::string path, normalized_path;
    std::string head_clock;        // vclock text of the head version ("{}" when unknown)
    bool locked_by_other = false;  // an unexpired exclusive lock of another session
    pg_uuid_t lock_session{}, lock_holder{};
    std::string lock_expires_json;
};
// Locks the file for writing (wait-die against deadlocks between transactions
// writing several files; 40001 for the younger) and reads its row FOR NO KEY
// UPDATE. VC007 when it does not exist. `session_id` is the caller's (its own
// lock is not "other").
FileHead lock_file(const pg_uuid_t& file_id, const pg_uuid_t& session_id);
void register_file_callbacks();
// JSON DETAIL of refusals: file_id, expected_version, current_version, current_hash,
// last_modified_by, last_modified_at (the seed's CONCURRENT_MODIFICATION data).
std::string head_detail(const FileHead& h, std::optional<int32> expected_version,
                        const std::optional<std::string>& expected_hash);

struct SessionInfo {
    pg_uuid_t project_id{}, user_id{};
    std::string status;
};
// VC005 unless the session exists, is not closed and (when project_id is not nil)
// belongs to that project. `touch` records activity (at most once a second).
SessionInfo check_session(const pg_uuid_t& session_id, const pg_uuid_t& project_id, bool touch);
// The author of a change: the session's user when a session is given (an explicit
// author must then match it), else `author` (22004 when neither is given).
pg_uuid_t resolve_author(const UuidArg& author, const UuidArg& session, const pg_uuid_t& project_id,
                         std::optional<SessionInfo>* session_out);

// Appends version head+1 with this content and moves the head; queues the event.
// Its vector clock is the head's clock merged with `client_clock` (if any),
// incremented for the writing actor (the session, else the author). Returns the
// new version; *clock_out receives its clock text.
int32 append_version(const FileHead& h, std::string_view content, const std::string& hash,
                     const pg_uuid_t& author, const pg_uuid_t& session_id,
                     const std::string* client_clock = nullptr, std::string* clock_out = nullptr);
// Records a conflict (kind content/delete/rename) and queues the event; returns its id.
pg_uuid_t record_conflict(const FileHead& h, const char* kind, int32 base_version, std::string_view theirs,
                          const char* strategy, const std::string& details, const pg_uuid_t& author,
                          const pg_uuid_t& session_id);

struct WriteRequest {
    pg_uuid_t file_id{};
    std::string_view content;
    std::optional<int32> base_version;
    std::optional<std::string> expected_hash;
    UuidArg author, session;
    Strategy strategy = Strategy::merge;
    std::optional<int64> edited_at;  // TimestampTz of the client's edit (strategy timestamp)
    std::optional<std::string> client_clock;  // vclock text the client's edit descends from
};

struct WriteOutcome {
    std::string status;
    int32 version = 0;
    std::string content_hash;
    std::string content;
    pg_uuid_t conflict_id{};
    bool has_conflict_id = false;
    int32 conflicts = 0;
    pg_uuid_t file_id{};
    int32 base_version = 0;
    int32 head_version = 0;
    std::string strategy;
    std::string vector_clock;  // clock of `version`
};

// The whole write() inside an SPI connection (used by write() and commit_draft()).
WriteOutcome write_file(const WriteRequest& req);
// Builds the concurrent_edit.write_result datum of the calling function.
Datum write_result_datum(FunctionCallInfo fcinfo, const WriteOutcome& o);

}  // namespace ce::pg
