// Operation ordering and conflict resolution (include/concurrent_edit/ops.hpp):
// the seed's cases (§5, §6), the order key, validation, the compatibility rules.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/ops.hpp"
#include "ops_test_util.hpp"
#include "test_util.hpp"

using ce::Errc;
using namespace ce::ops;
using namespace ce::ops_test;

// ---------------------------------------------------------------------------
// Order

TEST(OpsOrder, SeedSortExample) {  // seed §6.1 "sorts operations deterministically"
    std::vector<Operation> ops = {Op("OP_BLOCK_JOIN", "B", 10).tgt("C"), Op("OP_BLOCK_SPLIT", "A", 15).off(1),
                                  Op("OP_BLOCK_SPLIT", "A", 5).off(2)};
    auto order = order_operations(ops, kDefault);
    EXPECT_EQ(labels(ops, order), (Strings{"BLOCK_SPLIT A@5", "BLOCK_SPLIT A@15", "BLOCK_JOIN B@10"}));
    EXPECT_EQ(ops[order[0]].timestamp.lamport, 5u);
    EXPECT_EQ(ops[order[0]].block_id, "A");
}

TEST(OpsOrder, KeyIsBlockThenPriorityThenTimestampThenReplica) {
    std::vector<Operation> ops = {
        Op("OP_TEXT_EDIT", "b", 1),            Op("OP_PASTE", "a", 1),
        Op("OP_TEXT_EDIT", "a", 9),            Op("OP_BLOCK_SPLIT", "a", 20).off(3),
        Op("OP_TEXT_EDIT", "a", 9).rep("r2"),  Op("OP_TEXT_EDIT", "a", 9).rep("r1"),
        Op("OP_MARK_EDIT", "a", 9),            Op("OP_IMMUTABLE_REWRITE", "B", 0),
    };
    auto order = order_operations(ops, kDefault);
    // "B" < "a" < "b" bytewise; MARK_EDIT and TEXT_EDIT share priority 7: no replica
    // first, then the op code decides (bytewise); replicas r1 < r2.
    EXPECT_EQ(labels(ops, order), (Strings{"IMMUTABLE_REWRITE B@0", "BLOCK_SPLIT a@20", "MARK_EDIT a@9",
                                           "TEXT_EDIT a@9", "TEXT_EDIT a@9/r1", "TEXT_EDIT a@9/r2", "PASTE a@1",
                                           "TEXT_EDIT b@1"}));
}

TEST(OpsOrder, BlockIdsCompareBytewise) {
    std::vector<Operation> ops = {Op("OP_TEXT_EDIT", "\xc3\xa9", 1), Op("OP_TEXT_EDIT", "z", 1),
                                  Op("OP_TEXT_EDIT", "Z", 1), Op("OP_TEXT_EDIT", "X_left", 1), Op("OP_TEXT_EDIT", "X", 1)};
    auto order = order_operations(ops, kDefault);
    EXPECT_EQ(labels(ops, order),
              (Strings{"TEXT_EDIT X@1", "TEXT_EDIT X_left@1", "TEXT_EDIT Z@1", "TEXT_EDIT z@1", "TEXT_EDIT \xc3\xa9@1"}));
}

TEST(OpsOrder, FieldsBreakRemainingTies) {
    Operation a = Op("OP_TEXT_EDIT", "a", 1).off(5);
    Operation b = Op("OP_TEXT_EDIT", "a", 1).off(4);
    Operation c = Op("OP_TEXT_EDIT", "a", 1);
    Operation d = Op("OP_TEXT_EDIT", "a", 1).off(4);
    d.json = "{\"x\": 1}";
    std::vector<Operation> ops = {a, d, b, c};
    auto order = order_operations(ops, kDefault);
    EXPECT_EQ(order, (std::vector<std::size_t>{3, 2, 1, 0}));  // no offset, 4, 4 + json, 5
}

TEST(OpsOrder, PriorityOverrides) {
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "a", 1).off(1), Op("OP_TEXT_EDIT", "a", 1), Op("MY_OP", "a", 1)};
    EXPECT_CE_ERROR(order_operations(ops, kDefault), Errc::invalid_operation);
    Priorities p;
    p.set("MY_OP", -1);
    p.set("OP_TEXT_EDIT", 0);
    EXPECT_EQ(labels(ops, order_operations(ops, p)), (Strings{"MY_OP a@1", "TEXT_EDIT a@1", "BLOCK_SPLIT a@1"}));
    EXPECT_CE_ERROR(p.set("", 1), Errc::invalid_parameter);
    EXPECT_EQ(kDefault.find("OP_BLOCK_SPLIT"), 1);
    EXPECT_EQ(kDefault.find("OP_MARK_EDIT"), 7);
    EXPECT_EQ(kDefault.find("OP_IMMUTABLE_REWRITE"), 9);
    EXPECT_FALSE(kDefault.find("MY_OP"));
}

