// Measuring how long the core runs between interrupt checks: the longest interval of
// thread CPU time between two calls of the interrupt hook (and from the start to the
// first call, from the last call to the end), so that another process's load does not
// count. Shared by the suites that hold the core to "a cancel is honoured within well
// under a second" (ops_interrupt_test.cpp, json_interrupt_test.cpp).
#pragma once

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "concurrent_edit/interrupt.hpp"

namespace ce_test {

struct Gaps {
    double total = 0;    // seconds of CPU time of the whole call
    double longest = 0;  // the longest interval without an interrupt check
    long checks = 0;     // calls of the hook
};

inline double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline double gap_last = 0;
inline Gaps gap_state;

inline void gap_hook() {
    const double now = thread_seconds();
    gap_state.longest = std::max(gap_state.longest, now - gap_last);
    gap_last = now;
    ++gap_state.checks;
}

// Runs f() with the measuring hook installed (exceptions propagate, the hook is
// removed first). Prints the figures, for the record of a run.
template <typename F>
Gaps measure_gaps(const char* what, F&& f) {
    gap_state = Gaps{};
    ce::InterruptHook old = ce::set_interrupt_hook(&gap_hook);
    const double start = thread_seconds();
    gap_last = start;
    try {
        f();
    } catch (...) {
        ce::set_interrupt_hook(old);
        throw;
    }
    const double end = thread_seconds();
    ce::set_interrupt_hook(old);
    gap_state.longest = std::max(gap_state.longest, end - gap_last);
    gap_state.total = end - start;
    std::printf("[ gaps     ] %s: %.3f s CPU, %ld checks, longest interval %.1f ms\n", what, gap_state.total,
                gap_state.checks, gap_state.longest * 1e3);
    return gap_state;
}

}  // namespace ce_test
