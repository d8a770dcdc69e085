#include <gtest/gtest.h>

#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"
#include "concurrent_edit/path.hpp"
#include "test_util.hpp"

using ce::Errc;

TEST(NormalizePath, Spellings) {
    EXPECT_EQ(ce::normalize_path("src/main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("src\\main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("./src/./main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("src/lib/"), "src/lib");
    EXPECT_EQ(ce::normalize_path("/src//lib///x"), "src/lib/x");
    EXPECT_EQ(ce::normalize_path("src/lib/../main.ts"), "src/main.ts");
    EXPECT_EQ(ce::normalize_path("README.md"), "README.md");
    EXPECT_EQ(ce::normalize_path("Src/Main.TS"), "Src/Main.TS");  // case kept
    EXPECT_EQ(ce::normalize_path("a/.hidden/..x"), "a/.hidden/..x");
    EXPECT_EQ(ce::normalize_path("d\u00e9j\u00e0/vu.txt"), "d\u00e9j\u00e0/vu.txt");
}

TEST(NormalizePath, Idempotent) {
    for (const char* p : {"a/b", "./a\\b/", "x/../y/./z", "//q//"}) {
        std::string once = ce::normalize_path(p);
        EXPECT_EQ(ce::normalize_path(once), once);
    }
}

TEST(NormalizePath, Rejects) {
    EXPECT_CE_ERROR(ce::normalize_path(""), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("/"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("./."), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path(".."), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("a/../../b"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path("a\nb"), Errc::invalid_parameter);
    EXPECT_CE_ERROR(ce::normalize_path(std::string(ce::kMaxPathBytes + 1, 'a')), Errc::limit_exceeded);
    EXPECT_NO_THROW(ce::normalize_path(std::string(ce::kMaxPathBytes, 'a')));
}

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