TEST(OpsOrder, VectorClocksRespectHappenedBefore) {
    // c1 < c2 < c3 causally; d is concurrent with c2 and has the same counter sum.
    std::vector<Operation> ops = {
        Op("OP_TEXT_EDIT", "a", vc("{\"n1\": 2, \"n2\": 1}")).rep("z"),  // c3
        Op("OP_TEXT_EDIT", "a", vc("{\"n1\": 1}")).rep("z"),             // c1
        Op("OP_TEXT_EDIT", "a", vc("{\"n2\": 1}")).rep("a"),             // d (sum 1, concurrent with c1)
        Op("OP_TEXT_EDIT", "a", vc("{\"n1\": 1, \"n2\": 1}")).rep("y"),  // c2
        Op("OP_TEXT_EDIT", "a", vc("{\"n1\": 2}")).rep("b"),             // concurrent with c2, same sum
    };
    auto order = order_operations(ops, kDefault);
    // Sum first (a linear extension of happened-before), then replica id for the
    // concurrent ones with equal sums.
    EXPECT_EQ(order, (std::vector<std::size_t>{2, 1, 4, 3, 0}));
    ops.push_back(Op("OP_TEXT_EDIT", "a", 3));
    EXPECT_CE_ERROR(order_operations(ops, kDefault), Errc::invalid_parameter);
    // Counter sums beyond 64 bits still order by happened-before.
    const char* max3 = "{\"a\": 9223372036854775807, \"b\": 9223372036854775807, \"c\": 9223372036854775807}";
    const char* less = "{\"a\": 9223372036854775807, \"b\": 9223372036854775807}";  // sum 2^64 - 2
    std::vector<Operation> wide = {Op("OP_TEXT_EDIT", "a", vc(max3)), Op("OP_TEXT_EDIT", "a", vc("{\"a\": 1}")),
                                   Op("OP_TEXT_EDIT", "a", vc(less))};
    EXPECT_EQ(order_operations(wide, kDefault), (std::vector<std::size_t>{1, 2, 0}));
}

TEST(OpsOrder, StrictWeakOrderingOnRandomSets) {
    // Irreflexive, asymmetric, transitive, and equal only for identical operations.
    std::uint64_t seed = 12345;
    auto rnd = [&](std::uint64_t n) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return (seed >> 33) % n;
    };
    const char* codes[] = {"OP_BLOCK_SPLIT", "OP_TEXT_EDIT", "OP_MARK_EDIT", "OP_PASTE"};
    std::vector<Operation> ops;
    for (int i = 0; i < 60; ++i) {
        Op op(codes[rnd(4)], std::string(1, static_cast<char>('a' + rnd(3))), rnd(4));
        op.off(static_cast<std::int64_t>(rnd(3)));
        if (rnd(2)) op.rep(rnd(2) ? "r1" : "r2");
        ops.push_back(op);
    }
    auto order = order_operations(ops, kDefault);
    std::vector<std::size_t> pos(ops.size());
    for (std::size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
    for (std::size_t i = 1; i < order.size(); ++i) {
        const Operation& x = ops[order[i - 1]];
        const Operation& y = ops[order[i]];
        // Adjacent elements are in key order (a spot check of the comparator).
        auto key = [](const Operation& o) {
            return std::make_tuple(o.block_id, *kDefault.find(o.op_code), o.timestamp.lamport, o.replica_id.has_value(),
                                   o.replica_id.value_or(""), o.op_code, o.offset);
        };
        EXPECT_LE(key(x), key(y));
    }
}

// ---------------------------------------------------------------------------
// Validation

