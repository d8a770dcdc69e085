// The on-demand sequencer (see sequencer.hpp).
//
// Why no event is left behind. A committing transaction W that found its
// project's feed row busy leaves its events pending and, at pre-commit, makes
// sure a sequencer runs: its lock is held, or one is starting (a start marker
// younger than kStartMarkerS, made with O_EXCL by whoever registered it), or W
// registers one. After its commit, W reads the published pid:
//  * present and alive: W sets that sequencer's latch. A running sequencer also
//    looks every kPollMs (a round skips the feed rows that committing writers
//    hold, and an event committed after such a holder's snapshot waits for the
//    next look). One that leaves unlinks the file, releases its lock and then
//    runs one more round: a file W could still read means that round comes
//    after W's commit.
//  * absent: unless a start marker says one is starting, W registers one.
// A starting sequencer takes the lock (waiting for it up to kLockWaitMs: a
// leaving one holds it for a moment), publishes its pid, removes the marker and
// then runs its first round, so a W that saw the marker committed before that
// round. If the lock stays held, it removes the marker and tries once more: a
// holder still there is running (and looks again within kPollMs) or will run
// its last round after releasing the lock, after W's commit either way.
#include "pg/sequencer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg/advisory.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/worker.hpp"

extern "C" {
PGDLLEXPORT void ce_sequencer_main(Datum arg);
}

namespace ce::pg {
namespace {

constexpr long kLingerMs = 5000;   // a sequencer without work for this long exits
constexpr long kPollMs = 10;       // while it runs it looks this often, woken or not
constexpr long kMaxPollMs = 200;   // ... and at least this often while events wait behind a held row
constexpr long kLockWaitMs = 100;  // a starting sequencer waits this long for the lock
constexpr time_t kStartMarkerS = 2;  // a start marker older than this is stale
constexpr const char* kType = "concurrent_edit sequencer";

LOCKTAG sequencer_tag(Oid db) { return database_lock_tag(db, LockClass::sequencer); }

// Relative to the data directory (the server's working directory). Fixed
// buffers: the commit callback's calls allocate nothing.
struct Path {
    char name[64];
    const char* c_str() const { return name; }
};
Path pid_path(Oid db, const char* suffix = "") {
    Path p;
    snprintf(p.name, sizeof p.name, "pg_concurrent_edit/sequencer.%u%s", db, suffix);
    return p;
}
Path start_path(Oid db) { return pid_path(db, ".start"); }

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

// Written atomically (a temporary name, then rename). False on an I/O error.
bool publish_pid(Oid db) {
    if (mkdir("pg_concurrent_edit", S_IRWXU) != 0 && errno != EEXIST) return false;
    Path path = pid_path(db), tmp = pid_path(db, ".tmp");
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", static_cast<int>(MyProcPid));
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR | S_IWUSR);
    if (fd < 0) return false;
    bool ok = write(fd, text, len) == len;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp.c_str(), path.c_str()) == 0) return true;
    unlink(tmp.c_str());
    return false;
}

// Removes the published pid if it is this process's (only the lock's holder
// publishes, and this one still holds it). Also run at exit, however it exits.
void unpublish_pid(int, Datum arg) {
    Oid db = DatumGetObjectId(arg);
    if (published_pid(db) == MyProcPid) unlink(pid_path(db).c_str());
}

// True when this backend made the start marker (it then registers a sequencer),
// false when a young one says a sequencer is starting. Raises nothing.
bool claim_start(Oid db) {
    Path path = start_path(db);
    if (mkdir("pg_concurrent_edit", S_IRWXU) != 0 && errno != EEXIST) return true;
    for (int attempt = 0; attempt < 2; ++attempt) {
        int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        if (errno != EEXIST) return true;  // no marker possible: register anyway
        struct stat st;
        if (stat(path.c_str(), &st) != 0) continue;  // removed meanwhile
        if (time(nullptr) - st.st_mtime < kStartMarkerS) return false;
        unlink(path.c_str());  // stale: its sequencer never started
    }
    return false;
}

// The sequencer this backend registered last, and when.
BackgroundWorkerHandle* last_started = nullptr;
TimestampTz last_started_at = 0;
bool said_no_slot = false;

// Registers a sequencer unless one is starting. False when no worker slot is
// free. With `keep_handle` (at pre-commit) the handle is kept; without it
// (after the commit) nothing is allocated and nothing raised.
bool launch(bool keep_handle) {
    Oid db = MyDatabaseId;
    if (!claim_start(db)) return true;
    bool started;
    if (keep_handle) {
        MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
        if (last_started != nullptr) pfree(last_started);
        last_started = nullptr;
        started = start_database_worker("ce_sequencer_main", kType, &last_started);
        MemoryContextSwitchTo(old);
        if (started) last_started_at = GetCurrentTimestamp();
    } else {
        started = start_database_worker("ce_sequencer_main", kType, nullptr);
    }
    if (started) return true;
    unlink(start_path(db).c_str());
    if (keep_handle && !said_no_slot) {
        said_no_slot = true;
        ereport(LOG, (errmsg("could not start the concurrent_edit sequencer; committing transactions wait for "
                             "their project's feed row instead"),
                      errhint("Raise max_worker_processes.")));
    }
    return false;
}

