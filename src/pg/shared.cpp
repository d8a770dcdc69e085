#include "pg/shared.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "pg/boundary.hpp"
#include "pg/values.hpp"

namespace ce::pg {
namespace {

struct SharedState {
    slock_t mutex;
    pid_t worker_pid;
    Oid worker_database;
    bool worker_ready;
    bool worker_connecting;  // a worker is connecting to its database (or died doing so)
    Latch* worker_latch;
    // Set by the commit that wakes the worker, cleared by the worker before a
    // sequencing round looks for pending events (worker_sequencing): while it is
    // set, a round is due that will see every event committed so far, so later
    // commits do not signal the worker again (a signal per commit cost the
    // committing backend a system call and the worker a wake-up).
    pg_atomic_uint32 worker_called;
    // The pid of the last backend whose commit called the worker (wake_worker),
    // and whether a commit of another backend called it since the worker last
    // looked (worker_callers_mixed): concurrent_edit.sequence_delay paces the
    // rounds only for commits of several backends.
    pg_atomic_uint32 last_caller;
    pg_atomic_uint32 callers_mixed;
    pg_atomic_uint64 recorder[3];  // row conflicts spooled, recorded, dropped
    // A time no lock of file_locks expires before, but for those the worker's last
    // sweep left (lock_expiry_*): lowered by every expiry written, set by the
    // worker's sweeps. 0: unknown (a sweep is due).
    pg_atomic_uint64 soonest_expiry;
    // The database of the registered worker (InvalidOid while none is): expiries
    // written in other databases do not lower soonest_expiry.
    pg_atomic_uint32 served_database;
    // Transactions that dropped a role and committed, in any database (counted
    // after their commit): the worker forgets dropped roles only when it moved.
    pg_atomic_uint64 roles_dropped;
};

SharedState* shared = nullptr;

// One slot per backend (MyBackendId - 1), published by its backend while it
// waits in acquire_lock; pid 0 when free. `wakeups` counts the wake-ups other
// backends gave it (wake_waiters) since it was published, `used` those a look of
// its own made useless (it began after them and found the file held); `in_turn`:
// it waits in PostgreSQL's lock manager, and looks when that wait ends.
struct LockWaitSlot {
    slock_t mutex;
    pid_t pid;
    LockWait wait;
    Latch* latch;
    uint64 wakeups;
    uint64 used;
    bool in_turn;
};
LockWaitSlot* wait_slots = nullptr;
int n_wait_slots = 0;
bool wait_exit_registered = false;

Size wait_slots_size() { return mul_size(static_cast<Size>(MaxBackends), sizeof(LockWaitSlot)); }

struct ExtraStruct {
    const char* name;
    Size size;
    void (*init)(void*);
    void** out;
};
ExtraStruct extra[4];
int n_extra = 0;
shmem_request_hook_type prev_request = nullptr;
shmem_startup_hook_type prev_startup = nullptr;

// Files whose waiters this transaction wakes: when it commits, those it released
// locks of (and the shared waiters of those it took shared locks of); if it rolls
// back, those it took locks of.
std::vector<pg_uuid_t>* released = nullptr;
std::vector<pg_uuid_t>* taken = nullptr;
std::vector<pg_uuid_t>* now_shared = nullptr;

void request_hook() {
    if (prev_request) prev_request();
    RequestAddinShmemSpace(MAXALIGN(sizeof(SharedState)));
    RequestAddinShmemSpace(MAXALIGN(wait_slots_size()));
    for (int i = 0; i < n_extra; ++i) RequestAddinShmemSpace(MAXALIGN(extra[i].size));
}

void startup_hook() {
    if (prev_startup) prev_startup();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    shared = static_cast<SharedState*>(ShmemInitStruct("concurrent_edit", sizeof(SharedState), &found));
    if (!found) {
        SpinLockInit(&shared->mutex);
        shared->worker_pid = 0;
        shared->worker_database = InvalidOid;
        shared->worker_ready = false;
        shared->worker_connecting = false;
        shared->worker_latch = nullptr;
        pg_atomic_init_u32(&shared->worker_called, 0);
        pg_atomic_init_u32(&shared->last_caller, 0);
        pg_atomic_init_u32(&shared->callers_mixed, 0);
        for (auto& c : shared->recorder) pg_atomic_init_u64(&c, 0);
        pg_atomic_init_u64(&shared->soonest_expiry, 0);
        pg_atomic_init_u32(&shared->served_database, InvalidOid);
        pg_atomic_init_u64(&shared->roles_dropped, 0);
    }
    wait_slots = static_cast<LockWaitSlot*>(ShmemInitStruct("concurrent_edit lock waits", wait_slots_size(), &found));
    n_wait_slots = MaxBackends;
    if (!found) {
        for (int i = 0; i < n_wait_slots; ++i) {
            SpinLockInit(&wait_slots[i].mutex);
            wait_slots[i].pid = 0;
        }
    }
    for (int i = 0; i < n_extra; ++i) {
        *extra[i].out = ShmemInitStruct(extra[i].name, extra[i].size, &found);
        if (!found) extra[i].init(*extra[i].out);
    }
    LWLockRelease(AddinShmemInitLock);
}

// Whether `slot` (its mutex held) waits for `file_id` in `database` and is not
// queued in the lock manager (such a waiter looks when that wait ends).
bool waits_for(const LockWaitSlot& slot, Oid database, const pg_uuid_t& file_id) {
    return slot.pid != 0 && !slot.in_turn && slot.wait.database == database && uuid_eq(slot.wait.file_id, file_id);
}

// Gives `slot` a wake-up (LockWaitSlot::wakeups) and sets its latch when `pick`
// (called with the slot's mutex held) says so; returns whether it did.
template <typename Pick>
bool wake_slot(LockWaitSlot& slot, Pick pick) {
    Latch* latch = nullptr;
    SpinLockAcquire(&slot.mutex);
    if (pick(static_cast<const LockWaitSlot&>(slot))) {
        ++slot.wakeups;
        latch = slot.latch;
    }
    SpinLockRelease(&slot.mutex);
    if (latch != nullptr) SetLatch(latch);
    return latch != nullptr;
}

// Wakes the waiters of `file_id` in `database` that look first: of those not
// waiting in the lock manager, the one waiting longest if it wants an exclusive
// lock, else every waiter of a shared lock (they do not exclude each other).
// Allocates nothing and raises nothing: run in commit and abort callbacks and at
// backend exit.
void wake_waiters(Oid database, const pg_uuid_t& file_id) {
    if (wait_slots == nullptr) return;
    // The one chosen may end its wait between the two scans: then choose again
    // (a few times; after that every waiter of the file is woken).
    for (int attempt = 0;; ++attempt) {
        int first = -1;
        pid_t first_pid = 0;
        TimestampTz first_since = 0;
        bool first_exclusive = false;
        for (int i = 0; i < n_wait_slots; ++i) {
            LockWaitSlot& slot = wait_slots[i];
            SpinLockAcquire(&slot.mutex);
            bool mine = waits_for(slot, database, file_id);
            pid_t pid = slot.pid;
            TimestampTz since = slot.wait.since;
            bool exclusive = slot.wait.exclusive;
            SpinLockRelease(&slot.mutex);
            if (mine && (first < 0 || since < first_since)) {
                first = i;
                first_pid = pid;
                first_since = since;
                first_exclusive = exclusive;
            }
        }
        if (first < 0) return;
        bool all = attempt >= 3;
        bool first_woken = false;
        for (int i = 0; i < n_wait_slots; ++i) {
            if (first_exclusive && !all && i != first) continue;
            bool same = false;  // still the waiter chosen
            bool woken = wake_slot(wait_slots[i], [&](const LockWaitSlot& slot) {
                same = i == first && slot.pid == first_pid && slot.wait.since == first_since;
                return waits_for(slot, database, file_id) && (all || same || (!first_exclusive && !slot.wait.exclusive));
            });
            first_woken |= woken && same;
        }
        if (first_woken || all) return;
    }
}

// Wakes every waiter of a shared lock of `file_id` not waiting in the lock
// manager: shared locks may have become possible without a release (a lock
// turned from exclusive into shared, the exclusive request ahead gone).
void wake_shared_waiters(Oid database, const pg_uuid_t& file_id) {
    if (wait_slots == nullptr) return;
    for (int i = 0; i < n_wait_slots; ++i)
        wake_slot(wait_slots[i], [&](const LockWaitSlot& slot) {
            return waits_for(slot, database, file_id) && !slot.wait.exclusive;
        });
}

// Wakes the waiters of each file in `files` (malloc'd, may be null); with
// `shared_only`, every shared waiter.
void wake_files(const std::vector<pg_uuid_t>* files, bool shared_only = false) {
    if (files == nullptr) return;
    for (const pg_uuid_t& f : *files) {
        if (shared_only)
            wake_shared_waiters(MyDatabaseId, f);
        else
            wake_waiters(MyDatabaseId, f);
    }
}

// After a commit, the waiters of the files whose locks it released; after a
// rollback, those of the files it took locks of (the rows are gone).
void commit_callback(XactEvent event, void*) {
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) {
        wake_files(released);
        wake_files(now_shared, true);
    } else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
        wake_files(taken);
    } else if (event != XACT_EVENT_PREPARE) {
        // (A prepared transaction's files are forgotten here: COMMIT PREPARED,
        // in whatever session, wakes the waiters of every file of the database,
        // wake_database_lock_waiters.)
        return;
    }
    for (std::vector<pg_uuid_t>* files : {released, taken, now_shared})
        if (files != nullptr) files->clear();
}

