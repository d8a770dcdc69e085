// Property: any permutation of the same operation set yields the identical order,
// the identical conflicts and the identical resolution (every policy; confirm up to
// the input positions it reports), or the same kind of error. Random sets over a small universe of block ids (including the ids
// splits and joins produce, so remapping, joins of derived blocks, dependencies and
// id collisions all occur), each shuffled many times.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/ops.hpp"

using namespace ce::ops;

namespace {

const char* const kBlocks[] = {"A", "B", "C", "A_left", "A_right", "B_left", "A+B", "A_left+B", "C_right", "A_right_left"};
const char* const kCodes[] = {"OP_BLOCK_SPLIT", "OP_BLOCK_JOIN",  "OP_BLOCK_CONVERT", "OP_LIST_REPARENT",
                              "OP_TABLE_STRUCT", "OP_REORDER",    "OP_TEXT_EDIT",     "OP_MARK_EDIT",
                              "OP_PASTE",        "OP_IMMUTABLE_REWRITE", "X_CUSTOM"};

struct Gen {
    std::mt19937_64 rng;
    explicit Gen(std::uint64_t seed) : rng(seed) {}
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
    bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }

    // Small sets draw block ids from kBlocks[0..blocks); large ones (pool > 0) from
    // "b<k>" for k < pool and the ids splits and joins of those produce.
    std::size_t pool = 0;
    std::string block(std::size_t blocks) {
        if (pool == 0) return kBlocks[pick(blocks)];
        std::string b = "b" + std::to_string(pick(pool));
        std::size_t v = pick(100);
        if (v < 15) return b + "_left";
        if (v < 25) return b + "_right";
        if (v < 35) return b + "+b" + std::to_string(pick(pool));
        return b;
    }

    Operation op(bool clocks, std::size_t blocks) {
        Operation o;
        // Structural operations and text edits dominate, as in an editor.
        std::size_t c = chance(40) ? pick(2) : (chance(50) ? 6 + pick(3) : pick(11));
        o.op_code = kCodes[c];
        o.block_id = block(blocks);
        if (clocks) {
            ce::VClock v;
            for (const char* node : {"a", "b", "c"})
                if (chance(60)) v.set(node, pick(4));
            o.timestamp = Timestamp::of_clock(v);
        } else {
            o.timestamp = Timestamp::of_lamport(pick(12));
        }
        if (chance(60)) o.replica_id = "r" + std::to_string(pick(3));
        // Now and then a split without offset or a join without target (rejected
        // alone by the resolution; ordering and detection work without them).
        if ((c == 0 && !chance(8)) || chance(70)) o.offset = static_cast<std::int64_t>(pick(6) * 10);
        if ((c == 1 && !chance(8)) || chance(10)) {
            do o.target_block_id = block(blocks);
            while (*o.target_block_id == o.block_id);
        }
        if (chance(pool == 0 ? 20 : 3)) o.dependencies.push_back(block(blocks));
        if (chance(pool == 0 ? 5 : 1)) o.dependencies.push_back(block(blocks));
        return o;
    }
};

struct Outcome {
    std::string error;  // "kind" when validation failed
    std::string order, resolved_fail_closed, resolved_merge, resolved_confirm, conflicts;
    bool operator==(const Outcome& o) const {
        return error == o.error && order == o.order && resolved_fail_closed == o.resolved_fail_closed &&
               resolved_merge == o.resolved_merge && resolved_confirm == o.resolved_confirm && conflicts == o.conflicts;
    }
};

// The confirm result with the operations' JSON in place of their input positions
// (which a permutation changes).
std::string confirm_text(const std::vector<Operation>& ops, Resolution r) {
    std::string s;
    for (const Decision& d : r.pending)
        s += std::string(conflict_type_name(d.type)) + "|" + d.block_id + "|" + d.reason + "|" +
             operation_json(ops[d.first]) + "|" + operation_json(ops[d.second]) + "|" +
             std::to_string(d.can_apply_first) + std::to_string(d.can_apply_second) + std::to_string(d.can_apply_both) +
             "\n";
    for (const WaitingOp& w : r.waiting) s += operation_json(ops[w.op]) + " waits for " + std::to_string(w.decision) + "\n";
    r.policy = Policy::fail_closed;  // the rest without the positions
    return s + resolution_json(ops, r);
}

