// Deterministic ordering and conflict handling for concurrent structural operations
// of a block editor (split, join, convert, ... text edits), after the seed
// "Concurrent Operations Handling" (LFCC v0.9 RC §4.1.1). Reference:
// docs/reference/operations.md.
//
// Three functions over the same validated input (a set of Operation):
//   * order_operations    the order key (block id, priority, timestamp), then the
//                         replica id, then the remaining fields: a total order, the
//                         same for every permutation of the input and on every node;
//   * resolve_operations  which operations apply (in application order, remapped onto
//                         the blocks that splits and joins produced), which are
//                         rejected and why (a conflict, or a member the operation
//                         lacks: missing_fields), and the block mapping; with the
//                         confirm policy, the conflicts as decisions for the user;
//   * detect_conflicts    the conflicts met while resolving with the fail-closed policy
//                         (direct, cascading, dependency).
//
// Operations are plain structs; parsing JSON is the caller's business (the SQL glue
// walks jsonb). Nothing here depends on the order of the input vector except which
// of two identical operations (same canonical JSON) an index points at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "concurrent_edit/vclock.hpp"

namespace ce::ops {

// Limits (documented in docs/reference/operations.md).
constexpr std::size_t kMaxOperations = 1000000;   // per call: limit_exceeded above
constexpr std::size_t kMaxBlockIdBytes = 1024;    // block ids in the input: limit_exceeded above
constexpr std::size_t kMaxDerivedBlockIdBytes = 4096;  // ids produced by splits and joins
constexpr std::size_t kMaxMappingSegments = 4000000;   // pieces tracked by the block mapping

// What an operation does to its block. The ten seed op codes map to the first ten;
// op codes that exist only in a caller's priority table are `custom`.
enum class OpKind : unsigned char {
    block_split,
    block_join,
    block_convert,
    list_reparent,
    table_struct,
    reorder,
    text_edit,
    mark_edit,
    paste,
    immutable_rewrite,
    custom,
};
constexpr std::size_t kOpKinds = 11;

// Seed op code of a kind ("OP_BLOCK_SPLIT", ...); "custom" for custom.
const char* op_kind_code(OpKind kind) noexcept;
// Kind of a seed op code, or custom for anything else.
OpKind op_kind_of(std::string_view op_code) noexcept;

// Priorities: op code -> integer, lower first. Starts with the seed's table
// (OP_BLOCK_SPLIT 1, OP_BLOCK_JOIN 2, OP_BLOCK_CONVERT 3, OP_LIST_REPARENT 4,
// OP_TABLE_STRUCT 5, OP_REORDER 6, OP_TEXT_EDIT 7, OP_MARK_EDIT 7, OP_PASTE 8,
// OP_IMMUTABLE_REWRITE 9); set() overrides an entry or adds an op code.
class Priorities {
public:
    Priorities();
    // Throws invalid_parameter for an empty op code.
    void set(std::string_view op_code, std::int64_t priority);
    // The priority of `op_code`, or nullopt when the op code is unknown.
    std::optional<std::int64_t> find(std::string_view op_code) const;

private:
    std::unordered_map<std::string, std::int64_t> map_;
};

// A logical timestamp: a Lamport integer or a vector clock. One call takes either
// kind, not both (invalid_parameter).
struct Timestamp {
    bool is_clock = false;
    std::uint64_t lamport = 0;  // when !is_clock (0 .. INT64_MAX)
    VClock clock;               // when is_clock

