// File locks held by edit sessions: acquire (with TTL, waiting), release,
// extend, release all of a session, forced release, expiry.
//
// Acquirers of one file serialize on a transaction-scoped heavyweight lock of
// their own tag, check the other holders with the latest snapshot (so the check
// is right at every isolation level), and insert or refresh their row. A waiter
// drops that lock before it sleeps, so it never blocks the release it waits for;
// it sleeps on the file's condition variable (woken by the releasing commit) or,
// without shared memory, on its latch until the next expiry or a short timeout.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "pg/boundary.hpp"
#include "pg/changes.hpp"
#include "pg/files.hpp"
#include "pg/guc.hpp"
#include "pg/locks.hpp"
#include "pg/shared.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/wait_event.h"
}

namespace ce::pg {
namespace {

constexpr uint32 kLockTagClass = 0x43454C4B;  // "CELK": advisory keyspace of file-lock acquisition

uint32 hash_uuid(const pg_uuid_t& u) {
    uint32 h = 2166136261u;
    for (unsigned char b : u.data) h = (h ^ b) * 16777619u;
    return h;
}

LOCKTAG acquisition_tag(const pg_uuid_t& file_id) {
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kLockTagClass, hash_uuid(file_id), 2);
    return tag;
}

void take_acquisition_lock(const pg_uuid_t& file_id) {
    LOCKTAG tag = acquisition_tag(file_id);
    pg_call([&tag] { (void)LockAcquire(&tag, ExclusiveLock, false, false); });
}

void drop_acquisition_lock(const pg_uuid_t& file_id) {
    LOCKTAG tag = acquisition_tag(file_id);
    pg_call([&tag] { (void)LockRelease(&tag, ExclusiveLock, false); });
}

int64 interval_usecs(const Interval* iv) {
    // Months count as 30 days, as EXTRACT(epoch FROM interval) does.
    return iv->time + static_cast<int64>(iv->day) * USECS_PER_DAY +
           static_cast<int64>(iv->month) * 30 * USECS_PER_DAY;
}

struct Holder {
    pg_uuid_t session_id, holder;
    std::string lock_type, expires_json;
    int64 expires_at;
};

std::string holders_json(const std::vector<Holder>& hs) {
    std::string s = "[";
    for (std::size_t i = 0; i < hs.size(); ++i) {
        if (i) s += ", ";
        s += "{\"session_id\": " + json_uuid(hs[i].session_id) + ", \"holder\": " + json_uuid(hs[i].holder) +
             ", \"lock_type\": \"" + hs[i].lock_type + "\", \"expires_at\": " + hs[i].expires_json + "}";
    }
    return s + "]";
}

// Deletes the locks matched by `q`, which returns (project_id, file_id, session_id,
// holder, lock id, normalized path) of each, and records `event` for each.
int64 drop_locks(Statement& q, const std::vector<Datum>& args, const char* event, const std::string& extra) {
    Rows r = q.run(args);
    for (uint64 i = 0; i < r.size(); ++i) {
        ChangeEvent ev;
        ev.event = event;
        ev.project_id = r.uuid(i, 0);
        ev.file_id = r.uuid(i, 1);
        ev.session_id = r.uuid(i, 2);
        ev.author = r.uuid(i, 3);
        ev.path = r.text(i, 5);
        ev.extra = "\"lock_id\": " + json_uuid(r.uuid(i, 4)) + extra;
        note_lock_released(ev.file_id);
        queue_change(std::move(ev));
    }
    return static_cast<int64>(r.size());
}

// Deletes expired locks (of one file, or all) and records their expiry.
int64 expire_locks(const pg_uuid_t* file_id) {
    static Statement one(
        "DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f "
        "WHERE l.file_id = $1 AND l.expires_at <= clock_timestamp() "
        "  AND f.project_id = l.project_id AND f.id = l.file_id "
        "RETURNING l.project_id, l.file_id, l.session_id, l.holder, l.id, f.normalized_path",
        {UUIDOID});
    static Statement all(
        "DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f "
        "WHERE l.expires_at <= clock_timestamp() AND f.project_id = l.project_id AND f.id = l.file_id "
        "RETURNING l.project_id, l.file_id, l.session_id, l.holder, l.id, f.normalized_path",
        {});
    if (file_id != nullptr) return drop_locks(one, {uuid_datum(*file_id)}, "lock_expired", "");
    return drop_locks(all, {}, "lock_expired", "");
}

}  // namespace

int64 release_session_locks(const pg_uuid_t& session_id) {
    static Statement q(
        "DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f "
        "WHERE l.session_id = $1 AND f.project_id = l.project_id AND f.id = l.file_id "
        "RETURNING l.project_id, l.file_id, l.session_id, l.holder, l.id, f.normalized_path",
        {UUIDOID});
    return drop_locks(q, {uuid_datum(session_id)}, "lock_released", "");
}

