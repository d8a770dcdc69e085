// The change feed: every committed change of the API is recorded in
// concurrent_edit.change_log with a per-project cursor and broadcast with NOTIFY.
//
// API calls insert their events into change_pending (lock events into its
// unlogged twin change_pending_locks), taking no lock (an aborted
// transaction or subtransaction takes its rows with it: nothing is ever sent for a
// rolled-back change). A sequencer then moves committed pending events of a
// project into change_log with consecutive cursors while holding the project's
// feed row lock, and sends one NOTIFY per event:
//  * with the background worker (shared_preload_libraries) the worker does it,
//    woken at each commit: API transactions never serialize on the feed, nor on
//    NOTIFY's cluster-wide commit lock;
//  * without it, the committing transaction does it at pre-commit (READ COMMITTED),
//    holding the feed row lock until its commit completes.
// Either way cursors have no gaps and a reader that sees cursor N sees every
// event below N.
//
// NOTIFY payloads carry ids and the cursor only ({"event", "cursor",
// "project_id", "file_id"}): PostgreSQL lets any role LISTEN on any channel, so a
// payload is public to every role of the database. Clients fetch the details with
// changes_since(), which checks the caller's right on the project.
#pragma once

#include <string>

#include "pg/spi.hpp"

// The columns of a change event in change_pending, change_pending_locks and
// change_log (after project_id, before the cursor's created_at): written once.
#define CE_EVENT_COLUMNS "event, file_id, path, version, content_hash, session_id, author, details"

namespace ce::pg {

struct ChangeEvent {
    std::string event;         // created, version, deleted, renamed, conflict, ...
    pg_uuid_t project_id{};
    pg_uuid_t file_id{};       // all-zero: none
    pg_uuid_t session_id{};    // all-zero: none
    pg_uuid_t author{};        // all-zero: none
    std::string path;          // empty: none
    int32 version = 0;         // 0: none
    std::string content_hash;  // empty: none
    std::string extra;         // further JSON members, e.g. "\"conflict_id\": \"...\"" (ids only)
};

// A change event about a file, with the fields that file events carry.
ChangeEvent file_event(const char* event, const pg_uuid_t& project, const pg_uuid_t& file, const pg_uuid_t& session,
                       const pg_uuid_t& author, std::string path, int32 version, std::string content_hash,
                       std::string extra = {});

// Queues the event: kept in the backend and numbered into change_log at this
// transaction's commit (READ COMMITTED, at most 1,000, none of the transaction's
// events in the pending tables yet), else inserted into change_pending with its
// project noted for the sequencer. Runs in the owner's context.
void queue_change(Spi& spi, ChangeEvent event);

// Notes that the current transaction inserted pending events of the project by
// itself (lock events go to change_pending_locks from the lock statements).
void note_pending(const pg_uuid_t& project_id);

// Whether a lock event made now is best queued with queue_change() (numbered into
// change_log at this transaction's commit, one statement) rather than into
// change_pending_locks: when no worker serves the database (the commit numbers them
// either way, and the pending path costs four statements there) and queue_change()
// would keep it in the backend. With the worker a lock cycle stays free of WAL and
// of the numbering, which the worker does for many cycles at once (measured: with
// synchronous_commit = off too, numbering at commit made cycles slower).
bool lock_events_at_commit();

// Sequences the pending events of one project (or of all projects) into
// change_log and NOTIFYs them when `notify`. Runs in the owner's context.
// Returns the number of events sequenced.
int64 sequence_pending(Spi& spi, bool notify, const pg_uuid_t* only_project);

// The worker's share of the pending events for one transaction: at most `budget`
// events (a project's oldest first), the projects in uuid order from the one after
// `resume_after` (where the last batch ran out of budget) to the last one. Sets
// `more` when events may be left for an immediate next batch.
struct Batch {
    int64 budget;
    bool has_resume = false;
    pg_uuid_t resume_after{};
    bool more = false;
    // Projects of the last batch whose events were all left (their feed row was
    // held by another transaction, or a committing writer moved them first): the
    // caller looks again soon.
    std::size_t left_behind = 0;
};
int64 sequence_pending_batch(Spi& spi, Batch& batch);

// Name of the NOTIFY channel of a project: concurrent_edit_<32 hex digits>. The
// one implementation (the SQL function channel_name() calls it).
std::string channel_name(const pg_uuid_t& project_id);

// Queues `NOTIFY channel, payload` for the commit: every notification of the
// extension goes through here. A transaction whose first notification finds
// PostgreSQL's notification queue fuller than concurrent_edit.notify_queue_limit
// sends none (the events stay in the feed; a listener catches up at the next
// notification it receives), with a WARNING at most once a minute per backend: a
// full queue would make the commit, and so the write, fail.
void send_notification(const std::string& channel, const std::string& payload);

// _PG_init: the transaction callbacks, and the utility hook by which COMMIT
// PREPARED and ROLLBACK PREPARED wake the lock waiters of the database, and
// COMMIT PREPARED the worker (or hands the events to the on-demand sequencer).
void register_feed_callbacks();

}  // namespace ce::pg
