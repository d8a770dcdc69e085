// The conflict recorder (see recorder.hpp).
#include "pg/recorder.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "concurrent_edit/json.hpp"
#include "pg/advisory.hpp"
#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/owner.hpp"
#include "pg/shared.hpp"
#include "pg/start_marker.hpp"
#include "pg/worker.hpp"

extern "C" {
PGDLLEXPORT void ce_conflict_recorder_main(Datum arg);
}

namespace ce::pg {
namespace {

constexpr long kLingerMs = 2000;           // a recorder waits this long for more conflicts before it exits
constexpr const char* kMarkerKind = "recorder";  // its start marker: pg_concurrent_edit/recorder.<db>.start
constexpr long kLockWaitMs = 100;          // a recorder waits this long for its lock (a backend's look holds it a moment)
// A record is written under a temporary name and renamed at once: a temporary
// file older than this was left by a crash (or a kill) between the two, and is
// removed when the spool is next read.
constexpr long kStaleTmpMs = 10 * 60 * 1000;
// An unreadable record (a full file table, an I/O error) is read again for this
// long after its first failed read, then set aside.
constexpr long kUnreadableRetryMs = 60 * 1000;
// A record whose import failed (an error other than its own data's) is tried
// again after 1 s, then after twice the last wait, up to this: a failure that
// lasts (a trigger or a lock on conflict_history, tables of another version of
// the extension) logs its error and a WARNING a few times an hour, not ten times
// a second.
constexpr long kFailedFirstRetryMs = 1000;
constexpr long kFailedMaxRetryMs = 5 * 60 * 1000;

// This backend's counters (the shared ones when preloaded).
RecorderCounters local_counters{0, 0, 0};

LOCKTAG recorder_tag(Oid db) { return database_lock_tag(db, LockClass::recorder); }

std::string spool_dir(Oid db) { return "pg_concurrent_edit/conflicts/" + std::to_string(db); }

// Creates the spool directories (relative to the data directory, the server's
// working directory). False when that fails.
bool ensure_spool_dir(Oid db) {
    for (const std::string& d : {std::string(kWorkerFilesDir), std::string(kWorkerFilesDir) + "/conflicts",
                                 spool_dir(db), spool_dir(db) + "/bad"}) {
        if (!make_private_dir(d.c_str())) return false;
    }
    return true;
}

// The record files (*.json) of a directory, sorted by name (= arrival order).
std::vector<std::string> spooled_files(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return names;
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

void count(int64 RecorderCounters::*field, int64 n = 1) {
    if (!shared_recorder_count(field == &RecorderCounters::spooled ? 0 : field == &RecorderCounters::recorded ? 1 : 2, n))
        local_counters.*field += n;
}

// Written as a temporary name, then renamed. False on an I/O error.
bool write_spool_file(const std::string& dir, const std::string& name, const std::string& content) {
    std::string tmp = dir + "/." + name + ".tmp", final_path = dir + "/" + name;
    return write_file_atomically(final_path.c_str(), tmp.c_str(), content.data(), content.size());
}

enum class Read { ok, failed, too_large };

// failed: an error reading it (errno set), which may pass; too_large: never a record.
Read read_spool_file(const std::string& path, std::string& out) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return Read::failed;
    out.clear();
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return r == 0 ? Read::ok : Read::failed;
        }
        out.append(buf, static_cast<std::size_t>(r));
        if (out.size() > 2 * kMaxRecordBytes) {
            close(fd);
            return Read::too_large;
        }
    }
}

// Removes the temporary files (".<name>.tmp") older than kStaleTmpMs: a crash
// between a record's write and its rename leaves one, which no count saw and no
// import read. A younger one may be a record being written now.
void remove_stale_tmp(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> stale;
    time_t now = time(nullptr);
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        struct stat st;
        if (n.size() < 5 || n[0] != '.' || n.compare(n.size() - 4, 4, ".tmp") != 0) continue;
        if (stat((dir + "/" + n).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            (now - st.st_mtime) * 1000 > kStaleTmpMs)
            stale.push_back(n);
    }
    closedir(d);
    long long removed = 0;
    for (const std::string& n : stale)
        if (unlink((dir + "/" + n).c_str()) == 0) ++removed;
    if (removed > 0)
        ereport(WARNING, (errmsg("concurrent_edit: %lld temporary row conflict file(s) left in %s by an interrupted "
                                 "write removed", removed, dir.c_str())));
}

