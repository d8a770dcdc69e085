// The pending-event queues (change_pending, change_pending_locks) vacuumed by the
// processes that drain them: the worker and the on-demand sequencer.
//
// Every lock event (with the worker) and every event that waits for the worker or
// a sequencer passes through a queue: the committing transaction inserts its
// row, a sequencing round moves it into change_log and deletes it. Under a steady stream the queues
// hold a few rows and a great many dead ones. Autovacuum visits a database once
// per autovacuum_naptime (a minute by default); until then nothing reuses the
// space, so every event takes a new place at the end of the heap and of the
// primary key, and every round's scans walk the dead entries from the start of
// the index. With 8 clients cycling locks, change_pending_locks grew to 300 MB in
// 90 s, the worker's CPU per event rose by half and the cycles per second fell
// by a fifth (docs/benchmarks.md, "The queues vacuumed by the worker").
#pragma once

#include "pg/pg_headers.hpp"

namespace ce::pg {

// A sequencing round of this process moved `n` events out of the queues.
void queue_events_moved(int64 n);

// Vacuums both queues (VACUUM (SKIP_LOCKED, INDEX_CLEANUP on, TRUNCATE false),
// cancelled after 1 s) when this process
// has moved at least concurrent_edit.queue_vacuum_threshold events since its last
// vacuum of them and the pause after that vacuum is over: 19 times as long as it
// took (a vacuum that finds little to remove, while an old snapshot holds the dead
// rows, does not take more than 5 % of the process's time), at least a minute
// after a failure. Called with no transaction open, by a background worker
// connected to its database; errors are reported, never raised. After a vacuum
// (or its failure) the process's latch is set: a wait inside the vacuum may have
// taken a commit's wake-up. Returns whether it vacuumed.
bool vacuum_queues_if_due();

}  // namespace ce::pg
