// The cleanup of sessions (docs/reference/sessions.md): sessions inactive for
// concurrent_edit.session_idle_timeout go idle, those inactive for
// session_close_timeout are closed, and closed ones past
// closed_session_retention are deleted; run by cleanup_inactive_sessions()
// (sessions.cpp) and the background worker.
#include "pg/sessions.hpp"

#include <algorithm>
#include <deque>

#include "pg/feed.hpp"
#include "pg/guc.hpp"
#include "pg/locks.hpp"
#include "pg/results.hpp"
#include "pg/tables.hpp"

namespace ce::pg {

// Deletes sessions closed longer than concurrent_edit.closed_session_retention
// ago that have no drafts left (a draft keeps its session, so that it can still
// be committed), the oldest first: without it every session ever opened stays,
// one row per tab or agent run. A session row another transaction holds is left
// for a later call.
//
// Each call examines at most kPurgeBatch closed sessions past the retention, in
// the order of edit_sessions_closed_idx, starting after the last one the previous
// call of this backend examined; a call that finds fewer starts the next one from
// the oldest again. So sessions kept by their drafts are looked at once per pass,
// not at every call: with a million of them, a call still reads a batch, and the
// sessions behind them are reached.
namespace {

constexpr int32 kPurgeBatch = 1000;

// Where the next call of this backend resumes: after the key (closed_at,
// project_id, id) of the last session examined; the default is before the oldest.
struct PurgeResume {
    Datum closed_at = TimestampTzGetDatum(DT_NOBEGIN);  // timestamptz, by value
    pg_uuid_t project_id{}, id{};
};
PurgeResume purge_resume;

// The sessions of rows (project_id, id, user_id).
std::vector<SessionInfo> sessions_of(const Rows& r) {
    std::vector<SessionInfo> out;
    for (uint64 i = 0; i < r.size(); ++i) {
        SessionInfo s;
        s.project_id = r.uuid(i, 0);
        s.id = r.uuid(i, 1);
        s.user_id = r.uuid(i, 2);
        out.push_back(s);
    }
    return out;
}

int32 purge_closed_sessions(Spi& spi) {
    if (guc_closed_session_retention_s < 0) return 0;
#define CE_WITHOUT_DRAFTS(s)                                                                 \
    "NOT EXISTS (SELECT FROM concurrent_edit.pending_changes p WHERE p.project_id = " s     \
    ".project_id AND p.session_id = " s ".id)"
    // The batch examined (e), then those of its rows without drafts, locked (taken
    // by ctid: a join by key was planned as a scan of the closed sessions for each
    // one examined while the statistics said the table was small; and closed_at IS
    // NOT NULL, the same as status = 'closed', names no partial index that such a
    // plan would scan, testing each row against the ctids); then,
    // with a newer snapshot, deleted if they still have no drafts: a draft committed
    // between the first statement's snapshot and its lock would otherwise go with
    // its session (ON DELETE CASCADE). Columns: rows examined, the key of the last
    // one, the rows to delete.
    static Statement take(
        "WITH e AS MATERIALIZED (SELECT k.ctid, k.closed_at, k.project_id, k.id FROM concurrent_edit.edit_sessions k "
        "    WHERE k.status = 'closed' AND k.closed_at < now() - make_interval(secs => $1) "
        "      AND (k.closed_at, k.project_id, k.id) > ($3, $4, $5) "
        "    ORDER BY k.closed_at, k.project_id, k.id LIMIT $2), "
        "last AS (SELECT e.closed_at, e.project_id, e.id FROM e "
        "    ORDER BY e.closed_at DESC, e.project_id DESC, e.id DESC LIMIT 1) "
        "SELECT (SELECT count(*) FROM e), (SELECT last.closed_at FROM last), (SELECT last.project_id FROM last), "
        "       (SELECT last.id FROM last), "
        "       (SELECT pg_catalog.array_agg(k.ctid)::text FROM (SELECT s.ctid FROM concurrent_edit.edit_sessions s "
        "            WHERE s.ctid = ANY (ARRAY(SELECT e.ctid FROM e)) "
        "              AND s.closed_at IS NOT NULL AND " CE_WITHOUT_DRAFTS("s") " FOR UPDATE OF s SKIP LOCKED) k)",
        {INT4OID, INT4OID, TIMESTAMPTZOID, UUIDOID, UUIDOID}, Scans::by_key);
    static Statement purge(
        "WITH d AS (DELETE FROM concurrent_edit.edit_sessions s WHERE s.ctid = ANY ($1::tid[]) AND "
        CE_WITHOUT_DRAFTS("s") " RETURNING 1) SELECT count(*)::integer FROM d",
        {TEXTOID}, Scans::by_key);
#undef CE_WITHOUT_DRAFTS
    std::optional<std::string> ctids;
    {
        Rows r = take.run(spi, {Int32GetDatum(guc_closed_session_retention_s), Int32GetDatum(kPurgeBatch),
                                purge_resume.closed_at, uuid_datum(purge_resume.project_id),
                                uuid_datum(purge_resume.id)});
        int64 examined = r.int8(0, 0);
        if (examined >= kPurgeBatch)  // a full batch: more may follow
            purge_resume = PurgeResume{r.value(0, 1), r.uuid(0, 2), r.uuid(0, 3)};
        else
            purge_resume = PurgeResume{};  // the next pass from the oldest
        ctids = r.text_opt(0, 4);
    }
    if (!ctids) return 0;
    return purge.run(spi, {text_datum(*ctids)}).int4(0, 0);
}

// Sessions the worker closed with locks left beyond what it releases in one
// transaction (close_one with `most`), released in the rounds that follow, at
// most kReleaseBatch per round with the expired and orphaned ones; the first
// the oldest. A note whose close was rolled back finds nothing (the statement
// acts only on a closed session) and is dropped. A note lost (beyond kRestNotes,
// a round that failed after taking it, the worker's restart) leaves the locks
// to the worker's look for orphaned locks (cleanup_expired_locks), which finds
// every lock of a closed session within a pass.
std::deque<SessionInfo> rest_of_closed;
constexpr std::size_t kRestNotes = 10000;

}  // namespace

void release_part_of_closed(Spi& spi, const SessionInfo& s, int64 most) {
    int64 released = release_closed_session_locks(spi, s.project_id, s.id, most);
    if (released >= most && rest_of_closed.size() < kRestNotes) rest_of_closed.push_back(s);
}

void release_rest_of_closed(Spi& spi, int64 most) {
    if (rest_of_closed.empty()) return;
    SessionInfo s = rest_of_closed.front();  // one session per call
    rest_of_closed.pop_front();               // noted again (last) while some is left
    release_part_of_closed(spi, s, std::max<int64>(most, 0));
}

bool closed_sessions_left() { return !rest_of_closed.empty(); }

int32 close_timed_out_sessions(Spi& spi, CloseBatch* batch, bool bounded) {
    // One pass's next batch: a range of edit_sessions_inactive_idx (the status
    // a constant, so that a generic plan can use the partial index; its
    // predicate repeated), read by key whatever the statistics (the worker keeps
    // its plans, and one made while the table was small would scan it).
#define CE_TIMED_OUT(status)                                                                                \
    "SELECT s.project_id, s.id, s.user_id, s.last_active_at FROM concurrent_edit.edit_sessions s "           \
    "WHERE s.status = '" status "' AND s.status <> 'closed' "                                               \
    "  AND s.last_active_at < now() - make_interval(secs => $1) "                                           \
    "  AND (s.last_active_at, s.project_id, s.id) > ($2, $3, $4) "                                          \
    "ORDER BY s.last_active_at, s.project_id, s.id LIMIT $5 FOR UPDATE OF s SKIP LOCKED"
    static Statement dead[2] = {
        Statement(CE_TIMED_OUT("active"), {INT4OID, TIMESTAMPTZOID, UUIDOID, UUIDOID, INT4OID}, Scans::by_key),
        Statement(CE_TIMED_OUT("idle"), {INT4OID, TIMESTAMPTZOID, UUIDOID, UUIDOID, INT4OID}, Scans::by_key)};
#undef CE_TIMED_OUT
    // The session's lock and file rows are taken first without waiting: one that
    // a client's open transaction holds (extend_lock, open_file) leaves the
    // session for a later round, rather than hold up the worker (and so every
    // project's feed) until that transaction ends. Of a session with more locks
    // than `most`, the first `most` (bounded: the rest are released in later
    // rounds, each skipped while another transaction holds it). Its open files
    // are all closed in the close's transaction (no event each: 200,000 in about
    // 0.3 s).
    static Statement hold(
        "SELECT (SELECT count(*) FROM (SELECT FROM concurrent_edit.file_locks l "
        "            WHERE l.project_id = $1 AND l.session_id = $2 LIMIT $3 FOR UPDATE NOWAIT) l), "
        "       (SELECT count(*) FROM (SELECT FROM concurrent_edit.session_files f "
        "            WHERE f.project_id = $1 AND f.session_id = $2 FOR UPDATE NOWAIT) f)",
        {UUIDOID, UUIDOID, INT8OID});
    int64 most = bounded ? kReleaseBatch : -1;
    // At most kCloseBatch sessions, from the passes in turn: one that returns
    // fewer is over, and the next goes on in the same batch.
    std::vector<SessionInfo> to_close;
    while (batch->pass < 2 && to_close.size() < static_cast<std::size_t>(kCloseBatch)) {
        int32 room = kCloseBatch - static_cast<int32>(to_close.size());
        Rows r = dead[batch->pass].run(spi, {Int32GetDatum(guc_session_close_s),
                                              TimestampTzGetDatum(batch->last_active_at),
                                              uuid_datum(batch->project_id), uuid_datum(batch->id), Int32GetDatum(room)});
        std::vector<SessionInfo> got = sessions_of(r);
        if (got.size() < static_cast<std::size_t>(room)) {
            *batch = CloseBatch{batch->pass + 1};  // the pass is over: the next from its first session
        } else {
            batch->last_active_at = DatumGetTimestampTz(r.value(r.size() - 1, 3));
            batch->project_id = got.back().project_id;
            batch->id = got.back().id;
        }
        to_close.insert(to_close.end(), got.begin(), got.end());
    }
    // Bounded: at most 100 ms of closes (sessions holding many locks take long);
    // the ones left wait for the worker's next pass.
    int32 closed = 0;
    TimestampTz until = GetCurrentTimestamp() + 100 * 1000;
    for (const SessionInfo& s : to_close) {
        check_interrupts();
        if (bounded && closed > 0 && GetCurrentTimestamp() >= until) break;
        closed += subtransaction_unless(ERRCODE_LOCK_NOT_AVAILABLE, [&] {
            (void)hold.run(spi, {uuid_datum(s.project_id), uuid_datum(s.id),
                                 most < 0 ? (Datum)0 : Int64GetDatum(most)}, most < 0 ? "  n" : "   ");
            close_one(spi, s, false, false, most);
        });
    }
    return closed;
}

int32 cleanup_inactive_sessions(Spi& spi, CloseBatch* batch) {
    static Statement idle(
        "UPDATE concurrent_edit.edit_sessions s SET status = 'idle' "
        "WHERE s.ctid = ANY (ARRAY(SELECT k.ctid FROM concurrent_edit.edit_sessions k WHERE k.status = 'active' "
        "    AND k.last_active_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)) "
        "RETURNING s.project_id, s.id, s.user_id",
        {INT4OID, INT4OID}, Scans::by_key);
    int32 closed = 0;
    if (batch != nullptr) {
        closed = close_timed_out_sessions(spi, batch, true);
    } else {
        CloseBatch all;
        do closed += close_timed_out_sessions(spi, &all);
        while (all.more());
    }
    // The worker moves at most 1,000 a round to idle (a statement over all of them,
    // with an event each, held every project's lock events up: 1 s per 30,000).
    std::vector<SessionInfo> went_idle = sessions_of(
        idle.run(spi, {Int32GetDatum(guc_session_idle_s), Int32GetDatum(1000)}, batch != nullptr ? "  " : " n"));
    for (const SessionInfo& s : went_idle) session_event(spi, "session_idle", s);
    return static_cast<int32>(closed + went_idle.size()) + purge_closed_sessions(spi);
}

}  // namespace ce::pg
