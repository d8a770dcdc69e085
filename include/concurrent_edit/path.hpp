// Normalization of project-relative file paths.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ce {

// Longest path accepted, in bytes (before and after normalization).
constexpr std::size_t kMaxPathBytes = 4096;

// Normalizes a project-relative path so that spellings of one file compare equal:
//   backslashes become '/', repeated slashes collapse, leading and trailing slashes
//   and "." segments are removed, ".." removes the previous segment.
// Case is preserved (file systems are case-sensitive). Throws ce::Error:
//   invalid_parameter  empty result, ".." above the project root, NUL or control chars
//   limit_exceeded     longer than kMaxPathBytes
std::string normalize_path(std::string_view path);

}  // namespace ce
