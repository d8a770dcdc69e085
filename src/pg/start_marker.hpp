// Start markers: a file that says a background worker of one kind is being
// started for a database, so that a burst of backends that each want one
// registers one, not one each (every registration takes a worker slot until the
// process finds the first one's lock and exits).
//
// The protocol, for a kind of worker that holds a session lock while it runs:
//   * a backend that wants one looks at the lock, in share mode (two backends
//     looking at once must not take each other for a worker); held: nothing to do;
//   * free: it claims the marker (claim_start_marker). `starting`: another
//     backend registered one that has not yet taken the lock; `claimed`: it looks
//     at the lock again (a worker may have taken it and removed its marker since
//     the first look), and registers one only if the lock is still free, removing
//     the marker when it does not register or the registration fails;
//   * the worker removes the marker once it has tried the lock (take_worker_lock),
//     whether it got it or not.
// A marker older than kStartMarkerMs is stale (its worker never started, or died
// before trying the lock) and is taken over.
#pragma once

#include "pg/pg_headers.hpp"

namespace ce::pg {

constexpr long long kStartMarkerMs = 2000;  // a start marker older than this is stale

// $PGDATA/pg_concurrent_edit/<kind>.<database oid><suffix>, relative to the data
// directory (the server's working directory). A fixed buffer: commit callbacks
// build it without allocating.
struct WorkerFile {
    char name[64];
    const char* c_str() const { return name; }
};
WorkerFile worker_file(const char* kind, Oid db, const char* suffix = "");

// The start marker of `kind` in `db`: worker_file(kind, db, ".start").
inline WorkerFile start_marker(const char* kind, Oid db) { return worker_file(kind, db, ".start"); }

enum class StartClaim { claimed, starting, failed };

// Claims the start marker: claimed when this backend made it (it may then
// register a worker), starting when a young one says a worker is being started,
// failed when no marker can be made (then the caller registers none). A stale
// marker is taken over by renaming it away, which only one backend can do.
// Raises nothing, allocates nothing.
StartClaim claim_start_marker(const WorkerFile& marker);

// A worker's session lock `tag`, taken exclusively, waiting up to `wait_ms` (a
// backend's probe holds it in share mode for a moment; a worker that is leaving
// holds it a little longer). False when another process holds it still. Checks
// for interrupts while it waits; may raise as LockAcquire does.
bool take_worker_lock(LOCKTAG tag, long wait_ms);

}  // namespace ce::pg