pg_uuid_t random_uuid() {
    pg_uuid_t u;
    bool ok = pg_call([&u] { return pg_strong_random(u.data, UUID_LEN); });
    if (!ok)
        throw SqlError(CE_ERRCODE_INTERNAL, "could not generate a random conflict id",
                       ce::Detail().add("reason", "pg_strong_random failed"));
    u.data[6] = (u.data[6] & 0x0f) | 0x40;  // version 4
    u.data[8] = (u.data[8] & 0x3f) | 0x80;  // RFC 4122 variant
    return u;
}

// Starts the recorder of the current database unless one holds its lock or is
// being started: one per burst of conflicts, not one per backend (start_marker.hpp;
// before the marker, eight backends meeting a conflict at once started four).
void ensure_recorder() {
    pg_call([] {
        Oid db = MyDatabaseId;
        // Looked at in share mode, as the sequencer's: two backends looking at
        // once must not take each other for a recorder.
        if (!lock_is_free(recorder_tag(db), ShareLock)) return;  // a recorder runs; it looks at the spool again before it exits
        WorkerFile marker = start_marker(kMarkerKind, db);
        StartClaim c = claim_start_marker(marker);
        if (c == StartClaim::starting) return;
        if (c == StartClaim::failed) {
            ereport(WARNING, (errcode_for_file_access(),
                              errmsg("could not start the concurrent_edit conflict recorder: cannot create \"%s\": %m; "
                                     "the row conflict stays in the spool and is recorded later", marker.c_str())));
            return;
        }
        // Claimed. A recorder may have taken the lock and removed its marker
        // since the first look: then none is needed.
        if (lock_is_free(recorder_tag(db), ShareLock)) {
            if (start_database_worker("ce_conflict_recorder_main", "concurrent_edit conflict recorder", nullptr))
                return;  // it removes the marker once it has tried the lock
            ereport(WARNING, (errmsg("could not start the concurrent_edit conflict recorder; the row conflict "
                                     "stays in the spool and is recorded later"),
                              errhint("Raise max_worker_processes.")));
        }
        unlink(marker.c_str());
    });
}

enum class Import { recorded, bad, failed };

// Imports one record in its own transaction (the caller has none open): bad when
// the record's own data is refused (SQLSTATE class 22 or 23: the caller sets the
// file aside), failed on any other error (a cancel, a lack of resources, tables
// of another version of the extension between a new library and ALTER EXTENSION
// UPDATE): the file stays, to be imported later.
Import import_record(const std::string& payload) {
    const char* data = payload.c_str();
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    auto body = [data] {
        guard([data]() -> Datum {
            static Statement ins(
                // The table's name now (the record may be imported after a rename);
                // none when it was dropped meanwhile: the record is then skipped,
                // as the drop deleted the table's other conflicts. (Records
                // spooled before 1.1 carry no relid: their name is kept.)
                "WITH p AS (SELECT $1::jsonb AS p), "
                "r AS (SELECT CASE WHEN p ? 'relid' "
                "         THEN (SELECT c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c "
                "               WHERE c.oid = (p ->> 'relid')::oid) "
                "         ELSE p ->> 'relation' END AS relation FROM p) "
                "INSERT INTO concurrent_edit.conflict_history (project_id, id, kind, row_relation, row_key, "
                "    base_version, ours_version, strategy, details, created_role) "
                "SELECT (p ->> 'project_id')::uuid, (p ->> 'id')::uuid, 'row', r.relation, p -> 'row_key', "
                // The columns are integer, a row's version may be a bigint: one
                // beyond integer's range is stored as its nearest bound (the
                // error's DETAIL had the exact versions).
                "       least(greatest((p ->> 'base_version')::bigint, -2147483648), 2147483647)::integer, "
                "       least(greatest((p ->> 'ours_version')::bigint, -2147483648), 2147483647)::integer, "
                "       'trigger-merge', p -> 'details', "
                "       (p ->> 'role')::oid "
                "FROM p, r WHERE r.relation IS NOT NULL "
                // A record of an installation dropped since (DROP EXTENSION took
                // its conflicts) is not one of this installation's: skipped.
                // (Records spooled before 1.1 name none.)
                "  AND (NOT p ? 'extension' OR (p ->> 'extension')::oid = "
                "       (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'concurrent_edit')) "
                "ON CONFLICT (project_id, id) DO NOTHING RETURNING id, project_id",
                {TEXTOID});
            OwnerContext owner;
            Spi spi;
            ChangeEvent ev;
            bool inserted;
            {
                Rows r = ins.run(spi, {text_datum(data)});
                inserted = !r.empty();
                if (inserted) {
                    ev.event = "conflict";
                    ev.project_id = r.uuid(0, 1);
                    ev.extra = "\"conflict_id\": " + json_uuid(r.uuid(0, 0)) + ", \"kind\": \"row\"";
                }
            }
            if (inserted) queue_change(spi, std::move(ev));
            spi.finish();
            owner.leave();
            return 0;
        });
        CommitTransactionCommand();
    };
    int code = 0;
    if (run_reporting_errors(body, &code)) return Import::recorded;
    return is_bad_data(code) ? Import::bad : Import::failed;
}

