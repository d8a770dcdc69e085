// write(): a versioned write with optimistic concurrency (also behind commit_draft).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <vector>

#include "concurrent_edit/merge.hpp"
#include "pg/api.hpp"
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
};

// The whole write, in the owner's context of `call`: the file locked, the
// caller's write right on its project and the session checked, then current or
// stale, merge, new version or recorded conflict.
WriteOutcome write_file(ApiCall& call, const WriteRequest& req);
// The concurrent_edit.write_result datum of the calling function (after finish()).
Datum write_result_datum(FunctionCallInfo fcinfo, const WriteOutcome& o);
// Its first 11 columns, in a result with more.
void set_write_result(Record& r, const WriteOutcome& o);

}  // namespace ce::pg
