// SQL-callable JSON merge: concurrent_edit.jsonb_merge3.
#include <optional>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/json_merge.hpp"
#include "pg/args.hpp"
#include "pg/guc.hpp"
#include "pg/json_jsonb.hpp"
#include "pg/results.hpp"

// jsonb_merge3(base jsonb, ours jsonb, theirs jsonb, array_mode text DEFAULT 'auto',
//              OUT content jsonb, OUT clean boolean, OUT conflicts jsonb)
// Not STRICT: base NULL means "no common ancestor"; ours, theirs, array_mode NULL: 22004.
CE_FUNCTION(ce_jsonb_merge3) {
    const std::size_t limit = ce::pg::max_input_bytes();
    ce::pg::require_arg(fcinfo, 1, "ours");
    ce::pg::require_arg(fcinfo, 2, "theirs");
    ce::pg::TextArg mode = ce::pg::text_arg(fcinfo, 3, "array_mode", limit);
    Jsonb* base = ce::pg::jsonb_arg(fcinfo, 0, "base", limit, true);
    Jsonb* ours = ce::pg::jsonb_arg(fcinfo, 1, "ours", limit);
    Jsonb* theirs = ce::pg::jsonb_arg(fcinfo, 2, "theirs", limit);
    const ce::json::ArrayMode array_mode = ce::json::parse_array_mode(mode.view());
    Datum values[3];
    // A side unchanged byte for byte: the result is the other side, exactly as
    // merge3 would compute it, without converting the documents.
    Jsonb* unchanged_result = nullptr;
    if (ce::pg::same_bytes(ours, theirs)) unchanged_result = ours;
    else if (base != nullptr && ce::pg::same_bytes(base, ours)) unchanged_result = theirs;
    else if (base != nullptr && ce::pg::same_bytes(base, theirs)) unchanged_result = ours;
    if (unchanged_result != nullptr) {
        values[0] = PointerGetDatum(unchanged_result);
        values[1] = BoolGetDatum(true);
        values[2] = ce::pg::jsonb_datum(ce::json::Value::array({}));
    } else {
        // Ours and theirs share the nodes of their base's identical subtrees (of ours'
        // when there is no base), so the merge holds little more than one document
        // and the differences.
        ce::memory::Budget budget = ce::pg::merge_budget();
        std::optional<ce::json::Value> b;
        if (base != nullptr) b = ce::pg::jsonb_to_value(base, "base");
        std::optional<ce::json::Value> o, t;
        {
            std::optional<ce::json::Interner> interner;
            if (b) interner.emplace(*b);
            o = ce::pg::jsonb_to_value(ours, "ours", interner ? &*interner : nullptr);
            if (!interner) interner.emplace(*o);
            t = ce::pg::jsonb_to_value(theirs, "theirs", &*interner);
        }
        const ce::json::MergeResult r = ce::json::merge3(b ? &*b : nullptr, *o, *t, array_mode);
        values[0] = ce::pg::jsonb_datum(r.content);
        values[1] = BoolGetDatum(r.clean);
        values[2] = ce::pg::jsonb_datum(ce::json::conflicts_to_value(r.conflicts));
    }
    ce::pg::Record record(fcinfo);
    for (int c = 0; c < 3; ++c) record.set(c, values[c]);
    return record.datum();
}
