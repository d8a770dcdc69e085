// Error kinds of the pure C++ core.
//
// The core never knows about SQLSTATEs: it throws ce::Error with a kind, and the
// PostgreSQL glue (src/pg/boundary.cpp) maps each kind to one specific SQLSTATE.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace ce {

enum class Errc {
    invalid_parameter,  // an argument value is not acceptable          -> 22023
    invalid_text,       // malformed text representation of a value      -> 22P02
    invalid_json,       // malformed or unsupported JSON document        -> 22032
    null_not_allowed,   // a required value is missing                   -> 22004
    out_of_range,       // a number does not fit                         -> 22003
    limit_exceeded,     // input larger than a documented limit          -> 54000
    invalid_operation,  // a structural operation is malformed           -> VC010
    dependency_cycle,   // operations depend on each other in a cycle    -> VC011
    duplicate_key,      // a key (e.g. a vclock node) appears twice       -> 22030
    invalid_binary,     // malformed binary (wire or storage) value       -> 22P03
    canceled,           // the interrupt hook asked the core to stop     -> 57014
    internal,           // a bug: an invariant of the core was violated  -> VC999
};

class Error : public std::runtime_error {
public:
    Error(Errc code, const std::string& message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message), code_(code), detail_(std::move(detail)), hint_(std::move(hint)) {}

    Errc code() const noexcept { return code_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    Errc code_;
    std::string detail_;
    std::string hint_;
};

// Longest excerpt of an input quoted in a message.
constexpr std::size_t kEchoBytes = 64;
// The first `max` bytes of `s`, cut at a UTF-8 character boundary, with "..." when
// cut: what a message may quote of an input (an argument may be megabytes).
std::string excerpt(std::string_view s, std::size_t max = kEchoBytes);

// The DETAIL of an error: a JSON object built key by key, e.g.
//   Detail().add("argument", "marker_size").add("value", 0)
// Texts are cut with excerpt() (an argument may be megabytes; a sentence of ours that
// quotes bounded input may pass a larger max_bytes); add_json() takes a
// value that is already JSON (cut to kEchoBytes * 16 bytes, else given as a string).
class Detail {
public:
    Detail& add(std::string_view key, std::string_view text, std::size_t max_bytes = kEchoBytes);
    Detail& add(std::string_view key, const char* text) { return add(key, std::string_view(text)); }
    Detail& add(std::string_view key, const std::string& text) { return add(key, std::string_view(text)); }
    // A boolean as JSON true or false (not as the integer it would promote to).
    Detail& add(std::string_view key, bool b) { return add_json(key, b ? "true" : "false"); }
    Detail& add(std::string_view key, long long n);
    Detail& add(std::string_view key, unsigned long long n);
    Detail& add(std::string_view key, int n) { return add(key, static_cast<long long>(n)); }
    Detail& add(std::string_view key, long n) { return add(key, static_cast<long long>(n)); }
    Detail& add(std::string_view key, unsigned long n) { return add(key, static_cast<unsigned long long>(n)); }
    Detail& add(std::string_view key, unsigned int n) { return add(key, static_cast<unsigned long long>(n)); }
    Detail& add_json(std::string_view key, std::string_view json);
    operator std::string() const { return out_.empty() ? "{}" : out_ + "}"; }

private:
    void key(std::string_view k);
    std::string out_;
};

// Short name of an error kind, for diagnostics and tests.
const char* errc_name(Errc code) noexcept;

}  // namespace ce
