// Semantic warnings of a merge in SQL results (src/pg/semantic.hpp).
#include "pg/semantic.hpp"

#include "concurrent_edit/semantic.hpp"
#include "pg/guc.hpp"

namespace ce::pg {

std::string semantic_warnings_json(std::string_view path, std::string_view base, std::string_view ours,
                                   std::string_view theirs, const ce::MergeResult& m) {
    if (!guc_semantic_warnings || !m.clean || m.favored != 0) return "[]";
    ce::memory::Budget budget = merge_budget();
    ce::BlockStyle style = ce::block_style_for(path, base);
    return ce::semantic_warnings_json(ce::semantic_warnings(base, ours, theirs, m, style), style);
}

}  // namespace ce::pg
