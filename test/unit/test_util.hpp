// Helpers shared by the GoogleTest suites of the core.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "concurrent_edit/error.hpp"
#include "concurrent_edit/interrupt.hpp"

// Asserts that `stmt` throws ce::Error with kind `errc`.
#define EXPECT_CE_ERROR(stmt, errc)                                                  \
    do {                                                                             \
        try {                                                                        \
            stmt;                                                                    \
            ADD_FAILURE() << "expected ce::Error(" #errc ") from: " #stmt;           \
        } catch (const ce::Error& e) {                                               \
            EXPECT_EQ(e.code(), errc) << "message: " << e.what();                    \
        }                                                                            \
    } while (0)

namespace ce_test {
inline int hook_calls = 0;
// An interrupt hook that cancels (Errc::canceled) from its 4th call on.
inline void cancel_after_three() {
    if (++hook_calls > 3) throw ce::Error(ce::Errc::canceled, "canceled by test");
}
}  // namespace ce_test

// Asserts that `stmt` checks interrupts while it works: with a hook that cancels at
// its 4th call, it throws ce::Error canceled after at least that many calls.
#define EXPECT_CANCELED_BY_INTERRUPTS(stmt)                                          \
    do {                                                                             \
        ce_test::hook_calls = 0;                                                     \
        ce::InterruptHook old_hook_ = ce::set_interrupt_hook(&ce_test::cancel_after_three); \
        EXPECT_CE_ERROR(stmt, ce::Errc::canceled);                                   \
        ce::set_interrupt_hook(old_hook_);                                           \
        EXPECT_GT(ce_test::hook_calls, 3);                                           \
    } while (0)
