// The background worker (when concurrent_edit is in shared_preload_libraries).
//
// pg_cron style: one worker connected to concurrent_edit.database, a latch loop,
// SIGTERM ends it, SIGHUP reloads the configuration. Each wake-up it
//  * sequences pending change events into change_log and sends their NOTIFYs
//    (API transactions wake it when they commit events), and
//  * every concurrent_edit.worker_interval deletes expired locks and moves
//    inactive sessions to idle or closed.
// An error in a task is logged and the task retried after 1 s, 2 s, 4 s, ... (at
// most 30 s) while it keeps failing; if the worker dies the postmaster restarts it
// after a second (after a failed connection to its database, it waits for the
// database to take connections before it tries again). A cancel (pg_cancel_backend) stops the task it interrupts; one
// that arrives while the worker waits has nothing to cancel and is ignored.
#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cstring>
#include <vector>

#include <dirent.h>

#include <sys/stat.h>
#include <unistd.h>

#include "pg/access.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/history.hpp"
#include "pg/locks.hpp"
#include "pg/owner.hpp"
#include "pg/queue_vacuum.hpp"
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
    // An empty concurrent_edit.database: the library preloaded (its shared memory,
    // the statistics) without a worker. Before, the worker looked for a database
    // named '' for ever.
    if (guc_worker_database == nullptr || *guc_worker_database == '\0') {
        ereport(LOG, (errmsg("concurrent_edit: concurrent_edit.database is empty: no background worker runs"),
                      errdetail("Commits sequence their change events themselves, as without the preload.")));
        return;
    }
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
    // With every slot of max_worker_processes taken by libraries registered
    // before, PostgreSQL logs "too many background workers", naming no worker,
    // and goes on without it: say which one and what that means.
    for (slist_node* n = BackgroundWorkerList.head.next; n != nullptr; n = n->next) {
        // (slist_foreach's type check does not compile as C++.)
        auto* rw = reinterpret_cast<RegisteredBgWorker*>(reinterpret_cast<char*>(n) - offsetof(RegisteredBgWorker, rw_lnode));
        if (strcmp(rw->rw_worker.bgw_library_name, "concurrent_edit") == 0 &&
            strcmp(rw->rw_worker.bgw_function_name, "ce_worker_main") == 0)
            return;
    }
    ereport(WARNING,
            (errmsg("concurrent_edit: the background worker does not run: max_worker_processes (%d) leaves it no slot",
                    max_worker_processes),
             errdetail("Expired locks and inactive sessions are not cleaned up, history retention is not applied, and "
                       "change events are sequenced by committing transactions only."),
             errhint("Raise max_worker_processes (the worker takes one slot; the conflict recorder and the sequencer "
                     "take one per database while they run) and restart the server.")));
}

void apply_worker_settings() {
    SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("vacuum_cost_delay", "0", PGC_SUSET, PGC_S_OVERRIDE);  // the queues' vacuum is not throttled
    SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    // The recorder stores a table's name as regclass prints it, which must be the
    // form the rename and drop triggers look for (stored_name).
    SetConfigOption("quote_all_identifiers", "off", PGC_SUSET, PGC_S_OVERRIDE);
}

bool sequencing_transaction(Batch& batch, int64* moved) {
    *moved = 0;
    bool present = in_worker_transaction("concurrent_edit: sequencing change events", [&batch, moved](Spi& spi) {
        batch.budget = guc_sequence_batch;
        *moved = sequence_pending_batch(spi, batch);
    });
    queue_events_moved(*moved);  // committed: their rows in the queues are dead
    return present;
}

bool start_database_worker(const char* function, const char* type, BackgroundWorkerHandle** handle, int restart_s) {
    BackgroundWorker w;
    memset(&w, 0, sizeof(w));
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = restart_s;
    static_assert(sizeof(Oid) <= BGW_EXTRALEN, "the tablespace fits in bgw_extra");
    memcpy(w.bgw_extra, &MyDatabaseTableSpace, sizeof(Oid));
    snprintf(w.bgw_library_name, BGW_MAXLEN, "concurrent_edit");
    snprintf(w.bgw_function_name, BGW_MAXLEN, "%s", function);
    snprintf(w.bgw_name, BGW_MAXLEN, "%s", type);
    snprintf(w.bgw_type, BGW_MAXLEN, "%s", type);
    w.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
    w.bgw_notify_pid = 0;
    return RegisterDynamicBackgroundWorker(&w, handle);
}

