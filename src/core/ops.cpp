// Operation ordering: op codes and priorities, validation (including dependency
// cycles), the order key and the time order. See include/concurrent_edit/ops.hpp.
#include <algorithm>
#include <cstring>
#include <optional>
#include <queue>
#include <string>
#include <utility>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"
#include "ops_internal.hpp"

namespace ce::ops {

namespace {

struct SeedOpCode {
    const char* code;
    OpKind kind;
    std::int64_t priority;
};

// The seed's table (§1.2): lower = applied first.
constexpr SeedOpCode kSeedOpCodes[] = {
    {"OP_BLOCK_SPLIT", OpKind::block_split, 1},
    {"OP_BLOCK_JOIN", OpKind::block_join, 2},
    {"OP_BLOCK_CONVERT", OpKind::block_convert, 3},
    {"OP_LIST_REPARENT", OpKind::list_reparent, 4},
    {"OP_TABLE_STRUCT", OpKind::table_struct, 5},
    {"OP_REORDER", OpKind::reorder, 6},
    {"OP_TEXT_EDIT", OpKind::text_edit, 7},
    {"OP_MARK_EDIT", OpKind::mark_edit, 7},
    {"OP_PASTE", OpKind::paste, 8},
    {"OP_IMMUTABLE_REWRITE", OpKind::immutable_rewrite, 9},
};

constexpr const char* kKnownCodes =
    "OP_BLOCK_SPLIT, OP_BLOCK_JOIN, OP_BLOCK_CONVERT, OP_LIST_REPARENT, OP_TABLE_STRUCT, OP_REORDER, "
    "OP_TEXT_EDIT, OP_MARK_EDIT, OP_PASTE, OP_IMMUTABLE_REWRITE";

template <typename T>
int cmp3(const T& a, const T& b) {
    return a < b ? -1 : (b < a ? 1 : 0);
}

int cmp_str(const std::string& a, const std::string& b) {
    int c = a.compare(b);  // char_traits<char> compares as unsigned char: bytewise
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

template <typename T>
int cmp_opt(const std::optional<T>& a, const std::optional<T>& b) {
    if (!a || !b) return cmp3(a.has_value(), b.has_value());  // absent first
    if constexpr (std::is_same_v<T, std::string>) {
        return cmp_str(*a, *b);
    } else {
        return cmp3(*a, *b);
    }
}

int cmp_deps(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (int c = cmp_str(a[i], b[i])) return c;
    }
    return cmp3(a.size(), b.size());
}

// Components after the timestamp major key shared by both orders.
int cmp_tail(const detail::Prepared& p, std::size_t a, std::size_t b) {
    if (int c = cmp3(p.replica_rank[a], p.replica_rank[b])) return c;
    if (int c = cmp3(p.minor_rank[a], p.minor_rank[b])) return c;
    if (int c = cmp3(p.code_rank[a], p.code_rank[b])) return c;
    const Operation& x = p.op(a);
    const Operation& y = p.op(b);
    if (int c = cmp_opt(x.offset, y.offset)) return c;
    if (int c = cmp_opt(x.target_block_id, y.target_block_id)) return c;
    if (int c = cmp_deps(x.dependencies, y.dependencies)) return c;
    return cmp_str(x.json, y.json);
}

// At most `max` bytes of s, cut at a UTF-8 character boundary, "..." when cut.
std::string clip(std::string_view s) { return excerpt(s); }

[[noreturn]] void invalid(const detail::Prepared& p, std::size_t i, const std::string& what, Errc code = Errc::invalid_operation,
                          std::string hint = {}) {
    Detail d;
    d.add("operation", i + 1);
    if (!p.op(i).json.empty()) d.add_json("op", p.op(i).json);
    throw Error(code, "operation " + std::to_string(i + 1) + ": " + what, d, std::move(hint));
}

// Ranks of values: the bytewise order of the distinct values (hashed first, so only
// the distinct values are sorted), starting at `first`.
// Ticks: hashing and sorting the values of a million operations takes seconds.
class Ranker {
public:
    // At most `n` distinct values: room for them from the start (growing a table of a
    // million entries moves them all in one step, which cannot check for interrupts).
    // Charged: the table's buckets and the items (up to n), and each distinct
    // value's node and entry as it comes.
    explicit Ranker(std::size_t n) : held_(n * (sizeof(void*) + 2 * sizeof(Item))) {
        ids_.reserve(n);
        items_.reserve(n);
    }
    void add(std::size_t i, std::string_view v) {
        ticker_.tick();
        auto [it, inserted] = ids_.try_emplace(v, static_cast<std::uint32_t>(distinct_.size()));
        if (inserted) {
            held_.resize(held_.bytes() + memory::hash_node_bytes(sizeof(*it)) + sizeof(std::string_view));
            distinct_.push_back(v);
        }
        items_.emplace_back(i, it->second);
    }
    void assign(std::vector<std::uint32_t>& rank, std::uint32_t first) {
        std::vector<std::uint32_t> by_value(distinct_.size());
        for (std::uint32_t k = 0; k < by_value.size(); ++k) by_value[k] = k;
        std::sort(by_value.begin(), by_value.end(), [&](std::uint32_t a, std::uint32_t b) {
            ticker_.tick();
            return distinct_[a] < distinct_[b];
        });
        std::vector<std::uint32_t> rank_of(distinct_.size());
        for (std::uint32_t k = 0; k < by_value.size(); ++k) rank_of[by_value[k]] = first + k;
        for (const auto& [i, id] : items_) rank[i] = rank_of[id];
        clear_ticking(ids_, ticker_);
        distinct_.clear();
        items_.clear();
    }

private:
    using Item = std::pair<std::size_t, std::uint32_t>;
    memory::Charge held_;
    std::unordered_map<std::string_view, std::uint32_t> ids_;
    std::vector<std::string_view> distinct_;
    std::vector<Item> items_;
    InterruptTicker ticker_;
};

// Charged: a new name's hash node (key, list, link and cached hash) and its
// string, and the list's growth.
void add_creator(detail::Prepared& p, std::string name, std::size_t i) {
    auto [it, inserted] = p.creators.try_emplace(std::move(name));
    std::vector<std::size_t>& list = it->second;
    std::size_t before = memory::vector_bytes(list.capacity(), sizeof(std::size_t));
    list.push_back(i);
    std::size_t bytes = memory::vector_bytes(list.capacity(), sizeof(std::size_t)) - before;
    if (inserted)
        bytes += memory::hash_node_bytes(sizeof(*it)) + memory::string_bytes(it->first.capacity());
    p.held.resize(p.held.bytes() + bytes);
}

}  // namespace

const char* op_kind_code(OpKind kind) noexcept {
    for (const SeedOpCode& s : kSeedOpCodes) {
        if (s.kind == kind) return s.code;
    }
    return "custom";
}

OpKind op_kind_of(std::string_view op_code) noexcept {
    for (const SeedOpCode& s : kSeedOpCodes) {
        if (op_code == s.code) return s.kind;
    }
    return OpKind::custom;
}

Priorities::Priorities() {
    for (const SeedOpCode& s : kSeedOpCodes) map_.emplace(s.code, s.priority);
}

void Priorities::set(std::string_view op_code, std::int64_t priority) {
    if (op_code.empty())
        throw Error(Errc::invalid_parameter, "priorities: an op code must not be empty", Detail().add("argument", "priorities"));
    map_[std::string(op_code)] = priority;
}

std::optional<std::int64_t> Priorities::find(std::string_view op_code) const {
    auto it = map_.find(std::string(op_code));
    if (it == map_.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> missing_fields(const Operation& op) {
    OpKind kind = op_kind_of(op.op_code);
    if (kind == OpKind::block_split && !op.offset) return {"offset"};
    if (kind == OpKind::block_join && !op.target_block_id) return {"targetBlockId"};
    return {};
}

std::string split_left_id(std::string_view block_id) { return std::string(block_id) + "_left"; }
std::string split_right_id(std::string_view block_id) { return std::string(block_id) + "_right"; }
std::string join_result_id(std::string_view block_id, std::string_view target_block_id) {
    std::string s(block_id);
    s += '+';
    s += target_block_id;
    return s;
}

Policy parse_policy(std::string_view text) {
    if (text == "fail-closed") return Policy::fail_closed;
    if (text == "merge") return Policy::merge;
    if (text == "confirm") return Policy::confirm;
    throw Error(Errc::invalid_parameter, "unknown policy \"" + clip(text) + "\"",
                Detail().add("argument", "policy").add("value", text),
                "The policy is 'fail-closed' (the default), 'merge' or 'confirm'.");
}

const char* policy_name(Policy policy) noexcept {
    switch (policy) {
        case Policy::fail_closed: return "fail-closed";
        case Policy::merge: return "merge";
        case Policy::confirm: return "confirm";
    }
    return "fail-closed";
}

const char* conflict_type_name(ConflictType type) noexcept {
    switch (type) {
        case ConflictType::direct: return "direct";
        case ConflictType::cascading: return "cascading";
        case ConflictType::dependency: return "dependency";
    }
    return "direct";
}

namespace detail {

std::string describe(const Prepared& p, std::size_t i) {
    const Operation& op = p.op(i);
    return "operation " + std::to_string(i + 1) + " (" + clip(op.op_code) + " on \"" + clip(op.block_id) + "\")";
}

namespace {

void fill(Prepared& p, const std::vector<Operation>& ops, const Priorities& priorities) {
    p.ops = &ops;
    const std::size_t n = ops.size();
    if (n > kMaxOperations)
        throw Error(Errc::limit_exceeded, "too many operations: " + std::to_string(n),
                    Detail().add("operations", n).add("limit", kMaxOperations));
    // The keys of each operation, and the clocks' texts while they are ranked.
    p.held.resize(n * (sizeof(OpKind) + sizeof(std::int64_t) + sizeof(u128) + 4 * sizeof(std::uint32_t)) +
                  memory::vector_bytes(n, sizeof(std::string)));
    p.kind.resize(n);
    p.priority.resize(n);
    p.ts_major.resize(n);
    p.block_rank.resize(n);
    p.replica_rank.assign(n, 0);
    p.minor_rank.assign(n, 0);
    p.code_rank.resize(n);
    std::vector<std::string> minor(n);
    InterruptTicker ticker(1024);
    // The kinds, and room for the names splits and joins create, from the start (see
    // Ranker).
    std::size_t created = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ticker.tick();
        p.kind[i] = op_kind_of(ops[i].op_code);
        created += p.kind[i] == OpKind::block_split ? 2 : p.kind[i] == OpKind::block_join ? 1 : 0;
    }
    p.held.resize(p.held.bytes() + created * sizeof(void*));  // the buckets
    p.creators.reserve(created);
    for (std::size_t i = 0; i < n; ++i) {
        ticker.tick();
        const Operation& op = ops[i];
        std::optional<std::int64_t> prio = priorities.find(op.op_code);
        if (!prio)
            invalid(p, i, "unknown opCode \"" + clip(op.op_code) + "\"", Errc::invalid_operation,
                    std::string("Known op codes: ") + kKnownCodes + "; others must be given a priority.");
        p.priority[i] = *prio;
        if (op.block_id.empty()) invalid(p, i, "blockId must not be empty");
        if (op.block_id.size() > kMaxBlockIdBytes)
            invalid(p, i, "blockId is longer than " + std::to_string(kMaxBlockIdBytes) + " bytes", Errc::limit_exceeded);
        if (op.offset && *op.offset < 0) invalid(p, i, "offset must not be negative");
        if (op.target_block_id) {
            if (op.target_block_id->empty()) invalid(p, i, "targetBlockId must not be empty");
            if (op.target_block_id->size() > kMaxBlockIdBytes)
                invalid(p, i, "targetBlockId is longer than " + std::to_string(kMaxBlockIdBytes) + " bytes",
                        Errc::limit_exceeded);
        }
        for (const std::string& d : op.dependencies) {
            if (d.empty()) invalid(p, i, "a dependency must be a non-empty block id");
            if (d.size() > kMaxBlockIdBytes)
                invalid(p, i, "a dependency is longer than " + std::to_string(kMaxBlockIdBytes) + " bytes",
                        Errc::limit_exceeded);
        }
        // A split without offset or a join without target is valid here (ordering
        // and detection do not need them); resolution rejects it (missing_fields).
        if (p.kind[i] == OpKind::block_split) {
            add_creator(p, split_left_id(op.block_id), i);
            add_creator(p, split_right_id(op.block_id), i);
        } else if (p.kind[i] == OpKind::block_join && op.target_block_id) {
            if (*op.target_block_id == op.block_id) invalid(p, i, "OP_BLOCK_JOIN cannot join a block with itself");
            add_creator(p, join_result_id(op.block_id, *op.target_block_id), i);
        }
        if (op.timestamp.is_clock) {
            u128 sum = 0;
            for (const VClock::Entry& e : op.timestamp.clock.entries()) sum += e.counter;
            p.ts_major[i] = sum;
            minor[i] = op.timestamp.clock.to_text();
            p.held.resize(p.held.bytes() + memory::string_bytes(minor[i].capacity()));
        } else {
            if (op.timestamp.lamport > kVClockMaxCounter) invalid(p, i, "timestamp is above 9223372036854775807");
            p.ts_major[i] = op.timestamp.lamport;
        }
    }
    // After the checks of each operation, so the error does not depend on the input order.
    for (std::size_t i = 1; i < n; ++i) {
        if (ops[i].timestamp.is_clock != ops[0].timestamp.is_clock)
            throw Error(Errc::invalid_parameter, "timestamps mix Lamport integers and vector clocks",
                        Detail()
                            .add("operation", i + 1)
                            .add("timestamp", ops[i].timestamp.is_clock ? "vector clock" : "Lamport integer")
                            .add("first_timestamp", ops[0].timestamp.is_clock ? "vector clock" : "Lamport integer"),
                        "Use one kind of timestamp for all operations of a call.");
    }
    Ranker ranker(n);
    for (std::size_t i = 0; i < n; ++i) ranker.add(i, ops[i].block_id);
    ranker.assign(p.block_rank, 0);
    for (std::size_t i = 0; i < n; ++i) ranker.add(i, ops[i].op_code);
    ranker.assign(p.code_rank, 0);
    for (std::size_t i = 0; i < n; ++i)
        if (ops[i].replica_id) ranker.add(i, *ops[i].replica_id);
    ranker.assign(p.replica_rank, 1);
    for (std::size_t i = 0; i < n; ++i) ranker.add(i, minor[i]);
    ranker.assign(p.minor_rank, 0);
    clear_ticking(minor, ticker);
    if (std::optional<Error> cycle = detail::check_cycles(p)) throw *cycle;
}

}  // namespace

Prepared prepare(const std::vector<Operation>& ops, const Priorities& priorities) {
    Prepared p;
    try {
        fill(p, ops, priorities);
    } catch (const Error& e) {
        // A refusal (a cycle is found after all the work): what was computed is freed
        // with checks. A cancel is on its way out and does not wait for them.
        if (e.code() != Errc::canceled) release(p);
        throw;
    }
    return p;
}

void release(Prepared& p) {
    InterruptTicker ticker;
    clear_ticking(p.creators, ticker);
}

int compare_order(const Prepared& p, std::size_t a, std::size_t b) {
    if (a == b) return 0;
    if (int c = cmp3(p.block_rank[a], p.block_rank[b])) return c;
    if (int c = cmp3(p.priority[a], p.priority[b])) return c;
    if (int c = cmp3(p.ts_major[a], p.ts_major[b])) return c;
    return cmp_tail(p, a, b);
}

int compare_time(const Prepared& p, std::size_t a, std::size_t b) {
    if (a == b) return 0;
    if (int c = cmp3(p.ts_major[a], p.ts_major[b])) return c;
    if (int c = cmp3(p.priority[a], p.priority[b])) return c;
    if (int c = cmp3(p.block_rank[a], p.block_rank[b])) return c;
    return cmp_tail(p, a, b);
}

namespace {

// The leading components of both orders packed in 32 bytes, so that the sort reads
// contiguous memory; the rest is compared through compare_order / compare_time.
// `major` is the timestamp major key, or its rank when a clock sum exceeds 64 bits.
struct SortKey {
    std::uint64_t major;
    std::int64_t priority;
    std::uint32_t block;
    std::uint32_t replica;
    std::uint32_t index;
};

std::vector<std::uint64_t> major_keys(const Prepared& p) {
    const std::size_t n = p.size();
    std::vector<std::uint64_t> out(n);
    const u128 max = n == 0 ? 0 : *std::max_element(p.ts_major.begin(), p.ts_major.end());
    if (max <= UINT64_MAX) {
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint64_t>(p.ts_major[i]);
        return out;
    }
    InterruptTicker ticker;
    std::vector<u128> distinct(p.ts_major);
    std::sort(distinct.begin(), distinct.end(), [&](u128 a, u128 b) {
        ticker.tick();
        return a < b;
    });
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (std::size_t i = 0; i < n; ++i) {
        ticker.tick();
        out[i] = static_cast<std::uint64_t>(std::lower_bound(distinct.begin(), distinct.end(), p.ts_major[i]) - distinct.begin());
    }
    return out;
}

template <bool TimeFirst>
std::vector<std::size_t> sorted(const Prepared& p) {
    const std::size_t n = p.size();
    // The keys while sorting, and the order the caller keeps (charged by it).
    memory::Charge work(memory::vector_bytes(n, sizeof(std::uint64_t)) + memory::vector_bytes(n, sizeof(SortKey)));
    const std::vector<std::uint64_t> major = major_keys(p);
    std::vector<SortKey> keys(n);
    for (std::size_t i = 0; i < n; ++i)
        keys[i] = SortKey{major[i], p.priority[i], p.block_rank[i], p.replica_rank[i], static_cast<std::uint32_t>(i)};
    InterruptTicker ticker(1 << 14);
    std::sort(keys.begin(), keys.end(), [&](const SortKey& a, const SortKey& b) {
        ticker.tick();
        if constexpr (TimeFirst) {
            if (a.major != b.major) return a.major < b.major;
            if (a.priority != b.priority) return a.priority < b.priority;
            if (a.block != b.block) return a.block < b.block;
        } else {
            if (a.block != b.block) return a.block < b.block;
            if (a.priority != b.priority) return a.priority < b.priority;
            if (a.major != b.major) return a.major < b.major;
        }
        if (a.replica != b.replica) return a.replica < b.replica;
        ticker.tick(compare_work(p, a.index, b.index));
        return (TimeFirst ? compare_time(p, a.index, b.index) : compare_order(p, a.index, b.index)) < 0;
    });
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; ++i) idx[i] = keys[i].index;
    return idx;
}

}  // namespace

std::vector<std::size_t> sort_by_order(const Prepared& p) { return sorted<false>(p); }
std::vector<std::size_t> sort_by_time(const Prepared& p) { return sorted<true>(p); }

bool happened_before(const Prepared& p, std::size_t a, std::size_t b) {
    const Timestamp& x = p.op(a).timestamp;
    const Timestamp& y = p.op(b).timestamp;
    if (x.is_clock) return compare(x.clock, y.clock) == Relation::before;
    return x.lamport < y.lamport;
}

}  // namespace detail

void validate(const std::vector<Operation>& ops, const Priorities& priorities) {
    detail::Prepared p = detail::prepare(ops, priorities);
    detail::release(p);
}

std::vector<std::size_t> order_operations(const std::vector<Operation>& ops, const Priorities& priorities) {
    detail::Prepared p = detail::prepare(ops, priorities);
    std::vector<std::size_t> order = detail::sort_by_order(p);
    detail::release(p);
    return order;
}

namespace detail {

std::vector<std::size_t> topological_order(std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& edges,
                                           const std::vector<char>& included, const std::vector<std::size_t>& rank,
                                           InterruptTicker& ticker) {
    std::vector<std::size_t> start(n + 1, 0);
    std::vector<std::size_t> indegree(n, 0);
    for (const auto& [from, to] : edges) {
        ticker.tick();
        ++start[from + 1];
        ++indegree[to];
    }
    for (std::size_t i = 0; i < n; ++i) start[i + 1] += start[i];
    std::vector<std::size_t> adj(edges.size());
    {
        std::vector<std::size_t> fill(start.begin(), start.end() - 1);
        for (const auto& [from, to] : edges) {
            ticker.tick();
            adj[fill[from]++] = to;
        }
    }
    using Item = std::pair<std::size_t, std::size_t>;  // rank, op
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> ready;
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!included[i]) continue;
        ++total;
        if (indegree[i] == 0) ready.emplace(rank[i], i);
    }
    std::vector<std::size_t> out;
    out.reserve(total);
    while (!ready.empty()) {
        ticker.tick();
        std::size_t i = ready.top().second;
        ready.pop();
        out.push_back(i);
        ticker.tick(start[i + 1] - start[i]);
        for (std::size_t k = start[i]; k < start[i + 1]; ++k)
            if (--indegree[adj[k]] == 0) ready.emplace(rank[adj[k]], adj[k]);
    }
    if (out.size() != total)
        throw Error(Errc::internal, "operations: the order of application has a cycle",
                    Detail().add("operations", total).add("ordered", out.size()));
    return out;
}

}  // namespace detail

}  // namespace ce::ops
