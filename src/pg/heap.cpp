// glibc malloc thresholds from concurrent_edit.retained_free_memory. See heap.hpp.
#include "pg/heap.hpp"

#include <algorithm>
#include <cstddef>

#include "concurrent_edit/memory.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ce::pg {

int guc_retained_free_memory_kb = 32 * 1024;  // 32 MB

namespace {
// glibc's initial thresholds, and the largest mmap threshold it accepts (and reaches
// by itself with its dynamic policy) on 64-bit systems.
constexpr long kGlibcInitial = 128 * 1024;
constexpr long kGlibcMaxMmapThreshold = 32L * 1024 * 1024;

int applied_kb = 0;  // setting in force in this backend; 0: mallopt never called

struct Thresholds {
    long trim;  // M_TRIM_THRESHOLD: free memory at the top of the heap beyond it is returned
    long mmap;  // M_MMAP_THRESHOLD: larger requests get their own mapping, returned on free
};

// The thresholds for a setting of `kb` kB; 0: glibc's initial ones.
Thresholds thresholds(int kb) noexcept {
    if (kb <= 0) return {kGlibcInitial, kGlibcInitial};
    const long trim = static_cast<long>(std::min(kb, kMaxRetainedFreeMemoryKb)) * 1024;  // mallopt takes an int
    // As glibc's dynamic policy: requests up to half the trim threshold come from the heap.
    return {trim, std::clamp(trim / 2, kGlibcInitial, kGlibcMaxMmapThreshold)};
}

// After an operation whose counted memory went beyond the setting, when more
// than the setting is free in the heap: its free pages go back to the system
// from anywhere in the heap (malloc_trim keeps the setting at the top only), not
// only from its top (the thresholds above): small blocks still in use pin the
// top, and malloc had kept 94 MB free after a merge of 1M lines, 1 GB after a
// failed resolve_operations.
void give_back(std::size_t peak) noexcept {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 33)
    const int kb = std::min(guc_retained_free_memory_kb, kMaxRetainedFreeMemoryKb);
    const std::size_t keep = static_cast<std::size_t>(kb) * 1024;
    if (kb <= 0 || peak <= keep) return;
    if (mallinfo2().fordblks <= keep) return;  // what the setting keeps
    (void)malloc_trim(keep);
#else
    (void)peak;
#endif
}

}  // namespace

void retain_free_memory() noexcept {
    static bool hooked = false;
    if (!hooked) {
        (void)ce::memory::set_budget_end_hook(&give_back);
        hooked = true;
    }
    const int kb = guc_retained_free_memory_kb;
    if (kb == applied_kb) return;
#if defined(__GLIBC__)
    // Setting either threshold turns glibc's dynamic adjustment off for good, so a
    // backend that never merges is left alone; one that goes back to 0 gets glibc's
    // initial thresholds.
    const Thresholds t = thresholds(kb);
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(t.mmap));
    mallopt(M_TRIM_THRESHOLD, static_cast<int>(t.trim));
#endif
    applied_kb = kb;
}

}  // namespace ce::pg