TEST(OpsValidate, InvalidOperations) {
    auto bad = [](Operation o) { return std::vector<Operation>{o}; };
    EXPECT_CE_ERROR(validate(bad(Op("OP_NOPE", "a", 1)), kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate(bad(Op("OP_TEXT_EDIT", "", 1)), kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate(bad(Op("OP_TEXT_EDIT", "a", 1).off(-1)), kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate(bad(Op("OP_BLOCK_JOIN", "a", 1).tgt("a")), kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate(bad(Op("OP_TEXT_EDIT", "a", 1).tgt("")), kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate(bad(Op("OP_TEXT_EDIT", "a", 1).dep("")), kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate(bad(Op("OP_TEXT_EDIT", std::string(kMaxBlockIdBytes + 1, 'x'), 1)), kDefault),
                    Errc::limit_exceeded);
    Operation big = Op("OP_TEXT_EDIT", "a", 1);
    big.timestamp.lamport = ce::kVClockMaxCounter + 1;
    EXPECT_CE_ERROR(validate(bad(big), kDefault), Errc::invalid_operation);
    validate(bad(Op("OP_TEXT_EDIT", std::string(kMaxBlockIdBytes, 'x'), 1)), kDefault);
    validate({}, kDefault);
    // The message names the operation (1-based) and the JSON detail holds its number and JSON.
    Operation named = Op("OP_NOPE", "a", 1);
    named.json = "{\"opCode\": \"OP_NOPE\"}";
    try {
        validate({Op("OP_TEXT_EDIT", "a", 1), named}, kDefault);
        ADD_FAILURE();
    } catch (const ce::Error& e) {
        EXPECT_EQ(std::string(e.what()), "operation 2: unknown opCode \"OP_NOPE\"");
        EXPECT_EQ(e.detail(), "{\"operation\": 2, \"op\": " + named.json + "}");
    }
}

TEST(OpsValidate, DependencyCycles) {
    // An operation needing a block it creates itself.
    EXPECT_CE_ERROR(validate({Op("OP_BLOCK_SPLIT", "X", 1).off(3).dep("X_left")}, kDefault), Errc::dependency_cycle);
    // Two splits each needing the other's result.
    std::vector<Operation> two = {Op("OP_BLOCK_SPLIT", "A", 1).off(3).dep("B_left"),
                                  Op("OP_BLOCK_SPLIT", "B", 2).off(3).dep("A_right")};
    try {
        validate(two, kDefault);
        ADD_FAILURE();
    } catch (const ce::Error& e) {
        EXPECT_EQ(e.code(), Errc::dependency_cycle);
        EXPECT_EQ(std::string(e.what()),
                  "dependency cycle: operation 1 (OP_BLOCK_SPLIT on \"A\") needs block \"B_left\", created by "
                  "operation 2 (OP_BLOCK_SPLIT on \"B\"), which needs block \"A_right\", created by operation 1 "
                  "(OP_BLOCK_SPLIT on \"A\")");
        EXPECT_EQ(e.detail(), "{\"cycle\": [1, 2], \"cycle_length\": 2}");
    }
    // Through a blockId: the join works on X_left (made by the split), the split
    // needs the join's result.
    EXPECT_CE_ERROR(validate({Op("OP_BLOCK_JOIN", "X_left", 2).tgt("Y"), Op("OP_BLOCK_SPLIT", "X", 1).off(3).dep("X_left+Y")},
                             kDefault),
                    Errc::dependency_cycle);
    // A chain is fine.
    validate({Op("OP_BLOCK_SPLIT", "X", 1).off(3), Op("OP_BLOCK_JOIN", "X_left", 2).tgt("Y").dep("X_left"),
              Op("OP_TEXT_EDIT", "Q", 3).dep("X_left+Y")},
             kDefault);
}

// A long cycle is named in part: its first 16 operations and its length, in a message
// and a DETAIL of bounded size (a cycle of 200,000 operations made an 18 MB message,
// written to the server log too).
TEST(OpsValidate, LongCycleIsNamedInPart) {
    auto cycle = [](std::size_t n) {
        std::vector<Operation> ops;
        for (std::size_t i = 0; i < n; ++i)
            ops.push_back(Op("OP_BLOCK_SPLIT", "d" + std::to_string(i), i + 1).off(1).dep("d" + std::to_string((i + 1) % n) + "_left"));
        return ops;
    };
    auto error = [](const std::vector<Operation>& ops) {
        try {
            validate(ops, kDefault);
        } catch (const ce::Error& e) {
            EXPECT_EQ(e.code(), Errc::dependency_cycle);
            return e;
        }
        ADD_FAILURE() << "no cycle found";
        return ce::Error(Errc::internal, "");
    };
    // Up to 16 operations: all of them.
    ce::Error e16 = error(cycle(16));
    EXPECT_EQ(e16.detail(), "{\"cycle\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], \"cycle_length\": 16}");
    EXPECT_NE(std::string(e16.what()).find("which needs block \"d0_left\", created by operation 1 (OP_BLOCK_SPLIT on \"d0\")"),
              std::string::npos);
    EXPECT_EQ(std::string(e16.what()).find("..."), std::string::npos);
    // Beyond: the first 16 and the length.
    ce::Error e17 = error(cycle(17));
    EXPECT_EQ(std::string(e17.what()).rfind("dependency cycle of 17 operations: operation 1 (OP_BLOCK_SPLIT on \"d0\") "
                                            "needs block \"d1_left\", created by operation 2 (OP_BLOCK_SPLIT on \"d1\"), ",
                                            0),
              0u);
    EXPECT_NE(std::string(e17.what()).find("which needs block \"d16_left\", created by operation 17 (OP_BLOCK_SPLIT on "
                                           "\"d16\"), ... back to operation 1"),
              std::string::npos);
    EXPECT_EQ(e17.detail(), "{\"cycle\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], \"cycle_length\": 17}");
    ce::Error big = error(cycle(100000));
    EXPECT_LT(std::string(big.what()).size(), 4000u);
    EXPECT_EQ(big.detail(), "{\"cycle\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], \"cycle_length\": 100000}");
    EXPECT_TRUE(ce::json::parse(big.detail()).is_object());
}

TEST(OpsValidate, Policies) {
    EXPECT_EQ(parse_policy("fail-closed"), Policy::fail_closed);
    EXPECT_EQ(parse_policy("merge"), Policy::merge);
    EXPECT_CE_ERROR(parse_policy("fail_closed"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(parse_policy(""), Errc::invalid_parameter);
}

// ---------------------------------------------------------------------------
// Conflicts and resolution: the seed's examples

TEST(OpsResolve, SeedSplitAgainstEarlierJoin) {  // seed §5.1, §6.1 "detects direct conflicts"
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 10).off(50), Op("OP_BLOCK_JOIN", "X", 5).tgt("Y")};
    auto conflicts = detect_conflicts(ops, kDefault);
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_EQ(conflicts[0].type, ConflictType::direct);
    EXPECT_EQ(conflicts[0].block_id, "X");
    EXPECT_EQ(conflicts[0].first, 1u);
    EXPECT_EQ(conflicts[0].second, 0u);
    EXPECT_EQ(conflicts[0].reason, "Block X no longer exists (joined with Y)");

    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_JOIN X@5"}));
    ASSERT_EQ(r.rejected.size(), 1u);  // seed §6.1 "resolves conflicts fail-closed"
    EXPECT_EQ(r.rejected[0].op, 0u);
    EXPECT_EQ(r.rejected[0].reason, "Block X no longer exists (joined with Y)");
    EXPECT_EQ(r.blocks, (Strings{"X+Y"}));
    EXPECT_EQ(r.mapping.at("X"), (std::vector<MappingEntry>{{"X+Y", 0, std::nullopt, 0}}));
    EXPECT_EQ(r.mapping.at("Y"), (std::vector<MappingEntry>{{"X+Y", 0, std::nullopt, std::nullopt}}));
}

TEST(OpsResolve, SeedSplitJoinMergePolicy) {  // seed §5.1 "Alternative (if merge possible)"
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 10).off(50), Op("OP_BLOCK_JOIN", "X", 5).tgt("Y")};
    Resolution r = resolve_operations(ops, kDefault, Policy::merge);
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_SPLIT X@10", "BLOCK_JOIN X@5"}));
    EXPECT_EQ(r.applied[1].block_id, "X_right");  // the join's source ends with X_right
    EXPECT_EQ(r.blocks, (Strings{"X_left", "X_right+Y"}));
    EXPECT_EQ(r.mapping.at("X"), (std::vector<MappingEntry>{{"X_left", 0, 50, 0}, {"X_right+Y", 50, std::nullopt, 0}}));
    // With the join applied first (priorities), the split moves onto the joined block:
    // the seed's Z_left / Z_right.
    Priorities p;
    p.set("OP_BLOCK_JOIN", 0);
    r = resolve_operations(ops, p, Policy::merge);
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_JOIN X@5", "BLOCK_SPLIT X@10"}));
    EXPECT_EQ(r.applied[1].block_id, "X+Y");
    EXPECT_FALSE(r.applied[1].offset);  // X starts the joined block: same offset
    EXPECT_EQ(r.blocks, (Strings{"X+Y_left", "X+Y_right"}));
    // Y starts after X, whose length is unknown: its place in the pieces is unknown.
    EXPECT_EQ(r.mapping.at("Y"), (std::vector<MappingEntry>{{"X+Y_left", 0, std::nullopt, std::nullopt},
                                                            {"X+Y_right", 0, std::nullopt, std::nullopt}}));
}

TEST(OpsResolve, SeedConcurrentSplits) {  // seed §5.2
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 15).off(60), Op("OP_BLOCK_SPLIT", "X", 10).off(30)};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_SPLIT X@10", "BLOCK_SPLIT X@15"}));
    EXPECT_FALSE(r.applied[0].block_id);
    EXPECT_EQ(r.applied[1].block_id, "X_right");
    EXPECT_EQ(r.applied[1].offset, 30);
    EXPECT_EQ(r.blocks, (Strings{"X_left", "X_right_left", "X_right_right"}));
    EXPECT_EQ(r.mapping.at("X"), (std::vector<MappingEntry>{{"X_left", 0, 30, 0},
                                                            {"X_right_left", 30, 60, 0},
                                                            {"X_right_right", 60, std::nullopt, 0}}));
    ASSERT_EQ(r.conflicts.size(), 1u);  // a cascading update, not a rejection
    EXPECT_EQ(r.conflicts[0].type, ConflictType::cascading);
    EXPECT_FALSE(r.conflicts[0].rejected);
    EXPECT_EQ(r.conflicts[0].reason, "Block X was split at offset 30: operation moved to X_right at offset 30");
}

TEST(OpsResolve, SeedDependencyConflict) {  // seed §2.1 type 3
    // Operation 2 joins X_left (made by operation 1) with Y, but its timestamp is earlier.
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 10).off(30),
                                  Op("OP_BLOCK_JOIN", "X_left", 5).tgt("Y").dep("X_left")};
    auto conflicts = detect_conflicts(ops, kDefault);
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_EQ(conflicts[0].type, ConflictType::dependency);
    EXPECT_EQ(conflicts[0].block_id, "X_left");
    EXPECT_EQ(conflicts[0].first, 0u);
    EXPECT_EQ(conflicts[0].second, 1u);
    EXPECT_EQ(conflicts[0].reason,
              "Operation OP_BLOCK_JOIN depends on block X_left, created by OP_BLOCK_SPLIT on block X, but its timestamp "
              "is not after that operation's");
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_SPLIT X@10"}));
    // In the right order both apply.
    ops[1].timestamp.lamport = 11;
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(r.blocks, (Strings{"X_left+Y", "X_right"}));
    EXPECT_EQ(r.mapping.at("X"), (std::vector<MappingEntry>{{"X_left+Y", 0, 30, 0}, {"X_right", 30, std::nullopt, 0}}));
    EXPECT_EQ(r.mapping.at("Y"), (std::vector<MappingEntry>{{"X_left+Y", 0, std::nullopt, 30}}));  // X_left is 30 long
    // Equal Lamport timestamps: not happened-before.
    ops[1].timestamp.lamport = 10;
    EXPECT_EQ(detect_conflicts(ops, kDefault).at(0).type, ConflictType::dependency);
}

