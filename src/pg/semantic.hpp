// Semantic warnings of a merge in SQL results (docs/reference/semantic.md): the
// semantic_warnings jsonb of merge3, write_result, preview_result, write_many and
// the revert functions. The analysis is the core's (concurrent_edit/semantic.hpp).
#pragma once

#include <string>
#include <string_view>

#include "concurrent_edit/merge.hpp"

namespace ce::pg {

// The warnings of the merge `m` of base, ours and theirs as a JSON array; "[]" when
// concurrent_edit.semantic_warnings is off, when the merge met a conflict (settled
// or not), or when no block was changed by both sides. The block style comes from
// the extension of `path` (may be empty), else from the base. Runs under
// concurrent_edit.max_merge_memory, like the merge.
std::string semantic_warnings_json(std::string_view path, std::string_view base, std::string_view ours,
                                   std::string_view theirs, const ce::MergeResult& m);

}  // namespace ce::pg
