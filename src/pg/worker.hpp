// The background workers: the worker registered by _PG_init when preloaded, and
// what the workers started on demand (the conflict recorder, the sequencer)
// share with it.
#pragma once

#include <cstddef>

#include "pg/boundary.hpp"
#include "pg/feed.hpp"
#include "pg/owner.hpp"
#include "pg/spi.hpp"

namespace ce::pg {
void register_worker();
// Session settings every concurrent_edit background worker runs with, whatever
// postgresql.conf, ALTER DATABASE or ALTER ROLE say (autovacuum does the same):
// the sequencer relies on READ COMMITTED (each statement sees what committed
// before it took the feed row) and the workers write and wait for row locks.
// Called before the worker connects.
void apply_worker_settings();

// Is the extension installed in this database at this library's version? (In a
// transaction; a mismatch is logged once.)
bool installed_here();

// A digest of the settings ALTER DATABASE and ALTER ROLE ... SET give the worker's
// session that only a superuser may give (worker_settings.cpp), read in a
// transaction of its own; false (errors reported) when it could not be read.
bool read_settings_digest(uint64* digest);

// One transaction of a background worker running `body` in the owner's context.
// Returns false when the extension is not installed in the worker's database (or
// at another version). The caller has no transaction open.
template <typename F>
bool in_worker_transaction(const char* activity, F&& body) {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    pgstat_report_activity(STATE_RUNNING, activity);
    bool present = installed_here();
    if (present) {
        guard([&body]() -> Datum {
            OwnerContext owner;
            Spi spi;
            body(spi);
            spi.finish();
            owner.leave();
            return 0;
        });
    }
    CommitTransactionCommand();
    // The transaction's table statistics (change_log rows inserted, pending rows
    // deleted, ...) go to shared memory, for autovacuum and pg_stat_*_tables: a
    // background worker has no idle loop that reports them (at most once a second).
    (void)pgstat_report_stat(false);
    pgstat_report_activity(STATE_IDLE, nullptr);
    return present;
}

// The workers' files live under $PGDATA/pg_concurrent_edit (paths relative to the
// data directory, the server's working directory): the conflict spool, the
// on-demand sequencer's pid. These raise nothing and allocate nothing.
constexpr const char* kWorkerFilesDir = "pg_concurrent_edit";
// Makes a directory (mode 0700) unless it exists; false when it cannot. (These two
// are in start_marker.cpp.)
bool make_private_dir(const char* path);
// Writes `len` bytes into `tmp` (created or truncated), then renames it to `path`;
// false on an I/O error (tmp removed).
bool write_file_atomically(const char* path, const char* tmp, const char* data, std::size_t len);

// One sequencing round of the worker or the on-demand sequencer, in a
// transaction of its own: the pending events of every project, at most
// concurrent_edit.sequence_batch (sequence_pending_batch). False when the
// extension is not installed here at this library's version; *moved is the
// number of events moved.
bool sequencing_transaction(Batch& batch, int64* moved);

// Registers a dynamic background worker of the current database (a worker
// started on demand: `function` of this library, called with the database's oid
// and its tablespace in bgw_extra, see database_is_there). Never restarted, or,
// with `restart_s`, restarted that many seconds after it exits with a code other
// than 0 (terminated, an error out of its loop, a crash of the server; a fork that
// failed is retried too). Raises nothing; false when no worker slot is free. With
// `handle` null it allocates nothing (callable from a commit callback).
bool start_database_worker(const char* function, const char* type, BackgroundWorkerHandle** handle,
                           int restart_s = BGW_NEVER_RESTART);
// Removes the files of databases that no longer exist: their conflict spool
// ($PGDATA/pg_concurrent_edit/conflicts/<oid>, its bad/ directory included: the
// records carry the refused rows) and their sequencer's pid file and start
// marker. DROP DATABASE knows nothing of them; the worker calls this every
// retention_interval and the conflict recorder when it starts. Logs what it
// removed. In a background worker connected to a database, with no transaction
// open; raises nothing.
void remove_files_of_dropped_databases();
// In a worker registered by start_database_worker, before it connects: does its
// database's directory still exist? A restarted worker of a dropped database
// would otherwise fail to connect, exit with 1 and be restarted again forever.
bool database_is_there(Oid db);
}  // namespace ce::pg
