// File locks held by edit sessions: acquire (with TTL, waiting), release,
// extend, status (locks that end without their holder: lock_cleanup.cpp).
//
// Acquirers of one file serialize on a transaction-scoped heavyweight lock of
// their own tag, check the other holders with the latest snapshot (so the check
// is right at every isolation level), and insert or refresh their row. A waiter
// drops that lock before it sleeps, so it never blocks the release it waits for;
// it sleeps on its latch, until the releasing commit wakes it (shared.hpp: one
// waiter of the file, or the shared ones; COMMIT PREPARED, which does not know
// the prepared transaction's files, wakes those of every file waited for), the
// next expiry, a second at most or, without shared memory, a short timeout.
// An exclusive waiter goes ahead of later acquirers, which wait behind it in the
// file's queue (lock_queue.hpp).
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "pg/advisory.hpp"
#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/lock_queue.hpp"
#include "pg/lock_rows.hpp"
#include "pg/locks.hpp"
#include "pg/results.hpp"
#include "pg/sessions.hpp"
#include "pg/shared.hpp"
#include "pg/stats.hpp"

namespace ce::pg {
namespace {

// Whether a lock statement returns its event rather than inserting it into
// change_pending_locks: when lock_events_at_commit() says so, and when lock events
// are off (concurrent_edit.lock_events; lock_event() then drops it).
bool event_returned() { return !guc_lock_events || lock_events_at_commit(); }

// The event of a lock statement that returned its details (a JSON object's text):
// queued for the commit when `at_commit` (event_returned()), else (its row is
// already in change_pending_locks) its project noted for the sequencer. Nothing
// when lock events are off.
void lock_event(Spi& spi, bool at_commit, const char* kind, const pg_uuid_t& project, const pg_uuid_t& file,
                const pg_uuid_t& session, const pg_uuid_t& author, std::string path, const std::string& details) {
    if (!guc_lock_events) return;
    if (!at_commit) {
        note_pending(project);
        return;
    }
    // ChangeEvent::extra holds the members, without the object's braces.
    queue_change(spi, file_event(kind, project, file, session, author, std::move(path), 0, "",
                                 details.substr(1, details.size() - 2)));
}

// A lock ttl argument: positive and at most concurrent_edit.max_lock_ttl (22023).
int64 ttl_arg(FunctionCallInfo fcinfo, int n) {
    int64 ttl_us = interval_usecs_opt(fcinfo, n).value_or(int64(guc_lock_ttl_s) * USECS_PER_SEC);
    if (ttl_us <= 0 || ttl_us > int64(guc_max_lock_ttl_s) * USECS_PER_SEC)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                       "lock ttl must be positive and at most " + std::to_string(guc_max_lock_ttl_s) + " s",
                       "{\"argument\": \"ttl\", \"max_seconds\": " + std::to_string(guc_max_lock_ttl_s) + "}",
                       "concurrent_edit.max_lock_ttl sets the limit.");
    return ttl_us;
}

// A lock in the way of a request (lock_rows.hpp), unexpired.
using Holder = LockInWay;

// A waiting acquire_lock's sleep: until its latch is set (a release woke it) or
// `ms` have passed; a cancel is seen at once.
void sleep_on_latch(long ms) {
    pg_call([ms] {
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    });
}

// acquire_lock's write of its session's activity, once it has the lock (in
// release_lock's order: lock row, then session row), as check_session's touch
// but skipping a row another transaction holds, so that it never waits while it
// holds the file's locks. (A close is not among those: keep_session_open made
// any close wait for this transaction.)
void touch_after_taking(Spi& spi, const SessionInfo& s, const SessionRow& row) {
    if (!row.stale_activity && std::strcmp(row.status, "active") == 0) return;
    static Statement q(
        "WITH t AS (SELECT s.ctid FROM concurrent_edit.edit_sessions s WHERE s.project_id = $1 AND s.id = $2 "
        "    AND s.status <> 'closed' FOR UPDATE OF s SKIP LOCKED) "
        "UPDATE concurrent_edit.edit_sessions s SET last_active_at = now(), status = 'active' FROM t "
        "WHERE s.ctid = t.ctid",
        {UUIDOID, UUIDOID});
    q.run(spi, {uuid_datum(s.project_id), uuid_datum(s.id)});
}

}  // namespace

}  // namespace ce::pg

using namespace ce::pg;

