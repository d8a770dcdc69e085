// Where a libpq connection string points, without its secrets: the hint a hot
// standby gives when a write function is called on it names the primary from
// the standby's primary_conninfo, which may hold a password.
#pragma once

#include <string>
#include <string_view>

namespace ce {

// "host=H port=P" (hostaddr when there is no host; dbname and user are not
// kept), from a connection string in libpq's key=value syntax: values quoted
// with single quotes, backslash escapes inside quotes, whitespace around "=".
// A URI (postgresql://user:secret@host:port/db) gives its host and port the
// same way. Every other key (password, sslkey, passfile...) is dropped. Empty
// when the string names no host, hostaddr or port, or cannot be parsed.
std::string conninfo_location(std::string_view conninfo);

// The connection string the shard router gives PL/Proxy for a shard, from the
// one its administrator gave (key=value syntax only): the keys that would choose
// the role or the session's settings for every caller (user, password, service,
// options, passfile) are refused, since every caller's connection uses it;
// so is a value containing "user=" (PL/Proxy then adds no user=<caller>);
// connect_timeout is added unless given, and options pinning the remote
// session's search_path (a shard database's own search_path must not resolve
// the names in PL/Proxy's queries), role (none: the connecting role's own
// rights, whatever the database or role sets) and DateStyle/IntervalStyle
// (values cross as text). `error` is set (and `conninfo` empty) when refused,
// naming the key in `key` when one is the cause.
struct ShardConninfo {
    std::string conninfo;
    std::string error;
    std::string key;
};
ShardConninfo shard_conninfo(std::string_view conninfo, int connect_timeout_s);

}  // namespace ce
