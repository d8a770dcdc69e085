#include "pg/shared.hpp"

#include <cstring>
#include <vector>

#include "pg/boundary.hpp"

namespace ce::pg {
namespace {

constexpr int kLockConditions = 256;

struct SharedState {
    slock_t mutex;
    pid_t worker_pid;
    Oid worker_database;
    bool worker_ready;
    bool worker_connecting;  // a worker is connecting to its database (or died doing so)
    Latch* worker_latch;
    ConditionVariable lock_cv[kLockConditions];
    pg_atomic_uint64 recorder[3];  // row conflicts spooled, recorded, dropped
};

SharedState* shared = nullptr;

// One slot per backend (MyBackendId - 1), written only by its backend while it
// waits in acquire_lock; pid 0 when free.
struct LockWaitSlot {
    slock_t mutex;
    pid_t pid;
    LockWait wait;
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

std::vector<int>* released = nullptr;  // condition variables to broadcast at commit

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
        for (auto& cv : shared->lock_cv) ConditionVariableInit(&cv);
        for (auto& c : shared->recorder) pg_atomic_init_u64(&c, 0);
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

int cv_index(const pg_uuid_t& file_id) {
    uint32 h = 2166136261u;
    for (unsigned char b : file_id.data) h = (h ^ b) * 16777619u;
    return static_cast<int>(h % kLockConditions);
}

void commit_callback(XactEvent event, void*) {
    if (released == nullptr || released->empty()) return;
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) {
        if (shared != nullptr)
            for (int i : *released) ConditionVariableBroadcast(&shared->lock_cv[i]);
        released->clear();
    } else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
        released->clear();
    }
}

void worker_exit(int, Datum) { worker_unregister(); }

LockWaitSlot* my_wait_slot() {
    if (wait_slots == nullptr || MyBackendId < 1 || MyBackendId > n_wait_slots) return nullptr;
    return &wait_slots[MyBackendId - 1];
}

// A backend that exits while waiting (pg_terminate_backend) frees its slot.
void wait_exit(int, Datum) { clear_lock_wait(); }

}  // namespace

void install_shmem_hooks() {
    prev_request = shmem_request_hook;
    shmem_request_hook = request_hook;
    prev_startup = shmem_startup_hook;
    shmem_startup_hook = startup_hook;
    RegisterXactCallback(commit_callback, nullptr);
}

void add_shmem_struct(const char* name, Size size, void (*init)(void*), void** out) {
    Assert(n_extra < static_cast<int>(lengthof(extra)));
    extra[n_extra++] = ExtraStruct{name, size, init, out};
}

bool shared_state_available() { return shared != nullptr; }

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
    SpinLockAcquire(&shared->mutex);
    Latch* latch = shared->worker_pid != 0 ? shared->worker_latch : nullptr;
    SpinLockRelease(&shared->mutex);
    if (latch != nullptr) SetLatch(latch);
}

bool lock_wait_available() { return shared != nullptr; }

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
    SpinLockRelease(&slot->mutex);
}

void clear_lock_wait() {
    LockWaitSlot* slot = my_wait_slot();
    if (slot == nullptr) return;
    SpinLockAcquire(&slot->mutex);
    slot->pid = 0;
    SpinLockRelease(&slot->mutex);
}

std::vector<std::pair<pid_t, LockWait>> lock_waits_of_database(Oid database) {
    std::vector<std::pair<pid_t, LockWait>> out;
    for (int i = 0; i < n_wait_slots; ++i) {
        check_interrupts();
        LockWaitSlot& slot = wait_slots[i];
        SpinLockAcquire(&slot.mutex);
        pid_t pid = slot.pid;
        LockWait w = slot.wait;
        SpinLockRelease(&slot.mutex);
        if (pid != 0 && w.database == database) out.emplace_back(pid, w);
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

ConditionVariable* lock_condition(const pg_uuid_t& file_id) {
    return shared != nullptr ? &shared->lock_cv[cv_index(file_id)] : nullptr;
}

void note_lock_released(const pg_uuid_t& file_id) {
    if (shared == nullptr) return;
    if (released == nullptr) released = new std::vector<int>();
    released->push_back(cv_index(file_id));
}

}  // namespace ce::pg