// acquire_lock(file_id, session_id, lock_type, ttl, wait, require_version)
//   RETURNS TABLE (lock_id uuid, lock_type text, expires_at timestamptz, acquired_at timestamptz)
CE_PRIMARY_FUNCTION(ce_acquire_lock, "acquire_lock") {
    pg_uuid_t file_id = uuid_required(fcinfo, 0, "file_id");
    pg_uuid_t session_id = uuid_required(fcinfo, 1, "session_id");
    std::string type = text_arg(fcinfo, 2, "lock_type", 32).str();
    int64 ttl_us = ttl_arg(fcinfo, 3);
    int64 wait_us = interval_usecs_opt(fcinfo, 4).value_or(0);
    std::optional<int32> required_version = int4_opt(fcinfo, 5);
    if (wait_us < 0)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "wait must not be negative", "{\"argument\": \"wait\"}");
    if (type != "exclusive" && type != "shared")
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "unknown lock type \"" + type + "\"",
                       "{\"argument\": \"lock_type\"}", "Valid lock types: exclusive, shared.");
    {
        // The lock row and its lock_acquired event, in one statement (the event into
        // change_pending_locks, or returned to be queued: lock_events_at_commit),
        // where the row is not written from C (lock_rows.hpp).
#define CE_UPSERT_LOCK(event)                                                                                   \
    "WITH l AS (INSERT INTO concurrent_edit.file_locks AS l "                                                   \
    "    (project_id, file_id, session_id, holder, lock_type, expires_at) "                                     \
    "    VALUES ($1, $2, $3, $4, $5, $6) "                                                                       \
    "    ON CONFLICT (project_id, file_id, session_id) DO UPDATE SET lock_type = EXCLUDED.lock_type, "           \
    "        holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, "                                       \
    "        acquired_at = CASE WHEN l.lock_type = EXCLUDED.lock_type THEN l.acquired_at "                       \
    "                           ELSE EXCLUDED.acquired_at END "                                                  \
    "    RETURNING l.id, l.lock_type, l.expires_at, l.acquired_at, pg_catalog.jsonb_build_object("             \
    "        'lock_id', l.id, 'lock_type', l.lock_type, 'expires_at', l.expires_at) AS details)" event           \
    "SELECT l.id, l.expires_at, l.acquired_at, l.details::text FROM l"
        static Statement q_upsert(
            CE_UPSERT_LOCK(", e AS (INSERT INTO concurrent_edit.change_pending_locks (project_id, event, file_id, "
                           "path, session_id, author, details) SELECT $1, 'lock_acquired', $2, $7, $3, $4, l.details "
                           "FROM l) "),
            {UUIDOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID, TIMESTAMPTZOID, TEXTOID});
        static Statement q_upsert_returned(CE_UPSERT_LOCK(" "),
                                           {UUIDOID, UUIDOID, UUIDOID, UUIDOID, TEXTOID, TIMESTAMPTZOID});
#undef CE_UPSERT_LOCK

        ApiCall call;
        Spi& spi = call.spi();
        SessionInfo s;
        bool session_checked = false;
        // Saturated: a wait of thousands of years means "until released".
        TimestampTz start = pg_call([] { return GetCurrentTimestamp(); });
        TimestampTz deadline = wait_us > PG_INT64_MAX - start ? PG_INT64_MAX : start + wait_us;
        // The wait for what is no holder yet (another transaction's acquisition, a
        // lock in change, a write in progress): at least a second.
        const TimestampTz grace_deadline = std::max<TimestampTz>(deadline, start + kAcquisitionGraceUs);
        bool shm = lock_wait_available();
        const bool no_write_in_progress = type == "exclusive" || required_version.has_value();
        bool write_share_held = false;
        auto drop_write_share_once = [&]() {
            if (!write_share_held) return;
            drop_write_share(file_id);
            write_share_held = false;
        };
        bool waited = false;
        LockWaitEntry entry;  // the lock_waits row while this call waits
        LockQueue queue(file_id);  // this call's place among the file's acquirers
        long poll_ms = 1;          // without shared memory, waiting ahead: the next look
        // The file and the holders in the way, read with the latest snapshot; the
        // session checked at the first look (its errors before the file's), and
        // read again after a wait (closed meanwhile?). The session's activity is
        // written only once the lock row is taken, in release_lock's order (lock
        // row, then session row): two calls of one session taking them the other
        // way round deadlocked.
        SessionRow session_row{};
        auto look = [&](LockLookFor what) {
            LockLook f = look_at_lock(file_id, session_id, type == "exclusive", what);
            if (!session_checked) {
                s = check_session(call, session_id, f.session, SessionUse::act, false);
                session_row = f.session;
                session_checked = true;
            }
            if (!f.file_found) throw_file_not_found(file_id);
            require_same_project(s, file_id, f.project_id);
            return f;
        };
        // The session, the file and the caller's right are checked before any lock
        // of the file is taken (without shared memory too): a request for another
        // project's file must not wait in that file's queue (and so learn that
        // someone is taking its lock) before it is refused (TAP 020, 6c). (The
        // session's activity, written once the lock is taken, waits for no row.)
        const pg_uuid_t file_project = look(LockLookFor::session_and_file).project_id;
        // A request about to wait in turn (for the queue or the acquisition lock)
        // is published in lock_waits as waiting, as a sleeping one is.
        auto publish = [&](const pg_uuid_t& project, TimestampTz since) {
            if (!entry.published())
                entry.publish(LockWait{MyDatabaseId, project, file_id, session_id, type == "exclusive", since});
        };
        BeforeWait publish_wait = [&]() {
            if (!entry.published() && lock_wait_available())
                publish(file_project, pg_call([] { return GetCurrentTimestamp(); }));
        };
        for (;;) {
            // Wake-ups before this look, and whether the wait was published then
            // (so that a release after the look wakes this call).
            uint64 wakeups = entry.wakeups();
            bool published_before = entry.published();
            bool queued = false;
            bool passed = queue.pass(deadline, &queued, &publish_wait);  // a wait there counts as a wait (stats)
            if (queued && !waited) stats::add(stats::lock_waits);
            waited |= queued;
            if (!passed)
                throw_lock_timeout(file_id, type, {}, HeldUpBy::exclusive_waiting, wait_us);
            bool got = take_acquisition_lock(file_id, grace_deadline, type, &queued, &publish_wait);
            if (queued && !waited) stats::add(stats::lock_waits);
            waited |= queued;
            if (!got) throw_lock_timeout(file_id, type, {}, HeldUpBy::acquisition_in_progress, wait_us);
            // No write begun before may commit after an exclusive lock, nor after
            // the look at the head's version that require_version checks (a shared
            // request keeps the write lock only for that look: writes go on under
            // shared locks). A write in progress is waited for as a holder, without
            // the acquisition lock (its writer may ask for that next: a wait in the
            // lock manager deadlocked), within the grace. Wait-die as for a writer:
            // a transaction that holds other files' write locks is refused rather
            // than wait for an older writer.
            if (no_write_in_progress) {
                refuse_if_older_writer(file_id);
                if (!try_write_share(file_id)) {
                    drop_acquisition_lock(file_id, type);
                    TimestampTz now = pg_call([] { return GetCurrentTimestamp(); });
                    if (now >= grace_deadline)
                        throw_lock_timeout(file_id, type, {}, HeldUpBy::write_in_progress, wait_us);
                    if (!waited) stats::add(stats::lock_waits);
                    publish(file_project, now);
                    waited = true;
                    sleep_on_latch(kLookAgainInChangeMs);
                    continue;
                }
                write_share_held = true;
            }
            LockLook f = look(waited ? LockLookFor::everything : LockLookFor::file_and_holders);
            if (waited) session_row = f.session;
            pg_uuid_t project = f.project_id;
            if (f.deleted)
                throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(file_id) + " was deleted",
                               "{\"file_id\": " + json_uuid(file_id) + "}");
            if (required_version && *required_version != f.head_version)
                throw SqlError(CE_ERRCODE_STALE_VERSION,
                               "file " + uuid_to_string(file_id) + " is at version " +
                                   std::to_string(f.head_version) + ", not " + std::to_string(*required_version),
                               "{\"file_id\": " + json_uuid(file_id) + ", \"expected_version\": " +
                                   std::to_string(*required_version) + ", \"current_version\": " +
                                   std::to_string(f.head_version) + ", \"current_hash\": \"" + f.head_hash +
                                   "\", \"last_modified_by\": " + json_uuid(f.updated_by) +
                                   ", \"last_modified_at\": " + f.updated_at_json + "}",
                               "Read the latest version before locking.");
            if (type == "shared") drop_write_share_once();
            // Closed (or deleted) while this call waited: closing released the
            // session's locks, and a lock taken now would outlive it until its ttl;
            // waiting on for a lock it may not take would only hold the client up.
            if (waited && (!f.session.found || std::strcmp(f.session.status, "closed") == 0))
                throw_session_closed(uuid_to_string(session_id));
            std::vector<Holder> holders;
            bool expired = false;
            int64 soonest = PG_INT64_MAX;
            for (const LockInWay& h : f.in_way) {
                if (h.expired) {
                    expired = true;
                    continue;
                }
                soonest = std::min(soonest, h.expires_at);
                holders.push_back(h);
            }
            // An expired lock in the way that another transaction is extending or
            // releasing is in the way until it ends: one extended would be held
            // twice. Waited for as a holder (a second at least, as an acquisition
            // in progress), never on its row (that could take as long as the
            // client's transaction). Then the expiry is undone, so as not to hold
            // the rows it took (and keep another acquirer out) while sleeping.
            int64 in_change = 0;
            if (holders.empty() && expired)
                (void)subtransaction_if([&] {
                    expire_file_locks(spi, project, file_id, session_id, type == "exclusive", &in_change);
                    return in_change == 0;
                });
            if (holders.empty() && in_change == 0) {
                const std::string& path = f.normalized_path;
                // A close of the session in progress is waited for (then VC005);
                // one that comes later waits for this transaction and releases
                // the lock taken here.
                keep_session_open(session_id);
                TimestampTz expires = pg_call([] { return GetCurrentTimestamp(); }) + ttl_us;
                bool at_commit = event_returned();
                note_lock_taken(file_id, type == "shared");  // waiters look again at a rollback (and a downgrade)
                LockTaken t = take_lock_row(project, file_id, session_id, s.user_id, type == "exclusive", expires,
                                            at_commit ? nullptr : &path);
                if (!t.done) {
                    std::vector<Datum> args = {uuid_datum(project), uuid_datum(file_id), uuid_datum(session_id),
                                               uuid_datum(s.user_id), text_datum(type), TimestampTzGetDatum(expires)};
                    if (!at_commit) args.push_back(text_datum(path));
                    Rows r = (at_commit ? q_upsert_returned : q_upsert).run(spi, args);
                    t.lock_id = r.uuid(0, 0);
                    t.expires_at = DatumGetTimestampTz(r.value(0, 1));
                    t.acquired_at = DatumGetTimestampTz(r.value(0, 2));
                    t.details = r.text(0, 3);
                }
                touch_after_taking(spi, s, session_row);
                lock_expiry_written(t.expires_at);  // the worker's sweep (shared.hpp)
                lock_event(spi, at_commit, "lock_acquired", project, file_id, session_id, s.user_id, path,
                           t.details);
                queue.leave();  // the next in turn may go
                entry.got_lock();
                call.finish();  // frees SPI's memory: the result is built after it
                stats::add(stats::lock_acquisitions);
                Record result(fcinfo);
                result.set(0, uuid_datum(t.lock_id));
                result.set(1, text_datum(type));
                result.set(2, TimestampTzGetDatum(t.expires_at));
                result.set(3, TimestampTzGetDatum(t.acquired_at));
                return result.datum();
            }
            // Never sleep holding the acquisition lock (the release we wait for may
            // need it), nor the write lock (the holder's writes need it).
            drop_acquisition_lock(file_id, type);
            drop_write_share_once();
            TimestampTz now = pg_call([] { return GetCurrentTimestamp(); });
            if (in_change > 0 && now >= grace_deadline)
                throw_lock_timeout(file_id, type, {}, HeldUpBy::lock_in_change, wait_us);
            if (in_change == 0 && now >= deadline)
                throw_lock_timeout(file_id, type, holders, HeldUpBy::holders, wait_us);
            if (!waited) stats::add(stats::lock_waits);
            publish(project, now);
            waited = true;
            // An exclusive acquirer kept out by shared locks waits ahead of later
            // acquirers from its first such sleep (behind an exclusive one already
            // waiting, in turn; after waiting for that one, it looks at the holders
            // again before it sleeps): shared locks overlapping one another could
            // otherwise keep it out for ever. Kept out by an exclusive lock only, it
            // does not: the next acquirer, whoever runs first, gets the file when
            // that lock ends (a queue there measured 20 to 35 % fewer cycles/s with
            // 8 exclusive acquirers on one file, and nothing overlaps an exclusive
            // lock).
            bool shared_in_way =
                std::any_of(holders.begin(), holders.end(), [](const Holder& h) { return h.lock_type == "shared"; });
            if (type == "exclusive" && shared_in_way && !queue.ahead()) {
                bool waited_behind = false;
                if (!queue.go_ahead(deadline, &waited_behind))
                    throw_lock_timeout(file_id, type, holders, HeldUpBy::exclusive_waiting, wait_us);
                entry.went_ahead();
                if (waited_behind) continue;
            }
            // Published after the look: look again before sleeping, or a release
            // between the two would wake no one.
            if (shm && !published_before) continue;
            entry.found_held(wakeups);
            // Sleep until a release wakes us, the deadline, or the earliest expiry of
            // a holder, and look again after a second at most (what no release
            // wakes us for: the session closed meanwhile, say). Without
            // shared memory (not preloaded) nobody can wake us, so
            // look again every 50 ms at most (sleeping on the latch, not spinning). A
            // request waiting ahead in the queue, which every later request of the
            // file waits for, looks again after 1 ms, then after twice as long each
            // time up to 50 ms: most locks are released within milliseconds (at a
            // fixed 50 ms, 8 clients cycling on one file made 22 cycles/s, not 790).
            int64 until = soonest == PG_INT64_MAX ? deadline : std::min<int64>(deadline, soonest + 1000);
            if (in_change > 0) until = std::max<int64>(until, grace_deadline);
            long ms = static_cast<long>(std::clamp<int64>((until - now) / 1000 + 1, 1, kLookAgainMs));
            ms = std::min<long>(ms, in_change > 0 ? kLookAgainInChangeMs : kLookAgainMs);
            if (!shm) {
                ms = std::min<long>(ms, queue.ahead() ? poll_ms : 50);
                if (queue.ahead()) poll_ms = std::min<long>(poll_ms * 2, 50);
            }
            sleep_on_latch(ms);
        }
    }
}