TEST(OpsResolve, DependencyOnRejectedCreator) {
    std::vector<Operation> ops = {Op("OP_BLOCK_JOIN", "X", 1).tgt("Y"), Op("OP_BLOCK_SPLIT", "X", 2).off(3),
                                  Op("OP_TEXT_EDIT", "Q", 3).dep("X_left")};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"TEXT_EDIT Q@3", "BLOCK_SPLIT X@2"}));
    EXPECT_EQ(r.rejected[0].type, ConflictType::dependency);
    EXPECT_EQ(r.rejected[0].reason,
              "Operation OP_TEXT_EDIT depends on block X_left, created by OP_BLOCK_SPLIT on block X, which was rejected");
}

TEST(OpsResolve, DependencyOnVectorClocks) {
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", vc("{\"a\": 1}")).off(3),
                                  Op("OP_TEXT_EDIT", "X_left", vc("{\"b\": 5}")).dep("X_left")};
    // Concurrent clocks: the dependency did not happen before.
    EXPECT_EQ(detect_conflicts(ops, kDefault).at(0).type, ConflictType::dependency);
    ops[1].timestamp.clock.set("a", 1);
    EXPECT_TRUE(detect_conflicts(ops, kDefault).empty());
}

TEST(OpsResolve, SplitRemapsTextEdits) {
    std::vector<Operation> ops = {Op("OP_TEXT_EDIT", "X", 1).off(40), Op("OP_TEXT_EDIT", "X", 20).off(10),
                                  Op("OP_MARK_EDIT", "X", 3).off(30), Op("OP_BLOCK_SPLIT", "X", 5).off(30),
                                  Op("OP_PASTE", "X", 2)};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(applied_labels(ops, r),
              (Strings{"BLOCK_SPLIT X@5", "TEXT_EDIT X@1", "MARK_EDIT X@3", "TEXT_EDIT X@20"}));
    EXPECT_EQ(r.applied[1].block_id, "X_right");  // 40 -> X_right at 10
    EXPECT_EQ(r.applied[1].offset, 10);
    EXPECT_EQ(r.applied[2].block_id, "X_right");  // 30 (the split point) -> X_right at 0
    EXPECT_EQ(r.applied[2].offset, 0);
    EXPECT_EQ(r.applied[3].block_id, "X_left");   // 10 -> X_left, same offset
    EXPECT_FALSE(r.applied[3].offset);
    // A paste without offset cannot be placed on either piece.
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"PASTE X@2"}));
    EXPECT_EQ(r.rejected[0].type, ConflictType::cascading);
    EXPECT_EQ(r.rejected[0].reason,
              "Block X no longer exists (split at offset 30) and the operation has no offset to place it");
}

