#include <gtest/gtest.h>

#include <string>

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