// The spool's bad/ directory, the records that cannot be recorded: kept for a
// look, at most concurrent_edit.conflict_spool_limit of them (else a role that
// can make its own conflicts fail to import, with no right on any project,
// fills the data directory). Setting one aside beyond the limit removes the
// oldest (the first by name, which is the arrival order), with a WARNING
// saying how many. Only the recorder holding the database's lock moves records
// there, one pass at a time: the names are read at the pass's first record
// set aside and kept up to date.
class SetAside {
public:
    explicit SetAside(const std::string& dir) : dir_(dir), bad_(dir + "/bad") {}

    void add(const std::string& name) {
        if (!loaded_) {
            for (std::string& n : spooled_files(bad_)) names_.insert(std::move(n));
            loaded_ = true;
        }
        if (rename((dir_ + "/" + name).c_str(), (bad_ + "/" + name).c_str()) == 0) names_.insert(name);
        long long removed = 0;
        while (names_.size() > static_cast<std::size_t>(guc_conflict_spool_limit)) {
            auto oldest = names_.begin();
            if (unlink((bad_ + "/" + *oldest).c_str()) == 0 || errno == ENOENT) ++removed;
            names_.erase(oldest);
        }
        if (removed > 0)
            ereport(WARNING, (errmsg("concurrent_edit: %lld row conflict record(s) set aside in %s removed, the oldest",
                                     removed, bad_.c_str()),
                              errdetail("At most concurrent_edit.conflict_spool_limit (%d) set-aside records are kept.",
                                        guc_conflict_spool_limit)));
    }

private:
    std::string dir_, bad_;
    bool loaded_ = false;
    std::set<std::string> names_;
};

// The records this process failed to read, and since when (a record read again
// after kUnreadableRetryMs is set aside); only those still in the spool.
std::map<std::string, TimestampTz>* unreadable_since = nullptr;

// The records whose import failed in this process: when to try again, and the
// wait before that try; only those still in the spool.
struct Retry {
    TimestampTz at;
    long wait_ms;
};
std::map<std::string, Retry>* failed_retry = nullptr;

