// A new version stored from C (versions.cpp's append_version): the file_versions
// row inserted and the file row's head replaced, as the statement of
// append_version does, when both tables are as the extension made them.
#pragma once

#include <optional>

#include "concurrent_edit/delta.hpp"
#include "pg/pg_headers.hpp"
#include "pg/values.hpp"

namespace ce::pg {

// The rules of the two tables' CHECKs (files_row_check, file_versions_row_check
// in 20_files.sql), written once for the CHECK functions (files.cpp) and the C
// path below. An absent value (a NULL) passes, as in a CHECK.
bool file_row_ok(std::optional<int32> head_version, bool deleted_at_null, bool deleted_by_null);
bool file_version_row_ok(std::optional<int32> version, bool has_content, bool has_delta,
                         std::optional<int32> delta_base, std::optional<int32> depth, std::optional<int32> bytes);

// The values of a new version. `content` is its text as a text Datum (the file
// row's head_content, and file_versions.content when `delta` is 0); `delta` a
// bytea Datum; `hash` a text Datum; `clock` the vclock's text.
struct NewVersion {
    pg_uuid_t project_id, file_id, author, session_id;  // session_id all zero: NULL
    int32 version, delta_base, depth, bytes;
    Datum content, delta, hash;
    const char* clock;
};

// Plain C, run inside pg_call(). Stores `v` on the file row this transaction
// locked (lock_file) and returns true; returns false, having changed nothing,
// when a table is not as the extension made it (its columns, CHECK, triggers,
// rules or indexes): the caller runs the statement. The foreign key of the new
// version's row is not checked again: the file row it references is the one
// updated here, locked FOR NO KEY UPDATE by this transaction (which is what the
// check's FOR KEY SHARE would ensure).
bool store_version_c(const NewVersion& v);

// The rows needed to rebuild a version, read from C as the statement it replaces
// did (a statement's snapshot; each row by its primary key): the version's own
// first, its text being files.head_content when it is the head, then the base of
// each delta down to a row with a text, at most ce::delta::kMaxDepth + 1 rows.
// `n` is 0 when the version (or its file) is not there. Plain C, run inside
// pg_call(); the strings are palloc'd in the caller's memory context.
struct ChainLink {
    RowText content, delta;  // data nullptr: NULL
};
struct VersionChain {
    int n;
    RowText hash;  // the first row's content_hash
    int32 depth;   // the first row's depth
    ChainLink links[ce::delta::kMaxDepth + 1];
};
const VersionChain* read_chain_c(const pg_uuid_t& project_id, const pg_uuid_t& file_id, int32 version);

}  // namespace ce::pg
