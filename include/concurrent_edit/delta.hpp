// Binary deltas between two versions of a text: the storage form of history.
//
// A delta rebuilds `target` from `base` with two kinds of instructions: copy a
// byte range of the base, or insert literal bytes. encode() finds the ranges with
// the merge's line diff (diff_ids on interned lines), so a version that changed a
// few lines costs about the bytes of those lines. See docs/reference/history.md.
//
// Format (version 1), all integers unsigned LEB128 varints:
//   'D' 0x01                       magic and format version
//   base_size target_size          apply() checks both
//   instructions until the end:    n = (length << 1) | kind
//     kind 0: copy   -> offset     copy base[offset, offset + length)
//     kind 1: insert -> bytes      length literal bytes
// Lengths are >= 1; instructions must produce exactly target_size bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ce::delta {

// The delta turning `base` into `target`. Throws Errc::limit_exceeded above the
// core's text limits (lines.hpp), Errc::canceled through the interrupt hook.
std::string encode(std::string_view base, std::string_view target);

// Applies `delta` to `base`. Throws Errc::invalid_binary when the delta is not
// well formed, was made for a base of another size, or reads outside the base.
std::string apply(std::string_view base, std::string_view delta);
// The same into `out` (cleared first); lets a chain reuse two buffers.
void apply_into(std::string_view base, std::string_view delta, std::string& out);

// Sizes stored in a delta's header (Errc::invalid_binary when malformed).
struct Header {
    std::size_t base_size;
    std::size_t target_size;
};
Header header(std::string_view delta);

// Which older version a new version is stored against (a skip-delta layout):
// version v's number minus one, written in base kSkipRadix, with its lowest
// non-zero digit lowered by one, plus one. Version 1 has none (0: stored in full).
// Rebuilding version v applies at most the digit sum of v - 1 deltas (at most 32
// for the first 1,000 versions, 60 for the first 65,536), and each version's
// changes are repeated in about one delta per digit position.
inline constexpr std::int64_t kSkipRadix = 16;
std::int64_t preferred_base(std::int64_t version);
// Longest chain of deltas kept: a version whose base is deeper is stored in full.
inline constexpr int kMaxDepth = 64;
// Whether a delta of `delta_bytes` is worth keeping for a text of `text_bytes`
// (else the version is stored in full).
inline bool worth_a_delta(std::size_t delta_bytes, std::size_t text_bytes) { return delta_bytes * 2 < text_bytes; }

}  // namespace ce::delta
