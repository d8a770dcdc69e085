// Cumulative counters of the extension (the concurrent_edit.stats view) and the
// background worker's rounds (concurrent_edit.worker_status), in shared memory when
// concurrent_edit is in shared_preload_libraries; without it every call here does
// nothing. Counting is an atomic add: it takes no lock and never fails, so it can
// never fail the write, merge or lock it counts (docs/reference/monitoring.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "pg/pg_headers.hpp"

namespace ce::pg::stats {

enum Counter : int {
    writes_written,      // write statuses (write, write_many, commit_draft)
    writes_merged,
    writes_overwritten,
    writes_unchanged,
    writes_conflict,
    writes_rejected,
    writes_failed,       // calls that raised an error instead of returning a status
    merges,              // three-way merges run by writes
    merge_conflicts,     // ... of which met conflicts
    merge_time_us,       // their total time, and the longest one
    merge_time_max_us,
    conflicts_recorded,  // file conflicts recorded (content, delete, rename)
    lock_acquisitions,   // acquire_lock calls that got the lock
    lock_waits,          // ... calls that had to wait (slept at least once)
    lock_timeouts,       // ... calls refused with 55P03 (not acquired within their wait)
    n_counters
};

// Registers the counters' struct with the extension's shared memory (shared.hpp);
// called by _PG_init when preloaded.
void install_hooks();
bool available();

// Adds n to a counter (nothing when suspended or not preloaded).
void add(Counter c, uint64_t n = 1) noexcept;
// Counts a write's status (written, merged, overwritten, unchanged, conflict, rejected).
void count_write(const std::string& status) noexcept;
// Counts one merge and its duration.
void count_merge(std::chrono::steady_clock::duration took) noexcept;

// Counts one write call: a failure unless done() was called first (an error
// unwinds the C++ frames, and the destructor counts it).
class WriteCall {
public:
    WriteCall() = default;
    WriteCall(const WriteCall&) = delete;
    WriteCall& operator=(const WriteCall&) = delete;
    void done(const std::string& status) noexcept {
        count_write(status);
        done_ = true;
    }
    // The call returned, its writes counted one by one (write_many).
    void done() noexcept { done_ = true; }
    ~WriteCall() {
        if (!done_) add(writes_failed);
    }

private:
    bool done_ = false;
};

// Times a merge from its construction to its destruction.
class MergeTimer {
public:
    MergeTimer() : start_(std::chrono::steady_clock::now()) {}
    MergeTimer(const MergeTimer&) = delete;
    MergeTimer& operator=(const MergeTimer&) = delete;
    ~MergeTimer() { count_merge(std::chrono::steady_clock::now() - start_); }

private:
    std::chrono::steady_clock::time_point start_;
};

// While one lives, nothing is counted in this backend (preview_write: its work is
// rolled back).
class Suspend {
public:
    Suspend();
    ~Suspend();
    Suspend(const Suspend&) = delete;
    Suspend& operator=(const Suspend&) = delete;
};

// The counters and the time of the last reset; false when not preloaded.
bool read(uint64_t out[n_counters], TimestampTz* reset_at);
// Zeroes every counter and sets the reset time; returns it (0 when not preloaded).
TimestampTz reset();

// The background worker's rounds: each one counted; `done` (none of its tasks
// failing, the extension installed) also sets last_round_at.
void worker_started(TimestampTz at) noexcept;
void worker_round(TimestampTz at, bool done) noexcept;
// An error of a background task (called with the error's data before it is flushed).
void worker_error(int sqlerrcode, const char* message, TimestampTz at) noexcept;

struct WorkerInfo {
    TimestampTz started_at = 0;
    TimestampTz last_round_at = 0;
    uint64_t rounds = 0;
    uint64_t errors = 0;
    int last_error_code = 0;
    TimestampTz last_error_at = 0;
    char last_error[256] = {0};
};
bool read_worker(WorkerInfo* out);

}  // namespace ce::pg::stats
