// Where a libpq connection string points, without its secrets.
#include "concurrent_edit/conninfo.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace ce {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// key = value pairs; nullopt on a syntax error (unterminated quote, no "=").
std::optional<Pairs> parse_pairs(std::string_view s) {
    Pairs out;
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (true) {
        while (i < n && is_space(s[i])) ++i;
        if (i == n) return out;
        std::string key;
        while (i < n && s[i] != '=' && !is_space(s[i])) key += s[i++];
        while (i < n && is_space(s[i])) ++i;
        if (i == n || s[i] != '=' || key.empty()) return std::nullopt;
        ++i;
        while (i < n && is_space(s[i])) ++i;
        std::string value;
        if (i < n && s[i] == '\'') {
            ++i;
            bool closed = false;
            while (i < n) {
                if (s[i] == '\\' && i + 1 < n) {
                    value += s[i + 1];
                    i += 2;
                } else if (s[i] == '\'') {
                    ++i;
                    closed = true;
                    break;
                } else {
                    value += s[i++];
                }
            }
            if (!closed) return std::nullopt;
        } else {
            while (i < n && !is_space(s[i])) {
                if (s[i] == '\\' && i + 1 < n) ++i;
                value += s[i++];
            }
        }
        out.emplace_back(std::move(key), std::move(value));
    }
}

// postgresql://[user[:password]@][host][:port][/dbname][?params]
std::optional<Pairs> parse_uri(std::string_view s) {
    for (std::string_view scheme : {"postgresql://", "postgres://"}) {
        if (s.substr(0, scheme.size()) != scheme) continue;
        // As libpq: the credentials end at the first "@" before any "/" (a "?"
        // or ":" may be part of the password); the host list ends at "/" or "?".
        std::string_view rest = s.substr(scheme.size());
        rest = rest.substr(0, rest.find('/'));
        std::size_t at = rest.find('@');
        if (at != std::string_view::npos) rest = rest.substr(at + 1);
        rest = rest.substr(0, rest.find('?'));
        Pairs out;
        std::string_view host = rest, port;
        if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
            std::size_t close = rest.find(']');
            if (close == std::string_view::npos) return std::nullopt;
            host = rest.substr(1, close - 1);
            if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
        } else if (std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
            host = rest.substr(0, colon);
            port = rest.substr(colon + 1);
        }
        if (!host.empty()) out.emplace_back("host", std::string(host));
        if (!port.empty()) out.emplace_back("port", std::string(port));
        return out;
    }
    return std::nullopt;
}

}  // namespace

std::string conninfo_location(std::string_view conninfo) {
    std::optional<Pairs> pairs = parse_uri(conninfo);
    if (!pairs) pairs = parse_pairs(conninfo);
    if (!pairs) return {};
    std::string host, hostaddr, port;
    for (const auto& [key, value] : *pairs) {  // the last of a repeated key wins, as in libpq
        if (key == "host") host = value;
        if (key == "hostaddr") hostaddr = value;
        if (key == "port") port = value;
    }
    std::string where = host.empty() ? hostaddr : host;
    std::string out;
    if (!where.empty()) out = (host.empty() ? "hostaddr=" : "host=") + where;
    if (!port.empty()) out += (out.empty() ? "" : " ") + std::string("port=") + port;
    return out;
}

ShardConninfo shard_conninfo(std::string_view conninfo, int connect_timeout_s) {
    ShardConninfo out;
    if (parse_uri(conninfo)) {
        out.error = "a URI is not accepted: give the shard's connection string in key=value form";
        return out;
    }
    std::optional<Pairs> pairs = parse_pairs(conninfo);
    if (!pairs || pairs->empty()) {
        out.error = "not a connection string in key=value form";
        return out;
    }
    // Only keys that say where and how to connect: every caller's connection uses
    // the string, and every role reads it (router_partitions, project_shard). So
    // no key that names a role or a secret (user, password, sslpassword, passfile,
    // service, options), nor one this list does not know: it is libpq 15's (which
    // PL/Proxy links here; a key it does not know failed every routed call).
    static constexpr std::string_view kAccepted[] = {
        "host", "hostaddr", "port", "dbname", "connect_timeout", "application_name", "fallback_application_name",
        "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
        "target_session_attrs", "sslmode", "sslcompression", "sslcert", "sslkey",
        "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "ssl_min_protocol_version", "ssl_max_protocol_version",
        "requirepeer", "gssencmode", "krbsrvname", "gsslib", "channel_binding"};
    bool has_timeout = false;
    for (const auto& kv : *pairs) {
        const std::string& key = kv.first;
        if (std::find(std::begin(kAccepted), std::end(kAccepted), key) == std::end(kAccepted)) {
            out.error = "the key \"" + key + "\" is not accepted in a shard's connection string";
            out.key = key;
            return out;
        }
        has_timeout |= key == "connect_timeout";
        // PL/Proxy adds the caller's name (user=...) only to a string without
        // "user=" anywhere in it: a value holding it (application_name='x_user=y')
        // made every caller connect as the router server's OS user.
        if (kv.second.find("user=") != std::string::npos) {
            out.error = "the value of \"" + key + "\" contains \"user=\", which would keep PL/Proxy from "
                        "connecting as the caller";
            out.key = key;
            return out;
        }
    }
    // Written again from the parsed pairs, every value quoted: appending to the
    // text as given could extend its last value (a trailing backslash).
    if (!has_timeout) pairs->emplace_back("connect_timeout", std::to_string(connect_timeout_s));
    // The session's settings that a shard database's owner (or a role's own
    // ALTER ROLE ... SET) could otherwise choose: the search_path that resolves
    // PL/Proxy's queries; the role, which the router's lookups (as its owner)
    // and every caller's rights depend on (a database's "SET role = x" made the
    // owner's lookups run as x, blind to the projects x cannot read); and the
    // date and interval styles in which arguments and results cross as text.
    pairs->emplace_back("options",
                        "-c search_path=pg_catalog,pg_temp -c role=none -c DateStyle=ISO,MDY -c IntervalStyle=postgres");
    for (const auto& [key, value] : *pairs) {
        if (!out.conninfo.empty()) out.conninfo += ' ';
        out.conninfo += key + "='";
        for (char c : value) {
            if (c == '\\' || c == '\'') out.conninfo += '\\';
            out.conninfo += c;
        }
        out.conninfo += '\'';
    }
    return out;
}

}  // namespace ce