// Imports every spooled record of the current database. The caller holds the
// recorder lock and no transaction, and removed the stale temporary files
// (remove_stale_tmp) before.
int64 import_all() {
    std::string dir = spool_dir(MyDatabaseId);
    SetAside bad(dir);
    if (unreadable_since == nullptr) unreadable_since = new std::map<std::string, TimestampTz>();
    if (failed_retry == nullptr) failed_retry = new std::map<std::string, Retry>();
    std::map<std::string, TimestampTz> still_unreadable;
    std::map<std::string, Retry> still_failing;
    int64 n = 0;
    for (const std::string& name : spooled_files(dir)) {
        check_interrupts();
        auto failed = failed_retry->find(name);
        if (failed != failed_retry->end() && GetCurrentTimestamp() < failed->second.at) {
            still_failing.insert(*failed);  // not yet
            continue;
        }
        std::string path = dir + "/" + name, payload;
        Read read = read_spool_file(path, payload);
        int read_errno = errno;
        if (read == Read::failed && read_errno == ENOENT) continue;  // gone meanwhile
        if (read != Read::ok) {
            // An error that may pass (too many open files, an I/O error) leaves
            // the record in the spool, to be read again; one that persists past
            // kUnreadableRetryMs, or a file too large for a record, is set aside.
            // (Before, the first failed read set it aside for good.)
            TimestampTz now = GetCurrentTimestamp();
            auto seen = unreadable_since->find(name);
            TimestampTz since = seen == unreadable_since->end() ? now : seen->second;
            errno = read_errno;  // for %m
            if (read == Read::failed && !TimestampDifferenceExceeds(since, now, static_cast<int>(kUnreadableRetryMs))) {
                ereport(DEBUG1, (errmsg("concurrent_edit: row conflict record \"%s\" could not be read now: %m; it is "
                                        "read again", path.c_str())));
                still_unreadable[name] = since;
                continue;
            }
            if (read == Read::too_large)
                ereport(WARNING, (errmsg("concurrent_edit: row conflict record \"%s\" is larger than a record; set aside",
                                         path.c_str())));
            else
                ereport(WARNING, (errmsg("concurrent_edit: unreadable row conflict record \"%s\" set aside: %m",
                                         path.c_str())));
            bad.add(name);
            continue;
        }
        Import result = import_record(payload);
        if (result == Import::recorded) {
            (void)unlink(path.c_str());
            count(&RecorderCounters::recorded);
            ++n;
        } else if (result == Import::bad) {
            ereport(WARNING, (errmsg("concurrent_edit: row conflict record \"%s\" could not be recorded; set aside in %s/bad",
                                     name.c_str(), dir.c_str())));
            bad.add(name);
        } else {
            // Kept in the spool, to be tried again after a wait that doubles at
            // each failure. The records after it are tried now (one that keeps
            // failing must not hold up the others).
            long wait_ms = failed == failed_retry->end() ? kFailedFirstRetryMs
                                                         : std::min(2 * failed->second.wait_ms, kFailedMaxRetryMs);
            still_failing[name] = Retry{TimestampTzPlusMilliseconds(GetCurrentTimestamp(), wait_ms), wait_ms};
            ereport(WARNING, (errmsg("concurrent_edit: row conflict record \"%s\" could not be recorded now; it stays "
                                     "in the spool and is tried again in %ld s", name.c_str(), wait_ms / 1000)));
        }
    }
    unreadable_since->swap(still_unreadable);
    failed_retry->swap(still_failing);
    return n;
}

// Runs `f` (C++ code) inside the boundary guard with its error reported, not
// raised: the workers call it with no transaction open and carry on. Returns false
// after an error.
template <typename F>
bool run_guarded(F&& f) {
    auto body = [&f] {
        guard([&f]() -> Datum {
            f();
            return 0;
        });
    };
    return run_reporting_errors(body);
}

}  // namespace

void record_row_conflict(const pg_uuid_t& project_id, Oid relid, const std::string& relation, const std::string& row_key,
                         int64 base_version, int64 ours_version, const std::string& details,
                         const std::string& details_without_row) {
    pg_uuid_t id = random_uuid();
    Oid extension = pg_call([] { return get_extension_oid("concurrent_edit", true); });
    std::string head = "{\"id\": " + json_uuid(id) + ", \"extension\": " + std::to_string(extension) +
                       ", \"project_id\": \"" + uuid_to_string(project_id) +
                       "\", \"role\": " + std::to_string(GetUserId()) + ", \"relid\": " + std::to_string(relid) +
                       ", \"relation\": " + json_string(relation) +
                       ", \"row_key\": " + row_key + ", \"base_version\": " + std::to_string(base_version) +
                       ", \"ours_version\": " + std::to_string(ours_version) + ", \"details\": ";
    std::string payload = head + details + "}";
    // Too large: the row image goes, the conflicting paths stay; if even they are
    // too large, only the size stays.
    if (payload.size() > kMaxRecordBytes && !details_without_row.empty())
        payload = head + details_without_row + "}";
    if (payload.size() > kMaxRecordBytes)
        payload = head + "{\"truncated\": true, \"bytes\": " + std::to_string(details.size()) + "}}";
    Oid db = MyDatabaseId;
    std::string dir = spool_dir(db);
    if (!ensure_spool_dir(db)) {
        count(&RecorderCounters::dropped);
        pg_call([&dir] {
            ereport(WARNING, (errmsg("row conflict not recorded: cannot create the spool directory \"%s\": %m", dir.c_str())));
        });
        return;
    }
    std::size_t waiting = spooled_files(dir).size();
    int limit = guc_conflict_spool_limit;
    if (waiting >= static_cast<std::size_t>(limit)) {
        count(&RecorderCounters::dropped);
        pg_call([waiting] {
            ereport(WARNING, (errmsg("row conflict not recorded: %zu conflicts already wait to be recorded", waiting),
                              errhint("concurrent_edit.conflict_spool_limit bounds them; the recorder (a background "
                                      "worker) may be unable to start.")));
        });
        ensure_recorder();
        return;
    }
    static uint64 seq = 0;
    char name[96];
    snprintf(name, sizeof name, "%016llx-%08x-%08llx.json",
             static_cast<unsigned long long>(pg_call([] { return GetCurrentTimestamp(); })),
             static_cast<unsigned>(MyProcPid), static_cast<unsigned long long>(++seq));
    if (!write_spool_file(dir, name, payload)) {
        count(&RecorderCounters::dropped);
        pg_call([&dir] { ereport(WARNING, (errmsg("row conflict not recorded: cannot write into \"%s\": %m", dir.c_str()))); });
        return;
    }
    count(&RecorderCounters::spooled);
    ensure_recorder();
}