TEST(OpsResolve, RemapThroughSeveralSplits) {
    std::vector<Operation> ops = {Op("OP_TEXT_EDIT", "X", 20).off(70), Op("OP_BLOCK_SPLIT", "X", 15).off(60),
                                  Op("OP_BLOCK_SPLIT", "X", 10).off(30)};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_SPLIT X@10", "BLOCK_SPLIT X@15", "TEXT_EDIT X@20"}));
    EXPECT_EQ(r.applied[2].block_id, "X_right_right");
    EXPECT_EQ(r.applied[2].offset, 10);
    // One cascading row per moved operation: the first replacement and the final place.
    ASSERT_EQ(r.conflicts.size(), 2u);
    EXPECT_EQ(r.conflicts[1].first, 2u);
    EXPECT_EQ(r.conflicts[1].second, 0u);
    EXPECT_EQ(r.conflicts[1].reason, "Block X was split at offset 30: operation moved to X_right_right at offset 10");
}

TEST(OpsResolve, StructuralConflictsFailClosed) {
    // Seed §2.1 type 1: convert vs split, join vs split; the earlier one wins.
    std::vector<Operation> ops = {Op("OP_BLOCK_CONVERT", "X", 5), Op("OP_BLOCK_SPLIT", "X", 6).off(1)};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_SPLIT X@6"}));
    EXPECT_EQ(r.rejected[0].type, ConflictType::direct);
    EXPECT_EQ(r.rejected[0].reason, "Operation OP_BLOCK_SPLIT conflicts with OP_BLOCK_CONVERT on block X");
    // The split first: the convert names a block that is gone (cascading).
    ops[1].timestamp.lamport = 4;
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_CONVERT X@5"}));
    EXPECT_EQ(r.rejected[0].type, ConflictType::cascading);
    EXPECT_EQ(r.rejected[0].reason, "Block X no longer exists (split at offset 1)");
    // Join then split on X_... : the seed's "Join block X with Y AND split block X".
    ops = {Op("OP_BLOCK_JOIN", "X", 1).tgt("Y"), Op("OP_BLOCK_SPLIT", "X", 1).off(2)};
    r = resolve_operations(ops, kDefault, Policy::fail_closed);  // equal timestamps: priority decides
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_JOIN X@1"}));
    EXPECT_EQ(r.rejected[0].reason, "Block X no longer exists (split at offset 2)");
}