int64 cleanup_expired_locks() { return expire_locks(nullptr); }

}  // namespace ce::pg

using namespace ce::pg;

// acquire_lock(file_id, session_id, lock_type, ttl, wait, require_version)
//   RETURNS TABLE (lock_id uuid, lock_type text, expires_at timestamptz, acquired_at timestamptz)
CE_FUNCTION(ce_acquire_lock) {
    require_arg(fcinfo, 0, "file_id");
    require_arg(fcinfo, 1, "session_id");
    UuidArg file_id = uuid_arg(fcinfo, 0);
    UuidArg session = uuid_arg(fcinfo, 1);
    TextArg lock_type = text_arg(fcinfo, 2, "lock_type", 32);
    int64 ttl_us = PG_ARGISNULL(3) ? int64(guc_lock_ttl_s) * USECS_PER_SEC : interval_usecs(PG_GETARG_INTERVAL_P(3));
    int64 wait_us = PG_ARGISNULL(4) ? 0 : interval_usecs(PG_GETARG_INTERVAL_P(4));
    bool has_required = !PG_ARGISNULL(5);
    int32 required_version = has_required ? PG_GETARG_INT32(5) : 0;
    if (ttl_us <= 0 || ttl_us > int64(guc_max_lock_ttl_s) * USECS_PER_SEC)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("lock ttl must be positive and at most %d s", guc_max_lock_ttl_s),
                        errhint("concurrent_edit.max_lock_ttl sets the limit.")));
    if (wait_us < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("wait must not be negative")));
    return guard([&]() -> Datum {
        std::string type(lock_type.view());
        if (type != "exclusive" && type != "shared")
            throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "unknown lock type \"" + type + "\"", {},
                           "Valid lock types: exclusive, shared.");
        static Statement q_file(
            "SELECT f.project_id, f.head_version, f.deleted_at IS NOT NULL, f.normalized_path, f.head_hash, "
            "       f.updated_by, to_json(f.updated_at)::text "
            "FROM concurrent_edit.files f WHERE f.id = $1",
            {UUIDOID});
        // The other sessions' locks that block this request, and (flagged) the
        // expired ones of anyone, so the common case needs no DELETE of expired locks.
        static Statement q_holders(
            "SELECT l.session_id, l.holder, l.lock_type, to_json(l.expires_at)::text, l.expires_at, "
            "       l.expires_at <= clock_timestamp() "
            "FROM concurrent_edit.file_locks l "
            "WHERE l.project_id = $1 AND l.file_id = $2 "
            "  AND (l.expires_at <= clock_timestamp() "
            "       OR (l.session_id <> $3 AND ($4 = 'exclusive' OR l.lock_type = 'exclusive'))) "
            "ORDER BY l.expires_at",
            {UUIDOID, UUIDOID, UUIDOID, TEXTOID});
        static Statement q_upsert(
            "INSERT INTO concurrent_edit.file_locks AS l (project_id, file_id, session_id, holder, lock_type, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, clock_timestamp() + make_interval(secs => $6 / 1000000.0)) "
            "ON CONFLICT (project_id, file_id, session_id) DO UPDATE SET lock_type = EXCLUDED.lock_type, "
            "    holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, "
            "    acquired_at = CASE WHEN l.lock_type = EXCLUDED.lock_type THEN l.acquired_at ELSE EXCLUDED.acquired_at END "
            "RETURNING l.id, l.lock_type, l.expires_at, l.acquired_at, to_json(l.expires_at)::text",
            {UUIDOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID, INT8OID});

        Spi spi;
        SessionInfo s = check_session(session.value, pg_uuid_t{}, true);
        TimestampTz deadline = pg_call([] { return GetCurrentTimestamp(); }) + wait_us;
        ConditionVariable* cv = lock_condition(file_id.value);
        for (;;) {
            if (cv != nullptr) pg_call([cv] { ConditionVariablePrepareToSleep(cv); });
            take_acquisition_lock(file_id.value);
            Rows f = q_file.run_latest({uuid_datum(file_id.value)});
            if (f.empty())
                throw SqlError(CE_ERRCODE_FILE_NOT_FOUND, "file " + uuid_to_string(file_id.value) + " does not exist");
            pg_uuid_t project = f.uuid(0, 0);
            if (std::memcmp(&project, &s.project_id, sizeof(project)) != 0)
                throw SqlError(CE_ERRCODE_SESSION_INVALID, "session " + uuid_to_string(session.value) +
                                                               " belongs to another project than file " +
                                                               uuid_to_string(file_id.value));
            if (f.boolean(0, 2))
                throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(file_id.value) + " was deleted");
            if (has_required && required_version != f.int4(0, 1))
                throw SqlError(CE_ERRCODE_STALE_VERSION,
                               "file " + uuid_to_string(file_id.value) + " is at version " +
                                   std::to_string(f.int4(0, 1)) + ", not " + std::to_string(required_version),
                               "{\"file_id\": " + json_uuid(file_id.value) + ", \"expected_version\": " +
                                   std::to_string(required_version) + ", \"current_version\": " +
                                   std::to_string(f.int4(0, 1)) + ", \"current_hash\": \"" + f.text(0, 4) +
                                   "\", \"last_modified_by\": " + json_uuid(f.uuid(0, 5)) +
                                   ", \"last_modified_at\": " + f.text(0, 6) + "}",
                               "Read the latest version before locking.");
            std::string path = f.text(0, 3);
            Rows h = q_holders.run_latest(
                {uuid_datum(project), uuid_datum(file_id.value), uuid_datum(session.value), text_datum(type)});
            std::vector<Holder> holders;
            bool expired = false;
            int64 soonest = PG_INT64_MAX;
            for (uint64 i = 0; i < h.size(); ++i) {
                if (h.boolean(i, 5)) {
                    expired = true;
                    continue;
                }
                Holder x{h.uuid(i, 0), h.uuid(i, 1), h.text(i, 2), h.text(i, 3), h.int8(i, 4)};
                soonest = std::min(soonest, x.expires_at);
                holders.push_back(std::move(x));
            }
            if (holders.empty()) {
                if (cv != nullptr) pg_call([] { ConditionVariableCancelSleep(); });
                if (expired) expire_locks(&file_id.value);
                Rows r = q_upsert.run({uuid_datum(project), uuid_datum(file_id.value), uuid_datum(session.value),
                                       uuid_datum(s.user_id), text_datum(type), Int64GetDatum(ttl_us)});
                pg_uuid_t lock_id = r.uuid(0, 0);
                ChangeEvent ev;
                ev.event = "lock_acquired";
                ev.project_id = project;
                ev.file_id = file_id.value;
                ev.session_id = session.value;
                ev.author = s.user_id;
                ev.path = path;
                ev.extra = "\"lock_id\": " + json_uuid(lock_id) + ", \"lock_type\": \"" + type +
                           "\", \"expires_at\": " + r.text(0, 4);
                queue_change(std::move(ev));
                Datum id = uuid_datum(lock_id);
                Datum lt = text_datum(type);
                Datum exp = r.datum(0, 2);
                Datum acq = r.datum(0, 3);
                spi.finish();
                return pg_call([fcinfo, id, lt, exp, acq] {
                    TupleDesc d;
                    if (get_call_result_type(fcinfo, nullptr, &d) != TYPEFUNC_COMPOSITE)
                        elog(ERROR, "acquire_lock: composite result expected");
                    d = BlessTupleDesc(d);
                    Datum v[4] = {id, lt, exp, acq};
                    bool n[4] = {false, false, false, false};
                    return HeapTupleGetDatum(heap_form_tuple(d, v, n));
                });
            }
            // Never sleep holding the acquisition lock: the release we wait for may need it.
            drop_acquisition_lock(file_id.value);
            TimestampTz now = pg_call([] { return GetCurrentTimestamp(); });
            if (now >= deadline) {
                if (cv != nullptr) pg_call([] { ConditionVariableCancelSleep(); });
                throw SqlError(ERRCODE_LOCK_NOT_AVAILABLE,
                               "could not acquire " + type + " lock on file " + uuid_to_string(file_id.value),
                               "{\"file_id\": " + json_uuid(file_id.value) + ", \"requested\": \"" + type +
                                   "\", \"holders\": " + holders_json(holders) + "}",
                               wait_us > 0 ? "The lock was not released within the wait."
                                           : "Pass wait => interval to wait for it, or retry later.");
            }
            // Sleep until a release wakes us, the deadline, or the earliest expiry of a holder.
            int64 until = std::min<int64>(deadline, soonest + 1000);
            long timeout_ms = static_cast<long>(std::max<int64>(1, (until - now + 999) / 1000));
            if (cv != nullptr) {
                pg_call([cv, timeout_ms] {
                    (void)ConditionVariableTimedSleep(cv, timeout_ms, PG_WAIT_EXTENSION);
                });
            } else {
                // No shared memory (not preloaded): nobody can wake us, so look again
                // every 50 ms at most (sleeping on the latch, not spinning).
                long ms = std::min<long>(timeout_ms, 50);
                pg_call([ms] {
                    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
                    ResetLatch(MyLatch);
                    CHECK_FOR_INTERRUPTS();
                });
            }
        }
    });
}

