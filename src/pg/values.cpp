#include "pg/values.hpp"

namespace ce::pg {

std::string uuid_to_string(const pg_uuid_t& u) {
    static const char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
        s.push_back(hex[u.data[i] >> 4]);
        s.push_back(hex[u.data[i] & 15]);
    }
    return s;
}

std::string json_uuid(const pg_uuid_t& u) { return uuid_is_null(u) ? "null" : "\"" + uuid_to_string(u) + "\""; }

std::string json_string(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

}  // namespace ce::pg
