// The sequencer of the change feed, behind feed.cpp (docs/reference/feed.md): it
// numbers events into change_log under the project's feed row lock and NOTIFYs
// them, whether they come from the pending tables (sequence_pending, declared in
// feed.hpp) or were kept in the backend until the commit (sequence_local).
// feed.cpp queues the events; only it includes this header.
#pragma once

#include <string>
#include <vector>

#include "pg/feed.hpp"

namespace ce::pg {

// An event kept in the backend until its transaction commits (feed.cpp), with the
// subtransaction that made it: a rolled-back savepoint drops its events.
struct LocalEvent {
    ChangeEvent ev;
    SubTransactionId subid;
};

// The parameters $1..$9 of an event's statements (project first), and their null
// flags.
std::vector<Datum> event_args(const ChangeEvent& e);
std::string event_nulls(const ChangeEvent& e);

// In feed.cpp: whether this transaction put events of `p` into the pending
// tables, and putting one there.
bool has_own_pending(const pg_uuid_t& p);
void insert_pending(Spi& spi, const ChangeEvent& e);

// Numbers the transaction's local events into change_log at its commit (below).
// Returns the projects (in uuid order) whose events it put into the pending tables
// instead, their feed row being busy: for the worker, or without it for the on-demand sequencer
// (sequencer.hpp), which the caller wakes after the commit.
std::vector<pg_uuid_t> sequence_local(Spi& spi, std::vector<LocalEvent>& events, bool worker);

// One local event numbered from C (feed_log.cpp), as sequence_local's statements
// do: `first` for the project's first event (it is numbered only when no event of
// the project waits in the pending tables); with the worker a busy feed row is not
// waited for (held false). `done` false when this path does not apply (no feed row
// yet, tables changed since installation): nothing was done, use the statement.
struct LocalTaken {
    bool done, numbered, held, pending;
    int64 cursor;
};
LocalTaken log_local_event(const ChangeEvent& e, bool first, bool worker);

// A project's pending events moved into change_log from C (feed_log.cpp), as
// sequence_project's statement does: the feed row locked (SKIP LOCKED with
// `skip_locked`: taken false when busy or missing), then at most `limit` events
// (all when 0), oldest first, numbered after its last cursor. `done` false when
// this path does not apply (REPEATABLE READ, tables changed since installation):
// nothing was done, use the statement.
struct MovedEvent {
    int64 cursor;
    std::string event;
    pg_uuid_t file_id;  // all zero when NULL
};
struct MovedPending {
    bool done = false, taken = false;
    std::vector<MovedEvent> events;
};
MovedPending move_pending(const pg_uuid_t& project, int64 limit, bool skip_locked);

}  // namespace ce::pg
