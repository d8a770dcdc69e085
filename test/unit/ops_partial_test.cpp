// Operations lacking members that a call does not need (include/concurrent_edit/ops.hpp,
// missing_fields): the seed's own unit-test operations (§6.1) copied literally, in
// their JSON form, are ordered and give a direct conflict; resolution rejects only
// the operations that lack what it needs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "concurrent_edit/ops.hpp"
#include "ops_test_util.hpp"
#include "test_util.hpp"

using ce::Errc;
using namespace ce::ops;
using namespace ce::ops_test;

namespace {

// Seed §6.1 "sorts operations deterministically" and "detects direct conflicts",
// the TypeScript objects as JSON: no targetBlockId on the joins, no offset on the splits.
constexpr const char* kSeedSortOps = R"([
  { "opCode": "OP_BLOCK_JOIN", "blockId": "B", "timestamp": 10 },
  { "opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 15 },
  { "opCode": "OP_BLOCK_SPLIT", "blockId": "A", "timestamp": 5 }
])";
constexpr const char* kSeedConflictOps = R"([
  { "opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10 },
  { "opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5 }
])";

}  // namespace

TEST(OpsSeedLiteral, SortsOperationsDeterministically) {
    std::vector<Operation> ops = ops_from_json(kSeedSortOps);
    std::vector<std::size_t> sorted = order_operations(ops, kDefault);
    EXPECT_EQ(ops[sorted[0]].timestamp.lamport, 5u);
    EXPECT_EQ(ops[sorted[0]].block_id, "A");
    EXPECT_EQ(labels(ops, sorted), (Strings{"BLOCK_SPLIT A@5", "BLOCK_SPLIT A@15", "BLOCK_JOIN B@10"}));
}

TEST(OpsSeedLiteral, DetectsDirectConflicts) {
    std::vector<Operation> ops = ops_from_json(kSeedConflictOps);
    std::vector<Conflict> conflicts = detect_conflicts(ops, kDefault);
    ASSERT_GT(conflicts.size(), 0u);
    EXPECT_EQ(conflicts[0].type, ConflictType::direct);
    EXPECT_EQ(conflicts[0].block_id, "X");
    EXPECT_EQ(conflicts[0].first, 1u);   // the join (t=5) stands
    EXPECT_EQ(conflicts[0].second, 0u);  // the split (t=10) is rejected
    EXPECT_TRUE(conflicts[0].rejected);
    EXPECT_EQ(conflicts[0].reason, "Block X no longer exists (joined)");
    EXPECT_EQ(conflicts.size(), 1u);
}

TEST(OpsSeedLiteral, ResolutionRejectsWhatLacksMembers) {
    // Fail-closed: the split loses to the earlier join; the join, lacking its
    // target, cannot be applied either. Nothing fails as a whole.
    std::vector<Operation> ops = ops_from_json(kSeedConflictOps);
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_TRUE(r.applied.empty());
    ASSERT_EQ(r.rejected.size(), 2u);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_SPLIT X@10", "BLOCK_JOIN X@5"}));
    EXPECT_EQ(r.rejected[0].type, ConflictType::direct);
    EXPECT_EQ(r.rejected[0].conflicting, 1u);
    EXPECT_TRUE(r.rejected[0].missing.empty());
    EXPECT_FALSE(r.rejected[1].type);
    EXPECT_EQ(r.rejected[1].conflicting, kNoOp);
    EXPECT_EQ(r.rejected[1].missing, (Strings{"targetBlockId"}));
    EXPECT_EQ(r.rejected[1].reason, "Operation OP_BLOCK_JOIN has no targetBlockId");
    EXPECT_EQ(resolution_json(ops, r),
              "{\"policy\": \"fail-closed\", \"applied\": [], \"rejected\": [{\"op\": {\"opCode\": \"OP_BLOCK_SPLIT\", "
              "\"blockId\": \"X\", \"timestamp\": 10}, \"reason\": \"Block X no longer exists (joined)\", "
              "\"conflict_type\": \"direct\", \"conflicting_op\": {\"opCode\": \"OP_BLOCK_JOIN\", \"blockId\": \"X\", "
              "\"timestamp\": 5}}, {\"op\": {\"opCode\": \"OP_BLOCK_JOIN\", \"blockId\": \"X\", \"timestamp\": 5}, "
              "\"reason\": \"Operation OP_BLOCK_JOIN has no targetBlockId\", \"conflict_type\": null, "
              "\"conflicting_op\": null, \"missing\": [\"targetBlockId\"]}], \"mapping\": {}, \"blocks\": []}");
    // The merge policy lets a split and a join of one block both apply: only the
    // join is rejected.
    r = resolve_operations(ops, kDefault, Policy::merge);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_SPLIT X@10", "BLOCK_JOIN X@5"}));
    EXPECT_EQ(r.rejected[0].missing, (Strings{"offset"}));
    // The sort example: every operation lacks a member; each is rejected alone.
    ops = ops_from_json(kSeedSortOps);
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_TRUE(r.applied.empty());
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_SPLIT A@5", "BLOCK_SPLIT A@15", "BLOCK_JOIN B@10"}));
    for (const RejectedOp& x : r.rejected) EXPECT_FALSE(x.type);
    EXPECT_TRUE(detect_conflicts(ops, kDefault).empty());
}

