// Path identity per project (src/sql/22_paths.sql, docs/reference/paths.md): the
// project's path options and the key of a path under them. The rule itself is the
// core's (ce::normalize_path, include/concurrent_edit/path.hpp); this floor reads
// the options and converts between the database encoding and the core's UTF-8.
#pragma once

#include <string>
#include <string_view>

#include "concurrent_edit/path.hpp"
#include "pg/spi.hpp"

namespace ce::pg {

// The key of `path` under `options`, in the database encoding. Errors are the
// core's (22023, 54000); in a database that is not UTF-8 a key character the
// encoding cannot represent is PostgreSQL's 22P05.
std::string path_key(std::string_view path, const ce::PathOptions& options);

// The project's path options (the defaults when it has no project_options row),
// read with the latest snapshot under the project's path lock, held shared to the
// end of the transaction (lock_project_paths): keys computed with them stay the
// project's keys until the transaction commits.
ce::PathOptions project_path_options(Spi& spi, const pg_uuid_t& project);

// The project's path options as the statement's snapshot sees them, without a lock
// (readers: file_at, list_files).
ce::PathOptions project_path_options_read(Spi& spi, const pg_uuid_t& project);

}  // namespace ce::pg