// release_lock(file_id, session_id) RETURNS boolean: true only for the holder.
CE_PRIMARY_FUNCTION(ce_release_lock, "release_lock") {
    pg_uuid_t file_id = uuid_required(fcinfo, 0, "file_id");
    pg_uuid_t session_id = uuid_required(fcinfo, 1, "session_id");
    // The session row (checked below: an error undoes the DELETE), the lock and its
    // lock_released event (into change_pending_locks, or returned to be queued:
    // lock_events_at_commit), in one statement.
#define CE_RELEASE_LOCK(event)                                                                                   \
    "WITH s AS (SELECT " CE_SESSION_COLUMNS("$3") " FROM concurrent_edit.edit_sessions s WHERE s.id = $2), "    \
    "d AS (DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f, s "                          \
    "    WHERE l.project_id = s.project_id AND l.file_id = $1 AND l.session_id = $2 "                           \
    "      AND f.project_id = l.project_id AND f.id = l.file_id "                                               \
    "    RETURNING l.project_id, l.file_id, l.session_id, l.holder, l.id, f.normalized_path) " event            \
    "SELECT s.*, (SELECT count(*) FROM d), (SELECT d.holder FROM d LIMIT 1), "                                  \
    "       (SELECT d.normalized_path FROM d LIMIT 1), "                                                        \
    "       (SELECT pg_catalog.jsonb_build_object('lock_id', d.id)::text FROM d LIMIT 1) "                      \
    "FROM (SELECT) one LEFT JOIN s ON true"
    static Statement q(
        CE_RELEASE_LOCK(", e AS (INSERT INTO concurrent_edit.change_pending_locks (project_id, event, file_id, path, "
                        "session_id, author, details) SELECT d.project_id, 'lock_released', d.file_id, "
                        "d.normalized_path, d.session_id, d.holder, pg_catalog.jsonb_build_object('lock_id', d.id) "
                        "FROM d) "),
        {UUIDOID, UUIDOID, INT4OID});
    static Statement q_returned(CE_RELEASE_LOCK(""), {UUIDOID, UUIDOID, INT4OID});
#undef CE_RELEASE_LOCK
    ApiCall call;
    int64 n;
    SessionInfo s;
    bool at_commit = event_returned();
    pg_uuid_t holder{};
    std::string path, details;
    LockDropped d = drop_lock_row(file_id, session_id, !at_commit);  // from C, where it can (lock_rows.hpp)
    if (d.done) {
        n = d.deleted ? 1 : 0;
        holder = d.holder;
        path = d.path;
        details = d.details;
        s = check_session(call, session_id, d.session, SessionUse::manage, true, true);
    } else {
        Rows r = (at_commit ? q_returned : q)
                     .run(call.spi(), {uuid_datum(file_id), uuid_datum(session_id), Int32GetDatum(guc_session_close_s)});
        n = r.int8(0, 6);
        holder = r.uuid(0, 7);
        path = r.text(0, 8);
        details = r.text(0, 9);
        s = check_session(call, session_id, r, 0, SessionUse::manage, true, true);  // `r` is dead after it
    }
    if (n > 0) {
        note_lock_released(file_id);
        lock_event(call.spi(), at_commit, "lock_released", s.project_id, file_id, session_id, holder, path, details);
    }
    call.finish();
    return BoolGetDatum(n > 0);
}

