// write(): a versioned write with optimistic concurrency (also behind commit_draft).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <vector>

#include "concurrent_edit/merge.hpp"
#include "pg/api.hpp"
#include "pg/file_head.hpp"
#include "pg/results.hpp"

namespace ce::pg {

enum class Strategy { merge, fail_fast, last_write_wins, first_write_wins, keep_both, timestamp, queue };
Strategy parse_strategy(std::string_view s);  // 22023 with the valid values as HINT
const char* strategy_name(Strategy s);

struct WriteRequest {
    pg_uuid_t file_id{};
    std::string_view content;
    std::optional<int32> base_version;
    std::optional<std::string> expected_hash;
    UuidArg author, session;
    Strategy strategy = Strategy::merge;
    std::optional<int64> edited_at;           // TimestampTz of the client's edit (strategy timestamp)
    std::optional<std::string> client_clock;  // vclock text the client's edit descends from
    int element = 0;                          // write_many: the element (from 1), named in a refused clock
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
    std::vector<ce::ConflictRegion> regions;  // the hunks of a conflict
    std::string semantic_warnings = "[]";     // JSON array (pg/semantic.hpp) of a merge without conflicts
};

// The whole write, in the owner's context of `call`: the file locked, the
// caller's write right on its project and the session checked, then current or
// stale, merge, new version or recorded conflict.
WriteOutcome write_file(ApiCall& call, const WriteRequest& req);
// The concurrent_edit.write_result datum of the calling function (after finish()).
Datum write_result_datum(FunctionCallInfo fcinfo, const WriteOutcome& o);
// The 12 columns of write_result as values and nulls (a row of a set of write_result).
void write_result_values(const WriteOutcome& o, std::vector<Datum>& values, std::vector<char>& nulls);
// The line ranges of conflict regions, as conflict_history.details stores them.
std::string regions_json(const std::vector<ce::ConflictRegion>& regions);

// The outcome of a merge that met real conflicts, recorded as `conflict_id`: status
// conflict, the head version, the marked-up text and its hunks.
void conflict_outcome(WriteOutcome& out, const FileHead& h, ce::MergeResult&& m, const pg_uuid_t& conflict_id);

// lock_file for a caller: its right `needed` on the file's project is checked
// first, so a role without it neither waits for nor learns about writers of the
// file (wait-die's 40001), and again on the locked row's project if that differs.
FileHead lock_file_checked(ApiCall& call, const pg_uuid_t& file, const pg_uuid_t& session, Right needed,
                           bool with_head_text = false);

// The start of every change of a file other than a write: the file locked (as
// write() locks it), the caller's write right on its project, the author (from the
// session, if any) in *who; a deleted file is VC002 ("cannot be <verb>"), another
// session's exclusive lock VC004.
FileHead lock_for_change(ApiCall& call, const pg_uuid_t& file, const UuidArg& author, const UuidArg& session,
                         const char* verb, pg_uuid_t* who);

}  // namespace ce::pg
