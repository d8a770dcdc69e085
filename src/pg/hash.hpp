// Content hashes (files.content_hash, file_versions.content_hash, the ETags of
// write()): the lowercase hex SHA-256 of a text's bytes, computed by PostgreSQL's
// pg_cryptohash (OpenSSL in Debian's build). The core needs no hash without a server,
// so it has none.
#pragma once

#include <string>
#include <string_view>

namespace ce::pg {

constexpr std::size_t kContentHashChars = 64;

// The hash of `data`; a failure of the hash library is raised as a PostgreSQL
// error (through pg_call: safe while C++ objects are alive).
std::string content_hash(std::string_view data);
// Writes the 64 characters (no terminator) into out.
void content_hash(std::string_view data, char out[kContentHashChars]);
// True for 64 lowercase hex digits: the form content_hash() returns.
bool is_content_hash(std::string_view s) noexcept;

}  // namespace ce::pg
