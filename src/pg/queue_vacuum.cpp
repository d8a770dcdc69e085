// The queues vacuumed by the processes that drain them (queue_vacuum.hpp).
#include "pg/queue_vacuum.hpp"

#include "pg/boundary.hpp"
#include "pg/guc.hpp"
#include "pg/worker.hpp"

namespace ce::pg {
namespace {

int64 moved_since_vacuum = 0;
TimestampTz next_vacuum_at = 0;  // no vacuum before
// vacuum() keeps its lists and working memory under PortalContext, which a
// background worker does not have: this process's own, reset after each vacuum
// (after an error too).
MemoryContext vacuum_memory = nullptr;

// A vacuum's pause: kPauseFactor times its own duration.
constexpr int64 kPauseFactor = 19;
constexpr int64 kPauseAfterErrorUs = 60 * USECS_PER_SEC;
constexpr int kVacuumTimeoutMs = 1000;

// In C: may raise. Starts and ends its own transactions, and leaves PortalContext
// set to vacuum_memory (vacuum_queues_if_due restores it).
void vacuum_queues_c() {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    pgstat_report_activity(STATE_RUNNING, "concurrent_edit: vacuuming the pending-event queues");
    List* rels = NIL;
    if (installed_here()) {
        Oid nsp = get_namespace_oid("concurrent_edit", false);
        MemoryContext old = MemoryContextSwitchTo(vacuum_memory);  // outlives the commit vacuum() makes
        for (const char* name : {"change_pending", "change_pending_locks"}) {
            Oid relid = get_relname_relid(name, nsp);
            if (OidIsValid(relid)) rels = lappend(rels, makeVacuumRelation(nullptr, relid, NIL));
        }
        MemoryContextSwitchTo(old);
    }
    if (rels == NIL) {
        CommitTransactionCommand();
        pgstat_report_activity(STATE_IDLE, nullptr);
        return;
    }
    VacuumParams params{};
    // SKIP_LOCKED: a queue someone holds a lock on (LOCK TABLE, an ALTER) is left
    // for the next time rather than waited for. No truncation: it takes an ACCESS
    // EXCLUSIVE lock on the queue, which every committing transaction with an event
    // waits for, and makes every backend rebuild the queue's relcache entry; the
    // freed pages are reused instead (autovacuum still truncates).
    params.options = VACOPT_VACUUM | VACOPT_SKIP_LOCKED | VACOPT_PROCESS_TOAST;
    params.freeze_min_age = -1;
    params.freeze_table_age = -1;
    params.multixact_freeze_min_age = -1;
    params.multixact_freeze_table_age = -1;
    params.is_wraparound = false;
    params.log_min_duration = -1;
    // Always the index too: with `auto`, a queue that a burst left large has dead
    // entries on few of its pages, and the primary key the rounds scan would keep
    // its dead entries.
    params.index_cleanup = VACOPTVALUE_ENABLED;
    params.truncate = VACOPTVALUE_DISABLED;
    params.nworkers = -1;  // no parallel workers (one index per queue)
    PortalContext = vacuum_memory;  // the caller restores it
    // The caller's other work waits for the vacuum: it is cancelled after
    // kVacuumTimeoutMs, whatever it waits for. lock_timeout would not end a wait
    // for a buffer pin: the index's cleanup locks wait for every scan that keeps
    // a pin on a leaf page, and a role granted read_tables can hold one in an
    // open cursor on a queue (its unlogged key, or an index-only scan). The
    // timeout's SIGINT is the cancel of a worker with a database connection.
    enable_timeout_after(STATEMENT_TIMEOUT, kVacuumTimeoutMs);
    // vacuum() commits the transaction above, vacuums each queue in a transaction
    // of its own and starts one more at the end, committed here.
    vacuum(rels, &params, nullptr, true);
    disable_timeout(STATEMENT_TIMEOUT, false);
    CHECK_FOR_INTERRUPTS();  // a timeout that fired as the vacuum ended: an error here
    CommitTransactionCommand();
    (void)pgstat_report_stat(false);
    pgstat_report_activity(STATE_IDLE, nullptr);
}

}  // namespace

void queue_events_moved(int64 n) {
    if (n > 0) moved_since_vacuum += n;
}

bool vacuum_queues_if_due() {
    if (guc_queue_vacuum_threshold <= 0) moved_since_vacuum = 0;  // off: the count starts when it is set
    if (guc_queue_vacuum_threshold <= 0 || moved_since_vacuum < guc_queue_vacuum_threshold) return false;
    TimestampTz start = GetCurrentTimestamp();
    if (start < next_vacuum_at) return false;
    if (vacuum_memory == nullptr)
        vacuum_memory = AllocSetContextCreate(TopMemoryContext, "concurrent_edit queue vacuum", ALLOCSET_DEFAULT_SIZES);
    moved_since_vacuum = 0;
    MemoryContext portal = PortalContext;
    auto body = [] { vacuum_queues_c(); };
    bool ok = run_reporting_errors(body);  // a cancelled vacuum is logged: the next try a minute later
    if (!ok) {
        disable_timeout(STATEMENT_TIMEOUT, false);
        // A timeout that fired after the error: no cancel is left for the caller.
        if (get_timeout_indicator(STATEMENT_TIMEOUT, true)) QueryCancelPending = false;
    }
    PortalContext = portal;  // also after an error
    MemoryContextReset(vacuum_memory);
    // A wait inside the vacuum (for a lock, for a buffer pin) sleeps on this
    // process's latch and resets it, which may take the wake-up of a commit that
    // left events meanwhile: the caller looks for them again before it sleeps.
    SetLatch(MyLatch);
    TimestampTz end = GetCurrentTimestamp();
    next_vacuum_at = ok ? end + (end - start) * kPauseFactor : end + kPauseAfterErrorUs;
    return ok;
}

}  // namespace ce::pg