// Takes the sequencer lock, waiting up to kLockWaitMs (see the top of the file).
bool take_lock(LOCKTAG* tag, Oid db) {
    TimestampTz since = GetCurrentTimestamp();
    while (LockAcquire(tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL) {
        if (TimestampDifferenceExceeds(since, GetCurrentTimestamp(), static_cast<int>(kLockWaitMs))) {
            unlink(start_path(db).c_str());
            return LockAcquire(tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
        }
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
    return true;
}

// One round: every project's pending events (skipping feed rows that committing
// transactions hold), in batches of concurrent_edit.sequence_batch. Returns the
// number of events moved, -1 after an error (reported), -2 when the extension is
// not installed here at this library's version.
int64 round(Batch& batch) {
    int64 moved = 0;
    bool present = true;
    auto body = [&] {
        present = in_worker_transaction("concurrent_edit: sequencing change events", [&](Spi& spi) {
            batch.budget = guc_sequence_batch;
            moved = sequence_pending_batch(spi, batch);
        });
    };
    if (!run_reporting_errors(body)) return -1;
    return present ? moved : -2;
}

}  // namespace

bool ensure_sequencer() {
    if (!guc_on_demand_sequencer) return false;
    return pg_call([] {
        pid_t pid;
        if (last_started != nullptr &&
            !TimestampDifferenceExceeds(last_started_at, GetCurrentTimestamp(), static_cast<int>(kLingerMs)) &&
            GetBackgroundWorkerPid(last_started, &pid) != BGWH_STOPPED)
            return true;  // the one this backend started is starting or running
        if (!lock_is_free(sequencer_tag(MyDatabaseId))) return true;
        return launch(true);
    });
}

void wake_sequencer() {
    pid_t pid = published_pid(MyDatabaseId);
    if (pid != 0) {
        PGPROC* proc = BackendPidGetProc(pid);
        if (proc != nullptr && proc->isBackgroundWorker && proc->databaseId == MyDatabaseId) {
            SetLatch(&proc->procLatch);
            return;
        }
    }
    (void)launch(false);
}

}  // namespace ce::pg

using namespace ce::pg;

// Connected as the bootstrap superuser, as the worker (the extension's owner may
// be a NOLOGIN role); the events are moved in the owner's context
// (in_worker_transaction).
void ce_sequencer_main(Datum arg) {
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    Oid db = DatumGetObjectId(arg);
    apply_worker_settings();
    BackgroundWorkerInitializeConnectionByOid(db, InvalidOid, 0);
    pgstat_report_appname(kType);
    LOCKTAG tag = sequencer_tag(db);
    before_shmem_exit(unpublish_pid, ObjectIdGetDatum(db));
    Batch batch{0};
    for (;;) {
        // One sequencer per database (see the top of the file).
        if (!take_lock(&tag, db)) proc_exit(0);
        if (!publish_pid(db))
            ereport(WARNING, (errmsg("concurrent_edit sequencer: cannot write \"%s\": %m; it looks for events every "
                                     "%ld ms only", pid_path(db).c_str(), kPollMs)));
        unlink(start_path(db).c_str());
        TimestampTz idle_since = GetCurrentTimestamp();
        long poll_ms = kPollMs;
        for (;;) {
            CHECK_FOR_INTERRUPTS();
            int64 moved = round(batch);
            if (moved == -2) break;  // not installed here (or another version): leave
            TimestampTz now = GetCurrentTimestamp();
            if (moved > 0 || batch.more) {
                idle_since = now;
                poll_ms = kPollMs;
            } else if (moved == 0 && batch.left_behind > 0) {
                // Events wait behind feed rows other transactions hold (an open
                // prune_changes, say): not idle, but looking less often.
                idle_since = now;
                poll_ms = std::min(poll_ms * 2, kMaxPollMs);
            } else if (TimestampDifferenceExceeds(idle_since, now, static_cast<int>(kLingerMs))) {
                break;
            }
            long timeout = batch.more && moved >= 0 ? 0 : moved == -1 ? 1000 : poll_ms;
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout, PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        }
        unpublish_pid(0, ObjectIdGetDatum(db));
        LockRelease(&tag, ExclusiveLock, true);
        // Commits that read no pid after the unlink start another sequencer, which
        // may find the lock still held: one more round, after the release.
        if (round(batch) <= 0 && !batch.more) proc_exit(0);
    }
}
