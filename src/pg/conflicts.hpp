// Conflicts (conflict_history): recording one, and the conflict workflow.
#pragma once

#include <string>
#include <string_view>

#include "pg/file_head.hpp"

namespace ce::pg {

// Records a conflict of a file (kind content, delete or rename) met by a write of
// `role`, and queues the "conflict" event. Returns its id.
pg_uuid_t record_conflict(Spi& spi, Oid role, const FileHead& h, const char* kind, int32 base_version,
                          std::string_view theirs, const char* strategy, const std::string& details,
                          const pg_uuid_t& author, const pg_uuid_t& session_id);

}  // namespace ce::pg