// A rolled-back subtransaction may have taken locks: their rows are gone now
// (the files of the whole transaction so far are woken: a waiter woken for
// nothing looks and sleeps again).
void subxact_callback(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (event == SUBXACT_EVENT_ABORT_SUB) wake_files(taken);
}

// Adds `f` to `files` (malloc'd when first needed). Duplicates are removed when
// the vector is full (sorting it), and it grows unless that freed at least half
// of it: a sort then comes only after as many additions as the list holds, the
// list stays under four times the number of files, and a statement that releases
// n locks (the worker's expiry, a session's close) costs O(n log n). Before,
// each file was looked for in the whole list, O(n^2): the worker expiring
// 200,000 locks of one role took 21 s, doing nothing else (TAP
// 035_bulk_lock_release).
void note_file(std::vector<pg_uuid_t>*& files, const pg_uuid_t& f) {
    if (shared == nullptr) return;
    if (files == nullptr) files = new std::vector<pg_uuid_t>();
    if (!files->empty() && uuid_eq(files->back(), f)) return;
    if (files->size() == files->capacity() && !files->empty()) {
        std::sort(files->begin(), files->end(), uuid_less);
        files->erase(std::unique(files->begin(), files->end(), uuid_eq), files->end());
        if (files->size() > files->capacity() / 2) files->reserve(files->capacity() * 2);
    }
    files->push_back(f);
}

