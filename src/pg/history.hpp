// History retention (src/sql/22_history.sql, docs/reference/history.md): which
// versions of a file may go, and removing them without breaking the delta chains
// of the versions that stay.
#pragma once

#include <optional>
#include <vector>

#include "pg/file_head.hpp"

namespace ce::pg {

struct Retention {
    std::optional<int32> keep_versions;  // the newest N versions stay
    std::optional<int32> keep_days;      // versions that were the head within N days stay
    bool any() const { return keep_versions || keep_days; }
};

// The project's retention (set_retention), none when it has none.
Retention project_retention(Spi& spi, const pg_uuid_t& project_id);

// Removes the versions of the file (locked by the caller) that `r` lets go: never
// the head, a draft's base, a version a recorded conflict refers to, or a version
// a client could still present (its clock) within keep_days. Versions whose
// delta chain passed through a removed one are stored again (against a kept
// version, or in full). Returns how many versions were removed. At most
// `max_removed`, the oldest; `*more` (when given) tells whether more remain.
int64 apply_retention(Spi& spi, const FileHead& h, const Retention& r, std::size_t max_removed = SIZE_MAX,
                      bool* more = nullptr);

// For the worker: files of projects with a retention that may have versions to
// remove, in id order after `after` (all when null), at most `batch`.
std::vector<pg_uuid_t> retention_candidates(Spi& spi, const pg_uuid_t* after, int batch);
// Applies its project's retention to a file, unless a writer holds it (then 0:
// the next round takes it), removing at most `max_removed` versions; `*more`:
// whether more are left to remove.
int64 retain_file(Spi& spi, const pg_uuid_t& id, std::size_t max_removed, bool* more);

}  // namespace ce::pg