TEST(OpsResolve, CompatibilityMatrix) {
    // Pairs on one block, the first earlier: rejected (true) or not.
    struct Case {
        const char* a;
        const char* b;
        bool conflict;
    };
    const Case cases[] = {
        {"OP_BLOCK_SPLIT", "OP_BLOCK_SPLIT", false},      {"OP_BLOCK_SPLIT", "OP_TEXT_EDIT", false},
        {"OP_BLOCK_SPLIT", "OP_BLOCK_CONVERT", true},     {"OP_BLOCK_SPLIT", "OP_REORDER", true},
        {"OP_BLOCK_SPLIT", "OP_IMMUTABLE_REWRITE", true}, {"OP_BLOCK_JOIN", "OP_TEXT_EDIT", false},
        {"OP_BLOCK_JOIN", "OP_BLOCK_JOIN", true},         {"OP_BLOCK_CONVERT", "OP_TEXT_EDIT", false},
        {"OP_BLOCK_CONVERT", "OP_LIST_REPARENT", true},   {"OP_TABLE_STRUCT", "OP_TEXT_EDIT", true},
        {"OP_REORDER", "OP_PASTE", false},                {"OP_REORDER", "OP_IMMUTABLE_REWRITE", false},
        {"OP_LIST_REPARENT", "OP_IMMUTABLE_REWRITE", false}, {"OP_TEXT_EDIT", "OP_IMMUTABLE_REWRITE", true},
        {"OP_IMMUTABLE_REWRITE", "OP_IMMUTABLE_REWRITE", true}, {"OP_TEXT_EDIT", "OP_MARK_EDIT", false},
        {"OP_PASTE", "OP_TEXT_EDIT", false},              {"CUSTOM", "OP_TEXT_EDIT", true},
    };
    Priorities p;
    p.set("CUSTOM", 5);
    for (const Case& c : cases) {
        for (bool swap : {false, true}) {
            Op x(swap ? c.b : c.a, "B", 1), y(swap ? c.a : c.b, "B", 2);
            x.off(3).tgt(std::string(x.o.op_code) == "OP_BLOCK_JOIN" ? "J1" : "T");
            y.off(5).tgt(std::string(y.o.op_code) == "OP_BLOCK_JOIN" ? "J2" : "T");
            Resolution r = resolve_operations({x, y}, p, Policy::fail_closed);
            EXPECT_EQ(r.rejected.size(), c.conflict ? 1u : 0u) << x.o.op_code << " then " << y.o.op_code;
            if (c.conflict && !r.rejected.empty()) {
                EXPECT_EQ(r.rejected[0].op, 1u);  // the later one
            }
        }
    }
}