void worker_exit(int, Datum) { worker_unregister(); }

LockWaitSlot* my_wait_slot() {
    if (wait_slots == nullptr || MyBackendId < 1 || MyBackendId > n_wait_slots) return nullptr;
    return &wait_slots[MyBackendId - 1];
}

// A backend that exits while waiting (pg_terminate_backend) frees its slot, and
// passes on a wake-up it got.
void wait_exit(int, Datum) { clear_lock_wait(false, true); }

}  // namespace

void install_shmem_hooks() {
    prev_request = shmem_request_hook;
    shmem_request_hook = request_hook;
    prev_startup = shmem_startup_hook;
    shmem_startup_hook = startup_hook;
    RegisterXactCallback(commit_callback, nullptr);
    RegisterSubXactCallback(subxact_callback, nullptr);
}

void add_shmem_struct(const char* name, Size size, void (*init)(void*), void** out) {
    Assert(n_extra < static_cast<int>(lengthof(extra)));
    extra[n_extra++] = ExtraStruct{name, size, init, out};
}

bool shared_state_available() { return shared != nullptr; }

void note_roles_dropped() {
    if (shared != nullptr) pg_atomic_fetch_add_u64(&shared->roles_dropped, 1);
}

bool roles_dropped_count(uint64* count) {
    if (shared == nullptr) return false;
    *count = pg_atomic_read_u64(&shared->roles_dropped);
    return true;
}

