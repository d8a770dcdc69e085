// libFuzzer target for operation ordering and resolution (concurrent_edit/ops.hpp).
//
// The input bytes describe a set of operations (op codes, block ids drawn from a
// small alphabet that includes the ids splits and joins produce, Lamport or vector
// clock timestamps, replicas, offsets, targets, dependencies). Properties (a
// violation traps):
//  * validation throws only documented kinds; a valid set orders to a permutation;
//  * the order, the conflicts and the three resolutions are identical for the set
//    reversed and rotated (no dependence on input positions; confirm's decisions
//    and waiting operations compared by the operations, not their positions);
//  * every operation is applied or rejected exactly once; detect_conflicts equals
//    the fail-closed resolution's conflicts; mapping pieces have from <= to;
//  * a split without offset or a join without target (the decoder leaves them out
//    now and then) passes validation and is never applied: it is rejected for the
//    member it lacks (no conflict type) or by a conflict;
//  * confirm: no decision party and nothing outside applied, rejected, waiting or
//    the decisions; what it applies, fail-closed applies alike.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/ops.hpp"

using namespace ce::ops;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

const char* const kBlocks[] = {"A", "B", "C", "A_left", "A_right", "A+B", "B_left", "A_right_left", "A_left+B", "C+A"};
const char* const kCodes[] = {"OP_BLOCK_SPLIT", "OP_BLOCK_JOIN", "OP_BLOCK_CONVERT", "OP_LIST_REPARENT",
                              "OP_TABLE_STRUCT", "OP_REORDER", "OP_TEXT_EDIT", "OP_MARK_EDIT",
                              "OP_PASTE", "OP_IMMUTABLE_REWRITE", "Z_CUSTOM", "OP_UNKNOWN"};

struct Reader {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t next() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
};

std::vector<Operation> decode(const std::uint8_t* data, std::size_t size, bool& clocks) {
    Reader r{data, size};
    std::uint8_t flags = r.next();
    clocks = flags & 1;
    std::vector<Operation> ops;
    while (r.n > 0 && ops.size() < 64) {
        Operation o;
        std::uint8_t a = r.next(), b = r.next(), c = r.next(), d = r.next();
        o.op_code = kCodes[a % 12];
        o.block_id = kBlocks[(a >> 4) % 10];
        if (clocks) {
            ce::VClock v;
            v.set("n1", b & 3);
            v.set("n2", (b >> 2) & 3);
            if (b & 0x80) v.set("n3", 1);
            o.timestamp = Timestamp::of_clock(v);
            if ((flags & 2) && ops.size() == 3) o.timestamp = Timestamp::of_lamport(1);  // mixed kinds
        } else {
            o.timestamp = Timestamp::of_lamport(b & 15);
        }
        if (c & 1) o.replica_id = std::string(1, static_cast<char>('p' + ((c >> 1) & 3)));
        if (c & 8) o.offset = static_cast<std::int64_t>((c >> 4) * 10) - ((flags & 4) && (c & 0x10) && (d & 0x40) ? 170 : 0);
        if (d & 1) o.target_block_id = kBlocks[(d >> 1) % 10];
        if (d & 0x20) o.dependencies.push_back(kBlocks[(d >> 2) % 10]);
        if ((d & 0x80) && (c & 4)) o.dependencies.push_back(kBlocks[c % 10]);
        o.json = operation_json(o);
        ops.push_back(std::move(o));
    }
    return ops;
}

struct Outcome {
    bool ok = false;
    ce::Errc error{};
    std::string order, fail_closed, merge, confirm, conflicts;
    bool operator==(const Outcome& o) const {
        return ok == o.ok && (!ok ? error == o.error
                                  : order == o.order && fail_closed == o.fail_closed && merge == o.merge &&
                                        confirm == o.confirm && conflicts == o.conflicts);
    }
};

std::string conflicts_text(const std::vector<Operation>& ops, const std::vector<Conflict>& cs) {
    std::string s;
    for (const Conflict& c : cs)
        s += std::string(conflict_type_name(c.type)) + c.block_id + (c.first == kNoOp ? "-" : ops[c.first].json) +
             ops[c.second].json + c.reason + (c.rejected ? "R" : "M") + "\n";
    return s;
}