// Confirm results with decisions, waiting and applied operations at once.
std::size_t mixed_confirm_results = 0;

// Confirm: each operation applied, rejected, waiting or a pending party, once; the
// applied ones exactly as fail-closed applies them; without decisions, fail-closed.
void check_confirm(const std::vector<Operation>& ops, const Resolution& fc, const Resolution& r) {
    std::vector<int> seen(ops.size(), 0);
    for (const AppliedOp& a : r.applied) ++seen[a.op];
    for (const RejectedOp& x : r.rejected) ++seen[x.op];
    for (const WaitingOp& w : r.waiting) {
        ++seen[w.op];
        ASSERT_LT(w.decision, r.pending.size());
    }
    std::vector<char> party(ops.size(), 0);
    for (const Decision& d : r.pending) {
        party[d.first] = party[d.second] = 1;
        EXPECT_TRUE(d.can_apply_first || !d.can_apply_both);
    }
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (party[i] && seen[i] == 0) seen[i] = 1;  // pending
        ASSERT_EQ(seen[i], 1) << operation_json(ops[i]);
    }
    for (const AppliedOp& a : r.applied) {
        EXPECT_FALSE(party[a.op]);
        auto it = std::find_if(fc.applied.begin(), fc.applied.end(), [&](const AppliedOp& b) { return b.op == a.op; });
        ASSERT_NE(it, fc.applied.end());
        EXPECT_TRUE(it->block_id == a.block_id && it->offset == a.offset && it->target_block_id == a.target_block_id);
    }
    for (const std::string& b : r.blocks) EXPECT_TRUE(std::binary_search(fc.blocks.begin(), fc.blocks.end(), b));
    if (!r.pending.empty() && !r.waiting.empty() && !r.applied.empty()) ++mixed_confirm_results;
    if (r.pending.empty()) {
        Resolution as_fc = r;
        as_fc.policy = Policy::fail_closed;
        EXPECT_EQ(resolution_json(ops, as_fc), resolution_json(ops, fc));
    }
}

std::string conflicts_text(const std::vector<Operation>& ops, const std::vector<Conflict>& cs) {
    std::string s;
    for (const Conflict& c : cs) {
        s += std::string(conflict_type_name(c.type)) + "|" + c.block_id + "|" +
             (c.first == kNoOp ? "-" : operation_json(ops[c.first])) + "|" + operation_json(ops[c.second]) + "|" +
             c.reason + (c.rejected ? "|rejected\n" : "|moved\n");
    }
    return s;
}

// Applied + rejected is the whole set, each operation once; an operation lacking a
// member the resolution needs is never applied.
void check_accounting(const std::vector<Operation>& ops, const Resolution& r) {
    std::vector<int> seen(ops.size(), 0);
    for (const AppliedOp& a : r.applied) {
        ++seen[a.op];
        EXPECT_TRUE(missing_fields(ops[a.op]).empty()) << operation_json(ops[a.op]);
    }
    for (const RejectedOp& x : r.rejected) {
        ++seen[x.op];
        EXPECT_EQ(x.type.has_value(), x.missing.empty());
        if (!x.missing.empty()) {
            EXPECT_EQ(x.missing, missing_fields(ops[x.op]));
        }
    }
    for (std::size_t i = 0; i < ops.size(); ++i) ASSERT_EQ(seen[i], 1) << operation_json(ops[i]);
    for (const std::string& b : r.blocks) EXPECT_FALSE(b.empty());
}

