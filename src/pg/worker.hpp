// The background worker: registered by _PG_init when preloaded.
#pragma once

namespace ce::pg {
void register_worker();
// Session settings every concurrent_edit background worker runs with, whatever
// postgresql.conf, ALTER DATABASE or ALTER ROLE say (autovacuum does the same):
// the sequencer relies on READ COMMITTED (each statement sees what committed
// before it took the feed row) and the workers write and wait for row locks.
// Called before the worker connects.
void apply_worker_settings();
}
