#include "pg/values.hpp"
#include "pg/boundary.hpp"

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

bool uuid_from_text(std::string_view s, pg_uuid_t* out) {
    auto hex = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    std::size_t i = 0;
    bool braces = !s.empty() && s[0] == '{';
    if (braces) ++i;
    for (int b = 0; b < UUID_LEN; ++b) {
        if (i + 1 >= s.size()) return false;
        int hi = hex(s[i]), lo = hex(s[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out->data[b] = static_cast<unsigned char>(hi * 16 + lo);
        i += 2;
        if (i < s.size() && s[i] == '-' && b % 2 == 1 && b < UUID_LEN - 1) ++i;
    }
    if (braces) {
        if (i >= s.size() || s[i] != '}') return false;
        ++i;
    }
    return i == s.size();
}

std::string json_uuid(const pg_uuid_t& u) { return uuid_is_null(u) ? "null" : "\"" + uuid_to_string(u) + "\""; }

std::string json_cursor(int64 cursor) { return "\"" + std::to_string(cursor) + "\""; }

namespace {

// `convert` is pg_server_to_any or pg_any_to_server, to or from UTF-8.
std::string converted(const std::string& s, char* (*convert)(const char*, int, int)) {
    if (GetDatabaseEncoding() == PG_UTF8) return s;
    const char* in = s.c_str();
    int len = static_cast<int>(s.size());
    const char* out = pg_call([in, len, convert] { return convert(in, len, PG_UTF8); });
    return out;
}

}  // namespace

std::string server_to_utf8(const std::string& s) { return converted(s, pg_server_to_any); }

std::string utf8_to_server(const std::string& s) { return converted(s, pg_any_to_server); }

bool core_checks_server_text() {
    return GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII;
}

std::string json_string(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

std::optional<std::uint64_t> non_negative_integer(std::string_view text) {
    if (text.empty() || text.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return v;
}

}  // namespace ce::pg