void worker_register(bool ready) {
    if (shared == nullptr) return;
    bool first = false;
    SpinLockAcquire(&shared->mutex);
    if (shared->worker_pid != MyProcPid) first = true;
    shared->worker_pid = MyProcPid;
    shared->worker_database = MyDatabaseId;
    shared->worker_latch = MyLatch;
    shared->worker_ready = ready;
    SpinLockRelease(&shared->mutex);
    pg_atomic_write_u32(&shared->served_database, MyDatabaseId);
    if (first) on_shmem_exit(worker_exit, 0);
}

bool worker_begin_connect() {
    if (shared == nullptr) return true;
    SpinLockAcquire(&shared->mutex);
    bool failed_before = shared->worker_connecting;
    shared->worker_connecting = true;
    SpinLockRelease(&shared->mutex);
    return !failed_before;
}

void worker_end_connect() {
    if (shared == nullptr) return;
    SpinLockAcquire(&shared->mutex);
    shared->worker_connecting = false;
    SpinLockRelease(&shared->mutex);
}

void worker_unregister() {
    if (shared == nullptr) return;
    SpinLockAcquire(&shared->mutex);
    if (shared->worker_pid == MyProcPid) {
        shared->worker_pid = 0;
        shared->worker_ready = false;
        shared->worker_latch = nullptr;
        pg_atomic_write_u32(&shared->served_database, InvalidOid);
    }
    SpinLockRelease(&shared->mutex);
}

bool worker_serves_this_database() {
    if (shared == nullptr) return false;
    SpinLockAcquire(&shared->mutex);
    bool yes = shared->worker_pid != 0 && shared->worker_ready && shared->worker_database == MyDatabaseId;
    SpinLockRelease(&shared->mutex);
    return yes;
}

void worker_state(pid_t* pid, Oid* database, bool* ready) {
    if (shared == nullptr) return;
    SpinLockAcquire(&shared->mutex);
    *pid = shared->worker_pid;
    *database = shared->worker_database;
    *ready = shared->worker_ready;
    SpinLockRelease(&shared->mutex);
}

void wake_worker() {
    if (shared == nullptr) return;
    // The caller's commit is visible before it looks at the flag: if the worker
    // cleared the flag before this look, its round will see the commit, or the
    // flag is found clear here and the worker is called again.
    pg_memory_barrier();
    // Only read while one backend calls: the line stays shared between CPUs.
    auto me = static_cast<uint32>(MyProcPid);
    uint32 last = pg_atomic_read_u32(&shared->last_caller);
    if (last != me) {
        pg_atomic_write_u32(&shared->last_caller, me);
        if (last != 0 && pg_atomic_read_u32(&shared->callers_mixed) == 0)
            pg_atomic_write_u32(&shared->callers_mixed, 1);
    }
    if (pg_atomic_read_u32(&shared->worker_called) != 0) return;
    if (pg_atomic_exchange_u32(&shared->worker_called, 1) != 0) return;
    SpinLockAcquire(&shared->mutex);
    Latch* latch = shared->worker_pid != 0 ? shared->worker_latch : nullptr;
    SpinLockRelease(&shared->mutex);
    if (latch != nullptr) SetLatch(latch);
}

