// SQL functions of the merge engine: merge3, merge_conflicts, diff, diff_stat,
// changes_overlap, resolve (src/sql/15_merge.sql, docs/reference/merge.md).
#include <string>
#include <vector>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/merge.hpp"
#include "concurrent_edit/path.hpp"
#include "pg/compat_1_0.hpp"
#include "pg/args.hpp"
#include "pg/guc.hpp"
#include "pg/json_jsonb.hpp"
#include "pg/results.hpp"
#include "pg/semantic.hpp"

namespace {

// Largest label accepted (a marker line carries it).
constexpr std::size_t kMaxLabelBytes = 1024;

std::string to_string(const ce::pg::TextArg& a) { return std::string(a.data, a.len); }

// A composite result from plain arrays.
Datum make_record(FunctionCallInfo fcinfo, const Datum* values, int n) {
    ce::pg::Record record(fcinfo);
    for (int c = 0; c < n; ++c) record.set(c, values[c]);
    return record.datum();
}

}  // namespace

// merge3(base, ours, theirs, style, favor, ours_label, base_label, theirs_label,
//        marker_size, path) -> (content text, clean boolean, conflicts integer,
//        semantic_warnings jsonb)
CE_FUNCTION(ce_merge3) {
    ce::pg::refuse_1_0_declaration(fcinfo, "merge3", 10);  // 1.0: 9 arguments, no semantic_warnings
    const std::size_t max = ce::pg::max_input_bytes();
    ce::pg::TextArg base = ce::pg::text_arg(fcinfo, 0, "base", max);
    ce::pg::TextArg ours = ce::pg::text_arg(fcinfo, 1, "ours", max);
    ce::pg::TextArg theirs = ce::pg::text_arg(fcinfo, 2, "theirs", max);
    ce::pg::TextArg style = ce::pg::text_arg(fcinfo, 3, "style", kMaxLabelBytes);
    ce::pg::TextArg favor = ce::pg::text_arg(fcinfo, 4, "favor", kMaxLabelBytes);
    ce::pg::TextArg ours_label = ce::pg::text_arg(fcinfo, 5, "ours_label", kMaxLabelBytes);
    ce::pg::TextArg base_label = ce::pg::text_arg(fcinfo, 6, "base_label", kMaxLabelBytes);
    ce::pg::TextArg theirs_label = ce::pg::text_arg(fcinfo, 7, "theirs_label", kMaxLabelBytes);
    int32 marker_size = ce::pg::int4_arg(fcinfo, 8, "marker_size");
    ce::pg::TextArg path = ce::pg::text_arg(fcinfo, 9, "path", ce::kMaxPathBytes);
    ce::MergeOptions options;
    options.style = ce::parse_merge_style(style.view());
    options.favor = ce::parse_merge_favor(favor.view());
    options.ours_label = to_string(ours_label);
    options.base_label = to_string(base_label);
    options.theirs_label = to_string(theirs_label);
    options.marker_size = marker_size;
    options.algorithm = ce::pg::diff_algorithm();
    ce::memory::Budget budget = ce::pg::merge_budget();
    ce::MergeResult r = ce::merge3(base.view(), ours.view(), theirs.view(), options);
    std::string warnings =
        ce::pg::semantic_warnings_json(path.view(), base.view(), ours.view(), theirs.view(), r);
    Datum values[4] = {ce::pg::text_datum(r.content), BoolGetDatum(r.clean), Int32GetDatum(r.conflicts),
                       ce::pg::utf8_json_datum(warnings)};
    return make_record(fcinfo, values, 4);
}

// merge_conflicts(base, ours, theirs) -> SETOF (conflict, base_start, base_count,
//   ours_start, ours_count, theirs_start, theirs_count, base, ours, theirs)
CE_FUNCTION(ce_merge_conflicts) {
    const std::size_t max = ce::pg::max_input_bytes();
    ce::pg::TextArg base = ce::pg::text_arg(fcinfo, 0, "base", max);
    ce::pg::TextArg ours = ce::pg::text_arg(fcinfo, 1, "ours", max);
    ce::pg::TextArg theirs = ce::pg::text_arg(fcinfo, 2, "theirs", max);
    ce::memory::Budget budget = ce::pg::merge_budget();
    std::vector<ce::ConflictRegion> regions =
        ce::merge_conflict_regions(base.view(), ours.view(), theirs.view(), ce::pg::diff_algorithm());
    ce::pg::SetResult result(fcinfo);
    int n = 0;
    for (const ce::ConflictRegion& r : regions) {
        std::vector<Datum> values = {Int32GetDatum(++n),
                            Int32GetDatum(r.base_start),
                            Int32GetDatum(r.base_count),
                            Int32GetDatum(r.ours_start),
                            Int32GetDatum(r.ours_count),
                            Int32GetDatum(r.theirs_start),
                            Int32GetDatum(r.theirs_count),
                            ce::pg::text_datum(r.base),
                            ce::pg::text_datum(r.ours),
                            ce::pg::text_datum(r.theirs)};
        result.add(values, std::vector<char>(10, 0));
    }
    return result.done();
}

