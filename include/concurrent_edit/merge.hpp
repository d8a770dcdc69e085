// Three-way merge of texts with git's semantics (git merge-file, xdiff level
// ZEALOUS_ALNUM), built on two line edit scripts (base->ours, base->theirs)
// computed by the git-compatible Myers core (default) or by dtl's O(NP)
// (MergeOptions::algorithm).
//
// Pure C++17: no PostgreSQL header. See docs/reference/merge.md for the semantics
// and every deliberate difference from git.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/diff.hpp"

namespace ce {

enum class MergeStyle { merge, diff3, zdiff3 };
enum class MergeFavor { none, ours, theirs, union_ };

// Largest accepted marker size (git has no limit; ours keeps output bounded).
inline constexpr int kMaxMarkerSize = 100;

// How to settle one conflict region (a "hunk") instead of writing markers: git's
// checkout --ours / --theirs, merge-file --union, the base's lines, or a text.
struct HunkChoice {
    enum class Kind { keep, ours, theirs, base, union_, text };
    Kind kind = Kind::keep;  // keep: markers, as without a choice
    std::string text;        // Kind::text: the hunk's lines (a final newline is added when missing)
};
// "ours", "theirs", "base", "union" (else ce::Error(Errc::invalid_parameter)).
HunkChoice::Kind parse_hunk_choice(std::string_view);

struct MergeOptions {
    MergeStyle style = MergeStyle::merge;
    MergeFavor favor = MergeFavor::none;
    std::string ours_label = "ours", base_label = "base", theirs_label = "theirs";
    int marker_size = 7;  // 1..kMaxMarkerSize, else ce::Error(Errc::invalid_parameter)
    // Core computing the two edit scripts. Only myers gives git's output byte for
    // byte; dtl's O(NP) may choose another of several equally short scripts.
    DiffAlgorithm algorithm = DiffAlgorithm::myers;
    // With favor none and style merge: the choice for the k-th conflict region (0-based,
    // in text order); regions beyond the vector, or with Kind::keep, get markers. A
    // settled region is counted in MergeResult::favored, not in conflicts.
    const std::vector<HunkChoice>* hunks = nullptr;
};

struct ConflictRegion {          // line ranges: 1-based start and a count; an empty range (count 0)
    int base_start, base_count;  // has start = the 1-based number of the line it sits before
    int ours_start, ours_count;  // (n+1 at the end), as in unified diff hunks
    int theirs_start, theirs_count;
    std::string base, ours, theirs;  // the text of each range, line ends included
};

// One region of the merge where a side changed the base, in text order: base lines
// [base_start, +base_count) became content lines [merged_start, +merged_count); the
// region is [ours_start, +ours_count) in ours and [theirs_start, +theirs_count) in
// theirs (1-based starts, an empty range starts at the line it sits before). When the
// merge met no conflict (clean, favored == 0) the regions are exact: the lines between
// two of them are the base's, unchanged on both sides. A conflict region (side both)
// has the ranges ConflictRegion reports (plus the lines zdiff3 moved out of it, and in
// content its markers); lines both sides changed alike inside a refined conflict then
// fall between regions.
struct MergeChange {
    enum class Side {
        ours,    // only ours changed these lines (theirs' range holds the base's lines)
        theirs,  // only theirs changed them
        same,    // both sides made this very change
        both,    // both changed them differently: a conflict region (markers, or settled by
                 // favor or a hunk choice)
    };
    Side side;
    int base_start, base_count;
    int ours_start, ours_count;
    int theirs_start, theirs_count;
    int merged_start, merged_count;
};

struct MergeResult {
    std::string content;  // merged text; conflict markers where conflicts remain (or favored text)
    bool clean;           // true when no conflict remained (== (conflicts == 0))
    int conflicts;        // number of conflict regions left in content, as git merge-file's exit
                          // status counts them (0 with favor ours/theirs/union)
    std::vector<ConflictRegion> regions;  // the conflict regions left in content (empty when clean)
    int favored = 0;      // conflict regions that favor ours/theirs/union resolved in content
    std::vector<MergeChange> changes;  // every region a side changed (used by semantic.hpp)
};

MergeResult merge3(std::string_view base, std::string_view ours, std::string_view theirs,
                   const MergeOptions& options = {});

MergeStyle parse_merge_style(std::string_view);  // throws ce::Error(Errc::invalid_parameter)
MergeFavor parse_merge_favor(std::string_view);  // throws ce::Error(Errc::invalid_parameter)

// The conflict regions git would report for merge(base, ours, theirs) with favor none and
// style merge (merge3(...).regions). Used by merge_conflicts() and changes_overlap().
std::vector<ConflictRegion> merge_conflict_regions(std::string_view base, std::string_view ours,
                                                   std::string_view theirs,
                                                   DiffAlgorithm algorithm = DiffAlgorithm::myers);

// Conflict resolution strategies (the seed's vocabulary). "ours" is the current,
// first-written side, "theirs" the incoming, later one. Timestamps are opaque
// comparable integers (microseconds in the SQL layer); nullptr when unknown.
struct Resolution {
    std::string content;
    std::string strategy;  // as applied: smart-merge reports smart-merge-auto / -manual
    bool auto_resolved;
    bool manual_intervention_required;
    int conflicts;  // conflict regions left (with markers) in content
};

// Strategies: last-write-wins, first-write-wins, merge-with-markers, smart-merge,
// keep-both, timestamp. Unknown -> Errc::invalid_parameter (hint lists them);
// timestamp without both timestamps -> Errc::null_not_allowed.
Resolution resolve(std::string_view strategy, std::string_view base, std::string_view ours,
                   std::string_view theirs, const long long* ours_at = nullptr,
                   const long long* theirs_at = nullptr, DiffAlgorithm algorithm = DiffAlgorithm::myers);

}  // namespace ce
