// The change feed: every committed change of the API is recorded in
// concurrent_edit.change_log with a per-project cursor and broadcast with NOTIFY.
//
// API functions queue events in backend memory while they run. At pre-commit the
// queue is flushed: per project (in project order, so two flushing transactions
// never deadlock) the feed row is locked and advanced, the events are inserted
// with consecutive cursors, and one NOTIFY per event is queued. The feed row lock
// is held until the commit completes, so cursors are assigned in commit order and
// have no gaps: a client that sees cursor N has seen every event below N.
// Events of an aborted transaction or subtransaction are dropped, so nothing is
// ever sent for a rolled-back change (NOTIFY itself is transactional too).
#pragma once

#include <string>

#include "pg/pg_headers.hpp"

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

void queue_change(ChangeEvent event);

// Name of the NOTIFY channel of a project: concurrent_edit_<32 hex digits>.
std::string channel_name(const pg_uuid_t& project_id);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void append_json_string(std::string& out, std::string_view s);

void register_change_callbacks();

}  // namespace ce::pg
