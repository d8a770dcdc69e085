// File locks that end without their holder: expiry, locks of closed sessions
// (the worker, cleanup_expired_locks), a session's locks released at once
// (release_session_locks, close_session) and an admin's forced release.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "pg/feed.hpp"
#include "pg/file_head.hpp"
#include "pg/guc.hpp"
#include "pg/lock_rows.hpp"
#include "pg/locks.hpp"
#include "pg/sessions.hpp"
#include "pg/shared.hpp"

namespace ce::pg {
namespace {

// The locks of file_locks k matching `cond` that no other transaction holds,
// locked, as the text of the array of their ctids (NULL: none; the rest are left
// for a later round), planned as the statistics say unless the Statement is
// planned by key; drop_found() takes them.
#define CE_NOT_HELD(cond)                                                                                     \
    "SELECT pg_catalog.array_agg(k.ctid)::text FROM (SELECT k.ctid FROM concurrent_edit.file_locks k WHERE "   \
    cond " FOR UPDATE OF k SKIP LOCKED) k"
#define CE_FOUND "l.ctid = ANY ($1::tid[])"

// Deletes the locks that `cond` (a WHERE clause over file_locks l and files f)
// matches and records `event` for each in change_pending_locks, in one
// statement; `details` extends the event's JSON details (an SQL expression).
// Returns (project_id, file_id) of each deleted lock.
#define CE_DROP_LOCKS(cond, event, details)                                                                   \
    "WITH d AS (DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f "                      \
    "    WHERE f.project_id = l.project_id AND f.id = l.file_id AND (" cond ") "                               \
    "    RETURNING l.project_id, l.file_id, l.session_id, l.holder, l.id, f.normalized_path), "               \
    "e AS (INSERT INTO concurrent_edit.change_pending_locks (project_id, event, file_id, path, session_id, "   \
    "    author, details) SELECT d.project_id, '" event "', d.file_id, d.normalized_path, d.session_id, "     \
    "    d.holder, pg_catalog.jsonb_build_object('lock_id', d.id)" details " FROM d) "                        \
    "SELECT d.project_id, d.file_id FROM d"

// The same without the events (concurrent_edit.lock_events off).
#define CE_DROP_LOCKS_QUIETLY(cond)                                                                           \
    "DELETE FROM concurrent_edit.file_locks l USING concurrent_edit.files f "                                 \
    "WHERE f.project_id = l.project_id AND f.id = l.file_id AND (" cond ") "                                   \
    "RETURNING l.project_id, l.file_id"

// A statement that drops locks, with their events and without.
struct DropLocks {
    Statement with_events, quietly;
};

// Runs a DropLocks statement (its events unless concurrent_edit.lock_events is
// off): waiters on the files are woken at commit and the projects' events
// sequenced. Returns the number of locks deleted.
int64 drop_locks(Spi& spi, DropLocks& q, const std::vector<Datum>& args) {
    Rows r = (guc_lock_events ? q.with_events : q.quietly).run(spi, args);
    for (uint64 i = 0; i < r.size(); ++i) {
        note_lock_released(r.uuid(i, 1));
        if (guc_lock_events) note_pending(r.uuid(i, 0));
    }
    return static_cast<int64>(r.size());
}

// Drops the locks a CE_NOT_HELD statement finds by ctid whatever the statistics:
// a plan the worker kept from when file_locks was small (a scan testing each row
// against the array) made a burst cost its size squared (55 s for 150,000 expired
// locks: TAP 035_bulk_lock_release part 3, 036_stale_plans part 2).
int64 drop_found(Spi& spi, Statement& find, DropLocks& q, const std::vector<Datum>& args = {}) {
    std::optional<std::string> ctids = find.run(spi, args).text_opt(0, 0);
    if (!ctids) return 0;
    return drop_locks(spi, q, {text_datum(*ctids)});
}

struct LockKey {  // file_locks' primary key; all zero: before the first
    pg_uuid_t project_id{}, file_id{}, session_id{};
};
LockKey orphan_resume;  // where the worker's next look for orphaned locks resumes
constexpr int32 kOrphanBatch = 1000;

// The worker's sweep also runs every kFullSweepUs, and after a sweep that failed:
// for rows not written through the API (shared.hpp, lock_expiry_sweep_due).
constexpr int64 kFullSweepUs = 10 * USECS_PER_SEC;
TimestampTz last_full_sweep = 0;
bool sweep_failed = true;  // and at the worker's start

// The worker expires at most kReleaseBatch locks per transaction (locks.hpp);
// the rest go in the next cleanup, right after the sequencing round that follows
// (expired_locks_left). So do orphaned ones.
bool expiry_cut = false;   // the last sweep left expired locks beyond its batch
bool orphans_cut = false;  // the last look for orphaned locks stopped at its batch

// Deletes the locks a CE_NOT_HELD statement found, by ctid, recording their
// release (a closed or missing session's).
DropLocks& released_found() {
    static DropLocks q{Statement(CE_DROP_LOCKS(CE_FOUND, "lock_released", ""), {TEXTOID}, Scans::by_key),
                       Statement(CE_DROP_LOCKS_QUIETLY(CE_FOUND), {TEXTOID}, Scans::by_key)};
    return q;
}

// Deletes the expired locks a CE_NOT_HELD statement found, by ctid, recording
// their expiry: the worker's and acquire_lock's.
DropLocks& expired_found() {
    static DropLocks q{Statement(CE_DROP_LOCKS(CE_FOUND, "lock_expired", ""), {TEXTOID}, Scans::by_key),
                       Statement(CE_DROP_LOCKS_QUIETLY(CE_FOUND), {TEXTOID}, Scans::by_key)};
    return q;
}

// Deletes expired locks (of one file, or all: `whole_pass`, or else the worker's
// sweep, when one may have expired) and records their expiry. Every expired lock
// that no other transaction holds: the worker never waits for a client (the rest
// expire in a later round), nor does acquire_lock (expire_file_locks).
int64 expire_locks(Spi& spi, bool whole_pass = true) {
    static Statement expired(CE_NOT_HELD("k.expires_at <= clock_timestamp()"), {});
    static Statement swept(CE_NOT_HELD("k.ctid = ANY ($1::tid[]) AND k.expires_at <= clock_timestamp()"), {TEXTOID},
                           Scans::by_key);
    if (whole_pass) return drop_found(spi, expired, expired_found());
    expiry_cut = false;
    TimestampTz now = pg_call([] { return GetCurrentTimestamp(); });
    bool force = sweep_failed || now - last_full_sweep >= kFullSweepUs;
    if (!lock_expiry_sweep_due(now, force)) return 0;
    sweep_failed = true;  // until it ends
    if (force) last_full_sweep = now;
    LockSweep found = sweep_lock_rows(now, kReleaseBatch);
    int64 n = found.expired > 0 ? drop_found(spi, swept, expired_found(), {text_datum(found.ctids)}) : 0;
    expiry_cut = found.cut;
    // A lock left (another transaction holds it, or is deleting or taking it; or
    // the batch was cut): the next round sweeps again.
    lock_expiry_swept(n < found.expired || found.cut ? now : found.soonest);
    sweep_failed = false;
    return n;
}

}  // namespace

bool expired_locks_left() { return expiry_cut || orphans_cut; }

int64 release_session_locks(Spi& spi, const pg_uuid_t& session_id) {
#define CE_OF_SESSION                                                                                   \
    "(l.project_id, l.session_id) IN (SELECT s.project_id, s.id FROM concurrent_edit.edit_sessions s "    \
    "                                 WHERE s.id = $1)"
    static DropLocks q{Statement(CE_DROP_LOCKS(CE_OF_SESSION, "lock_released", ""), {UUIDOID}),
                       Statement(CE_DROP_LOCKS_QUIETLY(CE_OF_SESSION), {UUIDOID})};
#undef CE_OF_SESSION
    return drop_locks(spi, q, {uuid_datum(session_id)});
}

int64 release_closed_session_locks(Spi& spi, const pg_uuid_t& project_id, const pg_uuid_t& session_id, int64 most) {
    static Statement some(
        CE_NOT_HELD("k.project_id = $1 AND k.session_id = $2 AND NOT EXISTS (SELECT FROM concurrent_edit.edit_sessions s "
                    "WHERE s.project_id = $1 AND s.id = $2 AND s.closed_at IS NULL) LIMIT $3"),
        {UUIDOID, UUIDOID, INT8OID}, Scans::by_key);
    return drop_found(spi, some, released_found(), {uuid_datum(project_id), uuid_datum(session_id), Int64GetDatum(most)});
}

int64 cleanup_expired_locks(Spi& spi, bool whole_pass) {
    // Without foreign keys, a lock taken while its session was being closed or
    // deleted can outlive it: such locks are released here as well. (closed_at
    // IS NULL is status <> 'closed', and names no partial index that a plan
    // might scan instead of looking the session up by key.)
#define CE_ORPHANED "NOT EXISTS (SELECT FROM concurrent_edit.edit_sessions s WHERE s.project_id = k.project_id " \
    "AND s.id = k.session_id AND s.closed_at IS NULL)"
    static Statement orphaned(CE_NOT_HELD(CE_ORPHANED), {});
    // The worker looks at kOrphanBatch locks at a time, in key order from where
    // it stopped, rather than join every lock with the sessions each round (49 ms
    // with 100,000 locks held, every worker_interval; 306 ms for a whole pass so).
    static Statement orphaned_batch(
        "WITH b AS MATERIALIZED (SELECT k.ctid, k.project_id, k.file_id, k.session_id "
        "    FROM concurrent_edit.file_locks k WHERE (k.project_id, k.file_id, k.session_id) > ($1, $2, $3) "
        "    ORDER BY k.project_id, k.file_id, k.session_id LIMIT $4), "
        "last AS (SELECT b.project_id, b.file_id, b.session_id FROM b "
        "    ORDER BY b.project_id DESC, b.file_id DESC, b.session_id DESC LIMIT 1) "
        "SELECT (SELECT count(*) FROM b), (SELECT last.project_id FROM last), (SELECT last.file_id FROM last), "
        "       (SELECT last.session_id FROM last), "
        "       (SELECT pg_catalog.array_agg(k.ctid)::text FROM (SELECT k.ctid FROM concurrent_edit.file_locks k "
        "            WHERE k.ctid = ANY (ARRAY(SELECT b.ctid FROM b)) AND " CE_ORPHANED
        "            FOR UPDATE OF k SKIP LOCKED) k)",
        {UUIDOID, UUIDOID, UUIDOID, INT4OID}, Scans::by_key);
#undef CE_ORPHANED
    int64 n = expire_locks(spi, whole_pass);
    if (whole_pass) return n + drop_found(spi, orphaned, released_found());
    // A batch, and the next at once while one finds locks to release, until
    // kReleaseBatch locks are released with the expired ones; the rest in the
    // next round (orphans_cut).
    orphans_cut = n >= kReleaseBatch;
    while (!orphans_cut) {
        check_interrupts();
        int64 examined;
        std::optional<std::string> ctids;
        {
            Rows r = orphaned_batch.run(spi, {uuid_datum(orphan_resume.project_id), uuid_datum(orphan_resume.file_id),
                                              uuid_datum(orphan_resume.session_id), Int32GetDatum(kOrphanBatch)});
            examined = r.int8(0, 0);
            orphan_resume = examined < kOrphanBatch ? LockKey{} : LockKey{r.uuid(0, 1), r.uuid(0, 2), r.uuid(0, 3)};
            ctids = r.text_opt(0, 4);
        }
        int64 dropped = ctids ? drop_locks(spi, released_found(), {text_datum(*ctids)}) : 0;
        n += dropped;
        if (examined < kOrphanBatch || dropped == 0) return n;
        orphans_cut = n >= kReleaseBatch;
    }
    return n;
}

int64 expire_file_locks(Spi& spi, const pg_uuid_t& project_id, const pg_uuid_t& file_id, const pg_uuid_t& session_id,
                        bool exclusive, int64* in_change) {
#define CE_EXPIRED_ONE "k.project_id = $1 AND k.file_id = $2 AND k.expires_at <= clock_timestamp()"
#define CE_IN_WAY(k) "(" k ".session_id <> $3 AND ($4 OR " k ".lock_type = 'exclusive'))"
    // The expired locks no other transaction holds, locked; and how many locks in
    // the request's way are not among them: expired ones another transaction
    // holds (seen, with their old version, but skipped by the lock), and
    // unexpired ones (an extension committed since the caller's look, which saw
    // the lock expired). With the latest snapshot: a lock taken after a
    // REPEATABLE READ transaction's snapshot is seen too.
    static Statement one(
        "WITH l AS MATERIALIZED (SELECT k.ctid, k.session_id, k.lock_type FROM concurrent_edit.file_locks k "
        "    WHERE " CE_EXPIRED_ONE " FOR UPDATE OF k SKIP LOCKED) "
        "SELECT (SELECT count(*) FROM concurrent_edit.file_locks k WHERE k.project_id = $1 AND k.file_id = $2 "
        "        AND " CE_IN_WAY("k") ") "
        "     - (SELECT count(*) FROM l WHERE " CE_IN_WAY("l") "), "
        "       (SELECT pg_catalog.array_agg(l.ctid)::text FROM l)",
        {UUIDOID, UUIDOID, UUIDOID, BOOLOID});
#undef CE_IN_WAY
#undef CE_EXPIRED_ONE
    std::optional<std::string> ctids;
    {
        Rows r = one.run_latest(spi, {uuid_datum(project_id), uuid_datum(file_id), uuid_datum(session_id),
                                      BoolGetDatum(exclusive)});
        *in_change = std::max<int64>(0, r.int8(0, 0));
        ctids = r.text_opt(0, 1);
    }
    return ctids ? drop_locks(spi, expired_found(), {text_datum(*ctids)}) : 0;
}
#undef CE_FOUND
#undef CE_NOT_HELD

}  // namespace ce::pg

