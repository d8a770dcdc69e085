// Plain values the glue passes around: uuids and the JSON texts of details and
// events (escaped by the core's JSON writer).
#pragma once

#include <cstring>
#include <string>

#include "concurrent_edit/json.hpp"
#include "pg/pg_headers.hpp"

namespace ce::pg {

inline bool uuid_is_null(const pg_uuid_t& u) {
    for (unsigned char b : u.data)
        if (b) return false;
    return true;
}
inline bool uuid_eq(const pg_uuid_t& a, const pg_uuid_t& b) { return std::memcmp(a.data, b.data, UUID_LEN) == 0; }
inline bool uuid_less(const pg_uuid_t& a, const pg_uuid_t& b) { return std::memcmp(a.data, b.data, UUID_LEN) < 0; }
std::string uuid_to_string(const pg_uuid_t& u);
// JSON form of a uuid: "\"...\"", or null for the nil uuid.
std::string json_uuid(const pg_uuid_t& u);

// JSON string literals (with quotes), escaped as jsonb does.
using ce::json::append_json_string;
std::string json_string(std::string_view s);

}  // namespace ce::pg