// extend_lock(file_id, session_id, ttl) RETURNS timestamptz: the new expiry.
CE_PRIMARY_FUNCTION(ce_extend_lock, "extend_lock") {
    pg_uuid_t file_id = uuid_required(fcinfo, 0, "file_id");
    pg_uuid_t session_id = uuid_required(fcinfo, 1, "session_id");
    int64 ttl_us = ttl_arg(fcinfo, 2);
    static Statement q(
        "UPDATE concurrent_edit.file_locks l SET expires_at = clock_timestamp() + make_interval(secs => $3 / 1000000.0) "
        "WHERE l.project_id = $4 AND l.file_id = $1 AND l.session_id = $2 AND l.expires_at > clock_timestamp() "
        "RETURNING l.expires_at, (SELECT f.deleted_at IS NOT NULL FROM concurrent_edit.files f "
        "                         WHERE f.project_id = $4 AND f.id = $1)",
        {UUIDOID, UUIDOID, INT8OID, UUIDOID});
    ApiCall call;
    // The session's activity is written after the lock row, in release_lock's
    // order (acquire_lock's too).
    SessionInfo s = use_session(call, session_id, SessionUse::act, false);
    Datum exp;
    {
        Rows r = q.run(call.spi(), {uuid_datum(file_id), uuid_datum(session_id), Int64GetDatum(ttl_us),
                                    uuid_datum(s.project_id)});
        if (r.empty())
            throw SqlError(CE_ERRCODE_LOCK_NOT_HELD,
                           "session " + uuid_to_string(session_id) + " holds no lock on file " + uuid_to_string(file_id),
                           "{\"file_id\": " + json_uuid(file_id) + ", \"session_id\": " + json_uuid(session_id) + "}",
                           "The lock expired or was released; acquire it again.");
        // A deleted file's lock is not kept alive: it would keep others from
        // restoring the file (resolve_conflict) for as long as it is extended.
        if (!r.isnull(0, 1) && r.boolean(0, 1))
            throw SqlError(CE_ERRCODE_FILE_DELETED, "file " + uuid_to_string(file_id) + " was deleted",
                           "{\"file_id\": " + json_uuid(file_id) + "}",
                           "Release the lock; a deleted file cannot be locked again until it is restored.");
        exp = r.value(0, 0);
    }
    (void)use_session(call, session_id, SessionUse::act, true);
    lock_expiry_written(DatumGetTimestampTz(exp));
    call.finish();
    return exp;
}

// lock_status(file_id uuid) RETURNS SETOF lock_holder: the unexpired locks of a file.
CE_PRIMARY_FUNCTION(ce_lock_status, "lock_status") {
    pg_uuid_t file_id = uuid_required(fcinfo, 0, "file_id");
    ApiCall call;
    FileHead f = find_file(call.spi(), file_id);
    call.require(f.project_id, Right::read);
    static Statement q(
        "SELECT l.id, l.session_id, l.holder, l.lock_type, l.acquired_at, l.expires_at "
        "FROM concurrent_edit.file_locks l "
        "WHERE l.project_id = $1 AND l.file_id = $2 AND l.expires_at > pg_catalog.clock_timestamp() "
        "ORDER BY l.acquired_at, l.id",
        {UUIDOID, UUIDOID});
    SetResult result(fcinfo);
    result.add_rows(q.run(call.spi(), {uuid_datum(f.project_id), uuid_datum(file_id)}, {}, true));
    call.finish();
    return result.done();
}
