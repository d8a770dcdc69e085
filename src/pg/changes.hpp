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
#pragma once

#include <functional>
#include <string>

#include "concurrent_edit/json.hpp"
#include <string_view>

#include "pg/spi.hpp"

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

// Inserts the event into change_pending (SPI must be connected) and notes its
// project for the commit-time sequencing.
void queue_change(ChangeEvent event);

// Notes that the current transaction inserted pending events of the project by
// itself (lock events go to change_pending_locks from the lock statements).
void note_pending(const pg_uuid_t& project_id);

// Sequences the pending events of one project (or of all projects) into
// change_log and NOTIFYs them when `notify`. SPI must be connected. Returns the
// number of events sequenced.
int64 sequence_pending(bool notify, const pg_uuid_t* only_project);

// Runs `body` as the extension's owner, with search_path = pg_catalog, pg_temp
// and an active snapshot (commit time and the background worker, where no
// SECURITY DEFINER function is on the stack).
void with_owner_context(const std::function<void()>& body);

// The role owning the extension. PostgreSQL calls: use inside pg_call().
Oid extension_owner();

std::string json_uuid(const pg_uuid_t& u);  // "\"...\"" or null

// Name of the NOTIFY channel of a project: concurrent_edit_<32 hex digits>.
std::string channel_name(const pg_uuid_t& project_id);

// JSON string literals (with quotes), escaped as jsonb does: the core's.
using ce::json::append_json_string;

void register_change_callbacks();

}  // namespace ce::pg
