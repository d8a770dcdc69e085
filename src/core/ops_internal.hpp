// Internals shared by src/core/ops*.cpp: the validated, pre-computed form of an
// operation set and the two total orders over it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/memory.hpp"
#include "concurrent_edit/ops.hpp"

namespace ce::ops::detail {

using u128 = unsigned __int128;

// The input after validate(), with the sort keys computed once.
struct Prepared {
    const std::vector<Operation>* ops = nullptr;
    std::vector<OpKind> kind;
    std::vector<std::int64_t> priority;
    // Timestamp key: a Lamport value, or for a vector clock the sum of its counters
    // (a happened-before b implies sum(a) < sum(b)); the canonical clock text is the
    // minor key.
    std::vector<u128> ts_major;
    // Ranks of the string components among the distinct values of the set (bytewise
    // order; an absent replica id ranks 0), so the sorts compare integers.
    std::vector<std::uint32_t> block_rank, replica_rank, minor_rank, code_rank;
    // Blocks each split or join creates (static names) -> the operations creating them.
    std::unordered_map<std::string, std::vector<std::size_t>> creators;
    // What the members above take, charged to the caller's Budget
    // (max_merge_memory) as they are made.
    memory::Charge held;

    const Operation& op(std::size_t i) const { return (*ops)[i]; }
    std::size_t size() const { return ops->size(); }
};

// Validates `ops` (throws like ce::ops::validate) and computes the keys.
Prepared prepare(const std::vector<Operation>& ops, const Priorities& priorities);
// The dependency cycle of the set, as the error to throw (ops_cycles.cpp); nullopt
// when there is none.
std::optional<Error> check_cycles(const Prepared& p);
// Frees what prepare() computed, with interrupt checks (the names of the blocks that
// splits and joins create: millions of strings for the largest inputs).
void release(Prepared& p);

// The order key: (block id, priority, timestamp major, replica id, timestamp minor,
// op code, offset, target block id, dependencies, JSON text). <0, 0, >0.
int compare_order(const Prepared& p, std::size_t a, std::size_t b);
// The time order: the same components with the timestamp major key moved first
// (timestamp major, priority, block id, replica id, ...). A linear extension of
// happened-before for vector clocks.
int compare_time(const Prepared& p, std::size_t a, std::size_t b);

// The work of compare_order / compare_time on a and b for an InterruptTicker: one
// step, and one per KiB of the shorter JSON text (the last tie-break compares the
// texts, which may be megabytes when everything else is equal).
inline std::size_t compare_work(const Prepared& p, std::size_t a, std::size_t b) {
    const std::size_t x = p.op(a).json.size(), y = p.op(b).json.size();
    return 1 + (x < y ? x : y) / 1024;
}

// All indices sorted by compare_order / compare_time.
std::vector<std::size_t> sort_by_order(const Prepared& p);
std::vector<std::size_t> sort_by_time(const Prepared& p);

// a happened before b: Lamport a < b, or vector clock a before b.
bool happened_before(const Prepared& p, std::size_t a, std::size_t b);

// "operation 3 (OP_BLOCK_SPLIT on "X")" for messages (1-based position).
std::string describe(const Prepared& p, std::size_t i);

// Kahn's algorithm over the operations i with included[i], edges (from, to) all
// between included operations: smallest rank[i] first among the ready ones. An
// internal error when the edges have a cycle.
std::vector<std::size_t> topological_order(std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& edges,
                                           const std::vector<char>& included, const std::vector<std::size_t>& rank,
                                           InterruptTicker& ticker);

}  // namespace ce::ops::detail
