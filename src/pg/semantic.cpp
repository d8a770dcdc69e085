// Semantic warnings of a merge in SQL results (src/pg/semantic.hpp).
#include "pg/semantic.hpp"

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "concurrent_edit/semantic.hpp"
#include "pg/boundary.hpp"
#include "pg/guc.hpp"
#include "pg/values.hpp"

namespace ce::pg {

std::string semantic_warnings_json(std::string_view path, std::string_view base, std::string_view ours,
                                   std::string_view theirs, const ce::MergeResult& m) {
    if (!guc_semantic_warnings || !m.clean || m.favored != 0) return "[]";
    ce::memory::Budget budget = merge_budget();
    ce::BlockStyle style = ce::block_style_for(path, base);
    std::vector<ce::SemanticWarning> warnings = ce::semantic_warnings(base, ours, theirs, m, style);
    // The core reads a header line's bytes as UTF-8: in another encoding, the line
    // is converted first (else 'café' came out as 'caf\uFFFD'). At most four times
    // the text's limit is converted, cut at a character. Not in SQL_ASCII, whose
    // bytes have no encoding to convert from: the core's U+FFFD for bytes that are
    // not UTF-8 (the conversion validated them as UTF-8 and failed the merge, 22021).
    const int encoding = GetDatabaseEncoding();
    if (!warnings.empty() && encoding != PG_UTF8 && encoding != PG_SQL_ASCII) {
        std::vector<std::size_t> starts{0};  // of the lines of base, as far as needed
        for (ce::SemanticWarning& w : warnings) {
            const std::size_t line = static_cast<std::size_t>(w.base_line - 1);
            while (starts.size() <= line + 1 && starts.back() < base.size()) {
                std::size_t nl = base.find('\n', starts.back());
                starts.push_back(nl == std::string_view::npos ? base.size() : nl + 1);
            }
            if (line + 1 >= starts.size()) continue;
            std::string_view text = base.substr(starts[line], starts[line + 1] - starts[line]);
            const int cut = pg_call([&text] {
                return pg_mbcliplen(text.data(), static_cast<int>(std::min<std::size_t>(text.size(), INT_MAX)),
                                    static_cast<int>(4 * ce::kMaxBlockTextBytes));
            });
            w.block = ce::semantic_header_text(server_to_utf8(std::string(text.substr(0, static_cast<std::size_t>(cut)))));
        }
    }
    return ce::semantic_warnings_json(warnings, style);
}

}  // namespace ce::pg
