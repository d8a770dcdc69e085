// Operations and cancellation: every phase of order_operations, resolve_operations
// and detect_conflicts checks for interrupts while it works, so that a cancel or a
// statement_timeout is honoured within a few milliseconds on the largest inputs
// (kMaxOperations operations). The longest interval of CPU time between two checks is
// measured on inputs where one phase without checks took hundreds of milliseconds.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "concurrent_edit/ops.hpp"
#include "interrupt_gap.hpp"
#include "ops_test_util.hpp"
#include "test_util.hpp"

using namespace ce::ops_test;
using ce::Errc;
using ce_test::measure_gaps;

namespace {

// Far below what the unchecked phases took on these inputs, far above a period of
// checks (a few thousand steps of microseconds).
constexpr double kMaxGap = 0.05;

// n splits of distinct blocks, at increasing timestamps.
std::vector<Operation> distinct_splits(std::size_t n) {
    std::vector<Operation> ops;
    ops.reserve(n);
    for (std::size_t i = 0; i < n; ++i) ops.push_back(Op("OP_BLOCK_SPLIT", "block" + std::to_string(i), i + 1).off(1));
    return ops;
}

// n/2 blocks, each split then converted: n/2 direct conflicts.
std::vector<Operation> conflicting_pairs(std::size_t n) {
    std::vector<Operation> ops;
    ops.reserve(n);
    for (std::size_t i = 0; i < n / 2; ++i) {
        ops.push_back(Op("OP_BLOCK_SPLIT", "c" + std::to_string(i), 2 * i + 1).off(1));
        ops.push_back(Op("OP_BLOCK_CONVERT", "c" + std::to_string(i), 2 * i + 2));
    }
    return ops;
}

// n splits of one block at random offsets (each remapped onto a piece of the
// earlier ones), then an edit of a piece that depends on the first split's left piece.
std::vector<Operation> splits_of_one_block(std::size_t n) {
    std::vector<Operation> ops;
    ops.reserve(n + 1);
    std::mt19937_64 rng(7);
    for (std::size_t i = 0; i < n; ++i)
        ops.push_back(Op("OP_BLOCK_SPLIT", "X", i + 1).off(static_cast<std::int64_t>(rng() % 1000000000)));
    ops.push_back(Op("OP_TEXT_EDIT", "Y", n + 1).dep("X_left"));
    return ops;
}

// A cycle through n operations: operation i needs the left piece of block i+1.
std::vector<Operation> cycle(std::size_t n) {
    std::vector<Operation> ops;
    ops.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        ops.push_back(Op("OP_BLOCK_SPLIT", "d" + std::to_string(i), i + 1).off(1).dep("d" + std::to_string((i + 1) % n) + "_left"));
    return ops;
}

// A resolution, then released as the SQL functions release it (the destructors
// cannot check for interrupts).
void resolve_and_release(const std::vector<Operation>& ops, Policy policy) {
    Resolution r = resolve_operations(ops, kDefault, policy);
    release(r);
}

}  // namespace

TEST(OpsInterrupts, OrderChecksThroughout) {
    const std::vector<Operation> ops = distinct_splits(200000);
    EXPECT_LT(measure_gaps("order_operations, 200k splits", [&] { order_operations(ops, kDefault); }).longest, kMaxGap);
}

TEST(OpsInterrupts, ResolveChecksThroughout) {
    const std::vector<Operation> ops = distinct_splits(100000);
    EXPECT_LT(measure_gaps("resolve_operations, 100k splits", [&] { resolve_and_release(ops, Policy::fail_closed); })
                  .longest,
              kMaxGap);
}

TEST(OpsInterrupts, ResolveOfOneBlockChecksThroughout) {
    const std::vector<Operation> ops = splits_of_one_block(50000);
    EXPECT_LT(measure_gaps("resolve_operations, 50k splits of one block", [&] { resolve_and_release(ops, Policy::merge); })
                  .longest,
              kMaxGap);
}

TEST(OpsInterrupts, DetectAndConfirmCheckThroughout) {
    const std::vector<Operation> ops = conflicting_pairs(100000);
    EXPECT_LT(measure_gaps("detect_conflicts, 50k conflicts", [&] { detect_conflicts(ops, kDefault); }).longest, kMaxGap);
    EXPECT_LT(measure_gaps("resolve_operations confirm, 50k conflicts", [&] { resolve_and_release(ops, Policy::confirm); })
                  .longest,
              kMaxGap);
}

TEST(OpsInterrupts, CycleCheckChecksThroughout) {
    const std::vector<Operation> ops = cycle(100000);
    EXPECT_LT(measure_gaps("validate, a cycle of 100k", [&] { EXPECT_CE_ERROR(validate(ops, kDefault), Errc::dependency_cycle); }).longest,
              kMaxGap);
}