void check_resolution(const std::vector<Operation>& ops, const Resolution& r) {
    std::vector<int> seen(ops.size(), 0);
    for (const AppliedOp& a : r.applied) {
        ++seen.at(a.op);
        check(missing_fields(ops[a.op]).empty());
    }
    for (const RejectedOp& x : r.rejected) {
        ++seen.at(x.op);
        check(x.type.has_value() == x.missing.empty());
        check(x.missing.empty() || x.missing == missing_fields(ops[x.op]));
    }
    for (int s : seen) check(s == 1);
    for (const auto& [orig, entries] : r.mapping) {
        check(!entries.empty());
        for (const MappingEntry& e : entries) {
            check(e.from >= 0 && (!e.to || *e.to >= e.from) && (!e.at || *e.at >= 0));
            check(std::binary_search(r.blocks.begin(), r.blocks.end(), e.block_id));
        }
    }
    check(std::is_sorted(r.blocks.begin(), r.blocks.end()));
}

// Checks a confirm resolution against fail-closed's; returns it as text with the
// operations in place of their positions.
std::string check_confirm(const std::vector<Operation>& ops, const Resolution& fc, Resolution cf) {
    std::vector<int> seen(ops.size(), 0);
    std::vector<char> party(ops.size(), 0);
    std::string s;
    for (const Decision& d : cf.pending) {
        check(d.first != d.second && (d.can_apply_first || !d.can_apply_both));
        party.at(d.first) = party.at(d.second) = 1;
        s += ops[d.first].json + ops[d.second].json + d.reason + char('0' + d.can_apply_both) + "\n";
    }
    for (const WaitingOp& w : cf.waiting) {
        check(!party.at(w.op) && w.decision < cf.pending.size());
        ++seen[w.op];
        s += ops[w.op].json + std::to_string(w.decision) + "\n";
    }
    for (const RejectedOp& x : cf.rejected) ++seen.at(x.op);
    for (const AppliedOp& a : cf.applied) {
        check(!party.at(a.op));
        ++seen[a.op];
        bool same = false;
        for (const AppliedOp& b : fc.applied)
            same = same || (b.op == a.op && b.block_id == a.block_id && b.offset == a.offset &&
                            b.target_block_id == a.target_block_id);
        check(same);
    }
    for (std::size_t i = 0; i < ops.size(); ++i) check(seen[i] + (party[i] && seen[i] == 0) == 1);
    cf.policy = Policy::fail_closed;
    return s + resolution_json(ops, cf);
}

Outcome run(const std::vector<Operation>& ops, const Priorities& p) {
    Outcome out;
    try {
        std::vector<std::size_t> order = order_operations(ops, p);
        std::vector<std::size_t> sorted = order;
        std::sort(sorted.begin(), sorted.end());
        for (std::size_t i = 0; i < sorted.size(); ++i) check(sorted[i] == i);
        out.order = order_json(ops, order);
        Resolution fc = resolve_operations(ops, p, Policy::fail_closed);
        Resolution mg = resolve_operations(ops, p, Policy::merge);
        check_resolution(ops, fc);
        check_resolution(ops, mg);
        out.fail_closed = resolution_json(ops, fc);
        out.merge = resolution_json(ops, mg);
        out.confirm = check_confirm(ops, fc, resolve_operations(ops, p, Policy::confirm));
        out.conflicts = conflicts_text(ops, detect_conflicts(ops, p));
        check(out.conflicts == conflicts_text(ops, fc.conflicts));
        out.ok = true;
    } catch (const ce::Error& e) {
        check(e.code() == ce::Errc::invalid_operation || e.code() == ce::Errc::dependency_cycle ||
              e.code() == ce::Errc::invalid_parameter);
        out.error = e.code();
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bool clocks = false;
    std::vector<Operation> ops = decode(data, size, clocks);
    Priorities p;
    p.set("Z_CUSTOM", size % 11);
    Outcome base = run(ops, p);
    std::vector<Operation> other(ops.rbegin(), ops.rend());
    check(run(other, p) == base);
    if (ops.size() > 2) {
        std::rotate(other.begin(), other.begin() + static_cast<std::ptrdiff_t>(size % other.size()), other.end());
        check(run(other, p) == base);
    }
    return 0;
}
