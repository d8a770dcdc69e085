// Monitoring (docs/reference/monitoring.md): the cumulative counters of the
// concurrent_edit.stats view and their reset, and the background worker's status.
// The views over the extension's tables (active_locks, active_sessions,
// open_conflicts, feed_status) are plain SQL (src/sql/80_monitoring.sql).
//
// Counters and the worker's record live in shared memory (stats.hpp), shared by
// every database of the cluster. Reading them needs admin on every project of this
// database (superusers, members of the extension owner, grant_admin) or the
// privileges of pg_read_all_stats (pg_monitor); resetting them needs admin on
// every project.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "concurrent_edit/error.hpp"
#include "pg/api.hpp"
#include "pg/guc.hpp"
#include "pg/results.hpp"
#include "pg/shared.hpp"
#include "pg/stats.hpp"

namespace ce::pg {
namespace {

// Whether `role` has the privileges of pg_read_all_stats (pg_monitor members).
bool reads_all_stats(Oid role) {
    return pg_call([role] { return has_privs_of_role(role, ROLE_PG_READ_ALL_STATS); });
}

// 42501 unless the caller may read the cluster-wide counters and worker status.
void require_monitor(ApiCall& call) {
    Oid role = call.caller();
    if (reads_all_stats(role)) return;
    Right has = right_on_all(call.spi(), role);
    if (has >= Right::admin) return;
    throw_access_denied(role, nullptr, Right::admin, has,
                        "monitoring needs admin on every project or the privileges of pg_read_all_stats");
}

// Whether this is the database concurrent_edit.database names, the one the worker
// serves (whether or not it runs now): the worker's errors name its objects, and
// its admins may reset the cluster's counters.
bool in_served_database() {
    return guc_worker_database != nullptr && *guc_worker_database != '\0' &&
           pg_call([] { return get_database_oid(guc_worker_database, true); }) == MyDatabaseId;
}

// 55000 when `available` is false: the shared memory of the counters (or of the
// lock waits) does not exist, the library was not preloaded.
void require_shared_memory(bool available, const char* what) {
    if (available) return;
    const char* preload = pg_call([] { return GetConfigOption("shared_preload_libraries", true, false); });
    throw SqlError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                   std::string(what) + " not available: concurrent_edit is not in shared_preload_libraries",
                   ce::Detail().add("setting", "shared_preload_libraries").add("value", preload ? preload : ""),
                   "Add concurrent_edit to shared_preload_libraries and restart the server.");
}

}  // namespace
}  // namespace ce::pg

using namespace ce::pg;

// stats(OUT writes_written bigint, ..., OUT stats_reset timestamptz): one row.
CE_FUNCTION(ce_stats) {
    require_shared_memory(stats::available(), "concurrent_edit statistics are");
    ApiCall call;
    require_monitor(call);
    call.finish();
    uint64_t c[stats::n_counters];
    TimestampTz reset_at = 0;
    (void)stats::read(c, &reset_at);
    Record r(fcinfo);
    int col = 0;
    for (int i : {stats::writes_written, stats::writes_merged, stats::writes_overwritten, stats::writes_unchanged,
                  stats::writes_conflict, stats::writes_rejected, stats::writes_failed, stats::merges,
                  stats::merge_conflicts})
        r.set(col++, Int64GetDatum(static_cast<int64>(c[i])));
    r.set(col++, Float8GetDatum(static_cast<double>(c[stats::merge_time_us]) / 1000.0));
    r.set(col++, Float8GetDatum(static_cast<double>(c[stats::merge_time_max_us]) / 1000.0));
    for (int i : {stats::conflicts_recorded, stats::lock_acquisitions, stats::lock_waits, stats::lock_timeouts})
        r.set(col++, Int64GetDatum(static_cast<int64>(c[i])));
    r.set(col++, TimestampTzGetDatum(reset_at));
    return r.datum();
}

// stats_reset() RETURNS timestamptz: zeroes the counters; the new stats_reset.
// The counters are the cluster's: besides a superuser, only an admin of every
// project of the database the worker serves resets them (before, an admin of any
// database with the extension zeroed the counters another database's DBA reads).
CE_FUNCTION(ce_stats_reset) {
    require_shared_memory(stats::available(), "concurrent_edit statistics are");
    ApiCall call;
    Oid caller = call.caller();
    if (!pg_call([caller] { return superuser_arg(caller); })) {
        if (!in_served_database())
            throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                           "permission denied: the statistics of concurrent_edit are the cluster's; a superuser, or "
                           "an admin of every project of the database the worker serves, resets them",
                           access_denied_detail(caller, nullptr, "superuser", right_on_all(call.spi(), caller),
                                                "not the database of concurrent_edit.database"),
                           "Call stats_reset() in the database named by concurrent_edit.database, or as a superuser.");
        call.require_on_all(Right::admin);
    }
    call.finish();
    return TimestampTzGetDatum(stats::reset());
}

