// Internals shared by src/core/vclock*.cpp: the messages' pieces.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "concurrent_edit/vclock.hpp"

namespace ce::detail {

// A reason quotes at most one node id (kVClockMaxNodeBytes): it is not cut.
constexpr std::size_t kVClockReasonBytes = 2 * kVClockMaxNodeBytes;

// The DETAIL of a counter outside 0 .. 2^63-1.
std::string vclock_counter_range(std::string_view node);

// A node id for a message: JSON-quoted, shortened.
std::string vclock_quoted(std::string_view node);

// limit_exceeded for a node id of `len` bytes (0: not counted).
[[noreturn]] void vclock_node_too_long(std::size_t len);

}  // namespace ce::detail