Outcome outcome(const std::vector<Operation>& ops, const Priorities& p) {
    Outcome o;
    try {
        o.order = order_json(ops, order_operations(ops, p));
        Resolution fc = resolve_operations(ops, p, Policy::fail_closed);
        Resolution mg = resolve_operations(ops, p, Policy::merge);
        Resolution cf = resolve_operations(ops, p, Policy::confirm);
        check_accounting(ops, fc);
        check_accounting(ops, mg);
        check_confirm(ops, fc, cf);
        o.resolved_fail_closed = resolution_json(ops, fc);
        o.resolved_merge = resolution_json(ops, mg);
        o.resolved_confirm = confirm_text(ops, cf);
        o.conflicts = conflicts_text(ops, detect_conflicts(ops, p));
        EXPECT_EQ(o.conflicts, conflicts_text(ops, fc.conflicts));
    } catch (const ce::Error& e) {
        o.error = ce::errc_name(e.code());
    }
    return o;
}

void run_property(std::uint64_t seed, int sets, std::size_t max_size, int shuffles, bool clocks,
                  std::size_t* valid_sets, std::size_t* with_rejections, bool large = false) {
    Gen g(seed);
    Priorities p;
    p.set("X_CUSTOM", 4);
    for (int s = 0; s < sets; ++s) {
        std::size_t n = large ? max_size : 1 + g.pick(max_size);
        g.pool = large ? n / 8 : 0;
        std::size_t blocks = 3 + g.pick(std::size(kBlocks) - 2);
        std::vector<Operation> ops;
        for (std::size_t i = 0; i < n; ++i) ops.push_back(g.op(clocks, blocks));
        if (g.chance(20)) ops.push_back(ops[g.pick(ops.size())]);  // an exact duplicate
        Outcome base = outcome(ops, p);
        if (base.error.empty()) ++*valid_sets;
        else EXPECT_EQ(base.error, "dependency_cycle");
        if (base.resolved_fail_closed.find("\"rejected\": []") == std::string::npos) ++*with_rejections;
        for (int k = 0; k < shuffles; ++k) {
            std::shuffle(ops.begin(), ops.end(), g.rng);
            Outcome other = outcome(ops, p);
            ASSERT_TRUE(other == base) << "set " << s << " shuffle " << k << "\norder:\n"
                                       << base.order << "\n" << other.order << "\nfail-closed:\n"
                                       << base.resolved_fail_closed << "\n" << other.resolved_fail_closed
                                       << "\nmerge:\n" << base.resolved_merge << "\n" << other.resolved_merge
                                       << "\nconfirm:\n" << base.resolved_confirm << "\n" << other.resolved_confirm
                                       << "\nconflicts:\n" << base.conflicts << "\n" << other.conflicts;
        }
    }
}

}  // namespace

TEST(OpsProperty, PermutationsGiveIdenticalResultsLamport) {
    std::size_t valid = 0, rejections = 0;
    mixed_confirm_results = 0;
    run_property(20261122, 400, 24, 12, false, &valid, &rejections);
    // The generator must mostly produce valid sets with conflicts to resolve.
    EXPECT_GT(valid, 300u);
    EXPECT_GT(rejections, 200u);
    EXPECT_GT(mixed_confirm_results, 500u);
}

TEST(OpsProperty, PermutationsGiveIdenticalResultsVectorClocks) {
    std::size_t valid = 0, rejections = 0;
    run_property(77, 300, 24, 12, true, &valid, &rejections);
    EXPECT_GT(valid, 200u);
    EXPECT_GT(rejections, 150u);
}

TEST(OpsProperty, PermutationsOfLargeSets) {
    std::size_t valid = 0, rejections = 0;
    run_property(4242, 4, 3000, 3, false, &valid, &rejections, true);
    run_property(4343, 4, 3000, 3, true, &valid, &rejections, true);
    EXPECT_GE(valid, 6u);
    EXPECT_GE(rejections, 6u);
}