TEST(OpsResolve, JoinTargetCascades) {
    // Seed §2.1 type 2: an operation on Y after Y was joined into X+Y.
    std::vector<Operation> ops = {Op("OP_BLOCK_JOIN", "X", 5).tgt("Y"), Op("OP_TEXT_EDIT", "Y", 6).off(2),
                                  Op("OP_TEXT_EDIT", "X", 7).off(2)};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"TEXT_EDIT Y@6"}));
    EXPECT_EQ(r.rejected[0].type, ConflictType::cascading);
    EXPECT_EQ(r.rejected[0].reason, "Block Y no longer exists (joined with X)");
    EXPECT_EQ(r.applied[1].block_id, "X+Y");  // an edit of X moves onto X+Y, same offset
    EXPECT_FALSE(r.applied[1].offset);
    // An edit of Y made before the join is applied before it, whatever the block names.
    ops = {Op("OP_BLOCK_JOIN", "A", 5).tgt("Y"), Op("OP_TEXT_EDIT", "Y", 4).off(2)};
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(applied_labels(ops, r), (Strings{"TEXT_EDIT Y@4", "BLOCK_JOIN A@5"}));
    // Two joins consuming the same block.
    ops = {Op("OP_BLOCK_JOIN", "A", 5).tgt("Y"), Op("OP_BLOCK_JOIN", "B", 6).tgt("Y")};
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_JOIN B@6"}));
    EXPECT_EQ(r.rejected[0].reason, "Block Y no longer exists (joined with A)");
}

TEST(OpsResolve, MergePolicyFollowsJoinsAndSplits) {
    // A join whose target was split earlier: the target moves to its left piece.
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "Y", 1).off(4), Op("OP_BLOCK_JOIN", "A", 2).tgt("Y")};
    EXPECT_EQ(resolve_operations(ops, kDefault, Policy::fail_closed).rejected.size(), 1u);
    Resolution r = resolve_operations(ops, kDefault, Policy::merge);
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(r.applied[1].target_block_id, "Y_left");
    EXPECT_EQ(r.blocks, (Strings{"A+Y_left", "Y_right"}));
    // Joins in a chain: A+Y then Y+Z (Y's end is the end of A+Y).
    ops = {Op("OP_BLOCK_JOIN", "A", 1).tgt("Y"), Op("OP_BLOCK_JOIN", "Y", 2).tgt("Z")};
    EXPECT_EQ(resolve_operations(ops, kDefault, Policy::fail_closed).rejected.size(), 1u);
    r = resolve_operations(ops, kDefault, Policy::merge);
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(r.blocks, (Strings{"A+Y+Z"}));
    // A join of two blocks that are already one.
    ops = {Op("OP_BLOCK_JOIN", "A", 1).tgt("Y"), Op("OP_BLOCK_JOIN", "Y", 2).tgt("A")};
    r = resolve_operations(ops, kDefault, Policy::merge);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_JOIN Y@2"}));
    EXPECT_EQ(r.rejected[0].reason, "Operation OP_BLOCK_JOIN would join block A+Y with itself");
}

TEST(OpsResolve, DuplicatesAreRejected) {
    Operation s = Op("OP_BLOCK_SPLIT", "X", 1).off(3);
    Resolution r = resolve_operations({s, s}, kDefault, Policy::fail_closed);
    EXPECT_EQ(r.applied.size(), 1u);
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].reason, "Operation OP_BLOCK_SPLIT is a duplicate of an identical operation");
    EXPECT_EQ(r.blocks, (Strings{"X_left", "X_right"}));
}

TEST(OpsResolve, DependencyRemovedBeforeApplication) {
    // Reparenting under P: P is split later in time, so the reparent applies first.
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "P", 5).off(1), Op("OP_LIST_REPARENT", "Z", 3).tgt("P").dep("P")};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(applied_labels(ops, r), (Strings{"LIST_REPARENT Z@3", "BLOCK_SPLIT P@5"}));
    // After the split it names a block that is gone.
    ops[1].timestamp.lamport = 7;
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"LIST_REPARENT Z@7"}));
    EXPECT_EQ(r.rejected[0].reason, "Target block P no longer exists (split at offset 1)");
    ops[1].target_block_id.reset();
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(r.rejected.at(0).type, ConflictType::dependency);
    EXPECT_EQ(r.rejected[0].reason, "Operation OP_LIST_REPARENT depends on block P, which no longer exists (split at offset 1)");
}

TEST(OpsResolve, CollisionOfDerivedIds) {
    // A join producing "A+B_left" and a split of "A+B" producing the same id.
    std::vector<Operation> ops = {Op("OP_BLOCK_JOIN", "A", 1).tgt("B_left"), Op("OP_BLOCK_SPLIT", "A+B", 2).off(1)};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    ASSERT_EQ(r.rejected.size(), 1u);
    EXPECT_EQ(r.rejected[0].reason, "Block id collision: block A+B_left already exists");
}

