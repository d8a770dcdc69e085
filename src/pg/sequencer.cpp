// The on-demand sequencer (see sequencer.hpp).
//
// Why no event is left behind. A committing transaction W that found its
// project's feed row busy hands its events over only once ensure_sequencer() said
// yes at its pre-commit. That call takes the database's sequencer-clients lock in
// share mode (transaction-level: released after W's commit is visible and its
// commit callback ran), then finds the sequencer lock held (a sequencer runs, or
// is starting and holds it already), or a young start marker (one was
// registered and has neither taken the lock nor given up: it removes the marker
// either way), or registers one itself (unless, once its marker is made, the
// lock is found held: a sequencer took it and removed its marker since the
// first look). When the clients lock is taken
// exclusively (a sequencer is leaving) or no worker slot is free, W waits for the
// row instead.
//
// A sequencer leaves only while it holds the clients lock exclusively, which it
// gets only when no W is between its pre-commit and the end of its commit, and
// only after a round made with that lock held moved every pending event (no feed
// row held by another transaction in its way). Every event handed to it is
// therefore committed before a round of a sequencer that is still there: after
// its commit W sets the latch of the pid the sequencer published, and a running
// sequencer also looks every kPollMs (for an event committed after a round, or
// skipped because a committing writer held its row). A starting sequencer takes
// the sequencer lock (waiting up to kLockWaitMs for a leaving one), publishes its
// pid, removes the start marker, then runs its first round; one that cannot take
// the lock exits: the one holding it cannot leave while a W relies on it.
//
// A sequencer that does not leave this way (terminated by an administrator, an
// error out of its loop, a crash of the server) exits with 1, and the postmaster
// starts it again after kRestartS (after a crash: once recovery is done), as it
// retries a fork that failed; its first round takes every project, so the events
// handed to it are numbered. Every way it leaves of its own accord (no work,
// another holds the lock, the extension gone, the database gone, the worker
// serving the database: it takes what is pending) exits with 0,
// which ends its registration. What is left: events handed to a sequencer when
// the server stops (a restart forgets the registration) wait for the next commit
// that hands events over in that database (its sequencer's rounds take every
// project) or that takes their project's feed row.
#include "pg/sequencer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fcntl.h>
#include <unistd.h>

#include "pg/advisory.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/queue_vacuum.hpp"
#include "pg/shared.hpp"
#include "pg/start_marker.hpp"
#include "pg/worker.hpp"

extern "C" {
PGDLLEXPORT void ce_sequencer_main(Datum arg);
}