// changes_overlap(base, current, proposed) -> SETOF (base_start, base_count,
//   current_start, current_count, proposed_start, proposed_count)
CE_FUNCTION(ce_changes_overlap) {
    const std::size_t max = ce::pg::max_input_bytes();
    ce::pg::TextArg base = ce::pg::text_arg(fcinfo, 0, "base", max);
    ce::pg::TextArg current = ce::pg::text_arg(fcinfo, 1, "current", max);
    ce::pg::TextArg proposed = ce::pg::text_arg(fcinfo, 2, "proposed", max);
    ce::memory::Budget budget = ce::pg::merge_budget();
    std::vector<ce::ConflictRegion> regions =
        ce::merge_conflict_regions(base.view(), current.view(), proposed.view(), ce::pg::diff_algorithm());
    ce::pg::SetResult result(fcinfo);
    for (const ce::ConflictRegion& r : regions) {
        std::vector<Datum> values = {Int32GetDatum(r.base_start),   Int32GetDatum(r.base_count),
                           Int32GetDatum(r.ours_start),   Int32GetDatum(r.ours_count),
                           Int32GetDatum(r.theirs_start), Int32GetDatum(r.theirs_count)};
        result.add(values, std::vector<char>(6, 0));
    }
    return result.done();
}

// diff(old, new, context, old_label, new_label) -> text (unified diff)
CE_FUNCTION(ce_diff) {
    const std::size_t max = ce::pg::max_input_bytes();
    ce::pg::TextArg old_text = ce::pg::text_arg(fcinfo, 0, "old", max);
    ce::pg::TextArg new_text = ce::pg::text_arg(fcinfo, 1, "new", max);
    int32 context = ce::pg::int4_arg(fcinfo, 2, "context");
    ce::pg::TextArg old_label = ce::pg::text_arg(fcinfo, 3, "old_label", kMaxLabelBytes);
    ce::pg::TextArg new_label = ce::pg::text_arg(fcinfo, 4, "new_label", kMaxLabelBytes);
    ce::memory::Budget budget = ce::pg::merge_budget();
    return ce::pg::text_datum(ce::unified_diff(old_text.view(), new_text.view(), context,
                                               old_label.view(), new_label.view(),
                                               ce::pg::diff_algorithm()));
}

// diff_stat(old, new) -> (lines_added integer, lines_removed integer)
CE_FUNCTION(ce_diff_stat) {
    const std::size_t max = ce::pg::max_input_bytes();
    ce::pg::TextArg old_text = ce::pg::text_arg(fcinfo, 0, "old", max);
    ce::pg::TextArg new_text = ce::pg::text_arg(fcinfo, 1, "new", max);
    ce::memory::Budget budget = ce::pg::merge_budget();
    ce::DiffStat s = ce::diff_stat(old_text.view(), new_text.view(), ce::pg::diff_algorithm());
    Datum values[2] = {Int32GetDatum(static_cast<int32>(s.lines_added)),
                       Int32GetDatum(static_cast<int32>(s.lines_removed))};
    return make_record(fcinfo, values, 2);
}

// resolve(strategy, base, ours, theirs, ours_at, theirs_at) -> (content, strategy,
//   auto_resolved, manual_intervention_required, conflicts). Not strict: the
//   timestamps are optional; the texts and the strategy are required (22004).
CE_FUNCTION(ce_resolve) {
    const std::size_t max = ce::pg::max_input_bytes();
    ce::pg::TextArg strategy = ce::pg::text_arg(fcinfo, 0, "strategy", kMaxLabelBytes);
    ce::pg::TextArg base = ce::pg::text_arg(fcinfo, 1, "base", max);
    ce::pg::TextArg ours = ce::pg::text_arg(fcinfo, 2, "ours", max);
    ce::pg::TextArg theirs = ce::pg::text_arg(fcinfo, 3, "theirs", max);
    bool has_ours_at = !PG_ARGISNULL(4), has_theirs_at = !PG_ARGISNULL(5);
    // timestamptz is an int64 Datum (microseconds); compared as such.
    long long ours_at = has_ours_at ? DatumGetInt64(PG_GETARG_DATUM(4)) : 0;
    long long theirs_at = has_theirs_at ? DatumGetInt64(PG_GETARG_DATUM(5)) : 0;
    ce::memory::Budget budget = ce::pg::merge_budget();
    ce::Resolution r = ce::resolve(strategy.view(), base.view(), ours.view(), theirs.view(),
                                   has_ours_at ? &ours_at : nullptr,
                                   has_theirs_at ? &theirs_at : nullptr, ce::pg::diff_algorithm());
    Datum values[5] = {ce::pg::text_datum(r.content), ce::pg::text_datum(r.strategy),
                       BoolGetDatum(r.auto_resolved),
                       BoolGetDatum(r.manual_intervention_required), Int32GetDatum(r.conflicts)};
    return make_record(fcinfo, values, 5);
}
