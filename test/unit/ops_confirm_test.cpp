// The confirm policy of resolve_operations (include/concurrent_edit/ops.hpp,
// src/core/ops_confirm.cpp): conflicts become decisions for the user, nothing whose
// outcome depends on one is applied, the rest resolves as fail-closed.
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

std::vector<std::string> waiting_labels(const std::vector<Operation>& ops, const Resolution& r) {
    std::vector<std::size_t> idx;
    for (const WaitingOp& w : r.waiting) idx.push_back(w.op);
    return labels(ops, idx);
}

}  // namespace

TEST(OpsConfirm, Policy) {
    EXPECT_EQ(parse_policy("confirm"), Policy::confirm);
    EXPECT_STREQ(policy_name(Policy::confirm), "confirm");
    EXPECT_CE_ERROR(parse_policy("Confirm"), Errc::invalid_parameter);
}

TEST(OpsConfirm, SeedSplitAndJoinAreLeftToTheUser) {  // seed §3.2 on §5.1
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 10).off(50), Op("OP_BLOCK_JOIN", "X", 5).tgt("Y"),
                                  Op("OP_TEXT_EDIT", "X", 12).off(60), Op("OP_TEXT_EDIT", "Y", 1).off(2),
                                  Op("OP_BLOCK_SPLIT", "Q", 3).off(4)};
    Resolution r = resolve_operations(ops, kDefault, Policy::confirm);
    EXPECT_EQ(r.policy, Policy::confirm);
    ASSERT_EQ(r.pending.size(), 1u);
    const Decision& d = r.pending[0];
    EXPECT_EQ(d.type, ConflictType::direct);
    EXPECT_EQ(d.block_id, "X");
    EXPECT_EQ(d.first, 1u);   // the join, earlier
    EXPECT_EQ(d.second, 0u);  // the split
    EXPECT_EQ(d.reason, "Block X no longer exists (joined with Y)");
    EXPECT_TRUE(d.can_apply_first);
    EXPECT_TRUE(d.can_apply_second);
    EXPECT_TRUE(d.can_apply_both);  // the merge policy applies both
    // Nothing of X or Y is applied: the edits of X and Y wait (Y is the join's
    // target); the split of Q is independent.
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_SPLIT Q@3"}));
    EXPECT_TRUE(r.rejected.empty());
    EXPECT_EQ(waiting_labels(ops, r), (Strings{"TEXT_EDIT X@12", "TEXT_EDIT Y@1"}));
    EXPECT_EQ(r.waiting[0].decision, 0u);
    EXPECT_EQ(r.blocks, (Strings{"Q_left", "Q_right"}));
    EXPECT_EQ(r.mapping.size(), 1u);
    EXPECT_EQ(r.mapping.count("Q"), 1u);
    // The conflicts are fail-closed's.
    EXPECT_EQ(r.conflicts.size(), detect_conflicts(ops, kDefault).size());
}

TEST(OpsConfirm, SeedLiteralOperations) {  // seed §6.1, no targetBlockId, no offset
    std::vector<Operation> ops = ops_from_json(R"([
      { "opCode": "OP_BLOCK_SPLIT", "blockId": "X", "timestamp": 10 },
      { "opCode": "OP_BLOCK_JOIN", "blockId": "X", "timestamp": 5 }])");
    Resolution r = resolve_operations(ops, kDefault, Policy::confirm);
    ASSERT_EQ(r.pending.size(), 1u);
    EXPECT_EQ(r.pending[0].type, ConflictType::direct);
    // The join cannot apply (no target): the user may apply the split, or neither.
    EXPECT_FALSE(r.pending[0].can_apply_first);
    EXPECT_TRUE(r.pending[0].can_apply_second);
    EXPECT_FALSE(r.pending[0].can_apply_both);
    EXPECT_EQ(rejected_labels(ops, r), (Strings{"BLOCK_JOIN X@5"}));
    EXPECT_EQ(r.rejected[0].missing, (Strings{"targetBlockId"}));
    EXPECT_TRUE(r.applied.empty());
    EXPECT_TRUE(r.waiting.empty());
    EXPECT_EQ(resolution_json(ops, r),
              "{\"policy\": \"confirm\", \"applied\": [], \"rejected\": [{\"op\": {\"opCode\": \"OP_BLOCK_JOIN\", "
              "\"blockId\": \"X\", \"timestamp\": 5}, \"reason\": \"Operation OP_BLOCK_JOIN has no targetBlockId\", "
              "\"conflict_type\": null, \"conflicting_op\": null, \"missing\": [\"targetBlockId\"]}], \"mapping\": {}, "
              "\"blocks\": [], \"pending\": [{\"decision\": 1, \"conflict_type\": \"direct\", \"block_id\": \"X\", "
              "\"reason\": \"Block X no longer exists (joined)\", \"operations\": [2, 1], \"first_op\": {\"opCode\": "
              "\"OP_BLOCK_JOIN\", \"blockId\": \"X\", \"timestamp\": 5}, \"second_op\": {\"opCode\": \"OP_BLOCK_SPLIT\", "
              "\"blockId\": \"X\", \"timestamp\": 10}, \"options\": [{\"choice\": \"apply_second\", \"apply\": [1], "
              "\"drop\": [2]}, {\"choice\": \"cancel\", \"apply\": [], \"drop\": [2, 1]}]}], \"waiting\": []}");
}

