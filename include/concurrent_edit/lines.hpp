// Lines of a text and their interning into dense integer ids.
//
// A line is a run of bytes ending with '\n' (included); the last line of a text
// may lack it. Two lines are equal when their bytes are equal (so "a\n", "a\r\n"
// and a final "a" without newline are three different lines), as in git's xdiff
// without whitespace options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "concurrent_edit/memory.hpp"

namespace ce {

// Largest number of lines in one input. A merge needs up to about 40 bytes per line
// of its three inputs; this bound keeps a hostile input (e.g. 64 MB of newlines)
// from needing gigabytes: it is refused with Errc::limit_exceeded instead.
inline constexpr std::size_t kMaxLines = 10'000'000;
// Largest input accepted by the core (PostgreSQL's own limit for a text value).
inline constexpr std::size_t kMaxTextBytes = std::size_t(1) << 30;

// Splits `text` into lines (views into `text`). Throws Errc::limit_exceeded above
// kMaxTextBytes or kMaxLines.
std::vector<std::string_view> split_lines(std::string_view text);

// Assigns one id per distinct line content, shared by every text interned into it,
// so the three inputs of a merge are hashed once. Ids are dense: 0, 1, 2, ...
// The interned texts must outlive the interner (keys are views into them).
class LineInterner {
public:
    // expected_lines sizes the table (the total number of lines to be interned).
    explicit LineInterner(std::size_t expected_lines = 0);
    // Interns every line of `lines`; returns their ids.
    std::vector<std::uint32_t> intern(const std::vector<std::string_view>& lines);
    std::uint32_t intern(std::string_view line);
    // The same ids as intern(lines), for a text most of whose lines are those of
    // `like` (already interned, its ids `like_ids`) in the same order, as a side of
    // a merge is of its base: a line equal to the next line of `like` takes its id
    // without hashing; after a line that is not, the walk along `like` resumes
    // after the line's one occurrence there, if it occurs exactly once.
    std::vector<std::uint32_t> intern_like(const std::vector<std::string_view>& lines,
                                           const std::vector<std::string_view>& like,
                                           const std::vector<std::uint32_t>& like_ids);
    std::size_t size() const noexcept { return keys_.size(); }

private:
    void grow();
    void account();
    std::vector<std::string_view> keys_;   // id -> content
    std::vector<std::uint64_t> hashes_;    // id -> hash
    std::vector<std::uint32_t> slots_;     // open addressing: id + 1, 0 = empty
    std::size_t mask_ = 0;
    memory::Charge charge_;
};

}  // namespace ce