bool worker_callers_mixed() {
    return shared != nullptr && pg_atomic_read_u32(&shared->callers_mixed) != 0 &&
           pg_atomic_exchange_u32(&shared->callers_mixed, 0) != 0;
}

bool worker_call_pending() { return shared != nullptr && pg_atomic_read_u32(&shared->worker_called) != 0; }

void worker_sequencing() {
    if (shared != nullptr) (void)pg_atomic_exchange_u32(&shared->worker_called, 0);  // a full barrier
}

namespace {

// A time as the uint64 kept in shared memory (TimestampTz of now or later is
// positive; an earlier one counts as 0, due at once).
uint64 expiry_key(TimestampTz t) { return t > 0 ? static_cast<uint64>(t) : 0; }

void lower_soonest_expiry(TimestampTz t) {
    uint64 e = expiry_key(t);
    uint64 old = pg_atomic_read_u64(&shared->soonest_expiry);
    while (e < old && !pg_atomic_compare_exchange_u64(&shared->soonest_expiry, &old, e)) {
    }
}

}  // namespace

void lock_expiry_written(TimestampTz expires_at) {
    if (shared == nullptr) return;
    // The row is written before: a sweep that takes the time before this lowers
    // it scans after the row was there (lock_expiry_sweep_due).
    pg_memory_barrier();
    // A lock of another database than the worker's is no sweep of its. The
    // worker's database changes only with a new worker process, which starts
    // after the last one left (and cleared served_database); its first round
    // sweeps every row, those written before it started included.
    Oid served = pg_atomic_read_u32(&shared->served_database);
    if (served != InvalidOid && served != MyDatabaseId) return;
    lower_soonest_expiry(expires_at);
}

bool lock_expiry_sweep_due(TimestampTz now, bool force) {
    if (shared == nullptr) return true;
    if (!force && pg_atomic_read_u64(&shared->soonest_expiry) > expiry_key(now)) return false;
    (void)pg_atomic_exchange_u64(&shared->soonest_expiry, PG_UINT64_MAX);  // a full barrier
    return true;
}

void lock_expiry_swept(TimestampTz soonest) {
    if (shared != nullptr) lower_soonest_expiry(soonest);
}

bool lock_wait_available() { return my_wait_slot() != nullptr; }

void publish_lock_wait(const LockWait& w) {
    LockWaitSlot* slot = my_wait_slot();
    if (slot == nullptr) return;
    if (!wait_exit_registered) {
        pg_call([] { before_shmem_exit(wait_exit, 0); });
        wait_exit_registered = true;
    }
    SpinLockAcquire(&slot->mutex);
    slot->pid = MyProcPid;
    slot->wait = w;
    slot->latch = MyLatch;
    slot->wakeups = 0;
    slot->used = 0;
    slot->in_turn = false;
    SpinLockRelease(&slot->mutex);
}

uint64 lock_wait_wakeups() {
    LockWaitSlot* slot = my_wait_slot();
    if (slot == nullptr) return 0;
    SpinLockAcquire(&slot->mutex);
    uint64 n = slot->pid != 0 ? slot->wakeups : 0;
    SpinLockRelease(&slot->mutex);
    return n;
}

void lock_wait_used(uint64 seen) {
    LockWaitSlot* slot = my_wait_slot();
    if (slot == nullptr) return;
    SpinLockAcquire(&slot->mutex);
    if (slot->pid != 0 && seen > slot->used) slot->used = seen;
    SpinLockRelease(&slot->mutex);
}