TEST(OpsConfirm, WaitingFollowsTheBlocksOperationsShare) {
    // A convert and a reorder of X conflict. A join of W with X shares X; an edit of
    // W shares W with the join; the split of V and its edit do not touch them.
    std::vector<Operation> ops = {Op("OP_BLOCK_CONVERT", "X", 1), Op("OP_REORDER", "X", 2),
                                  Op("OP_BLOCK_JOIN", "W", 3).tgt("X"), Op("OP_TEXT_EDIT", "W", 4).off(1),
                                  Op("OP_BLOCK_SPLIT", "V", 5).off(3), Op("OP_TEXT_EDIT", "V", 6).off(7)};
    Resolution fc = resolve_operations(ops, kDefault, Policy::fail_closed);
    Resolution r = resolve_operations(ops, kDefault, Policy::confirm);
    ASSERT_EQ(r.pending.size(), fc.rejected.size());
    EXPECT_EQ(r.pending[0].first, 0u);
    EXPECT_EQ(r.pending[0].second, 1u);
    EXPECT_FALSE(r.pending[0].can_apply_both);  // two structural changes: merge does not either
    EXPECT_EQ(waiting_labels(ops, r), (Strings{"BLOCK_JOIN W@3", "TEXT_EDIT W@4"}));
    EXPECT_EQ(applied_labels(ops, r), (Strings{"BLOCK_SPLIT V@5", "TEXT_EDIT V@6"}));
    // The applied operations are applied as fail-closed applies them (here moved onto V_right).
    ASSERT_EQ(r.applied.size(), 2u);
    EXPECT_EQ(r.applied[1].block_id, "V_right");
    EXPECT_EQ(r.applied[1].offset, 4);
    EXPECT_EQ(r.blocks, (Strings{"V_left", "V_right"}));
    // A block created by a remapped split is linked too: the second split of V moves
    // onto V_right and creates V_right_left, which the edit names.
    ops = {Op("OP_BLOCK_SPLIT", "V", 1).off(3), Op("OP_BLOCK_SPLIT", "V", 2).off(5),
           Op("OP_BLOCK_CONVERT", "V_right_left", 3), Op("OP_BLOCK_CONVERT", "V_right_left", 4)};
    r = resolve_operations(ops, kDefault, Policy::confirm);
    ASSERT_EQ(r.pending.size(), 1u);
    EXPECT_TRUE(r.applied.empty());
    EXPECT_EQ(waiting_labels(ops, r), (Strings{"BLOCK_SPLIT V@1", "BLOCK_SPLIT V@2"}));
}

TEST(OpsConfirm, WithoutConflictsAsFailClosed) {
    // Concurrent splits are remapped, not conflicting: nothing to ask.
    std::vector<Operation> ops = {Op("OP_BLOCK_SPLIT", "X", 15).off(60), Op("OP_BLOCK_SPLIT", "X", 10).off(30),
                                  Op("OP_TEXT_EDIT", "X", 20).off(45)};
    Resolution fc = resolve_operations(ops, kDefault, Policy::fail_closed);
    Resolution r = resolve_operations(ops, kDefault, Policy::confirm);
    EXPECT_TRUE(r.pending.empty());
    EXPECT_TRUE(r.waiting.empty());
    Resolution as_fc = r;
    as_fc.policy = Policy::fail_closed;
    EXPECT_EQ(resolution_json(ops, as_fc), resolution_json(ops, fc));
    EXPECT_EQ(resolution_json(ops, r).find("\"pending\": [], \"waiting\": []}") != std::string::npos, true);
}

TEST(OpsConfirm, DuplicatesAndDependencies) {
    // An identical copy is not a choice: rejected as with fail-closed, its twin applies.
    std::vector<Operation> ops = {Op("OP_BLOCK_CONVERT", "X", 1), Op("OP_BLOCK_CONVERT", "X", 1)};
    Resolution r = resolve_operations(ops, kDefault, Policy::confirm);
    EXPECT_TRUE(r.pending.empty());
    EXPECT_EQ(r.applied.size(), 1u);
    EXPECT_EQ(r.rejected.size(), 1u);
    // A dependency conflict (the join of X_left comes before the split that makes
    // it): a decision; applying both is not possible (merge rejects it as well).
    ops = {Op("OP_BLOCK_SPLIT", "X", 10).off(30), Op("OP_BLOCK_JOIN", "X_left", 5).tgt("Y").dep("X_left")};
    r = resolve_operations(ops, kDefault, Policy::confirm);
    ASSERT_EQ(r.pending.size(), 1u);
    EXPECT_EQ(r.pending[0].type, ConflictType::dependency);
    EXPECT_EQ(r.pending[0].first, 0u);
    EXPECT_TRUE(r.pending[0].can_apply_first);
    EXPECT_TRUE(r.pending[0].can_apply_second);
    EXPECT_FALSE(r.pending[0].can_apply_both);
    EXPECT_TRUE(r.applied.empty());
    EXPECT_TRUE(r.rejected.empty());
    // One operation against two: two decisions sharing it, in the order met.
    ops = {Op("OP_BLOCK_CONVERT", "X", 1), Op("OP_REORDER", "X", 2), Op("OP_LIST_REPARENT", "X", 3)};
    r = resolve_operations(ops, kDefault, Policy::confirm);
    ASSERT_EQ(r.pending.size(), 2u);
    EXPECT_EQ(r.pending[0].first, 0u);
    EXPECT_EQ(r.pending[0].second, 1u);
    EXPECT_EQ(r.pending[1].first, 0u);
    EXPECT_EQ(r.pending[1].second, 2u);
    EXPECT_TRUE(r.applied.empty() && r.rejected.empty() && r.waiting.empty());
}
