// Cumulative counters and the worker's rounds in shared memory (stats.hpp): one
// pg_atomic_uint64 per counter, so counting takes no lock; the worker's record
// (a few fields and its last error's message) is guarded by a spinlock.
#include "pg/stats.hpp"

#include "pg/shared.hpp"

#include <cstring>

namespace ce::pg::stats {
namespace {

struct StatsState {
    pg_atomic_uint64 counters[n_counters];
    pg_atomic_uint64 reset_at;  // TimestampTz
    slock_t mutex;              // guards worker
    WorkerInfo worker;
};

StatsState* state = nullptr;
int suspended = 0;

void init_state(void* p) {
    auto* s = static_cast<StatsState*>(p);
    for (auto& c : s->counters) pg_atomic_init_u64(&c, 0);
    pg_atomic_init_u64(&s->reset_at, static_cast<uint64>(GetCurrentTimestamp()));
    SpinLockInit(&s->mutex);
    s->worker = WorkerInfo{};
}

}  // namespace

void install_hooks() {
    add_shmem_struct("concurrent_edit stats", sizeof(StatsState), init_state, reinterpret_cast<void**>(&state));
}

bool available() { return state != nullptr; }

void add(Counter c, uint64_t n) noexcept {
    if (state == nullptr || suspended > 0) return;
    pg_atomic_fetch_add_u64(&state->counters[c], n);
}

void count_write(const std::string& status) noexcept {
    Counter c;
    if (status == "written") c = writes_written;
    else if (status == "merged") c = writes_merged;
    else if (status == "overwritten") c = writes_overwritten;
    else if (status == "unchanged") c = writes_unchanged;
    else if (status == "conflict") c = writes_conflict;
    else if (status == "rejected") c = writes_rejected;
    else c = writes_failed;  // no other status exists; the sum of the counters still matches the calls
    add(c);
}

void count_merge(std::chrono::steady_clock::duration took) noexcept {
    if (state == nullptr || suspended > 0) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    uint64 v = us > 0 ? static_cast<uint64>(us) : 0;
    pg_atomic_fetch_add_u64(&state->counters[merges], 1);
    pg_atomic_fetch_add_u64(&state->counters[merge_time_us], v);
    uint64 max = pg_atomic_read_u64(&state->counters[merge_time_max_us]);
    while (v > max && !pg_atomic_compare_exchange_u64(&state->counters[merge_time_max_us], &max, v)) {
    }
}

Suspend::Suspend() { ++suspended; }
Suspend::~Suspend() { --suspended; }

bool read(uint64_t out[n_counters], TimestampTz* reset_at) {
    if (state == nullptr) return false;
    for (int i = 0; i < n_counters; ++i) out[i] = pg_atomic_read_u64(&state->counters[i]);
    *reset_at = static_cast<TimestampTz>(pg_atomic_read_u64(&state->reset_at));
    return true;
}

TimestampTz reset() {
    if (state == nullptr) return 0;
    TimestampTz now = GetCurrentTimestamp();
    for (auto& c : state->counters) pg_atomic_write_u64(&c, 0);
    pg_atomic_write_u64(&state->reset_at, static_cast<uint64>(now));
    return now;
}

// Set in the preloaded worker's process: only its tasks' errors are the worker's
// (a conflict recorder, started in any database, also runs tasks that report
// their errors, and worker_status must not show another database's errors).
static bool is_the_worker = false;

void worker_started(TimestampTz at) noexcept {
    if (state == nullptr) return;
    is_the_worker = true;
    SpinLockAcquire(&state->mutex);
    state->worker.started_at = at;
    SpinLockRelease(&state->mutex);
}

void worker_round(TimestampTz at, bool done) noexcept {
    if (state == nullptr) return;
    SpinLockAcquire(&state->mutex);
    if (done) state->worker.last_round_at = at;
    state->worker.rounds++;
    SpinLockRelease(&state->mutex);
}

void worker_error(int sqlerrcode, const char* message, TimestampTz at) noexcept {
    if (state == nullptr || !is_the_worker) return;
    // Cut at a character boundary (a byte cut could leave half a character: text
    // that is not valid in the database's encoding).
    const char* msg = message != nullptr ? message : "";
    int len = pg_mbcliplen(msg, static_cast<int>(strlen(msg)), static_cast<int>(sizeof(state->worker.last_error)) - 1);
    SpinLockAcquire(&state->mutex);
    state->worker.errors++;
    state->worker.last_error_code = sqlerrcode;
    state->worker.last_error_at = at;
    memcpy(state->worker.last_error, msg, len);
    state->worker.last_error[len] = '\0';
    SpinLockRelease(&state->mutex);
}

bool read_worker(WorkerInfo* out) {
    if (state == nullptr) return false;
    SpinLockAcquire(&state->mutex);
    *out = state->worker;
    SpinLockRelease(&state->mutex);
    return true;
}

}  // namespace ce::pg::stats
