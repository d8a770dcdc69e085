// Conflicts (conflict_history): recording one, and the conflict workflow.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/merge.hpp"

#include "pg/file_head.hpp"

namespace ce::pg {

// Records a conflict of a file (kind content, delete or rename) met by a write of
// `role`, and queues the "conflict" event. Returns its id.
pg_uuid_t record_conflict(Spi& spi, Oid role, const FileHead& h, const char* kind, int32 base_version,
                          std::string_view theirs, const char* strategy, const std::string& details,
                          const pg_uuid_t& author, const pg_uuid_t& session_id,
                          std::optional<int32> theirs_version = std::nullopt);

// The hunks of a merge as a jsonb array: [{"hunk": 1, "base_start", "base_text",
// "ours_start", "ours_text", "theirs_start", "theirs_text"}, ...] (the columns of
// conflict_hunks()). Built from the texts' bytes, in the database's encoding as
// jsonb keeps them (JSON text of them parsed as UTF-8 failed with 22032 on any
// non-ASCII text in a database that is not UTF-8).
Datum hunks_jsonb(const std::vector<ce::ConflictRegion>& regions);

// Whether `role` may see (ACL_SELECT) or close (ACL_UPDATE) a row conflict of the
// table named `relation` (docs/security.md).
bool may_use_row_conflict(const std::string& relation, Oid role, AclMode mode);

}  // namespace ce::pg
