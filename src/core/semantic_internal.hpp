// Internals shared by src/core/semantic*.cpp.
#pragma once

#include <string_view>

#include "concurrent_edit/semantic.hpp"

namespace ce::detail {

// Whether `line`, inserted right after the last line of a block headed by `header`,
// continues that block: with indentation when it is more indented than the header,
// in Markdown when it is not a heading (braces: never, the closing brace ends it).
bool continues_block(BlockStyle style, std::string_view header, std::string_view line);

}  // namespace ce::detail