// release_lock(file_id, session_id) RETURNS boolean: true only for the holder.
CE_FUNCTION(ce_release_lock) {
    require_arg(fcinfo, 0, "file_id");
    require_arg(fcinfo, 1, "session_id");
    UuidArg file_id = uuid_arg(fcinfo, 0);
    UuidArg session = uuid_arg(fcinfo, 1);
    return guard([&]() -> Datum {
        static Statement q(
            "DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f "
            "WHERE l.file_id = $1 AND l.session_id = $2 AND f.project_id = l.project_id AND f.id = l.file_id "
            "RETURNING l.project_id, l.file_id, l.session_id, l.holder, l.id, f.normalized_path",
            {UUIDOID, UUIDOID});
        Spi spi;
        (void)check_session(session.value, pg_uuid_t{}, true);
        int64 n = drop_locks(q, {uuid_datum(file_id.value), uuid_datum(session.value)}, "lock_released", "");
        spi.finish();
        return BoolGetDatum(n > 0);
    });
}

// extend_lock(file_id, session_id, ttl) RETURNS timestamptz: the new expiry.
CE_FUNCTION(ce_extend_lock) {
    require_arg(fcinfo, 0, "file_id");
    require_arg(fcinfo, 1, "session_id");
    UuidArg file_id = uuid_arg(fcinfo, 0);
    UuidArg session = uuid_arg(fcinfo, 1);
    int64 ttl_us = PG_ARGISNULL(2) ? int64(guc_lock_ttl_s) * USECS_PER_SEC : interval_usecs(PG_GETARG_INTERVAL_P(2));
    if (ttl_us <= 0 || ttl_us > int64(guc_max_lock_ttl_s) * USECS_PER_SEC)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("lock ttl must be positive and at most %d s", guc_max_lock_ttl_s)));
    return guard([&]() -> Datum {
        static Statement q(
            "UPDATE concurrent_edit.file_locks l SET expires_at = clock_timestamp() + make_interval(secs => $3 / 1000000.0) "
            "WHERE l.file_id = $1 AND l.session_id = $2 AND l.expires_at > clock_timestamp() RETURNING l.expires_at",
            {UUIDOID, UUIDOID, INT8OID});
        Spi spi;
        (void)check_session(session.value, pg_uuid_t{}, true);
        Rows r = q.run({uuid_datum(file_id.value), uuid_datum(session.value), Int64GetDatum(ttl_us)});
        if (r.empty())
            throw SqlError(CE_ERRCODE_LOCK_NOT_HELD,
                           "session " + uuid_to_string(session.value) + " holds no lock on file " +
                               uuid_to_string(file_id.value),
                           "{\"file_id\": " + json_uuid(file_id.value) + ", \"session_id\": " +
                               json_uuid(session.value) + "}",
                           "The lock expired or was released; acquire it again.");
        Datum exp = r.datum(0, 0);
        spi.finish();
        return exp;
    });
}