int64 drain_conflict_spool() {
    bool waiting = false;
    auto look = [&waiting] {
        std::string dir = spool_dir(MyDatabaseId);
        remove_stale_tmp(dir);  // also when no record waits
        waiting = !spooled_files(dir).empty();
    };
    if (!run_guarded(look) || !waiting) return 0;
    LOCKTAG tag = recorder_tag(MyDatabaseId);
    if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL) return 0;
    int64 n = 0;
    (void)run_guarded([&n] { n = import_all(); });
    LockRelease(&tag, ExclusiveLock, true);  // after an error too: a session lock outlives the transaction
    return n;
}

RecorderCounters recorder_counters() {
    RecorderCounters c = local_counters;
    shared_recorder_read(&c.spooled, &c.recorded, &c.dropped);
    return c;
}

}  // namespace ce::pg

using namespace ce::pg;

// Connected as the bootstrap superuser, as the worker (the extension's owner may
// be a NOLOGIN role); each record is stored in the owner's context (import_record).
// An error while reading the spool ends the recorder (the worker, or the next
// conflict's recorder, reads it again).
void ce_conflict_recorder_main(Datum arg) {
    pqsignal(SIGTERM, die);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);  // conflict_spool_limit bounds bad/
    BackgroundWorkerUnblockSignals();
    Oid db = DatumGetObjectId(arg);
    apply_worker_settings();
    BackgroundWorkerInitializeConnectionByOid(db, InvalidOid, 0);
    pgstat_report_appname("concurrent_edit conflict recorder");
    int64 imported = 0;
    LOCKTAG tag = recorder_tag(db);
    auto take_lock = [&tag] { return take_worker_lock(tag, kLockWaitMs); };
    // One recorder per database. Having tried its lock, this one removes the start
    // marker (start_marker.hpp), then tries once more: a conflict spooled while
    // the marker was there started no recorder, and is read by this one, or by
    // the one holding the lock now (it reads the spool again after releasing it).
    bool held = take_lock();
    unlink(start_marker(kMarkerKind, db).c_str());
    if (!held) held = take_lock();
    if (held) remove_files_of_dropped_databases();  // without the worker, nothing else does
    for (;;) {
        if (!held) proc_exit(0);
        TimestampTz idle_since = GetCurrentTimestamp();
        for (;;) {
            CHECK_FOR_INTERRUPTS();
            if (ConfigReloadPending) {
                ConfigReloadPending = false;
                ProcessConfigFile(PGC_SIGHUP);
            }
            pgstat_report_activity(STATE_RUNNING, "concurrent_edit: recording row conflicts");
            if (!run_guarded([&imported] {
                    remove_stale_tmp(spool_dir(MyDatabaseId));
                    imported = import_all();
                }))
                proc_exit(1);
            if (imported > 0) {
                idle_since = GetCurrentTimestamp();
                // The rows it inserted count for autovacuum now, not only at exit.
                (void)pgstat_report_stat(false);
            } else if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), kLingerMs)) break;
            pgstat_report_activity(STATE_IDLE, nullptr);
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100, PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        }
        LockRelease(&tag, ExclusiveLock, true);
        // A conflict spooled while the lock was held found it taken and started no
        // recorder: look once more after releasing it (another recorder holding
        // the lock by then reads it).
        if (spooled_files(spool_dir(db)).empty()) proc_exit(0);
        held = take_lock();
    }
}
