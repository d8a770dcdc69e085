// The background worker (when concurrent_edit is in shared_preload_libraries).
//
// pg_cron style: one worker connected to concurrent_edit.database, a latch loop,
// SIGTERM ends it, SIGHUP reloads the configuration. Each wake-up it
//  * sequences pending change events into change_log and sends their NOTIFYs
//    (API transactions wake it when they commit events), and
//  * every concurrent_edit.worker_interval deletes expired locks and moves
//    inactive sessions to idle or closed.
// An error in a cycle is logged and the cycle is retried on the next wake-up; if
// the worker dies the postmaster restarts it after a second.
#include <algorithm>
#include <cstring>

#include "pg/access.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/history.hpp"
#include "pg/locks.hpp"
#include "pg/owner.hpp"
#include "pg/recorder.hpp"
#include "pg/sessions.hpp"
#include "pg/shared.hpp"
#include "pg/spi.hpp"
#include "pg/stats.hpp"
#include "pg/worker.hpp"

extern "C" {
PGDLLEXPORT void ce_worker_main(Datum arg);
}

namespace ce::pg {

void register_worker() {
    BackgroundWorker w;
    memset(&w, 0, sizeof(w));
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = 1;
    snprintf(w.bgw_library_name, BGW_MAXLEN, "concurrent_edit");
    snprintf(w.bgw_function_name, BGW_MAXLEN, "ce_worker_main");
    snprintf(w.bgw_name, BGW_MAXLEN, "concurrent_edit worker");
    snprintf(w.bgw_type, BGW_MAXLEN, "concurrent_edit worker");
    w.bgw_main_arg = Datum(0);
    w.bgw_notify_pid = 0;
    RegisterBackgroundWorker(&w);
}

namespace {

enum class Task { sequence, cleanup };

// One transaction running `body` in the owner's context. Returns false when the
// extension is not installed in the worker's database.
template <typename F>
bool in_transaction(const char* activity, F&& body) {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    pgstat_report_activity(STATE_RUNNING, activity);
    bool present = OidIsValid(get_extension_oid("concurrent_edit", true));
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

bool run_task(Task task) {
    if (task == Task::sequence)
        return in_transaction("concurrent_edit: sequencing change events",
                              [](Spi& spi) { sequence_pending(spi, true, nullptr); });
    return in_transaction("concurrent_edit: expiring locks and sessions", [](Spi& spi) {
        cleanup_expired_locks(spi);
        cleanup_inactive_sessions(spi);
        drop_grants_of_dropped_roles(spi);
    });
}

// History retention: at most concurrent_edit.retention_batch files per round, in
// id order across rounds, one transaction each (an error skips that file).
void retention_round() {
    static pg_uuid_t last{};
    static bool from_start = true;
    std::vector<pg_uuid_t> ids;
    auto list = [&] {
        in_transaction("concurrent_edit: choosing files for history retention", [&](Spi& spi) {
            ids = retention_candidates(spi, from_start ? nullptr : &last, guc_retention_batch);
        });
    };
    run_reporting_errors(list);
    from_start = ids.size() < static_cast<std::size_t>(guc_retention_batch);
    for (const pg_uuid_t& id : ids) {
        last = id;
        auto one = [&id] {
            in_transaction("concurrent_edit: applying history retention", [&id](Spi& spi) { (void)retain_file(spi, id); });
        };
        run_reporting_errors(one);
    }
}

// Runs a task; an error is reported and the transaction aborted, and the worker
// carries on (the same work is retried at the next wake-up).
bool run_task_safely(Task task) {
    bool present = true;  // after an error: try again at the next wake-up
    auto body = [&present, task] { present = run_task(task); };
    run_reporting_errors(body);
    return present;
}

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

void ce_worker_main(Datum) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(guc_worker_database, nullptr, 0);
    pgstat_report_appname("concurrent_edit worker");
    ereport(LOG, (errmsg("concurrent_edit worker started in database \"%s\"", guc_worker_database)));

    stats::worker_started(GetCurrentTimestamp());
    TimestampTz next_cleanup = 0, next_retention = 0;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        TimestampTz now = GetCurrentTimestamp();
        bool present = true;
        if (now >= next_cleanup) {
            present = run_task_safely(Task::cleanup);
            // Row conflicts of this database's OCC tables (no transaction is open here).
            if (present) (void)drain_conflict_spool();
            next_cleanup = now + int64(guc_worker_interval_ms) * 1000;
        }
        if (present && now >= next_retention) {
            retention_round();
            next_retention = now + int64(guc_retention_interval_s) * 1000 * 1000;
        }
        if (present) present = run_task_safely(Task::sequence);
        // Serve API transactions only while the extension exists here.
        worker_register(present);
        stats::worker_round(GetCurrentTimestamp());

        long timeout_ms = present ? std::max<long>(1, (next_cleanup - GetCurrentTimestamp() + 999) / 1000)
                                  : 10 * 1000L;
        // Statistics held back (reported less than a second ago): retry within the
        // time pgstat suggests, even if nothing wakes the worker before.
        long stats_ms = pgstat_report_stat(false);
        if (stats_ms > 0) timeout_ms = std::min(timeout_ms, stats_ms);
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}