using namespace ce::pg;

// release_session_locks(session_id) RETURNS integer
CE_PRIMARY_FUNCTION(ce_release_session_locks, "release_session_locks") {
    pg_uuid_t session_id = uuid_required(fcinfo, 0, "session_id");
    ApiCall call;
    use_session(call, session_id, SessionUse::manage, false, true);
    int64 n = release_session_locks(call.spi(), session_id);
    call.finish();
    return Int32GetDatum(static_cast<int32>(n));
}

// force_release_lock(file_id, reason) RETURNS integer (admins of the file's project)
CE_PRIMARY_FUNCTION(ce_force_release_lock, "force_release_lock") {
    pg_uuid_t file_id = uuid_required(fcinfo, 0, "file_id");
    TextArg reason = text_arg(fcinfo, 1, "reason", 1000);
    static DropLocks q{
        Statement(CE_DROP_LOCKS("f.id = $1", "lock_forced", " || pg_catalog.jsonb_build_object('reason', $2::text)"),
                  {UUIDOID, TEXTOID}),
        Statement(CE_DROP_LOCKS_QUIETLY("f.id = $1"), {UUIDOID, TEXTOID})};  // $2 (the reason) unused
    ApiCall call;
    FileHead f = find_file(call.spi(), file_id);
    call.require(f.project_id, Right::admin);
    int64 n = drop_locks(call.spi(), q, {uuid_datum(file_id), text_datum(reason.view())});
    call.finish();
    return Int32GetDatum(static_cast<int32>(n));
}

// cleanup_expired_locks() RETURNS integer (admins of every project; the worker runs it)
CE_PRIMARY_FUNCTION(ce_cleanup_expired_locks, "cleanup_expired_locks") {
    ApiCall call;
    call.require_on_all(Right::admin);
    int64 n = cleanup_expired_locks(call.spi(), true);
    call.finish();
    return Int32GetDatum(static_cast<int32>(n));
}
