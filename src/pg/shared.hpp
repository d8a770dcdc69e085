// Shared memory of the extension (only when it is in shared_preload_libraries):
// the background worker's address, condition variables that wake sessions
// waiting for a file lock as soon as it is released, and what those sessions wait
// for (the lock_waits view).
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
void wake_worker();
// The registered worker: its pid (0 when none), database and readiness.
void worker_state(pid_t* pid, Oid* database, bool* ready);

// Lock waits: a waiter sleeps on the condition variable of its file; a
// transaction that releases (or expires) locks broadcasts after it commits.
bool lock_wait_available();
ConditionVariable* lock_condition(const pg_uuid_t& file_id);
void note_lock_released(const pg_uuid_t& file_id);  // broadcast at commit

// What a session waiting in acquire_lock publishes (the lock_waits view), in its
// backend's slot: set before its first sleep, cleared when acquire_lock ends
// however it ends (LockWaitEntry, locks.cpp) and when the backend exits.
struct LockWait {
    Oid database;
    pg_uuid_t project_id;
    pg_uuid_t file_id;
    pg_uuid_t session_id;
    bool exclusive;
    TimestampTz since;
};
void publish_lock_wait(const LockWait& w);
void clear_lock_wait();
// The waits published in `database`, with their backends' pids.
std::vector<std::pair<pid_t, LockWait>> lock_waits_of_database(Oid database);

// Conflict recorder counters (0 spooled, 1 recorded, 2 dropped): false when there
// is no shared memory (the caller counts in its own backend).
bool shared_recorder_count(int which, int64 n);
// Adds the shared counters (if any) to the given ones.
void shared_recorder_read(int64* spooled, int64* recorded, int64* dropped);

}  // namespace ce::pg