// worker_status(OUT ...): one row, also without shared memory (preloaded false).
CE_FUNCTION(ce_worker_status) {
    static Statement q_pending(
        "SELECT count(*), min(p.created_at) FROM ("
        "  SELECT created_at FROM concurrent_edit.change_pending "
        "  UNION ALL SELECT created_at FROM concurrent_edit.change_pending_locks) p",
        {});
    // A hot standby cannot read an unlogged table (change_pending_locks); its
    // logged events are what it has.
    static Statement q_pending_standby("SELECT count(*), min(created_at) FROM concurrent_edit.change_pending", {});
    ApiCall call;
    require_monitor(call);
    // The backlog is counted only when the queues can be read without waiting: a
    // worker held up by a lock on them (VACUUM FULL, a LOCK TABLE) would otherwise
    // hold up the view meant to show it (before, it waited with the worker).
    // pending_events and oldest_pending_age are then NULL.
    bool standby = RecoveryInProgress();
    bool readable = pg_call([standby] {
        Oid nsp = get_namespace_oid("concurrent_edit", false);
        for (const char* name : {"change_pending", "change_pending_locks"}) {
            if (standby && strcmp(name, "change_pending_locks") == 0) break;
            Oid rel = get_relname_relid(name, nsp);
            if (!OidIsValid(rel) || !ConditionalLockRelationOid(rel, AccessShareLock)) return false;
        }
        return true;
    });
    int64 pending = 0;
    bool no_pending = !readable, no_oldest = !readable;
    Datum oldest = 0;
    if (readable) {
        Rows p = (standby ? q_pending_standby : q_pending).run(call.spi(), {}, {}, true);
        pending = p.int8(0, 0);
        oldest = p.value(0, 1, &no_oldest);  // timestamptz: by value
    }
    call.finish();

    pid_t pid = 0;
    Oid database = InvalidOid;
    bool ready = false;
    worker_state(&pid, &database, &ready);
    stats::WorkerInfo w;
    bool preloaded = stats::read_worker(&w);
    Record r(fcinfo);
    r.set(0, BoolGetDatum(preloaded));
    if (preloaded && guc_worker_database != nullptr && *guc_worker_database != '\0')
        r.set(1, text_datum(guc_worker_database));
    else r.set_null(1);  // the setting has an effect only when preloaded
    if (pid != 0) r.set(2, Int32GetDatum(static_cast<int32>(pid)));
    else r.set_null(2);
    r.set(3, BoolGetDatum(pid != 0));
    r.set(4, BoolGetDatum(pid != 0 && ready && database == MyDatabaseId));
    auto ts = [&r](int col, TimestampTz t) {
        if (t != 0) r.set(col, TimestampTzGetDatum(t));
        else r.set_null(col);
    };
    ts(5, w.started_at);
    ts(6, w.last_round_at);
    if (preloaded) {
        r.set(7, Int64GetDatum(static_cast<int64>(w.rounds)));
        r.set(8, Int64GetDatum(static_cast<int64>(w.errors)));
    } else {
        r.set_null(7);
        r.set_null(8);
    }
    // The last error's text is the served database's (names, paths): shown there only.
    if (w.errors > 0 && in_served_database()) {
        r.set(9, text_datum(w.last_error));
        r.set(10, text_datum(pg_call([code = w.last_error_code] { return unpack_sql_state(code); })));
    } else {
        r.set_null(9);
        r.set_null(10);
    }
    ts(11, w.last_error_at);
    if (no_pending) r.set_null(12);
    else r.set(12, Int64GetDatum(pending));
    if (no_oldest) r.set_null(13);
    else r.set(13, oldest);
    return r.datum();
}

// lock_waits(OUT pid integer, OUT project_id uuid, OUT file_id uuid, OUT path text,
//            OUT session_id uuid, OUT waiter uuid, OUT waiter_role regrole, OUT lock_type text,
//            OUT waiting_since timestamptz, OUT wakeups bigint) RETURNS SETOF record: the sessions of this
// database waiting in acquire_lock now (sleeping or in turn), oldest wait first; those of the projects
// the caller can read. pg_read_all_stats members see the others too, with their
// ids only (path, waiter and waiter_role NULL), as pg_stat_activity shows them.
CE_FUNCTION(ce_lock_waits) {
    require_shared_memory(lock_wait_available(), "lock waits are");
    static Statement q_names(
        "SELECT f.path, s.user_id, s.role FROM (SELECT) one "
        "LEFT JOIN concurrent_edit.files f ON f.project_id = $1 AND f.id = $2 "
        "LEFT JOIN concurrent_edit.edit_sessions s ON s.project_id = $1 AND s.id = $3",
        {UUIDOID, UUIDOID, UUIDOID});
    std::vector<PublishedWait> waits = lock_waits_of_database(MyDatabaseId);
    std::sort(waits.begin(), waits.end(), [](const auto& a, const auto& b) { return a.wait.since < b.wait.since; });
    ApiCall call;
    bool all = reads_all_stats(call.caller());
    SetResult result(fcinfo);
    for (const PublishedWait& p : waits) {
        check_interrupts();
        const LockWait& w = p.wait;
        bool reader = call.right(w.project_id) >= Right::read;
        if (!reader && !all) continue;
        std::vector<char> nulls(10, false);
        std::vector<Datum> values = {Int32GetDatum(static_cast<int32>(p.pid)), uuid_datum(w.project_id),
                                     uuid_datum(w.file_id), Datum(0), uuid_datum(w.session_id), Datum(0), Datum(0),
                                     text_datum(w.exclusive ? "exclusive" : "shared"), TimestampTzGetDatum(w.since),
                                     Int64GetDatum(static_cast<int64>(p.wakeups))};
        nulls[3] = nulls[5] = nulls[6] = true;
        if (reader) {
            Rows r = q_names.run(call.spi(), {uuid_datum(w.project_id), uuid_datum(w.file_id), uuid_datum(w.session_id)},
                                 {}, true);
            nulls[3] = r.isnull(0, 0);  // path
            nulls[5] = r.isnull(0, 1);  // waiter
            nulls[6] = r.isnull(0, 2);  // waiter_role
            if (!nulls[3]) values[3] = text_datum(r.text(0, 0));
            if (!nulls[5]) values[5] = uuid_datum(r.uuid(0, 1));
            if (!nulls[6]) values[6] = ObjectIdGetDatum(r.oid(0, 2));
        }
        result.add(values, nulls);
    }
    call.finish();
    return result.done();
}