    static Timestamp of_lamport(std::uint64_t value) {
        Timestamp t;
        t.lamport = value;
        return t;
    }
    static Timestamp of_clock(VClock value) {
        Timestamp t;
        t.is_clock = true;
        t.clock = std::move(value);
        return t;
    }
};

// One operation. `json` is the operation as given (the SQL glue stores jsonb's
// canonical text): it is echoed in results and is the last tie-break of the order.
struct Operation {
    std::string op_code;
    std::string block_id;
    Timestamp timestamp;
    std::optional<std::string> replica_id;
    std::optional<std::int64_t> offset;
    std::vector<std::string> dependencies;  // block ids this operation needs
    std::optional<std::string> target_block_id;
    std::string json;
};

// Name of the blocks a split or a join produces (the naming is part of the contract).
std::string split_left_id(std::string_view block_id);
std::string split_right_id(std::string_view block_id);
std::string join_result_id(std::string_view block_id, std::string_view target_block_id);

// The members resolve_operations needs beyond opCode, blockId and timestamp that `op`
// lacks, by their JSON names: "offset" for an OP_BLOCK_SPLIT without offset,
// "targetBlockId" for an OP_BLOCK_JOIN without target; empty otherwise. Ordering and
// conflict detection do not need them; resolution rejects such an operation alone.
std::vector<std::string> missing_fields(const Operation& op);

// The operations in order: indices into `ops`. Validates the input first (see
// validate()).
std::vector<std::size_t> order_operations(const std::vector<Operation>& ops, const Priorities& priorities);

// Throws ce::Error unless the set is acceptable:
//   limit_exceeded     more than kMaxOperations operations, a block id over kMaxBlockIdBytes
//   invalid_operation  unknown op code (not in `priorities`), empty block id, negative
//                      offset, a join of a block with itself, an empty dependency or
//                      target id (a split without offset or a join without
//                      targetBlockId is valid: see missing_fields)
//   invalid_parameter  Lamport integers and vector clocks mixed in one set
//   dependency_cycle   operations that need (through blockId, targetBlockId or
//                      dependencies) blocks that they create themselves, in a cycle
// The message names the operation (its position, 1-based) and the detail holds its JSON.
void validate(const std::vector<Operation>& ops, const Priorities& priorities);

// fail_closed: the later of two conflicting operations is rejected; merge: also a
// split and a join of one block (and the cascades that follow) both apply; confirm:
// the conflicts fail-closed would settle are left to the user (Resolution::pending).
enum class Policy { fail_closed, merge, confirm };
// "fail-closed", "merge" or "confirm"; invalid_parameter otherwise.
Policy parse_policy(std::string_view text);
const char* policy_name(Policy policy) noexcept;

enum class ConflictType { direct, cascading, dependency };
const char* conflict_type_name(ConflictType type) noexcept;

constexpr std::size_t kNoOp = static_cast<std::size_t>(-1);

// A conflict met while resolving: `first` is the operation that stands (applied
// earlier, or earlier in time), `second` the one it affects (rejected, or remapped
// when `rejected` is false).
struct Conflict {
    ConflictType type;
    std::string block_id;
    std::size_t first = kNoOp;
    std::size_t second = kNoOp;
    std::string reason;
    bool rejected = true;
};

// An applied operation; the optional fields are set only where the resolution moved
// the operation onto another block (or offset) than the one it names.
struct AppliedOp {
    std::size_t op = kNoOp;
    std::optional<std::string> block_id;
    std::optional<std::int64_t> offset;
    std::optional<std::string> target_block_id;
};

// A rejected operation: by a conflict (`type`, `conflicting`: kNoOp when no single
// operation is responsible), or, with no type, because it lacks the members named in
// `missing` (see missing_fields).
struct RejectedOp {
    std::size_t op = kNoOp;
    std::optional<ConflictType> type;
    std::size_t conflicting = kNoOp;
    std::string reason;
    std::vector<std::string> missing;
};

// Where a range of an original block went: offsets [from, to) of the original
// (to: nullopt = to the end) are in `block_id` from offset `at` on (nullopt: at an
// unknown position, after content of unknown length).
struct MappingEntry {
    std::string block_id;
    std::int64_t from = 0;
    std::optional<std::int64_t> to;
    std::optional<std::int64_t> at;
    bool operator==(const MappingEntry& o) const {
        return block_id == o.block_id && from == o.from && to == o.to && at == o.at;
    }
};

// Policy::confirm: a conflict that fail-closed settles by rejecting `second`, left
// to the user. The can_* flags say which choices are possible besides cancelling
// both: a party that is rejected anyway (it lacks a member, or duplicates another
// operation) cannot be applied; both apply when the merge policy, resolving the two
// operations alone, applies both.
struct Decision {
    ConflictType type;
    std::string block_id;
    std::size_t first = kNoOp;   // the operation fail-closed keeps
    std::size_t second = kNoOp;  // the operation fail-closed rejects
    std::string reason;
    bool can_apply_first = false;
    bool can_apply_second = false;
    bool can_apply_both = false;
};

// Policy::confirm: an operation whose outcome depends on a pending decision (it
// shares blocks with the operations of one, directly or through other operations).
struct WaitingOp {
    std::size_t op = kNoOp;
    std::size_t decision = 0;  // index into Resolution::pending: the first such decision
};

struct Resolution {
    Policy policy = Policy::fail_closed;
    std::vector<AppliedOp> applied;    // application order
    std::vector<RejectedOp> rejected;  // order_operations order
    std::map<std::string, std::vector<MappingEntry>> mapping;  // original block -> pieces
    std::vector<std::string> blocks;   // blocks produced and still present, sorted bytewise
    std::vector<Conflict> conflicts;   // in the order met (fail-closed's, for every policy but merge)
    std::vector<Decision> pending;     // confirm: in the order the conflicts were met
    std::vector<WaitingOp> waiting;    // confirm: order_operations order
};

Resolution resolve_operations(const std::vector<Operation>& ops, const Priorities& priorities, Policy policy);

// The conflicts of resolve_operations(ops, priorities, Policy::fail_closed) (also
// those of Policy::confirm).
std::vector<Conflict> detect_conflicts(const std::vector<Operation>& ops, const Priorities& priorities);

// Empty `r` (or `ops`) with interrupt checks: the results of a million operations
// hold millions of strings, which their destructors free without a check (a quarter
// of a second for the resolution of 600,000 splits).
void release(Resolution& r);
void release(std::vector<Operation>& ops);

// ---------------------------------------------------------------------------
// Output. The shapes (docs/reference/operations.md) are written once, by the
// templates below, to a Writer with these members:
//   begin_object() end_object() begin_array() end_array() key(string_view)
//   string(string_view) number(int64_t) null()
//   operation(ops, index, const AppliedOp* mapped)  -- the operation as given, plus
//       mappedBlockId / mappedOffset / mappedTargetBlockId where `mapped` sets them
// JsonTextWriter (below) writes JSON text; the SQL glue builds jsonb directly.

template <typename Writer>
void write_order(Writer& w, const std::vector<Operation>& ops, const std::vector<std::size_t>& order) {
    w.begin_array();
    for (std::size_t i : order) w.operation(ops, i, nullptr);
    w.end_array();
}

// Policy::confirm: the decisions and the operations waiting for them. Operations are
// identified by their position in the input (from 1) and echoed.
template <typename Writer>
void write_decisions(Writer& w, const std::vector<Operation>& ops, const Resolution& r) {
    auto numbers = [&](std::initializer_list<std::size_t> idx) {
        w.begin_array();
        for (std::size_t i : idx) w.number(static_cast<std::int64_t>(i + 1));
        w.end_array();
    };
    w.key("pending");
    w.begin_array();
    for (std::size_t k = 0; k < r.pending.size(); ++k) {
        const Decision& d = r.pending[k];
        w.begin_object();
        w.key("decision");
        w.number(static_cast<std::int64_t>(k + 1));
        w.key("conflict_type");
        w.string(conflict_type_name(d.type));
        w.key("block_id");
        w.string(d.block_id);
        w.key("reason");
        w.string(d.reason);
        w.key("operations");
        numbers({d.first, d.second});
        w.key("first_op");
        w.operation(ops, d.first, nullptr);
        w.key("second_op");
        w.operation(ops, d.second, nullptr);
        w.key("options");
        w.begin_array();
        auto option = [&](const char* choice, std::initializer_list<std::size_t> apply,
                          std::initializer_list<std::size_t> drop, const char* policy) {
            w.begin_object();
            w.key("choice");
            w.string(choice);
            w.key("apply");
            numbers(apply);
            w.key("drop");
            numbers(drop);
            if (policy != nullptr) {
                w.key("policy");
                w.string(policy);
            }
            w.end_object();
        };
        if (d.can_apply_first) option("apply_first", {d.first}, {d.second}, nullptr);
        if (d.can_apply_second) option("apply_second", {d.second}, {d.first}, nullptr);
        if (d.can_apply_both) option("apply_both", {d.first, d.second}, {}, policy_name(Policy::merge));
        option("cancel", {}, {d.first, d.second}, nullptr);
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("waiting");
    w.begin_array();
    for (const WaitingOp& x : r.waiting) {
        w.begin_object();
        w.key("op");
        w.operation(ops, x.op, nullptr);
        w.key("operation");
        w.number(static_cast<std::int64_t>(x.op + 1));
        w.key("decision");
        w.number(static_cast<std::int64_t>(x.decision + 1));
        w.end_object();
    }
    w.end_array();
}

template <typename Writer>
void write_resolution(Writer& w, const std::vector<Operation>& ops, const Resolution& r) {
    w.begin_object();
    w.key("policy");
    w.string(policy_name(r.policy));
    w.key("applied");
    w.begin_array();
    for (const AppliedOp& a : r.applied) w.operation(ops, a.op, &a);
    w.end_array();
    w.key("rejected");
    w.begin_array();
    for (const RejectedOp& x : r.rejected) {
        w.begin_object();
        w.key("op");
        w.operation(ops, x.op, nullptr);
        w.key("reason");
        w.string(x.reason);
        w.key("conflict_type");
        if (x.type) w.string(conflict_type_name(*x.type));
        else w.null();
        w.key("conflicting_op");
        if (x.conflicting == kNoOp) w.null();
        else w.operation(ops, x.conflicting, nullptr);
        if (!x.missing.empty()) {
            w.key("missing");
            w.begin_array();
            for (const std::string& m : x.missing) w.string(m);
            w.end_array();
        }
        w.end_object();
    }
    w.end_array();
    w.key("mapping");
    w.begin_object();
    for (const auto& [orig, entries] : r.mapping) {
        w.key(orig);
        w.begin_array();
        for (const MappingEntry& e : entries) {
            w.begin_object();
            w.key("block_id");
            w.string(e.block_id);
            w.key("from");
            w.number(e.from);
            w.key("to");
            if (e.to) w.number(*e.to);
            else w.null();
            w.key("at");
            if (e.at) w.number(*e.at);
            else w.null();
            w.end_object();
        }
        w.end_array();
    }
    w.end_object();
    w.key("blocks");
    w.begin_array();
    for (const std::string& b : r.blocks) w.string(b);
    w.end_array();
    if (r.policy == Policy::confirm) write_decisions(w, ops, r);
    w.end_object();
}

// A JSON string literal (quotes included) for UTF-8 or other ASCII-compatible text.
std::string json_quote(std::string_view s);

// Writes JSON text; operations are echoed from Operation::json (or rebuilt from
// their fields when it is empty).
class JsonTextWriter {
public:
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void key(std::string_view k);
    void string(std::string_view s);
    void number(std::int64_t v);
    void null();
    void operation(const std::vector<Operation>& ops, std::size_t index, const AppliedOp* mapped);
    const std::string& text() const { return out_; }

private:
    void open(char c);
    void close(char c);
    void separate();
    std::string out_;
    std::vector<bool> first_;  // per open container: nothing written yet
    bool after_key_ = false;
};

// The operation's JSON text with the mapped members added at the end.
std::string operation_json(const Operation& op, const AppliedOp* mapped = nullptr);
std::string order_json(const std::vector<Operation>& ops, const std::vector<std::size_t>& order);
std::string resolution_json(const std::vector<Operation>& ops, const Resolution& resolution);

}  // namespace ce::ops
