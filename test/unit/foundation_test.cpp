#include <gtest/gtest.h>
#include <malloc.h>

#include <string>

#include "concurrent_edit/diff.hpp"
#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "test_util.hpp"

using ce::Errc;

namespace {
int hook_calls = 0;
void counting_hook() { ++hook_calls; }
void canceling_hook() { throw ce::Error(Errc::canceled, "canceled by test"); }
}  // namespace

TEST(Interrupts, TickerCallsHookEveryPeriod) {
    auto old = ce::set_interrupt_hook(&counting_hook);
    hook_calls = 0;
    ce::InterruptTicker ticker(100);
    for (int i = 0; i < 1000; ++i) ticker.tick();
    EXPECT_EQ(hook_calls, 10);
    ticker.tick(250);  // bulk work counts as many ticks
    EXPECT_EQ(hook_calls, 11);
    ce::set_interrupt_hook(old);
}

TEST(Interrupts, HookExceptionUnwindsCaller) {
    auto old = ce::set_interrupt_hook(&canceling_hook);
    int destroyed = 0;
    struct Guard { int* n; ~Guard() { ++*n; } };
    try {
        Guard g{&destroyed};
        ce::check_interrupts();
        FAIL() << "hook did not throw";
    } catch (const ce::Error& e) {
        EXPECT_EQ(e.code(), Errc::canceled);
    }
    EXPECT_EQ(destroyed, 1);
    ce::set_interrupt_hook(old);
}

TEST(Interrupts, NoHookIsNoop) {
    auto old = ce::set_interrupt_hook(nullptr);
    EXPECT_NO_THROW(ce::check_interrupts());
    ce::set_interrupt_hook(old);
}

TEST(Errors, KindsHaveNames) {
    EXPECT_STREQ(ce::errc_name(Errc::invalid_parameter), "invalid_parameter");
    EXPECT_STREQ(ce::errc_name(Errc::limit_exceeded), "limit_exceeded");
    ce::Error e(Errc::invalid_json, "m", "d", "h");
    EXPECT_STREQ(e.what(), "m");
    EXPECT_EQ(e.detail(), "d");
    EXPECT_EQ(e.hint(), "h");
}

TEST(Errors, DetailWritesJsonValues) {
    // A boolean is JSON true/false, not the integer it would promote to.
    EXPECT_EQ(std::string(ce::Detail().add("generated", true).add("n", 3).add("s", "x")),
              R"({"generated": true, "n": 3, "s": "x"})");
    EXPECT_EQ(std::string(ce::Detail().add("b", false)), R"({"b": false})");
}

namespace {
int calls_before_cancel = 0;
void cancel_after_calls() {
    if (--calls_before_cancel == 0) throw ce::Error(Errc::canceled, "canceled by test");
}
std::size_t heap_in_use() {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;  // small blocks and mapped ones
}
}  // namespace

// dtl's diff keeps its O(NP) array in a raw pointer that only a finished compose()
// frees: a cancel thrown from the comparator inside it leaked it (8 bytes per line
// of both texts, 12.8 MB per cancelled diff of 1M lines).
TEST(Interrupts, CancelledDtlDiffFreesItsMemory) {
    // Every line matches one of the other text (none is set aside before the
    // diff), in another order: line i of every 10 swapped with line i + 5.
    std::string a, b;
    for (int i = 0; i < 20000; ++i) {
        a += "line " + std::to_string(i) + "\n";
        b += "line " + std::to_string(i % 10 < 5 ? i + 5 : i - 5) + "\n";
    }
    auto old = ce::set_interrupt_hook(&cancel_after_calls);
    for (int round = 0; round < 2; ++round) {  // the first round's allocations settle
        calls_before_cancel = 300;  // inside compose(), which ticks ~850 times here (the rest ~10)
        const std::size_t before = heap_in_use();
        EXPECT_THROW(ce::diff_lines(a, b, ce::DiffAlgorithm::dtl_onp), ce::Error);
        EXPECT_EQ(calls_before_cancel, 0) << "the diff ended before the cancel";
        if (round == 1) {
            EXPECT_LT(heap_in_use(), before + 64 * 1024) << "the cancelled diff's array is kept";
        }
    }
    ce::set_interrupt_hook(old);
}