bool database_is_there(Oid db) {
    Oid spc;
    memcpy(&spc, MyBgworkerEntry->bgw_extra, sizeof(Oid));
    // Relative to the data directory, the worker's working directory. (A
    // database moved to another tablespace meanwhile is taken for gone: the
    // worker then does not run, as before restarts existed.)
    char path[MAXPGPATH];
    if (spc == DEFAULTTABLESPACE_OID)
        snprintf(path, sizeof path, "base/%u", db);
    else
        snprintf(path, sizeof path, "pg_tblspc/%u/%s/%u", spc, TABLESPACE_VERSION_DIRECTORY, db);
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {
enum class Task { sequence, cleanup };

// The extension's row in pg_extension: its oid (InvalidOid without it) and version.
Oid find_extension(const char** version) {
    Relation rel = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("concurrent_edit"));
    SysScanDesc scan = systable_beginscan(rel, ExtensionNameIndexId, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    Oid oid = InvalidOid;
    *version = nullptr;
    if (HeapTupleIsValid(tuple)) {
        oid = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->oid;
        bool isnull;
        Datum v = heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);
        *version = isnull ? "" : TextDatumGetCString(v);
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return oid;
}
}  // namespace

// Is the extension installed in this database at this library's version? (In a
// transaction.) Between the installation of a new library and ALTER EXTENSION
// UPDATE the worker's statements would name tables of the other version: it
// waits, as when the extension is absent, and says so once.
bool installed_here() {
    static char other[NAMEDATALEN] = "";  // the other version last logged
    const char* version = nullptr;
    uint64 seen = SharedInvalidMessageCounter;
    Oid found = find_extension(&version);
    if (OidIsValid(found)) {
        // Held to the end of the transaction: a DROP EXTENSION (which locks the
        // extension in exclusive mode before its objects) waits for this
        // transaction, or committed before the lock, and the look again then
        // finds no extension. Before, a drop that committed between the look and
        // the task's statements failed them ("could not open relation", XX000).
        // (No invalidation since the look: nothing changed, no look again.)
        LockDatabaseObject(ExtensionRelationId, found, 0, AccessShareLock);
        if (seen != SharedInvalidMessageCounter && find_extension(&version) != found) version = nullptr;
    }
    bool same = version != nullptr && strcmp(version, CE_EXTVERSION) == 0;
    if (version != nullptr && !same && strcmp(other, version) != 0) {
        // The worker waits; the on-demand sequencer leaves (pending events then
        // wait for a commit of their project that takes its feed row).
        const char* db = get_database_name(MyDatabaseId);
        bool worker = MyBgworkerEntry == nullptr || strcmp(MyBgworkerEntry->bgw_type, "concurrent_edit worker") == 0;
        ereport(LOG, (errmsg("concurrent_edit %s: the extension in database \"%s\" is at version %s, the library "
                             "at %s; the %s",
                             worker ? "worker" : "sequencer", db ? db : "?", version, CE_EXTVERSION,
                             worker ? "worker waits" : "sequencer leaves"),
                      errhint("Run ALTER EXTENSION concurrent_edit UPDATE in that database.")));
        strlcpy(other, version, sizeof other);
    }
    if (same) other[0] = '\0';
    return same;
}

namespace {

// After a failed connection (concurrent_edit.database names no database, or one
// that takes no connections, which ends the worker with a FATAL): connected to no
// database, the worker waits until it can connect, saying so once, then exits so
// that the postmaster starts it again (a second later) to connect. Without this,
// a misspelt database name would log a FATAL every second.
[[noreturn]] void wait_for_database() {
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    pgstat_report_appname("concurrent_edit worker");
    // Shown as running (its pid, since now), serving no database: before,
    // worker_status said it did not run while it waited.
    stats::worker_started(GetCurrentTimestamp());
    worker_register(false);
    bool said = false;
    for (;;) {
        QueryCancelPending = false;  // a cancel while waiting: nothing to cancel
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        pgstat_report_activity(STATE_RUNNING, "waiting for its database");
        // A heap scan of pg_database, as the autovacuum launcher reads it: without
        // a database, catalog lookups through indexes are not available.
        bool exists = false, connectable = false;
        Relation rel = table_open(DatabaseRelationId, AccessShareLock);
        TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
        while (HeapTuple t = heap_getnext(scan, ForwardScanDirection)) {
            auto* d = reinterpret_cast<Form_pg_database>(GETSTRUCT(t));
            if (strcmp(NameStr(d->datname), guc_worker_database) != 0) continue;
            exists = true;
            // An interrupted DROP DATABASE leaves it invalid (datconnlimit -2).
            connectable = d->datallowconn && d->datconnlimit != -2;
        }
        table_endscan(scan);
        table_close(rel, AccessShareLock);
        CommitTransactionCommand();
        pgstat_report_activity(STATE_IDLE, nullptr);
        if (connectable) {
            worker_end_connect();
            ereport(LOG, (errmsg("concurrent_edit worker: database \"%s\" accepts connections now; the worker "
                                 "starts again to connect", guc_worker_database)));
            proc_exit(1);
        }
        if (!said) {
            ereport(WARNING,
                    (errmsg("concurrent_edit worker: database \"%s\" %s; the worker waits for it", guc_worker_database,
                            exists ? "does not accept connections" : "does not exist"),
                     errhint("Create the database (and the extension in it), or set concurrent_edit.database and "
                             "restart the server.")));
            said = true;
        }
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5 * 1000L, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}

// The sequencing rounds' batches: a backlog larger than
// concurrent_edit.sequence_batch is sequenced in several transactions, the
// projects in turn, so that none holds the feed rows, the memory of its NOTIFYs or
// a snapshot for the whole backlog.
Batch sequence_batch{0};

// Timed-out sessions are closed in batches, each in a transaction of its own (a
// transaction holds a lock per session it closes: sessions.hpp), for at most
// kCloseSliceUs per turn of the loop; the loop then sequences and comes back at
// once. A backlog of them (one role may have opened tens of thousands) is so
// worked off between sequencing rounds: before, the worker closed them all
// first, and every project's lock events waited (30 s for 30,000 sessions).
// Pass 2 (none to close) until a cleanup round starts a batch; a batch whose
// transaction failed is taken again from where the last commit left it. Expired
// locks are still swept every worker_interval meanwhile.
CloseBatch close_batch{2};
TimestampTz swept_at = 0;
constexpr int64 kCloseSliceUs = 100 * 1000;

bool run_task(Task task) {
    int64 moved;
    if (task == Task::sequence) {
        worker_sequencing();  // commits from now on call the worker again
        return sequencing_transaction(sequence_batch, &moved);
    }
    bool present = true;
    bool fresh = !close_batch.more();
    TimestampTz start = GetCurrentTimestamp();
    if (fresh || expired_locks_left() || closed_sessions_left() ||
        start - swept_at >= int64(guc_worker_interval_ms) * 1000) {
        CloseBatch batch;
        present = in_worker_transaction("concurrent_edit: expiring locks and sessions", [&batch, fresh](Spi& spi) {
            // Expired locks, orphaned ones and those closes left share
            // kReleaseBatch (locks.hpp); a fresh batch of closes below adds at
            // most 100 ms of closes, and 5,000 locks each.
            int64 released = cleanup_expired_locks(spi, false);
            release_rest_of_closed(spi, kReleaseBatch - released);
            if (fresh) cleanup_inactive_sessions(spi, &batch);
            forget_dropped_roles(spi);
        });
        if (present) {
            swept_at = start;
            if (fresh) close_batch = batch;
        }
    }
    TimestampTz until = GetCurrentTimestamp() + kCloseSliceUs;
    while (present && close_batch.more() && GetCurrentTimestamp() < until) {
        CloseBatch batch = close_batch;  // (close_timed_out_sessions checks for interrupts)
        present = in_worker_transaction("concurrent_edit: closing inactive sessions",
                                        [&batch](Spi& spi) { (void)close_timed_out_sessions(spi, &batch, true); });
        if (present) close_batch = batch;
    }
    if (!present) close_batch = CloseBatch{2};
    return present;
}

// History retention: files of a batch of at most concurrent_edit.retention_batch,
// in id order across batches; at most kRetainPerTransaction versions of a file
// per transaction (an error skips the file), and no new transaction once a round
// has worked kRetentionSliceUs. Returns whether the batch has more: the main loop
// then runs the next round right after its sequencing, not a retention_interval
// later. (Before, a round pruned its files' every version back to back: 52,000
// versions kept every project's events and lock expiries waiting 2.7 s.)
constexpr std::size_t kRetainPerTransaction = 2000;
constexpr TimestampTz kRetentionSliceUs = 100 * 1000;

bool retention_round() {
    static bool from_start = true;
    static std::vector<pg_uuid_t> batch;  // the current batch, in id order; done before `next`
    static std::size_t next = 0;
    if (next >= batch.size()) {
        // After a full batch, the files after its last one; after a shorter
        // one, a new pass from the first.
        std::vector<pg_uuid_t> ids;
        auto list = [&] {
            in_worker_transaction("concurrent_edit: choosing files for history retention", [&](Spi& spi) {
                ids = retention_candidates(spi, from_start ? nullptr : &batch.back(), guc_retention_batch);
            });
        };
        run_reporting_errors(list);
        from_start = ids.size() < static_cast<std::size_t>(guc_retention_batch);
        batch = std::move(ids);
        next = 0;
    }
    TimestampTz until = GetCurrentTimestamp() + kRetentionSliceUs;
    while (next < batch.size()) {
        const pg_uuid_t id = batch[next];
        bool more = false;
        int64 removed = 0;
        auto one = [&id, &more, &removed] {
            in_worker_transaction("concurrent_edit: applying history retention", [&id, &more, &removed](Spi& spi) {
                removed = retain_file(spi, id, kRetainPerTransaction, &more);
            });
        };
        // The next file after an error, or when none of the oldest could be
        // removed (locked by a draft being saved: the next batch comes back).
        if (!run_reporting_errors(one) || removed == 0) more = false;
        if (!more) ++next;
        if (GetCurrentTimestamp() >= until) break;
    }
    return next < batch.size();
}

// A task's retries after errors: the first after 1 s, each next one twice as late,
// at most kMaxRetryMs; a round that succeeds resets it. A task failing on every
// wake-up (a broken table, a missing grant) would otherwise log an error for each
// commit that wakes the worker.
constexpr long kFirstRetryMs = 1000, kMaxRetryMs = 30 * 1000;

struct Retry {
    const char* what;
    int failures = 0;
    TimestampTz at = 0;  // no attempt before

    bool due(TimestampTz now) const { return failures == 0 || now >= at; }
    void failed(TimestampTz now) {
        ++failures;
        long ms = failures > 5 ? kMaxRetryMs : std::min(kMaxRetryMs, kFirstRetryMs << (failures - 1));
        at = now + int64(ms) * 1000;
        ereport(LOG, (errmsg("concurrent_edit worker: %s failed (%d time%s in a row); next attempt in %ld ms", what,
                             failures, failures == 1 ? "" : "s", ms)));
    }
};

// How long the worker keeps pacing its rounds (concurrent_edit.sequence_delay)
// after it found the commits of several backends calling it twice.
constexpr TimestampTz kMixedForUs = USECS_PER_SEC;

// Runs a task if due; an error is reported, the transaction aborted and the task
// retried later (Retry), and the worker carries on. Returns false when the
// extension is absent.
bool run_task_safely(Task task, Retry& retry, TimestampTz now) {
    if (!retry.due(now)) return true;
    bool present = true;
    auto body = [&present, task] { present = run_task(task); };
    if (run_reporting_errors(body)) retry.failures = 0;
    else retry.failed(now);
    return present;
}

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

void ce_worker_main(Datum) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    apply_worker_settings();
    if (!worker_begin_connect()) wait_for_database();
    BackgroundWorkerInitializeConnection(guc_worker_database, nullptr, 0);
    worker_end_connect();
    pgstat_report_appname("concurrent_edit worker");
    ereport(LOG, (errmsg("concurrent_edit worker started in database \"%s\"", guc_worker_database)));

    stats::worker_started(GetCurrentTimestamp());
    uint64 settings = 0;
    bool settings_known = read_settings_digest(&settings);
    TimestampTz next_cleanup = 0, next_retention = 0;
    Retry cleanup_retry{"expiring locks and sessions"}, sequence_retry{"sequencing change events"};
    long behind_ms = 0;  // while events are left behind held feed rows: the next look
    TimestampTz last_round = 0;  // start of the last sequencing round
    TimestampTz mixed_at = 0, mixed_before = 0;  // the last two rounds that found callers mixed
    bool backlog = false;        // it left events for the next batch
    for (;;) {
        QueryCancelPending = false;  // a cancel while waiting: nothing to cancel
        CHECK_FOR_INTERRUPTS();
        TimestampTz now = GetCurrentTimestamp();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
            // A shorter interval takes effect now, not after the longer one ran out.
            next_cleanup = std::min(next_cleanup, now + int64(guc_worker_interval_ms) * 1000);
            next_retention = std::min(next_retention, now + int64(guc_retention_interval_s) * 1000 * 1000);
        }
        bool present = true;
        if (now >= next_cleanup) {
            uint64 latest;
            if (read_settings_digest(&latest)) {
                if (settings_known && latest != settings) {
                    ereport(LOG, (errmsg("concurrent_edit worker: the settings of database \"%s\" or of its role "
                                         "changed (ALTER DATABASE or ALTER ROLE ... SET); the worker starts again "
                                         "to apply them", guc_worker_database)));
                    proc_exit(1);  // the postmaster starts it again a second later
                }
                settings = latest;
                settings_known = true;
            }
            present = run_task_safely(Task::cleanup, cleanup_retry, now);
            if (present) (void)drain_conflict_spool();  // row conflicts of this database's OCC tables
            // Sessions left to close: the next slice right after this round's
            // sequencing (run_task).
            // (Not while the task waits to be retried: the retry's time wakes it.)
            // So are expired locks left beyond a sweep's batch, and the locks a
            // close left.
            next_cleanup = (close_batch.more() || expired_locks_left() || closed_sessions_left()) &&
                                   cleanup_retry.failures == 0
                               ? now
                               : now + int64(guc_worker_interval_ms) * 1000;
        }
        if (now >= next_retention) {
            // Whether or not the extension is here (without it, every 10 s).
            remove_files_of_dropped_databases();
            if (present)
                next_retention = retention_round() ? now : now + int64(guc_retention_interval_s) * 1000 * 1000;
        }
        if (present) {
            // At most one round per concurrent_edit.sequence_delay while commits
            // of several backends call the worker, except while a backlog is
            // worked off: events committed since the last round wait for the rest
            // of that time and are sequenced together. One backend's commits are
            // sequenced at once: none of another would join them. Several: the
            // worker found callers mixed at two rounds within the last second
            // (one backend may be off the CPU for a while; a backend that takes
            // over from another, a new connection, is found once).
            if (worker_callers_mixed()) {
                mixed_before = mixed_at;
                mixed_at = now;
            }
            bool mixed = mixed_before != 0 && now - mixed_before < kMixedForUs;
            if (mixed && !backlog && guc_sequence_delay_ms > 0 && last_round != 0 && sequence_retry.due(now)) {
                TimestampTz due = last_round + TimestampTz(guc_sequence_delay_ms * 1000.0);
                TimestampTz t = GetCurrentTimestamp();
                if (t < due) {
                    pg_usleep(due - t);
                    QueryCancelPending = false;  // a cancel while waiting: nothing to cancel (it ended the worker)
                    CHECK_FOR_INTERRUPTS();
                }
            }
            last_round = GetCurrentTimestamp();
            present = run_task_safely(Task::sequence, sequence_retry, last_round);
            backlog = present && sequence_batch.more && sequence_retry.failures == 0;
            if (present) (void)vacuum_queues_if_due();
        } else {
            backlog = false;  // no round: nothing to go on with at once
        }
        if (backlog) SetLatch(MyLatch);  // the backlog's next batch at once
        // Events left behind a feed row another transaction held (a committing
        // writer that took the row before they committed, an open prune_changes):
        // nothing may wake the worker when that transaction ends, so it looks again
        // after 10 ms, then less often (at most 200 ms) while they stay.
        if (present && sequence_retry.failures == 0 && sequence_batch.left_behind > 0)
            behind_ms = behind_ms == 0 ? 10 : std::min(behind_ms * 2, 200L);
        else
            behind_ms = 0;
        // Serve API transactions only while the extension exists here.
        worker_register(present);
        // A round counts as done only when its tasks are (none failing, the
        // extension here): since_last_round then measures how long the worker has
        // not done its work. Before, a worker failing every round looked healthy.
        stats::worker_round(GetCurrentTimestamp(),
                            present && cleanup_retry.failures == 0 && sequence_retry.failures == 0);
        pgstat_report_activity(STATE_IDLE, nullptr);  // also after an error

        TimestampTz wake = std::max(next_cleanup, cleanup_retry.failures > 0 ? cleanup_retry.at : 0);
        if (sequence_retry.failures > 0) wake = std::min(wake, sequence_retry.at);
        long timeout_ms = present ? std::max<long>(1, (wake - GetCurrentTimestamp() + 999) / 1000) : 10 * 1000L;
        // Statistics held back (reported less than a second ago): retry within the
        // time pgstat suggests, even if nothing wakes the worker before.
        long stats_ms = pgstat_report_stat(false);
        if (stats_ms > 0) timeout_ms = std::min(timeout_ms, stats_ms);
        if (behind_ms > 0) timeout_ms = std::min(timeout_ms, behind_ms);
        // A commit called the worker after its last round began, and a wait in
        // that round (a row lock) or in the queues' vacuum may have reset the latch
        // it set: another round at once (later commits do not call again).
        if (present && sequence_retry.failures == 0 && worker_call_pending()) timeout_ms = 0;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}