// release_session_locks(session_id) RETURNS integer
CE_FUNCTION(ce_release_session_locks) {
    require_arg(fcinfo, 0, "session_id");
    UuidArg session = uuid_arg(fcinfo, 0);
    return guard([&]() -> Datum {
        Spi spi;
        int64 n = release_session_locks(session.value);
        spi.finish();
        return Int32GetDatum(static_cast<int32>(n));
    });
}

// force_release_lock(file_id, reason) RETURNS integer (administrators only)
CE_FUNCTION(ce_force_release_lock) {
    require_arg(fcinfo, 0, "file_id");
    UuidArg file_id = uuid_arg(fcinfo, 0);
    TextArg reason = text_arg(fcinfo, 1, "reason", 1000);
    return guard([&]() -> Datum {
        static Statement q(
            "DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f "
            "WHERE l.file_id = $1 AND f.project_id = l.project_id AND f.id = l.file_id "
            "RETURNING l.project_id, l.file_id, l.session_id, l.holder, l.id, f.normalized_path",
            {UUIDOID});
        std::string extra = ", \"reason\": ";
        append_json_string(extra, reason.view());
        Spi spi;
        int64 n = drop_locks(q, {uuid_datum(file_id.value)}, "lock_forced", extra);
        spi.finish();
        return Int32GetDatum(static_cast<int32>(n));
    });
}

// cleanup_expired_locks() RETURNS integer
CE_FUNCTION(ce_cleanup_expired_locks) {
    return guard([&]() -> Datum {
        Spi spi;
        int64 n = cleanup_expired_locks();
        spi.finish();
        return Int32GetDatum(static_cast<int32>(n));
    });
}