TEST(OpsJson, Shapes) {
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 15).off(60), Op("OP_BLOCK_SPLIT", "X", 10).off(30),
                                  Op("OP_BLOCK_CONVERT", "X\"q", 1)};
    ops[0].json = "{\"opCode\": \"OP_BLOCK_SPLIT\", \"blockId\": \"X\", \"offset\": 60, \"timestamp\": 15}";
    ops[1].json = "{}";
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(resolution_json(ops, r),
              "{\"policy\": \"fail-closed\", \"applied\": [{}, {\"opCode\": \"OP_BLOCK_SPLIT\", \"blockId\": \"X\", "
              "\"offset\": 60, \"timestamp\": 15, \"mappedBlockId\": \"X_right\", \"mappedOffset\": 30}, "
              "{\"opCode\": \"OP_BLOCK_CONVERT\", \"blockId\": \"X\\\"q\", \"timestamp\": 1}], \"rejected\": [], "
              "\"mapping\": {\"X\": [{\"block_id\": \"X_left\", \"from\": 0, \"to\": 30, \"at\": 0}, {\"block_id\": "
              "\"X_right_left\", \"from\": 30, \"to\": 60, \"at\": 0}, {\"block_id\": \"X_right_right\", \"from\": 60, "
              "\"to\": null, \"at\": 0}]}, \"blocks\": [\"X_left\", \"X_right_left\", \"X_right_right\"]}");
    EXPECT_EQ(order_json(ops, {2, 1}), "[{\"opCode\": \"OP_BLOCK_CONVERT\", \"blockId\": \"X\\\"q\", \"timestamp\": 1}, {}]");
    EXPECT_EQ(json_quote(std::string("a\n\x01\\", 4)), "\"a\\n\\u0001\\\\\"");
}

TEST(OpsResolve, Cancellation) {
    std::vector<Operation> ops;
    for (int i = 0; i < 20000; ++i) ops.push_back(Op("OP_TEXT_EDIT", "b" + std::to_string(i % 100), i));
    ce::set_interrupt_hook([] { throw ce::Error(Errc::canceled, "canceled"); });
    EXPECT_CE_ERROR(resolve_operations(ops, kDefault, Policy::fail_closed), Errc::canceled);
    ce::set_interrupt_hook(nullptr);
    EXPECT_EQ(resolve_operations(ops, kDefault, Policy::fail_closed).applied.size(), ops.size());
}

// A dependency is checked against the accepted creators earlier in time only, each
// creator passed once: 20,000 operations that depend on a block 20,000 operations
// create took 20,000 x 20,000 steps (3 s at 40,000 each, found by review). The
// interrupt hook, called every 4,096 steps, counts them.
namespace {
int dependency_hook_calls = 0;

// Resolves `ops` fail-closed, counting the interrupt hook's calls: the number of
// dependency rejections, and the calls.
std::pair<std::size_t, int> resolve_counting_steps(const std::vector<Operation>& ops) {
    dependency_hook_calls = 0;
    ce::set_interrupt_hook([] { ++dependency_hook_calls; });
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    ce::set_interrupt_hook(nullptr);
    std::size_t rejections = 0;
    for (const auto& c : r.conflicts) rejections += c.type == ce::ops::ConflictType::dependency;
    return {rejections, dependency_hook_calls};
}
}  // namespace
TEST(OpsResolve, DependencyCheckIsNotQuadratic) {
    std::vector<Operation> ops;
    const int k = 20000;
    for (int g = 1; g <= k; ++g) ops.push_back(Op("OP_BLOCK_JOIN", "A", static_cast<std::uint64_t>(g)).tgt("B"));
    for (int g = 1; g <= k; ++g) ops.push_back(Op("OP_PASTE", "b" + std::to_string(g), 0).dep("A+B"));
    auto [dependency_rejections, calls] = resolve_counting_steps(ops);
    EXPECT_EQ(dependency_rejections, static_cast<std::size_t>(k));  // every paste is before the joins
    EXPECT_LT(calls, 2000);                                         // 4e8 steps would be 97,656 calls
}

// ... and not when the creators come first in time but at the same Lamport value
// (none happened before the dependents): each dependent reads one creator, not
// all of them (600 splits of one block, as many as its pieces' ids allow, and
// 20,000 operations depending on it: 12 million steps, 2,900 hook calls, before).
TEST(OpsResolve, DependencyCheckStopsAtTheTimestamp) {
    std::vector<Operation> ops;
    const int k = 20000;
    for (int g = 1; g <= 600; ++g) ops.push_back(Op("OP_BLOCK_SPLIT", "A", 1).off(g));
    for (int g = 1; g <= k; ++g) ops.push_back(Op("OP_TEXT_EDIT", "B" + std::to_string(g), 1).dep("A_left"));
    auto [dependency_rejections, calls] = resolve_counting_steps(ops);
    EXPECT_EQ(dependency_rejections, static_cast<std::size_t>(k));  // the same timestamp: not after the splits
    EXPECT_LT(calls, 1000);
}