TEST(OpsPartial, MissingFields) {
    EXPECT_EQ(missing_fields(Op("OP_BLOCK_SPLIT", "X", 1)), (Strings{"offset"}));
    EXPECT_EQ(missing_fields(Op("OP_BLOCK_SPLIT", "X", 1).tgt("Y")), (Strings{"offset"}));
    EXPECT_TRUE(missing_fields(Op("OP_BLOCK_SPLIT", "X", 1).off(0)).empty());
    EXPECT_EQ(missing_fields(Op("OP_BLOCK_JOIN", "X", 1).off(3)), (Strings{"targetBlockId"}));
    EXPECT_TRUE(missing_fields(Op("OP_BLOCK_JOIN", "X", 1).tgt("Y")).empty());
    // Other op codes need nothing more (a text edit without offset is placed when its
    // block is not split; custom op codes are opaque).
    for (const char* code : {"OP_BLOCK_CONVERT", "OP_LIST_REPARENT", "OP_TABLE_STRUCT", "OP_REORDER", "OP_TEXT_EDIT",
                             "OP_MARK_EDIT", "OP_PASTE", "OP_IMMUTABLE_REWRITE", "MY_OP"})
        EXPECT_TRUE(missing_fields(Op(code, "X", 1)).empty()) << code;
}

TEST(OpsPartial, ValidationAcceptsMissingMembers) {
    validate({Op("OP_BLOCK_SPLIT", "a", 1), Op("OP_BLOCK_JOIN", "a", 2)}, kDefault);
    // What is given is still checked.
    EXPECT_CE_ERROR(validate({Op("OP_BLOCK_JOIN", "a", 1).tgt("a")}, kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate({Op("OP_BLOCK_SPLIT", "a", 1).tgt("")}, kDefault), Errc::invalid_operation);
    EXPECT_CE_ERROR(validate({Op("OP_BLOCK_SPLIT", "a", 1).off(-1)}, kDefault), Errc::invalid_operation);
    // A split names its pieces from its blockId alone: needing them is still a cycle.
    EXPECT_CE_ERROR(validate({Op("OP_BLOCK_SPLIT", "X", 1).dep("X_left")}, kDefault), Errc::dependency_cycle);
}

TEST(OpsPartial, IncompleteOperationsStandButAreNotApplied) {
    // A split without offset is rejected; the text edits of its block stay on the
    // block (nothing split it), a convert of the block still conflicts with it.
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 2), Op("OP_TEXT_EDIT", "X", 3).off(40),
                                  Op("OP_BLOCK_CONVERT", "X", 4), Op("OP_TEXT_EDIT", "Y", 1).off(1)};
    Resolution r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(applied_labels(ops, r), (Strings{"TEXT_EDIT X@3", "TEXT_EDIT Y@1"}));
    EXPECT_FALSE(r.applied[0].block_id);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_SPLIT X@2", "BLOCK_CONVERT X@4"}));
    EXPECT_EQ(r.rejected[0].reason, "Operation OP_BLOCK_SPLIT has no offset");
    EXPECT_EQ(r.rejected[1].type, ConflictType::cascading);
    EXPECT_EQ(r.rejected[1].reason, "Block X no longer exists (split)");
    EXPECT_TRUE(r.blocks.empty());
    EXPECT_TRUE(r.mapping.empty());
    // A join without target consumes no block: an edit of another block applies.
    ops = {Op("OP_BLOCK_JOIN", "X", 1), Op("OP_TEXT_EDIT", "Y", 2).off(0), Op("OP_TEXT_EDIT", "X", 3).off(0)};
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_EQ(applied_labels(ops, r), (Strings{"TEXT_EDIT X@3", "TEXT_EDIT Y@2"}));
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_JOIN X@1"}));
    // A block that only an incomplete split would make: the dependent operation is
    // a dependency conflict, as with any rejected creator.
    ops = {Op("OP_BLOCK_SPLIT", "X", 1), Op("OP_BLOCK_JOIN", "X_left", 2).tgt("Y").dep("X_left")};
    r = resolve_operations(ops, kDefault, Policy::fail_closed);
    EXPECT_TRUE(r.applied.empty());
    ASSERT_EQ(r.rejected.size(), 2u);
    EXPECT_EQ(r.rejected[0].missing, (Strings{"offset"}));
    EXPECT_EQ(r.rejected[1].type, ConflictType::dependency);
    EXPECT_EQ(r.rejected[1].reason,
              "Operation OP_BLOCK_JOIN depends on block X_left, created by OP_BLOCK_SPLIT on block X, which was rejected");
    EXPECT_EQ(detect_conflicts(ops, kDefault).size(), 1u);
}
