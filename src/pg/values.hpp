// Plain values the glue passes around: uuids and the JSON texts of details and
// events (escaped by the core's JSON writer).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "concurrent_edit/json.hpp"
#include "pg/pg_headers.hpp"

namespace ce::pg {

// A text column's value read from C (tables.hpp): a palloc'd copy.
struct RowText {
    const char* data = nullptr;  // nullptr: NULL
    int len = 0;
};
// A RowText as a string (empty for NULL), outside pg_call().
inline std::string row_string(const RowText& t) { return t.data != nullptr ? std::string(t.data, t.len) : std::string(); }

inline bool uuid_is_null(const pg_uuid_t& u) {
    for (unsigned char b : u.data)
        if (b) return false;
    return true;
}
inline bool uuid_eq(const pg_uuid_t& a, const pg_uuid_t& b) { return std::memcmp(a.data, b.data, UUID_LEN) == 0; }
inline bool uuid_less(const pg_uuid_t& a, const pg_uuid_t& b) { return std::memcmp(a.data, b.data, UUID_LEN) < 0; }
std::string uuid_to_string(const pg_uuid_t& u);
// A uuid from its text, in the forms uuid's input function reads (32 hex digits,
// a hyphen allowed after any group of four, optionally in braces). False when
// `s` is none of them, where uuid_in would raise 22P02 without a JSON DETAIL.
bool uuid_from_text(std::string_view s, pg_uuid_t* out);
// JSON form of a uuid: "\"...\"", or null for the nil uuid.
std::string json_uuid(const pg_uuid_t& u);
// A change feed cursor in JSON: a string of decimal digits ("42"), in every JSON the
// extension emits (NOTIFY payloads, error DETAILs), which is what node-postgres
// gives for a bigint column and which stays exact beyond 2^53 (docs/reference/feed.md).
std::string json_cursor(int64 cursor);
// Text between the database's encoding and UTF-8 (the core's JSON and text
// functions read UTF-8): unchanged in a UTF-8 database. PostgreSQL calls inside
// (pg_call); a character with no equivalent raises 22P05.
std::string server_to_utf8(const std::string& s);
std::string utf8_to_server(const std::string& s);
// Whether a core check that reads UTF-8 and refuses the rest with its own DETAIL
// (a path's, a sandbox_id's) may take server text as it is: in UTF-8, and in
// SQL_ASCII, which converts nothing and whose conversion check would refuse
// such text with a bare 22021 instead.
bool core_checks_server_text();

// JSON string literals (with quotes), escaped as jsonb does.
using ce::json::append_json_string;
std::string json_string(std::string_view s);

// A JSON number that is a non-negative integer up to INT64_MAX, from its text
// (numeric_out's: digits, '-' and '.' make it something else); nullopt otherwise.
std::optional<std::uint64_t> non_negative_integer(std::string_view text);

}  // namespace ce::pg
