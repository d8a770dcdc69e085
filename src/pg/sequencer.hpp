// The on-demand sequencer (docs/reference/feed.md): a background worker of one
// database, started when a committing transaction leaves events in the pending
// tables and no worker serves the database (the library is not preloaded, or its
// worker serves another database).
//
// Without it, the writers of one project take the project's feed row in turn at
// their commit, each waiting for the previous one's WAL flush (and PostgreSQL's
// commit lock for notifications); with it, a commit that finds the row busy hands
// its events to the sequencer, as it does to the preloaded worker, and commits
// without waiting. The sequencer numbers them in its own transactions, batches
// the events of many commits and sends their NOTIFYs.
//
// One per database: it holds the database's sequencer lock (session-level) for as
// long as it runs and publishes its pid in $PGDATA/pg_concurrent_edit/
// sequencer.<database oid> so that committing transactions can set its latch. It
// exits after 2 s without work, once no commit relies on it (sequencer.cpp says
// how). concurrent_edit.on_demand_sequencer (on) turns it off; when no worker slot
// is free, and at synchronous_commit = off, the commit waits for the row.
#pragma once

#include "pg/pg_headers.hpp"

namespace ce::pg {

// At pre-commit, after the feed row of a project was found busy: whether a
// sequencer runs (or was started now) to number the events left pending; when
// true, none leaves before this transaction's commit is visible. False when
// concurrent_edit.on_demand_sequencer is off, a sequencer is leaving or no worker
// slot is free: the caller then waits for the row. May raise.
bool ensure_sequencer();

// The same for C code outside the boundary guard (feed.cpp's utility hook, after
// COMMIT PREPARED, in a transaction that runs no commit work of its own):
// PostgreSQL calls only, an error is raised as a PostgreSQL error. It waits for a
// leaving sequencer to be gone (the events are committed already).
bool ensure_sequencer_from_hook();

// At commit (XACT_EVENT_COMMIT), after ensure_sequencer() said true: sets the
// sequencer's latch (none published yet: it is starting, and its first round
// comes after). Raises nothing.
void wake_sequencer();

}  // namespace ce::pg