namespace ce::pg {
namespace {

constexpr long kLingerMs = 2000;   // a sequencer without work for this long exits (DROP DATABASE waits 5 s for it)
constexpr long kPollMs = 10;       // while it runs it looks this often, woken or not
constexpr long kMaxPollMs = 200;   // ... and at least this often while events wait behind a held row
constexpr long kLockWaitMs = 100;  // a starting sequencer waits this long for the lock
constexpr int kRestartS = 1;       // one that exits with 1 (terminated, crashed) is started again after this
constexpr const char* kType = "concurrent_edit sequencer";

LOCKTAG sequencer_tag(Oid db) { return database_lock_tag(db, LockClass::sequencer); }

// Fixed buffers: the commit callback's calls allocate nothing.
WorkerFile pid_path(Oid db, const char* suffix = "") { return worker_file("sequencer", db, suffix); }
WorkerFile start_path(Oid db) { return start_marker("sequencer", db); }

// The pid the database's sequencer published, 0 when none. Raises nothing.
pid_t published_pid(Oid db) {
    int fd = open(pid_path(db).c_str(), O_RDONLY);
    if (fd < 0) return 0;
    char buf[32];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    long pid = strtol(buf, nullptr, 10);
    return pid > 0 ? static_cast<pid_t>(pid) : 0;
}

// Written atomically. False on an I/O error.
bool publish_pid(Oid db) {
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", static_cast<int>(MyProcPid));
    return make_private_dir(kWorkerFilesDir) &&
           write_file_atomically(pid_path(db).c_str(), pid_path(db, ".tmp").c_str(), text, static_cast<std::size_t>(len));
}

// Removes the published pid if it is this process's (only the lock's holder
// publishes, and this one still holds it). Also run at exit, however it exits.
void unpublish_pid(int, Datum arg) {
    Oid db = DatumGetObjectId(arg);
    if (published_pid(db) == MyProcPid) unlink(pid_path(db).c_str());
}

// Whether a sequencer holds the database's sequencer lock (it runs, or is
// starting and took it already). Probed in share mode, so that two committing
// transactions probing at once do not take each other for a sequencer.
bool sequencer_holds_lock(Oid db) { return !lock_is_free(sequencer_tag(db), ShareLock); }

bool said_no_slot = false;

// Registers a sequencer unless one is being started (at pre-commit). False when
// none could be: no worker slot free, or no start marker possible.
bool launch() {
    Oid db = MyDatabaseId;
    // No marker made (failed): none is registered, or a commit per busy row could
    // take a worker slot each.
    StartClaim c = claim_start_marker(start_path(db));
    if (c == StartClaim::starting) return true;
    if (c == StartClaim::failed) return false;
    // Claimed: no marker was there. A sequencer registered by another commit
    // removes its marker once it holds its lock, and may have done so after this
    // backend found the lock free: then it runs, and another would only wait for
    // its lock and exit (holding a worker slot meanwhile).
    if (sequencer_holds_lock(db)) {
        unlink(start_path(db).c_str());
        return true;
    }
    // Not the handle: whether one runs is what its lock says (a sequencer that
    // finds another holding it exits).
    if (start_database_worker("ce_sequencer_main", kType, nullptr, kRestartS)) return true;
    unlink(start_path(db).c_str());
    if (!said_no_slot) {
        said_no_slot = true;
        ereport(LOG, (errmsg("could not start the concurrent_edit sequencer; committing transactions wait for "
                             "their project's feed row instead"),
                      errhint("Raise max_worker_processes.")));
    }
    return false;
}

// Takes the sequencer lock, waiting up to kLockWaitMs (see the top of the file).
bool take_lock(LOCKTAG* tag, Oid db) {
    if (take_worker_lock(*tag, kLockWaitMs)) return true;
    unlink(start_path(db).c_str());
    return LockAcquire(tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

// One round: every project's pending events (skipping feed rows that committing
// transactions hold), in batches of concurrent_edit.sequence_batch. Returns the
// number of events moved, -1 after an error (reported), -2 when the extension is
// not installed here at this library's version.
int64 round(Batch& batch) {
    int64 moved = 0;
    bool present = true;
    auto body = [&] { present = sequencing_transaction(batch, &moved); };
    bool ok = run_reporting_errors(body);
    if (ok && present) return moved;
    batch.more = batch.has_resume = false;  // what the failed round left is not to be trusted
    batch.left_behind = 0;
    return ok ? -2 : -1;
}

// ensure_sequencer() in plain C (PostgreSQL calls only; may raise). With `wait`,
// waits for a leaving sequencer to be gone rather than give up.
bool ensure_sequencer_c(bool wait) {
    // Held to the end of the commit: no sequencer leaves meanwhile.
    LOCKTAG clients = database_lock_tag(MyDatabaseId, LockClass::sequencer_clients);
    if (LockAcquire(&clients, ShareLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL) return false;  // one is leaving
    if (sequencer_holds_lock(MyDatabaseId)) return true;
    return launch();
}

}  // namespace

bool ensure_sequencer() {
    if (!guc_on_demand_sequencer) return false;
    return pg_call([] { return ensure_sequencer_c(false); });
}

// After COMMIT PREPARED the events are committed already: a sequencer leaving
// now (its last round made before that commit) would leave them behind, and the
// committing writer's fallback (waiting for the feed row) does not exist here.
// So the hook waits for it to be gone, then starts another. It holds nothing a
// leaving sequencer waits for (the prepared transaction's locks are released).
bool ensure_sequencer_from_hook() { return guc_on_demand_sequencer && ensure_sequencer_c(true); }

void wake_sequencer() {
    pid_t pid = published_pid(MyDatabaseId);
    if (pid == 0) return;  // starting: it publishes before its first round
    PGPROC* proc = BackendPidGetProc(pid);
    if (proc != nullptr && proc->isBackgroundWorker && proc->databaseId == MyDatabaseId) SetLatch(&proc->procLatch);
}

}  // namespace ce::pg

using namespace ce::pg;

// Connected as the bootstrap superuser, as the worker (the extension's owner may
// be a NOLOGIN role); the events are moved in the owner's context
// (in_worker_transaction).
void ce_sequencer_main(Datum arg) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    Oid db = DatumGetObjectId(arg);
    if (!database_is_there(db)) proc_exit(0);  // dropped while it waited to be started again
    apply_worker_settings();
    BackgroundWorkerInitializeConnectionByOid(db, InvalidOid, 0);
    pgstat_report_appname(kType);
    LOCKTAG tag = sequencer_tag(db), clients = database_lock_tag(db, LockClass::sequencer_clients);
    before_shmem_exit(unpublish_pid, ObjectIdGetDatum(db));
    // One sequencer per database (see the top of the file).
    if (!take_lock(&tag, db)) proc_exit(0);
    if (!publish_pid(db))
        ereport(WARNING, (errmsg("concurrent_edit sequencer: cannot write \"%s\": %m; it looks for events every "
                                 "%ld ms only", pid_path(db).c_str(), kPollMs)));
    unlink(start_path(db).c_str());
    Batch batch{0};
    TimestampTz idle_since = GetCurrentTimestamp();
    long poll_ms = kPollMs;
    int exit_code = 0;
    for (;;) {
        QueryCancelPending = false;  // a cancel while it waits: nothing to cancel
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        int64 moved = round(batch);
        if (moved == -2) break;  // not installed here (or at another version): leave
        (void)vacuum_queues_if_due();
        TimestampTz now = GetCurrentTimestamp();
        if (worker_serves_this_database()) {
            // The worker serves the database now (it was starting when a commit
            // started this sequencer): committing transactions hand their events
            // to it. Once none is between its pre-commit and the end of its commit
            // (one may have relied on this sequencer), a last round moves what was
            // handed here, and the worker takes anything left, so the sequencer
            // leaves instead of polling beside it while the database is busy.
            if (LockAcquire(&clients, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL) {
                if (round(batch) != 0 || batch.more || batch.left_behind > 0) wake_worker();
                break;
            }
        } else if (moved > 0 || batch.more) {
            idle_since = now;
            poll_ms = kPollMs;
        } else if (moved == 0 && batch.left_behind > 0) {
            // Events wait behind feed rows other transactions hold (an open
            // prune_changes, say): not idle, but looking less often.
            idle_since = now;
            poll_ms = std::min(poll_ms * 2, kMaxPollMs);
        } else if (TimestampDifferenceExceeds(idle_since, now, static_cast<int>(kLingerMs))) {
            // Idle (or failing) for kLingerMs: leave, unless a committing
            // transaction may be handing events over, or the last round, made
            // while none can, left any behind.
            if (LockAcquire(&clients, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL) {
                int64 last = round(batch);
                // Its rounds failing, it leaves with 1: started again after
                // kRestartS, it tries the events handed to it again (before, it
                // left with 0, and they waited for a later commit of their
                // project).
                if (last == -1) exit_code = 1;
                if (last == -2 || last == -1 || (last == 0 && !batch.more && batch.left_behind == 0)) break;
                LockRelease(&clients, ExclusiveLock, true);
            }
            idle_since = now;
        }
        long timeout = batch.more ? 0 : moved == -1 ? 1000 : poll_ms;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
    unpublish_pid(0, ObjectIdGetDatum(db));
    proc_exit(exit_code);  // releases both session locks
}
