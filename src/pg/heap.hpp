// Reuse of freed memory from one merge to the next (concurrent_edit.retained_free_memory,
// docs/gucs.md).
//
// A merge of a 10,000-line text allocates a few megabytes and frees them at the end.
// With glibc's default policy the backend returns that memory to the operating
// system at once (the top of the heap above M_TRIM_THRESHOLD is trimmed, requests
// above M_MMAP_THRESHOLD get their own mapping), so every call faults in fresh,
// zeroed pages again, which can cost more than the merge itself on a virtual machine
// (docs/benchmarks.md#merge). From a backend's first merge or diff on, these two
// thresholds are set from the setting: freed memory at the top of the heap is kept
// for the next call while it is less than `retained_free_memory`, and returned once
// it reaches it; requests of more than half of it get their own mapping.
#pragma once

namespace ce::pg {

// concurrent_edit.retained_free_memory (kB); 0: malloc keeps glibc's own policy.
extern int guc_retained_free_memory_kb;
// Its largest value: INT_MAX bytes (mallopt's thresholds are an int).
constexpr int kMaxRetainedFreeMemoryKb = 2147483647 / 1024;

// Puts the setting in force in this backend when it changed since the last call
// (cheap otherwise). Called by merge_budget(), i.e. by every merge and diff.
void retain_free_memory() noexcept;

}  // namespace ce::pg
