// Records a row conflict in conflict_history although the calling transaction is
// about to fail: the record is handed (through a pinned dynamic shared memory
// segment) to a one-shot background worker that inserts it in its own transaction.
#pragma once

#include <string>

#include "pg/pg_headers.hpp"

namespace ce::pg {

// Best effort: when no worker can be started (max_worker_processes), a WARNING is
// logged and the conflict is not recorded (the caller's error still reports it).
void record_row_conflict(const pg_uuid_t& project_id, const std::string& relation, const std::string& row_key,
                         int64 base_version, int64 ours_version, const std::string& details);

}  // namespace ce::pg
