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

}  // namespace ce
