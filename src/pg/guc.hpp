// Configuration parameters (GUCs) of the extension. See docs/gucs.md.
#pragma once

#include <cstddef>

#include "concurrent_edit/memory.hpp"
#include "concurrent_edit/merge.hpp"
#include "pg/heap.hpp"

namespace ce::pg {

// concurrent_edit.max_input_size (kB): largest text accepted by merge, diff and write.
extern int guc_max_input_kb;

inline std::size_t max_input_bytes() { return static_cast<std::size_t>(guc_max_input_kb) * 1024; }

// concurrent_edit.max_merge_memory (kB): memory one merge or diff may take.
extern int guc_max_merge_memory_kb;

inline std::size_t max_merge_memory_bytes() { return static_cast<std::size_t>(guc_max_merge_memory_kb) * 1024; }

// The memory budget of one merge or diff: declare one around the core call
// (`ce::memory::Budget budget = merge_budget();`). Also puts
// concurrent_edit.retained_free_memory in force in the backend (heap.hpp).
inline ce::memory::Budget merge_budget() {
    retain_free_memory();
    return ce::memory::Budget(max_merge_memory_bytes(), "concurrent_edit.max_merge_memory");
}

// concurrent_edit.conflict_style: marker style of conflicts returned by write().
MergeStyle conflict_style();
// concurrent_edit.diff_algorithm: the line diff core (myers = git's, or dtl).
DiffAlgorithm diff_algorithm();
// concurrent_edit.semantic_warnings: whether clean merges report the blocks both sides changed.
extern bool guc_semantic_warnings;

// Locks: default and largest TTL (seconds).
extern int guc_lock_ttl_s;
extern bool guc_lock_events;
extern double guc_notify_queue_limit;  // fraction of PostgreSQL's notification queue
extern int guc_max_lock_ttl_s;
// Sessions: inactivity before idle, and before closed (seconds).
extern int guc_session_idle_s;
extern int guc_session_close_s;
extern int guc_closed_session_retention_s;
// Most open sessions per role (open_session), -1 for none.
extern int guc_max_sessions_per_role;
// Background worker: database it serves, and its cleanup interval (ms).
extern char* guc_worker_database;
extern int guc_worker_interval_ms;
// History retention by the worker: its interval (s) and files per round.
extern int guc_retention_interval_s;
extern int guc_retention_batch;
extern int guc_max_writes_per_file;
extern int guc_sequence_batch;  // pending events per worker transaction
// Least time between the starts of two sequencing rounds of the worker (ms).
extern double guc_sequence_delay_ms;
// Events the worker or the on-demand sequencer moves out of the pending queues
// before it vacuums them (queue_vacuum.hpp); 0: left to autovacuum.
extern int guc_queue_vacuum_threshold;
// Whether a commit that finds its project's feed row busy, with no worker serving
// the database, hands its events to an on-demand sequencer (sequencer.hpp).
extern bool guc_on_demand_sequencer;

// How far a writer's own counter in a client_clock may be ahead of the file.
extern int guc_max_clock_ahead;

// Row conflicts waiting in the spool of a database, at most.
extern int guc_conflict_spool_limit;

// OCC triggers in merge mode: row images kept per row.
extern int guc_occ_history_versions;

void define_gucs();

}  // namespace ce::pg
