// Three-way merge of JSON documents (the engine of jsonb_merge3 and of the
// optimistic-concurrency trigger for jsonb columns). Semantics: docs/reference/json_merge.md.
//
//   auto r = ce::json::merge3(&base, ours, theirs, ce::json::ArrayMode::auto_);
//   if (!r.clean) report(ce::json::conflicts_to_value(r.conflicts));
//   store(r.content);  // always a complete document; conflicting positions hold ours
//
// Properties (unit-tested and fuzzed): merge3(b, b, x) == x, merge3(b, x, b) == x and
// merge3(x, x, x) == x, all clean and identical to x (even in number spelling); the
// result is deterministic.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent_edit/json.hpp"
#include "concurrent_edit/memory.hpp"

namespace ce::json {

enum class ArrayMode {
    auto_,     // "auto": by_id where every element has a unique scalar "id", else sequence
    by_id,     // "id": arrays of objects with unique scalar ids merge by id, others atomically
    sequence,  // "sequence": three-way merge of the element sequences
    atomic,    // "atomic": an array is one value
};

// "auto", "id", "sequence" or "atomic"; anything else: ce::Error invalid_parameter with
// a hint listing them.
ArrayMode parse_array_mode(std::string_view name);
const char* array_mode_name(ArrayMode mode) noexcept;

// One step of a path: an object key, an array index (in the merged content), or an
// array element matched by its "id" (printed as {"id": <id>}).
struct PathStep {
    enum class Kind { key, index, id };
    Kind kind = Kind::key;
    std::string key;        // Kind::key
    std::size_t index = 0;  // Kind::index
    Value id;               // Kind::id
};
using Path = std::vector<PathStep>;

enum class ConflictKind {
    modify_modify,  // both sides changed a value differently
    delete_modify,  // one side deleted what the other changed
    add_add,        // both sides added different values at the same place
    sequence,       // overlapping changes of the same part of an array (path = the array)
    order,          // both sides reordered an array of elements with ids differently
};
const char* conflict_kind_name(ConflictKind kind) noexcept;  // "modify/modify", ...

struct Conflict {
    Path path;
    ConflictKind kind = ConflictKind::modify_modify;
    std::optional<Value> base, ours, theirs;  // nullopt: that side has no value there
};

struct MergeResult {
    Value content;  // complete document; at each conflict it holds ours (absent if ours deleted)
    bool clean = true;
    std::vector<Conflict> conflicts;  // in document order
    // The bytes of `conflicts` and of their paths' keys (their values charge their
    // own): a path is copied into each conflict, so deep paths of long keys under
    // many conflicts would otherwise take memory no Budget sees.
    memory::Charge conflicts_charge;
};

// `base` nullptr: no common ancestor (everything counts as added on both sides).
// Throws ce::Error limit_exceeded for inputs nested deeper than kMaxDepth and canceled
// (or whatever the interrupt hook throws) when interrupted.
MergeResult merge3(const Value* base, const Value& ours, const Value& theirs,
                   ArrayMode mode = ArrayMode::auto_);

// A path as a JSON array: keys are strings, indexes numbers, ids {"id": <id>}.
Value path_to_value(const Path& path);
// [{"path": [...], "kind": "...", "base": ..., "ours": ..., "theirs": ...}, ...] with a
// side's key absent when that side has no value there; [] when there are none.
Value conflicts_to_value(const std::vector<Conflict>& conflicts);

// Longest common subsequence of two sequences of integers (e.g. interned elements):
// for each index of `a`, the index of `b` it is matched with, or -1. The matching is
// monotone. Linear-space Myers; when a sub-problem exceeds its work budget it is left
// unmatched (a valid but coarser diff). Ticks the interrupt check.
std::vector<long> diff_match(const std::vector<int>& a, const std::vector<int>& b);

}  // namespace ce::json