void lock_wait_in_turn(bool in_turn, bool pass_on) {
    LockWaitSlot* slot = my_wait_slot();
    if (slot == nullptr) return;
    SpinLockAcquire(&slot->mutex);
    bool published = slot->pid != 0;
    slot->in_turn = in_turn;
    bool unused = published && in_turn && pass_on && slot->wakeups > slot->used;
    if (unused) slot->used = slot->wakeups;
    LockWait w = slot->wait;
    SpinLockRelease(&slot->mutex);
    if (unused) wake_waiters(w.database, w.file_id);
}

void clear_lock_wait(bool got_lock, bool was_ahead) {
    LockWaitSlot* slot = my_wait_slot();
    if (slot == nullptr) return;
    SpinLockAcquire(&slot->mutex);
    bool published = slot->pid != 0;
    bool pass_on = published && !got_lock && slot->wakeups > slot->used;
    LockWait w = slot->wait;
    slot->pid = 0;
    SpinLockRelease(&slot->mutex);
    if (pass_on) wake_waiters(w.database, w.file_id);
    if (published && !got_lock && was_ahead) wake_shared_waiters(w.database, w.file_id);
}

std::vector<PublishedWait> lock_waits_of_database(Oid database) {
    std::vector<PublishedWait> out;
    for (int i = 0; i < n_wait_slots; ++i) {
        check_interrupts();
        LockWaitSlot& slot = wait_slots[i];
        SpinLockAcquire(&slot.mutex);
        PublishedWait w{slot.pid, slot.wait, slot.wakeups};
        SpinLockRelease(&slot.mutex);
        if (w.pid != 0 && w.wait.database == database) out.push_back(w);
    }
    return out;
}

bool shared_recorder_count(int which, int64 n) {
    if (shared == nullptr) return false;
    pg_atomic_fetch_add_u64(&shared->recorder[which], static_cast<uint64>(n));
    return true;
}

void shared_recorder_read(int64* spooled, int64* recorded, int64* dropped) {
    if (shared == nullptr) return;
    *spooled += static_cast<int64>(pg_atomic_read_u64(&shared->recorder[0]));
    *recorded += static_cast<int64>(pg_atomic_read_u64(&shared->recorder[1]));
    *dropped += static_cast<int64>(pg_atomic_read_u64(&shared->recorder[2]));
}

void wake_database_lock_waiters(Oid database) {
    if (wait_slots == nullptr) return;
    // The files waited for, each once (a fixed array: nothing is allocated);
    // past kFiles files, the waiters of the others are all woken.
    constexpr int kFiles = 32;
    pg_uuid_t files[kFiles];
    int n = 0;
    bool more = false;
    for (int i = 0; i < n_wait_slots; ++i) {
        LockWaitSlot& slot = wait_slots[i];
        SpinLockAcquire(&slot.mutex);
        bool waits = slot.pid != 0 && !slot.in_turn && slot.wait.database == database;
        pg_uuid_t file = slot.wait.file_id;
        SpinLockRelease(&slot.mutex);
        if (!waits || std::any_of(files, files + n, [&file](const pg_uuid_t& f) { return uuid_eq(f, file); }))
            continue;
        if (n < kFiles) files[n++] = file;
        else more = true;
    }
    for (int k = 0; k < n; ++k) {
        wake_waiters(database, files[k]);
        wake_shared_waiters(database, files[k]);
    }
    if (!more) return;
    for (int i = 0; i < n_wait_slots; ++i)
        wake_slot(wait_slots[i], [&](const LockWaitSlot& slot) {
            return slot.pid != 0 && !slot.in_turn && slot.wait.database == database &&
                   std::none_of(files, files + n, [&slot](const pg_uuid_t& f) { return uuid_eq(f, slot.wait.file_id); });
        });
}

void note_lock_released(const pg_uuid_t& file_id) { note_file(released, file_id); }

void note_lock_taken(const pg_uuid_t& file_id, bool shared_lock) {
    note_file(taken, file_id);
    if (shared_lock) note_file(now_shared, file_id);
}

}  // namespace ce::pg
