// Line diff with git's semantics (xdiff's Myers algorithm, as used by git diff and
// git merge-file without the indent heuristic), on interned line ids.
//
// Pipeline, as in xdiff: common prefix and suffix trimmed; lines that occur on one
// side only (and runs of lines with very many matches among them) set aside as
// changed; the O(ND) core on what remains; change groups slid to their canonical
// position (xdl_change_compact). See docs/reference/merge.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/memory.hpp"

namespace ce {

// One change of an edit script: old lines [old_start, old_start + old_count) are
// replaced by new lines [new_start, new_start + new_count). 0-based; an empty range
// starts at the index of the line it sits before.
struct DiffChange {
    long old_start, old_count;
    long new_start, new_count;
};

enum class DiffAlgorithm {
    myers,    // xdiff-compatible Myers (middle snake, same tie-breaking and cost cut-offs)
    dtl_onp,  // dtl's O(NP) (Wu, Manber, Myers) on the same reduced problem; kept for comparison
};

// Edit script turning a[0..na) into b[0..nb). Ids must be < id_count.
std::vector<DiffChange> diff_ids(const std::uint32_t* a, std::size_t na, const std::uint32_t* b,
                                 std::size_t nb, std::size_t id_count,
                                 DiffAlgorithm algorithm = DiffAlgorithm::myers);

// The lines of two texts (views into them) and the edit script between them.
struct LineDiff {
    std::vector<std::string_view> old_lines, new_lines;
    std::vector<DiffChange> changes;
    memory::Charge lines;  // the line views and their ids
};
LineDiff diff_lines(std::string_view old_text, std::string_view new_text,
                    DiffAlgorithm algorithm = DiffAlgorithm::myers);

struct DiffStat {
    long lines_added = 0;
    long lines_removed = 0;
};

DiffStat diff_stat(std::string_view old_text, std::string_view new_text,
                   DiffAlgorithm algorithm = DiffAlgorithm::myers);

// Unified diff (as `git diff` prints the hunks: same edit script, same hunk grouping,
// "\ No newline at end of file"), with "--- old_label" / "+++ new_label" headers.
// Empty when the texts are equal. context >= 0 (else Errc::invalid_parameter).
// Labels must not contain a line break (Errc::invalid_parameter).
std::string unified_diff(std::string_view old_text, std::string_view new_text, int context = 3,
                         std::string_view old_label = "a", std::string_view new_label = "b",
                         DiffAlgorithm algorithm = DiffAlgorithm::myers);

}  // namespace ce
