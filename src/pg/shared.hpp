// Shared memory of the extension (only when it is in shared_preload_libraries):
// the background worker's address, and what sessions waiting for a file lock wait
// for (the lock_waits view), through which they are woken as soon as it is
// released, and when the worker next sweeps file_locks for expired locks.
#pragma once

#include <utility>
#include <vector>

#include "pg/pg_headers.hpp"

namespace ce::pg {

// Hooks installed by _PG_init when preloaded.
void install_shmem_hooks();
// Another struct of the extension in shared memory, served by the same two hooks:
// its space is requested with the extension's, and at startup *out points to it,
// initialised by init the first time. Called from _PG_init when preloaded (at most
// a few structs).
void add_shmem_struct(const char* name, Size size, void (*init)(void*), void** out);
bool shared_state_available();

// Transactions that dropped a role, counted after their commit (every backend
// of the cluster, with the library preloaded): note_roles_dropped() adds one;
// roles_dropped_count() reads the count, false without shared memory.
void note_roles_dropped();
bool roles_dropped_count(uint64* count);

// The worker registers itself once connected to its database and the extension
// exists there; API transactions then leave sequencing and NOTIFY to it.
void worker_register(bool ready);
void worker_unregister();
// Around the worker's connection to its database: begin is false when the last
// attempt never ended (its connection failed: the process died), true otherwise,
// and marks this attempt; end marks it done (or given up, the database checked).
bool worker_begin_connect();
void worker_end_connect();
bool worker_serves_this_database();
// Called after a commit that left events for the worker: signals the worker
// unless it was called since its last worker_sequencing(), which the worker calls
// before each sequencing round looks for pending events.
void wake_worker();
void worker_sequencing();
// Whether a commit called the worker since its last worker_sequencing(): the
// worker then runs another round before it sleeps, whether or not its latch is
// still set (a wait for a lock resets it).
bool worker_call_pending();
// Whether commits of more than one backend called the worker since the last call
// of this function (two successive callers were different backends); clears it.
// The worker paces its rounds (concurrent_edit.sequence_delay) while it found this
// set twice within the last second, and only then: a single backend's commits
// follow one another, and nothing would join them.
bool worker_callers_mixed();
// The registered worker: its pid (0 when none), database and readiness.
void worker_state(pid_t* pid, Oid* database, bool* ready);

// Lock waits: a waiter publishes its wait (below) before its last look at the
// holders, then sleeps on its latch. A transaction that releases (or expires)
// locks of a file wakes, after it commits, the waiter of the file waiting
// longest if it wants an exclusive lock, or every waiter of a shared lock if that
// one does; the others sleep on (a release wakes no herd). Waiters queued in
// PostgreSQL's lock manager (for the file's queue or acquisition lock,
// lock_queue.hpp) are passed over: they look when that wait ends. A woken waiter
// that ends without the lock (its wait over, cancelled, an error, its backend
// gone), or that must first queue behind the exclusive request waiting ahead,
// passes the wake-up on. A transaction (or subtransaction) that took a lock and
// rolls back wakes the file's waiters as a release does. Shared locks can become
// possible without a release: when a session turns its exclusive lock into a
// shared one, and when the exclusive request waiting ahead of them gives up;
// then every shared waiter is woken.
bool lock_wait_available();
void note_lock_released(const pg_uuid_t& file_id);  // waiters woken at commit
// A lock taken: its file's waiters woken at rollback; a shared one's shared
// waiters at commit (it may have been this session's exclusive lock).
void note_lock_taken(const pg_uuid_t& file_id, bool shared_lock);
// After COMMIT PREPARED or ROLLBACK PREPARED (feed.cpp's utility hook): the
// prepared transaction's files are not known in the session that finishes it,
// so the waiters of every file waited for in `database` (not those waiting in the
// lock manager) are woken as its release would wake them, and its shared waiters
// as a lock turned shared would. Each file is found once in one pass over the
// slots (up to 32 files; past that, every waiter of the others is woken).
// Allocates nothing and raises nothing.
void wake_database_lock_waiters(Oid database);

// What a session waiting in acquire_lock publishes (the lock_waits view), in its
// backend's slot: set before its first sleep, cleared when acquire_lock ends
// however it ends (LockWaitEntry, lock_queue.hpp) and when the backend exits.
struct LockWait {
    Oid database;
    pg_uuid_t project_id;
    pg_uuid_t file_id;
    pg_uuid_t session_id;
    bool exclusive;
    TimestampTz since;
};
void publish_lock_wait(const LockWait& w);
// The wake-ups the caller's published wait got so far (0 when none is published).
uint64 lock_wait_wakeups();
// A look begun after `seen` wake-ups found the file held: they are used.
void lock_wait_used(uint64 seen);
// Around a wait of the caller in the lock manager (in_turn true, then false):
// passed over by releases meanwhile; with `pass_on`, wake-ups not used yet go to
// the file's next waiter when it starts (it waits behind that one's turn).
void lock_wait_in_turn(bool in_turn, bool pass_on);
// Clears the caller's wait; unless it got the lock, passes unused wake-ups on,
// and wakes the shared waiters when it `was_ahead` (LockQueue::ahead).
void clear_lock_wait(bool got_lock, bool was_ahead);
// A wait published in a database, with its backend's pid and the wake-ups it
// got so far (from releases, or passed on by another waiter).
struct PublishedWait {
    pid_t pid;
    LockWait wait;
    uint64 wakeups;
};
// The waits published in `database`.
std::vector<PublishedWait> lock_waits_of_database(Oid database);

// When the worker sweeps file_locks for expired locks (locks.cpp): only once a
// lock may have expired. Every expiry written (acquire_lock, extend_lock) lowers
// a time in shared memory, after its row is written (lock_expiry_written). A
// sweep is due (lock_expiry_sweep_due) when that time has come, or when `force`
// (the worker's periodic sweep, for rows written otherwise); it then sets the
// time to infinity before it scans, so that an expiry written meanwhile lowers it
// again, scans every row version, those of transactions in progress included,
// and lowers the time to the soonest expiry it left (lock_expiry_swept), or to
// now when it had to leave an expired lock. Without shared memory every sweep
// is due.
void lock_expiry_written(TimestampTz expires_at);
bool lock_expiry_sweep_due(TimestampTz now, bool force);
void lock_expiry_swept(TimestampTz soonest);

// Conflict recorder counters (0 spooled, 1 recorded, 2 dropped): false when there
// is no shared memory (the caller counts in its own backend).
bool shared_recorder_count(int which, int64 n);
// Adds the shared counters (if any) to the given ones.
void shared_recorder_read(int64* spooled, int64* recorded, int64* dropped);

}  // namespace ce::pg
